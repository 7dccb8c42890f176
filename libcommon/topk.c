/* topk.c - exact top-K: a block of queries times a block of items is one
 * GEMM (scores in cache-sized tiles, so catalogues of millions fit), then
 * each query's heap of its k best so far takes the tile's row (any other
 * scorer fills the tiles its own way: rec_topk_scored). One thread:
 * scoring all 6040 x 3706 pairs of MovieLens-1M at d = 33 is 1.5 GFLOP. */
#include "config.h"
#include "topk.h"
#include "err.h"

#include "blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_BLOCK 128
#define ITEM_BLOCK 2048

/* a ranks below b: lower score, or the same score and a higher index */
static int worse(float sa, uint32_t ia, float sb, uint32_t ib)
{
	return sa < sb || (sa == sb && ia > ib);
}

/* A bounded min-heap of (score, index), the worst at the root. */
struct heap {
	float *s;
	uint32_t *i;
	size_t n, k;
};

static void sift_down(struct heap *h, size_t p)
{
	for (;;) {
		size_t c = 2 * p + 1, m = p;
		if (c < h->n && worse(h->s[c], h->i[c], h->s[m], h->i[m]))
			m = c;
		if (c + 1 < h->n && worse(h->s[c + 1], h->i[c + 1], h->s[m], h->i[m]))
			m = c + 1;
		if (m == p)
			return;
		float ts = h->s[p];
		uint32_t ti = h->i[p];
		h->s[p] = h->s[m];
		h->i[p] = h->i[m];
		h->s[m] = ts;
		h->i[m] = ti;
		p = m;
	}
}

static void push(struct heap *h, float s, uint32_t i)
{
	size_t c;

	if (h->n == h->k) {
		if (!worse(h->s[0], h->i[0], s, i))
			return;
		h->s[0] = s;
		h->i[0] = i;
		sift_down(h, 0);
		return;
	}
	for (c = h->n++; c > 0 && worse(s, i, h->s[(c - 1) / 2], h->i[(c - 1) / 2]); c = (c - 1) / 2) {
		h->s[c] = h->s[(c - 1) / 2];
		h->i[c] = h->i[(c - 1) / 2];
	}
	h->s[c] = s;
	h->i[c] = i;
}

/* Empties the heap into idx/score, best first; returns the length. */
static size_t drain(struct heap *h, uint32_t *idx, float *score)
{
	size_t len = h->n;

	while (h->n) {
		idx[h->n - 1] = h->i[0];
		score[h->n - 1] = h->s[0];
		h->s[0] = h->s[h->n - 1];
		h->i[0] = h->i[h->n - 1];
		h->n--;
		sift_down(h, 0);
	}
	return len;
}

/* Query q's scores of items [lo, hi) in row; its skipped items become NaN. */
static void mask(float *row, size_t q, size_t lo, size_t hi, const struct rec_topk_skip *skip)
{
	size_t a, b;

	if (!skip)
		return;
	a = skip->off[q];
	b = skip->off[q + 1];
	while (a < b) {   /* first skipped index >= lo */
		size_t mid = a + (b - a) / 2;
		if (skip->idx[mid] < lo)
			a = mid + 1;
		else
			b = mid;
	}
	for (; a < skip->off[q + 1] && skip->idx[a] < hi; a++)
		row[skip->idx[a] - lo] = NAN;
}

static void push_row(struct heap *h, const float *row, size_t lo, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (row[j] == row[j])   /* not NaN */
			push(h, row[j], (uint32_t)(lo + j));
}

void rec_topk_scored(uint32_t *idx, float *score, size_t *len, size_t nq, size_t ni, size_t k,
		     size_t qblock, size_t iblock, const struct rec_topk_skip *skip, rec_topk_fill *fill,
		     void *arg)
{
	float *C = rec_xmalloc(qblock * iblock * sizeof(float));
	float *hs = rec_xmalloc(qblock * (k + 1) * sizeof(float));
	uint32_t *hi = rec_xmalloc(qblock * (k + 1) * sizeof(uint32_t));
	struct heap *h = rec_xmalloc(qblock * sizeof(*h));

	for (size_t q0 = 0; q0 < nq; q0 += qblock) {
		size_t qb = nq - q0 < qblock ? nq - q0 : qblock;
		for (size_t q = 0; q < qb; q++)
			h[q] = (struct heap){ .s = hs + q * (k + 1), .i = hi + q * (k + 1), .k = k };
		for (size_t i0 = 0; k && i0 < ni; i0 += iblock) {
			size_t ib = ni - i0 < iblock ? ni - i0 : iblock;
			fill(C, q0, qb, i0, ib, arg);
			for (size_t q = 0; q < qb; q++) {
				mask(C + q * ib, q0 + q, i0, i0 + ib, skip);
				push_row(&h[q], C + q * ib, i0, ib);
			}
		}
		for (size_t q = 0; q < qb; q++)
			len[q0 + q] = drain(&h[q], idx + (q0 + q) * k, score + (q0 + q) * k);
	}
	free(C);
	free(hs);
	free(hi);
	free(h);
}

struct dot_arg {
	const float *Q, *It;
	size_t d;
};

/* C (qb x ib) = Q[q0..] (qb x d) . It[i0..]^T */
static void fill_dot(float *C, size_t q0, size_t qb, size_t i0, size_t ib, void *arg)
{
	const struct dot_arg *a = arg;

	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qb, (int)ib, (int)a->d, 1.0f,
		    a->Q + q0 * a->d, (int)a->d, a->It + i0 * a->d, (int)a->d, 0.0f, C, (int)ib);
}

void rec_topk_dot(uint32_t *idx, float *score, size_t *len, const float *Q, size_t nq, const float *It,
		  size_t ni, size_t d, size_t k, const struct rec_topk_skip *skip)
{
	struct dot_arg a = { Q, It, d };

	rec_topk_scored(idx, score, len, nq, ni, k, QUERY_BLOCK, ITEM_BLOCK, skip, fill_dot, &a);
}

struct scored {
	float s;
	uint32_t i;
};

static int by_rank(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	return worse(x->s, x->i, y->s, y->i) ? 1 : worse(y->s, y->i, x->s, x->i) ? -1 : 0;
}

static int skipped(const struct rec_topk_skip *skip, size_t q, size_t i)
{
	for (size_t a = skip ? skip->off[q] : 0; skip && a < skip->off[q + 1]; a++)
		if (skip->idx[a] == i)
			return 1;
	return 0;
}

void rec_topk_dot_ref(uint32_t *idx, float *score, size_t *len, const float *Q, size_t nq,
		      const float *It, size_t ni, size_t d, size_t k, const struct rec_topk_skip *skip)
{
	struct scored *all = rec_xmalloc((ni + 1) * sizeof(*all));

	for (size_t q = 0; q < nq; q++) {
		size_t n = 0;
		for (size_t i = 0; i < ni; i++) {
			float s = 0;
			for (size_t j = 0; j < d; j++)
				s += Q[q * d + j] * It[i * d + j];
			if (!skipped(skip, q, i) && s == s)
				all[n++] = (struct scored){ s, (uint32_t)i };
		}
		qsort(all, n, sizeof(*all), by_rank);
		len[q] = n < k ? n : k;
		for (size_t r = 0; r < len[q]; r++) {
			idx[q * k + r] = all[r].i;
			score[q * k + r] = all[r].s;
		}
	}
	free(all);
}

void rec_topk_normalize(float *X, size_t n, size_t d)
{
	for (size_t r = 0; r < n; r++) {
		double ss = 0;
		for (size_t j = 0; j < d; j++)
			ss += (double)X[r * d + j] * X[r * d + j];
		if (ss > 0)
			for (size_t j = 0; j < d; j++)
				X[r * d + j] = (float)(X[r * d + j] / sqrt(ss));
	}
}
