/* cli: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Visit every flag of a table in order, the flags of its CLI_FLAGS entries
 * where they stand; stop at, and return, the first flag visit says yes to. */
static const struct cli_flag *walk(const struct cli_flag *table,
                                   bool (*visit)(const struct cli_flag *f, void *ctx), void *ctx)
{
    for (const struct cli_flag *f = table; f && f->name; f++) {
        const struct cli_flag *found = f->kind == CLI_FLAGS ? walk(f->value, visit, ctx)
                                       : visit(f, ctx)      ? f
                                                            : NULL;
        if (found)
            return found;
    }
    return NULL;
}

struct wanted {
    const char *name;
    size_t len;
};

static bool is_wanted(const struct cli_flag *f, void *ctx)
{
    const struct wanted *w = ctx;
    return strlen(f->name) == w->len && strncmp(f->name, w->name, w->len) == 0;
}

static const struct cli_flag *find_flag(const struct cli *cli, const char *name, size_t len)
{
    return walk(cli->flags, is_wanted, &(struct wanted){name, len});
}

static bool takes_value(const struct cli_flag *f)
{
    return f->kind != CLI_SWITCH && f->kind != CLI_CLEAR;
}

/* What a flag expects, in words: "an integer from 1 to 1024". */
static void expectation(const struct cli_flag *f, char *buf, size_t len)
{
    switch (f->kind) {
    case CLI_INT:
        snprintf(buf, len, "an integer from %.0f to %.0f", f->min, f->max);
        break;
    case CLI_DOUBLE:
        snprintf(buf, len, "a number from %g to %g", f->min, f->max);
        break;
    case CLI_PAIR:
        snprintf(buf, len, "%s with integers from %.0f to %.0f", f->metavar ? f->metavar : "A,B",
                 f->min, f->max);
        break;
    default: /* CLI_STRING: its metavar says what it is ("FILE") */
        snprintf(buf, len, "%s", f->metavar ? f->metavar : "a value");
        break;
    }
}

/* How many characters of s form a plain decimal number (0: none). strtol and
 * strtod also take leading blanks, and strtod hex ("0x10"), "inf" and "nan",
 * none of which a user means here; a number is accepted only when the
 * conversion stops exactly where this count does. */
static size_t plain_decimal(const char *s, bool fraction)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    size_t digits = strspn(p, "0123456789");
    p += digits;
    if (fraction && *p == '.') {
        size_t more = strspn(p + 1, "0123456789");
        digits += more;
        p += 1 + more;
    }
    if (digits == 0)
        return 0;
    if (fraction && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (*q == '-' || *q == '+')
            q++;
        size_t exp = strspn(q, "0123456789");
        if (exp > 0)
            p = q + exp;
    }
    return (size_t)(p - s);
}

/* strtol that accepts only a plain decimal, in-range number; *end is where
 * it stopped, for the caller to check what follows. */
static bool parse_long(const char *s, char **end, long *out, double min, double max)
{
    size_t len = plain_decimal(s, false);
    errno = 0;
    long v = strtol(s, end, 10);
    if (len == 0 || *end != s + len || errno == ERANGE || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_value(const struct cli_flag *f, const char *s)
{
    char *end;
    switch (f->kind) {
    case CLI_INT: {
        long v;
        if (!parse_long(s, &end, &v, f->min, f->max) || *end != '\0')
            return false;
        *(long *)f->value = v;
        return true;
    }
    case CLI_DOUBLE: {
        errno = 0;
        size_t len = plain_decimal(s, true);
        double v = strtod(s, &end);
        if (len == 0 || end != s + len || *end != '\0' || errno == ERANGE || !isfinite(v) ||
            v < f->min || v > f->max)
            return false;
        *(double *)f->value = v;
        return true;
    }
    case CLI_PAIR: {
        struct cli_pair pair;
        if (!parse_long(s, &end, &pair.first, f->min, f->max) || *end != ',')
            return false;
        if (!parse_long(end + 1, &end, &pair.second, f->min, f->max) || *end != '\0')
            return false;
        *(struct cli_pair *)f->value = pair;
        return true;
    }
    case CLI_STRING:
        *(const char **)f->value = s;
        return true;
    default:
        return false;
    }
}

enum cli_status cli_parse(const struct cli *cli, int argc, char **argv, char ***rest, int *nrest,
                          char *errbuf, size_t errlen)
{
    if (rest)
        *rest = NULL;
    if (nrest)
        *nrest = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            if (!cli->rest) {
                if (i + 1 < argc) {
                    snprintf(errbuf, errlen, "unexpected argument '%s'", argv[i + 1]);
                    return CLI_ERROR;
                }
                return CLI_OK;
            }
            if (rest)
                *rest = argv + i + 1;
            if (nrest)
                *nrest = argc - i - 1;
            return CLI_OK;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CLI_HELP;
        if (strncmp(arg, "--help=", 7) == 0) {
            snprintf(errbuf, errlen, "--help: takes no value, got '%s'", arg + 7);
            return CLI_ERROR;
        }
        if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0') {
            snprintf(errbuf, errlen, "unknown flag '%s' (flags start with --)", arg);
            return CLI_ERROR;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(errbuf, errlen, "unexpected argument '%s'", arg);
            return CLI_ERROR;
        }
        const char *eq = strchr(arg, '=');
        size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct cli_flag *f = find_flag(cli, arg, namelen);
        if (!f) {
            snprintf(errbuf, errlen, "unknown flag '%.*s'", (int)namelen, arg);
            return CLI_ERROR;
        }
        if (!takes_value(f)) {
            if (eq) {
                snprintf(errbuf, errlen, "%s: takes no value, got '%s'", f->name, eq + 1);
                return CLI_ERROR;
            }
            *(bool *)f->value = f->kind == CLI_SWITCH;
            continue;
        }
        /* "--threads --gil" means the value was forgotten, not that it is "--gil"
         * (a value that starts with "--" can still be given as --name=--value). */
        const char *value = eq ? eq + 1 : NULL;
        if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            value = argv[++i];
        char expect[96];
        expectation(f, expect, sizeof expect);
        if (!value) {
            snprintf(errbuf, errlen, "%s: missing value (expected %s)", f->name, expect);
            return CLI_ERROR;
        }
        if (!parse_value(f, value)) {
            snprintf(errbuf, errlen, "%s: expected %s, got '%s'", f->name, expect, value);
            return CLI_ERROR;
        }
    }
    return CLI_OK;
}

static bool usage_of(const struct cli_flag *f, void *out)
{
    if (takes_value(f))
        fprintf(out, " [%s %s]", f->name, f->metavar ? f->metavar : "VALUE");
    else
        fprintf(out, " [%s]", f->name);
    return false; /* on to the next */
}

void cli_usage(const struct cli *cli, FILE *out)
{
    fprintf(out, "usage: %s", program_invocation_short_name);
    walk(cli->flags, usage_of, out);
    if (cli->rest)
        fprintf(out, " [%s]", cli->rest);
    fputc('\n', out);
}

/* The range a number must lie in, then its default: ", 1 to 1024 (default 5)".
 * A default outside the range is a "none" the flag cannot be set to (run's
 * --timeout defaults to waiting for ever, which no number means): say so
 * instead of printing a value that would be refused. */
static void print_default(const struct cli_flag *f, FILE *out)
{
    switch (f->kind) {
    case CLI_INT: {
        long v = *(long *)f->value;
        fprintf(out, ", %.0f to %.0f", f->min, f->max);
        if (v >= f->min && v <= f->max)
            fprintf(out, " (default %ld)", v);
        else
            fprintf(out, " (default: none)");
        break;
    }
    case CLI_DOUBLE: {
        double v = *(double *)f->value;
        fprintf(out, ", %.15g to %.15g", f->min, f->max);
        if (v >= f->min && v <= f->max)
            fprintf(out, " (default %g)", v);
        else
            fprintf(out, " (default: none)");
        break;
    }
    case CLI_PAIR: { /* a default below min means "none" (Life's --fail-at -1,-1) */
        const struct cli_pair *pair = f->value;
        fprintf(out, ", each %.0f to %.0f", f->min, f->max);
        if (pair->first >= f->min && pair->second >= f->min)
            fprintf(out, " (default %ld,%ld)", pair->first, pair->second);
        break;
    }
    case CLI_STRING:
        if (*(const char **)f->value)
            fprintf(out, " (default %s)", *(const char **)f->value);
        break;
    default:
        break;
    }
}

static bool help_line(const struct cli_flag *f, void *unused)
{
    (void)unused;
    char left[64];
    if (takes_value(f))
        snprintf(left, sizeof left, "%s %s", f->name, f->metavar ? f->metavar : "VALUE");
    else
        snprintf(left, sizeof left, "%s", f->name);
    if (strlen(left) > 24) /* too wide for the column: the text goes on the next line */
        printf("  %s\n  %-24s %s", left, "", f->help ? f->help : "");
    else
        printf("  %-24s %s", left, f->help ? f->help : "");
    print_default(f, stdout);
    putchar('\n');
    return false;
}

static void help(const struct cli *cli)
{
    cli_usage(cli, stdout);
    if (cli->summary)
        printf("\n%s\n", cli->summary);
    printf("\nflags:\n");
    walk(cli->flags, help_line, NULL);
    printf("  %-24s %s\n", "--help", "show this help and exit");
}

int cli_parse_or_exit(const struct cli *cli, int argc, char **argv, char ***rest)
{
    char err[512];
    int nrest = 0;
    check_stdout_at_exit(); /* every program comes through here */
    switch (cli_parse(cli, argc, argv, rest, &nrest, err, sizeof err)) {
    case CLI_OK:
        return nrest;
    case CLI_HELP:
        help(cli);
        exit(0);
    case CLI_ERROR:
    default:
        fprintf(stderr, "%s: %s\n", program_invocation_short_name, err);
        cli_usage(cli, stderr);
        exit(2);
    }
}

void cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", program_invocation_short_name, msg);
    cli_usage(cli, stderr);
    exit(2);
}
