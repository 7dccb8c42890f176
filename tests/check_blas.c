/* check_blas.c - the BLAS's sgemm against a plain triple loop in double, on
 * the kernels this machine runs: on a CPU newer than the BLIS build, blas.c
 * chooses them itself, so their results are checked here rather than
 * trusted. Shapes include the ragged edges of every blocking (1, odd,
 * a few past a power of two), all four transposes, alpha and beta. The
 * same for rec_smm (libxsmm's JIT kernels) on the shapes sasrec gives it. */
#include "config.h"
#include "tests.h"
#include "blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float value(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* max |C - ref| / (K + 1) after C = alpha op(A) op(B) + beta C, row-major */
static double sgemm_error(int m, int n, int k, int ta, int tb, float alpha, float beta)
{
	int lda = ta ? m : k, ldb = tb ? k : n;
	float *a = malloc(sizeof(float) * (size_t)(m * k + 1)), *b = malloc(sizeof(float) * (size_t)(k * n + 1));
	float *c = malloc(sizeof(float) * (size_t)(m * n + 1));
	unsigned s = (unsigned)(m * 131 + n * 17 + k);
	double worst = 0;

	for (int i = 0; i < m * k; i++)
		a[i] = value(&s);
	for (int i = 0; i < k * n; i++)
		b[i] = value(&s);
	for (int i = 0; i < m * n; i++)
		c[i] = value(&s);
	double *ref = malloc(sizeof(double) * (size_t)(m * n + 1));
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double sum = 0;
			for (int p = 0; p < k; p++)
				sum += (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
				       (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
			ref[i * n + j] = alpha * sum + beta * (double)c[i * n + j];
		}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
		    alpha, a, lda, b, ldb, beta, c, n);
	for (int i = 0; i < m * n; i++) {
		double e = fabs(c[i] - ref[i]);
		worst = e > worst ? e : worst;
	}
	free(a), free(b), free(c), free(ref);
	return worst / (k + 1);
}

START_TEST(test_sgemm_shapes)
{
	static const int dim[] = { 1, 3, 7, 16, 17, 31, 50, 65, 129, 367 };
	int nd = (int)(sizeof(dim) / sizeof(dim[0]));

	rec_blas_threads(1);
	for (int im = 0; im < nd; im += 2)
		for (int in = 1; in < nd; in += 2)
			for (int ik = 0; ik < nd; ik += 3)
				for (int t = 0; t < 4; t++) {
					double e = sgemm_error(dim[im], dim[in], dim[ik], t & 1, t >> 1,
							       t == 3 ? -0.5f : 1.0f, t >= 2 ? 1.0f : 0.0f);
					ck_assert_msg(e < 1e-6, "sgemm %dx%dx%d trans %d: error %g per term",
						      dim[im], dim[in], dim[ik], t, e);
				}
}
END_TEST

START_TEST(test_sgemm_large)
{
	/* one product big enough for every level of blocking and packing */
	ck_assert_double_lt(sgemm_error(600, 530, 700, 0, 1, 1.0f, 0.0f), 1e-6);
	ck_assert_double_lt(sgemm_error(513, 300, 1030, 1, 0, 1.0f, 1.0f), 1e-6);
}
END_TEST

/* rec_smm (libxsmm's kernels, or cblas without it): max |C - ref| / (k + 1)
 * after C = op(A) B (+ C), row-major, every matrix with rows longer than
 * its width (the attention's strides); with beta 0, C starts as NaN,
 * which a kernel must not read. */
static double smm_error(int ta, int m, int n, int k, int lda, int ldb, int ldc, int beta)
{
	size_t na = (size_t)(ta ? k : m) * (size_t)lda, nb = (size_t)k * (size_t)ldb, nc = (size_t)m * (size_t)ldc;
	float *a = malloc(sizeof(float) * na), *b = malloc(sizeof(float) * nb), *c = malloc(sizeof(float) * nc);
	double *ref = malloc(sizeof(double) * nc), worst = 0;
	unsigned s = (unsigned)(m * 7 + n * 131 + k * 17 + ta);

	for (size_t i = 0; i < na; i++)
		a[i] = value(&s);
	for (size_t i = 0; i < nb; i++)
		b[i] = value(&s);
	for (size_t i = 0; i < nc; i++)
		c[i] = beta ? value(&s) : NAN;
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double sum = beta ? (double)c[i * ldc + j] : 0;
			for (int p = 0; p < k; p++)
				sum += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)b[p * ldb + j];
			ref[i * ldc + j] = sum;
		}
	rec_smm(ta, (size_t)m, (size_t)n, (size_t)k, a, (size_t)lda, b, (size_t)ldb, beta, c, (size_t)ldc);
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++) {
			double e = fabs(c[i * ldc + j] - ref[i * ldc + j]);
			worst = e > worst || isnan(e) ? (isnan(e) ? INFINITY : e) : worst;
		}
	free(a), free(b), free(c), free(ref);
	return worst / (k + 1);
}

/* sasrec's shapes: S = Q K^T's tiles (32 or the last block's rows, K^T
 * rows of 208), P V's and dS K's chunks, P^T dY's and dS^T Q's (A^T), the
 * linear layers' blocks (x W^T, dy^T x, dy W at dim 50, 100 and 150
 * wide), each with a ragged edge; the cblas fallback's k = 0 too. */
static const int smm_shape[][8] = {
	/* transa, m, n, k, lda, ldb, ldc, beta */
	{ 0, 32, 32, 50, 100, 208, 208, 0 }, { 0, 7, 7, 50, 50, 208, 208, 0 },
	{ 0, 32, 50, 32, 208, 100, 50, 0 }, { 0, 32, 50, 32, 208, 100, 50, 1 },
	{ 0, 17, 50, 17, 208, 50, 100, 1 }, { 0, 1, 50, 1, 208, 100, 50, 0 },
	{ 1, 32, 50, 32, 208, 50, 100, 1 }, { 1, 32, 50, 9, 208, 100, 50, 1 },
	{ 1, 9, 50, 9, 208, 50, 100, 1 }, { 0, 128, 100, 50, 50, 100, 100, 1 },
	{ 0, 64, 150, 50, 50, 150, 150, 1 }, { 0, 3, 50, 50, 50, 50, 50, 1 },
	{ 1, 100, 50, 128, 100, 50, 50, 1 }, { 1, 50, 50, 5, 50, 50, 50, 1 },
	{ 0, 128, 50, 100, 100, 50, 50, 1 }, { 0, 31, 33, 0, 40, 40, 40, 0 },
};

START_TEST(test_smm_shapes)
{
	const int *x = smm_shape[_i];
	double e = smm_error(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]);

	ck_assert_msg(e < 1e-6, "rec_smm %s %dx%dx%d lda %d ldb %d ldc %d beta %d: error %g per term (%s)",
		      x[0] ? "A^T B" : "A B", x[1], x[2], x[3], x[4], x[5], x[6], x[7], e, rec_smm_describe());
}
END_TEST

/* Threads that ask for kernels at once, of new shapes and of the same
 * ones (the table's one writer at a time, its readers without a lock). */
START_TEST(test_smm_threads)
{
	int bad = 0;

#pragma omp parallel for schedule(dynamic, 1) num_threads(4) reduction(+:bad)
	for (int i = 0; i < 96; i++) {
		int m = 1 + i % 24, k = 1 + (i * 7) % 40;
		bad += smm_error(i & 1, m, 50, k, 64, 64, 64, (i >> 1) & 1) >= 1e-6;
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_blas_describe)
{
	const char *d = rec_blas_describe();

	ck_assert_ptr_nonnull(strstr(d, "kernels"));
}
END_TEST

Suite *suite_blas(void)
{
	Suite *s = suite_create("blas");
	TCase *tc = tcase_create("sgemm");

	tcase_add_test(tc, test_sgemm_shapes);
	tcase_add_test(tc, test_sgemm_large);
	tcase_add_test(tc, test_blas_describe);
	tcase_add_loop_test(tc, test_smm_shapes, 0, (int)(sizeof(smm_shape) / sizeof(smm_shape[0])));
	tcase_add_test(tc, test_smm_threads);
	suite_add_tcase(s, tc);
	return s;
}
