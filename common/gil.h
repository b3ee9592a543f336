/* gil: CPython's global interpreter lock, emulated (Python/ceval_gil.c, the
 * "new GIL" of Python 3.2+).
 *
 * Python threads take turns: only the thread holding the GIL runs "bytecode".
 * A C program opts in by calling these where CPython would:
 *
 *   gil_init(on, interval)  before the threads of a run start (again between
 *                           runs, while nobody holds the GIL); on=false makes
 *                           every call below a no-op: free C threads, as in
 *                           free-threaded CPython (3.13t, PEP 703)
 *   gil_acquire()           a thread starts running Python code
 *                           (PyEval_RestoreThread / PyGILState_Ensure)
 *   gil_release()           a thread finishes (or leaves Python for good)
 *   gil_tick()              a bytecode boundary (the eval loop's eval_breaker
 *                           check): if another thread has waited a whole
 *                           switch interval, hand the GIL over
 *   gil_begin_blocking()    Py_BEGIN_ALLOW_THREADS: release the GIL around a
 *   gil_end_blocking()      Py_END_ALLOW_THREADS:   blocking call, take it back
 *   GIL_ALLOW_THREADS(s)    the pair around one statement:
 *                               GIL_ALLOW_THREADS(n = poll(&pfd, 1, 100));
 *                           errno is kept, as CPython keeps it
 *   gil_mutex_lock(m)       threading.Lock.acquire: try without blocking first,
 *                           otherwise release the GIL while waiting for m
 *   gil_switches()          how many times the GIL changed hands since gil_init
 *   gil_enabled()           whether the emulation is on
 *   gil_held()              whether the calling thread holds the GIL
 *                           (PyGILState_Check); false when the GIL is off
 *   gil_drop_requested()    whether a waiter has asked the holder to let go
 *                           (CPython's gil_drop_request); for tests
 *
 * The switch interval is sys.setswitchinterval's (CPython: 5 ms).
 * Rules for callers: a thread ticks, blocks and releases only while it holds
 * the GIL; it never waits for another Python thread while holding it (wrap
 * the wait: join, barrier, condition, lock), or both wait forever.
 */
#ifndef COMMON_GIL_H
#define COMMON_GIL_H

#include <pthread.h>
#include <stdbool.h>

#define GIL_DEFAULT_INTERVAL 0.005 /* seconds: CPython's sys.getswitchinterval() */

/* Returns 0, or EBUSY if a thread holds the GIL (the caller's mistake, which
 * it can check). Here as everywhere in common/, a pthread call that fails
 * inside means the program is broken, and dies (common/check). */
int gil_init(bool on, double switch_interval);
bool gil_enabled(void);
void gil_acquire(void);
void gil_release(void);
void gil_tick(void);
void gil_begin_blocking(void);
void gil_end_blocking(void);
int gil_mutex_lock(pthread_mutex_t *mutex);
unsigned long gil_switches(void);
bool gil_held(void);
bool gil_drop_requested(void);

#define GIL_ALLOW_THREADS(statement)                                                               \
    do {                                                                                           \
        gil_begin_blocking();                                                                      \
        statement;                                                                                 \
        gil_end_blocking();                                                                        \
    } while (0)

#endif
