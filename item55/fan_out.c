/* fan_out: the book's pipeline with several StoppableWorkers per stage
 * (3 download, 4 resize, 5 upload), started with start_threads and stopped
 * stage by stage with stop_threads.
 *
 *   ./item55/fan_out                          1000 items finished
 *   ./item55/fan_out --work-us 1000 --time    each stage is 1 ms of I/O per item:
 *   ./item55/pipeline --work-us 1000 --time   compare the times (about 3x)
 *   ./item55/fan_out --download-threads 1 --resize-threads 1 --upload-threads 1 \
 *       --work-us 1000 --time                 one thread per stage: as slow as pipeline
 *
 * Look for: more threads per stage overlap more of the stages' I/O, so the
 * slowest stage (the one with the fewest threads) sets the pace. The book's
 * stop_threads puts one sentinel per thread; here one close wakes them all.
 */
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "queue.h"
#include "stages.h"
#include "worker.h"

int main(int argc, char **argv)
{
    struct stage_options o;
    long counts[STAGES] = {3, 4, 5}; /* the book's */
    long maxsize = 0;
    const struct cli_flag flags[] = {
        {"--download-threads", CLI_INT, &counts[DOWNLOAD], 1, 1000, "N", "download workers"},
        {"--resize-threads", CLI_INT, &counts[RESIZE], 1, 1000, "N", "resize workers"},
        {"--upload-threads", CLI_INT, &counts[UPLOAD], 1, 1000, "N", "upload workers"},
        {"--maxsize", CLI_INT, &maxsize, 0, 1000000, "N",
         "bound the queues in front of the stages (0: unbounded, the book's)"},
        {0},
    };
    stage_parse_flags(argc, argv, "The book's fan-out pipeline: start_threads and stop_threads.",
                      flags, &o);

    struct queue *queues[STAGES + 1]; /* download, resize, upload; done (unbounded) */
    for (int i = 0; i <= STAGES; i++)
        queues[i] = queue_create(i < STAGES ? (size_t)maxsize : 0);
    worker_fn *funcs[STAGES] = {download, resize, upload};
    struct worker_threads threads[STAGES];
    struct run_clock clock = run_clock_start();
    for (int s = 0; s < STAGES; s++)
        CHECK_PT(
            start_threads(&threads[s], (size_t)counts[s], funcs[s], &o, queues[s], queues[s + 1]));

    void **objects = make_objects(o.items);
    for (long i = 0; i < o.items; i++)
        if (queue_put(queues[DOWNLOAD], objects[i]) != QUEUE_OK)
            die("put failed");

    for (int s = 0; s < STAGES; s++)
        stop_threads(queues[s], &threads[s]);
    printf("%zu items finished\n", queue_qsize(queues[STAGES]));

    run_clock_report(&o, clock);
    if (o.slow != STAGES)
        stage_print_peak(&o, queue_peak_qsize(queues[o.slow]));
    free_objects(objects);
    for (int i = 0; i <= STAGES; i++)
        queue_destroy(queues[i]);
    return 0;
}
