/* rowset.c - a batch's distinct rows: an open-addressing table from row to
 * index, emptied between batches by a generation count rather than by
 * clearing it. */
#include "config.h"
#include "rowset.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

void rec_rowset_clear(struct rec_rowset *s, size_t most)
{
	if (most > s->cap) {
		s->cap = most * 2;
		s->row = rec_xrealloc(s->row, s->cap * sizeof(uint32_t));
		/* at least cap slots, cap being twice the rows of the batch that
		 * grew it: that batch fills at most half, and no batch, at most
		 * cap rows, overfills it. A table twice as large spilled from the
		 * L2 cache and made the deep models' dedup a fifth slower. */
		for (s->hcap = 64; s->hcap < s->cap; s->hcap *= 2)
			;
		free(s->slot);
		s->slot = rec_xcalloc(s->hcap, sizeof(*s->slot));
		s->gen = 0;
	}
	s->n = 0;
	if (++s->gen == 0) {
		for (size_t h = 0; h < s->hcap; h++)
			s->slot[h].gen = 0;
		s->gen = 1;
	}
}

void rec_rowset_free(struct rec_rowset *s)
{
	free(s->row);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
