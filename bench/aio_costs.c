/* aio_costs: what common/aio's tasks cost on this machine, for make bench.
 *
 *   bench/aio_costs             this build's switch (assembly unless built
 *                               with make AIO_SWITCH=ucontext)
 *   bench/aio_costs_ucontext    the same program with the ucontext switch
 *
 * Prints three lines (the figures vary with the machine and its load):
 *   switch (asm): 12.2 ns per switch (2000000 switches, median of 5; fastest 11.9)
 *   yield (asm): 218.7 ns per aio_sleep(0) of two tasks taking turns on the loop (...)
 *   memory (asm): 4161 bytes per suspended task (100000 tasks, VmRSS +396.9 MiB), ...
 * A switch is one direction, loop -> task or task -> loop; a yield is a whole
 * round of the loop (epoll with no wait, the ready FIFO, two switches). A busy
 * machine stretches these: the fastest of the 5 runs is printed too. The memory line is
 * VmRSS growth while every task waits in aio_sleep, divided by the tasks: a
 * task's struct and the stack pages it touched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "aio_impl.h"
#include "check.h"
#include "cli.h"
#include "clock.h"

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median5(double v[5])
{
    qsort(v, 5, sizeof v[0], compare);
    return v[2];
}

struct yield_arg {
    long n;
};

static struct error *yielder(void *arg, void **result)
{
    (void)result;
    const struct yield_arg *a = arg;
    struct error *err;
    for (long i = 0; i < a->n; i++)
        if ((err = aio_sleep(0)))
            return err;
    return NULL;
}

static struct error *two_yielders(void *arg, void **result)
{
    struct aio_task *t[2];
    struct error *err;
    if ((err = aio_create_task(&t[0], yielder, arg)) ||
        (err = aio_create_task(&t[1], yielder, arg)))
        return err;
    double t0 = clock_now();
    err = aio_gather(t, 2, NULL);
    double *ns = xmalloc(sizeof *ns);
    *ns = (clock_now() - t0) * 1e9 / (double)(2 * ((const struct yield_arg *)arg)->n);
    *result = ns;
    return err;
}

static struct error *sleep_long(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return aio_sleep(3600);
}

struct memory {
    long tasks;
    long before_bytes, during_bytes;
    double start_seconds;
};

static struct error *suspend_many(void *arg, void **result)
{
    (void)result;
    struct memory *m = arg;
    struct aio_task **t = xcalloc((size_t)m->tasks, sizeof *t);
    struct error *err = NULL;
    m->before_bytes = clock_resident_bytes();
    double t0 = clock_now();
    long made = 0;
    for (; made < m->tasks && !err; made++)
        err = aio_create_task(&t[made], sleep_long, NULL);
    if (err)
        made--;
    struct error *e2 = aio_sleep(0); /* every task takes its first step and waits */
    m->start_seconds = clock_now() - t0;
    m->during_bytes = clock_resident_bytes();
    for (long i = 0; i < made; i++)
        aio_cancel(t[i]);
    struct error *e3 = aio_gather(t, (size_t)made, NULL);
    free(t);
    if (e3 && strcmp(e3->type, "CancelledError") == 0) {
        error_free(e3);
        e3 = NULL;
    }
    if (!err)
        err = e2 ? e2 : e3;
    else {
        error_free(e2);
        error_free(e3);
    }
    return err;
}

int main(int argc, char **argv)
{
    long switches = 2000000, yields = 200000, tasks = 100000;
    const struct cli_flag flags[] = {
        {"--switches", CLI_INT, &switches, 1000, 1e9, "N", "switches to time, per run"},
        {"--yields", CLI_INT, &yields, 100, 1e9, "N", "aio_sleep(0) calls per task, per run"},
        {"--tasks", CLI_INT, &tasks, 1, 1e7, "N", "suspended tasks for the memory figure"},
        {0},
    };
    const struct cli cli = {"Measure common/aio's switch, a yield through the loop, and the "
                            "memory of a suspended task.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    const char *kind = aio_switch_kind();

    double v[5];
    for (int i = 0; i < 5; i++)
        v[i] = aio_switch_ns(switches);
    double med = median5(v); /* sorts v */
    printf("switch (%s): %.1f ns per switch (%ld switches, median of 5; fastest %.1f)\n", kind, med,
           switches, v[0]);

    struct yield_arg ya = {yields};
    for (int i = 0; i < 5; i++) {
        void *ns = NULL;
        struct error *err = aio_run(two_yielders, &ya, &ns);
        if (err)
            error_die(err);
        v[i] = *(double *)ns;
        free(ns);
    }
    med = median5(v);
    printf("yield (%s): %.1f ns per aio_sleep(0) of two tasks taking turns on the loop (%ld "
           "each, median of 5; fastest %.1f)\n",
           kind, med, yields, v[0]);

    struct memory m = {.tasks = tasks};
    struct error *err = aio_run(suspend_many, &m, NULL);
    if (err)
        error_die(err);
    double grown = (double)(m.during_bytes - m.before_bytes);
    printf("memory (%s): %.0f bytes per suspended task (%ld tasks, VmRSS +%.1f MiB), "
           "%.2f us each to create and start (cold stacks)\n",
           kind, grown / (double)tasks, tasks, grown / 1048576.0,
           m.start_seconds * 1e6 / (double)tasks);
    return 0;
}
