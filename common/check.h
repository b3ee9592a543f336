/* check: the plumbing every program and every module of common/ shares
 * (TLPI's errExit family). It depends on nothing else in common/.
 *
 *   die(fmt, ...)           print "prog: message" on stderr, exit 1
 *   die_errno(fmt, ...)     the same, followed by ": strerror(errno)"
 *   warn(fmt, ...)          print "prog: message" and go on
 *   CHECK_SYS(call)         for calls that return -1 and set errno
 *   CHECK_PT(call)          for calls that return an error number (pthreads)
 *   CHECK_BARRIER(call)     for pthread_barrier_wait, whose one success in each
 *                           round is PTHREAD_BARRIER_SERIAL_THREAD, not 0
 *   xmalloc, xcalloc, xrealloc, xstrdup: allocation that cannot return NULL
 *   check_stdout_at_exit()  at exit, a lost write to stdout is an error
 *
 * CHECK_SYS, CHECK_PT and CHECK_BARRIER always evaluate the call (unlike
 * assert, they do not vanish under -DNDEBUG) and on failure print the call's
 * text, file:line and the error's name, then exit 1, on one line:
 *   race: pthread_create(&threads[i], NULL, worker, &args[i]) failed at FILE:LINE:
 *   EAGAIN (Resource temporarily unavailable)
 * CHECK_SYS returns the call's value, so `int fd = CHECK_SYS(open(...));`
 * works; CHECK_BARRIER returns true in the one thread that got
 * PTHREAD_BARRIER_SERIAL_THREAD.
 *
 * In common/, what a caller can meet or provoke (a child that fails, EAGAIN
 * from pthread_create, a closed queue) is returned; these macros are for what
 * means the program or the library is broken (a pthread call failing with
 * EINVAL or EDEADLK, a broken invariant), which dies at the spot, as
 * CPython's GIL dies on a failed mutex call.
 *
 * Out of memory has one policy everywhere: malloc failing dies ("prog: out of
 * memory allocating N bytes", exit 1), through x*alloc. None of these
 * programs has anything useful to do without memory, and a NULL check at
 * every call would bury the lesson. (Address space a caller asks for in bulk,
 * such as coroutine stacks from mmap, is a limit it can meet: that ENOMEM is
 * returned, by the module that maps it.)
 *
 * check_stdout_at_exit (gnulib's close_stdout): output a program printed but
 * could not write (a full disk, a closed stdout) must not vanish with exit
 * status 0. At exit it flushes stdout; if that or any earlier write to it
 * failed, it prints "prog: write error: No space left on device" (or whatever
 * failed) and the exit status becomes 1. cli_parse_or_exit registers it, so
 * every program has it; calling it more than once registers it once.
 */
#ifndef COMMON_CHECK_H
#define COMMON_CHECK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>

noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die_call(const char *call, const char *file, int line, int err);

/* Print "prog: message" on stderr without exiting (a warning or a note). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline long check_sys_(long result, const char *call, const char *file, int line);
static inline int check_pt_(int err, const char *call, const char *file, int line);
static inline bool check_barrier_(int err, const char *call, const char *file, int line);

#define CHECK_SYS(call) check_sys_((long)(call), #call, __FILE__, __LINE__)
#define CHECK_PT(call) check_pt_((call), #call, __FILE__, __LINE__)
#define CHECK_BARRIER(call) check_barrier_((call), #call, __FILE__, __LINE__)

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

void check_stdout_at_exit(void);

/* ---- implementation of the macros ---- */
#include <errno.h>

static inline long check_sys_(long result, const char *call, const char *file, int line)
{
    if (result == -1)
        die_call(call, file, line, errno);
    return result;
}

static inline int check_pt_(int err, const char *call, const char *file, int line)
{
    if (err != 0)
        die_call(call, file, line, err);
    return 0;
}

static inline bool check_barrier_(int err, const char *call, const char *file, int line)
{
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_call(call, file, line, err);
    return err == PTHREAD_BARRIER_SERIAL_THREAD;
}

#endif
