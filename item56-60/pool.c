/* pool: Item 59, a ThreadPoolExecutor(max_workers=10) runs step_cell for
 * every cell (fan out: submit), and the main thread waits on each future in
 * order (fan in: result).
 *
 *   ./item56-60/pool                    the same columns as serial
 *   ./item56-60/pool --io-ms 100        45 cells / 10 workers = 5 waves: ~0.5 s per generation
 *   ./item56-60/pool --fail-at 1,4      result() re-raises the worker's error here: exit 1
 *   ./item56-60/pool --workers 45 --io-ms 100
 *
 * Look for: compared with threaded, the only changes are submit() instead of
 * pthread_create and result() instead of join, yet no thread is started per
 * generation, and an error now reaches the caller ("OSError: Problem with
 * I/O" on stderr, exit status 1). The price is the fixed number of workers:
 * time per generation = ceil(cells / workers) round trips. Compare with
 * pipeline (the same threads, much more code).
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "futures.h"
#include "life.h"

/* pool.submit(step_cell, y, x, grid.get, next_grid.set) */
struct step_cell_args {
    long y, x;
    struct getter get;
    struct setter set;
};

static struct error *run_step_cell(void *arg, void **result)
{
    struct step_cell_args *a = arg;
    *result = NULL; /* step_cell returns None */
    return step_cell(a->y, a->x, a->get, a->set);
}

/* The next generation, or NULL with *error set to what result() raised. */
static struct locking_grid *simulate_pool(struct executor *pool, struct locking_grid *grid,
                                          struct error **error)
{
    long height = grid->grid.height, width = grid->grid.width, cells = height * width;
    struct locking_grid *next_grid = locking_grid_create(height, width);
    struct step_cell_args *args = xcalloc((size_t)cells, sizeof *args);
    struct future **futures = xcalloc((size_t)cells, sizeof *futures);

    for (long i = 0; i < cells; i++) {
        args[i] = (struct step_cell_args){i / width, i % width, locking_grid_getter(grid),
                                          locking_grid_setter(next_grid)};
        futures[i] = executor_submit(pool, run_step_cell, &args[i]); /* Fan out */
        if (!futures[i])
            die_errno("executor_submit");
    }

    *error = NULL;
    for (long i = 0; i < cells; i++) {
        struct error *err = future_result(futures[i], NULL); /* Fan in */
        /* Python raises at the first failed result(); the other tasks still
         * run, and the with-block's shutdown waits for them. Here we wait
         * for them now, since they use args and next_grid, and keep the
         * first error to re-raise. */
        if (err && !*error)
            *error = err;
        else
            error_free(err);
        future_destroy(futures[i]);
    }
    free(futures);
    free(args);
    if (*error) {
        locking_grid_destroy(next_grid);
        return NULL;
    }
    return next_grid;
}

int main(int argc, char **argv)
{
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    run.opt.workers = 10; /* ThreadPoolExecutor(max_workers=10) */
    life_start(&run, argc, argv, "Item 59: the Game of Life on a ThreadPoolExecutor.", NULL);

    struct locking_grid *grid = locking_grid_create(run.opt.height, run.opt.width);
    life_seed(&run, locking_grid_setter(grid));
    struct executor *pool = thread_pool_create((int)run.opt.workers);
    if (!pool)
        die_errno("thread_pool_create(%ld)", run.opt.workers);

    struct error *err = NULL;
    for (long i = 0; i < run.opt.generations && !err; i++) {
        life_record(&run, locking_grid_str(grid));
        struct locking_grid *next_grid = simulate_pool(pool, grid, &err);
        locking_grid_destroy(grid);
        grid = next_grid;
    }
    if (!err)
        life_record(&run, locking_grid_str(grid));
    executor_destroy(pool); /* leaving `with ThreadPoolExecutor(...)`: shutdown(wait=True) */
    locking_grid_destroy(grid);
    if (err) {
        error_print(stderr, err); /* the worker's error, raised again in this thread */
        error_free(err);
        life_abandon(&run);
        return 1;
    }
    life_finish(&run);
    return 0;
}
