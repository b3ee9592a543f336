/* game: see game.h. Sections: Grid, LockingGrid, get/set as functions, the
 * game, the simulated socket.
 *
 * Threads: a Grid is not synchronised: the book gives a Grid to several
 * threads only as a LockingGrid, or only to read it (the previous generation,
 * which nobody writes while the next one is computed). The socket's settings
 * are written once by socket_configure (life_start calls it), before any
 * thread exists, and only read afterwards (pthread_create orders the write
 * before every read).
 */
#include "game.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"

/* ==== Grid ==== */

struct grid *grid_create(long height, long width)
{
    struct grid *g = xmalloc(sizeof *g);
    g->height = height;
    g->width = width;
    g->cells = xmalloc((size_t)(height * width));
    memset(g->cells, EMPTY, (size_t)(height * width));
    return g;
}

void grid_destroy(struct grid *g)
{
    if (!g)
        return;
    free(g->cells);
    free(g);
}

void grid_set(struct grid *g, long y, long x, char state)
{
    g->cells[grid_wrap(y, g->height) * g->width + grid_wrap(x, g->width)] = state;
}

char *grid_str(const struct grid *g)
{
    size_t line = (size_t)g->width + 1;
    char *s = xmalloc(line * (size_t)g->height + 1);
    for (long y = 0; y < g->height; y++) {
        memcpy(s + (size_t)y * line, g->cells + y * g->width, (size_t)g->width);
        s[(size_t)y * line + (size_t)g->width] = '\n';
    }
    s[line * (size_t)g->height] = '\0';
    return s;
}

/* ==== LockingGrid (Item 57) ==== */

struct locking_grid *locking_grid_create(long height, long width)
{
    struct locking_grid *g = xmalloc(sizeof *g);
    struct grid *plain = grid_create(height, width);
    g->grid = *plain;
    free(plain); /* its cells now belong to g->grid */
    CHECK_PT(pthread_mutex_init(&g->lock, NULL));
    return g;
}

void locking_grid_destroy(struct locking_grid *g)
{
    if (!g)
        return;
    CHECK_PT(pthread_mutex_destroy(&g->lock));
    free(g->grid.cells);
    free(g);
}

char locking_grid_get(struct locking_grid *g, long y, long x)
{
    CHECK_PT(pthread_mutex_lock(&g->lock));
    char state = grid_get(&g->grid, y, x);
    CHECK_PT(pthread_mutex_unlock(&g->lock));
    return state;
}

void locking_grid_set(struct locking_grid *g, long y, long x, char state)
{
    CHECK_PT(pthread_mutex_lock(&g->lock));
    grid_set(&g->grid, y, x, state);
    CHECK_PT(pthread_mutex_unlock(&g->lock));
}

char *locking_grid_str(struct locking_grid *g)
{
    CHECK_PT(pthread_mutex_lock(&g->lock));
    char *s = grid_str(&g->grid);
    CHECK_PT(pthread_mutex_unlock(&g->lock));
    return s;
}

/* ==== get and set as functions ==== */

static void call_grid_set(void *self, long y, long x, char state)
{
    grid_set(self, y, x, state);
}

static char call_locking_grid_get(void *self, long y, long x)
{
    return locking_grid_get(self, y, x);
}

static void call_locking_grid_set(void *self, long y, long x, char state)
{
    locking_grid_set(self, y, x, state);
}

struct setter grid_setter(struct grid *g)
{
    return (struct setter){call_grid_set, g};
}

struct getter locking_grid_getter(struct locking_grid *g)
{
    return (struct getter){call_locking_grid_get, g};
}

struct setter locking_grid_setter(struct locking_grid *g)
{
    return (struct setter){call_locking_grid_set, g};
}

/* ==== the game (count_neighbors is in game.h) ==== */

char conway_rules(char state, int neighbors)
{
    if (state == ALIVE) {
        if (neighbors < 2)
            return EMPTY; /* Die: Too few */
        else if (neighbors > 3)
            return EMPTY; /* Die: Too many */
    } else {
        if (neighbors == 3)
            return ALIVE; /* Regenerate */
    }
    return state;
}

/* ==== the simulated socket ==== */

static struct {
    double latency;    /* seconds per round trip */
    struct yx fail_at; /* -1,-1: never */
    const char *fail_message;
} socket_settings = {0, {-1, -1}, "Problem with I/O"};

void socket_configure(double io_ms, struct yx fail_at, const char *fail_message)
{
    socket_settings.latency = io_ms / 1e3;
    socket_settings.fail_at = fail_at;
    socket_settings.fail_message = fail_message;
}

double socket_latency(void)
{
    return socket_settings.latency;
}

struct error *socket_reply(long y, long x)
{
    if (y == socket_settings.fail_at.y && x == socket_settings.fail_at.x)
        return error_new("OSError", "%s", socket_settings.fail_message);
    return NULL;
}

struct error *my_socket_recv(long y, long x)
{
    /* The round trip: a real blocking call, during which this thread holds
     * nothing (no lock, no GIL), so other threads' round trips overlap it. */
    clock_sleep(socket_latency());
    return socket_reply(y, x);
}

struct error *game_logic(char state, int neighbors, long y, long x, char *next_state)
{
    /* Do some blocking input/output in here: */
    struct error *err = my_socket_recv(y, x);
    if (err)
        return err;
    *next_state = conway_rules(state, neighbors);
    return NULL;
}

struct error *step_cell(long y, long x, struct getter get, struct setter set)
{
    char state = get_state(get, y, x);
    int neighbors = count_neighbors(y, x, get);
    char next_state;
    struct error *err = game_logic(state, neighbors, y, x, &next_state);
    if (err)
        return err;
    set_state(set, y, x, next_state);
    return NULL;
}
