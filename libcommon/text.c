/* text.c - splitting delimited text into fields. Fields are spans into the
 * source buffer (memchr/memmem, no copy) so TSV splits at memory speed; only
 * CSV fields holding "" escapes are unquoted into a scratch buffer. */
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
	struct rec_span *f;   /* the fields of the last record, reused */
	size_t nf, cap_f;
	char *scratch;        /* CSV: unquoted bytes of fields with "" in them */
	size_t cap_scratch;
	size_t pending;       /* bytes of the last record still to skip in src */
	uint64_t lineno;      /* first line of the last record */
	uint64_t next_line;   /* first line of the next record */
	uint64_t bytes;       /* bytes skipped so far */
};

/* What one attempt at a record gave: rec_text_next returns the first three. */
enum {
	REC_ERR = -1,
	REC_END = 0,
	REC_OK = 1,
	REC_EMPTY,   /* an empty line: counted, not returned */
	REC_MORE     /* CSV: the record runs past the bytes at hand */
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

struct rec_text *rec_text_open_path(const char *path, const struct rec_text_opts *o)
{
	static const struct rec_text_opts tsv = REC_TEXT_OPTS_INIT;
	struct rec_src *src = rec_src_open_text(path);

	return src ? rec_text_open(src, o ? o : &tsv) : NULL;
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

static inline void push_field(struct rec_text *t, const char *p, size_t len)
{
	if (t->nf == t->cap_f)
		rec_xgrow(&t->f, &t->cap_f, t->nf + 1, sizeof(*t->f));
	t->f[t->nf].p = p;
	t->f[t->nf].len = len;
	t->nf++;
}

static size_t count_newlines(const char *p, const char *end)
{
	size_t c = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		c++;
		p++;
	}
	return c;
}

/* Asks the source for more than the n bytes at *p: twice as many, so a long
 * record costs amortised linear time. Sets *at_end when no more will come. */
static ssize_t peek_more(struct rec_text *t, const unsigned char **p, size_t n, int *at_end)
{
	size_t want = n * 2 + 4096;
	ssize_t got = rec_src_peek(t->src, p, want);

	if (got >= 0 && (size_t)got < want)
		*at_end = 1;
	return got;
}

/* ---- plain separators: a line is a record ---- */

/* Makes the next line contiguous at *line: returns its length without the
 * "\n" and sets *adv to the bytes it takes (0 at the end), or -1. */
static ssize_t plain_line(struct rec_text *t, const char **line, size_t *adv)
{
	const unsigned char *p, *nl;
	ssize_t n = rec_src_fill(t->src, &p);
	size_t scanned = 0;
	int at_end = 0;

	*adv = 0;
	while (n > 0) {
		nl = memchr(p + scanned, '\n', (size_t)n - scanned);
		*line = (const char *)p;
		if (nl) {
			*adv = (size_t)(nl - p) + 1;
			return nl - p;
		}
		if (at_end) { /* a last line without "\n" */
			*adv = (size_t)n;
			return n;
		}
		scanned = (size_t)n;
		n = peek_more(t, &p, scanned, &at_end);
	}
	return n;
}

static void split_plain(struct rec_text *t, const char *p, size_t len)
{
	const char *end = p + len, *hit;

	t->nf = 0;
	if (t->seplen == 1) {
		while ((hit = memchr(p, t->sep[0], (size_t)(end - p)))) {
			push_field(t, p, (size_t)(hit - p));
			p = hit + 1;
		}
	} else {
		while ((hit = memmem(p, (size_t)(end - p), t->sep, t->seplen))) {
			push_field(t, p, (size_t)(hit - p));
			p = hit + t->seplen;
		}
	}
	push_field(t, p, (size_t)(end - p));
}

static int plain_next(struct rec_text *t)
{
	const char *line = NULL;
	size_t adv;
	ssize_t len = plain_line(t, &line, &adv);

	if (len < 0 || adv == 0)
		return len < 0 ? REC_ERR : REC_END;
	t->pending = adv;
	t->lineno = t->next_line++;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return REC_EMPTY;
	split_plain(t, line, (size_t)len);
	return REC_OK;
}

/* ---- CSV (RFC 4180): a record may span lines inside quotes ---- */

/* The state of parsing one record out of the bytes [p, end). */
struct csv_parse {
	const char *p, *end;
	const char *q;        /* the parse position */
	char *out;            /* next free byte of the scratch buffer */
	int at_end;           /* nothing follows end */
};

static int csv_error(struct rec_text *t, const struct csv_parse *c, const char *at, const char *what)
{
	uint64_t line = t->lineno + count_newlines(c->p, at);
	const char *nl = memchr(at, '\n', (size_t)(c->end - at));

	/* Skip the rest of that line so a caller that goes on makes progress. */
	t->pending = nl ? (size_t)(nl - c->p) + 1 : (size_t)(c->end - c->p);
	t->next_line = line + (nl != NULL);
	return rec_error("%s:%llu: %s", t->src->name, (unsigned long long)line, what);
}

static int sep_at(const struct rec_text *t, const char *q, const char *end)
{
	return (size_t)(end - q) >= t->seplen && memcmp(q, t->sep, t->seplen) == 0;
}

/* An unquoted field runs to the separator or the line's end; a " inside it
 * is data (as Python's csv module reads it). */
static int csv_unquoted(struct rec_text *t, struct csv_parse *c)
{
	const char *q = c->q, *stop;
	char s0 = t->sep[0];

	while (q < c->end && *q != '\n' && !(*q == s0 && sep_at(t, q, c->end)))
		q++;
	if (q == c->end && !c->at_end)
		return REC_MORE;
	stop = q;
	if ((q == c->end || *q == '\n') && stop > c->q && stop[-1] == '\r')
		stop--; /* CRLF */
	push_field(t, c->q, (size_t)(stop - c->q));
	c->q = q;
	return REC_OK;
}

/* A quoted field holding "": unquotes it into scratch, from s (just past
 * the opening quote) to the closing quote. */
static int csv_unescape(struct rec_text *t, struct csv_parse *c, const char *s)
{
	char *start = c->out;
	const char *hit;

	while ((hit = memchr(s, '"', (size_t)(c->end - s)))) {
		memcpy(c->out, s, (size_t)(hit - s));
		c->out += hit - s;
		if (hit + 1 == c->end && !c->at_end)
			return REC_MORE; /* "" or the closing quote: the next byte says */
		if (hit + 1 == c->end || hit[1] != '"') {
			push_field(t, start, (size_t)(c->out - start));
			c->q = hit + 1;
			return REC_OK;
		}
		*c->out++ = '"';
		s = hit + 2;
	}
	return c->at_end ? csv_error(t, c, c->q, "unterminated quoted field") : REC_MORE;
}

/* A quoted field at c->q: a span into the source unless it holds "". */
static int csv_quoted(struct rec_text *t, struct csv_parse *c)
{
	const char *s = c->q + 1;
	const char *hit = memchr(s, '"', (size_t)(c->end - s));

	if (!hit)
		return c->at_end ? csv_error(t, c, c->q, "unterminated quoted field") : REC_MORE;
	if (hit + 1 == c->end && !c->at_end)
		return REC_MORE;
	if (hit + 1 < c->end && hit[1] == '"')
		return csv_unescape(t, c, s);
	push_field(t, s, (size_t)(hit - s));
	c->q = hit + 1;
	return REC_OK;
}

/* After a field: a separator (another field follows), the record's end
 * (sets *done), or, after a closing quote, anything else is an error. */
static int csv_after_field(struct rec_text *t, struct csv_parse *c, int *done)
{
	const char *q = c->q, *end = c->end;
	size_t left = (size_t)(end - q);

	*done = 1;
	if (left == 0 || *q == '\n')
		return left || c->at_end ? REC_OK : REC_MORE;
	if (*q == '\r' && (left == 1 || q[1] == '\n')) {
		c->q++;
		return left > 1 || c->at_end ? REC_OK : REC_MORE;
	}
	*done = 0;
	if (sep_at(t, q, end)) {
		c->q += t->seplen;
		return REC_OK;
	}
	if (left < t->seplen && !c->at_end && memcmp(q, t->sep, left) == 0)
		return REC_MORE;
	return csv_error(t, c, q, "unexpected character after closing quote");
}

static int csv_fields(struct rec_text *t, struct csv_parse *c)
{
	int rc, done = 0;

	t->nf = 0;
	while (!done) {
		if (c->q < c->end && *c->q == '"')
			rc = csv_quoted(t, c);
		else
			rc = csv_unquoted(t, c);
		if (rc == REC_OK)
			rc = csv_after_field(t, c, &done);
		if (rc != REC_OK)
			return rc;
	}
	return REC_OK;
}

/* Parses the record in [p, p + n); sets t->pending to its size with "\n". */
static int csv_record(struct rec_text *t, const char *p, size_t n, int at_end)
{
	struct csv_parse c = { .p = p, .end = p + n, .q = p, .at_end = at_end };
	size_t len;
	int rc;

	/* unquoting only shrinks, so n bytes of scratch hold every field */
	rec_xgrow(&t->scratch, &t->cap_scratch, n + 1, 1);
	c.out = t->scratch;
	rc = csv_fields(t, &c);
	if (rc != REC_OK)
		return rc;
	len = (size_t)(c.q - p);
	t->pending = len + (len < n); /* the "\n", unless the input ended */
	t->next_line = t->lineno + count_newlines(p, p + t->pending);
	if (len && p[len - 1] == '\r')
		len--;
	return len ? REC_OK : REC_EMPTY;
}

static int csv_next(struct rec_text *t)
{
	const unsigned char *p;
	ssize_t n = rec_src_fill(t->src, &p);
	int rc, at_end = 0;

	if (n <= 0)
		return n < 0 ? REC_ERR : REC_END;
	t->lineno = t->next_line;
	while ((rc = csv_record(t, (const char *)p, (size_t)n, at_end)) == REC_MORE)
		if ((n = peek_more(t, &p, (size_t)n, &at_end)) < 0)
			return REC_ERR;
	return rc;
}

int rec_text_next(struct rec_text *t, const struct rec_span **fields, size_t *n)
{
	int rc;

	do {
		rec_src_skip(t->src, t->pending);
		t->bytes += t->pending;
		t->pending = 0;
		rc = t->csv ? csv_next(t) : plain_next(t);
	} while (rc == REC_EMPTY);
	if (rc == REC_OK) {
		*fields = t->f;
		*n = t->nf;
	}
	return rc;
}
