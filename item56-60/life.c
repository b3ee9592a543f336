/* life: see life.h. Sections: Grid, LockingGrid, get/set as functions, the
 * game, the simulated socket, ColumnPrinter, patterns, the command line and
 * the driving loop.
 *
 * Threads: a Grid is not synchronised: the book gives a Grid to several
 * threads only as a LockingGrid, or only to read it (the previous generation,
 * which nobody writes while the next one is computed). The socket's settings
 * are written once by life_start, before any thread exists, and only read
 * afterwards (pthread_create orders the write before every read).
 */
#include "life.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"

#define MAX_SIDE 1000            /* --height and --width: up to 1,000,000 cells */
#define MAX_GENERATIONS 1000000L /* --generations */
#define MAX_IO_MS 60000.0        /* --io-ms: a minute per round trip is plenty */

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

/* Python's y % height is never negative; C's % can be, so fold it back. */
static long wrap(long i, long n)
{
    long r = i % n;
    return r < 0 ? r + n : r;
}

char grid_get(const struct grid *g, long y, long x)
{
    return g->cells[wrap(y, g->height) * g->width + wrap(x, g->width)];
}

void grid_set(struct grid *g, long y, long x, char state)
{
    g->cells[wrap(y, g->height) * g->width + wrap(x, g->width)] = state;
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

static char call_grid_get(void *self, long y, long x)
{
    return grid_get(self, y, x);
}

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

struct getter grid_getter(struct grid *g)
{
    return (struct getter){call_grid_get, g};
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

/* ==== the game ==== */

int count_neighbors(long y, long x, struct getter get)
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
    double latency;        /* seconds per round trip */
    struct cli_yx fail_at; /* -1,-1: never */
    const char *fail_message;
} socket_settings = {0, {-1, -1}, "Problem with I/O"};

void socket_configure(double io_ms, struct cli_yx fail_at, const char *fail_message)
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

/* ==== ColumnPrinter ==== */

void column_printer_init(struct column_printer *p)
{
    *p = (struct column_printer){0};
}

void column_printer_append(struct column_printer *p, char *text)
{
    if (p->count == p->capacity) {
        p->capacity = p->capacity ? 2 * p->capacity : 8;
        p->columns = xrealloc(p->columns, p->capacity * sizeof *p->columns);
    }
    p->columns[p->count++] = text;
}

/* Line `i` of text (0-based) as a pointer and a length; length 0 past the end. */
static const char *nth_line(const char *text, size_t i, size_t *len)
{
    for (; i > 0 && *text; i--) {
        const char *nl = strchr(text, '\n');
        text = nl ? nl + 1 : text + strlen(text);
    }
    *len = strcspn(text, "\n");
    return text;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *s = text; *s; n++) {
        const char *nl = strchr(s, '\n');
        s = nl ? nl + 1 : s + strlen(s);
    }
    return n;
}

void column_printer_print(const struct column_printer *p, FILE *f)
{
    if (p->count == 0)
        return;
    /* A column is as wide as its widest line or its index, whichever is
     * wider. The book centres the index with len(first line) // 2 spaces on
     * *both* sides, which is one too wide for even widths and grows with the
     * index's digits; here the two sides add up to the column's width. */
    size_t *widths = xcalloc(p->count, sizeof *widths);
    size_t rows = 0, line_len = 0;
    for (size_t c = 0; c < p->count; c++) {
        size_t lines = count_lines(p->columns[c]);
        widths[c] = (size_t)snprintf(NULL, 0, "%zu", c);
        for (size_t i = 0; i < lines; i++) {
            size_t len;
            nth_line(p->columns[c], i, &len);
            if (len > widths[c])
                widths[c] = len;
        }
        rows = lines > rows ? lines : rows;
        line_len += widths[c] + 3;
    }
    char *line = xmalloc(line_len + 2);
    for (size_t r = 0; r <= rows; r++) { /* row 0 is the header */
        char *out = line;
        for (size_t c = 0; c < p->count; c++) {
            if (c > 0)
                out += sprintf(out, " | ");
            if (r == 0) {
                int digits = snprintf(NULL, 0, "%zu", c);
                int left = (int)(widths[c] - (size_t)digits) / 2;
                int right = (int)widths[c] - digits - left;
                out += sprintf(out, "%*s%zu%*s", left, "", c, right, "");
            } else {
                size_t len;
                const char *text = nth_line(p->columns[c], r - 1, &len);
                out += sprintf(out, "%-*.*s", (int)widths[c], (int)len, text);
            }
        }
        *out++ = '\n';
        *out = '\0';
        fputs(line, f); /* one line, one write */
    }
    free(line);
    free(widths);
}

void column_printer_fini(struct column_printer *p)
{
    for (size_t c = 0; c < p->count; c++)
        free(p->columns[c]);
    free(p->columns);
    *p = (struct column_printer){0};
}

/* ==== patterns ==== */

/* The book's glider, at its place on the book's grid: (0,3), (1,4), (2,2),
 * (2,3), (2,4). */
static const struct cli_yx book_glider[] = {{0, 3}, {1, 4}, {2, 2}, {2, 3}, {2, 4}};

static void pattern_add(struct pattern *p, size_t *capacity, long y, long x)
{
    if (p->count == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 16;
        p->alive = xrealloc(p->alive, *capacity * sizeof *p->alive);
    }
    p->alive[p->count++] = (struct cli_yx){y, x};
}

/* Read a plaintext .cells file: '!' lines are comments; other lines hold 'O'
 * (or '*') for alive and '.' for dead, shorter lines are padded with dead
 * cells. Returns false with a message in err. */
static bool pattern_load(const char *path, struct pattern *p, char *err, size_t errlen)
{
    *p = (struct pattern){.name = path};
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return false;
    }
    size_t capacity = 0, bufsize = 0;
    char *buf = NULL;
    long lineno = 0, row = 0, last_nonempty = 0;
    ssize_t n;
    bool ok = true;
    while (ok && (n = getline(&buf, &bufsize, f)) != -1) {
        lineno++;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        if (buf[0] == '!')
            continue;
        for (ssize_t x = 0; x < n; x++) {
            unsigned char c = (unsigned char)buf[x];
            if (c == 'O' || c == '*') {
                pattern_add(p, &capacity, row, x);
            } else if (c != '.') {
                if (c >= 0x20 && c < 0x7f)
                    snprintf(
                        err, errlen,
                        "line %ld: unexpected character '%c' (alive is 'O' or '*', dead is '.')",
                        lineno, c);
                else
                    snprintf(err, errlen,
                             "line %ld: unexpected byte 0x%02x (alive is 'O' or '*', dead is '.')",
                             lineno, c);
                ok = false;
                break;
            }
        }
        if (n > p->cols)
            p->cols = n;
        row++;
        if (n > 0)
            last_nonempty = row;
    }
    if (ok && ferror(f)) {
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        ok = false;
    }
    free(buf);
    fclose(f);
    p->rows = last_nonempty; /* trailing empty lines are not part of the pattern */
    if (!ok) {
        free(p->alive);
        p->alive = NULL;
    }
    return ok;
}

void life_seed(const struct life_run *run, struct setter set)
{
    const struct pattern *p = &run->opt.pattern;
    for (size_t i = 0; i < p->count; i++)
        set_state(set, run->opt.at.y + p->alive[i].y, run->opt.at.x + p->alive[i].x, ALIVE);
}

/* ==== the command line ==== */

void life_start(struct life_run *run, int argc, char **argv, const char *summary,
                const struct cli_flag *extra)
{
    struct life_options *o = &run->opt;
    struct cli_flag flags[32] = {
        {"--height", CLI_INT, &o->height, 1, MAX_SIDE, "H", "grid rows"},
        {"--width", CLI_INT, &o->width, 1, MAX_SIDE, "W", "grid columns"},
        {"--pattern", CLI_STRING, &o->pattern_file, 0, 0, "FILE",
         "a Life pattern in plaintext .cells format (default: the book's glider)"},
        {"--at", CLI_YX, &o->at, 0, MAX_SIDE - 1, "Y,X", "where the pattern's top-left cell goes"},
        {"--generations", CLI_INT, &o->generations, 0, MAX_GENERATIONS, "N", "steps to simulate"},
        {"--final", CLI_SWITCH, &o->final, 0, 0, NULL,
         "print only the grid after the last step, no header"},
        {"--io-ms", CLI_DOUBLE, &o->io_ms, 0, MAX_IO_MS, "MS",
         "simulated I/O latency in game_logic (a real blocking call)"},
        {"--fail-at", CLI_YX, &o->fail_at, 0, MAX_SIDE - 1, "Y,X",
         "game_logic's I/O fails at this cell (\"Problem with I/O\")"},
        {"--time", CLI_SWITCH, &o->time, 0, 0, NULL,
         "print the time per generation to stderr (always on when --io-ms is above 0)"},
    };
    size_t n = 9;
    if (o->workers > 0)
        flags[n++] =
            (struct cli_flag){"--workers", CLI_INT, &o->workers, 1, 1024, "N", "worker threads"};
    for (; extra && extra->name && n < sizeof flags / sizeof *flags - 1; extra++)
        flags[n++] = *extra;
    const struct cli cli = {summary, flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    if (o->fail_at.y >= o->height || o->fail_at.x >= o->width)
        cli_usage_error(&cli, "--fail-at: %ld,%ld is outside the %ld x %ld grid", o->fail_at.y,
                        o->fail_at.x, o->height, o->width);
    char err[256];
    if (o->pattern_file) {
        if (!pattern_load(o->pattern_file, &o->pattern, err, sizeof err))
            cli_usage_error(&cli, "--pattern %s: %s", o->pattern_file, err);
    } else {
        o->pattern = (struct pattern){"the book's glider", 3, 5, 5, xmalloc(sizeof book_glider)};
        memcpy(o->pattern.alive, book_glider, sizeof book_glider);
    }
    const struct pattern *p = &o->pattern;
    if (o->at.y + p->rows > o->height || o->at.x + p->cols > o->width)
        cli_usage_error(&cli,
                        "%s%s: %ld rows x %ld columns at %ld,%ld do not fit the %ld x %ld grid",
                        o->pattern_file ? "--pattern " : "", p->name, p->rows, p->cols, o->at.y,
                        o->at.x, o->height, o->width);

    socket_configure(o->io_ms, o->fail_at, o->fail_message);
    column_printer_init(&run->columns);
    run->recorded = 0;
    run->total = 0;
    run->lap_started = clock_now();
}

/* ==== the driving loop ==== */

bool life_timed(const struct life_run *run)
{
    return run->opt.time || run->opt.io_ms > 0;
}

void life_record(struct life_run *run, char *text)
{
    double took = clock_now() - run->lap_started;
    if (run->recorded > 0) {
        run->total += took;
        if (life_timed(run))
            fprintf(stderr, "Generation %ld: Took %.3f seconds\n", run->recorded, took);
    }
    column_printer_append(&run->columns, text);
    run->recorded++;
    run->lap_started = clock_now();
}

void life_finish(struct life_run *run)
{
    if (run->opt.final && run->columns.count > 0)
        fputs(run->columns.columns[run->columns.count - 1], stdout);
    else
        column_printer_print(&run->columns, stdout);
    if (life_timed(run) && run->recorded > 1)
        fprintf(stderr, "Per generation: Took %.3f seconds\n",
                run->total / (double)(run->recorded - 1));
    if (fflush(stdout) != 0)
        die_errno("writing the grid to stdout");
    life_abandon(run);
}

void life_abandon(struct life_run *run)
{
    column_printer_fini(&run->columns);
    free(run->opt.pattern.alive);
    run->opt.pattern.alive = NULL;
}
