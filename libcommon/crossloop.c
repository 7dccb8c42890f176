/* crossloop.c - the loop over input lines: column names, bad lines, output,
 * and --group-by sequences. */
#include "config.h"
#include "cross_impl.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

/* One interaction of the group being collected. */
struct seq_item {
	double order;
	size_t seq;           /* input order, to keep ties stable */
	size_t first;         /* its values: vals[first .. first + nfields) */
};

struct run {
	const struct rec_cross_opts *o;
	struct rec_cross *x;
	struct rec_out out;
	struct rec_writer *w;
	char **names;         /* the main input's column names */
	size_t nnames;
	uint64_t lines, bad;
	char first_bad[512];
	/* --group-by */
	char *gkey;
	size_t gkey_len, cap_gkey;
	int in_group;
	struct seq_item *items;
	size_t nitems, cap_items;
	struct rec_span *vals;    /* offsets into arena in .p (as size_t), len */
	size_t nvals, cap_vals;
	char *arena;
	size_t arena_len, cap_arena;
	uint64_t *done;           /* finished group keys (hashes); 0 = empty */
	size_t ndone, cap_done;
};

static void free_names(struct run *r)
{
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	r->names = NULL;
	r->nnames = 0;
}

static int preset_names(struct run *r)
{
	struct rec_strv sv = { 0 };

	if (rec_names_expand(r->o->columns ? r->o->columns : "label,I1..I13,C1..C26", &sv) < 0)
		return -1;
	r->names = sv.v;
	r->nnames = sv.n;
	return 0;
}

static void header_names(struct run *r, const struct rec_span *f, size_t n)
{
	r->names = rec_xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r->names[i] = rec_xstrndup(f[i].p, f[i].len);
	r->nnames = n;
}

static int same_header(const struct run *r, const struct rec_span *f, size_t n)
{
	if (n != r->nnames)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (f[i].len != strlen(r->names[i]) || memcmp(f[i].p, r->names[i], f[i].len))
			return 0;
	return 1;
}

static int start_output(struct run *r, const char *out, int force)
{
	r->x = rec_cross_setup(r->o, r->names, r->nnames);
	if (!r->x || rec_out_open(&r->out, out, 1, force) < 0)
		return -1;
	r->w = rec_writer_new(r->out.fp, rec_out_name(&r->out), r->x->schema, &r->o->writer);
	return r->w ? 0 : -1;
}

static int bad_line(struct run *r)
{
	rec_block_cancel_record(rec_writer_block(r->w));
	if (!r->o->skip_bad) {
		rec_warn("%s", r->x->errbuf);
		return -1;
	}
	if (r->bad++ == 0)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s", r->x->errbuf);
	return 0;
}

/* ---- --group-by ---------------------------------------------------------- */

static int seen_group(struct run *r, uint64_t h)
{
	size_t mask = r->cap_done - 1;

	h |= 1; /* 0 marks an empty slot */
	for (size_t i = h & mask; r->done[i]; i = (i + 1) & mask)
		if (r->done[i] == h)
			return 1;
	return 0;
}

static void add_done(struct run *r, uint64_t h)
{
	if (2 * (r->ndone + 1) > r->cap_done) {
		uint64_t *old = r->done;
		size_t oldcap = r->cap_done;
		r->cap_done = oldcap ? 2 * oldcap : 1024;
		r->done = rec_xcalloc(r->cap_done, sizeof(uint64_t));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i]) {
				size_t j = old[i] & (r->cap_done - 1);
				while (r->done[j])
					j = (j + 1) & (r->cap_done - 1);
				r->done[j] = old[i];
			}
		free(old);
	}
	h |= 1;
	size_t j = h & (r->cap_done - 1);
	while (r->done[j])
		j = (j + 1) & (r->cap_done - 1);
	r->done[j] = h;
	r->ndone++;
}

static int item_cmp(const void *a, const void *b)
{
	const struct seq_item *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Writes the collected group as one record of sequences. */
static int flush_group(struct run *r)
{
	struct rec_cross *x = r->x;
	size_t nf = x->schema->nfields;

	if (!r->in_group)
		return 0;
	qsort(r->items, r->nitems, sizeof(*r->items), item_cmp);
	x->block = rec_writer_block(r->w);
	for (size_t f = 0; f < nf; f++)
		for (size_t i = 0; i < r->nitems; i++) {
			const struct rec_span *v = &r->vals[r->items[i].first + f];
			if (v->len != SIZE_MAX)
				rec_cross_emit(x, f, r->arena + (size_t)(uintptr_t)v->p, v->len);
		}
	add_done(r, rec_hash_group(r->gkey, r->gkey_len));
	r->nitems = r->nvals = r->arena_len = 0;
	r->in_group = 0;
	return rec_writer_end_record(r->w, 0, 1, r->gkey, r->gkey_len);
}

static void keep_value(struct run *r, const struct xcol *c)
{
	struct rec_span v = { NULL, SIZE_MAX };

	if (c->nel) {
		rec_xgrow(&r->arena, &r->cap_arena, r->arena_len + c->el[0].len, 1);
		memcpy(r->arena + r->arena_len, c->el[0].p, c->el[0].len);
		v.p = (const char *)(uintptr_t)r->arena_len;
		v.len = c->el[0].len;
		r->arena_len += c->el[0].len;
	}
	rec_xgrow(&r->vals, &r->cap_vals, r->nvals + 1, sizeof(*r->vals));
	r->vals[r->nvals++] = v;
}

static int start_group(struct run *r, struct rec_span key)
{
	if (flush_group(r) < 0)
		return -1;
	if (r->ndone && seen_group(r, rec_hash_group(key.p, key.len)))
		return row_error(r->x, "group '%.*s' appears again after other groups "
				 "(input must be grouped: sort it by '%s' first)",
				 (int)(key.len > 60 ? 60 : key.len), key.p, r->o->group_by);
	rec_xgrow(&r->gkey, &r->cap_gkey, key.len + 1, 1);
	memcpy(r->gkey, key.p, key.len);
	r->gkey_len = key.len;
	r->in_group = 1;
	return 0;
}

static int group_line(struct run *r, const struct rec_span *f, size_t n)
{
	struct rec_cross *x = r->x;
	struct rec_span key;
	struct seq_item it = { 0, r->nitems, r->nvals };

	if (rec_cross_load_row(x, f, n) < 0)
		return bad_line(r);
	if (x->order_col >= 0) {
		struct rec_span ov = x->cols[x->order_col].raw;
		if (rec_parse_number(ov.p, ov.len, &it.order) < 0) {
			row_error(x, "column '%s': cannot parse '%.*s' as a number", x->cols[x->order_col].name,
				  (int)(ov.len > 40 ? 40 : ov.len), ov.p);
			return bad_line(r);
		}
	}
	key = x->cols[x->group_col].raw;
	if (!r->in_group || key.len != r->gkey_len || memcmp(key.p, r->gkey, key.len)) {
		if (start_group(r, key) < 0) {
			rec_warn("%s", x->errbuf);
			return -1;
		}
		it.seq = 0;
		it.first = 0;
	}
	for (size_t i = 0; i < x->ncols; i++)
		if (x->cols[i].field >= 0)
			keep_value(r, &x->cols[i]);
	rec_xgrow(&r->items, &r->cap_items, r->nitems + 1, sizeof(*r->items));
	r->items[r->nitems++] = it;
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static int plain_line(struct run *r, const struct rec_span *f, size_t n)
{
	struct rec_cross *x = r->x;

	x->block = rec_writer_block(r->w);
	if (rec_cross_line(x, f, n) < 0)
		return bad_line(r);
	return rec_writer_end_record(r->w, x->pending_label, x->pending_weight,
				     x->pending_group.p, x->pending_group.len);
}

static int read_input(struct run *r, struct rec_src *src, const char *out, int force)
{
	struct rec_text *t = src ? rec_text_open(src, &r->o->text) : NULL;
	const struct rec_span *f;
	size_t n;
	int rc, first = 1;

	if (!t)
		return -1;
	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		if (first && r->o->header) {
			first = 0;
			if (!r->names)
				header_names(r, f, n);
			else if (!same_header(r, f, n)) {
				rc = rec_error("%s:%llu: header differs from the first input's", rec_text_name(t),
					       (unsigned long long)rec_text_lineno(t));
				break;
			}
			continue;
		}
		first = 0;
		if (!r->x && (rc = start_output(r, out, force)) < 0)
			break;
		r->x->input_name = rec_text_name(t);
		r->x->lineno = rec_text_lineno(t);
		r->lines++;
		rc = r->o->group_by ? group_line(r, f, n) : plain_line(r, f, n);
		if (rc < 0)
			break;
	}
	rec_text_close(t);
	return rc < 0 ? -1 : 0;
}

static void summary(const struct run *r, const char *out, size_t ninputs)
{
	const struct rec_cross *x = r->x;

	if (r->bad)
		rec_warn("skipped %llu bad line%s (first: %s)", (unsigned long long)r->bad,
			 r->bad == 1 ? "" : "s", r->first_bad);
	for (size_t j = 0; j < x->njoins; j++)
		if (x->join_misses[j] && r->o->verbosity >= 2)
			rec_warn("--join '%s': %llu line%s had no matching row (its columns are missing there)",
				 r->o->joins[j].path, (unsigned long long)x->join_misses[j],
				 x->join_misses[j] == 1 ? "" : "s");
	if (r->o->verbosity >= 3 || (r->o->verbosity >= 2 && out && strcmp(out, "-")))
		rec_warn("%llu record%s from %llu line%s of %zu input%s, %zu field%s, to '%s'",
			 (unsigned long long)rec_writer_records(r->w), rec_writer_records(r->w) == 1 ? "" : "s",
			 (unsigned long long)r->lines, r->lines == 1 ? "" : "s",
			 ninputs ? ninputs : 1, ninputs > 1 ? "s" : "", x->schema->nfields,
			 x->schema->nfields == 1 ? "" : "s", out && strcmp(out, "-") ? out : "(stdout)");
}

static int finish(struct run *r, const char *out, size_t ninputs, int ok)
{
	if (ok && !r->x) {
		if (!r->names)
			ok = rec_error("no input lines: cannot learn the column names from a header") == 0;
		else
			ok = start_output(r, out, 0) == 0;
	}
	if (ok && r->o->group_by)
		ok = flush_group(r) == 0;
	if (ok)
		ok = rec_writer_finish(r->w) == 0 && rec_out_commit(&r->out) == 0;
	else
		rec_out_abort(&r->out);
	if (ok)
		summary(r, out, ninputs);
	return ok;
}

int rec_cross_run(const struct rec_cross_opts *o, char *const *inputs, size_t ninputs,
		  struct rec_src *first, const char *out, int force)
{
	struct run r = { .o = o };
	int ok = 1;

	if (!o->header && (o->columns || o->preset) && preset_names(&r) < 0)
		return REC_EXIT_TROUBLE;
	if (!o->header && !r.names)
		ok = rec_error("no column names: use --header, --columns or --preset") == 0;
	for (size_t i = 0; ok && i < (ninputs ? ninputs : 1); i++) {
		struct rec_src *src = i == 0 && first ? first : rec_src_open_text(ninputs ? inputs[i] : NULL);
		if (i == 0)
			first = NULL;
		ok = read_input(&r, src, out, force) == 0;
	}
	rec_src_close(first);
	ok = finish(&r, out, ninputs, ok);
	rec_writer_free(r.w);
	rec_cross_free(r.x);
	free_names(&r);
	free(r.gkey);
	free(r.items);
	free(r.vals);
	free(r.arena);
	free(r.done);
	return ok ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}
