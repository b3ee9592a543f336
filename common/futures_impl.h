/* futures_impl: what the two executors (futures.c: threads, futures_process.c:
 * processes) share behind futures.h. Not for programs. */
#ifndef COMMON_FUTURES_IMPL_H
#define COMMON_FUTURES_IMPL_H

#include "futures.h"

struct executor_ops {
    struct future *(*submit)(struct executor *ex, task_fn *fn, void *arg);
    void (*shutdown)(struct executor *ex, bool wait);
    void (*destroy)(struct executor *ex); /* after shutdown(wait) */
};

/* Each executor embeds this as its first member. */
struct executor {
    const struct executor_ops *ops;
};

#endif
