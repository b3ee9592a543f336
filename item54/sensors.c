/* The book's worker() and the loop that starts and joins the sensor threads.
 *
 * Under --gil each worker holds the emulated GIL while it runs, as a Python
 * thread does, and gives it up only at bytecode boundaries (bytecode()) or
 * around blocking calls. The start barrier is such a blocking call: a thread
 * that waited on it while holding the GIL would deadlock the others.
 */
#include "sensors.h"

#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "gil.h"

/* The emulated interpreter spins this many empty steps per bytecode, so that
 * the book's 500,000 increments (11 bytecodes each, with the reading) span
 * many 5 ms switch intervals and every run sees the GIL change hands. At C's
 * own speed the run would end inside the first interval and the GIL would
 * never switch. The cost per bytecode is in the README's Measured section. */
#define BYTECODE_COST 150

/* Reading a sensor: "..." in the book; the loop, the call and the read are
 * about 8 bytecodes. */
#define SENSOR_READ_BYTECODES 8

struct worker_args {
    long sensor_index;
    const struct sensor_run *run;
    increment_fn *increment;
    void *counter;
    pthread_barrier_t *start;
};

void bytecode(void)
{
    if (!gil_enabled())
        return;
    for (int step = 0; step < BYTECODE_COST; step++)
        __asm__ volatile(""); /* an empty step the compiler must keep */
    gil_tick();
}

static void read_sensor(long sensor_index)
{
    (void)sensor_index;
    for (int i = 0; i < SENSOR_READ_BYTECODES; i++)
        bytecode();
}

static void *worker(void *arg)
{
    struct worker_args *a = arg;
    gil_acquire();
    gil_begin_blocking(); /* Barrier.wait() releases the GIL while it waits */
    CHECK_BARRIER(pthread_barrier_wait(a->start));
    gil_end_blocking();

    for (long i = 0; i < a->run->how_many; i++) {
        read_sensor(a->sensor_index);
        a->increment(a->counter, 1);
    }
    gil_release();
    return NULL;
}

void run_sensor_workers(const struct sensor_run *run, increment_fn *increment, void *counter)
{
    pthread_t threads[run->threads];
    struct worker_args args[run->threads];
    pthread_barrier_t start;

    CHECK_PT(gil_init(run->gil, run->switch_interval));
    CHECK_PT(pthread_barrier_init(&start, NULL, (unsigned)run->threads));
    double t0 = clock_now();
    for (long i = 0; i < run->threads; i++) {
        args[i] = (struct worker_args){i, run, increment, counter, &start};
        CHECK_PT(pthread_create(&threads[i], NULL, worker, &args[i]));
    }
    for (long i = 0; i < run->threads; i++)
        CHECK_PT(pthread_join(threads[i], NULL));
    double elapsed = clock_now() - t0;
    CHECK_PT(pthread_barrier_destroy(&start));

    long increments = run->threads * run->how_many;
    if (run->time && increments > 0)
        fprintf(stderr, "Took %.3f seconds, %.1f ns per increment%s\n", elapsed,
                elapsed * 1e9 / (double)increments,
                run->gil ? "" : " (including starting the threads)");
    else if (run->time)
        fprintf(stderr, "Took %.3f seconds\n", elapsed);
    if (run->gil && run->time)
        fprintf(stderr, "The GIL changed hands %lu times\n", gil_switches());
}

void sensor_parse_flags(int argc, char **argv, const char *summary, struct sensor_run *run)
{
    double interval_ms = run->switch_interval * 1e3;
    bool no_gil = false;
    const struct cli_flag flags[] = {
        {"--threads", CLI_INT, &run->threads, 1, 1024, "N", "worker threads, one per sensor"},
        {"--count", CLI_INT, &run->how_many, 0, 100000000, "N", "readings per sensor (how_many)"},
        {"--gil", CLI_SWITCH, &run->gil, 0, 0, NULL, "run the threads under the emulated GIL only"},
        {"--no-gil", CLI_SWITCH, &no_gil, 0, 0, NULL, "run the threads free (no GIL) only"},
        {"--switch-interval-ms", CLI_DOUBLE, &interval_ms, 0.001, 1000, "MS",
         "the emulated GIL's switch interval"},
        {"--time", CLI_SWITCH, &run->time, 0, 0, NULL, "print the time taken to stderr"},
        {0},
    };
    const struct cli cli = {summary, flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (run->gil && no_gil)
        cli_usage_error(&cli, "--gil and --no-gil: choose one");
    run->switch_interval = interval_ms / 1e3;
}
