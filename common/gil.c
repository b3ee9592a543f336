/* gil: CPython's global interpreter lock, emulated. See gil.h for the API.
 *
 * Implementation notes (after CPython's Python/ceval_gil.c, FORCE_SWITCHING on)
 *
 * The GIL is a flag, `locked`, guarded by a mutex and announced through a
 * condition variable, exactly as in CPython. State, all in `gil` below:
 *   locked          whether some thread holds the GIL              (mutex)
 *   switch_number   how many times the GIL changed hands           (mutex)
 *   interval        the switch interval, seconds                   (mutex)
 *   last_holder     id of the thread that took the GIL last; while
 *                   locked, the holder                  (written holding both
 *                   mutex and switch_mutex; atomic so either one suffices to
 *                   read it)
 *   drop_request    a waiter asks the holder to let go  (atomic: the holder
 *                   polls it at every tick without taking a lock; CPython's
 *                   gil_drop_request, read through eval_breaker)
 *   enabled         the emulation is on                 (atomic; written only
 *                   by gil_init, while no thread holds the GIL)
 *
 * Who signals what:
 *   cond         drop_gil signals it: "the GIL is free". Waiters in take_gil
 *                sleep on it for at most one switch interval at a time.
 *   switch_cond  take_gil broadcasts it when last_holder changes. A thread
 *                that dropped the GIL because it was asked to waits on it
 *                (FORCE_SWITCHING) until someone else has taken the GIL:
 *                otherwise, on a multicore machine, the dropper, still running,
 *                would nearly always take the GIL straight back before the
 *                waiter has even woken up, and the waiter would starve.
 *
 * The switching rule: a waiter sleeps on `cond` for one interval. If it times
 * out, the GIL is still locked and switch_number has not moved (nobody else
 * got a turn in between either), it sets drop_request and sleeps again. The
 * holder sees the request at its next gil_tick(), drops the GIL, waits on
 * switch_cond until another thread has taken it, then queues up like anyone
 * else. The next taker clears drop_request. A thread that blocks
 * (gil_begin_blocking) drops the GIL at once: nobody has to wait an interval;
 * if a drop was requested meanwhile, it too waits for the switch, as in
 * CPython. Only the final release (gil_release) never waits.
 *
 * Invariants: while locked, last_holder is the holder, and only the holder
 * drops, ticks or blocks (drop_gil checks it and dies otherwise, as CPython's
 * drop_gil stops with "Fatal Python error: drop_gil: GIL is not locked"). drop_request is set only
 * under the mutex while the GIL is locked, and every take clears it, so whenever the holder sees it
 * set, the waiter that set it is still in take_gil; that waiter (or another) will take the GIL,
 * which is why the forced-switching wait in drop_gil always ends. Lock order: mutex, then
 * switch_mutex.
 *
 * Limits: one GIL per process, as in CPython before 3.12's per-interpreter
 * GIL. Switches happen only where the emulated code calls gil_tick: a thread
 * that runs a long stretch of C without ticking holds everyone up, as a long
 * C call does in CPython. No priority for threads returning from I/O: they
 * wait an interval like anyone else. That is the convoy effect (bpo-7946),
 * and it is faithful.
 */
#include "gil.h"

#include <errno.h>
#include <stdatomic.h>

#include "check.h"
#include "clock.h"

static struct {
    atomic_bool enabled;
    double interval;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    pthread_mutex_t switch_mutex;
    pthread_cond_t switch_cond;
    bool locked;
    unsigned long switch_number;
    atomic_ulong last_holder; /* a thread_id(); 0: nobody yet */
    atomic_int drop_request;
} gil = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .switch_mutex = PTHREAD_MUTEX_INITIALIZER,
    .interval = GIL_DEFAULT_INTERVAL,
};

/* CPython identifies a thread by its PyThreadState pointer. Here each thread
 * draws a number on first use: a thread-local's address would do until a new
 * thread reused a finished one's TLS block and passed for its predecessor. */
static atomic_ulong next_thread_id = 1;
static _Thread_local unsigned long my_thread_id;

static unsigned long thread_id(void)
{
    if (my_thread_id == 0)
        my_thread_id = atomic_fetch_add(&next_thread_id, 1);
    return my_thread_id;
}

/* The condition variables are made once; gil_init may run again between runs. */
static pthread_once_t create_once = PTHREAD_ONCE_INIT;

static void create_gil(void)
{
    CHECK_PT(clock_cond_init(&gil.cond)); /* timed waits on CLOCK_MONOTONIC */
    CHECK_PT(pthread_cond_init(&gil.switch_cond, NULL));
}

int gil_init(bool on, double switch_interval)
{
    int err = 0;
    CHECK_PT(pthread_once(&create_once, create_gil));
    CHECK_PT(pthread_mutex_lock(&gil.mutex));
    if (gil.locked) {
        err = EBUSY;
    } else {
        atomic_store(&gil.enabled, on);
        gil.interval = switch_interval > 0 ? switch_interval : GIL_DEFAULT_INTERVAL;
        gil.switch_number = 0;
        atomic_store(&gil.last_holder, 0);
        atomic_store(&gil.drop_request, 0);
    }
    CHECK_PT(pthread_mutex_unlock(&gil.mutex));
    return err;
}

bool gil_enabled(void)
{
    return atomic_load_explicit(&gil.enabled, memory_order_relaxed);
}

static void take_gil(void)
{
    int saved_errno = errno; /* CPython's take_gil keeps errno for its caller */
    unsigned long me = thread_id();

    CHECK_PT(pthread_mutex_lock(&gil.mutex));
    while (gil.locked) {
        unsigned long saved_switch_number = gil.switch_number;
        struct timespec deadline = clock_deadline(gil.interval);
        int err = pthread_cond_timedwait(&gil.cond, &gil.mutex, &deadline);
        if (err != 0 && err != ETIMEDOUT)
            die_call("pthread_cond_timedwait(&gil.cond, &gil.mutex, &deadline)", __FILE__, __LINE__,
                     err);
        /* A whole interval passed and nobody got a turn: ask the holder. */
        if (err == ETIMEDOUT && gil.locked && gil.switch_number == saved_switch_number)
            atomic_store(&gil.drop_request, 1);
    }
    gil.locked = true;

    CHECK_PT(pthread_mutex_lock(&gil.switch_mutex));
    if (atomic_load(&gil.last_holder) != me) {
        atomic_store(&gil.last_holder, me);
        gil.switch_number++;
        CHECK_PT(pthread_cond_broadcast(&gil.switch_cond)); /* the dropper may go and queue */
    }
    CHECK_PT(pthread_mutex_unlock(&gil.switch_mutex));

    atomic_store(&gil.drop_request, 0); /* granted, whoever asked */
    CHECK_PT(pthread_mutex_unlock(&gil.mutex));
    errno = saved_errno;
}

static void drop_gil(bool forced_switch)
{
    int saved_errno = errno;
    unsigned long me = thread_id();

    CHECK_PT(pthread_mutex_lock(&gil.mutex));
    if (!gil.locked || atomic_load(&gil.last_holder) != me) /* a release without an acquire */
        die("drop_gil: GIL is not held by this thread");
    gil.locked = false;
    CHECK_PT(pthread_cond_signal(&gil.cond));
    CHECK_PT(pthread_mutex_unlock(&gil.mutex));

    if (forced_switch) {
        /* FORCE_SWITCHING: do not queue again until somebody else had a turn.
         * Checking and waiting under switch_mutex, which take_gil holds while
         * it changes last_holder, means the wake-up cannot slip by unseen. */
        CHECK_PT(pthread_mutex_lock(&gil.switch_mutex));
        while (atomic_load(&gil.last_holder) == me)
            CHECK_PT(pthread_cond_wait(&gil.switch_cond, &gil.switch_mutex));
        CHECK_PT(pthread_mutex_unlock(&gil.switch_mutex));
    }
    errno = saved_errno;
}

void gil_acquire(void)
{
    if (gil_enabled())
        take_gil();
}

void gil_release(void)
{
    if (gil_enabled())
        drop_gil(false);
}

/* The hot path: one relaxed load per "bytecode". drop_request is only ever
 * set when the GIL is on (gil_init clears it), so no need to ask first. */
void gil_tick(void)
{
    if (atomic_load_explicit(&gil.drop_request, memory_order_relaxed)) {
        drop_gil(true);
        take_gil();
    }
}

/* Py_BEGIN_ALLOW_THREADS. As in CPython's drop_gil, a thread that lets go
 * while a waiter has asked for the GIL waits until the waiter has it, so it
 * cannot take it straight back when its call returns at once. */
void gil_begin_blocking(void)
{
    if (gil_enabled())
        drop_gil(atomic_load(&gil.drop_request));
}

void gil_end_blocking(void)
{
    gil_acquire();
}

int gil_mutex_lock(pthread_mutex_t *mutex)
{
    if (!gil_enabled())
        return pthread_mutex_lock(mutex);
    /* threading.Lock.acquire: an uncontended lock is taken without letting
     * go of the GIL; only a real wait releases it. */
    int err = pthread_mutex_trylock(mutex);
    if (err != EBUSY)
        return err;
    GIL_ALLOW_THREADS(err = pthread_mutex_lock(mutex));
    return err;
}

unsigned long gil_switches(void)
{
    CHECK_PT(pthread_mutex_lock(&gil.mutex));
    unsigned long n = gil.switch_number;
    CHECK_PT(pthread_mutex_unlock(&gil.mutex));
    return n;
}

bool gil_held(void)
{
    if (!gil_enabled())
        return false;
    unsigned long me = thread_id();
    CHECK_PT(pthread_mutex_lock(&gil.mutex));
    bool held = gil.locked && atomic_load(&gil.last_holder) == me;
    CHECK_PT(pthread_mutex_unlock(&gil.mutex));
    return held;
}

bool gil_drop_requested(void)
{
    return atomic_load(&gil.drop_request) != 0;
}
