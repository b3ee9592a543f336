/* poll: Popen starts `sleep 1` and returns at once; the parent keeps working
 * and polls the child now and then, until poll() reports its exit status.
 *
 *   ./item52/poll                      Working... (4 times), Exit status 0
 *   ./item52/poll --seconds 2          about twice as many Working... lines
 *   ./item52/poll --work 0.1           poll more often: more lines
 *
 * Look for: the parent and the child run at the same time: the child sleeps
 * while the parent prints. The book shows 4 lines: polls at about 0, 0.3,
 * 0.6 and 0.9 s, and the child exits at 1.0 s. On a busy machine you may see
 * 3 or 5. Compare with fan_out, which runs many children at once.
 */
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "subprocess.h"

int main(int argc, char **argv)
{
    double seconds = 1, work = 0.3;
    const struct cli_flag flags[] = {
        {"--seconds", CLI_DOUBLE, &seconds, 0, 3600, "S", "how long the child sleeps"},
        {"--work", CLI_DOUBLE, &work, 0.01, 60, "S", "simulated work between two polls"},
        {0},
    };
    const struct cli cli = {"Poll a child process while the parent does other work.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    char duration[32];
    snprintf(duration, sizeof duration, "%g", seconds);
    struct proc proc;
    struct error *e = proc_start(&proc, (char *[]){"sleep", duration, NULL}, NULL);
    if (e)
        error_die(e);
    while (proc_poll(&proc) == PROC_RUNNING) {
        printf("Working...\n");
        fflush(stdout);    /* show each line as it happens, even into a pipe */
        clock_sleep(work); /* Some time-consuming work here */
    }
    printf("Exit status %d\n", proc_poll(&proc));
    proc_fini(&proc);
    return 0;
}
