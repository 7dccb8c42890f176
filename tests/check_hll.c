/* check_hll.c - HyperLogLog: tiny counts are exact, larger ones fall within
 * three standard errors (1.04 / sqrt(2^p)), duplicates and order don't
 * matter, and the precision is range-checked. */
#include "config.h"
#include "tests.h"
#include "hll.h"
#include "hash.h"

#include <math.h>
#include <stdio.h>

/* The hash of integer i in a series: XXH3 of the 8 bytes, as real callers do. */
static uint64_t item(uint64_t series, uint64_t i)
{
	uint64_t v = i ^ (series << 48);

	return XXH3_64bits(&v, sizeof(v));
}

static struct rec_hll *sketch(unsigned p, uint64_t series, uint64_t n)
{
	struct rec_hll *h = rec_hll_new(p);

	ck_assert_ptr_nonnull(h);
	for (uint64_t i = 0; i < n; i++)
		rec_hll_add(h, item(series, i));
	return h;
}

START_TEST(test_hll_empty)
{
	struct rec_hll *h = rec_hll_new(14);

	ck_assert_ptr_nonnull(h);
	ck_assert_double_eq(rec_hll_estimate(h), 0.0);
	rec_hll_free(h);
	rec_hll_free(NULL);
}
END_TEST

/* 1..10 distinct items: linear counting is off by n^2 / 2m at most, so the
 * rounded estimate is the count itself. */
START_TEST(test_hll_tiny)
{
	uint64_t n = (uint64_t)_i + 1;
	struct rec_hll *h = sketch(14, 1, n);
	double e = rec_hll_estimate(h);

	ck_assert_msg(fabs(e - (double)n) < 0.05, "n=%llu estimate %.4f",
		      (unsigned long long)n, e);
	rec_hll_free(h);
}
END_TEST

static const struct {
	unsigned p;
	uint64_t n;
} big[] = {
	{ 14, 1000 }, { 14, 100000 }, { 14, 1000000 },
	{ 4, 100000 }, { 10, 1000 }, { 10, 100000 }, { 12, 1000000 }, { 18, 1000000 },
};

START_TEST(test_hll_within_3se)
{
	unsigned p = big[_i].p;
	double n = (double)big[_i].n;
	struct rec_hll *h = sketch(p, 2 + (uint64_t)_i, big[_i].n);
	double e = rec_hll_estimate(h), se = 1.04 / sqrt(ldexp(1.0, (int)p));

	ck_assert_msg(fabs(e / n - 1) <= 3 * se, "p=%u n=%.0f estimate %.1f (3 SE = %.2f%%)",
		      p, n, e, 300 * se);
	rec_hll_free(h);
}
END_TEST

/* Adding every item ten times, in another order, gives the same registers. */
START_TEST(test_hll_duplicates)
{
	struct rec_hll *once = sketch(12, 20, 5000), *many = rec_hll_new(12);

	ck_assert_ptr_nonnull(many);
	for (int rep = 0; rep < 10; rep++)
		for (uint64_t i = 5000; i-- > 0;)
			rec_hll_add(many, item(20, i));
	ck_assert_double_eq(rec_hll_estimate(once), rec_hll_estimate(many));
	ck_assert_double_eq_tol(rec_hll_estimate(many), 5000, 3 * 1.04 / 64 * 5000);
	rec_hll_free(once);
	rec_hll_free(many);
}
END_TEST

/* A single repeated value is one item, however often it comes. */
START_TEST(test_hll_one_value)
{
	struct rec_hll *h = rec_hll_new(14);

	ck_assert_ptr_nonnull(h);
	for (int i = 0; i < 100000; i++)
		rec_hll_add(h, item(21, 7));
	ck_assert_double_eq_tol(rec_hll_estimate(h), 1.0, 1e-3);
	rec_hll_free(h);
}
END_TEST

/* Hashes whose low 64 - p bits are zero rank highest without overflow. */
START_TEST(test_hll_extreme_hashes)
{
	struct rec_hll *h = rec_hll_new(4);

	ck_assert_ptr_nonnull(h);
	rec_hll_add(h, 0);
	rec_hll_add(h, UINT64_MAX);
	rec_hll_add(h, UINT64_C(1) << 63);
	double e = rec_hll_estimate(h);
	ck_assert(isfinite(e));
	ck_assert_double_gt(e, 0);
	rec_hll_free(h);
}
END_TEST

START_TEST(test_hll_precision_bounds)
{
	struct rec_hll *h;

	ck_assert_ptr_null(rec_hll_new(0));
	ck_assert_ptr_null(rec_hll_new(3));
	ck_assert_ptr_null(rec_hll_new(19));
	ck_assert_ptr_null(rec_hll_new(64));
	for (unsigned p = 4; p <= 18; p += 14) {
		h = rec_hll_new(p);
		ck_assert_ptr_nonnull(h);
		rec_hll_add(h, item(30, 1));
		ck_assert_double_eq_tol(rec_hll_estimate(h), 1.0, 0.1);
		rec_hll_free(h);
	}
}
END_TEST

Suite *suite_hll(void)
{
	Suite *s = suite_create("hll");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hll_empty);
	tcase_add_loop_test(tc, test_hll_tiny, 0, 10);
	tcase_add_loop_test(tc, test_hll_within_3se, 0, (int)(sizeof(big) / sizeof(big[0])));
	tcase_add_test(tc, test_hll_duplicates);
	tcase_add_test(tc, test_hll_one_value);
	tcase_add_test(tc, test_hll_extreme_hashes);
	tcase_add_test(tc, test_hll_precision_bounds);
	suite_add_tcase(s, tc);
	return s;
}
