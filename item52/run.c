/* run: the book's first example. subprocess.run starts a child, captures
 * what it prints, and check_returncode() confirms it exited cleanly.
 *
 *   ./item52/run                          Hello from the child!   (then an empty line)
 *   ./item52/run -- ls -l /tmp            any command, run the same way
 *   ./item52/run -- no-such-program       an error naming the command, exit 1
 *   ./item52/run --timeout 0.5 -- sleep 5 TimeoutExpired, exit 1 (the child is killed)
 *
 * Look for: the empty line after the greeting (the child's output already
 * ends in a newline and print adds one), and that a missing command is an
 * error from the start, not a child that exits 127. Compare with poll, which
 * uses the lower-level Popen interface.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "cli.h"
#include "subprocess.h"

int main(int argc, char **argv)
{
    double timeout = PROC_FOREVER;
    const struct cli_flag flags[] = {
        {"--timeout", CLI_DOUBLE, &timeout, 0, 1e6, "S",
         "give up (and kill the child) after S seconds"},
        {0},
    };
    const struct cli cli = {"The book's subprocess.run example: run a child, capture its output.",
                            flags, "-- COMMAND [ARG...]"};
    char **command;
    int ncommand = cli_parse_or_exit(&cli, argc, argv, &command);
    char *book_command[] = {"echo", "Hello from the child!", NULL};
    if (ncommand == 0)
        command = book_command; /* argv after "--" ends in NULL, like any argv */

    struct proc_result result;
    struct error *e = proc_run(&result, command, true, timeout); /* capture_output=True */
    if (e)
        error_die(e);
    /* The child's diagnostics are its own: pass them on (the book's echo has none). */
    fwrite(result.err.data, 1, result.err.len, stderr);
    e = proc_check_returncode(&result); /* No error means clean exit */
    if (e)
        error_die(e);
    /* print(result.stdout): the output, then print's own newline. */
    fwrite(result.out.data, 1, result.out.len, stdout);
    putchar('\n');
    proc_result_fini(&result);
    return 0; /* a write to stdout that failed (a full disk) still fails the exit: common/check */
}
