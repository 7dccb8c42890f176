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
 * (transpose B into a scratch copy instead). A kernel is made for each
 * shape (sizes, strides, transa, beta) on its first use, a JIT compile of
 * some 50 us, and kept in a table; threads may ask for them at once.
 * rec_smm_init finds the kernel of a shape, rec_smm_run calls it: find it
 * once for the products of a loop. */
typedef void (*rec_smm_fn)(const float *a, const float *b, float *c, ...);
struct rec_smm {
	rec_smm_fn fn;          /* libxsmm's kernel; NULL: cblas_sgemm */
	int vzeroupper;         /* the CPU has AVX: clear after the kernel */
	int transa, beta, m, n, k, lda, ldb, ldc;
};
void rec_smm_init(struct rec_smm *s, int transa, size_t m, size_t n, size_t k, size_t lda, size_t ldb,
		  int beta, size_t ldc);
void rec_smm_blas(const struct rec_smm *s, const float *A, const float *B, float *C);
static inline void rec_smm_run(const struct rec_smm *s, const float *A, const float *B, float *C)
{
	if (s->fn) {
		s->fn(B, A, C); /* column-major: C^T = B^T op(A)^T */
		/* libxsmm's AVX-512 kernels return with the vector registers'
		 * upper halves dirty, which slows every SSE instruction after
		 * them (the tools' own -O2 code) until cleared. */
		if (s->vzeroupper)
			__asm__ volatile("vzeroupper");
	} else
		rec_smm_blas(s, A, B, C);
}
/* rec_smm_init and rec_smm_run at once. */
void rec_smm(int transa, size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B,
	     size_t ldb, int beta, float *C, size_t ldc);

/* dst (cols x rows) = src^T, src rows x cols: the B^T that libxsmm
 * generates no kernels for, copied beforehand. */
void rec_transpose(float *restrict dst, const float *restrict src, size_t rows, size_t cols);

/* "libxsmm 1.17, cpx kernels", or "cblas" without it: what runs rec_smm. */
const char *rec_smm_describe(void);

#endif
