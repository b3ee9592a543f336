/* threaded: Item 57, one new thread per cell per generation (fan out), all
 * joined before the next generation (fan in), on a LockingGrid.
 *
 *   ./item56-60/threaded                          the same columns as serial
 *   ./item56-60/threaded --io-ms 100              ~0.1 s per generation instead of 4.5 s
 *   ./item56-60/threaded --fail-at 1,4            an error is printed by its thread, and lost
 *   ./item56-60/threaded --height 100 --width 100 --io-ms 100 --generations 2
 *
 * Look for: with --io-ms the 45 round trips overlap, so a generation takes
 * about one round trip. With --fail-at, stderr shows "Exception in thread
 * Thread-N (step_cell):" and "OSError: Problem with I/O", yet join() succeeds
 * and the program prints its columns and exits 0: the cell silently stayed
 * empty. With 10,000 cells, stderr shows how long starting 10,000 threads
 * per generation takes, and how many were alive at once. Compare with
 * pipeline and pool, which keep a fixed set of threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "life.h"

/* Python gives each thread 8 MiB of address space (Linux's default): address
 * space, not memory, so even 10,000 of them (80 GiB) fit in a 64-bit process.
 * 64 KiB is plenty for step_cell and a message, and keeps 10,000 threads
 * inside a 640 MiB `ulimit -v` (README: the book's "8 MB per thread"). */
#define THREAD_STACK_SIZE (64 * 1024)

/* Thread(target=step_cell, args=(y, x, grid.get, next_grid.set)) */
struct cell_thread {
    pthread_t thread;
    long number; /* Python's "Thread-N": threads started so far, this one included */
    long y, x;
    struct getter get;
    struct setter set;
};

static atomic_long alive;    /* threads running step_cell right now */
static atomic_long peak;     /* the most that ever were at once */
static long threads_started; /* Python's thread counter: only the main thread counts */

static void thread_started(void)
{
    long now = atomic_fetch_add(&alive, 1) + 1;
    long seen = atomic_load(&peak);
    while (now > seen && !atomic_compare_exchange_weak(&peak, &seen, now))
        ; /* another thread raised the peak meanwhile: compare with its value */
}

static void *run_step_cell(void *arg)
{
    struct cell_thread *t = arg;
    thread_started();
    struct error *err = step_cell(t->y, t->x, t->get, t->set);
    if (err) {
        /* What threading.excepthook does: print, and let the thread end.
         * Nothing carries the error to the thread that joins this one. */
        flockfile(stderr);
        fprintf(stderr, "Exception in thread Thread-%ld (step_cell):\n", t->number);
        error_print(stderr, err);
        funlockfile(stderr);
        error_free(err);
    }
    atomic_fetch_sub(&alive, 1);
    return NULL;
}

/* A number from /proc/sys, or -1. */
static long sysctl_value(const char *path)
{
    long value = -1;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &value) != 1)
            value = -1;
        fclose(f);
    }
    return value;
}

/* EAGAIN from pthread_create: not "out of memory" (a stack is address space,
 * and only its touched pages are memory), but one of the system's ceilings. */
static void name_the_ceilings(void)
{
    fprintf(stderr,
            "threaded: one thread per cell does not scale: the system's ceilings are "
            "kernel.pid_max (%ld: a thread takes an id while it runs), kernel.threads-max (%ld), "
            "vm.max_map_count (%ld: each stack takes two mappings until its thread is joined), "
            "ulimit -u and ulimit -v; try a smaller grid\n",
            sysctl_value("/proc/sys/kernel/pid_max"), sysctl_value("/proc/sys/kernel/threads-max"),
            sysctl_value("/proc/sys/vm/max_map_count"));
}

static struct locking_grid *simulate_threaded(struct locking_grid *grid, long generation)
{
    long height = grid->grid.height, width = grid->grid.width, cells = height * width;
    struct locking_grid *next_grid = locking_grid_create(height, width);
    struct cell_thread *threads = xcalloc((size_t)cells, sizeof *threads);
    pthread_attr_t attr;
    CHECK_PT(pthread_attr_init(&attr));
    CHECK_PT(pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE));

    long started = 0, failed = 0;
    for (long y = 0; y < height && !failed; y++) {
        for (long x = 0; x < width; x++) {
            struct cell_thread *t = &threads[started];
            *t = (struct cell_thread){.number = threads_started + 1,
                                      .y = y,
                                      .x = x,
                                      .get = locking_grid_getter(grid),
                                      .set = locking_grid_setter(next_grid)};
            int err = pthread_create(&t->thread, &attr, run_step_cell, t); /* Fan out */
            if (err) {
                failed = err;
                fprintf(stderr,
                        "threaded: cannot start thread %ld of %ld (cell %ld,%ld) in generation "
                        "%ld: pthread_create: %s (%s)\n",
                        started + 1, cells, y, x, generation, strerrorname_np(err), strerror(err));
                break;
            }
            started++;
            threads_started++;
        }
    }
    for (long i = 0; i < started; i++)
        CHECK_PT(pthread_join(threads[i].thread, NULL)); /* Fan in */
    CHECK_PT(pthread_attr_destroy(&attr));
    free(threads);
    if (failed) {
        if (failed == EAGAIN)
            name_the_ceilings();
        locking_grid_destroy(next_grid);
        return NULL;
    }
    return next_grid;
}

int main(int argc, char **argv)
{
    struct life_run run = {.opt = LIFE_OPTIONS_DEFAULTS};
    life_start(&run, argc, argv, "Item 57: the Game of Life with a new thread for every cell.",
               NULL);

    struct locking_grid *grid = locking_grid_create(run.opt.height, run.opt.width);
    life_seed(&run, locking_grid_setter(grid));
    for (long i = 0; i < run.opt.generations; i++) {
        life_record(&run, locking_grid_str(grid));
        struct locking_grid *next_grid = simulate_threaded(grid, i + 1);
        locking_grid_destroy(grid);
        if (!next_grid) {
            life_abandon(&run);
            return 1;
        }
        grid = next_grid;
    }
    life_record(&run, locking_grid_str(grid));
    locking_grid_destroy(grid);
    if (life_timed(&run))
        fprintf(stderr, "Peak threads alive: %ld\n", atomic_load(&peak));
    life_finish(&run);
    return 0;
}
