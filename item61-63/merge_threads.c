/* merge_threads: Item 62's starting point. A thread per input file tails it
 * (tail_file: poll, sleep on NoNewData, write) and every line goes into one
 * output file, written under a lock so that two lines never tear.
 *
 *   ./item61-63/merge_threads                  merged 50 lines from 5 inputs: OK
 *   ./item61-63/merge_threads --inputs 16 --lines 200 --split
 *   ./item61-63/merge_threads --output OUT --until-pid PID INPUT...   (tail -f --pid)
 *
 * Look for: run_threads below is the book's, line for line; the harness
 * (writers, confirm_merge) is in merge.c. Compare with merge_mixed (top-down
 * steps 1-3), merge_async (step 4) and merge_bottom_up.
 */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "merge.h"

/* The output, and the Lock that serialises writes to it. */
struct locked_output {
    pthread_mutex_t lock;
    int fd;
};

/* The book's write(data): with lock: output.write(data). */
static struct error *write_locked(void *ctx, const struct line *line)
{
    struct locked_output *output = ctx;
    CHECK_PT(pthread_mutex_lock(&output->lock));
    struct error *err = output_write(output->fd, line);
    CHECK_PT(pthread_mutex_unlock(&output->lock));
    return err;
}

/* Thread(target=tail_file, args=(handle, interval, write)). */
static void *tail_file_thread(void *arg)
{
    struct tail_args *args = arg;
    args->error = tail_file(args->handle, args->interval, args->write_func, args->ctx);
    return NULL;
}

static void run_threads(struct input_handle *handles, size_t n, double interval,
                        const char *output_path)
{
    struct locked_output output = {.fd = output_open(output_path)};
    CHECK_PT(pthread_mutex_init(&output.lock, NULL));

    pthread_t *threads = xcalloc(n, sizeof *threads);
    struct tail_args *args = xcalloc(n, sizeof *args);
    for (size_t i = 0; i < n; i++) {
        args[i] = (struct tail_args){&handles[i], interval, write_locked, &output, NULL};
        CHECK_PT(pthread_create(&threads[i], NULL, tail_file_thread, &args[i]));
    }

    /* A thread lives as long as its input: joining them all is the end. */
    for (size_t i = 0; i < n; i++)
        CHECK_PT(pthread_join(threads[i], NULL));

    output_close(output.fd);
    CHECK_PT(pthread_mutex_destroy(&output.lock));
    for (size_t i = 0; i < n; i++)
        if (args[i].error)
            error_die(args[i].error); /* what a tail thread raised, e.g. a failed write */
    free(args);
    free(threads);
}

int main(int argc, char **argv)
{
    struct merge_run run;
    merge_start(&run, argc, argv, "Item 62: merge log files with a thread per input.", NULL);
    run_threads(run.handles, run.n, run.interval, run.output_path);
    return merge_finish(&run);
}
