/* check_text.c - delimited text: TSV, multi-byte separators, CSV quoting,
 * line numbers, CRLF, long lines and buffer boundaries. */
#include "config.h"
#include "tests.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct rec_text *open_text(const char *content, size_t len, const char *sep, int csv)
{
	const char *path = test_tmpfile("t.txt");
	struct rec_text_opts o = { .sep = sep, .csv = csv };
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(content, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	return rec_text_open(rec_src_open(path), &o);
}

/* Reads every line and renders it as "line:field|field|..." lines. */
static const char *render_all(struct rec_text *t)
{
	static char out[4096];
	const struct rec_span *f;
	size_t n, len = 0;
	int rc;

	out[0] = 0;
	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%llu:",
					(unsigned long long)rec_text_lineno(t));
		for (size_t i = 0; i < n; i++)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s", i ? "|" : "",
						(int)f[i].len, f[i].p);
		len += (size_t)snprintf(out + len, sizeof(out) - len, "\n");
	}
	ck_assert_int_eq(rc, 0);
	rec_text_close(t);
	return out;
}

#define RENDER(s, sep, csv) render_all(open_text(s, strlen(s), sep, csv))

START_TEST(test_tsv)
{
	ck_assert_str_eq(RENDER("a\t\tb\nc\t\t\n\n\nd", "\t", 0), "1:a||b\n2:c||\n5:d\n");
	ck_assert_str_eq(RENDER("x\ty\r\nz\r\n", "\t", 0), "1:x|y\n2:z\n");
	ck_assert_str_eq(RENDER("", "\t", 0), "");
}
END_TEST

START_TEST(test_multibyte_separator)
{
	ck_assert_str_eq(RENDER("1::10::5\n2::::3\n", "::", 0), "1:1|10|5\n2:2||3\n");
	ck_assert_str_eq(RENDER("a:b::c:\n", "::", 0), "1:a:b|c:\n");
}
END_TEST

START_TEST(test_csv)
{
	ck_assert_str_eq(RENDER("a,\"b,c\",d\n\"say \"\"hi\"\"\",\"\",x\n", ",", 1),
			 "1:a|b,c|d\n2:say \"hi\"||x\n");
	/* a quoted newline: the record keeps its first line's number */
	ck_assert_str_eq(RENDER("\"two\nlines\",b\nc,d\r\ne,\n", ",", 1), "1:two\nlines|b\n3:c|d\n4:e|\n");
}
END_TEST

START_TEST(test_csv_errors)
{
	struct rec_text *t = open_text("a,b\n\"open,c\n", 12, ",", 1);
	const struct rec_span *f;
	size_t n;

	ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), -1);
	ck_assert_uint_eq(rec_text_lineno(t), 2);
	rec_text_close(t);
	t = open_text("ok\n\"ab\"c,d\n", 11, ",", 1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), -1);
	rec_text_close(t);
	ck_assert_ptr_null(rec_text_open(rec_src_open("/dev/null"), &(struct rec_text_opts){ .sep = "" }));
}
END_TEST

/* Lines across every buffer boundary, and one line longer than the buffer. */
START_TEST(test_many_and_long_lines)
{
	size_t nlines = 200000, cap = nlines * 40 + (3u << 20), len = 0;
	char *buf = malloc(cap);
	struct rec_text *t;
	const struct rec_span *f;
	size_t n, line = 0;
	char want[64];

	for (size_t i = 0; i < nlines; i++)
		len += (size_t)sprintf(buf + len, "%zu\tv%zu\t%zx\n", i, i * 7, i);
	memset(buf + len, 'x', 3u << 20); /* a 3 MiB field */
	len += 3u << 20;
	buf[len++] = '\t';
	buf[len++] = 'y';
	t = open_text(buf, len, "\t", 0);
	for (; line < nlines; line++) {
		ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
		ck_assert_uint_eq(n, 3);
		snprintf(want, sizeof(want), "v%zu", line * 7);
		ck_assert_uint_eq(f[1].len, strlen(want));
		ck_assert(memcmp(f[1].p, want, f[1].len) == 0);
	}
	ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(f[0].len, 3u << 20);
	ck_assert_uint_eq(f[1].len, 1);
	ck_assert_uint_eq(rec_text_lineno(t), nlines + 1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), 0);
	ck_assert_uint_eq(rec_text_bytes(t), len);
	rec_text_close(t);
	free(buf);
}
END_TEST

Suite *suite_text(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tsv);
	tcase_add_test(tc, test_multibyte_separator);
	tcase_add_test(tc, test_csv);
	tcase_add_test(tc, test_csv_errors);
	tcase_add_test(tc, test_many_and_long_lines);
	suite_add_tcase(s, tc);
	return s;
}
