/* worker: the book's StoppableWorker, start_threads, stop_threads.
 * See worker.h for the API.
 *
 * Implementation notes: a worker shares nothing with other threads but its
 * two queues (which do their own locking) and its struct, whose counters only
 * the worker writes and others read after pthread_join, which orders them.
 */
#include "worker.h"

#include <stdlib.h>

#include "check.h"

/* StoppableWorker.run: `for item in self.in_queue: out_queue.put(func(item))`. */
static void *run(void *arg)
{
    struct stoppable_worker *w = arg;
    void *item;
    while (queue_get(w->in_queue, &item) == QUEUE_OK) {
        void *result = w->func(item, w->ctx);
        if (queue_put(w->out_queue, result) == QUEUE_OK)
            w->work_done++;
        else
            w->dropped++;
        /* After the put, as the book's `finally: self.task_done()` runs only
         * when the for loop comes back for the next item. Marking it done
         * even when the put failed keeps queue_join from hanging. */
        queue_task_done(w->in_queue);
    }
    return NULL; /* closed and drained */
}

int stoppable_worker_start(struct stoppable_worker *w, worker_fn *func, void *ctx,
                           struct queue *in_queue, struct queue *out_queue)
{
    *w = (struct stoppable_worker){
        .func = func, .ctx = ctx, .in_queue = in_queue, .out_queue = out_queue};
    return pthread_create(&w->thread, NULL, run, w);
}

void stoppable_worker_join(struct stoppable_worker *w)
{
    CHECK_PT(pthread_join(w->thread, NULL));
}

int start_threads(struct worker_threads *threads, size_t count, worker_fn *func, void *ctx,
                  struct queue *in_queue, struct queue *out_queue)
{
    threads->count = 0;
    threads->workers = xcalloc(count ? count : 1, sizeof *threads->workers);
    for (size_t i = 0; i < count; i++) {
        int err = stoppable_worker_start(&threads->workers[i], func, ctx, in_queue, out_queue);
        if (err != 0)
            return err;
        threads->count++;
    }
    return 0;
}

void stop_threads(struct queue *in_queue, struct worker_threads *threads)
{
    queue_close(in_queue);
    queue_join(in_queue);
    for (size_t i = 0; i < threads->count; i++)
        stoppable_worker_join(&threads->workers[i]);
    free(threads->workers);
    threads->workers = NULL;
    threads->count = 0;
}
