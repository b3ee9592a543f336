/* futures: the future, the generic executor calls, and ThreadPoolExecutor.
 * See futures.h for the API.
 *
 * Implementation notes: the future
 *   mutex guards done, value and error; `finished` is broadcast once, when the
 *   future is resolved, because any number of threads may wait for it.
 *   Invariant: done goes false -> true exactly once (a second set dies);
 *   value/error never change after that, so future_result may copy them out
 *   under the mutex.
 *   Done callbacks (add_done_callback) wait in a FIFO until then; resolve
 *   takes the list under the mutex and runs it without, in the resolving
 *   thread, with in_callbacks set so that future_destroy waits for them.
 *
 * Implementation notes: the thread pool
 *   max_workers threads are created up front and live until shutdown; each
 *   takes one task at a time from a FIFO, so no more than max_workers
 *   functions ever run at once.
 *
 *   mutex guards head, tail and shutting_down.
 *   work_ready is signalled by submit (one new task: one worker need wake) and
 *   broadcast by shutdown (every idle worker must wake to see the flag).
 *   A worker waits while the queue is empty and the pool is not shutting
 *   down; it runs the task's function *without* the mutex (else the workers
 *   would take turns), then resolves the task's future and frees the task.
 *   A worker exits only once shutting_down is set AND the queue is empty, so
 *   shutdown(wait=false) still runs everything already submitted, as Python's
 *   shutdown does without cancel_futures.
 *
 *   join_mutex guards joined: two callers of shutdown(wait=true) must not
 *   both pthread_join the same thread (undefined behaviour); the second waits
 *   on join_mutex until the first has joined them all, then returns.
 *
 *   Limits: no cancel(), no result(timeout); the queue is unbounded (Python's
 *   is a SimpleQueue too). The caller owns each future and destroys it after
 *   future_result; the pool never touches a future once it is resolved.
 */
#include "futures.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "futures_impl.h"

struct done_callback {
    struct done_callback *next;
    void (*cb)(struct future *f, void *arg);
    void *arg;
};

struct future {
    pthread_mutex_t mutex;
    pthread_cond_t finished;
    bool done;                       /* guarded by mutex */
    bool in_callbacks;               /* guarded by mutex: resolve is running callbacks */
    void *value;                     /* guarded by mutex */
    struct error *error;             /* guarded by mutex */
    struct done_callback *callbacks; /* guarded by mutex: FIFO until done */
};

struct future *future_create(void)
{
    struct future *f = xcalloc(1, sizeof *f);
    CHECK_PT(pthread_mutex_init(&f->mutex, NULL));
    CHECK_PT(pthread_cond_init(&f->finished, NULL));
    return f;
}

/* The callbacks run without the mutex (a callback may call future_result),
 * after done is set; in_callbacks keeps future_destroy waiting until they
 * have returned. Setting a done future again is the caller's bug (Python
 * raises InvalidStateError): it dies, since a second value would either be
 * lost or change what future_result already handed out. */
static void resolve(struct future *f, void *value, struct error *error, const char *call)
{
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    if (f->done) {
        CHECK_PT(pthread_mutex_unlock(&f->mutex));
        die("%s: the future is already done (a future is set once)", call);
    }
    f->done = true;
    f->value = value;
    f->error = error;
    struct done_callback *callbacks = f->callbacks;
    f->callbacks = NULL;
    f->in_callbacks = callbacks != NULL;
    CHECK_PT(pthread_cond_broadcast(&f->finished));
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
    if (!callbacks)
        return;
    while (callbacks) {
        struct done_callback *c = callbacks;
        callbacks = c->next;
        c->cb(f, c->arg);
        free(c);
    }
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    f->in_callbacks = false;
    CHECK_PT(pthread_cond_broadcast(&f->finished));
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
}

void future_add_done_callback(struct future *f, void (*cb)(struct future *f, void *arg), void *arg)
{
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    if (f->done) {
        CHECK_PT(pthread_mutex_unlock(&f->mutex));
        cb(f, arg);
        return;
    }
    struct done_callback *c = xmalloc(sizeof *c);
    *c = (struct done_callback){NULL, cb, arg};
    struct done_callback **tail = &f->callbacks;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
}

bool future_remove_done_callback(struct future *f, void (*cb)(struct future *f, void *arg),
                                 void *arg)
{
    bool removed = false;
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    for (struct done_callback **p = &f->callbacks; *p; p = &(*p)->next) {
        if ((*p)->cb == cb && (*p)->arg == arg) {
            struct done_callback *c = *p;
            *p = c->next;
            free(c);
            removed = true;
            break;
        }
    }
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
    return removed;
}

void future_set_result(struct future *f, void *value)
{
    resolve(f, value, NULL, "future_set_result");
}

void future_set_error(struct future *f, struct error *error)
{
    resolve(f, NULL, error, "future_set_error");
}

bool future_done(struct future *f)
{
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    bool done = f->done;
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
    return done;
}

struct error *future_result(struct future *f, void **value)
{
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    while (!f->done)
        CHECK_PT(pthread_cond_wait(&f->finished, &f->mutex));
    if (value)
        *value = f->value;
    struct error *error = error_copy(f->error);
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
    return error;
}

void future_destroy(struct future *f)
{
    if (!f)
        return;
    CHECK_PT(pthread_mutex_lock(&f->mutex));
    while (f->in_callbacks)
        CHECK_PT(pthread_cond_wait(&f->finished, &f->mutex));
    struct done_callback *c = f->callbacks; /* never resolved: they never run */
    CHECK_PT(pthread_mutex_unlock(&f->mutex));
    while (c) {
        struct done_callback *next = c->next;
        free(c);
        c = next;
    }
    CHECK_PT(pthread_mutex_destroy(&f->mutex));
    CHECK_PT(pthread_cond_destroy(&f->finished));
    error_free(f->error);
    free(f);
}

/* ---- the generic executor calls ---- */

struct future *executor_submit(struct executor *ex, task_fn *fn, void *arg)
{
    return ex->ops->submit(ex, fn, arg);
}

/* For a process pool, the second loop is Item 64's Step 10: "merge the
 * results from multiple children into a single list", in submission order
 * whatever order the workers finished in. */
struct error *executor_map(struct executor *ex, task_fn *fn, void *const *args, size_t n,
                           void **results)
{
    struct future **futures = xcalloc(n ? n : 1, sizeof *futures);
    struct error *first = NULL;
    for (size_t i = 0; i < n; i++) {
        futures[i] = executor_submit(ex, fn, args[i]);
        if (!futures[i] && !first)
            first = error_new("RuntimeError", "cannot schedule new futures after shutdown");
    }
    for (size_t i = 0; i < n; i++) {
        results[i] = NULL;
        if (!futures[i])
            continue;
        void *value = NULL;
        struct error *e = future_result(futures[i], &value);
        results[i] = value;
        if (e && !first)
            first = e;
        else
            error_free(e);
        future_destroy(futures[i]);
    }
    free(futures);
    return first;
}

void executor_shutdown(struct executor *ex, bool wait)
{
    ex->ops->shutdown(ex, wait);
}

void executor_destroy(struct executor *ex)
{
    if (!ex)
        return;
    ex->ops->shutdown(ex, true);
    ex->ops->destroy(ex);
}

/* ---- ThreadPoolExecutor (notes at the top of the file) ---- */

struct task {
    struct task *next;
    task_fn *fn;
    void *arg;
    struct future *future;
};

struct thread_pool {
    struct executor base; /* first: a struct executor * points here */
    pthread_mutex_t mutex;
    pthread_cond_t work_ready;
    struct task *head, *tail; /* guarded by mutex */
    bool shutting_down;       /* guarded by mutex */
    pthread_mutex_t join_mutex;
    bool joined; /* guarded by join_mutex */
    int nthreads;
    pthread_t threads[]; /* nthreads of them */
};

static void *pool_worker(void *arg)
{
    struct thread_pool *pool = arg;
    for (;;) {
        CHECK_PT(pthread_mutex_lock(&pool->mutex));
        while (!pool->head && !pool->shutting_down)
            CHECK_PT(pthread_cond_wait(&pool->work_ready, &pool->mutex));
        struct task *task = pool->head;
        if (!task) { /* shutting down and nothing left to do */
            CHECK_PT(pthread_mutex_unlock(&pool->mutex));
            return NULL;
        }
        pool->head = task->next;
        if (!pool->head)
            pool->tail = NULL;
        CHECK_PT(pthread_mutex_unlock(&pool->mutex));

        void *value = NULL;
        struct error *error = task->fn(task->arg, &value);
        if (error)
            future_set_error(task->future, error);
        else
            future_set_result(task->future, value);
        free(task);
    }
}

static struct future *thread_pool_submit(struct executor *ex, task_fn *fn, void *arg)
{
    struct thread_pool *pool = (struct thread_pool *)ex;
    struct task *task = xmalloc(sizeof *task);
    *task = (struct task){NULL, fn, arg, future_create()};
    struct future *future = task->future;

    CHECK_PT(pthread_mutex_lock(&pool->mutex));
    if (pool->shutting_down) {
        /* Python: RuntimeError('cannot schedule new futures after shutdown') */
        CHECK_PT(pthread_mutex_unlock(&pool->mutex));
        future_destroy(future);
        free(task);
        errno = ESHUTDOWN;
        return NULL;
    }
    if (pool->tail)
        pool->tail->next = task;
    else
        pool->head = task;
    pool->tail = task;
    CHECK_PT(pthread_cond_signal(&pool->work_ready));
    CHECK_PT(pthread_mutex_unlock(&pool->mutex));
    /* The worker may resolve the future before we return: the caller's copy
     * of the pointer stays valid because only the caller destroys it. */
    return future;
}

static void join_workers(struct thread_pool *pool, int n)
{
    for (int i = 0; i < n; i++)
        CHECK_PT(pthread_join(pool->threads[i], NULL));
}

static void thread_pool_shutdown(struct executor *ex, bool wait)
{
    struct thread_pool *pool = (struct thread_pool *)ex;
    CHECK_PT(pthread_mutex_lock(&pool->mutex));
    pool->shutting_down = true;
    CHECK_PT(pthread_cond_broadcast(&pool->work_ready));
    CHECK_PT(pthread_mutex_unlock(&pool->mutex));
    if (!wait)
        return;
    CHECK_PT(pthread_mutex_lock(&pool->join_mutex));
    if (!pool->joined) {
        join_workers(pool, pool->nthreads);
        pool->joined = true;
    }
    CHECK_PT(pthread_mutex_unlock(&pool->join_mutex));
}

static void thread_pool_free(struct thread_pool *pool)
{
    CHECK_PT(pthread_mutex_destroy(&pool->mutex));
    CHECK_PT(pthread_cond_destroy(&pool->work_ready));
    CHECK_PT(pthread_mutex_destroy(&pool->join_mutex));
    free(pool);
}

static void thread_pool_destroy(struct executor *ex)
{
    thread_pool_free((struct thread_pool *)ex);
}

static const struct executor_ops thread_pool_ops = {
    thread_pool_submit,
    thread_pool_shutdown,
    thread_pool_destroy,
};

struct executor *thread_pool_create(int max_workers)
{
    if (max_workers < 1) { /* Python: ValueError('max_workers must be greater than 0') */
        errno = EINVAL;
        return NULL;
    }
    struct thread_pool *pool = xcalloc(1, sizeof *pool + (size_t)max_workers * sizeof(pthread_t));
    pool->base.ops = &thread_pool_ops;
    CHECK_PT(pthread_mutex_init(&pool->mutex, NULL));
    CHECK_PT(pthread_cond_init(&pool->work_ready, NULL));
    CHECK_PT(pthread_mutex_init(&pool->join_mutex, NULL));
    pool->nthreads = max_workers;
    for (int i = 0; i < max_workers; i++) {
        int err = pthread_create(&pool->threads[i], NULL, pool_worker, pool);
        if (err) {
            /* Library code does not exit: stop the threads already started,
             * give everything back, and tell the caller why. */
            CHECK_PT(pthread_mutex_lock(&pool->mutex));
            pool->shutting_down = true;
            CHECK_PT(pthread_cond_broadcast(&pool->work_ready));
            CHECK_PT(pthread_mutex_unlock(&pool->mutex));
            join_workers(pool, i);
            thread_pool_free(pool);
            errno = err;
            return NULL;
        }
    }
    return &pool->base;
}
