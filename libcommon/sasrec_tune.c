/* sasrec_tune.c - fine-tuning: a pre-trained SASRec model carried over to
 * a vocabulary that grew with the items of the new sequences. */
#include "config.h"
#include "sasrec.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* pre's items, then those of ids it lacks; *count gets how many. */
static uint64_t *grown_vocabulary(const struct rec_sasrec *pre, const uint64_t *ids, size_t n, size_t *count)
{
	size_t known = pre->nitems - 1;
	uint64_t *all = rec_xmalloc((known + n + 1) * sizeof(uint64_t));

	memcpy(all, pre->item_id + 1, known * sizeof(uint64_t));
	*count = known;
	for (size_t i = 0; i < n; i++)
		if (!rec_sasrec_find(pre, ids[i]))
			all[(*count)++] = ids[i];
	return all;
}

struct rec_sasrec *rec_sasrec_extend(const struct rec_sasrec *pre, const struct rec_sasrec_opts *o,
				     const uint64_t *ids, size_t n, size_t *added)
{
	struct rec_sasrec_opts x = *o;
	struct rec_sasrec *m;
	size_t count;
	uint64_t *all = grown_vocabulary(pre, ids, n, &count);

	x.dim = pre->o.dim;
	x.heads = pre->o.heads;
	x.blocks = pre->o.blocks;
	x.max_len = pre->o.max_len;
	x.ffn = pre->o.ffn;
	x.act = pre->o.act;
	memcpy(x.item_field, pre->o.item_field, sizeof(x.item_field));
	m = rec_sasrec_new(pre->schema, &x, all, count);
	free(all);
	if (!m)
		return NULL;
	/* the same layout but for the item table's length: the pre-trained
	 * rows first, every other tensor whole */
	for (size_t i = 0; i < m->ntensor; i++) {
		const struct rec_sasrec_tensor *t = &m->tensor[i], *p = &pre->tensor[i];
		memcpy(m->param + t->off, pre->param + p->off, p->rows * p->cols * sizeof(float));
	}
	*added = count - (pre->nitems - 1);
	return m;
}
