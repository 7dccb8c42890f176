/* check_main.c - runs every unit-test suite; fails when any test fails. */
#include "config.h"
#include "tests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/rec-check.XXXXXX";

const char *test_tmpfile(const char *name)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

int main(void)
{
	SRunner *sr;
	int failed;
	char cmd[600];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(suite_stream());
	srunner_add_suite(sr, suite_hash());
	srunner_add_suite(sr, suite_text());
	srunner_add_suite(sr, suite_hll());
	srunner_add_suite(sr, suite_cross());
	srunner_add_suite(sr, suite_embed());
	srunner_add_suite(sr, suite_featspan());
	srunner_add_suite(sr, suite_metrics());
	srunner_add_suite(sr, suite_fm());
	srunner_add_suite(sr, suite_model());
	srunner_add_suite(sr, suite_plot());
	srunner_add_suite(sr, suite_net());
	srunner_add_suite(sr, suite_export());
	srunner_add_suite(sr, suite_lightfm());
	srunner_add_suite(sr, suite_topk());
	srunner_add_suite(sr, suite_sasrec());
	srunner_add_suite(sr, suite_scaling());
	srunner_add_suite(sr, suite_blas());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
