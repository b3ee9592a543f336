/* queue: queue.Queue with close (3.13's shutdown). See queue.h for the API.
 *
 * Implementation notes
 *
 *   One mutex guards every field below it in struct queue. Four condition
 *   variables, each waited on with that mutex, each for one predicate:
 *
 *     not_empty   getters wait while  count == 0 && !closed
 *     not_full    putters wait while  maxsize && count == maxsize && !closed
 *     all_done    joiners wait while  unfinished > 0
 *     waiters_in  watchers wait while waiting_getters < n (queue_wait_for_getters)
 *                 or waiting_putters < n (queue_wait_for_putters)
 *
 *   Who signals what, and why signal or broadcast:
 *
 *     put       signal not_empty: one new item can satisfy one getter. Every
 *               getter waits for the same predicate, so any one of them will
 *               do, and waking more would only send the rest back to sleep.
 *     get       signal not_full: one freed slot can satisfy one putter; same
 *               reasoning.
 *     task_done broadcast all_done when unfinished reaches 0: join has no
 *               item to hand out, so every joiner may return at once.
 *     close     broadcast not_empty and not_full: every blocked getter and
 *               putter must wake to see `closed` (a getter still drains the
 *               items left; a putter fails).
 *     a getter  broadcast waiters_in when it starts to wait, if anyone
 *     or putter watches: watchers may wait for different counts, so each must
 *     starting  re-check its own. Only demonstrations and tests watch, so this
 *     to wait   costs a put or get one test of waiting_watchers.
 *
 *   Why a signal is never lost: the state change and the signal happen under
 *   the mutex, and a waiter re-checks its predicate under the same mutex before
 *   sleeping, so it either sees the change or is already asleep when the
 *   signal comes. Each put signals once per item while a getter is counted as
 *   waiting (waiting_getters counts a woken getter until it has run again, so a
 *   second put signals a second getter, never the same one twice). A getter
 *   woken for an item that another thread took first finds the queue empty and
 *   sleeps again; the item was not lost, someone else has it.
 *
 *   The waiter counts (waiting_getters, waiting_putters, waiting_joiners,
 *   waiting_watchers) let a caller skip pthread_cond_signal/broadcast when no
 *   one waits; they also answer queue_waiting_getters.
 *
 *   put and get signal after releasing the mutex: a thread woken while the
 *   signaller still holds the mutex would only block again on the mutex (two
 *   context switches instead of one on the hot path). That is safe because
 *   the woken thread re-checks its predicate under the mutex, and because a
 *   queue must not be destroyed while another thread is still inside a call
 *   on it (queue.h). task_done and close, which run rarely, broadcast while
 *   holding the mutex: `queue_join(q); queue_destroy(q);` is a natural thing
 *   to write, and a joiner could otherwise return (on a spurious wake-up) and
 *   free the condvar before task_done's broadcast touched it.
 *
 *   Storage: a ring buffer of capacity slots, 16 at first (maxsize if that
 *   is smaller), doubled when a put finds it full, never beyond maxsize: so
 *   memory grows with the backlog, like a deque, and Queue(1 << 61) costs
 *   what Queue(16) does until it holds that much. It never shrinks.
 *
 *   Invariants (under the mutex): count <= capacity; maxsize == 0 or
 *   count <= capacity <= maxsize; unfinished >= count (every queued item is
 *   unfinished, and so may be every item taken but not yet marked done);
 *   once closed is true it stays true.
 *
 *   Limits: no timeouts (Python's block=True, timeout=None only); close is
 *   shutdown(immediate=False): items already queued are still delivered; join
 *   is not affected by close. waiters_in is broadcast only when a getter or
 *   putter starts to wait, so a watcher that wakes after some of them were
 *   woken again sees the lower count and sleeps on: queue.h says to watch only
 *   threads that nobody else can wake.
 */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "check.h"

/* A queue starts with this many slots (fewer if maxsize is smaller), then
 * doubles its ring as items arrive, up to maxsize. */
#define INITIAL_CAPACITY 16

struct queue {
    pthread_mutex_t mutex;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    pthread_cond_t all_done;
    pthread_cond_t waiters_in;
    size_t maxsize;          /* 0: unbounded; never changes */
    void **ring;             /* guarded by mutex, like every field below */
    size_t capacity;         /* slots in ring */
    size_t head;             /* index of the oldest item */
    size_t count;            /* items in the ring: qsize() */
    size_t peak;             /* the largest count ever seen */
    size_t unfinished;       /* put minus task_done: what join waits for */
    bool closed;             /* queue_close was called */
    size_t waiting_getters;  /* threads inside queue_get's wait */
    size_t waiting_putters;  /* threads inside queue_put's wait */
    size_t waiting_joiners;  /* threads inside queue_join's wait */
    size_t waiting_watchers; /* threads inside queue_wait_for_getters/putters */
};

struct queue *queue_create(size_t maxsize)
{
    struct queue *q = xcalloc(1, sizeof *q);
    q->maxsize = maxsize;
    /* Never maxsize slots up front: Queue(1 << 61) holds one item as cheaply
     * as Queue(0), and Python's deque does not reserve them either. */
    q->capacity = maxsize && maxsize < INITIAL_CAPACITY ? maxsize : INITIAL_CAPACITY;
    q->ring = xcalloc(q->capacity, sizeof *q->ring);
    CHECK_PT(pthread_mutex_init(&q->mutex, NULL));
    CHECK_PT(pthread_cond_init(&q->not_empty, NULL));
    CHECK_PT(pthread_cond_init(&q->not_full, NULL));
    CHECK_PT(pthread_cond_init(&q->all_done, NULL));
    CHECK_PT(pthread_cond_init(&q->waiters_in, NULL));
    return q;
}

void queue_destroy(struct queue *q)
{
    if (!q)
        return;
    CHECK_PT(pthread_mutex_destroy(&q->mutex));
    CHECK_PT(pthread_cond_destroy(&q->not_empty));
    CHECK_PT(pthread_cond_destroy(&q->not_full));
    CHECK_PT(pthread_cond_destroy(&q->all_done));
    CHECK_PT(pthread_cond_destroy(&q->waiters_in));
    free(q->ring);
    free(q);
}

/* ---- the ring (caller holds the mutex) ---- */

static bool is_full(const struct queue *q)
{
    return q->maxsize != 0 && q->count == q->maxsize;
}

/* Double the ring (a bounded queue's up to maxsize), unrolling it so the
 * oldest item is at 0. */
static void grow(struct queue *q)
{
    size_t capacity = q->capacity * 2;
    if (q->maxsize && capacity > q->maxsize)
        capacity = q->maxsize;
    void **ring = xcalloc(capacity, sizeof *ring);
    for (size_t i = 0; i < q->count; i++)
        ring[i] = q->ring[(q->head + i) % q->capacity];
    free(q->ring);
    q->ring = ring;
    q->capacity = capacity;
    q->head = 0;
}

static void push(struct queue *q, void *item)
{
    if (q->count == q->capacity)
        grow(q); /* a full bounded queue never gets here: put checked is_full */
    q->ring[(q->head + q->count) % q->capacity] = item;
    q->count++;
    q->unfinished++;
    if (q->count > q->peak)
        q->peak = q->count;
}

static void *pop(struct queue *q)
{
    void *item = q->ring[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    return item;
}

/* ---- put and get ---- */

/* Add item unless the queue is closed or (when !block) full. */
static enum queue_status put(struct queue *q, void *item, bool block)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    while (block && is_full(q) && !q->closed) {
        q->waiting_putters++;
        if (q->waiting_watchers > 0)
            CHECK_PT(pthread_cond_broadcast(&q->waiters_in));
        CHECK_PT(pthread_cond_wait(&q->not_full, &q->mutex));
        q->waiting_putters--;
    }
    enum queue_status status = QUEUE_OK;
    bool wake_getter = false;
    if (q->closed)
        status = QUEUE_CLOSED;
    else if (is_full(q))
        status = QUEUE_FULL;
    else {
        push(q, item);
        wake_getter = q->waiting_getters > 0;
    }
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    if (wake_getter)
        CHECK_PT(pthread_cond_signal(&q->not_empty));
    return status;
}

/* Take the oldest item; when empty, wait (block) or report EMPTY, and once
 * closed and drained report CLOSED. */
static enum queue_status get(struct queue *q, void **item, bool block)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    while (block && q->count == 0 && !q->closed) {
        q->waiting_getters++;
        if (q->waiting_watchers > 0)
            CHECK_PT(pthread_cond_broadcast(&q->waiters_in));
        CHECK_PT(pthread_cond_wait(&q->not_empty, &q->mutex));
        q->waiting_getters--;
    }
    enum queue_status status = QUEUE_OK;
    bool wake_putter = false;
    if (q->count > 0) {
        *item = pop(q);
        wake_putter = q->waiting_putters > 0;
    } else
        status = q->closed ? QUEUE_CLOSED : QUEUE_EMPTY;
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    if (wake_putter)
        CHECK_PT(pthread_cond_signal(&q->not_full));
    return status;
}

enum queue_status queue_put(struct queue *q, void *item)
{
    return put(q, item, true);
}

enum queue_status queue_put_nowait(struct queue *q, void *item)
{
    return put(q, item, false);
}

enum queue_status queue_get(struct queue *q, void **item)
{
    return get(q, item, true);
}

enum queue_status queue_get_nowait(struct queue *q, void **item)
{
    return get(q, item, false);
}

size_t queue_qsize(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    size_t count = q->count;
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    return count;
}

size_t queue_peak_qsize(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    size_t peak = q->peak;
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    return peak;
}

/* ---- task_done and join ---- */

enum queue_status queue_task_done(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    enum queue_status status = QUEUE_OK;
    if (q->unfinished == 0)
        status = QUEUE_TOO_MANY_DONE; /* Python: ValueError('task_done() called too many times') */
    else if (--q->unfinished == 0 && q->waiting_joiners > 0)
        CHECK_PT(pthread_cond_broadcast(&q->all_done)); /* under the mutex: see the notes */
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    return status;
}

void queue_join(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    while (q->unfinished > 0) {
        q->waiting_joiners++;
        CHECK_PT(pthread_cond_wait(&q->all_done, &q->mutex));
        q->waiting_joiners--;
    }
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
}

/* ---- close ---- */

void queue_close(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    q->closed = true;
    /* Unconditional: cheap when no one waits, and close happens once. */
    CHECK_PT(pthread_cond_broadcast(&q->not_empty));
    CHECK_PT(pthread_cond_broadcast(&q->not_full));
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
}

bool queue_closed(struct queue *q)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    bool closed = q->closed;
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    return closed;
}

/* ---- watching the waiters ---- */

static size_t read_count(struct queue *q, const size_t *count)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    size_t n = *count;
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
    return n;
}

static void wait_for_count(struct queue *q, const size_t *count, size_t n)
{
    CHECK_PT(pthread_mutex_lock(&q->mutex));
    while (*count < n) {
        q->waiting_watchers++;
        CHECK_PT(pthread_cond_wait(&q->waiters_in, &q->mutex));
        q->waiting_watchers--;
    }
    CHECK_PT(pthread_mutex_unlock(&q->mutex));
}

size_t queue_waiting_getters(struct queue *q)
{
    return read_count(q, &q->waiting_getters);
}

size_t queue_waiting_putters(struct queue *q)
{
    return read_count(q, &q->waiting_putters);
}

void queue_wait_for_getters(struct queue *q, size_t n)
{
    wait_for_count(q, &q->waiting_getters, n);
}

void queue_wait_for_putters(struct queue *q, size_t n)
{
    wait_for_count(q, &q->waiting_putters, n);
}

const char *queue_strstatus(enum queue_status status)
{
    switch (status) {
    case QUEUE_OK:
        return "ok";
    case QUEUE_EMPTY:
        return "queue is empty";
    case QUEUE_FULL:
        return "queue is full";
    case QUEUE_CLOSED:
        return "queue is closed";
    case QUEUE_TOO_MANY_DONE:
        return "task_done() called too many times";
    }
    return "unknown queue status";
}
