/* sasrec_kern.c - the transformer's kernels: LayerNorm, Linear (sgemm),
 * ReLU/GELU and causal multi-head attention over packed sequences, each
 * forward beside its backward. Attention is one sequence at a time (no
 * padding to compute) with OpenMP over the sequences; its products
 * (rec_smm: libxsmm's kernels, in row blocks of ATT_BLK), softmax and
 * gradient touch only the causal triangle. */
#include "config.h"
#include "sasrec.h"

#include "blas.h"
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() ((size_t)omp_get_thread_num())
#else
#define THREAD_ID() ((size_t)0)
#endif

#define LN_EPS 1e-5f
/* rows (or columns) of the attention matrices one sgemm takes: the causal
 * triangle is covered by blocks of this height */
#ifndef ATT_BLK
#define ATT_BLK 32
#endif

/* AVX2 where the CPU has it (the build is for plain x86-64): at dim 50
 * the rows are short and the LayerNorms were 7% of an epoch; 20% less
 * time in both directions. */
__attribute__((target_clones("avx2", "default")))
void rec_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *g,
			   const float *b, size_t N, size_t C)
{
	for (size_t i = 0; i < N; i++) {
		const float *xi = x + i * C;
		float *oi = out + i * C, m = 0, v = 0, s;
#pragma omp simd reduction(+:m)
		for (size_t c = 0; c < C; c++)
			m += xi[c];
		m /= (float)C;
#pragma omp simd reduction(+:v)
		for (size_t c = 0; c < C; c++)
			v += (xi[c] - m) * (xi[c] - m);
		s = 1.0f / sqrtf(v / (float)C + LN_EPS);
#pragma omp simd
		for (size_t c = 0; c < C; c++)
			oi[c] = (xi[c] - m) * s * g[c] + b[c];
		mean[i] = m;
		rstd[i] = s;
	}
}

__attribute__((target_clones("avx2", "default")))
void rec_layernorm_backward(float *dx, float *dg, float *db, const float *dout, const float *x,
			    const float *mean, const float *rstd, const float *g, size_t N, size_t C)
{
	for (size_t i = 0; i < N; i++) {
		const float *xi = x + i * C, *di = dout + i * C;
		float *dxi = dx + i * C, s = rstd[i], m = mean[i], dnorm_mean = 0, dnorm_dot = 0;
#pragma omp simd reduction(+:dnorm_mean, dnorm_dot)
		for (size_t c = 0; c < C; c++) {
			float n = (xi[c] - m) * s, dn = g[c] * di[c];
			dnorm_mean += dn;
			dnorm_dot += dn * n;
			dg[c] += n * di[c];
			db[c] += di[c];
		}
		dnorm_mean /= (float)C;
		dnorm_dot /= (float)C;
#pragma omp simd
		for (size_t c = 0; c < C; c++) {
			float n = (xi[c] - m) * s;
			dxi[c] += (g[c] * di[c] - dnorm_mean - n * dnorm_dot) * s;
		}
	}
}

/* Rows of x each product of the linear layers' forward takes (the bias
 * written, then the product added, while the rows are in L1), and of dy
 * in the backward (dW's product reloads dW's C tile for each: longer
 * blocks; dx's follows while those rows of dy are in cache): the fastest of
 * 32 ... 512 on 16,000 rows of dim 50 here. The rows after the last whole
 * block go in blocks of half as many, a quarter, ... 1: kernels for a few
 * sizes, not a JIT compile for the remainder of nearly every batch. */
#ifndef LIN_BLK
#define LIN_BLK 128
#endif
#ifndef LIN_BWD_BLK
#define LIN_BWD_BLK 128
#endif
/* libxsmm generates no B^T, so the forward multiplies by a copy of W^T,
 * on the stack up to this size (sasrec's layers: dim 50 ... 128); larger
 * layers go to cblas_sgemm whole. */
#define LIN_WT_MAX (128 * 256)

static void fill_bias(float *y, const float *b, size_t N, size_t OC)
{
	/* a loop, not a memcpy a row: rows of 50 to 150 floats */
	for (size_t i = 0; i < N; i++)
#pragma omp simd
		for (size_t o = 0; o < OC; o++)
			y[i * OC + o] = b[o];
}

void rec_linear_forward(float *y, const float *x, const float *W, const float *b, size_t N, size_t C,
			size_t OC)
{
	float Wt[C * OC <= LIN_WT_MAX ? C * OC : 1];
	struct rec_smm mm;
	size_t i0 = 0;

	if (C * OC > LIN_WT_MAX) {
		fill_bias(y, b, N, OC);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)OC, (int)C, 1.0f, x, (int)C,
			    W, (int)C, 1.0f, y, (int)OC);
		return;
	}
	rec_transpose(Wt, W, OC, C);
	for (size_t nb = LIN_BLK; nb; nb /= 2) {
		if (N - i0 < nb)
			continue;
		rec_smm_init(&mm, 0, nb, OC, C, C, OC, 1, OC);
		for (; N - i0 >= nb; i0 += nb) {
			fill_bias(y + i0 * OC, b, nb, OC);
			rec_smm_run(&mm, x + i0 * C, Wt, y + i0 * OC);
		}
	}
}

void rec_linear_forward_ref(float *y, const float *x, const float *W, const float *b, size_t N,
			    size_t C, size_t OC)
{
	for (size_t i = 0; i < N; i++)
		for (size_t o = 0; o < OC; o++) {
			float s = b[o];
			for (size_t c = 0; c < C; c++)
				s += x[i * C + c] * W[o * C + c];
			y[i * OC + o] = s;
		}
}

void rec_linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
			 const float *W, size_t N, size_t C, size_t OC)
{
	struct rec_smm mw, mx;
	size_t i0 = 0;

	for (size_t nb = LIN_BWD_BLK; nb; nb /= 2) {
		if (N - i0 < nb)
			continue;
		rec_smm_init(&mw, 1, OC, C, nb, OC, C, 1, C);
		rec_smm_init(&mx, 0, nb, C, OC, OC, C, 1, C);
		for (; N - i0 >= nb; i0 += nb) {
			const float *dyb = dy + i0 * OC;
			/* simd: the compiler cannot know db is not within dy */
			for (size_t i = 0; i < nb; i++)
#pragma omp simd
				for (size_t o = 0; o < OC; o++)
					db[o] += dyb[i * OC + o];
			rec_smm_run(&mw, dyb, x + i0 * C, dW);
			if (dx)
				rec_smm_run(&mx, dyb, W, dx + i0 * C);
		}
	}
}

void rec_linear_backward_ref(float *dx, float *dW, float *db, const float *dy, const float *x,
			     const float *W, size_t N, size_t C, size_t OC)
{
	for (size_t i = 0; i < N; i++)
		for (size_t o = 0; o < OC; o++) {
			float g = dy[i * OC + o];
			db[o] += g;
			for (size_t c = 0; c < C; c++) {
				dW[o * C + c] += g * x[i * C + c];
				if (dx)
					dx[i * C + c] += g * W[o * C + c];
			}
		}
}

/* GELU, tanh form (GPT-2, llm.c). */
#define GELU_K 0.7978845608f /* sqrt(2 / pi) */

void rec_act_forward(float *y, const float *x, size_t n, int act)
{
	if (act != REC_ACT_GELU) {
#pragma omp simd
		for (size_t i = 0; i < n; i++)
			y[i] = x[i] > 0 ? x[i] : 0;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		y[i] = 0.5f * v * (1.0f + tanhf(GELU_K * (v + 0.044715f * v * v * v)));
	}
}

/* dx = dy act'(x), written rather than added and in place where dx is
 * dy: the block's backward needs no zeroed buffer for it, nor a pass over
 * a third array (the ReLU's was 4% of an epoch). */
void rec_act_backward(float *dx, const float *dy, const float *x, size_t n, int act)
{
	if (act != REC_ACT_GELU) {
		/* dy read whatever the sign, so that this is a select GCC
		 * vectorizes, not a branch mispredicted half the time (it was) */
#pragma omp simd
		for (size_t i = 0; i < n; i++) {
			float g = dy[i];
			dx[i] = x[i] > 0 ? g : 0;
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		float v = x[i];
		float u = GELU_K * (v + 0.044715f * v * v * v), t = tanhf(u);
		float du = GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
		dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
	}
}

/* e^x for x <= 0 (softmax's shifted scores), branch-free so that the
 * loops over a row vectorize, where expf is a call per element (it and
 * causal_softmax were 11% of an epoch). Cephes' expf: x = k ln2 + r,
 * |r| <= ln2 / 2, e^r by a polynomial (within 2 ulp), times 2^k from the
 * exponent bits; 0 below -87.3, where e^x < 2^-126 and 2^k would not fit
 * the exponent. The clamp and the zeroing are integer masks on the bits
 * (for x <= 0 the order of the bits is that of -x): GCC at -O2 leaves a
 * float ?: as a branch, which no loop vectorizes through. */
static inline float exp_nonpos(float x)
{
	const float magic = 12582912.0f, lo = -87.3f; /* magic: 1.5 * 2^23 rounds to an integer */
	uint32_t xb, lob, yb, pb, keep;
	float y, k, r, p, two_k;
	int32_t bits;

	memcpy(&xb, &x, sizeof(xb));
	memcpy(&lob, &lo, sizeof(lob));
	keep = -(uint32_t)(xb <= lob); /* all ones where x >= lo */
	yb = (xb & keep) | (lob & ~keep);
	memcpy(&y, &yb, sizeof(y));
	k = (y * 1.44269504f + magic) - magic;
	bits = ((int32_t)k + 127) * (1 << 23);
	r = y - k * 0.693359375f + k * 2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	memcpy(&two_k, &bits, sizeof(two_k));
	p = (p * r * r + r + 1.0f) * two_k;
	memcpy(&pb, &p, sizeof(pb));
	pb &= keep;
	memcpy(&p, &pb, sizeof(p));
	return p;
}

/* Where row i's diagonal block of blk rows ends: the block products read
 * that far to the right of the diagonal (zeroes), no further. */
static size_t block_end(size_t i, size_t t, size_t blk)
{
	size_t e = (i / blk + 1) * blk;

	return e < t ? e : t;
}

/* Row i of S (t x t, rows ld apart) to probabilities over j <= i; zero
 * above, up to the end of the row's block of blk rows. AVX-512 or AVX2 where the CPU has
 * it: the build is for plain x86-64, this loop is most of the softmax
 * (AVX-512: 3% less time in the attention's forward than AVX2). */
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void causal_softmax(float *S, size_t t, size_t ld, size_t blk)
{
	for (size_t i = 0; i < t; i++) {
		float *r = S + i * ld, mx = r[0], sum = 0;
		float inv;
#pragma omp simd reduction(max:mx)
		for (size_t j = 1; j <= i; j++)
			mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+:sum)
		for (size_t j = 0; j <= i; j++)
			sum += (r[j] = exp_nonpos(r[j] - mx));
		inv = 1.0f / sum;
#pragma omp simd
		for (size_t j = 0; j <= i; j++)
			r[j] *= inv;
		memset(r + i + 1, 0, (block_end(i, t, blk) - i - 1) * sizeof(float));
	}
}

/* dS = scale P * (dP - rowsum(P * dP)), in place over dP, the triangle
 * only (zero above it to the end of the row's block, as causal_softmax);
 * rows ld apart in both. */
static void softmax_backward(float *dP, const float *P, size_t t, size_t ld, size_t blk, float scale)
{
	for (size_t i = 0; i < t; i++) {
		const float *p = P + i * ld;
		float *d = dP + i * ld, dot = 0;
#pragma omp simd reduction(+:dot)
		for (size_t j = 0; j <= i; j++)
			dot += p[j] * d[j];
#pragma omp simd
		for (size_t j = 0; j <= i; j++)
			d[j] = p[j] * (d[j] - dot) * scale;
		memset(d + i + 1, 0, (block_end(i, t, blk) - i - 1) * sizeof(float));
	}
}

size_t rec_attention_ld(size_t T)
{
	return (T + 15) / 16 * 16;
}

size_t rec_attention_scratch(size_t T, size_t C, size_t H)
{
	size_t ld = rec_attention_ld(T);

	return T * ld + C / H * ld;
}

/* Kt (hd x t, rows ld apart) = scale X^T, X (t x hd, rows ldx apart): the
 * B^T of a product, which rec_smm takes only this way round. Eight rows
 * of X at a time, so that each row of Kt gets eight floats at once: 1.6x
 * the speed of one element at a time (it was 3% of an epoch). */
static void transpose_scaled(float *Kt, size_t ld, const float *X, size_t ldx, size_t t, size_t hd,
			     float scale)
{
	size_t j = 0;

	for (; j + 8 <= t; j += 8)
		for (size_t c = 0; c < hd; c++) {
			float *o = Kt + c * ld + j;
			const float *x = X + j * ldx + c;
#pragma omp simd
			for (size_t r = 0; r < 8; r++)
				o[r] = x[r * ldx] * scale;
		}
	for (; j < t; j++)
		for (size_t c = 0; c < hd; c++)
			Kt[c * ld + j] = X[j * ldx + c] * scale;
}

/* The blocks of rows of a sequence of t: i0 = 0, ATT_BLK, ... (mb rows),
 * and the size of the last one. */
static size_t last_block(size_t t)
{
	return t - (t - 1) / ATT_BLK * ATT_BLK;
}

/* C (mb x ATT_BLK tiles, then mb x mb on the diagonal) = A (mb x hd)
 * Bt[:, 0 .. i0+mb): S = Q K^T's or dP = dY V^T's row block of the causal
 * triangle, a tile at a time, so that there are kernels for a few shapes
 * only, not for every length of a sequence. */
static void triangle_rows(float *C, size_t ldc, const float *A, size_t lda, const float *Bt, size_t ldb,
			  size_t i0, size_t mb, size_t hd)
{
	struct rec_smm full, diag;

	rec_smm_init(&full, 0, mb, ATT_BLK, hd, lda, ldb, 0, ldc);
	rec_smm_init(&diag, 0, mb, mb, hd, lda, ldb, 0, ldc);
	for (size_t j0 = 0; j0 < i0; j0 += ATT_BLK)
		rec_smm_run(&full, A, Bt + j0, C + j0);
	rec_smm_run(&diag, A, Bt + i0, C + i0);
}

/* Y (mb x hd) (+)= L[i0 .. i0+mb, 0 .. i0+mb) B[0 .. i0+mb): out = P V's or
 * dQ = dS K's row block, L lower triangular (zero above the diagonal in
 * the diagonal block), in chunks of ATT_BLK of the sum, the first written
 * unless add. */
static void triangle_times(float *Y, size_t ldy, const float *L, size_t ldl, const float *B, size_t ldb,
			   size_t i0, size_t mb, size_t hd, int add)
{
	struct rec_smm first, next, diag;

	rec_smm_init(&first, 0, mb, hd, ATT_BLK, ldl, ldb, add, ldy);
	rec_smm_init(&next, 0, mb, hd, ATT_BLK, ldl, ldb, 1, ldy);
	rec_smm_init(&diag, 0, mb, hd, mb, ldl, ldb, add || i0, ldy);
	for (size_t j0 = 0; j0 < i0; j0 += ATT_BLK)
		rec_smm_run(j0 ? &next : &first, L + j0, B + j0 * ldb, Y);
	rec_smm_run(&diag, L + i0, B + i0 * ldb, Y);
}

/* Y (mb x hd) += L[i0 .. t, i0 .. i0+mb)^T B[i0 .. t): dV += P^T dY's or
 * dK += dS^T Q's row block, in chunks of ATT_BLK rows of L (the last one
 * last rows). */
static void triangle_t_times(float *Y, size_t ldy, const float *L, size_t ldl, const float *B, size_t ldb,
			     size_t i0, size_t mb, size_t t, size_t last, size_t hd)
{
	struct rec_smm full, tail;

	rec_smm_init(&full, 1, mb, hd, ATT_BLK, ldl, ldb, 1, ldy);
	rec_smm_init(&tail, 1, mb, hd, last, ldl, ldb, 1, ldy);
	for (size_t j0 = i0; j0 < t; j0 += ATT_BLK)
		rec_smm_run(j0 + ATT_BLK <= t ? &full : &tail, L + j0 * ldl + i0, B + j0 * ldb, Y);
}

void rec_attention_forward_sep(float *out, float *P, float *scratch, const struct rec_attn_in *in,
			       const uint32_t *off, const size_t *poff, size_t nseq, size_t C, size_t H,
			       size_t T, size_t threads)
{
	size_t hd = C / H, ldq = in->ldq, ldk = in->ldk, ldv = in->ldv, ld = rec_attention_ld(T);
	float scale = 1.0f / sqrtf((float)hd);

	/* one sequence at a time: a pass has ten or so, of any length */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
	for (size_t s = 0; s < nseq; s++) {
		size_t t = off[s + 1] - off[s];
		const float *q = in->q + (size_t)off[s] * ldq, *k = in->k + (size_t)off[s] * ldk;
		const float *v = in->v + (size_t)off[s] * ldv;
		float *y = out + (size_t)off[s] * C, *kt = scratch + THREAD_ID() * rec_attention_scratch(T, C, H);
		for (size_t h = 0; h < H; h++) {
			float *p = P + poff[s] + h * t * ld;
			size_t o = h * hd;
			/* S = Q (scale K^T), the causal triangle only: rows i0 .. i0+mb-1
			 * against keys 0 .. i0+mb-1 (causal_softmax zeroes what is above
			 * the diagonal there); then out = P V over the same triangle */
			transpose_scaled(kt, ld, k + o, ldk, t, hd, scale);
			for (size_t i0 = 0; i0 < t; i0 += ATT_BLK)
				triangle_rows(p + i0 * ld, ld, q + i0 * ldq + o, ldq, kt, ld, i0,
					      i0 + ATT_BLK < t ? ATT_BLK : t - i0, hd);
			causal_softmax(p, t, ld, ATT_BLK);
			for (size_t i0 = 0; i0 < t; i0 += ATT_BLK)
				triangle_times(y + i0 * C + o, C, p + i0 * ld, ld, v + o, ldv, i0,
					       i0 + ATT_BLK < t ? ATT_BLK : t - i0, hd, 0);
		}
	}
}

/* q, k, v side by side in each row of qkv (N,3C). */
static struct rec_attn_in packed_qkv(const float *qkv, size_t C)
{
	return (struct rec_attn_in){ qkv, qkv + C, qkv + 2 * C, 3 * C, 3 * C, 3 * C };
}

void rec_attention_forward(float *out, float *P, float *scratch, const float *qkv, const uint32_t *off,
			   const size_t *poff, size_t nseq, size_t C, size_t H, size_t T, size_t threads)
{
	struct rec_attn_in in = packed_qkv(qkv, C);

	rec_attention_forward_sep(out, P, scratch, &in, off, poff, nseq, C, H, T, threads);
}

void rec_attention_last_forward(float *out, float *scratch, const float *qkv, const uint32_t *off,
				size_t nseq, size_t C, size_t H, size_t T, size_t threads)
{
	size_t hd = C / H, ld = 3 * C;
	float scale = 1.0f / sqrtf((float)hd);

#pragma omp parallel for schedule(dynamic, 16) num_threads(threads) if (threads > 1)
	for (size_t s = 0; s < nseq; s++) {
		size_t t = off[s + 1] - off[s];
		const float *q = qkv + (size_t)off[s] * ld;
		float *p = scratch + THREAD_ID() * T;
		for (size_t h = 0; h < H; h++) {
			const float *qi = q + (t - 1) * ld + h * hd;
			float *o = out + s * C + h * hd, mx = -INFINITY, sum = 0, inv;
			for (size_t j = 0; j < t; j++) {
				const float *kj = q + j * ld + C + h * hd;
				float dot = 0;
#pragma omp simd reduction(+:dot)
				for (size_t c = 0; c < hd; c++)
					dot += qi[c] * kj[c];
				p[j] = dot * scale;
				mx = p[j] > mx ? p[j] : mx;
			}
			for (size_t j = 0; j < t; j++)
				sum += (p[j] = expf(p[j] - mx));
			inv = 1.0f / sum;
			memset(o, 0, hd * sizeof(float));
			for (size_t j = 0; j < t; j++) {
				const float *vj = q + j * ld + 2 * C + h * hd;
				float pj = p[j] * inv;
#pragma omp simd
				for (size_t c = 0; c < hd; c++)
					o[c] += pj * vj[c];
			}
		}
	}
}

void rec_attention_forward_ref(float *out, float *P, const float *qkv, const uint32_t *off,
			       const size_t *poff, size_t nseq, size_t C, size_t H, size_t T)
{
	size_t hd = C / H, ld = rec_attention_ld(T);
	float scale = 1.0f / sqrtf((float)hd);

	for (size_t s = 0; s < nseq; s++) {
		size_t t = off[s + 1] - off[s];
		for (size_t h = 0; h < H; h++) {
			float *p = P + poff[s] + h * t * ld;
			for (size_t i = 0; i < t; i++)
				for (size_t j = 0; j < t; j++) {
					const float *qi = qkv + (off[s] + i) * 3 * C + h * hd;
					const float *kj = qkv + (off[s] + j) * 3 * C + C + h * hd;
					float d = 0;
					for (size_t c = 0; c < hd; c++)
						d += qi[c] * kj[c];
					p[i * ld + j] = d * scale;
				}
			causal_softmax(p, t, ld, t);
			for (size_t i = 0; i < t; i++)
				for (size_t c = 0; c < hd; c++) {
					float sum = 0;
					for (size_t j = 0; j <= i; j++)
						sum += p[i * ld + j] * qkv[(off[s] + j) * 3 * C + 2 * C + h * hd + c];
					out[(off[s] + i) * C + h * hd + c] = sum;
				}
		}
	}
}


void rec_attention_backward_sep(const struct rec_attn_grad *g, float *scratch, const float *dout,
				const struct rec_attn_in *in, const float *P, const uint32_t *off,
				const size_t *poff, size_t nseq, size_t C, size_t H, size_t T, size_t threads)
{
	size_t hd = C / H, ldq = in->ldq, ldk = in->ldk, ldv = in->ldv, ld = rec_attention_ld(T);
	float scale = 1.0f / sqrtf((float)hd);

	/* one sequence at a time: a pass has ten or so, of any length */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
	for (size_t s = 0; s < nseq; s++) {
		size_t t = off[s + 1] - off[s], r0 = off[s], last = last_block(t);
		const float *q = in->q + r0 * ldq, *k = in->k + r0 * ldk, *v = in->v + r0 * ldv;
		const float *dy = dout + r0 * C;
		float *dq = g->dq + r0 * ldq, *dk = g->dk + r0 * ldk, *dv = g->dv + r0 * ldv;
		float *d = scratch + THREAD_ID() * rec_attention_scratch(T, C, H), *vt = d + T * ld;
		for (size_t h = 0; h < H; h++) {
			const float *p = P + poff[s] + h * t * ld;
			size_t o = h * hd;
			/* P and dS are lower triangular, so each product runs over the
			 * triangle only, in blocks of ATT_BLK: a row block i0 .. i0+mb-1
			 * needs columns 0 .. i0+mb-1, a column block i0 .. i0+mb-1 rows
			 * i0 .. t-1 (zero above the diagonal within the diagonal block, no
			 * further). dP = dY V^T (the triangle: softmax_backward reads no
			 * more and zeroes the rest of the diagonal block); dV += P^T dY */
			transpose_scaled(vt, ld, v + o, ldv, t, hd, 1.0f);
			for (size_t i0 = 0; i0 < t; i0 += ATT_BLK) {
				size_t mb = i0 + ATT_BLK < t ? ATT_BLK : t - i0;
				triangle_rows(d + i0 * ld, ld, dy + i0 * C + o, C, vt, ld, i0, mb, hd);
				triangle_t_times(dv + i0 * ldv + o, ldv, p, ld, dy + o, C, i0, mb, t, last, hd);
			}
			softmax_backward(d, p, t, ld, ATT_BLK, scale);
			/* dQ += dS K; dK += dS^T Q (dS scaled) */
			for (size_t i0 = 0; i0 < t; i0 += ATT_BLK) {
				size_t mb = i0 + ATT_BLK < t ? ATT_BLK : t - i0;
				triangle_times(dq + i0 * ldq + o, ldq, d + i0 * ld, ld, k + o, ldk, i0, mb, hd, 1);
				triangle_t_times(dk + i0 * ldk + o, ldk, d, ld, q + o, ldq, i0, mb, t, last, hd);
			}
		}
	}
}

void rec_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
			    const float *P, const uint32_t *off, const size_t *poff, size_t nseq,
			    size_t C, size_t H, size_t T, size_t threads)
{
	struct rec_attn_in in = packed_qkv(qkv, C);
	struct rec_attn_grad g = { dqkv, dqkv + C, dqkv + 2 * C };

	rec_attention_backward_sep(&g, scratch, dout, &in, P, off, poff, nseq, C, H, T, threads);
}

void rec_attention_backward_ref(float *dqkv, const float *dout, const float *qkv, const float *P,
				const uint32_t *off, const size_t *poff, size_t nseq, size_t C,
				size_t H, size_t T)
{
	size_t hd = C / H, ld = 3 * C, ldp = rec_attention_ld(T);
	float scale = 1.0f / sqrtf((float)hd);

	for (size_t s = 0; s < nseq; s++) {
		size_t t = off[s + 1] - off[s], r0 = off[s];
		for (size_t h = 0; h < H; h++) {
			const float *p = P + poff[s] + h * t * ldp;
			size_t o = h * hd;
			for (size_t i = 0; i < t; i++) {
				const float *dy = dout + (r0 + i) * C + o;
				float dp[i + 1], dot = 0;
				for (size_t j = 0; j <= i; j++) {
					const float *v = qkv + (r0 + j) * ld + 2 * C + o;
					float *dv = dqkv + (r0 + j) * ld + 2 * C + o;
					dp[j] = 0;
					for (size_t c = 0; c < hd; c++) {
						dp[j] += dy[c] * v[c];
						dv[c] += p[i * ldp + j] * dy[c];
					}
					dot += p[i * ldp + j] * dp[j];
				}
				for (size_t j = 0; j <= i; j++) {
					float ds = p[i * ldp + j] * (dp[j] - dot) * scale;
					for (size_t c = 0; c < hd; c++) {
						dqkv[(r0 + i) * ld + o + c] += ds * qkv[(r0 + j) * ld + C + o + c];
						dqkv[(r0 + j) * ld + C + o + c] += ds * qkv[(r0 + i) * ld + o + c];
					}
				}
			}
		}
	}
}
