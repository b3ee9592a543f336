/* pyrandom: CPython's `random` module, bit for bit, for the calls the
 * guessing game makes (Item 61), so the C servers guess what the book's do.
 *
 *   Python                        C
 *   ----------------------------  ------------------------------------
 *   random.seed(1234)             pyrandom_seed(&r, 1234)
 *   random.getrandbits(k)         pyrandom_getrandbits(&r, k)   (0 <= k <= 64)
 *   random.randint(a, b)          pyrandom_randint(&r, a, b)    (a <= b)
 *
 * The generator is MT19937 (Matsumoto and Nishimura's mt19937ar.c, which
 * CPython's Modules/_randommodule.c embeds). seed(n) for an int n feeds the
 * 32-bit words of |n|, least significant first, to init_by_array: for 1234
 * that is the one-word key {1234}. getrandbits(k) for k <= 32 is the top k
 * bits of one 32-bit output; for more bits, the words fill the result from
 * its least significant end. randint(a, b) is randrange(a, b + 1), that is
 * a + _randbelow(n) with n = b - a + 1, where _randbelow draws
 * getrandbits(n.bit_length()) until the draw is below n (rejection).
 *
 * Not thread-safe: one generator per thread, or a lock around it (CPython's
 * GIL made each getrandbits call atomic).
 */
#ifndef ITEM61_PYRANDOM_H
#define ITEM61_PYRANDOM_H

#include <stdint.h>

#define PYRANDOM_N 624

struct pyrandom {
    uint32_t mt[PYRANDOM_N];
    int mti;
};

void pyrandom_seed(struct pyrandom *r, uint32_t seed);
uint32_t pyrandom_genrand_uint32(struct pyrandom *r);
uint64_t pyrandom_getrandbits(struct pyrandom *r, int k);
/* b - a must be below 2**63. */
int64_t pyrandom_randint(struct pyrandom *r, int64_t a, int64_t b);

#endif
