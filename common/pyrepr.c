/* pyrepr: see pyrepr.h. */
#include "pyrepr.h"

#include <math.h>
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
