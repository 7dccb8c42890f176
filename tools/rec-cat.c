/* rec-cat - prints feature streams as text: one TSV line per record, the
 * header (--schema), or per-field statistics (--stats). */
#include "config.h"
#include "err.h"
#include "hash.h"
#include "hll.h"
#include "rng.h"
#include "io.h"
#include "stream.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cat_mode { CAT_RECORDS, CAT_SCHEMA, CAT_STATS };

struct cat_opts {
	char **inputs;        /* operands; "-" becomes NULL (stdin) */
	size_t ninputs;       /* none: one NULL input */
	int mode;             /* --schema, --stats; records by default */
	uint64_t head;        /* -n, --head (UINT64_MAX: all records) */
	int has_head;         /* -n was given */
	int verbosity;        /* -q/-v, 2 by default */
};
#define CAT_OPTS_INIT { .mode = CAT_RECORDS, .head = UINT64_MAX, .verbosity = 2 }

enum { OPT_SCHEMA = 256, OPT_STATS, OPT_VERSION };

static const struct option long_options[] = {
	{ "head", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "schema", no_argument, NULL, OPT_SCHEMA },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage: rec-cat [-q | -v] [--schema | --stats] [-n N] [<file>...]\n"
	       "Print recpipe feature streams (see rec-stream(5)) as text: one TSV line per\n"
	       "record (the label, weight=W, group=G, then name=value per feature value).\n"
	       "Several files are read one after another; none, or -, reads stdin.\n\n"
	       "  -n, --head <N>           stop after N records in all\n"
	       "      --schema             print each input's header instead of records\n"
	       "      --stats              print counts, distinct values and ranges per field\n"
	       "  -q, --quiet, -v, --verbose  less or more on stderr\n"
	       "  -h, --help               show this help\n"
	       "      --version            show the version\n\n"
	       "Examples:\n"
	       "  rec-cat -n 5 train.rec\n"
	       "  rec-hash --preset criteo < train.txt | rec-cat --stats\n");
}

/* ---- buffered stdout ------------------------------------------------------ */

#define OUT_CHUNK (256u << 10)

/* Text is built here and written in big chunks. After a write error, err
 * holds its errno and everything later is dropped. */
struct obuf {
	char *p;
	size_t len, cap;
	int err;
};

static void ob_flush(struct obuf *o)
{
	errno = 0;
	if (o->len && !o->err && fwrite(o->p, 1, o->len, stdout) != o->len)
		o->err = errno ? errno : EIO;
	o->len = 0;
}

/* Room for n more bytes at o->p + o->len. */
static inline char *ob_room(struct obuf *o, size_t n)
{
	if (o->len + n > o->cap)
		rec_xgrow(&o->p, &o->cap, o->len + n, 1);
	return o->p + o->len;
}

static inline void ob_put(struct obuf *o, const void *s, size_t n)
{
	memcpy(ob_room(o, n), s, n);
	o->len += n;
}

static void ob_printf(struct obuf *o, const char *fmt, ...) REC_PRINTF(2, 3);
static void ob_printf(struct obuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	vsnprintf(ob_room(o, (size_t)n + 1), (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* ---- formatting values ---------------------------------------------------- */

static inline size_t fmt_u64(char *dst, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* Like %g but with as many digits (6 to 9) as it takes to read back the
 * same float. Integers below 10^6 take the fast path. dst holds 32 bytes. */
static size_t fmt_float(char *dst, float x)
{
	if (x == truncf(x) && fabsf(x) < 1e6f) {
		size_t neg = signbit(x) ? 1 : 0;
		dst[0] = '-';
		return neg + fmt_u64(dst + neg, (uint64_t)fabsf(x));
	}
	if (isnan(x))
		return (size_t)snprintf(dst, 32, "nan");
	if (isinf(x))
		return (size_t)snprintf(dst, 32, "%sinf", x < 0 ? "-" : "");
	for (int prec = 6;; prec++) {
		int n = snprintf(dst, 32, "%.*g", prec, (double)x);
		if (prec == 9 || strtof(dst, NULL) == x)
			return (size_t)n;
	}
}

static inline void put_u64(struct obuf *o, uint64_t v)
{
	o->len += fmt_u64(ob_room(o, 20), v);
}

static inline void put_float(struct obuf *o, float x)
{
	o->len += fmt_float(ob_room(o, 32), x);
}

static const char hexdig[] = "0123456789abcdef";

/* Raw bytes with \t \n \r \\ and other control bytes as \xNN. */
static void put_escaped(struct obuf *o, const char *s, size_t len)
{
	char *d = ob_room(o, len * 4);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != 0x7f && c != '\\') {
			*d++ = (char)c;
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '\t': *d++ = 't'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\\': *d++ = '\\'; break;
		default:
			*d++ = 'x';
			*d++ = hexdig[c >> 4];
			*d++ = hexdig[c & 15];
		}
	}
	o->len = (size_t)(d - o->p);
}

/* ---- records --------------------------------------------------------------- */

/* "\tname=" of every field, built once per input. */
struct prefixes {
	char **s;
	size_t *len;
	size_t n;
};

static void prefixes_init(struct prefixes *px, const struct rec_schema *s)
{
	px->n = s->nfields;
	px->s = rec_xcalloc(px->n, sizeof(*px->s));
	px->len = rec_xcalloc(px->n, sizeof(*px->len));
	for (size_t f = 0; f < px->n; f++) {
		size_t len = strlen(s->field[f].name);
		px->s[f] = rec_xmalloc(len + 2);
		px->s[f][0] = '\t';
		memcpy(px->s[f] + 1, s->field[f].name, len);
		px->s[f][len + 1] = '=';
		px->len[f] = len + 2;
	}
}

static void prefixes_release(struct prefixes *px)
{
	for (size_t f = 0; f < px->n; f++)
		free(px->s[f]);
	free(px->s);
	free(px->len);
}

/* Where byte off of a string column starts: the column of a block whose
 * strings are all empty may have no storage at all. */
static inline const char *str_at(const char *base, uint32_t off)
{
	return base ? base + off : "";
}

/* Value i of field f: the float, the ID or the string, then ":float" when valued. */
static inline void put_value(struct obuf *o, const struct rec_block *b, size_t f, size_t i)
{
	const struct rec_col *c = &b->col[f];
	const struct rec_field *fd = &b->schema->field[f];

	if (fd->kind == REC_NUMERIC) {
		put_float(o, c->val[i]);
		return;
	}
	if (b->schema->flags & REC_HASHED)
		put_u64(o, c->id[i]);
	else
		put_escaped(o, str_at(c->str, c->soff[i]), c->soff[i + 1] - c->soff[i]);
	if (fd->flags & REC_FIELD_VALUED) {
		ob_put(o, ":", 1);
		put_float(o, c->val[i]);
	}
}

static void put_record(struct obuf *o, const struct rec_block *b, size_t r,
		       const struct prefixes *px)
{
	uint32_t flags = b->schema->flags;

	put_float(o, b->label[r]);
	if (flags & REC_HAS_WEIGHT) {
		ob_put(o, "\tweight=", 8);
		put_float(o, b->weight[r]);
	}
	if (flags & REC_HAS_GROUP) {
		ob_put(o, "\tgroup=", 7);
		put_escaped(o, str_at(b->gstr, b->goff[r]), b->goff[r + 1] - b->goff[r]);
	}
	for (size_t f = 0; f < px->n; f++) {
		const uint32_t *off = b->col[f].off;
		for (size_t i = off[r]; i < off[r + 1]; i++) {
			ob_put(o, px->s[f], px->len[f]);
			put_value(o, b, f, i);
		}
	}
	ob_put(o, "\n", 1);
}

static void put_records(struct obuf *o, const struct rec_block *b, size_t n,
			const struct prefixes *px)
{
	for (size_t r = 0; r < n && !o->err; r++) {
		put_record(o, b, r, px);
		if (o->len >= OUT_CHUNK)
			ob_flush(o);
	}
}

/* ---- schema ---------------------------------------------------------------- */

static void put_schema(struct obuf *o, const struct rec_schema *s, const char *name, int first)
{
	const char *yes[] = { "no", "yes" };

	ob_printf(o, "%sfile: %s\nformat: recpipe stream v%u\n", first ? "" : "\n", name,
		  REC_STREAM_VERSION);
	if (s->flags & REC_HASHED)
		ob_printf(o, "values: hashed (seed %llu, ID bits %u)\n",
			  (unsigned long long)s->seed, (unsigned)s->id_bits);
	else
		ob_printf(o, "values: raw\n");
	ob_printf(o, "label: yes\nweight: %s\ngroup: %s\nfields: %zu\n",
		  yes[!!(s->flags & REC_HAS_WEIGHT)], yes[!!(s->flags & REC_HAS_GROUP)], s->nfields);
	for (size_t f = 0; f < s->nfields; f++)
		ob_printf(o, "  %s\t%s%s\n", s->field[f].name, rec_kind_name(s->field[f].kind),
			  (s->field[f].flags & REC_FIELD_VALUED) ? "\tvalued" : "");
	if (!s->meta || !*s->meta)
		return;
	ob_printf(o, "provenance:\n");
	for (const char *p = s->meta; *p;) {
		size_t len = strcspn(p, "\n");
		ob_printf(o, "  %.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* ---- statistics ------------------------------------------------------------ */

#define HLL_PRECISION 14
#define NBUCKETS 33           /* 0, 1, 2-3, 4-7, ..., 2^31 to 2^32-1 */

struct field_stats {
	uint64_t records;     /* records with at least one value */
	uint64_t values;
	double sum;           /* numeric fields: sum, min, max of the values */
	float min, max;
	struct rec_hll *distinct;
};

struct cat_stats {
	struct rec_schema *schema;   /* the first input's; others must match */
	char *first;                 /* its name */
	uint64_t records;
	double label_sum, weight_sum;
	struct rec_hll *groups;
	struct field_stats *field;
	uint64_t hist[NBUCKETS];     /* records by features-per-record bucket */
	uint32_t *nfeat;             /* features of each record of a block */
	size_t cap_nfeat;
};

/* Small or folded IDs spread over all 64 bits, as the sketch needs. */
static uint64_t spread(uint64_t x)
{
	return rec_splitmix64(&x);
}

static struct rec_hll *new_hll(void)
{
	struct rec_hll *h = rec_hll_new(HLL_PRECISION);

	if (!h)
		rec_die("out of memory");
	return h;
}

static void stats_init(struct cat_stats *st, const struct rec_schema *s, const char *name)
{
	st->schema = rec_schema_copy(s);
	st->first = rec_xstrdup(name);
	if (s->flags & REC_HAS_GROUP)
		st->groups = new_hll();
	st->field = rec_xcalloc(s->nfields, sizeof(*st->field));
	for (size_t f = 0; f < s->nfields; f++) {
		st->field[f].min = INFINITY;
		st->field[f].max = -INFINITY;
		st->field[f].distinct = new_hll();
	}
}

static void stats_release(struct cat_stats *st)
{
	for (size_t f = 0; st->schema && f < st->schema->nfields; f++)
		rec_hll_free(st->field[f].distinct);
	free(st->field);
	rec_hll_free(st->groups);
	rec_schema_free(st->schema);
	free(st->first);
	free(st->nfeat);
}

static void stats_numeric(struct field_stats *fs, const float *val, size_t nval)
{
	for (size_t i = 0; i < nval; i++) {
		uint32_t bits;
		memcpy(&bits, &val[i], 4);
		rec_hll_add(fs->distinct, spread(bits));
		fs->sum += val[i];
		if (val[i] < fs->min)
			fs->min = val[i];
		if (val[i] > fs->max)
			fs->max = val[i];
	}
}

static void stats_field(struct cat_stats *st, const struct rec_block *b, size_t f, size_t n)
{
	struct field_stats *fs = &st->field[f];
	const struct rec_col *c = &b->col[f];
	size_t nval = c->off[n];

	for (size_t r = 0; r < n; r++) {
		uint32_t k = c->off[r + 1] - c->off[r];
		fs->records += k > 0;
		st->nfeat[r] += k;
	}
	fs->values += nval;
	if (b->schema->field[f].kind == REC_NUMERIC)
		stats_numeric(fs, c->val, nval);
	else if (b->schema->flags & REC_HASHED)
		for (size_t i = 0; i < nval; i++)
			rec_hll_add(fs->distinct, spread(c->id[i]));
	else
		for (size_t i = 0; i < nval; i++)
			rec_hll_add(fs->distinct, rec_hash_group(str_at(c->str, c->soff[i]),
								 c->soff[i + 1] - c->soff[i]));
}

static unsigned bucket_of(uint32_t k)
{
	return k ? 32u - (unsigned)__builtin_clz(k) : 0;
}

/* Adds the first n records of b. */
static void stats_block(struct cat_stats *st, const struct rec_block *b, size_t n)
{
	rec_xgrow(&st->nfeat, &st->cap_nfeat, n, sizeof(uint32_t));
	memset(st->nfeat, 0, n * sizeof(uint32_t));
	st->records += n;
	for (size_t r = 0; r < n; r++) {
		st->label_sum += b->label[r];
		if (st->schema->flags & REC_HAS_WEIGHT)
			st->weight_sum += b->weight[r];
		if (st->groups)
			rec_hll_add(st->groups, rec_hash_group(str_at(b->gstr, b->goff[r]),
							       b->goff[r + 1] - b->goff[r]));
	}
	for (size_t f = 0; f < st->schema->nfields; f++)
		stats_field(st, b, f, n);
	for (size_t r = 0; r < n; r++)
		st->hist[bucket_of(st->nfeat[r])]++;
}

/* ---- aligned tables --------------------------------------------------------- */

struct table {
	size_t ncol, ncell;
	const char *align;    /* 'l' or 'r' per column */
	char **cell;          /* row after row */
	size_t cap;
};

static void table_add(struct table *t, const char *fmt, ...) REC_PRINTF(2, 3);
static void table_add(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		rec_die("out of memory");
	va_end(ap);
	rec_xgrow(&t->cell, &t->cap, t->ncell + 1, sizeof(char *));
	t->cell[t->ncell++] = s;
}

/* Columns two spaces apart; no trailing blanks. */
static void table_put(struct obuf *o, struct table *t)
{
	size_t width[16] = { 0 };

	for (size_t i = 0; i < t->ncell; i++) {
		size_t len = strlen(t->cell[i]);
		if (len > width[i % t->ncol])
			width[i % t->ncol] = len;
	}
	for (size_t row = 0; row * t->ncol < t->ncell; row++) {
		size_t start = o->len, end = o->len;
		for (size_t c = 0; c < t->ncol; c++) {
			const char *s = t->cell[row * t->ncol + c];
			size_t len = strlen(s);
			int w = (int)width[c];
			ob_printf(o, t->align[c] == 'l' ? "%s%-*s" : "%s%*s", c ? "  " : "", w, s);
			if (len)
				end = o->len - (t->align[c] == 'l' ? width[c] - len : 0);
		}
		o->len = end > start ? end : start;
		ob_put(o, "\n", 1);
	}
	for (size_t i = 0; i < t->ncell; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->ncell = t->cap = 0;
}

/* num / den as a mean ('m'), a share ('%') or a rate ('r'); "-" when den is 0. */
static void table_ratio(struct table *t, int style, double num, double den)
{
	if (den == 0)
		table_add(t, "-");
	else if (style == 'm')
		table_add(t, "%.6g", num / den);
	else if (style == '%')
		table_add(t, "%.1f%%", 100.0 * num / den);
	else
		table_add(t, "%.2f", num / den);
}

static void put_summary(struct obuf *o, const struct cat_stats *st)
{
	struct table t = { .ncol = 2, .align = "ll" };

	table_add(&t, "records");
	table_add(&t, "%llu", (unsigned long long)st->records);
	table_add(&t, "label mean");
	table_ratio(&t, 'm', st->label_sum, (double)st->records);
	if (st->schema->flags & REC_HAS_WEIGHT) {
		table_add(&t, "weight sum");
		table_add(&t, "%.10g", st->weight_sum);
	}
	if (st->groups) {
		table_add(&t, "distinct groups");
		table_add(&t, "%.0f", rec_hll_estimate(st->groups));
	}
	table_put(o, &t);
}

static void field_row(struct table *t, const struct cat_stats *st, size_t f)
{
	const struct rec_field *fd = &st->schema->field[f];
	const struct field_stats *fs = &st->field[f];
	double nrec = (double)st->records;
	char lo[32], hi[32];

	table_add(t, "%s", fd->name);
	table_add(t, "%s%s", rec_kind_name(fd->kind), (fd->flags & REC_FIELD_VALUED) ? "+val" : "");
	table_add(t, "%llu", (unsigned long long)fs->records);
	table_ratio(t, '%', (double)fs->records, nrec);
	table_add(t, "%llu", (unsigned long long)fs->values);
	table_ratio(t, 'r', (double)fs->values, nrec);
	table_add(t, "%.0f", rec_hll_estimate(fs->distinct));
	if (fd->kind != REC_NUMERIC || fs->values == 0) {
		for (int i = 0; i < 3; i++)
			table_add(t, "%s", fd->kind == REC_NUMERIC ? "-" : "");
		return;
	}
	lo[fmt_float(lo, fs->min)] = 0;
	hi[fmt_float(hi, fs->max)] = 0;
	table_add(t, "%s", lo);
	table_ratio(t, 'm', fs->sum, (double)fs->values);
	table_add(t, "%s", hi);
}

static void put_fields(struct obuf *o, const struct cat_stats *st)
{
	static const char *const head[] = { "field", "kind", "records", "%", "values",
		"per record", "distinct", "min", "mean", "max" };
	struct table t = { .ncol = 10, .align = "llrrrrrrrr" };

	if (st->schema->nfields == 0)
		return;
	for (size_t i = 0; i < 10; i++)
		table_add(&t, "%s", head[i]);
	for (size_t f = 0; f < st->schema->nfields; f++)
		field_row(&t, st, f);
	ob_put(o, "\n", 1);
	table_put(o, &t);
}

static void put_histogram(struct obuf *o, const struct cat_stats *st)
{
	struct table t = { .ncol = 3, .align = "lrr" };
	unsigned first = NBUCKETS, last = 0;

	for (unsigned k = 0; k < NBUCKETS; k++) {
		if (st->hist[k] && first == NBUCKETS)
			first = k;
		if (st->hist[k])
			last = k;
	}
	if (first == NBUCKETS)
		return;
	table_add(&t, "features");
	table_add(&t, "records");
	table_add(&t, "%%");
	for (unsigned k = first; k <= last; k++) {
		if (k < 2)
			table_add(&t, "%u", k);
		else
			table_add(&t, "%llu-%llu", 1ull << (k - 1), (1ull << k) - 1);
		table_add(&t, "%llu", (unsigned long long)st->hist[k]);
		table_add(&t, "%.1f%%", 100.0 * (double)st->hist[k] / (double)st->records);
	}
	ob_put(o, "\n", 1);
	table_put(o, &t);
}

/* ---- the run ---------------------------------------------------------------- */

struct cat_state {
	const struct cat_opts *o;
	struct obuf out;
	uint64_t left;        /* records still to print (--head) */
	struct cat_stats stats;
	size_t ninputs_done;
};

/* Prints or counts the records of one reader; -1 on a bad input. */
static int cat_records(struct cat_state *st, struct rec_reader *r)
{
	struct prefixes px = { 0 };
	const struct rec_block *b;
	int rc = 0;

	if (st->o->mode == CAT_RECORDS)
		prefixes_init(&px, rec_reader_schema(r));
	while (st->left > 0 && !st->out.err && (rc = rec_reader_next(r, &b)) > 0) {
		size_t n = b->n < st->left ? b->n : (size_t)st->left;
		if (st->o->mode == CAT_RECORDS)
			put_records(&st->out, b, n, &px);
		else
			stats_block(&st->stats, b, n);
		st->left -= n;
	}
	if (st->o->mode == CAT_RECORDS)
		prefixes_release(&px);
	return rc < 0 ? -1 : 0;
}

/* A later input of --stats must have the first one's schema. */
static int stats_check(struct cat_state *st, struct rec_reader *r)
{
	const struct rec_schema *s = rec_reader_schema(r);

	if (!st->stats.schema) {
		stats_init(&st->stats, s, rec_reader_name(r));
		return 0;
	}
	if (rec_schema_equal(st->stats.schema, s))
		return 0;
	return rec_error("'%s': schema differs from that of '%s', skipped", rec_reader_name(r),
			 st->stats.first);
}

static int cat_one(struct cat_state *st, const char *path)
{
	struct rec_reader *r = rec_reader_open(path);
	int rc = 0;

	if (!r)
		return -1;
	if (st->o->mode == CAT_SCHEMA)
		put_schema(&st->out, rec_reader_schema(r), rec_reader_name(r), st->ninputs_done == 0);
	else if (st->o->mode == CAT_RECORDS || (rc = stats_check(st, r)) == 0)
		rc = cat_records(st, r);
	if (st->o->verbosity >= 3 && st->o->mode != CAT_SCHEMA)
		rec_warn("'%s': %llu records", rec_reader_name(r),
			 (unsigned long long)rec_reader_records(r));
	st->ninputs_done++;
	rec_reader_close(r);
	return rc;
}

/* Flushes stdout; a closed pipe is a quiet end, any other failure is trouble. */
static int finish_output(struct cat_state *st)
{
	ob_flush(&st->out);
	if (!st->out.err && fflush(stdout) != 0)
		st->out.err = errno;
	if (fclose(stdout) != 0 && !st->out.err)
		st->out.err = errno;
	free(st->out.p);
	if (!st->out.err || st->out.err == EPIPE)
		return 0;
	rec_warn("cannot write '(stdout)': %s", strerror(st->out.err));
	return -1;
}

static int run_cat(const struct cat_opts *o)
{
	struct cat_state st = { .o = o, .left = o->head };
	int bad = 0;

	for (size_t i = 0; i < o->ninputs && !st.out.err; i++) {
		if (st.left == 0 && o->mode != CAT_SCHEMA)
			break;
		if (cat_one(&st, o->inputs[i]) < 0)
			bad = 1;
		ob_flush(&st.out);
	}
	if (o->mode == CAT_STATS && st.stats.schema && !st.out.err) {
		put_summary(&st.out, &st.stats);
		put_fields(&st.out, &st.stats);
		put_histogram(&st.out, &st.stats);
	}
	stats_release(&st.stats);
	if (finish_output(&st) < 0)
		bad = 1;
	return bad ? REC_EXIT_TROUBLE : REC_EXIT_OK;
}

/* ---- options ---------------------------------------------------------------- */

static void set_mode(struct cat_opts *o, int mode)
{
	if (o->mode != CAT_RECORDS && o->mode != mode)
		rec_usage_error("--schema and --stats cannot be used together");
	o->mode = mode;
}

static void parse_args(struct cat_opts *o, int argc, char **argv)
{
	static char *stdin_only[] = { NULL };
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, "hn:qv", long_options, NULL)) != -1) {
		switch (c) {
		case 'h': usage(); exit(REC_EXIT_OK);
		case 'n':
			if (rec_parse_size(optarg, "--head", 0, SIZE_MAX, &n) < 0)
				rec_usage_exit();
			o->head = n;
			o->has_head = 1;
			break;
		case 'q': o->verbosity--; break;
		case 'v': o->verbosity++; break;
		case OPT_SCHEMA: set_mode(o, CAT_SCHEMA); break;
		case OPT_STATS: set_mode(o, CAT_STATS); break;
		case OPT_VERSION: printf("rec-cat (recpipe) %s\n", PACKAGE_VERSION); exit(REC_EXIT_OK);
		default: rec_usage_exit(); /* getopt_long said what was wrong */
		}
	}
	if (o->has_head && o->mode == CAT_SCHEMA)
		rec_usage_error("--head cannot be used with --schema");
	o->inputs = optind < argc ? argv + optind : stdin_only;
	o->ninputs = optind < argc ? (size_t)(argc - optind) : 1;
	for (size_t i = 0; i < o->ninputs; i++)
		if (o->inputs[i] && strcmp(o->inputs[i], "-") == 0)
			o->inputs[i] = NULL;
}

int main(int argc, char **argv)
{
	struct cat_opts o = CAT_OPTS_INIT;

	rec_setprogname(argv[0]);
	rec_io_quiet_epipe();
	parse_args(&o, argc, argv);
	return run_cat(&o);
}
