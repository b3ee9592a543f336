/* cell_queue: see cell_queue.h. */
#include "cell_queue.h"

#include <errno.h>

#include "check.h"

void put_item(struct queue *q, struct cell_item *item)
{
    enum queue_status status = queue_put(q, item);
    if (status != QUEUE_OK)
        die("queue_put: %s", queue_strstatus(status));
}

/* The book closes out_queue and iterates until the close, then raises at the
 * first error, leaving the rest (and its stop marker) queued. queue_close is
 * final here (Python 3.13's shutdown), and in_queue.join() has already made
 * every result arrive, so we take exactly `cells` items, and after an error
 * keep taking them. */
struct error *fan_in(struct queue *out_queue, long cells, struct setter set)
{
    struct error *raised = NULL;
    for (long i = 0; i < cells; i++) {
        void *result;
        enum queue_status status = queue_get(out_queue, &result);
        if (status != QUEUE_OK)
            die("queue_get: %s", queue_strstatus(status));
        struct cell_item *item = result;
        if (item->error && !raised)
            raised = error_from(item->error, "SimulationError", "(%ld, %ld)", item->y, item->x);
        else if (item->error)
            error_free(item->error);
        else if (!raised)
            set_state(set, item->y, item->x, item->next_state);
        item->error = NULL;
    }
    return raised;
}

void start_workers(struct worker_threads *threads, long count, worker_fn *func,
                   struct queue *in_queue, struct queue *out_queue)
{
    int err = start_threads(threads, (size_t)count, func, NULL, in_queue, out_queue);
    if (err) { /* die() ends the process, and with it the workers that did start */
        errno = err;
        die_errno("start_threads: started %zu of %ld workers", threads->count, count);
    }
}
