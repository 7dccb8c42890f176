/* fm.c - factorization machine forward and backward for one example. */
#include "config.h"
#include "fm.h"

#include <math.h>
#include <string.h>

/* The factor loops run on 4-float vectors (GCC's vector extension, SSE on
 * any x86-64): their sums stay in registers across the features, where a
 * loop over sum_v[f] would wait on a store each feature. Wider vectors
 * would be split and kept in memory without -mavx. */
typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));
#define LOAD4(p) (*(const v4f *)(const void *)(p))
#define STORE4(p, v) (*(v4f *)(void *)(p) = (v))

static inline float hsum4(v4f a)
{
	return (a[0] + a[1]) + (a[2] + a[3]);
}

/* sum_i w_i x_i in four partial sums: one chain of n adds is the latency
 * of n adds. */
static float linear_term(const float *const *P, const float *x, size_t n)
{
	float lin[4] = { 0 };
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		for (int j = 0; j < 4; j++)
			lin[j] += P[i + j][0] * x[i + j];
	for (; i < n; i++)
		lin[0] += P[i][0] * x[i];
	return (lin[0] + lin[1]) + (lin[2] + lin[3]);
}

/* Factors f .. f+3: sum_v there, and sum_f ((sum_i v_if x_i)^2 -
 * sum_i (v_if x_i)^2) over them. */
static inline float pair_block4(float *sum_v, const float *const *P, const float *x, size_t n, unsigned f)
{
	v4f s = { 0 }, q = { 0 };

	for (size_t i = 0; i < n; i++) {
		v4f a = LOAD4(P[i] + 1 + f) * x[i];
		s += a;
		q += a * a;
	}
	STORE4(sum_v + f, s);
	return hsum4(s * s - q);
}

/* The same for factors f .. f+7, two chains side by side. */
static inline float pair_block8(float *sum_v, const float *const *P, const float *x, size_t n, unsigned f)
{
	v4f s0 = { 0 }, s1 = { 0 }, q0 = { 0 }, q1 = { 0 };

	for (size_t i = 0; i < n; i++) {
		const float *v = P[i] + 1 + f;
		v4f a = LOAD4(v) * x[i], b = LOAD4(v + 4) * x[i];
		s0 += a;
		s1 += b;
		q0 += a * a;
		q1 += b * b;
	}
	STORE4(sum_v + f, s0);
	STORE4(sum_v + f + 4, s1);
	return hsum4(s0 * s0 - q0) + hsum4(s1 * s1 - q1);
}

float rec_fm_forward(float *sum_v, const float *const *P, const float *x, size_t n, unsigned k, float w0)
{
	float pair = 0;
	unsigned f = 0;

	for (; f + 8 <= k; f += 8)
		pair += pair_block8(sum_v, P, x, n, f);
	for (; f + 4 <= k; f += 4)
		pair += pair_block4(sum_v, P, x, n, f);
	for (; f < k; f++) {
		float s = 0, q = 0;
		for (size_t i = 0; i < n; i++) {
			float a = P[i][1 + f] * x[i];
			s += a;
			q += a * a;
		}
		sum_v[f] = s;
		pair += s * s - q;
	}
	return w0 + linear_term(P, x, n) + 0.5f * pair;
}

void rec_fm_backward(float *dR, const float *const *P, const float *x, const float *sum_v, size_t n,
		     unsigned k, float dlogit)
{
	size_t stride = (size_t)k + 1;

	for (size_t i = 0; i < n; i++) {
		const float *row = P[i] + 1;
		float *d = dR + i * stride, xi = x[i], gx = dlogit * xi;
		unsigned f = 0;
		d[0] = gx;
		/* d/dv_if of the pair term: x_i (sum_f - v_if x_i) */
		for (; f + 4 <= k; f += 4)
			STORE4(d + 1 + f, gx * (LOAD4(sum_v + f) - LOAD4(row + f) * xi));
		for (; f < k; f++)
			d[1 + f] = gx * (sum_v[f] - row[f] * xi);
	}
}

/* GCC's -O2 vectorizes no loop whose trip count it doesn't know; the pair
 * loops below run 1.5-2.5x faster vectorized (k = 4..16, 39 fields). */
#ifdef _OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

/* acc += c a .* b: one pair's dot product, kept elementwise so that the
 * loop vectorizes without reassociating a float sum. */
static inline void pair_dot(float *restrict acc, const float *restrict a, const float *restrict b,
			    float c, unsigned k)
{
	SIMD
	for (unsigned f = 0; f < k; f++)
		acc[f] += c * a[f] * b[f];
}

float rec_ffm_forward(float *acc, const float *R, const float *x, const uint32_t *fld, size_t n,
		      unsigned F, unsigned k, float w0)
{
	size_t stride = 1 + (size_t)F * k;
	float z = w0;

	for (unsigned f = 0; f < k; f++)
		acc[f] = 0;
	for (size_t i = 0; i < n; i++) {
		const float *vi = R + i * stride + 1;
		z += R[i * stride] * x[i];
		for (size_t j = i + 1; j < n; j++)
			pair_dot(acc, vi + (size_t)fld[j] * k, R + j * stride + 1 + (size_t)fld[i] * k,
				 x[i] * x[j], k);
	}
	for (unsigned f = 0; f < k; f++)
		z += acc[f];
	return z;
}

/* da += c b, db += c a. da and db lie in different rows, never overlapping. */
static inline void pair_grad(float *restrict da, float *restrict db, const float *restrict a,
			     const float *restrict b, float c, unsigned k)
{
	SIMD
	for (unsigned f = 0; f < k; f++) {
		da[f] += c * b[f];
		db[f] += c * a[f];
	}
}

void rec_ffm_backward(float *dR, const float *R, const float *x, const uint32_t *fld, size_t n,
		      unsigned F, unsigned k, float dlogit)
{
	size_t stride = 1 + (size_t)F * k;

	memset(dR, 0, n * stride * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		const float *vi = R + i * stride + 1;
		float *di = dR + i * stride + 1, gx = dlogit * x[i];
		dR[i * stride] = gx;
		for (size_t j = i + 1; j < n; j++) {
			size_t to_j = (size_t)fld[j] * k, to_i = (size_t)fld[i] * k;
			pair_grad(di + to_j, dR + j * stride + 1 + to_i, vi + to_j,
				  R + j * stride + 1 + to_i, gx * x[j], k);
		}
	}
}

float rec_logistic_loss(float logit, float label, float *dlogit)
{
	/* One exponential, e^-|z| <= 1, for both: finite for any z. The
	 * loss is only reported (rec-eval computes its own), so log(1 + e)
	 * takes logf, several times faster than log1pf and off by at most
	 * 6e-8 where e is tiny. */
	float e = expf(-fabsf(logit));
	float p = logit >= 0 ? 1 / (1 + e) : e / (1 + e);
	float loss = fmaxf(logit, 0) - logit * label + logf(1 + e);

	*dlogit = p - label;
	return loss;
}
