/* rank.c - users, their items, item matrices, ranking metrics and names
 * for rec-rank and rec-eval's list metrics. */
#include "config.h"
#include "rank.h"
#include "err.h"
#include "hash.h"
#include "text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- an index of 64-bit IDs (entry + 1 per slot, 0 = empty) -------------- */

static size_t slot_of(uint64_t id, size_t cap)
{
	return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & (cap - 1);
}

static long index_find(const uint32_t *slot, size_t cap, const uint64_t *ids, uint64_t id)
{
	if (!cap)
		return -1;
	for (size_t h = slot_of(id, cap); slot[h]; h = (h + 1) & (cap - 1))
		if (ids[slot[h] - 1] == id)
			return (long)slot[h] - 1;
	return -1;
}

/* Makes room for entry n (n entries indexed so far) and indexes it. */
static void index_add(uint32_t **slot, size_t *cap, const uint64_t *ids, size_t n)
{
	size_t h;

	if (2 * (n + 1) > *cap) {
		free(*slot);
		*cap = *cap ? 2 * *cap : 1024;
		*slot = rec_xcalloc(*cap, sizeof(uint32_t));
		for (size_t i = 0; i < n; i++) {
			for (h = slot_of(ids[i], *cap); (*slot)[h]; h = (h + 1) & (*cap - 1))
				;
			(*slot)[h] = (uint32_t)(i + 1);
		}
	}
	for (h = slot_of(ids[n], *cap); (*slot)[h]; h = (h + 1) & (*cap - 1))
		;
	(*slot)[h] = (uint32_t)(n + 1);
}

/* ---- users and pairs ------------------------------------------------------ */

static long add_user(struct rec_rank_users *u, struct rec_lightfm *m, const struct rec_block *b, size_t r,
		     uint64_t id)
{
	size_t dim = m->o.k + 1, cap = u->cap;

	rec_xgrow(&u->id, &cap, u->n + 1, sizeof(uint64_t));
	u->vec = rec_xrealloc(u->vec, cap * dim * sizeof(float));
	u->cap = cap;
	u->id[u->n] = id;
	if (rec_lightfm_user(m, b, r, u->vec + u->n * dim) == 0)
		u->unknown++;
	index_add(&u->slot, &u->slot_cap, u->id, u->n);
	return (long)u->n++;
}

static void add_pair(struct rec_rank_pairs *p, size_t user, size_t item)
{
	size_t cap = p->cap;

	rec_xgrow(&p->u, &cap, p->n + 1, sizeof(uint32_t));
	p->i = rec_xrealloc(p->i, cap * sizeof(uint32_t));
	p->cap = cap;
	p->u[p->n] = (uint32_t)user;
	p->i[p->n++] = (uint32_t)item;
}

void rec_rank_add(struct rec_rank_users *u, struct rec_rank_pairs *p, struct rec_lightfm *m,
		  const struct rec_block *b, int flags)
{
	for (size_t r = 0; r < b->n; r++) {
		int ok;
		uint64_t id = rec_lightfm_user_id(m, b, r, &ok), item;
		long q, i;
		if (!ok)
			continue;
		q = index_find(u->slot, u->slot_cap, u->id, id);
		if (q < 0 && (flags & REC_RANK_NEW_USERS))
			q = add_user(u, m, b, r, id);
		if (q < 0 || !p || ((flags & REC_RANK_POSITIVES) && !(b->label[r] > 0)))
			continue;
		item = rec_lightfm_item_id(m, b, r, &ok);
		if (ok && (i = rec_lightfm_find_item(m, item)) >= 0)
			add_pair(p, (size_t)q, (size_t)i);
	}
}

static int by_user_item(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

void rec_rank_seal(struct rec_rank_pairs *p, size_t nusers)
{
	uint64_t *key = rec_xmalloc((p->n + 1) * sizeof(uint64_t));
	size_t n = 0;

	for (size_t j = 0; j < p->n; j++)
		key[j] = (uint64_t)p->u[j] << 32 | p->i[j];
	qsort(key, p->n, sizeof(uint64_t), by_user_item);
	free(p->off);
	free(p->items);
	p->off = rec_xcalloc(nusers + 1, sizeof(size_t));
	p->items = rec_xmalloc((p->n + 1) * sizeof(uint32_t));
	for (size_t j = 0; j < p->n; j++) {
		if (j && key[j] == key[j - 1])
			continue;
		p->items[n++] = (uint32_t)key[j];
		p->off[(key[j] >> 32) + 1]++;
	}
	for (size_t q = 0; q < nusers; q++)
		p->off[q + 1] += p->off[q];
	free(key);
}

void rec_rank_subtract(struct rec_rank_pairs *p, const struct rec_rank_pairs *q, size_t nusers)
{
	size_t n = 0, start = 0;

	for (size_t u = 0; u < nusers; u++) {
		const uint32_t *b = q->items + q->off[u], *be = q->items + q->off[u + 1];
		for (size_t a = start; a < p->off[u + 1]; a++) {   /* both sorted: a merge */
			while (b < be && *b < p->items[a])
				b++;
			if (b == be || *b != p->items[a])
				p->items[n++] = p->items[a];
		}
		start = p->off[u + 1];
		p->off[u + 1] = n;
	}
}

void rec_rank_users_free(struct rec_rank_users *u)
{
	free(u->id);
	free(u->vec);
	free(u->slot);
}

void rec_rank_pairs_free(struct rec_rank_pairs *p)
{
	free(p->u);
	free(p->i);
	free(p->off);
	free(p->items);
}

/* ---- item matrices ---------------------------------------------------------- */

float *rec_rank_item_matrix(const struct rec_lightfm *m)
{
	size_t dim = m->o.k + 1;
	float *It = rec_xmalloc((m->items.n + 1) * dim * sizeof(float));

	for (size_t i = 0; i < m->items.n; i++)
		rec_lightfm_item(m, i, It + i * dim);
	return It;
}

float *rec_rank_item_directions(const struct rec_lightfm *m)
{
	size_t k = m->o.k;
	float *It = rec_rank_item_matrix(m);

	for (size_t i = 0; i < m->items.n; i++)   /* drop the bias column */
		memmove(It + i * k, It + i * (k + 1), k * sizeof(float));
	rec_topk_normalize(It, m->items.n, k);
	return It;
}

/* ---- metrics ------------------------------------------------------------ */

static int has(const struct rec_rank_pairs *t, size_t q, uint32_t item)
{
	const uint32_t *a = t->items + t->off[q], *end = t->items + t->off[q + 1];

	while (a < end) {   /* sorted: binary search */
		const uint32_t *mid = a + (end - a) / 2;
		if (*mid == item)
			return 1;
		if (*mid < item)
			a = mid + 1;
		else
			end = mid;
	}
	return 0;
}

void rec_rank_evaluate(struct rec_rank_metrics *out, const uint32_t *idx, const size_t *len, size_t nq,
		       size_t stride, size_t k, const struct rec_rank_pairs *truth, const uint32_t *count,
		       size_t nitems)
{
	unsigned char *shown = rec_xcalloc(nitems + 1, 1);
	double pop = 0, all = 0, users;
	size_t listed = 0, distinct = 0;

	memset(out, 0, sizeof(*out));
	for (size_t q = 0; q < nq; q++) {
		size_t nt = truth->off[q + 1] - truth->off[q], hits = 0;
		double dcg = 0, idcg = 0, ap = 0;
		if (!nt)
			continue;
		for (size_t r = 0; r < len[q]; r++) {
			uint32_t i = idx[q * stride + r];
			distinct += !shown[i];
			shown[i] = 1;
			pop += count[i];
			listed++;
			if (has(truth, q, i)) {
				hits++;
				dcg += 1 / log2((double)r + 2);
				ap += (double)hits / (double)(r + 1);
			}
		}
		for (size_t r = 0; r < k && r < nt; r++)
			idcg += 1 / log2((double)r + 2);
		out->users++;
		out->precision += (double)hits / (double)k;
		out->recall += (double)hits / (double)nt;
		out->ndcg += dcg / idcg;
		out->map += ap / (double)(nt < k ? nt : k);
	}
	users = out->users ? (double)out->users : NAN;   /* NaN: nothing measured */
	out->precision /= users;
	out->recall /= users;
	out->ndcg /= users;
	out->map /= users;
	out->coverage = nitems ? (double)distinct / (double)nitems : 0;
	for (size_t i = 0; i < nitems; i++)
		all += count[i];
	/* the counts grow with the epochs: relative to the mean item */
	out->popularity = listed && all > 0 ? pop / (double)listed / (all / (double)nitems) : 0;
	free(shown);
}

/* ---- names -------------------------------------------------------------- */

static void add_name(struct rec_rank_names *nm, uint64_t id, const char *s, size_t len)
{
	size_t cap = nm->cap, ct = nm->cap_text;

	if (index_find(nm->slot, nm->slot_cap, nm->id, id) >= 0)
		return;
	rec_xgrow(&nm->id, &cap, nm->n + 1, sizeof(uint64_t));
	nm->off = rec_xrealloc(nm->off, cap * sizeof(uint32_t));
	nm->cap = cap;
	rec_xgrow(&nm->text, &ct, nm->len + len + 1, 1);
	nm->cap_text = ct;
	memcpy(nm->text + nm->len, s, len);
	nm->text[nm->len + len] = 0;
	nm->id[nm->n] = id;
	nm->off[nm->n] = (uint32_t)nm->len;
	nm->len += len + 1;
	index_add(&nm->slot, &nm->slot_cap, nm->id, nm->n);
	nm->n++;
}

int rec_rank_names_read(struct rec_rank_names *nm, const char *path, const struct rec_lightfm *m)
{
	struct rec_text_opts to = REC_TEXT_OPTS_INIT;
	const struct rec_schema *s = m->schema;
	uint64_t salt[2] = { rec_hash_salt(s->seed, m->o.user_field), rec_hash_salt(s->seed, m->o.item_field) };
	struct rec_src *src = rec_src_open_text(path);
	struct rec_text *t = src ? rec_text_open(src, &to) : NULL;
	const struct rec_span *f;
	size_t n;
	int rc;

	if (!t)
		return -1;
	while ((rc = rec_text_next(t, &f, &n)) > 0)
		for (int j = 0; j < 2; j++)
			add_name(nm, rec_hash_fold(rec_hash_value(salt[j], f[0].p, f[0].len), s->id_bits),
				 f[0].p, f[0].len);
	rec_text_close(t);
	return rc;
}

const char *rec_rank_name(const struct rec_rank_names *nm, uint64_t id)
{
	long i = index_find(nm->slot, nm->slot_cap, nm->id, id);

	return i < 0 ? NULL : nm->text + nm->off[i];
}

void rec_rank_names_free(struct rec_rank_names *nm)
{
	free(nm->id);
	free(nm->off);
	free(nm->text);
	free(nm->slot);
}
