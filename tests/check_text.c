/* check_text.c - delimited text: TSV, multi-byte separators, CSV quoting,
 * line numbers, CRLF, long lines, buffer boundaries and pipes. */
#include "config.h"
#include "tests.h"
#include "text.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1u << 20)

static void write_file(const char *path, const char *content, size_t len)
{
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(content, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static struct rec_text *open_text(const char *content, size_t len, const char *sep, int csv)
{
	const char *path = test_tmpfile("t.txt");
	struct rec_text_opts o = { .sep = sep, .csv = csv };
	struct rec_text *t;

	write_file(path, content, len);
	t = rec_text_open(rec_src_open(path), &o);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Reads every record and renders it as "line:field|field|..." lines; a NUL
 * byte shows as "@" so it can be seen in the result. */
static const char *render_all(struct rec_text *t, size_t input_len)
{
	static char out[4096];
	const struct rec_span *f;
	size_t n, len = 0;
	int rc;

	out[0] = 0;
	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%llu:",
					(unsigned long long)rec_text_lineno(t));
		for (size_t i = 0; i < n; i++) {
			if (i)
				out[len++] = '|';
			for (size_t j = 0; j < f[i].len; j++)
				out[len++] = f[i].p[j] ? f[i].p[j] : '@';
		}
		out[len++] = '\n';
		out[len] = 0;
		ck_assert_uint_lt(len, sizeof(out) - 64);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(rec_text_bytes(t), input_len);
	ck_assert_str_eq(rec_text_name(t), test_tmpfile("t.txt"));
	rec_text_close(t);
	return out;
}

#define RENDER(s, sep, csv) render_all(open_text(s, sizeof(s) - 1, sep, csv), sizeof(s) - 1)

START_TEST(test_tsv)
{
	ck_assert_str_eq(RENDER("a\t\tb\nc\t\t\n\n\nd", "\t", 0), "1:a||b\n2:c||\n5:d\n");
	ck_assert_str_eq(RENDER("x\ty\r\nz\r\n\r\n\tw\r\n", "\t", 0), "1:x|y\n2:z\n4:|w\n");
	ck_assert_str_eq(RENDER("\n\n\r\n", "\t", 0), "");
	ck_assert_str_eq(RENDER("", "\t", 0), "");
	ck_assert_str_eq(RENDER("only", "\t", 0), "1:only\n");
	/* a NUL byte is data; a lone \r inside a line too */
	ck_assert_str_eq(RENDER("a\0b\tc\rd\n", "\t", 0), "1:a@b|c\rd\n");
	/* quotes mean nothing without --csv */
	ck_assert_str_eq(RENDER("\"a\tb\"\n", "\t", 0), "1:\"a|b\"\n");
}
END_TEST

START_TEST(test_multibyte_separator)
{
	ck_assert_str_eq(RENDER("1::10::5::978300760\n2::::3\n", "::", 0),
			 "1:1|10|5|978300760\n2:2||3\n");
	ck_assert_str_eq(RENDER("a:b::c:\n::\n", "::", 0), "1:a:b|c:\n2:|\n");
	/* leftmost match first, as str.split("::") does: "a:::b" -> a, :b */
	ck_assert_str_eq(RENDER("a:::b\n", "::", 0), "1:a|:b\n");
	ck_assert_str_eq(RENDER("x||y|z||\r\n", "||", 0), "1:x|y|z|\n");
	ck_assert_str_eq(RENDER("a,b\n", "|", 0), "1:a,b\n");
}
END_TEST

START_TEST(test_csv)
{
	ck_assert_str_eq(RENDER("a,\"b,c\",d\n\"say \"\"hi\"\"\",\"\",x\n", ",", 1),
			 "1:a|b,c|d\n2:say \"hi\"||x\n");
	/* a quoted newline: the record keeps its first line's number */
	ck_assert_str_eq(RENDER("\"two\nlines\",b\nc,d\r\n\ne,\n", ",", 1),
			 "1:two\nlines|b\n3:c|d\n5:e|\n");
	ck_assert_str_eq(RENDER("\"a\"\r\n\"\"\"\"\r\n\"\"\n\"x\"\"\ny\"", ",", 1),
			 "1:a\n2:\"\n3:\n4:x\"\ny\n");
	/* a quote inside an unquoted field is data (as Python's csv reads it) */
	ck_assert_str_eq(RENDER("5\" disk,b\"\n", ",", 1), "1:5\" disk|b\"\n");
	ck_assert_str_eq(RENDER("\"a::b\"::\"\"::c\n", "::", 1), "1:a::b||c\n");
	ck_assert_str_eq(RENDER(",\n\"\",\"\"", ",", 1), "1:|\n2:|\n");
	ck_assert_str_eq(RENDER("\"q\"\r", ",", 1), "1:q\n");
}
END_TEST

/* Runs fn with stderr going to a file and returns what was written. */
static const char *capture_stderr(int (*fn)(struct rec_text *), struct rec_text *t, int *rc)
{
	static char buf[512];
	const char *path = test_tmpfile("stderr.txt");
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *fp;
	size_t n;

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, 2);
	*rc = fn(t);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	fp = fopen(path, "rb");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static int next_ignoring(struct rec_text *t)
{
	const struct rec_span *f;
	size_t n;

	return rec_text_next(t, &f, &n);
}

/* Reads the input to the first error; returns its message and, at *line,
 * rec_text_lineno then. */
static const char *first_error(const char *s, size_t len, uint64_t *line)
{
	struct rec_text *t = open_text(s, len, ",", 1);
	const char *msg = "";
	int rc = 1;

	while (rc > 0)
		msg = capture_stderr(next_ignoring, t, &rc);
	ck_assert_int_eq(rc, -1);
	*line = rec_text_lineno(t);
	rec_text_close(t);
	return msg;
}

#define FIRST_ERROR(s, line) first_error(s, sizeof(s) - 1, line)

START_TEST(test_csv_errors)
{
	uint64_t line;
	struct rec_text *t;
	const struct rec_span *f;
	size_t n;

	ck_assert_ptr_nonnull(strstr(FIRST_ERROR("a,b\n\"open,c\nd\n", &line),
				     "t.txt:2: unterminated quoted field\n"));
	ck_assert_uint_eq(line, 2);
	ck_assert_ptr_nonnull(strstr(FIRST_ERROR("x\n\ny,\"z\n\n", &line),
				     "t.txt:3: unterminated quoted field\n"));
	ck_assert_uint_eq(line, 3);
	ck_assert_ptr_nonnull(strstr(FIRST_ERROR("ok\n\"ab\"c,d\n", &line),
				     "t.txt:2: unexpected character after closing quote\n"));
	ck_assert_uint_eq(line, 2);
	/* the message names the line of the stray byte, lineno the record's first */
	ck_assert_ptr_nonnull(strstr(FIRST_ERROR("1\n\"a\nb\" ,c\n", &line),
				     "t.txt:3: unexpected character after closing quote\n"));
	ck_assert_uint_eq(line, 2);
	ck_assert_ptr_nonnull(strstr(FIRST_ERROR("\"a\"\rb\n", &line), ":1: unexpected character"));

	/* after an error the reader goes on with the next line */
	t = open_text("\"ab\"c,d\ne,f\n", 12, ",", 1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), -1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(rec_text_lineno(t), 2);
	ck_assert_int_eq(rec_text_next(t, &f, &n), 0);
	rec_text_close(t);

	ck_assert_ptr_null(rec_text_open(rec_src_open("/dev/null"), &(struct rec_text_opts){ .sep = "" }));
}
END_TEST

/* Lines across every buffer boundary, then one line longer than the buffer:
 * each field is checked against what wrote it. */
START_TEST(test_many_and_long_lines)
{
	size_t nlines = 200000, cap = nlines * 48 + 3 * MIB + 16, len = 0;
	char *buf = malloc(cap);
	struct rec_text *t;
	const struct rec_span *f;
	size_t n;
	char want[3][32];

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < nlines; i++)
		len += (size_t)sprintf(buf + len, "%zu\t%s\tv%zu\t%zx%s", i, i % 5 ? "" : "e", i * 7, i,
				       i % 3 ? "\n" : "\r\n");
	memset(buf + len, 'x', 3 * MIB); /* a 3 MiB field */
	len += 3 * MIB;
	memcpy(buf + len, "\ty", 2);
	len += 2;
	t = open_text(buf, len, "\t", 0);
	for (size_t i = 0; i < nlines; i++) {
		ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
		ck_assert_uint_eq(rec_text_lineno(t), i + 1);
		ck_assert_uint_eq(n, 4);
		snprintf(want[0], sizeof(want[0]), "%zu", i);
		snprintf(want[1], sizeof(want[1]), "v%zu", i * 7);
		snprintf(want[2], sizeof(want[2]), "%zx", i);
		ck_assert_uint_eq(f[1].len, i % 5 ? 0 : 1);
		for (int k = 0; k < 3; k++) {
			const struct rec_span *g = &f[k ? k + 1 : 0];
			ck_assert_uint_eq(g->len, strlen(want[k]));
			ck_assert(memcmp(g->p, want[k], g->len) == 0);
		}
	}
	ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(f[0].len, 3 * MIB);
	ck_assert(f[0].p[0] == 'x' && f[0].p[3 * MIB - 1] == 'x');
	ck_assert_uint_eq(f[1].len, 1);
	ck_assert(f[1].p[0] == 'y');
	ck_assert_uint_eq(rec_text_lineno(t), nlines + 1);
	ck_assert_int_eq(rec_text_next(t, &f, &n), 0);
	ck_assert_uint_eq(rec_text_bytes(t), len);
	rec_text_close(t);
	free(buf);
}
END_TEST

/* The i-th CSV test field: every third one needs quoting (a separator, ""
 * or a newline), every 10000th is 1.5 MiB of quoted data. */
static size_t csv_field(size_t i, char *dst, size_t cap)
{
	if (i % 10000 == 9999) {
		size_t len = 3 * MIB / 2;
		ck_assert_uint_le(len, cap);
		for (size_t j = 0; j < len; j++)
			dst[j] = j % 100 == 99 ? '\n' : (j % 7 == 3 ? '"' : (char)('a' + j % 26));
		return len;
	}
	switch (i % 6) {
	case 0:
		return (size_t)snprintf(dst, cap, "q\"%zu\"", i);
	case 3:
		return (size_t)snprintf(dst, cap, "l,%zu\nm", i);
	default:
		return (size_t)snprintf(dst, cap, "p%zu", i);
	}
}

/* Writes field text the RFC 4180 way: quoted when it has , " or newline. */
static size_t csv_quote(char *out, const char *s, size_t len)
{
	size_t o = 0;

	if (!memchr(s, ',', len) && !memchr(s, '"', len) && !memchr(s, '\n', len)) {
		memcpy(out, s, len);
		return len;
	}
	out[o++] = '"';
	for (size_t j = 0; j < len; j++) {
		if (s[j] == '"')
			out[o++] = '"';
		out[o++] = s[j];
	}
	out[o++] = '"';
	return o;
}

static size_t newlines(const char *s, size_t len)
{
	size_t c = 0;

	for (size_t j = 0; j < len; j++)
		c += s[j] == '\n';
	return c;
}

/* Records of three fields, quoted across buffer boundaries and records far
 * longer than the buffer; line numbers follow the embedded newlines. */
START_TEST(test_csv_many_records)
{
	size_t nrec = 30000, cap = 24 * MIB, len = 0, fcap = 2 * MIB;
	char *buf = malloc(cap), *field = malloc(fcap);
	uint64_t line = 1;
	struct rec_text *t;
	const struct rec_span *f;
	size_t n, flen;

	ck_assert(buf && field);
	for (size_t r = 0; r < nrec; r++)
		for (size_t k = 0; k < 3; k++) {
			flen = csv_field(r * 3 + k, field, fcap);
			len += csv_quote(buf + len, field, flen);
			buf[len++] = k < 2 ? ',' : '\n';
			ck_assert_uint_lt(len + 4 * MIB, cap);
		}
	t = open_text(buf, len, ",", 1);
	for (size_t r = 0; r < nrec; r++) {
		uint64_t first = line;
		ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
		ck_assert_uint_eq(n, 3);
		for (size_t k = 0; k < 3; k++) {
			flen = csv_field(r * 3 + k, field, fcap);
			ck_assert_uint_eq(f[k].len, flen);
			ck_assert(memcmp(f[k].p, field, flen) == 0);
			line += newlines(field, flen);
		}
		ck_assert_uint_eq(rec_text_lineno(t), first);
		line++;
	}
	ck_assert_int_eq(rec_text_next(t, &f, &n), 0);
	ck_assert_uint_eq(rec_text_bytes(t), len);
	rec_text_close(t);
	free(buf);
	free(field);
}
END_TEST

/* Feeds s through a named pipe in small writes, so reads come back short
 * and cut records anywhere. */
static struct rec_text *open_fifo(const char *s, size_t len, const char *sep, int csv, pid_t *pid)
{
	const char *path = test_tmpfile("fifo");
	struct rec_text_opts o = { .sep = sep, .csv = csv };
	struct rec_text *t;

	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		int fd = open(path, O_WRONLY);
		for (size_t off = 0, chunk = 1; fd >= 0 && off < len; off += chunk, chunk = chunk * 3 % 4093 + 1) {
			if (chunk > len - off)
				chunk = len - off;
			if (write(fd, s + off, chunk) != (ssize_t)chunk)
				_exit(1);
		}
		_exit(fd < 0);
	}
	t = rec_text_open(rec_src_open(path), &o);
	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_pipe)
{
	size_t nlines = 20000, len = 0;
	char *buf = malloc(nlines * 40);
	struct rec_text *t;
	const struct rec_span *f;
	size_t n;
	char want[32];
	pid_t pid;
	int status;

	for (size_t i = 0; i < nlines; i++)
		len += (size_t)sprintf(buf + len, "%zu::\"%zu,\"\"\n\"::x\n", i, i * 3);
	t = open_fifo(buf, len, "::", 0, &pid);
	for (size_t i = 0; i < nlines; i++) {
		ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
		ck_assert_uint_eq(n, 2);
		snprintf(want, sizeof(want), "%zu", i);
		ck_assert_uint_eq(f[0].len, strlen(want));
		ck_assert(memcmp(f[0].p, want, f[0].len) == 0);
		ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
		ck_assert_uint_eq(rec_text_lineno(t), 2 * i + 2);
		ck_assert(n == 2 && f[0].len == 1 && f[0].p[0] == '"' && f[1].p[0] == 'x');
	}
	ck_assert_int_eq(rec_text_next(t, &f, &n), 0);
	rec_text_close(t);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* the same bytes as CSV with "::": one record per two lines */
	t = open_fifo(buf, len, "::", 1, &pid);
	for (size_t i = 0; i < nlines; i++) {
		ck_assert_int_eq(rec_text_next(t, &f, &n), 1);
		ck_assert_uint_eq(rec_text_lineno(t), 2 * i + 1);
		ck_assert_uint_eq(n, 3);
		snprintf(want, sizeof(want), "%zu,\"\n", i * 3);
		ck_assert_uint_eq(f[1].len, strlen(want));
		ck_assert(memcmp(f[1].p, want, f[1].len) == 0);
		ck_assert(f[2].len == 1 && f[2].p[0] == 'x');
	}
	ck_assert_int_eq(rec_text_next(t, &f, &n), 0);
	ck_assert_uint_eq(rec_text_bytes(t), len);
	rec_text_close(t);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
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
	tcase_add_test(tc, test_csv_many_records);
	tcase_add_test(tc, test_pipe);
	suite_add_tcase(s, tc);
	return s;
}
