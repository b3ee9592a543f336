/* Unit tests for common/futures, driven by tests/lib_futures.bats.
 *
 *   test_futures threads     ThreadPoolExecutor: results in order, errors re-raised with
 *                            their message, max_workers never exceeded, shutdown waits,
 *                            one future collected from many threads, submit after shutdown
 *   test_futures processes   ProcessPoolExecutor: the same interface over worker processes;
 *                            map order, errors, values that cross the socket, 1,000 tasks
 *   test_futures kill        a worker killed with SIGKILL mid-task breaks the pool: every
 *                            pending future fails with BrokenProcessPool, nothing hangs,
 *                            every worker is reaped (no zombie, no child left)
 *   test_futures crash       the same with a task that segfaults in the worker
 *   test_futures killed_by_sigio   the cause names a worker's fatal signal as Python names
 *                            it: SIGIO for 29, where glibc's sigabbrev_np says POLL
 *   test_futures fds         each worker holds only fds 0-2 and its own socket, even
 *                            when the caller had closed stdin
 *   test_futures alone       process_pool_create refuses (EBUSY) while another thread runs
 *
 * The cases of tests/unit/expect.h: with no names, all of them in this order.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "expect.h"
#include "futures.h"

/* ---- tasks ---- */

/* Returns a malloc'd copy of *arg squared; raises ValueError for negatives. */
static struct error *square(void *arg, void **result)
{
    long x = *(const long *)arg;
    if (x < 0)
        return error_new("ValueError", "negative input: %ld", x);
    long *r = xmalloc(sizeof *r);
    *r = x * x;
    *result = r;
    return NULL;
}

static struct {
    atomic_int running, most, finished;
} load;

/* Counts how many tasks run at once, holding each for a few milliseconds so
 * that any that could overlap do. */
static struct error *busy(void *arg, void **result)
{
    (void)result;
    int now = atomic_fetch_add(&load.running, 1) + 1;
    int most = atomic_load(&load.most);
    while (now > most && !atomic_compare_exchange_weak(&load.most, &most, now))
        ;
    clock_sleep(*(const double *)arg);
    atomic_fetch_sub(&load.running, 1);
    atomic_fetch_add(&load.finished, 1);
    return NULL;
}

/* ---- ThreadPoolExecutor ---- */

struct collector {
    struct future *future;
    long value;
    char message[208];
};

static void *collect(void *arg)
{
    struct collector *c = arg;
    void *value = NULL;
    struct error *e = future_result(c->future, &value);
    c->value = value ? *(long *)value : -1;
    snprintf(c->message, sizeof c->message, "%s", e ? e->message : "");
    error_free(e);
    return NULL;
}

static void test_map_order(struct executor *ex)
{
    enum { N = 100 };
    long inputs[N];
    void *args[N], *results[N];
    for (int i = 0; i < N; i++) {
        inputs[i] = i;
        args[i] = &inputs[i];
    }
    EXPECT(executor_map(ex, square, args, N, results) == NULL);
    bool in_order = true;
    for (int i = 0; i < N; i++) {
        in_order = in_order && results[i] && *(long *)results[i] == (long)i * i;
        free(results[i]);
    }
    EXPECT(in_order);
}

static void test_errors(struct executor *ex)
{
    long bad = -7, good = 3;
    struct future *f = executor_submit(ex, square, &bad);
    struct future *g = executor_submit(ex, square, &good);
    void *value = NULL;
    struct error *e = future_result(f, &value);
    EXPECT(e != NULL);
    EXPECT(e && strcmp(e->type, "ValueError") == 0);
    EXPECT(e && strcmp(e->message, "negative input: -7") == 0);
    EXPECT(value == NULL);
    error_free(e);
    /* result() again: the same error again, as Python re-raises each time */
    e = future_result(f, NULL);
    EXPECT(e && strcmp(e->message, "negative input: -7") == 0);
    error_free(e);
    EXPECT(future_result(g, &value) == NULL && value && *(long *)value == 9);
    free(value);
    future_destroy(f);
    future_destroy(g);

    /* map returns the first error (in submission order) with its message */
    long inputs[] = {1, -2, 3, -4};
    void *args[] = {&inputs[0], &inputs[1], &inputs[2], &inputs[3]};
    void *results[4];
    e = executor_map(ex, square, args, 4, results);
    EXPECT(e && strcmp(e->message, "negative input: -2") == 0);
    EXPECT(results[0] && *(long *)results[0] == 1 && results[1] == NULL);
    EXPECT(results[2] && *(long *)results[2] == 9 && results[3] == NULL);
    for (int i = 0; i < 4; i++)
        free(results[i]);
    error_free(e);
}

static void test_thread_pool(void)
{
    struct executor *ex = thread_pool_create(4);
    EXPECT(ex != NULL);
    test_map_order(ex);
    test_errors(ex);

    /* One future, collected from eight threads at once: each gets the value. */
    long x = 12;
    struct collector c[8];
    pthread_t t[8];
    struct future *f = executor_submit(ex, square, &x);
    for (int i = 0; i < 8; i++) {
        c[i] = (struct collector){.future = f};
        CHECK_PT(pthread_create(&t[i], NULL, collect, &c[i]));
    }
    bool all = true;
    for (int i = 0; i < 8; i++) {
        CHECK_PT(pthread_join(t[i], NULL));
        all = all && c[i].value == 144;
    }
    EXPECT(all);
    void *value;
    EXPECT(future_result(f, &value) == NULL);
    free(value);
    future_destroy(f);
    executor_destroy(ex);

    /* max_workers: 3 workers, 30 tasks of 5 ms: never more than 3 at once. */
    ex = thread_pool_create(3);
    double hold = 0.005;
    struct future *fs[30];
    load.most = 0;
    for (int i = 0; i < 30; i++)
        fs[i] = executor_submit(ex, busy, &hold);
    for (int i = 0; i < 30; i++) {
        EXPECT(future_result(fs[i], NULL) == NULL);
        future_destroy(fs[i]);
    }
    printf("at most %d of 3 workers ran at once\n", atomic_load(&load.most));
    EXPECT(atomic_load(&load.most) <= 3);
    EXPECT(atomic_load(&load.most) >= 1);

    /* shutdown(wait=true) returns only after every submitted task finished,
     * even the ones nobody asked for a result of. */
    atomic_store(&load.finished, 0);
    for (int i = 0; i < 12; i++)
        fs[i] = executor_submit(ex, busy, &hold);
    executor_shutdown(ex, true);
    EXPECT(atomic_load(&load.finished) == 12);
    for (int i = 0; i < 12; i++) {
        EXPECT(future_done(fs[i]));
        future_destroy(fs[i]);
    }
    /* after shutdown: submit refuses (Python: RuntimeError), shutdown is idempotent */
    errno = 0;
    EXPECT(executor_submit(ex, busy, &hold) == NULL && errno == ESHUTDOWN);
    void *results[1];
    results[0] = &hold;
    struct error *e = executor_map(ex, busy, (void *[]){&hold}, 1, results);
    EXPECT(e && strcmp(e->type, "RuntimeError") == 0);
    EXPECT(results[0] == NULL); /* no result for a task never scheduled */
    error_free(e);
    executor_shutdown(ex, true);
    executor_destroy(ex);

    /* shutdown(wait=false) returns at once but the queued tasks still run;
     * executor_destroy then waits for them. */
    ex = thread_pool_create(2);
    atomic_store(&load.finished, 0);
    for (int i = 0; i < 8; i++)
        fs[i] = executor_submit(ex, busy, &hold);
    executor_shutdown(ex, false);
    executor_destroy(ex);
    EXPECT(atomic_load(&load.finished) == 8);
    for (int i = 0; i < 8; i++)
        future_destroy(fs[i]);

    errno = 0;
    EXPECT(thread_pool_create(0) == NULL && errno == EINVAL);
}

/* ---- ProcessPoolExecutor ---- */

/* Sleeps (its argument's tenths of milliseconds), then returns its argument:
 * later tasks finish first, so map must put the results back in order. */
static struct error *slow_echo(void *arg, void **result)
{
    long x = *(const long *)arg;
    clock_sleep((double)x * 1e-4);
    long *r = xmalloc(sizeof *r);
    *r = x;
    *result = r;
    return NULL;
}

/* Raises an error with a cause, to check that the whole chain crosses. */
static struct error *chained(void *arg, void **result)
{
    (void)result;
    struct error *cause = error_new("OSError", "Problem with I/O");
    return error_from(cause, "SimulationError", "(%ld, 0)", *(const long *)arg);
}

/* Returns nothing (Python's None). */
static struct error *nothing(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return NULL;
}

/* No child of this process may remain: running, or a zombie nobody waited for. */
static bool no_children(void)
{
    int status;
    errno = 0;
    return waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

/* How many file descriptors this process has open. */
static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

static void test_process_pool(void)
{
    int fds_before = open_fds();
    struct executor *ex = process_pool_create(2, sizeof(long), sizeof(long));
    EXPECT(ex != NULL);
    test_map_order(ex);
    test_errors(ex);

    /* map order with uneven task times: the first task is the slowest */
    enum { N = 20 };
    long inputs[N];
    void *args[N], *results[N];
    for (int i = 0; i < N; i++) {
        inputs[i] = N - i;
        args[i] = &inputs[i];
    }
    EXPECT(executor_map(ex, slow_echo, args, N, results) == NULL);
    bool in_order = true;
    for (int i = 0; i < N; i++) {
        in_order = in_order && results[i] && *(long *)results[i] == N - i;
        free(results[i]);
    }
    EXPECT(in_order);

    /* the argument is copied at submit: changing it afterwards changes nothing */
    long x = 5;
    struct future *f = executor_submit(ex, square, &x);
    x = 6;
    void *value = NULL;
    EXPECT(future_result(f, &value) == NULL && value && *(long *)value == 25);
    free(value);
    future_destroy(f);

    /* an error chain crosses the socket whole */
    x = 3;
    f = executor_submit(ex, chained, &x);
    struct error *e = future_result(f, NULL);
    EXPECT(e && strcmp(e->type, "SimulationError") == 0 && strcmp(e->message, "(3, 0)") == 0);
    EXPECT(e && e->cause && strcmp(e->cause->type, "OSError") == 0 &&
           strcmp(e->cause->message, "Problem with I/O") == 0 && !e->cause->cause);
    error_free(e);
    future_destroy(f);

    /* no value: NULL */
    f = executor_submit(ex, nothing, &x);
    value = &x;
    EXPECT(future_result(f, &value) == NULL && value == NULL);
    future_destroy(f);

    /* 1,000 small tasks through a pool of 2 all complete */
    enum { MANY = 1000 };
    static long many_in[MANY];
    static void *many_args[MANY], *many_results[MANY];
    for (int i = 0; i < MANY; i++) {
        many_in[i] = i;
        many_args[i] = &many_in[i];
    }
    EXPECT(executor_map(ex, square, many_args, MANY, many_results) == NULL);
    int right = 0;
    for (int i = 0; i < MANY; i++) {
        right += many_results[i] && *(long *)many_results[i] == (long)i * i;
        free(many_results[i]);
    }
    printf("%d of %d small tasks came back right\n", right, MANY);
    EXPECT(right == MANY);

    /* shutdown waits for the queued work, then reaps every worker */
    atomic_store(&load.finished, 0);
    struct future *fs[6];
    for (int i = 0; i < 6; i++) {
        inputs[i] = 20; /* 2 ms */
        fs[i] = executor_submit(ex, slow_echo, &inputs[i]);
    }
    executor_shutdown(ex, true);
    bool all_done = true;
    for (int i = 0; i < 6; i++) {
        all_done = all_done && future_done(fs[i]);
        EXPECT(future_result(fs[i], &value) == NULL && value && *(long *)value == 20);
        free(value);
        future_destroy(fs[i]);
    }
    EXPECT(all_done);
    EXPECT(no_children());
    errno = 0;
    EXPECT(executor_submit(ex, square, &x) == NULL && errno == ESHUTDOWN);
    executor_destroy(ex);

    /* shutdown(wait=false), then destroy: the work still gets done, then reaped */
    ex = process_pool_create(3, sizeof(long), sizeof(long));
    for (int i = 0; i < 6; i++)
        fs[i] = executor_submit(ex, slow_echo, &inputs[i]);
    executor_shutdown(ex, false);
    executor_destroy(ex);
    for (int i = 0; i < 6; i++) {
        EXPECT(future_result(fs[i], &value) == NULL && value && *(long *)value == 20);
        free(value);
        future_destroy(fs[i]);
    }
    EXPECT(no_children());

    EXPECT(open_fds() == fds_before); /* every socket and pipe closed */
    errno = 0;
    EXPECT(process_pool_create(0, 1, 1) == NULL && errno == EINVAL);
}

/* Shared with the workers: an anonymous MAP_SHARED page survives fork. */
struct board {
    atomic_int slots;   /* taken by the tasks, one each */
    atomic_int started; /* counted once a task's pid is on the board */
    atomic_int pids[8];
};
static struct board *board;

/* Says which process runs it, then waits to be killed. */
static struct error *hang(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int i = atomic_fetch_add(&board->slots, 1);
    atomic_store(&board->pids[i % 8], (int)getpid());
    atomic_fetch_add(&board->started, 1); /* after the pid: the parent reads it next */
    for (;;)
        pause();
    return NULL;
}

/* Crashes its worker the way a bug in C does. */
static struct error *segfault(void *arg, void **result)
{
    (void)arg;
    (void)result;
    raise(SIGSEGV);
    return NULL;
}

/* Ends its worker with signal 29, which Linux calls both SIGIO and SIGPOLL. */
static struct error *raise_sigio(void *arg, void **result)
{
    (void)arg;
    (void)result;
    raise(SIGIO);
    return NULL;
}

static void expect_broken(struct future *f, const char *message)
{
    void *value = &board;
    struct error *e = future_result(f, &value);
    EXPECT(e && strcmp(e->type, "BrokenProcessPool") == 0);
    EXPECT(e && strcmp(e->message, message) == 0);
    EXPECT(value == NULL);
    if (e && e->cause)
        printf("cause: %s: %s\n", e->cause->type, e->cause->message);
    error_free(e);
}

#define BROKEN_FUTURE                                                                              \
    "A process in the process pool was terminated abruptly while the future was running or "       \
    "pending."

static void test_broken_pool(bool by_kill)
{
    board = mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (board == MAP_FAILED)
        die_errno("mmap");
    int fds_before = open_fds();
    struct executor *ex = process_pool_create(2, sizeof(long), sizeof(long));
    EXPECT(ex != NULL);
    long x = 4;
    struct future *fs[6];
    int killed = 0;
    if (by_kill) {
        /* two tasks hang in the two workers; four more wait in the queue */
        fs[0] = executor_submit(ex, hang, &x);
        fs[1] = executor_submit(ex, hang, &x);
        for (int i = 2; i < 6; i++)
            fs[i] = executor_submit(ex, square, &x);
        /* wait for both to start: the event itself, polled, bounded */
        double deadline = clock_now() + 20;
        while (atomic_load(&board->started) < 2 && clock_now() < deadline)
            clock_sleep(0.001);
        EXPECT(atomic_load(&board->started) == 2);
        killed = atomic_load(&board->pids[0]);
        EXPECT(killed > 0 && kill(killed, SIGKILL) == 0);
    } else {
        /* one worker is kept busy, then a task crashes the other, so the
         * four tasks after it cannot run. They may be submitted before the
         * crash is noticed (queued: "while the future was ... pending") or
         * after (refused: "not usable anymore"): both are BrokenProcessPool. */
        fs[0] = executor_submit(ex, hang, &x);
        double deadline = clock_now() + 20;
        while (atomic_load(&board->started) < 1 && clock_now() < deadline)
            clock_sleep(0.001);
        EXPECT(atomic_load(&board->started) == 1);
        fs[1] = executor_submit(ex, segfault, &x);
        for (int i = 2; i < 6; i++)
            fs[i] = executor_submit(ex, square, &x);
    }
    /* The crashed task's future, the other running one and every queued one fail. */
    expect_broken(fs[0], BROKEN_FUTURE);
    expect_broken(fs[1], BROKEN_FUTURE);
    int failed = 0;
    for (int i = 1; i < 6; i++) {
        struct error *e = future_result(fs[i], NULL);
        failed += e && strcmp(e->type, "BrokenProcessPool") == 0;
        void *value = NULL;
        if (!e && future_result(fs[i], &value) == NULL)
            free(value);
        error_free(e);
        future_destroy(fs[i]);
    }
    future_destroy(fs[0]);
    printf("%d of the other 5 futures failed with BrokenProcessPool\n", failed);
    EXPECT(failed == 5);

    /* By the time any future has failed, every worker has been reaped: no
     * zombie, even while the program goes on with the broken pool. */
    EXPECT(no_children());

    /* a broken pool refuses new work */
    struct future *f = executor_submit(ex, square, &x);
    expect_broken(f, "A child process terminated abruptly, the process pool is not usable anymore");
    future_destroy(f);
    executor_destroy(ex);
    EXPECT(no_children());
    EXPECT(open_fds() == fds_before);
    munmap(board, sizeof *board);
}

/* The cause names the signal as Python's signal.Signals does: SIGIO, not
 * sigabbrev_np's POLL. */
static void killed_by_sigio(void)
{
    struct executor *ex = process_pool_create(1, sizeof(long), sizeof(long));
    REQUIRE(ex != NULL);
    long x = 0;
    struct future *f = executor_submit(ex, raise_sigio, &x);
    struct error *e = future_result(f, NULL);
    EXPECT(e && strcmp(e->type, "BrokenProcessPool") == 0);
    const char *cause = e && e->cause ? e->cause->message : "";
    printf("cause: %s\n", cause);
    EXPECT(strstr(cause, " terminated abruptly with exit code -29 (killed by SIGIO)") != NULL);
    error_free(e);
    future_destroy(f);
    executor_destroy(ex);
    EXPECT(no_children());
}

/* ---- descriptors and threads at fork time ---- */

/* Which of fds 0-63 are open in the process that calls it. */
static uint64_t open_fd_mask(void)
{
    uint64_t mask = 0;
    for (int fd = 0; fd < 64; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            mask |= UINT64_C(1) << fd;
    return mask;
}

/* Reports the open fds of the worker that runs it, once all three tasks have
 * started: then each of the three runs in a different worker. */
static struct error *report_fds(void *arg, void **result)
{
    (void)arg;
    atomic_fetch_add(&board->started, 1);
    double deadline = clock_now() + 20;
    while (atomic_load(&board->started) < 3 && clock_now() < deadline)
        clock_sleep(0.001);
    uint64_t *mask = xmalloc(sizeof *mask);
    *mask = open_fd_mask();
    *result = mask;
    return NULL;
}

/* Each of 3 workers has exactly the caller's fds 0-2 and its own socket at 3:
 * no other worker's socket, no descriptor of the caller's, none of the pool's
 * own pipe. The parent's ends are close-on-exec. */
static void check_worker_fds(const char *when)
{
    atomic_store(&board->started, 0);
    uint64_t before = open_fd_mask();
    uint64_t expected = (before & 7) | 8; /* the caller's 0-2, then the socket */
    struct executor *ex = process_pool_create(3, sizeof(long), sizeof(uint64_t));
    EXPECT(ex != NULL);
    uint64_t added = open_fd_mask() & ~before;
    bool cloexec = true;
    for (int fd = 0; fd < 64; fd++)
        if (added & (UINT64_C(1) << fd))
            cloexec = cloexec && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
    EXPECT(cloexec);
    EXPECT((added & 7) == 0); /* nothing of the pool's on 0-2 */
    long x = 0;
    void *args[3] = {&x, &x, &x}, *results[3];
    EXPECT(executor_map(ex, report_fds, args, 3, results) == NULL);
    int right = 0;
    for (int i = 0; i < 3; i++) {
        right += results[i] && *(uint64_t *)results[i] == expected;
        if (results[i] && *(uint64_t *)results[i] != expected)
            printf("%s: a worker has fds %#llx, expected %#llx\n", when,
                   (unsigned long long)*(uint64_t *)results[i], (unsigned long long)expected);
        free(results[i]);
    }
    printf("%s: %d of 3 workers have only fds 0-2 and their own socket\n", when, right);
    EXPECT(right == 3);
    executor_destroy(ex);
    EXPECT(open_fd_mask() == before);
}

static void test_worker_fds(void)
{
    board = mmap(NULL, sizeof *board, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (board == MAP_FAILED)
        die_errno("mmap");
    check_worker_fds("stdin open");
    close(0); /* the pool's next descriptor would land on 0 */
    check_worker_fds("stdin closed");
    munmap(board, sizeof *board);
}

/* process_pool_create forks, so it refuses while another thread runs (a
 * child forked then could inherit a lock held for ever); it works once that
 * thread has been joined. */
static void test_fork_only_alone(void)
{
    struct executor *threads = thread_pool_create(2);
    errno = 0;
    EXPECT(process_pool_create(2, sizeof(long), sizeof(long)) == NULL && errno == EBUSY);
    EXPECT(no_children());     /* refused before any fork */
    executor_destroy(threads); /* joins its threads */

    struct executor *ex = process_pool_create(2, sizeof(long), sizeof(long));
    EXPECT(ex != NULL);
    errno = 0; /* a second process pool: the first one's manager thread runs */
    EXPECT(process_pool_create(1, sizeof(long), sizeof(long)) == NULL && errno == EBUSY);
    long x = 7;
    struct future *f = executor_submit(ex, square, &x);
    void *value = NULL;
    EXPECT(future_result(f, &value) == NULL && value && *(long *)value == 49);
    free(value);
    future_destroy(f);
    executor_destroy(ex);

    ex = process_pool_create(2, sizeof(long), sizeof(long)); /* alone again */
    EXPECT(ex != NULL);
    executor_destroy(ex);
    EXPECT(no_children());
}

/* ---- main ---- */

static void broken_by_kill(void)
{
    test_broken_pool(true);
}

static void broken_by_crash(void)
{
    test_broken_pool(false);
}

static const struct expect_case cases[] = {
    {"threads", test_thread_pool}, {"processes", test_process_pool},
    {"kill", broken_by_kill},      {"crash", broken_by_crash},
    {"fds", test_worker_fds},      {"alone", test_fork_only_alone},
    EXPECT_CASE(killed_by_sigio),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
