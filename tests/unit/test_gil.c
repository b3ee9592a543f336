/* test_gil: the emulated GIL's promises, one case each (tests/unit/expect.h),
 * driven by tests/lib_gil.bats:
 *
 *   test_gil mutual_exclusion [--off]  4 threads, increments that do not tick
 *                                      mid-way: the count is exact (--off: the
 *                                      same with the GIL off, which must fail)
 *   test_gil blocking_releases         a thread blocked in GIL_ALLOW_THREADS or
 *                                      gil_mutex_lock does not hold the GIL
 *   test_gil blocking_hands_over       a thread that blocks while asked to let
 *                                      go waits until the asker has the GIL
 *   test_gil no_starvation             a waiter gets the GIL while the holder
 *                                      keeps ticking
 *   test_gil off_is_noop               with the GIL off, every call is a no-op
 *   test_gil init                      gil_init: EBUSY while held, resets the
 *                                      count; GIL_ALLOW_THREADS keeps errno
 *
 * Each also prints "ok: ..." lines saying what held. Nothing here waits on a timer: a thread that
 * must wait for another waits for a flag it sets. A broken GIL that deadlocks is caught by a 60 s
 * alarm.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expect.h"
#include "gil.h"

/* Wait for another thread to set *flag, without holding the GIL. */
static void wait_for(atomic_bool *flag)
{
    while (!atomic_load(flag))
        sched_yield();
}

/* ---- mutual exclusion ---- */

#define INCREMENTS 200000
#define THREADS 4

static atomic_long counter;  /* read and written in two steps: a race if unguarded */
static atomic_int inside;    /* threads between the read and the write */
static atomic_long overlaps; /* times a thread found another one inside */

static void *incrementer(void *unused)
{
    (void)unused;
    gil_acquire();
    for (long i = 0; i < INCREMENTS; i++) {
        if (atomic_fetch_add(&inside, 1) != 0)
            atomic_fetch_add(&overlaps, 1);
        long value = atomic_load_explicit(&counter, memory_order_relaxed);
        for (int spin = 0; spin < 20; spin++)
            __asm__ volatile(""); /* widen the window a little */
        atomic_store_explicit(&counter, value + 1, memory_order_relaxed);
        atomic_fetch_sub(&inside, 1);
        gil_tick(); /* between increments, never inside one */
    }
    gil_release();
    return NULL;
}

static bool gil_on = true; /* --off: run mutual_exclusion with the GIL off */

static void mutual_exclusion(void)
{
    pthread_t threads[THREADS];
    CHECK_PT(gil_init(gil_on, 0.0002)); /* a short interval: many switches */
    for (int i = 0; i < THREADS; i++)
        CHECK_PT(pthread_create(&threads[i], NULL, incrementer, NULL));
    for (int i = 0; i < THREADS; i++)
        CHECK_PT(pthread_join(threads[i], NULL));
    long got = atomic_load(&counter);
    printf("counter %ld of %d, %ld overlaps, %lu switches\n", got, THREADS * INCREMENTS,
           atomic_load(&overlaps), gil_switches());
    EXPECT(got == THREADS * INCREMENTS);
    EXPECT(atomic_load(&overlaps) == 0);
}

/* ---- blocking calls release the GIL ---- */

static int wake_pipe[2];
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool holding, held_after;

static void *blocker(void *unused)
{
    (void)unused;
    char byte;
    ssize_t got;
    gil_acquire();
    atomic_store(&holding, true);
    /* Blocks until the main thread writes, which it does only once it holds
     * the GIL: if this call kept the GIL, both would wait forever. */
    GIL_ALLOW_THREADS(got = read(wake_pipe[0], &byte, 1));
    CHECK_SYS(got);
    atomic_store(&held_after, gil_held());
    gil_release();
    return NULL;
}

static void *locker(void *unused)
{
    (void)unused;
    gil_acquire();
    atomic_store(&holding, true);
    CHECK_PT(gil_mutex_lock(&contended)); /* held by main: a real wait */
    atomic_store(&held_after, gil_held());
    CHECK_PT(pthread_mutex_unlock(&contended));
    gil_release();
    return NULL;
}

static void blocking_releases(void)
{
    pthread_t t;
    atomic_store(&holding, false);
    CHECK_PT(gil_init(true, GIL_DEFAULT_INTERVAL));
    CHECK_SYS(pipe(wake_pipe));
    CHECK_PT(pthread_create(&t, NULL, blocker, NULL));
    wait_for(&holding);
    gil_acquire(); /* only possible while blocker waits with the GIL released */
    EXPECT(gil_held());
    CHECK_SYS(write(wake_pipe[1], "x", 1));
    gil_release();
    CHECK_PT(pthread_join(t, NULL));
    EXPECT(atomic_load(&held_after)); /* and it had the GIL back after the call */
    printf("ok: a thread blocked in GIL_ALLOW_THREADS(read(...)) let another take the GIL\n");
    CHECK_SYS(close(wake_pipe[0]));
    CHECK_SYS(close(wake_pipe[1]));

    atomic_store(&holding, false);
    atomic_store(&held_after, false);
    CHECK_PT(pthread_mutex_lock(&contended));
    CHECK_PT(pthread_create(&t, NULL, locker, NULL));
    wait_for(&holding);
    gil_acquire(); /* only possible while locker waits for the mutex without the GIL */
    CHECK_PT(pthread_mutex_unlock(&contended));
    gil_release();
    CHECK_PT(pthread_join(t, NULL));
    EXPECT(atomic_load(&held_after));
    printf("ok: a thread waiting in gil_mutex_lock let another take the GIL\n");
}

/* ---- a thread that blocks while asked to let go waits for the switch ---- */

static void *asker(void *unused)
{
    (void)unused;
    gil_acquire(); /* waits an interval, then asks main to let go */
    gil_release();
    return NULL;
}

static void blocking_hands_over(void)
{
    pthread_t t;
    bool switched = false;
    CHECK_PT(gil_init(true, 0.001));
    gil_acquire();
    CHECK_PT(pthread_create(&t, NULL, asker, NULL));
    while (!gil_drop_requested())
        sched_yield(); /* holding the GIL without ticking: the asker must ask */
    unsigned long before = gil_switches();
    /* As in CPython, letting go on request waits until the asker has the GIL,
     * so inside the blocking call the switch has already happened. */
    GIL_ALLOW_THREADS(switched = gil_switches() > before);
    gil_release();
    CHECK_PT(pthread_join(t, NULL));
    EXPECT(switched);
    EXPECT(!gil_drop_requested()); /* the taker cleared it */
    printf("ok: blocking on request handed the GIL over before the call\n");
}

/* ---- no starvation ---- */

#define TICK_LIMIT 4000000000L /* about 10 s of ticks: far beyond any switch interval */

static atomic_bool waiter_ran;

static void *waiter(void *unused)
{
    (void)unused;
    wait_for(&holding);
    gil_acquire(); /* the holder never blocks: only its ticks can let us in */
    atomic_store(&waiter_ran, true);
    gil_release();
    return NULL;
}

static void no_starvation(void)
{
    pthread_t t;
    atomic_store(&holding, false);
    CHECK_PT(gil_init(true, 0.001));
    CHECK_PT(pthread_create(&t, NULL, waiter, NULL));
    gil_acquire();
    atomic_store(&holding, true);
    long ticks = 0;
    while (ticks < TICK_LIMIT && !atomic_load_explicit(&waiter_ran, memory_order_relaxed)) {
        gil_tick();
        ticks++;
    }
    bool saw = atomic_load(&waiter_ran);
    unsigned long switches = gil_switches();
    gil_release();
    CHECK_PT(pthread_join(t, NULL));
    printf("the waiter ran after %ld ticks; %lu switches\n", ticks, switches);
    EXPECT(saw);
    EXPECT(switches >= 3); /* to us, to the waiter, back to us */
}

/* ---- the GIL off ---- */

static atomic_bool second_ran;

static void *second_thread(void *unused)
{
    (void)unused;
    gil_acquire(); /* would wait forever if the GIL were on: main holds it */
    gil_tick();
    GIL_ALLOW_THREADS((void)0);
    CHECK_PT(gil_mutex_lock(&contended));
    CHECK_PT(pthread_mutex_unlock(&contended));
    atomic_store(&second_ran, true);
    gil_release();
    return NULL;
}

static void off_is_noop(void)
{
    pthread_t t;
    CHECK_PT(gil_init(false, GIL_DEFAULT_INTERVAL));
    EXPECT(!gil_enabled());
    gil_acquire();
    EXPECT(!gil_held());
    CHECK_PT(pthread_create(&t, NULL, second_thread, NULL));
    CHECK_PT(pthread_join(t, NULL)); /* joined while "holding" the GIL */
    gil_release();
    gil_release(); /* even an unmatched release does nothing */
    EXPECT(atomic_load(&second_ran));
    EXPECT(gil_switches() == 0);
    printf("ok: with the GIL off, two threads ran \"holding\" it at once\n");
}

/* ---- gil_init and errno ---- */

static void init(void)
{
    EXPECT(gil_init(true, 0.001) == 0);
    EXPECT(gil_enabled());
    gil_acquire();
    EXPECT(gil_held());
    EXPECT(gil_switches() == 1);
    EXPECT(gil_init(false, 0.001) == EBUSY); /* not while somebody holds it */
    EXPECT(gil_enabled());
    errno = 0;
    GIL_ALLOW_THREADS(errno = EAGAIN);
    EXPECT(errno == EAGAIN); /* what the blocking call left, not the GIL's own calls */
    EXPECT(gil_held());
    gil_release();
    EXPECT(!gil_held());
    EXPECT(gil_init(true, 0.001) == 0);
    EXPECT(gil_switches() == 0);
    printf("ok: gil_init refuses while held, resets the count; errno survives\n");
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL: still running after 60 s: deadlock or starvation\n";
    ssize_t ignored = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(1);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(mutual_exclusion), EXPECT_CASE(blocking_releases), EXPECT_CASE(blocking_hands_over),
    EXPECT_CASE(no_starvation),    EXPECT_CASE(off_is_noop),       EXPECT_CASE(init),
};

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGALRM, on_alarm);
    alarm(60);
    if (argc > 2 && strcmp(argv[argc - 1], "--off") == 0) {
        gil_on = false;
        argc--;
    }
    return EXPECT_MAIN(argc, argv, cases);
}
