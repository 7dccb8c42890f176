/* fm.c - factorization machine forward and backward for one example. */
#include "config.h"
#include "fm.h"

#include <math.h>

float rec_fm_forward(float *sum_v, const float *R, const float *x, size_t n, unsigned k, float w0)
{
	size_t stride = (size_t)k + 1;
	float linear = w0, pair = 0;

	for (unsigned f = 0; f < k; f++)
		sum_v[f] = 0;
	for (size_t i = 0; i < n; i++) {
		const float *row = R + i * stride;
		linear += row[0] * x[i];
		for (unsigned f = 0; f < k; f++) {
			float vx = row[1 + f] * x[i];
			sum_v[f] += vx;
			pair -= vx * vx;
		}
	}
	for (unsigned f = 0; f < k; f++)
		pair += sum_v[f] * sum_v[f];
	return linear + 0.5f * pair;
}

void rec_fm_backward(float *dR, const float *R, const float *x, const float *sum_v, size_t n,
		     unsigned k, float dlogit)
{
	size_t stride = (size_t)k + 1;

	for (size_t i = 0; i < n; i++) {
		const float *row = R + i * stride;
		float *d = dR + i * stride, gx = dlogit * x[i];
		d[0] = gx;
		/* d/dv_if of the pair term: x_i (sum_f - v_if x_i) */
		for (unsigned f = 0; f < k; f++)
			d[1 + f] = gx * (sum_v[f] - row[1 + f] * x[i]);
	}
}

float rec_logistic_loss(float logit, float label, float *dlogit)
{
	/* log(1 + e^-|z|) keeps both branches finite for large |z| */
	float p = 1 / (1 + expf(-logit));
	float loss = fmaxf(logit, 0) - logit * label + log1pf(expf(-fabsf(logit)));

	*dlogit = p - label;
	return loss;
}
