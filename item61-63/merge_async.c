/* merge_async: Item 62, top-down step 4. tail_file became the coroutine
 * tail_async (merge.c): readline still runs in the executor, NoNewData
 * awaits aio_sleep, and each line awaits write_func. What is left of the
 * entry point, run_tasks, is a task per input and a gather.
 *
 *   ./item61-63/merge_async                    merged 50 lines from 5 inputs: OK
 *   AIO_DEBUG=1 ./item61-63/merge_async --blocking-write 0.2
 *                                              the loop is held by every write
 *   ./item61-63/merge_async --output OUT --until-pid PID INPUT...
 *
 * Look for: no lock and no run_coroutine_threadsafe: every write runs on the
 * loop's own thread, one at a time. That is also the weakness Item 63 fixes
 * (merge_write_thread): the write is a system call made on the loop.
 */
#include <stdlib.h>

#include "aio.h"
#include "check.h"
#include "merge.h"

/* async def write_async(data): output.write(data). It runs inside the
 * tail_async task that awaits it, on the loop's thread. */
static struct error *write_async(void *ctx, const struct line *line)
{
    const int *output = ctx;
    return output_write(*output, line);
}

struct run_tasks_args {
    struct input_handle *handles;
    size_t n;
    double interval;
    const char *output_path;
};

AIO_COROUTINE(run_tasks)
static struct error *run_tasks(void *arg, void **result)
{
    struct run_tasks_args *a = arg;
    (void)result;
    int output = output_open(a->output_path); /* with open(output_path, 'wb') as output */

    struct aio_task **tasks = xcalloc(a->n, sizeof *tasks);
    struct tail_args *args = xcalloc(a->n, sizeof *args);
    struct error *err = NULL;
    size_t started = 0;
    for (; started < a->n; started++) {
        args[started] =
            (struct tail_args){&a->handles[started], a->interval, write_async, &output, NULL};
        if ((err = aio_create_task(&tasks[started], tail_async, &args[started])))
            break; /* no stack for another task: wait for the ones running, then fail */
    }

    struct error *gathered = aio_gather(tasks, started, NULL); /* await asyncio.gather(*tasks) */
    if (err)
        error_free(gathered);
    else
        err = gathered;
    output_close(output);
    free(args);
    free(tasks);
    return err;
}

int main(int argc, char **argv)
{
    struct merge_run run;
    merge_start(&run, argc, argv, "Item 62: merge log files with a coroutine per input.", NULL);
    struct run_tasks_args args = {run.handles, run.n, run.interval, run.output_path};
    struct error *err = aio_run(run_tasks, &args, NULL); /* asyncio.run(run_tasks(...)) */
    if (err)
        error_die(err);
    return merge_finish(&run);
}
