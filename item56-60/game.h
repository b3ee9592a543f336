/* game: the Game of Life itself, as Items 56-60 share it: the grid, the
 * rules, the simulated socket. The harness that drives it (patterns, flags,
 * the column printer, the driving loop) is life.h, which includes this.
 *
 *   Python (Item 56, 57)                      C
 *   ---------------------------------------   -----------------------------------------
 *   ALIVE = '*', EMPTY = '-'                  ALIVE, EMPTY
 *   Grid(height, width)                       grid_create(h, w) / grid_destroy
 *   grid.get(y, x), grid.set(y, x, state)     grid_get, grid_set (wrap around: a torus)
 *   str(grid)                                 grid_str(g)  (malloc'd, one '\n' per row)
 *   LockingGrid(height, width)  (Item 57)     locking_grid_create / _get / _set / _str
 *   the bound method grid.get, passed as      struct getter {call, self}: get_state(get, y, x)
 *     count_neighbors(y, x, grid.get)
 *   the bound method next_grid.set            struct setter {call, self}: set_state(set, y, x, s)
 *   count_neighbors(y, x, get)                count_neighbors(y, x, get)
 *   game_logic(state, neighbors), with        game_logic(state, neighbors, y, x, &next)
 *     data = my_socket.recv(100) inside         returns NULL, or the I/O error it "raised"
 *   my_socket.recv(100)                       my_socket_recv(y, x): sleeps --io-ms, fails
 *                                               at --fail-at
 *   step_cell(y, x, get, set)                 step_cell(y, x, get, set): returns the error
 *
 * The book passes get and set as functions, not the Grid, so each later item
 * can change the grid (LockingGrid) or who calls step_cell (threads, a queue,
 * a pool, coroutines) without touching count_neighbors or step_cell. In C a
 * bound method is a function plus the object it is bound to: struct getter
 * and struct setter.
 *
 * game_logic needs the cell's coordinates, which the book's does not: they
 * address the simulated socket, so that --fail-at can make exactly one cell's
 * I/O fail whatever thread (or coroutine) runs it. For a variant whose I/O
 * is not a blocking call (Item 60's coroutines), the pieces are exported:
 * socket_latency() to wait for, socket_reply(y, x) for the outcome, and
 * conway_rules(state, neighbors) for the pure rules.
 */
#ifndef ITEM56_60_GAME_H
#define ITEM56_60_GAME_H

#include <pthread.h>
#include <stddef.h>

#include "error.h"

/* A cell's place: row y, column x (as the book's Grid.get(y, x) takes them). */
struct yx {
    long y, x;
};

#define ALIVE '*'
#define EMPTY '-'

/* ---- Grid and LockingGrid ---- */

struct grid {
    long height, width;
    char *cells; /* height rows of width states, row-major */
};

struct grid *grid_create(long height, long width); /* every cell EMPTY */
void grid_destroy(struct grid *g);
void grid_set(struct grid *g, long y, long x, char state);
char *grid_str(const struct grid *g); /* caller frees */

/* Python's y % height is never negative; C's % can be, so fold it back.
 * Most reads are on the grid already and skip the division (two a read,
 * nine reads a cell: a 64-bit division is tens of cycles). */
static inline long grid_wrap(long i, long n)
{
    if ((unsigned long)i < (unsigned long)n) /* 0 <= i < n, one comparison (n > 0) */
        return i;
    long r = i % n;
    return r < 0 ? r + n : r;
}

/* Inline, as are grid.get's bound method and count_neighbors below: see there. */
static inline char grid_get(const struct grid *g, long y, long x)
{
    return g->cells[grid_wrap(y, g->height) * g->width + grid_wrap(x, g->width)];
}

/* Item 57's LockingGrid: a Grid with one mutex held around get, set and str. */
struct locking_grid {
    struct grid grid; /* guarded by lock */
    pthread_mutex_t lock;
};

struct locking_grid *locking_grid_create(long height, long width);
void locking_grid_destroy(struct locking_grid *g);
char locking_grid_get(struct locking_grid *g, long y, long x);
void locking_grid_set(struct locking_grid *g, long y, long x, char state);
char *locking_grid_str(struct locking_grid *g);

/* ---- get and set as functions (bound methods) ---- */

struct getter {
    char (*call)(void *self, long y, long x);
    void *self;
};

struct setter {
    void (*call)(void *self, long y, long x, char state);
    void *self;
};

static inline char get_state(struct getter get, long y, long x)
{
    return get.call(get.self, y, x);
}

static inline void set_state(struct setter set, long y, long x, char state)
{
    set.call(set.self, y, x, state);
}

static inline char call_grid_get(void *self, long y, long x)
{
    return grid_get(self, y, x);
}

static inline struct getter grid_getter(struct grid *g) /* grid.get */
{
    return (struct getter){call_grid_get, g};
}

struct setter grid_setter(struct grid *g);                 /* grid.set */
struct getter locking_grid_getter(struct locking_grid *g); /* locking_grid.get */
struct setter locking_grid_setter(struct locking_grid *g); /* locking_grid.set */

/* ---- the game ---- */

/* How many of the 8 neighbours are ALIVE, read in the book's order:
 * N, NE, E, SE, S, SW, W, NW.
 *
 * It is here in the header, inline, with grid_get and grid_getter, so that a
 * caller who passes grid_getter(g) itself (stackless does) gets the 8 reads
 * compiled in place: the compiler can see which function the bound method
 * calls, and inlines it. Through a getter read from memory (coroutines keeps
 * it in each task's argument) or a LockingGrid's, each read is still a call.
 * Measured: stackless at 100,000 cells, 0.1110 -> 0.1088 s a generation. */
static inline int count_neighbors(long y, long x, struct getter get)
{
    char n_ = get_state(get, y - 1, x + 0); /* North */
    char ne = get_state(get, y - 1, x + 1); /* Northeast */
    char e_ = get_state(get, y + 0, x + 1); /* East */
    char se = get_state(get, y + 1, x + 1); /* Southeast */
    char s_ = get_state(get, y + 1, x + 0); /* South */
    char sw = get_state(get, y + 1, x - 1); /* Southwest */
    char w_ = get_state(get, y + 0, x - 1); /* West */
    char nw = get_state(get, y - 1, x - 1); /* Northwest */
    const char neighbor_states[] = {n_, ne, e_, se, s_, sw, w_, nw};
    int count = 0;
    for (size_t i = 0; i < sizeof neighbor_states; i++)
        if (neighbor_states[i] == ALIVE)
            count++;
    return count;
}

/* The rules alone (Item 56's game_logic before it did any I/O). */
char conway_rules(char state, int neighbors);

/* The simulated socket: configure it once, before any thread starts. */
void socket_configure(double io_ms, struct yx fail_at, const char *fail_message);
double socket_latency(void);                  /* seconds each round trip takes */
struct error *socket_reply(long y, long x);   /* NULL, or OSError at --fail-at */
struct error *my_socket_recv(long y, long x); /* a real blocking call: sleep, then reply */

/* The book's game_logic with its blocking I/O: the round trip for cell (y, x),
 * then the rules. Stores the next state and returns NULL, or returns the
 * error (next_state untouched). */
struct error *game_logic(char state, int neighbors, long y, long x, char *next_state);

/* get -> count_neighbors -> game_logic -> set. On error, set is not called. */
struct error *step_cell(long y, long x, struct getter get, struct setter set);

#endif
