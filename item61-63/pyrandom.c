/* pyrandom: CPython's random.seed, getrandbits and randint (see pyrandom.h).
 * The generator follows mt19937ar.c line by line, with its names. */
#include "pyrandom.h"

#include <assert.h>

#define M 397
#define MATRIX_A 0x9908b0dfU
#define UPPER_MASK 0x80000000U
#define LOWER_MASK 0x7fffffffU

static void init_genrand(struct pyrandom *r, uint32_t s)
{
    r->mt[0] = s;
    for (int i = 1; i < PYRANDOM_N; i++)
        r->mt[i] = 1812433253U * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = PYRANDOM_N;
}

static void init_by_array(struct pyrandom *r, const uint32_t *key, int key_length)
{
    init_genrand(r, 19650218U);
    int i = 1, j = 0;
    for (int k = PYRANDOM_N > key_length ? PYRANDOM_N : key_length; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525U)) + key[j] +
                   (uint32_t)j; /* non linear */
        i++;
        j++;
        if (i >= PYRANDOM_N) {
            r->mt[0] = r->mt[PYRANDOM_N - 1];
            i = 1;
        }
        if (j >= key_length)
            j = 0;
    }
    for (int k = PYRANDOM_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941U)) -
                   (uint32_t)i; /* non linear */
        i++;
        if (i >= PYRANDOM_N) {
            r->mt[0] = r->mt[PYRANDOM_N - 1];
            i = 1;
        }
    }
    r->mt[0] = 0x80000000U; /* MSB is 1, assuring a non-zero initial array */
}

/* random.seed(n) for a non-negative n below 2**32: the key is the one word n
 * (CPython drops leading zero words, but keeps one word for n = 0). */
void pyrandom_seed(struct pyrandom *r, uint32_t seed)
{
    init_by_array(r, &seed, 1);
}

uint32_t pyrandom_genrand_uint32(struct pyrandom *r)
{
    static const uint32_t mag01[2] = {0, MATRIX_A};
    uint32_t y;
    if (r->mti >= PYRANDOM_N) { /* generate N words at one time */
        int kk;
        for (kk = 0; kk < PYRANDOM_N - M; kk++) {
            y = (r->mt[kk] & UPPER_MASK) | (r->mt[kk + 1] & LOWER_MASK);
            r->mt[kk] = r->mt[kk + M] ^ (y >> 1) ^ mag01[y & 1];
        }
        for (; kk < PYRANDOM_N - 1; kk++) {
            y = (r->mt[kk] & UPPER_MASK) | (r->mt[kk + 1] & LOWER_MASK);
            r->mt[kk] = r->mt[kk + (M - PYRANDOM_N)] ^ (y >> 1) ^ mag01[y & 1];
        }
        y = (r->mt[PYRANDOM_N - 1] & UPPER_MASK) | (r->mt[0] & LOWER_MASK);
        r->mt[PYRANDOM_N - 1] = r->mt[M - 1] ^ (y >> 1) ^ mag01[y & 1];
        r->mti = 0;
    }
    y = r->mt[r->mti++];
    /* Tempering */
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

/* _random_Random_getrandbits_impl: up to 32 bits come from the top of one
 * word; beyond that, whole words fill the result from the low end and the
 * last word gives its top bits. */
uint64_t pyrandom_getrandbits(struct pyrandom *r, int k)
{
    assert(k >= 0 && k <= 64);
    if (k == 0)
        return 0;
    if (k <= 32)
        return pyrandom_genrand_uint32(r) >> (32 - k);
    uint64_t low = pyrandom_genrand_uint32(r);
    uint64_t high = pyrandom_genrand_uint32(r) >> (64 - k);
    return high << 32 | low;
}

static int bit_length(uint64_t n)
{
    int k = 0;
    for (; n; n >>= 1)
        k++;
    return k;
}

/* Random._randbelow_with_getrandbits: k = n.bit_length(), not that of n - 1,
 * so a power of two rejects about half its draws, as CPython does. */
static uint64_t randbelow(struct pyrandom *r, uint64_t n)
{
    int k = bit_length(n);
    uint64_t x = pyrandom_getrandbits(r, k);
    while (x >= n)
        x = pyrandom_getrandbits(r, k);
    return x;
}

int64_t pyrandom_randint(struct pyrandom *r, int64_t a, int64_t b)
{
    assert(a <= b && (uint64_t)b - (uint64_t)a < UINT64_C(1) << 63);
    return a + (int64_t)randbelow(r, (uint64_t)b - (uint64_t)a + 1);
}
