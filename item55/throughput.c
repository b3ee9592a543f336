/* throughput: how many items per second one common/queue carries between
 * threads. Not in the book: the measurement behind `make bench` and the
 * README's "what a hand-off costs".
 *
 *   ./item55/throughput --capacity 1 --items 20000
 *   ./item55/throughput --capacity 1024 --items 1000000 --producers 2 --consumers 2
 *   taskset -c 0 ./item55/throughput --capacity 1      (both threads on one core)
 *
 * Prints one line: "capacity C, P producer(s), Q consumer(s): N items in T s
 * = R items/s".
 *
 * Look for: a small capacity makes every item a hand-off between sleeping
 * threads, and waking a thread on another core costs tens of microseconds
 * (the README's Measured section has figures); a large one lets each side
 * work through a batch per wake-up.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "queue.h"

struct run {
    struct queue *q;
    long items;     /* in all */
    long producers; /* each puts items / producers (the first also the rest) */
    long consumers;
    pthread_barrier_t start; /* every thread and main: the clock starts together */
};

struct role {
    struct run *run;
    long index;
    long count; /* a producer: items to put; a consumer: items it got */
};

static void *producer(void *arg)
{
    struct role *me = arg;
    CHECK_BARRIER(pthread_barrier_wait(&me->run->start));
    for (long i = 0; i < me->count; i++)
        if (queue_put(me->run->q, (void *)(uintptr_t)i) != QUEUE_OK)
            die("put failed");
    return NULL;
}

static void *consumer(void *arg)
{
    struct role *me = arg;
    CHECK_BARRIER(pthread_barrier_wait(&me->run->start));
    void *item;
    while (queue_get(me->run->q, &item) == QUEUE_OK)
        me->count++;
    return NULL; /* closed and drained */
}

int main(int argc, char **argv)
{
    long capacity = 1, items = 20000, producers = 1, consumers = 1;
    bool stats = false;
    const struct cli_flag flags[] = {
        {"--capacity", CLI_INT, &capacity, 0, 1 << 20, "N", "the queue's maxsize (0: unbounded)"},
        {"--items", CLI_INT, &items, 1, 1000000000, "N", "items in all"},
        {"--producers", CLI_INT, &producers, 1, 64, "N", "threads putting"},
        {"--consumers", CLI_INT, &consumers, 1, 64, "N", "threads getting"},
        {"--stats", CLI_SWITCH, &stats, 0, 0, NULL,
         "also print the figures as one line of KEY=VALUE on stderr (for make bench)"},
        {0},
    };
    const struct cli cli = {"Measure items per second through one queue.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    struct run run = {.q = queue_create((size_t)capacity),
                      .items = items,
                      .producers = producers,
                      .consumers = consumers};
    CHECK_PT(pthread_barrier_init(&run.start, NULL, (unsigned)(producers + consumers + 1)));
    pthread_t threads[producers + consumers];
    struct role roles[producers + consumers];
    for (long i = 0; i < producers + consumers; i++) {
        bool is_producer = i < producers;
        long count = is_producer ? items / producers + (i == 0 ? items % producers : 0) : 0;
        roles[i] = (struct role){&run, i, count};
        CHECK_PT(pthread_create(&threads[i], NULL, is_producer ? producer : consumer, &roles[i]));
    }
    CHECK_BARRIER(pthread_barrier_wait(&run.start));
    double t0 = clock_now();
    for (long i = 0; i < producers; i++)
        CHECK_PT(pthread_join(threads[i], NULL));
    queue_close(run.q); /* the consumers drain what is left, then stop */
    long got = 0;
    for (long i = producers; i < producers + consumers; i++) {
        CHECK_PT(pthread_join(threads[i], NULL));
        got += roles[i].count;
    }
    double elapsed = clock_now() - t0;
    if (got != items)
        die("lost items: put %ld, got %ld", items, got);

    double rate = (double)items / elapsed;
    printf("capacity %ld, %ld producer(s), %ld consumer(s): %ld items in %.3f s = %.3g %sitems/s\n",
           capacity, producers, consumers, items, elapsed, rate >= 1e6 ? rate / 1e6 : rate / 1e3,
           rate >= 1e6 ? "M " : "k ");
    if (stats)
        fprintf(stderr, "stats items=%ld seconds=%.6f items_per_second=%.0f\n", items, elapsed,
                rate);
    CHECK_PT(pthread_barrier_destroy(&run.start));
    queue_destroy(run.q);
    return 0;
}
