/* fmtrain.c - LR and FM training on hashed streams. */
#include "config.h"
#include "fmtrain.h"
#include "err.h"
#include "fm.h"
#include "hash.h"

#include <math.h>
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
