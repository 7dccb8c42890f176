/* export_sasrec.c - a sasrec model as an ONNX graph that scores the whole
 * catalogue after one user's history, as rec-rank does (seqrank.h).
 *
 * Input:  items    int64 [n]      the history's hashed item IDs, oldest first
 * Output: scores   float [I]      h . E[j] for every catalogue item j
 *         item_ids int64 [I]      the items' hashed IDs, in the same order
 *
 * The graph follows rec_sasrec_encode step by step. Only one sequence, so
 * every tensor is [t, d] with t the rows the model reads, and no padding
 * ever enters the attention (the model packs sequences, it does not pad
 * them):
 *   rows   LabelEncoder (unknown IDs row 0), Compress drops them, as
 *          rec_sasrec_rows leaves unknown items out
 *   window the latest min(max(k, 1), max_len) of [0, rows...]: with no
 *          known item that is the padding row alone, rec-rank's guess for
 *          an empty history
 *   x      E[row] + P[max_len - t .. max_len - 1] (right-aligned positions)
 *   blocks pre-LN (LayerNormalization, eps 1e-5), Gemm to q, k, v, heads
 *          split by Reshape and Transpose, softmax(q k^T / sqrt(hd) + mask)
 *          with an additive causal mask, Gemm out, residual; LN, Gemm, ReLU
 *          or tanh GELU, Gemm, residual
 *   state  the last row through the final LN; scores = state E^T less the
 *          padding row. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "export.h"
#include "onnx.h"
#include "sasrec.h"

/* An attention score this far down gets probability 0, the diagonal
 * always being open; finite so that no NaN can come of it. */
#define MASKED (-1e9f)

struct sgraph {
	struct rec_onnx *g;
	const struct rec_sasrec *m;
	int64_t d, H, hd;
	const char *table;         /* the item table, E (nitems, d) */
};

static const char *i64(struct sgraph *c, int64_t v)
{
	return rec_onnx_ints(c->g, &v, 1);
}

static const char *op1(struct sgraph *c, const char *op, const char *a)
{
	return rec_onnx_op(c->g, op, a, NULL);
}

static const char *op2(struct sgraph *c, const char *op, const char *a, const char *b)
{
	return rec_onnx_op(c->g, op, a, b, NULL);
}

/* in[from:to] along axis; from may be a tensor name (a dynamic start). */
static const char *slice(struct sgraph *c, const char *in, int64_t axis, const char *from, int64_t to)
{
	return rec_onnx_op(c->g, "Slice", in, from, i64(c, to), i64(c, axis), NULL);
}

static const char *reshape(struct sgraph *c, const char *in, const int64_t *shape, size_t ndim)
{
	return op2(c, "Reshape", in, rec_onnx_ints(c->g, shape, ndim));
}

static const char *transpose(struct sgraph *c, const char *in, int64_t a, int64_t b, int64_t e)
{
	int64_t perm[3] = { a, b, e };
	const char *out = op1(c, "Transpose", in);

	rec_onnx_attr_ints(c->g, "perm", perm, 3);
	return out;
}

/* The model's tensor at off, without a copy (the model outlives the
 * write), named as in the model file. */
static const char *tensor(struct sgraph *c, size_t off, const int64_t *shape, size_t ndim)
{
	const char *name = NULL;

	for (size_t i = 0; i < c->m->ntensor && !name; i++)   /* the model file's names */
		if (c->m->tensor[i].off == off)
			name = c->m->tensor[i].name;
	return rec_onnx_tensor(c->g, name, REC_ONNX_FLOAT, shape, ndim, c->m->param + off);
}

static const char *weight(struct sgraph *c, size_t off, int64_t rows, int64_t cols)
{
	int64_t shape[2] = { rows, cols };

	return tensor(c, off, shape, 2);
}

/* A bias or gain: n floats at off. */
static const char *vector(struct sgraph *c, size_t off, int64_t n)
{
	return tensor(c, off, &n, 1);
}

/* in W^T + b, W (out x in) as the model stores it. */
static const char *linear(struct sgraph *c, const char *in, size_t w, size_t b, int64_t out, int64_t inw)
{
	const char *y = rec_onnx_op(c->g, "Gemm", in, weight(c, w, out, inw), vector(c, b, out), NULL);

	rec_onnx_attr_int(c->g, "transB", 1);
	return y;
}

static const char *layernorm(struct sgraph *c, const char *in, size_t g, size_t b)
{
	const char *y = rec_onnx_op(c->g, "LayerNormalization", in, vector(c, g, c->d),
				    vector(c, b, c->d), NULL);

	rec_onnx_attr_int(c->g, "axis", -1);
	rec_onnx_attr_float(c->g, "epsilon", 1e-5f);   /* sasrec_kern.c's LN_EPS */
	return y;
}

/* ---- the window ----------------------------------------------------------- */

/* items [n] -> the vocabulary rows the model reads, unknown IDs dropped. */
static const char *known_rows(struct sgraph *c)
{
	const struct rec_sasrec *m = c->m;
	size_t n = m->nitems - 1;
	int64_t *keys = rec_xmalloc(n * sizeof(int64_t)), *rows = rec_xmalloc(n * sizeof(int64_t));
	const char *r, *out;

	for (size_t i = 0; i < n; i++) {
		memcpy(&keys[i], &m->item_id[i + 1], sizeof(int64_t));  /* the same 64 bits */
		rows[i] = (int64_t)i + 1;
	}
	r = op1(c, "LabelEncoder", "items");
	rec_onnx_domain(c->g, "ai.onnx.ml");
	rec_onnx_attr_ints(c->g, "keys_int64s", keys, n);
	rec_onnx_attr_ints(c->g, "values_int64s", rows, n);
	rec_onnx_attr_int(c->g, "default_int64", 0);
	free(keys);
	free(rows);
	out = op2(c, "Compress", r, op2(c, "Greater", r, i64(c, 0)));
	rec_onnx_attr_int(c->g, "axis", 0);
	return out;
}

/* The rows [t] and -t ([1]): the latest max_len known rows, or the
 * padding row alone when there is none (a 0 put before them). */
static const char *window(struct sgraph *c, const char **neg_t)
{
	const char *known = known_rows(c);
	const char *t = op2(c, "Max", op1(c, "Shape", known), i64(c, 1));
	const char *seq = rec_onnx_op(c->g, "Concat", i64(c, 0), known, NULL);

	rec_onnx_attr_int(c->g, "axis", 0);
	t = op2(c, "Min", t, i64(c, c->m->o.max_len));
	*neg_t = op1(c, "Neg", t);
	return slice(c, seq, 0, *neg_t, INT64_MAX);
}

/* A 0-d int64 constant, as Range takes its bounds. */
static const char *scalar_i64(struct sgraph *c, int64_t v)
{
	int64_t *p = rec_onnx_alloc(c->g, sizeof(int64_t));

	*p = v;
	return rec_onnx_tensor(c->g, NULL, REC_ONNX_INT64, NULL, 0, p);
}

/* [t, t]: 0 where row i may attend to column j (j <= i), MASKED above. */
static const char *causal_mask(struct sgraph *c, const char *neg_t)
{
	const char *t = op1(c, "Squeeze", op1(c, "Neg", neg_t));
	const char *r = rec_onnx_op(c->g, "Range", scalar_i64(c, 0), t, scalar_i64(c, 1), NULL);
	const char *above = op2(c, "Greater", op2(c, "Unsqueeze", r, i64(c, 0)),
				op2(c, "Unsqueeze", r, i64(c, 1)));

	return rec_onnx_op(c->g, "Where", above, rec_onnx_scalar(c->g, MASKED),
			   rec_onnx_scalar(c->g, 0), NULL);
}

/* ---- the blocks ----------------------------------------------------------- */

/* [t, d] -> [H, t, hd] of the qkv columns from col. */
static const char *heads(struct sgraph *c, const char *qkv, int64_t col, int keys)
{
	int64_t shape[3] = { -1, c->H, c->hd };
	const char *x = rec_onnx_op(c->g, "Slice", qkv, i64(c, col), i64(c, col + c->d), i64(c, 1), NULL);

	x = reshape(c, x, shape, 3);
	/* keys come transposed, [H, hd, t], ready for q k^T */
	return keys ? transpose(c, x, 1, 2, 0) : transpose(c, x, 1, 0, 2);
}

static const char *attention(struct sgraph *c, const struct rec_sasrec_block *p, const char *x,
			     const char *mask)
{
	int64_t flat[2] = { -1, c->d };
	const char *qkv = linear(c, layernorm(c, x, p->ln1_g, p->ln1_b), p->qkv_w, p->qkv_b, 3 * c->d, c->d);
	const char *S = op2(c, "MatMul", heads(c, qkv, 0, 0), heads(c, qkv, c->d, 1));
	const char *A;

	S = op2(c, "Mul", S, rec_onnx_scalar(c->g, 1.0f / sqrtf((float)c->hd)));
	S = op2(c, "Add", S, mask);
	S = op1(c, "Softmax", S);
	rec_onnx_attr_int(c->g, "axis", -1);
	A = op2(c, "MatMul", S, heads(c, qkv, 2 * c->d, 0));
	A = reshape(c, transpose(c, A, 1, 0, 2), flat, 2);
	return linear(c, A, p->o_w, p->o_b, c->d, c->d);
}

/* 0.5 v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3))): the tanh form the
 * model trains with (opset 17 has no Gelu). */
static const char *gelu(struct sgraph *c, const char *v)
{
	const char *v3 = op2(c, "Mul", op2(c, "Mul", v, v), v);
	const char *u = op2(c, "Add", v, op2(c, "Mul", v3, rec_onnx_scalar(c->g, 0.044715f)));

	u = op1(c, "Tanh", op2(c, "Mul", u, rec_onnx_scalar(c->g, 0.7978845608f)));
	u = op2(c, "Add", u, rec_onnx_scalar(c->g, 1));
	return op2(c, "Mul", op2(c, "Mul", v, u), rec_onnx_scalar(c->g, 0.5f));
}

static const char *feed_forward(struct sgraph *c, const struct rec_sasrec_block *p, const char *x)
{
	int64_t f = c->m->o.ffn;
	const char *h = linear(c, layernorm(c, x, p->ln2_g, p->ln2_b), p->up_w, p->up_b, f, c->d);

	h = c->m->o.act == REC_ACT_GELU ? gelu(c, h) : op1(c, "Relu", h);
	return linear(c, h, p->down_w, p->down_b, c->d, f);
}

static const char *block(struct sgraph *c, const struct rec_sasrec_block *p, const char *x, const char *mask)
{
	x = op2(c, "Add", x, attention(c, p, x, mask));
	return op2(c, "Add", x, feed_forward(c, p, x));
}

/* ---- the model ------------------------------------------------------------ */

/* E[row] + P[max_len - t ..]: the inputs of the t rows, [t, d]. */
static const char *embed(struct sgraph *c, const char *rows, const char *neg_t)
{
	const struct rec_sasrec *m = c->m;
	const char *E = weight(c, m->tok, (int64_t)m->nitems, c->d);
	const char *P = weight(c, m->pos, m->o.max_len, c->d);

	c->table = E;
	return op2(c, "Add", op2(c, "Gather", E, rows), slice(c, P, 0, neg_t, m->o.max_len));
}

/* The last row's final state against every row of the item table but the
 * padding one: scores [I]. */
static const char *scores(struct sgraph *c, const char *x)
{
	int64_t flat[1] = { -1 };
	const char *h = layernorm(c, slice(c, x, 0, i64(c, -1), INT64_MAX), c->m->lnf_g, c->m->lnf_b);
	const char *s = rec_onnx_op(c->g, "Gemm", h, c->table, NULL);

	rec_onnx_attr_int(c->g, "transB", 1);
	return reshape(c, slice(c, s, 1, i64(c, 1), INT64_MAX), flat, 1);
}

/* The catalogue's hashed IDs, the order of scores. */
static void item_ids(struct sgraph *c)
{
	int64_t n = (int64_t)c->m->nitems - 1;
	const char *ids = rec_onnx_tensor(c->g, NULL, REC_ONNX_INT64, &n, 1, c->m->item_id + 1);

	op1(c, "Identity", ids);
	rec_onnx_rename(c->g, "item_ids");
}

static void declare_io(struct sgraph *c)
{
	char n[24];
	const char *dims_n[1] = { "n" }, *dims_I[1] = { n };

	snprintf(n, sizeof(n), "%zu", c->m->nitems - 1);
	rec_onnx_input(c->g, "items", REC_ONNX_INT64, 1, dims_n);
	rec_onnx_output(c->g, "scores", REC_ONNX_FLOAT, 1, dims_I);
	rec_onnx_output(c->g, "item_ids", REC_ONNX_INT64, 1, dims_I);
}

static void describe(struct sgraph *c, const struct rec_export *x)
{
	for (size_t i = 0; i < x->meta.n; i++)
		rec_onnx_meta(c->g, x->meta.key[i], x->meta.val[i]);
	rec_onnx_doc(c->g, "recpipe sasrec model: items [n] is one user's history of hashed item "
			   "IDs, oldest first (IDs the model lacks are skipped; the latest max_len "
			   "count); scores [I] is the next-item score of each catalogue item, whose "
			   "hashed ID is item_ids at the same index");
}

int rec_export_sasrec_onnx(const struct rec_export *x, FILE *fp, const char *name)
{
	const struct rec_sasrec *m = x->sas;
	struct sgraph c = { .m = m, .d = m->o.dim, .H = m->o.heads, .hd = m->o.dim / m->o.heads };
	const char *neg_t, *rows, *mask, *h;
	int rc;

	c.g = rec_onnx_new("recpipe");
	declare_io(&c);
	describe(&c, x);
	rows = window(&c, &neg_t);
	mask = causal_mask(&c, neg_t);
	h = embed(&c, rows, neg_t);
	for (unsigned l = 0; l < m->o.blocks; l++)
		h = block(&c, &m->blk[l], h, mask);
	scores(&c, h);
	rec_onnx_rename(c.g, "scores");
	item_ids(&c);
	rc = rec_onnx_write(c.g, fp, name);
	rec_onnx_free(c.g);
	return rc;
}
