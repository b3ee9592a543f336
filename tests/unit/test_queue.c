/* test_queue: unit tests for common/queue (and common/worker), driven by
 * tests/lib_queue.bats, run again under ASan+UBSan and TSan by make check.
 *
 *   test_queue                   run every case
 *   test_queue NAME...           run those
 *   test_queue --list            the case names
 *
 * The cases of tests/unit/expect.h: "ok NAME" for each that passes. No case
 * sleeps to wait for an event: threads are known to be blocked through
 * queue_wait_for_getters / queue_wait_for_putters, which the queue answers
 * under its own mutex.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "expect.h"
#include "queue.h"
#include "worker.h"

#define EXPECT_STATUS(call, want) EXPECT((call) == (want))

static void *as_item(uintptr_t n)
{
    return (void *)n;
}

static uintptr_t as_number(void *item)
{
    return (uintptr_t)item;
}

/* ---- single-threaded semantics ---- */

static void fifo(void)
{
    /* Bounded: order kept while the ring wraps around many times. */
    struct queue *q = queue_create(3);
    void *item;
    for (uintptr_t i = 0; i < 100; i++) {
        EXPECT_STATUS(queue_put_nowait(q, as_item(i)), QUEUE_OK);
        if (i % 2 == 0)
            continue;
        EXPECT_STATUS(queue_get_nowait(q, &item), QUEUE_OK);
        EXPECT(as_number(item) == i - 1);
        EXPECT_STATUS(queue_get_nowait(q, &item), QUEUE_OK);
        EXPECT(as_number(item) == i);
    }
    EXPECT(queue_qsize(q) == 0);
    EXPECT_STATUS(queue_get_nowait(q, &item), QUEUE_EMPTY);
    EXPECT_STATUS(queue_put_nowait(q, as_item(1)), QUEUE_OK);
    EXPECT_STATUS(queue_put_nowait(q, as_item(2)), QUEUE_OK);
    EXPECT_STATUS(queue_put_nowait(q, as_item(3)), QUEUE_OK);
    EXPECT_STATUS(queue_put_nowait(q, as_item(4)), QUEUE_FULL);
    EXPECT(queue_qsize(q) == 3);
    EXPECT(queue_peak_qsize(q) == 3);
    queue_destroy(q);

    /* Unbounded: grows past its first ring (16) while wrapped, keeps order. */
    q = queue_create(0);
    uintptr_t next_in = 0, next_out = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 37; i++)
            EXPECT_STATUS(queue_put_nowait(q, as_item(next_in++)), QUEUE_OK);
        for (int i = 0; i < 30; i++) {
            EXPECT_STATUS(queue_get(q, &item), QUEUE_OK);
            EXPECT(as_number(item) == next_out++);
        }
    }
    EXPECT(queue_qsize(q) == next_in - next_out);
    while (queue_get_nowait(q, &item) == QUEUE_OK)
        EXPECT(as_number(item) == next_out++);
    EXPECT(next_out == next_in);
    EXPECT(queue_peak_qsize(q) == 20 * 7 + 30);
    queue_destroy(q);
}

static void task_done_too_many(void)
{
    struct queue *q = queue_create(0);
    EXPECT_STATUS(queue_task_done(q), QUEUE_TOO_MANY_DONE); /* nothing was ever put */
    queue_join(q);                                          /* and join does not wait */
    EXPECT_STATUS(queue_put(q, as_item(1)), QUEUE_OK);
    EXPECT_STATUS(queue_put(q, as_item(2)), QUEUE_OK);
    /* As in Python, task_done counts puts, not gets. */
    EXPECT_STATUS(queue_task_done(q), QUEUE_OK);
    EXPECT_STATUS(queue_task_done(q), QUEUE_OK);
    EXPECT_STATUS(queue_task_done(q), QUEUE_TOO_MANY_DONE);
    queue_join(q); /* every put item is done, even though both are still queued */
    EXPECT(queue_qsize(q) == 2);
    queue_destroy(q);
}

static void put_after_close(void)
{
    struct queue *q = queue_create(2);
    void *item;
    EXPECT_STATUS(queue_put(q, as_item(7)), QUEUE_OK);
    EXPECT_STATUS(queue_put(q, as_item(8)), QUEUE_OK);
    EXPECT(!queue_closed(q));
    queue_close(q);
    queue_close(q); /* closing twice is harmless, as shutdown() is */
    EXPECT(queue_closed(q));
    EXPECT_STATUS(queue_put(q, as_item(9)), QUEUE_CLOSED);
    EXPECT_STATUS(queue_put_nowait(q, as_item(9)), QUEUE_CLOSED);
    /* get drains what was left, then reports closed, blocking or not. */
    EXPECT_STATUS(queue_get(q, &item), QUEUE_OK);
    EXPECT(as_number(item) == 7);
    EXPECT_STATUS(queue_get_nowait(q, &item), QUEUE_OK);
    EXPECT(as_number(item) == 8);
    EXPECT_STATUS(queue_get(q, &item), QUEUE_CLOSED);
    EXPECT_STATUS(queue_get_nowait(q, &item), QUEUE_CLOSED);
    EXPECT(strcmp(queue_strstatus(QUEUE_CLOSED), "queue is closed") == 0);
    queue_destroy(q);
}

/* ---- blocking ---- */

struct blocked_call {
    struct queue *q;
    void *item;
    enum queue_status status;
    atomic_bool returned;
};

static void *blocked_getter(void *arg)
{
    struct blocked_call *call = arg;
    call->status = queue_get(call->q, &call->item);
    atomic_store(&call->returned, true);
    return NULL;
}

static void *blocked_putter(void *arg)
{
    struct blocked_call *call = arg;
    call->status = queue_put(call->q, call->item);
    atomic_store(&call->returned, true);
    return NULL;
}

static void get_blocks_until_put(void)
{
    struct queue *q = queue_create(0);
    struct blocked_call call = {.q = q};
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, blocked_getter, &call));
    queue_wait_for_getters(q, 1);
    EXPECT(!atomic_load(&call.returned)); /* counted as waiting: it cannot have returned */
    EXPECT(queue_waiting_getters(q) == 1);
    EXPECT_STATUS(queue_put(q, as_item(42)), QUEUE_OK);
    CHECK_PT(pthread_join(t, NULL));
    EXPECT_STATUS(call.status, QUEUE_OK);
    EXPECT(as_number(call.item) == 42);
    EXPECT(queue_waiting_getters(q) == 0);
    queue_destroy(q);
}

static void put_blocks_until_get(void)
{
    struct queue *q = queue_create(1);
    EXPECT_STATUS(queue_put(q, as_item(1)), QUEUE_OK);
    struct blocked_call call = {.q = q, .item = as_item(2)};
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, blocked_putter, &call));
    queue_wait_for_putters(q, 1);
    EXPECT(!atomic_load(&call.returned));
    EXPECT(queue_qsize(q) == 1); /* the bound holds while the putter waits */
    void *item;
    EXPECT_STATUS(queue_get(q, &item), QUEUE_OK); /* frees the slot: the putter wakes */
    EXPECT(as_number(item) == 1);
    CHECK_PT(pthread_join(t, NULL));
    EXPECT_STATUS(call.status, QUEUE_OK);
    EXPECT_STATUS(queue_get_nowait(q, &item), QUEUE_OK);
    EXPECT(as_number(item) == 2);
    EXPECT(queue_peak_qsize(q) == 1);
    queue_destroy(q);
}

static void close_wakes_every_getter(void)
{
    enum { GETTERS = 6 };
    struct queue *q = queue_create(0);
    struct blocked_call calls[GETTERS];
    pthread_t t[GETTERS];
    for (int i = 0; i < GETTERS; i++) {
        calls[i] = (struct blocked_call){.q = q};
        CHECK_PT(pthread_create(&t[i], NULL, blocked_getter, &calls[i]));
    }
    queue_wait_for_getters(q, GETTERS); /* all six are asleep in queue_get */
    queue_close(q);
    for (int i = 0; i < GETTERS; i++) {
        CHECK_PT(pthread_join(t[i], NULL)); /* a getter left asleep would hang here */
        EXPECT_STATUS(calls[i].status, QUEUE_CLOSED);
    }
    queue_destroy(q);
}

static void close_wakes_blocked_putter(void)
{
    struct queue *q = queue_create(1);
    EXPECT_STATUS(queue_put(q, as_item(1)), QUEUE_OK);
    struct blocked_call call = {.q = q, .item = as_item(2)};
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, blocked_putter, &call));
    queue_wait_for_putters(q, 1);
    queue_close(q);
    CHECK_PT(pthread_join(t, NULL));
    EXPECT_STATUS(call.status, QUEUE_CLOSED);
    EXPECT(queue_qsize(q) == 1); /* the item put before close is still there */
    queue_destroy(q);
}

/* ---- join ---- */

struct join_round {
    struct queue *q;
    struct queue *started; /* the joiner puts one item here just before joining */
    atomic_long marked;    /* task_done calls about to be made */
    long seen_at_return;   /* `marked` as the joiner saw it when join returned */
};

static void *joiner(void *arg)
{
    struct join_round *r = arg;
    queue_put(r->started, NULL);
    queue_join(r->q);
    r->seen_at_return = atomic_load(&r->marked);
    return NULL;
}

/* A joiner started while items are unfinished must see every task_done done
 * when join returns. Main counts each task_done just before making it, and
 * starts only once the joiner is about to join, so a join that returned early
 * would see fewer (in practice none: main is still waking up). */
static void join_waits_for_last_task_done(void)
{
    enum { ROUNDS = 300, ITEMS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        struct join_round r = {.q = queue_create(0), .started = queue_create(0)};
        for (int i = 0; i < ITEMS; i++)
            EXPECT_STATUS(queue_put(r.q, as_item(i)), QUEUE_OK);
        pthread_t t;
        CHECK_PT(pthread_create(&t, NULL, joiner, &r));
        void *item;
        EXPECT_STATUS(queue_get(r.started, &item), QUEUE_OK);
        for (int i = 0; i < ITEMS; i++) {
            EXPECT_STATUS(queue_get(r.q, &item), QUEUE_OK);
            atomic_fetch_add(&r.marked, 1);
            EXPECT_STATUS(queue_task_done(r.q), QUEUE_OK);
        }
        CHECK_PT(pthread_join(t, NULL));
        EXPECT(r.seen_at_return == ITEMS);
        queue_destroy(r.q);
        queue_destroy(r.started);
    }
}

/* ---- many producers, many consumers, small bound ---- */

enum { PRODUCERS = 4, CONSUMERS = 4, STRESS_MAXSIZE = 8 };

struct stress {
    struct queue *q;
    long per_producer;
    atomic_uchar *seen;     /* seen[i]: how many times item i arrived */
    atomic_long puts_done;  /* puts that have returned */
    atomic_long gets_begun; /* gets that have started */
    atomic_long over_bound; /* times puts_done - gets_begun exceeded the bound */
    atomic_long out_of_order;
};

struct stress_thread {
    struct stress *s;
    long index;
};

/* An item is producer * per_producer + sequence. */
static void *stress_producer(void *arg)
{
    struct stress_thread *me = arg;
    struct stress *s = me->s;
    for (long i = 0; i < s->per_producer; i++) {
        uintptr_t n = (uintptr_t)(me->index * s->per_producer + i);
        if (queue_put(s->q, as_item(n)) != QUEUE_OK)
            die("stress: put failed");
        /* Read puts_done before gets_begun: gets_begun can only have grown
         * since, so this underestimates the queue's size and never accuses a
         * correct queue; a queue holding more than maxsize is caught often. */
        long puts = atomic_fetch_add(&s->puts_done, 1) + 1;
        long gets = atomic_load(&s->gets_begun);
        if (puts - gets > STRESS_MAXSIZE)
            atomic_fetch_add(&s->over_bound, 1);
    }
    return NULL;
}

static void *stress_consumer(void *arg)
{
    struct stress_thread *me = arg;
    struct stress *s = me->s;
    long last[PRODUCERS]; /* the last sequence number seen from each producer */
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    for (;;) {
        atomic_fetch_add(&s->gets_begun, 1);
        void *item;
        enum queue_status status = queue_get(s->q, &item);
        if (status == QUEUE_CLOSED)
            return NULL;
        if (status != QUEUE_OK)
            die("stress: get: %s", queue_strstatus(status));
        uintptr_t n = as_number(item);
        atomic_fetch_add(&s->seen[n], 1);
        long producer = (long)n / s->per_producer, seq = (long)n % s->per_producer;
        /* FIFO: one consumer sees each producer's items in the order put. */
        if (seq <= last[producer])
            atomic_fetch_add(&s->out_of_order, 1);
        last[producer] = seq;
        queue_task_done(s->q);
    }
}

static void stress(void)
{
    long per_producer = 100000;
    long total = PRODUCERS * per_producer;
    struct stress s = {.q = queue_create(STRESS_MAXSIZE), .per_producer = per_producer};
    s.seen = xcalloc((size_t)total, sizeof *s.seen);
    struct stress_thread producers[PRODUCERS], consumers[CONSUMERS];
    pthread_t pt[PRODUCERS], ct[CONSUMERS];
    for (long i = 0; i < CONSUMERS; i++) {
        consumers[i] = (struct stress_thread){&s, i};
        CHECK_PT(pthread_create(&ct[i], NULL, stress_consumer, &consumers[i]));
    }
    for (long i = 0; i < PRODUCERS; i++) {
        producers[i] = (struct stress_thread){&s, i};
        CHECK_PT(pthread_create(&pt[i], NULL, stress_producer, &producers[i]));
    }
    for (int i = 0; i < PRODUCERS; i++)
        CHECK_PT(pthread_join(pt[i], NULL));
    queue_join(s.q); /* every item taken and marked done */
    queue_close(s.q);
    for (int i = 0; i < CONSUMERS; i++)
        CHECK_PT(pthread_join(ct[i], NULL));

    long missing = 0, duplicated = 0;
    for (long i = 0; i < total; i++) {
        missing += s.seen[i] == 0;
        duplicated += s.seen[i] > 1;
    }
    printf("# stress: %ld items, %d producers x %d consumers, maxsize %d: missing %ld, "
           "duplicated %ld, over the bound %ld, out of order %ld, peak qsize %zu\n",
           total, PRODUCERS, CONSUMERS, STRESS_MAXSIZE, missing, duplicated,
           atomic_load(&s.over_bound), atomic_load(&s.out_of_order), queue_peak_qsize(s.q));
    EXPECT(missing == 0);
    EXPECT(duplicated == 0);
    EXPECT(atomic_load(&s.over_bound) == 0);
    EXPECT(atomic_load(&s.out_of_order) == 0);
    EXPECT(queue_peak_qsize(s.q) <= STRESS_MAXSIZE);
    EXPECT(queue_qsize(s.q) == 0);
    free(s.seen);
    queue_destroy(s.q);
}

/* ---- common/worker ---- */

static void *add_offset(void *item, void *ctx)
{
    return as_item(as_number(item) + *(uintptr_t *)ctx);
}

/* start_threads/stop_threads: every item goes through exactly once, and
 * stop_threads returns with the in-queue drained and the workers gone. */
static void worker_threads(void)
{
    enum { ITEMS = 2000 };
    struct queue *in = queue_create(4), *out = queue_create(0);
    uintptr_t offset = 1000000;
    struct worker_threads threads;
    EXPECT(start_threads(&threads, 3, add_offset, &offset, in, out) == 0);
    for (uintptr_t i = 0; i < ITEMS; i++)
        EXPECT_STATUS(queue_put(in, as_item(i)), QUEUE_OK);
    stop_threads(in, &threads);
    EXPECT(queue_qsize(out) == ITEMS);
    static unsigned char seen[ITEMS];
    void *item;
    while (queue_get_nowait(out, &item) == QUEUE_OK) {
        uintptr_t n = as_number(item) - offset;
        REQUIRE(n < ITEMS); /* seen[n] must be inside the array */
        seen[n]++;
    }
    for (int i = 0; i < ITEMS; i++)
        EXPECT(seen[i] == 1);
    EXPECT_STATUS(queue_put(in, as_item(0)), QUEUE_CLOSED); /* stop_threads closed it */
    queue_destroy(in);
    queue_destroy(out);
}

/* ---- the driver ---- */

static const struct expect_case cases[] = {
    EXPECT_CASE(fifo),
    EXPECT_CASE(task_done_too_many),
    EXPECT_CASE(put_after_close),
    EXPECT_CASE(get_blocks_until_put),
    EXPECT_CASE(put_blocks_until_get),
    EXPECT_CASE(close_wakes_every_getter),
    EXPECT_CASE(close_wakes_blocked_putter),
    EXPECT_CASE(join_waits_for_last_task_done),
    EXPECT_CASE(stress),
    EXPECT_CASE(worker_threads),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
