/* aio_impl: what aio_loop.c (the loop layer) and aio_task.c (tasks and the
 * bridges) share behind aio.h. Not for programs. */
#ifndef COMMON_AIO_IMPL_H
#define COMMON_AIO_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aio.h"

/* A task's stack: 128 KiB, or 512 KiB under ASan or TSan (larger frames). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AIO_STACK_SIZE (512 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AIO_STACK_SIZE (512 * 1024)
#endif
#endif
#ifndef AIO_STACK_SIZE
#define AIO_STACK_SIZE (128 * 1024)
#endif

/* asyncio's slow_callback_duration: a step longer than this is reported. */
#define AIO_SLOW_CALLBACK 0.1

enum { AIO_HANDLE_IDLE, AIO_HANDLE_READY, AIO_HANDLE_TIMER, AIO_HANDLE_LANE };

struct aio_fd {           /* one per descriptor number, in loop->fds */
    aio_callback *reader; /* NULL: none */
    void *reader_arg;
    aio_callback *writer;
    void *writer_arg;
    uint32_t events; /* what epoll has been told */
    bool registered;
};

struct aio_ts_call; /* a call handed over by another thread (aio_loop.c) */
struct aio_stack;   /* a task's stack (aio_task.c) */
struct aio_stack_chunk;

struct aio_loop {
    int epfd, wakefd;
    bool running, stopping, debug;
    bool step_reported;              /* the task layer reported this callback itself */
    uint64_t seq;                    /* scheduling order, for handles */
    struct aio_handle **ready;       /* ready handles: a ring (NULL: cancelled) */
    size_t ready_cap;                /* a power of two */
    uint64_t ready_head, ready_tail; /* live positions: [ready_head, ready_tail) */
    struct aio_handle **heap;        /* timers: a binary min-heap on (when, seq) */
    size_t heap_len, heap_cap;
    struct aio_handle **lane;          /* timers scheduled in deadline order: a FIFO */
    size_t lane_lo, lane_hi, lane_cap; /* live entries: lane[lane_lo, lane_hi) */
    uint64_t lane_base;                /* lane[i]'s position is lane_base + i */
    double lane_last;                  /* the deadline last appended */
    struct aio_fd *fds;
    size_t fds_cap;

    pthread_mutex_t ts_mutex;
    struct aio_ts_call *ts_head, *ts_tail; /* guarded by ts_mutex */

    /* The task layer's (aio_task.c). */
    size_t tasks_live;             /* tasks made and not yet freed */
    size_t tasks_pending;          /* of those, not done */
    uint64_t done_seq;             /* completion order, for gather's "first error" */
    struct aio_stack **stack_pool; /* free stacks (from stack_chunks), a stack of them */
    size_t stack_pool_n, stack_pool_cap, stacks_mapped;
    struct aio_stack_chunk *stack_chunks;
    struct executor *default_executor;
    bool closing;       /* aio_loop_close has begun: a task made now starts cancelled */
    size_t outstanding; /* completions still to come from other threads */
};

/* One round: wait for descriptors or the next timer (not at all if
 * something is ready), run what became ready. */
void aio_loop_run_once(struct aio_loop *loop);

/* aio_call_soon_threadsafe with a drop function: if the loop is closed
 * before cb runs, drop(arg) is called instead (on the closing thread). */
void aio_call_soon_threadsafe_drop(struct aio_loop *loop, aio_callback *cb, aio_callback *drop,
                                   void *arg);

/* Called by aio_loop_close before it frees the loop layer: cancel and run
 * out the tasks, shut the default executor down, wait for completions from
 * other threads, unmap the stacks. */
void aio_tasks_close(struct aio_loop *loop);

/* Take fd's reader (write: writer) callback away but leave epoll's
 * registration as it is: the task layer's end of a wait, so that the next
 * wait on the descriptor costs no system call (aio_loop.c's notes). */
void aio_unwatch_lazily(struct aio_loop *loop, int fd, bool write);

/* A task's step (the callback of its handle), and a hint that it is about
 * to run: fetch its struct and frames into the cache (aio_loop.c, warm_next). */
void aio_task_step(void *arg);
void aio_task_warm(void *arg);
void aio_task_prime(void *arg);

/* How many of a task's record's cache lines its first step reads (with the
 * assembly switch): all that is fetched for a task yet to start. */
enum { AIO_TASK_FIRST_LINES = 3 };

/* The running loop of this thread (aio_loop.c sets it in run_forever). */
void aio_set_running_loop(struct aio_loop *loop);

/* For bench/aio_costs: nanoseconds per switch, measured over `switches`
 * switches between the loop and one task (the same resume/suspend the loop
 * uses, without the loop's round in between). Must run outside any loop. */
double aio_switch_ns(long switches);

/* For tests: how many stacks may have guard pages from mprotect,
 * process-wide; guard markers (Linux 6.13) are not counted (0: no guards
 * of either kind, so every new stack is unguarded and canary-checked). */
void aio_set_guard_budget(long stacks);

/* "asm" or "ucontext": which switch this build uses. */
const char *aio_switch_kind(void);

#endif
