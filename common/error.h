/* error: Python's exceptions as values.
 *
 * Where Python raises, the C code returns a struct error *: a type name
 * ("OSError"), a message ("Problem with I/O"), and optionally the error that
 * caused it (Python's `raise X from cause`). NULL means success.
 *
 *   error_new("OSError", "Problem with I/O")      malloc'd; never NULL
 *   error_from(cause, "SimulationError", "(0, 0)")  wraps cause (takes it over)
 *   error_print(stderr, e)   prints the chain the way Python does: the cause
 *                            first, then "The above exception was the direct
 *                            cause of the following exception:", then e;
 *                            each as "Type: message"
 *   error_die(e)             an error nobody handled: prints the chain as
 *                            error_print does, the first line after "prog: ",
 *                            and exits 1 (Python's uncaught exception)
 *   error_free(e)            frees e and its causes
 *
 * error is above check (it allocates through xcalloc); check knows nothing of
 * it.
 */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

#include <stdio.h>
#include <stdnoreturn.h>

struct error {
    char type[48];
    char message[208];
    struct error *cause;
};

struct error *error_new(const char *type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct error *error_from(struct error *cause, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct error *error_copy(const struct error *e);
void error_print(FILE *f, const struct error *e);
void error_free(struct error *e);
noreturn void error_die(const struct error *e);

#endif
