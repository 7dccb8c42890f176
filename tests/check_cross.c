#include "config.h"
#include "tests.h"

START_TEST(test_placeholder_cross)
{
	ck_assert_int_eq(1, 1);
}
END_TEST

Suite *suite_cross(void)
{
	Suite *s = suite_create("cross");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_placeholder_cross);
	suite_add_tcase(s, tc);
	return s;
}
