/* gcd: Item 64, "Consider concurrent.futures for True Parallelism". The
 * book's naive gcd over its ten NUMBERS, timed four ways in one run:
 * serially (run_serial), on a thread pool of 2 (run_threads), on a process
 * pool of 2 (run_parallel: "the one change"), and on the thread pool again
 * with the emulated GIL, which is what Python's threads get.
 *
 *   ./item64/gcd                   four "Took" lines (the book's workload: a few
 *                                  hundredths of a second serially in C)
 *   ./item64/gcd --repeat 30       30 times the work: ratios you can read
 *   ./item64/gcd --show            the results list after each Took line
 *   ./item64/gcd --crash 3         task 3 segfaults in its worker process: the parent
 *                                  reports BrokenProcessPool, carries on, and exits 1
 *
 * Look for: C threads and C processes both halve the time on 2 cores; only
 * the GIL makes threads no faster than serial, which is the book's result.
 * Compare with item53 (the GIL and CPU-bound threads) and item56-60's pool
 * (the thread pool for blocking I/O, Item 59). The timing and checking
 * around the four runs is in runs.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "futures.h"
#include "gil.h"
#include "runs.h"

#define MAX_REPEAT 1000 /* the book's work 1000 times: minutes, not hours */

static const struct pair NUMBERS[] = {
    {1963309, 2265973}, {2030677, 3814172}, {1551645, 2229620}, {2039045, 2020802},
    {1823712, 1924928}, {2293129, 1020491}, {1281238, 2273782}, {3823812, 4237281},
    {3812741, 4729139}, {1292391, 2123811},
};
#define NUMBERS_LEN (sizeof NUMBERS / sizeof NUMBERS[0])

/* Under the GIL, a "bytecode boundary" every TICK_STEPS loop steps (a few
 * microseconds of work), where the GIL may change hands: far more often than
 * CPython's 5 ms interval needs. */
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
static struct error *run_pool(struct run *r, struct executor *pool, const char *kind, task_fn *task)
{
    if (!pool) /* a failure like any other: the program carries on (as with --crash) */
        return error_new("OSError", "cannot create the %s pool: %s", kind, strerror(errno));
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
    return run_pool(r, thread_pool_create((int)r->workers), "thread", gcd_task);
}

static struct error *run_parallel(struct run *r)
{
    /* The one change. Forking is safe here: run_threads joined its threads. */
    return run_pool(r, process_pool_create((int)r->workers, sizeof(struct pair), sizeof(int)),
                    "process", gcd_task);
}

static struct error *run_threads_under_gil(struct run *r)
{
    return run_pool(r, thread_pool_create((int)r->workers), "thread", gcd_task_under_gil);
}

/* --crash: make task i of the next run crash its worker, and say so first,
 * so that the error chain that follows has a visible cause. */
static void plant_crash(struct run *r, long i)
{
    fprintf(stderr,
            "gcd: --crash %ld: task %ld, gcd((%d, %d)), will segfault in its worker process\n", i,
            i, r->numbers[i].a, r->numbers[i].b);
    r->numbers[i].a = CRASH_ME;
}

int main(int argc, char **argv)
{
    long repeat = 1, crash = -1;
    struct run r = {.workers = 2};
    const struct cli_flag flags[] = {
        {"--workers", CLI_INT, &r.workers, 1, 64, "N", "max_workers of each pool"},
        {"--repeat", CLI_INT, &repeat, 1, MAX_REPEAT, "R",
         "run over NUMBERS repeated R times (each time a few hundredths of a second serially)"},
        {"--show", CLI_SWITCH, &r.show, 0, 0, NULL, "print the results after each Took line"},
        {"--crash", CLI_INT, &crash, -1, NUMBERS_LEN - 1, "I",
         "task I of the process run segfaults its worker (-1: none)"},
        {0},
    };
    const struct cli cli = {"Item 64: gcd serially, on threads, on processes, under the GIL.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    /* Line by line even into a pipe: with --crash, `2>&1 | less` then shows
     * the stdout and stderr lines in the order they happened. */
    if (setvbuf(stdout, NULL, _IOLBF, 0) != 0)
        die("setvbuf failed");
    CHECK_PT(gil_init(true, GIL_DEFAULT_INTERVAL)); /* before any thread starts */

    run_init(&r, NUMBERS, NUMBERS_LEN, repeat);

    int failed = run_measure(&r, "serial", run_serial);
    failed |= run_measure(&r, "threads", run_threads);
    if (crash >= 0)
        plant_crash(&r, crash);
    if (run_measure(&r, "processes", run_parallel)) {
        fprintf(stderr, "gcd: the parent is still running; carrying on without the process pool\n");
        failed = 1;
    }
    if (crash >= 0)
        r.numbers[crash] = NUMBERS[crash];
    failed |= run_measure(&r, "threads under the GIL", run_threads_under_gil);
    run_fini(&r);
    return failed;
}
