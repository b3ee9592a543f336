/* Unit tests for common/futures, driven by tests/lib_futures.bats.
 *
 *   test_futures threads     ThreadPoolExecutor: results in order, errors re-raised with
 *                            their message, max_workers never exceeded, shutdown waits,
 *                            one future collected from many threads, submit after shutdown
 *   test_futures processes   ProcessPoolExecutor: the same interface over worker processes;
 *                            map order, errors, values that cross the socket, 1,000 tasks
 *   test_futures kill        a worker killed with SIGKILL mid-task breaks the pool: every
 *                            pending future fails with BrokenProcessPool, nothing hangs,
 *                            every worker is reaped (no zombie, no child left)
 *   test_futures crash       the same with a task that segfaults in the worker
 *
 * Each prints "FAIL file:line: condition" for a failed check and ends with
 * "N cases, M failed"; the exit status is 1 if any failed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clock.h"
#include "futures.h"

static int failures, cases;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        cases++;                                                                                   \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
        }                                                                                          \
    } while (0)

/* ---- tasks ---- */

/* Returns a malloc'd copy of *arg squared; raises ValueError for negatives. */
static struct error *square(void *arg, void **result)
{
    long x = *(const long *)arg;
    if (x < 0)
        return error_new("ValueError", "negative input: %ld", x);
    long *r = xmalloc(sizeof *r);
    *r = x * x;
    *result = r;
    return NULL;
}

static struct {
    atomic_int running, most, finished;
} load;

/* Counts how many tasks run at once, holding each for a few milliseconds so
 * that any that could overlap do. */
static struct error *busy(void *arg, void **result)
{
    (void)result;
    int now = atomic_fetch_add(&load.running, 1) + 1;
    int most = atomic_load(&load.most);
    while (now > most && !atomic_compare_exchange_weak(&load.most, &most, now))
        ;
    clock_sleep(*(const double *)arg);
    atomic_fetch_sub(&load.running, 1);
    atomic_fetch_add(&load.finished, 1);
    return NULL;
}

/* ---- ThreadPoolExecutor ---- */

struct collector {
    struct future *future;
    long value;
    char message[208];
};

static void *collect(void *arg)
{
    struct collector *c = arg;
    void *value = NULL;
    struct error *e = future_result(c->future, &value);
    c->value = value ? *(long *)value : -1;
    snprintf(c->message, sizeof c->message, "%s", e ? e->message : "");
    error_free(e);
    return NULL;
}

static void test_map_order(struct executor *ex)
{
    enum { N = 100 };
    long inputs[N];
    void *args[N], *results[N];
    for (int i = 0; i < N; i++) {
        inputs[i] = i;
        args[i] = &inputs[i];
    }
    EXPECT(executor_map(ex, square, args, N, results) == NULL);
    bool in_order = true;
    for (int i = 0; i < N; i++) {
        in_order = in_order && results[i] && *(long *)results[i] == (long)i * i;
        free(results[i]);
    }
    EXPECT(in_order);
}

static void test_errors(struct executor *ex)
{
    long bad = -7, good = 3;
    struct future *f = executor_submit(ex, square, &bad);
    struct future *g = executor_submit(ex, square, &good);
    void *value = NULL;
    struct error *e = future_result(f, &value);
    EXPECT(e != NULL);
    EXPECT(e && strcmp(e->type, "ValueError") == 0);
    EXPECT(e && strcmp(e->message, "negative input: -7") == 0);
    EXPECT(value == NULL);
    error_free(e);
    /* result() again: the same error again, as Python re-raises each time */
    e = future_result(f, NULL);
    EXPECT(e && strcmp(e->message, "negative input: -7") == 0);
    error_free(e);
    EXPECT(future_result(g, &value) == NULL && value && *(long *)value == 9);
    free(value);
    future_destroy(f);
    future_destroy(g);

    /* map returns the first error (in submission order) with its message */
    long inputs[] = {1, -2, 3, -4};
    void *args[] = {&inputs[0], &inputs[1], &inputs[2], &inputs[3]};
    void *results[4];
    e = executor_map(ex, square, args, 4, results);
    EXPECT(e && strcmp(e->message, "negative input: -2") == 0);
    EXPECT(results[0] && *(long *)results[0] == 1 && results[1] == NULL);
    EXPECT(results[2] && *(long *)results[2] == 9 && results[3] == NULL);
    for (int i = 0; i < 4; i++)
        free(results[i]);
    error_free(e);
}

static void test_thread_pool(void)
{
    struct executor *ex = thread_pool_create(4);
    EXPECT(ex != NULL);
    test_map_order(ex);
    test_errors(ex);

    /* One future, collected from eight threads at once: each gets the value. */
    long x = 12;
    struct collector c[8];
    pthread_t t[8];
    struct future *f = executor_submit(ex, square, &x);
    for (int i = 0; i < 8; i++) {
        c[i] = (struct collector){.future = f};
        CHECK_PT(pthread_create(&t[i], NULL, collect, &c[i]));
    }
    bool all = true;
    for (int i = 0; i < 8; i++) {
        CHECK_PT(pthread_join(t[i], NULL));
        all = all && c[i].value == 144;
    }
    EXPECT(all);
    void *value;
    EXPECT(future_result(f, &value) == NULL);
    free(value);
    future_destroy(f);
    executor_destroy(ex);

    /* max_workers: 3 workers, 30 tasks of 5 ms: never more than 3 at once. */
    ex = thread_pool_create(3);
    double hold = 0.005;
    struct future *fs[30];
    load.most = 0;
    for (int i = 0; i < 30; i++)
        fs[i] = executor_submit(ex, busy, &hold);
    for (int i = 0; i < 30; i++) {
        EXPECT(future_result(fs[i], NULL) == NULL);
        future_destroy(fs[i]);
    }
    printf("at most %d of 3 workers ran at once\n", atomic_load(&load.most));
    EXPECT(atomic_load(&load.most) <= 3);
    EXPECT(atomic_load(&load.most) >= 1);

    /* shutdown(wait=true) returns only after every submitted task finished,
     * even the ones nobody asked for a result of. */
    atomic_store(&load.finished, 0);
    for (int i = 0; i < 12; i++)
        fs[i] = executor_submit(ex, busy, &hold);
    executor_shutdown(ex, true);
    EXPECT(atomic_load(&load.finished) == 12);
    for (int i = 0; i < 12; i++) {
        EXPECT(future_done(fs[i]));
        future_destroy(fs[i]);
    }
    /* after shutdown: submit refuses (Python: RuntimeError), shutdown is idempotent */
    errno = 0;
    EXPECT(executor_submit(ex, busy, &hold) == NULL && errno == ESHUTDOWN);
    void *results[1];
    struct error *e = executor_map(ex, busy, (void *[]){&hold}, 1, results);
    EXPECT(e && strcmp(e->type, "RuntimeError") == 0);
    error_free(e);
    executor_shutdown(ex, true);
    executor_destroy(ex);

    /* shutdown(wait=false) returns at once but the queued tasks still run;
     * executor_destroy then waits for them. */
    ex = thread_pool_create(2);
    atomic_store(&load.finished, 0);
    for (int i = 0; i < 8; i++)
        fs[i] = executor_submit(ex, busy, &hold);
    executor_shutdown(ex, false);
    executor_destroy(ex);
    EXPECT(atomic_load(&load.finished) == 8);
    for (int i = 0; i < 8; i++)
        future_destroy(fs[i]);

    errno = 0;
    EXPECT(thread_pool_create(0) == NULL && errno == EINVAL);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (strcmp(what, "threads") == 0) {
        test_thread_pool();
    } else {
        fprintf(stderr, "usage: test_futures threads|processes|kill|crash\n");
        return 2;
    }
    printf("%d cases, %d failed\n", cases, failures);
    return failures ? 1 : 0;
}
