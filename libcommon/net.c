/* net.c - deepfm, dlrm and ncf on mini-batches.
 *
 * A batch goes through four steps: gather (each feature's row, created on
 * first sight, and the batch's distinct rows read once), pool (field
 * vectors), the model (interactions and MLPs) forward and backward, and the
 * updates (Adam on the MLPs, row-wise Adagrad once per distinct row with the
 * gradient summed over the batch). The loss is the batch mean. */
#include "config.h"
#include "net.h"
#include "rowset.h"
#include "featspan.h"
#include "err.h"
#include "fm.h"
#include "fmtrain.h"
#include "hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct rec_net_batch {
	size_t cap_b, cap_f, cap_u;
	size_t nf;
	uint32_t *foff;          /* b + 1: each example's features */
	uint32_t *fslot, *fu;    /* per feature: slot, distinct-row index */
	float *fx;               /* per feature: value */
	struct rec_rowset rs;    /* the batch's distinct rows */
	float *R, *dR;           /* rs.n x rowdim: values, gradients */
	float *E, *dE;           /* b x estride: field vectors (and deepfm's folded x) */
	float *logit, *dlogit;   /* b */
	float *fsum;             /* deepfm: b x k, each example's sum of field vectors */
	float *din;              /* b x deep inputs: gradient of the deep part's input */
	float *dhead;            /* ncf: b x head inputs */
	float *dtower;           /* ncf: b x tower outputs */
	float *dbot;             /* dlrm: b x k, gradient of the bottom output */
	float *dense;            /* dlrm: b x numeric fields, the bottom's input */
	struct rec_featspan span;    /* the batch's features and their rows */
	unsigned char *take;     /* per schema field: it has a slot */
	unsigned *spos;          /* per slot: where its vector starts in a row of E */
	size_t estride;          /* floats from one example's row of E to the next */
	struct fold *fold;       /* deepfm with numeric fields */
};

/* deepfm's numeric fields fold into its first layer. Such a field's vector
 * is x v: its value times the one row v the field has. W_0 times x v is x
 * times W_0 v, so each batch computes W_0's k columns for the field times
 * v once, one column; the MLP then runs on the other fields' vectors and
 * each numeric field's x, a third fewer products on Criteo's 13 + 26
 * fields. W_0 stays the model's; its gradient and v's come back from the
 * folded columns' (unfold). The folded input, the first in columns of
 * each row of E, has a categorical slot's vector and a numeric slot's x,
 * in slot order; the numeric slots' vectors follow, for the FM part. */
struct fold {
	unsigned in;             /* folded inputs: (nslot - nnum) k + nnum */
	float *w;                /* deep.dim[1] x in: the folded W_0 */
	int *col;                /* per slot: a numeric one's column, or -1 */
	size_t nnum;
	unsigned *num_slot;      /* nnum: each numeric slot, its column in col */
	uint32_t *num_u;         /* nnum: its row's distinct index this batch, or NONE */
	size_t nruns;            /* categorical slots next to each other */
	unsigned *run_e, *run_x, *run_len;  /* where each starts among W_0's columns and the folded ones */
};
#define FOLD_NONE UINT32_MAX
#define FOLD_NUMERIC (-2)

static const char *const kind_names[] = { "deepfm", "dlrm", "ncf" };

const char *rec_net_kind_name(int kind)
{
	return kind_names[kind];
}

int rec_net_kind_parse(const char *name)
{
	return REC_NAME_INDEX(kind_names, name);
}

static int find_field(const struct rec_schema *s, const char *name)
{
	for (size_t f = 0; f < s->nfields; f++)
		if (strcmp(s->field[f].name, name) == 0)
			return (int)f;
	return -1;
}

/* Which field feeds which slot (or the dlrm bottom MLP). */
static int assign_fields(struct rec_net *n)
{
	const struct rec_schema *s = n->schema;

	n->slot = rec_xmalloc((s->nfields + 1) * sizeof(int));
	n->dense = rec_xmalloc((s->nfields + 1) * sizeof(int));
	for (size_t f = 0; f < s->nfields; f++) {
		int numeric = s->field[f].kind == REC_NUMERIC;
		n->slot[f] = n->dense[f] = -1;
		if (n->o.kind == REC_DLRM && numeric)
			n->dense[f] = (int)n->ndense++;
		else if (n->o.kind != REC_NCF)
			n->slot[f] = (int)n->nslot++;
	}
	if (n->o.kind == REC_NCF) {
		int u = find_field(s, n->o.user_field), i = find_field(s, n->o.item_field);
		if (u < 0 || i < 0 || u == i || s->field[u].kind == REC_NUMERIC ||
		    s->field[i].kind == REC_NUMERIC)
			return rec_error("ncf needs categorical user and item fields ('%s', '%s'): "
					 "name them with --user-field and --item-field",
					 n->o.user_field, n->o.item_field);
		n->slot[u] = 0;
		n->slot[i] = 1;
		n->nslot = 2;
	}
	if (n->nslot < (n->o.kind == REC_DLRM && !n->ndense ? 2u : 1u))
		return rec_error("%s needs more categorical fields than the stream has",
				 rec_net_kind_name(n->o.kind));
	return 0;
}

static void build_mlp(struct rec_mlp *m, unsigned in, const unsigned *hidden, size_t nh,
		      unsigned out, int relu_last, uint64_t seed)
{
	unsigned dims[REC_MLP_MAX_LAYERS + 1];

	dims[0] = in;
	for (size_t l = 0; l < nh; l++)
		dims[l + 1] = hidden[l];
	if (out)
		dims[++nh] = out;
	rec_mlp_init(m, dims, nh, relu_last, seed);
}

static void build_dense(struct rec_net *n)
{
	unsigned k = n->o.k, nh = (unsigned)n->o.nhidden;
	size_t c = n->nslot + (n->ndense ? 1 : 0);

	switch (n->o.kind) {
	case REC_DEEPFM:
		build_mlp(&n->deep, (unsigned)n->nslot * k, n->o.hidden, nh, 1, 0, n->o.seed);
		break;
	case REC_DLRM:
		if (n->ndense)
			build_mlp(&n->bottom, (unsigned)n->ndense, n->o.bottom, n->o.nbottom, k, 1,
				  n->o.seed + 1);
		build_mlp(&n->deep, (n->ndense ? k : 0) + (unsigned)(c * (c - 1) / 2), n->o.hidden, nh,
			  1, 0, n->o.seed);
		break;
	case REC_NCF:
		build_mlp(&n->deep, 2 * k, n->o.hidden, nh, 0, 1, n->o.seed);
		build_mlp(&n->head, k + rec_mlp_out(&n->deep), NULL, 0, 1, 0, n->o.seed + 2);
		break;
	}
}

/* Where deepfm folds its numeric slots (struct fold), in slot order. */
static void plan_fold(struct rec_net *n, struct rec_net_batch *bt)
{
	unsigned k = n->o.k, col = 0;
	size_t nnum = 0, c = 0;
	struct fold *fd;

	for (size_t f = 0; n->o.kind == REC_DEEPFM && f < n->schema->nfields; f++)
		nnum += n->slot[f] >= 0 && n->schema->field[f].kind == REC_NUMERIC;
	if (!nnum)
		return;
	fd = bt->fold = rec_xcalloc(1, sizeof(*fd));
	fd->nnum = nnum;
	fd->col = rec_xmalloc(n->nslot * sizeof(int));
	fd->num_slot = rec_xmalloc(nnum * sizeof(unsigned));
	fd->num_u = rec_xmalloc(nnum * sizeof(uint32_t));
	fd->run_e = rec_xmalloc(n->nslot * 3 * sizeof(unsigned));
	fd->run_x = fd->run_e + n->nslot;
	fd->run_len = fd->run_x + n->nslot;
	for (size_t s = 0; s < n->nslot; s++)
		fd->col[s] = -1;
	for (size_t f = 0; f < n->schema->nfields; f++)   /* numeric, its column to come */
		if (n->slot[f] >= 0 && n->schema->field[f].kind == REC_NUMERIC)
			fd->col[n->slot[f]] = FOLD_NUMERIC;
	for (unsigned s = 0; s < n->nslot; s++) {
		size_t r = fd->nruns;
		if (fd->col[s] == FOLD_NUMERIC) {
			fd->col[s] = (int)col++;
			fd->num_slot[c++] = s;
			continue;
		}
		bt->spos[s] = col;
		if (r && fd->run_e[r - 1] + fd->run_len[r - 1] == s * k) {
			fd->run_len[r - 1] += k;
		} else {
			fd->run_e[r] = s * k;
			fd->run_x[r] = col;
			fd->run_len[fd->nruns++] = k;
		}
		col += k;
	}
	fd->in = col;
	for (c = 0; c < nnum; c++)
		bt->spos[fd->num_slot[c]] = col + (unsigned)c * k;
	bt->estride = col + nnum * k;
	fd->w = rec_xmalloc((size_t)n->deep.dim[1] * col * sizeof(float));
	rec_mlp_set_front(&n->deep, col, fd->w);
}

/* The batch's workspace, and where each slot's vector goes in E: in slot
 * order but where deepfm folds. */
static struct rec_net_batch *new_batch(struct rec_net *n)
{
	struct rec_net_batch *bt = rec_xcalloc(1, sizeof(*bt));

	bt->spos = rec_xmalloc((n->nslot + 1) * sizeof(unsigned));
	for (size_t s = 0; s < n->nslot; s++)
		bt->spos[s] = (unsigned)(s * n->width);
	bt->estride = n->nslot * n->width;
	plan_fold(n, bt);
	return bt;
}

struct rec_net *rec_net_new(const struct rec_schema *s, const struct rec_net_opts *o)
{
	struct rec_embed_opts eo = REC_EMBED_OPTS_INIT;
	struct rec_net *n;

	if (!(s->flags & REC_HASHED)) {
		rec_error("training needs a hashed stream (pipe it through rec-hash)");
		return NULL;
	}
	if (o->nhidden + 1 > REC_MLP_MAX_LAYERS || o->nbottom + 1 > REC_MLP_MAX_LAYERS) {
		rec_error("at most %d hidden layers", REC_MLP_MAX_LAYERS - 1);
		return NULL;
	}
	n = rec_xcalloc(1, sizeof(*n));
	n->o = *o;
	n->schema = rec_schema_copy(s);
	n->voff = o->kind == REC_DEEPFM;
	n->width = o->kind == REC_NCF ? 2 * o->k : o->k;
	n->rowdim = n->voff + n->width;
	if (assign_fields(n) < 0) {
		rec_net_free(n);
		return NULL;
	}
	eo.dim = n->rowdim;
	eo.precision = o->precision;
	eo.init_scale = o->init_scale;
	eo.seed = o->seed;
	eo.min_count = o->min_count;
	if (!(n->table = rec_embed_new(&eo))) {
		rec_net_free(n);
		return NULL;
	}
	n->numeric_id = rec_xcalloc(s->nfields + 1, sizeof(uint64_t));
	for (size_t f = 0; f < s->nfields; f++)
		n->numeric_id[f] = rec_hash_salt(s->seed, s->field[f].name) ^ UINT64_C(0x6e756d6572696300);
	build_dense(n);
	rec_net_set_threads(n, o->threads);
	n->bt = new_batch(n);
	return n;
}

void rec_net_mlps(const struct rec_net *n, struct rec_mlp *m[3])
{
	struct rec_net *w = (struct rec_net *)n;

	m[0] = &w->deep;
	m[1] = n->ndense ? &w->bottom : NULL;
	m[2] = n->o.kind == REC_NCF ? &w->head : NULL;
}

void rec_net_set_threads(struct rec_net *n, unsigned threads)
{
	struct rec_mlp *m[3];

#ifdef _OPENMP
	if (threads == 0)
		threads = (unsigned)omp_get_max_threads();
#endif
	n->threads = threads ? threads : 1;
	rec_net_mlps(n, m);
	for (int i = 0; i < 3; i++)
		if (m[i])
			rec_mlp_threads(m[i], n->threads);
}

static void free_fold(struct fold *fd)
{
	if (!fd)
		return;
	free(fd->w);
	free(fd->col);
	free(fd->num_slot);
	free(fd->num_u);
	free(fd->run_e);
	free(fd);
}

static void free_batch(struct rec_net_batch *bt)
{
	if (!bt)
		return;
	free_fold(bt->fold);
	free(bt->spos);
	free(bt->foff);
	free(bt->fslot);
	free(bt->fu);
	free(bt->fx);
	rec_rowset_free(&bt->rs);
	free(bt->R);
	free(bt->dR);
	free(bt->E);
	free(bt->dE);
	free(bt->logit);
	free(bt->dlogit);
	free(bt->fsum);
	free(bt->din);
	free(bt->dhead);
	free(bt->dtower);
	free(bt->dbot);
	free(bt->dense);
	free(bt->take);
	rec_featspan_free(&bt->span);
	free(bt);
}

void rec_net_free(struct rec_net *n)
{
	if (!n)
		return;
	rec_embed_free(n->table);
	rec_schema_free(n->schema);
	free(n->slot);
	free(n->dense);
	free(n->numeric_id);
	if (n->deep.param)
		rec_mlp_free(&n->deep);
	if (n->bottom.param)
		rec_mlp_free(&n->bottom);
	if (n->head.param)
		rec_mlp_free(&n->head);
	free_batch(n->bt);
	free(n);
}

/* ---- gather ------------------------------------------------------------ */

static void reserve_examples(struct rec_net *n, size_t b)
{
	struct rec_net_batch *bt = n->bt;
	size_t e = b * bt->estride;

	if (b <= bt->cap_b)
		return;
	bt->cap_b = b;
	bt->foff = rec_xrealloc(bt->foff, (b + 1) * sizeof(uint32_t));
	bt->E = rec_xrealloc(bt->E, e * sizeof(float));
	bt->dE = rec_xrealloc(bt->dE, e * sizeof(float));
	bt->logit = rec_xrealloc(bt->logit, b * sizeof(float));
	bt->dlogit = rec_xrealloc(bt->dlogit, b * sizeof(float));
	bt->din = rec_xrealloc(bt->din, b * n->deep.dim[0] * sizeof(float));
	if (n->o.kind == REC_DEEPFM)
		bt->fsum = rec_xrealloc(bt->fsum, b * n->o.k * sizeof(float));
	if (n->o.kind == REC_NCF) {
		bt->dhead = rec_xrealloc(bt->dhead, b * n->head.dim[0] * sizeof(float));
		bt->dtower = rec_xrealloc(bt->dtower, b * rec_mlp_out(&n->deep) * sizeof(float));
	}
	if (n->ndense) {
		bt->dbot = rec_xrealloc(bt->dbot, b * n->o.k * sizeof(float));
		bt->dense = rec_xrealloc(bt->dense, b * n->ndense * sizeof(float));
	}
}

static void reserve_features(struct rec_net_batch *bt, size_t nf)
{
	if (nf <= bt->cap_f)
		return;
	bt->cap_f = nf * 2;
	bt->fslot = rec_xrealloc(bt->fslot, bt->cap_f * sizeof(uint32_t));
	bt->fu = rec_xrealloc(bt->fu, bt->cap_f * sizeof(uint32_t));
	bt->fx = rec_xrealloc(bt->fx, bt->cap_f * sizeof(float));
}

/* Sizes the row -> distinct index table for up to nf distinct rows. */
/* Empties the distinct rows for a batch of up to nf of them. */
static void clear_distinct(struct rec_net *n, size_t nf)
{
	struct rec_net_batch *bt = n->bt;

	rec_rowset_clear(&bt->rs, nf);
	if (bt->rs.cap <= bt->cap_u)
		return;
	bt->cap_u = bt->rs.cap;
	bt->R = rec_xrealloc(bt->R, bt->cap_u * n->rowdim * sizeof(float));
	bt->dR = rec_xrealloc(bt->dR, bt->cap_u * n->rowdim * sizeof(float));
}

/* Record r's numbers, dlrm's bottom MLP input. */
static void dense_record(const struct rec_net *n, const struct rec_block *b, size_t r, float *dense)
{
	memset(dense, 0, n->ndense * sizeof(float));
	for (size_t f = 0; f < b->schema->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (n->dense[f] < 0)
			continue;
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++)
			dense[n->dense[f]] += rec_squash(c->val[i]);
	}
}

/* The fields that feed a slot, for rec_featspan_lookup. */
static const unsigned char *slotted_fields(struct rec_net *n)
{
	struct rec_net_batch *bt = n->bt;

	if (!bt->take) {
		bt->take = rec_xmalloc(n->schema->nfields + 1);
		for (size_t f = 0; f < n->schema->nfields; f++)
			bt->take[f] = n->slot[f] >= 0;
	}
	return bt->take;
}

/* Each folded numeric slot's row among the batch's distinct rows: every
 * feature of the slot has it, and the first example with one tells. */
static void find_numeric_rows(struct rec_net_batch *bt, size_t count)
{
	struct fold *fd = bt->fold;

	for (size_t c = 0; c < fd->nnum; c++) {
		fd->num_u[c] = FOLD_NONE;
		for (uint32_t j = 0; j < bt->foff[count] && fd->num_u[c] == FOLD_NONE; j++)
			if (bt->fslot[j] == fd->num_slot[c])
				fd->num_u[c] = bt->fu[j];
	}
}

/* Gathers records [first, first + count): features (their rows looked up
 * in one batch), distinct rows and their values, dlrm's numbers. */
static void gather(struct rec_net *n, const struct rec_block *b, size_t first, size_t count, int create)
{
	struct rec_net_batch *bt = n->bt;
	const struct rec_featspan *sp = &bt->span;

	reserve_examples(n, count);
	for (size_t i = 0; n->ndense && i < count; i++)
		dense_record(n, b, first + i, bt->dense + i * n->ndense);
	n->seen += rec_featspan_lookup(&bt->span, n->table, b, first, first + count, n->numeric_id,
				   slotted_fields(n), create);
	n->found += sp->at[count];
	reserve_features(bt, sp->at[count]);
	clear_distinct(n, sp->at[count] + 1);
	bt->nf = 0;
	for (size_t i = 0; i < count; i++) {
		bt->foff[i] = (uint32_t)bt->nf;
		for (size_t j = sp->at[i]; j < sp->at[i + 1]; j++) {
			bt->fslot[bt->nf] = (uint32_t)n->slot[sp->fld[j]];
			bt->fx[bt->nf] = sp->x[j];
			bt->fu[bt->nf++] = rec_rowset_add(&bt->rs, sp->rows[j]);
		}
	}
	bt->foff[count] = (uint32_t)bt->nf;
	rec_embed_read_many(n->table, bt->rs.row, bt->rs.n, bt->R);
	if (bt->fold)
		find_numeric_rows(bt, count);
}

/* Field vectors of example i (and deepfm's first-order sum in logit[i]). */
static void pool(struct rec_net *n, size_t i)
{
	struct rec_net_batch *bt = n->bt;
	size_t w = n->width;
	float *e = bt->E + i * bt->estride, first = 0;
	const struct fold *fd = bt->fold;

	memset(e, 0, bt->estride * sizeof(float));
	for (uint32_t j = bt->foff[i]; j < bt->foff[i + 1]; j++) {
		const float *row = bt->R + (size_t)bt->fu[j] * n->rowdim;
		float x = bt->fx[j], *restrict dst = e + bt->spos[bt->fslot[j]];
		const float *restrict v = row + n->voff;
		if (n->voff)
			first += x * row[0];
		if (fd && fd->col[bt->fslot[j]] >= 0)
			e[fd->col[bt->fslot[j]]] += x;
#pragma omp simd
		for (size_t d = 0; d < w; d++)
			dst[d] += x * v[d];
	}
	bt->logit[i] = first;
}

/* Adds x * dE of each feature's slot (and dlogit * x to deepfm's w) to the
 * gradient of its distinct row. Serial: distinct rows are shared. */
static void scatter(struct rec_net *n, size_t count)
{
	struct rec_net_batch *bt = n->bt;
	size_t w = n->width;

	memset(bt->dR, 0, bt->rs.n * n->rowdim * sizeof(float));
	for (size_t i = 0; i < count; i++) {
		const float *de = bt->dE + i * bt->estride;
		for (uint32_t j = bt->foff[i]; j < bt->foff[i + 1]; j++) {
			float *g = bt->dR + (size_t)bt->fu[j] * n->rowdim, x = bt->fx[j];
			float *restrict gv = g + n->voff;
			const float *restrict src = de + bt->spos[bt->fslot[j]];
			if (n->voff)
				g[0] += x * bt->dlogit[i];
#pragma omp simd
			for (size_t d = 0; d < w; d++)
				gv[d] += x * src[d];
		}
	}
}

/* ---- the models ---------------------------------------------------------- */

/* Each model runs a thread's share of the batch, examples [lo, hi), through
 * the thread's MLP workspace t: row i - lo there is example i. */

/* s = the sum of the example's field vectors (in its row of E, e, at
 * spos), sq that of their squares: a vector loop over the k dimensions,
 * each summing the fields in order as a loop per dimension would. */
static void field_sums(const float *e, const unsigned *spos, size_t fields, size_t k, float *restrict s,
		       float *restrict sq)
{
	memset(s, 0, k * sizeof(float));
	memset(sq, 0, k * sizeof(float));
	for (size_t f = 0; f < fields; f++) {
		const float *restrict v = e + spos[f];
#pragma omp simd
		for (size_t d = 0; d < k; d++) {
			s[d] += v[d];
			sq[d] += v[d] * v[d];
		}
	}
}

/* The row of folded numeric slot c this batch: its v, or NULL. */
static const float *numeric_row(const struct rec_net *n, size_t c)
{
	uint32_t u = n->bt->fold->num_u[c];

	return u == FOLD_NONE ? NULL : n->bt->R + (size_t)u * n->rowdim + n->voff;
}

/* The folded W_0 for this batch's numeric rows: the categorical slots'
 * columns as they are, each numeric slot's k columns times its v. */
static void fold_weights(struct rec_net *n)
{
	const struct fold *fd = n->bt->fold;
	const struct rec_mlp *m = &n->deep;
	size_t k = n->o.k, in = m->dim[0];

	for (size_t o = 0; o < m->dim[1]; o++) {
		const float *w = m->param + m->w_off[0] + o * in;
		float *fw = fd->w + o * fd->in;
		for (size_t r = 0; r < fd->nruns; r++)
			memcpy(fw + fd->run_x[r], w + fd->run_e[r], fd->run_len[r] * sizeof(float));
		for (size_t c = 0; c < fd->nnum; c++) {
			const float *v = numeric_row(n, c), *ws = w + (size_t)fd->num_slot[c] * k;
			float sum = 0;
			for (size_t d = 0; v && d < k; d++)
				sum += ws[d] * v[d];
			fw[fd->col[fd->num_slot[c]]] = sum;
		}
	}
}

/* After the backward: W_0's gradient and the numeric rows' from the
 * folded weights'. A folded column's gradient is the sum over the batch
 * of the unit's gradient times x; times v it is W_0's for the slot's k
 * columns, and W_0^T times it is v's from the deep part. */
static void unfold_grads(struct rec_net *n)
{
	struct rec_net_batch *bt = n->bt;
	const struct fold *fd = bt->fold;
	struct rec_mlp *m = &n->deep;
	size_t k = n->o.k, in = m->dim[0];
	float *G = rec_mlp_front_grad(m);

	for (size_t o = 0; o < m->dim[1]; o++) {
		const float *gf = G + o * fd->in, *w = m->param + m->w_off[0] + o * in;
		float *g = m->grad + m->w_off[0] + o * in;
		for (size_t r = 0; r < fd->nruns; r++)
			for (size_t d = 0; d < fd->run_len[r]; d++)
				g[fd->run_e[r] + d] += gf[fd->run_x[r] + d];
		for (size_t c = 0; c < fd->nnum; c++) {
			const float *v = numeric_row(n, c);
			size_t s0 = (size_t)fd->num_slot[c] * k;
			float gc = gf[fd->col[fd->num_slot[c]]], *dv;
			if (!v)
				continue;
			dv = bt->dR + (size_t)fd->num_u[c] * n->rowdim + n->voff;
			for (size_t d = 0; d < k; d++) {
				g[s0 + d] += gc * v[d];
				dv[d] += w[s0 + d] * gc;
			}
		}
	}
	memset(G, 0, m->dim[1] * fd->in * sizeof(float));
}

/* deepfm: FM over the field vectors plus the deep part over their concat
 * (folded: struct fold); the field sums wait in fsum for the backward. */
static void deepfm_forward(struct rec_net *n, size_t t, size_t lo, size_t hi)
{
	struct rec_net_batch *bt = n->bt;
	size_t k = n->o.k, ld = bt->estride;
	float *sq = rec_xmalloc(k * sizeof(float));
	const float *out;

	out = rec_mlp_forward_from(&n->deep, t, hi - lo, bt->E + lo * ld, ld);
	for (size_t i = lo; i < hi; i++) {
		float fm = 0, *s = bt->fsum + i * k;
		field_sums(bt->E + i * ld, bt->spos, n->nslot, k, s, sq);
		for (size_t d = 0; d < k; d++)
			fm += s[d] * s[d] - sq[d];
		bt->logit[i] += 0.5f * fm + out[i - lo];
	}
	free(sq);
}

/* The deep part's input gradient lands in dE as its input lay in E;
 * folded, the numeric slots' vectors get none: theirs goes to v whole, in
 * unfold_grads. */
static void deepfm_backward(struct rec_net *n, size_t t, size_t lo, size_t hi)
{
	struct rec_net_batch *bt = n->bt;
	const struct fold *fd = bt->fold;
	size_t k = n->o.k, ld = bt->estride;

	rec_mlp_backward(&n->deep, t, hi - lo, bt->dlogit + lo, bt->dE + lo * ld);
	for (size_t i = lo; i < hi; i++) {
		const float *e = bt->E + i * ld, *restrict s = bt->fsum + i * k;
		float *de = bt->dE + i * ld, g = bt->dlogit[i];
		if (fd)
			memset(de + fd->in, 0, fd->nnum * k * sizeof(float));
		for (size_t f = 0; f < n->nslot; f++) {
			const float *restrict v = e + bt->spos[f];
			float *restrict dv = de + bt->spos[f];
#pragma omp simd
			for (size_t d = 0; d < k; d++)
				dv[d] += g * (s[d] - v[d]);
		}
	}
}

/* dlrm's vectors z_0 .. z_{c-1} of example i into z: its bottom output b
 * first when there is one, then its field vectors in E. */
static void dlrm_vectors(const struct rec_net *n, float *E, float *b, size_t i, float **z)
{
	size_t a = 0;

	if (n->ndense)
		z[a++] = b;
	for (size_t f = 0; f < n->nslot; f++)
		z[a++] = E + (i * n->nslot + f) * n->o.k;
}

/* dlrm's kernels keep their sums in vector registers across the inner
 * loop (accumulated in memory, each add would wait on the store before
 * it), 8 floats a vector: GCC's vector extension, which the default
 * clone does as two SSE halves and the AVX2 clone as one. Adds and
 * multiplies only, elementwise and without FMA, so every sum is what a
 * scalar loop gives, on any machine. */
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));   /* any float * */
#define TILE 8
#define KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#define load8(p) (*(const v8f *)(const void *)(p))
#define store8(p, v) (*(v8f *)(void *)(p) = (v))

/* c rounded up to whole tiles: a row of Z^T in the forward's scratch. */
static size_t whole_tiles(size_t c)
{
	return (c + TILE - 1) / TILE * TILE;
}

/* The forward's scratch, in floats: Z^T with rows padded to whole tiles
 * and a tile more, then two rows of dots. */
static size_t dots_scratch(size_t c, size_t k)
{
	return k * whole_tiles(c) + TILE + 2 * whole_tiles(c);
}

/* Rows u and u + 1 of Z Z^T over the ntile tiles of v from tile t, into
 * r0 and r1: each tile's k adds are a chain of latency, and the 2 ntile
 * chains overlap (with ntile 4, eight). A constant ntile in each inlined
 * copy keeps the sums in registers. */
static inline __attribute__((always_inline)) void dot_tiles(const float *zt, size_t cp, size_t k, size_t u,
							    size_t t, float *r0, float *r1, int ntile)
{
	v8f a0[4] = { { 0 } }, a1[4] = { { 0 } };

	for (size_t d = 0; d < k; d++) {
		const float *row = zt + d * cp;
		float x0 = row[u], x1 = row[u + 1];
#pragma GCC unroll 4
		for (int j = 0; j < ntile; j++) {
			v8f y = load8(row + (t + (size_t)j) * TILE);
			a0[j] += x0 * y;
			a1[j] += x1 * y;
		}
	}
#pragma GCC unroll 4
	for (int j = 0; j < ntile; j++) {
		store8(r0 + (t + (size_t)j) * TILE, a0[j]);
		store8(r1 + (t + (size_t)j) * TILE, a1[j]);
	}
}

/* The dots z_u . z_v, u < v, in that order into out; scratch holds
 * dots_scratch(c, k) floats, zeroed. Through zt = Z^T the v are lanes, two
 * rows u at a time over every tile that holds a v > u, and every dot
 * still sums its k products in order from 0. Lanes at or below the
 * diagonal, and past c, are computed and dropped; a row u + 1 = c reads
 * the padding. */
KERNEL_CLONES static void dlrm_dots(float *const *z, size_t c, size_t k, float *restrict scratch,
				    float *restrict out)
{
	size_t cp = whole_tiles(c), nt = cp / TILE;
	float *zt = scratch, *r0 = zt + k * cp + TILE, *r1 = r0 + cp;

	for (size_t u = 0; u < c; u++)
		for (size_t d = 0; d < k; d++)
			zt[d * cp + u] = z[u][d];
	for (size_t u = 0; u + 1 < c; u += 2) {
		size_t t = (u + 1) / TILE;
		for (; t + 4 <= nt; t += 4)
			dot_tiles(zt, cp, k, u, t, r0, r1, 4);
		for (; t + 2 <= nt; t += 2)
			dot_tiles(zt, cp, k, u, t, r0, r1, 2);
		if (t < nt)
			dot_tiles(zt, cp, k, u, t, r0, r1, 1);
		memcpy(out, r0 + u + 1, (c - u - 1) * sizeof(float));
		out += c - u - 1;
		if (u + 2 < c) {
			memcpy(out, r1 + u + 2, (c - u - 2) * sizeof(float));
			out += c - u - 2;
		}
	}
}

/* dlrm_dots_backward's dimensions d0 .. k-1 of row w, gw its gradients. */
static inline __attribute__((always_inline)) void dots_backward_tail(float *const *z, float *const *dz,
								      const float *gw, size_t c, size_t k,
								      size_t w, size_t d0)
{
	for (; d0 + TILE <= k; d0 += TILE) {
		v8f a0 = load8(dz[w] + d0);
		for (size_t x = 0; x < c; x++)
			if (x != w)
				a0 += gw[x] * load8(z[x] + d0);
		store8(dz[w] + d0, a0);
	}
	for (; d0 < k; d0++) {
		float s = dz[w][d0];
		for (size_t x = 0; x < c; x++)
			if (x != w)
				s += gw[x] * z[x][d0];
		dz[w][d0] = s;
	}
}

/* Rows dlrm_dots_backward takes at a time: each row's two tiles of
 * dimensions are chains of c adds, and four rows' eight chains overlap. */
#define BACK_ROWS 4

/* dz_w += sum over x != w, in order, of g_wx z_x, where g holds the dots'
 * gradients in dlrm_dots' order (gs: c x c scratch). The sum's order is
 * the one of adding each pair's two terms in pair order. Past the last
 * row, a group repeats it: the same sums, stored again. */
KERNEL_CLONES static void dlrm_dots_backward(float *const *z, float *const *dz, const float *g, size_t c,
					     size_t k, float *gs)
{
	for (size_t u = 0; u < c; u++)
		for (size_t v = u + 1; v < c; v++, g++)
			gs[u * c + v] = gs[v * c + u] = *g;
	for (size_t w = 0; w < c; w += BACK_ROWS) {
		size_t d0 = 0, r[BACK_ROWS];
#pragma GCC unroll 4
		for (int j = 0; j < BACK_ROWS; j++)
			r[j] = w + (size_t)j < c ? w + (size_t)j : c - 1;
		for (; d0 + 2 * TILE <= k; d0 += 2 * TILE) {
			v8f a0[BACK_ROWS], a1[BACK_ROWS];
#pragma GCC unroll 4
			for (int j = 0; j < BACK_ROWS; j++) {
				a0[j] = load8(dz[r[j]] + d0);
				a1[j] = load8(dz[r[j]] + d0 + TILE);
			}
			for (size_t x = 0; x < c; x++) {
				v8f z0 = load8(z[x] + d0), z1 = load8(z[x] + d0 + TILE);
#pragma GCC unroll 4
				for (int j = 0; j < BACK_ROWS; j++)
					if (x != r[j]) {
						a0[j] += gs[r[j] * c + x] * z0;
						a1[j] += gs[r[j] * c + x] * z1;
					}
			}
#pragma GCC unroll 4
			for (int j = 0; j < BACK_ROWS; j++) {
				store8(dz[r[j]] + d0, a0[j]);
				store8(dz[r[j]] + d0 + TILE, a1[j]);
			}
		}
		for (size_t v = w; v < w + BACK_ROWS && v < c; v++)
			dots_backward_tail(z, dz, gs + v * c, c, k, v, d0);
	}
}

static size_t dlrm_count(const struct rec_net *n)
{
	return n->nslot + (n->ndense ? 1 : 0);
}

static void dlrm_forward(struct rec_net *n, size_t t, size_t lo, size_t hi)
{
	struct rec_net_batch *bt = n->bt;
	size_t k = n->o.k, c = dlrm_count(n), in = n->deep.dim[0];
	float *bot = NULL, *top, **z = rec_xmalloc(c * sizeof(float *));
	float *zt = rec_xcalloc(dots_scratch(c, k), sizeof(float));

	if (n->ndense) {
		memcpy(rec_mlp_input(&n->bottom, t, hi - lo), bt->dense + lo * n->ndense,
		       (hi - lo) * n->ndense * sizeof(float));
		bot = (float *)rec_mlp_forward(&n->bottom, t, hi - lo);
	}
	top = rec_mlp_input(&n->deep, t, hi - lo);
	for (size_t i = lo; i < hi; i++) {
		float *x = top + (i - lo) * in, *b = bot ? bot + (i - lo) * k : NULL;
		if (b) {
			memcpy(x, b, k * sizeof(float));
			x += k;
		}
		dlrm_vectors(n, bt->E, b, i, z);
		dlrm_dots(z, c, k, zt, x);
	}
	free(z);
	free(zt);
	rec_mlp_forward(&n->deep, t, hi - lo);
	for (size_t i = lo; i < hi; i++)
		bt->logit[i] = rec_mlp_output(&n->deep, t)[i - lo];
}

static void dlrm_backward(struct rec_net *n, size_t t, size_t lo, size_t hi)
{
	struct rec_net_batch *bt = n->bt;
	size_t k = n->o.k, c = dlrm_count(n), in = n->deep.dim[0];
	float *bot = n->ndense ? (float *)rec_mlp_output(&n->bottom, t) : NULL;
	float **z = rec_xmalloc(2 * c * sizeof(float *)), **dz = z + c, *gs = rec_xmalloc(c * c * sizeof(float));

	rec_mlp_backward(&n->deep, t, hi - lo, bt->dlogit + lo, bt->din + lo * in);
	memset(bt->dE + lo * n->nslot * k, 0, (hi - lo) * n->nslot * k * sizeof(float));
	for (size_t i = lo; i < hi; i++) {
		float *b = bot ? bot + (i - lo) * k : NULL, *db = bot ? bt->dbot + i * k : NULL;
		if (bot)
			memcpy(db, bt->din + i * in, k * sizeof(float));
		dlrm_vectors(n, bt->E, b, i, z);
		dlrm_vectors(n, bt->dE, db, i, dz);
		dlrm_dots_backward(z, dz, bt->din + i * in + (bot ? k : 0), c, k, gs);
	}
	free(z);
	free(gs);
	if (bot)
		rec_mlp_backward(&n->bottom, t, hi - lo, bt->dbot + lo * k, NULL);
}

/* ncf: the GMF product and the tower's output, through the head. */
static void ncf_forward(struct rec_net *n, size_t t, size_t lo, size_t hi)
{
	struct rec_net_batch *bt = n->bt;
	size_t k = n->o.k, h = rec_mlp_out(&n->deep);
	float *tin = rec_mlp_input(&n->deep, t, hi - lo), *hin;
	const float *tout, *out;

	for (size_t i = lo; i < hi; i++) {
		const float *p = bt->E + i * 4 * k, *q = p + 2 * k;
		memcpy(tin + (i - lo) * 2 * k, p + k, k * sizeof(float));
		memcpy(tin + (i - lo) * 2 * k + k, q + k, k * sizeof(float));
	}
	tout = rec_mlp_forward(&n->deep, t, hi - lo);
	hin = rec_mlp_input(&n->head, t, hi - lo);
	for (size_t i = lo; i < hi; i++) {
		const float *p = bt->E + i * 4 * k, *q = p + 2 * k;
		float *x = hin + (i - lo) * (k + h);
		for (size_t d = 0; d < k; d++)
			x[d] = p[d] * q[d];
		memcpy(x + k, tout + (i - lo) * h, h * sizeof(float));
	}
	out = rec_mlp_forward(&n->head, t, hi - lo);
	for (size_t i = lo; i < hi; i++)
		bt->logit[i] = out[i - lo];
}

static void ncf_backward(struct rec_net *n, size_t t, size_t lo, size_t hi)
{
	struct rec_net_batch *bt = n->bt;
	size_t k = n->o.k, h = rec_mlp_out(&n->deep);

	rec_mlp_backward(&n->head, t, hi - lo, bt->dlogit + lo, bt->dhead + lo * (k + h));
	for (size_t i = lo; i < hi; i++)
		memcpy(bt->dtower + i * h, bt->dhead + i * (k + h) + k, h * sizeof(float));
	rec_mlp_backward(&n->deep, t, hi - lo, bt->dtower + lo * h, bt->din + lo * 2 * k);
	for (size_t i = lo; i < hi; i++) {
		const float *p = bt->E + i * 4 * k, *q = p + 2 * k, *g = bt->dhead + i * (k + h);
		float *dp = bt->dE + i * 4 * k, *dq = dp + 2 * k;
		for (size_t d = 0; d < k; d++) {
			dp[d] = g[d] * q[d];
			dq[d] = g[d] * p[d];
		}
		memcpy(dp + k, bt->din + i * 2 * k, k * sizeof(float));
		memcpy(dq + k, bt->din + i * 2 * k + k, k * sizeof(float));
	}
}

/* ---- batches ------------------------------------------------------------- */

/* Thread t's share of count examples. */
static void share(size_t count, size_t t, size_t threads, size_t *lo, size_t *hi)
{
	*lo = count * t / threads;
	*hi = count * (t + 1) / threads;
}

static void forward(struct rec_net *n, size_t count)
{
	size_t threads = n->threads < count ? n->threads : 1;

	if (n->bt->fold)
		fold_weights(n);
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
	for (size_t t = 0; t < threads; t++) {
		size_t lo, hi;
		share(count, t, threads, &lo, &hi);
		for (size_t i = lo; i < hi; i++)
			pool(n, i);
		switch (n->o.kind) {
		case REC_DEEPFM: deepfm_forward(n, t, lo, hi); break;
		case REC_DLRM: dlrm_forward(n, t, lo, hi); break;
		case REC_NCF: ncf_forward(n, t, lo, hi); break;
		}
	}
}

/* Same shares as the forward that came before. */
static void backward(struct rec_net *n, size_t count)
{
	size_t threads = n->threads < count ? n->threads : 1;
	struct rec_mlp *m[3];

#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
	for (size_t t = 0; t < threads; t++) {
		size_t lo, hi;
		share(count, t, threads, &lo, &hi);
		switch (n->o.kind) {
		case REC_DEEPFM: deepfm_backward(n, t, lo, hi); break;
		case REC_DLRM: dlrm_backward(n, t, lo, hi); break;
		case REC_NCF: ncf_backward(n, t, lo, hi); break;
		}
	}
	rec_net_mlps(n, m);
	for (int i = 0; i < 3; i++)
		if (m[i])
			rec_mlp_reduce(m[i]);
	scatter(n, count);
	if (n->bt->fold)
		unfold_grads(n);
}

/* Sum of the weighted logistic losses; dlogit gets the gradient of their
 * mean over the batch. */
static double batch_loss(struct rec_net *n, const struct rec_block *b, size_t first, size_t count)
{
	struct rec_net_batch *bt = n->bt;
	double sum = 0;

	for (size_t i = 0; i < count; i++) {
		size_t r = first + i;
		float w = (b->schema->flags & REC_HAS_WEIGHT) ? b->weight[r] : 1, g;
		sum += w * rec_logistic_loss(bt->logit[i], b->label[r], &g);
		bt->dlogit[i] = w * g / (float)count;
	}
	return sum;
}

static double dense_flops(const struct rec_net *n, size_t count)
{
	double f = rec_mlp_flops(&n->deep, count, 1);

	if (n->ndense)
		f += rec_mlp_flops(&n->bottom, count, 0);
	if (n->o.kind == REC_NCF)
		f += rec_mlp_flops(&n->head, count, 1);
	return f;
}

static void update_dense(struct rec_net *n, float scale)
{
	struct rec_mlp *m[3];

	rec_net_mlps(n, m);
	for (int i = 0; i < 3; i++) {
		if (!m[i])
			continue;
		if (n->o.freeze & REC_FREEZE_DENSE)
			rec_mlp_zero_grad(m[i]);
		else
			rec_mlp_adam(m[i], n->o.dense_lr * scale);
	}
}

static void update_rows(struct rec_net *n, float scale)
{
	struct rec_net_batch *bt = n->bt;

	if (n->o.freeze & REC_FREEZE_EMBED)
		return;
	size_t parts = n->threads > 1 && bt->rs.n >= 4096 ? n->threads : 1;

	/* distinct rows: no two threads touch the same one */
#pragma omp parallel for num_threads(parts) if (parts > 1)
	for (size_t t = 0; t < parts; t++) {
		size_t lo, hi, w = n->rowdim;
		share(bt->rs.n, t, parts, &lo, &hi);
		float *restrict g = bt->dR + lo * w;
		const float *restrict row = bt->R + lo * w;
#pragma omp simd
		for (size_t d = 0; d < (hi - lo) * w; d++)
			g[d] += n->o.l2 * row[d];
		rec_embed_adagrad_many(n->table, bt->rs.row + lo, hi - lo, g, n->o.lr * scale, n->o.eps);
	}
}

static void train_batch(struct rec_net *n, const struct rec_block *b, size_t first, size_t count,
			double *loss)
{
	float scale = rec_lr_at(1, n->o.warmup, n->o.decay, n->trained);

	gather(n, b, first, count, !(n->o.freeze & REC_FREEZE_EMBED));
	forward(n, count);
	*loss += batch_loss(n, b, first, count);
	if (scale == 0) {  /* the start of warm-up: nothing moves */
		n->trained += count;
		return;
	}
	backward(n, count);
	update_dense(n, scale);
	update_rows(n, scale);
	n->trained += count;
	n->flops += dense_flops(n, count);
}

void rec_net_train_block(struct rec_net *n, const struct rec_block *b, double *loss)
{
	for (size_t r = 0; r < b->n; r += n->o.batch)
		train_batch(n, b, r, b->n - r < n->o.batch ? b->n - r : n->o.batch, loss);
}

void rec_net_predict_block(struct rec_net *n, const struct rec_block *b, float *p)
{
	for (size_t r = 0; r < b->n; r += n->o.batch) {
		size_t count = b->n - r < n->o.batch ? b->n - r : n->o.batch;
		gather(n, b, r, count, 0);
		forward(n, count);
		for (size_t i = 0; i < count; i++)
			p[r + i] = 1 / (1 + expf(-n->bt->logit[i]));
	}
}

double rec_net_loss(struct rec_net *n, const struct rec_block *b, size_t first, size_t count, int grad)
{
	double sum;

	gather(n, b, first, count, 1);
	forward(n, count);
	sum = batch_loss(n, b, first, count);
	if (grad) {
		struct rec_mlp *m[3];
		rec_net_mlps(n, m);
		for (int i = 0; i < 3; i++)
			if (m[i])
				rec_mlp_zero_grad(m[i]);
		backward(n, count);
	}
	return sum / (double)count;
}

const float *rec_net_row_grad(const struct rec_net *n, uint64_t id)
{
	uint32_t row = rec_embed_find(n->table, id, 0);

	for (size_t u = 0; row != REC_EMBED_NONE && u < n->bt->rs.n; u++)
		if (n->bt->rs.row[u] == row)
			return n->bt->dR + u * n->rowdim;
	return NULL;
}

/* ---- ncf over user x item pairs (rec-rank, rec-eval --top-k) --------------- */

size_t rec_net_ncf_user(struct rec_net *n, const struct rec_block *b, size_t r, float *out)
{
	const struct rec_schema *s = b->schema;
	size_t w = n->width, found = 0;
	float *row = rec_xmalloc(n->rowdim * sizeof(float));

	memset(out, 0, w * sizeof(float));
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		int valued = (s->field[f].flags & REC_FIELD_VALUED) != 0;
		if (n->slot[f] != 0)
			continue;
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++) {
			float x = valued ? c->val[i] : 1;
			uint32_t at = x != 0 ? rec_embed_find(n->table, c->id[i], 0) : REC_EMBED_NONE;
			if (at == REC_EMBED_NONE)
				continue;
			rec_embed_read(n->table, at, row);
			for (size_t d = 0; d < w; d++)
				out[d] += x * row[d];
			found++;
		}
	}
	free(row);
	return found;
}

int rec_net_ncf_row(struct rec_net *n, uint64_t id, float *out)
{
	uint32_t at = rec_embed_find(n->table, id, 0);

	if (at == REC_EMBED_NONE) {
		memset(out, 0, n->width * sizeof(float));
		return 0;
	}
	rec_embed_read(n->table, at, out);
	return 1;
}

/* The tower's input for every pair: row p * nq + q is [p_mlp, q_mlp]. */
static void pair_tower_input(float *x, const float *P, size_t np, const float *Q, size_t nq, size_t k)
{
	for (size_t p = 0; p < np; p++)
		for (size_t q = 0; q < nq; q++, x += 2 * k) {
			memcpy(x, P + p * 2 * k + k, k * sizeof(float));
			memcpy(x + k, Q + q * 2 * k + k, k * sizeof(float));
		}
}

void rec_net_ncf_pairs(struct rec_net *n, float *logit, const float *P, size_t np, const float *Q, size_t nq)
{
	size_t k = n->o.k, h = rec_mlp_out(&n->deep), rows = np * nq;
	const float *tout, *out;
	float *hin;

	pair_tower_input(rec_mlp_input(&n->deep, 0, rows), P, np, Q, nq, k);
	tout = rec_mlp_forward(&n->deep, 0, rows);
	hin = rec_mlp_input(&n->head, 0, rows);
	for (size_t p = 0; p < np; p++)
		for (size_t q = 0; q < nq; q++) {
			const float *u = P + p * 2 * k, *i = Q + q * 2 * k;
			float *x = hin + (p * nq + q) * (k + h);
			for (size_t d = 0; d < k; d++)
				x[d] = u[d] * i[d];
			memcpy(x + k, tout + (p * nq + q) * h, h * sizeof(float));
		}
	out = rec_mlp_forward(&n->head, 0, rows);
	memcpy(logit, out, rows * sizeof(float));
}
