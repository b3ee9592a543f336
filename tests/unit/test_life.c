/* test_life: item56-60/game.c and life.c, with the book's assert-only examples of Item 56.
 *
 *   tests/unit/test_life            run every case
 *   tests/unit/test_life NAME...    run the named ones (driven by tests/item56-60.bats)
 *   tests/unit/test_life --list     the case names
 *
 * The cases of tests/unit/expect.h: "ok NAME" for each that passes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "expect.h"
#include "life.h"

/* ---- a fake grid, as the book's tests build one from a set of live cells ---- */

#define MAX_FAKE 16

struct fake_grid {
    struct yx alive[MAX_FAKE]; /* the set of live cells */
    size_t alive_count;
    struct yx seen[MAX_FAKE]; /* every position get() was called with, in order */
    size_t seen_count;
    char new_state; /* what set() was last given */
};

static bool fake_is_alive(const struct fake_grid *g, long y, long x)
{
    for (size_t i = 0; i < g->alive_count; i++)
        if (g->alive[i].y == y && g->alive[i].x == x)
            return true;
    return false;
}

static char fake_get(void *self, long y, long x)
{
    struct fake_grid *g = self;
    if (g->seen_count < MAX_FAKE)
        g->seen[g->seen_count++] = (struct yx){y, x};
    return fake_is_alive(g, y, x) ? ALIVE : EMPTY;
}

static void fake_set(void *self, long y, long x, char state)
{
    (void)y, (void)x;
    ((struct fake_grid *)self)->new_state = state;
}

static void fake_add(struct fake_grid *g, long y, long x)
{
    g->alive[g->alive_count++] = (struct yx){y, x};
}

static void fake_remove(struct fake_grid *g, long y, long x)
{
    for (size_t i = 0; i < g->alive_count; i++)
        if (g->alive[i].y == y && g->alive[i].x == x)
            g->alive[i] = g->alive[--g->alive_count];
}

/* ---- Item 56, Example 4: count_neighbors ---- */

static void test_count_neighbors(void)
{
    struct fake_grid g = {0};
    fake_add(&g, 9, 5);
    fake_add(&g, 9, 6);
    struct getter get = {fake_get, &g};
    EXPECT(count_neighbors(10, 5, get) == 2);
    /* seen == {(9,5), (9,6), (10,6), (11,6), (11,5), (11,4), (10,4), (9,4)},
     * and in the book's order: N, NE, E, SE, S, SW, W, NW. */
    const struct yx order[8] = {{9, 5},  {9, 6},  {10, 6}, {11, 6},
                                {11, 5}, {11, 4}, {10, 4}, {9, 4}};
    EXPECT(g.seen_count == 8);
    for (size_t i = 0; i < 8; i++)
        EXPECT(g.seen[i].y == order[i].y && g.seen[i].x == order[i].x);
}

static void test_count_neighbors_all(void)
{
    for (int mask = 0; mask < 256; mask++) {
        struct fake_grid g = {0};
        const long dy[8] = {-1, -1, 0, 1, 1, 1, 0, -1}, dx[8] = {0, 1, 1, 1, 0, -1, -1, -1};
        int want = 0;
        for (int i = 0; i < 8; i++)
            if (mask & (1 << i)) {
                fake_add(&g, 3 + dy[i], 3 + dx[i]);
                want++;
            }
        fake_add(&g, 3, 3); /* the cell itself is not its own neighbour */
        EXPECT(count_neighbors(3, 3, (struct getter){fake_get, &g}) == want);
    }
}

/* ---- Item 56, Example 5: game_logic ---- */

static char logic(char state, int neighbors)
{
    char next = '?';
    struct error *err = game_logic(state, neighbors, 0, 0, &next);
    EXPECT(err == NULL);
    EXPECT(next == conway_rules(state, neighbors));
    return next;
}

static void test_game_logic(void)
{
    socket_configure(0, (struct yx){-1, -1}, "Problem with I/O");
    EXPECT(logic(ALIVE, 0) == EMPTY); /* Die: too few */
    EXPECT(logic(ALIVE, 1) == EMPTY);
    EXPECT(logic(ALIVE, 2) == ALIVE); /* Stay alive */
    EXPECT(logic(ALIVE, 3) == ALIVE);
    EXPECT(logic(ALIVE, 4) == EMPTY); /* Die: too many */
    EXPECT(logic(EMPTY, 0) == EMPTY);
    EXPECT(logic(EMPTY, 1) == EMPTY);
    EXPECT(logic(EMPTY, 2) == EMPTY);
    EXPECT(logic(EMPTY, 3) == ALIVE); /* Regenerate */
    EXPECT(logic(EMPTY, 4) == EMPTY);
    for (int n = 4; n <= 8; n++) {
        EXPECT(logic(ALIVE, n) == EMPTY);
        EXPECT(logic(EMPTY, n) == EMPTY);
    }
}

/* ---- Item 56, Example 6: step_cell ---- */

static void test_step_cell(void)
{
    socket_configure(0, (struct yx){-1, -1}, "Problem with I/O");
    struct fake_grid g = {0};
    struct getter get = {fake_get, &g};
    struct setter set = {fake_set, &g};
    fake_add(&g, 10, 5);
    fake_add(&g, 9, 5);
    fake_add(&g, 9, 6);
    EXPECT(step_cell(10, 5, get, set) == NULL);
    EXPECT(g.new_state == ALIVE); /* Stay alive */
    fake_remove(&g, 10, 5);
    EXPECT(step_cell(10, 5, get, set) == NULL);
    EXPECT(g.new_state == EMPTY); /* Stay dead */
    fake_add(&g, 10, 6);
    EXPECT(step_cell(10, 5, get, set) == NULL);
    EXPECT(g.new_state == ALIVE); /* Regenerate */
}

/* ---- the simulated socket ---- */

static void test_io_failure(void)
{
    socket_configure(0, (struct yx){2, 3}, "Problem with I/O");
    char next = '?';
    struct error *err = game_logic(ALIVE, 3, 2, 3, &next);
    EXPECT(err != NULL);
    EXPECT(strcmp(err->type, "OSError") == 0);
    EXPECT(strcmp(err->message, "Problem with I/O") == 0);
    EXPECT(next == '?'); /* untouched */
    error_free(err);
    EXPECT(game_logic(ALIVE, 3, 3, 2, &next) == NULL); /* other cells are fine */
    EXPECT(next == ALIVE);

    /* step_cell does not set a cell whose game_logic failed */
    struct fake_grid g = {.new_state = '?'};
    err = step_cell(2, 3, (struct getter){fake_get, &g}, (struct setter){fake_set, &g});
    EXPECT(err != NULL && g.new_state == '?');
    error_free(err);

    socket_configure(0, (struct yx){0, 0}, "Problem with I/O in game_logic");
    err = my_socket_recv(0, 0);
    EXPECT(err && strcmp(err->message, "Problem with I/O in game_logic") == 0);
    error_free(err);
    socket_configure(0, (struct yx){-1, -1}, "Problem with I/O");
}

static void test_io_latency(void)
{
    socket_configure(20, (struct yx){-1, -1}, "Problem with I/O");
    EXPECT(socket_latency() == 0.020);
    double t0 = clock_now();
    char next;
    EXPECT(game_logic(EMPTY, 3, 0, 0, &next) == NULL);
    EXPECT(clock_now() - t0 >= 0.020); /* a sleep never ends early */
    socket_configure(0, (struct yx){-1, -1}, "Problem with I/O");
}

/* ---- Grid ---- */

static void test_grid_wraps(void)
{
    struct grid *g = grid_create(5, 9);
    grid_set(g, 0, 3, ALIVE);
    EXPECT(grid_get(g, 0, 3) == ALIVE);
    EXPECT(grid_get(g, 5, 12) == ALIVE);  /* y % 5, x % 9 */
    EXPECT(grid_get(g, -5, -6) == ALIVE); /* Python's modulo: never negative */
    EXPECT(grid_get(g, -10, 21) == ALIVE);
    grid_set(g, -1, -1, ALIVE);
    EXPECT(grid_get(g, 4, 8) == ALIVE);
    char *s = grid_str(g);
    EXPECT(strcmp(s, "---*-----\n---------\n---------\n---------\n--------*\n") == 0);
    free(s);
    grid_destroy(g);
}

struct painter {
    struct locking_grid *grid;
    long row;
};

static void *paint_row(void *arg)
{
    struct painter *p = arg;
    for (int round = 0; round < 100; round++)
        for (long x = 0; x < p->grid->grid.width; x++) {
            locking_grid_set(p->grid, p->row, x, round % 2 ? EMPTY : ALIVE);
            (void)locking_grid_get(p->grid, p->row + 1, x); /* the other thread's row */
        }
    return NULL;
}

static void test_locking_grid(void)
{
    /* Two threads write and read the same LockingGrid; ThreadSanitizer
     * (make check) would report a race if the lock did not cover it. */
    struct locking_grid *g = locking_grid_create(2, 9);
    struct painter a = {g, 0}, b = {g, 1};
    pthread_t ta, tb;
    CHECK_PT(pthread_create(&ta, NULL, paint_row, &a));
    CHECK_PT(pthread_create(&tb, NULL, paint_row, &b));
    for (int i = 0; i < 50; i++)
        free(locking_grid_str(g));
    CHECK_PT(pthread_join(ta, NULL));
    CHECK_PT(pthread_join(tb, NULL));
    char *s = locking_grid_str(g);
    EXPECT(strcmp(s, "---------\n---------\n") == 0); /* round 99 wrote EMPTY */
    free(s);
    locking_grid_destroy(g);
}

/* ---- ColumnPrinter ---- */

/* Print the columns to a string. */
static char *print_columns(const struct column_printer *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f != NULL);
    column_printer_print(p, f);
    EXPECT(fclose(f) == 0);
    return buf;
}

static void test_columns_book(void)
{
    struct column_printer p;
    column_printer_init(&p);
    column_printer_append(&p, xstrdup("---*-----\n----*----\n"));
    column_printer_append(&p, xstrdup("---------\n--*-*----\n"));
    char *s = print_columns(&p);
    /* The book's header: 4 spaces, the index, 4 spaces (trailing ones kept). */
    EXPECT(strcmp(s, "    0     |     1    \n"
                     "---*----- | ---------\n"
                     "----*---- | --*-*----\n") == 0);
    free(s);
    column_printer_fini(&p);
}

/* Every line equally long, and every " | " at the same offsets. */
static void expect_aligned(const char *s)
{
    const char *first_end = strchr(s, '\n');
    REQUIRE(first_end != NULL);
    size_t width = (size_t)(first_end - s);
    for (const char *line = s; *line;) {
        const char *end = strchr(line, '\n');
        REQUIRE(end != NULL);
        EXPECT((size_t)(end - line) == width);
        for (size_t i = 0; i + 3 <= width; i++)
            EXPECT((strncmp(line + i, " | ", 3) == 0) == (strncmp(s + i, " | ", 3) == 0));
        line = end + 1;
    }
}

static void test_columns_aligned(void)
{
    const char *grids[] = {"--\n**\n", "*\n-\n", "----------\n"};
    for (size_t k = 0; k < sizeof grids / sizeof *grids; k++) {
        struct column_printer p;
        column_printer_init(&p);
        for (int c = 0; c < 12; c++) /* indices 10 and 11 have two digits */
            column_printer_append(&p, xstrdup(grids[k]));
        char *s = print_columns(&p);
        expect_aligned(s);
        free(s);
        column_printer_fini(&p);
    }
    /* An even width: the index sits at (width - 1) / 2, as close to the
     * middle as a single character can. */
    struct column_printer p;
    column_printer_init(&p);
    column_printer_append(&p, xstrdup("----------\n"));
    char *s = print_columns(&p);
    EXPECT(strcmp(s, "    0     \n----------\n") == 0);
    free(s);
    column_printer_fini(&p);
}

static void test_columns_ragged(void)
{
    /* Columns of different heights and widths (the book raises IndexError):
     * the short column is padded with spaces, the header with its index. */
    struct column_printer p;
    column_printer_init(&p);
    column_printer_append(&p, xstrdup("*\n-\n-\n"));
    column_printer_append(&p, xstrdup("---\n"));
    column_printer_append(&p, xstrdup("")); /* no lines at all: as wide as its index */
    char *s = print_columns(&p);
    EXPECT(strcmp(s, "0 |  1  | 2\n"
                     "* | --- |  \n"
                     "- |     |  \n"
                     "- |     |  \n") == 0);
    free(s);
    column_printer_fini(&p);
}

/* ---- the driver ---- */

static const struct expect_case cases[] = {
    {"count_neighbors", test_count_neighbors}, {"count_neighbors_all", test_count_neighbors_all},
    {"game_logic", test_game_logic},           {"step_cell", test_step_cell},
    {"io_failure", test_io_failure},           {"io_latency", test_io_latency},
    {"grid_wraps", test_grid_wraps},           {"locking_grid", test_locking_grid},
    {"columns_book", test_columns_book},       {"columns_aligned", test_columns_aligned},
    {"columns_ragged", test_columns_ragged},
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
