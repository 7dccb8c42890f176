/* hll.c - HyperLogLog (Flajolet, Fusy, Gandouet, Meunier 2007) with one-byte
 * registers and 64-bit hashes.
 *
 * The top p bits of a hash pick a register; the register keeps the largest
 * rank (leading zeros + 1) seen among the remaining 64 - p bits. The raw
 * estimate is alpha_m m^2 / sum 2^-M[j]; below 5m/2, while some registers
 * are still zero, linear counting m ln(m / V) takes over. With 64-bit hashes
 * no large-range correction is needed. */
#include "config.h"
#include "hll.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>

struct rec_hll {
	unsigned p;
	size_t m;
	uint8_t reg[];
};

struct rec_hll *rec_hll_new(unsigned precision)
{
	struct rec_hll *h;
	size_t m;

	if (precision < 4 || precision > 18) {
		rec_error("hyperloglog precision %u out of range (4 to 18)", precision);
		return NULL;
	}
	m = (size_t)1 << precision;
	h = rec_xcalloc(1, sizeof(*h) + m);
	h->p = precision;
	h->m = m;
	return h;
}

void rec_hll_free(struct rec_hll *h)
{
	free(h);
}

void rec_hll_add(struct rec_hll *h, uint64_t hash)
{
	size_t j = (size_t)(hash >> (64 - h->p));
	uint64_t w = hash << h->p;
	/* A zero remainder ranks as if its first one bit came right after it. */
	uint8_t rank = w ? (uint8_t)(__builtin_clzll(w) + 1) : (uint8_t)(64 - h->p + 1);

	if (rank > h->reg[j])
		h->reg[j] = rank;
}

static double alpha(size_t m)
{
	switch (m) {
	case 16:
		return 0.673;
	case 32:
		return 0.697;
	case 64:
		return 0.709;
	default:
		return 0.7213 / (1.0 + 1.079 / (double)m);
	}
}

double rec_hll_estimate(const struct rec_hll *h)
{
	double m = (double)h->m, sum = 0, e;
	size_t zeros = 0;

	for (size_t j = 0; j < h->m; j++) {
		sum += ldexp(1.0, -(int)h->reg[j]);
		zeros += h->reg[j] == 0;
	}
	e = alpha(h->m) * m * m / sum;
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / (double)zeros);
	return e;
}
