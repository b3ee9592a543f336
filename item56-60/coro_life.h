/* coro_life: what Item 60's two coroutine programs (coroutines, stackless)
 * share around their lesson: their flags, the driving loop over
 * generations, the exit, and --stats.
 *
 *   coro_life_start(run, flags, kind, argc, argv)
 *       life_start with --async-neighbors, --loop-per-generation (stackful
 *       only) and --stats (which implies --time), each program's help lines
 *   coro_life_run(run, grid, simulate, in_one_task)
 *       columns.append(str(grid)); grid = simulate(grid), --generations
 *       times, then print the columns; on an error, print it on stderr,
 *       nothing on stdout. Returns main's exit status, 0 or 1.
 *   coro_stats_before(), coro_stats_pending(), coro_stats_report(tasks),
 *   coro_stats_report_soon(loop, tasks)
 *       --stats: one line on stderr, once, for the first generation:
 *       Resident memory per suspended task: 4152 bytes (100000 tasks, VmRSS +396.0 MiB)
 *
 * The caller calls coro_stats_before() before it creates a generation's
 * tasks and coro_stats_report once every task has reached its first wait
 * (or coro_stats_report_soon after scheduling every cell's first step):
 * the growth in VmRSS is what the tasks hold while they wait (their stacks
 * or frames, the loop's entries for them, their arguments). Python's
 * equivalent, tracemalloc aside, is the same VmRSS difference around tasks
 * parked in asyncio.sleep.
 */
#ifndef ITEM56_60_CORO_LIFE_H
#define ITEM56_60_CORO_LIFE_H

#include <stdbool.h>

#include "aio.h"
#include "life.h"

struct coro_flags {
    bool async_neighbors;     /* --async-neighbors: count_neighbors waits on each read */
    bool loop_per_generation; /* --loop-per-generation: asyncio.run in every generation */
    bool stats;               /* --stats */
};

enum coro_kind {
    CORO_STACKFUL, /* coroutines: a task, with its own stack, per cell */
    CORO_STACKLESS /* stackless: a frame per cell, stepped by callbacks */
};

void coro_life_start(struct life_run *run, struct coro_flags *flags, enum coro_kind kind, int argc,
                     char **argv);

/* simulate(grid, &next_grid) makes the next grid (it takes nothing over).
 * in_one_task: the whole loop over generations runs as one task under
 * aio_run, so simulate may await; otherwise main calls simulate itself. */
int coro_life_run(struct life_run *run, struct grid *grid, task_fn *simulate, bool in_one_task);

void coro_stats_before(void);       /* VmRSS now, if a report is still to come */
bool coro_stats_pending(void);      /* --stats, and nothing reported yet */
void coro_stats_report(long tasks); /* the line above, if pending; then no more */
/* If pending, coro_stats_report(tasks) from a callback queued now on loop. */
void coro_stats_report_soon(struct aio_loop *loop, long tasks);

#endif
