/* life: see life.h. Sections: ColumnPrinter, patterns, the command line and
 * the driving loop (the game itself is game.c).
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

/* The next line of a column: its length, and where the line after it starts
 * (at the terminating '\0' once the column has run out of lines). */
static size_t next_line(const char **text)
{
    size_t len = strcspn(*text, "\n");
    *text += len + ((*text)[len] == '\n');
    return len;
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
        widths[c] = (size_t)snprintf(NULL, 0, "%zu", c);
        size_t lines = 0;
        for (const char *text = p->columns[c]; *text; lines++) {
            size_t len = next_line(&text);
            widths[c] = len > widths[c] ? len : widths[c];
        }
        rows = lines > rows ? lines : rows;
        line_len += widths[c] + 3;
    }
    /* Each column's next unread line: a column with fewer lines than the
     * others is padded with spaces (the book raises IndexError). */
    const char **next = xcalloc(p->count, sizeof *next);
    for (size_t c = 0; c < p->count; c++)
        next[c] = p->columns[c];
    char *line = xmalloc(line_len + 2);
    for (size_t r = 0; r <= rows; r++) { /* row 0 is the header */
        char *out = line;
        for (size_t c = 0; c < p->count; c++) {
            if (c > 0)
                out += sprintf(out, " | ");
            if (r == 0) {
                int digits = snprintf(NULL, 0, "%zu", c);
                int left = ((int)widths[c] - digits) / 2;
                int right = (int)widths[c] - digits - left;
                out += sprintf(out, "%*s%zu%*s", left, "", c, right, "");
            } else {
                const char *text = next[c];
                size_t len = next_line(&next[c]);
                out += sprintf(out, "%-*.*s", (int)widths[c], (int)len, text);
            }
        }
        *out++ = '\n';
        *out = '\0';
        fputs(line, f); /* one line, one write */
    }
    free(line);
    free(next);
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
static const struct yx book_glider[] = {{0, 3}, {1, 4}, {2, 2}, {2, 3}, {2, 4}};

static void pattern_add(struct pattern *p, size_t *capacity, long y, long x)
{
    if (p->count == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 16;
        p->alive = xrealloc(p->alive, *capacity * sizeof *p->alive);
    }
    p->alive[p->count++] = (struct yx){y, x};
}

/* A '\r' just before the end of a line is part of a CRLF line end. */
static bool at_line_end(FILE *f)
{
    int next = getc(f);
    if (next != EOF)
        ungetc(next, f);
    return next == '\n' || next == EOF;
}

/* Read a plaintext .cells file: '!' lines are comments; other lines hold 'O'
 * (or '*') for alive and '.' for dead, shorter lines are padded with dead
 * cells. It reads a byte at a time and keeps only the live cells that could
 * fit the largest grid, so a huge line or file costs no memory; its full
 * size is still counted, for the fit check. Returns false with a message in
 * err (an empty pattern is an error too: most likely the wrong file). */
static bool pattern_load(const char *path, struct pattern *p, char *err, size_t errlen)
{
    *p = (struct pattern){.name = path};
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return false;
    }
    size_t capacity = 0;
    long line = 1, row = 0, x = 0; /* row counts pattern lines: comments are not rows */
    bool comment = false, ok = true;
    int c;
    while (ok && (c = getc(f)) != EOF) {
        if (c == '\n') {
            if (!comment)
                row++;
            line++;
            x = 0;
            comment = false;
        } else if (comment || (c == '\r' && at_line_end(f))) {
            continue;
        } else if (c == '!' && x == 0) {
            comment = true;
        } else if (c == 'O' || c == '*' || c == '.') {
            if (c != '.' && row < MAX_SIDE && x < MAX_SIDE)
                pattern_add(p, &capacity, row, x);
            x++;
            p->rows = row + 1; /* trailing empty lines are not part of the pattern */
            p->cols = x > p->cols ? x : p->cols;
        } else {
            if (c >= 0x20 && c < 0x7f)
                snprintf(err, errlen, "line %ld: unexpected character '%c' %s", line, c,
                         "(alive is 'O' or '*', dead is '.')");
            else
                snprintf(err, errlen, "line %ld: unexpected byte 0x%02x %s", line, c,
                         "(alive is 'O' or '*', dead is '.')");
            ok = false;
        }
    }
    if (ok && ferror(f)) {
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        ok = false;
    } else if (ok && p->rows == 0) {
        snprintf(err, errlen, "no pattern in it (no line of 'O', '*' or '.')");
        ok = false;
    }
    fclose(f);
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
    /* The pairs parse into cli's own type; the game's struct yx gets them after. */
    struct cli_pair at = {o->at.y, o->at.x}, fail_at = {o->fail_at.y, o->fail_at.x};
    char fail_at_help[128];
    snprintf(fail_at_help, sizeof fail_at_help, "game_logic's I/O fails at this cell (\"%s\")",
             o->fail_message);
    const struct cli_flag shared[] = {
        {"--height", CLI_INT, &o->height, 1, MAX_SIDE, "H", "grid rows"},
        {"--width", CLI_INT, &o->width, 1, MAX_SIDE, "W", "grid columns"},
        {"--pattern", CLI_STRING, &o->pattern_file, 0, 0, "FILE",
         "a Life pattern in plaintext .cells format (default: the book's glider)"},
        {"--at", CLI_PAIR, &at, 0, MAX_SIDE - 1, "Y,X", "where the pattern's top-left cell goes"},
        {"--generations", CLI_INT, &o->generations, 0, MAX_GENERATIONS, "N", "steps to simulate"},
        {"--final", CLI_SWITCH, &o->final, 0, 0, NULL,
         "print only the grid after the last step, no header"},
        {"--io-ms", CLI_DOUBLE, &o->io_ms, 0, MAX_IO_MS, "MS",
         o->io_ms_help ? o->io_ms_help
                       : "simulated I/O latency in game_logic (a real blocking call)"},
        {"--fail-at", CLI_PAIR, &fail_at, 0, MAX_SIDE - 1, "Y,X",
         o->fail_at_help ? o->fail_at_help : fail_at_help},
        {"--time", CLI_SWITCH, &o->time, 0, 0, NULL,
         "print the time per generation to stderr (always on when --io-ms is above 0)"},
        {0},
    };
    const struct cli_flag workers[] = {
        {"--workers", CLI_INT, &o->workers, 1, 1024, "N", "worker threads"},
        {0},
    };
    /* Then --workers, for the variants that have it, then the variant's own. */
    const struct cli_flag flags[] = {
        CLI_FLAGS_OF(shared),
        CLI_FLAGS_OF(o->workers > 0 ? workers : NULL),
        CLI_FLAGS_OF(extra),
        {0},
    };
    const struct cli cli = {summary, flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    o->at = (struct yx){at.first, at.second};
    o->fail_at = (struct yx){fail_at.first, fail_at.second};

    if (o->fail_at.y >= o->height || o->fail_at.x >= o->width)
        cli_usage_error(&cli, "--fail-at: %ld,%ld is outside the %ld x %ld grid", o->fail_at.y,
                        o->fail_at.x, o->height, o->width);
    char err[256];
    if (o->pattern_file) {
        if (!pattern_load(o->pattern_file, &o->pattern, err, sizeof err))
            cli_usage_error(&cli, "--pattern %s: %s", o->pattern_file, err);
    } else if (o->height == 1 && o->width == 1) { /* the book's Grid(1, 1) (Item 58): empty */
        o->pattern = (struct pattern){"an empty grid", 0, 0, 0, NULL};
    } else {
        o->pattern = (struct pattern){"the book's glider", 3, 5, 5, xmalloc(sizeof book_glider)};
        memcpy(o->pattern.alive, book_glider, sizeof book_glider);
    }
    const struct pattern *p = &o->pattern;
    if (o->at.y + p->rows > o->height || o->at.x + p->cols > o->width)
        cli_usage_error(&cli, "%s%s: %ld x %ld cells at %ld,%ld do not fit the %ld x %ld grid",
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
    if (run->opt.final && run->columns.count > 0) {
        /* --final prints the last grid alone: keep no others (1,000 generations
         * of a 1000 x 1000 grid would otherwise hold a gigabyte) */
        free(run->columns.columns[0]);
        run->columns.columns[0] = text;
    } else {
        column_printer_append(&run->columns, text);
    }
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
    life_abandon(run); /* a write to stdout that failed fails the exit (common/check) */
}

void life_abandon(struct life_run *run)
{
    column_printer_fini(&run->columns);
    free(run->opt.pattern.alive);
    run->opt.pattern.alive = NULL;
}
