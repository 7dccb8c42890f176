/* blas.h - the BLAS behind every GEMM: BLIS when configure found it,
 * OpenBLAS otherwise; and libxsmm for small products in loops (rec_smm).
 * Include this rather than <cblas.h>. */
#ifndef REC_BLAS_H
#define REC_BLAS_H

#include <cblas.h>
#include <stddef.h>

/* Threads the BLAS may start inside one call. The tools pass 1: their own
 * OpenMP threads split the work, and a BLAS team inside each would only
 * contend for the same cores. */
void rec_blas_threads(int n);

/* "BLIS 0.9.0, skx kernels" or "OpenBLAS, Haswell kernels": what ran. */
const char *rec_blas_describe(void);

/* C (m x n) = op(A) B, plus C when beta is 1 (0: C is only written),
 * row-major; op(A) = A (m x k, rows lda apart) or with transa A^T (A is k
 * x m). For the small products of a loop (sasrec's attention, a block of
 * rows at a time): libxsmm's JIT kernels when configure found it, none of
 * BLAS's packing or checks per call; cblas_sgemm for a shape it has no
 * kernel for, or without libxsmm. No B^T: libxsmm 1.17 generates none
 * (transpose B into a scratch copy instead). Each shape's kernel is made
 * on its first call, then found in a table; threads may call it at once. */
void rec_smm(int transa, size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B,
	     size_t ldb, int beta, float *C, size_t ldc);

/* "libxsmm 1.17, cpx kernels", or "cblas" without it: what runs rec_smm. */
const char *rec_smm_describe(void);

#endif
