/* cli: named command-line flags, the stand-in for argparse.
 *
 * A program declares its flags in a table, points each at the variable that
 * holds its default, and calls cli_parse_or_exit:
 *
 *     long threads = 5;
 *     bool gil = false;
 *     const struct cli_flag flags[] = {
 *         {"--threads", CLI_INT, &threads, 1, 1024, "N", "worker threads"},
 *         {"--gil", CLI_SWITCH, &gil, 0, 0, NULL, "run under the emulated GIL"},
 *         {0},
 *     };
 *     const struct cli cli = {"Show a lost-update race.", flags, NULL};
 *     cli_parse_or_exit(&cli, argc, argv, NULL);
 *
 * Flags that several programs share (Item 55's stages, the Game of Life's
 * variants) form a table of their own, which a program's table includes
 * where it wants them listed, as a group:
 *
 *     const struct cli_flag flags[] = {CLI_FLAGS_OF(own), CLI_FLAGS_OF(shared), {0}};
 *
 * CLI_FLAGS_OF(NULL) includes nothing. Every table ends with a zeroed entry;
 * nothing is copied, so no table size can drop a flag.
 *
 * Flags are `--name value`, `--name=value`, or a bare `--name` for switches.
 * `--help` prints the usage and every flag with its default on stdout, exit 0.
 * A bad flag prints one line naming it, e.g.
 *     race: --threads: expected an integer from 1 to 1024, got 'abc'
 * then the usage line, all on stderr, and exits 2: unknown flags, missing
 * values, non-numbers, trailing junk ('12abc'), overflow and out-of-range
 * values are all caught. Arguments after `--` are handed back when the program
 * declares `rest` (e.g. "-- COMMAND [ARG...]"); otherwise they are an error.
 *
 * cli_parse_or_exit also registers check_stdout_at_exit (common/check), so
 * that every program's lost output is an error. cli_parse is the same parser
 * without the printing and exiting, for tests.
 */
#ifndef COMMON_CLI_H
#define COMMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdnoreturn.h>

enum cli_kind {
    CLI_SWITCH, /* bool *: a bare --name sets it to true */
    CLI_CLEAR,  /* bool *: a bare --name sets it to false (--no-gil) */
    CLI_INT,    /* long *: a whole number from min to max */
    CLI_DOUBLE, /* double *: a number from min to max */
    CLI_STRING, /* const char **: any text */
    CLI_PAIR,   /* struct cli_pair *: "A,B", each a whole number from min to max; the
                   metavar names the two ("Y,X") */
    CLI_FLAGS,  /* const struct cli_flag *: another table, listed here (CLI_FLAGS_OF) */
};

struct cli_pair {
    long first, second;
};

struct cli_flag {
    const char *name; /* "--threads"; a zeroed entry ends the table */
    enum cli_kind kind;
    void *value;         /* where the default lives and the result goes */
    double min, max;     /* bounds for CLI_INT, CLI_DOUBLE, CLI_PAIR */
    const char *metavar; /* "N", "MS", "FILE": shown in the usage */
    const char *help;
};

/* An entry that lists another table's flags (a group) at its place. */
#define CLI_FLAGS_OF(table)                                                                        \
    {                                                                                              \
        "(group)", CLI_FLAGS, (void *)(table), 0, 0, NULL, NULL                                    \
    }

struct cli {
    const char *summary; /* one sentence: what the program shows */
    const struct cli_flag *flags;
    const char *rest; /* usage of the arguments after "--", or NULL for none */
};

enum cli_status { CLI_OK, CLI_HELP, CLI_ERROR };

/* Parse argv[1..argc-1]. On CLI_ERROR, errbuf holds the one-line message
 * (without the program name). *rest and *nrest receive the arguments after
 * "--" when the program declares them (both may be NULL otherwise). */
enum cli_status cli_parse(const struct cli *cli, int argc, char **argv, char ***rest, int *nrest,
                          char *errbuf, size_t errlen);

/* cli_parse, then: on --help print the help to stdout and exit 0; on error
 * print the message and the usage line to stderr and exit 2. Returns the
 * number of arguments after "--" (0 when none or not declared). */
int cli_parse_or_exit(const struct cli *cli, int argc, char **argv, char ***rest);

/* Print "usage: prog [flags]" to f. */
void cli_usage(const struct cli *cli, FILE *f);

/* For checks that span flags (the pattern must fit the grid): print
 * "prog: message", the usage line, and exit 2. */
noreturn void cli_usage_error(const struct cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
