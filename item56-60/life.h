/* life: the harness every Game of Life variant of Items 56-60 shares: the
 * patterns, the command line, the driving loop and the column printer. The
 * game itself (Grid, the rules, the simulated socket) is game.h, included
 * here, so a variant includes life.h alone.
 *
 *   Python (Item 56)                          C
 *   ---------------------------------------   -----------------------------------------
 *   ColumnPrinter                             struct column_printer
 *   the driving loop (columns.append(str(     life_start, life_record, life_finish
 *     grid)); grid = simulate(grid))
 *
 * Errata fixed here (see README.md): the driving loop simulates exactly
 * --generations steps and prints every one (the book computes a fifth and
 * drops it); the column printer stays aligned for any width and index.
 */
#ifndef ITEM56_60_LIFE_H
#define ITEM56_60_LIFE_H

#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "game.h"

/* ---- ColumnPrinter ---- */

struct column_printer {
    size_t count, capacity;
    char **columns; /* each a multi-line string, owned */
};

void column_printer_init(struct column_printer *p);
void column_printer_append(struct column_printer *p, char *text); /* takes text over */
/* One column per appended text, a header line with each column's index
 * centred over it, columns joined by " | ". */
void column_printer_print(const struct column_printer *p, FILE *f);
void column_printer_fini(struct column_printer *p);

/* ---- the command line all variants share ---- */

struct pattern {
    const char *name; /* the file, or "the book's glider" */
    long rows, cols;
    size_t count;
    struct yx *alive; /* count cells, relative to the top-left */
};

struct life_options {
    long height, width;
    const char *pattern_file; /* NULL: the book's glider */
    struct yx at;
    long generations;
    bool final;
    double io_ms;
    struct yx fail_at; /* -1,-1: nothing fails */
    long workers;      /* 0: this variant has no --workers */
    bool time;
    const char *fail_message; /* what the injected OSError says */
    const char *io_ms_help;   /* --io-ms's help line; NULL: "... (a real blocking call)" */
    const char *fail_at_help; /* --fail-at's help line; NULL: game_logic's, with fail_message */
    struct pattern pattern;   /* loaded by life_start */
};

#define LIFE_OPTIONS_DEFAULTS                                                                      \
    {                                                                                              \
        .height = 5, .width = 9, .at = {0, 0}, .generations = 4, .fail_at = {-1, -1},              \
        .fail_message = "Problem with I/O",                                                        \
    }

/* The driving loop's state: the options, the columns, the clock. */
struct life_run {
    struct life_options opt;
    struct column_printer columns;
    long recorded;      /* generations appended so far */
    double lap_started; /* clock_now() when the current generation began */
    double total;       /* seconds spent simulating */
};

/* Parse the shared flags plus `extra` (may be NULL; a zeroed entry ends it),
 * load the pattern, configure the socket. Bad flags, a bad or ill-fitting
 * pattern: one line naming it, the usage, exit 2. A 1 x 1 grid with no
 * --pattern starts empty, as the book's Grid(1, 1) in Item 58 does. */
void life_start(struct life_run *run, int argc, char **argv, const char *summary,
                const struct cli_flag *extra);

/* Put the pattern's live cells into a fresh grid through its setter. */
void life_seed(const struct life_run *run, struct setter set);

/* columns.append(str(grid)): record one generation (takes text over). The
 * time from one record to the next, minus the recording, is the generation's
 * simulation time, reported on stderr under --time or --io-ms. */
void life_record(struct life_run *run, char *text);

/* Print the columns (or, under --final, the last grid alone) on stdout, the
 * mean time per generation on stderr if timed, and free everything. */
void life_finish(struct life_run *run);

/* Free everything without printing (the run failed). */
void life_abandon(struct life_run *run);

/* Whether per-generation timings go to stderr (--time, or --io-ms > 0). */
bool life_timed(const struct life_run *run);

#endif
