/* rng.h - splitmix64: the one small generator of the library (seeds,
 * samplers, initial weights) and its finalizer, a bijective mixer that
 * spreads small or folded IDs over all 64 bits. */
#ifndef REC_RNG_H
#define REC_RNG_H

#include <stdint.h>

static inline uint64_t rec_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The next number of the sequence whose state is *s. */
static inline uint64_t rec_splitmix64(uint64_t *s)
{
	return rec_mix64(*s += UINT64_C(0x9e3779b97f4a7c15));
}

#endif
