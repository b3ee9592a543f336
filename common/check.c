/* check: see check.h. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* gnulib's close_stdout, without the close: a handler that runs after this
 * one may still print, and stdout must still be there for it. */
static void flush_stdout(void)
{
    bool failed_before = ferror(stdout) != 0;
    errno = 0;
    bool failed_now = fflush(stdout) != 0;
    if (!failed_before && !failed_now)
        return;
    int err = failed_now ? errno : 0; /* an earlier write's errno is long gone */
    if (err)
        fprintf(stderr, "%s: write error: %s\n", program_invocation_short_name, strerror(err));
    else
        fprintf(stderr, "%s: write error\n", program_invocation_short_name);
    _exit(1); /* not exit(): calling it again from an atexit handler is undefined */
}

static void register_flush_stdout(void)
{
    if (atexit(flush_stdout) != 0)
        die("atexit: cannot register the check of stdout");
}

void check_stdout_at_exit(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    CHECK_PT(pthread_once(&once, register_flush_stdout));
}
