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

#define STAGE_OPTIONS_DEFAULTS                                                                     \
    {                                                                                              \
        .items = 1000, .slow_us = 1000, .slow = STAGES                                             \
    }

/* The flag table entries for the fields above; end a table with them. */
#define STAGE_FLAGS(o)                                                                             \
    {"--items", CLI_INT, &(o)->items, 1, 10000000, "N", "work items to process"},                  \
        {"--work-us",                                                                              \
         CLI_INT,                                                                                  \
         &(o)->work_us,                                                                            \
         0,                                                                                        \
         1000000,                                                                                  \
         "US",                                                                                     \
         "simulated I/O per item in every stage (the book: 0)"},                                   \
        {"--slow-stage",                                                                           \
         CLI_STRING,                                                                               \
         &(o)->slow_stage,                                                                         \
         0,                                                                                        \
         0,                                                                                        \
         "NAME",                                                                                   \
         "make one stage slow: download, resize or upload"},                                       \
        {"--slow-us", CLI_INT, &(o)->slow_us, 0, 1000000, "US", "the slow stage's work per item"}, \
        {"--time", CLI_SWITCH, &(o)->time, 0, 0, NULL, "print wall and CPU time to stderr"},       \
    {                                                                                              \
        0                                                                                          \
    }

/* Check what the flag table cannot (the stage name); exits 2 on bad input. */
void stage_options_check(const struct cli *cli, struct stage_options *o);

/* The stages: download(item), resize(item), upload(item), each returning its
 * item. ctx is the struct stage_options. Safe to call from many threads. */
void *download(void *item, void *ctx);
void *resize(void *item, void *ctx);
void *upload(void *item, void *ctx);

extern const char *const stage_names[STAGES];       /* "download", ... */
extern const char *const stage_queue_names[STAGES]; /* "download_queue", ... */

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
