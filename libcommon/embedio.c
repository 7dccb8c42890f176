/* embedio.c - embedding tables in and out of model files. */
#include "config.h"
#include "embed.h"
#include "err.h"
#include "model.h"

#include <stdlib.h>

int rec_embed_save(const struct rec_embed *e, struct rec_model_writer *w, struct rec_embed_dump *d)
{
	size_t n = rec_embed_rows(e), dim = rec_embed_opts(e)->dim;

	/* 2 MiB pages: a page fault each 4 KiB costs more than the copy on a VM */
	d->ids = rec_xmalloc_huge((n + 1) * sizeof(uint64_t));
	d->rows = rec_xmalloc_huge((n * dim + 1) * sizeof(float));
	d->state = rec_xmalloc_huge((n + 1) * sizeof(float));
	for (uint32_t r = 0; r < n; r++) {
		d->ids[r] = rec_embed_id(e, r);
		d->state[r] = rec_embed_state(e, r);
		rec_embed_read(e, r, d->rows + (size_t)r * dim);
	}
	if (rec_model_add(w, "embd.ids", "u64", (size_t[]){ n }, 1, d->ids) < 0 ||
	    rec_model_add(w, "embd.rows", "f32", (size_t[]){ n, dim }, 2, d->rows) < 0 ||
	    rec_model_add(w, "embd.state", "f32", (size_t[]){ n }, 1, d->state) < 0)
		return -1;
	return 0;
}

void rec_embed_dump_free(struct rec_embed_dump *d)
{
	free(d->ids);
	free(d->rows);
	free(d->state);
}

int rec_embed_load(struct rec_embed *e, const struct rec_model *mf)
{
	const struct rec_tensor *t = rec_model_tensor(mf, "embd.ids");
	size_t n = t ? t->bytes / 8 : 0, dim = rec_embed_opts(e)->dim;
	const uint64_t *ids = rec_model_expect(mf, "embd.ids", "u64", n);
	const float *rows = ids ? rec_model_expect(mf, "embd.rows", "f32", n * dim) : NULL;
	const float *state = rows ? rec_model_expect(mf, "embd.state", "f32", n) : NULL;

	if (!state)
		return -1;
	for (size_t r = 0; r < n; r++) {
		uint32_t row = rec_embed_find(e, ids[r], 1);
		if (row != r)
			return rec_error("'%s': embedding ID %llu appears twice", mf->name,
					 (unsigned long long)ids[r]);
		rec_embed_write(e, row, rows + r * dim);
		rec_embed_set_state(e, row, state[r]);
	}
	return 0;
}
