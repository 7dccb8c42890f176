/* blas.h - the BLAS behind every GEMM: BLIS when configure found it,
 * OpenBLAS otherwise. Include this rather than <cblas.h>. */
#ifndef REC_BLAS_H
#define REC_BLAS_H

#include <cblas.h>

/* Threads the BLAS may start inside one call. The tools pass 1: their own
 * OpenMP threads split the work, and a BLAS team inside each would only
 * contend for the same cores. */
void rec_blas_threads(int n);

/* "BLIS 0.9.0, skx kernels" or "OpenBLAS, Haswell kernels": what ran. */
const char *rec_blas_describe(void);

#endif
