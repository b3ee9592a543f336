/* check: see check.h. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static void vreport(const char *fmt, va_list ap, int err)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (err)
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, msg, strerror(err));
    else
        fprintf(stderr, "%s: %s\n", program_invocation_short_name, msg);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap, 0);
    va_end(ap);
    exit(1);
}

void die_errno(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap, err);
    va_end(ap);
    exit(1);
}

void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap, 0);
    va_end(ap);
}

void die_call(const char *call, const char *file, int line, int err)
{
    const char *name = strerrorname_np(err);
    fprintf(stderr, "%s: %s failed at %s:%d: %s (%s)\n", program_invocation_short_name, call, file,
            line, name ? name : "?", strerror(err));
    exit(1);
}

void die_error(const struct error *e)
{
    die("%s: %s", e->type, e->message);
}

static void *check_alloc(void *p, size_t size)
{
    if (p == NULL && size != 0)
        die("out of memory allocating %zu bytes", size);
    return p;
}

void *xmalloc(size_t size)
{
    return check_alloc(malloc(size), size);
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p == NULL && count != 0 && size != 0)
        die("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    return check_alloc(realloc(ptr, size), size);
}

char *xstrdup(const char *s)
{
    return check_alloc(strdup(s), 1);
}
