/* stackless: Item 60 without a stack per cell (beyond the book). Each cell
 * is one small struct: a timer handle and a resume point for each async
 * function it is in. Callbacks on aio's loop layer step it, protothreads
 * style: the same thing a compiler makes of an async def, and close to how
 * CPython keeps a coroutine's frame on the heap.
 *
 *   ./item56-60/stackless                        the same columns as serial
 *   ./item56-60/stackless --height 250 --width 400 --io-ms 100 --generations 3 --stats
 *   ./item56-60/stackless --fail-at 2,3          the first error ends the run: exit 1
 *   ./item56-60/stackless --async-neighbors      count_neighbors gets 8 resume points
 *
 * Look for: --stats reports tens of bytes per waiting cell where coroutines
 * reports kilobytes (a stack page each). The price is in the code: every
 * function that waits, and every function that calls one, must save what it
 * needs in the cell, return PENDING, and continue from its resume point when
 * called again (see poll_step_cell). That is function colouring: make
 * count_neighbors wait and step_cell gains a resume point too.
 */
#include <stdlib.h>

#include "aio.h"
#include "check.h"
#include "coro_life.h"

enum poll { READY, PENDING }; /* what a step of an async function returns */

/* A cell's coroutine frame: everything it keeps across a wait. Its
 * coordinates are its index in the cells array. */
struct cell {
    struct aio_handle wakeup;         /* its one pending wait, stored here: no allocation */
    unsigned char step_cell_at;       /* where poll_step_cell resumes (0: at the top) */
    unsigned char game_logic_at;      /* where poll_game_logic resumes */
    unsigned char count_neighbors_at; /* poll_count_neighbors: the reads done so far, 0-8 */
    unsigned char neighbors;          /* step_cell's `neighbors` (count_neighbors' count) */
    char state;                       /* step_cell's `state`, then game_logic's result */
};

static struct coro_flags flags; /* --async-neighbors, --stats */

static struct {
    struct aio_loop *loop;
    struct grid *grid, *next_grid; /* this generation's */
    struct cell *cells;
    long pending;        /* cells still running this generation: the fan-in */
    struct error *error; /* the first error (gather's): it ends the run */
} sim;

static void resume(void *arg);

/* The await: schedule the cell's next step, and return to the loop. */
static enum poll suspend(struct cell *c, double seconds)
{
    if (seconds > 0)
        aio_call_later(sim.loop, &c->wakeup, seconds, resume, c);
    else
        aio_call_soon(sim.loop, &c->wakeup, resume, c);
    return PENDING;
}

/* async def count_neighbors(y, x, get), each read awaited: 8 resume points.
 * The switch jumps into the loop body (Duff's device, as protothreads do),
 * to just after the await where the cell left off. */
static enum poll poll_count_neighbors(struct cell *c, long y, long x)
{
    static const int dy[8] = {-1, -1, 0, 1, 1, 1, 0, -1}; /* N, NE, E, SE, S, SW, W, NW */
    static const int dx[8] = {0, 1, 1, 1, 0, -1, -1, -1};
    switch (c->count_neighbors_at) {
    case 0:
        c->neighbors = 0;
        for (c->count_neighbors_at = 1; c->count_neighbors_at <= 8; c->count_neighbors_at++) {
            return suspend(c, 0); /* await the read, then resume here: */
        default:
            if (grid_get(sim.grid, y + dy[c->count_neighbors_at - 1],
                         x + dx[c->count_neighbors_at - 1]) == ALIVE)
                c->neighbors++;
        }
    }
    c->count_neighbors_at = 0;
    return READY;
}

/* async def game_logic(state, neighbors): one resume point, after the round trip. */
static enum poll poll_game_logic(struct cell *c, long y, long x, struct error **err)
{
    if (c->game_logic_at == 0) {
        c->game_logic_at = 1;
        return suspend(c, socket_latency()); /* data = await my_socket.read(50) */
    }
    c->game_logic_at = 0;
    if (!(*err = socket_reply(y, x)))
        c->state = conway_rules(c->state, c->neighbors);
    return READY;
}

/* async def step_cell(y, x, get, set): it waits only in what it calls, yet
 * it needs resume points too, and so would anything that called it. */
static enum poll poll_step_cell(struct cell *c, struct error **err)
{
    long i = c - sim.cells, y = i / sim.grid->width, x = i % sim.grid->width;
    switch (c->step_cell_at) {
    case 0:
        c->state = grid_get(sim.grid, y, x);
        c->step_cell_at = 1;
        /* fall through */
    case 1: /* neighbors = await count_neighbors(y, x, get) */
        if (!flags.async_neighbors)
            c->neighbors = (unsigned char)count_neighbors(y, x, grid_getter(sim.grid));
        else if (poll_count_neighbors(c, y, x) == PENDING)
            return PENDING;
        c->step_cell_at = 2;
        /* fall through */
    case 2: /* next_state = await game_logic(state, neighbors) */
        if (poll_game_logic(c, y, x, err) == PENDING)
            return PENDING;
        if (!*err)
            grid_set(sim.next_grid, y, x, c->state);
    }
    c->step_cell_at = 0;
    return READY;
}

/* What a task's step is in asyncio: the loop calls this for a cell whose
 * wait is over. A finished cell counts down the fan-in. */
static void resume(void *arg)
{
    struct error *err = NULL;
    if (poll_step_cell(arg, &err) == PENDING)
        return;
    if (err && !sim.error)
        sim.error = err; /* gather keeps the first error; the other cells still finish */
    else
        error_free(err);
    if (--sim.pending == 0) /* Fan in: every cell is done */
        aio_loop_stop(sim.loop);
}

/* simulate(grid): a step for every cell (Fan out), then the loop runs
 * until the last cell's fan-in stops it. */
static struct error *simulate(void *arg, void **result)
{
    struct grid *grid = arg;
    long cells = grid->height * grid->width;
    if (!sim.loop && (sim.error = aio_loop_create(&sim.loop))) /* one loop for every generation */
        return sim.error;
    sim.grid = grid;
    sim.next_grid = grid_create(grid->height, grid->width);
    sim.pending = cells;
    for (long i = 0; i < cells; i++)
        aio_call_soon(sim.loop, &sim.cells[i].wakeup, resume, &sim.cells[i]);
    coro_stats_report_soon(sim.loop, cells); /* --stats: after every cell's first step */
    aio_loop_run_forever(sim.loop);
    if (sim.error)
        grid_destroy(sim.next_grid);
    else
        *result = sim.next_grid;
    return sim.error;
}

int main(int argc, char **argv)
{
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    coro_life_start(&run, &flags, CORO_STACKLESS, argc, argv);

    struct grid *grid = grid_create(run.opt.height, run.opt.width);
    life_seed(&run, grid_setter(grid));
    coro_stats_before(); /* --stats: VmRSS before the cells exist */
    sim.cells = xcalloc((size_t)(run.opt.height * run.opt.width), sizeof *sim.cells);
    int status = coro_life_run(&run, grid, simulate, false); /* simulate runs the loop */
    if (sim.loop)
        aio_loop_close(sim.loop);
    free(sim.cells);
    return status;
}
