/* check: error plumbing shared by every program (TLPI's errExit family).
 *
 *   die(fmt, ...)        print "prog: message" on stderr, exit 1
 *   die_errno(fmt, ...)  the same, followed by ": strerror(errno)"
 *   die_error(e)         an uncaught common/error value: "prog: OSError: ..."
 *   CHECK_SYS(call)      for calls that return -1 and set errno
 *   CHECK_PT(call)       for calls that return an error number (pthreads)
 *   xmalloc, xcalloc, xrealloc, xstrdup: allocation that cannot return NULL
 *
 * CHECK_SYS and CHECK_PT always evaluate the call (unlike assert, they do not
 * vanish under -DNDEBUG) and on failure print the call's text, file:line and
 * the error's name, then exit 1, e.g.
 *   race: pthread_create(&threads[i], NULL, worker, &args[i]) failed at
 *   item54/worker.c:83: EAGAIN (Resource temporarily unavailable)
 * (one line). CHECK_SYS returns the call's value, so
 * `int fd = CHECK_SYS(open(...));` works. Library code in common/ does not use
 * the macros: it returns errors to its caller.
 */
#ifndef COMMON_CHECK_H
#define COMMON_CHECK_H

#include <stddef.h>
#include <stdnoreturn.h>

noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die_call(const char *call, const char *file, int line, int err);

/* An exception nobody caught: print "prog: Type: message" and exit 1. */
struct error;
noreturn void die_error(const struct error *e);

/* Print "prog: message" on stderr without exiting (a warning or a note). */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline long check_sys_(long result, const char *call, const char *file, int line);
static inline int check_pt_(int err, const char *call, const char *file, int line);

#define CHECK_SYS(call) check_sys_((long)(call), #call, __FILE__, __LINE__)
#define CHECK_PT(call) check_pt_((call), #call, __FILE__, __LINE__)

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

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

#endif
