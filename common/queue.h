/* queue: queue.Queue, in C: a blocking FIFO of pointers.
 *
 *   Python                           C
 *   ------------------------------   ------------------------------------------
 *   Queue(maxsize)                   queue_create(maxsize)   0 = unbounded
 *   q.put(item)                      queue_put(q, item)       blocks while full
 *   q.put_nowait(item)               queue_put_nowait(q, item)  QUEUE_FULL
 *   q.get()                          queue_get(q, &item)      blocks while empty
 *   q.get_nowait()                   queue_get_nowait(q, &item) QUEUE_EMPTY
 *   q.qsize()                        queue_qsize(q)
 *   q.task_done()                    queue_task_done(q)       QUEUE_TOO_MANY_DONE
 *   q.join()                         queue_join(q)
 *   q.shutdown() (3.13; the book's   queue_close(q)
 *     ClosableQueue.close())
 *   q.is_shutdown (3.13)             queue_closed(q)
 *   (no Python counterpart)          queue_waiting_getters(q), queue_wait_for_getters(q, n)
 *   (no Python counterpart)          queue_waiting_putters(q), queue_wait_for_putters(q, n)
 *   (no Python counterpart)          queue_peak_qsize(q)      the largest qsize ever seen
 *
 * Return codes: QUEUE_OK (0), or QUEUE_EMPTY / QUEUE_FULL (the _nowait calls),
 * QUEUE_CLOSED (put after close; get once closed and drained),
 * QUEUE_TOO_MANY_DONE (task_done called more times than items were put).
 *
 * Close is shutdown(immediate=False): put (blocked or not) then fails with
 * QUEUE_CLOSED; get still returns the items left, then QUEUE_CLOSED to every
 * waiting and future getter. join is unaffected: it waits for task_done on
 * every item ever put. The queue stores pointers and never owns what they
 * point to; queue_destroy frees the queue, not the items left in it. Do not
 * destroy a queue while another thread may still be inside a call on it
 * (join the threads that use it first). Memory follows the backlog, not
 * maxsize: a huge maxsize (1 << 61, or Python's Queue(-1) as a size_t)
 * reserves nothing.
 *
 * Errors: what a caller can meet (a closed queue, an empty or full one with
 * _nowait, one task_done too many) is the returned status. queue_create never
 * returns NULL: out of memory and a pthread call that fails inside mean the
 * program is broken, and die (common/check), as everywhere in common/.
 *
 * tests/unit/test_cpython_queue.c carries CPython's Lib/test/test_queue.py (3.13), case by case
 * under the same names. Where common/queue differs, or a case does not apply:
 *   no shutdown(immediate=True), close is immediate=False: test_shutdown_immediate_*.
 *   no put/get timeouts, so no negative ones: test_negative_timeout_raises_exception, ...
 *   the timeout halves of test_basic, and test_many_threads_timeout, are left out.
 *   maxsize is fixed by queue_create: test_shrinking_queue.
 *   no _put/_get for a subclass to override: test_failing_queue.
 *   no LifoQueue, PriorityQueue; SimpleQueue's cases run on queue_create(0).
 *   about Python objects: test_references, test_reentrancy, test_is_default.
 */
#ifndef COMMON_QUEUE_H
#define COMMON_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

enum queue_status {
    QUEUE_OK = 0,
    QUEUE_EMPTY,
    QUEUE_FULL,
    QUEUE_CLOSED,
    QUEUE_TOO_MANY_DONE,
};

struct queue;

struct queue *queue_create(size_t maxsize);
void queue_destroy(struct queue *q);
enum queue_status queue_put(struct queue *q, void *item);
enum queue_status queue_put_nowait(struct queue *q, void *item);
enum queue_status queue_get(struct queue *q, void **item);
enum queue_status queue_get_nowait(struct queue *q, void **item);
size_t queue_qsize(struct queue *q);
enum queue_status queue_task_done(struct queue *q);
void queue_join(struct queue *q);
void queue_close(struct queue *q);
bool queue_closed(struct queue *q);
size_t queue_peak_qsize(struct queue *q);
/* Threads blocked in queue_get (queue_put) right now. A blocked thread counts
 * from the moment it sleeps until it has taken the mutex again after waking,
 * so a getter counted here has not yet returned. queue_wait_for_getters
 * (putters) blocks until at least n are counted at once; meant for
 * demonstrations and tests where only the caller can wake them (it could
 * miss a moment when other threads wake them meanwhile, and wait on). */
size_t queue_waiting_getters(struct queue *q);
void queue_wait_for_getters(struct queue *q, size_t n);
size_t queue_waiting_putters(struct queue *q);
void queue_wait_for_putters(struct queue *q, size_t n);
const char *queue_strstatus(enum queue_status status);

#endif
