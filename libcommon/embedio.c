/* embedio.c - embedding tables in and out of model files. */
#include "config.h"
#include "embed.h"
#include "err.h"
#include "model.h"


/* The table's columns for rec_model_add_filled, rows r0 .. r0+n-1. */
static void fill_ids(const void *e, size_t r0, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++)
		((uint64_t *)out)[i] = rec_embed_id(e, (uint32_t)(r0 + i));
}

static void fill_rows(const void *e, size_t r0, size_t n, void *out)
{
	size_t dim = rec_embed_opts(e)->dim;

	for (size_t i = 0; i < n; i++)
		rec_embed_read(e, (uint32_t)(r0 + i), (float *)out + i * dim);
}

static void fill_state(const void *e, size_t r0, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++)
		((float *)out)[i] = rec_embed_state(e, (uint32_t)(r0 + i));
}

int rec_embed_save(const struct rec_embed *e, struct rec_model_writer *w)
{
	size_t n = rec_embed_rows(e), dim = rec_embed_opts(e)->dim;

	if (rec_model_add_filled(w, "embd.ids", "u64", (size_t[]){ n }, 1, fill_ids, e) < 0 ||
	    rec_model_add_filled(w, "embd.rows", "f32", (size_t[]){ n, dim }, 2, fill_rows, e) < 0 ||
	    rec_model_add_filled(w, "embd.state", "f32", (size_t[]){ n }, 1, fill_state, e) < 0)
		return -1;
	return 0;
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
