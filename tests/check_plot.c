/* check_plot.c - ROC vertices and calibration bins on hand-made cases, the
 * area under the curve against rec_auc, and SVG output that fails cleanly;
 * tests/cli/plot.sh parses the SVG of a trained model as XML. */
#include "config.h"
#include "tests.h"
#include "metrics.h"
#include "plot.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(test_roc_ties)
{
	/* positives at 0.9, 0.7, 0.4; negatives at 0.7, 0.4, 0.4, 0.1:
	 * P = 3, N = 4, and each tied run is one diagonal step */
	const float s[] = { 0.4f, 0.9f, 0.7f, 0.1f, 0.4f, 0.7f, 0.4f };
	const float l[] = { 0, 1, 1, 0, 1, 0, 0 };
	const double wx[] = { 0, 0, 0.25, 0.75, 1 }, wy[] = { 0, 1.0 / 3, 2.0 / 3, 1, 1 };
	double x[8], y[8];
	size_t m = rec_roc_curve(x, y, s, l, NULL, 7);

	ck_assert_uint_eq(m, 5);
	for (size_t i = 0; i < m; i++) {
		ck_assert_double_eq_tol(x[i], wx[i], 1e-12);
		ck_assert_double_eq_tol(y[i], wy[i], 1e-12);
	}
	/* Mann-Whitney: (4 + 3.5 + 2) / 12 */
	ck_assert_double_eq_tol(rec_curve_area(x, y, m), 9.5 / 12, 1e-12);
	ck_assert_uint_eq(rec_curve_thin(x, y, m, REC_PLOT_MAX_POINTS), 5);
	/* one class: no curve */
	ck_assert_uint_eq(rec_roc_curve(x, y, s, (const float[]){ 1, 1, 1, 1, 1, 1, 1 }, NULL, 7), 0);
	ck_assert_uint_eq(rec_roc_curve(x, y, s, l, NULL, 0), 0);
}
END_TEST

static float uniform(unsigned *state)
{
	*state = *state * 1103515245u + 12345u;
	return (float)((*state >> 8) & 0xffff) / 65536.0f;
}

/* Rounded scores give many ties; weights go from 0.5 to 2.5. */
START_TEST(test_roc_area_is_auc)
{
	size_t n = 20000;
	float *s = malloc(n * sizeof(float)), *l = malloc(n * sizeof(float));
	float *w = malloc(n * sizeof(float));
	double *x = malloc((n + 1) * sizeof(double)), *y = malloc((n + 1) * sizeof(double));
	unsigned state = 42 + (unsigned)_i;
	size_t m;

	for (size_t i = 0; i < n; i++) {
		l[i] = uniform(&state) < 0.3f;
		s[i] = roundf((uniform(&state) * 0.6f + l[i] * 0.3f) * 100) / 100;
		w[i] = 0.5f + 2 * uniform(&state);
	}
	m = rec_roc_curve(x, y, s, l, _i ? w : NULL, n);
	ck_assert_uint_le(m, 92);
	ck_assert_double_eq_tol(rec_curve_area(x, y, m), rec_auc(s, l, _i ? w : NULL, n), 1e-6);
	free(s);
	free(l);
	free(w);
	free(x);
	free(y);
}
END_TEST

/* 10^5 distinct scores thin to about 2000 vertices with the same ends and
 * nearly the same area. */
START_TEST(test_roc_thin)
{
	size_t n = 100000, m, k;
	float *s = malloc(n * sizeof(float)), *l = malloc(n * sizeof(float));
	double *x = malloc((n + 1) * sizeof(double)), *y = malloc((n + 1) * sizeof(double));
	unsigned state = 7;
	double area;

	for (size_t i = 0; i < n; i++) {
		l[i] = uniform(&state) < 0.5f;
		s[i] = (float)i / (float)n + l[i] * 0.3f;
	}
	m = rec_roc_curve(x, y, s, l, NULL, n);
	ck_assert_uint_gt(m, 50000);
	area = rec_curve_area(x, y, m);
	k = rec_curve_thin(x, y, m, REC_PLOT_MAX_POINTS);
	ck_assert_uint_le(k, REC_PLOT_MAX_POINTS + 2);
	ck_assert_uint_gt(k, REC_PLOT_MAX_POINTS / 2);
	ck_assert(x[0] == 0 && y[0] == 0 && x[k - 1] == 1 && y[k - 1] == 1);
	for (size_t i = 1; i < k; i++)
		ck_assert(x[i] >= x[i - 1] && y[i] >= y[i - 1]);
	ck_assert_double_eq_tol(rec_curve_area(x, y, k), area, 1e-3);
	free(s);
	free(l);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_calibration_bins)
{
	/* sorted: 0.1 0.2 | 0.3 0.7 | 0.8 0.9, labels 0 0 | 1 0 | 1 1 */
	const float p[] = { 0.1f, 0.9f, 0.2f, 0.8f, 0.3f, 0.7f, NAN };
	const float l[] = { 0, 1, 0, 1, 1, 0, 1 };
	const float w[] = { 1, 1, 1, 1, 1, 3, 1 };
	struct rec_calib_bin b[10];

	ck_assert_uint_eq(rec_calib_bins(b, p, l, NULL, 7, 3), 3); /* the NaN is left out */
	ck_assert_double_eq_tol(b[0].p, 0.15, 1e-6);
	ck_assert_double_eq_tol(b[0].rate, 0, 1e-12);
	ck_assert_double_eq_tol(b[1].p, 0.5, 1e-6);
	ck_assert_double_eq_tol(b[1].rate, 0.5, 1e-12);
	ck_assert_double_eq_tol(b[2].p, 0.85, 1e-6);
	ck_assert_double_eq_tol(b[2].rate, 1, 1e-12);
	ck_assert_uint_eq(b[2].n, 2);
	/* weight 3 on the 0.7 negative */
	rec_calib_bins(b, p, l, w, 6, 3);
	ck_assert_double_eq_tol(b[1].p, (0.3 + 3 * 0.7) / 4, 1e-6);
	ck_assert_double_eq_tol(b[1].rate, 0.25, 1e-12);
	ck_assert_double_eq_tol(b[1].weight, 4, 1e-12);
	/* 6 records in 4 bins: sizes 1 2 1 2; in 10 bins: 6 of one */
	ck_assert_uint_eq(rec_calib_bins(b, p, l, NULL, 6, 4), 4);
	ck_assert(b[0].n == 1 && b[1].n == 2 && b[2].n == 1 && b[3].n == 2);
	ck_assert_uint_eq(rec_calib_bins(b, p, l, NULL, 6, 10), 6);
	ck_assert_uint_eq(rec_calib_bins(b, p, l, NULL, 0, 10), 0);
}
END_TEST

static const struct {
	const char *arg;
	int kind;     /* 0: refused */
	const char *path;
} parse_cases[] = {
	{ "roc.svg", REC_PLOT_ROC, "roc.svg" },
	{ "out/ROC-fm.svg", REC_PLOT_ROC, "out/ROC-fm.svg" },
	{ "out/calibration.svg", REC_PLOT_CALIBRATION, "out/calibration.svg" },
	{ "calib.svg", REC_PLOT_CALIBRATION, "calib.svg" },
	{ "roc:out.svg", REC_PLOT_ROC, "out.svg" },
	{ "calibration:roc.svg", REC_PLOT_CALIBRATION, "roc.svg" },
	{ "calib:a/b.svg", REC_PLOT_CALIBRATION, "a/b.svg" },
	{ "foo.svg", 0, NULL },
	{ "roc/foo.svg", 0, NULL },
	{ "pr:x.svg", 0, NULL },
	{ "roc:", 0, NULL },
	{ "calibration:-", 0, NULL },
};

START_TEST(test_parse)
{
	struct rec_plot_spec spec;
	int rc = rec_plot_parse(parse_cases[_i].arg, &spec);

	if (!parse_cases[_i].kind) {
		ck_assert_msg(rc < 0, "%s accepted", parse_cases[_i].arg);
		return;
	}
	ck_assert_msg(rc == 0, "%s refused", parse_cases[_i].arg);
	ck_assert_int_eq(spec.kind, parse_cases[_i].kind);
	ck_assert_str_eq(spec.path, parse_cases[_i].path);
}
END_TEST

/* No "<path>.tmp.*" left behind. */
static void assert_no_tmp(const char *path)
{
	char pattern[600];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s.tmp.*", path);
	ck_assert_int_eq(glob(pattern, 0, NULL, &g), GLOB_NOMATCH);
	globfree(&g);
}

static void assert_svg(const char *path)
{
	char buf[1 << 16];
	FILE *fp = fopen(path, "r");
	size_t len;

	ck_assert_ptr_nonnull(fp);
	len = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[len] = 0;
	ck_assert(strncmp(buf, "<?xml", 5) == 0);
	ck_assert_ptr_nonnull(strstr(buf, "<polyline"));
	ck_assert_ptr_nonnull(strstr(buf, "&lt;a&amp;b&gt; ?"));
	ck_assert(len > 7 && strcmp(buf + len - 7, "</svg>\n") == 0);
	assert_no_tmp(path);
}

START_TEST(test_write)
{
	const float p[] = { 0.2f, 0.6f, 0.4f, 0.9f }, l[] = { 0, 1, 0, 1 };
	const char *roc = test_tmpfile("roc-ok.svg"), *cal = test_tmpfile("calib-ok.svg");

	/* markup and a stray byte in the title are escaped */
	ck_assert_int_eq(rec_plot_roc(roc, p, l, NULL, 4, "<a&b> \xff"), 0);
	assert_svg(roc);
	ck_assert_int_eq(rec_plot_calibration(cal, p, l, NULL, 4, 20, "<a&b> \x01"), 0);
	assert_svg(cal);
}
END_TEST

START_TEST(test_write_fails_cleanly)
{
	const float p[] = { 0.2f, 0.6f, 0.4f, 0.9f }, l[] = { 0, 1, 0, 1 };
	const char *dir = test_tmpfile("roc-dir.svg"), *one = test_tmpfile("roc-one.svg");
	struct stat st;

	/* cannot create: no such directory */
	ck_assert_int_eq(rec_plot_roc("/nonexistent/roc.svg", p, l, NULL, 4, NULL), -1);
	ck_assert(access("/nonexistent/roc.svg", F_OK) < 0);
	/* cannot rename over a directory: the temporary file goes too */
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	ck_assert_int_eq(rec_plot_calibration(dir, p, l, NULL, 4, 20, NULL), -1);
	ck_assert(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
	assert_no_tmp(dir);
	/* nothing to draw: no file at all */
	ck_assert_int_eq(rec_plot_roc(one, p, (const float[]){ 0, 0, 0, 0 }, NULL, 4, NULL), -1);
	ck_assert(access(one, F_OK) < 0 && errno == ENOENT);
	assert_no_tmp(one);
	ck_assert_int_eq(rec_plot_calibration(one, p, l, NULL, 0, 20, NULL), -1);
	ck_assert(access(one, F_OK) < 0);
}
END_TEST

Suite *suite_plot(void)
{
	Suite *s = suite_create("plot");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roc_ties);
	tcase_add_loop_test(tc, test_roc_area_is_auc, 0, 2);
	tcase_add_test(tc, test_roc_thin);
	tcase_add_test(tc, test_calibration_bins);
	tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_write);
	tcase_add_test(tc, test_write_fails_cleanly);
	suite_add_tcase(s, tc);
	return s;
}
