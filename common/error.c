/* error: see error.h. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static struct error *verror(struct error *cause, const char *type, const char *fmt, va_list ap)
{
    struct error *e = xcalloc(1, sizeof *e);
    snprintf(e->type, sizeof e->type, "%s", type);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    e->cause = cause;
    return e;
}

struct error *error_new(const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct error *e = verror(NULL, type, fmt, ap);
    va_end(ap);
    return e;
}

struct error *error_from(struct error *cause, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct error *e = verror(cause, type, fmt, ap);
    va_end(ap);
    return e;
}

struct error *error_copy(const struct error *e)
{
    if (!e)
        return NULL;
    struct error *copy = xmalloc(sizeof *copy);
    *copy = *e;
    copy->cause = error_copy(e->cause);
    return copy;
}

void error_print(FILE *f, const struct error *e)
{
    if (!e)
        return;
    if (e->cause) {
        error_print(f, e->cause);
        fprintf(f, "\nThe above exception was the direct cause of the following exception:\n\n");
    }
    if (e->message[0])
        fprintf(f, "%s: %s\n", e->type, e->message);
    else
        fprintf(f, "%s\n", e->type);
}

void error_free(struct error *e)
{
    while (e) {
        struct error *cause = e->cause;
        free(e);
        e = cause;
    }
}

void error_die(const struct error *e)
{
    fflush(stdout); /* what the program printed comes first, as in Python */
    fprintf(stderr, "%s: ", program_invocation_short_name);
    error_print(stderr, e);
    exit(1);
}
