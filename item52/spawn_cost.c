/* spawn_cost: what one child costs. Start /bin/true and reap it, 1000 times,
 * three ways: the library (proc_start + proc_wait), fork + execv + waitpid,
 * and posix_spawn + waitpid. Not in the book: it is why fan_out's ten
 * children add only milliseconds to one second, and why the library uses
 * posix_spawn.
 *
 *   ./item52/spawn_cost                      three lines, milliseconds per child
 *   ./item52/spawn_cost --parent-mib 512     a big parent: watch fork slow down
 *
 * Look for: fork copies the parent's page tables (and write-protects its
 * pages), so its cost grows with the parent's memory; posix_spawn (a vfork
 * clone in glibc) shares the parent's memory until exec and does not grow.
 * The library should cost the same as posix_spawn plus a little bookkeeping.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "subprocess.h"

#define ROUNDS 10 /* the methods take turns, so machine noise hits all three */

extern char **environ;

static char *true_argv[] = {"/bin/true", NULL};

static int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            die_errno("waitpid");
    return status;
}

static void with_library(void)
{
    struct proc proc;
    struct error *e = proc_start(&proc, true_argv, NULL);
    if (!e)
        e = proc_wait(&proc, PROC_FOREVER);
    if (e)
        error_die(e);
    proc_fini(&proc);
}

static void with_fork(void)
{
    pid_t pid = (pid_t)CHECK_SYS(fork());
    if (pid == 0) {
        execv(true_argv[0], true_argv);
        _exit(127); /* exec failed: never return into the parent's code */
    }
    if (wait_child(pid) != 0)
        die("fork+execv of %s failed", true_argv[0]);
}

static void with_posix_spawn(void)
{
    pid_t pid;
    int err = posix_spawn(&pid, true_argv[0], NULL, NULL, true_argv, environ);
    if (err)
        die("posix_spawn %s: %s", true_argv[0], strerror(err));
    if (wait_child(pid) != 0)
        die("posix_spawn of %s: child failed", true_argv[0]);
}

int main(int argc, char **argv)
{
    long children = 1000, parent_mib = 0;
    const struct cli_flag flags[] = {
        {"--children", CLI_INT, &children, ROUNDS, 1000000, "N", "children per method"},
        {"--parent-mib", CLI_INT, &parent_mib, 0, 4096, "M", "touch M MiB in the parent first"},
        {0},
    };
    const struct cli cli = {"Measure the cost of starting and reaping one child.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    size_t ballast_size = (size_t)parent_mib << 20;
    char *ballast = xmalloc(ballast_size + 1);
    memset(ballast, 1, ballast_size); /* touched: real pages that fork must map */

    static const char *const names[] = {"library proc_start+proc_wait", "fork+execv+waitpid",
                                        "posix_spawn+waitpid"};
    void (*const methods[])(void) = {with_library, with_fork, with_posix_spawn};
    double total[3] = {0};
    fflush(stdout); /* nothing buffered may be copied into a forked child */
    for (int round = 0; round < ROUNDS; round++) {
        for (int m = 0; m < 3; m++) {
            double start = clock_now();
            for (long i = 0; i < children / ROUNDS; i++)
                methods[m]();
            total[m] += clock_now() - start;
        }
    }
    long done = children / ROUNDS * ROUNDS;
    for (int m = 0; m < 3; m++)
        printf("%s: %.3f ms per child\n", names[m], total[m] / (double)done * 1e3);
    free(ballast);
    return 0;
}
