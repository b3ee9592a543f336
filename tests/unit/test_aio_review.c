/* A review of common/aio's loop and task layers (aio_loop.c, aio_task.c),
 * driven by tests/lib_aio_review.bats: each case is a claim aio.h or the
 * implementation notes make, or what asyncio does in the same spot, checked
 * on the edge where it could break (deadlines at infinity, tasks made while
 * the loop closes, calls handed over by other threads while it closes,
 * cancellation after the wait was already ended, frames bigger than the guard
 * page, one aio_run after another as Item 60's --loop-per-generation does).
 *
 *   test_aio_review            every case
 *   test_aio_review NAME...    the cases named
 *   test_aio_review --list     the case names
 *
 * A case that could kill or hang the program runs in a child (in_child): a
 * death or a hang there is that case's failure, not the end of the run. The
 * child's watchdog (alarm) only turns a hang into a failure; no case asserts
 * a timing. Under a sanitizer the many-task cases use fewer tasks (MANY).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aio.h"
#include "aio_impl.h"
#include "check.h"
#include "clock.h"
#include "expect.h"
#include "futures.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SANITIZED_BUILD 1
#endif
#endif
#ifndef SANITIZED_BUILD
#define SANITIZED_BUILD 0
#endif
/* Memory per stack under a sanitizer (and TSan's thread slot per running task). */
#define MANY (SANITIZED_BUILD ? 2000 : 20000)

enum { WATCHDOG = 20 }; /* seconds before a child that hangs is killed */

/* ---- helpers ---- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    REQUIRE(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool no_error(struct error *e)
{
    if (e)
        printf("  got %s: %s\n", e->type, e->message);
    error_free(e);
    return e == NULL;
}

static bool is_type(struct error *e, const char *type)
{
    bool ok = e && strcmp(e->type, type) == 0;
    if (!ok)
        printf("  expected %s, got %s%s%s\n", type, e ? e->type : "no error", e ? ": " : "",
               e ? e->message : "");
    error_free(e);
    return ok;
}

/* Run fn in a child with a watchdog; return its wait status, and its stderr
 * in *text (malloc'd). The child exits 1 if a check failed in it. */
static int in_child(void (*fn)(void), char **text)
{
    fflush(stdout);
    FILE *err = tmpfile();
    REQUIRE(err != NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fileno(err), 2);
        alarm(WATCHDOG);
        fn();
        fflush(stdout);
        _exit(atomic_load(&expect_case_failed) ? 1 : 0);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    long n = ftell(err);
    *text = xcalloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(err);
    if (n > 0 && fread(*text, 1, (size_t)n, err) != (size_t)n)
        die("in_child: short read");
    fclose(err);
    if (WIFSIGNALED(status))
        printf("  the child died of signal %d (%s)%s\n", WTERMSIG(status),
               strsignal(WTERMSIG(status)), WTERMSIG(status) == SIGALRM ? ": it hung" : "");
    if (**text) /* its first line (a sanitizer's report goes on for pages) */
        printf("  the child's stderr: %.*s\n", (int)strcspn(*text, "\n"), *text);
    return status;
}

static bool exited_ok(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static struct error *sleep_hour(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return aio_sleep(3600);
}

static struct error *nothing(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return NULL;
}

/* ==== timers ==== */

/* asyncio.sleep(math.inf) (or a day's worth of seconds past 2^63 ns) is a
 * task that sleeps until cancelled; asyncio caps the selector's timeout at
 * 24 hours. Here the loop, with nothing else to wait for, must not turn the
 * deadline into an invalid timespec and die in epoll_pwait2 (EINVAL). */
struct long_sleep {
    double seconds;
};

static struct error *sleep_for(void *arg, void **result)
{
    (void)result;
    const struct long_sleep *s = arg;
    return aio_sleep(s->seconds);
}

static struct error *long_sleep_main(void *arg, void **result)
{
    (void)result;
    struct aio_task *t;
    struct error *err = aio_create_task(&t, sleep_for, arg);
    if (err)
        return err;
    if ((err = aio_sleep(0))) /* the sleeper starts: its timer is the only one */
        return err;
    /* Nothing ready, one timer far away: the loop waits in epoll for the
     * executor's thread, with that timer's deadline as the timeout. */
    if ((err = aio_run_in_executor(NULL, nothing, NULL, NULL)))
        return err;
    aio_cancel(t);
    EXPECT(is_type(aio_await(t, NULL), "CancelledError"));
    return NULL;
}

static void sleep_seconds_in_child(double seconds)
{
    struct long_sleep s = {seconds};
    EXPECT(no_error(aio_run(long_sleep_main, &s, NULL)));
}

static void sleep_infinity(void)
{
    sleep_seconds_in_child(INFINITY);
}

static void sleep_1e20(void)
{
    sleep_seconds_in_child(1e20);
}

static void sleep_forever_does_not_kill_the_loop(void)
{
    char *text;
    EXPECT(exited_ok(in_child(sleep_infinity, &text)));
    free(text);
    EXPECT(exited_ok(in_child(sleep_1e20, &text)));
    free(text);
}

/* Timers that are all due run in (deadline, scheduling order), whatever the
 * order they were scheduled in, with some cancelled in the heap: a fixed
 * pseudo-random mix of deadlines from a small set (so many are equal), all
 * in the past, run in one round. */
enum { MIXED = 5000 };

struct mixed {
    struct aio_handle h[MIXED];
    double when[MIXED];
    bool cancelled[MIXED];
    int ran[MIXED], nran;
    struct aio_loop *loop;
};

static struct mixed *mixed;

static void mixed_cb(void *arg)
{
    int i = (int)(intptr_t)arg;
    mixed->ran[mixed->nran++] = i;
    if (mixed->nran + 1 >= MIXED || i == -1)
        aio_loop_stop(mixed->loop);
}

static void stop_cb(void *arg)
{
    aio_loop_stop(arg);
}

static void due_timers_run_in_deadline_then_scheduling_order(void)
{
    mixed = xcalloc(1, sizeof *mixed);
    REQUIRE(no_error(aio_loop_create(&mixed->loop)));
    double base = clock_now() - 100; /* all in the past: due at once */
    uint32_t x = 12345;
    for (int i = 0; i < MIXED; i++) {
        x = x * 1103515245u + 12345u;
        /* Runs of increasing deadlines broken by smaller ones, many equal. */
        double when = base + (double)((x >> 16) % 8) + (i % 3 == 0 ? (double)i / MIXED : 0);
        mixed->when[i] = when;
        aio_call_at(mixed->loop, &mixed->h[i], when, mixed_cb, (void *)(intptr_t)i);
    }
    for (int i = 0; i < MIXED; i += 7) {
        aio_handle_cancel(&mixed->h[i]);
        mixed->cancelled[i] = true;
    }
    struct aio_handle stop;
    aio_call_later(mixed->loop, &stop, 0, stop_cb, mixed->loop); /* after every due one */
    aio_loop_run_forever(mixed->loop);
    int expected = 0, bad = 0;
    for (int i = 0; i < MIXED; i++)
        expected += !mixed->cancelled[i];
    for (int k = 0; k < mixed->nran; k++) {
        int i = mixed->ran[k];
        if (mixed->cancelled[i])
            bad++;
        if (k > 0) {
            int p = mixed->ran[k - 1];
            if (mixed->when[p] > mixed->when[i] || (mixed->when[p] == mixed->when[i] && p > i))
                bad++;
        }
    }
    printf("  %d of %d due timers ran, %d out of order or cancelled\n", mixed->nran, expected, bad);
    EXPECT(mixed->nran == expected);
    EXPECT(bad == 0);
    aio_loop_close(mixed->loop);
    free(mixed);
}

/* call_soon runs in scheduling order, and what a callback schedules runs in
 * the next round, after the due timers of this one (asyncio's _run_once);
 * calls from other threads run in the order each thread made them. */
enum { TS_THREADS = 4, TS_CALLS = 2000 };

struct ts_state {
    struct aio_loop *loop;
    int last[TS_THREADS];
    int bad, done;
    pthread_t threads[TS_THREADS];
};

struct ts_call {
    struct ts_state *st;
    int thread, seq;
};

static void ts_cb(void *arg)
{
    struct ts_call *c = arg;
    if (c->seq != c->st->last[c->thread] + 1)
        c->st->bad++;
    c->st->last[c->thread] = c->seq;
    if (++c->st->done == TS_THREADS * TS_CALLS)
        aio_loop_stop(c->st->loop);
    free(c);
}

struct ts_arg {
    struct ts_state *st;
    int thread;
};

static void *ts_thread(void *arg)
{
    struct ts_arg *a = arg;
    for (int i = 1; i <= TS_CALLS; i++) {
        struct ts_call *c = xmalloc(sizeof *c);
        *c = (struct ts_call){a->st, a->thread, i};
        aio_call_soon_threadsafe(a->st->loop, ts_cb, c);
    }
    return NULL;
}

static void threadsafe_calls_keep_each_threads_order(void)
{
    struct ts_state st = {0};
    REQUIRE(no_error(aio_loop_create(&st.loop)));
    struct ts_arg args[TS_THREADS];
    for (int i = 0; i < TS_THREADS; i++) {
        args[i] = (struct ts_arg){&st, i};
        CHECK_PT(pthread_create(&st.threads[i], NULL, ts_thread, &args[i]));
    }
    aio_loop_run_forever(st.loop);
    for (int i = 0; i < TS_THREADS; i++)
        CHECK_PT(pthread_join(st.threads[i], NULL));
    printf("  %d calls from %d threads, %d out of their thread's order\n", st.done, TS_THREADS,
           st.bad);
    EXPECT(st.done == TS_THREADS * TS_CALLS);
    EXPECT(st.bad == 0);
    aio_loop_close(st.loop);
}

/* ==== closing ==== */

/* asyncio.run cancels the tasks left when main returns and then closes the
 * loop; a task that, being cancelled, starts another task does not keep
 * asyncio.run from returning (the new one is destroyed pending). Here
 * aio_loop_close runs the loop until every task is done, so the new task,
 * never cancelled, must not keep it running for ever. */
static struct error *spawn_on_cancel(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct error *err = aio_sleep(3600);
    if (err) { /* cancelled: start a helper and leave it (never awaited) */
        struct aio_task *helper;
        error_free(aio_create_task(&helper, sleep_hour, NULL));
    }
    return err;
}

static struct error *leave_spawner(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct aio_task *t;
    struct error *err = aio_create_task(&t, spawn_on_cancel, NULL);
    if (err)
        return err;
    return aio_sleep(0); /* it starts and sleeps; main returns, leaving it */
}

static void run_leaving_spawner(void)
{
    EXPECT(no_error(aio_run(leave_spawner, NULL, NULL)));
}

static void close_cancels_tasks_made_while_closing(void)
{
    char *text;
    EXPECT(exited_ok(in_child(run_leaving_spawner, &text)));
    free(text);
}

/* run_coroutine_threadsafe into a loop that is closing: the call reaches
 * the loop while aio_loop_close is still running it (here from the default
 * executor's thread, which close waits for). Its future must resolve (the
 * coroutine run and cancelled, or the call refused) and its task must not
 * be left behind; a future that never resolves hangs whoever waits on it. */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool go;
    struct aio_loop *loop;
    struct future *late;
} closing = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, NULL};

static struct error *submit_when_closing(void *arg, void **result)
{
    (void)arg;
    (void)result;
    CHECK_PT(pthread_mutex_lock(&closing.mutex));
    while (!closing.go)
        CHECK_PT(pthread_cond_wait(&closing.cond, &closing.mutex));
    CHECK_PT(pthread_mutex_unlock(&closing.mutex));
    closing.late = aio_run_coroutine_threadsafe(closing.loop, sleep_hour, NULL);
    return NULL;
}

static struct error *in_executor_until_cancelled(void *arg, void **result)
{
    (void)arg;
    (void)result;
    closing.loop = aio_get_running_loop();
    struct error *err = aio_run_in_executor(NULL, submit_when_closing, NULL, NULL);
    /* Cancelled by the closing loop: let the executor's function go on. */
    CHECK_PT(pthread_mutex_lock(&closing.mutex));
    closing.go = true;
    CHECK_PT(pthread_cond_signal(&closing.cond));
    CHECK_PT(pthread_mutex_unlock(&closing.mutex));
    return err;
}

static struct error *leave_executor_wait(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct aio_task *t;
    struct error *err = aio_create_task(&t, in_executor_until_cancelled, NULL);
    if (err)
        return err;
    return aio_sleep(0);
}

static void run_then_check_late_future(void)
{
    EXPECT(no_error(aio_run(leave_executor_wait, NULL, NULL)));
    REQUIRE(closing.late != NULL);
    bool done = future_done(closing.late);
    printf("  the future of the call made while closing is %s\n", done ? "done" : "NOT done");
    EXPECT(done);
    if (done) {
        struct error *err = future_result(closing.late, NULL);
        printf("  it resolved with %s\n", err ? err->type : "a result");
        error_free(err);
        future_destroy(closing.late);
    }
}

static void threadsafe_call_while_closing_resolves_its_future(void)
{
    char *text;
    EXPECT(exited_ok(in_child(run_then_check_late_future, &text)));
    free(text);
}

/* ==== cancellation ==== */

/* aio.h: "the call it is waiting in ... returns CancelledError". A task
 * whose awaited child has just finished (the wake-up is scheduled, the task
 * has not resumed) is still waiting in aio_await when it is cancelled; in
 * asyncio the `await child` raises CancelledError there (Task.cancel sets
 * _must_cancel and the next __step throws it in), so the code after the
 * await does not run as if nothing happened. */
struct after_wake {
    struct aio_task *waiter;
    struct aio_task *child;
    bool ran_on;    /* the waiter's code after aio_await ran with no error */
    bool cancelled; /* ... or the await itself returned CancelledError */
};

static struct error *waiter(void *arg, void **result)
{
    (void)result;
    struct after_wake *w = arg;
    struct error *err = aio_await(w->child, NULL);
    if (!err) {
        w->ran_on = true;
        return NULL;
    }
    w->cancelled = strcmp(err->type, "CancelledError") == 0;
    return err;
}

static struct error *canceller(void *arg, void **result)
{
    (void)result;
    struct after_wake *w = arg;
    aio_cancel(w->waiter); /* the child has finished; the waiter's wake-up is queued */
    return NULL;
}

static struct error *cancel_after_wake_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct after_wake w = {0};
    struct error *err;
    struct aio_task *c;
    if ((err = aio_create_task(&w.waiter, waiter, &w)))
        return err;
    if ((err = aio_create_task(&w.child, nothing, NULL))) /* starts after the waiter */
        return err;
    if ((err = aio_create_task(&c, canceller, &w))) /* right after the child finishes */
        return err;
    /* Round 1: waiter (waits), child (finishes: waiter's wake-up queued for
     * round 2), canceller (the waiter is woken but not resumed). */
    if ((err = aio_await(c, NULL)))
        return err;
    err = aio_await(w.waiter, NULL);
    printf("  the waiter's await %s; the task ended with %s\n",
           w.cancelled ? "returned CancelledError"
           : w.ran_on  ? "returned the child's result, and its code ran on"
                       : "did neither",
           err ? err->type : "no error");
    EXPECT(is_type(err, "CancelledError"));
    EXPECT(w.cancelled && !w.ran_on);
    return NULL;
}

static void cancel_after_wake_ends_the_wait_cancelled(void)
{
    EXPECT(no_error(aio_run(cancel_after_wake_main, NULL, NULL)));
}

/* Cancelling a task that awaits a task that has not started: the child
 * never runs, the awaiter's await returns the child's CancelledError. A
 * gather cancelled before its children start: none runs, CancelledError. */
static atomic_int started;

static struct error *counting(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_fetch_add(&started, 1);
    return aio_sleep(3600);
}

static struct error *await_unstarted(void *arg, void **result)
{
    (void)result;
    struct aio_task *child;
    struct error *err = aio_create_task(&child, counting, NULL);
    if (err)
        return err;
    (void)arg;
    return aio_await(child, NULL);
}

static struct error *gather_unstarted(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct aio_task *t[8];
    for (int i = 0; i < 8; i++) {
        struct error *err = aio_create_task(&t[i], counting, NULL);
        if (err)
            return err;
    }
    return aio_gather(t, 8, NULL);
}

static struct error *cancel_awaiters_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    atomic_store(&started, 0);
    struct aio_task *a, *g;
    struct error *err;
    if ((err = aio_create_task(&a, await_unstarted, NULL)))
        return err;
    if ((err = aio_create_task(&g, gather_unstarted, NULL)))
        return err;
    if ((err = aio_sleep(0))) /* both start and wait; their children are queued */
        return err;
    aio_cancel(a);
    aio_cancel(g);
    EXPECT(is_type(aio_await(a, NULL), "CancelledError"));
    EXPECT(is_type(aio_await(g, NULL), "CancelledError"));
    printf("  %d children ran\n", atomic_load(&started));
    EXPECT(atomic_load(&started) == 0);
    return NULL;
}

static void cancel_reaches_children_that_have_not_started(void)
{
    EXPECT(no_error(aio_run(cancel_awaiters_main, NULL, NULL)));
}

/* aio_await_future cancelled while another thread resolves the future: the
 * cancel and the done callback race (bridge_cancel against bridge_done). In
 * every round the wait ends once, with the value or CancelledError, and
 * nothing is freed twice or used after it is freed (ASan, TSan). */
enum { RACES = 2000 };

struct race {
    struct future *f;
    atomic_int go;
};

static void *resolver(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->go))
        ; /* spin: the point is to land as close to the cancel as possible */
    future_set_result(r->f, (void *)(intptr_t)42);
    return NULL;
}

static struct error *await_raced(void *arg, void **result)
{
    struct race *r = arg;
    return aio_await_future(r->f, result);
}

static struct error *race_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int values = 0, cancels = 0, other = 0;
    for (int i = 0; i < RACES; i++) {
        struct race r = {future_create(), 0};
        struct aio_task *t;
        struct error *err = aio_create_task(&t, await_raced, &r);
        if (err)
            return err;
        if ((err = aio_sleep(0))) /* it waits on the future now */
            return err;
        pthread_t th;
        CHECK_PT(pthread_create(&th, NULL, resolver, &r));
        atomic_store(&r.go, 1);
        if (i % 3 == 1) /* resolved: its done callback is on its way to the loop */
            while (!future_done(r.f))
                ;
        else if (i % 3 == 2) /* somewhere in between */
            for (volatile int spin = 0; spin < i; spin++)
                ;
        aio_cancel(t);
        void *v = NULL;
        err = aio_await(t, &v);
        if (!err && v == (void *)(intptr_t)42)
            values++;
        else if (err && strcmp(err->type, "CancelledError") == 0)
            cancels++;
        else
            other++;
        error_free(err);
        CHECK_PT(pthread_join(th, NULL));
        future_destroy(r.f);
    }
    printf("  %d rounds: %d got the value, %d were cancelled, %d neither\n", RACES, values, cancels,
           other);
    EXPECT(values + cancels == RACES && other == 0);
    return NULL;
}

static void await_future_cancel_races_its_resolution(void)
{
    EXPECT(no_error(aio_run(race_main, NULL, NULL)));
}

/* ==== one loop after another (Item 60's --loop-per-generation) ==== */

static struct error *generation(void *arg, void **result)
{
    (void)result;
    size_t n = *(size_t *)arg;
    struct aio_task **t = xcalloc(n, sizeof *t);
    struct error *err = NULL;
    size_t made = 0;
    for (; made < n && !err; made++)
        err = aio_create_task(&t[made], nothing, NULL);
    if (err)
        made--;
    struct error *g = aio_gather(t, made, NULL);
    free(t);
    if (err) {
        error_free(g);
        return err;
    }
    /* A nested aio_run is refused, and this loop goes on. */
    struct error *nested = aio_run(nothing, NULL, NULL);
    if (!nested || strcmp(nested->type, "RuntimeError") != 0)
        EXPECT_FAILF("a nested aio_run returned %s", nested ? nested->type : "no error");
    error_free(nested);
    return g;
}

static void aio_run_once_per_generation_leaves_nothing(void)
{
    size_t n = 100;
    int fds = count_fds();
    int bad = 0;
    for (int gen = 0; gen < 300; gen++)
        bad += !no_error(aio_run(generation, &n, NULL));
    printf("  300 aio_runs of 100 tasks: %d failed, descriptors %d before, %d after\n", bad, fds,
           count_fds());
    EXPECT(bad == 0);
    EXPECT(count_fds() == fds);
}

/* ==== stacks ==== */

/* A frame bigger than the guard page (a local buffer of 160 KiB, more than
 * the whole stack) steps over the guard: its writes land in the mapping
 * below, another task's stack, and nothing faults. The header promises a
 * SIGSEGV for an overflow of a guarded stack; gcc and clang keep that
 * promise for big frames only with -fstack-clash-protection (every page of
 * a frame is touched in order, so the guard is hit). */
enum { BIG_FRAME = AIO_STACK_SIZE + AIO_STACK_SIZE / 4 };

/* The buffer's address escapes, so no compiler can shrink the frame away. */
__attribute__((noinline)) static void touch_lowest(volatile char *buf)
{
    buf[0] = 1; /* the lowest byte only: below the stack and its guard */
}

__attribute__((noinline)) static void big_frame(volatile char *out)
{
    volatile char buf[BIG_FRAME];
    touch_lowest(buf);
    *out = buf[0];
}

static struct error *big_frame_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    volatile char c = 0;
    big_frame(&c);
    return NULL;
}

static struct error *big_frame_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct aio_task *t, *other;
    struct error *err;
    if ((err = aio_create_task(&t, big_frame_task, NULL)))
        return err;
    /* Stacks mapped after its own, the candidates right below it; they
     * sleep, and the loop cancels them when main returns. */
    for (int i = 0; i < 4; i++)
        if ((err = aio_create_task(&other, sleep_hour, NULL)))
            return err;
    return aio_await(t, NULL);
}

static void run_big_frame(void)
{
    error_free(aio_run(big_frame_main, NULL, NULL));
}

static void frame_bigger_than_guard_page_faults(void)
{
    char *text;
    int status = in_child(run_big_frame, &text);
    /* Under a sanitizer, its own report (any death) passes. */
    EXPECT(WIFSIGNALED(status) || (SANITIZED_BUILD && !exited_ok(status)));
    free(text);
}

/* An overflow that hits the guard page dies of SIGSEGV with nothing on
 * stderr: no word of which task overflowed, where it was created, or that it
 * was a stack overflow at all (the canary path, past the guard budget, does
 * name the task). */
__attribute__((noinline)) static int recurse(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    pad[511] = (char)depth;
    return depth > 1000000 ? pad[0] : recurse(depth + 1) + pad[511];
}

static struct error *deep(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return recurse(0) ? NULL : NULL;
}

static struct error *deep_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct aio_task *t;
    struct error *err = aio_create_task(&t, deep, NULL);
    if (err)
        return err;
    return aio_await(t, NULL);
}

static void run_deep(void)
{
    error_free(aio_run(deep_main, NULL, NULL));
}

static void guarded_overflow_names_the_task(void)
{
    char *text;
    int status = in_child(run_deep, &text);
    EXPECT(!exited_ok(status));
    if (!SANITIZED_BUILD) { /* a sanitizer prints its own report */
        EXPECT(strstr(text, "overflowed its") != NULL);
        EXPECT(strstr(text, "(deep, created at tests/unit/test_aio_review.c:") != NULL);
    }
    free(text);
}

/* ==== many tasks ==== */

/* Tasks left yielding (aio_sleep(0)) when main returns are cancelled by
 * aio_run's close: each cancel unlinks the task's handle from the ready
 * FIFO by walking it, and close cancels the newest first (the tasks list is
 * pushed at its head), so each walk goes nearly to the end: quadratic. This
 * case only checks the outcome (every task ends cancelled, the run returns);
 * the cost is in the report (10,000: 0.7 s; 20,000: 2.7 s; 40,000: 9.7 s). */
static atomic_int yield_ended;

static struct error *yielder(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (;;) {
        struct error *err = aio_sleep(0);
        if (err) {
            atomic_fetch_add(&yield_ended, 1);
            return err;
        }
    }
}

static struct error *leave_yielders(void *arg, void **result)
{
    (void)result;
    int n = *(int *)arg;
    for (int i = 0; i < n; i++) {
        struct aio_task *t;
        struct error *err = aio_create_task(&t, yielder, NULL);
        if (err)
            return err;
    }
    return aio_sleep(0);
}

static void yielding_tasks_left_at_close_are_cancelled(void)
{
    int n = MANY;
    atomic_store(&yield_ended, 0);
    EXPECT(no_error(aio_run(leave_yielders, &n, NULL)));
    printf("  %d of %d yielding tasks ended cancelled\n", atomic_load(&yield_ended), n);
    EXPECT(atomic_load(&yield_ended) == n);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(sleep_forever_does_not_kill_the_loop),
    EXPECT_CASE(due_timers_run_in_deadline_then_scheduling_order),
    EXPECT_CASE(threadsafe_calls_keep_each_threads_order),
    EXPECT_CASE(close_cancels_tasks_made_while_closing),
    EXPECT_CASE(threadsafe_call_while_closing_resolves_its_future),
    EXPECT_CASE(cancel_after_wake_ends_the_wait_cancelled),
    EXPECT_CASE(cancel_reaches_children_that_have_not_started),
    EXPECT_CASE(await_future_cancel_races_its_resolution),
    EXPECT_CASE(aio_run_once_per_generation_leaves_nothing),
    EXPECT_CASE(frame_bigger_than_guard_page_faults),
    EXPECT_CASE(guarded_overflow_names_the_task),
    EXPECT_CASE(yielding_tasks_left_at_close_are_cancelled),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
