/* crossrun.c - compiling rec-cross options into columns and fields, and the
 * loop over the input lines. */
#include "config.h"
#include "cross_impl.h"
#include "hash.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int row_error(struct rec_cross *x, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->errbuf, sizeof(x->errbuf), "%s:%llu: ", x->input_name,
			 (unsigned long long)x->lineno);

	va_start(ap, fmt);
	vsnprintf(x->errbuf + n, sizeof(x->errbuf) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int find_col(const struct rec_cross *x, const char *name)
{
	for (size_t i = 0; i < x->ncols; i++)
		if (strcmp(x->cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int need_col(const struct rec_cross *x, const char *name, const char *opt)
{
	int i = find_col(x, name);

	if (i < 0)
		return rec_error("%s: no column named '%s'", opt, name);
	return i;
}

static struct xcol *add_col(struct rec_cross *x, const char *name, int join, size_t src)
{
	struct xcol *c;

	if (find_col(x, name) >= 0) {
		rec_error("column name '%s' is used twice", name);
		return NULL;
	}
	x->cols = rec_xrealloc(x->cols, (x->ncols + 1) * sizeof(*x->cols));
	c = &x->cols[x->ncols++];
	memset(c, 0, sizeof(*c));
	c->name = rec_xstrdup(name);
	c->join = join;
	c->src = src;
	c->field = -1;
	return c;
}

/* ---- joins --------------------------------------------------------------- */

static int add_join(struct rec_cross *x, const struct rec_join_opts *jo)
{
	struct rec_text_opts t = x->o->text;
	struct rec_strv names = { 0 };
	struct rec_join *j;
	size_t jn = x->njoins;
	int key;

	t.sep = jo->sep ? jo->sep : x->o->text.sep;
	t.csv = jo->csv;
	if (jo->columns && rec_names_expand(jo->columns, &names) < 0)
		return -1;
	j = rec_join_load(jo->path, &t, jo->header, jo->columns ? names.v : NULL, names.n, jo->key);
	rec_strv_free(&names);
	if (!j)
		return -1;
	x->joins = rec_xrealloc(x->joins, (jn + 1) * sizeof(*x->joins));
	x->jkey = rec_xrealloc(x->jkey, (jn + 1) * sizeof(*x->jkey));
	x->joins[jn] = j;
	x->njoins++;
	key = find_col(x, rec_join_colname(j, rec_join_keycol(j)));
	if (key < 0 || x->cols[key].join >= 0)
		return rec_error("--join '%s': the input has no column '%s' to join on", jo->path,
				 rec_join_colname(j, rec_join_keycol(j)));
	x->jkey[jn] = x->cols[key].src;
	for (size_t c = 0; c < rec_join_ncols(j); c++)
		if (c != rec_join_keycol(j) && !add_col(x, rec_join_colname(j, c), (int)jn, c))
			return -1;
	return 0;
}

/* ---- roles --------------------------------------------------------------- */

static int set_roles(struct rec_cross *x, const struct rec_strv *lists, int role, const char *opt)
{
	for (size_t i = 0; i < lists->n; i++) {
		struct rec_strv names = { 0 };
		int rc = rec_names_expand(lists->v[i], &names);
		for (size_t k = 0; rc >= 0 && k < names.n; k++) {
			int c = need_col(x, names.v[k], opt);
			if (c < 0)
				rc = -1;
			else
				x->cols[c].role = role;
		}
		rec_strv_free(&names);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int set_lists(struct rec_cross *x)
{
	for (size_t i = 0; i < x->o->lists.n; i++) {
		const char *arg = x->o->lists.v[i], *colon = strchr(arg, ':');
		char *name;
		int c;
		if (!colon || !colon[1])
			return rec_error("invalid value '%s' for --list (expected <col>:<sep>)", arg);
		name = rec_xstrndup(arg, (size_t)(colon - arg));
		c = need_col(x, name, "--list");
		free(name);
		if (c < 0)
			return -1;
		x->cols[c].role = ROLE_LIST;
		free(x->cols[c].list_sep);
		x->cols[c].list_sep = rec_xstrdup(colon + 1);
	}
	return 0;
}

static int set_multihot(struct rec_cross *x)
{
	for (size_t i = 0; i < x->o->multihot.n; i++) {
		const char *arg = x->o->multihot.v[i], *eq = strchr(arg, '=');
		struct rec_strv names = { 0 };
		char *name;
		struct xcol *c;
		int rc = 0;
		if (!eq || eq == arg || rec_names_expand(eq + 1, &names) < 0)
			return rec_error("invalid value '%s' for --multi-hot (expected <name>=<cols>)", arg);
		name = rec_xstrndup(arg, (size_t)(eq - arg));
		c = add_col(x, name, -1, 0);
		free(name);
		if (c) {
			c->role = ROLE_MULTIHOT;
			c->join = -2; /* no span of its own */
			c->members = rec_xcalloc(names.n, sizeof(size_t));
			for (size_t k = 0; k < names.n && rc == 0; k++) {
				int m = need_col(x, names.v[k], "--multi-hot");
				if (m < 0)
					rc = -1;
				else
					c->members[c->nmembers++] = (size_t)m;
			}
		}
		rec_strv_free(&names);
		if (!c || rc < 0)
			return -1;
	}
	return 0;
}

static int parse_edges(const char *arg, double **edges, size_t *n)
{
	for (const char *p = arg;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		double v;
		if (rec_parse_number(p, len, &v) < 0 || (*n > 0 && v <= (*edges)[*n - 1]))
			return -1;
		*edges = rec_xrealloc(*edges, (*n + 1) * sizeof(double));
		(*edges)[(*n)++] = v;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int set_buckets(struct rec_cross *x)
{
	struct rec_strv logs = { 0 };

	for (size_t i = 0; i < x->o->log_buckets.n; i++)
		if (rec_names_expand(x->o->log_buckets.v[i], &logs) < 0)
			return -1;
	for (size_t i = 0; i < logs.n; i++) {
		int c = need_col(x, logs.v[i], "--bucket-log");
		if (c < 0) {
			rec_strv_free(&logs);
			return -1;
		}
		x->cols[c].role = ROLE_NUMERIC;
		x->cols[c].bucket = BUCKET_LOG;
	}
	rec_strv_free(&logs);
	for (size_t i = 0; i < x->o->buckets.n; i++) {
		const char *arg = x->o->buckets.v[i], *colon = strchr(arg, ':');
		char *name = colon ? rec_xstrndup(arg, (size_t)(colon - arg)) : NULL;
		int c = name ? need_col(x, name, "--bucket") : -1;
		free(name);
		if (!colon)
			return rec_error("invalid value '%s' for --bucket (expected <col>:<e1>,<e2>,...)", arg);
		if (c < 0)
			return -1;
		x->cols[c].role = ROLE_NUMERIC;
		x->cols[c].bucket = BUCKET_EDGES;
		if (parse_edges(colon + 1, &x->cols[c].edges, &x->cols[c].nedges) < 0)
			return rec_error("invalid value '%s' for --bucket (edges must be increasing numbers)", arg);
	}
	return 0;
}

static int set_preset(struct rec_cross *x)
{
	if (!x->o->preset)
		return 0;
	/* criteo: label, I1..I13, C1..C26 */
	for (size_t i = 0; i < x->nmain; i++)
		x->cols[i].role = i == 0 ? ROLE_NONE : i <= 13 ? ROLE_NUMERIC : ROLE_CATEGORICAL;
	x->pad = 1;
	return 0;
}

static int set_special(struct rec_cross *x)
{
	const struct rec_cross_opts *o = x->o;
	const char *label = o->label ? o->label : (o->preset ? "label" : NULL);

	x->label_col = x->weight_col = x->group_col = x->order_col = -1;
	if (label) {
		static const char *const ops[] = { ">=", "<=", "==", "!=", ">", "<" };
		static const char codes[] = { 'G', 'L', '=', '!', '>', '<' };
		char *name = rec_xstrdup(label);
		for (size_t k = 0; k < 6 && !x->label_op; k++) {
			char *at = strstr(name, ops[k]);
			if (!at)
				continue;
			const char *ref = at + strlen(ops[k]);
			x->label_op = codes[k];
			while (*ref == ' ')
				ref++;
			if (rec_parse_number(ref, strlen(ref), &x->label_ref) < 0) {
				free(name);
				return rec_error("invalid label rule '%s'", label);
			}
			while (at > name && at[-1] == ' ') /* 'rating >= 4' reads as 'rating>=4' */
				at--;
			*at = 0;
		}
		x->label_col = need_col(x, name, "--label");
		free(name);
		if (x->label_col < 0)
			return -1;
	}
	if (o->weight && (x->weight_col = need_col(x, o->weight, "--weight")) < 0)
		return -1;
	if (o->group && (x->group_col = need_col(x, o->group, "--group")) < 0)
		return -1;
	if (o->group_by && (x->group_col = need_col(x, o->group_by, "--group-by")) < 0)
		return -1;
	if (o->order_by && (x->order_col = need_col(x, o->order_by, "--order-by")) < 0)
		return -1;
	return 0;
}

/* ---- derived features ---------------------------------------------------- */

static int derivable(struct rec_cross *x, size_t c, const char *opt, int need_list)
{
	struct xcol *col = &x->cols[c];

	if (col->role == ROLE_NUMERIC && !col->bucket)
		return rec_error("%s: column '%s' is numeric; bucket it first (--bucket-log, --bucket)",
				 opt, col->name);
	if (need_list && col->role != ROLE_LIST && col->role != ROLE_MULTIHOT)
		return rec_error("%s: column '%s' is not a list (--list, --multi-hot)", opt, col->name);
	if (col->role == ROLE_NONE) {
		col->role = ROLE_CATEGORICAL; /* used by the derivation, no field of its own */
		col->derived_only = 1;
	}
	col->used = 1;
	return 0;
}

static struct xderived *add_derived(struct rec_cross *x, int type)
{
	struct xderived *d;

	x->derived = rec_xrealloc(x->derived, (x->nderived + 1) * sizeof(*x->derived));
	d = &x->derived[x->nderived++];
	memset(d, 0, sizeof(*d));
	d->type = type;
	d->field = -1;
	return d;
}

/* Moves a column named twice to the front as a PAIRS derivation. */
static int order_self_cross(struct rec_cross *x, struct xderived *d, const char *arg)
{
	for (size_t i = 0; i < d->ncols; i++)
		for (size_t j = i + 1; j < d->ncols; j++) {
			if (d->cols[i] != d->cols[j])
				continue;
			size_t c = d->cols[i], k = 2;
			if (x->cols[c].role != ROLE_LIST && x->cols[c].role != ROLE_MULTIHOT)
				return rec_error("--cross '%s': only a list can be crossed with itself", arg);
			for (size_t m = 0; m < d->ncols; m++)
				if (d->cols[m] == c && m != i && m != j)
					return rec_error("--cross '%s': a column may appear at most twice", arg);
			size_t *rest = rec_xcalloc(d->ncols, sizeof(size_t));
			rest[0] = rest[1] = c;
			for (size_t m = 0; m < d->ncols; m++)
				if (m != i && m != j)
					rest[k++] = d->cols[m];
			free(d->cols);
			d->cols = rest;
			d->type = DERIVED_PAIRS;
			return 0;
		}
	return 0;
}

static int add_cross(struct rec_cross *x, const char *arg, char **name)
{
	const char *eq = strchr(arg, '=');
	struct rec_strv names = { 0 };
	struct xderived *d = add_derived(x, DERIVED_CROSS);
	size_t len = 0;

	if (rec_names_expand(eq ? eq + 1 : arg, &names) < 2) {
		rec_strv_free(&names);
		return rec_error("--cross '%s': name two or more columns", arg);
	}
	d->cols = rec_xcalloc(names.n, sizeof(size_t));
	for (size_t k = 0; k < names.n; k++) {
		int c = need_col(x, names.v[k], "--cross");
		if (c < 0 || derivable(x, (size_t)c, "--cross", 0) < 0) {
			rec_strv_free(&names);
			return -1;
		}
		d->cols[d->ncols++] = (size_t)c;
		len += strlen(names.v[k]) + 3;
	}
	*name = eq ? rec_xstrndup(arg, (size_t)(eq - arg)) : rec_xcalloc(1, len);
	for (size_t k = 0; !eq && k < names.n; k++)
		strcat(strcat(*name, k ? "_x_" : ""), names.v[k]);
	rec_strv_free(&names);
	return order_self_cross(x, d, arg);
}

static int add_list_feature(struct rec_cross *x, const char *col, int type, char **name)
{
	static const char *const opts[] = { NULL, "--list-pairs", "--list-perm", "--list-comb" };
	static const char *const suffix[] = { NULL, "_pairs", "_perm", "_comb" };
	int c = need_col(x, col, opts[type]);
	struct xderived *d;

	if (c < 0 || derivable(x, (size_t)c, opts[type], 1) < 0)
		return -1;
	d = add_derived(x, type);
	d->cols = rec_xcalloc(2, sizeof(size_t));
	d->cols[0] = d->cols[1] = (size_t)c;
	d->ncols = type == DERIVED_PAIRS ? 2 : 1;
	*name = rec_xmalloc(strlen(col) + 8);
	sprintf(*name, "%s%s", col, suffix[type]);
	return 0;
}

/* Derived fields go after the column fields, in option order by kind. */
static int set_derived(struct rec_cross *x, struct rec_strv *names)
{
	const struct rec_strv *kinds[] = { &x->o->crosses, &x->o->pairs, &x->o->perms, &x->o->combs };

	for (int t = 0; t < 4; t++)
		for (size_t i = 0; i < kinds[t]->n; i++) {
			char *name = NULL;
			int rc = t == 0 ? add_cross(x, kinds[t]->v[i], &name)
				: add_list_feature(x, kinds[t]->v[i], t, &name);
			if (name)
				rec_strv_push(names, name);
			free(name);
			if (rc < 0)
				return -1;
		}
	return 0;
}

/* ---- the schema ---------------------------------------------------------- */

static int field_kind(const struct rec_cross *x, const struct xcol *c)
{
	if (x->o->group_by)
		return c->role == ROLE_CATEGORICAL ? REC_SEQUENCE : -1;
	switch (c->role) {
	case ROLE_NUMERIC: return c->bucket ? REC_CATEGORICAL : REC_NUMERIC;
	case ROLE_CATEGORICAL: return REC_CATEGORICAL;
	default: return REC_LIST;
	}
}

/* A cross of single values is one value; anything with a list may be many. */
static int derived_kind(const struct rec_cross *x, const struct xderived *d)
{
	if (d->type == DERIVED_PERM || d->type == DERIVED_COMB)
		return REC_CATEGORICAL;
	if (d->type == DERIVED_PAIRS)
		return REC_LIST;
	for (size_t k = 0; k < d->ncols; k++)
		if (x->cols[d->cols[k]].role == ROLE_LIST || x->cols[d->cols[k]].role == ROLE_MULTIHOT)
			return REC_LIST;
	return REC_CATEGORICAL;
}

static int build_schema(struct rec_cross *x, const struct rec_strv *dnames)
{
	const struct rec_cross_opts *o = x->o;
	uint32_t flags = (o->hashed ? REC_HASHED : 0) | (x->weight_col >= 0 ? REC_HAS_WEIGHT : 0) |
			 (x->group_col >= 0 ? REC_HAS_GROUP : 0);
	struct rec_schema *s = x->schema = rec_schema_new(flags);

	s->seed = o->seed;
	s->id_bits = o->hashed ? o->bits : 64;
	for (size_t i = 0; i < x->ncols; i++) {
		struct xcol *c = &x->cols[i];
		int kind;
		if (c->role == ROLE_NONE || c->derived_only ||
		    (o->group_by && ((int)i == x->group_col || (int)i == x->order_col)))
			continue;
		if ((kind = field_kind(x, c)) < 0)
			return rec_error("--group-by: column '%s' must be categorical to become a sequence",
					 c->name);
		if ((c->field = rec_schema_add(s, c->name, kind, 0)) < 0)
			return -1;
		c->used = 1;
	}
	for (size_t i = 0; i < x->nderived; i++)
		if ((x->derived[i].field = rec_schema_add(s, dnames->v[i], derived_kind(x, &x->derived[i]), 0)) < 0)
			return -1;
	x->salt = rec_xcalloc(s->nfields, sizeof(uint64_t));
	for (size_t f = 0; f < s->nfields; f++)
		x->salt[f] = rec_hash_salt(s->seed, s->field[f].name);
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

static void add_meta(struct rec_cross *x)
{
	const struct rec_cross_opts *o = x->o;
	const struct rec_strv *lists[] = { &o->crosses, &o->pairs, &o->perms, &o->combs,
					   &o->log_buckets, &o->buckets };
	static const char *const keys[] = { "derive.cross", "derive.list_pairs", "derive.list_perm",
					    "derive.list_comb", "derive.bucket_log", "derive.bucket" };

	rec_schema_set_meta(x->schema, "made_by", o->hashed ? "rec-hash" : "rec-cross");
	if (o->label)
		rec_schema_set_meta(x->schema, "label", o->label);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (size_t i = 0; i < lists[k]->n; i++)
			rec_schema_set_meta(x->schema, keys[k], lists[k]->v[i]);
	for (size_t j = 0; j < o->njoins; j++)
		rec_schema_set_meta(x->schema, "join", o->joins[j].path);
	if (o->group_by)
		rec_schema_set_meta(x->schema, "sequence.group_by", o->group_by);
	if (o->order_by)
		rec_schema_set_meta(x->schema, "sequence.order_by", o->order_by);
}

struct rec_cross *rec_cross_setup(const struct rec_cross_opts *o, char **names, size_t n)
{
	struct rec_cross *x = rec_xcalloc(1, sizeof(*x));
	struct rec_strv dnames = { 0 };
	int rc = 0;

	x->o = o;
	x->pad = o->pad;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_col(x, names[i], -1, i) ? 0 : -1;
	x->nmain = n;
	for (size_t j = 0; j < o->njoins && rc == 0; j++)
		rc = add_join(x, &o->joins[j]);
	if (rc == 0)
		rc = set_preset(x);
	if (rc == 0)
		rc = set_roles(x, &o->numeric, ROLE_NUMERIC, "--numeric");
	if (rc == 0)
		rc = set_roles(x, &o->categorical, ROLE_CATEGORICAL, "--categorical");
	if (rc == 0)
		rc = set_lists(x);
	if (rc == 0)
		rc = set_multihot(x);
	if (rc == 0)
		rc = set_buckets(x);
	if (rc == 0)
		rc = set_roles(x, &o->skip, ROLE_NONE, "--skip");
	if (rc == 0)
		rc = set_special(x);
	if (rc == 0)
		rc = set_derived(x, &dnames);
	if (rc == 0)
		rc = build_schema(x, &dnames);
	rec_strv_free(&dnames);
	if (rc < 0) {
		rec_cross_free(x);
		return NULL;
	}
	x->jrow = rec_xcalloc(x->njoins + 1, sizeof(*x->jrow));
	x->join_misses = rec_xcalloc(x->njoins + 1, sizeof(uint64_t));
	add_meta(x);
	return x;
}

void rec_cross_free(struct rec_cross *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->ncols; i++) {
		free(x->cols[i].name);
		free(x->cols[i].edges);
		free(x->cols[i].list_sep);
		free(x->cols[i].members);
		free(x->cols[i].el);
	}
	free(x->cols);
	for (size_t i = 0; i < x->nderived; i++)
		free(x->derived[i].cols);
	free(x->derived);
	for (size_t j = 0; j < x->njoins; j++)
		rec_join_free(x->joins[j]);
	free(x->joins);
	free(x->jkey);
	free(x->jrow);
	free(x->join_misses);
	rec_schema_free(x->schema);
	free(x->salt);
	free(x->scratch);
	free(x->sorted);
	free(x);
}
