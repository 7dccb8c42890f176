/* fm.h - factorization machine kernels (logistic regression is the k = 0
 * case). One example's features are n rows of 1 + k floats, [w, v_1..v_k],
 * gathered from the embedding store, each with a value x (1 for a
 * categorical value, the number for a numeric field):
 *
 *   logit = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j
 *
 * computed in O(n k) as 0.5 * sum_f ((sum_i v_if x_i)^2 - sum_i v_if^2 x_i^2). */
#ifndef REC_FM_H
#define REC_FM_H

#include <stddef.h>
#include <stdint.h>

/* Returns the logit. P[i] points at feature i's row (1+k floats: the
 * store's own fp32 rows, or a copy), x (n); sum_v (k) receives
 * sum_i v_i x_i, which backward needs. */
float rec_fm_forward(float *sum_v, const float *const *P, const float *x, size_t n, unsigned k, float w0);

/* dR (n, 1+k) = dlogit * d logit / d (the rows P points at), overwritten,
 * not accumulated: each row is updated on its own. d logit / d w0 is 1. */
void rec_fm_backward(float *dR, const float *const *P, const float *x, const float *sum_v, size_t n,
		     unsigned k, float dlogit);

/* Field-aware FM (Juan et al. 2016). With F fields, a feature's row holds
 * [w, v_0..v_{F-1}], v_f being the k factors it shows to features of field f;
 * feature i belongs to field fld[i]:
 *
 *   logit = w0 + sum_i w_i x_i + sum_{i<j} <v_{i,fld[j]}, v_{j,fld[i]}> x_i x_j
 *
 * No O(n k) identity holds here: the pairs cost O(n^2 k). R (n, 1+F*k),
 * x (n), fld (n) each below F; acc (k) is scratch. */
float rec_ffm_forward(float *acc, const float *R, const float *x, const uint32_t *fld, size_t n,
		      unsigned F, unsigned k, float w0);

/* dR (n, 1+F*k) = dlogit * d logit / d R, overwritten like rec_fm_backward;
 * the factors toward fields absent from the example get 0. */
void rec_ffm_backward(float *dR, const float *R, const float *x, const uint32_t *fld, size_t n,
		      unsigned F, unsigned k, float dlogit);

/* Logistic loss of a logit against a 0/1 label, and its derivative p - y. */
float rec_logistic_loss(float logit, float label, float *dlogit);

#endif
