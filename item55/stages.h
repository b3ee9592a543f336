/* The book's three pipeline stages, download -> resize -> upload, and the
 * flags every Item 55 pipeline program shares (polling, pipeline, fan_out).
 *
 * In the book each stage is a stub (`...`), so by default they do nothing
 * and return their item, as the book's runnable code does. --work-us gives
 * each stage that much simulated I/O per item (a real sleep: pipelines are
 * for blocking I/O, Item 53); --slow-stage NAME makes one stage take
 * --slow-us per item instead, to show what a slow stage does to the queue in
 * front of it.
 */
#ifndef ITEM55_STAGES_H
#define ITEM55_STAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

enum stage { DOWNLOAD, RESIZE, UPLOAD, STAGES };

struct stage_options {
    long items;             /* work items put into the pipeline: 1000 */
    long work_us;           /* simulated work per item in each stage */
    const char *slow_stage; /* "download", "resize", "upload" or NULL */
    long slow_us;           /* the slow stage's work per item */
    bool time;              /* print wall and CPU time to stderr */
    enum stage slow;        /* slow_stage parsed, or STAGES for none */
};

/* Fill *o with the defaults (the book's 1000 items; a slow stage takes 1 ms
 * per item), then parse the program's own flags (extra, ended by a zeroed
 * entry; may be NULL) followed by the shared ones above. Exits 0 on --help,
 * 2 on bad input. */
void stage_parse_flags(int argc, char **argv, const char *summary, const struct cli_flag *extra,
                       struct stage_options *o);

/* The stages: download(item), resize(item), upload(item), each returning its
 * item. ctx is the struct stage_options. Safe to call from many threads. */
void *download(void *item, void *ctx);
void *resize(void *item, void *ctx);
void *upload(void *item, void *ctx);

extern const char *const stage_names[STAGES];       /* "download", ... */
extern const char *const stage_queue_names[STAGES]; /* "download_queue", ... */

/* With --slow-stage: "resize_queue peaked at 3000 items", on stdout. */
void stage_print_peak(const struct stage_options *o, size_t peak);

/* The book's work items: `object()`, one distinct address each. */
void **make_objects(long n);
void free_objects(void **objects);

/* --time: wall and process CPU time since the run started, to stderr. */
struct run_clock {
    double wall, cpu;
};
struct run_clock run_clock_start(void);
void run_clock_report(const struct stage_options *o, struct run_clock start);

#endif
