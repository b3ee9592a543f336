/* clock: time.perf_counter and time.sleep, and the resident memory that a
 * measurement reads beside the time.
 *
 *   clock_now()             seconds on CLOCK_MONOTONIC (perf_counter): only
 *                           differences mean anything; never jumps backwards
 *   clock_sleep(s)          sleep s seconds, resuming after signals (EINTR)
 *   clock_sleep_until(t)    sleep until clock_now() >= t
 *   clock_deadline(s)       a CLOCK_MONOTONIC timespec s seconds from now, for
 *                           pthread_cond_timedwait on a condition variable
 *                           made with clock_cond_init
 *   clock_cond_init(c)      a condition variable that times out on
 *                           CLOCK_MONOTONIC, so a wall-clock jump cannot
 *                           stretch or cut a timeout; returns 0 or the
 *                           error number, as pthread_cond_init does (the
 *                           caller CHECK_PTs it, as it would that call)
 *   clock_resident_bytes()  the process's resident memory now (VmRSS in
 *                           /proc/self/status), in bytes: read before and
 *                           after, it gives what a batch of tasks costs
 *                           (psutil's memory_info().rss; resource's ru_maxrss
 *                           is the peak, not the present)
 *
 * Linux only, as the workbook is: without /proc, clock_resident_bytes dies
 * naming the file, as a broken call does.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <pthread.h>
#include <time.h>

double clock_now(void);
void clock_sleep(double seconds);
void clock_sleep_until(double deadline);
struct timespec clock_deadline(double seconds);
int clock_cond_init(pthread_cond_t *cond);
long clock_resident_bytes(void);

#endif
