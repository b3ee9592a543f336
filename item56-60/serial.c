/* serial: Item 56's Game of Life, one cell after another in one thread.
 *
 *   ./item56-60/serial                  the glider, then generations 0-4 in columns
 *   ./item56-60/serial --io-ms 100      game_logic does 100 ms of blocking I/O per cell
 *   ./item56-60/serial --pattern item56-60/patterns/toad.cells --generations 2 --final
 *
 * Look for: with --io-ms 100, every generation takes 45 cells x 100 ms = 4.5
 * seconds (stderr), because each cell waits for the one before it. That is
 * the problem Items 57-60 solve by fanning the cells out; compare with
 * threaded, pipeline and pool, which print the same columns.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "life.h"

/* Fills a new grid from the old one: step_cell reads through grid.get and
 * writes through next_grid.set, so all cells move in lockstep. */
static struct error *simulate(struct grid *grid, struct grid **result)
{
    struct grid *next_grid = grid_create(grid->height, grid->width);
    for (long y = 0; y < grid->height; y++) {
        for (long x = 0; x < grid->width; x++) {
            struct error *err = step_cell(y, x, grid_getter(grid), grid_setter(next_grid));
            if (err) { /* Python: the exception leaves simulate() at once */
                grid_destroy(next_grid);
                return err;
            }
        }
    }
    *result = next_grid;
    return NULL;
}

int main(int argc, char **argv)
{
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    life_start(&run, argc, argv, "Item 56: the Game of Life, one cell at a time.", NULL);

    struct grid *grid = grid_create(run.opt.height, run.opt.width);
    life_seed(&run, grid_setter(grid));
    if (!run.opt.final) {
        char *text = grid_str(grid);
        printf("%s\n", text); /* print(grid): the rows, then print's own newline */
        free(text);
    }

    for (long i = 0; i < run.opt.generations; i++) {
        life_record(&run, grid_str(grid)); /* columns.append(str(grid)) */
        struct grid *next_grid;
        struct error *err = simulate(grid, &next_grid);
        if (err) { /* uncaught, as in Python: report it, exit 1 */
            fflush(stdout);
            error_print(stderr, err);
            error_free(err);
            grid_destroy(grid);
            life_abandon(&run);
            return 1;
        }
        grid_destroy(grid);
        grid = next_grid;
    }
    /* The book's loop simulates a fifth generation and throws it away; this
     * one prints the last generation it computed instead. */
    life_record(&run, grid_str(grid));
    grid_destroy(grid);
    life_finish(&run);
    return 0;
}
