/* test_cpython_queue: common/queue held to CPython's own tests for queue.Queue
 * (Lib/test/test_queue.py, the 3.13 one with the shutdown tests). Each case
 * is named after the CPython test it checks, and checks what that test
 * checks, written for the C API; tests/lib_cpython.bats runs them one per
 * process, under `timeout`, so a lost wake-up fails instead of hanging.
 *
 *   tests/unit/test_cpython_queue [CASE...]   run those cases, or all (tests/unit/expect.h)
 *   tests/unit/test_cpython_queue --list      the case names
 *
 * Where CPython waits with time.sleep(0.1) for a thread to block, these wait
 * for the event itself (queue_wait_for_getters/putters). The cases that do
 * not apply are listed in common/queue.h ("CPython's test_queue.py").
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "expect.h"
#include "queue.h"

#define QUEUE_SIZE 5

/* Items are small integers stored in the pointers themselves. */
#define ITEM(n) ((void *)(intptr_t)(n))
#define VALUE(p) ((long)(intptr_t)(p))

static bool qfull(struct queue *q, size_t maxsize)
{
    return maxsize > 0 && queue_qsize(q) == maxsize;
}

static long get_value(struct queue *q)
{
    void *item = NULL;
    EXPECT(queue_get(q, &item) == QUEUE_OK);
    return VALUE(item);
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    CHECK_PT(pthread_create(&t, NULL, fn, arg));
    return t;
}

static void join(pthread_t t)
{
    CHECK_PT(pthread_join(t, NULL));
}

/* A one-shot event (threading.Event): set once, waited for by anyone. */
struct event {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool set;
};
#define EVENT_INIT                                                                                 \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false                                 \
    }

static void event_set(struct event *e)
{
    CHECK_PT(pthread_mutex_lock(&e->mutex));
    e->set = true;
    CHECK_PT(pthread_cond_broadcast(&e->cond));
    CHECK_PT(pthread_mutex_unlock(&e->mutex));
}

static bool event_is_set(struct event *e)
{
    CHECK_PT(pthread_mutex_lock(&e->mutex));
    bool set = e->set;
    CHECK_PT(pthread_mutex_unlock(&e->mutex));
    return set;
}

static void event_wait(struct event *e)
{
    CHECK_PT(pthread_mutex_lock(&e->mutex));
    while (!e->set)
        CHECK_PT(pthread_cond_wait(&e->cond, &e->mutex));
    CHECK_PT(pthread_mutex_unlock(&e->mutex));
}

/* ---- BlockingTestMixin: a call that must block until another thread acts ---- */

/* The trigger thread of do_blocking_test: it waits until the main thread is
 * really blocked in the queue (not a sleep, as in CPython), then unblocks it. */
struct trigger {
    struct queue *q;
    bool getter; /* the main thread blocks in get (else in put) */
    atomic_bool fired;
};

static void *trigger(void *arg)
{
    struct trigger *t = arg;
    if (t->getter) {
        queue_wait_for_getters(t->q, 1);
        atomic_store(&t->fired, true);
        EXPECT(queue_put(t->q, ITEM(99)) == QUEUE_OK); /* q.put('empty') */
    } else {
        queue_wait_for_putters(t->q, 1);
        atomic_store(&t->fired, true);
        void *item;
        EXPECT(queue_get(t->q, &item) == QUEUE_OK); /* q.get() */
    }
    return NULL;
}

/* do_blocking_test(q.put, (full,), q.get, ()) */
static void blocking_put(struct queue *q, long full)
{
    struct trigger t = {q, false, false};
    pthread_t thread = start(trigger, &t);
    EXPECT(queue_put(q, ITEM(full)) == QUEUE_OK);
    EXPECT(atomic_load(&t.fired)); /* else the put did not block */
    join(thread);
}

/* do_blocking_test(q.get, (), q.put, ('empty',)) */
static void blocking_get(struct queue *q)
{
    struct trigger t = {q, true, false};
    pthread_t thread = start(trigger, &t);
    EXPECT(get_value(q) == 99);
    EXPECT(atomic_load(&t.fired));
    join(thread);
}

/* ---- BaseQueueTestMixin ---- */

static void basic_queue_test(struct queue *q)
{
    EXPECT(queue_qsize(q) == 0);
    EXPECT(!qfull(q, QUEUE_SIZE));
    EXPECT(queue_put(q, ITEM(111)) == QUEUE_OK);
    EXPECT(queue_put(q, ITEM(333)) == QUEUE_OK);
    EXPECT(queue_put(q, ITEM(222)) == QUEUE_OK);
    long a = get_value(q), b = get_value(q), c = get_value(q);
    EXPECT(a == 111 && b == 333 && c == 222); /* a Queue's order: FIFO */
    for (int i = 0; i < QUEUE_SIZE - 1; i++) {
        EXPECT(queue_put(q, ITEM(i)) == QUEUE_OK);
        EXPECT(queue_qsize(q) > 0);
    }
    EXPECT(!qfull(q, QUEUE_SIZE));
    long last = 2 * QUEUE_SIZE, full = 3 * 2 * QUEUE_SIZE;
    EXPECT(queue_put(q, ITEM(last)) == QUEUE_OK);
    EXPECT(qfull(q, QUEUE_SIZE));
    EXPECT(queue_put_nowait(q, ITEM(full)) == QUEUE_FULL); /* put(full, block=0) */
    blocking_put(q, full);
    for (int i = 0; i < QUEUE_SIZE; i++)
        get_value(q);
    EXPECT(queue_qsize(q) == 0);
    void *item;
    EXPECT(queue_get_nowait(q, &item) == QUEUE_EMPTY); /* get(block=0) */
    blocking_get(q);
}

static void test_basic(void)
{
    struct queue *q = queue_create(QUEUE_SIZE);
    basic_queue_test(q); /* twice: the same instance must be reusable */
    basic_queue_test(q);
    queue_destroy(q);
}

static void test_nowait(void)
{
    struct queue *q = queue_create(QUEUE_SIZE);
    for (int i = 0; i < QUEUE_SIZE; i++)
        EXPECT(queue_put_nowait(q, ITEM(1)) == QUEUE_OK);
    EXPECT(queue_put_nowait(q, ITEM(1)) == QUEUE_FULL);
    void *item;
    for (int i = 0; i < QUEUE_SIZE; i++)
        EXPECT(queue_get_nowait(q, &item) == QUEUE_OK);
    EXPECT(queue_get_nowait(q, &item) == QUEUE_EMPTY);
    queue_destroy(q);
}

static void test_queue_task_done(void)
{
    struct queue *q = queue_create(0);
    EXPECT(queue_task_done(q) == QUEUE_TOO_MANY_DONE); /* ValueError: count going negative */
    queue_destroy(q);
}

struct join_worker {
    struct queue *q;
    atomic_long *cum;
};

/* BaseQueueTestMixin.worker: sum items until a negative one. */
static void *join_worker(void *arg)
{
    struct join_worker *w = arg;
    for (;;) {
        long x = get_value(w->q);
        if (x >= 0)
            atomic_fetch_add(w->cum, x);
        EXPECT(queue_task_done(w->q) == QUEUE_OK);
        if (x < 0)
            return NULL;
    }
}

static void queue_join_test(struct queue *q)
{
    atomic_long cum = 0;
    struct join_worker w = {q, &cum};
    pthread_t threads[2] = {start(join_worker, &w), start(join_worker, &w)};
    for (long i = 0; i < 100; i++)
        EXPECT(queue_put(q, ITEM(i)) == QUEUE_OK);
    queue_join(q);
    EXPECT(atomic_load(&cum) == 4950); /* join did not return before every task_done */
    for (int i = 0; i < 2; i++)
        EXPECT(queue_put(q, ITEM(-1)) == QUEUE_OK); /* tell the workers to stop */
    queue_join(q);                                  /* a queue can be joined twice */
    join(threads[0]);
    join(threads[1]);
}

static void test_queue_join(void)
{
    struct queue *q = queue_create(0);
    queue_join_test(q);
    queue_join_test(q);
    EXPECT(queue_task_done(q) == QUEUE_TOO_MANY_DONE);
    queue_destroy(q);
}

/* ---- the shutdown tests (3.13's Queue.shutdown is queue_close) ---- */

static void test_shutdown_empty(void)
{
    struct queue *q = queue_create(0);
    queue_close(q);
    EXPECT(queue_put(q, ITEM(1)) == QUEUE_CLOSED);
    void *item;
    EXPECT(queue_get(q, &item) == QUEUE_CLOSED);
    queue_destroy(q);
}

static void test_shutdown_nonempty(void)
{
    struct queue *q = queue_create(0);
    EXPECT(queue_put(q, ITEM(7)) == QUEUE_OK);
    queue_close(q);
    EXPECT(get_value(q) == 7);
    void *item;
    EXPECT(queue_get(q, &item) == QUEUE_CLOSED);
    queue_destroy(q);
}

static void test_shutdown_allowed_transitions(void)
{
    struct queue *q = queue_create(0);
    EXPECT(!queue_closed(q));
    queue_close(q);
    EXPECT(queue_closed(q));
    queue_close(q); /* closing twice is allowed, and it stays closed */
    EXPECT(queue_closed(q));
    queue_destroy(q);
}

static void test_shutdown_all_methods_in_one_thread(void)
{
    struct queue *q = queue_create(2);
    EXPECT(queue_put(q, ITEM('L')) == QUEUE_OK);
    EXPECT(queue_put_nowait(q, ITEM('O')) == QUEUE_OK);
    queue_close(q);
    EXPECT(queue_put(q, ITEM('E')) == QUEUE_CLOSED);
    EXPECT(queue_put_nowait(q, ITEM('W')) == QUEUE_CLOSED);
    long a = get_value(q);
    EXPECT(a == 'L' || a == 'O');
    EXPECT(queue_task_done(q) == QUEUE_OK);
    long b = get_value(q);
    EXPECT(b == 'L' || b == 'O');
    EXPECT(queue_task_done(q) == QUEUE_OK);
    queue_join(q);
    void *item; /* closed and empty: both kinds of get say so */
    EXPECT(queue_get(q, &item) == QUEUE_CLOSED);
    EXPECT(queue_get_nowait(q, &item) == QUEUE_CLOSED);
    queue_destroy(q);
}

/* _shutdown_all_methods_in_many_threads(immediate=False): 4 writers and 6
 * readers meet at a barrier once the writers have put half of what comes
 * before the shutdown point and every reader has taken one item; the first
 * writer past the point asks for the shutdown, the rest put until refused. */
enum { WRITERS = 4, READERS = 6, NB_MSGS = 1024 * 64 };

struct many {
    struct queue *q;
    pthread_barrier_t barrier;
    struct event shutdown_now;
    atomic_int shutdown_asked, readers_closed;
};

static void *write_msg_thread(void *arg)
{
    struct many *m = arg;
    long n = NB_MSGS / WRITERS, when = n / 2;
    for (long i = 0; i < when / 2; i++)
        EXPECT(queue_put(m->q, ITEM(i)) == QUEUE_OK);
    pthread_barrier_wait(&m->barrier);
    for (long i = when / 2; i < n; i++) {
        if (queue_put(m->q, ITEM(i)) == QUEUE_CLOSED)
            break;
        if (i == when && !event_is_set(&m->shutdown_now)) { /* only one asks, as in CPython */
            event_set(&m->shutdown_now);
            atomic_fetch_add(&m->shutdown_asked, 1);
        }
    }
    return NULL;
}

static void *read_msg_thread(void *arg)
{
    struct many *m = arg;
    get_value(m->q);
    EXPECT(queue_task_done(m->q) == QUEUE_OK);
    pthread_barrier_wait(&m->barrier);
    for (;;) {
        void *item;
        enum queue_status s = queue_get_nowait(m->q, &item);
        if (s == QUEUE_CLOSED) {
            atomic_fetch_add(&m->readers_closed, 1);
            return NULL;
        }
        if (s == QUEUE_OK)
            EXPECT(queue_task_done(m->q) == QUEUE_OK);
        else
            sched_yield(); /* empty: CPython's loop spins here too */
    }
}

static void *shutdown_thread(void *arg)
{
    struct many *m = arg;
    event_wait(&m->shutdown_now);
    queue_close(m->q);
    return NULL;
}

static void test_shutdown_all_methods_in_many_threads(void)
{
    struct many m = {.q = queue_create(0), .shutdown_now = EVENT_INIT};
    CHECK_PT(pthread_barrier_init(&m.barrier, NULL, WRITERS + READERS));
    pthread_t threads[WRITERS + READERS + 1];
    int n = 0;
    for (int i = 0; i < WRITERS; i++)
        threads[n++] = start(write_msg_thread, &m);
    for (int i = 0; i < READERS; i++)
        threads[n++] = start(read_msg_thread, &m);
    threads[n++] = start(shutdown_thread, &m);
    for (int i = 0; i < n; i++)
        join(threads[i]);
    EXPECT(atomic_load(&m.shutdown_asked) >= 1); /* True in res_puts (two writers may both ask) */
    EXPECT(atomic_load(&m.readers_closed) == READERS); /* every reader saw ShutDown */
    EXPECT(queue_qsize(m.q) == 0);                     /* the readers drained it */
    CHECK_PT(pthread_barrier_destroy(&m.barrier));
    queue_destroy(m.q);
}

/* The threads of the _shutdown_get/_put/_join tests: each waits for `go`,
 * makes one call, and records whether it went the way the test expects. */
struct party {
    struct queue *q;
    struct event *go;
    atomic_int *ok;
    bool expect_closed; /* for _get_shutdown/_put_shutdown: the call must be refused */
};

static void *party_get(void *arg)
{
    struct party *p = arg;
    event_wait(p->go);
    void *item;
    enum queue_status s = queue_get(p->q, &item);
    if ((s == QUEUE_CLOSED) == p->expect_closed)
        atomic_fetch_add(p->ok, 1);
    return NULL;
}

static void *party_get_task_done(void *arg)
{
    struct party *p = arg;
    event_wait(p->go);
    void *item;
    if (queue_get(p->q, &item) == QUEUE_OK && queue_task_done(p->q) == QUEUE_OK)
        atomic_fetch_add(p->ok, 1);
    return NULL;
}

static void *party_put(void *arg)
{
    struct party *p = arg;
    event_wait(p->go);
    if ((queue_put(p->q, ITEM(1)) == QUEUE_CLOSED) == p->expect_closed)
        atomic_fetch_add(p->ok, 1);
    return NULL;
}

static void *party_join(void *arg)
{
    struct party *p = arg; /* no `go`: joiners start waiting at once */
    queue_join(p->q);      /* join never raises ShutDown without immediate */
    atomic_fetch_add(p->ok, 1);
    return NULL;
}

static void test_shutdown_get(void)
{
    struct queue *q = queue_create(2);
    struct event go = EVENT_INIT;
    atomic_int got = 0;
    EXPECT(queue_put(q, ITEM('Y')) == QUEUE_OK);
    EXPECT(queue_put(q, ITEM('D')) == QUEUE_OK); /* full */
    struct party p = {q, &go, &got, false};
    pthread_t t[3] = {start(party_get, &p), start(party_get, &p), start(party_get, &p)};
    queue_close(q);
    event_set(&go);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    EXPECT(atomic_load(&got) == 2); /* two get the items, one is told ShutDown */
    queue_destroy(q);
}

static void test_shutdown_put(void)
{
    struct queue *q = queue_create(2);
    struct event go = EVENT_INIT;
    atomic_int ok = 0;
    EXPECT(queue_put(q, ITEM('Y')) == QUEUE_OK);
    EXPECT(queue_put(q, ITEM('D')) == QUEUE_OK); /* full */
    struct party p = {q, &go, &ok, true};
    pthread_t t[2] = {start(party_put, &p), start(party_put, &p)};
    queue_close(q);
    event_set(&go);
    join(t[0]);
    join(t[1]);
    EXPECT(atomic_load(&ok) == 2); /* both puts raised ShutDown */
    queue_destroy(q);
}

static void test_shutdown_join(void)
{
    struct queue *q = queue_create(0);
    struct event go = EVENT_INIT;
    atomic_int joined = 0, done = 0;
    EXPECT(queue_put(q, ITEM('Y')) == QUEUE_OK);
    struct party joiner = {q, &go, &joined, false}, worker = {q, &go, &done, false};
    pthread_t t[3] = {start(party_join, &joiner), start(party_join, &joiner),
                      start(party_get_task_done, &worker)};
    queue_close(q);
    event_set(&go);
    for (int i = 0; i < 3; i++)
        join(t[i]);
    EXPECT(atomic_load(&joined) == 2); /* both joins returned normally */
    EXPECT(atomic_load(&done) == 1);
    queue_destroy(q);
}

static void test_shutdown_put_join(void)
{
    struct queue *q = queue_create(2);
    struct event go = EVENT_INIT;
    atomic_int ok = 0;
    EXPECT(queue_put(q, ITEM('Y')) == QUEUE_OK); /* not full */
    struct party putter = {q, &go, &ok, true}, joiner = {q, &go, &ok, false};
    pthread_t t[2] = {start(party_put, &putter), start(party_join, &joiner)};
    queue_close(q);
    event_set(&go);
    EXPECT(get_value(q) == 'Y'); /* still delivered after shutdown() */
    EXPECT(queue_task_done(q) == QUEUE_OK);
    join(t[0]);
    join(t[1]);
    EXPECT(atomic_load(&ok) == 2);
    queue_destroy(q);
}

static void test_shutdown_get_task_done_join(void)
{
    struct queue *q = queue_create(2);
    struct event go = EVENT_INIT;
    atomic_int ok = 0;
    EXPECT(queue_put(q, ITEM('Y')) == QUEUE_OK);
    EXPECT(queue_put(q, ITEM('D')) == QUEUE_OK);
    struct party p = {q, &go, &ok, false};
    pthread_t t[4] = {start(party_get_task_done, &p), start(party_get_task_done, &p),
                      start(party_join, &p), start(party_join, &p)};
    event_set(&go);
    queue_close(q);
    for (int i = 0; i < 4; i++)
        join(t[i]);
    EXPECT(atomic_load(&ok) == 4);
    queue_destroy(q);
}

static void test_shutdown_pending_get(void)
{
    struct queue *q = queue_create(0);
    struct event go = EVENT_INIT;
    atomic_int ok = 0;
    struct party p = {q, &go, &ok, true};
    event_set(&go);
    pthread_t t = start(party_get, &p);
    queue_wait_for_getters(q, 1); /* it is pending in get() */
    queue_close(q);
    join(t);
    EXPECT(atomic_load(&ok) == 1); /* the pending get raised ShutDown */
    queue_destroy(q);
}

/* ---- BaseSimpleQueueTest, run on an unbounded Queue ---- */

enum { SENTINEL = -1 };

struct feed {
    struct queue *q;
    atomic_long next, total; /* the next input to hand out; the sum of those consumed */
    long inputs;
    atomic_int consumed;
    atomic_long last; /* test_order: the last value consumed, to check the order */
    atomic_int out_of_order;
    bool nonblock;
};

static void *feed(void *arg)
{
    struct feed *f = arg;
    for (;;) {
        long v = atomic_fetch_add(&f->next, 1);
        if (v >= f->inputs) {
            EXPECT(queue_put(f->q, ITEM(SENTINEL)) == QUEUE_OK);
            return NULL;
        }
        EXPECT(queue_put(f->q, ITEM(v)) == QUEUE_OK);
    }
}

static void *consume(void *arg)
{
    struct feed *f = arg;
    for (;;) {
        void *item;
        if (f->nonblock) {
            while (queue_get_nowait(f->q, &item) == QUEUE_EMPTY)
                sched_yield();
        } else
            EXPECT(queue_get(f->q, &item) == QUEUE_OK);
        long v = VALUE(item);
        if (v == SENTINEL)
            return NULL;
        if (v != atomic_load(&f->last) + 1)
            atomic_fetch_add(&f->out_of_order, 1);
        atomic_store(&f->last, v);
        atomic_fetch_add(&f->total, v);
        atomic_fetch_add(&f->consumed, 1);
    }
}

static void run_threads(int n, long inputs, bool nonblock, struct feed *f)
{
    *f = (struct feed){.q = queue_create(0), .inputs = inputs, .last = -1, .nonblock = nonblock};
    pthread_t *t = xcalloc((size_t)(2 * n), sizeof *t);
    for (int i = 0; i < n; i++) {
        t[i] = start(feed, f);
        t[n + i] = start(consume, f);
    }
    for (int i = 0; i < 2 * n; i++)
        join(t[i]);
    free(t);
    EXPECT(queue_qsize(f->q) == 0);
    EXPECT(atomic_load(&f->consumed) == inputs);
    EXPECT(atomic_load(&f->total) == inputs * (inputs - 1) / 2); /* sorted(results) == inputs */
    queue_destroy(f->q);
}

static void test_order(void)
{
    struct feed f;
    run_threads(1, 100, false, &f);
    EXPECT(atomic_load(&f.out_of_order) == 0); /* one producer, one consumer: in order */
}

static void test_many_threads(void)
{
    struct feed f;
    run_threads(50, 10000, false, &f);
}

static void test_many_threads_nonblock(void)
{
    struct feed f;
    run_threads(50, 10000, true, &f);
}

/* ---- not from CPython: Queue(maxsize) reserves nothing up front ---- */

/* Python's Queue(1 << 61) and Queue(-1) (size_t -1 here: no bound worth the
 * name) take a put at once; a queue that allocated every slot at create died
 * out of memory. A small bound still holds as the ring grows and wraps. */
static void huge_maxsize_reserves_nothing(void)
{
    size_t sizes[] = {(size_t)1 << 61, SIZE_MAX};
    for (size_t s = 0; s < 2; s++) {
        struct queue *q = queue_create(sizes[s]);
        for (long i = 0; i < 1000; i++)
            EXPECT(queue_put_nowait(q, ITEM(i)) == QUEUE_OK);
        EXPECT(queue_qsize(q) == 1000);
        for (long i = 0; i < 1000; i++)
            EXPECT(get_value(q) == i);
        queue_destroy(q);
    }
    /* maxsize 100: fill half, drain a quarter (the ring wraps), fill to the bound */
    struct queue *q = queue_create(100);
    long next_in = 0, next_out = 0;
    for (int i = 0; i < 50; i++)
        EXPECT(queue_put_nowait(q, ITEM(next_in++)) == QUEUE_OK);
    for (int i = 0; i < 25; i++)
        EXPECT(get_value(q) == next_out++);
    while (queue_qsize(q) < 100)
        EXPECT(queue_put_nowait(q, ITEM(next_in++)) == QUEUE_OK);
    EXPECT(queue_put_nowait(q, ITEM(next_in)) == QUEUE_FULL);
    while (queue_qsize(q) > 0)
        EXPECT(get_value(q) == next_out++);
    EXPECT(next_out == next_in);
    queue_destroy(q);
}

/* ---- the driver ---- */

static const struct expect_case cases[] = {
    EXPECT_CASE(test_basic),
    EXPECT_CASE(test_nowait),
    EXPECT_CASE(test_queue_task_done),
    EXPECT_CASE(test_queue_join),
    EXPECT_CASE(test_shutdown_empty),
    EXPECT_CASE(test_shutdown_nonempty),
    EXPECT_CASE(test_shutdown_allowed_transitions),
    EXPECT_CASE(test_shutdown_all_methods_in_one_thread),
    EXPECT_CASE(test_shutdown_all_methods_in_many_threads),
    EXPECT_CASE(test_shutdown_get),
    EXPECT_CASE(test_shutdown_put),
    EXPECT_CASE(test_shutdown_join),
    EXPECT_CASE(test_shutdown_put_join),
    EXPECT_CASE(test_shutdown_get_task_done_join),
    EXPECT_CASE(test_shutdown_pending_get),
    EXPECT_CASE(test_order),
    EXPECT_CASE(test_many_threads),
    EXPECT_CASE(test_many_threads_nonblock),
    EXPECT_CASE(huge_maxsize_reserves_nothing),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
