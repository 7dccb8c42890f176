/* check_scaling.c - L(N) = E + A N^-alpha: exact points give the law back,
 * the bounds E >= 0 and A >= 0 hold, too few points or sizes are refused,
 * and the standard errors shrink as noise does. tests/cli/scaling.sh holds
 * fits of noisy points to SciPy's curve_fit. */
#include "config.h"
#include "tests.h"
#include "scaling.h"

#include <math.h>

static void law_points(double *N, double *L, size_t n, double E, double A, double alpha,
		       double noise)
{
	for (size_t i = 0; i < n; i++) {
		N[i] = 1e3 * pow(10, 0.5 * (double)i);
		/* a fixed +-noise pattern: no random numbers in a unit test */
		L[i] = (E + A * pow(N[i], -alpha)) * (1 + noise * (i % 2 ? 1 : -1));
	}
}

START_TEST(test_exact_points)
{
	double N[7], L[7];
	struct rec_law law;

	law_points(N, L, 7, 2.5, 40, 0.35, 0);
	ck_assert_int_eq(rec_law_fit(N, L, 7, &law), 0);
	ck_assert_double_eq_tol(law.E, 2.5, 1e-6);
	ck_assert_double_eq_tol(law.A / 40, 1, 1e-5);
	ck_assert_double_eq_tol(law.alpha, 0.35, 1e-6);
	ck_assert(law.rms_rel < 1e-9);
	ck_assert_uint_eq(law.n, 7);
	ck_assert_double_eq_tol(rec_law_at(&law, 1e9), 2.5 + 40 * pow(1e9, -0.35), 1e-6);
}
END_TEST

START_TEST(test_pure_power_law)
{
	double N[5], L[5];
	struct rec_law law;

	law_points(N, L, 5, 0, 7, 0.1, 0);   /* E = 0 sits on its bound */
	ck_assert_int_eq(rec_law_fit(N, L, 5, &law), 0);
	ck_assert(law.E >= 0 && law.E < 1e-6);
	ck_assert_double_eq_tol(law.alpha, 0.1, 1e-6);
}
END_TEST

START_TEST(test_flat_losses)
{
	double N[4] = { 10, 100, 1000, 10000 }, L[4] = { 3, 3.01, 2.99, 3 };
	struct rec_law law;

	ck_assert_int_eq(rec_law_fit(N, L, 4, &law), 0);
	ck_assert(law.A >= 0);
	ck_assert_double_eq_tol(rec_law_at(&law, 1e5), 3, 0.02);
}
END_TEST

START_TEST(test_errors_follow_noise)
{
	double N[8], L[8];
	struct rec_law small, large;

	law_points(N, L, 8, 2.5, 40, 0.35, 0.001);
	ck_assert_int_eq(rec_law_fit(N, L, 8, &small), 0);
	law_points(N, L, 8, 2.5, 40, 0.35, 0.01);
	ck_assert_int_eq(rec_law_fit(N, L, 8, &large), 0);
	ck_assert(isfinite(small.se_alpha) && small.se_alpha > 0);
	ck_assert(large.se_alpha > 3 * small.se_alpha);
	ck_assert_double_eq_tol(small.alpha, 0.35, 0.01);
}
END_TEST

START_TEST(test_refuses)
{
	double N[4] = { 10, 10, 100, 100 }, L[4] = { 3, 3.1, 2.9, 2.8 };
	double bad[3] = { 10, -1, 100 }, good[3] = { 3, 2.9, 2.8 };
	struct rec_law law;

	ck_assert_int_eq(rec_law_fit(N, L, 2, &law), -1);      /* two points */
	ck_assert_int_eq(rec_law_fit(N, L, 4, &law), -1);      /* two sizes */
	ck_assert_int_eq(rec_law_fit(bad, good, 3, &law), -1); /* a size below 0 */
	ck_assert_int_eq(rec_law_fit(N + 1, L + 1, 3, &law), -1);
	N[1] = 50;
	ck_assert_int_eq(rec_law_fit(N, L, 3, &law), 0);       /* three: no errors */
	ck_assert(isnan(law.se_alpha));
}
END_TEST

Suite *suite_scaling(void)
{
	Suite *s = suite_create("scaling");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_exact_points);
	tcase_add_test(tc, test_pure_power_law);
	tcase_add_test(tc, test_flat_losses);
	tcase_add_test(tc, test_errors_follow_noise);
	tcase_add_test(tc, test_refuses);
	suite_add_tcase(s, tc);
	return s;
}
