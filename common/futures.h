/* futures: concurrent.futures, in C.
 *
 *   Python                                  C
 *   ------------------------------------    -----------------------------------------
 *   ThreadPoolExecutor(max_workers=n)       thread_pool_create(n)
 *   ProcessPoolExecutor(max_workers=n)      process_pool_create(n)
 *   executor.submit(fn, arg)                executor_submit(ex, fn, arg)
 *   executor.map(fn, args)                  executor_map(ex, fn, args, n, results)
 *   future.result()                         future_result(f, &value)  (returns the error)
 *   future.done()                           future_done(f)
 *   future.add_done_callback(cb)            future_add_done_callback(f, cb, arg)
 *   future.remove_done_callback(cb)         future_remove_done_callback(f, cb, arg)
 *   executor.shutdown(wait=True)            executor_shutdown(ex, true)
 *   (garbage collection)                    future_destroy(f), executor_destroy(ex)
 *
 * A task is `struct error *fn(void *arg, void **result)`: it stores its return
 * value in *result and returns NULL, or returns the error it "raised". The
 * future keeps that error and future_result hands a copy to every caller,
 * which must error_free it: Future.result() re-raising in the caller.
 *
 * Both executors share struct future and the executor_* calls; only the
 * constructor differs ("the one change" of Item 64). For a process pool,
 * arguments and results cross a socket as bytes, so arg and *result must
 * point to plain data with no pointers inside, and the pool needs their
 * sizes: process_pool_create takes arg_size and result_size. arg is copied
 * at submit. The task must malloc *result (or leave it NULL: "None"): the
 * worker sends result_size bytes of it and frees it, and the future's value
 * is a malloc'd copy that the caller frees. A task written that way works
 * unchanged in both pools (with a thread pool the caller frees the task's
 * own block).
 *
 * Process pool specifics (see futures_process.c for why):
 * - Call process_pool_create while no other thread of the program runs (it
 *   forks): shut down and join a thread pool first; one process pool at a
 *   time. It checks: otherwise it returns NULL with errno EBUSY.
 * - A worker that dies (killed, or a crash in the task) breaks the pool, as
 *   Python's BrokenProcessPool: every running and pending future fails with
 *   type "BrokenProcessPool", message "A process in the process pool was
 *   terminated abruptly while the future was running or pending.", its cause
 *   naming the process and its exit code; later submits return a future that
 *   has already failed ("... the process pool is not usable anymore").
 * - A worker starts with only fds 0-2 (the caller's) and its own socket open.
 *
 * Errors: which call reports what, and why two ways.
 * - A task's error, what Python raises out of Future.result() or map(), is a
 *   struct error * with its type, message and cause: future_result and
 *   executor_map return it, because it is a value that travels (from the
 *   worker, across threads or a socket, to whoever asks for the result).
 * - A constructor or a submit that cannot do what was asked returns NULL
 *   with errno, as the C calls it wraps do (pthread_create, fork, socketpair):
 *   thread_pool_create and process_pool_create give EINVAL for
 *   max_workers < 1, EBUSY (process pool) if another thread runs, or the
 *   error of pthread_create/fork/socketpair (EAGAIN, EMFILE); executor_submit
 *   after shutdown gives ESHUTDOWN (Python: RuntimeError). The caller says
 *   what failed and exits, or tries with fewer workers.
 * - What means the program is broken (a pthread call that fails inside, out
 *   of memory) dies, as everywhere in common/ (common/check).
 *
 * The future core (future_* below) is also usable on its own: a producer
 * calls future_set_result or future_set_error exactly once, any number of
 * threads may wait in future_result. Setting a future that is already done
 * is a bug in the program, so it dies ("future_set_result: the future is
 * already done (a future is set once)"), where Python raises
 * InvalidStateError.
 *
 * tests/unit/test_cpython_futures.c carries CPython's Lib/test/test_concurrent_futures/, case by
 * case under the same names. Where common/futures differs, or a case does not apply:
 *   map waits for all and returns the first error (Python's lazy map raises on reaching it).
 *   workers are created up front (test_idle_thread_reuse, test_idle_process_reuse_*).
 *   max_workers has no default (test_default_workers).
 *   a process pool refuses EBUSY while threads run (test_process_fork_from_a_threadpool, ...).
 *   exit() in a task ends its worker: BrokenProcessPool (Python carries SystemExit back).
 *   a task's own error crosses without a _RemoteTraceback cause (C has no traceback).
 *   no cancel(): test_cancel*, test_cancelled, test_running, test_cancel_futures*.
 *   no timeouts: test_*_timeout, test_map_timeout, test_result_with_timeout, ...
 *   no wait(), as_completed(): test_wait.py, test_as_completed.py.
 *   add_done_callback: FutureTests.test_done_callback_* are in test_aio.c; *_cancel* n/a.
 *   no initializer, chunksize, max_tasks_per_child, mp_context, thread names: test_init.py, ...
 *   setting a future twice dies (test_multiple_set_*: InvalidStateError).
 *   arguments are flat bytes, nothing is pickled: test_deadlock's *_pickle cases.
 *   no interpreter exit, no GC: test_interpreter_shutdown, test_no_stale_references, ...
 */
#ifndef COMMON_FUTURES_H
#define COMMON_FUTURES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef struct error *task_fn(void *arg, void **result);

/* ---- the future ---- */
struct future;

struct future *future_create(void);
void future_set_result(struct future *f, void *value); /* exactly one of these two, once */
void future_set_error(struct future *f, struct error *error);
bool future_done(struct future *f);
/* Block until done; store the value in *value (may be NULL) and return NULL,
 * or return a copy of the error (caller frees it). */
struct error *future_result(struct future *f, void **value);
void future_destroy(struct future *f);

/* Future.add_done_callback: cb(f, arg) runs once f is done: at once in the
 * caller if it already is, else in the thread that resolves f, after the
 * value is stored (so cb may call future_result) and in the order added.
 * future_destroy waits for callbacks still running; a callback must not
 * destroy its own future. future_remove_done_callback: true if the
 * callback was removed before it started (Future.remove_done_callback). */
void future_add_done_callback(struct future *f, void (*cb)(struct future *f, void *arg), void *arg);
bool future_remove_done_callback(struct future *f, void (*cb)(struct future *f, void *arg),
                                 void *arg);

/* ---- executors ---- */
struct executor;

struct executor *thread_pool_create(int max_workers);
struct executor *process_pool_create(int max_workers, size_t arg_size, size_t result_size);

/* Returns NULL (errno ESHUTDOWN) only after shutdown. */
struct future *executor_submit(struct executor *ex, task_fn *fn, void *arg);

/* Run fn over args[0..n-1] (each args[i] is a pointer), wait for all, store
 * result i in results[i] (in submission order, as Executor.map does; NULL for
 * a task that failed or returned nothing), and return the first error, or NULL. */
struct error *executor_map(struct executor *ex, task_fn *fn, void *const *args, size_t n,
                           void **results);

/* Stop accepting work; with wait, block until every submitted task finished
 * and every worker exited (joined or reaped). Idempotent. */
void executor_shutdown(struct executor *ex, bool wait);
void executor_destroy(struct executor *ex); /* shuts down (waiting) first */

#endif
