/* check_topk.c - the blocked GEMM top-K against the plain-loop reference:
 * quarter-integer values make every dot product exact, so the two must
 * agree to the bit, ties (broken by the lower index) and skips included,
 * across more items and queries than one block holds. */
#include "config.h"
#include "tests.h"
#include "topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float qrand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((int)((*s >> 16) % 9) - 4) / 4;
}

static void compare(size_t nq, size_t ni, size_t d, size_t k, int with_skip)
{
	float *Q = malloc(nq * d * sizeof(float)), *It = malloc(ni * d * sizeof(float));
	uint32_t *ia = malloc(nq * k * sizeof(uint32_t)), *ib = malloc(nq * k * sizeof(uint32_t));
	float *sa = malloc(nq * k * sizeof(float)), *sb = malloc(nq * k * sizeof(float));
	size_t *la = malloc(nq * sizeof(size_t)), *lb = malloc(nq * sizeof(size_t));
	size_t *off = malloc((nq + 1) * sizeof(size_t));
	uint32_t *idx = malloc(nq * 3 * sizeof(uint32_t));
	unsigned seed = 7;
	struct rec_topk_skip skip = { off, idx };

	for (size_t j = 0; j < nq * d; j++)
		Q[j] = qrand(&seed);
	for (size_t j = 0; j < ni * d; j++)
		It[j] = qrand(&seed);
	It[5 * d] = NAN;   /* item 5 never makes a list */
	off[0] = 0;
	for (size_t q = 0; q < nq; q++) {   /* skip q % ni, and 2 more for odd q */
		size_t n = off[q];
		idx[n++] = (uint32_t)(q % ni);
		if (q % 2 && ni > 3) {
			idx[n++] = (uint32_t)((q % ni + 1) % ni);
			idx[n++] = (uint32_t)((q % ni + 3) % ni);
		}
		off[q + 1] = n;
		for (size_t a = off[q]; a < n; a++)   /* sorted */
			for (size_t b = a + 1; b < n; b++)
				if (idx[b] < idx[a]) {
					uint32_t t = idx[a];
					idx[a] = idx[b];
					idx[b] = t;
				}
	}
	rec_topk_dot(ia, sa, la, Q, nq, It, ni, d, k, with_skip ? &skip : NULL);
	rec_topk_dot_ref(ib, sb, lb, Q, nq, It, ni, d, k, with_skip ? &skip : NULL);
	for (size_t q = 0; q < nq; q++) {
		ck_assert_uint_eq(la[q], lb[q]);
		ck_assert_uint_le(la[q], k);
		ck_assert_mem_eq(ia + q * k, ib + q * k, la[q] * sizeof(uint32_t));
		ck_assert_mem_eq(sa + q * k, sb + q * k, la[q] * sizeof(float));
		for (size_t r = 0; r < la[q]; r++)
			ck_assert_uint_ne(ia[q * k + r], 5);
	}
	free(Q), free(It), free(ia), free(ib), free(sa), free(sb), free(la), free(lb), free(off), free(idx);
}

START_TEST(test_blocks) { compare(300, 5000, 5, 10, 1); }
END_TEST
START_TEST(test_no_skip) { compare(130, 2100, 3, 25, 0); }
END_TEST
START_TEST(test_k_beyond_items) { compare(9, 6, 4, 20, 1); }
END_TEST

START_TEST(test_normalize)
{
	float x[6] = { 3, 4, 0, 0, 0, 0 };

	rec_topk_normalize(x, 2, 3);
	ck_assert_float_eq_tol(x[0], 0.6f, 1e-6f);
	ck_assert_float_eq_tol(x[1], 0.8f, 1e-6f);
	ck_assert(x[3] == 0 && x[4] == 0 && x[5] == 0);
}
END_TEST

Suite *suite_topk(void)
{
	Suite *s = suite_create("topk");
	TCase *tc = tcase_create("topk");

	tcase_set_timeout(tc, 60);  /* 300 x 5000 scores, brute force too, under ASan */
	tcase_add_test(tc, test_blocks);
	tcase_add_test(tc, test_no_skip);
	tcase_add_test(tc, test_k_beyond_items);
	tcase_add_test(tc, test_normalize);
	suite_add_tcase(s, tc);
	return s;
}
