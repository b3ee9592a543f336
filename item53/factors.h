/* factors: the plumbing of factorize, kept out of the lesson's path: the
 * list that collects a number's divisors, the --numbers list, --show's lines,
 * and the check that a threaded run found what the serial run found. */
#ifndef ITEM53_FACTORS_H
#define ITEM53_FACTORS_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

#define MAX_NUMBERS 64
/* Trial division costs one loop turn per unit of the number: 10**10 takes a
 * minute or so a pass, so a run ends in minutes, not hours. */
#define MAX_NUMBER 10000000000.0

/* list(factorize(number)): a growing array of divisors. */
struct factors {
    unsigned long *items;
    size_t count, capacity;
};

void factors_append(struct factors *f, unsigned long divisor);
bool factors_equal(const struct factors *a, const struct factors *b);

/* --show: "2139079: [1, 101, 21179, 2139079]", printed in one piece. */
void factors_print(unsigned long number, const struct factors *f);

/* "2139079,1214759": up to MAX_NUMBERS whole numbers from 1 to MAX_NUMBER
 * into numbers[]; returns how many. Exits 2 (usage error) otherwise. */
size_t parse_numbers(const struct cli *cli, const char *text, unsigned long *numbers);

#endif
