/* pipeline: the book's ClosableQueue and StoppableWorker: the same
 * download -> resize -> upload pipeline as polling, now on blocking queues,
 * one worker per stage, each stage closed and joined in turn.
 *
 *   ./item55/pipeline                          1000 items finished
 *   ./item55/pipeline --time                   wall and CPU time on stderr (compare polling --time)
 *   ./item55/pipeline --slow-stage resize      the queue in front of resize grows (peak printed)
 *   ./item55/pipeline --slow-stage resize --maxsize 10
 *                                              ... unless the queues are bounded
 *   ./item55/pipeline --sentinel               close the book's way, with a sentinel item
 *
 * Look for: no polling, no 0.1 s wait in main (join returns when the work is
 * done), and with --maxsize the peak never passes the bound: download simply
 * blocks in put until resize catches up. done_queue stays unbounded, as in the
 * book: nothing reads it until the end, so a bound there would deadlock.
 *
 * How the book closes a queue, and why common/queue does not:
 *
 *     class ClosableQueue(Queue):          def __iter__(self):
 *         SENTINEL = object()                  while True:
 *         def close(self):                         item = self.get()
 *             self.put(self.SENTINEL)              try:
 *                                                      if item is self.SENTINEL:
 *                                                          return
 *                                                      yield item
 *                                                  finally:
 *                                                      self.task_done()
 *
 * The sentinel is an item like any other, so: it stops one reader only (with
 * N workers, stop_threads must put N of them); close blocks if the queue is
 * full, and anything put after it is never read; it counts in qsize and join
 * (hence the task_done in `finally`); and a reader that stops early leaves
 * the rest behind (Item 58's erratum: a sentinel left in a queue). common/
 * queue keeps a `closed` flag instead, as Python 3.13's Queue.shutdown does:
 * close never blocks, wakes every reader, and put after it fails loudly.
 * --sentinel runs this file's sentinel_worker, a line-for-line port of the
 * book's loop, to show both end the same way here.
 */
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "queue.h"
#include "stages.h"
#include "worker.h"

static char sentinel; /* ClosableQueue.SENTINEL: an address no item has */

/* --sentinel: ClosableQueue.close, the book's way. */
static void close_with_sentinel(struct queue *q)
{
    if (queue_put(q, &sentinel) != QUEUE_OK)
        die("put(SENTINEL) failed");
}

/* --sentinel: StoppableWorker.run over ClosableQueue.__iter__. */
static void *sentinel_worker(void *arg)
{
    struct stoppable_worker *self = arg;
    for (;;) {
        void *item;
        if (queue_get(self->in_queue, &item) != QUEUE_OK)
            die("get failed");
        if (item == &sentinel) {
            queue_task_done(self->in_queue); /* the `finally` runs on return too */
            return NULL;
        }
        if (queue_put(self->out_queue, self->func(item, self->ctx)) != QUEUE_OK)
            die("put failed");
        queue_task_done(self->in_queue);
    }
}

/* Close q the chosen way, then wait until everything put on it is done. */
static void close_and_join(struct queue *q, bool with_sentinel)
{
    if (with_sentinel)
        close_with_sentinel(q);
    else
        queue_close(q);
    queue_join(q);
}

static void start_worker(struct stoppable_worker *w, worker_fn *func, void *ctx, struct queue *in,
                         struct queue *out, bool with_sentinel)
{
    if (!with_sentinel) {
        CHECK_PT(stoppable_worker_start(w, func, ctx, in, out));
        return;
    }
    *w = (struct stoppable_worker){.func = func, .ctx = ctx, .in_queue = in, .out_queue = out};
    CHECK_PT(pthread_create(&w->thread, NULL, sentinel_worker, w));
}

int main(int argc, char **argv)
{
    struct stage_options o;
    long maxsize = 0;
    bool with_sentinel = false;
    const struct cli_flag flags[] = {
        {"--maxsize", CLI_INT, &maxsize, 0, 1000000, "N",
         "bound the queues in front of the stages (0: unbounded, the book's)"},
        {"--sentinel", CLI_SWITCH, &with_sentinel, 0, 0, NULL,
         "close queues the book's way, with a sentinel item"},
        {0},
    };
    stage_parse_flags(argc, argv, "The book's ClosableQueue + StoppableWorker pipeline.", flags,
                      &o);

    struct queue *queues[STAGES + 1]; /* download, resize, upload; done (unbounded) */
    for (int i = 0; i <= STAGES; i++)
        queues[i] = queue_create(i < STAGES ? (size_t)maxsize : 0);
    struct queue *download_queue = queues[DOWNLOAD], *done_queue = queues[STAGES];
    worker_fn *funcs[STAGES] = {download, resize, upload};
    struct stoppable_worker threads[STAGES];
    struct run_clock clock = run_clock_start();
    for (int s = 0; s < STAGES; s++)
        start_worker(&threads[s], funcs[s], &o, queues[s], queues[s + 1], with_sentinel);

    void **objects = make_objects(o.items);
    for (long i = 0; i < o.items; i++)
        if (queue_put(download_queue, objects[i]) != QUEUE_OK)
            die("put failed");

    /* download_queue.close(); download_queue.join(); resize_queue.close(); ... */
    for (int s = 0; s < STAGES; s++)
        close_and_join(queues[s], with_sentinel);
    printf("%zu items finished\n", queue_qsize(done_queue));

    for (int s = 0; s < STAGES; s++)
        stoppable_worker_join(&threads[s]);
    run_clock_report(&o, clock);
    if (o.slow != STAGES)
        stage_print_peak(&o, queue_peak_qsize(queues[o.slow]));
    free_objects(objects);
    for (int i = 0; i <= STAGES; i++)
        queue_destroy(queues[i]);
    return 0;
}
