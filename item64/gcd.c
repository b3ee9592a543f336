/* gcd: Item 64, "Consider concurrent.futures for True Parallelism". The
 * book's naive gcd over its ten NUMBERS, timed four ways in one run:
 * serially (run_serial), on a thread pool of 2 (run_threads), on a process
 * pool of 2 (run_parallel: "the one change"), and on the thread pool again
 * with the emulated GIL, which is what Python's threads get.
 *
 *   ./item64/gcd                   four "Took" lines (the book's workload: ~0.05 s serial)
 *   ./item64/gcd --repeat 25       25 times the work: about 1 s serial, ratios you can read
 *   ./item64/gcd --show            the results list after each Took line
 *   ./item64/gcd --crash 3         task 3 segfaults in its worker process: the parent
 *                                  reports BrokenProcessPool, carries on, and exits 1
 *
 * Look for: C threads and C processes both halve the time on 2 cores; only
 * the GIL makes threads no faster than serial, which is the book's result.
 * Compare with item53 (the GIL and blocking I/O) and item59 (the thread pool).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "futures.h"
#include "gil.h"

/* The book's NUMBERS fit in an int; with long, every % is a 64-bit division
 * and the loop takes about 60% longer. */
struct pair {
    int a, b;
};

static const struct pair NUMBERS[] = {
    {1963309, 2265973}, {2030677, 3814172}, {1551645, 2229620}, {2039045, 2020802},
    {1823712, 1924928}, {2293129, 1020491}, {1281238, 2273782}, {3823812, 4237281},
    {3812741, 4729139}, {1292391, 2123811},
};
#define NUMBERS_LEN (sizeof NUMBERS / sizeof NUMBERS[0])

/* Under the GIL, a "bytecode boundary" every TICK_STEPS loop steps (about
 * 10 us here), where the GIL may change hands; CPython's interval is 5 ms. */
#define TICK_STEPS 4096

#define CRASH_ME (-1) /* --crash: a pair with this `a` segfaults its worker */

/* The book's gcd(pair): count down from min(a, b) to the first common
 * divisor. Python's `assert False, 'Not reachable'` becomes an error value. */
static struct error *gcd(struct pair pair, bool under_gil, int *result)
{
    int low = pair.a < pair.b ? pair.a : pair.b;
    for (int i = low; i > 0; i--) {
        if (pair.a % i == 0 && pair.b % i == 0) {
            *result = i;
            return NULL;
        }
        if (under_gil && i % TICK_STEPS == 0)
            gil_tick();
    }
    return error_new("AssertionError", "Not reachable");
}

/* A task's value is malloc'd: the caller of future_result frees it, and a
 * process pool's worker frees it after sending a copy (see futures.h). */
static int *box(int value)
{
    int *p = xmalloc(sizeof *p);
    *p = value;
    return p;
}

/* gcd as a pool task: the same function for threads and processes. */
static struct error *gcd_task(void *arg, void **result)
{
    const struct pair *pair = arg;
    if (pair->a == CRASH_ME) /* --crash: stands for a bug that segfaults */
        raise(SIGSEGV);
    int value = 0;
    struct error *error = gcd(*pair, false, &value);
    if (!error)
        *result = box(value);
    return error;
}

/* The same task as a Python thread runs it: holding the GIL throughout. */
static struct error *gcd_task_under_gil(void *arg, void **result)
{
    int value = 0;
    gil_acquire();
    struct error *error = gcd(*(const struct pair *)arg, true, &value);
    gil_release();
    if (!error)
        *result = box(value);
    return error;
}

struct run {
    size_t n;             /* NUMBERS repeated --repeat times */
    struct pair *numbers; /* the inputs */
    void **args;          /* &numbers[i], what map takes */
    int *results;
    long workers;
    bool show;
};

/* `results = list(map(gcd, NUMBERS))` */
static struct error *run_serial(struct run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct error *e = gcd(r->numbers[i], false, &r->results[i]);
        if (e)
            return e;
    }
    return NULL;
}

/* `pool.map(gcd, NUMBERS)` on any executor. The pool is created and used
 * inside the timed region, as in the book, and shut down there too: the
 * book never shuts its pools down (a `with` block would). */
static struct error *run_pool(struct run *r, struct executor *pool, task_fn *task)
{
    if (!pool)
        die_errno("cannot create the pool");
    void **values = xcalloc(r->n, sizeof *values);
    struct error *e = executor_map(pool, task, r->args, r->n, values);
    executor_destroy(pool); /* shutdown(wait=True): joins the threads, reaps the processes */
    for (size_t i = 0; i < r->n; i++) {
        if (values[i])
            r->results[i] = *(int *)values[i];
        free(values[i]);
    }
    free(values);
    return e;
}

static struct error *run_threads(struct run *r)
{
    return run_pool(r, thread_pool_create((int)r->workers), gcd_task);
}

static struct error *run_parallel(struct run *r)
{
    /* The one change. Forking is safe here: run_threads joined its threads. */
    return run_pool(r, process_pool_create((int)r->workers, sizeof(struct pair), sizeof(int)),
                    gcd_task);
}

static struct error *run_threads_under_gil(struct run *r)
{
    return run_pool(r, thread_pool_create((int)r->workers), gcd_task_under_gil);
}

/* The results as Python prints a list, in one printf. */
static void print_results(const struct run *r)
{
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f)
        die_errno("open_memstream");
    for (size_t i = 0; i < r->n; i++)
        fprintf(f, "%s%d", i ? ", " : "[", r->results[i]);
    fclose(f);
    printf("%s]\n", line);
    free(line);
}

/* Time one way of running; returns 0, or 1 if it failed. */
static int measure(struct run *r, const char *label, struct error *(*way)(struct run *),
                   const int *expected)
{
    memset(r->results, 0, r->n * sizeof *r->results);
    double start = clock_now();
    struct error *e = way(r);
    double delta = clock_now() - start;
    if (e) {
        fprintf(stderr, "gcd: %s failed:\n", label);
        error_print(stderr, e);
        error_free(e);
        return 1;
    }
    printf("%s: Took %.3f seconds\n", label, delta);
    if (r->show)
        print_results(r);
    if (expected && memcmp(expected, r->results, r->n * sizeof *expected) != 0)
        die("%s: the results differ from the serial run's", label);
    return 0;
}

int main(int argc, char **argv)
{
    long repeat = 1, crash = -1;
    struct run r = {.workers = 2};
    const struct cli_flag flags[] = {
        {"--workers", CLI_INT, &r.workers, 1, 64, "N", "max_workers of each pool"},
        {"--repeat", CLI_INT, &repeat, 1, 100000, "R", "run over NUMBERS repeated R times"},
        {"--show", CLI_SWITCH, &r.show, 0, 0, NULL, "print the results after each Took line"},
        {"--crash", CLI_INT, &crash, -1, NUMBERS_LEN - 1, "I",
         "task I of the process run segfaults its worker (-1: none)"},
        {0},
    };
    const struct cli cli = {"Item 64: gcd serially, on threads, on processes, under the GIL.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    CHECK_PT(gil_init(true, GIL_DEFAULT_INTERVAL)); /* before any thread starts */

    r.n = NUMBERS_LEN * (size_t)repeat;
    r.numbers = xmalloc(r.n * sizeof *r.numbers);
    r.args = xmalloc(r.n * sizeof *r.args);
    r.results = xmalloc(r.n * sizeof *r.results);
    int *expected = xmalloc(r.n * sizeof *expected);
    for (size_t i = 0; i < r.n; i++) {
        r.numbers[i] = NUMBERS[i % NUMBERS_LEN];
        r.args[i] = &r.numbers[i];
    }

    int failed = measure(&r, "serial", run_serial, NULL);
    memcpy(expected, r.results, r.n * sizeof *expected);
    failed |= measure(&r, "threads", run_threads, expected);
    if (crash >= 0)
        r.numbers[crash].a = CRASH_ME;
    if (measure(&r, "processes", run_parallel, expected)) {
        fprintf(stderr, "gcd: the parent is still running; carrying on without the process pool\n");
        failed = 1;
    }
    if (crash >= 0)
        r.numbers[crash] = NUMBERS[crash];
    failed |= measure(&r, "threads under the GIL", run_threads_under_gil, expected);

    free(expected);
    free(r.results);
    free(r.args);
    free(r.numbers);
    return failed;
}
