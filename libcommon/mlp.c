/* mlp.c - Linear/ReLU stacks on mini-batches. Row-major throughout: a batch
 * is b rows of dim[l] floats, W_l is out x in, so a layer is one
 * sgemm Y = X W^T and its backward two more (dW += dY^T X, dX = dY W). */
#include "config.h"
#include "mlp.h"
#include "rng.h"
#include "err.h"

#include "blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static float uniform(uint64_t *s, float bound)
{
	return bound * (float)(2.0 * (double)(rec_splitmix64(s) >> 11) * 0x1.0p-53 - 1.0);
}

void rec_mlp_init(struct rec_mlp *n, const unsigned *dims, size_t nlayers, int relu_last, uint64_t seed)
{
	uint64_t s = seed ^ UINT64_C(0x6d6c70);
	size_t off = 0;

	memset(n, 0, sizeof(*n));
	if (nlayers < 1 || nlayers > REC_MLP_MAX_LAYERS)
		rec_die("an MLP has 1 to %d layers, not %zu", REC_MLP_MAX_LAYERS, nlayers);
	n->nlayers = nlayers;
	n->relu_last = relu_last;
	memcpy(n->dim, dims, (nlayers + 1) * sizeof(*dims));
	for (size_t l = 0; l < nlayers; l++) {
		n->w_off[l] = off;
		off += (size_t)dims[l] * dims[l + 1];
		n->b_off[l] = off;
		off += dims[l + 1];
	}
	n->nparam = off;
	n->param = rec_xmalloc(off * sizeof(float));
	n->grad = rec_xcalloc(off, sizeof(float));
	n->m = rec_xcalloc(off, sizeof(float));
	n->v = rec_xcalloc(off, sizeof(float));
	for (size_t l = 0; l < nlayers; l++) {
		float bound = 1.0f / sqrtf((float)dims[l]);
		for (size_t i = n->w_off[l]; i < n->b_off[l] + dims[l + 1]; i++)
			n->param[i] = uniform(&s, bound);
	}
	rec_mlp_threads(n, 1);
}

/* Weights of the largest layer. */
static size_t widest_layer(const struct rec_mlp *n)
{
	size_t w = 0;

	for (size_t l = 0; l < n->nlayers; l++)
		if ((size_t)n->dim[l] * n->dim[l + 1] > w)
			w = (size_t)n->dim[l] * n->dim[l + 1];
	return w;
}

/* Room for each workspace's gradient of the front weights. */
static void front_grads(struct rec_mlp *n)
{
	for (size_t t = 0; n->front_in && t < n->nws; t++)
		if (!n->ws[t].front_grad)
			n->ws[t].front_grad = rec_xcalloc((size_t)n->dim[0] * n->dim[1], sizeof(float));
}

void rec_mlp_set_front(struct rec_mlp *n, unsigned in, const float *w)
{
	if (in > n->dim[0])
		rec_die("an MLP's first layer takes at most %u inputs, not %u", n->dim[0], in);
	n->front_in = in;
	n->front = in ? w : NULL;
	front_grads(n);
}

float *rec_mlp_front_grad(struct rec_mlp *n)
{
	return n->ws[0].front_grad;
}

void rec_mlp_threads(struct rec_mlp *n, size_t threads)
{
	if (threads <= n->nws)
		return;
	n->ws = rec_xrealloc(n->ws, threads * sizeof(*n->ws));
	memset(n->ws + n->nws, 0, (threads - n->nws) * sizeof(*n->ws));
	for (size_t t = n->nws; t < threads; t++) {
		n->ws[t].grad = t ? rec_xcalloc(n->nparam, sizeof(float)) : n->grad;
		n->ws[t].wt = rec_xmalloc(widest_layer(n) * sizeof(float));
	}
	n->nws = threads;
	front_grads(n);
}

void rec_mlp_free(struct rec_mlp *n)
{
	for (size_t t = 0; t < n->nws; t++) {
		struct rec_mlp_ws *w = &n->ws[t];
		for (size_t l = 0; l <= n->nlayers; l++)
			free(w->act[l]);
		free(w->delta[0]);
		free(w->delta[1]);
		free(w->wt);
		free(w->front_grad);
		if (t)
			free(w->grad);
	}
	free(n->ws);
	free(n->param);
	free(n->grad);
	free(n->m);
	free(n->v);
	memset(n, 0, sizeof(*n));
}

unsigned rec_mlp_out(const struct rec_mlp *n)
{
	return n->dim[n->nlayers];
}

static unsigned widest(const struct rec_mlp *n)
{
	unsigned w = 0;

	for (size_t l = 0; l <= n->nlayers; l++)
		if (n->dim[l] > w)
			w = n->dim[l];
	return w;
}

float *rec_mlp_input(struct rec_mlp *n, size_t t, size_t b)
{
	struct rec_mlp_ws *w = &n->ws[t];

	if (b > w->cap) {
		w->cap = b;
		for (size_t l = 0; l <= n->nlayers; l++)
			w->act[l] = rec_xrealloc(w->act[l], b * n->dim[l] * sizeof(float));
		for (int i = 0; i < 2; i++)
			w->delta[i] = rec_xrealloc(w->delta[i], b * widest(n) * sizeof(float));
	}
	return w->act[0];
}

const float *rec_mlp_output(const struct rec_mlp *n, size_t t)
{
	return n->ws[t].act[n->nlayers];
}

static int has_relu(const struct rec_mlp *n, size_t l)
{
	return l + 1 < n->nlayers || n->relu_last;
}

/* Rows a product takes at a time, then 128, 64, ... 1 for the rest: a few
 * shapes for libxsmm to compile, whatever the batch or a thread's share.
 * 256 rather than 128: deepfm and dlrm 2% faster, the same sums. */
#define SMM_ROWS 256

/* C = A B (+ C with beta) in blocks of A's and C's rows; with transa,
 * C += A^T B in blocks of A's and B's rows (of the sum over k). */
static void smm_blocks(int transa, size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B,
		       size_t ldb, int beta, float *C, size_t ldc)
{
	size_t len = transa ? k : m, i = 0;
	struct rec_smm mm;

	for (size_t nb = SMM_ROWS; nb; nb /= 2) {
		if (len - i < nb)
			continue;
		rec_smm_init(&mm, transa, transa ? m : nb, n, transa ? nb : k, lda, ldb, transa || beta, ldc);
		for (; len - i >= nb; i += nb)
			rec_smm_run(&mm, A + i * lda, transa ? B + i * ldb : B, transa ? C : C + i * ldc);
	}
}

/* Layer l's inputs and weights: W_l's, or the front's for layer 0. */
static size_t layer_in(const struct rec_mlp *n, size_t l)
{
	return l == 0 && n->front_in ? n->front_in : n->dim[l];
}

static const float *layer_w(const struct rec_mlp *n, size_t l)
{
	return l == 0 && n->front_in ? n->front : n->param + n->w_off[l];
}

/* y = x W^T + b: libxsmm has no B^T, so W^T is copied first, a few tens
 * of microseconds a layer against milliseconds of product a batch, and
 * never stale, however the parameters were set. */
static const float *run(struct rec_mlp *n, size_t t, size_t b, const float *x, size_t ld)
{
	struct rec_mlp_ws *w = &n->ws[t];

	w->in = x;
	w->ld = ld;
	for (size_t l = 0; l < n->nlayers; l++) {
		size_t in = layer_in(n, l), out = n->dim[l + 1];
		const float *bias = n->param + n->b_off[l];
		float *y = w->act[l + 1];
		for (size_t r = 0; r < b; r++)
			memcpy(y + r * out, bias, out * sizeof(float));
		rec_transpose(w->wt, layer_w(n, l), out, in);
		smm_blocks(0, b, out, in, l ? w->act[l] : x, l ? in : ld, w->wt, out, 1, y, out);
		if (has_relu(n, l))
#pragma omp simd
			for (size_t i = 0; i < b * out; i++)
				y[i] = y[i] > 0 ? y[i] : 0;
	}
	return w->act[n->nlayers];
}

const float *rec_mlp_forward(struct rec_mlp *n, size_t t, size_t b)
{
	return run(n, t, b, n->ws[t].act[0], layer_in(n, 0));
}

const float *rec_mlp_forward_from(struct rec_mlp *n, size_t t, size_t b, const float *x, size_t ld)
{
	rec_mlp_input(n, t, b); /* the other layers' room */
	return run(n, t, b, x, ld);
}

void rec_mlp_backward(struct rec_mlp *n, size_t t, size_t b, const float *dout, float *din)
{
	struct rec_mlp_ws *w = &n->ws[t];
	float *d = w->delta[0], *dprev = w->delta[1];

	memcpy(d, dout, b * rec_mlp_out(n) * sizeof(float));
	for (size_t l = n->nlayers; l-- > 0;) {
		size_t in = layer_in(n, l), out = n->dim[l + 1];
		const float *restrict y = w->act[l + 1];
		float *restrict gb = w->grad + n->b_off[l], *tmp;
		float *gw = l == 0 && n->front_in ? w->front_grad : w->grad + n->w_off[l];
		if (has_relu(n, l))
#pragma omp simd
			for (size_t i = 0; i < b * out; i++)
				d[i] = y[i] > 0 ? d[i] : 0;
		for (size_t r = 0; r < b; r++)
#pragma omp simd
			for (size_t j = 0; j < out; j++)
				gb[j] += d[r * out + j];
		smm_blocks(1, out, in, b, d, out, l ? w->act[l] : w->in, l ? in : w->ld, 1, gw, in);
		if (l == 0 && !din)
			break;
		smm_blocks(0, b, in, out, d, out, layer_w(n, l), in, 0, l ? dprev : din, l ? in : w->ld);
		tmp = d;
		d = dprev;
		dprev = tmp;
	}
}

double rec_mlp_flops(const struct rec_mlp *n, size_t b, int with_din)
{
	double f = 0;

	for (size_t l = 0; l < n->nlayers; l++)
		f += 2.0 * (double)b * layer_in(n, l) * n->dim[l + 1] * (l == 0 && !with_din ? 2 : 3);
	return f;
}

void rec_mlp_reduce(struct rec_mlp *n)
{
	for (size_t t = 1; t < n->nws; t++) {
		float *g = n->ws[t].grad;
#pragma omp simd
		for (size_t i = 0; i < n->nparam; i++)
			n->grad[i] += g[i];
		memset(g, 0, n->nparam * sizeof(float));
		if (n->front_in) {
			size_t nf = (size_t)n->front_in * n->dim[1];
			float *restrict f0 = n->ws[0].front_grad, *restrict f = n->ws[t].front_grad;
#pragma omp simd
			for (size_t i = 0; i < nf; i++)
				f0[i] += f[i];
			memset(f, 0, nf * sizeof(float));
		}
	}
}

void rec_mlp_zero_grad(struct rec_mlp *n)
{
	for (size_t t = 0; t < n->nws; t++) {
		memset(n->ws[t].grad, 0, n->nparam * sizeof(float));
		if (n->ws[t].front_grad)
			memset(n->ws[t].front_grad, 0, (size_t)n->dim[0] * n->dim[1] * sizeof(float));
	}
}

void rec_mlp_adam(struct rec_mlp *n, float lr)
{
	const float b1 = 0.9f, b2 = 0.999f;
	size_t np = n->nparam;
	float c1, c2;

	n->steps++;
	c1 = 1.0f / (1.0f - powf(b1, (float)n->steps));
	c2 = 1.0f / (1.0f - powf(b2, (float)n->steps));
#ifdef _OPENMP
	if (n->nws > 1 && np >= 65536) {
#pragma omp parallel num_threads(n->nws)
		{
			size_t t = (size_t)omp_get_thread_num(), k = (size_t)omp_get_num_threads();
			rec_adam_update(n->param, n->grad, n->m, n->v, np * t / k, np * (t + 1) / k, lr,
					b1, b2, c1, c2, 1);
		}
		return;
	}
#endif
	rec_adam_update(n->param, n->grad, n->m, n->v, 0, np, lr, b1, b2, c1, c2, 1);
}
