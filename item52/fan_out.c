/* fan_out: start ten `sleep 1` children up front, then wait for them all.
 * They sleep at the same time, so the whole run takes about 1 second, not 10.
 *
 *   ./item52/fan_out                           Finished in 1.0x seconds
 *   ./item52/fan_out --children 100            still about 1 second
 *   ./item52/fan_out --children 3 --seconds 2  about 2 seconds
 *
 * Look for: the time stays close to one child's sleep, however many children
 * (until starting them costs something: about a millisecond each, see
 * spawn_cost). If a start fails, the children already started are ended
 * and reaped before the program exits 1 (children.c). Compare with poll (one child) and encrypt
 * (children that also take input and give output).
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "children.h"
#include "cli.h"
#include "clock.h"
#include "pyrepr.h"
#include "subprocess.h"

int main(int argc, char **argv)
{
    long children = 10;
    double seconds = 1;
    const struct cli_flag flags[] = {
        {"--children", CLI_INT, &children, 1, 1000, "N", "how many sleep children"},
        {"--seconds", CLI_DOUBLE, &seconds, 0, 3600, "S", "how long each child sleeps"},
        {0},
    };
    const struct cli cli = {"Run many child processes in parallel.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    char duration[32];
    snprintf(duration, sizeof duration, "%g", seconds);
    char *sleep_argv[] = {"sleep", duration, NULL};
    struct proc *sleep_procs = xcalloc((size_t)children, sizeof *sleep_procs);

    double start = clock_now();
    for (long i = 0; i < children; i++) {
        struct error *e = proc_start(&sleep_procs[i], sleep_argv, NULL);
        if (e)
            children_die_error(e); /* end and reap the ones already started, then exit 1 */
        children_track(&sleep_procs[i]);
    }
    for (long i = 0; i < children; i++) {
        struct error *e = proc_communicate(&sleep_procs[i], NULL, 0, PROC_FOREVER, NULL, NULL);
        if (e)
            children_die_error(e);
    }
    double delta = clock_now() - start;

    char text[32];
    printf("Finished in %s seconds\n", pyrepr_float(text, sizeof text, delta, 3)); /* {delta:.3} */
    for (long i = 0; i < children; i++)
        proc_fini(&sleep_procs[i]);
    free(sleep_procs);
    return 0;
}
