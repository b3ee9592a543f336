/* timeout: a child that takes too long. communicate(timeout=0.1) gives up
 * waiting, but (as in Python) leaves the child running; the parent then
 * terminates it and waits for it.
 *
 *   ./item52/timeout                  Exit status -15
 *   ./item52/timeout --kill           Exit status -9   (SIGKILL instead of SIGTERM)
 *   ./item52/timeout --timeout 20     Exit status 0    (sleep 10 finishes in time)
 *
 * Look for: -15 is minus SIGTERM's number: Python reports a child killed by
 * a signal as -signal (a shell would say 143 = 128 + 15). Compare with run
 * --timeout, where run() itself kills the child.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "subprocess.h"

int main(int argc, char **argv)
{
    double seconds = 10, timeout = 0.1;
    bool use_kill = false;
    const struct cli_flag flags[] = {
        {"--seconds", CLI_DOUBLE, &seconds, 0, 3600, "S", "how long the child sleeps"},
        {"--timeout", CLI_DOUBLE, &timeout, 0, 3600, "S", "how long communicate waits"},
        {"--kill", CLI_SWITCH, &use_kill, 0, 0, NULL, "kill (SIGKILL) instead of terminate"},
        {0},
    };
    const struct cli cli = {"Give up on a slow child after a timeout, then terminate it.", flags,
                            NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    char duration[32];
    snprintf(duration, sizeof duration, "%g", seconds);
    struct proc proc;
    struct error *e = proc_start(&proc, (char *[]){"sleep", duration, NULL}, NULL);
    if (e)
        error_die(e);

    e = proc_communicate(&proc, NULL, 0, timeout, NULL, NULL);
    if (e && strcmp(e->type, "TimeoutExpired") == 0) { /* except subprocess.TimeoutExpired: */
        int err = use_kill ? proc_kill(&proc) : proc_terminate(&proc);
        if (err)
            die("signalling %s: %s", proc.args, strerror(err));
        error_free(e);
        e = proc_wait(&proc, PROC_FOREVER);
    }
    if (e)
        error_die(e);
    printf("Exit status %d\n", proc_poll(&proc));
    proc_fini(&proc);
    return 0;
}
