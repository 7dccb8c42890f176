/* sasrecio.c - SASRec in and out: item sequences from hashed streams, and
 * model files (the settings in the manifest, the vocabulary as items.ids,
 * every weight as its own tensor, Adam's moments as sasrec.adam). */
#include "config.h"
#include "sasrec.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sequences ------------------------------------------------------------ */

static int seq_field(const struct rec_schema *s, const char *name, const char *path)
{
	int f;

	if (!(s->flags & REC_HASHED))
		return rec_error("'%s': sasrec needs a hashed stream (pipe it through rec-hash)", path);
	if ((f = rec_schema_find(s, name)) < 0)
		return rec_error("'%s': no field '%s' (name the item sequence with --item-field)", path, name);
	if (s->field[f].kind != REC_SEQUENCE)
		return rec_error("'%s': field '%s' is %s, not a sequence (rec-cross --group-by makes one)",
				 path, name, rec_kind_name(s->field[f].kind));
	return f;
}

static void add_block(struct rec_seqs *q, const struct rec_block *b, int f)
{
	const struct rec_col *c = &b->col[f];
	int grouped = (b->schema->flags & REC_HAS_GROUP) != 0;

	for (size_t r = 0; r < b->n; r++) {
		size_t n = c->off[r + 1] - c->off[r], glen = grouped ? b->goff[r + 1] - b->goff[r] : 0;
		size_t base = q->off[q->n], gbase = q->goff[q->n], cap = q->cap_n;
		rec_xgrow(&q->off, &cap, q->n + 2, sizeof(uint32_t));
		q->goff = rec_xrealloc(q->goff, cap * sizeof(uint32_t));
		q->cap_n = cap;
		rec_xgrow(&q->id, &q->cap_id, base + n, sizeof(uint64_t));
		rec_xgrow(&q->gstr, &q->cap_g, gbase + glen + 1, 1);
		memcpy(q->id + base, c->id + c->off[r], n * sizeof(uint64_t));
		if (glen)
			memcpy(q->gstr + gbase, b->gstr + b->goff[r], glen);
		q->n++;
		q->off[q->n] = (uint32_t)(base + n);
		q->goff[q->n] = (uint32_t)(gbase + glen);
	}
}

int rec_seqs_read(struct rec_seqs *q, const char *path, const char *item_field, struct rec_schema **schema)
{
	struct rec_reader *r = rec_reader_open(path);
	const struct rec_block *b;
	int f, rc;

	if (!r)
		return -1;
	if (!q->off) {
		q->off = rec_xcalloc(2, sizeof(uint32_t));
		q->goff = rec_xcalloc(2, sizeof(uint32_t));
		q->cap_n = 2;
	}
	f = seq_field(rec_reader_schema(r), item_field, rec_reader_name(r));
	if (f >= 0 && schema && *schema)
		f = rec_schema_check(*schema, rec_reader_schema(r), rec_reader_name(r)) < 0 ? -1 : f;
	else if (f >= 0 && schema)
		*schema = rec_schema_copy(rec_reader_schema(r));
	rc = f < 0 ? -1 : 0;
	while (rc == 0 && (rc = rec_reader_next(r, &b)) > 0) {
		add_block(q, b, f);
		rc = 0;
	}
	rec_reader_close(r);
	return rc;
}

size_t rec_seqs_longest(const struct rec_seqs *s)
{
	size_t L = 1;

	for (size_t i = 0; i < s->n; i++)
		if (s->off[i + 1] - s->off[i] > L)
			L = s->off[i + 1] - s->off[i];
	return L;
}

void rec_seqs_free(struct rec_seqs *q)
{
	free(q->off);
	free(q->id);
	free(q->goff);
	free(q->gstr);
	memset(q, 0, sizeof(*q));
}

/* ---- model files ---------------------------------------------------------- */

static void opts_to_kv(const struct rec_sasrec *m, struct rec_kv *kv)
{
	const struct rec_sasrec_opts *o = &m->o;

	rec_kv_set(kv, "model.kind", "sasrec");
	rec_kv_setf(kv, "model.dim", "%u", o->dim);
	rec_kv_setf(kv, "model.heads", "%u", o->heads);
	rec_kv_setf(kv, "model.blocks", "%u", o->blocks);
	rec_kv_setf(kv, "model.max_len", "%u", o->max_len);
	rec_kv_setf(kv, "model.ffn", "%u", o->ffn);
	rec_kv_set(kv, "model.activation", o->act == REC_ACT_GELU ? "gelu" : "relu");
	rec_kv_setf(kv, "model.dropout", "%.9g", o->dropout);
	rec_kv_set(kv, "model.loss", rec_sasrec_loss_name(o->loss));
	rec_kv_setf(kv, "model.negatives", "%u", o->negatives);
	rec_kv_setf(kv, "model.batch", "%zu", o->batch);
	rec_kv_setf(kv, "model.lr", "%.9g", o->lr);
	rec_kv_setf(kv, "model.seed", "%llu", (unsigned long long)o->seed);
	rec_kv_set(kv, "model.item_field", o->item_field);
	rec_kv_setf(kv, "model.items", "%zu", m->nitems - 1);
	rec_kv_setf(kv, "model.trained", "%llu", (unsigned long long)m->trained);
	rec_kv_setf(kv, "model.adam_steps", "%llu", (unsigned long long)m->steps);
	if (o->freeze)
		rec_kv_set(kv, "model.freeze", o->freeze == REC_SASREC_FREEZE_EMBED ? "embeddings"
					       : o->freeze == REC_SASREC_FREEZE_DENSE ? "dense" : "embeddings,dense");
}

static int add_tensors(const struct rec_sasrec *m, struct rec_model_writer *w, float *adam, const float *best)
{
	if (best && rec_model_add(w, "sasrec.best", "f32", (size_t[]){ m->nparam }, 1, best) < 0)
		return -1;
	if (rec_model_add(w, "items.ids", "u64", (size_t[]){ m->nitems - 1 }, 1, m->item_id + 1) < 0)
		return -1;
	for (size_t i = 0; i < m->ntensor; i++) {
		const struct rec_sasrec_tensor *t = &m->tensor[i];
		size_t shape[2] = { t->rows, t->cols };
		if (rec_model_add(w, t->name, "f32", t->rows > 1 ? shape : shape + 1, t->rows > 1 ? 2 : 1,
				  m->param + t->off) < 0)
			return -1;
	}
	memcpy(adam, m->m, m->nparam * sizeof(float));
	memcpy(adam + m->nparam, m->v, m->nparam * sizeof(float));
	return rec_model_add(w, "sasrec.adam", "f32", (size_t[]){ 2, m->nparam }, 2, adam);
}

int rec_sasrec_save(const struct rec_sasrec *m, const char *path, const struct rec_kv *extra)
{
	return rec_sasrec_save_checkpoint(m, path, extra, NULL);
}

int rec_sasrec_save_checkpoint(const struct rec_sasrec *m, const char *path, const struct rec_kv *extra,
			       const float *best)
{
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_kv kv = { 0 };
	float *adam = rec_xmalloc(2 * m->nparam * sizeof(float));
	int rc = w ? 0 : -1;

	for (size_t i = 0; extra && i < extra->n; i++)
		rec_kv_set(&kv, extra->key[i], extra->val[i]);
	opts_to_kv(m, &kv);
	if (m->schema)
		rec_schema_to_kv(m->schema, &kv);
	if (rc == 0)
		rc = add_tensors(m, w, adam, best);
	if (rc == 0)
		rc = rec_model_commit(w, &kv);
	else if (w)
		rec_model_abort(w);
	free(adam);
	rec_kv_free(&kv);
	return rc;
}

/* model.freeze, which only a fine-tuning run's checkpoints have. */
static int freeze_from_kv(const struct rec_model *mf, struct rec_sasrec_opts *o)
{
	const char *f = rec_kv_get(&mf->manifest, "model.freeze");

	if (!f)
		return 0;
	o->freeze = (strstr(f, "embeddings") ? REC_SASREC_FREEZE_EMBED : 0) |
		    (strstr(f, "dense") ? REC_SASREC_FREEZE_DENSE : 0);
	if (!o->freeze)
		return rec_error("'%s': bad model.freeze '%s' in the MANIFEST", mf->name, f);
	return 0;
}

static int opts_from_kv(const struct rec_model *mf, struct rec_sasrec_opts *o, uint64_t *counts)
{
	const struct rec_kv *kv = &mf->manifest;
	const char *act = rec_kv_get(kv, "model.activation"), *loss = rec_kv_get(kv, "model.loss");
	const char *field = rec_kv_get(kv, "model.item_field");
	uint64_t u[7] = { 0, 0, 0, 0, 0, 0, o->batch };
	const struct rec_model_number num[] = {
		{ "model.dim", NULL, &u[0] }, { "model.heads", NULL, &u[1] },
		{ "model.blocks", NULL, &u[2] }, { "model.max_len", NULL, &u[3] },
		{ "model.ffn", NULL, &u[4] }, { "model.negatives", NULL, &u[5] },
		{ "model.batch", NULL, &u[6] }, { "model.dropout", &o->dropout, NULL },
		{ "model.lr", &o->lr, NULL }, { "model.seed", NULL, &o->seed },
		{ "model.trained", NULL, &counts[0] }, { "model.adam_steps", NULL, &counts[1] },
	};
	const char *bad;

	if (rec_model_numbers(mf, num, sizeof(num) / sizeof(num[0])) < 0)
		return -1;
	bad = u[0] < 1 || u[0] > 4096 ? "model.dim"
	      : u[1] < 1 || u[0] % u[1] ? "model.heads"
	      : u[2] > 64 ? "model.blocks"
	      : u[3] < 1 || u[3] > 65536 ? "model.max_len"
	      : u[4] < 1 || u[4] > 65536 ? "model.ffn"
	      : u[5] > 100000 ? "model.negatives"
	      : u[6] < 1 ? "model.batch"
	      : !act || (strcmp(act, "relu") && strcmp(act, "gelu")) ? "model.activation"
	      : !loss || (o->loss = rec_sasrec_loss_parse(loss)) < 0 ? "model.loss"
	      : !field || strlen(field) >= sizeof(o->item_field) ? "model.item_field"
	      : NULL;
	if (bad)
		return rec_error("'%s': bad or missing %s in the MANIFEST", mf->name, bad);
	o->dim = (unsigned)u[0];
	o->heads = (unsigned)u[1];
	o->blocks = (unsigned)u[2];
	o->max_len = (unsigned)u[3];
	o->ffn = (unsigned)u[4];
	o->negatives = (unsigned)u[5];
	o->batch = u[6];
	o->act = strcmp(act, "gelu") == 0 ? REC_ACT_GELU : REC_ACT_RELU;
	strcpy(o->item_field, field);
	return freeze_from_kv(mf, o);
}

static int load_weights(struct rec_sasrec *m, const struct rec_model *mf)
{
	const float *p;

	for (size_t i = 0; i < m->ntensor; i++) {
		const struct rec_sasrec_tensor *t = &m->tensor[i];
		if (!(p = rec_model_expect(mf, t->name, "f32", t->rows * t->cols)))
			return -1;
		memcpy(m->param + t->off, p, t->rows * t->cols * sizeof(float));
	}
	if (!(p = rec_model_expect(mf, "sasrec.adam", "f32", 2 * m->nparam)))
		return -1;
	memcpy(m->m, p, m->nparam * sizeof(float));
	memcpy(m->v, p + m->nparam, m->nparam * sizeof(float));
	return 0;
}

struct rec_sasrec *rec_sasrec_load_model(const struct rec_model *mf)
{
	struct rec_sasrec_opts o = REC_SASREC_OPTS_INIT;
	const struct rec_tensor *t = rec_model_tensor(mf, "items.ids");
	size_t n = t ? t->bytes / 8 : 0;
	const uint64_t *ids;
	uint64_t counts[2] = { 0, 0 };
	struct rec_schema *s;
	struct rec_sasrec *m;

	if (opts_from_kv(mf, &o, counts) < 0 || !(ids = rec_model_expect(mf, "items.ids", "u64", n)))
		return NULL;
	if (!(s = rec_schema_from_kv(&mf->manifest, mf->name)))
		return NULL;
	m = rec_sasrec_new(s, &o, ids, n);
	rec_schema_free(s);
	if (!m)
		return NULL;
	for (size_t r = 1; r < m->nitems; r++)
		if (rec_sasrec_find(m, m->item_id[r]) != r) {
			rec_error("'%s': item ID %llu appears twice in items.ids", mf->name,
				  (unsigned long long)m->item_id[r]);
			rec_sasrec_free(m);
			return NULL;
		}
	if (load_weights(m, mf) < 0) {
		rec_sasrec_free(m);
		return NULL;
	}
	m->trained = counts[0];
	m->steps = counts[1];
	return m;
}

int rec_sasrec_load_best(const struct rec_sasrec *m, const struct rec_model *mf, float *best)
{
	const float *p = rec_model_expect(mf, "sasrec.best", "f32", m->nparam);

	if (!p)
		return -1;
	memcpy(best, p, m->nparam * sizeof(float));
	return 0;
}
