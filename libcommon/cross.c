/* cross.c - turns delimited text into feature records.
 *
 * Setup compiles the options into columns (main-input columns, joined
 * columns and multi-hot groups, each with the role that says how it becomes
 * a field) and derivations (crosses, list features). Each line is then parsed
 * once into per-column element lists, which every field and derivation reads.
 * Values are emitted as raw strings (rec-cross) or hashed IDs (rec-hash); a
 * cross's value is its parts joined with '^', so both paths agree. */
#include "config.h"
#include "cross.h"
#include "cross_impl.h"
#include "err.h"
#include "hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char missing_token[] = "(missing)";

long rec_bucket_log(double x)
{
	if (x > 2)
		return (long)floor(log(x) * log(x));
	return (long)floor(x);
}

size_t rec_bucket_index(double x, const double *edges, size_t nedges)
{
	size_t lo = 0, hi = nedges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (x >= edges[mid])
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- per-row parsing ----------------------------------------------------- */

/* Parses a whole span as a number; integers take a fast path. */
int rec_parse_number(const char *p, size_t len, double *out)
{
	char buf[64], *end;
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;

	if (len > 0 && (p[0] == '-' || p[0] == '+')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (i < len && len - i <= 18) {
		size_t j = i;
		while (j < len && (unsigned)(p[j] - '0') < 10)
			v = v * 10 + (uint64_t)(p[j++] - '0');
		if (j == len) {
			*out = neg ? -(double)v : (double)v;
			return 0;
		}
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = 0;
	*out = strtod(buf, &end);
	return *end || *out != *out ? -1 : 0;
}

static void push_el(struct xcol *c, const char *p, size_t len)
{
	if (c->nel == c->cap_el)
		rec_xgrow(&c->el, &c->cap_el, c->nel + 1, sizeof(*c->el));
	c->el[c->nel].p = p;
	c->el[c->nel].len = len;
	c->nel++;
}

static void split_list(struct xcol *c, struct rec_span s)
{
	const char *p = s.p, *end = s.p + s.len;
	size_t seplen = strlen(c->list_sep);

	while (p <= end && s.len) {
		const char *hit = memmem(p, (size_t)(end - p), c->list_sep, seplen);
		const char *stop = hit ? hit : end;
		if (stop > p)
			push_el(c, p, (size_t)(stop - p));
		if (!hit)
			break;
		p = hit + seplen;
	}
}

static int bucket_value(struct rec_cross *x, struct xcol *c)
{
	long b = c->bucket == BUCKET_LOG ? rec_bucket_log(c->num)
		: (long)rec_bucket_index(c->num, c->edges, c->nedges);
	int n = snprintf(c->bucket_buf, sizeof(c->bucket_buf), "%ld", b);

	(void)x;
	push_el(c, c->bucket_buf, (size_t)n);
	return 0;
}

static int parse_numeric(struct rec_cross *x, struct xcol *c, struct rec_span s)
{
	if (rec_parse_number(s.p, s.len, &c->num) < 0)
		return row_error(x, "column '%s': cannot parse '%.*s' as a number", c->name,
				 (int)(s.len > 40 ? 40 : s.len), s.p);
	c->has_num = 1;
	return c->bucket ? bucket_value(x, c) : 0;
}

static void multihot_values(struct rec_cross *x, struct xcol *c)
{
	for (size_t i = 0; i < c->nmembers; i++) {
		struct rec_span m = x->cols[c->members[i]].raw;
		if (m.len && !(m.len == 1 && m.p[0] == '0'))
			push_el(c, x->cols[c->members[i]].name, strlen(x->cols[c->members[i]].name));
	}
}

/* Fills c's elements (or number) from its raw span. */
static int column_values(struct rec_cross *x, struct xcol *c)
{
	struct rec_span s = c->raw;

	c->nel = 0;
	c->has_num = 0;
	if (c->role == ROLE_MULTIHOT) {
		multihot_values(x, c);
		return 0;
	}
	if (s.len == 0) {
		if (x->o->missing == REC_MISSING_TOKEN && c->role != ROLE_NUMERIC)
			push_el(c, missing_token, sizeof(missing_token) - 1);
		return 0;
	}
	switch (c->role) {
	case ROLE_NUMERIC:
		return parse_numeric(x, c, s);
	case ROLE_LIST:
		split_list(c, s);
		return 0;
	default:
		push_el(c, s.p, s.len);
		return 0;
	}
}

/* Points every used column at its span of this line (or of the joined row). */
int rec_cross_load_row(struct rec_cross *x, const struct rec_span *f, size_t n)
{
	static const struct rec_span empty = { "", 0 };

	if (n != x->nmain && !(n < x->nmain && x->pad))
		return row_error(x, "expected %zu fields, found %zu", x->nmain, n);
	for (size_t j = 0; j < x->njoins; j++) {
		struct rec_span key = x->jkey[j] < n ? f[x->jkey[j]] : empty;
		x->jrow[j] = rec_join_find(x->joins[j], key.p, key.len);
		if (!x->jrow[j])
			x->join_misses[j]++;
	}
	for (size_t i = 0; i < x->ncols; i++) {
		struct xcol *c = &x->cols[i];
		if (c->join < 0)
			c->raw = c->src < n ? f[c->src] : empty;
		else if (c->role != ROLE_MULTIHOT)
			c->raw = x->jrow[c->join] ? x->jrow[c->join][c->src] : empty;
	}
	for (size_t i = 0; i < x->ncols; i++)
		if (x->cols[i].used && column_values(x, &x->cols[i]) < 0)
			return -1;
	return 0;
}

/* ---- emitting ------------------------------------------------------------ */

void rec_cross_emit(struct rec_cross *x, size_t field, const char *p, size_t len)
{
	if (x->o->hashed)
		rec_block_add_id(x->block, field,
				 rec_hash_fold(rec_hash_value(x->salt[field], p, len), x->o->bits), 0);
	else
		rec_block_add_str(x->block, field, p, len, 0);
}

static void emit_column(struct rec_cross *x, const struct xcol *c)
{
	if (c->role == ROLE_NUMERIC && !c->bucket) {
		if (c->has_num)
			rec_block_add_num(x->block, (size_t)c->field, (float)c->num);
		return;
	}
	for (size_t k = 0; k < c->nel; k++)
		rec_cross_emit(x, (size_t)c->field, c->el[k].p, c->el[k].len);
}

/* Appends a part to the scratch value; parts are joined with '^'. */
static void scratch_add(struct rec_cross *x, size_t at, const struct rec_span *s)
{
	rec_xgrow(&x->scratch, &x->cap_scratch, at + s->len + 1, 1);
	if (at > 0)
		x->scratch[at - 1] = '^';
	memcpy(x->scratch + at, s->p, s->len);
}

/* Cartesian product over the cross's parts, depth-first. */
static void cross_product(struct rec_cross *x, const struct xderived *d, size_t part, size_t at)
{
	const struct xcol *c;

	if (part == d->ncols) {
		rec_cross_emit(x, (size_t)d->field, x->scratch, at ? at - 1 : 0);
		return;
	}
	c = &x->cols[d->cols[part]];
	for (size_t k = 0; k < c->nel; k++) {
		scratch_add(x, at, &c->el[k]);
		cross_product(x, d, part + 1, at + c->el[k].len + 1);
	}
}

static int span_cmp(const void *a, const void *b)
{
	const struct rec_span *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Unordered pairs of distinct positions, each pair in sorted order; a cross
 * of the pair with the remaining parts is taken too. */
static void emit_pairs(struct rec_cross *x, const struct xderived *d, const struct xcol *c)
{
	for (size_t i = 0; i < c->nel; i++)
		for (size_t j = i + 1; j < c->nel; j++) {
			const struct rec_span *a = &c->el[i], *b = &c->el[j];
			if (span_cmp(a, b) > 0) {
				const struct rec_span *t = a;
				a = b;
				b = t;
			}
			scratch_add(x, 0, a);
			scratch_add(x, a->len + 1, b);
			if (d->ncols > 2)
				cross_product(x, d, 2, a->len + b->len + 2);
			else
				rec_cross_emit(x, (size_t)d->field, x->scratch, a->len + b->len + 1);
		}
}

static void emit_joined(struct rec_cross *x, const struct xderived *d, struct rec_span *el, size_t n)
{
	size_t at = 0;

	if (n == 0)
		return;
	for (size_t k = 0; k < n; k++) {
		scratch_add(x, at, &el[k]);
		at += el[k].len + 1;
	}
	rec_cross_emit(x, (size_t)d->field, x->scratch, at - 1);
}

static void emit_derived(struct rec_cross *x, const struct xderived *d)
{
	const struct xcol *c = &x->cols[d->cols[0]];

	switch (d->type) {
	case DERIVED_CROSS:
		cross_product(x, d, 0, 0);
		break;
	case DERIVED_PAIRS:
		emit_pairs(x, d, c);
		break;
	case DERIVED_PERM:
		emit_joined(x, d, c->el, c->nel);
		break;
	case DERIVED_COMB:
		if (c->nel == 0)
			break;
		rec_xgrow(&x->sorted, &x->cap_sorted, c->nel, sizeof(*x->sorted));
		memcpy(x->sorted, c->el, c->nel * sizeof(*x->sorted));
		qsort(x->sorted, c->nel, sizeof(*x->sorted), span_cmp);
		emit_joined(x, d, x->sorted, c->nel);
		break;
	}
}

static int record_label(struct rec_cross *x, float *label)
{
	const struct xcol *c;
	double v;

	*label = 0;
	if (x->label_col < 0)
		return 0;
	c = &x->cols[x->label_col];
	if (rec_parse_number(c->raw.p, c->raw.len, &v) < 0)
		return row_error(x, "label column '%s': cannot parse '%.*s' as a number", c->name,
				 (int)(c->raw.len > 40 ? 40 : c->raw.len), c->raw.p);
	if (!x->label_op) {
		*label = (float)v;
		return 0;
	}
	switch (x->label_op) {
	case '>': *label = v > x->label_ref; break;
	case 'G': *label = v >= x->label_ref; break;
	case '<': *label = v < x->label_ref; break;
	case 'L': *label = v <= x->label_ref; break;
	case '=': *label = v == x->label_ref; break;
	default: *label = v != x->label_ref; break;
	}
	return 0;
}

/* Turns one line into one record of the current block. */
int rec_cross_line(struct rec_cross *x, const struct rec_span *f, size_t n)
{
	float label, weight = 1;
	struct rec_span g = { "", 0 };
	double w;

	if (rec_cross_load_row(x, f, n) < 0 || record_label(x, &label) < 0)
		return -1;
	if (x->weight_col >= 0) {
		const struct xcol *c = &x->cols[x->weight_col];
		if (rec_parse_number(c->raw.p, c->raw.len, &w) < 0)
			return row_error(x, "weight column '%s': cannot parse '%.*s' as a number",
					 c->name, (int)(c->raw.len > 40 ? 40 : c->raw.len), c->raw.p);
		weight = (float)w;
	}
	if (x->group_col >= 0)
		g = x->cols[x->group_col].raw;
	for (size_t i = 0; i < x->ncols; i++)
		if (x->cols[i].field >= 0)
			emit_column(x, &x->cols[i]);
	for (size_t i = 0; i < x->nderived; i++)
		emit_derived(x, &x->derived[i]);
	x->pending_label = label;
	x->pending_weight = weight;
	x->pending_group = g;
	return 0;
}
