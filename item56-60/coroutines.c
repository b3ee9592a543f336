/* coroutines: Item 60, the Game of Life on coroutines (common/aio): simulate
 * fans out one task per cell and gathers them; game_logic awaits its round
 * trip instead of blocking a thread. One thread, one event loop, no locks.
 *
 *   ./item56-60/coroutines                       the same columns as serial
 *   ./item56-60/coroutines --io-ms 100           one round trip per generation: ~0.1 s
 *   ./item56-60/coroutines --height 250 --width 400 --io-ms 100 --generations 3 --stats
 *   ./item56-60/coroutines --fail-at 2,3         the error comes out of gather: exit 1
 *   ./item56-60/coroutines --async-neighbors     count_neighbors awaits each of its 8 reads
 *   ./item56-60/coroutines --loop-per-generation the book's asyncio.run in every generation
 *
 * Look for: 100,000 cells still take about one round trip per generation,
 * where threaded needs a thread per cell and pool a wave per 10 cells;
 * --stats shows what each waiting task holds (its stack's touched pages).
 * Each `if ((err = ...)) return err;` after a call that can suspend is where
 * the book writes await. Because a task has its own stack, only the calls
 * that wait are awaits: compare with stackless, which has no stack per cell
 * and pays for it with a resume point in every caller.
 */
#include <malloc.h>
#include <stdlib.h>

#include "aio.h"
#include "check.h"
#include "coro_life.h"

static struct coro_flags flags; /* --async-neighbors, --loop-per-generation, --stats */

/* async def count_neighbors(y, x, get): each of the 8 reads (N, NE, E, SE,
 * S, SW, W, NW, as life.c's) is now a round trip that suspends once. */
static struct error *async_count_neighbors(long y, long x, struct getter get, int *count)
{
    static const int dy[8] = {-1, -1, 0, 1, 1, 1, 0, -1};
    static const int dx[8] = {0, 1, 1, 1, 0, -1, -1, -1};
    struct error *err;
    *count = 0;
    for (int i = 0; i < 8; i++) {
        if ((err = aio_sleep(0))) /* await the read */
            return err;
        if (get_state(get, y + dy[i], x + dx[i]) == ALIVE)
            (*count)++;
    }
    return NULL;
}

/* async def game_logic(state, neighbors), with data = await my_socket.read(50). */
static struct error *async_game_logic(char state, int neighbors, long y, long x, char *next_state)
{
    struct error *err;
    if ((err = aio_sleep(socket_latency()))) /* await the round trip */
        return err;
    if ((err = socket_reply(y, x))) /* what came back: OSError at --fail-at */
        return err;
    *next_state = conway_rules(state, neighbors);
    return NULL;
}

struct cell { /* step_cell(y, x, grid.get, next_grid.set) */
    long y, x;
    struct getter get;
    struct setter set;
};

/* async def step_cell(y, x, get, set): each task runs this. */
AIO_COROUTINE(async_step_cell)
static struct error *async_step_cell(void *arg, void **result)
{
    struct cell *c = arg;
    struct error *err;
    *result = NULL;
    char state = get_state(c->get, c->y, c->x);
    int neighbors;
    if (!flags.async_neighbors)
        neighbors = count_neighbors(c->y, c->x, c->get);
    else if ((err = async_count_neighbors(c->y, c->x, c->get, &neighbors))) /* await */
        return err;
    char next_state;
    if ((err = async_game_logic(state, neighbors, c->y, c->x, &next_state))) /* await */
        return err;
    set_state(c->set, c->y, c->x, next_state);
    return NULL;
}

/* async def simulate(grid): returns the next grid. No LockingGrid: every
 * task runs in this one thread, and only while the others wait. */
AIO_COROUTINE(simulate)
static struct error *simulate(void *arg, void **result)
{
    struct grid *grid = arg;
    long width = grid->width, cells = grid->height * width;
    coro_stats_before(); /* --stats: VmRSS before this generation's tasks exist */
    struct grid *next_grid = grid_create(grid->height, width);
    struct cell *args = xcalloc((size_t)cells, sizeof *args);
    struct aio_task **tasks = xcalloc((size_t)cells, sizeof *tasks);

    struct error *err = NULL;
    long created = 0;
    for (; created < cells; created++) {
        args[created] = (struct cell){created / width, created % width, grid_getter(grid),
                                      grid_setter(next_grid)};
        if ((err = aio_create_task(&tasks[created], async_step_cell, &args[created]))) /* Fan out */
            break; /* no stack for one more task (OSError) */
    }
    if (!err && coro_stats_pending() && !(err = aio_sleep(0))) /* each task to its first await */
        coro_stats_report(cells);
    if (err) /* stop the tasks made so far; gather still waits for them: they use args */
        for (long i = 0; i < created; i++)
            aio_cancel(tasks[i]);
    struct error *raised = aio_gather(tasks, (size_t)created, NULL); /* Fan in */
    if (err)
        error_free(raised); /* the CancelledErrors we caused */
    else
        err = raised; /* the first step_cell that failed: gather re-raises it here */
    free(tasks);
    free(args);
    if (err) {
        grid_destroy(next_grid);
        return err;
    }
    *result = next_grid;
    return NULL;
}

/* One generation of the driving loop: grid = await simulate(grid), on the
 * loop that runs them all; --loop-per-generation, the book's
 * grid = asyncio.run(simulate(grid)), a loop built and closed each time. */
static struct error *next_generation(void *grid, void **next_grid)
{
    if (flags.loop_per_generation)
        return aio_run(simulate, grid, next_grid);
    return simulate(grid, next_grid);
}

int main(int argc, char **argv)
{
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    coro_life_start(&run, &flags, CORO_STACKFUL, argc, argv);
    /* simulate's arrays (5 MB at 100,000 cells) come back every generation:
     * keep them in the heap. By default glibc maps the first, unmaps it,
     * then moves its threshold, so generation 2 alone grows the heap and
     * takes a page fault per new page (1,262 at 100,000 cells, about 5 ms). */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);

    struct grid *grid = grid_create(run.opt.height, run.opt.width);
    life_seed(&run, grid_setter(grid));
    /* One loop for all generations (one task); the book starts and closes one per generation. */
    return coro_life_run(&run, grid, next_generation, !flags.loop_per_generation);
}
