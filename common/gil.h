/* gil: CPython's global interpreter lock, emulated (Python/ceval_gil.c, the
 * "new GIL" of Python 3.2+).
 *
 * Python threads take turns: only the thread holding the GIL runs "bytecode".
 * A C program opts in by calling these where CPython would:
 *
 *   gil_init(on, interval)  once, before any thread starts; on=false makes
 *                           every call below a no-op (free C threads)
 *   gil_acquire()           a thread starts running Python code
 *   gil_release()           a thread finishes (or leaves Python for good)
 *   gil_tick()              a bytecode boundary: if another thread has waited
 *                           a whole switch interval, hand the GIL over
 *   gil_begin_blocking()    Py_BEGIN_ALLOW_THREADS: release the GIL around a
 *   gil_end_blocking()      Py_END_ALLOW_THREADS:   blocking call, take it back
 *   gil_mutex_lock(m)       threading.Lock.acquire: try without blocking first,
 *                           otherwise release the GIL while waiting for m
 *   gil_switches()          how many times the GIL changed hands
 *   gil_enabled()           whether the emulation is on
 *
 * The switch interval is sys.setswitchinterval's (CPython: 5 ms).
 */
#ifndef COMMON_GIL_H
#define COMMON_GIL_H

#include <pthread.h>
#include <stdbool.h>

#define GIL_DEFAULT_INTERVAL 0.005 /* seconds: CPython's sys.getswitchinterval() */

int gil_init(bool on, double switch_interval);
bool gil_enabled(void);
void gil_acquire(void);
void gil_release(void);
void gil_tick(void);
void gil_begin_blocking(void);
void gil_end_blocking(void);
int gil_mutex_lock(pthread_mutex_t *mutex);
unsigned long gil_switches(void);

#endif
