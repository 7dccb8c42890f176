/* rank.c - users, their items, item matrices, ranking metrics and names
 * for rec-rank and rec-eval's list metrics. */
#include "config.h"
#include "rank.h"
#include "err.h"
#include "hash.h"
#include "sasrec.h"
#include "stream.h"
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

/* ---- the model and its catalogue ------------------------------------------ */

int rec_rank_model_init(struct rec_rank_model *rm, const struct rec_ctr *c, const char *what)
{
	const char *uf, *itf;

	memset(rm, 0, sizeof(*rm));
	rm->lfm = c->lfm;
	rm->ncf = c->net && c->net->o.kind == REC_NCF ? c->net : NULL;
	if (!rm->lfm && !rm->ncf)
		return rec_error("%s needs a lightfm or ncf model, not %s", what, rec_ctr_kind(c));
	rm->schema = rec_ctr_schema(c);
	uf = rm->lfm ? rm->lfm->o.user_field : rm->ncf->o.user_field;
	itf = rm->lfm ? rm->lfm->o.item_field : rm->ncf->o.item_field;
	rm->user_field = rec_schema_find(rm->schema, uf);
	rm->item_field = rec_schema_find(rm->schema, itf);
	rm->dim = rm->lfm ? rm->lfm->o.k + 1 : 2 * (size_t)rm->ncf->o.k;
	return 0;
}

void rec_rank_model_init_sasrec(struct rec_rank_model *rm, struct rec_sasrec *m)
{
	memset(rm, 0, sizeof(*rm));
	rm->sas = m;
	rm->schema = m->schema;
	rm->user_field = -1;
	rm->item_field = rec_schema_find(m->schema, m->o.item_field);
	rm->dim = m->o.dim;
}

void rec_rank_model_free(struct rec_rank_model *rm)
{
	free(rm->items.id);
	free(rm->items.vec);
	free(rm->items.count);
	free(rm->items.slot);
}

size_t rec_rank_nitems(const struct rec_rank_model *rm)
{
	if (rm->sas)
		return rm->sas->nitems - 1;   /* row 0 is padding */
	return rm->lfm ? rm->lfm->items.n : rm->items.n;
}

uint64_t rec_rank_item_id(const struct rec_rank_model *rm, size_t i)
{
	if (rm->sas)
		return rm->sas->item_id[i + 1];
	return rm->lfm ? rm->lfm->items.id[i] : rm->items.id[i];
}

const uint32_t *rec_rank_item_counts(const struct rec_rank_model *rm)
{
	return rm->lfm ? rm->lfm->items.count : rm->items.count;
}

static long find_item(const struct rec_rank_model *rm, uint64_t id)
{
	if (rm->sas)
		return (long)rec_sasrec_find(rm->sas, id) - 1;
	if (rm->lfm)
		return rec_lightfm_find_item(rm->lfm, id);
	return index_find(rm->items.slot, rm->items.slot_cap, rm->items.id, id);
}

/* ncf: item id into the catalogue when the model has its row. */
static long add_item(struct rec_rank_model *rm, uint64_t id)
{
	struct rec_rank_items *it = &rm->items;
	long i = find_item(rm, id);
	size_t cap = it->cap;

	if (i >= 0)
		return i;
	rec_xgrow(&it->id, &cap, it->n + 1, sizeof(uint64_t));
	if (cap != it->cap) {  /* parallel arrays: only when id grew */
		it->vec = rec_xrealloc(it->vec, cap * rm->dim * sizeof(float));
		it->count = rec_xrealloc(it->count, cap * sizeof(uint32_t));
		it->cap = cap;
	}
	if (!rec_net_ncf_row(rm->ncf, id, it->vec + it->n * rm->dim))
		return -1;
	it->id[it->n] = id;
	it->count[it->n] = 0;
	index_add(&it->slot, &it->slot_cap, it->id, it->n);
	return (long)it->n++;
}

static uint64_t field_id(const struct rec_block *b, int f, size_t r, int *ok)
{
	const struct rec_col *c = &b->col[f];

	*ok = c->off[r + 1] > c->off[r];
	return *ok ? c->id[c->off[r]] : 0;
}

long rec_rank_record_item(struct rec_rank_model *rm, const struct rec_block *b, size_t r, int flags)
{
	int ok;
	uint64_t id = field_id(b, rm->item_field, r, &ok);
	long i;

	if (!ok)
		return -1;
	i = rm->ncf && (flags & REC_RANK_NEW_ITEMS) ? add_item(rm, id) : find_item(rm, id);
	if (i >= 0 && rm->ncf && (flags & REC_RANK_COUNT) && b->label[r] > 0)
		rm->items.count[i]++;
	return i;
}

/* ---- users and pairs ------------------------------------------------------ */

/* User q's vector from record r; whether any of its features had a row. */
static int record_user(struct rec_rank_model *rm, struct rec_rank_users *u, size_t q,
		       const struct rec_block *b, size_t r)
{
	float *v = u->vec + q * rm->dim;

	if (rm->lfm)
		return rec_lightfm_user(rm->lfm, b, r, v) > 0;
	return rec_net_ncf_user(rm->ncf, b, r, v) > 0;
}

/* User q's vector from the row of its ID alone (a listed user). */
static int id_user(struct rec_rank_model *rm, struct rec_rank_users *u, size_t q)
{
	float *v = u->vec + q * rm->dim, *row;
	uint32_t at;

	if (rm->ncf)
		return rec_net_ncf_row(rm->ncf, u->id[q], v);
	memset(v, 0, rm->dim * sizeof(float));   /* [p_u, 1] */
	v[rm->dim - 1] = 1;
	if ((at = rec_embed_find(rm->lfm->table, u->id[q], 0)) == REC_EMBED_NONE)
		return 0;
	row = rec_xmalloc(rm->dim * sizeof(float));   /* [b, v]: p_u = v */
	rec_embed_read(rm->lfm->table, at, row);
	memcpy(v, row + 1, (rm->dim - 1) * sizeof(float));
	free(row);
	return 1;
}

static void set_known(struct rec_rank_users *u, size_t q, int known, int listed)
{
	int was = (u->state[q] & REC_RANK_KNOWN) != 0;

	u->unknown += was && !known;
	u->unknown -= !was && known;
	u->state[q] = (unsigned char)((known ? REC_RANK_KNOWN : 0) | (listed ? REC_RANK_LISTED : 0));
}

/* A new user with id; its vector and state are the caller's to set. */
static size_t new_user(struct rec_rank_users *u, size_t dim, uint64_t id)
{
	size_t cap = u->cap;

	rec_xgrow(&u->id, &cap, u->n + 1, sizeof(uint64_t));
	if (cap != u->cap) {
		u->vec = rec_xrealloc(u->vec, cap * dim * sizeof(float));
		u->state = rec_xrealloc(u->state, cap);
		u->cap = cap;
	}
	u->id[u->n] = id;
	u->state[u->n] = 0;
	u->unknown++;
	index_add(&u->slot, &u->slot_cap, u->id, u->n);
	return u->n++;
}

void rec_rank_pair_add(struct rec_rank_pairs *p, size_t user, size_t item)
{
	size_t cap = p->cap;

	rec_xgrow(&p->u, &cap, p->n + 1, sizeof(uint32_t));
	if (cap != p->cap) {
		p->i = rec_xrealloc(p->i, cap * sizeof(uint32_t));
		p->cap = cap;
	}
	p->u[p->n] = (uint32_t)user;
	p->i[p->n++] = (uint32_t)item;
}

void rec_rank_add(struct rec_rank_users *u, struct rec_rank_pairs *p, struct rec_rank_model *rm,
		  const struct rec_block *b, int flags)
{
	for (size_t r = 0; r < b->n; r++) {
		int ok;
		uint64_t id = field_id(b, rm->user_field, r, &ok);
		long i = rec_rank_record_item(rm, b, r, flags), q;
		if (!ok)
			continue;
		q = index_find(u->slot, u->slot_cap, u->id, id);
		if (q < 0 && (flags & REC_RANK_NEW_USERS)) {
			q = (long)new_user(u, rm->dim, id);
			set_known(u, (size_t)q, record_user(rm, u, (size_t)q, b, r), 0);
		} else if (q >= 0 && (u->state[q] & REC_RANK_LISTED)) {
			set_known(u, (size_t)q, record_user(rm, u, (size_t)q, b, r), 0);
		}
		if (q < 0 || !p || ((flags & REC_RANK_POSITIVES) && !(b->label[r] > 0)))
			continue;
		if (i >= 0)
			rec_rank_pair_add(p, (size_t)q, (size_t)i);
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
	free(u->state);
	free(u->slot);
}

void rec_rank_pairs_free(struct rec_rank_pairs *p)
{
	free(p->u);
	free(p->i);
	free(p->off);
	free(p->items);
}

/* ---- lists ---------------------------------------------------------------- */

/* lightfm's catalogue as an n x (k + 1) matrix of [q_i, b_i]. */
static float *item_matrix(const struct rec_lightfm *m)
{
	size_t dim = m->o.k + 1;
	float *It = rec_xmalloc((m->items.n + 1) * dim * sizeof(float));

	for (size_t i = 0; i < m->items.n; i++)
		rec_lightfm_item(m, i, It + i * dim);
	return It;
}

/* ncf: 16 users x 512 items = 8192 pairs through the tower at a time */
#define NCF_USER_BLOCK 16
#define NCF_ITEM_BLOCK 512

struct ncf_arg {
	struct rec_rank_model *rm;
	const float *U;
};

static void fill_ncf(float *C, size_t q0, size_t qb, size_t i0, size_t ib, void *arg)
{
	const struct ncf_arg *a = arg;
	size_t d = a->rm->dim;

	rec_net_ncf_pairs(a->rm->ncf, C, a->U + q0 * d, qb, a->rm->items.vec + i0 * d, ib);
}

void rec_rank_top(struct rec_rank_model *rm, uint32_t *idx, float *score, size_t *len,
		  const struct rec_rank_users *u, size_t k, const struct rec_topk_skip *skip)
{
	struct ncf_arg a = { rm, u->vec };
	float *It;

	if (rm->lfm) {
		It = item_matrix(rm->lfm);
		rec_topk_dot(idx, score, len, u->vec, u->n, It, rm->lfm->items.n, rm->dim, k, skip);
		free(It);
		return;
	}
	/* ranked by logit: probabilities near 1 would tie in single precision */
	rec_topk_scored(idx, score, len, u->n, rm->items.n, k, NCF_USER_BLOCK, NCF_ITEM_BLOCK, skip,
			fill_ncf, &a);
	for (size_t q = 0; q < u->n; q++)
		for (size_t r = 0; r < len[q]; r++)
			score[q * k + r] = 1 / (1 + expf(-score[q * k + r]));
}

static void fill_counts(float *C, size_t q0, size_t qb, size_t i0, size_t ib, void *arg)
{
	const uint32_t *count = arg;

	(void)q0;
	for (size_t q = 0; q < qb; q++)
		for (size_t i = 0; i < ib; i++)
			C[q * ib + i] = (float)count[i0 + i];
}

void rec_rank_popular(const struct rec_rank_model *rm, uint32_t *idx, float *score, size_t *len,
		      size_t nu, size_t k, const struct rec_topk_skip *skip)
{
	rec_topk_scored(idx, score, len, nu, rec_rank_nitems(rm), k, 128, 2048, skip, fill_counts,
			(void *)rec_rank_item_counts(rm));
}

float *rec_rank_item_directions(const struct rec_rank_model *rm, size_t *d)
{
	size_t n = rec_rank_nitems(rm);
	float *It;

	if (rm->ncf || rm->sas) {
		*d = rm->dim;
		It = rec_xmalloc((n * rm->dim + 1) * sizeof(float));
		memcpy(It, rm->sas ? rec_sasrec_items(rm->sas) + rm->dim : rm->items.vec,
		       n * rm->dim * sizeof(float));
	} else {
		*d = rm->dim - 1;
		It = item_matrix(rm->lfm);
		for (size_t i = 0; i < n; i++)   /* drop the bias column */
			memmove(It + i * *d, It + i * rm->dim, *d * sizeof(float));
	}
	rec_topk_normalize(It, n, *d);
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

/* ---- held-out periods ---------------------------------------------------- */

/* The users of one stream and their (user, item) pairs (flags above). */
static int read_pairs(struct rec_rank_users *u, struct rec_rank_pairs *p, struct rec_rank_model *rm,
		      const struct rec_ctr *c, const char *path, int flags)
{
	struct rec_reader *r = rec_reader_open(path);
	const struct rec_block *b;
	int rc;

	if (!r)
		return -1;
	rc = rec_ctr_check_schema(c, rec_reader_schema(r), rec_reader_name(r));
	while (rc == 0 && (rc = rec_reader_next(r, &b)) > 0) {
		rec_rank_add(u, p, rm, b, flags);
		rc = 0;
	}
	rec_reader_close(r);
	return rc;
}

int rec_rank_heldout_read(struct rec_rank_heldout *h, struct rec_rank_model *rm, const struct rec_ctr *c,
			  const char *const *held, size_t nheld, const char *const *seen, size_t nseen)
{
	int rc = 0;

	rec_rank_users_free(&h->u);
	rec_rank_pairs_free(&h->truth);
	memset(&h->u, 0, sizeof(h->u));
	memset(&h->truth, 0, sizeof(h->truth));
	for (size_t i = 0; rc == 0 && i < (nheld ? nheld : 1); i++)
		rc = read_pairs(&h->u, &h->truth, rm, c, nheld ? held[i] : NULL,
				REC_RANK_NEW_USERS | REC_RANK_POSITIVES | REC_RANK_NEW_ITEMS);
	for (size_t i = 0; rc == 0 && !h->have_seen && i < nseen; i++)
		rc = read_pairs(&h->u, &h->seen, rm, c, seen[i], REC_RANK_NEW_ITEMS | REC_RANK_COUNT);
	if (rc < 0)
		return -1;
	if (!h->have_seen)
		rec_rank_seal(&h->seen, h->u.n);
	h->have_seen = 1;
	rec_rank_seal(&h->truth, h->u.n);
	rec_rank_subtract(&h->truth, &h->seen, h->u.n);
	return 0;
}

void rec_rank_heldout_score(struct rec_rank_metrics *out, const struct rec_rank_heldout *h,
			    struct rec_rank_model *rm, size_t k, int popularity)
{
	size_t nu = h->u.n, ni = rec_rank_nitems(rm), room = k < ni ? k : ni;   /* no list is longer */
	uint32_t *idx = rec_xmalloc((nu * room + 1) * sizeof(uint32_t));
	float *score = rec_xmalloc((nu * room + 1) * sizeof(float));
	size_t *len = rec_xmalloc((nu + 1) * sizeof(size_t));
	struct rec_topk_skip skip = { h->seen.off, h->seen.items };

	if (popularity)
		rec_rank_popular(rm, idx, score, len, nu, room, &skip);
	else
		rec_rank_top(rm, idx, score, len, &h->u, room, &skip);
	rec_rank_evaluate(out, idx, len, nu, room, k, &h->truth, rec_rank_item_counts(rm), ni);
	free(idx);
	free(score);
	free(len);
}

void rec_rank_heldout_free(struct rec_rank_heldout *h)
{
	rec_rank_users_free(&h->u);
	rec_rank_pairs_free(&h->truth);
	rec_rank_pairs_free(&h->seen);
}

/* ---- names -------------------------------------------------------------- */

static void add_name(struct rec_rank_names *nm, uint64_t id, const char *s, size_t len)
{
	size_t cap = nm->cap, ct = nm->cap_text;

	if (index_find(nm->slot, nm->slot_cap, nm->id, id) >= 0)
		return;
	rec_xgrow(&nm->id, &cap, nm->n + 1, sizeof(uint64_t));
	if (cap != nm->cap) {
		nm->off = rec_xrealloc(nm->off, cap * sizeof(uint32_t));
		nm->cap = cap;
	}
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

/* The ID the model's field f gives value v. */
static uint64_t hash_value(const struct rec_rank_model *rm, int f, const struct rec_span *v)
{
	const struct rec_schema *s = rm->schema;

	return rec_hash_fold(rec_hash_value(rec_hash_salt(s->seed, s->field[f].name), v->p, v->len),
			     s->id_bits);
}

int rec_rank_names_read(struct rec_rank_names *nm, const char *path, const struct rec_rank_model *rm)
{
	struct rec_text *t = rec_text_open_path(path, NULL);
	const struct rec_span *f;
	size_t n;
	int rc;

	if (!t)
		return -1;
	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		if (rm->user_field >= 0)
			add_name(nm, hash_value(rm, rm->user_field, &f[0]), f[0].p, f[0].len);
		add_name(nm, hash_value(rm, rm->item_field, &f[0]), f[0].p, f[0].len);
	}
	rec_text_close(t);
	return rc;
}

int rec_rank_users_read(struct rec_rank_users *u, struct rec_rank_names *nm, const char *path,
			struct rec_rank_model *rm)
{
	struct rec_text *t = rec_text_open_path(path, NULL);
	const struct rec_span *f;
	size_t n;
	int rc;

	if (!t)
		return -1;
	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		uint64_t id = hash_value(rm, rm->user_field, &f[0]);
		size_t q;
		if (!f[0].len || index_find(u->slot, u->slot_cap, u->id, id) >= 0)
			continue;   /* an empty value is no user; a repeat adds none */
		q = new_user(u, rm->dim, id);
		set_known(u, q, id_user(rm, u, q), 1);
		add_name(nm, id, f[0].p, f[0].len);
	}
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
