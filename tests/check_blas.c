/* check_blas.c - the BLAS's sgemm against a plain triple loop in double, on
 * the kernels this machine runs: on a CPU newer than the BLIS build, blas.c
 * chooses them itself, so their results are checked here rather than
 * trusted. Shapes include the ragged edges of every blocking (1, odd,
 * a few past a power of two), all four transposes, alpha and beta. */
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
	suite_add_tcase(s, tc);
	return s;
}
