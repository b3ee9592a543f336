/* futures: the future, the generic executor calls, and ThreadPoolExecutor.
 * See futures.h for the API.
 *
 * Implementation notes: the future
 *   mutex guards done, value and error; `finished` is broadcast once, when the
 *   future is resolved, because any number of threads may wait for it.
 *   Invariant: done goes false -> true exactly once; value/error never change
 *   after that, so future_result may copy them out under the mutex.
 */
#include "futures.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "futures_impl.h"

struct future {
    pthread_mutex_t mutex;
    pthread_cond_t finished;
    bool done;          /* guarded by mutex */
    void *value;        /* guarded by mutex */
    struct error *error; /* guarded by mutex */
};

struct future *future_create(void)
{
    struct future *f = xcalloc(1, sizeof *f);
    pthread_mutex_init(&f->mutex, NULL);
    pthread_cond_init(&f->finished, NULL);
    return f;
}

static void resolve(struct future *f, void *value, struct error *error)
{
    pthread_mutex_lock(&f->mutex);
    f->done = true;
    f->value = value;
    f->error = error;
    pthread_cond_broadcast(&f->finished);
    pthread_mutex_unlock(&f->mutex);
}

void future_set_result(struct future *f, void *value) { resolve(f, value, NULL); }

void future_set_error(struct future *f, struct error *error) { resolve(f, NULL, error); }

bool future_done(struct future *f)
{
    pthread_mutex_lock(&f->mutex);
    bool done = f->done;
    pthread_mutex_unlock(&f->mutex);
    return done;
}

struct error *future_result(struct future *f, void **value)
{
    pthread_mutex_lock(&f->mutex);
    while (!f->done)
        pthread_cond_wait(&f->finished, &f->mutex);
    if (value)
        *value = f->value;
    struct error *error = error_copy(f->error);
    pthread_mutex_unlock(&f->mutex);
    return error;
}

void future_destroy(struct future *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->mutex);
    pthread_cond_destroy(&f->finished);
    error_free(f->error);
    free(f);
}

/* ---- the generic executor calls ---- */

struct future *executor_submit(struct executor *ex, task_fn *fn, void *arg)
{
    return ex->ops->submit(ex, fn, arg);
}

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

void executor_shutdown(struct executor *ex, bool wait) { ex->ops->shutdown(ex, wait); }

void executor_destroy(struct executor *ex)
{
    if (!ex)
        return;
    ex->ops->shutdown(ex, true);
    ex->ops->destroy(ex);
}

/* ---- ThreadPoolExecutor: written by the Items 56-59 work ---- */
