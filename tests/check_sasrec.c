/* check_sasrec.c - SASRec: every kernel's backward and the whole model's
 * gradient (each loss, dropout on) against central differences; the
 * cblas kernels against their plain-loop _ref twins; save/load; learning
 * a planted successor. */
#include "config.h"
#include "tests.h"
#include "sasrec.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float frand(uint64_t *s)
{
	return (float)((double)(rec_splitmix64(s) >> 11) * 0x1.0p-53 * 2 - 1);
}

static void fill(float *p, size_t n, uint64_t *s, float scale)
{
	for (size_t i = 0; i < n; i++)
		p[i] = scale * frand(s);
}

/* Worst relative error (floor under it: float noise) of g against central
 * differences of f around parameters of p (n of them); where the left and
 * right slopes differ (a ReLU kink inside the step, or just curvature),
 * the nearest of the central and the one-sided differences counts. */
struct fd {
	double (*f)(void *ctx);
	void *ctx;
};

static double rel_err(double num, double g)
{
	return fabs(num - g) / fmax(5e-3, fmax(fabs(num), fabs(g)));
}

static double fd_worst(const struct fd *F, float *p, const float *g, size_t n, float h)
{
	double worst = 0, mid = F->f(F->ctx);
	/* at most about 48 parameters of a tensor, spread over it */
	size_t stride = n > 48 ? n / 48 : 1;

	for (size_t i = 0; i < n; i += stride) {
		float keep = p[i];
		double lo, hi, fwd, bwd, err;
		p[i] = keep - h;
		lo = F->f(F->ctx);
		p[i] = keep + h;
		hi = F->f(F->ctx);
		p[i] = keep;
		fwd = (hi - mid) / h;
		bwd = (mid - lo) / h;
		err = rel_err((hi - lo) / (2 * h), g[i]);
		if (fabs(fwd - bwd) > 0.02 * fmax(fabs(fwd), fabs(bwd)) + 5e-5)
			err = fmin(err, fmin(rel_err(fwd, g[i]), rel_err(bwd, g[i])));
		if (err > worst)
			worst = err;
	}
	return worst;
}

/* ---- kernels: loss = sum(out * R) for a fixed random R ------------------- */

#define N 5
#define C 8
#define OC 6

struct kctx {
	float x[N * C], g[C], b[C], W[OC * C], wb[OC], R[N * 3 * C], out[N * 3 * C];
	float mean[N], rstd[N];
	int act;
};

static double dot_r(const float *out, const float *R, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)out[i] * R[i];
	return s;
}

static double ln_loss(void *v)
{
	struct kctx *k = v;

	rec_layernorm_forward(k->out, k->mean, k->rstd, k->x, k->g, k->b, N, C);
	return dot_r(k->out, k->R, N * C);
}

static void kinit(struct kctx *k, uint64_t seed)
{
	uint64_t s = seed;

	memset(k, 0, sizeof(*k));
	fill(k->x, N * C, &s, 2);
	fill(k->g, C, &s, 1.5f);
	fill(k->b, C, &s, 1);
	fill(k->W, OC * C, &s, 1);
	fill(k->wb, OC, &s, 1);
	fill(k->R, N * 3 * C, &s, 1);
}

START_TEST(test_layernorm_grad)
{
	struct kctx k;
	float dx[N * C] = { 0 }, dg[C] = { 0 }, db[C] = { 0 };
	struct fd F = { ln_loss, &k };

	kinit(&k, 1);
	ln_loss(&k);
	rec_layernorm_backward(dx, dg, db, k.R, k.x, k.mean, k.rstd, k.g, N, C);
	ck_assert_double_lt(fd_worst(&F, k.x, dx, N * C, 3e-3f), 1e-2);
	ck_assert_double_lt(fd_worst(&F, k.g, dg, C, 3e-3f), 1e-2);
	ck_assert_double_lt(fd_worst(&F, k.b, db, C, 3e-3f), 1e-2);
}
END_TEST

static double lin_loss(void *v)
{
	struct kctx *k = v;

	rec_linear_forward(k->out, k->x, k->W, k->wb, N, C, OC);
	return dot_r(k->out, k->R, N * OC);
}

START_TEST(test_linear)
{
	struct kctx k;
	float ref[N * OC], dx[N * C] = { 0 }, dW[OC * C] = { 0 }, db[OC] = { 0 };
	struct fd F = { lin_loss, &k };

	kinit(&k, 2);
	lin_loss(&k);
	rec_linear_forward_ref(ref, k.x, k.W, k.wb, N, C, OC);
	for (size_t i = 0; i < N * OC; i++)
		ck_assert_float_eq_tol(k.out[i], ref[i], 1e-5f);
	rec_linear_backward(dx, dW, db, k.R, k.x, k.W, N, C, OC);
	{
		float rx[N * C] = { 0 }, rW[OC * C] = { 0 }, rb[OC] = { 0 };
		rec_linear_backward_ref(rx, rW, rb, k.R, k.x, k.W, N, C, OC);
		for (size_t i = 0; i < N * C; i++)
			ck_assert_float_eq_tol(dx[i], rx[i], 1e-5f);
		for (size_t i = 0; i < OC * C; i++)
			ck_assert_float_eq_tol(dW[i], rW[i], 1e-5f);
		for (size_t i = 0; i < OC; i++)
			ck_assert_float_eq_tol(db[i], rb[i], 1e-5f);
	}
	ck_assert_double_lt(fd_worst(&F, k.x, dx, N * C, 3e-3f), 1e-2);
	ck_assert_double_lt(fd_worst(&F, k.W, dW, OC * C, 3e-3f), 1e-2);
	ck_assert_double_lt(fd_worst(&F, k.wb, db, OC, 3e-3f), 1e-2);
}
END_TEST

static double act_loss(void *v)
{
	struct kctx *k = v;

	rec_act_forward(k->out, k->x, N * C, k->act);
	return dot_r(k->out, k->R, N * C);
}

START_TEST(test_act_grad)
{
	struct kctx k;
	float dx[N * C] = { 0 };
	struct fd F = { act_loss, &k };

	kinit(&k, 3);
	k.act = _i;
	act_loss(&k);
	rec_act_backward(dx, k.R, k.x, N * C, k.act);
	ck_assert_double_lt(fd_worst(&F, k.x, dx, N * C, 1e-3f), 1e-2);
}
END_TEST

/* ---- attention: two sequences of 3 and 5 rows, 2 heads ------------------ */

#define AR 8
#define AC 8
#define AH 2
#define AT 5                    /* the longest sequence */
#define ALD 16                  /* rec_attention_ld(AT) */
#define ASCR (AT * ALD + AC / AH * ALD)  /* rec_attention_scratch(AT, AC, AH) */

struct actx {
	uint32_t off[3];
	size_t poff[2];
	float qkv[AR * 3 * AC], out[AR * AC], P[AH * AR * ALD], R[AR * AC], scratch[2 * ASCR];
};

static void ainit(struct actx *a)
{
	uint64_t s = 7;

	ck_assert_uint_eq(rec_attention_ld(AT), ALD);
	ck_assert_uint_eq(rec_attention_scratch(AT, AC, AH), ASCR);
	a->off[0] = 0, a->off[1] = 3, a->off[2] = 8;
	a->poff[0] = 0, a->poff[1] = AH * 3 * ALD;
	fill(a->qkv, AR * 3 * AC, &s, 1.5f);
	fill(a->R, AR * AC, &s, 1);
}

static double att_loss(void *v)
{
	struct actx *a = v;

	rec_attention_forward(a->out, a->P, a->scratch, a->qkv, a->off, a->poff, 2, AC, AH, AT, 1);
	return dot_r(a->out, a->R, AR * AC);
}

/* P against Pref over each sequence's triangle, and zero above it to the
 * end of the row's block of 32 (ATT_BLK; what the products read), where
 * _ref zeroes the whole row; the rest is left unwritten. */
static void same_probs(const float *P, const float *Pref, const uint32_t *off, const size_t *poff,
		       size_t nseq, size_t H, size_t ld, float tol)
{
	for (size_t s = 0; s < nseq; s++) {
		size_t t = off[s + 1] - off[s];
		for (size_t h = 0; h < H; h++)
			for (size_t i = 0; i < t; i++) {
				size_t end = (i / 32 + 1) * 32 < t ? (i / 32 + 1) * 32 : t;
				for (size_t j = 0; j < end; j++) {
					size_t at = poff[s] + h * t * ld + i * ld + j;
					ck_assert_float_eq_tol(P[at], Pref[at], tol);
				}
			}
	}
}

START_TEST(test_attention)
{
	struct actx a;
	float out[AR * AC], P[AH * AR * ALD], d[AR * 3 * AC] = { 0 }, dref[AR * 3 * AC] = { 0 };
	struct fd F = { att_loss, &a };

	ainit(&a);
	att_loss(&a);
	rec_attention_forward_ref(out, P, a.qkv, a.off, a.poff, 2, AC, AH, AT);
	for (size_t i = 0; i < AR * AC; i++)
		ck_assert_float_eq_tol(a.out[i], out[i], 1e-5f);
	same_probs(a.P, P, a.off, a.poff, 2, AH, ALD, 1e-6f);
	/* the last rows alone (rec_sasrec_encode), on two threads */
	{
		float last[2 * AC], scratch[2 * 5];
		rec_attention_last_forward(last, scratch, a.qkv, a.off, 2, AC, AH, 5, 2);
		for (size_t s = 0; s < 2; s++)
			for (size_t c = 0; c < AC; c++)
				ck_assert_float_eq_tol(last[s * AC + c], out[(a.off[s + 1] - 1) * AC + c], 1e-5f);
	}
	/* causal: row 0 of the second sequence sees only itself */
	ck_assert_float_eq_tol(a.P[a.poff[1]], 1.0f, 1e-6f);
	ck_assert_float_eq(a.P[a.poff[1] + 1], 0.0f);
	rec_attention_backward(d, a.scratch, a.R, a.qkv, a.P, a.off, a.poff, 2, AC, AH, AT, 2);
	rec_attention_backward_ref(dref, a.R, a.qkv, a.P, a.off, a.poff, 2, AC, AH, AT);
	for (size_t i = 0; i < AR * 3 * AC; i++)
		ck_assert_float_eq_tol(d[i], dref[i], 1e-4f);
	ck_assert_double_lt(fd_worst(&F, a.qkv, d, AR * 3 * AC, 3e-3f), 1e-2);
}
END_TEST

/* q, k and v apart, each with its own row stride (the folded one-head
 * block's layout), against the packed _ref. */
START_TEST(test_attention_sep)
{
	enum { LQ = AC + 3, LK = AC, LV = 2 * AC };
	struct actx a;
	float q[AR * LQ], k[AR * LK], v[AR * LV], dq[AR * LQ] = { 0 }, dk[AR * LK] = { 0 }, dv[AR * LV] = { 0 };
	float out[AR * AC], P[AH * AR * ALD], ref[AR * AC], Pref[AH * AR * ALD], dref[AR * 3 * AC] = { 0 };
	float scratch[2 * ASCR];
	struct rec_attn_in in = { q, k, v, LQ, LK, LV };
	struct rec_attn_grad g = { dq, dk, dv };

	ainit(&a);
	for (size_t r = 0; r < AR; r++)
		for (size_t c = 0; c < AC; c++) {
			q[r * LQ + c] = a.qkv[r * 3 * AC + c];
			k[r * LK + c] = a.qkv[r * 3 * AC + AC + c];
			v[r * LV + c] = a.qkv[r * 3 * AC + 2 * AC + c];
		}
	rec_attention_forward_sep(out, P, scratch, &in, a.off, a.poff, 2, AC, AH, AT, 2);
	rec_attention_forward_ref(ref, Pref, a.qkv, a.off, a.poff, 2, AC, AH, AT);
	for (size_t i = 0; i < AR * AC; i++)
		ck_assert_float_eq_tol(out[i], ref[i], 1e-5f);
	same_probs(P, Pref, a.off, a.poff, 2, AH, ALD, 1e-6f);
	rec_attention_backward_sep(&g, scratch, a.R, &in, Pref, a.off, a.poff, 2, AC, AH, AT, 1);
	rec_attention_backward_ref(dref, a.R, a.qkv, Pref, a.off, a.poff, 2, AC, AH, AT);
	for (size_t r = 0; r < AR; r++)
		for (size_t c = 0; c < AC; c++) {
			ck_assert_float_eq_tol(dq[r * LQ + c], dref[r * 3 * AC + c], 1e-4f);
			ck_assert_float_eq_tol(dk[r * LK + c], dref[r * 3 * AC + AC + c], 1e-4f);
			ck_assert_float_eq_tol(dv[r * LV + c], dref[r * 3 * AC + 2 * AC + c], 1e-4f);
		}
}
END_TEST

/* Sequences longer than a block of the products (ATT_BLK, 32 rows) and of
 * every remainder, at bench/seq.sh's width (one head of 50), q, k, v apart
 * as in the folded block: the blocked products (libxsmm's kernels, one per
 * shape) against the plain loops. */
START_TEST(test_attention_long)
{
	static const uint32_t len[] = { 70, 1, 33, 64, 31, 95 };
	enum { NS = 6, LC = 50, LT = 95, LD = 3 * LC };
	size_t rows, poff[NS], ld = rec_attention_ld(LT), np = 0;
	uint32_t off[NS + 1] = { 0 };
	uint64_t seed = 3;

	for (size_t s = 0; s < NS; s++) {
		off[s + 1] = off[s] + len[s];
		poff[s] = np;
		np += len[s] * ld;
	}
	rows = off[NS];
	float *qkv = malloc(rows * LD * sizeof(float)), *R = malloc(rows * LC * sizeof(float));
	float *out = malloc(rows * LC * sizeof(float)), *ref = malloc(rows * LC * sizeof(float));
	float *P = malloc(np * sizeof(float)), *Pref = malloc(np * sizeof(float));
	float *scratch = malloc(2 * rec_attention_scratch(LT, LC, 1) * sizeof(float));
	float *d = calloc(rows * LD, sizeof(float)), *dref = calloc(rows * LD, sizeof(float));
	struct rec_attn_in in = { qkv, qkv + LC, qkv + 2 * LC, LD, LD, LD };
	struct rec_attn_grad g = { d, d + LC, d + 2 * LC };

	fill(qkv, rows * LD, &seed, 1.0f);
	fill(R, rows * LC, &seed, 1.0f);
	rec_attention_forward_sep(out, P, scratch, &in, off, poff, NS, LC, 1, LT, 2);
	rec_attention_forward_ref(ref, Pref, qkv, off, poff, NS, LC, 1, LT);
	for (size_t i = 0; i < rows * LC; i++)
		ck_assert_float_eq_tol(out[i], ref[i], 1e-5f);
	same_probs(P, Pref, off, poff, NS, 1, ld, 1e-6f);
	rec_attention_backward_sep(&g, scratch, R, &in, P, off, poff, NS, LC, 1, LT, 2);
	rec_attention_backward_ref(dref, R, qkv, Pref, off, poff, NS, LC, 1, LT);
	for (size_t i = 0; i < rows * LD; i++)
		ck_assert_float_eq_tol(d[i], dref[i], 1e-4f);
	free(qkv), free(R), free(out), free(ref), free(P), free(Pref), free(scratch), free(d), free(dref);
}
END_TEST

/* ---- the whole model ------------------------------------------------------ */

static struct rec_sasrec *sized_model(int loss, int act, float dropout, unsigned heads, unsigned dim)
{
	struct rec_sasrec_opts o = REC_SASREC_OPTS_INIT;
	uint64_t ids[11];

	for (size_t i = 0; i < 11; i++)
		ids[i] = 1000 + i * 7;
	o.dim = dim;
	o.heads = heads;
	o.blocks = 2;
	o.max_len = 5;
	o.ffn = 12;
	o.act = act;
	o.dropout = dropout;
	o.loss = loss;
	o.negatives = 3;
	o.seed = 11;
	return rec_sasrec_new(NULL, &o, ids, 11);
}

static struct rec_sasrec *heads_model(int loss, int act, float dropout, unsigned heads)
{
	return sized_model(loss, act, dropout, heads, 8);
}

/* Two heads; one head takes the folded path of sasrec.c's attention. */
static struct rec_sasrec *small_model(int loss, int act, float dropout)
{
	return heads_model(loss, act, dropout, 2);
}

/* Three sequences, one longer than max_len + 1 (truncated). */
static void small_batch(struct rec_sasrec_batch *b, const struct rec_sasrec *m)
{
	static const uint32_t a[] = { 1, 2, 3, 4 }, c[] = { 5, 9, 1, 2, 7, 3, 11, 4 }, e[] = { 6, 6 };

	rec_sasrec_batch_clear(b);
	rec_sasrec_batch_add(b, m, a, 4, 1);
	rec_sasrec_batch_add(b, m, c, 8, 1);
	rec_sasrec_batch_add(b, m, e, 2, 1);
}

struct mctx {
	struct rec_sasrec *m;
	struct rec_sasrec_batch *b;
};

static double model_loss(void *v)
{
	struct mctx *c = v;

	return rec_sasrec_loss(c->m, c->b, 1, 0);
}

/* _i: (heads - 1) * 6 + loss * 2 + activation. */
START_TEST(test_model_grad)
{
	struct rec_sasrec *m = heads_model(_i % 6 / 2, _i % 2, 0.3f, 1 + (unsigned)_i / 6);
	struct rec_sasrec_batch b = { 0 };
	struct mctx c = { m, &b };
	struct fd F = { model_loss, &c };
	uint64_t s = 5;
	float *g;
	double worst;

	ck_assert_ptr_nonnull(m);
	/* LN gains and biases away from 1 and 0, so their gradients mean something */
	for (size_t i = 0; i < m->nparam; i++)
		m->param[i] += 0.2f * frand(&s);
	memset(m->param + m->tok, 0, m->o.dim * sizeof(float));
	m->steps = 3;
	small_batch(&b, m);
	ck_assert_uint_eq(b.nseq, 3);
	ck_assert_uint_eq(b.nrow, 3 + 5 + 1);
	ck_assert_uint_eq(b.pos[3], 0);  /* right-aligned: the truncated one starts at 0 */
	ck_assert_uint_eq(b.pos[2], 4);
	rec_sasrec_loss(m, &b, 1, 1);
	g = malloc(m->nparam * sizeof(float));
	memcpy(g, m->grad, m->nparam * sizeof(float));
	for (size_t t = 0; t < m->ntensor; t++) {
		const struct rec_sasrec_tensor *T = &m->tensor[t];
		/* ReLU: a smaller step crosses fewer kinks */
		worst = fd_worst(&F, m->param + T->off, g + T->off, T->rows * T->cols,
				 _i % 2 == REC_ACT_RELU ? 1e-3f : 3e-3f);
		/* 3e-2: the loss is a float pass, and one ulp of a loss of 3 over
		 * a step of 2e-3 is 1.2e-4, 2.4% of rel_err's floor of 5e-3. The
		 * analytic gradients of the cblas and libxsmm builds agree to 6e-7,
		 * yet their central differences landed at worst 0.0196 and 0.021 */
		ck_assert_msg(worst < 3e-2, "heads %d loss %d act %d: %s: worst relative error %g", 1 + _i / 6,
			      _i % 6 / 2, _i % 2, T->name, worst);
	}
	free(g);
	rec_sasrec_batch_free(&b);
	rec_sasrec_free(m);
}
END_TEST

/* The loss and gradients of a batch are the same (up to the order of
 * float sums) whether it goes through in one pass or in several: the
 * dropout masks and the negatives follow a row's place in the batch, not
 * in its pass; and the same to the bit on 1, 2 or 3 threads. dim 6: a pass can begin inside a group of four mask
 * elements. _i: (heads - 1) * 3 + loss. */
START_TEST(test_passes)
{
	static const uint32_t seqs[][9] = { { 1, 2, 3, 4 }, { 5, 9, 1, 2, 7, 3, 11, 4 }, { 6, 6 },
					    { 2, 8, 10, 3, 1 }, { 7, 4, 9 }, { 11, 10, 9, 8, 7, 6, 5, 4, 3 } };
	static const size_t lens[] = { 4, 8, 2, 5, 3, 9 }, pass_rows[] = { 1, 3, 7 };
	struct rec_sasrec *m = sized_model(_i % 3, REC_ACT_GELU, 0.3f, 1 + (unsigned)_i / 3, 6);
	struct rec_sasrec_batch b = { 0 };
	double whole, loss;
	float *g, *g1;

	ck_assert_ptr_nonnull(m);
	rec_sasrec_batch_clear(&b);
	for (size_t q = 0; q < 6; q++)
		rec_sasrec_batch_add(&b, m, seqs[q], lens[q], 1);
	m->steps = 2;
	m->pass_rows = 0;
	whole = rec_sasrec_loss(m, &b, 1, 1);
	g = malloc(m->nparam * sizeof(float));
	memcpy(g, m->grad, m->nparam * sizeof(float));
	g1 = malloc(m->nparam * sizeof(float));
	for (size_t k = 0; k < 3; k++) {
		m->pass_rows = pass_rows[k];
		m->o.threads = 1;
		loss = rec_sasrec_loss(m, &b, 1, 1);
		ck_assert_msg(fabs(loss - whole) <= 1e-6 * fabs(whole), "passes of %zu rows: loss %.9g, whole %.9g",
			      pass_rows[k], loss, whole);
		for (size_t i = 0; i < m->nparam; i++)
			ck_assert_msg(fabsf(m->grad[i] - g[i]) <= 1e-5f * (1 + fabsf(g[i])),
				      "passes of %zu rows: gradient %zu is %g, whole %g", pass_rows[k], i,
				      m->grad[i], g[i]);
		/* threads share the passes: the same sums, bit for bit */
		memcpy(g1, m->grad, m->nparam * sizeof(float));
		for (unsigned threads = 2; threads <= 3; threads++) {
			m->o.threads = threads;
			ck_assert_double_eq(rec_sasrec_loss(m, &b, 1, 1), loss);
			ck_assert_mem_eq(m->grad, g1, m->nparam * sizeof(float));
		}
	}
	free(g), free(g1);
	rec_sasrec_batch_free(&b);
	rec_sasrec_free(m);
}
END_TEST

/* Encodings survive a model file, and training moves them. */
START_TEST(test_save_load)
{
	struct rec_sasrec *m = small_model(REC_SASREC_SOFTMAX, REC_ACT_GELU, 0.1f), *l;
	struct rec_sasrec_batch b = { 0 };
	struct rec_schema *s = rec_schema_new(REC_HASHED);
	struct rec_model *mf;
	float h1[24], h2[24];
	const char *path = test_tmpfile("sasrec.recm");

	rec_schema_add(s, "item", REC_SEQUENCE, 0);
	m->schema = s;
	small_batch(&b, m);
	rec_sasrec_step(m, &b);
	rec_sasrec_encode(m, &b, h1);
	ck_assert_int_eq(rec_sasrec_save(m, path, NULL), 0);
	ck_assert_ptr_nonnull(mf = rec_model_open(path));
	ck_assert_ptr_nonnull(l = rec_sasrec_load_model(mf));
	rec_model_close(mf);
	ck_assert_uint_eq(l->steps, 1);
	ck_assert_uint_eq(rec_sasrec_find(l, 1000 + 3 * 7), 4);
	rec_sasrec_encode(l, &b, h2);
	for (size_t i = 0; i < 24; i++)
		ck_assert_float_eq(h1[i], h2[i]);
	rec_sasrec_batch_free(&b);
	rec_sasrec_free(m);
	rec_sasrec_free(l);
}
END_TEST

/* Sequences that walk a cycle i -> i + 3 (mod 11): after training, the
 * best-scored next item is the successor, for every loss. The items seen
 * are left out of the ranking, as rec-eval does: negatives never come
 * from a sequence's own items, so nothing holds their scores down. */
START_TEST(test_learns_successor)
{
	struct rec_sasrec *m = small_model(_i, REC_ACT_RELU, 0.0f);
	struct rec_sasrec_batch b = { 0 };
	uint32_t seq[7];
	float h[11 * 8];
	size_t hits = 0;

	m->o.lr = 0.02f;
	for (int step = 0; step < 150; step++) {
		rec_sasrec_batch_clear(&b);
		for (uint32_t u = 0; u < 11; u++) {
			for (size_t j = 0; j < 7; j++)
				seq[j] = 1 + (u + 3 * (uint32_t)j + (uint32_t)step) % 11;
			rec_sasrec_batch_add(&b, m, seq, 7, 1);
		}
		rec_sasrec_step(m, &b);
	}
	rec_sasrec_batch_clear(&b);
	for (uint32_t u = 0; u < 11; u++) {
		seq[0] = 1 + u;
		seq[1] = 1 + (u + 3) % 11;
		rec_sasrec_batch_add(&b, m, seq, 2, 0);
	}
	rec_sasrec_encode(m, &b, h);
	for (uint32_t u = 0; u < 11; u++) {
		const float *E = rec_sasrec_items(m);
		uint32_t best = 1;
		float bs = -INFINITY;
		for (uint32_t j = 1; j < 12; j++) {
			float s = 0;
			if (j == 1 + u || j == 1 + (u + 3) % 11)
				continue;
			for (size_t c = 0; c < 8; c++)
				s += h[u * 8 + c] * E[j * 8 + c];
			if (s > bs)
				bs = s, best = j;
		}
		hits += best == 1 + (u + 6) % 11;
	}
	ck_assert_msg(hits >= 10, "loss %d: %zu of 11 successors", _i, hits);
	rec_sasrec_batch_free(&b);
	rec_sasrec_free(m);
}
END_TEST

/* A copy of the model file at src with one tensor left out or one
 * manifest key changed (key NULL: none). */
static void rewrite(const char *src, const char *dst, const char *drop, const char *key, const char *val)
{
	struct rec_model *mf = rec_model_open(src);
	struct rec_model_writer *w = rec_model_create(dst, 0);
	struct rec_kv kv = { 0 };

	ck_assert_ptr_nonnull(mf);
	ck_assert_ptr_nonnull(w);
	for (size_t i = 0; i < mf->manifest.n; i++)
		rec_kv_set(&kv, mf->manifest.key[i], mf->manifest.val[i]);
	if (key)
		rec_kv_set(&kv, key, val);
	for (size_t i = 0; i < mf->nt; i++)
		if (!drop || strcmp(mf->t[i].name, drop))
			ck_assert_int_eq(rec_model_add(w, mf->t[i].name, mf->t[i].dtype, mf->t[i].shape,
						       mf->t[i].ndim, mf->t[i].data), 0);
	ck_assert_int_eq(rec_model_commit(w, &kv), 0);
	rec_kv_free(&kv);
	rec_model_close(mf);
}

static int loads(const char *path)
{
	struct rec_model *mf = rec_model_open(path);
	struct rec_sasrec *m = mf ? rec_sasrec_load_model(mf) : NULL;
	int ok = m != NULL;

	rec_sasrec_free(m);
	rec_model_close(mf);
	return ok;
}

/* A missing tensor, a shape that does not fit the manifest, or a
 * manifest that does not hold together: refused, each with a message. */
START_TEST(test_bad_files)
{
	struct rec_sasrec *m = small_model(REC_SASREC_BCE, REC_ACT_RELU, 0);
	const char *good = test_tmpfile("good.recm"), *bad = test_tmpfile("bad.recm");

	m->schema = rec_schema_new(REC_HASHED);
	rec_schema_add(m->schema, "item", REC_SEQUENCE, 0);
	ck_assert_int_eq(rec_sasrec_save(m, good, NULL), 0);
	ck_assert(loads(good));
	rewrite(good, bad, "blk.1.ffn_up.bias", NULL, NULL);
	ck_assert(!loads(bad));
	rewrite(good, bad, NULL, "model.ffn", "13");
	ck_assert(!loads(bad));
	rewrite(good, bad, NULL, "model.heads", "3");
	ck_assert(!loads(bad));
	rewrite(good, bad, NULL, "model.activation", "tanh");
	ck_assert(!loads(bad));
	rewrite(good, bad, "sasrec.adam", NULL, NULL);
	ck_assert(!loads(bad));
	rec_sasrec_free(m);
}
END_TEST

/* Negatives come from outside the sequence (the items before the
 * max_len window too), whatever the threads; a sequence that has every
 * item still gets negatives, none of them its target. _i: the loss. */
START_TEST(test_negatives_unseen)
{
	static const uint32_t a[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, c[] = { 10, 11, 10, 11 },
			      e[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct rec_sasrec *m = small_model(_i ? REC_SASREC_SAMPLED : REC_SASREC_BCE, REC_ACT_RELU, 0);
	struct rec_sasrec_batch b = { 0 };
	size_t K = m->o.negatives + 1, n;
	uint32_t *first;

	rec_sasrec_batch_clear(&b);
	rec_sasrec_batch_add(&b, m, a, 9, 1);
	rec_sasrec_batch_add(&b, m, c, 4, 1);
	rec_sasrec_batch_add(&b, m, e, 11, 1);
	n = b.nrow * K;
	rec_sasrec_loss(m, &b, 1, 0);
	first = malloc(n * sizeof(uint32_t));
	memcpy(first, rec_sasrec_candidates(m), n * sizeof(uint32_t));
	for (size_t i = 0; i < b.nrow; i++) {
		const uint32_t *cand = first + i * K;
		ck_assert_uint_eq(cand[0], b.target[i]);
		for (size_t k = 1; k < K; k++) {
			if (i < 5)
				ck_assert_msg(cand[k] >= 10, "row %zu: negative %u is in the history", i, cand[k]);
			else if (i < 8)
				ck_assert_msg(cand[k] <= 9, "row %zu: negative %u is in the history", i, cand[k]);
			else
				ck_assert_uint_ne(cand[k], b.target[i]);
		}
	}
	m->o.threads = 3;
	rec_sasrec_loss(m, &b, 1, 0);
	ck_assert_mem_eq(first, rec_sasrec_candidates(m), n * sizeof(uint32_t));
	free(first);
	rec_sasrec_batch_free(&b);
	rec_sasrec_free(m);
}
END_TEST

START_TEST(test_bad_opts)
{
	struct rec_sasrec_opts o = REC_SASREC_OPTS_INIT;
	uint64_t ids[2] = { 1, 2 };

	o.dim = 10;
	o.heads = 4;
	ck_assert_ptr_null(rec_sasrec_new(NULL, &o, ids, 2));
	o.heads = 2;
	ck_assert_ptr_null(rec_sasrec_new(NULL, &o, ids, 1));
}
END_TEST

Suite *suite_sasrec(void)
{
	Suite *s = suite_create("sasrec");
	TCase *k = tcase_create("kernels"), *m = tcase_create("model");

	tcase_add_test(k, test_layernorm_grad);
	tcase_add_test(k, test_linear);
	tcase_add_loop_test(k, test_act_grad, REC_ACT_RELU, REC_ACT_GELU + 1);
	tcase_add_test(k, test_attention);
	tcase_add_test(k, test_attention_sep);
	tcase_add_test(k, test_attention_long);
	suite_add_tcase(s, k);
	tcase_add_loop_test(m, test_model_grad, 0, 12);
	tcase_add_loop_test(m, test_passes, 0, 6);
	tcase_add_test(m, test_save_load);
	tcase_add_loop_test(m, test_learns_successor, 0, 3);
	tcase_add_loop_test(m, test_negatives_unseen, 0, 2);
	tcase_add_test(m, test_bad_opts);
	tcase_add_test(m, test_bad_files);
	tcase_set_timeout(m, 60);
	suite_add_tcase(s, m);
	return s;
}
