/* topk.h - exact top-K by dot product: blocks of queries times blocks of
 * items through cblas_sgemm, a bounded heap per query. No approximation:
 * every item is scored. Any scorer can use the heaps: rec_topk_scored. */
#ifndef REC_TOPK_H
#define REC_TOPK_H

#include <stddef.h>
#include <stdint.h>

/* Items a query must skip, as sorted lists: query q skips
 * idx[off[q]] .. idx[off[q+1]-1] (ascending). NULL: none. */
struct rec_topk_skip {
	const size_t *off;
	const uint32_t *idx;
};

/* For each of the nq queries (rows of Q, nq x d), the k items (rows of It,
 * ni x d) with the largest dot products, best first; ties go to the lower
 * item index. Writes item indices to idx (nq x k), scores to score
 * (nq x k) and the list lengths to len (nq): fewer than k when the items
 * left after skipping are fewer. NaN scores never make a list. */
void rec_topk_dot(uint32_t *idx, float *score, size_t *len, const float *Q, size_t nq, const float *It,
		  size_t ni, size_t d, size_t k, const struct rec_topk_skip *skip);
/* Fills C (qb x ib, row-major) with the scores of queries [q0, q0 + qb)
 * against items [i0, i0 + ib). */
typedef void rec_topk_fill(float *C, size_t q0, size_t qb, size_t i0, size_t ib, void *arg);
/* rec_topk_dot's lists with the scores fill makes, qblock queries by
 * iblock items at a time. */
void rec_topk_scored(uint32_t *idx, float *score, size_t *len, size_t nq, size_t ni, size_t k,
		     size_t qblock, size_t iblock, const struct rec_topk_skip *skip, rec_topk_fill *fill,
		     void *arg);
/* rec_topk_dot with plain loops and a full sort: the reference the tests hold
 * rec_topk_dot to. */
void rec_topk_dot_ref(uint32_t *idx, float *score, size_t *len, const float *Q, size_t nq,
		      const float *It, size_t ni, size_t d, size_t k, const struct rec_topk_skip *skip);

/* Scales each of the n rows of X (n x d) to unit length, so that dot
 * products become cosines; zero rows stay zero. */
void rec_topk_normalize(float *X, size_t n, size_t d);

#endif
