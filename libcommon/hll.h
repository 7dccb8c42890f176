/* hll.h - HyperLogLog distinct counting (rec-cat --stats). */
#ifndef REC_HLL_H
#define REC_HLL_H

#include <stddef.h>
#include <stdint.h>

struct rec_hll;

/* 2^precision registers, precision 4..18 (14: 16 KiB, about 0.8% error). */
struct rec_hll *rec_hll_new(unsigned precision);
void rec_hll_free(struct rec_hll *h);
/* Adds one item given by a well-mixed 64-bit hash. */
void rec_hll_add(struct rec_hll *h, uint64_t hash);
/* The estimated number of distinct items added. */
double rec_hll_estimate(const struct rec_hll *h);

#endif
