/* syscalls: the book's slow_systemcall, five times in a row, then in five
 * threads while the main thread computes the helicopter's next moves, all
 * under the emulated GIL.
 *
 *   ./item53/syscalls                  serial: Took 0.501 seconds
 *                                      threads under the GIL: Took 0.101 seconds
 *   ./item53/syscalls --no-gil         the threads as free C threads: the same 0.1 s
 *   ./item53/syscalls --compute-ms 40  each helicopter move takes 40 ms of Python
 *   ./item53/syscalls --threads 1000 --no-serial   skip the 100 s serial run
 *
 * Look for: five blocking calls in threads take as long as one, although only
 * one thread at a time may run Python: each call releases the GIL while it
 * waits in the kernel. Compare with factorize, where the threads never wait
 * and the GIL lets only one of them run.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "gil.h"

static long call_ms = 100; /* the book's select() timeout: 0.1 s */
static double compute_ms = 0;
static int never_ready; /* the read end of a pipe that nobody writes to */

/* The book's select.select([socket.socket()], [], [], 0.1). Departure: on
 * Linux a fresh, unconnected socket polls as ready at once (POLLHUP), so the
 * book's call returns immediately and its demo measures nothing. The read end
 * of a pipe that nobody writes to never becomes readable, so poll() really
 * waits out its timeout. One pipe serves every call: a descriptor per call
 * (the book's fresh socket, never closed) would run out of descriptors with
 * enough threads. */
static void slow_systemcall(void)
{
    struct pollfd pfd = {.fd = never_ready, .events = POLLIN};
    int ready;
    /* The lesson in one line: CPython's select() releases the GIL
     * (Py_BEGIN_ALLOW_THREADS) for as long as the kernel keeps it waiting. */
    GIL_ALLOW_THREADS(ready = poll(&pfd, 1, (int)call_ms));
    CHECK_SYS(ready);
}

static void *systemcall_thread(void *unused)
{
    (void)unused;
    gil_acquire();
    slow_systemcall();
    gil_release();
    return NULL;
}

/* "..." in the book. Here: --compute-ms of CPU-bound Python, a bytecode
 * boundary at every turn, so that it shares the GIL fairly. */
static void compute_helicopter_location(long index)
{
    (void)index;
    double end = clock_now() + compute_ms / 1e3;
    while (clock_now() < end)
        gil_tick();
}

static void run_serial(long calls)
{
    CHECK_PT(gil_init(true, GIL_DEFAULT_INTERVAL));
    double start = clock_now();
    gil_acquire(); /* the main thread runs Python too */
    for (long i = 0; i < calls; i++)
        slow_systemcall();
    gil_release();
    printf("serial: Took %.3f seconds\n", clock_now() - start);
}

static void run_threads(long calls, bool gil, double interval)
{
    pthread_t threads[calls];
    CHECK_PT(gil_init(gil, interval));
    double start = clock_now();
    gil_acquire();
    for (long i = 0; i < calls; i++)
        CHECK_PT(pthread_create(&threads[i], NULL, systemcall_thread, NULL));
    for (long i = 0; i < calls; i++)
        compute_helicopter_location(i);
    /* join() blocks, so it releases the GIL too. */
    for (long i = 0; i < calls; i++)
        GIL_ALLOW_THREADS(CHECK_PT(pthread_join(threads[i], NULL)));
    gil_release();
    printf("%s: Took %.3f seconds\n", gil ? "threads under the GIL" : "free threads",
           clock_now() - start);
}

int main(int argc, char **argv)
{
    long calls = 5;
    bool gil = false, no_gil = false, no_serial = false;
    double interval_ms = GIL_DEFAULT_INTERVAL * 1e3;
    const struct cli_flag flags[] = {
        {"--threads", CLI_INT, &calls, 1, 1000, "N", "system calls, and threads to make them"},
        {"--call-ms", CLI_INT, &call_ms, 0, 10000, "MS", "how long each system call blocks"},
        {"--compute-ms", CLI_DOUBLE, &compute_ms, 0, 10000, "MS",
         "CPU-bound Python per helicopter move, meanwhile"},
        {"--gil", CLI_SWITCH, &gil, 0, 0, NULL, "run the threads under the emulated GIL only"},
        {"--no-gil", CLI_SWITCH, &no_gil, 0, 0, NULL, "run the threads free (no GIL) only"},
        {"--no-serial", CLI_SWITCH, &no_serial, 0, 0, NULL,
         "skip the serial run (N calls one after the other)"},
        {"--switch-interval-ms", CLI_DOUBLE, &interval_ms, 0.001, 1000, "MS",
         "the emulated GIL's switch interval"},
        {0},
    };
    const struct cli cli = {"Blocking system calls in threads run in parallel, GIL or not "
                            "(by default: under the GIL, as the book's threads run).",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (gil && no_gil)
        cli_usage_error(&cli, "--gil and --no-gil: choose one");

    int fds[2];
    CHECK_SYS(pipe2(fds, O_CLOEXEC));
    never_ready = fds[0];
    if (!no_serial)
        run_serial(calls);
    run_threads(calls, !no_gil, interval_ms / 1e3);
    CHECK_SYS(close(fds[0]));
    CHECK_SYS(close(fds[1]));
    return 0;
}
