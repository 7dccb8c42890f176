/* check_hash.c - feature IDs are pinned: a change here breaks every model
 * trained on streams hashed before it. */
#include "config.h"
#include "tests.h"
#include "hash.h"

#include <stdio.h>

START_TEST(test_xxh3_reference_vector)
{
	/* XXH3-64 of the empty input with seed 0, from xxHash's own sanity table:
	 * proves the library underneath is the XXH3 we pin against. */
	ck_assert_uint_eq(XXH3_64bits_withSeed("", 0, 0), UINT64_C(0x2d06800538d394c2));
}
END_TEST

START_TEST(test_pinned_ids)
{
	uint64_t c1 = rec_hash_salt(0, "C1");

	ck_assert_uint_eq(c1, UINT64_C(0xf7fd1bd1a502d259));
	ck_assert_uint_eq(rec_hash_salt(7, "C1"), UINT64_C(0x8ad2fd4eb45c397b));
	ck_assert_uint_eq(rec_hash_salt(0, "C2"), UINT64_C(0x0a54627cf76ff18a));
	ck_assert_uint_eq(rec_hash_value(c1, "68fd1e64", 8), UINT64_C(0x0fbe1a1d74bb5db2));
	ck_assert_uint_eq(rec_hash_value(rec_hash_salt(7, "C1"), "68fd1e64", 8),
			  UINT64_C(0x9321eba75a63fdc2));
	ck_assert_uint_eq(rec_hash_value(rec_hash_salt(0, "C2"), "68fd1e64", 8),
			  UINT64_C(0x374fb25578c94d39));
	ck_assert_uint_eq(rec_hash_group("u1", 2), UINT64_C(0x9dc02546854d5df1));
}
END_TEST

START_TEST(test_fold)
{
	uint64_t id = UINT64_C(0x0fbe1a1d74bb5db2);

	ck_assert_uint_eq(rec_hash_fold(id, 24), UINT64_C(0xbb5db2));
	ck_assert_uint_eq(rec_hash_fold(id, 64), id);
	ck_assert_uint_eq(rec_hash_fold(id, 1), 0);
	ck_assert_uint_eq(rec_hash_fold(id, 63), id & (UINT64_MAX >> 1));
}
END_TEST

/* Salting: the same value in two fields, or under two seeds, differs. */
START_TEST(test_salts_separate_fields)
{
	uint64_t seen[64];

	for (int i = 0; i < 64; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		seen[i] = rec_hash_value(rec_hash_salt(0, name), "x", 1);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(seen[i], seen[j]);
	}
	ck_assert_uint_ne(rec_hash_salt(0, "C1"), rec_hash_salt(1, "C1"));
}
END_TEST

Suite *suite_hash(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_xxh3_reference_vector);
	tcase_add_test(tc, test_pinned_ids);
	tcase_add_test(tc, test_fold);
	tcase_add_test(tc, test_salts_separate_fields);
	suite_add_tcase(s, tc);
	return s;
}
