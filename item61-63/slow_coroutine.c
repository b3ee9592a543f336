/* slow_coroutine: Item 63's coroutine that blocks the event loop with a
 * blocking sleep of 0.5 s (standing in for slow I/O), run in debug mode,
 * which reports the step that held the loop too long (over 0.1 s).
 *
 *   ./item61-63/slow_coroutine             stderr: Executing <Task finished name='Task-1'
 *                                          coro=<slow_coroutine() done, defined at ...>
 *                                          result=None created at ...> took 0.501 seconds
 *   ./item61-63/slow_coroutine --fixed     awaits aio_sleep instead: silent
 *   ./item61-63/slow_coroutine --executor  the blocking sleep runs in the executor: silent
 *
 * Look for: the report names the coroutine and where it is defined, so the
 * culprit can be found; either fix lets the loop run while the sleep lasts.
 */
#include <stdbool.h>

#include "aio.h"
#include "check.h"
#include "cli.h"
#include "clock.h"

static bool fixed = false;    /* --fixed */
static bool executor = false; /* --executor */

static struct error *blocking_sleep(void *arg, void **result)
{
    (void)arg;
    (void)result;
    clock_sleep(0.5);
    return NULL;
}

AIO_COROUTINE(slow_coroutine)
static struct error *slow_coroutine(void *arg, void **result)
{
    (void)arg;
    (void)result;
    if (fixed)
        return aio_sleep(0.5); /* await asyncio.sleep(0.5): the loop runs meanwhile */
    if (executor)
        return aio_run_in_executor(NULL, blocking_sleep, NULL, NULL);
    clock_sleep(0.5); /* time.sleep(0.5): Simulating slow I/O */
    return NULL;
}

int main(int argc, char **argv)
{
    const struct cli_flag flags[] = {
        {"--fixed", CLI_SWITCH, &fixed, 0, 0, NULL, "await aio_sleep instead of blocking"},
        {"--executor", CLI_SWITCH, &executor, 0, 0, NULL, "run the blocking sleep in the executor"},
        {0},
    };
    const struct cli cli = {"Item 63: debug mode catches a coroutine that blocks the loop.", flags,
                            NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (fixed && executor)
        cli_usage_error(&cli, "--fixed and --executor are two different fixes: pick one");
    struct error *err =
        aio_run_debug(slow_coroutine, NULL, NULL); /* asyncio.run(..., debug=True) */
    if (err)
        error_die(err);
    return 0;
}
