/* polling: the book's first pipeline, download -> resize -> upload, built on
 * a hand-rolled MyQueue (a deque under a lock whose get fails when empty)
 * and Worker threads that busy-poll it, sleeping 10 ms whenever it is empty.
 *
 *   ./item55/polling                          Processed 1000 items after polling N times
 *   ./item55/polling --time                   also wall and CPU time on stderr
 *   ./item55/polling --slow-stage resize      the queue in front of resize grows to
 *                                             (nearly) every item: its peak is printed
 *   ./item55/polling --slow-stage resize --items 5000    ... and grows with the input
 *
 * Look for: N is about 3 polls per item plus ~10 per worker for each 0.1 s
 * main spends waiting; the polls are pure waste. Compare with pipeline, which
 * blocks instead, can be stopped, and bounds its queues (--maxsize).
 *
 * Departure from the book: the book stops its workers by setting
 * `thread.in_queue = None` from the main thread, so that the worker's next
 * get raises AttributeError and the thread dies of it. Here each worker
 * checks a stop flag instead, set by main once every item is done.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "deque.h"
#include "stages.h"

/* ---- MyQueue: a deque under a lock ---- */

struct my_queue {
    pthread_mutex_t lock;
    struct deque items; /* guarded by lock */
};

static void my_queue_init(struct my_queue *q)
{
    CHECK_PT(pthread_mutex_init(&q->lock, NULL));
    deque_init(&q->items);
}

/* self.items.append(item): always succeeds, however long the deque gets. */
static void my_queue_put(struct my_queue *q, void *item)
{
    CHECK_PT(pthread_mutex_lock(&q->lock));
    deque_append(&q->items, item);
    CHECK_PT(pthread_mutex_unlock(&q->lock));
}

/* self.items.popleft(), which raises IndexError when empty: here, false. */
static bool my_queue_get(struct my_queue *q, void **item)
{
    CHECK_PT(pthread_mutex_lock(&q->lock));
    bool got = deque_popleft(&q->items, item);
    CHECK_PT(pthread_mutex_unlock(&q->lock));
    return got;
}

/* len(q.items), and the longest it has been, under the lock (the book reads
 * len unlocked). */
static size_t my_queue_len(struct my_queue *q, size_t *peak)
{
    CHECK_PT(pthread_mutex_lock(&q->lock));
    size_t n = q->items.count;
    if (peak)
        *peak = q->items.peak;
    CHECK_PT(pthread_mutex_unlock(&q->lock));
    return n;
}

static void my_queue_fini(struct my_queue *q)
{
    CHECK_PT(pthread_mutex_destroy(&q->lock));
    deque_fini(&q->items);
}

/* ---- the book's Worker(Thread): polls its in-queue ---- */

struct poller {
    pthread_t thread;
    void *(*func)(void *item, void *ctx);
    void *ctx;
    struct my_queue *in_queue, *out_queue;
    atomic_bool stop;             /* set by main: the C replacement for in_queue = None */
    long polled_count, work_done; /* written by the worker, read after join */
};

static void *run(void *arg)
{
    struct poller *self = arg;
    while (!atomic_load(&self->stop)) {
        self->polled_count++;
        void *item;
        if (!my_queue_get(self->in_queue, &item)) {
            clock_sleep(0.01); /* No work to do */
        } else {
            void *result = self->func(item, self->ctx);
            my_queue_put(self->out_queue, result);
            self->work_done++;
        }
    }
    return NULL;
}

/* ---- the pipeline ---- */

int main(int argc, char **argv)
{
    struct stage_options o;
    stage_parse_flags(argc, argv, "The book's busy-polling pipeline on a hand-rolled MyQueue.",
                      NULL, &o);

    struct my_queue queues[STAGES + 1]; /* download, resize, upload, done */
    for (int i = 0; i <= STAGES; i++)
        my_queue_init(&queues[i]);
    struct my_queue *download_queue = &queues[DOWNLOAD], *done_queue = &queues[STAGES];
    void *(*funcs[STAGES])(void *, void *) = {download, resize, upload};
    struct poller threads[STAGES];
    struct run_clock clock = run_clock_start();
    for (int s = 0; s < STAGES; s++) {
        threads[s] = (struct poller){.func = funcs[s], .ctx = &o};
        threads[s].in_queue = &queues[s];
        threads[s].out_queue = &queues[s + 1];
        CHECK_PT(pthread_create(&threads[s].thread, NULL, run, &threads[s]));
    }

    void **objects = make_objects(o.items);
    for (long i = 0; i < o.items; i++)
        my_queue_put(download_queue, objects[i]);

    /* The book's second busy wait: "Do something useful while waiting". */
    while (my_queue_len(done_queue, NULL) < (size_t)o.items)
        clock_sleep(0.1);

    for (int s = 0; s < STAGES; s++)
        atomic_store(&threads[s].stop, true);
    long polled = 0;
    for (int s = 0; s < STAGES; s++) {
        CHECK_PT(pthread_join(threads[s].thread, NULL));
        polled += threads[s].polled_count;
    }
    run_clock_report(&o, clock);

    printf("Processed %zu items after polling %ld times\n", my_queue_len(done_queue, NULL), polled);
    size_t peak = 0;
    if (o.slow != STAGES)
        my_queue_len(&queues[o.slow], &peak);
    stage_print_peak(&o, peak);
    free_objects(objects);
    for (int i = 0; i <= STAGES; i++)
        my_queue_fini(&queues[i]);
    return 0;
}
