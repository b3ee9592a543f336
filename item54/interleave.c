/* interleave: the book's "Thread A / Thread B" schedule, in slow motion.
 * Two real threads increment one counter, handing the turn to each other at
 * exactly the points the book marks "Context switch", so the bad interleaving
 * happens every run: both read 0, both write 1.
 *
 *   ./item54/interleave       each step as the book lists it, with the values
 *                             it saw, then: Counter should be 2, got 1
 *
 * Compare with race, where the same interleaving happens by chance.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"

struct counter {
    atomic_long count; /* relaxed loads and stores: see race.c */
};

/* Whose turn it is. The turn is the only thing the threads wait for: no
 * sleeps, so the order is the same on any machine. */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    char turn; /* 'A' or 'B' */
} schedule = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 'A'};

static struct counter counter;

static void wait_for_turn(char me)
{
    CHECK_PT(pthread_mutex_lock(&schedule.mutex));
    while (schedule.turn != me)
        CHECK_PT(pthread_cond_wait(&schedule.changed, &schedule.mutex));
    CHECK_PT(pthread_mutex_unlock(&schedule.mutex));
}

/* A context switch: print the book's comment, then let the other thread run. */
static void switch_to(char other, const char *comment)
{
    printf("%s\n", comment);
    fflush(stdout); /* before the other thread prints */
    CHECK_PT(pthread_mutex_lock(&schedule.mutex));
    schedule.turn = other;
    CHECK_PT(pthread_cond_broadcast(&schedule.changed));
    CHECK_PT(pthread_mutex_unlock(&schedule.mutex));
}

static long getattr_count(void)
{
    return atomic_load_explicit(&counter.count, memory_order_relaxed);
}

static void setattr_count(long value)
{
    atomic_store_explicit(&counter.count, value, memory_order_relaxed);
}

static void *thread_a(void *unused)
{
    (void)unused;
    wait_for_turn('A');
    printf("# Running in Thread A\n");
    long value_a = getattr_count();
    printf("value_a = getattr(counter, 'count')    # value_a = %ld\n", value_a);
    switch_to('B', "# Context switch to Thread B");

    wait_for_turn('A');
    long result_a = value_a + 1;
    printf("result_a = value_a + 1                 # result_a = %ld\n", result_a);
    setattr_count(result_a);
    printf("setattr(counter, 'count', result_a)    # counter.count = %ld\n", getattr_count());
    return NULL;
}

static void *thread_b(void *unused)
{
    (void)unused;
    wait_for_turn('B');
    long value_b = getattr_count();
    printf("value_b = getattr(counter, 'count')    # value_b = %ld\n", value_b);
    long result_b = value_b + 1;
    printf("result_b = value_b + 1                 # result_b = %ld\n", result_b);
    setattr_count(result_b);
    printf("setattr(counter, 'count', result_b)    # counter.count = %ld\n", getattr_count());
    switch_to('A', "# Context switch back to Thread A");
    return NULL;
}

int main(int argc, char **argv)
{
    const struct cli_flag flags[] = {{0}};
    const struct cli cli = {"The book's Thread A / Thread B schedule, step by step.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    pthread_t a, b;
    CHECK_PT(pthread_create(&a, NULL, thread_a, NULL));
    CHECK_PT(pthread_create(&b, NULL, thread_b, NULL));
    CHECK_PT(pthread_join(a, NULL));
    CHECK_PT(pthread_join(b, NULL));

    printf("Counter should be %d, got %ld\n", 2, getattr_count());
    return 0;
}
