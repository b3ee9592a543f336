/* subprocess: see subprocess.h.
 *
 * Implementation notes
 *
 * Descriptors. Each PROC_PIPE is one pipe2(O_CLOEXEC): both ends are
 * close-on-exec from birth, so a later child can never inherit them (there is
 * no window between pipe() and fcntl() for another thread's fork to copy them).
 * posix_spawn's dup2 file action puts the child's end on 0/1/2 *in the child*,
 * where the copy is not close-on-exec; the original closes at exec. After the
 * spawn the parent closes its copy of the child's end, at once: a parent that
 * kept the write end of a child's stdout would never let that child's reader
 * see EOF. A source descriptor below 3 is first moved above 2, so that
 * dup2'ing stdin cannot overwrite the source of stdout (a parent started with
 * its own stdin closed gets pipe ends 0 and 1). Then the child closes every
 * descriptor above 2 (close_fds=True; glibc 2.34+): the pipes are safe
 * without it, but descriptors the program itself opened without O_CLOEXEC
 * are not. The pipes stay close-on-exec anyway, for children that other code
 * starts with fork+exec or system().
 *
 * State of one struct proc. `reaped` says the pid has been collected with
 * waitpid; from then on returncode is final and signals are not sent (the pid
 * may be reused). stdin_fd/stdout_fd/stderr_fd are -1 once closed. After
 * communicate has started, `input`/`input_done` remember how far the input
 * got, and `out`/`err` hold what was read, so a retry after TimeoutExpired
 * continues exactly where the first call stopped.
 *
 * Timed waits. waitpid has no timeout. A pidfd (pidfd_open, Linux 5.3+) becomes
 * readable when the child exits, so ppoll on it waits with a deadline and
 * wakes at once; the pidfd is opened only for the wait and closed after, so it
 * costs no descriptor while the child runs. Without pidfd (older kernels,
 * seccomp), the wait polls with waitpid(WNOHANG) and growing sleeps (50 us to
 * 50 ms), as CPython does.
 */
#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "fd.h"
#include "pyrepr.h"

extern char **environ;

#define READ_CHUNK 65536

/* ---- small helpers ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        /* Linux closes the descriptor even when close reports EINTR: never retry. */
        close(*fd);
        *fd = -1;
    }
}

static int returncode_of(int status)
{
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

/* "['sleep', '10']": how Python's messages show the command. */
static char *args_repr(char *const argv[])
{
    size_t cap = 3; /* the brackets and the '\0' */
    for (size_t i = 0; argv[i]; i++)
        cap += PYREPR_STR_SIZE(strlen(argv[i])) + 2;
    char *buf = xmalloc(cap);
    size_t len = 0;
    buf[len++] = '[';
    for (size_t i = 0; argv[i]; i++) {
        if (i > 0) {
            buf[len++] = ',';
            buf[len++] = ' ';
        }
        pyrepr_str(buf + len, cap - len, argv[i]);
        len += strlen(buf + len);
    }
    buf[len++] = ']';
    buf[len] = '\0';
    return buf;
}

/* OSError's subclasses for the errors a start can meet, as Python names them. */
static struct error *os_error(int err, const char *what)
{
    const char *type = err == ENOENT                   ? "FileNotFoundError"
                       : err == EACCES || err == EPERM ? "PermissionError"
                       : err == EPIPE                  ? "BrokenPipeError"
                                                       : "OSError";
    if (what)
        return error_new(type, "[Errno %d] %s: '%s'", err, strerror(err), what);
    return error_new(type, "[Errno %d] %s", err, strerror(err));
}

static struct error *timeout_expired(const struct proc *proc, double timeout)
{
    char seconds[32]; /* Python prints the float's repr: 3.0, 0.30000000000000004 */
    return error_new("TimeoutExpired", "Command '%s' timed out after %s seconds", proc->args,
                     pyrepr_float_repr(seconds, sizeof seconds, timeout));
}

/* ---- SIGPIPE: a write to an exited child must be EPIPE, not our death ---- */

struct sigpipe_guard {
    sigset_t old_mask;
    bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old_mask));
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
}

/* If our write raised SIGPIPE (it is thread-directed, so it is pending on this
 * thread), consume it before unblocking, or it would be delivered now. */
static void sigpipe_unblock(struct sigpipe_guard *g, bool got_epipe)
{
    if (got_epipe && !g->was_pending) {
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR)
            ;
    }
    CHECK_PT(pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL));
}

/* ---- start ---- */

/* The child's descriptors for one stream: `child_end` goes to `target` in
 * the child; a temporary copy (`owned`) is closed by the parent after the
 * spawn. */
struct stream_plan {
    int child_end; /* -1: nothing to dup2 */
    bool owned;    /* the parent must close child_end after the spawn */
    bool devnull;
};

static int plan_stream(const struct proc_io *io, int target, int *parent_end,
                       struct stream_plan *plan)
{
    *plan = (struct stream_plan){.child_end = -1};
    switch (io->kind) {
    case PROC_INHERIT:
        return 0;
    case PROC_DEVNULL:
        plan->devnull = true;
        return 0;
    case PROC_PIPE: {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == -1)
            return errno;
        for (int i = 0; i < 2; i++) {
            fds[i] = fd_above_stdio(fds[i]);
            if (fds[i] == -1) {
                int err = errno;
                close_fd(&fds[1 - i]);
                return err;
            }
        }
        int child = target == 0 ? fds[0] : fds[1];
        *parent_end = target == 0 ? fds[1] : fds[0];
        /* Only the parent's stdin end is non-blocking: communicate never blocks
         * in write; the child's end is untouched (a separate open file). */
        if (target == 0 && fcntl(*parent_end, F_SETFL, O_NONBLOCK) == -1) {
            int err = errno;
            close(fds[0]);
            close(fds[1]);
            *parent_end = -1;
            return err;
        }
        plan->child_end = child;
        plan->owned = true;
        return 0;
    }
    case PROC_FD:
    case PROC_STDOUT_OF: {
        int fd = io->kind == PROC_FD ? io->fd : io->upstream->stdout_fd; /* proc_start checked */
        if (fd < 0)
            return EBADF;
        if (fd <= 2) { /* borrowed: work on a copy above 2 */
            fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
            if (fd == -1)
                return errno;
            plan->owned = true;
        }
        plan->child_end = fd;
        return 0;
    }
    }
    return EINVAL;
}

static int add_actions(posix_spawn_file_actions_t *fa, const struct stream_plan *plan, int target)
{
    if (plan->devnull)
        return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
                                                target == 0 ? O_RDONLY : O_WRONLY, 0);
    if (plan->child_end >= 0)
        return posix_spawn_file_actions_adddup2(fa, plan->child_end, target);
    return 0;
}

/* sigaddset refuses glibc's internal signals (32 and 33) with EINVAL, so set
 * their bits by hand: a sigset_t is an array of words, bit sig-1 for sig. */
static void sigset_add_internal(sigset_t *set, int sig)
{
    unsigned long *words = (unsigned long *)set;
    size_t bits = 8 * sizeof *words;
    words[(size_t)(sig - 1) / bits] |= 1UL << ((size_t)(sig - 1) % bits);
}

static int spawn(struct proc *proc, char *const argv[], char *const env[],
                 const struct stream_plan plans[3])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int err = posix_spawn_file_actions_init(&fa);
    if (err)
        return err;
    err = posix_spawnattr_init(&attr);
    if (err) {
        posix_spawn_file_actions_destroy(&fa);
        return err;
    }
    for (int target = 0; target < 3 && !err; target++)
        err = add_actions(&fa, &plans[target], target);
#ifdef __GLIBC_PREREQ
#if __GLIBC_PREREQ(2, 34)
    /* Python's close_fds=True: after the dup2s, the child closes everything
     * above 2, so it cannot inherit a descriptor the program opened without
     * O_CLOEXEC (a hand-made pipe() is the usual one) and hang someone's EOF. */
    if (!err)
        err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
#endif
    /* Python's restore_signals=True: the child starts with SIGPIPE and SIGXFSZ
     * at their default action even if this process ignores them (an ignored
     * SIGPIPE survives exec, and then a chain's writer loops on EPIPE instead
     * of dying). Everything else is inherited as Python leaves it: the signal
     * mask, and the other ignored signals. Except glibc's own 32 and 33: its
     * posix_spawn sets them to "ignored" in every child it starts, unless
     * they are in this set; Python's children have them at default. */
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGXFSZ);
    for (int sig = 32; sig < SIGRTMIN; sig++)
        sigset_add_internal(&defaults, sig);
    if (!err)
        err = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (!err)
        err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    if (!err)
        err = posix_spawnp(&proc->pid, argv[0], &fa, &attr, argv, env ? env : environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

static struct error *misuse(struct proc *proc, const char *what)
{
    struct error *e = error_new("ValueError", "%s: %s", proc->args, what);
    free(proc->args);
    proc->args = NULL;
    return e;
}

struct error *proc_start(struct proc *proc, char *const argv[], const struct proc_options *opts)
{
    static const struct proc_options inherit_all;
    if (!opts)
        opts = &inherit_all;
    *proc = (struct proc){.pid = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    proc->reaped = true; /* until there is a child */
    if (!argv || !argv[0])
        return error_new("ValueError", "empty argv");
    proc->args = args_repr(argv);

    /* Misuse gets a message of its own, not an errno that seems to blame argv[0]. */
    if (opts->out.kind == PROC_STDOUT_OF || opts->err.kind == PROC_STDOUT_OF)
        return misuse(proc, "PROC_STDOUT_OF is for stdin only");
    if (opts->in.kind == PROC_STDOUT_OF && (!opts->in.upstream || opts->in.upstream->stdout_fd < 0))
        return misuse(proc, "PROC_STDOUT_OF: stdout not a pipe, or handed on already");
    const struct proc_io *ios[3] = {&opts->in, &opts->out, &opts->err};
    int *parent_ends[3] = {&proc->stdin_fd, &proc->stdout_fd, &proc->stderr_fd};
    struct stream_plan plans[3] = {{.child_end = -1}, {.child_end = -1}, {.child_end = -1}};
    int err = 0;
    for (int target = 0; target < 3 && !err; target++)
        err = plan_stream(ios[target], target, parent_ends[target], &plans[target]);
    if (!err)
        err = spawn(proc, argv, opts->env, plans);

    /* Success or not, the child's ends are the child's business now. */
    for (int target = 0; target < 3; target++)
        if (plans[target].owned)
            close_fd(&plans[target].child_end);
    if (err) {
        for (int target = 0; target < 3; target++)
            close_fd(parent_ends[target]);
        struct error *e = os_error(err, argv[0]);
        free(proc->args);
        proc->args = NULL;
        return e;
    }
    proc->reaped = false;
    proc->returncode = PROC_RUNNING;
    /* The book's `encrypt_proc.stdout.close()`, done for every chain: the
     * downstream child holds the pipe now; our copy would keep it alive. */
    if (opts->in.kind == PROC_STDOUT_OF)
        close_fd(&opts->in.upstream->stdout_fd);
    return NULL;
}

/* ---- waiting ---- */

/* waitpid, retried on EINTR. Returns 1 reaped, 0 still running, -1 error. */
static int reap(struct proc *proc, int flags)
{
    if (proc->reaped || proc->pid <= 0) /* never waitpid(0 or -1): those mean "any child" */
        return 1;
    int status;
    pid_t r;
    while ((r = waitpid(proc->pid, &status, flags)) == -1 && errno == EINTR)
        ;
    if (r == 0)
        return 0;
    if (r == -1) {
        if (errno != ECHILD)
            return -1;
        /* Someone else reaped it (SIGCHLD set to SIG_IGN): Python reports 0. */
        status = 0;
    }
    proc->reaped = true;
    proc->returncode = returncode_of(status);
    return 1;
}

int proc_poll(struct proc *proc)
{
    return reap(proc, WNOHANG) == 1 ? proc->returncode : PROC_RUNNING;
}

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* ppoll until deadline; fds may be empty. Returns ppoll's result (0 on
 * timeout), never -1 with EINTR. A negative deadline means no limit. */
static int poll_until(struct pollfd *fds, nfds_t n, double deadline)
{
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (deadline >= 0) {
            double left = deadline - clock_now();
            if (left < 0)
                left = 0;
            ts.tv_sec = (time_t)left;
            ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
            tsp = &ts;
        }
        int r = ppoll(fds, n, tsp, NULL);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

/* Wait for the child until deadline (< 0: forever). 1 reaped, 0 timed out, -1 error. */
static int wait_until(struct proc *proc, double deadline)
{
    if (deadline < 0)
        return reap(proc, 0);
    int r = reap(proc, WNOHANG);
    if (r != 0)
        return r;
    int pidfd = pidfd_open_(proc->pid);
    if (pidfd >= 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        while ((r = reap(proc, WNOHANG)) == 0) {
            int ready = poll_until(&pfd, 1, deadline);
            if (ready == 0)
                break;
            if (ready < 0) {
                r = -1;
                break;
            }
        }
        close(pidfd);
        return r;
    }
    double pause = 0.00005; /* no pidfd: CPython's backoff loop */
    while ((r = reap(proc, WNOHANG)) == 0) {
        double left = deadline - clock_now();
        if (left <= 0)
            return 0;
        clock_sleep(pause < left ? pause : left);
        pause = pause * 2 < 0.05 ? pause * 2 : 0.05;
    }
    return r;
}

static double deadline_of(double timeout)
{
    return timeout < 0 ? -1.0 : clock_now() + timeout;
}

struct error *proc_wait(struct proc *proc, double timeout)
{
    int r = wait_until(proc, deadline_of(timeout));
    if (r == 1)
        return NULL;
    if (r == 0)
        return timeout_expired(proc, timeout);
    return os_error(errno, NULL);
}

/* ---- talking to the child ---- */

/* One write of what fits now; returns bytes written, 0 if the pipe is full,
 * or -errno. SIGPIPE must be blocked by the caller. */
static ssize_t write_some(int fd, const char *data, size_t len)
{
    ssize_t n;
    while ((n = write(fd, data, len)) == -1 && errno == EINTR)
        ;
    if (n >= 0)
        return n;
    return errno == EAGAIN ? 0 : -errno;
}

struct error *proc_write(struct proc *proc, const void *data, size_t len)
{
    if (proc->stdin_fd < 0)
        return error_new("ValueError", "stdin of %s is not a pipe (or is closed)", proc->args);
    struct sigpipe_guard guard;
    sigpipe_block(&guard);
    const char *p = data;
    ssize_t n = 0;
    while (len > 0) {
        n = write_some(proc->stdin_fd, p, len);
        if (n < 0)
            break;
        if (n == 0) { /* full: wait until the child reads */
            struct pollfd pfd = {.fd = proc->stdin_fd, .events = POLLOUT};
            if (poll_until(&pfd, 1, -1) < 0) {
                n = -errno;
                break;
            }
        }
        p += n;
        len -= (size_t)n;
    }
    sigpipe_unblock(&guard, n == -EPIPE);
    return n < 0 ? os_error((int)-n, NULL) : NULL;
}

/* Make room for at least READ_CHUNK more bytes (plus the trailing '\0'). */
static void reserve(struct proc_bytes *b, size_t *cap)
{
    if (*cap - b->len > READ_CHUNK)
        return;
    *cap = *cap ? *cap * 2 : 2 * READ_CHUNK;
    b->data = xrealloc(b->data, *cap);
}

/* Read what is there; on EOF close the pipe. Returns 0 or an errno value. */
static int drain_once(int *fd, struct proc_bytes *b, size_t *cap)
{
    reserve(b, cap);
    ssize_t n;
    while ((n = read(*fd, b->data + b->len, *cap - b->len - 1)) == -1 && errno == EINTR)
        ;
    if (n < 0)
        return errno;
    if (n == 0)
        close_fd(fd);
    b->len += (size_t)n;
    b->data[b->len] = '\0';
    return 0;
}

/* Feed stdin and drain stdout/stderr until all three are closed or the
 * deadline passes. Returns 1 done, 0 timed out, or -errno; *epipe tells
 * whether a write met a closed pipe (and so raised SIGPIPE). */
static int pump(struct proc *proc, double deadline, bool *epipe)
{
    while (proc->stdin_fd >= 0 || proc->stdout_fd >= 0 || proc->stderr_fd >= 0) {
        struct pollfd fds[3];
        int *owners[3];
        nfds_t n = 0;
        if (proc->stdin_fd >= 0) {
            fds[n] = (struct pollfd){.fd = proc->stdin_fd, .events = POLLOUT};
            owners[n++] = &proc->stdin_fd;
        }
        if (proc->stdout_fd >= 0) {
            fds[n] = (struct pollfd){.fd = proc->stdout_fd, .events = POLLIN};
            owners[n++] = &proc->stdout_fd;
        }
        if (proc->stderr_fd >= 0) {
            fds[n] = (struct pollfd){.fd = proc->stderr_fd, .events = POLLIN};
            owners[n++] = &proc->stderr_fd;
        }
        int ready = poll_until(fds, n, deadline);
        if (ready == 0)
            return 0;
        if (ready < 0)
            return -errno;
        for (nfds_t i = 0; i < n; i++) {
            if (!fds[i].revents)
                continue;
            int err = 0;
            if (owners[i] == &proc->stdin_fd) {
                ssize_t w = write_some(proc->stdin_fd, proc->input + proc->input_done,
                                       proc->input_len - proc->input_done);
                if (w == -EPIPE) { /* the child stopped reading: fine, as in Python */
                    *epipe = true;
                    proc->input_done = proc->input_len;
                } else if (w < 0)
                    err = (int)-w;
                else
                    proc->input_done += (size_t)w;
                if (proc->input_done == proc->input_len)
                    close_fd(&proc->stdin_fd); /* EOF tells the child the input ended */
            } else if (owners[i] == &proc->stdout_fd) {
                err = drain_once(&proc->stdout_fd, &proc->out, &proc->out_cap);
            } else {
                err = drain_once(&proc->stderr_fd, &proc->err, &proc->err_cap);
            }
            if (err)
                return -err;
        }
    }
    return 1;
}

struct error *proc_communicate(struct proc *proc, const void *input, size_t len, double timeout,
                               struct proc_bytes *out, struct proc_bytes *err)
{
    double deadline = deadline_of(timeout);
    /* Python's rule: the input of the first call is kept and sent across a
     * timeout; a retry that brings input of its own would have it dropped or
     * interleaved, so it is refused, as Python refuses it. */
    if (proc->communicating && input && len > 0)
        return error_new("ValueError", "Cannot send input after starting communication");
    if (!proc->communicating) {
        if (input && len > 0 && proc->stdin_fd < 0) /* checked first: a retry must check again */
            return error_new("ValueError", "input given but stdin of %s is not a pipe", proc->args);
        proc->communicating = true;
        proc->input = input;
        proc->input_len = input ? len : 0;
        if (proc->input_len == 0)
            close_fd(&proc->stdin_fd);
        /* Pipes that carry output get a buffer even if the child writes nothing. */
        if (proc->stdout_fd >= 0)
            reserve(&proc->out, &proc->out_cap);
        if (proc->stderr_fd >= 0)
            reserve(&proc->err, &proc->err_cap);
        if (proc->out.data)
            proc->out.data[0] = '\0';
        if (proc->err.data)
            proc->err.data[0] = '\0';
    }
    struct sigpipe_guard guard;
    bool epipe = false;
    sigpipe_block(&guard);
    int r = pump(proc, deadline, &epipe);
    sigpipe_unblock(&guard, epipe);
    if (r == 1 && (r = wait_until(proc, deadline)) == -1)
        r = -errno;
    if (r == 0)
        return timeout_expired(proc, timeout);
    if (r < 0)
        return os_error(-r, NULL);
    if (out)
        *out = proc->out;
    if (err)
        *err = proc->err;
    return NULL;
}

int proc_send_signal(struct proc *proc, int sig)
{
    /* Reap first if it already exited: then we never signal a recycled pid. */
    if (proc->pid <= 0) /* kill(0 or -1) would signal a whole group */
        return ESRCH;
    if (proc_poll(proc) != PROC_RUNNING)
        return 0;
    return kill(proc->pid, sig) == -1 ? errno : 0;
}

int proc_terminate(struct proc *proc)
{
    return proc_send_signal(proc, SIGTERM);
}

int proc_kill(struct proc *proc)
{
    return proc_send_signal(proc, SIGKILL);
}

void proc_fini(struct proc *proc)
{
    close_fd(&proc->stdin_fd);  /* a child reading stdin sees EOF ... */
    close_fd(&proc->stdout_fd); /* ... one still writing gets SIGPIPE */
    close_fd(&proc->stderr_fd);
    reap(proc, 0);
    free(proc->out.data);
    free(proc->err.data);
    free(proc->args);
    proc->out = proc->err = (struct proc_bytes){0};
    proc->args = NULL;
}

/* ---- run ---- */

struct error *proc_run(struct proc_result *result, char *const argv[], bool capture, double timeout)
{
    *result = (struct proc_result){.returncode = PROC_RUNNING};
    struct proc_options opts = {0};
    if (capture)
        opts.out = opts.err = PROC_PIPE_IO;
    struct proc proc;
    struct error *e = proc_start(&proc, argv, &opts);
    if (e)
        return e;
    e = proc_communicate(&proc, NULL, 0, timeout, NULL, NULL);
    if (e) {
        /* As Python's run: kill on a timeout (or any error), then only wait.
         * Reading the pipes to EOF here could hang: a grandchild may hold
         * them open long after the child is dead. What was read is kept. */
        proc_kill(&proc);
        error_free(proc_wait(&proc, PROC_FOREVER));
    }
    result->returncode = proc.returncode;
    result->args = proc.args;
    result->out = proc.out;
    result->err = proc.err;
    proc.args = NULL;
    proc.out = proc.err = (struct proc_bytes){0};
    proc_fini(&proc);
    return e;
}

struct error *proc_check_returncode(const struct proc_result *result)
{
    int rc = result->returncode;
    if (rc == 0)
        return NULL;
    if (rc < 0 && rc != PROC_RUNNING) {
        const char *name = pyrepr_signal_name(-rc);
        if (!name)
            return error_new("CalledProcessError", "Command '%s' died with unknown signal %d.",
                             result->args, -rc);
        return error_new("CalledProcessError", "Command '%s' died with <Signals.%s: %d>.",
                         result->args, name, -rc);
    }
    return error_new("CalledProcessError", "Command '%s' returned non-zero exit status %d.",
                     result->args, rc);
}

void proc_result_fini(struct proc_result *result)
{
    free(result->args);
    free(result->out.data);
    free(result->err.data);
    *result = (struct proc_result){0};
}

/* ---- environment ---- */

static size_t name_len(const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    return eq ? (size_t)(eq - assignment) : strlen(assignment);
}

char **proc_environ_with(const char *const *assignments)
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (assignments && assignments[extra])
        extra++;
    char **env = xcalloc(n + extra + 1, sizeof *env);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t j = 0; j < extra; j++) {
            size_t k = name_len(assignments[j]);
            if (name_len(environ[i]) == k && strncmp(environ[i], assignments[j], k) == 0)
                replaced = true;
        }
        if (!replaced)
            env[used++] = xstrdup(environ[i]);
    }
    for (size_t j = 0; j < extra; j++)
        env[used++] = xstrdup(assignments[j]);
    return env;
}

void proc_environ_free(char **env)
{
    if (!env)
        return;
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}
