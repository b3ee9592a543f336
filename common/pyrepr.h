/* pyrepr: Python's repr() and format() for the values the workbook prints,
 * and the names Python gives signals, so that the C output and messages read
 * the same as the book's.
 *
 *   pyrepr_bytes(buf, size, data, len)   print(b): b'\x8c\xed\xc7m1\xf0F4\xe6'
 *   pyrepr_str(buf, size, s)             repr(s): 'sleep', "it's" (subprocess's
 *                                        "Command '['sleep', '10']' timed out")
 *   pyrepr_float(buf, size, x, digits)   f'{x:.3}': 1.01, 1.0, 10.0, 1.23e+03
 *   pyrepr_float_repr(buf, size, x)      repr(x): 3.0, 0.30000000000000004, 1e-05
 *                                        (subprocess's "timed out after 3.0 seconds")
 *   pyrepr_signal_name(sig)              signal.Signals(sig).name: "SIGIO" for 29
 *                                        (subprocess's "died with <Signals.SIGIO: 29>.",
 *                                        futures' "killed by SIGIO")
 *
 * The first four write a '\0'-terminated string into buf and return buf; the
 * output is cut short (still terminated) if buf is too small. PYREPR_BYTES_SIZE(n)
 * and PYREPR_STR_SIZE(n) are always big enough for n bytes.
 */
#ifndef COMMON_PYREPR_H
#define COMMON_PYREPR_H

#include <stddef.h>

#define PYREPR_BYTES_SIZE(n) (4 * (n) + 4) /* b, 2 quotes, '\0', 4 per byte at most */
#define PYREPR_STR_SIZE(n) (4 * (n) + 3)   /* 2 quotes, '\0', 4 per byte at most */

/* CPython's bytes repr: quoted with ' unless the bytes hold a ' and no ",
 * then with "; the quote in use and \ are escaped with \; tab, newline and
 * carriage return as \t \n \r; other bytes below 0x20 or from 0x7f up as
 * \xNN (lower-case hex); printable ASCII as itself. */
char *pyrepr_bytes(char *buf, size_t size, const void *data, size_t len);

/* A str's repr, the same rules for the characters below 0x80; bytes from 0x80
 * up are kept as they are (UTF-8 text stays readable), as Python shows
 * printable non-ASCII characters. */
char *pyrepr_str(char *buf, size_t size, const char *s);

/* f'{x:.N}' (a float with a precision and no presentation type): like %.Ng,
 * but fixed-point output keeps one digit after the point (1.0, 10.0), and
 * the exponent form starts one digit earlier (123.456 -> 1.23e+02). */
char *pyrepr_float(char *buf, size_t size, double x, int digits);

/* repr(x), also str(x) and "%s" % x: the shortest digits that read back as
 * the same double, fixed-point with at least one digit after the point
 * (3.0, 0.30000000000000004, 1000000000000000.0), or in exponent form when
 * the decimal point lies more than 16 places right or 4 places left of the
 * first digit (1e+16, 1e-05). %g is not it: it prints 3 and 0.3. */
char *pyrepr_float_repr(char *buf, size_t size, double x);

/* The name Python's signal.Signals gives a signal number, a static string, or
 * NULL where Python has none (signal.Signals(n) raises ValueError). Not
 * glibc's sigabbrev_np: where Linux has two names for one number, Python's
 * differs (SIGIO, where sigabbrev_np says POLL for 29). */
const char *pyrepr_signal_name(int sig);

#endif
