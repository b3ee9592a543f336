/* children: see children.h. */
#include "children.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "check.h"

static struct proc **tracked; /* every child started, in start order */
static size_t ntracked, capacity;

void children_track(struct proc *proc)
{
    if (ntracked == capacity) {
        capacity = capacity ? 2 * capacity : 16;
        tracked = xrealloc(tracked, capacity * sizeof *tracked);
    }
    tracked[ntracked++] = proc;
}

static void end_them_all(void)
{
    /* Signal them all first, so they die together instead of one a second. */
    for (size_t i = 0; i < ntracked; i++)
        proc_terminate(tracked[i]); /* nothing once reaped: then its pid is not ours */
    for (size_t i = 0; i < ntracked; i++) {
        struct error *late = proc_wait(tracked[i], 1.0);
        if (late) { /* it ignores SIGTERM */
            error_free(late);
            proc_kill(tracked[i]);
        }
        proc_fini(tracked[i]); /* close our pipe ends, reap */
    }
}

noreturn void children_die_error(const struct error *e)
{
    end_them_all();
    error_die(e);
}

noreturn void children_die(const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap); /* before the children's ends are closed */
    va_end(ap);
    end_them_all();
    die("%s", message);
}
