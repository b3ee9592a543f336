/* factorize: the book's factorize() over four numbers, first one after the
 * other, then one thread per number (the book's FactorizeThread): under the
 * emulated GIL, as CPython runs them, and as free C threads.
 *
 *   ./item53/factorize              the book's work once: about 13 ms a line
 *   ./item53/factorize --repeat 20  serial: Took 0.253 seconds
 *                                   threads under the GIL: Took 0.257 seconds
 *                                   free threads: Took 0.154 seconds
 *   ./item53/factorize --show       also print each number's factors
 *
 * Look for: threads under the GIL are no faster than serial, often a little
 * slower (the book's result); free threads are nearly twice as fast on two
 * cores (C's result). Compare with syscalls, where threads help even under
 * the GIL, and with convoy, where the GIL hurts a thread that does I/O.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "gil.h"

#define MAX_NUMBERS 64
#define MAX_NUMBER 1000000000000.0 /* trial division up to 10**12 takes about an hour */

static const char *book_numbers = "2139079,1214759,1516637,1852285";
static bool verbose; /* --verbose: how often the GIL changed hands, on stderr */

/* list(factorize(number)): a growing array of divisors. */
struct factors {
    unsigned long *items;
    size_t count, capacity;
};

/* The book's FactorizeThread: a number in, its factors out. */
struct factorize_thread {
    unsigned long number;
    long repeat; /* how many times to factorize it */
    struct factors factors;
    pthread_t thread;
};

static void append(struct factors *f, unsigned long divisor)
{
    if (f->count == f->capacity) {
        f->capacity = f->capacity ? 2 * f->capacity : 16;
        f->items = xrealloc(f->items, f->capacity * sizeof *f->items);
    }
    f->items[f->count++] = divisor;
}

/* The book's generator, collected into a list. Each turn of the loop is a
 * bytecode boundary, where an emulated Python thread may have to hand over
 * the GIL; with the GIL off, gil_tick() does nothing. */
static void factorize(unsigned long number, struct factors *out)
{
    out->count = 0;
    for (unsigned long i = 1; i <= number; i++) {
        gil_tick();
        if (number % i == 0)
            append(out, i);
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

/* One run with fresh jobs, the GIL on or off; prints the time taken. The
 * threaded runs' factors must match the serial run's (`expected`), and are
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
    for (size_t i = 0; expected && i < n; i++)
        if (jobs[i].factors.count != expected[i].factors.count ||
            memcmp(jobs[i].factors.items, expected[i].factors.items,
                   jobs[i].factors.count * sizeof *jobs[i].factors.items) != 0)
            die("%s: the factors of %lu differ from the serial run's", label, jobs[i].number);
    for (size_t i = 0; expected && i < n; i++)
        free(jobs[i].factors.items);
}

/* --show: "2139079: [1, 101, 21179, 2139079]", printed in one piece. */
static void print_factors(const struct factorize_thread *job)
{
    char *line = xmalloc(32 + 22 * job->factors.count);
    int len = sprintf(line, "%lu: [", job->number);
    for (size_t i = 0; i < job->factors.count; i++)
        len += sprintf(line + len, "%s%lu", i ? ", " : "", job->factors.items[i]);
    printf("%s]\n", line);
    free(line);
}

/* "2139079,1214759": whole numbers from 1 to MAX_NUMBER; exits 2 otherwise. */
static size_t parse_numbers(const struct cli *cli, const char *text, unsigned long *numbers)
{
    size_t n = 0;
    const char *s = text;
    for (;;) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (!isdigit((unsigned char)*s) || errno || v < 1 || (double)v > MAX_NUMBER ||
            (*end != ',' && *end != '\0') || n == MAX_NUMBERS)
            cli_usage_error(cli,
                            "--numbers: expected up to %d whole numbers from 1 to %.0f, "
                            "separated by commas, got '%s'",
                            MAX_NUMBERS, MAX_NUMBER, text);
        numbers[n++] = v;
        if (*end == '\0')
            return n;
        s = end + 1;
    }
}

int main(int argc, char **argv)
{
    long repeat = 1;
    bool with_gil = true, with_free = true, show = false;
    double interval_ms = GIL_DEFAULT_INTERVAL * 1e3;
    const char *numbers_text = book_numbers;
    const struct cli_flag flags[] = {
        {"--numbers", CLI_STRING, &numbers_text, 0, 0, "N,N,...", "the numbers to factorize"},
        {"--repeat", CLI_INT, &repeat, 1, 100000, "R", "factorize each number R times"},
        {"--gil", CLI_CLEAR, &with_free, 0, 0, NULL, "only the threads under the GIL"},
        {"--no-gil", CLI_CLEAR, &with_gil, 0, 0, NULL, "only the free threads"},
        {"--switch-interval-ms", CLI_DOUBLE, &interval_ms, 0.001, 1000, "MS",
         "the emulated GIL's switch interval"},
        {"--show", CLI_SWITCH, &show, 0, 0, NULL, "print each number's factors"},
        {"--verbose", CLI_SWITCH, &verbose, 0, 0, NULL,
         "print how often the GIL changed hands, to stderr"},
        {0},
    };
    const struct cli cli = {"Factorize numbers serially, then in threads: under the "
                            "emulated GIL, and as free C threads.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (!with_gil && !with_free)
        cli_usage_error(&cli, "--gil and --no-gil: choose one");
    unsigned long numbers[MAX_NUMBERS];
    size_t n = parse_numbers(&cli, numbers_text, numbers);
    double interval = interval_ms / 1e3;

    struct factorize_thread serial[MAX_NUMBERS], threaded[MAX_NUMBERS];
    timed_run("serial", false, true, interval, numbers, n, repeat, NULL, serial);
    if (with_gil)
        timed_run("threads under the GIL", true, true, interval, numbers, n, repeat, serial,
                  threaded);
    if (with_free)
        timed_run("free threads", true, false, interval, numbers, n, repeat, serial, threaded);

    for (size_t i = 0; i < n; i++) {
        if (show)
            print_factors(&serial[i]);
        free(serial[i].factors.items);
    }
    return 0;
}
