/* fmtrain.c - LR and FM training on hashed streams. */
#include "config.h"
#include "fmtrain.h"
#include "err.h"
#include "fm.h"
#include "hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec_fm_model *rec_fm_new(const struct rec_schema *s, const struct rec_fm_opts *o)
{
	struct rec_embed_opts eo = REC_EMBED_OPTS_INIT;
	struct rec_fm_model *m;

	if (!(s->flags & REC_HASHED)) {
		rec_error("training needs a hashed stream (pipe it through rec-hash)");
		return NULL;
	}
	eo.dim = o->k + 1;
	eo.precision = o->precision;
	eo.init_scale = o->init_scale;
	eo.seed = o->seed;
	eo.min_count = o->min_count;
	m = rec_xcalloc(1, sizeof(*m));
	m->o = *o;
	if (!(m->table = rec_embed_new(&eo))) {
		free(m);
		return NULL;
	}
	m->schema = rec_schema_copy(s);
	m->numeric_id = rec_xcalloc(s->nfields + 1, sizeof(uint64_t));
	/* A numeric field has one row, keyed off its name: x is the number. */
	for (size_t f = 0; f < s->nfields; f++)
		m->numeric_id[f] = rec_hash_salt(s->seed, s->field[f].name) ^ UINT64_C(0x6e756d6572696300);
	m->sum_v = rec_xcalloc(o->k + 1, sizeof(float));
	return m;
}

void rec_fm_free(struct rec_fm_model *m)
{
	if (!m)
		return;
	rec_embed_free(m->table);
	rec_schema_free(m->schema);
	free(m->numeric_id);
	free(m->R);
	free(m->dR);
	free(m->x);
	free(m->rows);
	free(m->ids);
	free(m->sum_v);
	free(m);
}

static void reserve(struct rec_fm_model *m, size_t n)
{
	size_t stride = m->o.k + 1;

	if (n <= m->cap)
		return;
	m->cap = n * 2;
	m->R = rec_xrealloc(m->R, m->cap * stride * sizeof(float));
	m->dR = rec_xrealloc(m->dR, m->cap * stride * sizeof(float));
	m->x = rec_xrealloc(m->x, m->cap * sizeof(float));
	m->rows = rec_xrealloc(m->rows, m->cap * sizeof(uint32_t));
	m->ids = rec_xrealloc(m->ids, m->cap * sizeof(uint64_t));
}

/* Numbers enter as sign(x) ln(1 + |x|): heavy-tailed counts (Criteo's
 * integers reach millions) would otherwise swamp the logit. */
static float squash(float x)
{
	return x < 0 ? -log1pf(-x) : log1pf(x);
}

/* Lists record r's (ID, value) pairs into m->ids / m->x; returns how many. */
static size_t list_features(struct rec_fm_model *m, const struct rec_block *b, size_t r)
{
	const struct rec_schema *s = b->schema;
	size_t n = 0;

	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		reserve(m, n + (c->off[r + 1] - c->off[r]));
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++, n++) {
			if (s->field[f].kind == REC_NUMERIC) {
				m->ids[n] = m->numeric_id[f];
				m->x[n] = squash(c->val[i]);
			} else {
				m->ids[n] = c->id[i];
				m->x[n] = (s->field[f].flags & REC_FIELD_VALUED) ? c->val[i] : 1;
			}
		}
	}
	return n;
}

/* Gathers record r's rows into R; returns how many. Lookups go in waves
 * (prefetch every index slot, then find, prefetch every row, then read), so
 * the cache misses of one feature overlap those of the others. */
static size_t gather(struct rec_fm_model *m, const struct rec_block *b, size_t r, int create)
{
	size_t n = list_features(m, b, r), kept = 0, stride = m->o.k + 1;

	for (size_t i = 0; i < n; i++)
		rec_embed_prefetch(m->table, m->ids[i]);
	for (size_t i = 0; i < n; i++) {
		uint32_t row = m->x[i] == 0 ? REC_EMBED_NONE : rec_embed_find(m->table, m->ids[i], create);
		if (row == REC_EMBED_NONE)
			continue;
		rec_embed_prefetch_row(m->table, row);
		m->rows[kept] = row;
		m->x[kept++] = m->x[i];
	}
	m->seen += n;
	m->found += kept;
	for (size_t i = 0; i < kept; i++)
		rec_embed_read(m->table, m->rows[i], m->R + i * stride);
	return kept;
}

float rec_fm_predict(struct rec_fm_model *m, const struct rec_block *b, size_t r)
{
	size_t n = gather(m, b, r, 0);
	float z = rec_fm_forward(m->sum_v, m->R, m->x, n, m->o.k, m->w0);

	return 1 / (1 + expf(-z));
}

static void train_record(struct rec_fm_model *m, const struct rec_block *b, size_t r, double *loss)
{
	size_t n = gather(m, b, r, 1), stride = m->o.k + 1;
	float dz, z = rec_fm_forward(m->sum_v, m->R, m->x, n, m->o.k, m->w0);
	float w = (b->schema->flags & REC_HAS_WEIGHT) ? b->weight[r] : 1;

	*loss += w * rec_logistic_loss(z, b->label[r], &dz);
	dz *= w;
	rec_fm_backward(m->dR, m->R, m->x, m->sum_v, n, m->o.k, dz);
	for (size_t i = 0; i < n; i++) {
		float *g = m->dR + i * stride;
		for (size_t j = 0; j < stride; j++)
			g[j] += m->o.l2 * m->R[i * stride + j];
		rec_embed_adagrad(m->table, m->rows[i], g, m->o.lr, m->o.eps);
	}
	m->w0_acc += dz * dz;
	m->w0 -= m->o.lr * dz / (sqrtf(m->w0_acc) + m->o.eps);
}

/* Starts fetching the index slots of record r's IDs, a record ahead of its
 * turn, so that its lookups find them in cache. */
static void prefetch_record(const struct rec_fm_model *m, const struct rec_block *b, size_t r)
{
	for (size_t f = 0; f < b->schema->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (b->schema->field[f].kind == REC_NUMERIC)
			continue;
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++)
			rec_embed_prefetch(m->table, c->id[i]);
	}
}

void rec_fm_train_block(struct rec_fm_model *m, const struct rec_block *b, double *loss)
{
	for (size_t r = 0; r < b->n; r++) {
		if (r + 1 < b->n)
			prefetch_record(m, b, r + 1);
		train_record(m, b, r, loss);
	}
}

/* ---- model files ------------------------------------------------------- */

/* The stream schema as manifest keys, so that a model hashes and reads new
 * data exactly as it was trained. */
static void schema_to_kv(const struct rec_schema *s, struct rec_kv *kv)
{
	char key[64];

	rec_kv_setf(kv, "stream.flags", "%u", (unsigned)s->flags);
	rec_kv_setf(kv, "stream.id_bits", "%u", (unsigned)s->id_bits);
	rec_kv_setf(kv, "stream.seed", "%llu", (unsigned long long)s->seed);
	rec_kv_setf(kv, "stream.fields", "%zu", s->nfields);
	for (size_t f = 0; f < s->nfields; f++) {
		snprintf(key, sizeof(key), "stream.field.%zu", f);
		rec_kv_setf(kv, key, "%s %s %u", s->field[f].name, rec_kind_name(s->field[f].kind),
			    (unsigned)s->field[f].flags);
	}
}

static struct rec_schema *schema_from_kv(const struct rec_kv *kv, const char *name)
{
	const char *flags = rec_kv_get(kv, "stream.flags"), *bits = rec_kv_get(kv, "stream.id_bits");
	const char *seed = rec_kv_get(kv, "stream.seed"), *nf = rec_kv_get(kv, "stream.fields");
	struct rec_schema *s;
	char key[64], fname[REC_MAX_NAME + 1], kind[8];
	unsigned fl;

	if (!flags || !bits || !seed || !nf) {
		rec_error("'%s': the MANIFEST lacks the stream schema", name);
		return NULL;
	}
	s = rec_schema_new((uint32_t)strtoul(flags, NULL, 10));
	s->id_bits = (uint32_t)strtoul(bits, NULL, 10);
	s->seed = strtoull(seed, NULL, 10);
	for (size_t f = 0, n = strtoul(nf, NULL, 10); f < n; f++) {
		const char *v;
		snprintf(key, sizeof(key), "stream.field.%zu", f);
		v = rec_kv_get(kv, key);
		if (!v || sscanf(v, "%255s %7s %u", fname, kind, &fl) != 3 ||
		    rec_schema_add(s, fname, rec_kind_parse(kind), (int)fl) < 0) {
			rec_error("'%s': bad %s in the MANIFEST", name, key);
			rec_schema_free(s);
			return NULL;
		}
	}
	return s;
}

int rec_fm_check_schema(const struct rec_fm_model *m, const struct rec_schema *s, const char *name)
{
	char *a, *b;

	if (rec_schema_equal(m->schema, s))
		return 0;
	a = rec_schema_describe(m->schema);
	b = rec_schema_describe(s);
	rec_error("'%s': stream schema [%s] is not the model's [%s]", name, b, a);
	free(a);
	free(b);
	return -1;
}

int rec_fm_save(const struct rec_fm_model *m, const char *path, const struct rec_kv *extra)
{
	size_t n = rec_embed_rows(m->table), stride = m->o.k + 1;
	uint64_t *ids = rec_xmalloc((n + 1) * sizeof(uint64_t));
	float *rows = rec_xmalloc((n * stride + 1) * sizeof(float)), *state = rec_xmalloc((n + 1) * sizeof(float));
	float bias[2] = { m->w0, m->w0_acc };
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_kv kv = { 0 };
	char *schema = rec_schema_describe(m->schema);
	int rc = -1;

	for (uint32_t r = 0; r < n; r++) {
		ids[r] = rec_embed_id(m->table, r);
		state[r] = rec_embed_state(m->table, r);
		rec_embed_read(m->table, r, rows + (size_t)r * stride);
	}
	for (size_t i = 0; extra && i < extra->n; i++)
		rec_kv_set(&kv, extra->key[i], extra->val[i]);
	rec_kv_set(&kv, "model.kind", m->o.k ? "fm" : "lr");
	rec_kv_setf(&kv, "model.dim", "%u", m->o.k);
	rec_kv_set(&kv, "model.row_precision", m->o.precision == REC_FP16 ? "fp16" : "fp32");
	rec_kv_setf(&kv, "model.seed", "%llu", (unsigned long long)m->o.seed);
	rec_kv_set(&kv, "stream.schema", schema);
	schema_to_kv(m->schema, &kv);
	if (w && rec_model_add(w, "bias", "f32", (size_t[]){ 2 }, 1, bias) == 0 &&
	    rec_model_add(w, "embd.ids", "u64", (size_t[]){ n }, 1, ids) == 0 &&
	    rec_model_add(w, "embd.rows", "f32", (size_t[]){ n, stride }, 2, rows) == 0 &&
	    rec_model_add(w, "embd.state", "f32", (size_t[]){ n }, 1, state) == 0)
		rc = rec_model_commit(w, &kv);
	else if (w)
		rec_model_abort(w);
	rec_kv_free(&kv);
	free(schema);
	free(ids);
	free(rows);
	free(state);
	return rc;
}

/* The tensor, if it has the expected element count and dtype. */
static const void *tensor(const struct rec_model *mf, const char *name, const char *dtype, size_t count)
{
	const struct rec_tensor *t = rec_model_tensor(mf, name);
	size_t size = rec_dtype_size(dtype);

	if (!t || strcmp(t->dtype, dtype) != 0 || t->bytes != count * size) {
		rec_error("'%s': tensor '%s' missing or not %zu x %s", mf->name, name, count, dtype);
		return NULL;
	}
	return t->data;
}

static int load_rows(struct rec_fm_model *m, const struct rec_model *mf)
{
	const struct rec_tensor *t = rec_model_tensor(mf, "embd.ids");
	size_t n = t ? t->bytes / 8 : 0, stride = m->o.k + 1;
	const uint64_t *ids = tensor(mf, "embd.ids", "u64", n);
	const float *rows = ids ? tensor(mf, "embd.rows", "f32", n * stride) : NULL;
	const float *state = rows ? tensor(mf, "embd.state", "f32", n) : NULL;
	const float *bias = state ? tensor(mf, "bias", "f32", 2) : NULL;

	if (!bias)
		return -1;
	for (size_t r = 0; r < n; r++) {
		uint32_t row = rec_embed_find(m->table, ids[r], 1);
		if (row != r)
			return rec_error("'%s': embedding ID %llu appears twice", mf->name,
					 (unsigned long long)ids[r]);
		rec_embed_write(m->table, row, rows + r * stride);
		rec_embed_set_state(m->table, row, state[r]);
	}
	m->w0 = bias[0];
	m->w0_acc = bias[1];
	return 0;
}

/* Options and schema back from the manifest. */
static struct rec_fm_model *model_from_manifest(const struct rec_model *mf)
{
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	const char *kind = rec_kv_get(&mf->manifest, "model.kind");
	const char *dim = rec_kv_get(&mf->manifest, "model.dim");
	const char *prec = rec_kv_get(&mf->manifest, "model.row_precision");
	struct rec_schema *m_schema;
	struct rec_fm_model *m;

	if (!kind || (strcmp(kind, "lr") && strcmp(kind, "fm")) || !dim) {
		rec_error("'%s': not an lr or fm model (model.kind '%s')", mf->name, kind ? kind : "");
		return NULL;
	}
	o.k = (unsigned)strtoul(dim, NULL, 10);
	o.precision = prec && strcmp(prec, "fp16") == 0 ? REC_FP16 : REC_FP32;
	o.min_count = 1; /* every saved row is back at once */
	if (!(m_schema = schema_from_kv(&mf->manifest, mf->name)))
		return NULL;
	m = rec_xcalloc(1, sizeof(*m));
	m->o = o;
	m->schema = m_schema;
	return m;
}

struct rec_fm_model *rec_fm_load(const char *path)
{
	struct rec_model *mf = rec_model_open(path);
	struct rec_fm_model *shell = mf ? model_from_manifest(mf) : NULL, *m = NULL;

	if (shell) {
		m = rec_fm_new(shell->schema, &shell->o);
		if (m && load_rows(m, mf) < 0) {
			rec_fm_free(m);
			m = NULL;
		}
		rec_fm_free(shell);
	}
	rec_model_close(mf);
	return m;
}
