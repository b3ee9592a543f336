/* expect: the one harness of the unit tests in tests/unit/.
 *
 * A test program is a table of cases, each a `static void NAME(void)`, and a
 * main that hands the table over:
 *
 *     static const struct expect_case cases[] = {EXPECT_CASE(fifo), EXPECT_CASE(join)};
 *     int main(int argc, char **argv) { return EXPECT_MAIN(argc, argv, cases); }
 *
 *   prog               run every case, in the table's order
 *   prog NAME...       run only those, in the order given; a name that is not in
 *                      the table is one line on stderr and exit 2, before any case runs
 *   prog --list        the case names, one a line
 *
 * On stdout: "FAIL file:line: cond" for every failed check, then "ok NAME" after
 * a case whose checks all held ("not ok NAME" after one that failed), and last
 * "N cases, M failed". The exit status is 0 only when no case failed.
 *
 *   EXPECT(cond)           a check: on failure the case fails and carries on, so the
 *                          checks after it still report
 *   REQUIRE(cond)          a check that the rest of the case cannot do without (a
 *                          child that must have started, a buffer that must exist):
 *                          on failure the program stops there, counting the case as
 *                          failed (the summary line is still printed), exit 1
 *   EXPECT_FAILF(fmt, ...) a failure with a message of its own, for a check whose
 *                          values say more than its text ("exit 3 came back as 4")
 *   expect_on_failure(fn)  fn runs once a case has failed, before the program goes
 *                          on or stops (test_subprocess kills its children there)
 *
 * Checks may run on any thread of the case. A program with modes that are not
 * cases (a demo that prints what it parsed, a call that must die) handles them
 * in its main before EXPECT_MAIN.
 */
#ifndef TESTS_UNIT_EXPECT_H
#define TESTS_UNIT_EXPECT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>

struct expect_case {
    const char *name;
    void (*run)(void);
};

#define EXPECT_CASE(fn)                                                                            \
    {                                                                                              \
#fn, fn                                                                                    \
    }
#define EXPECT_MAIN(argc, argv, cases)                                                             \
    expect_main((argc), (argv), (cases), sizeof(cases) / sizeof(cases)[0])

static atomic_int expect_case_failed; /* checks failed in the running case */
static int expect_cases_run, expect_cases_failed;
static void (*expect_failure_hook)(void);

static inline void expect_on_failure(void (*fn)(void))
{
    expect_failure_hook = fn;
}

__attribute__((format(printf, 3, 4))) static inline void expect_fail(const char *file, int line,
                                                                     const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    atomic_fetch_add(&expect_case_failed, 1);
    printf("FAIL %s:%d: %s\n", file, line, message); /* one printf: whole even from threads */
    fflush(stdout);
}

static inline void expect_summary(void)
{
    printf("%d cases, %d failed\n", expect_cases_run, expect_cases_failed);
    fflush(stdout);
}

/* A REQUIRE failed: the case cannot go on, and neither can the program. */
static inline noreturn void expect_stop(void)
{
    if (expect_failure_hook)
        expect_failure_hook();
    expect_cases_failed++;
    expect_summary();
    exit(1);
}

#define EXPECT_FAILF(...) expect_fail(__FILE__, __LINE__, __VA_ARGS__)

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            EXPECT_FAILF("%s", #cond);                                                             \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            EXPECT_FAILF("%s", #cond);                                                             \
            expect_stop();                                                                         \
        }                                                                                          \
    } while (0)

static inline const struct expect_case *expect_find(const struct expect_case *cases, size_t n,
                                                    const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

static inline void expect_run(const struct expect_case *c)
{
    atomic_store(&expect_case_failed, 0);
    expect_cases_run++;
    c->run();
    if (atomic_load(&expect_case_failed) == 0) {
        printf("ok %s\n", c->name);
    } else {
        expect_cases_failed++;
        printf("not ok %s\n", c->name);
        if (expect_failure_hook)
            expect_failure_hook();
    }
    fflush(stdout); /* before the next case forks: a child must not print it again */
}

static inline int expect_main(int argc, char **argv, const struct expect_case *cases, size_t n)
{
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
    for (int a = 1; a < argc; a++)
        if (!expect_find(cases, n, argv[a])) {
            fprintf(stderr, "%s: no case named '%s' (--list shows the cases)\n", prog, argv[a]);
            return 2;
        }
    if (argc < 2)
        for (size_t i = 0; i < n; i++)
            expect_run(&cases[i]);
    for (int a = 1; a < argc; a++)
        expect_run(expect_find(cases, n, argv[a]));
    expect_summary();
    return expect_cases_failed ? 1 : 0;
}

#endif
