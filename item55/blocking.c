/* blocking: the book's three Queue demonstrations, in order.
 *   1. get blocks: a consumer waits in get until the producer puts.
 *   2. a bound: a Queue(1) whose second put blocks until the consumer gets.
 *   3. task_done and join: the producer waits for the work to be done, not
 *      for the thread.
 *
 *   ./item55/blocking          the book's 16 lines, in the book's order, every run
 *   ./item55/blocking --free   the book's code as written: the lines come in
 *                              whatever order the threads reach them
 *
 * Look for: run --free twenty times (`for i in $(seq 20); do
 * ./item55/blocking --free | tr '\n' '|'; echo; done | sort | uniq -c`).
 * Some pairs of lines never swap: the queue orders them (a get that had to
 * wait returns only after the put; join returns only after task_done). The
 * other pairs swap from run to run, in Python too (python-reference.md).
 *
 * Two lines printed by different threads are kept in the book's order by
 * one of three things:
 *  - the queue itself: written as plain code, nothing to add;
 *  - a wait for a real event that common/queue reports: main puts only once
 *    the consumer is blocked in get (queue_wait_for_getters, demos 1 and 3),
 *    and in demo 2 the consumer gets only once the producer is stuck in its
 *    second put (queue_wait_for_putters, where the book sleeps 0.1 s);
 *  - a narration cue, for the four pairs nothing orders: when a hand-off
 *    wakes a thread, waker and woken both go on to print, and either may be
 *    first. say_after(cue, line) waits until the other thread's cue line is
 *    out. It is there only so the transcript reads like the book's.
 * --free keeps the queue's order and demo 2's wait (it stands for the book's
 * own sleep) and drops the rest. Nothing here sleeps.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "queue.h"

/* ---- the narration ---- */

enum { MAX_DEMO_LINES = 6 };

static struct {
    pthread_mutex_t lock;
    pthread_cond_t line_printed;
    const char *printed[MAX_DEMO_LINES]; /* guarded by lock: the current demo's lines so far */
    int count;                           /* guarded by lock */
    bool free;                           /* --free: no cues, no waits that only narrate */
} narration = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, false};

static bool printed_already(const char *line)
{
    for (int i = 0; i < narration.count; i++)
        if (strcmp(narration.printed[i], line) == 0)
            return true;
    return false;
}

/* Print one whole line (one printf, under the lock) and tell any thread
 * whose cue it is. */
static void say(const char *line)
{
    CHECK_PT(pthread_mutex_lock(&narration.lock));
    if (narration.count == MAX_DEMO_LINES)
        die("more than %d lines in one demo", MAX_DEMO_LINES);
    printf("%s\n", line);
    narration.printed[narration.count++] = line;
    CHECK_PT(pthread_cond_broadcast(&narration.line_printed));
    CHECK_PT(pthread_mutex_unlock(&narration.lock));
}

/* A narration cue: print line once the other thread has printed cue. The
 * queue leaves the two unordered; only the transcript wants this order. */
static void say_after(const char *cue, const char *line)
{
    if (!narration.free) {
        CHECK_PT(pthread_mutex_lock(&narration.lock));
        while (!printed_already(cue))
            CHECK_PT(pthread_cond_wait(&narration.line_printed, &narration.lock));
        CHECK_PT(pthread_mutex_unlock(&narration.lock));
    }
    say(line);
}

static void new_demo(void)
{
    narration.count = 0; /* only main calls this, while no other thread runs */
}

static void must(enum queue_status status, const char *what)
{
    if (status != QUEUE_OK)
        die("%s: %s", what, queue_strstatus(status));
}

static char object; /* the book puts object(); any address will do */

/* Run the consumer in a thread while main plays the producer. */
static pthread_t start(void *(*consumer)(void *), struct queue *q)
{
    pthread_t thread;
    CHECK_PT(pthread_create(&thread, NULL, consumer, q));
    return thread;
}

/* ---- 1. get blocks until put ---- */

static void *consumer_1(void *arg)
{
    struct queue *my_queue = arg;
    void *item;
    say("Consumer waiting");
    must(queue_get(my_queue, &item), "get"); /* Runs after put() below */
    say_after("Producer done", "Consumer done");
    return NULL;
}

static void demo_get_blocks(void)
{
    struct queue *my_queue = queue_create(0);
    pthread_t thread = start(consumer_1, my_queue);
    if (!narration.free)
        queue_wait_for_getters(my_queue, 1); /* the consumer really is blocked in get */
    say("Producer putting");
    must(queue_put(my_queue, &object), "put"); /* Runs before get() above */
    say("Producer done");
    CHECK_PT(pthread_join(thread, NULL));
    queue_destroy(my_queue);
}

/* ---- 2. Queue(1): the second put blocks until a get ---- */

static void *consumer_2(void *arg)
{
    struct queue *my_queue = arg;
    void *item;
    /* The book sleeps 0.1 s here, hoping the producer fills the queue and
     * blocks meanwhile; wait for exactly that instead, --free or not. */
    queue_wait_for_putters(my_queue, 1);
    must(queue_get(my_queue, &item), "get"); /* Runs second */
    say("Consumer got 1");
    must(queue_get(my_queue, &item), "get"); /* Runs fourth */
    say_after("Producer done", "Consumer got 2");
    say("Consumer done");
    return NULL;
}

static void demo_bounded(void)
{
    struct queue *my_queue = queue_create(1); /* Buffer size of 1 */
    pthread_t thread = start(consumer_2, my_queue);
    must(queue_put(my_queue, &object), "put"); /* Runs first */
    say("Producer put 1");
    must(queue_put(my_queue, &object), "put"); /* Runs third */
    say_after("Consumer got 1", "Producer put 2");
    say("Producer done");
    CHECK_PT(pthread_join(thread, NULL));
    queue_destroy(my_queue);
}

/* ---- 3. task_done and join ---- */

static void *consumer_3(void *arg)
{
    struct queue *in_queue = arg;
    void *work;
    say("Consumer waiting");
    must(queue_get(in_queue, &work), "get"); /* Runs second */
    say_after("Producer waiting", "Consumer working");
    /* Doing work ... */
    say("Consumer done");
    must(queue_task_done(in_queue), "task_done"); /* Runs third */
    return NULL;
}

static void demo_join(void)
{
    struct queue *in_queue = queue_create(0);
    pthread_t thread = start(consumer_3, in_queue);
    if (!narration.free)
        queue_wait_for_getters(in_queue, 1); /* the consumer really is blocked in get */
    say("Producer putting");
    must(queue_put(in_queue, &object), "put"); /* Runs first */
    say("Producer waiting");
    queue_join(in_queue); /* Runs fourth: only after task_done, so after "Consumer done" */
    say("Producer done");
    CHECK_PT(pthread_join(thread, NULL));
    queue_destroy(in_queue);
}

int main(int argc, char **argv)
{
    const struct cli_flag flags[] = {
        {"--free", CLI_SWITCH, &narration.free, 0, 0, NULL,
         "the book's code as written: no narration, lines in whatever order threads print them"},
        {0},
    };
    const struct cli cli = {"The book's three Queue demonstrations: blocking get, a bound, join.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    new_demo();
    demo_get_blocks();
    new_demo();
    demo_bounded();
    new_demo();
    demo_join();
    return 0;
}
