/* text.c - splitting delimited text into fields. Plain separators split in
 * place (memchr/memmem over the source buffer, no copy); CSV fields that are
 * quoted are unquoted into a scratch buffer. */
#include "config.h"
#include "text.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct rec_text {
	struct rec_src *src;
	char *sep;
	size_t seplen;
	int csv;
	struct rec_span *f;
	size_t nf, cap_f;
	char *scratch;        /* CSV: unquoted field bytes */
	size_t cap_scratch;
	size_t pending;       /* bytes of the last line still to skip in src */
	uint64_t lineno, next_line;
	uint64_t bytes;
};

struct rec_text *rec_text_open(struct rec_src *src, const struct rec_text_opts *o)
{
	struct rec_text *t;

	if (!o->sep || !*o->sep) {
		rec_src_close(src);
		rec_error("the field separator must not be empty");
		return NULL;
	}
	t = rec_xcalloc(1, sizeof(*t));
	t->src = src;
	t->sep = rec_xstrdup(o->sep);
	t->seplen = strlen(o->sep);
	t->csv = o->csv;
	t->next_line = 1;
	return t;
}

void rec_text_close(struct rec_text *t)
{
	if (!t)
		return;
	rec_src_close(t->src);
	free(t->sep);
	free(t->f);
	free(t->scratch);
	free(t);
}

static inline void push_field(struct rec_text *t, const char *p, size_t len)
{
	if (t->nf == t->cap_f)
		rec_xgrow(&t->f, &t->cap_f, t->nf + 1, sizeof(*t->f));
	t->f[t->nf].p = p;
	t->f[t->nf].len = len;
	t->nf++;
}

static void split_plain(struct rec_text *t, const char *p, size_t len)
{
	const char *end = p + len;

	t->nf = 0;
	if (t->seplen == 1) {
		char sep = t->sep[0];
		for (;;) {
			const char *hit = memchr(p, sep, (size_t)(end - p));
			if (!hit)
				break;
			push_field(t, p, (size_t)(hit - p));
			p = hit + 1;
		}
	} else {
		for (;;) {
			const char *hit = memmem(p, (size_t)(end - p), t->sep, t->seplen);
			if (!hit)
				break;
			push_field(t, p, (size_t)(hit - p));
			p = hit + t->seplen;
		}
	}
	push_field(t, p, (size_t)(end - p));
}

/* Makes the next record contiguous at *rec and returns its length without
 * the ending "\n" (*adv: the bytes to consume; 0 at the end of input), or -1
 * on a read error. In CSV mode newlines inside quotes do not end it. */
static ssize_t next_record(struct rec_text *t, const char **rec, size_t *adv)
{
	const unsigned char *p;
	ssize_t n = rec_src_fill(t->src, &p);
	size_t scanned = 0, want;
	int quoted = 0;

	if (n <= 0) {
		*adv = 0;
		return n;
	}
	for (;;) {
		const unsigned char *nl = NULL;
		if (!t->csv) {
			nl = memchr(p + scanned, '\n', (size_t)n - scanned);
		} else {
			for (size_t i = scanned; i < (size_t)n && !nl; i++)
				if (p[i] == '"')
					quoted = !quoted;
				else if (p[i] == '\n' && !quoted)
					nl = p + i;
		}
		if (nl) {
			*rec = (const char *)p;
			*adv = (size_t)(nl - p) + 1;
			return nl - p;
		}
		scanned = (size_t)n;
		want = (size_t)n * 2 + 4096;
		n = rec_src_peek(t->src, &p, want);
		if (n < 0)
			return -1;
		if ((size_t)n == scanned) { /* the end: a last line without "\n" */
			*rec = (const char *)p;
			*adv = (size_t)n;
			return n;
		}
	}
}

static size_t count_newlines(const char *p, size_t n)
{
	size_t c = 0;

	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
		c++;
	return c;
}

/* RFC 4180: quoted fields may hold separators, newlines and "" for ". */
static int split_csv(struct rec_text *t, const char *p, size_t len)
{
	const char *end = p + len;
	size_t used = 0;

	t->nf = 0;
	rec_xgrow(&t->scratch, &t->cap_scratch, len + 1, 1);
	for (;;) {
		if (p < end && *p == '"') {
			size_t start = used;
			for (p++;; p++) {
				if (p >= end)
					return rec_error("%s:%llu: unterminated quoted field", t->src->name,
							 (unsigned long long)t->lineno);
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"')
						p++;
					else
						break;
				}
				t->scratch[used++] = *p;
			}
			p++; /* the closing quote */
			if (p < end && (size_t)(end - p) >= t->seplen && memcmp(p, t->sep, t->seplen) != 0)
				return rec_error("%s:%llu: unexpected character after closing quote",
						 t->src->name, (unsigned long long)t->lineno);
			if (p < end && (size_t)(end - p) < t->seplen)
				return rec_error("%s:%llu: unexpected character after closing quote",
						 t->src->name, (unsigned long long)t->lineno);
			push_field(t, t->scratch + start, used - start);
		} else {
			const char *hit = memmem(p, (size_t)(end - p), t->sep, t->seplen);
			const char *stop = hit ? hit : end;
			push_field(t, p, (size_t)(stop - p));
			p = stop;
		}
		if (p >= end)
			return 0;
		p += t->seplen;
		if (p == end) { /* a trailing separator: one more, empty field */
			push_field(t, p, 0);
			return 0;
		}
	}
}

int rec_text_next(struct rec_text *t, const struct rec_span **fields, size_t *n)
{
	for (;;) {
		const char *rec = NULL;
		size_t adv;
		ssize_t len;

		rec_src_skip(t->src, t->pending);
		t->bytes += t->pending;
		t->pending = 0;
		if ((len = next_record(t, &rec, &adv)) < 0)
			return -1;
		if (adv == 0)
			return 0;
		t->pending = adv;
		t->lineno = t->next_line;
		t->next_line += 1 + (t->csv ? count_newlines(rec, (size_t)len) : 0);
		if (len > 0 && rec[len - 1] == '\r')
			len--;
		if (len == 0)
			continue; /* empty lines carry nothing */
		if (t->csv) {
			if (split_csv(t, rec, (size_t)len) < 0)
				return -1;
		} else {
			split_plain(t, rec, (size_t)len);
		}
		*fields = t->f;
		*n = t->nf;
		return 1;
	}
}

uint64_t rec_text_lineno(const struct rec_text *t)
{
	return t->lineno;
}

const char *rec_text_name(const struct rec_text *t)
{
	return t->src->name;
}

uint64_t rec_text_bytes(const struct rec_text *t)
{
	return t->bytes + t->pending;
}
