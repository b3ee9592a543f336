/* merge_bottom_up: Item 62, bottom-up steps 1-2. The leaf, tail_file, now
 * only wraps the coroutine tail_async (merge.c): each tailer thread makes an
 * event loop of its own and runs tail_async on it until it completes.
 * run_threads above it is unchanged: still a thread per input and a lock.
 *
 *   ./item61-63/merge_bottom_up                merged 50 lines from 5 inputs: OK
 *   ./item61-63/merge_bottom_up --output OUT --until-pid PID INPUT...
 *
 * Look for: the same run_threads as merge_threads; only the thread body
 * changed. Steps 3-4 (run_threads becomes a coroutine, the wrapper goes)
 * arrive where the top-down port did: merge_async.
 */
#include <pthread.h>
#include <stdlib.h>

#include "aio.h"
#include "check.h"
#include "merge.h"

struct locked_output {
    pthread_mutex_t lock;
    int fd;
};

static struct error *write_locked(void *ctx, const struct line *line)
{
    struct locked_output *output = ctx;
    CHECK_PT(pthread_mutex_lock(&output->lock));
    struct error *err = output_write(output->fd, line);
    CHECK_PT(pthread_mutex_unlock(&output->lock));
    return err;
}

/* The book's new tail_file, a drop-in replacement for the blocking one (C
 * cannot redefine tail_file, so it has a name of its own). The book wraps
 * write_func in `async def write_async`, because only a coroutine can be
 * awaited; a C task may call a plain function, so write_func goes in as is. */
static struct error *tail_file_on_loop(struct input_handle *handle, double interval,
                                       write_fn *write_func, void *ctx)
{
    struct aio_loop *loop;
    struct error *err = aio_loop_create(&loop); /* asyncio.new_event_loop() */
    if (err)
        return err;
    struct tail_args args = {handle, interval, write_func, ctx, NULL};
    err = aio_loop_run_until_complete(loop, tail_async, &args, NULL);
    aio_loop_close(loop); /* the book never closes its loops */
    return err;
}

static void *tail_file_thread(void *arg)
{
    struct tail_args *args = arg;
    args->error = tail_file_on_loop(args->handle, args->interval, args->write_func, args->ctx);
    return NULL;
}

/* run_threads, unchanged from merge_threads. */
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
    for (size_t i = 0; i < n; i++)
        CHECK_PT(pthread_join(threads[i], NULL));

    output_close(output.fd);
    CHECK_PT(pthread_mutex_destroy(&output.lock));
    for (size_t i = 0; i < n; i++)
        if (args[i].error)
            error_die(args[i].error);
    free(args);
    free(threads);
}

int main(int argc, char **argv)
{
    struct merge_run run;
    merge_start(&run, argc, argv,
                "Item 62: threads that each run a coroutine on a loop of their own.", NULL);
    run_threads(run.handles, run.n, run.interval, run.output_path);
    return merge_finish(&run);
}
