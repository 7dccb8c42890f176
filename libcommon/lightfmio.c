/* lightfmio.c - lightfm models in and out of model files: the settings in
 * the manifest, the item catalogue as items.* tensors beside the embedding
 * store's embd.*, and the sampler's state, so that a resumed run draws the
 * negatives an uninterrupted one would. */
#include "config.h"
#include "lightfm.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void opts_to_kv(const struct rec_lightfm *m, struct rec_kv *kv)
{
	const struct rec_lightfm_opts *o = &m->o;

	rec_kv_set(kv, "model.kind", "lightfm");
	rec_kv_setf(kv, "model.dim", "%u", o->k);
	rec_kv_set(kv, "model.loss", rec_lightfm_loss_name(o->loss));
	rec_kv_set(kv, "model.negatives", rec_lightfm_neg_name(o->negatives));
	rec_kv_setf(kv, "model.max_sampled", "%u", o->max_sampled);
	rec_kv_set(kv, "model.user_field", o->user_field);
	rec_kv_set(kv, "model.item_field", o->item_field);
	rec_kv_set(kv, "model.user_features", o->user_features);
	rec_kv_set(kv, "model.item_features", o->item_features);
	rec_kv_set(kv, "model.row_precision", o->precision == REC_FP16 ? "fp16" : "fp32");
	rec_kv_setf(kv, "model.seed", "%llu", (unsigned long long)o->seed);
	rec_kv_setf(kv, "model.lr", "%.9g", o->lr);
	rec_kv_setf(kv, "model.l2", "%.9g", o->l2);
	rec_kv_setf(kv, "model.init_scale", "%.9g", o->init_scale);
	rec_kv_setf(kv, "model.trained", "%llu", (unsigned long long)m->trained);
	rec_kv_setf(kv, "model.rng", "%llu", (unsigned long long)m->rng);
}

static int add_items(const struct rec_lightfm *m, struct rec_model_writer *w)
{
	const struct rec_lightfm_items *it = &m->items;

	if (rec_model_add(w, "items.ids", "u64", (size_t[]){ it->n }, 1, it->id) < 0 ||
	    rec_model_add(w, "items.offsets", "u32", (size_t[]){ it->n + 1 }, 1, it->off) < 0 ||
	    rec_model_add(w, "items.features", "u64", (size_t[]){ it->nfeat }, 1, it->feat) < 0 ||
	    rec_model_add(w, "items.values", "f32", (size_t[]){ it->nfeat }, 1, it->val) < 0 ||
	    rec_model_add(w, "items.counts", "u32", (size_t[]){ it->n }, 1, it->count) < 0)
		return -1;
	return 0;
}

int rec_lightfm_save(const struct rec_lightfm *m, const char *path, const struct rec_kv *extra)
{
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_kv kv = { 0 };
	int rc = w ? 0 : -1;

	for (size_t i = 0; extra && i < extra->n; i++)
		rec_kv_set(&kv, extra->key[i], extra->val[i]);
	opts_to_kv(m, &kv);
	rec_schema_to_kv(m->schema, &kv);
	if (rc == 0)
		rc = add_items(m, w);
	if (rc == 0)
		rc = rec_embed_save(m->table, w);
	if (rc == 0)
		rc = rec_model_commit(w, &kv);
	else if (w)
		rec_model_abort(w);
	rec_kv_free(&kv);
	return rc;
}

static int copy_name(char *dst, size_t cap, const char *v)
{
	if (!v || strlen(v) >= cap)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int opts_from_kv(const struct rec_model *mf, struct rec_lightfm_opts *o, uint64_t *trained,
			uint64_t *rng)
{
	const struct rec_kv *kv = &mf->manifest;
	const char *prec = rec_kv_get(kv, "model.row_precision"), *loss = rec_kv_get(kv, "model.loss");
	const char *neg = rec_kv_get(kv, "model.negatives");
	uint64_t k = 0, max_sampled = o->max_sampled;
	const struct rec_model_number num[] = {
		{ "model.dim", NULL, &k }, { "model.max_sampled", NULL, &max_sampled },
		{ "model.lr", &o->lr, NULL }, { "model.l2", &o->l2, NULL },
		{ "model.init_scale", &o->init_scale, NULL }, { "model.seed", NULL, &o->seed },
		{ "model.trained", NULL, trained }, { "model.rng", NULL, rng },
	};

	if (rec_model_numbers(mf, num, sizeof(num) / sizeof(num[0])) < 0)
		return -1;
	if (k < 1 || k > 1023 || max_sampled < 1 || max_sampled > 100000 || !loss ||
	    (o->loss = rec_lightfm_loss_parse(loss)) < 0 || !neg ||
	    (o->negatives = rec_lightfm_neg_parse(neg)) < 0 ||
	    copy_name(o->user_field, sizeof(o->user_field), rec_kv_get(kv, "model.user_field")) < 0 ||
	    copy_name(o->item_field, sizeof(o->item_field), rec_kv_get(kv, "model.item_field")) < 0 ||
	    copy_name(o->user_features, sizeof(o->user_features), rec_kv_get(kv, "model.user_features")) < 0 ||
	    copy_name(o->item_features, sizeof(o->item_features), rec_kv_get(kv, "model.item_features")) < 0)
		return rec_error("'%s': bad model.dim, model.max_sampled, model.loss, model.negatives or "
				 "model field names in the MANIFEST", mf->name);
	o->k = (unsigned)k;
	o->max_sampled = (unsigned)max_sampled;
	o->precision = prec && strcmp(prec, "fp16") == 0 ? REC_FP16 : REC_FP32;
	o->min_count = 1;  /* every saved row is back at once */
	return 0;
}

/* The catalogue: offsets must rise from 0 to the feature count. */
static int load_items(struct rec_lightfm *m, const struct rec_model *mf)
{
	const struct rec_tensor *t = rec_model_tensor(mf, "items.ids"), *tf;
	size_t n = t ? t->bytes / 8 : 0, nf;
	const uint64_t *ids = rec_model_expect(mf, "items.ids", "u64", n), *feat;
	const uint32_t *off = ids ? rec_model_expect(mf, "items.offsets", "u32", n + 1) : NULL, *count;
	const float *val;

	if (!off)
		return -1;
	tf = rec_model_tensor(mf, "items.features");
	nf = tf ? tf->bytes / 8 : 0;
	if (!(feat = rec_model_expect(mf, "items.features", "u64", nf)) ||
	    !(val = rec_model_expect(mf, "items.values", "f32", nf)) ||
	    !(count = rec_model_expect(mf, "items.counts", "u32", n)))
		return -1;
	if (off[0] != 0 || off[n] != nf)
		return rec_error("'%s': items.offsets do not span items.features", mf->name);
	for (size_t i = 0; i < n; i++) {
		if (off[i + 1] < off[i])
			return rec_error("'%s': items.offsets fall at item %zu", mf->name, i);
		if (rec_lightfm_find_item(m, ids[i]) >= 0)
			return rec_error("'%s': item ID %llu appears twice", mf->name,
					 (unsigned long long)ids[i]);
		rec_lightfm_add_item(m, ids[i], feat + off[i], val + off[i], off[i + 1] - off[i], count[i]);
	}
	return 0;
}

struct rec_lightfm *rec_lightfm_load_model(const struct rec_model *mf)
{
	struct rec_lightfm_opts o = REC_LIGHTFM_OPTS_INIT;
	struct rec_schema *s;
	struct rec_lightfm *m;
	uint64_t trained = 0, rng = 0;

	if (opts_from_kv(mf, &o, &trained, &rng) < 0 || !(s = rec_schema_from_kv(&mf->manifest, mf->name)))
		return NULL;
	m = rec_lightfm_new(s, &o);
	rec_schema_free(s);
	if (!m)
		return NULL;
	if (load_items(m, mf) < 0 || rec_embed_load(m->table, mf) < 0) {
		rec_lightfm_free(m);
		return NULL;
	}
	m->trained = trained;
	m->rng = rng;
	return m;
}
