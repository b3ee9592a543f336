/* worker: the book's StoppableWorker, start_threads and stop_threads
 * (Item 55), over common/queue. Item 58 builds its pipeline on them.
 *
 *   Python                                     C
 *   ----------------------------------------   ------------------------------------------
 *   StoppableWorker(func, in_queue, out_queue) struct stoppable_worker w;
 *     .start()                                   stoppable_worker_start(&w, func, ctx,
 *                                                                       in_queue, out_queue)
 *   for item in in_queue:                      the worker's loop: queue_get until QUEUE_CLOSED
 *       out_queue.put(func(item))                queue_put(out_queue, func(item, ctx)),
 *       (task_done in __iter__'s finally)        then queue_task_done(in_queue)
 *   thread.join()                              stoppable_worker_join(&w)
 *   start_threads(count, func, in_q, out_q)    start_threads(&threads, count, func, ctx,
 *                                                            in_q, out_q)
 *   stop_threads(closable_queue, threads)      stop_threads(in_q, &threads)
 *
 * func takes an item and returns the result to pass on; both are void *, so a
 * result can carry anything, an error included (Item 58 puts a struct that
 * holds either the new cell state or the error). ctx is handed to every call
 * unchanged (NULL if func needs nothing). func runs on the worker threads, so
 * whatever it touches through ctx must be safe to share between them.
 *
 * The worker marks each item done (queue_task_done on in_queue) only after
 * its result is on out_queue, as the book's generator does, so once
 * queue_join(in_queue) returns every result is in out_queue. A worker stops
 * when queue_get reports the in-queue closed and drained: closing replaces the
 * book's sentinel items (see item55/pipeline.c).
 */
#ifndef COMMON_WORKER_H
#define COMMON_WORKER_H

#include <pthread.h>
#include <stddef.h>

#include "queue.h"

typedef void *worker_fn(void *item, void *ctx);

struct stoppable_worker {
    worker_fn *func;
    void *ctx;
    struct queue *in_queue;
    struct queue *out_queue;
    pthread_t thread;
    size_t work_done; /* results put on out_queue; read it after the join */
    size_t dropped;   /* results lost because out_queue was closed (a caller bug) */
};

/* Start one worker thread. Returns 0, or the error number of pthread_create. */
int stoppable_worker_start(struct stoppable_worker *w, worker_fn *func, void *ctx,
                           struct queue *in_queue, struct queue *out_queue);
/* Wait for the worker to exit: it does once in_queue is closed and drained.
 * A join that fails means the program is broken: it dies (common/check). */
void stoppable_worker_join(struct stoppable_worker *w);

struct worker_threads {
    size_t count; /* workers running */
    struct stoppable_worker *workers;
};

/* Start count workers on the same queues. Returns 0, or the error number of
 * the pthread_create that failed; then threads->count says how many did
 * start, and stop_threads still stops them. */
int start_threads(struct worker_threads *threads, size_t count, worker_fn *func, void *ctx,
                  struct queue *in_queue, struct queue *out_queue);
/* The book's stop_threads: close in_queue (one close wakes every worker,
 * where the book puts one sentinel per thread), wait until every item put on
 * it is done (queue_join), join the threads and free threads->workers. */
void stop_threads(struct queue *in_queue, struct worker_threads *threads);

#endif
