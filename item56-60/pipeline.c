/* pipeline: Item 58, a fixed set of worker threads fed through queues: the
 * main thread puts every cell on in_queue (fan out), 5 StoppableWorkers run
 * game_logic_thread, and the main thread takes every result off out_queue
 * (fan in). With --phased, a second pool of workers runs count_neighbors
 * too, which now also does I/O (the second half of Item 58).
 *
 *   ./item56-60/pipeline                 the same columns as serial
 *   ./item56-60/pipeline --io-ms 100     45 cells / 5 workers = 9 waves: ~0.9 s per generation
 *   ./item56-60/pipeline --fail-at 1,4   the error comes back through out_queue: exit 1
 *   ./item56-60/pipeline --phased --io-ms 100 --fail-at 1,4
 *
 * Look for: with --fail-at, stderr shows the worker's OSError, then "The
 * above exception was the direct cause of the following exception:", then
 * SimulationError: (1, 4): the error was caught in the worker, carried
 * through the queue and raised again in the main thread. Count the lines it
 * took (item structs, two or three queues, two pools) against pool.c, which
 * does the same with submit() and result().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "life.h"
#include "queue.h"
#include "worker.h"

/* One cell's trip through the pipeline. The book sends tuples:
 * (y, x, state, neighbors) or (y, x, state, get) in, (y, x, next_state) out,
 * where next_state may be the exception. Here one struct per cell makes the
 * whole trip and each stage fills in its part. */
struct cell_item {
    long y, x;
    char state;
    struct getter get; /* --phased: count_neighbors runs in a worker */
    int neighbors;
    char next_state;
    struct error *error; /* the exception a stage caught, instead of a result */
};

/* ==== the plumbing both halves share: queues, fan out, fan in, workers ==== */

static void put_item(struct queue *q, struct cell_item *item)
{
    enum queue_status status = queue_put(q, item);
    if (status != QUEUE_OK)
        die("queue_put: %s", queue_strstatus(status));
}

/* Take all `cells` results off out_queue; set each new state through set.
 * The book closes out_queue and iterates until the close, then raises at
 * the first error, leaving the rest (and its stop marker) queued. Our close
 * is final (Python 3.13's shutdown), and in_queue.join() has already made
 * every result arrive, so we take exactly `cells` items, and after an error
 * keep taking them: the queue is empty for the next generation or for a
 * clean stop. Returns SimulationError(y, x) from the first error, or NULL. */
static struct error *fan_in(struct queue *out_queue, long cells, struct setter set)
{
    struct error *raised = NULL;
    for (long i = 0; i < cells; i++) {
        void *result;
        enum queue_status status = queue_get(out_queue, &result);
        if (status != QUEUE_OK)
            die("queue_get: %s", queue_strstatus(status));
        struct cell_item *item = result;
        if (item->error && !raised)
            raised = error_from(item->error, "SimulationError", "(%ld, %ld)", item->y, item->x);
        else if (item->error)
            error_free(item->error);
        else if (!raised)
            set_state(set, item->y, item->x, item->next_state);
        item->error = NULL;
    }
    return raised;
}

static void start_workers(struct worker_threads *threads, long count, worker_fn *func,
                          struct queue *in_queue, struct queue *out_queue)
{
    int err = start_threads(threads, (size_t)count, func, NULL, in_queue, out_queue);
    if (err) { /* die() ends the process, and with it the workers that did start */
        errno = err;
        die_errno("start_threads: started %zu of %ld workers", threads->count, count);
    }
}

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

static struct error *run_pipeline(struct life_run *run)
{
    struct queue *in_queue = queue_create(0), *out_queue = queue_create(0); /* ClosableQueue() */
    struct worker_threads threads;
    start_workers(&threads, run->opt.workers, game_logic_thread, in_queue, out_queue);

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
        {0},
    };
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    run.opt.workers = 5; /* for _ in range(5): StoppableWorker(...) */
    run.opt.fail_message = "Problem with I/O in game_logic";
    life_start(&run, argc, argv, "Item 58: the Game of Life as a queue pipeline.", extra);
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
