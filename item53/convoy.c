/* convoy: the convoy effect (beyond the book; David Beazley, bpo-7946). One
 * thread does many short blocking I/O operations; beside it, a CPU-bound
 * thread spins. Under the GIL, each time an operation completes, the I/O
 * thread has to wait a whole switch interval before it may ask the CPU-bound
 * thread to let go, so every 0.1 ms operation costs about 5 ms.
 *
 *   ./item53/convoy    the I/O job alone, beside a CPU-bound thread under the
 *                      GIL (about 30 times slower), and as free threads (no slower)
 *   ./item53/convoy --switch-interval-ms 1   a shorter interval, a smaller convoy
 *
 * Look for: the slowdown under the GIL is about (interval + operation) /
 * operation, however little CPU the I/O thread needs; free threads do not
 * slow down. Compare with syscalls, where nobody computes while the calls wait.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "gil.h"

struct convoy {
    long ops;   /* blocking operations the I/O thread makes */
    long io_us; /* how long each one blocks */
    bool cpu;   /* is a CPU-bound thread running beside it? */
    pthread_barrier_t start;
    atomic_bool io_done; /* tells the CPU-bound thread to stop */
    double io_seconds;   /* the I/O job's time, written by io_bound */
};

static void start_together(struct convoy *c)
{
    /* Barrier.wait() blocks, so it releases the GIL. */
    GIL_ALLOW_THREADS(CHECK_BARRIER(pthread_barrier_wait(&c->start)));
}

/* `while not io_done: x += 1`: Python that never blocks, ticking all along. */
static void *cpu_bound(void *arg)
{
    struct convoy *c = arg;
    gil_acquire();
    start_together(c);
    while (!atomic_load_explicit(&c->io_done, memory_order_relaxed))
        gil_tick();
    gil_release();
    return NULL;
}

/* A short blocking operation, like a request to a fast device: poll() on a
 * pipe that never becomes readable, with the GIL released meanwhile. */
static void *io_bound(void *arg)
{
    struct convoy *c = arg;
    int fds[2];
    gil_acquire();
    CHECK_SYS(pipe2(fds, O_CLOEXEC));
    struct pollfd never_ready = {.fd = fds[0], .events = POLLIN};
    struct timespec timeout = {.tv_sec = c->io_us / 1000000, .tv_nsec = c->io_us % 1000000 * 1000};
    start_together(c);
    double start = clock_now();
    for (long i = 0; i < c->ops; i++) {
        int ready;
        /* Back from the kernel, gil_end_blocking() waits for the GIL: the convoy. */
        GIL_ALLOW_THREADS(ready = ppoll(&never_ready, 1, &timeout, NULL));
        CHECK_SYS(ready);
    }
    c->io_seconds = clock_now() - start;
    CHECK_SYS(close(fds[0]));
    CHECK_SYS(close(fds[1]));
    atomic_store(&c->io_done, true);
    gil_release();
    return NULL;
}

/* One run: the I/O thread, alone or beside the CPU-bound one; the I/O job's time. */
static double run(long ops, long io_us, bool cpu, bool gil, double interval)
{
    struct convoy c = {.ops = ops, .io_us = io_us, .cpu = cpu};
    pthread_t io_thread, cpu_thread;
    CHECK_PT(gil_init(gil, interval));
    CHECK_PT(pthread_barrier_init(&c.start, NULL, cpu ? 2 : 1));
    gil_acquire(); /* the main thread is a Python thread: it starts and joins */
    if (cpu)
        CHECK_PT(pthread_create(&cpu_thread, NULL, cpu_bound, &c));
    CHECK_PT(pthread_create(&io_thread, NULL, io_bound, &c));
    GIL_ALLOW_THREADS(CHECK_PT(pthread_join(io_thread, NULL)));
    if (cpu)
        GIL_ALLOW_THREADS(CHECK_PT(pthread_join(cpu_thread, NULL)));
    gil_release();
    CHECK_PT(pthread_barrier_destroy(&c.start));
    return c.io_seconds;
}

/* "33.4x"; "not measured" when the time alone is under a millisecond, as with
 * --io-us 0: a ratio of two such times is noise. */
static const char *ratio(double t, double alone)
{
    static char text[32];
    if (alone < 0.001)
        return "not measured";
    snprintf(text, sizeof text, "%.1fx", t / alone);
    return text;
}

int main(int argc, char **argv)
{
    long ops = 200, io_us = 100;
    bool gil_only = false, free_only = false;
    double interval_ms = GIL_DEFAULT_INTERVAL * 1e3;
    const struct cli_flag flags[] = {
        {"--ops", CLI_INT, &ops, 1, 1000000, "N", "blocking operations in the I/O job"},
        {"--io-us", CLI_INT, &io_us, 0, 1000000, "US", "how long each operation blocks"},
        {"--gil", CLI_SWITCH, &gil_only, 0, 0, NULL, "run the threads under the emulated GIL only"},
        {"--no-gil", CLI_SWITCH, &free_only, 0, 0, NULL, "run the threads free (no GIL) only"},
        {"--switch-interval-ms", CLI_DOUBLE, &interval_ms, 0.001, 1000, "MS",
         "the emulated GIL's switch interval"},
        {0},
    };
    const struct cli cli = {"The convoy effect: under the GIL, a CPU-bound thread slows "
                            "down a thread that does I/O (by default: with and without the GIL).",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (gil_only && free_only)
        cli_usage_error(&cli, "--gil and --no-gil: choose one");
    double interval = interval_ms / 1e3;

    double alone = run(ops, io_us, false, true, interval);
    printf("I/O alone: Took %.3f seconds\n", alone);
    double under_gil = 0, free_threads = 0;
    unsigned long handovers = 0;
    if (!free_only) {
        under_gil = run(ops, io_us, true, true, interval);
        handovers = gil_switches();
        printf("I/O beside a CPU-bound thread, under the GIL: Took %.3f seconds\n", under_gil);
    }
    if (!gil_only) {
        free_threads = run(ops, io_us, true, false, interval);
        printf("I/O beside a CPU-bound thread, free threads: Took %.3f seconds\n", free_threads);
    }
    if (!free_only)
        printf("slowdown under the GIL: %s (%.2f ms more per operation; switch interval %g ms; "
               "the GIL changed hands %lu times)\n",
               ratio(under_gil, alone),
               under_gil > alone ? (under_gil - alone) * 1e3 / (double)ops : 0, interval_ms,
               handovers);
    if (!gil_only)
        printf("slowdown with free threads: %s\n", ratio(free_threads, alone));
    return 0;
}
