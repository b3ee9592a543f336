/* pipeline: chains of child processes, like a shell's `enc | dgst`. Each
 * chain encrypts 100 random bytes and hashes the ciphertext; the encrypt
 * child's stdout is the hash child's stdin, with no copy through the parent.
 * Three chains run in parallel.
 *
 *   ./item52/pipeline                b'\xe2j\x98h\xfd\xec\xe7T\xd84'  (3 lines, random)
 *   ./item52/pipeline --sha256       the hash the book's 3rd edition uses
 *   ./item52/pipeline --chains 10 --bytes 4096
 *
 * Look for: the parent never touches the encrypted bytes; it only closes its
 * copy of each encrypt child's stdout (the library does that when it hands
 * the pipe on), so EOF and SIGPIPE travel along the chain. Every child's
 * return code is checked. The book's whirlpool needs OpenSSL 3's legacy
 * provider; without it this falls back to sha256 and says so on stderr.
 * Compare with encrypt (no chain) and with a shell: `openssl enc ... | openssl dgst ...`.
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
    long chains = 3, bytes = 100;
    bool sha256 = false;
    const struct cli_flag flags[] = {
        {"--chains", CLI_INT, &chains, 1, 100, "N", "encrypt | hash chains in parallel"},
        {"--bytes", CLI_INT, &bytes, 0, 4096, "N", "random bytes given to each chain"},
        {"--sha256", CLI_SWITCH, &sha256, 0, 0, NULL, "hash with sha256, not whirlpool"},
        {0},
    };
    const struct cli cli = {"Chain encrypt and hash child processes, in parallel.", flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (sha256)
        hash_use_sha256();

    struct proc *encrypt_procs = xcalloc((size_t)chains, sizeof *encrypt_procs);
    struct proc *hash_procs = xcalloc((size_t)chains, sizeof *hash_procs);
    char *data = xmalloc((size_t)bytes + 1);
    for (long i = 0; i < chains; i++) {
        random_bytes(data, (size_t)bytes); /* os.urandom(100) */
        run_encrypt(&encrypt_procs[i], data, (size_t)bytes);
        run_hash(&hash_procs[i], &encrypt_procs[i]);
    }

    for (long i = 0; i < chains; i++)
        communicate_checked(&encrypt_procs[i]); /* assert proc.returncode == 0 */
    char text[PYREPR_BYTES_SIZE(SHOW_LAST)];
    for (long i = 0; i < chains; i++) {
        struct proc_bytes out = communicate_checked(&hash_procs[i]);
        size_t n = out.len < SHOW_LAST ? out.len : SHOW_LAST;
        printf("%s\n", pyrepr_bytes(text, sizeof text, out.data + out.len - n, n));
    }
    for (long i = 0; i < chains; i++) {
        proc_fini(&encrypt_procs[i]);
        proc_fini(&hash_procs[i]);
    }
    free(data);
    free(encrypt_procs);
    free(hash_procs);
    return 0;
}
