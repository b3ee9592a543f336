/* merge_mixed: Item 62, top-down steps 1-3. The entry point became a
 * coroutine (run_tasks_mixed); the blocking tail_file runs unchanged, each in
 * an executor thread through run_in_executor; and its writes, made on those
 * threads, are sent to the loop's thread with run_coroutine_threadsafe
 * instead of being taken under a lock.
 *
 *   ./item61-63/merge_mixed                    merged 50 lines from 5 inputs: OK
 *   ./item61-63/merge_mixed --inputs 16 --workers 6    the book's executor size
 *   ./item61-63/merge_mixed --output OUT --until-pid PID INPUT...
 *
 * Look for: each tail_file holds an executor thread for as long as its input
 * lasts, so the executor gets a thread per input. The book uses the default
 * executor (6 threads on 2 cores), and past 6 inputs the rest wait for a free
 * thread. Compare with merge_threads (the start) and merge_async (step 4).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "check.h"
#include "merge.h"

static long workers = 0; /* --workers: executor threads; 0: one per input */

struct mixed_output {
    struct aio_loop *loop; /* the loop of run_tasks_mixed, which owns the output */
    int fd;
};

struct write_job {
    int fd;
    const struct line *line;
};

/* async def write_async(data): output.write(data), on the loop's thread. */
AIO_COROUTINE(write_async)
static struct error *write_async(void *arg, void **result)
{
    struct write_job *job = arg;
    (void)result;
    return output_write(job->fd, job->line);
}

/* The book's def write(data), called by tail_file on an executor thread. */
static struct error *write_through_loop(void *ctx, const struct line *line)
{
    struct mixed_output *output = ctx;
    struct write_job job = {output->fd, line};
    struct future *future = aio_run_coroutine_threadsafe(output->loop, write_async, &job);
    struct error *err = future_result(future, NULL); /* future.result(): blocks this thread */
    future_destroy(future);
    return err;
}

/* tail_file(handle, interval, write), as an executor job. */
static struct error *tail_file_job(void *arg, void **result)
{
    struct tail_args *args = arg;
    (void)result;
    return tail_file(args->handle, args->interval, args->write_func, args->ctx);
}

/* loop.run_in_executor(pool, tail_file, ...) is a future the book gathers
 * without awaiting each; aio_run_in_executor waits, so each call is a task. */
struct executor_call {
    struct executor *pool;
    struct tail_args args;
};

AIO_COROUTINE(run_in_executor)
static struct error *run_in_executor(void *arg, void **result)
{
    struct executor_call *call = arg;
    return aio_run_in_executor(call->pool, tail_file_job, &call->args, result);
}

struct run_args {
    struct input_handle *handles;
    size_t n;
    double interval;
    const char *output_path;
};

AIO_COROUTINE(run_tasks_mixed)
static struct error *run_tasks_mixed(void *arg, void **result)
{
    struct run_args *a = arg;
    (void)result;
    struct mixed_output output = {aio_get_running_loop(), output_open(a->output_path)};
    /* A thread per input: with fewer, an input's tail_file waits its turn. */
    struct executor *pool = thread_pool_create(workers ? (int)workers : (int)a->n);
    if (!pool) {
        output_close(output.fd);
        return error_new("OSError", "thread_pool_create: %s", strerror(errno));
    }

    struct aio_task **tasks = xcalloc(a->n, sizeof *tasks);
    struct executor_call *calls = xcalloc(a->n, sizeof *calls);
    struct error *err = NULL;
    size_t started = 0;
    for (; started < a->n; started++) {
        calls[started] = (struct executor_call){
            pool, {&a->handles[started], a->interval, write_through_loop, &output, NULL}};
        if ((err = aio_create_task(&tasks[started], run_in_executor, &calls[started])))
            break;
    }

    struct error *gathered = aio_gather(tasks, started, NULL); /* await asyncio.gather(*tasks) */
    if (err)
        error_free(gathered);
    else
        err = gathered;
    executor_destroy(pool); /* every tail_file has returned: no write is left in flight */
    output_close(output.fd);
    free(calls);
    free(tasks);
    return err;
}

int main(int argc, char **argv)
{
    const struct cli_flag extra[] = {
        {"--workers", CLI_INT, &workers, 0, 1000, "N", "executor threads (0: one per input)"},
        {0},
    };
    struct merge_run run;
    merge_start(&run, argc, argv, "Item 62: threads in an executor, writes through the loop.",
                extra);
    struct run_args args = {run.handles, run.n, run.interval, run.output_path};
    struct error *err = aio_run(run_tasks_mixed, &args, NULL);
    if (err)
        error_die(err);
    return merge_finish(&run);
}
