/* atomic (beyond the book): the C way. atomic_fetch_add reads, adds and
 * writes in one indivisible step (a `lock xadd` on x86), so there is no gap
 * for another thread to slip into, and no lock to wait for.
 *
 *   ./item54/atomic           Counter should be 500000, got 500000   (every run)
 *   ./item54/atomic --time    and faster than locked --time
 *
 * Python has no such operation for `self.count += 1`; C does.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "sensors.h"

struct atomic_counter {
    atomic_long count;
};

static void increment(void *arg, long offset)
{
    struct atomic_counter *counter = arg;
    atomic_fetch_add_explicit(&counter->count, offset, memory_order_relaxed);
    bytecode();
}

int main(int argc, char **argv)
{
    struct sensor_run run = SENSOR_RUN_DEFAULTS;
    sensor_parse_flags(argc, argv,
                       "A counter with atomic_fetch_add: exact, and no lock. "
                       "The threads run free unless --gil.",
                       &run);

    struct atomic_counter counter = {0};
    run_sensor_workers(&run, increment, &counter);

    long expected = run.how_many * run.threads;
    printf("Counter should be %ld, got %ld\n", expected, atomic_load(&counter.count));
    return 0;
}
