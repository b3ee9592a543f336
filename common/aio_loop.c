/* aio_loop: the loop layer of common/aio (asyncio's BaseEventLoop and its
 * selector loop). See aio.h for the API; tasks are built on it in aio_task.c.
 *
 * Implementation notes
 *
 *   What the loop holds: a FIFO of ready handles (a ring); the timers, in
 *   a binary min-heap ordered by (deadline, seq) and a FIFO "lane" (below);
 *   a table of readers and writers indexed by descriptor number (one epoll
 *   registration per descriptor, level-triggered as asyncio's selectors
 *   are), an eventfd that other threads write to wake it, and the queue of
 *   calls they handed over.
 *   Nothing else: no I/O buffering, no signal handling (as Redis' ae and
 *   libuv's core).
 *
 *   One round (aio_loop_run_once), as asyncio's _run_once:
 *     1. wait in epoll_pwait2 (nanosecond timeout) for the earliest timer,
 *        not at all if a handle is ready or the loop is stopping, forever if
 *        there is nothing to wait for but descriptors;
 *     2. run the reader/writer callbacks of the descriptors that are ready
 *        (looked up in the table at that moment, so one removed by an earlier
 *        callback in the same round does not run), and narrow the
 *        registration of one reported with nobody waiting; the eventfd moves
 *        calls from other threads onto the ready FIFO;
 *     3. move every timer whose deadline has passed (clock_now() >= when:
 *        never early) onto the ready FIFO, in (when, seq) order;
 *     4. run the handles that were ready when step 4 began, and no more:
 *        what they schedule waits for the next round, so a task that sleeps
 *        0 in a loop cannot starve the descriptors.
 *
 *   Order guarantees: handles run in the order they were scheduled
 *   (call_soon); timers in deadline order, and equal deadlines in the order
 *   they were scheduled (seq, a per-loop counter, breaks the tie); calls
 *   from other threads in the order each thread made them.
 *
 *   The timer lane: most timers are scheduled in deadline order (100,000
 *   tasks that each sleep 0.1 s), so a timer whose deadline is not earlier
 *   than the lane's last goes to the back of the lane, O(1), and only the
 *   others go to the heap; the next timer is the earlier of the two heads.
 *   For 100,000 sleeping tasks this took about a quarter of the CPU time of
 *   a generation off (the heap's sift-downs miss the cache on every level).
 *
 *   Descriptors stay registered between waits. A task's wait on a
 *   descriptor (aio_wait_readable/writable) ends by taking its callback
 *   away and leaving epoll's registration as it was, so the next wait on
 *   it (a stream's next readline) finds it registered and costs no
 *   epoll_ctl: an ADD and a DEL per line before, none now (bench: a
 *   guess_async server's epoll_ctl calls per NUMBER round trip went from
 *   1.3-2.0 to 0.00-0.03, all its system calls from 4.1-6.6 to 2.7-5.3 at
 *   1-1,000 clients). An interest nobody waits for is removed when epoll
 *   reports it (step 2: a level-triggered report would repeat every
 *   round), or when aio_forget_fd drops the descriptor, which must happen
 *   before close: a closed descriptor leaves epoll by itself, but the
 *   table would still say "registered" and a new descriptor with the same
 *   number would never be told to epoll; and a duplicate (dup, fork) keeps
 *   a closed number's registration alive. aio_stream.c forgets each socket
 *   before closing it. aio_remove_reader/writer, the loop layer's explicit
 *   removal, still tell epoll at once.
 *
 *   Handles live in the caller's storage (aio.h). Cancelling a timer takes
 *   it out of the heap (O(log n), heap_index) or blanks its lane slot
 *   (O(1), heap_index holds its position there); cancelling a ready handle
 *   blanks its slot in the ready ring (O(1), the same way). A round runs
 *   the ring's positions up to where it ended when the round began.
 *
 *   Threads: only the loop's thread touches anything but ts_head/ts_tail
 *   (under ts_mutex) and the eventfd. A thread queues a call, and writes the
 *   eventfd only when the queue was empty (the calls coalesce as libuv's
 *   uv_async_send). The loop reads the eventfd *before* taking the queue, so
 *   a call queued after the take writes the eventfd again: none is lost.
 *
 *   Debug mode times every callback with clock_now(); one over
 *   AIO_SLOW_CALLBACK prints "Executing <Handle ...> took S seconds". A task
 *   step is reported by the task layer instead, with the task's name and
 *   where it was defined and created (step_reported tells the loop so).
 *
 *   Limits: descriptors up to the process's limit (the table grows);
 *   epoll refuses regular files (EPERM), returned as OSError; timers and
 *   ready handles are limited only by memory (the heap grows by doubling).
 */
#include "aio.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "aio_impl.h"
#include "check.h"
#include "clock.h"

struct aio_ts_call {
    struct aio_handle handle; /* first: the ready FIFO holds this */
    struct aio_ts_call *next;
    aio_callback *cb, *drop;
    void *arg;
};

static _Thread_local struct aio_loop *running_loop;

struct aio_loop *aio_get_running_loop(void)
{
    return running_loop;
}

void aio_set_running_loop(struct aio_loop *loop)
{
    running_loop = loop;
}

static bool env_debug(void)
{
    const char *s = getenv("AIO_DEBUG");
    return s && *s && strcmp(s, "0") != 0;
}

struct error *aio_loop_create(struct aio_loop **loopp)
{
    *loopp = NULL;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return error_new("OSError", "epoll_create1: %s", strerror(errno));
    int wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakefd < 0) {
        int e = errno;
        close(epfd);
        return error_new("OSError", "eventfd: %s", strerror(e));
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = wakefd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0) {
        int e = errno;
        close(wakefd);
        close(epfd);
        return error_new("OSError", "epoll_ctl(eventfd): %s", strerror(e));
    }
    struct aio_loop *loop = xcalloc(1, sizeof *loop);
    loop->epfd = epfd;
    loop->wakefd = wakefd;
    loop->debug = env_debug();
    CHECK_PT(pthread_mutex_init(&loop->ts_mutex, NULL));
    *loopp = loop;
    return NULL;
}

void aio_loop_set_debug(struct aio_loop *loop, bool debug)
{
    loop->debug = debug;
}

/* ---- the ready FIFO ----
 * A ring of handle pointers. Positions count up for ever (a slot is
 * position & (ready_cap - 1)), and a ready handle's heap_index holds its
 * own, so cancelling it blanks its slot (NULL, skipped), O(1). An array,
 * not a linked list: the loop finds the handles a few places ahead (to
 * fetch what they will touch, warm_next) without a load per place, and
 * scheduling a handle writes no other handle. */

static bool in_ready(const struct aio_loop *loop, const struct aio_handle *h)
{
    uint64_t pos = h->heap_index;
    return pos >= loop->ready_head && pos < loop->ready_tail &&
           loop->ready[pos & (loop->ready_cap - 1)] == h;
}

static void ready_push(struct aio_loop *loop, struct aio_handle *h)
{
    if (loop->ready_tail - loop->ready_head == loop->ready_cap) { /* full: double it */
        size_t cap = loop->ready_cap ? 2 * loop->ready_cap : 256;
        struct aio_handle **ring = xmalloc(cap * sizeof *ring);
        for (uint64_t pos = loop->ready_head; pos < loop->ready_tail; pos++)
            ring[pos & (cap - 1)] = loop->ready[pos & (loop->ready_cap - 1)];
        free(loop->ready);
        loop->ready = ring;
        loop->ready_cap = cap;
    }
    h->state = AIO_HANDLE_READY;
    h->heap_index = (size_t)loop->ready_tail;
    loop->ready[loop->ready_tail++ & (loop->ready_cap - 1)] = h;
}

/* The next ready handle, up to position `end` (not included), or NULL. */
static struct aio_handle *ready_pop(struct aio_loop *loop, uint64_t end)
{
    while (loop->ready_head < end) {
        struct aio_handle *h = loop->ready[loop->ready_head++ & (loop->ready_cap - 1)];
        if (h) { /* NULL: cancelled */
            h->state = AIO_HANDLE_IDLE;
            return h;
        }
    }
    return NULL;
}

/* The handle to run `ahead` steps from now (1: the next one), or NULL. */
static struct aio_handle *ready_peek(const struct aio_loop *loop, uint64_t ahead)
{
    uint64_t pos = loop->ready_head + ahead - 1;
    return pos < loop->ready_tail ? loop->ready[pos & (loop->ready_cap - 1)] : NULL;
}

static void ready_unlink(struct aio_loop *loop, struct aio_handle *h)
{
    if (!in_ready(loop, h))
        die("aio_handle_cancel: a ready handle that is not in its loop's ready queue");
    loop->ready[h->heap_index & (loop->ready_cap - 1)] = NULL;
    h->state = AIO_HANDLE_IDLE;
}

/* ---- the timer heap ---- */

static bool earlier(const struct aio_handle *a, const struct aio_handle *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(struct aio_loop *loop, size_t i, struct aio_handle *h)
{
    loop->heap[i] = h;
    h->heap_index = i;
}

static void sift_up(struct aio_loop *loop, size_t i)
{
    struct aio_handle *h = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(h, loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, h);
}

static void sift_down(struct aio_loop *loop, size_t i)
{
    struct aio_handle *h = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->heap_len)
            break;
        if (child + 1 < loop->heap_len && earlier(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!earlier(loop->heap[child], h))
            break;
        heap_set(loop, i, loop->heap[child]);
        i = child;
    }
    heap_set(loop, i, h);
}

static void heap_push(struct aio_loop *loop, struct aio_handle *h)
{
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? 2 * loop->heap_cap : 64;
        loop->heap = xrealloc(loop->heap, loop->heap_cap * sizeof *loop->heap);
    }
    h->state = AIO_HANDLE_TIMER;
    heap_set(loop, loop->heap_len++, h);
    sift_up(loop, loop->heap_len - 1);
}

/* ---- the timer lane ----
 * Most timers are scheduled in deadline order (a thousand tasks that each
 * sleep 0.1 s): those go to a FIFO instead of the heap, O(1) both ways and
 * without the heap's cache misses. A timer with an earlier deadline than the
 * lane's last goes to the heap; the next timer is the earlier of the two
 * heads. A cancelled lane entry is set to NULL (heap_index holds its
 * position) and skipped. */

static struct aio_handle *lane_front(struct aio_loop *loop)
{
    while (loop->lane_lo < loop->lane_hi && !loop->lane[loop->lane_lo])
        loop->lane_lo++;
    if (loop->lane_lo == loop->lane_hi) {
        loop->lane_base += loop->lane_hi;
        loop->lane_lo = loop->lane_hi = 0;
        return NULL;
    }
    return loop->lane[loop->lane_lo];
}

static bool lane_push(struct aio_loop *loop, struct aio_handle *h)
{
    if (lane_front(loop) && h->when < loop->lane_last)
        return false;
    if (loop->lane_hi == loop->lane_cap) {
        if (loop->lane_lo > loop->lane_cap / 2) { /* slide down: positions stay */
            size_t n = loop->lane_hi - loop->lane_lo;
            memmove(loop->lane, loop->lane + loop->lane_lo, n * sizeof *loop->lane);
            loop->lane_base += loop->lane_lo;
            loop->lane_lo = 0;
            loop->lane_hi = n;
        } else {
            loop->lane_cap = loop->lane_cap ? 2 * loop->lane_cap : 64;
            loop->lane = xrealloc(loop->lane, loop->lane_cap * sizeof *loop->lane);
        }
    }
    h->heap_index = (size_t)(loop->lane_base + loop->lane_hi);
    h->state = AIO_HANDLE_LANE;
    loop->lane[loop->lane_hi++] = h;
    loop->lane_last = h->when;
    return true;
}

static bool in_lane(struct aio_loop *loop, struct aio_handle *h)
{
    uint64_t pos = h->heap_index;
    return pos >= loop->lane_base + loop->lane_lo && pos < loop->lane_base + loop->lane_hi &&
           loop->lane[pos - loop->lane_base] == h;
}

static void lane_remove(struct aio_loop *loop, struct aio_handle *h)
{
    if (!in_lane(loop, h))
        die("aio_handle_cancel: a timer that is not in its loop's timer lane");
    loop->lane[h->heap_index - loop->lane_base] = NULL;
    h->state = AIO_HANDLE_IDLE;
}

/* The next timer due, heap or lane, or NULL. */
static struct aio_handle *timer_next(struct aio_loop *loop)
{
    struct aio_handle *a = lane_front(loop), *b = loop->heap_len ? loop->heap[0] : NULL;
    if (!a || (b && earlier(b, a)))
        return b;
    return a;
}

static void heap_remove(struct aio_loop *loop, struct aio_handle *h)
{
    size_t i = h->heap_index;
    if (i >= loop->heap_len || loop->heap[i] != h)
        die("aio_handle_cancel: a timer that is not in its loop's heap");
    struct aio_handle *last = loop->heap[--loop->heap_len];
    if (last != h) {
        heap_set(loop, i, last);
        if (i > 0 && earlier(last, loop->heap[(i - 1) / 2]))
            sift_up(loop, i);
        else
            sift_down(loop, i);
    }
    h->state = AIO_HANDLE_IDLE;
}

/* ---- scheduling ---- */

/* A handle need not be initialised before its first use, so its state may
 * be garbage: only a timer that really is in this heap is caught. */
static void check_idle(struct aio_loop *loop, struct aio_handle *h, const char *call)
{
    if ((h->state == AIO_HANDLE_TIMER && h->loop == loop && h->heap_index < loop->heap_len &&
         loop->heap[h->heap_index] == h) ||
        (h->state == AIO_HANDLE_LANE && h->loop == loop && in_lane(loop, h)))
        die("%s: the handle is already scheduled as a timer (cancel it first)", call);
    if (h->state == AIO_HANDLE_READY && h->loop == loop && in_ready(loop, h))
        die("%s: the handle is already scheduled to run (cancel it first)", call);
}

void aio_call_soon(struct aio_loop *loop, struct aio_handle *h, aio_callback *cb, void *arg)
{
    check_idle(loop, h, "aio_call_soon");
    h->callback = cb;
    h->arg = arg;
    h->when = 0;
    h->seq = loop->seq++;
    h->loop = loop;
    ready_push(loop, h);
}

void aio_call_at(struct aio_loop *loop, struct aio_handle *h, double when, aio_callback *cb,
                 void *arg)
{
    check_idle(loop, h, "aio_call_at");
    h->callback = cb;
    h->arg = arg;
    h->when = when;
    h->seq = loop->seq++;
    h->loop = loop;
    if (!lane_push(loop, h))
        heap_push(loop, h);
}

void aio_call_later(struct aio_loop *loop, struct aio_handle *h, double delay, aio_callback *cb,
                    void *arg)
{
    aio_call_at(loop, h, clock_now() + delay, cb, arg); /* negative: as asyncio */
}

void aio_handle_cancel(struct aio_handle *h)
{
    if (h->state == AIO_HANDLE_IDLE)
        return;
    if (h->state == AIO_HANDLE_TIMER)
        heap_remove(h->loop, h);
    else if (h->state == AIO_HANDLE_LANE)
        lane_remove(h->loop, h);
    else
        ready_unlink(h->loop, h);
}

/* ---- calls from other threads ---- */

static void ts_run(void *arg)
{
    struct aio_ts_call *c = arg;
    aio_callback *cb = c->cb;
    void *cb_arg = c->arg;
    free(c);
    cb(cb_arg);
}

void aio_call_soon_threadsafe_drop(struct aio_loop *loop, aio_callback *cb, aio_callback *drop,
                                   void *arg)
{
    struct aio_ts_call *c = xcalloc(1, sizeof *c);
    c->cb = cb;
    c->drop = drop;
    c->arg = arg;
    CHECK_PT(pthread_mutex_lock(&loop->ts_mutex));
    bool was_empty = !loop->ts_head;
    if (loop->ts_tail)
        loop->ts_tail->next = c;
    else
        loop->ts_head = c;
    loop->ts_tail = c;
    CHECK_PT(pthread_mutex_unlock(&loop->ts_mutex));
    if (was_empty) {
        uint64_t one = 1;
        /* EAGAIN: the counter is at its maximum, so the loop will wake anyway. */
        if (write(loop->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
            die_errno("aio_call_soon_threadsafe: write to the loop's eventfd");
    }
}

void aio_call_soon_threadsafe(struct aio_loop *loop, aio_callback *cb, void *arg)
{
    aio_call_soon_threadsafe_drop(loop, cb, NULL, arg);
}

static void ts_take(struct aio_loop *loop)
{
    uint64_t count;
    if (read(loop->wakefd, &count, sizeof count) < 0 && errno != EAGAIN)
        die_errno("aio: read from the loop's eventfd");
    CHECK_PT(pthread_mutex_lock(&loop->ts_mutex));
    struct aio_ts_call *c = loop->ts_head;
    loop->ts_head = loop->ts_tail = NULL;
    CHECK_PT(pthread_mutex_unlock(&loop->ts_mutex));
    while (c) {
        struct aio_ts_call *next = c->next;
        c->handle.state = AIO_HANDLE_IDLE;
        aio_call_soon(loop, &c->handle, ts_run, c);
        c = next;
    }
}

/* ---- descriptors ---- */

/* Tell epoll `events` for fd (nothing: take it out), if that is not what it
 * has already. */
static struct error *fd_set_events(struct aio_loop *loop, int fd, uint32_t events)
{
    struct aio_fd *e = &loop->fds[fd];
    if (events == e->events && (e->registered || !events))
        return NULL;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (!events) {
        if (e->registered)
            epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, &ev); /* EBADF: already closed */
        e->registered = false;
        e->events = 0;
        return NULL;
    }
    int rc = epoll_ctl(loop->epfd, e->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    /* A descriptor closed while registered left epoll by itself (ENOENT on
     * MOD); one we never saw may be a number epoll still has (EEXIST). */
    if (rc < 0 && errno == ENOENT)
        rc = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
    else if (rc < 0 && errno == EEXIST)
        rc = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0)
        return error_new("OSError", "epoll_ctl(fd %d): %s", fd, strerror(errno));
    e->registered = true;
    e->events = events;
    return NULL;
}

static uint32_t fd_wanted(const struct aio_fd *e)
{
    return (e->reader ? EPOLLIN : 0) | (e->writer ? EPOLLOUT : 0);
}

static struct aio_fd *fd_entry(struct aio_loop *loop, int fd)
{
    if ((size_t)fd >= loop->fds_cap) {
        size_t cap = loop->fds_cap ? loop->fds_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        loop->fds = xrealloc(loop->fds, cap * sizeof *loop->fds);
        memset(loop->fds + loop->fds_cap, 0, (cap - loop->fds_cap) * sizeof *loop->fds);
        loop->fds_cap = cap;
    }
    return &loop->fds[fd];
}

static struct error *add_io(struct aio_loop *loop, int fd, bool write, aio_callback *cb, void *arg)
{
    if (fd < 0)
        return error_new("ValueError", "Invalid file descriptor: %d", fd);
    struct aio_fd *e = fd_entry(loop, fd);
    struct aio_fd saved = *e;
    if (write) {
        e->writer = cb;
        e->writer_arg = arg;
    } else {
        e->reader = cb;
        e->reader_arg = arg;
    }
    /* What epoll keeps from a lazy removal stays: no system call when the
     * descriptor is still registered for this direction. */
    struct error *err = fd_set_events(loop, fd, e->events | fd_wanted(e));
    if (err)
        loop->fds[fd] = saved;
    return err;
}

struct error *aio_add_reader(struct aio_loop *loop, int fd, aio_callback *cb, void *arg)
{
    return add_io(loop, fd, false, cb, arg);
}

struct error *aio_add_writer(struct aio_loop *loop, int fd, aio_callback *cb, void *arg)
{
    return add_io(loop, fd, true, cb, arg);
}

/* lazy: leave epoll's registration as it is (dispatch narrows it if the
 * descriptor turns up with nobody waiting); otherwise tell epoll now. */
static void remove_io(struct aio_loop *loop, int fd, bool write, bool lazy)
{
    if (fd < 0 || (size_t)fd >= loop->fds_cap)
        return;
    struct aio_fd *e = &loop->fds[fd];
    if (write)
        e->writer = NULL, e->writer_arg = NULL;
    else
        e->reader = NULL, e->reader_arg = NULL;
    if (lazy)
        return;
    uint32_t keep = e->events & ~(uint32_t)(write ? EPOLLOUT : EPOLLIN);
    error_free(fd_set_events(loop, fd, keep | fd_wanted(e))); /* removing needs no agreement */
}

void aio_remove_reader(struct aio_loop *loop, int fd)
{
    remove_io(loop, fd, false, false);
}

void aio_remove_writer(struct aio_loop *loop, int fd)
{
    remove_io(loop, fd, true, false);
}

void aio_unwatch_lazily(struct aio_loop *loop, int fd, bool write)
{
    remove_io(loop, fd, write, true);
}

void aio_forget_fd(struct aio_loop *loop, int fd)
{
    if (!loop || fd < 0 || (size_t)fd >= loop->fds_cap)
        return;
    struct aio_fd *e = &loop->fds[fd];
    e->reader = e->writer = NULL;
    e->reader_arg = e->writer_arg = NULL;
    error_free(fd_set_events(loop, fd, 0));
}

/* ---- running ---- */

/* Debug mode: run it, and report it if it held the loop too long. */
static void run_timed(struct aio_loop *loop, aio_callback *cb, void *arg, const char *kind)
{
    loop->step_reported = false;
    double t0 = clock_now();
    cb(arg);
    double dt = clock_now() - t0;
    if (dt > AIO_SLOW_CALLBACK && !loop->step_reported)
        fprintf(stderr, "Executing <%s callback=%p arg=%p> took %.3f seconds\n", kind,
                (void *)(uintptr_t)cb, arg, dt);
}

static inline void run_callback(struct aio_loop *loop, aio_callback *cb, void *arg,
                                const char *kind)
{
    if (loop->debug)
        run_timed(loop, cb, arg, kind);
    else
        cb(arg);
}

static void dispatch(struct aio_loop *loop, int fd, uint32_t ev)
{
    if ((size_t)fd >= loop->fds_cap)
        return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        struct aio_fd *e = &loop->fds[fd];
        if (e->reader)
            run_callback(loop, e->reader, e->reader_arg, "Handle reader");
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        struct aio_fd *e = &loop->fds[fd]; /* the table may have moved */
        if (e->writer)
            run_callback(loop, e->writer, e->writer_arg, "Handle writer");
    }
    /* An interest left registered by a lazy removal, reported with nobody
     * waiting: now epoll is told (level-triggered, it would report it every
     * round). */
    struct aio_fd *e = &loop->fds[fd];
    uint32_t wanted = fd_wanted(e);
    if (!e->registered || e->events == wanted)
        return;
    uint32_t idle = e->events & ~wanted;
    if ((ev & idle) || (!wanted && (ev & (EPOLLHUP | EPOLLERR))))
        error_free(fd_set_events(loop, fd, wanted));
}

enum { MAX_EVENTS = 64 };

static int epoll_wait_ns(int epfd, struct epoll_event *events, double timeout)
{
    static atomic_bool no_pwait2;
    if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
        struct timespec ts, *tsp = NULL;
        if (timeout > 1e9) /* about 31 years; INFINITY (a sleep for ever) would overflow */
            timeout = 1e9;
        if (timeout >= 0) {
            ts.tv_sec = (time_t)timeout;
            ts.tv_nsec = (long)((timeout - (double)ts.tv_sec) * 1e9);
            if (ts.tv_nsec > 999999999)
                ts.tv_nsec = 999999999;
            tsp = &ts;
        }
        int n = epoll_pwait2(epfd, events, MAX_EVENTS, tsp, NULL);
        if (n >= 0 || errno != ENOSYS)
            return n;
        atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
    }
    int ms = -1;
    if (timeout >= 0)
        ms = timeout > 2e6 ? 2000000000 : (int)ceil(timeout * 1000);
    return epoll_wait(epfd, events, MAX_EVENTS, ms);
}

/* Cache misses, not instructions, are most of a round's cost when many
 * tasks run in it (100,000 that each sleep: each task's frames lie in a
 * page of their own, cold since the task last ran). While one callback
 * runs, the memory the next ones need is fetched, a pipeline: the first
 * lines of the handle RECORD_AHEAD steps on (a task's record), the stack
 * page and argument of the task PAGE_AHEAD on (aio_task_prime: the page's
 * TLB miss is the longest wait), the rest of the record and the frames of
 * the task READY_AHEAD on (aio_task_warm); and the timers LANE_AHEAD on as
 * they move. Each stage reads only lines an earlier one fetched (the
 * ring finds the handles ahead without reading any). In alternating runs
 * of Item 60 at 100,000 cells, the pipeline took a generation from 0.158
 * to 0.148 s on a busy machine (one stage at 3 ahead before), and reading
 * only fetched lines from 0.135 to 0.132 s on a quieter one. Without the
 * stack page's stage it took 0.137 s, against 0.129. Loading the page
 * instead of prefetching it took 0.135 s, one page a step or 2, 4 or 8
 * pages every 2, 4 or 8 steps; prefetching 2 pages every 2 steps, 0.1295
 * against 0.1293 s: grouping the page walks gains nothing here. */
enum { LANE_AHEAD = 16, READY_AHEAD = 3, PAGE_AHEAD = 6, RECORD_AHEAD = 8 };

static void warm_next(struct aio_loop *loop)
{
    struct aio_handle *h;
    if ((h = ready_peek(loop, READY_AHEAD)) && h->callback == aio_task_step)
        aio_task_warm(h->arg);
    if ((h = ready_peek(loop, PAGE_AHEAD)) && h->callback == aio_task_step)
        aio_task_prime(h->arg);
    if ((h = ready_peek(loop, RECORD_AHEAD))) /* not read: fetched (a task's first lines) */
        for (int i = 0; i < AIO_TASK_FIRST_LINES; i++)
            __builtin_prefetch((char *)h + 64 * i, 1);
}

void aio_loop_run_once(struct aio_loop *loop)
{
    double timeout = -1;
    if (loop->ready_head < loop->ready_tail || loop->stopping)
        timeout = 0;
    else if (timer_next(loop)) {
        timeout = timer_next(loop)->when - clock_now();
        if (timeout < 0)
            timeout = 0;
    }
    struct epoll_event events[MAX_EVENTS];
    int n = epoll_wait_ns(loop->epfd, events, timeout);
    if (n < 0 && errno != EINTR)
        die_errno("aio: epoll_wait");
    for (int i = 0; i < n; i++) {
        if (events[i].data.fd == loop->wakefd)
            ts_take(loop);
        else
            dispatch(loop, events[i].data.fd, events[i].events);
    }
    struct aio_handle *h = timer_next(loop);
    if (h) {
        double now = clock_now();
        for (; h && h->when <= now; h = timer_next(loop)) {
            if (loop->lane_lo + LANE_AHEAD < loop->lane_hi) /* NULL (cancelled): harmless */
                __builtin_prefetch(loop->lane[loop->lane_lo + LANE_AHEAD], 1);
            if (h->state == AIO_HANDLE_LANE)
                lane_remove(loop, h);
            else
                heap_remove(loop, h);
            ready_push(loop, h);
        }
    }
    for (uint64_t end = loop->ready_tail; (h = ready_pop(loop, end));) {
        warm_next(loop);
        run_callback(loop, h->callback, h->arg, "Handle");
    }
}

void aio_loop_run_forever(struct aio_loop *loop)
{
    if (loop->running)
        die("aio_loop_run_forever: this loop is already running");
    if (running_loop)
        die("aio_loop_run_forever: another loop is running in this thread");
    loop->running = true;
    running_loop = loop;
    for (;;) {
        aio_loop_run_once(loop);
        if (loop->stopping)
            break;
    }
    loop->stopping = false;
    loop->running = false;
    running_loop = NULL;
}

void aio_loop_stop(struct aio_loop *loop)
{
    loop->stopping = true;
}

void aio_loop_close(struct aio_loop *loop)
{
    if (!loop)
        return;
    if (loop->running)
        die("aio_loop_close: the loop is running");
    aio_tasks_close(loop);
    /* Handles never run are dropped; calls from other threads that never
     * ran get their drop function (a waiting future is told). */
    for (struct aio_handle *h; (h = ready_pop(loop, loop->ready_tail));) {
        if (h->callback == ts_run) {
            struct aio_ts_call *c = h->arg;
            if (c->drop)
                c->drop(c->arg);
            free(c);
        }
    }
    for (size_t i = 0; i < loop->heap_len; i++)
        loop->heap[i]->state = AIO_HANDLE_IDLE;
    for (struct aio_handle *t; (t = lane_front(loop));) {
        t->state = AIO_HANDLE_IDLE;
        loop->lane[loop->lane_lo++] = NULL;
    }
    CHECK_PT(pthread_mutex_lock(&loop->ts_mutex));
    struct aio_ts_call *c = loop->ts_head;
    loop->ts_head = loop->ts_tail = NULL;
    CHECK_PT(pthread_mutex_unlock(&loop->ts_mutex));
    while (c) {
        struct aio_ts_call *next = c->next;
        if (c->drop)
            c->drop(c->arg);
        free(c);
        c = next;
    }
    free(loop->ready);
    free(loop->heap);
    free(loop->lane);
    free(loop->fds);
    close(loop->wakefd);
    close(loop->epfd);
    CHECK_PT(pthread_mutex_destroy(&loop->ts_mutex));
    free(loop);
}
