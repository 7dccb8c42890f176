/* check_metrics.c - hand-checked cases; tests/cli/metrics.sh compares with
 * scikit-learn on larger random data. */
#include "config.h"
#include "tests.h"
#include "metrics.h"

#include <math.h>

START_TEST(test_auc_cases)
{
	/* scikit-learn's roc_auc_score documentation example: 0.75 */
	const float s1[] = { 0.1f, 0.4f, 0.35f, 0.8f }, l1[] = { 0, 0, 1, 1 };
	/* all tied: a coin */
	const float s2[] = { 0.5f, 0.5f, 0.5f }, l2[] = { 1, 0, 0 };
	/* one tie between classes: (1 + 1 + 0.5 + 1) / 4 */
	const float s3[] = { 0.2f, 0.5f, 0.5f, 0.9f }, l3[] = { 0, 0, 1, 1 };
	const float w3[] = { 1, 1, 1, 3 };

	ck_assert_double_eq_tol(rec_auc(s1, l1, NULL, 4), 0.75, 1e-12);
	ck_assert_double_eq_tol(rec_auc(s2, l2, NULL, 3), 0.5, 1e-12);
	ck_assert_double_eq_tol(rec_auc(s3, l3, NULL, 4), 0.875, 1e-12);
	/* weight 3 on the sure positive: (0.5 * 1 * 2... ) = (1*(1+0.5) + 3*2) / (4*2) */
	ck_assert_double_eq_tol(rec_auc(s3, l3, w3, 4), (1.5 + 6.0) / 8.0, 1e-12);
	ck_assert(isnan(rec_auc(s1, (const float[]){ 1, 1, 1, 1 }, NULL, 4)));
	/* a NaN score ends, whatever the answer */
	(void)rec_auc((const float[]){ NAN, 0.5f, NAN }, (const float[]){ 1, 0, 0 }, NULL, 3);
}
END_TEST

START_TEST(test_logloss_gauc_calibration)
{
	const float p[] = { 0.9f, 0.2f, 0.6f, 0.0f }, l[] = { 1, 0, 1, 1 };
	const uint64_t g[] = { 7, 7, 8, 8 };
	double want = -(log(0.9) + log(0.8) + log(0.6) + log(2.220446049250313e-16)) / 4;
	size_t used;

	ck_assert_double_eq_tol(rec_logloss(p, l, NULL, 4), want, 1e-6);
	/* group 7: perfect; group 8 has one class only and does not count */
	ck_assert_double_eq_tol(rec_gauc(p, l, g, 4, &used), 1.0, 1e-12);
	ck_assert_uint_eq(used, 1);
	ck_assert_double_eq_tol(rec_calibration(p, l, 4), 1.7 / 3, 1e-6);
}
END_TEST

Suite *suite_metrics(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_auc_cases);
	tcase_add_test(tc, test_logloss_gauc_calibration);
	suite_add_tcase(s, tc);
	return s;
}
