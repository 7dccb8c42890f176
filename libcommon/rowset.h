/* rowset.h - the distinct rows of a batch, numbered in the order they first
 * appear. The deep models and batched lr/fm sum a row's gradients over a
 * batch and update each distinct row once. */
#ifndef REC_ROWSET_H
#define REC_ROWSET_H

#include <stddef.h>
#include <stdint.h>

/* A slot of the row -> index table: in use this batch when gen is the
 * set's; the three in one cache line, where three arrays cost a miss each. */
struct rec_rowset_slot {
	uint32_t gen, row, u;
};

struct rec_rowset {
	uint32_t *row;                 /* the distinct rows, n of them */
	size_t n, cap;
	struct rec_rowset_slot *slot;  /* hcap of them, a power of two */
	uint32_t gen;
	size_t hcap;
};

/* Empties the set for a batch of at most most distinct rows; cap, which
 * callers size their per-row arrays by, may grow. */
void rec_rowset_clear(struct rec_rowset *s, size_t most);
void rec_rowset_free(struct rec_rowset *s);

static inline size_t rec_rowset_home(const struct rec_rowset *s, uint32_t row)
{
	return (row * UINT32_C(0x9e3779b1)) & (s->hcap - 1);
}

/* Fetches row's slot ahead of its rec_rowset_add. */
static inline void rec_rowset_prefetch(const struct rec_rowset *s, uint32_t row)
{
	__builtin_prefetch(&s->slot[rec_rowset_home(s, row)]);
}

/* The index of row, added as the next one when new. At most the most
 * rows of the last clear. */
static inline uint32_t rec_rowset_add(struct rec_rowset *s, uint32_t row)
{
	size_t mask = s->hcap - 1, h = rec_rowset_home(s, row);

	for (; s->slot[h].gen == s->gen; h = (h + 1) & mask)
		if (s->slot[h].row == row)
			return s->slot[h].u;
	s->slot[h] = (struct rec_rowset_slot){ s->gen, row, (uint32_t)s->n };
	s->row[s->n] = row;
	return (uint32_t)s->n++;
}

#endif
