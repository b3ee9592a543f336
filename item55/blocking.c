/* blocking: the book's three Queue demonstrations, in order.
 *   1. get blocks: a consumer waits in get until the producer puts.
 *   2. a bound: a Queue(1) whose second put blocks until the consumer gets.
 *   3. task_done and join: the producer waits for the work to be done, not
 *      for the thread.
 *
 *   ./item55/blocking          the book's 16 lines, in the book's order, every run
 *   ./item55/blocking --free   the same code without the narration turns: the
 *                              lines come in whatever order the threads reach them
 *
 * Look for: in --free mode run it a few times (`for i in $(seq 20); do
 * ./item55/blocking --free | md5sum; done | sort | uniq -c`). Some orders
 * never change: they are what the queue guarantees (a line after a get that
 * had to wait for a put comes after the line before that put). The rest vary.
 *
 * How the book's order is kept, without sleeping:
 *  - Where the book's story needs a thread to be really blocked (the consumer
 *    waiting in get; the producer stuck in its second put), the other thread
 *    waits for that event, which common/queue reports
 *    (queue_wait_for_getters, queue_wait_for_putters). This replaces the
 *    book's time.sleep(0.1) in demo 2, in both modes.
 *  - Two threads that both print after a hand-off race to print first (in
 *    Python too: python-reference.md). By default each line waits for its
 *    turn in the book's transcript, i.e. for the line before it to have been
 *    printed; --free drops only these turns.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "queue.h"

/* ---- the narration: lines in the book's order ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t turn_changed;
    int next;  /* guarded by lock: the index of the book's next line */
    bool free; /* --free: print at once, in whatever order threads come */
} narration = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

/* Print line number `turn` of the current demo (counting from 0) once the
 * lines before it are out. One printf per line, so lines never tear. */
static void say(int turn, const char *line)
{
    if (narration.free) {
        printf("%s\n", line);
        return;
    }
    CHECK_PT(pthread_mutex_lock(&narration.lock));
    while (narration.next != turn)
        CHECK_PT(pthread_cond_wait(&narration.turn_changed, &narration.lock));
    printf("%s\n", line);
    narration.next++;
    CHECK_PT(pthread_cond_broadcast(&narration.turn_changed));
    CHECK_PT(pthread_mutex_unlock(&narration.lock));
}

static void new_demo(void)
{
    narration.next = 0; /* only main calls this, while no other thread runs */
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
    say(0, "Consumer waiting");
    must(queue_get(my_queue, &item), "get"); /* Runs after put() below */
    say(3, "Consumer done");
    return NULL;
}

static void demo_get_blocks(void)
{
    struct queue *my_queue = queue_create(0);
    pthread_t thread = start(consumer_1, my_queue);
    if (!narration.free)
        queue_wait_for_getters(my_queue, 1); /* the consumer really is waiting */
    say(1, "Producer putting");
    must(queue_put(my_queue, &object), "put"); /* Runs before get() above */
    say(2, "Producer done");
    CHECK_PT(pthread_join(thread, NULL));
    queue_destroy(my_queue);
}

/* ---- 2. Queue(1): the second put blocks until a get ---- */

static void *consumer_2(void *arg)
{
    struct queue *my_queue = arg;
    void *item;
    /* The book sleeps 0.1 s here, hoping the producer fills the queue and
     * blocks meanwhile; wait for exactly that instead. */
    queue_wait_for_putters(my_queue, 1);
    must(queue_get(my_queue, &item), "get"); /* Runs second */
    say(1, "Consumer got 1");
    must(queue_get(my_queue, &item), "get"); /* Runs fourth */
    say(4, "Consumer got 2");
    say(5, "Consumer done");
    return NULL;
}

static void demo_bounded(void)
{
    struct queue *my_queue = queue_create(1); /* Buffer size of 1 */
    pthread_t thread = start(consumer_2, my_queue);
    must(queue_put(my_queue, &object), "put"); /* Runs first */
    say(0, "Producer put 1");
    must(queue_put(my_queue, &object), "put"); /* Runs third */
    say(2, "Producer put 2");
    say(3, "Producer done");
    CHECK_PT(pthread_join(thread, NULL));
    queue_destroy(my_queue);
}

/* ---- 3. task_done and join ---- */

static void *consumer_3(void *arg)
{
    struct queue *in_queue = arg;
    void *work;
    say(0, "Consumer waiting");
    must(queue_get(in_queue, &work), "get"); /* Runs second */
    say(3, "Consumer working");
    /* Doing work ... */
    say(4, "Consumer done");
    must(queue_task_done(in_queue), "task_done"); /* Runs third */
    return NULL;
}

static void demo_join(void)
{
    struct queue *in_queue = queue_create(0);
    pthread_t thread = start(consumer_3, in_queue);
    if (!narration.free)
        queue_wait_for_getters(in_queue, 1);
    say(1, "Producer putting");
    must(queue_put(in_queue, &object), "put"); /* Runs first */
    say(2, "Producer waiting");
    queue_join(in_queue); /* Runs fourth */
    say(5, "Producer done");
    CHECK_PT(pthread_join(thread, NULL));
    queue_destroy(in_queue);
}

int main(int argc, char **argv)
{
    const struct cli_flag flags[] = {
        {"--free", CLI_SWITCH, &narration.free, 0, 0, NULL,
         "no narration turns: lines in whatever order the threads print them"},
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
