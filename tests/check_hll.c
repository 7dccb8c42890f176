#include "config.h"
#include "tests.h"

START_TEST(test_placeholder_hll)
{
	ck_assert_int_eq(1, 1);
}
END_TEST

Suite *suite_hll(void)
{
	Suite *s = suite_create("hll");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_placeholder_hll);
	suite_add_tcase(s, tc);
	return s;
}
