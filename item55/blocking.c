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
 * other pairs swap from run to run, in Python too. Each demo's title goes to
 * stderr, so stdout holds only the book's lines.
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
 *    out (narration.c). It is there only so the transcript reads like the
 *    book's.
 * --free keeps the queue's order and demo 2's wait (it stands for the book's
 * own sleep) and drops the rest. Nothing here sleeps.
 */
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "narration.h"
#include "queue.h"

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
    if (!narration_free)
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
    if (!narration_free)
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
        {"--free", CLI_SWITCH, &narration_free, 0, 0, NULL,
         "the book's code as written: no narration, lines in whatever order threads print them"},
        {0},
    };
    const struct cli cli = {"The book's three Queue demonstrations: blocking get, a bound, join.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    narrate_demo("1. get blocks until a put");
    demo_get_blocks();
    narrate_demo("2. Queue(1): the second put blocks until a get");
    demo_bounded();
    narrate_demo("3. task_done and join: waiting for the work to be done");
    demo_join();
    return 0;
}
