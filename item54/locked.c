/* locked: the book's LockingCounter. The same sensor threads as race, but
 * each increment holds a mutex, so no other increment can come between its
 * read and its write.
 *
 *   ./item54/locked           Counter should be 500000, got 500000   (every run)
 *   ./item54/locked --gil     the same under the emulated GIL
 *
 * Look for: the right count every time, at the price of a lock per
 * increment (--time shows it; compare with atomic).
 */
#include <pthread.h>
#include <stdio.h>

#include "check.h"
#include "gil.h"
#include "sensors.h"

struct locking_counter {
    pthread_mutex_t lock;
    long count; /* guarded by lock: a plain long is fine now */
};

static void increment(void *arg, long offset)
{
    struct locking_counter *counter = arg;
    /* `with self.lock:`. Under --gil, waiting for the lock releases the GIL,
     * as threading.Lock does; holding the GIL while waiting would deadlock. */
    CHECK_PT(gil_mutex_lock(&counter->lock));
    long value = counter->count;
    bytecode(); /* a GIL switch here is harmless: others wait for the lock */
    counter->count = value + offset;
    CHECK_PT(pthread_mutex_unlock(&counter->lock));
    bytecode();
}

int main(int argc, char **argv)
{
    struct sensor_run run = SENSOR_RUN_DEFAULTS;
    sensor_parse_flags(argc, argv,
                       "The book's LockingCounter: a mutex makes every increment count. "
                       "The threads run free unless --gil.",
                       &run);

    struct locking_counter counter = {.lock = PTHREAD_MUTEX_INITIALIZER, .count = 0};
    run_sensor_workers(&run, increment, &counter);

    long expected = run.how_many * run.threads;
    printf("Counter should be %ld, got %ld\n", expected, counter.count);
    CHECK_PT(pthread_mutex_destroy(&counter.lock));
    return 0;
}
