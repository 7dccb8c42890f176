/* seqrank.c - a sasrec model's lists: users from a sequence stream or a
 * file, their last-row states through rec_sasrec_encode, top K over the
 * item table (rec_topk_dot), candidates scored and ordered. */
#include "config.h"
#include "seqrank.h"
#include "err.h"
#include "hash.h"
#include "text.h"
#include "topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* users through the transformer at once: few, so that the attention
 * probabilities the forward pass keeps (t^2 floats a user and head) stay
 * in cache; on MovieLens-1M (t up to 200) 16 ran twice as fast as 256 */
#define ENCODE_USERS 16
/* users whose states and skip lists are held at once for the top K */
#define TOP_USERS 1024

/* ---- an index of strings (koff/kstr) -------------------------------------- */

static size_t key_slot(const char *p, size_t len, size_t cap)
{
	return (size_t)rec_hash_value(UINT64_C(0x7365717261), p, len) & (cap - 1);
}

static int key_is(const uint32_t *koff, const char *kstr, size_t i, const char *p, size_t len)
{
	return koff[i + 1] - koff[i] == len && memcmp(kstr + koff[i], p, len) == 0;
}

static long index_find(const struct rec_seqrank_index *x, const uint32_t *koff, const char *kstr,
		       const char *p, size_t len)
{
	if (!x->cap)
		return -1;
	for (size_t h = key_slot(p, len, x->cap); x->slot[h]; h = (h + 1) & (x->cap - 1))
		if (key_is(koff, kstr, x->slot[h] - 1, p, len))
			return (long)x->slot[h] - 1;
	return -1;
}

static void index_put(struct rec_seqrank_index *x, const uint32_t *koff, const char *kstr, size_t i)
{
	size_t h = key_slot(kstr + koff[i], koff[i + 1] - koff[i], x->cap);

	while (x->slot[h])
		h = (h + 1) & (x->cap - 1);
	x->slot[h] = (uint32_t)(i + 1);
}

/* Indexes entry n (entries 0 .. n-1 indexed so far), growing the table. */
static void index_add(struct rec_seqrank_index *x, const uint32_t *koff, const char *kstr, size_t n)
{
	if (2 * (n + 1) > x->cap) {
		free(x->slot);
		x->cap = x->cap ? 2 * x->cap : 1024;
		x->slot = rec_xcalloc(x->cap, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			index_put(x, koff, kstr, i);
	}
	index_put(x, koff, kstr, n);
}

/* The group keys of s, the first sequence of each key. */
static void index_groups(struct rec_seqrank_index *x, const struct rec_seqs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t len = s->goff[i + 1] - s->goff[i];
		if (index_find(x, s->goff, s->gstr, s->gstr + s->goff[i], len) < 0)
			index_add(x, s->goff, s->gstr, i);
	}
}

/* ---- users ---------------------------------------------------------------- */

static size_t add_user(struct rec_seqrank_users *u, long seq, const char *key, size_t len)
{
	size_t cap = u->cap, at = u->n ? u->koff[u->n] : 0;

	rec_xgrow(&u->seq, &cap, u->n + 1, sizeof(long));
	if (cap != u->cap) {
		u->koff = rec_xrealloc(u->koff, (cap + 1) * sizeof(uint32_t));
		u->cap = cap;
	}
	rec_xgrow(&u->kstr, &u->cap_k, at + len + 1, 1);
	memcpy(u->kstr + at, key, len);
	u->koff[0] = 0;
	u->koff[u->n + 1] = (uint32_t)(at + len);
	u->seq[u->n] = seq;
	index_add(&u->ix, u->koff, u->kstr, u->n);
	return u->n++;
}

void rec_seqrank_users_all(struct rec_seqrank_users *u, const struct rec_seqs *s)
{
	for (size_t i = 0; i < s->n; i++)
		add_user(u, (long)i, s->gstr + s->goff[i], s->goff[i + 1] - s->goff[i]);
}

/* The user of key, added at first sight with the first sequence of key. */
static size_t user_of(struct rec_seqrank_users *u, const struct rec_seqrank_index *groups,
		      const struct rec_seqs *s, const char *key, size_t len)
{
	long q = index_find(&u->ix, u->koff, u->kstr, key, len);

	if (q >= 0)
		return (size_t)q;
	return add_user(u, index_find(groups, s->goff, s->gstr, key, len), key, len);
}

int rec_seqrank_users_read(struct rec_seqrank_users *u, const char *path, const struct rec_seqs *s)
{
	struct rec_text *t = rec_text_open_path(path, NULL);
	struct rec_seqrank_index groups = { 0 };
	const struct rec_span *f;
	size_t n;
	int rc;

	if (!t)
		return -1;
	index_groups(&groups, s);
	while ((rc = rec_text_next(t, &f, &n)) > 0)
		if (f[0].len)   /* an empty value is no user */
			user_of(u, &groups, s, f[0].p, f[0].len);
	rec_text_close(t);
	free(groups.slot);
	return rc;
}

void rec_seqrank_users_free(struct rec_seqrank_users *u)
{
	free(u->seq);
	free(u->koff);
	free(u->kstr);
	free(u->ix.slot);
	memset(u, 0, sizeof(*u));
}

/* ---- last-row states ------------------------------------------------------- */

/* Users [q0, q0 + n) into H (n x dim); returns those with no known item. */
static size_t encode_range(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
			   size_t q0, size_t n, float *H, uint32_t *rows)
{
	struct rec_sasrec_batch b = { 0 };
	size_t empty = 0, d = m->o.dim;

	for (size_t b0 = 0; b0 < n; b0 += ENCODE_USERS) {
		size_t nb = n - b0 < ENCODE_USERS ? n - b0 : ENCODE_USERS;
		rec_sasrec_batch_clear(&b);
		for (size_t q = q0 + b0; q < q0 + b0 + nb; q++) {
			size_t k = u->seq[q] >= 0 ? rec_sasrec_rows(m, s, (size_t)u->seq[q], rows) : 0;
			if (!k) {   /* the padding row: position alone */
				rows[0] = 0;
				k = 1;
				empty++;
			}
			rec_sasrec_batch_add(&b, m, rows, k, 0);
		}
		rec_sasrec_encode(m, &b, H + b0 * d);
	}
	rec_sasrec_batch_free(&b);
	return empty;
}

size_t rec_seqrank_encode(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
			  float *H)
{
	uint32_t *rows = rec_xmalloc(rec_seqs_longest(s) * sizeof(uint32_t));
	size_t empty = encode_range(m, s, u, 0, u->n, H, rows);

	free(rows);
	return empty;
}

/* ---- top K ---------------------------------------------------------------- */

static int by_index(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Users [q0, q0 + n): each one's history as sorted catalogue indices
 * without repeats, user q's at idx[off[q - q0]] ..; idx needs room for
 * every item of their sequences. */
static void histories(const struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
		      size_t q0, size_t n, size_t *off, uint32_t *idx)
{
	off[0] = 0;
	for (size_t q = 0; q < n; q++) {
		long i = u->seq[q0 + q];
		uint32_t *h = idx + off[q];
		size_t k = i >= 0 ? rec_sasrec_rows(m, s, (size_t)i, h) : 0, kept = 0;
		qsort(h, k, sizeof(uint32_t), by_index);
		for (size_t j = 0; j < k; j++)
			if (!kept || h[j] != h[kept - 1] + 1)
				h[kept++] = h[j] - 1;   /* row -> catalogue index */
		off[q + 1] = off[q] + kept;
	}
}

static size_t history_items(const struct rec_seqs *s, const struct rec_seqrank_users *u, size_t q0, size_t n)
{
	size_t total = 0;

	for (size_t q = q0; q < q0 + n; q++)
		if (u->seq[q] >= 0)
			total += s->off[u->seq[q] + 1] - s->off[u->seq[q]];
	return total;
}

size_t rec_seqrank_top(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
		       size_t k, int keep_seen, uint32_t *idx, float *score, size_t *len)
{
	size_t d = m->o.dim, ni = m->nitems - 1, empty = 0;
	float *H = rec_xmalloc(TOP_USERS * d * sizeof(float));
	size_t *off = rec_xmalloc((TOP_USERS + 1) * sizeof(size_t));
	uint32_t *rows = rec_xmalloc(rec_seqs_longest(s) * sizeof(uint32_t)), *seen = NULL;
	const float *It = rec_sasrec_items(m) + d;   /* row 0 is padding */

	for (size_t q0 = 0; q0 < u->n; q0 += TOP_USERS) {
		size_t n = u->n - q0 < TOP_USERS ? u->n - q0 : TOP_USERS;
		struct rec_topk_skip skip = { off, NULL };
		empty += encode_range(m, s, u, q0, n, H, rows);
		if (!keep_seen) {
			seen = rec_xrealloc(seen, (history_items(s, u, q0, n) + 1) * sizeof(uint32_t));
			histories(m, s, u, q0, n, off, seen);
			skip.idx = seen;
		}
		rec_topk_dot(idx + q0 * k, score + q0 * k, len + q0, H, n, It, ni, d, k,
			     keep_seen ? NULL : &skip);
	}
	free(H);
	free(off);
	free(rows);
	free(seen);
	return empty;
}

/* ---- a held-out period ------------------------------------------------------ */

/* Sequence i's items that have a row into p as user q's. */
static void add_items(struct rec_rank_pairs *p, size_t q, const struct rec_sasrec *m, const struct rec_seqs *s,
		      size_t i)
{
	for (uint32_t j = s->off[i]; j < s->off[i + 1]; j++) {
		uint32_t row = rec_sasrec_find(m, s->id[j]);
		if (row)
			rec_rank_pair_add(p, q, row - 1);
	}
}

void rec_seqrank_heldout(struct rec_seqrank_users *u, struct rec_rank_pairs *seen, struct rec_rank_pairs *truth,
			 uint32_t *counts, const struct rec_sasrec *m, const struct rec_seqs *hist,
			 const struct rec_seqs *test)
{
	struct rec_seqrank_index groups = { 0 };

	index_groups(&groups, hist);
	for (size_t i = 0; i < test->n; i++) {
		size_t before = u->n;
		size_t q = user_of(u, &groups, hist, test->gstr + test->goff[i], test->goff[i + 1] - test->goff[i]);
		add_items(truth, q, m, test, i);
		if (u->n > before && u->seq[q] >= 0)
			add_items(seen, q, m, hist, (size_t)u->seq[q]);
	}
	for (size_t j = 0; j < hist->off[hist->n]; j++) {
		uint32_t row = rec_sasrec_find(m, hist->id[j]);
		if (row)
			counts[row - 1]++;
	}
	rec_rank_seal(seen, u->n);
	rec_rank_seal(truth, u->n);
	free(groups.slot);
}

/* ---- candidates ----------------------------------------------------------- */

static void add_cand(struct rec_seqrank_cands *c, const struct rec_sasrec *m, size_t user, const struct rec_span *v)
{
	const struct rec_schema *sc = m->schema;
	int f = rec_schema_find(sc, m->o.item_field);
	uint64_t id = rec_hash_fold(rec_hash_value(rec_hash_salt(sc->seed, sc->field[f].name), v->p, v->len),
				    sc->id_bits);
	size_t cap = c->cap, at = c->n ? c->ioff[c->n] : 0;

	rec_xgrow(&c->user, &cap, c->n + 1, sizeof(uint32_t));
	if (cap != c->cap) {   /* parallel arrays: only when user grew */
		c->row = rec_xrealloc(c->row, cap * sizeof(uint32_t));
		c->id = rec_xrealloc(c->id, cap * sizeof(uint64_t));
		c->score = rec_xrealloc(c->score, cap * sizeof(float));
		c->ioff = rec_xrealloc(c->ioff, (cap + 1) * sizeof(uint32_t));
		c->cap = cap;
	}
	rec_xgrow(&c->istr, &c->cap_i, at + v->len + 1, 1);
	memcpy(c->istr + at, v->p, v->len);
	c->ioff[0] = 0;
	c->ioff[c->n + 1] = (uint32_t)(at + v->len);
	c->user[c->n] = (uint32_t)user;
	c->id[c->n] = id;
	c->row[c->n] = rec_sasrec_find(m, id);
	c->unknown += c->row[c->n] == 0;
	c->score[c->n++] = NAN;
}

int rec_seqrank_cands_read(struct rec_seqrank_cands *c, struct rec_seqrank_users *u, const char *path,
			   const struct rec_sasrec *m, const struct rec_seqs *s)
{
	struct rec_text *t = rec_text_open_path(path, NULL);
	struct rec_seqrank_index groups = { 0 };
	const struct rec_span *f;
	size_t n;
	int rc;

	if (!t)
		return -1;
	index_groups(&groups, s);
	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		if (n == 1 && !f[0].len)
			continue;   /* an empty line */
		if (n < 2) {
			rc = rec_error("%s:%llu: expected 2 fields, user and item, found %zu",
				       rec_text_name(t), (unsigned long long)rec_text_lineno(t), n);
			break;
		}
		if (f[0].len && f[1].len)
			add_cand(c, m, user_of(u, &groups, s, f[0].p, f[0].len), &f[1]);
	}
	rec_text_close(t);
	free(groups.slot);
	return rc;
}

size_t rec_seqrank_score(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
			 struct rec_seqrank_cands *c)
{
	size_t d = m->o.dim, empty;
	float *H = rec_xmalloc((u->n * d + 1) * sizeof(float));
	const float *E = rec_sasrec_items(m);

	empty = rec_seqrank_encode(m, s, u, H);
	for (size_t j = 0; j < c->n; j++) {
		const float *h = H + (size_t)c->user[j] * d, *e = E + (size_t)c->row[j] * d;
		float dot = 0;
		if (!c->row[j])
			continue;
		for (size_t i = 0; i < d; i++)
			dot += h[i] * e[i];
		c->score[j] = dot;
	}
	free(H);
	return empty;
}

struct ranked {
	uint32_t user, j;         /* j: the file's order */
	float score;
};

static int by_user_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->j < y->j ? -1 : x->j > y->j;
}

size_t rec_seqrank_order(const struct rec_seqrank_cands *c, uint32_t *order)
{
	struct ranked *r = rec_xmalloc((c->n + 1) * sizeof(*r));
	size_t n = 0;

	for (size_t j = 0; j < c->n; j++)
		if (c->row[j])
			r[n++] = (struct ranked){ c->user[j], (uint32_t)j, c->score[j] };
	qsort(r, n, sizeof(*r), by_user_score);
	for (size_t j = 0; j < n; j++)
		order[j] = r[j].j;
	free(r);
	return n;
}

void rec_seqrank_cands_free(struct rec_seqrank_cands *c)
{
	free(c->user);
	free(c->row);
	free(c->id);
	free(c->ioff);
	free(c->istr);
	free(c->score);
	memset(c, 0, sizeof(*c));
}
