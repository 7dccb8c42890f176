/* tests.h - the suites of the unit-test runner. */
#ifndef REC_TESTS_H
#define REC_TESTS_H

#include <check.h>

Suite *suite_stream(void);
Suite *suite_hash(void);
Suite *suite_text(void);
Suite *suite_hll(void);
Suite *suite_cross(void);
Suite *suite_embed(void);
Suite *suite_featspan(void);
Suite *suite_metrics(void);
Suite *suite_fm(void);
Suite *suite_model(void);
Suite *suite_plot(void);
Suite *suite_net(void);
Suite *suite_export(void);
Suite *suite_lightfm(void);
Suite *suite_topk(void);
Suite *suite_sasrec(void);
Suite *suite_scaling(void);
Suite *suite_blas(void);

/* A scratch file path under the test's temporary directory. */
const char *test_tmpfile(const char *name);

#endif
