/* encrypt: pipe data into child processes. Three `openssl enc` children
 * encrypt 10 random bytes each, in parallel; the parent then collects each
 * one's output and prints its last 10 bytes the way Python prints bytes.
 *
 *   ./item52/encrypt                 b'\x0eD\x97\xe9>\x10h{\xbd\xf0'  (3 lines, random)
 *   ./item52/encrypt --children 8 --bytes 4096
 *
 * Look for: all children are started (and given their input) before the
 * parent waits for any: they run at the same time. Each output is 32 bytes
 * ("Salted__", an 8-byte salt, 16 bytes of ciphertext), so you see ciphertext.
 * The password reaches each child in its environment, never its command line.
 * --bytes stops at 4096: the input is written before anyone reads the
 * output, as the book does, so it must fit in the pipe (README, exercise 2).
 * Compare with pipeline, where a child's output feeds another child directly.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "cli.h"
#include "openssl_procs.h"
#include "pyrepr.h"
#include "subprocess.h"

#define SHOW_LAST 10 /* print(out[-10:]) */

int main(int argc, char **argv)
{
    long children = 3, bytes = 10;
    const struct cli_flag flags[] = {
        {"--children", CLI_INT, &children, 1, 100, "N", "encrypting children in parallel"},
        {"--bytes", CLI_INT, &bytes, 0, 4096, "N", "random bytes given to each child"},
        {0},
    };
    const struct cli cli = {"Pipe random bytes through parallel openssl encryptions.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);

    struct proc *procs = xcalloc((size_t)children, sizeof *procs);
    char *data = xmalloc((size_t)bytes + 1);
    for (long i = 0; i < children; i++) {
        random_bytes(data, (size_t)bytes); /* os.urandom(10) */
        run_encrypt(&procs[i], data, (size_t)bytes);
    }

    char text[PYREPR_BYTES_SIZE(SHOW_LAST)];
    for (long i = 0; i < children; i++) {
        struct proc_bytes out = communicate_checked(&procs[i]);
        size_t n = out.len < SHOW_LAST ? out.len : SHOW_LAST;
        printf("%s\n", pyrepr_bytes(text, sizeof text, out.data + out.len - n, n));
    }
    for (long i = 0; i < children; i++)
        proc_fini(&procs[i]);
    free(data);
    free(procs);
    return 0;
}
