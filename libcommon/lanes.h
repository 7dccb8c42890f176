/* lanes.h - sums in four fixed lanes.
 *
 * A sum in index order is one chain of adds, each waiting on the last; in
 * four lanes (SSE on any x86-64) it is a quarter as long. The order is
 * spelled out, so every caller, inlined or not and at any width GCC
 * chooses, gets the same bits: lane j adds the products at j, j + 4, ...
 * of the whole vectors, lane 0 also takes what is left, then
 * 0 + lane 0 + lane 1 + lane 2 + lane 3. */
#ifndef REC_LANES_H
#define REC_LANES_H

#include <stddef.h>
#include <string.h>

typedef float rec_v4sf __attribute__((vector_size(16)));

static inline float rec_dot_lanes(const float *a, const float *b, size_t n)
{
	rec_v4sf acc = { 0, 0, 0, 0 };
	size_t d = 0;
	float s0;

	for (; d + 4 <= n; d += 4) {
		rec_v4sf x, y;
		memcpy(&x, a + d, sizeof(x));
		memcpy(&y, b + d, sizeof(y));
		acc += x * y;
	}
	s0 = acc[0];
	for (; d < n; d++)
		s0 += a[d] * b[d];
	return (((0.0f + s0) + acc[1]) + acc[2]) + acc[3];
}

#endif
