/* coro_life: see coro_life.h. */
#include "coro_life.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "clock.h"

static bool stats_pending; /* --stats, and the report is still to come */
static long rss_before;    /* VmRSS at the last coro_stats_before() */

struct coro_help { /* a program's summary and --help lines */
    const char *summary, *io_ms, *async_neighbors, *loop_per_generation, *stats;
};

static const struct coro_help helps[] = {
    [CORO_STACKFUL] =
        {
            .summary = "Item 60: the Game of Life on coroutines, a task per cell.",
            .io_ms = "simulated I/O latency in game_logic (an awaited sleep)",
            .async_neighbors =
                "count_neighbors awaits each of its 8 reads (Item 60's last example)",
            .loop_per_generation =
                "a new event loop for every generation, as the book's asyncio.run(simulate(grid))",
            .stats = "stderr: seconds per generation, resident bytes per suspended task",
        },
    [CORO_STACKLESS] =
        {
            .summary = "Beyond Item 60: the Game of Life on stackless coroutines.",
            .io_ms = "simulated I/O latency in game_logic (a timer on the loop)",
            .async_neighbors = "count_neighbors awaits each of its 8 reads: 8 more resume points",
            .stats = "stderr: seconds per generation, resident bytes per suspended cell",
        },
};

void coro_life_start(struct life_run *run, struct coro_flags *flags, enum coro_kind kind, int argc,
                     char **argv)
{
    const struct coro_help *help = &helps[kind];
    struct cli_flag extra[4] = {
        {"--async-neighbors", CLI_SWITCH, &flags->async_neighbors, 0, 0, NULL,
         help->async_neighbors},
    };
    int n = 1;
    if (help->loop_per_generation)
        extra[n++] = (struct cli_flag){
            "--loop-per-generation",  CLI_SWITCH, &flags->loop_per_generation, 0, 0, NULL,
            help->loop_per_generation};
    extra[n] = (struct cli_flag){"--stats", CLI_SWITCH, &flags->stats, 0, 0, NULL, help->stats};
    run->opt.io_ms_help = help->io_ms;
    life_start(run, argc, argv, help->summary, extra);
    run->opt.time |= flags->stats;
    stats_pending = flags->stats;
}

struct generations {
    struct life_run *run;
    struct grid *grid;
    task_fn *simulate;
};

/* Each grid is recorded as soon as it exists, so that a generation's time
 * is its simulation (and, for a loop per generation, its loop), not the
 * final close. */
AIO_COROUTINE(run_generations)
static struct error *run_generations(void *arg, void **result)
{
    struct generations *g = arg;
    struct error *err = NULL;
    *result = NULL;
    life_record(g->run, grid_str(g->grid));
    for (long i = 0; i < g->run->opt.generations && !err; i++) {
        void *next_grid = NULL;
        if (!(err = g->simulate(g->grid, &next_grid))) {
            grid_destroy(g->grid);
            g->grid = next_grid;
            life_record(g->run, grid_str(g->grid));
        }
    }
    return err;
}

int coro_life_run(struct life_run *run, struct grid *grid, task_fn *simulate, bool in_one_task)
{
    struct generations g = {run, grid, simulate};
    void *unused;
    struct error *err =
        in_one_task ? aio_run(run_generations, &g, &unused) : run_generations(&g, &unused);
    grid_destroy(g.grid);
    if (err) { /* out of gather, out of aio_run: uncaught, as in Python */
        fflush(stdout);
        error_print(stderr, err);
        error_free(err);
        life_abandon(run);
        return 1;
    }
    life_finish(run);
    return 0;
}

void coro_stats_before(void)
{
    if (stats_pending)
        rss_before = clock_resident_bytes();
}

bool coro_stats_pending(void)
{
    return stats_pending;
}

void coro_stats_report(long tasks)
{
    if (!stats_pending)
        return;
    stats_pending = false;
    long grown = clock_resident_bytes() - rss_before;
    fprintf(stderr, "Resident memory per suspended task: %.0f bytes (%ld tasks, VmRSS %+.1f MiB)\n",
            tasks > 0 ? (double)grown / (double)tasks : 0.0, tasks, (double)grown / 1048576.0);
}

static long report_tasks;             /* coro_stats_report_soon's count */
static struct aio_handle report_soon; /* its callback's entry on the loop */

static void report_now(void *arg)
{
    (void)arg;
    coro_stats_report(report_tasks);
}

void coro_stats_report_soon(struct aio_loop *loop, long tasks)
{
    if (!stats_pending)
        return;
    report_tasks = tasks;
    aio_call_soon(loop, &report_soon, report_now, NULL);
}
