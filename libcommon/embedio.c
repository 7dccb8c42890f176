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

/* Where a loaded table's columns go. */
struct load {
	struct rec_embed *e;
	const char *name;      /* the model file */
	size_t dim;
};

static int take_ids(void *ctx, size_t r0, size_t n, const void *p)
{
	struct load *l = ctx;

	for (size_t i = 0; i < n; i++) {
		uint64_t id = ((const uint64_t *)p)[i];
		if (rec_embed_find(l->e, id, 1) != r0 + i)
			return rec_error("'%s': embedding ID %llu appears twice", l->name, (unsigned long long)id);
	}
	return 0;
}

static int take_rows(void *ctx, size_t r0, size_t n, const void *p)
{
	struct load *l = ctx;

	for (size_t i = 0; i < n; i++)
		rec_embed_write(l->e, (uint32_t)(r0 + i), (const float *)p + i * l->dim);
	return 0;
}

static int take_state(void *ctx, size_t r0, size_t n, const void *p)
{
	struct load *l = ctx;

	for (size_t i = 0; i < n; i++)
		rec_embed_set_state(l->e, (uint32_t)(r0 + i), ((const float *)p)[i]);
	return 0;
}

/* Tensor name (count x dtype, declared) into the table: streamed when it
 * comes next in a lazy model and holds a row of the table per element of
 * its first dimension, else from memory. */
static int fill_from(const struct rec_model *mf, const char *name, const char *dtype, size_t count,
		     int (*take)(void *, size_t, size_t, const void *), struct load *l, size_t n)
{
	const void *data;
	int rc = rec_model_tensor(mf, name)->shape[0] == n ? rec_model_stream(mf, name, take, l) : 1;

	if (rc != 1)
		return rc;
	if (!(data = rec_model_expect(mf, name, dtype, count)))
		return -1;
	return take(l, 0, n, data);
}

int rec_embed_load(struct rec_embed *e, const struct rec_model *mf)
{
	const struct rec_tensor *t = rec_model_tensor(mf, "embd.ids");
	size_t n = t ? t->bytes / 8 : 0, dim = rec_embed_opts(e)->dim;
	struct load l = { e, mf->name, dim };

	if (!rec_model_declared(mf, "embd.ids", "u64", n) ||
	    !rec_model_declared(mf, "embd.rows", "f32", n * dim) ||
	    !rec_model_declared(mf, "embd.state", "f32", n))
		return -1;
	if (fill_from(mf, "embd.ids", "u64", n, take_ids, &l, n) < 0 ||
	    fill_from(mf, "embd.rows", "f32", n * dim, take_rows, &l, n) < 0 ||
	    fill_from(mf, "embd.state", "f32", n, take_state, &l, n) < 0)
		return -1;
	return 0;
}
