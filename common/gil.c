/* gil: CPython's global interpreter lock, emulated. See gil.h for the API.
 *
 * Implementation notes (after CPython's Python/ceval_gil.c)
 *
 * State, all in `gil` below:
 *   locked          whether some thread holds the GIL            (mutex)
 *   last_holder     the thread that took it last                 (mutex; read
 *                   under switch_mutex too, so it is atomic)
 *   switch_number   how many times it changed hands              (mutex)
 *   drop_request    a waiter asks the holder to let go           (atomic: the
 *                   holder polls it at every tick without a lock)
 *
 * Who signals what:
 *   cond         signalled by drop_gil: "the GIL is free"; waiters in take_gil
 *   switch_cond  signalled by take_gil: "a new holder took it"; the thread that
 *                dropped on request waits here (FORCE_SWITCHING), so that it
 *                cannot grab the GIL straight back before the waiter, which
 *                on a multicore machine it otherwise nearly always would.
 *
 * The switching rule: a waiter sleeps on `cond` for one switch interval. If it
 * times out and switch_number has not moved (nobody else got a turn either),
 * it sets drop_request. The holder sees the request at its next gil_tick(),
 * drops the GIL, waits until another thread has taken it, then queues up again.
 * A thread that blocks (gil_begin_blocking) simply drops the GIL: nobody has
 * to wait an interval for it.
 *
 * Invariants: at most one thread has locked set by it; drop_request is only
 * set while the GIL is locked by another thread, and is cleared by the next
 * taker, so a waiter exists whenever it is set (which is why the dropper's wait
 * on switch_cond always ends).
 *
 * Limits: one global GIL per process, as in CPython before 3.12. No priority
 * for I/O threads: that is the convoy effect, and it is faithful.
 */
#include "gil.h"

#include <errno.h>
#include <stdatomic.h>

#include "clock.h"

static struct {
    bool enabled;
    double interval;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    pthread_mutex_t switch_mutex;
    pthread_cond_t switch_cond;
    bool locked;
    _Atomic(const void *) last_holder;
    unsigned long switch_number;
    atomic_int drop_request;
} gil = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .switch_mutex = PTHREAD_MUTEX_INITIALIZER,
};

/* Each thread's identity: the address of its own copy of this variable. */
static _Thread_local char me_marker;
#define ME ((const void *)&me_marker)

int gil_init(bool on, double switch_interval)
{
    gil.enabled = on;
    gil.interval = switch_interval > 0 ? switch_interval : GIL_DEFAULT_INTERVAL;
    int err = clock_cond_init(&gil.cond);
    if (!err)
        err = pthread_cond_init(&gil.switch_cond, NULL);
    return err;
}

bool gil_enabled(void) { return gil.enabled; }

static void take_gil(void)
{
    pthread_mutex_lock(&gil.mutex);
    while (gil.locked) {
        unsigned long saved = gil.switch_number;
        struct timespec deadline = clock_deadline(gil.interval);
        int err = pthread_cond_timedwait(&gil.cond, &gil.mutex, &deadline);
        /* A whole interval passed and nobody switched: ask the holder to let go. */
        if (err == ETIMEDOUT && gil.locked && gil.switch_number == saved)
            atomic_store(&gil.drop_request, 1);
    }
    gil.locked = true;
    if (atomic_load(&gil.last_holder) != ME) {
        pthread_mutex_lock(&gil.switch_mutex);
        atomic_store(&gil.last_holder, ME);
        pthread_cond_signal(&gil.switch_cond); /* wakes a forced-switching dropper */
        pthread_mutex_unlock(&gil.switch_mutex);
        gil.switch_number++;
    }
    atomic_store(&gil.drop_request, 0); /* whoever asked has got it now */
    pthread_mutex_unlock(&gil.mutex);
}

static void drop_gil(bool forced_switch)
{
    pthread_mutex_lock(&gil.mutex);
    gil.locked = false;
    pthread_cond_signal(&gil.cond);
    pthread_mutex_unlock(&gil.mutex);
    if (!forced_switch)
        return;
    /* FORCE_SWITCHING: do not come back until somebody else had a turn. */
    pthread_mutex_lock(&gil.switch_mutex);
    while (atomic_load(&gil.last_holder) == ME)
        pthread_cond_wait(&gil.switch_cond, &gil.switch_mutex);
    pthread_mutex_unlock(&gil.switch_mutex);
}

void gil_acquire(void)
{
    if (gil.enabled)
        take_gil();
}

void gil_release(void)
{
    if (gil.enabled)
        drop_gil(false);
}

void gil_tick(void)
{
    if (gil.enabled && atomic_load_explicit(&gil.drop_request, memory_order_relaxed)) {
        drop_gil(true);
        take_gil();
    }
}

void gil_begin_blocking(void) { gil_release(); }

void gil_end_blocking(void) { gil_acquire(); }

int gil_mutex_lock(pthread_mutex_t *mutex)
{
    if (!gil.enabled)
        return pthread_mutex_lock(mutex);
    int err = pthread_mutex_trylock(mutex);
    if (err != EBUSY)
        return err;
    gil_begin_blocking();
    err = pthread_mutex_lock(mutex);
    gil_end_blocking();
    return err;
}

unsigned long gil_switches(void)
{
    pthread_mutex_lock(&gil.mutex);
    unsigned long n = gil.switch_number;
    pthread_mutex_unlock(&gil.mutex);
    return n;
}
