/* pyrepr: see pyrepr.h. */
#include "pyrepr.h"

#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append text at buf[at]. When it does not fit, return size, so that every
 * later piece is refused too and the output is a clean prefix. */
static size_t put(char *buf, size_t size, size_t at, const char *text)
{
    size_t n = strlen(text);
    if (at + n + 1 > size)
        return size;
    memcpy(buf + at, text, n + 1);
    return at + n;
}

/* What bytes and str share: quote, escape, quote. keep_high keeps bytes from
 * 0x80 up unescaped (a str's UTF-8). */
static size_t quoted(char *buf, size_t size, size_t at, const unsigned char *b, size_t len,
                     bool keep_high)
{
    /* Python picks " only when it saves escaping: a ' inside and no ". */
    char quote = memchr(b, '\'', len) && !memchr(b, '"', len) ? '"' : '\'';
    char piece[8] = {quote, '\0'};
    at = put(buf, size, at, piece);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = b[i];
        if (c == quote || c == '\\')
            snprintf(piece, sizeof piece, "\\%c", c);
        else if (c == '\t')
            strcpy(piece, "\\t");
        else if (c == '\n')
            strcpy(piece, "\\n");
        else if (c == '\r')
            strcpy(piece, "\\r");
        else if (c < ' ' || c == 0x7f || (c > 0x7f && !keep_high))
            snprintf(piece, sizeof piece, "\\x%02x", c);
        else
            snprintf(piece, sizeof piece, "%c", c);
        at = put(buf, size, at, piece);
    }
    piece[0] = quote;
    piece[1] = '\0';
    return put(buf, size, at, piece);
}

char *pyrepr_bytes(char *buf, size_t size, const void *data, size_t len)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    quoted(buf, size, put(buf, size, 0, "b"), data, len, false);
    return buf;
}

char *pyrepr_str(char *buf, size_t size, const char *s)
{
    if (size == 0)
        return buf;
    buf[0] = '\0';
    quoted(buf, size, 0, (const unsigned char *)s, strlen(s), true);
    return buf;
}

char *pyrepr_float(char *buf, size_t size, double x, int digits)
{
    if (digits < 1)
        digits = 1;
    char sci[64];
    snprintf(sci, sizeof sci, "%.*e", digits - 1, x); /* rounded: its exponent is the real one */
    const char *e = strchr(sci, 'e');
    int exponent = e ? atoi(e + 1) : 0;
    /* CPython (format_float_short with ADD_DOT_0): since fixed-point output
     * needs one digit after the point, it switches to an exponent one digit
     * earlier than %g does: 123.456 -> 1.23e+02, where %.3g gives 123. */
    if (!isfinite(x) || exponent < -4 || exponent >= digits - 1) {
        if (!e) {
            snprintf(buf, size, "%s", sci); /* inf, nan */
            return buf;
        }
        /* %g's sci form: the mantissa without trailing zeros (1.00e+03 -> 1e+03). */
        size_t m = (size_t)(e - sci);
        while (m > 1 && sci[m - 1] == '0')
            m--;
        if (m > 1 && sci[m - 1] == '.')
            m--;
        snprintf(buf, size, "%.*s%s", (int)m, sci, e);
        return buf;
    }
    snprintf(buf, size, "%.*g", digits, x); /* fixed-point here, trailing zeros dropped */
    if (!strchr(buf, '.') && strlen(buf) + 3 <= size)
        strcat(buf, ".0"); /* 1.0, not 1 */
    return buf;
}

/* CPython's float_repr_style 'short': the shortest %.*e that reads back as
 * the same double gives the digits; then format_float_short's layout for
 * repr, fixed-point with ".0" added, unless the decimal point lies more than
 * 16 digits right or 4 left of the first digit. */
char *pyrepr_float_repr(char *buf, size_t size, double x)
{
    if (isnan(x) || isinf(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
        return buf;
    }
    char sci[32];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(sci, sizeof sci, "%.*e", precision - 1, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    /* sci is "-d.ddde+XX": split it into sign, digits and exponent. */
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    char digits[24];
    size_t n = 0;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    int point = atoi(p + 1) + 1; /* x = 0.digits * 10^point */
    if (x == 0)
        point = 1;
    /* Lay the number out in text: at most 1 + 24 + 5 characters. */
    char text[40];
    size_t len = 0;
    if (negative)
        text[len++] = '-';
    if (point > 16 || point < -3) {
        text[len++] = digits[0];
        if (n > 1)
            len += (size_t)sprintf(text + len, ".%s", digits + 1);
        sprintf(text + len, "e%c%02d", point - 1 < 0 ? '-' : '+', abs(point - 1));
    } else {
        /* Fixed: digit i stands at decimal position point - 1 - i. */
        int first = point > 0 ? point - 1 : 0; /* highest position printed */
        int last = point - (int)n < 0 ? point - (int)n : 0;
        if (last == 0)
            last = -1; /* always one digit after the point */
        for (int pos = first; pos >= last; pos--) {
            int i = point - 1 - pos;
            text[len++] = i >= 0 && (size_t)i < n ? digits[i] : '0';
            if (pos == 0)
                text[len++] = '.';
        }
        text[len] = '\0';
    }
    snprintf(buf, size, "%s", text);
    return buf;
}

/* Where Linux has two
 * names for one number, Python's enum keeps the first in alphabetical order
 * (SIGABRT, not SIGIOT; SIGIO, not SIGPOLL; SIGCHLD, not SIGCLD), which is
 * why this is a table and not sigabbrev_np (it says POLL for 29). Python
 * knows the real-time signals only by their ends, SIGRTMIN and SIGRTMAX;
 * 32 and 33 are glibc's own, below SIGRTMIN, and have no name at all. */
const char *pyrepr_signal_name(int sig)
{
    static const struct {
        int number;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},       {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
        {SIGILL, "SIGILL"},       {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
        {SIGBUS, "SIGBUS"},       {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
        {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"},     {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
#ifdef SIGSTKFLT
        {SIGSTKFLT, "SIGSTKFLT"},
#endif
        {SIGCHLD, "SIGCHLD"},     {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
        {SIGTSTP, "SIGTSTP"},     {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
        {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
        {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
        {SIGIO, "SIGIO"},
#ifdef SIGPWR
        {SIGPWR, "SIGPWR"},
#endif
        {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].number == sig)
            return names[i].name;
    if (sig == SIGRTMIN)
        return "SIGRTMIN";
    if (sig == SIGRTMAX)
        return "SIGRTMAX";
    return NULL;
}
