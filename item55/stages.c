/* The download -> resize -> upload stand-ins and their shared flags. */
#include "stages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "clock.h"

const char *const stage_names[STAGES] = {"download", "resize", "upload"};
const char *const stage_queue_names[STAGES] = {"download_queue", "resize_queue", "upload_queue"};

void stage_parse_flags(int argc, char **argv, const char *summary, const struct cli_flag *extra,
                       struct stage_options *o)
{
    *o = (struct stage_options){.items = 1000, .slow_us = 1000, .slow = STAGES};
    const struct cli_flag shared[] = {
        {"--items", CLI_INT, &o->items, 1, 10000000, "N", "work items to process"},
        {"--work-us", CLI_INT, &o->work_us, 0, 1000000, "US",
         "simulated I/O per item in every stage (the book: 0)"},
        {"--slow-stage", CLI_STRING, &o->slow_stage, 0, 0, "download|resize|upload",
         "make one stage slow: download, resize or upload"},
        {"--slow-us", CLI_INT, &o->slow_us, 0, 1000000, "US",
         "the slow stage's work per item (with --slow-stage)"},
        {"--time", CLI_SWITCH, &o->time, 0, 0, NULL, "print wall and CPU time to stderr"},
        {0},
    };
    const struct cli_flag flags[] = {CLI_FLAGS_OF(extra), CLI_FLAGS_OF(shared), {0}};
    const struct cli cli = {summary, flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    o->slow = STAGES;
    if (!o->slow_stage) {
        for (int i = 1; i < argc; i++) /* a --slow-us with no slow stage would do nothing */
            if (strcmp(argv[i], "--slow-us") == 0 || strncmp(argv[i], "--slow-us=", 10) == 0)
                cli_usage_error(&cli, "--slow-us: needs --slow-stage, or no stage is slow");
        return;
    }
    for (int s = 0; s < STAGES; s++)
        if (strcmp(o->slow_stage, stage_names[s]) == 0)
            o->slow = (enum stage)s;
    if (o->slow == STAGES)
        cli_usage_error(&cli, "--slow-stage: expected download, resize or upload, got '%s'",
                        o->slow_stage);
}

static void *work(enum stage s, void *item, const struct stage_options *o)
{
    long us = s == o->slow ? o->slow_us : o->work_us;
    if (us > 0)
        clock_sleep((double)us / 1e6);
    return item;
}

void *download(void *item, void *ctx)
{
    return work(DOWNLOAD, item, ctx);
}

void *resize(void *item, void *ctx)
{
    return work(RESIZE, item, ctx);
}

void *upload(void *item, void *ctx)
{
    return work(UPLOAD, item, ctx);
}

void stage_print_peak(const struct stage_options *o, size_t peak)
{
    if (o->slow != STAGES)
        printf("%s peaked at %zu item%s\n", stage_queue_names[o->slow], peak, peak == 1 ? "" : "s");
}

void **make_objects(long n)
{
    /* One block: item i is &block[i], a distinct address, like object(). */
    char *block = xcalloc((size_t)n, 1);
    void **objects = xcalloc((size_t)n, sizeof *objects);
    for (long i = 0; i < n; i++)
        objects[i] = &block[i];
    return objects;
}

void free_objects(void **objects)
{
    free(objects[0]); /* the block: objects[0] == &block[0] */
    free(objects);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    CHECK_SYS(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run_clock run_clock_start(void)
{
    return (struct run_clock){clock_now(), cpu_seconds()};
}

void run_clock_report(const struct stage_options *o, struct run_clock start)
{
    if (o->time)
        fprintf(stderr, "Took %.3f seconds, CPU %.6f seconds\n", clock_now() - start.wall,
                cpu_seconds() - start.cpu);
}
