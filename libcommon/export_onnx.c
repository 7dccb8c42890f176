/* export_onnx.c - a click or lightfm model as an ONNX graph that ONNX Runtime runs.
 *
 * Inputs, for N records padded to L sparse values each (rec-export(1)):
 *   ids     int64 [N, L]  hashed IDs of the categorical and list values
 *   values  float [N, L]  each ID's value: 1, a valued field's float, 0 to pad
 *   fields  int64 [N, L]  each ID's field, its index in the stream schema
 *   numeric float [N, F]  the F numeric fields in schema order, 0 = absent
 *                         (only when the schema has numeric fields)
 * Output: score float [N], the probability rec-eval --predict gives.
 *
 * IDs become row numbers in the graph (ai.onnx.ml LabelEncoder, an unknown
 * ID the zero row appended to the table), then Gather. A field's values are
 * pooled into its field vector by a one-hot Einsum; the MLPs are Gemm and
 * Relu over the model's own weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctr.h"
#include "err.h"
#include "export.h"
#include "lightfm.h"
#include "onnx.h"

struct graph {
	struct rec_onnx *g;
	const struct rec_export *x;
	const struct rec_schema *s;
	int64_t dim;               /* floats per table row */
	size_t nnum;               /* numeric fields */
};

static const char *const dims_NL[] = { "N", "L" };

static const char *i64(struct graph *c, int64_t v)
{
	return rec_onnx_ints(c->g, &v, 1);
}

static const char *axis_op(struct graph *c, const char *op, const char *in, int64_t axis)
{
	return rec_onnx_op(c->g, op, in, i64(c, axis), NULL);
}

/* Sum over one axis, which is dropped. */
static const char *reduce_sum(struct graph *c, const char *in, int64_t axis)
{
	const char *out = axis_op(c, "ReduceSum", in, axis);

	rec_onnx_attr_int(c->g, "keepdims", 0);
	return out;
}

/* in[..., from:to] along axis. */
static const char *slice(struct graph *c, const char *in, int64_t axis, int64_t from, int64_t to)
{
	return rec_onnx_op(c->g, "Slice", in, i64(c, from), i64(c, to), i64(c, axis), NULL);
}

/* in[..., j, ...]: index j of axis, which is dropped. */
static const char *pick(struct graph *c, const char *in, int64_t axis, int64_t j)
{
	const char *scalar = rec_onnx_tensor(c->g, NULL, REC_ONNX_INT64, NULL, 0,
					     memcpy(rec_onnx_alloc(c->g, 8), &j, 8));
	const char *out = rec_onnx_op(c->g, "Gather", in, scalar, NULL);

	rec_onnx_attr_int(c->g, "axis", axis);
	return out;
}

static const char *concat(struct graph *c, const char *a, const char *b, int64_t axis)
{
	const char *out = rec_onnx_op(c->g, "Concat", a, b, NULL);

	rec_onnx_attr_int(c->g, "axis", axis);
	return out;
}

static const char *reshape(struct graph *c, const char *in, int64_t d0, int64_t d1, size_t ndim)
{
	int64_t shape[2] = { d0, d1 };

	return rec_onnx_op(c->g, "Reshape", in, rec_onnx_ints(c->g, shape, ndim), NULL);
}

/* sign(v) log(1 + |v|), the squashing every model applies to numbers. */
static const char *squash(struct graph *c, const char *v)
{
	const char *mag = rec_onnx_op(c->g, "Add", rec_onnx_op(c->g, "Abs", v, NULL),
				      rec_onnx_scalar(c->g, 1), NULL);

	return rec_onnx_op(c->g, "Mul", rec_onnx_op(c->g, "Sign", v, NULL),
			   rec_onnx_op(c->g, "Log", mag, NULL), NULL);
}

/* 0.5 sum_d ((sum_i v_id)^2 - sum_i v_id^2), the i over axis 1 of V
 * [N, n, k]: the FM's pairwise term in O(n k). */
static const char *fm_pairs(struct graph *c, const char *V)
{
	const char *s = reduce_sum(c, V, 1);
	const char *sq = reduce_sum(c, rec_onnx_op(c->g, "Mul", V, V, NULL), 1);
	const char *d = rec_onnx_op(c->g, "Sub", rec_onnx_op(c->g, "Mul", s, s, NULL), sq, NULL);

	return rec_onnx_op(c->g, "Mul", reduce_sum(c, d, 1), rec_onnx_scalar(c->g, 0.5f), NULL);
}

/* ---- the embedding table ------------------------------------------------- */

static const struct rec_tensor *export_tensor(const struct rec_export *x, const char *name)
{
	for (size_t i = 0; i < x->nt; i++)
		if (strcmp(x->t[i].name, name) == 0)
			return &x->t[i];
	return NULL;
}

/* The kept rows at the export's precision plus a zero row at the end, for
 * the IDs the model has no row of; the int8 scales likewise into *scale. */
static const char *table(struct graph *c, const char **scale)
{
	const struct rec_export *x = c->x;
	int64_t shape[2] = { (int64_t)x->nrows + 1, c->dim };
	size_t n = x->nrows * (size_t)c->dim;
	const struct rec_tensor *enc = export_tensor(x, "embd.rows");
	static const int types[] = { REC_ONNX_FLOAT, REC_ONNX_FLOAT16, REC_ONNX_BFLOAT16, REC_ONNX_INT8 };
	int type = types[x->precision];
	size_t esize = x->precision == REC_EXPORT_FP32 ? 4 : x->precision == REC_EXPORT_INT8 ? 1 : 2;
	void *data = rec_onnx_alloc(c->g, (n + (size_t)c->dim) * esize);

	memcpy(data, x->precision == REC_EXPORT_FP32 ? (const void *)x->rows : enc->data, n * esize);
	*scale = NULL;
	if (x->precision == REC_EXPORT_INT8) {
		float *sc = rec_onnx_alloc(c->g, (x->nrows + 1) * sizeof(float));
		memcpy(sc, export_tensor(x, "embd.scale")->data, x->nrows * sizeof(float));
		*scale = rec_onnx_tensor(c->g, "embd.scale", REC_ONNX_FLOAT, shape, 1, sc);
	}
	return rec_onnx_tensor(c->g, "embd.rows", type, shape, 2, data);
}

/* ids [N, L] -> row numbers: the kept rows' IDs in order, others the zero
 * row. A table without rows still needs one key. */
static const char *row_numbers(struct graph *c)
{
	const struct rec_export *x = c->x;
	size_t n = x->nrows ? x->nrows : 1;
	int64_t *keys = rec_xmalloc(n * sizeof(int64_t)), *rows = rec_xmalloc(n * sizeof(int64_t));
	const char *out;

	keys[0] = rows[0] = 0;
	for (size_t r = 0; r < x->nrows; r++) {
		memcpy(&keys[r], &x->ids[r], sizeof(int64_t));  /* the same 64 bits */
		rows[r] = (int64_t)r;
	}
	out = rec_onnx_op(c->g, "LabelEncoder", "ids", NULL);
	rec_onnx_domain(c->g, "ai.onnx.ml");
	rec_onnx_attr_ints(c->g, "keys_int64s", keys, n);
	rec_onnx_attr_ints(c->g, "values_int64s", rows, n);
	rec_onnx_attr_int(c->g, "default_int64", (int64_t)x->nrows);
	free(keys);
	free(rows);
	return out;
}

/* Every sparse value's row times its value: [N, L, dim]. */
static const char *sparse_rows(struct graph *c)
{
	const char *scale, *tab = table(c, &scale), *idx = row_numbers(c);
	const char *R = rec_onnx_op(c->g, "Gather", tab, idx, NULL);

	if (c->x->precision != REC_EXPORT_FP32) {
		R = rec_onnx_op(c->g, "Cast", R, NULL);
		rec_onnx_attr_int(c->g, "to", REC_ONNX_FLOAT);
	}
	if (scale)
		R = rec_onnx_op(c->g, "Mul", R,
				axis_op(c, "Unsqueeze", rec_onnx_op(c->g, "Gather", scale, idx, NULL), 2),
				NULL);
	return rec_onnx_op(c->g, "Mul", R, axis_op(c, "Unsqueeze", "values", 2), NULL);
}

/* The kept row of id, or -1. */
static long find_id(const struct rec_export *x, uint64_t id)
{
	for (size_t r = 0; r < x->nrows; r++)
		if (x->ids[r] == id)
			return (long)r;
	return -1;
}

/* Numeric field j's row scaled by its squashed value: [N, F, dim]. */
static const char *numeric_rows(struct graph *c, const uint64_t *numeric_id)
{
	float *rows = rec_onnx_alloc(c->g, c->nnum * (size_t)c->dim * sizeof(float));
	int64_t shape[2] = { (int64_t)c->nnum, c->dim };
	size_t j = 0;

	for (size_t f = 0; f < c->s->nfields; f++) {
		long r;
		if (c->s->field[f].kind != REC_NUMERIC)
			continue;
		if ((r = find_id(c->x, numeric_id[f])) >= 0)
			memcpy(rows + j * c->dim, c->x->rows + r * c->dim, c->dim * sizeof(float));
		j++;
	}
	return rec_onnx_op(c->g, "Mul", axis_op(c, "Unsqueeze", squash(c, "numeric"), 2),
			   rec_onnx_tensor(c->g, NULL, REC_ONNX_FLOAT, shape, 2, rows), NULL);
}

/* ---- pooling and MLPs ---------------------------------------------------- */

/* Field vectors [N, S, d] from per-value vectors V [N, L, d]: each value
 * adds to its field's slot (slot[f] for schema field f; S or more drops it). */
static const char *pool(struct graph *c, const char *V, const int *slot, int64_t S)
{
	int64_t *map = rec_xmalloc((c->s->nfields + 1) * sizeof(int64_t));
	int64_t *range = rec_xmalloc((size_t)S * sizeof(int64_t));
	const char *sl, *onehot;

	for (size_t f = 0; f < c->s->nfields; f++)
		map[f] = slot[f] >= 0 && c->s->field[f].kind != REC_NUMERIC ? slot[f] : S;
	for (int64_t i = 0; i < S; i++)
		range[i] = i;
	sl = rec_onnx_op(c->g, "Gather", rec_onnx_ints(c->g, map, c->s->nfields), "fields", NULL);
	onehot = rec_onnx_op(c->g, "Equal", axis_op(c, "Unsqueeze", sl, 2),
			     rec_onnx_ints(c->g, range, (size_t)S), NULL);
	onehot = rec_onnx_op(c->g, "Cast", onehot, NULL);
	rec_onnx_attr_int(c->g, "to", REC_ONNX_FLOAT);
	free(map);
	free(range);
	sl = rec_onnx_op(c->g, "Einsum", onehot, V, NULL);
	rec_onnx_attr_string(c->g, "equation", "nls,nld->nsd");
	return sl;
}

/* Runs in [N, dim[0]] through the MLP's layers: Gemm, then Relu between
 * layers (and after the last when the MLP has it). */
static const char *mlp(struct graph *c, const char *in, const struct rec_mlp *m)
{
	for (size_t l = 0; l < m->nlayers; l++) {
		int64_t wshape[2] = { m->dim[l + 1], m->dim[l] }, bshape[1] = { m->dim[l + 1] };
		const char *W = rec_onnx_tensor(c->g, NULL, REC_ONNX_FLOAT, wshape, 2, m->param + m->w_off[l]);
		const char *b = rec_onnx_tensor(c->g, NULL, REC_ONNX_FLOAT, bshape, 1, m->param + m->b_off[l]);
		in = rec_onnx_op(c->g, "Gemm", in, W, b, NULL);
		rec_onnx_attr_int(c->g, "transB", 1);
		if (l + 1 < m->nlayers || m->relu_last)
			in = rec_onnx_op(c->g, "Relu", in, NULL);
	}
	return in;
}

/* [N, 1] -> [N] */
static const char *flat(struct graph *c, const char *in)
{
	return reshape(c, in, -1, 0, 1);
}

/* ---- the models ---------------------------------------------------------- */

/* lr and fm: w0 + sum x w + the FM pairs over every feature. */
static const char *fm_logit(struct graph *c, const struct rec_fm_model *m)
{
	const char *F = sparse_rows(c), *z;

	if (c->nnum)
		F = concat(c, F, numeric_rows(c, m->numeric_id), 1);
	z = rec_onnx_op(c->g, "Add", reduce_sum(c, pick(c, F, 2, 0), 1), rec_onnx_scalar(c->g, m->w0), NULL);
	if (m->o.k && m->o.optimizer != REC_OPT_FTRL)
		z = rec_onnx_op(c->g, "Add", z, fm_pairs(c, slice(c, F, 2, 1, c->dim)), NULL);
	return z;
}

/* Numeric field j into its slot of S: the [F, S] matrix of that. */
static const char *numeric_slots(struct graph *c, const struct rec_net *n)
{
	float *P = rec_onnx_alloc(c->g, c->nnum * n->nslot * sizeof(float));
	int64_t shape[2] = { (int64_t)c->nnum, (int64_t)n->nslot };
	size_t j = 0;

	for (size_t f = 0; f < c->s->nfields; f++)
		if (c->s->field[f].kind == REC_NUMERIC)
			P[j++ * n->nslot + (size_t)n->slot[f]] = 1;
	return rec_onnx_tensor(c->g, NULL, REC_ONNX_FLOAT, shape, 2, P);
}

static const char *deepfm_logit(struct graph *c, const struct rec_net *n)
{
	int64_t k = n->o.k, S = (int64_t)n->nslot;
	const char *R = sparse_rows(c);
	const char *first = reduce_sum(c, pick(c, R, 2, 0), 1);
	const char *E = pool(c, slice(c, R, 2, 1, c->dim), n->slot, S), *deep;

	if (c->nnum) {
		const char *NX = numeric_rows(c, n->numeric_id), *EN;
		first = rec_onnx_op(c->g, "Add", first, reduce_sum(c, pick(c, NX, 2, 0), 1), NULL);
		EN = rec_onnx_op(c->g, "Einsum", slice(c, NX, 2, 1, c->dim), numeric_slots(c, n), NULL);
		rec_onnx_attr_string(c->g, "equation", "nfd,fs->nsd");
		E = rec_onnx_op(c->g, "Add", E, EN, NULL);
	}
	deep = flat(c, mlp(c, reshape(c, E, 0, S * k, 2), &n->deep));
	return rec_onnx_op(c->g, "Add", rec_onnx_op(c->g, "Add", first, fm_pairs(c, E), NULL), deep, NULL);
}

/* The dot products z_a . z_b, a < b, of z = [bottom output, e_1 .. e_C]. */
static const char *dlrm_dots(struct graph *c, const char *Z, int64_t nz)
{
	int64_t *tri = rec_xmalloc((size_t)(nz * nz + 1) * sizeof(int64_t)), m = 0;
	const char *D, *out;
	int64_t perm[3] = { 0, 2, 1 };

	for (int64_t a = 0; a < nz; a++)
		for (int64_t b = a + 1; b < nz; b++)
			tri[m++] = a * nz + b;
	D = rec_onnx_op(c->g, "Transpose", Z, NULL);
	rec_onnx_attr_ints(c->g, "perm", perm, 3);
	D = reshape(c, rec_onnx_op(c->g, "MatMul", Z, D, NULL), 0, nz * nz, 2);
	out = rec_onnx_op(c->g, "Gather", D, rec_onnx_ints(c->g, tri, (size_t)m), NULL);
	rec_onnx_attr_int(c->g, "axis", 1);
	free(tri);
	return out;
}

static const char *dlrm_logit(struct graph *c, const struct rec_net *n)
{
	const char *Z = pool(c, sparse_rows(c), n->slot, (int64_t)n->nslot), *b = NULL, *top;
	int64_t nz = (int64_t)n->nslot;

	if (n->ndense) {
		b = mlp(c, squash(c, "numeric"), &n->bottom);
		Z = concat(c, axis_op(c, "Unsqueeze", b, 1), Z, 1);
		nz++;
	}
	top = dlrm_dots(c, Z, nz);
	if (b)
		top = concat(c, b, top, 1);
	return flat(c, mlp(c, top, &n->deep));
}

static const char *ncf_logit(struct graph *c, const struct rec_net *n)
{
	int64_t k = n->o.k;
	const char *E = pool(c, sparse_rows(c), n->slot, 2);
	const char *p = pick(c, E, 1, 0), *q = pick(c, E, 1, 1);
	const char *gmf = rec_onnx_op(c->g, "Mul", slice(c, p, 1, 0, k), slice(c, q, 1, 0, k), NULL);
	const char *tower = mlp(c, concat(c, slice(c, p, 1, k, 2 * k), slice(c, q, 1, k, 2 * k), 1), &n->deep);

	return flat(c, mlp(c, concat(c, gmf, tower, 1), &n->head));
}

/* p_u . q_i + b_i: the user's features and the item's pooled apart, each
 * row [b, v]. */
static const char *lightfm_logit(struct graph *c, const struct rec_lightfm *m)
{
	int64_t k = m->o.k;
	int *slot = rec_xmalloc(c->s->nfields * sizeof(int));
	const char *E, *p, *q, *pq;

	for (size_t f = 0; f < c->s->nfields; f++)
		slot[f] = m->role[f] - 1;      /* none -1, user 0, item 1 */
	E = pool(c, sparse_rows(c), slot, 2);
	free(slot);
	p = pick(c, E, 1, 0);
	q = pick(c, E, 1, 1);
	pq = rec_onnx_op(c->g, "Mul", slice(c, p, 1, 1, 1 + k), slice(c, q, 1, 1, 1 + k), NULL);
	return rec_onnx_op(c->g, "Add", reduce_sum(c, pq, 1), flat(c, slice(c, q, 1, 0, 1)), NULL);
}

/* ---- the model ----------------------------------------------------------- */

static void declare_io(struct graph *c)
{
	char nnum[24];
	const char *dims_NF[2] = { "N", nnum };

	snprintf(nnum, sizeof(nnum), "%zu", c->nnum);
	rec_onnx_input(c->g, "ids", REC_ONNX_INT64, 2, dims_NL);
	rec_onnx_input(c->g, "values", REC_ONNX_FLOAT, 2, dims_NL);
	rec_onnx_input(c->g, "fields", REC_ONNX_INT64, 2, dims_NL);
	if (c->nnum)
		rec_onnx_input(c->g, "numeric", REC_ONNX_FLOAT, 2, dims_NF);
	rec_onnx_output(c->g, "score", REC_ONNX_FLOAT, 1, dims_NL);
}

/* The model's keys, and the input layout a caller needs, as metadata. */
static void describe(struct graph *c)
{
	const struct rec_schema *s = c->s;
	size_t cap = 64, len = 0;
	char *fields, *numeric;

	for (size_t f = 0; f < s->nfields; f++)
		cap += strlen(s->field[f].name) + 1;
	fields = rec_xcalloc(1, cap);
	numeric = rec_xcalloc(1, cap);
	for (size_t f = 0; f < s->nfields; f++) {
		char *dst = s->field[f].kind == REC_NUMERIC ? numeric : fields;
		len = strlen(dst);
		snprintf(dst + len, cap - len, "%s%s", len ? "," : "", s->field[f].name);
	}
	for (size_t i = 0; i < c->x->meta.n; i++)
		rec_onnx_meta(c->g, c->x->meta.key[i], c->x->meta.val[i]);
	rec_onnx_meta(c->g, "onnx.fields", fields);
	rec_onnx_meta(c->g, "onnx.numeric", numeric);
	rec_onnx_doc(c->g, "recpipe click model: ids, values and fields [N, L] (fields index the "
			   "stream schema; pad with value 0), numeric [N, F] in schema order; "
			   "score [N] is the click probability");
	free(fields);
	free(numeric);
}

/* The graph's logit for the model kind; NULL after a message. */
static const char *logit(struct graph *c, const struct rec_ctr *ctr)
{
	if (ctr->fm && ctr->fm->o.ffm) {
		rec_error("'%s': ffm models cannot be exported to onnx "
			  "(lr, fm, deepfm, dlrm, ncf and lightfm can)",
			  c->x->name);
		return NULL;
	}
	if (ctr->fm)
		return fm_logit(c, ctr->fm);
	if (ctr->lfm)
		return lightfm_logit(c, ctr->lfm);
	switch (ctr->net->o.kind) {
	case REC_DEEPFM:
		return deepfm_logit(c, ctr->net);
	case REC_DLRM:
		return dlrm_logit(c, ctr->net);
	default:
		return ncf_logit(c, ctr->net);
	}
}

int rec_export_onnx(const struct rec_export *x, FILE *fp, const char *name)
{
	struct graph c = { .x = x, .s = x->schema, .dim = (int64_t)x->dim };
	const char *z;
	int rc = -1;

	for (size_t f = 0; f < c.s->nfields; f++)
		c.nnum += c.s->field[f].kind == REC_NUMERIC;
	c.g = rec_onnx_new("recpipe");
	declare_io(&c);
	describe(&c);
	if ((z = logit(&c, x->ctr))) {
		rec_onnx_op(c.g, "Sigmoid", z, NULL);
		rec_onnx_rename(c.g, "score");
		rc = rec_onnx_write(c.g, fp, name);
	}
	rec_onnx_free(c.g);
	return rc;
}
