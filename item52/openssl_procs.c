/* run_encrypt, run_hash: see openssl_procs.h. */
#include "openssl_procs.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "check.h"
#include "children.h"

void random_bytes(void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die_errno("getrandom");
        p += n;
        len -= (size_t)n;
    }
}

/* proc_start, with "openssl is missing" told apart from other failures. A
 * failure ends the children started so far (children.h) before exiting. */
static void start_openssl(struct proc *proc, char *const argv[], const struct proc_options *opts,
                          bool track)
{
    struct error *e = proc_start(proc, argv, opts);
    if (!e) {
        if (track) /* not the whirlpool probe, which lives on the stack and is reaped at once */
            children_track(proc);
        return;
    }
    if (strcmp(e->type, "FileNotFoundError") == 0)
        children_die("openssl is not installed (%s: %s); on Debian: apt-get install openssl",
                     e->type, e->message);
    children_die_error(e);
}

void run_encrypt(struct proc *proc, const void *data, size_t len)
{
    /* env = os.environ.copy(); env['password'] = ...: the password never
     * appears on a command line, where `ps` would show it. */
    char **env = proc_environ_with((const char *[]){"password=" ENCRYPT_PASSWORD, NULL});
    if (!env)
        die("out of memory copying the environment");
    /* -pbkdf2: departs from the book, which OpenSSL 3 warns about (README). */
    char *argv[] = {"openssl", "enc", "-des3", "-pbkdf2", "-pass", "env:password", NULL};
    start_openssl(proc, argv,
                  &(struct proc_options){.env = env, .in = PROC_PIPE_IO, .out = PROC_PIPE_IO},
                  true);
    proc_environ_free(env); /* the child has its own copy since exec */
    struct error *e = proc_write(proc, data, len);
    if (e)
        children_die("writing to %s: %s: %s", proc->args, e->type, e->message);
}

static enum { DIGEST_UNKNOWN, DIGEST_WHIRLPOOL, DIGEST_SHA256 } digest;

/* The book's `-whirlpool` moved to OpenSSL 3's legacy provider. */
static char *whirlpool_argv[] = {"openssl",   "dgst",    "-whirlpool", "-provider", "legacy",
                                 "-provider", "default", "-binary",    NULL};
static char *sha256_argv[] = {"openssl", "dgst", "-sha256", "-binary", NULL};

/* Hash nothing with whirlpool: does this OpenSSL have it? */
static bool whirlpool_works(void)
{
    struct proc probe;
    start_openssl(
        &probe, whirlpool_argv,
        &(struct proc_options){.in = PROC_DEVNULL_IO, .out = PROC_PIPE_IO, .err = PROC_PIPE_IO},
        false);
    struct proc_bytes out;
    struct error *e = proc_communicate(&probe, NULL, 0, PROC_FOREVER, &out, NULL);
    bool works = !e && probe.returncode == 0 && out.len == 64; /* 512-bit digest */
    error_free(e);
    proc_fini(&probe);
    return works;
}

const char *hash_digest_name(void)
{
    if (digest == DIGEST_UNKNOWN) {
        digest = whirlpool_works() ? DIGEST_WHIRLPOOL : DIGEST_SHA256;
        if (digest == DIGEST_SHA256)
            warn("note: openssl has no whirlpool here (legacy provider not loaded); "
                 "using -sha256 instead");
    }
    return digest == DIGEST_WHIRLPOOL ? "whirlpool" : "sha256";
}

void hash_use_sha256(void)
{
    digest = DIGEST_SHA256;
}

void run_hash(struct proc *proc, struct proc *upstream)
{
    hash_digest_name();
    char **argv = digest == DIGEST_WHIRLPOOL ? whirlpool_argv : sha256_argv;
    start_openssl(proc, argv,
                  &(struct proc_options){.in = PROC_STDOUT_OF(upstream), .out = PROC_PIPE_IO},
                  true);
}

struct proc_bytes communicate_checked(struct proc *proc)
{
    struct proc_bytes out;
    struct error *e = proc_communicate(proc, NULL, 0, PROC_FOREVER, &out, NULL);
    if (e)
        children_die_error(e);
    struct proc_result result = {.args = proc->args, .returncode = proc->returncode};
    e = proc_check_returncode(&result);
    if (e)
        children_die_error(e);
    return out;
}
