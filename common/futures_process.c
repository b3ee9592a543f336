/* futures_process: ProcessPoolExecutor. See futures.h for the API; the
 * future itself and executor_map live in futures.c.
 *
 * The book lists ten things ProcessPoolExecutor does for one map() call. Each
 * is done by hand in the section "the ten steps" below, in the book's order,
 * and marked "Step N" where it happens:
 *   1 take each item          process_pool_submit (called by executor_map)
 *   2 serialise it to bytes   encode_task
 *   3 copy them to a child    dispatch (the manager thread, over the socket)
 *   4 deserialise them there  worker_main (in the child)
 *   5 "import the module"     worker_main: nothing to do after fork
 *   6 run the function        worker_main
 *   7 serialise the result    encode_result (called by worker_main)
 *   8 copy it back            worker_main (over the same socket)
 *   9 deserialise it          receive_result (the manager, in the parent)
 *  10 merge the results       executor_map (futures.c), in submission order
 * Python's pickle becomes plain bytes: arguments and results are fixed-size
 * blocks with no pointers inside (arg_size, result_size), and a function is
 * sent as its address, which means the same function in a forked child.
 *
 * Implementation notes
 *
 * Processes. process_pool_create forks max_workers children at once (Python
 * starts them on demand) and only then starts the parent's one extra thread,
 * the manager. fork() copies only the calling thread: a mutex that another
 * thread held at that instant (inside malloc, stdio, a pool's queue) stays
 * locked for ever in the child, whose first malloc can then hang. So a
 * process pool may only be created while no other thread of the program
 * runs: shut down and join any thread pool first, and do not create a second
 * process pool while one is alive (its manager thread runs). This is checked,
 * not just hoped for: process_pool_create counts the threads in
 * /proc/self/task and refuses (EBUSY) unless the caller is alone.
 *
 * Descriptors. Each child keeps only fds 0-2 and its own socket (moved to fd
 * 3; close_range closes the rest), so it holds no other worker's socket and
 * no descriptor of the caller's (e.g. a test runner's pipe). The pool's own
 * descriptors are kept above 2 (fd_above_stdio, common/fd.h), or a caller that had closed stdin
 * would hand the next one it opens to every worker as fd 0.
 *
 * Channels. One AF_UNIX stream socket pair per worker (the book's "local
 * socket"): the parent sends a task down it only when that worker is idle,
 * and the worker sends the result back up the same socket. send() with
 * MSG_NOSIGNAL turns a write to a dead worker into EPIPE instead of a SIGPIPE
 * that would kill the parent. A dead worker's socket reads as end-of-file:
 * that is how the parent notices a crash without waiting for anything else.
 *
 * Threads in the parent and what they share:
 *   mutex guards head/tail (jobs not yet sent), shutting_down and broken.
 *   Callers of executor_submit append a job and write a byte to the wake pipe;
 *   executor_shutdown sets shutting_down and writes a byte too. The manager
 *   is the only reader of the wake pipe and the only thread that touches the
 *   workers[] table (pids, sockets, the job each one runs) and resolves
 *   futures. Its loop: hand queued jobs to idle workers, poll() the wake pipe
 *   and every worker's socket, read the results that arrived.
 *   join_mutex guards joined, as in the thread pool: one joiner of the manager.
 *
 * A broken pool (Python's BrokenProcessPool): when any worker's socket
 * reports end-of-file or an error, the manager marks the pool broken, kills
 * (SIGKILL) and reaps every worker, and fails every job it holds, running or
 * queued, with "A process in the process pool was terminated abruptly while
 * the future was running or pending.", its cause naming the process that died
 * and its exit code (negative: the signal). Later submits return a future
 * that has already failed the same way. Nothing waits on a dead worker, so
 * the parent never hangs; every child is waited for, so none is left a zombie.
 *
 * Invariants: a worker runs at most one job (job != NULL while it does);
 * each future is resolved exactly once, by the manager; after the manager
 * exits, every worker has been reaped and every job resolved.
 *
 * Limits: arguments and results are flat bytes; no cancel(), no result
 * timeout; a task function that forks or closes the worker's socket voids the
 * crash detection; one process pool at a time (see Processes).
 */
#include "futures.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "fd.h"
#include "futures_impl.h"
#include "pyrepr.h"

#define BROKEN_FUTURE                                                                              \
    "A process in the process pool was terminated abruptly while the future was running or "       \
    "pending."
#define BROKEN_SUBMIT "A child process terminated abruptly, the process pool is not usable anymore"

/* ---- the wire format: our pickle ---- */

struct task_header { /* then arg_size bytes of argument */
    uint64_t id;
    task_fn *fn; /* an address: valid in the child because it is a fork of us */
    uint64_t arg_size;
};

enum result_kind { RESULT_VALUE, RESULT_NONE, RESULT_ERROR };

struct result_header { /* then size bytes: the value, or `size / sizeof(struct wire_error)` links */
    uint64_t id;
    uint32_t kind;
    uint32_t size;
};

#define MAX_ERROR_LINKS 64 /* a longer chain is not the protocol */

struct wire_error { /* one link of an error chain, cause after cause */
    char type[sizeof((struct error *)0)->type];
    char message[sizeof((struct error *)0)->message];
};

/* A message: a header and its payload in one malloc'd block, sent whole. */
struct message {
    size_t len;
    unsigned char *bytes;
};

/* ---- the pool's state ---- */

struct job {
    struct job *next;
    struct message message; /* the serialised task, until it is sent */
    struct future *future;
};

/* One of the pool's worker processes, as the parent sees it (Python's
 * _processes): not common/worker's StoppableWorker thread. */
struct pool_process {
    pid_t pid;       /* 0 once reaped */
    int fd;          /* the parent's end of this worker's socket; -1 once closed */
    struct job *job; /* the job it runs, or NULL when idle */
    bool died;       /* its socket reported end-of-file: it died on its own */
};

struct process_pool {
    struct executor base; /* first: a struct executor * points here */
    size_t arg_size, result_size;
    pthread_mutex_t mutex;
    struct job *head, *tail; /* guarded by mutex: jobs not yet sent */
    bool shutting_down;      /* guarded by mutex */
    bool broken;             /* guarded by mutex */
    int wake[2];             /* the wake pipe: submit/shutdown write, the manager reads */
    pthread_t manager;
    pthread_mutex_t join_mutex;
    bool joined; /* guarded by join_mutex */
    int nworkers;
    struct pool_process workers[]; /* the manager's alone once it runs */
};

/* ---- plumbing: whole messages over a stream socket, the wake pipe ---- */

/* send() and recv() may move fewer bytes than asked (a stream socket): loop.
 * Both return 0 on success, -1 when the other end is gone (EOF or error). */
static int send_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void wake_manager(struct process_pool *pool)
{
    char byte = 1;
    /* Non-blocking: if the pipe is full, the manager has wake-ups pending. */
    while (write(pool->wake[1], &byte, 1) < 0 && errno == EINTR)
        ;
}

/* ---- the ten steps of one map() call, in the book's order ---- */

static struct message encode_task(uint64_t id, task_fn *fn, const void *arg, size_t arg_size);
static struct message encode_result(uint64_t id, struct error *error, const void *value,
                                    size_t result_size);

/* Step 1: take an item (executor_map calls this for each one), serialise it
 * and queue it for the manager. Returns NULL only after shutdown. */
static struct future *process_pool_submit(struct executor *ex, task_fn *fn, void *arg)
{
    struct process_pool *pool = (struct process_pool *)ex;
    struct future *future = future_create();
    CHECK_PT(pthread_mutex_lock(&pool->mutex));
    if (pool->broken) {
        CHECK_PT(pthread_mutex_unlock(&pool->mutex));
        /* Python raises BrokenProcessPool here; the C caller gets it from
         * future_result, like any other error of this task. */
        future_set_error(future, error_new("BrokenProcessPool", BROKEN_SUBMIT));
        return future;
    }
    if (pool->shutting_down) {
        CHECK_PT(pthread_mutex_unlock(&pool->mutex));
        future_destroy(future);
        errno = ESHUTDOWN;
        return NULL;
    }
    struct job *job = xmalloc(sizeof *job);
    /* The job's address is its id: unique while it is in flight. */
    job->message = encode_task((uint64_t)(uintptr_t)job, fn, arg, pool->arg_size);
    job->future = future;
    job->next = NULL;
    if (pool->tail)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    CHECK_PT(pthread_mutex_unlock(&pool->mutex));
    wake_manager(pool);
    return future;
}

/* Step 2: serialise the item: a header (id, function, size), then a copy of
 * the argument's bytes. Copied now, so the caller may change arg at once. */
static struct message encode_task(uint64_t id, task_fn *fn, const void *arg, size_t arg_size)
{
    struct task_header h = {id, fn, arg_size};
    struct message m = {sizeof h + arg_size, xmalloc(sizeof h + arg_size)};
    memcpy(m.bytes, &h, sizeof h);
    if (arg_size)
        memcpy(m.bytes + sizeof h, arg, arg_size);
    return m;
}

/* Step 3: copy the bytes to a child: the manager sends a queued job to an
 * idle worker's socket. Returns -1 if the worker is gone. */
static int dispatch(struct pool_process *w, struct job *job)
{
    w->job = job;
    int sent = send_all(w->fd, job->message.bytes, job->message.len);
    free(job->message.bytes);
    job->message.bytes = NULL;
    return sent;
}

/* Steps 4 to 8 happen in the child: a worker process serves tasks one at a
 * time until its socket reads end-of-file. */
static noreturn void worker_main(int fd, size_t arg_size, size_t result_size)
{
    unsigned char *arg = xmalloc(arg_size ? arg_size : 1);
    for (;;) {
        /* Step 4: deserialise: read the header, then the argument's bytes.
         * End-of-file here is the parent saying "no more work" (shutdown
         * closes its end), or the parent dying: exit either way. */
        struct task_header h;
        if (recv_all(fd, &h, sizeof h) < 0 || h.arg_size != arg_size ||
            recv_all(fd, arg, arg_size) < 0)
            _exit(0); /* _exit: no atexit handlers, no stdio flush of the parent's buffers */

        /* Step 5: Python imports the module that defines fn. Nothing to do in
         * C: this process is a copy of the parent, so h.fn is the same code. */

        /* Step 6: run it; this is the part that runs in parallel. */
        void *value = NULL;
        struct error *error = h.fn(arg, &value);

        /* Step 7: serialise the result: the value, or the error chain. */
        struct message m = encode_result(h.id, error, value, result_size);
        free(value); /* the task malloc'd it; the parent gets its own copy */
        error_free(error);

        /* Step 8: copy the bytes back through the socket. */
        fflush(NULL); /* what the task printed, before the result and before any crash */
        int sent = send_all(fd, m.bytes, m.len);
        free(m.bytes);
        if (sent < 0)
            _exit(0); /* the parent is gone */
    }
}

/* Step 7: serialise what the function returned: its value (result_size
 * bytes), nothing (Python's None), or its error chain, link by link. */
static struct message encode_result(uint64_t id, struct error *error, const void *value,
                                    size_t result_size)
{
    struct result_header h = {id, RESULT_VALUE, (uint32_t)result_size};
    size_t links = 0;
    for (const struct error *e = error; e && links < MAX_ERROR_LINKS; e = e->cause)
        links++;
    if (error) {
        h.kind = RESULT_ERROR;
        h.size = (uint32_t)(links * sizeof(struct wire_error));
    } else if (!value || result_size == 0) {
        h.kind = RESULT_NONE;
        h.size = 0;
    }
    struct message m = {sizeof h + h.size, xcalloc(1, sizeof h + h.size)};
    memcpy(m.bytes, &h, sizeof h);
    if (h.kind == RESULT_VALUE) {
        memcpy(m.bytes + sizeof h, value, result_size);
    } else if (h.kind == RESULT_ERROR) {
        struct wire_error *w = (struct wire_error *)(m.bytes + sizeof h);
        const struct error *e = error;
        for (size_t i = 0; i < links; i++, e = e->cause, w++) {
            memcpy(w->type, e->type, sizeof w->type);
            memcpy(w->message, e->message, sizeof w->message);
        }
    }
    return m;
}

/* Step 9: deserialise the result in the parent (the manager reads it from the
 * worker's socket) and resolve the job's future with it. Returns -1 if the
 * worker is gone (end-of-file) or sent something that is not the protocol. */
static int receive_result(struct process_pool *pool, struct pool_process *w)
{
    struct result_header h;
    if (recv_all(w->fd, &h, sizeof h) < 0)
        return -1;
    if (!w->job || h.id != (uint64_t)(uintptr_t)w->job ||
        (h.kind == RESULT_VALUE && h.size != pool->result_size) ||
        (h.kind == RESULT_ERROR && (h.size == 0 || h.size % sizeof(struct wire_error) ||
                                    h.size > MAX_ERROR_LINKS * sizeof(struct wire_error))))
        return -1; /* not the protocol: treat the worker as broken */
    unsigned char *payload = xmalloc(h.size ? h.size : 1);
    if (recv_all(w->fd, payload, h.size) < 0) {
        free(payload);
        return -1;
    }
    struct job *job = w->job;
    w->job = NULL;
    if (h.kind == RESULT_VALUE) {
        future_set_result(job->future, payload); /* the caller frees it */
    } else if (h.kind == RESULT_NONE) {
        free(payload);
        future_set_result(job->future, NULL);
    } else {
        /* Rebuild the chain from the last cause back to the outermost error. */
        struct wire_error *links = (struct wire_error *)payload;
        struct error *e = NULL;
        for (size_t i = h.size / sizeof *links; i-- > 0;) {
            links[i].type[sizeof links[i].type - 1] = '\0'; /* trust no byte from outside */
            links[i].message[sizeof links[i].message - 1] = '\0';
            e = error_from(e, links[i].type, "%s", links[i].message);
        }
        free(payload);
        future_set_error(job->future, e);
    }
    free(job);
    return 0;
}

/* Step 10, merging the results into one list in submission order, is
 * executor_map in futures.c: the same code for both pools. */

/* ---- a broken pool: fail every job, reap every worker ---- */

static void fail_job(struct job *job, const struct error *cause)
{
    struct error *e = error_from(error_copy(cause), "BrokenProcessPool", BROKEN_FUTURE);
    free(job->message.bytes);
    future_set_error(job->future, e);
    free(job);
}

/* Close every socket and wait for every child. With kill, stop them first:
 * a broken pool does not wait for the survivors' tasks (Python terminates
 * them too). Without kill, closing the socket is the "no more work" signal. */
static void reap_workers(struct process_pool *pool, bool kill_them)
{
    for (int i = 0; i < pool->nworkers; i++) {
        struct pool_process *w = &pool->workers[i];
        if (w->pid > 0 && kill_them)
            kill(w->pid, SIGKILL);
        if (w->fd >= 0)
            close(w->fd);
        w->fd = -1;
    }
    for (int i = 0; i < pool->nworkers; i++) {
        struct pool_process *w = &pool->workers[i];
        if (w->pid <= 0)
            continue;
        while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        w->pid = 0;
    }
}

/* The cause, as recent CPython words it: which process died and how; for a
 * signal, Python's negative exit code and the signal's name as Python names
 * it. */
static struct error *death_cause(pid_t pid, int status)
{
    if (WIFSIGNALED(status)) {
        const char *name = pyrepr_signal_name(WTERMSIG(status));
        return error_new("_RemoteTraceback",
                         "Process %d terminated abruptly with exit code %d (killed by %s)",
                         (int)pid, -WTERMSIG(status), name ? name : "SIG?");
    }
    return error_new("_RemoteTraceback", "Process %d terminated abruptly with exit code %d",
                     (int)pid, WEXITSTATUS(status));
}

/* A worker died: fail everything, stop and reap the rest. */
static void break_pool(struct process_pool *pool)
{
    CHECK_PT(pthread_mutex_lock(&pool->mutex));
    pool->broken = true;
    struct job *queued = pool->head;
    pool->head = pool->tail = NULL;
    CHECK_PT(pthread_mutex_unlock(&pool->mutex));

    /* A worker that closed its socket is exiting, so this waitpid is short;
     * the SIGKILL first makes sure of it (it does not change the status of a
     * process that is already dying, and its pid cannot be reused before the
     * waitpid). */
    struct error *cause = NULL;
    for (int i = 0; i < pool->nworkers; i++) {
        struct pool_process *w = &pool->workers[i];
        int status = 0;
        if (!w->died || w->pid <= 0)
            continue;
        kill(w->pid, SIGKILL);
        while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!cause) /* usually only one died; name the first found */
            cause = death_cause(w->pid, status);
        w->pid = 0;
    }
    reap_workers(pool, true);
    for (int i = 0; i < pool->nworkers; i++) {
        if (pool->workers[i].job)
            fail_job(pool->workers[i].job, cause);
        pool->workers[i].job = NULL;
    }
    while (queued) {
        struct job *next = queued->next;
        fail_job(queued, cause);
        queued = next;
    }
    error_free(cause);
}

/* ---- the manager thread: steps 3 and 9, and watching for deaths ---- */

static void *manager(void *arg)
{
    struct process_pool *pool = arg;
    int n = pool->nworkers;
    struct pollfd fds[n + 1];
    for (;;) {
        /* Hand queued jobs to idle workers: one job per worker at a time. */
        bool lost = false;
        for (int i = 0; i < n && !lost; i++) {
            struct pool_process *w = &pool->workers[i];
            if (w->job)
                continue;
            CHECK_PT(pthread_mutex_lock(&pool->mutex));
            struct job *job = pool->head;
            if (job) {
                pool->head = job->next;
                if (!pool->head)
                    pool->tail = NULL;
            }
            CHECK_PT(pthread_mutex_unlock(&pool->mutex));
            if (job && dispatch(w, job) < 0)
                lost = w->died = true; /* it died before taking the job */
        }
        if (lost)
            break;

        CHECK_PT(pthread_mutex_lock(&pool->mutex));
        bool done = pool->shutting_down && !pool->head;
        CHECK_PT(pthread_mutex_unlock(&pool->mutex));
        bool busy = false;
        for (int i = 0; i < n; i++)
            busy = busy || pool->workers[i].job;
        if (done && !busy) {
            reap_workers(pool, false);
            return NULL;
        }

        /* Wait for a result, a death (POLLHUP or end-of-file), or news. */
        fds[0] = (struct pollfd){pool->wake[0], POLLIN, 0};
        for (int i = 0; i < n; i++)
            fds[i + 1] = (struct pollfd){pool->workers[i].fd, POLLIN, 0};
        if (poll(fds, (nfds_t)n + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break; /* cannot watch the workers any more: fail safe */
        }
        if (fds[0].revents) {
            char buf[64];
            while (read(pool->wake[0], buf, sizeof buf) > 0)
                ;
        }
        for (int i = 0; i < n; i++) {
            if (fds[i + 1].revents && receive_result(pool, &pool->workers[i]) < 0)
                lost = pool->workers[i].died = true;
        }
        if (lost)
            break;
    }
    break_pool(pool);
    return NULL;
}

/* ---- shutdown, creation ---- */

static void process_pool_shutdown(struct executor *ex, bool wait)
{
    struct process_pool *pool = (struct process_pool *)ex;
    CHECK_PT(pthread_mutex_lock(&pool->mutex));
    pool->shutting_down = true;
    CHECK_PT(pthread_mutex_unlock(&pool->mutex));
    wake_manager(pool);
    if (!wait)
        return;
    CHECK_PT(pthread_mutex_lock(&pool->join_mutex));
    if (!pool->joined) {
        CHECK_PT(pthread_join(pool->manager, NULL));
        pool->joined = true;
    }
    CHECK_PT(pthread_mutex_unlock(&pool->join_mutex));
}

static void process_pool_free(struct process_pool *pool)
{
    if (pool->wake[0] >= 0)
        close(pool->wake[0]);
    if (pool->wake[1] >= 0)
        close(pool->wake[1]);
    CHECK_PT(pthread_mutex_destroy(&pool->mutex));
    CHECK_PT(pthread_mutex_destroy(&pool->join_mutex));
    free(pool);
}

static void process_pool_destroy(struct executor *ex)
{
    process_pool_free((struct process_pool *)ex);
}

static const struct executor_ops process_pool_ops = {
    process_pool_submit,
    process_pool_shutdown,
    process_pool_destroy,
};

/* ThreadSanitizer's runtime starts a thread of its own (with the program's
 * first pthread_create) and makes fork safe for it: do not count it. */
#if defined(__SANITIZE_THREAD__)
#define RUNTIME_THREADS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RUNTIME_THREADS 1
#endif
#endif
#ifndef RUNTIME_THREADS
#define RUNTIME_THREADS 0
#endif

/* How many threads this process has, or -1 if /proc cannot say. */
static int count_threads(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* Whether the caller is the only thread, so that fork() is safe (see
 * Processes in the notes). A thread that was just joined can stay listed for
 * a moment while the kernel finishes its exit (it holds no lock any more):
 * give the count up to a second to settle before saying no. Without /proc
 * there is nothing to count: trust the caller. */
static bool alone(void)
{
    double deadline = clock_now() + 1.0;
    for (;;) {
        int n = count_threads();
        if (n < 0 || n <= 1 + RUNTIME_THREADS)
            return true;
        if (clock_now() > deadline)
            return false;
        clock_sleep(0.001);
    }
}

/* Fork worker i. In the child, keep only its socket (moved to fd 3) and fds
 * 0-2, then serve tasks until end-of-file. */
static int start_worker(struct process_pool *pool, int i)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    sv[0] = fd_above_stdio(sv[0]);
    sv[1] = fd_above_stdio(sv[1]);
    pid_t pid = sv[0] < 0 || sv[1] < 0 ? -1 : fork();
    if (pid < 0) {
        int err = errno;
        if (sv[0] >= 0)
            close(sv[0]);
        if (sv[1] >= 0)
            close(sv[1]);
        errno = err;
        return -1;
    }
    if (pid == 0) {
        if (dup2(sv[1], 3) < 0) /* dup2 drops CLOEXEC: fine, no exec follows */
            _exit(127);
        close_range(4, ~0U, 0);
        worker_main(3, pool->arg_size, pool->result_size);
    }
    close(sv[1]);
    pool->workers[i] = (struct pool_process){pid, sv[0], NULL, false};
    return 0;
}

struct executor *process_pool_create(int max_workers, size_t arg_size, size_t result_size)
{
    if (max_workers < 1 || result_size > UINT32_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (!alone()) {
        errno = EBUSY; /* another thread runs: forking now could hang a child */
        return NULL;
    }
    struct process_pool *pool =
        xcalloc(1, sizeof *pool + (size_t)max_workers * sizeof(struct pool_process));
    pool->base.ops = &process_pool_ops;
    pool->arg_size = arg_size;
    pool->result_size = result_size;
    CHECK_PT(pthread_mutex_init(&pool->mutex, NULL));
    CHECK_PT(pthread_mutex_init(&pool->join_mutex, NULL));
    int err = 0;
    if (pipe2(pool->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        pool->wake[0] = pool->wake[1] = -1;
        err = errno;
        goto fail;
    }
    pool->wake[0] = fd_above_stdio(pool->wake[0]);
    pool->wake[1] = fd_above_stdio(pool->wake[1]);
    if (pool->wake[0] < 0 || pool->wake[1] < 0) {
        err = errno;
        goto fail;
    }
    fflush(NULL); /* or the children could flush a copy of the parent's stdio buffers */
    for (int i = 0; i < max_workers; i++) {
        if (start_worker(pool, i) < 0) {
            err = errno;
            goto fail;
        }
        pool->nworkers = i + 1;
    }
    /* The manager starts only now, after the last fork (see the notes). */
    err = pthread_create(&pool->manager, NULL, manager, pool);
    if (err)
        goto fail;
    return &pool->base;

fail:
    reap_workers(pool, true);
    process_pool_free(pool);
    errno = err;
    return NULL;
}
