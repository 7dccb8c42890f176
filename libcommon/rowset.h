/* rowset.h - the distinct rows of a batch, numbered in the order they first
 * appear. The deep models and batched lr/fm sum a row's gradients over a
 * batch and update each distinct row once. */
#ifndef REC_ROWSET_H
#define REC_ROWSET_H

#include <stddef.h>
#include <stdint.h>

struct rec_rowset {
	uint32_t *row;                 /* the distinct rows, n of them */
	size_t n, cap;
	uint32_t *hrow, *hu, *hgen;   /* row -> its index; hgen[h] == gen: in use */
	uint32_t gen;
	size_t hcap;
};

/* Empties the set for a batch of at most most distinct rows; cap, which
 * callers size their per-row arrays by, may grow. */
void rec_rowset_clear(struct rec_rowset *s, size_t most);
void rec_rowset_free(struct rec_rowset *s);

/* The index of row, added as the next one when new. At most the most
 * rows of the last clear. */
static inline uint32_t rec_rowset_add(struct rec_rowset *s, uint32_t row)
{
	size_t mask = s->hcap - 1, h = (row * UINT32_C(0x9e3779b1)) & mask;

	for (; s->hgen[h] == s->gen; h = (h + 1) & mask)
		if (s->hrow[h] == row)
			return s->hu[h];
	s->hgen[h] = s->gen;
	s->hrow[h] = row;
	s->row[s->n] = row;
	return s->hu[h] = (uint32_t)s->n++;
}

#endif
