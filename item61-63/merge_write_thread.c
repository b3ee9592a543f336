/* merge_write_thread: Item 63's run_fully_async. The output file's open,
 * writes and close are system calls that can hold the event loop, so they
 * move to the book's WriteThread: a thread that owns the output and a loop
 * of its own. Coroutines on the main loop hand it each line through
 * run_coroutine_threadsafe and await the future (asyncio.wrap_future).
 *
 *   ./item61-63/merge_write_thread             merged 50 lines from 5 inputs: OK
 *   AIO_DEBUG=1 ./item61-63/merge_write_thread --blocking-write 0.2
 *                                              only the write thread's loop is held
 *   ./item61-63/merge_write_thread --output OUT --until-pid PID INPUT...
 *
 * Look for: write_thread_enter and write_thread_exit are the book's
 * `async with WriteThread(output_path) as output:`; the thread is joined at
 * the end (the book leaves it), and main checks it is gone. Compare with
 * merge_async, where every write runs on the main loop.
 */
#include <pthread.h>
#include <unistd.h>

#include "aio.h"
#include "check.h"
#include "merge.h"

/* The book's WriteThread(Thread). */
struct write_thread {
    pthread_t thread;
    const char *output_path;
    int output;            /* the write thread's own, opened and closed there */
    struct aio_loop *loop; /* the write thread's loop; others only send it work */
    pid_t tid;             /* for main's check that the thread is gone */
};

/* def run(self): the thread's body. */
static void *write_thread_run(void *arg)
{
    struct write_thread *self = arg;
    self->tid = gettid();
    self->output = output_open(self->output_path); /* with open(self.output_path, 'wb') */
    aio_loop_run_forever(self->loop);
    output_close(self->output);
    /* The book runs one more round (run_until_complete(asyncio.sleep(0))) so
     * that stop()'s future resolves; aio_loop_run_forever already ran the
     * round after the stop, in which real_stop finished. */
    aio_loop_close(self->loop);
    return NULL;
}

struct write_job {
    struct write_thread *self;
    const struct line *line;
};

/* async def real_write(self, data): on the write thread's loop. */
AIO_COROUTINE(real_write)
static struct error *real_write(void *arg, void **result)
{
    struct write_job *job = arg;
    (void)result;
    return output_write(job->self->output, job->line);
}

/* async def write(self, data): a coroutine on the main loop. */
static struct error *write_thread_write(void *ctx, const struct line *line)
{
    struct write_job job = {ctx, line};
    struct future *future = aio_run_coroutine_threadsafe(job.self->loop, real_write, &job);
    return await_threadsafe(future); /* await asyncio.wrap_future(future) */
}

/* async def real_stop(self): self.loop.stop() */
AIO_COROUTINE(real_stop)
static struct error *real_stop(void *arg, void **result)
{
    struct write_thread *self = arg;
    (void)result;
    aio_loop_stop(self->loop);
    return NULL;
}

/* __init__ and __aenter__: make the loop, start the thread (in the
 * executor, as the book does, so that not even clone(2) runs on the loop). */
static struct error *write_thread_enter(struct write_thread *self, const char *output_path)
{
    *self = (struct write_thread){.output_path = output_path};
    struct error *err = aio_loop_create(&self->loop); /* asyncio.new_event_loop() */
    if (err)
        return err;
    return thread_start_in_executor(&self->thread, write_thread_run, self);
}

/* __aexit__: stop the loop through itself, then join the thread. */
static struct error *write_thread_exit(struct write_thread *self)
{
    struct future *future = aio_run_coroutine_threadsafe(self->loop, real_stop, self);
    struct error *err = await_threadsafe(future);
    return first_error(err, thread_join_in_executor(self->thread));
}

struct run_args {
    struct input_handle *handles;
    size_t n;
    double interval;
    const char *output_path;
    pid_t write_tid;
};

AIO_COROUTINE(run_fully_async)
static struct error *run_fully_async(void *arg, void **result)
{
    struct run_args *a = arg;
    (void)result;
    struct write_thread output; /* async with WriteThread(output_path) as output: */
    struct error *err = write_thread_enter(&output, a->output_path);
    if (err)
        return err;
    /* tasks = [create_task(tail_async(handle, interval, output.write)) ...];
     * await asyncio.gather(*tasks): merge_async's run_tasks, in merge.c */
    err = gather_tail_async(a->handles, a->n, a->interval, write_thread_write, &output);
    err = first_error(err, write_thread_exit(&output)); /* leaving the async with */
    a->write_tid = output.tid;
    return err;
}

int main(int argc, char **argv)
{
    struct merge_run run;
    merge_start(&run, argc, argv, "Item 63: coroutines hand every write to a WriteThread.", NULL);
    struct run_args args = {run.handles, run.n, run.interval, run.output_path, 0};
    struct error *err = aio_run(run_fully_async, &args, NULL);
    if (err)
        error_die(err);
    if (thread_is_running(args.write_tid))
        die("the WriteThread (thread %d) is still running", (int)args.write_tid);
    return merge_finish(&run);
}
