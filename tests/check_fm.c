/* check_fm.c - factorization machine kernels against finite differences and
 * against the pairwise definition. */
#include "config.h"
#include "tests.h"
#include "fm.h"

#include <math.h>
#include <stdlib.h>

static double frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffff) / 65536.0 - 0.5;
}

/* The definition, in double: sum over pairs. */
static double fm_direct(const float *R, const float *x, size_t n, unsigned k, float w0)
{
	double z = w0;

	for (size_t i = 0; i < n; i++) {
		z += R[i * (k + 1)] * (double)x[i];
		for (size_t j = i + 1; j < n; j++)
			for (unsigned f = 0; f < k; f++)
				z += (double)R[i * (k + 1) + 1 + f] * R[j * (k + 1) + 1 + f] * x[i] * x[j];
	}
	return z;
}

START_TEST(test_forward_matches_definition)
{
	unsigned seed = 7, k = 8;
	size_t n = 13;
	float R[13 * 9], x[13], sum_v[8];

	for (size_t i = 0; i < n * (k + 1); i++)
		R[i] = (float)frand(&seed);
	for (size_t i = 0; i < n; i++)
		x[i] = i % 3 ? 1.0f : (float)(2 * frand(&seed));
	ck_assert_double_eq_tol(rec_fm_forward(sum_v, R, x, n, k, 0.3f), fm_direct(R, x, n, k, 0.3f), 1e-5);
	/* k = 0 is logistic regression */
	ck_assert_double_eq_tol(rec_fm_forward(sum_v, R, x, n, 0, 0.3f), fm_direct(R, x, n, 0, 0.3f), 1e-5);
}
END_TEST

/* Central differences in double on the direct definition. */
START_TEST(test_backward_finite_differences)
{
	unsigned seed = 11, k = 6;
	size_t n = 9, m = n * (k + 1);
	float R[9 * 7], dR[9 * 7], x[9], sum_v[6], h = 1e-2f;
	double worst = 0;

	for (size_t i = 0; i < m; i++)
		R[i] = (float)frand(&seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(1 + frand(&seed));
	rec_fm_forward(sum_v, R, x, n, k, 0);
	rec_fm_backward(dR, R, x, sum_v, n, k, 1.0f);
	for (size_t i = 0; i < m; i++) {
		float keep = R[i];
		R[i] = keep + h;
		double up = fm_direct(R, x, n, k, 0);
		R[i] = keep - h;
		double down = fm_direct(R, x, n, k, 0);
		R[i] = keep;
		double num = (up - down) / (2 * (double)h);
		double rel = fabs(num - dR[i]) / fmax(1e-6, fabs(num) + fabs(dR[i]));
		worst = fmax(worst, rel);
	}
	ck_assert_msg(worst < 1e-4, "worst relative error %g", worst);
}
END_TEST

START_TEST(test_logistic_loss)
{
	float d;

	ck_assert_double_eq_tol(rec_logistic_loss(0, 1, &d), log(2), 1e-6);
	ck_assert_double_eq_tol(d, -0.5, 1e-6);
	ck_assert_double_eq_tol(rec_logistic_loss(2, 0, &d), log1p(exp(2)), 1e-5);
	ck_assert_double_eq_tol(d, 1 / (1 + exp(-2)), 1e-6);
	/* large logits stay finite */
	ck_assert(isfinite(rec_logistic_loss(100, 0, &d)) && fabs(rec_logistic_loss(100, 0, &d) - 100) < 1e-3);
	ck_assert(isfinite(rec_logistic_loss(-100, 0, &d)));
}
END_TEST

Suite *suite_fm(void)
{
	Suite *s = suite_create("fm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_forward_matches_definition);
	tcase_add_test(tc, test_backward_finite_differences);
	tcase_add_test(tc, test_logistic_loss);
	suite_add_tcase(s, tc);
	return s;
}
