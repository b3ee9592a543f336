/* pipeline: Item 58, a fixed set of worker threads fed through queues: the
 * main thread puts every cell on in_queue (fan out), 5 StoppableWorkers run
 * game_logic_thread, and the main thread takes every result off out_queue
 * (fan in). With --phased, a second pool of workers runs count_neighbors
 * too, which now also does I/O (the second half of Item 58).
 *
 *   ./item56-60/pipeline                 the same columns as serial
 *   ./item56-60/pipeline --io-ms 100     45 cells / 5 workers = 9 waves of 100 ms a generation
 *   ./item56-60/pipeline --fail-at 1,4   the error comes back through out_queue: exit 1
 *   ./item56-60/pipeline --phased --io-ms 100 --fail-at 1,4
 *   ./item56-60/pipeline --height 1 --width 1 --fail-at 0,0   the book's Grid(1, 1)
 *   ./item56-60/pipeline --after-error   that failure first, then the columns,
 *                                        on the same (drained) queues and workers
 *
 * Look for: with --fail-at, stderr shows the worker's OSError, then "The
 * above exception was the direct cause of the following exception:", then
 * SimulationError: (1, 4): the error was caught in the worker, carried
 * through the queue and raised again in the main thread. Count the lines it
 * took (item structs, two or three queues, two pools) against pool.c, which
 * does the same with submit() and result().
 */
#include <stdio.h>
#include <stdlib.h>

#include "cell_queue.h"
#include "check.h"
#include "life.h"

static bool after_error; /* --after-error: the book's Grid(1, 1) failure first */

/* ==== Item 58, first half: --workers threads (the book's 5) run game_logic ==== */

static void *game_logic_thread(void *arg, void *ctx)
{
    (void)ctx;
    struct cell_item *item = arg;
    if (item->error) /* count_neighbors failed: pass it along */
        return item;
    item->error = game_logic(item->state, item->neighbors, item->y, item->x, &item->next_state);
    return item;
}

static struct grid *simulate_pipeline(struct grid *grid, struct queue *in_queue,
                                      struct queue *out_queue, struct error **error)
{
    long cells = grid->height * grid->width;
    struct cell_item *items = xcalloc((size_t)cells, sizeof *items);
    for (long i = 0; i < cells; i++) {
        long y = i / grid->width, x = i % grid->width;
        items[i] = (struct cell_item){.y = y,
                                      .x = x,
                                      .state = grid_get(grid, y, x),
                                      .neighbors = count_neighbors(y, x, grid_getter(grid))};
        put_item(in_queue, &items[i]); /* Fan out */
    }
    queue_join(in_queue);

    /* Only this thread touches the grids: a plain Grid will do. */
    struct grid *next_grid = grid_create(grid->height, grid->width);
    *error = fan_in(out_queue, cells, grid_setter(next_grid)); /* Fan in */
    free(items);
    if (*error) {
        grid_destroy(next_grid);
        return NULL;
    }
    return next_grid;
}

/* --after-error, first: the book's simulate_pipeline(Grid(1, 1), in_queue,
 * out_queue) with game_logic raising, and the chain it raises on stderr. The
 * run then goes on with the same queues, drained by the fan-in, and the same
 * workers, as the book's next example does. The workers read the socket's
 * settings only after taking an item, so changing them here is ordered by
 * the queue. */
static void book_grid_1x1(const struct life_run *run, struct queue *in_queue,
                          struct queue *out_queue)
{
    socket_configure(run->opt.io_ms, (struct yx){0, 0}, run->opt.fail_message);
    struct grid *grid = grid_create(1, 1);
    struct error *err = NULL;
    struct grid *next_grid = simulate_pipeline(grid, in_queue, out_queue, &err);
    grid_destroy(grid);
    if (next_grid) /* cannot happen: its one cell fails */
        grid_destroy(next_grid);
    if (err) {
        error_print(stderr, err);
        error_free(err);
    }
    socket_configure(run->opt.io_ms, run->opt.fail_at, run->opt.fail_message);
}

static struct error *run_pipeline(struct life_run *run)
{
    struct queue *in_queue = queue_create(0), *out_queue = queue_create(0); /* ClosableQueue() */
    struct worker_threads threads;
    start_workers(&threads, run->opt.workers, game_logic_thread, in_queue, out_queue);
    if (after_error)
        book_grid_1x1(run, in_queue, out_queue);

    struct grid *grid = grid_create(run->opt.height, run->opt.width);
    life_seed(run, grid_setter(grid));
    struct error *err = NULL;
    for (long i = 0; i < run->opt.generations && !err; i++) {
        life_record(run, grid_str(grid));
        struct grid *next_grid = simulate_pipeline(grid, in_queue, out_queue, &err);
        grid_destroy(grid);
        grid = next_grid;
    }
    if (!err)
        life_record(run, grid_str(grid));
    grid_destroy(grid);

    stop_threads(in_queue, &threads); /* the book: in_queue.close() per thread, join */
    queue_destroy(in_queue);
    queue_destroy(out_queue);
    return err;
}

/* ==== Item 58, second half (--phased): count_neighbors does I/O too, so it
 * becomes a stage of its own, and its workers share the grid: a LockingGrid ==== */

static void *count_neighbors_thread(void *arg, void *ctx)
{
    (void)ctx;
    struct cell_item *item = arg;
    /* "Do some blocking input/output in here": the I/O the book adds to
     * count_neighbors, which makes this stage worth running in threads. */
    item->error = my_socket_recv(item->y, item->x);
    if (!item->error)
        item->neighbors = count_neighbors(item->y, item->x, item->get);
    return item; /* an error travels on to the next stage */
}

static struct locking_grid *simulate_phased_pipeline(struct locking_grid *grid,
                                                     struct queue *in_queue,
                                                     struct queue *logic_queue,
                                                     struct queue *out_queue, struct error **error)
{
    long height = grid->grid.height, width = grid->grid.width, cells = height * width;
    struct cell_item *items = xcalloc((size_t)cells, sizeof *items);
    for (long i = 0; i < cells; i++) {
        long y = i / width, x = i % width;
        items[i] = (struct cell_item){.y = y,
                                      .x = x,
                                      .state = locking_grid_get(grid, y, x),
                                      .get = locking_grid_getter(grid)};
        put_item(in_queue, &items[i]); /* Fan out */
    }
    queue_join(in_queue);
    queue_join(logic_queue); /* Pipeline sequencing */

    struct locking_grid *next_grid = locking_grid_create(height, width);
    *error = fan_in(out_queue, cells, locking_grid_setter(next_grid)); /* Fan in */
    free(items);
    if (*error) {
        locking_grid_destroy(next_grid);
        return NULL;
    }
    return next_grid;
}

static struct error *run_phased_pipeline(struct life_run *run)
{
    struct queue *in_queue = queue_create(0), *logic_queue = queue_create(0),
                 *out_queue = queue_create(0);
    struct worker_threads counters, deciders;
    start_workers(&counters, run->opt.workers, count_neighbors_thread, in_queue, logic_queue);
    start_workers(&deciders, run->opt.workers, game_logic_thread, logic_queue, out_queue);

    struct locking_grid *grid = locking_grid_create(run->opt.height, run->opt.width);
    life_seed(run, locking_grid_setter(grid));
    struct error *err = NULL;
    for (long i = 0; i < run->opt.generations && !err; i++) {
        life_record(run, locking_grid_str(grid));
        struct locking_grid *next_grid =
            simulate_phased_pipeline(grid, in_queue, logic_queue, out_queue, &err);
        locking_grid_destroy(grid);
        grid = next_grid;
    }
    if (!err)
        life_record(run, locking_grid_str(grid));
    locking_grid_destroy(grid);

    /* First stage first: once its workers are gone nothing feeds logic_queue. */
    stop_threads(in_queue, &counters);
    stop_threads(logic_queue, &deciders);
    queue_destroy(in_queue);
    queue_destroy(logic_queue);
    queue_destroy(out_queue);
    return err;
}

int main(int argc, char **argv)
{
    bool phased = false;
    const struct cli_flag extra[] = {
        {"--phased", CLI_SWITCH, &phased, 0, 0, NULL,
         "count_neighbors does I/O too: a second stage with its own workers"},
        {"--after-error", CLI_SWITCH, &after_error, 0, 0, NULL,
         "first the book's Grid(1, 1) failing at 0,0, then this run on the same queues and "
         "workers"},
        {0},
    };
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    run.opt.workers = 5; /* for _ in range(5): StoppableWorker(...) */
    run.opt.fail_message = "Problem with I/O in game_logic";
    run.opt.io_ms_help = "simulated I/O latency in game_logic (a real blocking call); with "
                         "--phased, in count_neighbors too";
    run.opt.fail_at_help = "the first I/O fails at this cell: game_logic's (\"Problem with I/O in "
                           "game_logic\"), with --phased count_neighbors' (\"... in "
                           "count_neighbors\")";
    life_start(&run, argc, argv, "Item 58: the Game of Life as a queue pipeline.", extra);
    if (phased && after_error) {
        fprintf(stderr, "pipeline: --after-error: not with --phased (it is the first half's "
                        "example)\nusage: pipeline [flags] (pipeline --help lists them)\n");
        life_abandon(&run);
        return 2;
    }
    if (phased) /* the first I/O a cell meets is now count_neighbors' */
        socket_configure(run.opt.io_ms, run.opt.fail_at, "Problem with I/O in count_neighbors");

    struct error *err = phased ? run_phased_pipeline(&run) : run_pipeline(&run);
    if (err) { /* raised in the main thread, with its cause */
        error_print(stderr, err);
        error_free(err);
        life_abandon(&run);
        return 1;
    }
    life_finish(&run);
    return 0;
}
