/* The book's run_encrypt and run_hash, shared by encrypt and pipeline, with
 * the two fixes OpenSSL 3 needs (see README.md):
 *   - enc gets -pbkdf2: without it OpenSSL 3 warns on stderr that the key
 *     derivation is deprecated (twice per child);
 *   - dgst -whirlpool needs the legacy provider; where it does not load, the
 *     hash falls back to -sha256 and says so once on stderr.
 * Every failure here is fatal for the program: one line naming it, exit 1.
 */
#ifndef ITEM52_OPENSSL_PROCS_H
#define ITEM52_OPENSSL_PROCS_H

#include <stddef.h>

#include "subprocess.h"

/* The book's password, given to each child in its environment only. */
#define ENCRYPT_PASSWORD "zf7ShyBhZ0raQDdE/FiZpm/m/8f9X+M1"

/* os.urandom(len). */
void random_bytes(void *buf, size_t len);

/* run_encrypt(data): start `openssl enc -des3 -pbkdf2 -pass env:password`
 * with stdin and stdout pipes, write data to its stdin (not closed yet: the
 * later communicate does that), as the book does. */
void run_encrypt(struct proc *proc, const void *data, size_t len);

/* run_hash(input_stdin): start `openssl dgst <digest> -binary` reading the
 * stdout of `upstream` directly (the parent's copy of that pipe is closed by
 * the library), stdout a pipe. */
void run_hash(struct proc *proc, struct proc *upstream);

/* The digest run_hash uses: whirlpool via the legacy provider when it works
 * here (checked once, by hashing nothing), otherwise sha256 with a note on
 * stderr. --sha256 programs call hash_use_sha256() to skip the check. */
const char *hash_digest_name(void);
void hash_use_sha256(void);

/* communicate(), then the book's `assert proc.returncode == 0`, as one clear
 * error line and exit 1 if it fails. Returns the child's stdout. */
struct proc_bytes communicate_checked(struct proc *proc);

#endif
