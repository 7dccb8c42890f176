/* fmtrain.c - LR and FM training on hashed streams. */
#include "config.h"
#include "fmtrain.h"
#include "err.h"
#include "fm.h"
#include "hash.h"
#include "lanes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows in the embedding store, by kind:
 *   lr, fm     [w, v_1..v_k]                    state: Adagrad accumulator
 *   ffm        [w, v_0 (k), .., v_{F-1} (k)]    state: Adagrad accumulator
 *   lr + ftrl  [w, z]                           state: n, FTRL's sum of g^2
 * An FTRL row holds one coordinate, so the store's per-row accumulator is
 * the per-coordinate n the algorithm wants. w is recomputed from z and n at
 * each update and kept in the row, so that scoring reads it like any LR
 * weight. SGD keeps no state (it stays 0). */
static unsigned row_dim(const struct rec_schema *s, const struct rec_fm_opts *o)
{
	if (o->optimizer == REC_OPT_FTRL)
		return 2;
	return 1 + (o->ffm ? (unsigned)s->nfields : 1) * o->k;
}

/* -1 after a message (starting with pre) when the options make no model. */
static int check_opts(const struct rec_schema *s, const struct rec_fm_opts *o, const char *pre)
{
	if (!(s->flags & REC_HASHED))
		return rec_error("%straining needs a hashed stream (pipe it through rec-hash)", pre);
	if (!rec_optimizer_name(o->optimizer))
		return rec_error("%sunknown optimizer %d", pre, o->optimizer);
	if (o->optimizer == REC_OPT_FTRL && (o->k || o->ffm))
		return rec_error("%sftrl trains logistic regression only, not %s", pre,
				 o->ffm ? "ffm" : "fm");
	if (o->optimizer == REC_OPT_FTRL && o->precision == REC_FP16)
		return rec_error("%sftrl needs fp32 rows: fp16 would round away the gradients z sums",
				 pre);
	if (o->ffm && o->k == 0)
		return rec_error("%sffm needs at least one factor", pre);
	if (o->ffm && 1 + (uint64_t)s->nfields * o->k > 1024)
		return rec_error("%sffm rows of 1 + %zu fields x %u factors exceed 1024 floats", pre,
				 s->nfields, o->k);
	return 0;
}

static struct rec_fm_model *fm_new(const struct rec_schema *s, const struct rec_fm_opts *o,
				   const char *pre)
{
	struct rec_embed_opts eo = REC_EMBED_OPTS_INIT;
	struct rec_fm_model *m;

	if (check_opts(s, o, pre) < 0)
		return NULL;
	eo.dim = row_dim(s, o);
	eo.precision = o->precision;
	/* FTRL starts from z = 0, hence w = 0 */
	eo.init_scale = o->optimizer == REC_OPT_FTRL ? 0 : o->init_scale;
	eo.seed = o->seed;
	eo.min_count = o->min_count;
	m = rec_xcalloc(1, sizeof(*m));
	m->o = *o;
	m->dim = eo.dim;
	m->nf = (unsigned)s->nfields;
	if (!(m->table = rec_embed_new(&eo))) {
		free(m);
		return NULL;
	}
	m->schema = rec_schema_copy(s);
	m->numeric_id = rec_xcalloc(s->nfields + 1, sizeof(uint64_t));
	/* A numeric field has one row, keyed off its name: x is the number. */
	for (size_t f = 0; f < s->nfields; f++) {
		m->numeric_id[f] = rec_hash_salt(s->seed, s->field[f].name) ^ UINT64_C(0x6e756d6572696300);
	}
	m->sum_v = rec_xcalloc(o->k + 1, sizeof(float));
	return m;
}

struct rec_fm_model *rec_fm_new(const struct rec_schema *s, const struct rec_fm_opts *o)
{
	return fm_new(s, o, "");
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
	free(m->P);
	free(m->acc);
	free(m->step);
	rec_featspan_free(&m->span);
	rec_rowset_free(&m->rs);
	free(m->G);
	free(m->fu);
	free(m->sum_v);
	free(m);
}

static const char *const optimizer_names[] = {
	[REC_OPT_ADAGRAD] = "adagrad", [REC_OPT_SGD] = "sgd", [REC_OPT_FTRL] = "ftrl"
};

const char *rec_optimizer_name(int opt)
{
	if (opt < 0 || (size_t)opt >= sizeof(optimizer_names) / sizeof(optimizer_names[0]))
		return NULL;
	return optimizer_names[opt];
}

int rec_optimizer_parse(const char *name)
{
	return REC_NAME_INDEX(optimizer_names, name);
}

static inline float lr_at(float lr, uint64_t warmup, int decay, uint64_t t)
{
	uint64_t w = warmup ? warmup : 1;

	if (t < warmup)
		return lr * (float)((double)t / (double)warmup);
	if (!decay || t <= w)
		return lr;
	return lr * (float)sqrt((double)w / (double)t);
}

float rec_lr_at(float lr, uint64_t warmup, int decay, uint64_t t)
{
	return lr_at(lr, warmup, decay, t);
}

static void reserve_rows(struct rec_fm_model *m, size_t n)
{
	if (n <= m->cap)
		return;
	m->cap = n * 2;
	m->R = rec_xrealloc(m->R, m->cap * m->dim * sizeof(float));
	m->dR = rec_xrealloc(m->dR, m->cap * m->dim * sizeof(float));
	m->P = rec_xrealloc(m->P, m->cap * sizeof(*m->P));
	m->acc = rec_xrealloc(m->acc, m->cap * sizeof(*m->acc));
	m->step = rec_xrealloc(m->step, m->cap * sizeof(*m->step));
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Records trained between two batches of lookups: their rows stay in the
 * L2 cache from lookup to update. */
#define SPAN 128

/* Looks up the rows of records r0 .. r1-1 into the span (creating them
 * when training); features with x = 0 or without a row are left out. */
static void lookup_span(struct rec_fm_model *m, const struct rec_block *b, size_t r0, size_t r1,
			int create)
{
	m->seen += rec_featspan_lookup(&m->span, m->table, b, r0, r1, m->numeric_id, NULL, create);
	m->found += m->span.at[r1 - r0];
}

/* Points m->feats at record r's features, r the i-th record of the span. */
static void feats_of(struct rec_fm_model *m, size_t i)
{
	const struct rec_featspan *sp = &m->span;
	struct rec_fm_feats *fs = &m->feats;

	fs->rows = sp->rows + sp->at[i];
	fs->fld = sp->fld + sp->at[i];
	fs->x = sp->x + sp->at[i];
	fs->n = sp->at[i + 1] - sp->at[i];
}

/* Copies the rows of fs into R, P pointing at the copies; returns how
 * many. */
static size_t read_rows(struct rec_fm_model *m, const struct rec_fm_feats *fs)
{
	reserve_rows(m, fs->n);
	rec_embed_read_many(m->table, fs->rows, fs->n, m->R);
	for (size_t i = 0; i < fs->n; i++)
		m->P[i] = m->R + i * m->dim;
	return fs->n;
}

/* Points P and acc at the rows of fs in the store; -1 when they are fp16
 * and must be copied. */
static int rows_in_place(struct rec_fm_model *m, const struct rec_fm_feats *fs)
{
	reserve_rows(m, fs->n);
	return rec_embed_places(m->table, fs->rows, fs->n, (float **)m->P, m->acc);
}

/* The logit of the n features gathered; opt is the model's optimizer. */
static inline float logit(struct rec_fm_model *m, size_t n, int opt)
{
	const struct rec_fm_feats *fs = &m->feats;
	float z = m->w0;

	if (opt == REC_OPT_FTRL) { /* rows [w, z]: w is every other float */
		for (size_t i = 0; i < n; i++)
			z += m->R[2 * i] * fs->x[i];
		return z;
	}
	if (m->o.ffm)
		return rec_ffm_forward(m->sum_v, m->R, fs->x, fs->fld, n, m->nf, m->o.k, z);
	return rec_fm_forward(m->sum_v, m->P, fs->x, n, m->o.k, z);
}

float rec_fm_predict(struct rec_fm_model *m, const struct rec_block *b, size_t r)
{
	size_t n;

	lookup_span(m, b, r, r + 1, 0);
	feats_of(m, 0);
	n = read_rows(m, &m->feats);
	return 1 / (1 + expf(-logit(m, n, m->o.optimizer)));
}

static void bias_adagrad(struct rec_fm_model *m, float dz, float lr)
{
	m->w0_acc += dz * dz;
	m->w0 -= lr * dz / (sqrtf(m->w0_acc) + m->o.eps);
}

/* Row-wise Adagrad, the L2 of every row the example touches added to its
 * gradient. */
static void step_adagrad(struct rec_fm_model *m, size_t n, float dz, float lr)
{
	float *restrict dR = m->dR, l2 = m->o.l2;
	const float *restrict R = m->R;

#ifdef _OPENMP
#pragma omp simd
#endif
	for (size_t j = 0; j < n * m->dim; j++) /* elementwise: vectorized, the same bits */
		dR[j] += l2 * R[j];
	rec_embed_adagrad_many(m->table, m->feats.rows, n, m->dR, lr, m->o.eps);
	bias_adagrad(m, dz, lr);
}

/* How many rows ahead the in-place step fetches a row: an example's rows
 * are in cache already, a batch's distinct rows not. */
#define LEAD_IN_PLACE 8

/* step_adagrad on the store's fp32 rows, which P and acc point at: no
 * copy of the rows before, and the L2 term, the squares and each row's
 * accumulator in one pass over the gradients rather than three. The
 * arithmetic, and so the model, is step_adagrad's; the rows change only
 * in the last loop, after every gradient and its L2 term has read them. */
ALWAYS_INLINE void step_adagrad_in_place_dim(struct rec_fm_model *m, float *dR, size_t n, float dz, float lr,
					    unsigned dim)
{
	float *restrict step = m->step, l2 = m->o.l2, eps = m->o.eps;

	for (size_t i = 0; i < n; i++) {
		float *restrict g = dR + i * dim;
		const float *restrict w = m->P[i];
		if (i + LEAD_IN_PLACE < n) /* a batch's rows: many, and spread */
			__builtin_prefetch(m->P[i + LEAD_IN_PLACE], 1);
#ifdef _OPENMP
#pragma omp simd
#endif
		for (unsigned k = 0; k < dim; k++)
			g[k] += l2 * w[k];
		*m->acc[i] += rec_dot_lanes(g, g, dim) / (float)dim; /* as rec_embed_adagrad sums */
		step[i] = *m->acc[i];
	}
#ifdef _OPENMP
#pragma omp simd
#endif
	for (size_t i = 0; i < n; i++)
		step[i] = lr / (sqrtf(step[i]) + eps);
	for (size_t i = 0; i < n; i++) {
		float *restrict w = (float *)m->P[i];
		const float *restrict g = dR + i * dim;
#ifdef _OPENMP
#pragma omp simd
#endif
		for (unsigned k = 0; k < dim; k++)
			w[k] -= step[i] * g[k];
	}
	bias_adagrad(m, dz, lr);
}

/* The common row widths (lr, fm with k = 8 or 16) get loops of a known
 * length, unrolled. */
static void step_adagrad_in_place(struct rec_fm_model *m, float *dR, size_t n, float dz, float lr)
{
	switch (m->dim) {
	case 1: step_adagrad_in_place_dim(m, dR, n, dz, lr, 1); break;
	case 9: step_adagrad_in_place_dim(m, dR, n, dz, lr, 9); break;
	case 17: step_adagrad_in_place_dim(m, dR, n, dz, lr, 17); break;
	default: step_adagrad_in_place_dim(m, dR, n, dz, lr, m->dim); break;
	}
}

/* Plain SGD; the bias has no L2, as under Adagrad. */
static void step_sgd(struct rec_fm_model *m, size_t n, float dz, float lr)
{
	for (size_t i = 0; i < n; i++)
		rec_embed_sgd(m->table, m->feats.rows[i], m->dR + i * m->dim, lr, m->o.l2);
	m->w0 -= lr * dz;
}

/* FTRL-Proximal on one coordinate (McMahan et al. 2013, algorithm 1) with
 * alpha = lr. The row is read afresh rather than from R: an ID may occur
 * twice in one example. */
static void ftrl_update(struct rec_fm_model *m, uint32_t row, float g, float alpha)
{
	float wz[2], n = rec_embed_state(m->table, row), l1 = m->o.l1;
	float sigma = (sqrtf(n + g * g) - sqrtf(n)) / alpha;

	rec_embed_read(m->table, row, wz);
	wz[1] += g - sigma * wz[0];
	n += g * g;
	if (fabsf(wz[1]) <= l1)
		wz[0] = 0;
	else
		wz[0] = -(wz[1] - copysignf(l1, wz[1])) /
			((m->o.ftrl_beta + sqrtf(n)) / alpha + m->o.l2);
	rec_embed_write(m->table, row, wz);
	rec_embed_set_state(m->table, row, n);
}

/* The bias keeps Adagrad under FTRL: it is dense and must not be zeroed, so
 * L1 has nothing to do there, and the bias tensor stays [w0, acc]. */
static void step_ftrl(struct rec_fm_model *m, size_t n, float dz, float lr)
{
	const struct rec_fm_feats *fs = &m->feats;

	for (size_t i = 0; i < n; i++)
		ftrl_update(m, fs->rows[i], dz * fs->x[i], lr);
	bias_adagrad(m, dz, lr);
}

/* opt is a constant in each inlined copy: the optimizer costs a branch per
 * block, not per example or coordinate. */

/* Trains on record r, whose rows feats_of() gathered. */
ALWAYS_INLINE void train_record(struct rec_fm_model *m, const struct rec_block *b, size_t r,
				double *loss, int opt)
{
	const struct rec_fm_feats *fs = &m->feats;
	/* fm and lr under Adagrad on fp32 rows read and update them in place */
	int in_place = opt == REC_OPT_ADAGRAD && !m->o.ffm && rows_in_place(m, fs) == 0;
	size_t n = in_place ? fs->n : read_rows(m, fs);
	float dz, z = logit(m, n, opt), lr = lr_at(m->o.lr, m->o.warmup, m->o.decay, m->t++);
	float w = (b->schema->flags & REC_HAS_WEIGHT) ? b->weight[r] : 1;

	*loss += w * rec_logistic_loss(z, b->label[r], &dz);
	dz *= w;
	if (lr == 0) /* the start of warm-up: nothing moves, accumulators included */
		return;
	if (opt == REC_OPT_FTRL) {
		step_ftrl(m, n, dz, lr);
		return;
	}
	if (m->o.ffm)
		rec_ffm_backward(m->dR, m->R, fs->x, fs->fld, n, m->nf, m->o.k, dz);
	else
		rec_fm_backward(m->dR, m->P, fs->x, m->sum_v, n, m->o.k, dz);
	if (opt == REC_OPT_SGD)
		step_sgd(m, n, dz, lr);
	else if (in_place)
		step_adagrad_in_place(m, m->dR, n, dz, lr);
	else
		step_adagrad(m, n, dz, lr);
}

/* A lookup ahead of the updates before it changes nothing: a row's values
 * are read when its record trains. */
ALWAYS_INLINE void train_records(struct rec_fm_model *m, const struct rec_block *b, double *loss,
				 int opt)
{
	for (size_t r0 = 0; r0 < b->n; r0 += SPAN) {
		size_t r1 = r0 + SPAN < b->n ? r0 + SPAN : b->n;
		lookup_span(m, b, r0, r1, 1);
		for (size_t r = r0; r < r1; r++) {
			feats_of(m, r - r0);
			train_record(m, b, r, loss, opt);
		}
	}
}

/* ---- mini-batches ------------------------------------------------------ */

/* The loss of a batch is the mean of its records' (weighted) losses. Each
 * record's gradients are taken at the rows as they were when the batch
 * began and summed per distinct row (G, in rs order); then each distinct
 * row gets one update, L2 included once, and the bias one with the summed
 * dz: as the deep models and PyTorch's row-wise Adagrad do. */

/* A feature's row in the batch is first there: its gradient starts G's. */
#define NEW_IN_BATCH (UINT32_C(1) << 31)

/* Room in G for every distinct row of a batch of nf features. */
static void clear_batch(struct rec_fm_model *m, size_t nf)
{
	rec_rowset_clear(&m->rs, nf);
	if (nf > m->cap_fu) {
		m->cap_fu = nf * 2;
		m->fu = rec_xrealloc(m->fu, m->cap_fu * sizeof(uint32_t));
	}
	if (m->rs.cap <= m->cap_g)
		return;
	m->cap_g = m->rs.cap;
	m->G = rec_xrealloc(m->G, m->cap_g * m->dim * sizeof(float));
}

/* The batch rows of the span's record i into fu, a record ahead of its
 * gradients: their places in G are fetched meanwhile, and the table's
 * slots of the record after (of count in the span). */
static void place_record(struct rec_fm_model *m, size_t i, size_t count)
{
	const struct rec_featspan *sp = &m->span;

	for (size_t j = sp->at[i]; j < sp->at[i + 1]; j++) {
		size_t n = m->rs.n, u = rec_rowset_add(&m->rs, sp->rows[j]);
		m->fu[j] = (uint32_t)u | (u == n ? NEW_IN_BATCH : 0);
		__builtin_prefetch(m->G + u * m->dim, 1);
	}
	if (i + 1 < count)
		for (size_t j = sp->at[i + 1]; j < sp->at[i + 2]; j++)
			rec_rowset_prefetch(&m->rs, sp->rows[j]);
}

/* G of the feature's batch row += g (dim floats), or = g where first. */
static inline void add_grad(struct rec_fm_model *m, uint32_t fu, const float *restrict g)
{
	size_t dim = m->dim;
	float *restrict G = m->G + (size_t)(fu & ~NEW_IN_BATCH) * dim;

	if (fu & NEW_IN_BATCH) {
		memcpy(G, g, dim * sizeof(float));
		return;
	}
#ifdef _OPENMP
#pragma omp simd
#endif
	for (size_t k = 0; k < dim; k++)
		G[k] += g[k];
}

/* Record r's logit and weighted loss (added to *loss); returns its dz for
 * the batch's mean loss over count records, and leaves its rows' values in
 * P (and R when copied). */
ALWAYS_INLINE float batch_record(struct rec_fm_model *m, const struct rec_block *b, size_t r, size_t count,
				 double *loss, int opt, size_t *n)
{
	const struct rec_fm_feats *fs = &m->feats;
	int in_place = opt == REC_OPT_ADAGRAD && !m->o.ffm && rows_in_place(m, fs) == 0;
	float dz, w = (b->schema->flags & REC_HAS_WEIGHT) ? b->weight[r] : 1;

	*n = in_place ? fs->n : read_rows(m, fs);
	*loss += w * rec_logistic_loss(logit(m, *n, opt), b->label[r], &dz);
	return w * dz / (float)count;
}

/* Adds the row gradients of the span's record i, for dz, to the batch's. */
ALWAYS_INLINE void batch_grads(struct rec_fm_model *m, size_t i, size_t n, float dz, int opt)
{
	const struct rec_fm_feats *fs = &m->feats;
	const uint32_t *fu = m->fu + m->span.at[i];

	if (opt == REC_OPT_FTRL) { /* FTRL's rows [w, z]: the gradient of w */
		for (size_t j = 0; j < n; j++) {
			float g[2] = { dz * fs->x[j], 0 };
			add_grad(m, fu[j], g);
		}
		return;
	}
	if (m->o.ffm)
		rec_ffm_backward(m->dR, m->R, fs->x, fs->fld, n, m->nf, m->o.k, dz);
	else
		rec_fm_backward(m->dR, m->P, fs->x, m->sum_v, n, m->o.k, dz);
	for (size_t j = 0; j < n; j++)
		add_grad(m, fu[j], m->dR + j * m->dim);
}

/* One update of each distinct row of the batch, and of the bias. */
static void batch_update(struct rec_fm_model *m, float dz, float lr, int opt)
{
	const uint32_t *rows = m->rs.row;
	size_t nu = m->rs.n, dim = m->dim;

	if (opt == REC_OPT_FTRL) {
		for (size_t u = 0; u < nu; u++)
			ftrl_update(m, rows[u], m->G[u * dim], lr);
		bias_adagrad(m, dz, lr);
		return;
	}
	if (opt == REC_OPT_SGD) {
		for (size_t u = 0; u < nu; u++)
			rec_embed_sgd(m->table, rows[u], m->G + u * dim, lr, m->o.l2);
		m->w0 -= lr * dz;
		return;
	}
	reserve_rows(m, nu);
	if (rec_embed_places(m->table, rows, nu, (float **)m->P, m->acc) == 0) {
		step_adagrad_in_place(m, m->G, nu, dz, lr);
		return;
	}
	rec_embed_read_many(m->table, rows, nu, m->R);
	float *restrict G = m->G, l2 = m->o.l2;
	const float *restrict R = m->R;
#ifdef _OPENMP
#pragma omp simd
#endif
	for (size_t j = 0; j < nu * dim; j++)
		G[j] += l2 * R[j];
	rec_embed_adagrad_many(m->table, rows, nu, G, lr, m->o.eps);
	bias_adagrad(m, dz, lr);
}

/* Values of records first .. first+count-1 in all: at least their
 * features, so at least their distinct rows. */
static size_t batch_values(const struct rec_block *b, size_t first, size_t count)
{
	size_t n = 0;

	for (size_t f = 0; f < b->schema->nfields; f++)
		n += b->col[f].off[first + count] - b->col[f].off[first];
	return n;
}

/* Records first .. first+count-1 of b as one batch, looked up a span of
 * records at a time as when training after every example. */
ALWAYS_INLINE void train_batch(struct rec_fm_model *m, const struct rec_block *b, size_t first, size_t count,
			       double *loss, int opt)
{
	float lr = lr_at(m->o.lr, m->o.warmup, m->o.decay, m->t), dz_sum = 0;

	clear_batch(m, batch_values(b, first, count) + 1);
	for (size_t s0 = 0; s0 < count; s0 += SPAN) {
		size_t ns = count - s0 < SPAN ? count - s0 : SPAN;
		lookup_span(m, b, first + s0, first + s0 + ns, 1);
		if (lr != 0)
			place_record(m, 0, ns);
		for (size_t i = 0; i < ns; i++) {
			size_t n;
			if (lr != 0 && i + 1 < ns)
				place_record(m, i + 1, ns);
			feats_of(m, i);
			float dz = batch_record(m, b, first + s0 + i, count, loss, opt, &n);
			dz_sum += dz;
			if (lr != 0) /* the start of warm-up: nothing moves */
				batch_grads(m, i, n, dz, opt);
		}
	}
	m->t += count;
	if (lr != 0)
		batch_update(m, dz_sum, lr, opt);
}

ALWAYS_INLINE void train_batches(struct rec_fm_model *m, const struct rec_block *b, double *loss, int opt)
{
	for (size_t r = 0; r < b->n; r += m->o.batch)
		train_batch(m, b, r, b->n - r < m->o.batch ? b->n - r : m->o.batch, loss, opt);
}

static void train_block_as(struct rec_fm_model *m, const struct rec_block *b, double *loss, int opt)
{
	if (m->o.batch)
		train_batches(m, b, loss, opt);
	else
		train_records(m, b, loss, opt);
}

void rec_fm_train_block(struct rec_fm_model *m, const struct rec_block *b, double *loss)
{
	switch (m->o.optimizer) {
	case REC_OPT_SGD:
		train_block_as(m, b, loss, REC_OPT_SGD);
		break;
	case REC_OPT_FTRL:
		train_block_as(m, b, loss, REC_OPT_FTRL);
		break;
	default:
		train_block_as(m, b, loss, REC_OPT_ADAGRAD);
		break;
	}
}

/* ---- model files ------------------------------------------------------- */

int rec_fm_check_schema(const struct rec_fm_model *m, const struct rec_schema *s, const char *name)
{
	return rec_schema_check(m->schema, s, name);
}

static const char *kind_name(const struct rec_fm_opts *o)
{
	return o->ffm ? "ffm" : o->k ? "fm" : "lr";
}

/* The shortest decimal that reads back as the same float: 0.05 rather
 * than 0.0500000007. */
static void kv_set_float(struct rec_kv *kv, const char *key, float v)
{
	char buf[32];

	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	rec_kv_set(kv, key, buf);
}

/* The optimizer's settings and clock, so that a loaded model trains on as
 * this one would have. */
static void optim_to_kv(const struct rec_fm_model *m, struct rec_kv *kv)
{
	rec_kv_set(kv, "model.optimizer", rec_optimizer_name(m->o.optimizer));
	kv_set_float(kv, "model.init_scale", m->o.init_scale);
	kv_set_float(kv, "optim.lr", m->o.lr);
	kv_set_float(kv, "optim.l2", m->o.l2);
	kv_set_float(kv, "optim.eps", m->o.eps);
	if (m->o.optimizer == REC_OPT_FTRL) {
		kv_set_float(kv, "optim.l1", m->o.l1);
		kv_set_float(kv, "optim.ftrl_beta", m->o.ftrl_beta);
	}
	rec_kv_setf(kv, "optim.warmup", "%llu", (unsigned long long)m->o.warmup);
	rec_kv_setf(kv, "optim.decay", "%d", m->o.decay);
	rec_kv_setf(kv, "optim.examples", "%llu", (unsigned long long)m->t);
	rec_kv_setf(kv, "optim.batch", "%zu", m->o.batch);
}

int rec_fm_save(const struct rec_fm_model *m, const char *path, const struct rec_kv *extra)
{
	float bias[2] = { m->w0, m->w0_acc };
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_kv kv = { 0 };
	int rc = -1;

	for (size_t i = 0; extra && i < extra->n; i++)
		rec_kv_set(&kv, extra->key[i], extra->val[i]);
	rec_kv_set(&kv, "model.kind", kind_name(&m->o));
	rec_kv_setf(&kv, "model.dim", "%u", m->o.k);
	rec_kv_set(&kv, "model.row_precision", m->o.precision == REC_FP16 ? "fp16" : "fp32");
	rec_kv_setf(&kv, "model.seed", "%llu", (unsigned long long)m->o.seed);
	optim_to_kv(m, &kv);
	rec_schema_to_kv(m->schema, &kv);
	if (w && rec_model_add(w, "bias", "f32", (size_t[]){ 2 }, 1, bias) == 0 &&
	    rec_embed_save(m->table, w) == 0)
		rc = rec_model_commit(w, &kv);
	else if (w)
		rec_model_abort(w);
	rec_kv_free(&kv);
	return rc;
}

/* The row layout in words, for messages. */
static const char *layout(const struct rec_fm_model *m)
{
	if (m->o.optimizer == REC_OPT_FTRL)
		return "ftrl's [w, z]";
	return m->o.ffm ? "ffm's 1 + fields x k" : "1 + k";
}

static int load_rows(struct rec_fm_model *m, const struct rec_model *mf)
{
	const struct rec_tensor *rt = rec_model_tensor(mf, "embd.rows");
	const float *bias;

	if (rt && (rt->ndim != 2 || rt->shape[1] != m->dim))
		return rec_error("'%s': embd.rows has rows of %zu floats, not the %u of %s", mf->name,
				 rt->ndim == 2 ? rt->shape[1] : 0, m->dim, layout(m));
	if (!(bias = rec_model_expect(mf, "bias", "f32", 2)) || rec_embed_load(m->table, mf) < 0)
		return -1;
	m->w0 = bias[0];
	m->w0_acc = bias[1];
	return 0;
}

static int optim_from_kv(const struct rec_model *mf, struct rec_fm_opts *o, uint64_t *t)
{
	const char *opt = rec_kv_get(&mf->manifest, "model.optimizer");
	uint64_t decay = 0, batch = 0;
	const struct rec_model_number k[] = {
		{ "model.init_scale", &o->init_scale, NULL }, { "optim.lr", &o->lr, NULL },
		{ "optim.l2", &o->l2, NULL }, { "optim.eps", &o->eps, NULL }, { "optim.l1", &o->l1, NULL },
		{ "optim.ftrl_beta", &o->ftrl_beta, NULL }, { "model.seed", NULL, &o->seed },
		{ "optim.warmup", NULL, &o->warmup }, { "optim.decay", NULL, &decay },
		{ "optim.examples", NULL, t }, { "optim.batch", NULL, &batch },
	};

	o->optimizer = opt ? rec_optimizer_parse(opt) : REC_OPT_ADAGRAD;
	if (o->optimizer < 0)
		return rec_error("'%s': unknown model.optimizer '%s'", mf->name, opt);
	if (rec_model_numbers(mf, k, sizeof(k) / sizeof(k[0])) < 0)
		return -1;
	o->decay = decay != 0;
	if (batch > (1u << 20))
		return rec_error("'%s': optim.batch %llu is over 1048576", mf->name, (unsigned long long)batch);
	o->batch = (size_t)batch;
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
	uint64_t t = 0;

	if (!kind || (strcmp(kind, "lr") && strcmp(kind, "fm") && strcmp(kind, "ffm")) || !dim) {
		rec_error("'%s': not an lr, fm or ffm model (model.kind '%s')", mf->name,
			  kind ? kind : "");
		return NULL;
	}
	o.k = strcmp(kind, "lr") == 0 ? 0 : (unsigned)strtoul(dim, NULL, 10);
	o.ffm = strcmp(kind, "ffm") == 0;
	o.precision = prec && strcmp(prec, "fp16") == 0 ? REC_FP16 : REC_FP32;
	o.min_count = 1; /* every saved row is back at once */
	if (optim_from_kv(mf, &o, &t) < 0 || !(m_schema = rec_schema_from_kv(&mf->manifest, mf->name)))
		return NULL;
	m = rec_xcalloc(1, sizeof(*m));
	m->o = o;
	m->t = t;
	m->schema = m_schema;
	return m;
}

struct rec_fm_model *rec_fm_load_model(const struct rec_model *mf)
{
	struct rec_fm_model *shell = model_from_manifest(mf), *m = NULL;
	char *pre;

	if (!shell)
		return NULL;
	pre = rec_xmalloc(strlen(mf->name) + 5);
	sprintf(pre, "'%s': ", mf->name);
	m = fm_new(shell->schema, &shell->o, pre);
	if (m && load_rows(m, mf) < 0) {
		rec_fm_free(m);
		m = NULL;
	}
	if (m)
		m->t = shell->t;
	rec_fm_free(shell);
	free(pre);
	return m;
}

struct rec_fm_model *rec_fm_load(const char *path)
{
	struct rec_model *mf = rec_model_open_lazy(path);
	struct rec_fm_model *m = mf ? rec_fm_load_model(mf) : NULL;

	rec_model_close(mf);
	return m;
}
