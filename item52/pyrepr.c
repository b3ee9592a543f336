/* pyrepr: see pyrepr.h. */
#include "pyrepr.h"

#include <math.h>
#include <stdio.h>
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

char *pyrepr_bytes(char *buf, size_t size, const void *data, size_t len)
{
    const unsigned char *b = data;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    /* Python picks " only when it saves escaping: a ' inside and no ". */
    char quote = memchr(b, '\'', len) && !memchr(b, '"', len) ? '"' : '\'';
    char piece[8] = {'b', quote, '\0'};
    size_t at = put(buf, size, 0, piece);
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
        else if (c < ' ' || c >= 0x7f)
            snprintf(piece, sizeof piece, "\\x%02x", c);
        else
            snprintf(piece, sizeof piece, "%c", c);
        at = put(buf, size, at, piece);
    }
    piece[0] = quote;
    piece[1] = '\0';
    put(buf, size, at, piece);
    return buf;
}

char *pyrepr_float(char *buf, size_t size, double x, int digits)
{
    snprintf(buf, size, "%.*g", digits, x);
    /* %g drops ".0" (1.0 -> "1"); Python keeps one digit after the point
     * whenever it uses fixed-point notation. */
    if (isfinite(x) && !strpbrk(buf, ".e") && strlen(buf) + 3 <= size)
        strcat(buf, ".0");
    return buf;
}
