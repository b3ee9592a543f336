/* sensors: the book's light-sensor run (its `worker` and the loop that
 * starts and joins one thread per sensor), shared by race, locked and atomic,
 * which differ only in their Counter, as the book re-runs the same workers
 * with a LockingCounter. */
#ifndef ITEM54_SENSORS_H
#define ITEM54_SENSORS_H

#include <stdbool.h>

struct sensor_run {
    long threads;           /* one worker per sensor: 5 */
    long how_many;          /* readings per sensor: 10**5 */
    bool gil;               /* run the workers under the emulated GIL */
    double switch_interval; /* seconds */
    bool time;              /* print the time taken to stderr */
};

/* The book's constants, and CPython's 5 ms switch interval. */
#define SENSOR_RUN_DEFAULTS                                                                        \
    {                                                                                              \
        .threads = 5, .how_many = 100000, .switch_interval = 0.005                                 \
    }

typedef void increment_fn(void *counter, long offset);

/* Parse the flags every counter program shares; exits 2 on bad input.
 * The threads are free C threads unless --gil is given. */
void sensor_parse_flags(int argc, char **argv, const char *summary, struct sensor_run *run);

/* Start run->threads workers together (a barrier), each reading its sensor
 * and calling increment(counter, 1) run->how_many times; join them all. */
void run_sensor_workers(const struct sensor_run *run, increment_fn *increment, void *counter);

/* One "bytecode" of the emulated interpreter: under --gil it costs about as
 * much as a CPython bytecode and is a point where the GIL may change hands.
 * Without --gil it costs nothing: these are plain C threads. */
void bytecode(void);

#endif
