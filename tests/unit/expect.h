/* expect: the few lines every counting unit test shares.
 *
 *   EXPECT(cond)      count a case; on failure print "FAIL file:line: cond"
 *                     on stdout and carry on with the next case
 *   expect_report()   print "N cases, M failed"; returns the exit status
 *                     (0 when nothing failed), for `return expect_report();`
 */
#ifndef TESTS_UNIT_EXPECT_H
#define TESTS_UNIT_EXPECT_H

#include <stdio.h>

static int expect_cases, expect_failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        expect_cases++;                                                                            \
        if (!(cond)) {                                                                             \
            expect_failures++;                                                                     \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
            fflush(stdout);                                                                        \
        }                                                                                          \
    } while (0)

static inline int expect_report(void)
{
    printf("%d cases, %d failed\n", expect_cases, expect_failures);
    return expect_failures ? 1 : 0;
}

#endif
