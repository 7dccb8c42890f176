/* mlp.h - a multilayer perceptron over a mini-batch: Linear layers (GEMMs
 * through rec_smm: libxsmm's kernels, or cblas) with ReLU between them,
 * hand-written backward pass, and Adam on its parameters. The dense half
 * of deepfm, dlrm and ncf. */
#ifndef REC_MLP_H
#define REC_MLP_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define REC_MLP_MAX_LAYERS 8

/* What one thread needs to run its share of a batch: activations of the
 * last forward (act[0] the input, act[l + 1] layer l's output after ReLU),
 * backward scratch, and its own gradient sums. */
struct rec_mlp_ws {
	float *act[REC_MLP_MAX_LAYERS + 1], *delta[2];
	const float *in;           /* the last forward's input: act[0] or the caller's */
	size_t ld;                 /* floats from one of its rows to the next */
	float *wt;                 /* a layer's W^T, the forward's B operand */
	float *grad;               /* workspace 0 uses the MLP's own */
	float *front_grad;         /* dim[1] x front_in: the gradient for front */
	size_t cap;
};

struct rec_mlp {
	size_t nlayers;
	unsigned dim[REC_MLP_MAX_LAYERS + 1];  /* dim[0] inputs, dim[l + 1] layer l's outputs */
	int relu_last;                          /* ReLU after the last layer too */
	float *param, *grad, *m, *v;            /* all layers: W_l (out x in) then b_l */
	size_t nparam;
	size_t w_off[REC_MLP_MAX_LAYERS], b_off[REC_MLP_MAX_LAYERS];
	uint64_t steps;                         /* Adam steps taken */
	struct rec_mlp_ws *ws;
	size_t nws;
	unsigned front_in;                      /* layer 0 through front (rec_mlp_set_front) */
	const float *front;
};

/* dims: inputs, then each layer's width. Weights and biases start uniform in
 * [-1/sqrt(fan_in), 1/sqrt(fan_in)] from seed. */
void rec_mlp_init(struct rec_mlp *n, const unsigned *dims, size_t nlayers, int relu_last, uint64_t seed);
void rec_mlp_free(struct rec_mlp *n);
unsigned rec_mlp_out(const struct rec_mlp *n);

/* Workspaces for up to n threads (1 after init). */
void rec_mlp_threads(struct rec_mlp *n, size_t threads);

/* Workspace t's input buffer for b rows (dim[0] floats each) to fill. */
float *rec_mlp_input(struct rec_mlp *n, size_t t, size_t b);
/* Runs workspace t's input; returns its outputs (b x out). */
const float *rec_mlp_forward(struct rec_mlp *n, size_t t, size_t b);
/* The same on b rows of x read in place, not copied, ld floats apart: x
 * must stay as it is until the backward of this forward, which reads it
 * again and writes din with the same stride. */
const float *rec_mlp_forward_from(struct rec_mlp *n, size_t t, size_t b, const float *x, size_t ld);
/* The outputs of workspace t's last forward. */
const float *rec_mlp_output(const struct rec_mlp *n, size_t t);
/* dout (b x out): gradient of the loss with respect to the outputs of
 * workspace t's last forward. Adds the parameter gradients to the
 * workspace's sums and, when din is not NULL, writes the gradient with
 * respect to the inputs (b x dim[0], or as rec_mlp_forward_from says). */
void rec_mlp_backward(struct rec_mlp *n, size_t t, size_t b, const float *dout, float *din);
/* Runs layer 0 on inputs of in columns (in <= dim[0]) through w (dim[1] x
 * in) instead of W_0, from now on; in = 0 goes back to W_0. For a caller
 * that folds some of W_0's inputs together (deepfm's numeric fields) and
 * refills w before each forward. A backward then adds the gradient with
 * respect to w to rec_mlp_front_grad (after rec_mlp_reduce, every
 * workspace's), which the caller unfolds into W_0's and clears. */
void rec_mlp_set_front(struct rec_mlp *n, unsigned in, const float *w);
float *rec_mlp_front_grad(struct rec_mlp *n);
/* Adds the other workspaces' gradient sums into n->grad, in a fixed order. */
void rec_mlp_reduce(struct rec_mlp *n);
/* Floating-point operations of one forward + backward of a b-row batch. */
double rec_mlp_flops(const struct rec_mlp *n, size_t b, int with_din);

/* Adam step with lr on the accumulated gradients, which it then zeroes. */
void rec_mlp_adam(struct rec_mlp *n, float lr);
void rec_mlp_zero_grad(struct rec_mlp *n);

/* Adam (Kingma and Ba) on parameters [lo, hi), eps 1e-8: moments m and v,
 * bias corrections c1 = 1 / (1 - b1^t), c2 = 1 / (1 - b2^t). With
 * zero_grad (a constant at each call: the branch folds away) it clears
 * each gradient as it reads it. The MLPs' and sasrec's update; restrict
 * parameters because through a struct, or shared into an OpenMP region,
 * GCC kept the loop scalar. */
static inline void rec_adam_update(float *restrict param, float *restrict grad, float *restrict m,
				   float *restrict v, size_t lo, size_t hi, float lr, float b1,
				   float b2, float c1, float c2, int zero_grad)
{
	const float eps = 1e-8f;

#pragma omp simd
	for (size_t i = lo; i < hi; i++) {
		float g = grad[i];
		m[i] = b1 * m[i] + (1 - b1) * g;
		v[i] = b2 * v[i] + (1 - b2) * g * g;
		param[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
		if (zero_grad)
			grad[i] = 0;
	}
}

#endif
