/* race: the book's Counter. Five sensor threads each add 1 to a shared count
 * 100,000 times, with nothing to stop two increments from overlapping.
 *
 *   ./item54/race             Counter should be 500000, got 331427   (varies)
 *   ./item54/race --gil       one thread at a time, and updates are still lost
 *
 * Look for: the count comes out short, differently each run. Compare with
 * locked (a mutex) and atomic (one indivisible add), and watch it in slow
 * motion with interleave.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "sensors.h"

/* Race condition, not data race. The book's `self.count += offset` is a
 * read, an add and a write. In C, a plain `long` updated by several threads
 * is a *data race*: undefined behaviour. The compiler may assume no other
 * thread touches it, so at -O2 gcc and clang turn a loop of `count += 1` into
 * a single `count += 100000` (README, exercise 2), hiding the lesson, and
 * ThreadSanitizer rejects the program. Relaxed atomic loads and stores make
 * every access well defined but keep the read and the write separate, so
 * another thread can still slip in between them: a *race condition*, the
 * lost update of the book, with no undefined behaviour. (relaxed: the count
 * orders nothing else; the joins publish the final value to main.) */
struct counter {
    atomic_long count;
};

static void increment(void *arg, long offset)
{
    struct counter *counter = arg;
    long value = atomic_load_explicit(&counter->count, memory_order_relaxed); /* getattr */
    bytecode(); /* another thread may run here ... */
    long result = value + offset;
    bytecode(); /* ... or here, and its increments are overwritten below */
    atomic_store_explicit(&counter->count, result, memory_order_relaxed); /* setattr */
    bytecode();
}

int main(int argc, char **argv)
{
    struct sensor_run run = SENSOR_RUN_DEFAULTS;
    sensor_parse_flags(argc, argv,
                       "The book's Counter: increments from several threads get lost. "
                       "The threads run free unless --gil.",
                       &run);

    struct counter counter = {0};
    run_sensor_workers(&run, increment, &counter);

    long expected = run.how_many * run.threads;
    long found = atomic_load(&counter.count);
    printf("Counter should be %ld, got %ld\n", expected, found);
    return 0;
}
