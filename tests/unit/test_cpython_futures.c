/* test_cpython_futures: common/futures held to CPython's own tests for
 * concurrent.futures (Lib/test/test_concurrent_futures/: executor.py,
 * test_future.py, test_shutdown.py, test_thread_pool.py, test_process_pool.py,
 * test_deadlock.py). Each case is named after the CPython test it checks,
 * with a prefix for the class it runs in:
 *
 *   thread_             ThreadPoolExecutorTest (ExecutorTest on a thread pool)
 *   process_            ProcessPoolExecutorTest (ExecutorTest on a process pool)
 *   thread_shutdown_    ThreadPoolShutdownTest
 *   process_shutdown_   ProcessPoolShutdownTest
 *   deadlock_           ExecutorDeadlockTest (process pool)
 *   future_             FutureTests
 *
 *   tests/unit/test_cpython_futures [CASE...]   run those cases, or all (tests/unit/expect.h)
 *   tests/unit/test_cpython_futures --list      the case names
 *
 * tests/lib_cpython.bats runs one case per process: a process pool may only
 * be created while no other thread runs, and a case that hangs is killed by
 * `timeout`. Where CPython sleeps so that tasks overlap, the tasks here block
 * on a semaphore the test releases. The cases that do not apply are listed
 * in common/futures.h.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
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

#define WORKER_COUNT 5 /* CPython's ExecutorMixin.worker_count */

/* Arguments and results are pairs of longs: flat bytes, so the same task
 * runs in both pools (a process pool is created with both sizes). */
struct pair {
    long a, b;
};

static struct executor *make_pool(bool processes, int workers)
{
    if (processes)
        return process_pool_create(workers, sizeof(struct pair), sizeof(struct pair));
    return thread_pool_create(workers);
}

static struct pair *new_pair(long a, long b)
{
    struct pair *p = xmalloc(sizeof *p);
    *p = (struct pair){a, b};
    return p;
}

/* ---- tasks ---- */

static struct error *pow_task(void *arg, void **result)
{
    const struct pair *p = arg;
    long r = 1;
    for (long i = 0; i < p->b; i++)
        r *= p->a;
    *result = new_pair(r, 0);
    return NULL;
}

static struct error *divmod_task(void *arg, void **result)
{
    const struct pair *p = arg;
    if (p->b == 0)
        return error_new("ZeroDivisionError", "integer division or modulo by zero");
    *result = new_pair(p->a / p->b, p->a % p->b);
    return NULL;
}

static struct error *abs_task(void *arg, void **result)
{
    const struct pair *p = arg;
    *result = new_pair(labs(p->a), 0);
    return NULL;
}

static struct error *raise_runtime_error(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return error_new("RuntimeError", "123");
}

/* Shared with the workers: an anonymous MAP_SHARED page survives fork. */
struct shared {
    sem_t sem; /* tasks that block wait here; the test posts */
    atomic_int running, most;
    atomic_int started;    /* tasks that got as far as recording their pid */
    atomic_int pid;        /* the last task's process */
    atomic_ulong finished; /* bit n: the task for n ran */
};
static struct shared *shared;

static void make_shared(void)
{
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die_errno("mmap");
    CHECK_SYS(sem_init(&shared->sem, 1, 0));
}

/* CPython's acquire_lock(sem): counts how many run at once, then blocks. */
static struct error *acquire_lock(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int now = atomic_fetch_add(&shared->running, 1) + 1;
    int most = atomic_load(&shared->most);
    while (now > most && !atomic_compare_exchange_weak(&shared->most, &most, now))
        ;
    atomic_store(&shared->pid, (int)getpid());
    atomic_fetch_add(&shared->started, 1);
    while (sem_wait(&shared->sem) == -1 && errno == EINTR)
        ;
    atomic_fetch_sub(&shared->running, 1);
    return NULL;
}

static void wait_started(int n)
{
    while (atomic_load(&shared->started) < n) /* the event, polled; `timeout` bounds it */
        clock_sleep(0.001);
}

static void release(int n)
{
    for (int i = 0; i < n; i++)
        CHECK_SYS(sem_post(&shared->sem));
}

static struct error *record_finished(void *arg, void **result)
{
    (void)result;
    atomic_fetch_or(&shared->finished, 1UL << ((const struct pair *)arg)->a);
    return NULL;
}

static struct error *short_sleep(void *arg, void **result)
{
    (void)arg;
    (void)result;
    clock_sleep(0.001); /* CPython's time.sleep(0.1), scaled down: the work, not a wait */
    return NULL;
}

static struct error *crash(void *arg, void **result)
{
    (void)arg;
    (void)result;
    raise(SIGSEGV); /* faulthandler._sigsegv() */
    return NULL;
}

static struct error *exit_1(void *arg, void **result)
{
    (void)arg;
    (void)result;
    exit(1); /* sys.exit(1) */
}

static struct error *exit_99_now(void *arg, void **result)
{
    (void)arg;
    (void)result;
    _exit(99); /* os._exit(99) */
}

/* ---- what the process has ---- */

static int count_threads(void)
{
    DIR *dir = opendir("/proc/self/task");
    REQUIRE(dir);
    int n = 0;
    for (struct dirent *d; (d = readdir(dir));)
        n += d->d_name[0] != '.';
    closedir(dir);
    return n;
}

static int count_children(void)
{
    DIR *dir = opendir("/proc");
    REQUIRE(dir);
    int n = 0;
    for (struct dirent *d; (d = readdir(dir));) {
        char path[300], stat[512];
        snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
        FILE *f = d->d_name[0] >= '1' && d->d_name[0] <= '9' ? fopen(path, "r") : NULL;
        if (!f)
            continue;
        size_t len = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[len] = '\0';
        const char *after_name = strrchr(stat, ')');
        int ppid;
        n += after_name && sscanf(after_name, ") %*c %d", &ppid) == 1 && ppid == getpid();
    }
    closedir(dir);
    return n;
}

/* ThreadSanitizer starts a thread of its own the first time the program
 * creates one, and keeps it. A thread-pool case creates (and joins) one
 * first, so its counts include that thread from the start; a process-pool
 * case cannot (the pool refuses while another thread runs), so after its
 * manager thread has gone it allows for that one extra. */
#if defined(__SANITIZE_THREAD__)
#define TSAN_THREAD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_THREAD 1
#endif
#endif
#ifndef TSAN_THREAD
#define TSAN_THREAD 0
#endif

/* A thread that has been joined can still be listed in /proc/self/task
 * for a moment: pthread_join returns when the kernel clears the thread's
 * id, a little before the thread leaves the process. So a count that
 * follows a join waits for the thread to be gone (giving up after 10 s). */
static bool count_becomes(int want, int or_want)
{
    double deadline = clock_now() + 10;
    for (;;) {
        int now = count_threads();
        if (now == want || now == or_want)
            return true;
        if (clock_now() > deadline)
            return false;
        clock_sleep(0.001);
    }
}

static void *nothing(void *arg)
{
    *(pid_t *)arg = gettid();
    return NULL;
}

/* The threads running now, with the sanitizer's settled in (see above). */
static int threads_before_pool(bool processes)
{
    if (!processes) {
        pthread_t t;
        pid_t tid = 0;
        CHECK_PT(pthread_create(&t, NULL, nothing, &tid));
        CHECK_PT(pthread_join(t, NULL));
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
        double deadline = clock_now() + 10;
        while (access(path, F_OK) == 0 && clock_now() < deadline) /* see count_becomes */
            clock_sleep(0.001);
    }
    return count_threads();
}

/* Every thread the pool started has been joined, and has left. */
static bool threads_back(int before, bool processes)
{
    return count_becomes(before, processes ? before + TSAN_THREAD : before);
}

static bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* The value of a future that must succeed, as a pair; frees the future. */
static struct pair result_of(struct future *f)
{
    void *value = NULL;
    struct error *e = future_result(f, &value);
    if (e) {
        EXPECT_FAILF("future failed: %s: %s", e->type, e->message);
        error_free(e);
    }
    struct pair p = value ? *(struct pair *)value : (struct pair){-1, -1};
    free(value);
    future_destroy(f);
    return p;
}

/* The error of a future that must fail (caller frees it); frees the future. */
static struct error *error_of(struct future *f)
{
    void *value = NULL;
    struct error *e = future_result(f, &value);
    EXPECT(e != NULL);
    EXPECT(value == NULL);
    future_destroy(f);
    return e;
}

static bool is_error(const struct error *e, const char *type)
{
    return e && strcmp(e->type, type) == 0;
}

/* ---- ExecutorTest, on both pools ---- */

static void executor_test_submit(bool processes)
{
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair arg = {2, 8};
    EXPECT(result_of(executor_submit(ex, pow_task, &arg)).a == 256);
    executor_destroy(ex);
}

static void executor_test_map(bool processes)
{
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair args[10];
    void *argv[10], *results[10];
    for (int i = 0; i < 10; i++) {
        args[i] = (struct pair){i, i};
        argv[i] = &args[i];
    }
    EXPECT(executor_map(ex, pow_task, argv, 10, results) == NULL);
    for (int i = 0; i < 10; i++) { /* map(pow, range(10), range(10)), in order */
        long want = 1;
        for (int k = 0; k < i; k++)
            want *= i;
        EXPECT(results[i] && ((struct pair *)results[i])->a == want);
        free(results[i]);
    }
    executor_destroy(ex);
}

static void executor_test_map_exception(bool processes)
{
    /* divmod over [1, 1, 1, 1] and [2, 3, 0, 5]: the first two results come
     * back, the third raises ZeroDivisionError. executor_map waits for all
     * and returns the first error (CPython's iterator raises at the third). */
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair args[4] = {{1, 2}, {1, 3}, {1, 0}, {1, 5}};
    void *argv[4] = {&args[0], &args[1], &args[2], &args[3]}, *results[4];
    struct error *e = executor_map(ex, divmod_task, argv, 4, results);
    EXPECT(is_error(e, "ZeroDivisionError"));
    EXPECT(e && strcmp(e->message, "integer division or modulo by zero") == 0);
    error_free(e);
    for (int i = 0; i < 2; i++)
        EXPECT(results[i] && ((struct pair *)results[i])->a == 0 &&
               ((struct pair *)results[i])->b == 1);
    EXPECT(results[2] == NULL);
    for (int i = 0; i < 4; i++)
        free(results[i]);
    executor_destroy(ex);
}

static void executor_test_shutdown_race_issue12456(bool processes)
{
    /* More tasks than workers, then shutdown at once: it must not block. */
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair arg = {2, 2};
    struct future *fs[WORKER_COUNT + 1];
    for (int i = 0; i < WORKER_COUNT + 1; i++)
        fs[i] = executor_submit(ex, pow_task, &arg);
    executor_shutdown(ex, true);
    for (int i = 0; i < WORKER_COUNT + 1; i++)
        EXPECT(result_of(fs[i]).a == 4);
    executor_destroy(ex);
}

static void executor_test_max_workers_negative(bool processes)
{
    int numbers[] = {0, -1};
    for (int i = 0; i < 2; i++) {
        errno = 0;
        EXPECT(make_pool(processes, numbers[i]) == NULL); /* ValueError: max_workers must be > 0 */
        EXPECT(errno == EINVAL);
    }
}

#define BOTH_POOLS(name)                                                                           \
    static void thread_##name(void)                                                                \
    {                                                                                              \
        executor_##name(false);                                                                    \
    }                                                                                              \
    static void process_##name(void)                                                               \
    {                                                                                              \
        executor_##name(true);                                                                     \
    }
BOTH_POOLS(test_submit)
BOTH_POOLS(test_map)
BOTH_POOLS(test_map_exception)
BOTH_POOLS(test_shutdown_race_issue12456)
BOTH_POOLS(test_max_workers_negative)

/* ---- ExecutorShutdownTest, on both pools ---- */

static void shutdown_test_run_after_shutdown(bool processes)
{
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    executor_shutdown(ex, true);
    struct pair arg = {2, 5};
    errno = 0;
    EXPECT(executor_submit(ex, pow_task, &arg) == NULL); /* RuntimeError: cannot schedule ... */
    EXPECT(errno == ESHUTDOWN);
    executor_destroy(ex);
}

static void shutdown_test_hang_issue12364(bool processes)
{
    /* 50 tasks, then shutdown: every one still runs to completion. */
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct future *fs[50];
    for (int i = 0; i < 50; i++)
        fs[i] = executor_submit(ex, short_sleep, &arg);
    executor_shutdown(ex, true);
    for (int i = 0; i < 50; i++) {
        EXPECT(future_done(fs[i]));
        EXPECT(future_result(fs[i], NULL) == NULL);
        future_destroy(fs[i]);
    }
    executor_destroy(ex);
}

/* test_context_manager_shutdown: `with Executor() as e: e.map(abs, ...)`,
 * then every worker is gone. */
static void shutdown_test_context_manager_shutdown(bool processes)
{
    int threads_before = threads_before_pool(processes);
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair args[10];
    void *argv[10], *results[10];
    for (int i = 0; i < 10; i++) {
        args[i] = (struct pair){i - 5, 0};
        argv[i] = &args[i];
    }
    EXPECT(executor_map(ex, abs_task, argv, 10, results) == NULL);
    for (int i = 0; i < 10; i++) {
        EXPECT(results[i] && ((struct pair *)results[i])->a == labs(i - 5L));
        free(results[i]);
    }
    executor_destroy(ex); /* leaving the with block */
    EXPECT(threads_back(threads_before, processes));
    EXPECT(no_children());
}

/* test_del_shutdown / test_shutdown_no_wait: results are computed even when
 * the executor goes away (destroy) or shuts down without waiting. */
static void submit_abs(struct executor *ex, struct pair args[10], struct future *fs[10])
{
    for (int i = 0; i < 10; i++) {
        args[i] = (struct pair){i - 5, 0};
        fs[i] = executor_submit(ex, abs_task, &args[i]);
    }
}

static void shutdown_test_del_shutdown(bool processes)
{
    int threads_before = threads_before_pool(processes);
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair args[10];
    struct future *fs[10];
    submit_abs(ex, args, fs);
    executor_destroy(ex); /* del executor */
    EXPECT(threads_back(threads_before, processes));
    EXPECT(no_children());
    for (int i = 0; i < 10; i++)
        EXPECT(result_of(fs[i]).a == labs(i - 5L));
}

static void shutdown_test_shutdown_no_wait(bool processes)
{
    int threads_before = threads_before_pool(processes);
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair args[10];
    struct future *fs[10];
    submit_abs(ex, args, fs);
    executor_shutdown(ex, false);
    for (int i = 0; i < 10; i++)
        EXPECT(result_of(fs[i]).a == labs(i - 5L));
    executor_destroy(ex); /* joins what shutdown(wait=False) left running */
    EXPECT(threads_back(threads_before, processes));
    EXPECT(no_children());
}

/* test_threads_terminate / test_processes_terminate: three tasks block; the
 * pool has all its workers (created up front, as with CPython's fork start
 * method); released, they end, and shutdown leaves no worker behind. */
static void shutdown_test_workers_terminate(bool processes)
{
    make_shared();
    int threads_before = threads_before_pool(processes);
    struct executor *ex = make_pool(processes, WORKER_COUNT);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct future *fs[3];
    for (int i = 0; i < 3; i++)
        fs[i] = executor_submit(ex, acquire_lock, &arg);
    wait_started(3);
    if (processes)
        EXPECT(count_children() == WORKER_COUNT);
    else
        EXPECT(count_threads() == threads_before + WORKER_COUNT);
    release(3);
    executor_shutdown(ex, true);
    for (int i = 0; i < 3; i++)
        EXPECT(result_of(fs[i]).a == -1); /* done, returned None */
    executor_destroy(ex);
    EXPECT(threads_back(threads_before, processes));
    EXPECT(no_children());
}

#define BOTH_SHUTDOWNS(name)                                                                       \
    static void thread_shutdown_##name(void)                                                       \
    {                                                                                              \
        shutdown_##name(false);                                                                    \
    }                                                                                              \
    static void process_shutdown_##name(void)                                                      \
    {                                                                                              \
        shutdown_##name(true);                                                                     \
    }
BOTH_SHUTDOWNS(test_run_after_shutdown)
BOTH_SHUTDOWNS(test_hang_issue12364)
BOTH_SHUTDOWNS(test_context_manager_shutdown)
BOTH_SHUTDOWNS(test_del_shutdown)
BOTH_SHUTDOWNS(test_shutdown_no_wait)

static void thread_shutdown_test_threads_terminate(void)
{
    shutdown_test_workers_terminate(false);
}

static void process_shutdown_test_processes_terminate(void)
{
    shutdown_test_workers_terminate(true);
}

/* ---- ThreadPoolExecutorTest, ProcessPoolExecutorTest ---- */

static void thread_test_map_submits_without_iteration(void)
{
    /* Submitted work runs whether or not anyone asks for its result. */
    make_shared();
    struct executor *ex = make_pool(false, WORKER_COUNT);
    REQUIRE(ex);
    struct pair args[10];
    struct future *fs[10];
    for (int i = 0; i < 10; i++) {
        args[i] = (struct pair){i, 0};
        fs[i] = executor_submit(ex, record_finished, &args[i]);
    }
    executor_shutdown(ex, true);
    EXPECT(atomic_load(&shared->finished) == (1UL << 10) - 1);
    for (int i = 0; i < 10; i++)
        future_destroy(fs[i]);
    executor_destroy(ex);
}

/* test_saturation: 15 x max_workers blocked tasks never get more than
 * max_workers threads (processes) to run on. */
static void saturation(bool processes)
{
    make_shared();
    int threads_before = threads_before_pool(processes);
    struct executor *ex = make_pool(processes, 4);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    int jobs = 15 * 4;
    struct future **fs = xcalloc((size_t)jobs, sizeof *fs);
    for (int i = 0; i < jobs; i++)
        fs[i] = executor_submit(ex, acquire_lock, &arg);
    wait_started(4);
    if (processes)
        EXPECT(count_children() == 4);
    else
        EXPECT(count_threads() == threads_before + 4);
    release(jobs);
    executor_shutdown(ex, true);
    EXPECT(atomic_load(&shared->most) <= 4);
    for (int i = 0; i < jobs; i++)
        future_destroy(fs[i]);
    free(fs);
    executor_destroy(ex);
}

static void thread_test_saturation(void)
{
    saturation(false);
}

static void process_test_saturation(void)
{
    saturation(true);
}

static void process_test_killed_child(void)
{
    /* A worker killed mid-task breaks the pool: its future fails, and so
     * does every later submit. */
    make_shared();
    struct executor *ex = make_pool(true, WORKER_COUNT);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct future *f = executor_submit(ex, acquire_lock, &arg);
    wait_started(1);
    EXPECT(kill(atomic_load(&shared->pid), SIGTERM) == 0); /* p.terminate() */
    struct error *e = error_of(f);
    EXPECT(is_error(e, "BrokenProcessPool"));
    error_free(e);
    struct pair pow_arg = {2, 8};
    e = error_of(executor_submit(ex, pow_task, &pow_arg));
    EXPECT(is_error(e, "BrokenProcessPool"));
    error_free(e);
    executor_destroy(ex);
    EXPECT(no_children());
}

static void process_test_traceback(void)
{
    /* The worker's error comes back with its type and message (C has no
     * traceback to send as a _RemoteTraceback cause). */
    struct executor *ex = make_pool(true, WORKER_COUNT);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct error *e = error_of(executor_submit(ex, raise_runtime_error, &arg));
    EXPECT(is_error(e, "RuntimeError"));
    EXPECT(e && strcmp(e->message, "123") == 0);
    error_free(e);
    executor_destroy(ex);
}

static void process_test_traceback_when_child_process_terminates_abruptly(void)
{
    struct executor *ex = make_pool(true, 1);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct error *e = error_of(executor_submit(ex, exit_99_now, &arg));
    EXPECT(is_error(e, "BrokenProcessPool"));
    EXPECT(e && is_error(e->cause, "_RemoteTraceback"));
    EXPECT(e && e->cause && strstr(e->cause->message, "terminated abruptly with exit code 99"));
    error_free(e);
    executor_destroy(ex);
    EXPECT(no_children());
}

/* ---- ExecutorDeadlockTest (process pool) ---- */

/* _check_error: a task that fails in some way gives that error, and the
 * pool neither hangs nor leaves a child. */
static void check_error(const char *type, task_fn *fn)
{
    struct executor *ex = make_pool(true, 2);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct error *e = error_of(executor_submit(ex, fn, &arg));
    if (!is_error(e, type))
        EXPECT_FAILF("expected %s, got %s: %s", type, e ? e->type : "success", e ? e->message : "");
    error_free(e);
    executor_destroy(ex);
    EXPECT(no_children());
}

static void deadlock_test_crash_during_func_exec_on_worker(void)
{
    check_error("BrokenProcessPool", crash);
}

static void deadlock_test_exit_during_func_exec_on_worker(void)
{
    check_error("BrokenProcessPool", exit_1); /* CPython: SystemExit, see futures.h */
}

static void deadlock_test_error_during_func_exec_on_worker(void)
{
    check_error("RuntimeError", raise_runtime_error);
}

static void deadlock_test_shutdown_deadlock(void)
{
    /* A worker that crashes after shutdown was called must not hang it. */
    make_shared();
    struct executor *ex = make_pool(true, 2);
    REQUIRE(ex);
    struct pair arg = {0, 0};
    struct future *blocked = executor_submit(ex, acquire_lock, &arg);
    wait_started(1);
    struct future *f = executor_submit(ex, crash, &arg);
    executor_shutdown(ex, false);
    executor_shutdown(ex, true);
    struct error *e = error_of(f);
    EXPECT(is_error(e, "BrokenProcessPool"));
    error_free(e);
    e = error_of(blocked); /* the pool broke under it */
    EXPECT(is_error(e, "BrokenProcessPool"));
    error_free(e);
    executor_destroy(ex);
    EXPECT(no_children());
}

#define PIPE_MAX_SIZE (4 * 1024 * 1024 + 1) /* test.support's: more than a socket buffer */

static struct error *crash_with_data(void *arg, void **result)
{
    (void)arg;
    return crash(NULL, result);
}

static void deadlock_test_crash_big_data(void)
{
    /* A worker crashes while a task bigger than any socket buffer is being
     * sent to it: a clean BrokenProcessPool, not a writer stuck for ever. */
    char *data = xmalloc(PIPE_MAX_SIZE);
    memset(data, 'a', PIPE_MAX_SIZE);
    struct executor *ex = process_pool_create(2, PIPE_MAX_SIZE, sizeof(struct pair));
    REQUIRE(ex);
    void *argv[10], *results[10];
    for (int i = 0; i < 10; i++)
        argv[i] = data;
    struct error *e = executor_map(ex, crash_with_data, argv, 10, results);
    EXPECT(is_error(e, "BrokenProcessPool"));
    error_free(e);
    for (int i = 0; i < 10; i++)
        EXPECT(results[i] == NULL);
    executor_destroy(ex);
    free(data);
    EXPECT(no_children());
}

static void deadlock_test_gh105829_should_not_deadlock_if_wakeup_pipe_full(void)
{
    /* Far more submits than the wake-up pipe holds bytes (64 KiB), faster
     * than the manager reads them: submit must never block on it. */
    enum { JOBS = 70000 };
    struct executor *ex = make_pool(true, 2);
    REQUIRE(ex);
    struct pair *args = xcalloc(JOBS, sizeof *args);
    struct future **fs = xcalloc(JOBS, sizeof *fs);
    for (long i = 0; i < JOBS; i++) {
        args[i] = (struct pair){i - JOBS / 2, 0};
        fs[i] = executor_submit(ex, abs_task, &args[i]);
    }
    long right = 0;
    for (long i = 0; i < JOBS; i++)
        right += result_of(fs[i]).a == labs(i - JOBS / 2);
    EXPECT(right == JOBS);
    free(fs);
    free(args);
    executor_destroy(ex);
}

/* ---- FutureTests (the future on its own) ---- */

static void future_test_done(void)
{
    struct future *pending = future_create(), *finished = future_create(),
                  *failed = future_create();
    future_set_result(finished, NULL);
    future_set_error(failed, error_new("OSError", "%s", ""));
    EXPECT(!future_done(pending));
    EXPECT(future_done(finished));
    EXPECT(future_done(failed));
    future_destroy(pending);
    future_destroy(finished);
    future_destroy(failed);
}

struct notification {
    struct future *f;
    bool with_error;
};

static void *notify(void *arg)
{
    struct notification *n = arg;
    if (n->with_error)
        future_set_error(n->f, error_new("OSError", "%s", ""));
    else
        future_set_result(n->f, new_pair(42, 0));
    return NULL;
}

static void future_test_result_with_success(void)
{
    /* result() blocks until another thread sets the result. */
    struct notification n = {future_create(), false};
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, notify, &n));
    EXPECT(result_of(n.f).a == 42);
    CHECK_PT(pthread_join(t, NULL));
}

static void future_test_exception_with_success(void)
{
    struct notification n = {future_create(), true};
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, notify, &n));
    struct error *e = error_of(n.f);
    EXPECT(is_error(e, "OSError"));
    error_free(e);
    CHECK_PT(pthread_join(t, NULL));
}

/* Where Python raises InvalidStateError, setting a done future again dies,
 * as common/'s other misuse checks do (common/futures.h). The second set runs
 * in a child, which must exit 1 with *message (its stderr's first line,
 * after "prog: "); the parent's future keeps its first value. */
static void second_set_dies(struct future *f, bool with_error, const char *message)
{
    int err[2];
    REQUIRE(pipe(err) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(err[1], 2);
        alarm(60);
        if (with_error)
            future_set_error(f, error_new("Exception", "%s", ""));
        else
            future_set_result(f, new_pair(2, 0));
        _exit(0); /* it returned: the misuse went unseen */
    }
    close(err[1]);
    char text[512] = "";
    size_t len = 0;
    ssize_t n;
    while ((n = read(err[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)n;
    text[len] = '\0';
    close(err[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    printf("the second set: %s", len ? text : "(nothing on stderr)\n");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    char expected[256];
    snprintf(expected, sizeof expected, "%s: %s\n", program_invocation_short_name, message);
    EXPECT(strncmp(text, expected, strlen(expected)) == 0);
    EXPECT(future_done(f));
}

static void future_test_multiple_set_result(void)
{
    struct future *f = future_create();
    future_set_result(f, new_pair(1, 0));
    second_set_dies(f, false,
                    "future_set_result: the future is already done (a future is set once)");
    EXPECT(result_of(f).a == 1);
}

static void future_test_multiple_set_exception(void)
{
    struct future *f = future_create();
    future_set_error(f, error_new("ValueError", "%s", ""));
    second_set_dies(f, true, "future_set_error: the future is already done (a future is set once)");
    struct error *e = error_of(f);
    EXPECT(is_error(e, "ValueError"));
    error_free(e);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(thread_test_submit),
    EXPECT_CASE(thread_test_map),
    EXPECT_CASE(thread_test_map_exception),
    EXPECT_CASE(thread_test_shutdown_race_issue12456),
    EXPECT_CASE(thread_test_max_workers_negative),
    EXPECT_CASE(thread_test_map_submits_without_iteration),
    EXPECT_CASE(thread_test_saturation),
    EXPECT_CASE(thread_shutdown_test_run_after_shutdown),
    EXPECT_CASE(thread_shutdown_test_hang_issue12364),
    EXPECT_CASE(thread_shutdown_test_threads_terminate),
    EXPECT_CASE(thread_shutdown_test_context_manager_shutdown),
    EXPECT_CASE(thread_shutdown_test_del_shutdown),
    EXPECT_CASE(thread_shutdown_test_shutdown_no_wait),
    EXPECT_CASE(process_test_submit),
    EXPECT_CASE(process_test_map),
    EXPECT_CASE(process_test_map_exception),
    EXPECT_CASE(process_test_shutdown_race_issue12456),
    EXPECT_CASE(process_test_max_workers_negative),
    EXPECT_CASE(process_test_killed_child),
    EXPECT_CASE(process_test_traceback),
    EXPECT_CASE(process_test_traceback_when_child_process_terminates_abruptly),
    EXPECT_CASE(process_test_saturation),
    EXPECT_CASE(process_shutdown_test_run_after_shutdown),
    EXPECT_CASE(process_shutdown_test_hang_issue12364),
    EXPECT_CASE(process_shutdown_test_processes_terminate),
    EXPECT_CASE(process_shutdown_test_context_manager_shutdown),
    EXPECT_CASE(process_shutdown_test_del_shutdown),
    EXPECT_CASE(process_shutdown_test_shutdown_no_wait),
    EXPECT_CASE(deadlock_test_crash_during_func_exec_on_worker),
    EXPECT_CASE(deadlock_test_exit_during_func_exec_on_worker),
    EXPECT_CASE(deadlock_test_error_during_func_exec_on_worker),
    EXPECT_CASE(deadlock_test_shutdown_deadlock),
    EXPECT_CASE(deadlock_test_crash_big_data),
    EXPECT_CASE(deadlock_test_gh105829_should_not_deadlock_if_wakeup_pipe_full),
    EXPECT_CASE(future_test_done),
    EXPECT_CASE(future_test_result_with_success),
    EXPECT_CASE(future_test_exception_with_success),
    EXPECT_CASE(future_test_multiple_set_result),
    EXPECT_CASE(future_test_multiple_set_exception),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
