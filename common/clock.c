/* clock: see clock.h. */
#include "clock.h"

#include <errno.h>
#include <stdio.h>

#include "check.h"

static struct timespec to_timespec(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (ts.tv_nsec < 0)
        ts.tv_nsec = 0;
    return ts;
}

double clock_now(void)
{
    struct timespec ts;
    CHECK_SYS(clock_gettime(CLOCK_MONOTONIC, &ts)); /* fails only if the program is broken */
    /* (A multiply: a divide is slow, and the loop reads the clock often.) */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void clock_sleep_until(double deadline)
{
    struct timespec ts = to_timespec(deadline);
    /* An absolute deadline makes resuming after EINTR exact: no drift. */
    int err;
    while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
        ;
    if (err) /* EINVAL: a broken deadline */
        die_call("clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)", __FILE__, __LINE__,
                 err);
}

void clock_sleep(double seconds)
{
    if (seconds > 0)
        clock_sleep_until(clock_now() + seconds);
}

struct timespec clock_deadline(double seconds)
{
    return to_timespec(clock_now() + (seconds > 0 ? seconds : 0));
}

int clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);
    if (err)
        return err;
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!err)
        err = pthread_cond_init(cond, &attr);
    CHECK_PT(pthread_condattr_destroy(&attr));
    return err;
}

long clock_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        die_errno("fopen /proc/self/status");
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0)
        die("no VmRSS line in /proc/self/status");
    return kib * 1024;
}
