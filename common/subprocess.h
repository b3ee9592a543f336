/* subprocess: Python's subprocess module (run, Popen) for C.
 *
 * Python (subprocess)                       C (this header)
 * ----------------------------------------  ------------------------------------------------------
 * proc = Popen(argv, env=env,               struct proc proc;
 *              stdin=PIPE, stdout=PIPE)     e = proc_start(&proc, argv, &(struct proc_options){
 *                                                   .env = env, .in = PROC_PIPE_IO,
 *                                                   .out = PROC_PIPE_IO});
 * stdin=DEVNULL / stdin=fd / None           .in = PROC_DEVNULL_IO / PROC_FD_IO(fd) / {0} (inherit)
 * Popen(..., stdin=up.stdout)               .in = PROC_STDOUT_OF(&up), and the library does the
 * up.stdout.close()                           close of the parent's copy for you (see below)
 * proc.stdin.write(data); .flush()          proc_write(&proc, data, len)
 * proc.poll() is None                       proc_poll(&proc) == PROC_RUNNING
 * proc.wait() / proc.wait(timeout=t)        proc_wait(&proc, PROC_FOREVER) / proc_wait(&proc, t)
 * out, err = proc.communicate(input,        proc_communicate(&proc, input, len, t, &out, &err)
 *                             timeout=t)
 * proc.terminate() / proc.kill()            proc_terminate(&proc) / proc_kill(&proc)
 * proc.send_signal(sig)                     proc_send_signal(&proc, sig)
 * proc.returncode                           proc.returncode (once poll/wait said it exited)
 * with Popen(...) as proc: ... (leaving)    proc_fini(&proc): close pipes, wait, free
 * r = run(argv, capture_output=True,        proc_run(&r, argv, true, t)
 *         timeout=t)
 * r.check_returncode()                      proc_check_returncode(&r)
 * env = os.environ.copy(); env['k'] = 'v'   env = proc_environ_with((const char *[]){"k=v", NULL})
 * FileNotFoundError, TimeoutExpired,        a struct error * (common/error.h) with that type and
 * CalledProcessError                          Python's message; NULL means success
 *
 * Return codes follow Python: the exit status (0..255), or minus the signal
 * number when a signal killed the child (terminate() gives -15, kill() -9).
 *
 * What the library guarantees (each is a classic way to hang or leak):
 *   - Every pipe end the parent holds is close-on-exec (pipe2(O_CLOEXEC)), so
 *     no child inherits another child's pipe. Without it, child B would keep
 *     child A's stdin open and A would never see EOF: the classic hung pipeline.
 *     And each child closes every descriptor above 2 before it runs
 *     (Python's close_fds=True), so it inherits none of the program's own
 *     descriptors either, close-on-exec or not.
 *   - PROC_STDOUT_OF(&up) hands up's stdout pipe to the new child and closes
 *     the parent's copy right after the start: then the downstream child's
 *     exit makes the upstream writer get SIGPIPE/EPIPE, and the upstream's
 *     exit gives the downstream EOF (the book's `encrypt_proc.stdout.close()`).
 *   - proc_communicate feeds stdin and drains stdout and stderr together with
 *     poll(2), so a child writing megabytes while reading megabytes never
 *     deadlocks against a full pipe. A timeout returns TimeoutExpired and does
 *     NOT kill the child (as in Python); calling again resumes where it left
 *     off, losing nothing. The parent's stdin end is O_NONBLOCK for this.
 *   - Writing to a child that has exited gives EPIPE, never a SIGPIPE that
 *     kills the parent: SIGPIPE is blocked around the write (only in the
 *     calling thread) and a pending one is consumed. The child starts with
 *     SIGPIPE and SIGXFSZ at their default action whatever the parent had
 *     (Python's restore_signals=True), so SIGPIPE ends chains; it inherits
 *     the parent's signal mask and its other ignored signals, as in Python.
 *   - Every child is reaped: by proc_poll/proc_wait/proc_communicate, and at
 *     the latest by proc_fini, which waits (kill first if you cannot wait).
 *   - EINTR is retried everywhere, with timeouts recomputed from a deadline.
 *   - A command that cannot be started (not found, not executable) is an
 *     error returned by proc_start naming the command, e.g.
 *         FileNotFoundError: [Errno 2] No such file or directory: 'no-such-program'
 *     not a child that silently exits 127.
 *
 * How children start: posix_spawnp(3), not fork+exec. glibc's posix_spawn
 * uses clone(CLONE_VM|CLONE_VFORK): the child shares the parent's memory until
 * it execs, so nothing is copied and the cost does not grow with the parent's
 * size, and glibc reports an exec failure back as posix_spawn's return value
 * (no hand-made error pipe). item52/spawn_cost measures the three ways
 * (make bench; the figures are in item52/README.md): fork's cost grows with
 * the parent's memory, posix_spawn's and this library's do not.
 * The file actions dup2 each pipe end onto 0/1/2 (dup2 clears close-on-exec
 * on the copy only). PATH is searched with the parent's PATH, even when
 * `env` gives the child another one (as execvp/posix_spawnp do).
 *
 * Errors. What Python raises comes back as a struct error * (NULL: success):
 * proc_start, proc_wait, proc_write, proc_communicate, proc_run and
 * proc_check_returncode, each with Python's type and message. What Python
 * returns as a number stays a number: proc_poll's return code (or
 * PROC_RUNNING), and proc_send_signal/terminate/kill's 0 or errno value, as
 * os.kill would raise ProcessLookupError only for a pid that is not ours.
 * Out of memory dies (common/check), as everywhere in common/.
 *
 * Limits: one thread should own a struct proc at a time (no locking inside).
 * A child's stdout pipe that nobody reads fills at 64 KiB and the child
 * blocks: use proc_communicate, not proc_wait, when you asked for pipes.
 * Linux only (pidfd for timed waits, with a sleep-and-poll fallback). With
 * glibc before 2.34 children do inherit descriptors not marked close-on-exec.
 *
 * tests/unit/test_cpython_subprocess.c carries CPython's Lib/test/test_subprocess.py, case by
 * case under the same names. Where common/subprocess differs, or a case does not apply:
 *   a negative timeout is PROC_FOREVER (no limit), where Python times out at once.
 *   argv[0] is looked up in the parent's PATH, not env's (test_bytes_program).
 *   no shell=, cwd=, executable=: test_shell_*, test_cwd*, test_executable*.
 *   no preexec_fn, user, group, extra_groups, umask: test_preexec*, test_user, test_group, ...
 *   no start_new_session, process_group, pass_fds, close_fds=False: test_pass_fds*, ...
 *   no stderr=STDOUT, text mode or buffering: test_universal_newlines*, test_io_*, ...
 *   no pipesize: test_pipesizes, test_pipesize_default.
 *   a C string cannot hold a NUL: test_invalid_cmd, test_invalid_env.
 *   no keyword combinations to refuse: test_check_output_stdout_arg, ...
 *   one thread owns a struct proc, nothing is locked: test_threadsafe_wait.
 *   no GC, proc_fini waits: test_zombie_fast_process_del, test_leak_fast_process_del_killed.
 *   mocks of Python internals (test_exception_errpipe_*, test_fork_exec*), Windows' tests.
 */
#ifndef COMMON_SUBPROCESS_H
#define COMMON_SUBPROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define PROC_RUNNING INT_MIN /* proc_poll: the child has not exited (Python's None) */
#define PROC_FOREVER (-1.0)  /* a timeout of None */

/* Where a child's stdin, stdout or stderr goes. A zeroed struct proc_io means
 * "inherit the parent's" (Python's default, None). */
enum proc_io_kind {
    PROC_INHERIT = 0,
    PROC_PIPE,      /* subprocess.PIPE: the parent gets the other end */
    PROC_DEVNULL,   /* subprocess.DEVNULL */
    PROC_FD,        /* an existing descriptor; the caller keeps it and closes it */
    PROC_STDOUT_OF, /* stdin only: another child's stdout pipe; the parent's copy is closed */
};

struct proc;

struct proc_io {
    enum proc_io_kind kind;
    int fd;                /* PROC_FD */
    struct proc *upstream; /* PROC_STDOUT_OF */
};

#define PROC_PIPE_IO ((struct proc_io){.kind = PROC_PIPE})
#define PROC_DEVNULL_IO ((struct proc_io){.kind = PROC_DEVNULL})
#define PROC_FD_IO(d) ((struct proc_io){.kind = PROC_FD, .fd = (d)})
#define PROC_STDOUT_OF(p) ((struct proc_io){.kind = PROC_STDOUT_OF, .upstream = (p)})

struct proc_options {
    char *const *env; /* the child's environment ("K=V" strings), NULL: the parent's */
    struct proc_io in, out, err;
};

/* Bytes read from a child: data[len] is always '\0', so text output can be
 * printed with "%s" (binary output may hold '\0's: use len). */
struct proc_bytes {
    char *data;
    size_t len;
};

/* Popen. Fields the caller may read are marked; the rest is private. */
struct proc {
    pid_t pid;      /* read */
    int returncode; /* read: valid once proc_poll/proc_wait reported the exit */
    int stdin_fd;   /* read: the parent's pipe ends (proc.stdin, ...), -1 if none */
    int stdout_fd;
    int stderr_fd;
    char *args; /* read: the argv as Python prints it, "['sleep', '10']" */
    /* private */
    bool reaped;
    bool communicating; /* communicate has started: input saved, stdin owned */
    const char *input;  /* communicate's input, kept across a timeout */
    size_t input_len, input_done;
    struct proc_bytes out, err;
    size_t out_cap, err_cap;
};

/* Popen(argv, env=, stdin=, stdout=, stderr=). argv[0] is looked up in PATH.
 * opts may be NULL (everything inherited). On error nothing is left open,
 * no child exists, and proc_fini is not needed (calling it is harmless). */
struct error *proc_start(struct proc *proc, char *const argv[], const struct proc_options *opts);

/* poll(): reap the child if it has exited, without blocking. Returns its
 * return code, or PROC_RUNNING. */
int proc_poll(struct proc *proc);

/* wait(timeout): block until the child exits (timeout < 0: no limit).
 * Returns NULL (proc->returncode is set) or TimeoutExpired. */
struct error *proc_wait(struct proc *proc, double timeout);

/* proc.stdin.write(data): write all of data to the child's stdin pipe,
 * blocking until it fits. A child that exited gives BrokenPipeError. */
struct error *proc_write(struct proc *proc, const void *data, size_t len);

/* communicate(input, timeout): send input (may be NULL) to stdin and close it,
 * read stdout and stderr to EOF at the same time, then wait for the child.
 * out/err (either may be NULL) receive what was read from pipes, owned by
 * proc until proc_fini (data is NULL for a stream that is not a pipe).
 * TimeoutExpired leaves the child running and keeps what was read so far
 * and the input not yet sent (keep its buffer alive): call again with no
 * input to continue (input
 * again is ValueError "Cannot send input after starting communication", as
 * in Python), or proc_kill and call again to clean up, as Python's docs
 * advise. */
struct error *proc_communicate(struct proc *proc, const void *input, size_t len, double timeout,
                               struct proc_bytes *out, struct proc_bytes *err);

/* send_signal/terminate/kill. Like Python, they do nothing once the child
 * has been reaped (its pid may belong to someone else by then). Return 0 or
 * an errno value. */
int proc_send_signal(struct proc *proc, int sig);
int proc_terminate(struct proc *proc); /* SIGTERM */
int proc_kill(struct proc *proc);      /* SIGKILL */

/* Leaving `with Popen(...)`: close the parent's pipe ends, wait for the child
 * (so it never stays a zombie), free the buffers. */
void proc_fini(struct proc *proc);

/* subprocess.run's CompletedProcess. */
struct proc_result {
    char *args;
    int returncode;
    struct proc_bytes out, err; /* data is NULL when not captured */
};

/* run(argv, capture_output=capture, timeout=timeout): start, communicate,
 * wait. On timeout the child is killed and reaped before TimeoutExpired is
 * returned (as Python's run does); result keeps the output read until then.
 * Call proc_result_fini in every case. */
struct error *proc_run(struct proc_result *result, char *const argv[], bool capture,
                       double timeout);

/* CompletedProcess.check_returncode(): NULL, or CalledProcessError
 * "Command '['false']' returned non-zero exit status 1." (or "died with
 * <Signals.SIGTERM: 15>." for a signal, named as Python's signal.Signals
 * names it, or "died with unknown signal 35." where Python has no name). */
struct error *proc_check_returncode(const struct proc_result *result);

void proc_result_fini(struct proc_result *result);

/* os.environ.copy() updated with "NAME=value" strings (a NULL-terminated
 * array); never NULL; free with proc_environ_free. */
char **proc_environ_with(const char *const *assignments);
void proc_environ_free(char **env);

#endif
