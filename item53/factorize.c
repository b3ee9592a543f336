/* factorize: the book's factorize() over four numbers, first one after the
 * other, then one thread per number (the book's FactorizeThread): under the
 * emulated GIL, as CPython runs them, and as free C threads.
 *
 *   ./item53/factorize             serial: Took 0.40 seconds or so
 *                                  threads under the GIL: about the same
 *                                  free threads: nearly twice as fast
 *   ./item53/factorize --repeat 1  the book's work once (a hundredth of a second)
 *   ./item53/factorize --show      also print each number's factors
 *
 * C runs the book's work in about 13 ms, so by default it is repeated until
 * the serial run takes about as long as the book's (0.399 s); stderr says how
 * many times. Look for: threads under the GIL are no faster than serial,
 * often a little slower (the book's result); free threads are nearly twice as
 * fast on two cores (C's result). Compare with syscalls, where threads help
 * even under the GIL, and with convoy, where the GIL hurts a thread doing I/O.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "factors.h"
#include "gil.h"

#define BOOK_SERIAL_SECONDS 0.399 /* the book's serial run: Took 0.399 seconds */
#define MAX_REPEAT 10000          /* the book's work 10,000 times: minutes, not hours */

static const char *book_numbers = "2139079,1214759,1516637,1852285";
static bool verbose; /* --verbose: how often the GIL changed hands, on stderr */

/* The book's FactorizeThread: a number in, its factors out. */
struct factorize_thread {
    unsigned long number;
    long repeat; /* how many times to factorize it */
    struct factors factors;
    pthread_t thread;
};

/* The book's generator, collected into a list. Each turn of the loop is a
 * bytecode boundary, where an emulated Python thread may have to hand over
 * the GIL; with the GIL off, gil_tick() does nothing. */
static void factorize(unsigned long number, struct factors *out)
{
    out->count = 0;
    for (unsigned long i = 1; i <= number; i++) {
        gil_tick();
        if (number % i == 0)
            factors_append(out, i);
    }
}

static void factorize_all(struct factorize_thread *job)
{
    for (long r = 0; r < job->repeat; r++)
        factorize(job->number, &job->factors);
}

/* FactorizeThread.run: a Python thread holds the GIL from start to end,
 * except where it ticks or blocks. */
static void *run(void *arg)
{
    gil_acquire();
    factorize_all(arg);
    gil_release();
    return NULL;
}

static double run_serial(struct factorize_thread *jobs, size_t n)
{
    double start = clock_now();
    gil_acquire(); /* the main thread is a Python thread too */
    for (size_t i = 0; i < n; i++)
        factorize_all(&jobs[i]);
    gil_release();
    return clock_now() - start;
}

static double run_threads(struct factorize_thread *jobs, size_t n)
{
    double start = clock_now();
    gil_acquire();
    for (size_t i = 0; i < n; i++)
        CHECK_PT(pthread_create(&jobs[i].thread, NULL, run, &jobs[i]));
    /* thread.join() waits with the GIL released, or the threads could never run. */
    for (size_t i = 0; i < n; i++)
        GIL_ALLOW_THREADS(CHECK_PT(pthread_join(jobs[i].thread, NULL)));
    gil_release();
    return clock_now() - start;
}

/* One run with fresh jobs, the GIL on or off; prints the time taken. A
 * threaded run's factors must match the serial run's (`expected`), and are
 * then thrown away. */
static void timed_run(const char *label, bool threads, bool gil, double interval,
                      const unsigned long *numbers, size_t n, long repeat,
                      struct factorize_thread *expected, struct factorize_thread *jobs)
{
    for (size_t i = 0; i < n; i++)
        jobs[i] = (struct factorize_thread){.number = numbers[i], .repeat = repeat};
    CHECK_PT(gil_init(gil, interval));
    double took = threads ? run_threads(jobs, n) : run_serial(jobs, n);
    printf("%s: Took %.3f seconds\n", label, took);
    if (verbose && threads && gil)
        fprintf(stderr, "%s: the GIL changed hands %lu times\n", label, gil_switches());
    for (size_t i = 0; expected && i < n; i++) {
        if (!factors_equal(&jobs[i].factors, &expected[i].factors))
            die("%s: the factors of %lu differ from the serial run's", label, jobs[i].number);
        free(jobs[i].factors.items);
    }
}

/* --repeat 0: time the work once, serially, and repeat it enough times for
 * the serial run to take about as long as the book's. */
static long repeat_like_the_book(const unsigned long *numbers, size_t n)
{
    struct factorize_thread jobs[MAX_NUMBERS];
    for (size_t i = 0; i < n; i++)
        jobs[i] = (struct factorize_thread){.number = numbers[i], .repeat = 1};
    CHECK_PT(gil_init(true, GIL_DEFAULT_INTERVAL));
    double once = run_serial(jobs, n);
    for (size_t i = 0; i < n; i++)
        free(jobs[i].factors.items);
    double repeat = once > 0 ? BOOK_SERIAL_SECONDS / once + 0.5 : MAX_REPEAT;
    return repeat < 1 ? 1 : repeat > MAX_REPEAT ? MAX_REPEAT : (long)repeat;
}

int main(int argc, char **argv)
{
    long repeat = 0;
    bool gil_only = false, free_only = false, show = false;
    double interval_ms = GIL_DEFAULT_INTERVAL * 1e3;
    const char *numbers_text = book_numbers;
    const struct cli_flag flags[] = {
        {"--numbers", CLI_STRING, &numbers_text, 0, 0, "N,N,...",
         "the numbers to factorize, each up to 10^10 (a minute or so a pass)"},
        {"--repeat", CLI_INT, &repeat, 0, MAX_REPEAT, "R",
         "factorize each number R times; 0: as often as makes the serial run take the book's "
         "0.4 s"},
        {"--gil", CLI_SWITCH, &gil_only, 0, 0, NULL, "run the threads under the emulated GIL only"},
        {"--no-gil", CLI_SWITCH, &free_only, 0, 0, NULL, "run the threads free (no GIL) only"},
        {"--switch-interval-ms", CLI_DOUBLE, &interval_ms, 0.001, 1000, "MS",
         "the emulated GIL's switch interval"},
        {"--show", CLI_SWITCH, &show, 0, 0, NULL, "print each number's factors"},
        {"--verbose", CLI_SWITCH, &verbose, 0, 0, NULL,
         "print how often the GIL changed hands, to stderr"},
        {0},
    };
    const struct cli cli = {"Factorize numbers serially, then in threads: under the emulated GIL, "
                            "and as free C threads (by default both).",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (gil_only && free_only)
        cli_usage_error(&cli, "--gil and --no-gil: choose one");
    unsigned long numbers[MAX_NUMBERS];
    size_t n = parse_numbers(&cli, numbers_text, numbers);
    double interval = interval_ms / 1e3;
    if (repeat == 0) {
        repeat = repeat_like_the_book(numbers, n);
        fprintf(stderr,
                "factorize: the work %ld times over, so that the serial run takes about "
                "as long as the book's (--repeat 1: once)\n",
                repeat);
    }

    struct factorize_thread serial[MAX_NUMBERS], threaded[MAX_NUMBERS];
    timed_run("serial", false, true, interval, numbers, n, repeat, NULL, serial);
    if (!free_only)
        timed_run("threads under the GIL", true, true, interval, numbers, n, repeat, serial,
                  threaded);
    if (!gil_only)
        timed_run("free threads", true, false, interval, numbers, n, repeat, serial, threaded);

    for (size_t i = 0; i < n; i++) {
        if (show)
            factors_print(numbers[i], &serial[i].factors);
        free(serial[i].factors.items);
    }
    return 0;
}
