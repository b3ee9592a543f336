/* test_pyrandom: item61-63/pyrandom.c against values CPython 3 prints.
 *
 *   tests/unit/test_pyrandom            run every case
 *   tests/unit/test_pyrandom NAME...    run the named ones (tests/item61-63.bats)
 *
 * tests/unit/expect.h's harness (--list, "ok NAME", "N cases, M failed").
 * The expected values come from
 *   python3 -c 'import random; random.seed(1234); print(random.getrandbits(32))'
 * and the like, quoted beside each case.
 */
#include "expect.h"
#include "pyrandom.h"

/* random.seed(1234); [random.getrandbits(32) for _ in range(5)] */
static void getrandbits_32(void)
{
    static const uint32_t want[] = {4150886329U, 3342196574U, 1892932127U, 501869158U, 32175636U};
    struct pyrandom r;
    pyrandom_seed(&r, 1234);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        EXPECT(pyrandom_getrandbits(&r, 32) == want[i]);
}

/* random.seed(1234); [random.randint(1, 5) for _ in range(12)] */
static void randint_1_5(void)
{
    static const int want[] = {4, 1, 1, 1, 5, 1, 1, 1, 3, 2, 1, 1};
    struct pyrandom r;
    pyrandom_seed(&r, 1234);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        EXPECT(pyrandom_randint(&r, 1, 5) == want[i]);
}

/* random.seed(1234); [random.getrandbits(40) for _ in range(3)],
 * [random.getrandbits(64) for _ in range(2)], random.randint(-10**9, 10**9),
 * random.randint(0, 2**40): more than one word per draw, negative bounds. */
static void getrandbits_wide(void)
{
    struct pyrandom r;
    pyrandom_seed(&r, 1234);
    EXPECT(pyrandom_getrandbits(&r, 40) == UINT64_C(858849378233));
    EXPECT(pyrandom_getrandbits(&r, 40) == UINT64_C(126446983711));
    EXPECT(pyrandom_getrandbits(&r, 40) == UINT64_C(98816423444));
    EXPECT(pyrandom_getrandbits(&r, 64) == UINT64_C(17386697504169769072));
    EXPECT(pyrandom_getrandbits(&r, 64) == UINT64_C(14886566920684039889));
    EXPECT(pyrandom_randint(&r, -1000000000, 1000000000) == 250324204);
    EXPECT(pyrandom_randint(&r, 0, INT64_C(1) << 40) == INT64_C(183365414236));
}

/* random.seed(0) and random.seed(2**32 - 1): getrandbits(32) */
static void other_seeds(void)
{
    struct pyrandom r;
    pyrandom_seed(&r, 0);
    EXPECT(pyrandom_getrandbits(&r, 32) == 3626764237U);
    pyrandom_seed(&r, 4294967295U);
    EXPECT(pyrandom_getrandbits(&r, 32) == 2728839433U);
}

/* random.seed(1234); random.randint(7, 7); random.getrandbits(32): a range
 * of one still draws, getrandbits(1) until it is 0 (three words here, so the
 * next 32 bits are the fourth word, 501869158); getrandbits(0) draws nothing. */
static void edges(void)
{
    struct pyrandom r;
    pyrandom_seed(&r, 1234);
    EXPECT(pyrandom_randint(&r, 7, 7) == 7);
    EXPECT(pyrandom_getrandbits(&r, 0) == 0);
    EXPECT(pyrandom_getrandbits(&r, 32) == 501869158U);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(getrandbits_32), EXPECT_CASE(randint_1_5), EXPECT_CASE(getrandbits_wide),
    EXPECT_CASE(other_seeds),    EXPECT_CASE(edges),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
