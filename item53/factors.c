/* The plumbing of factorize (see factors.h). */
#include "factors.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void factors_append(struct factors *f, unsigned long divisor)
{
    if (f->count == f->capacity) {
        f->capacity = f->capacity ? 2 * f->capacity : 16;
        f->items = xrealloc(f->items, f->capacity * sizeof *f->items);
    }
    f->items[f->count++] = divisor;
}

bool factors_equal(const struct factors *a, const struct factors *b)
{
    return a->count == b->count &&
           (a->count == 0 || memcmp(a->items, b->items, a->count * sizeof *a->items) == 0);
}

void factors_print(unsigned long number, const struct factors *f)
{
    char *line = xmalloc(32 + 22 * f->count);
    int len = sprintf(line, "%lu: [", number);
    for (size_t i = 0; i < f->count; i++)
        len += sprintf(line + len, "%s%lu", i ? ", " : "", f->items[i]);
    printf("%s]\n", line);
    free(line);
}

size_t parse_numbers(const struct cli *cli, const char *text, unsigned long *numbers)
{
    size_t n = 0;
    const char *s = text;
    for (;;) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (!isdigit((unsigned char)*s) || errno || v < 1 || (double)v > MAX_NUMBER ||
            (*end != ',' && *end != '\0') || n == MAX_NUMBERS)
            cli_usage_error(cli,
                            "--numbers: expected up to %d whole numbers from 1 to %.0f, "
                            "separated by commas, got '%s'",
                            MAX_NUMBERS, MAX_NUMBER, text);
        numbers[n++] = v;
        if (*end == '\0')
            return n;
        s = end + 1;
    }
}
