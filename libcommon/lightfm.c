/* lightfm.c - the LightFM-style hybrid: the item catalogue, negative
 * sampling, BPR and WARP updates, one positive at a time.
 *
 * A vector is kept as [v_1 .. v_k, b] so that a user's [p_u, 1] dotted
 * with an item's [q_i, b_i] is the score (rec-rank's GEMM does exactly
 * that); rows in the store are [b, v_1 .. v_k]. */
#include "config.h"
#include "lightfm.h"
#include "rng.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One feature of the triple being trained: its row, value and where its
 * gradient goes. */
struct feat {
	uint32_t row, u;
	float x;
};

enum { PART_USER, PART_POS, PART_NEG, NPARTS };

struct rec_lightfm_scratch {
	struct feat *f[NPARTS];
	size_t n[NPARTS], cap[NPARTS];
	float *vec[NPARTS];            /* [p_u, 1], [q_i, b_i], [q_j, b_j] */
	float *row;                    /* one row, read */
	uint32_t *urow;                /* distinct rows of the triple */
	float *G;                      /* their gradients, nu x rowdim */
	size_t nu, cap_u;
};

static const char *const loss_names[] = { "bpr", "warp" };
static const char *const neg_names[] = { "uniform", "popular" };

const char *rec_lightfm_loss_name(int loss)
{
	return loss_names[loss];
}

int rec_lightfm_loss_parse(const char *name)
{
	return REC_NAME_INDEX(loss_names, name);
}

const char *rec_lightfm_neg_name(int neg)
{
	return neg_names[neg];
}

int rec_lightfm_neg_parse(const char *name)
{
	return REC_NAME_INDEX(neg_names, name);
}

/* ---- fields -------------------------------------------------------------- */

static int set_role(struct rec_lightfm *m, const char *name, int role)
{
	int f = rec_schema_find(m->schema, name);

	if (f < 0)
		return rec_error("lightfm: no field '%s' in the stream (name the fields with --user-field, "
				 "--item-field, --user-features and --item-features)", name);
	if (m->schema->field[f].kind == REC_NUMERIC)
		return rec_error("lightfm: field '%s' is numeric; user and item features must be "
				 "categorical or lists", name);
	if (m->role[f] && m->role[f] != role)
		return rec_error("lightfm: field '%s' is both a user and an item feature", name);
	m->role[f] = (signed char)role;
	return f;
}

/* "a,b,c" into roles. */
static int set_roles(struct rec_lightfm *m, const char *list, int role)
{
	char name[256];

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof(name) || (p[len] == ',' && !p[len + 1]))
			return rec_error("lightfm: bad field list '%s'", list);
		memcpy(name, p, len);
		name[len] = 0;
		if (set_role(m, name, role) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	return 0;
}

static int assign_fields(struct rec_lightfm *m)
{
	const struct rec_schema *s = m->schema;

	m->role = rec_xcalloc(s->nfields + 1, 1);
	if ((m->user_id = set_role(m, m->o.user_field, 1)) < 0 ||
	    (m->item_id = set_role(m, m->o.item_field, 2)) < 0 ||
	    set_roles(m, m->o.user_features, 1) < 0 || set_roles(m, m->o.item_features, 2) < 0)
		return -1;
	return 0;
}

struct rec_lightfm *rec_lightfm_new(const struct rec_schema *s, const struct rec_lightfm_opts *o)
{
	struct rec_embed_opts eo = REC_EMBED_OPTS_INIT;
	struct rec_lightfm *m;

	if (!(s->flags & REC_HASHED)) {
		rec_error("training needs a hashed stream (pipe it through rec-hash)");
		return NULL;
	}
	if (o->k < 1 || o->max_sampled < 1) {
		rec_error("lightfm needs at least one factor and one sampled negative");
		return NULL;
	}
	m = rec_xcalloc(1, sizeof(*m));
	m->o = *o;
	m->schema = rec_schema_copy(s);
	m->rowdim = o->k + 1;
	m->rng = o->seed ^ UINT64_C(0x6c69676874666d00);
	eo.dim = m->rowdim;
	eo.precision = o->precision;
	eo.init_scale = o->init_scale;
	eo.seed = o->seed;
	eo.min_count = o->min_count;
	if (assign_fields(m) < 0 || !(m->table = rec_embed_new(&eo))) {
		rec_lightfm_free(m);
		return NULL;
	}
	m->sc = rec_xcalloc(1, sizeof(*m->sc));
	for (int p = 0; p < NPARTS; p++)
		m->sc->vec[p] = rec_xcalloc(m->rowdim, sizeof(float));
	m->sc->row = rec_xmalloc(m->rowdim * sizeof(float));
	m->items.off = rec_xcalloc(1, sizeof(uint32_t));
	return m;
}

static void free_items(struct rec_lightfm_items *it)
{
	free(it->id);
	free(it->off);
	free(it->feat);
	free(it->val);
	free(it->row);
	free(it->count);
	free(it->tree);
	free(it->slot);
}

void rec_lightfm_free(struct rec_lightfm *m)
{
	if (!m)
		return;
	rec_embed_free(m->table);
	rec_schema_free(m->schema);
	free(m->role);
	free_items(&m->items);
	if (m->sc) {
		for (int p = 0; p < NPARTS; p++) {
			free(m->sc->f[p]);
			free(m->sc->vec[p]);
		}
		free(m->sc->row);
		free(m->sc->urow);
		free(m->sc->G);
		free(m->sc);
	}
	free(m);
}

/* ---- the catalogue ------------------------------------------------------- */

static size_t slot_of(uint64_t id, size_t cap)
{
	return (size_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & (cap - 1);
}

long rec_lightfm_find_item(const struct rec_lightfm *m, uint64_t id)
{
	const struct rec_lightfm_items *it = &m->items;

	if (!it->slot_cap)
		return -1;
	for (size_t h = slot_of(id, it->slot_cap); it->slot[h]; h = (h + 1) & (it->slot_cap - 1))
		if (it->id[it->slot[h] - 1] == id)
			return (long)it->slot[h] - 1;
	return -1;
}

static void index_item(struct rec_lightfm_items *it, size_t i)
{
	size_t h = slot_of(it->id[i], it->slot_cap);

	while (it->slot[h])
		h = (h + 1) & (it->slot_cap - 1);
	it->slot[h] = (uint32_t)(i + 1);
}

static void grow_index(struct rec_lightfm_items *it)
{
	if (2 * (it->n + 1) <= it->slot_cap)
		return;
	free(it->slot);
	it->slot_cap = it->slot_cap ? 2 * it->slot_cap : 1024;
	it->slot = rec_xcalloc(it->slot_cap, sizeof(uint32_t));
	for (size_t i = 0; i < it->n; i++)
		index_item(it, i);
}

static uint64_t tree_prefix(const struct rec_lightfm_items *it, size_t n)
{
	uint64_t s = 0;

	for (size_t j = n; j > 0; j -= j & -j)
		s += it->tree[j];
	return s;
}

static void tree_add(struct rec_lightfm_items *it, size_t i, uint64_t delta)
{
	for (size_t j = i + 1; j <= it->n; j += j & -j)
		it->tree[j] += delta;
}

/* Appends item n (count already in place) to the Fenwick tree: node n + 1
 * covers the counts of (n + 1 - lowbit, n + 1]. */
static void tree_append(struct rec_lightfm_items *it)
{
	size_t j = it->n + 1;

	rec_xgrow(&it->tree, &it->tree_cap, j + 1, sizeof(uint64_t));
	it->tree[j] = tree_prefix(it, j - 1) - tree_prefix(it, j - (j & -j)) + it->count[it->n];
}

/* Adds an item with the features given; returns its index. */
static size_t add_item(struct rec_lightfm *m, uint64_t id, const uint64_t *feat, const float *val,
		       size_t nf, uint32_t count)
{
	struct rec_lightfm_items *it = &m->items;
	size_t cap = it->cap, i = it->n;

	grow_index(it);
	/* the parallel arrays follow id and feat when those grow, not every
	 * call: a realloc to the same size may still copy */
	rec_xgrow(&it->id, &cap, i + 1, sizeof(uint64_t));
	if (cap != it->cap) {
		it->count = rec_xrealloc(it->count, cap * sizeof(uint32_t));
		it->off = rec_xrealloc(it->off, (cap + 1) * sizeof(uint32_t));
		it->cap = cap;
	}
	cap = it->cap_feat;
	rec_xgrow(&it->feat, &cap, it->nfeat + nf + 1, sizeof(uint64_t));
	if (cap != it->cap_feat) {
		it->val = rec_xrealloc(it->val, cap * sizeof(float));
		it->row = rec_xrealloc(it->row, cap * sizeof(uint32_t));
		it->cap_feat = cap;
	}
	memcpy(it->feat + it->nfeat, feat, nf * sizeof(uint64_t));
	memcpy(it->val + it->nfeat, val, nf * sizeof(float));
	for (size_t v = 0; v < nf; v++)
		it->row[it->nfeat + v] = REC_EMBED_NONE;
	it->nfeat += nf;
	it->id[i] = id;
	it->count[i] = count;
	it->off[i + 1] = (uint32_t)it->nfeat;
	tree_append(it);
	it->n++;
	index_item(it, i);
	return i;
}

static float feature_value(const struct rec_schema *s, const struct rec_col *c, size_t f, uint32_t i)
{
	return (s->field[f].flags & REC_FIELD_VALUED) ? c->val[i] : 1;
}

static uint64_t field_id(const struct rec_block *b, int f, size_t r, int *ok)
{
	const struct rec_col *c = &b->col[f];

	*ok = c->off[r + 1] > c->off[r];
	return *ok ? c->id[c->off[r]] : 0;
}

uint64_t rec_lightfm_item_id(const struct rec_lightfm *m, const struct rec_block *b, size_t r, int *ok)
{
	return field_id(b, m->item_id, r, ok);
}

uint64_t rec_lightfm_user_id(const struct rec_lightfm *m, const struct rec_block *b, size_t r, int *ok)
{
	return field_id(b, m->user_id, r, ok);
}

/* The catalogue index of record r's item, added with the record's item
 * features when new; -1 when the record has no item. */
static long record_to_catalogue(struct rec_lightfm *m, const struct rec_block *b, size_t r)
{
	const struct rec_schema *s = b->schema;
	uint64_t feat[256];
	float val[256];
	size_t nf = 0;
	int ok;
	uint64_t id = rec_lightfm_item_id(m, b, r, &ok);
	long i;

	if (!ok)
		return -1;
	if ((i = rec_lightfm_find_item(m, id)) >= 0)
		return i;
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (m->role[f] != 2)
			continue;
		/* more than 256 attributes of one item: the first 256 count */
		for (uint32_t v = c->off[r]; v < c->off[r + 1] && nf < 256; v++, nf++) {
			feat[nf] = c->id[v];
			val[nf] = feature_value(s, c, f, v);
		}
	}
	return (long)add_item(m, id, feat, val, nf, 0);
}

/* ---- sampling ------------------------------------------------------------ */

static uint64_t rand_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rec_splitmix64(s) * n) >> 64);
}

/* The item holding the t-th positive (0-based), by descent of the tree. */
static size_t tree_find(const struct rec_lightfm_items *it, uint64_t t)
{
	size_t pos = 0, step = 1;

	while (step * 2 <= it->n)
		step *= 2;
	for (; step; step /= 2)
		if (pos + step <= it->n && it->tree[pos + step] <= t) {
			pos += step;
			t -= it->tree[pos];
		}
	return pos;
}

long rec_lightfm_sample(struct rec_lightfm *m, size_t i)
{
	const struct rec_lightfm_items *it = &m->items;
	uint64_t total = m->o.negatives == REC_NEG_POPULAR ? tree_prefix(it, it->n) : 0;

	if (it->n < 2)
		return -1;
	/* popular: i's own positives make it likely; a few draws get past them */
	for (int tries = 0; tries < 16; tries++) {
		size_t j = total ? tree_find(it, rand_below(&m->rng, total))
				 : (size_t)rand_below(&m->rng, it->n);
		if (j != i)
			return (long)j;
	}
	return -1;
}

/* ---- features and vectors ------------------------------------------------ */

static void push(struct rec_lightfm_scratch *sc, int part, uint32_t row, float x)
{
	rec_xgrow(&sc->f[part], &sc->cap[part], sc->n[part] + 1, sizeof(struct feat));
	sc->f[part][sc->n[part]++] = (struct feat){ .row = row, .x = x };
}

/* Looks the feature up; adds it to part when it has a row. */
static void take(struct rec_lightfm *m, int part, uint64_t id, float x, int create)
{
	uint32_t row;

	m->seen++;
	if (x == 0 || (row = rec_embed_find(m->table, id, create)) == REC_EMBED_NONE)
		return;
	m->found++;
	push(m->sc, part, row, x);
}

/* vec = sum x [v, b] over part's features, in vector order. */
static void pool(struct rec_lightfm *m, int part)
{
	struct rec_lightfm_scratch *sc = m->sc;
	unsigned k = m->o.k;
	float *vec = sc->vec[part];

	memset(vec, 0, m->rowdim * sizeof(float));
	for (size_t j = 0; j < sc->n[part]; j++) {
		float x = sc->f[part][j].x;
		rec_embed_read(m->table, sc->f[part][j].row, sc->row);
		for (unsigned d = 0; d < k; d++)
			vec[d] += x * sc->row[1 + d];
		vec[k] += x * sc->row[0];
	}
}

/* Record r's features of one role into part. */
static void gather_record(struct rec_lightfm *m, const struct rec_block *b, size_t r, int role,
			  int part, int create)
{
	const struct rec_schema *s = b->schema;

	m->sc->n[part] = 0;
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (m->role[f] != role)
			continue;
		for (uint32_t v = c->off[r]; v < c->off[r + 1]; v++)
			take(m, part, c->id[v], feature_value(s, c, f, v), create);
	}
	pool(m, part);
}

/* Catalogue item i into part; its rows are looked up once and kept (WARP
 * draws many negatives a positive). */
static void gather_item(struct rec_lightfm *m, size_t i, int part, int create)
{
	struct rec_lightfm_items *it = &m->items;

	m->sc->n[part] = 0;
	for (uint32_t v = it->off[i]; v < it->off[i + 1]; v++) {
		if (it->row[v] == REC_EMBED_NONE)
			it->row[v] = rec_embed_find(m->table, it->feat[v], create);
		m->seen++;
		if (it->row[v] == REC_EMBED_NONE || it->val[v] == 0)
			continue;
		m->found++;
		push(m->sc, part, it->row[v], it->val[v]);
	}
	pool(m, part);
}

static float dot(const float *a, const float *b, size_t n)
{
	float s = 0;

	for (size_t d = 0; d < n; d++)
		s += a[d] * b[d];
	return s;
}

size_t rec_lightfm_user(struct rec_lightfm *m, const struct rec_block *b, size_t r, float *out)
{
	gather_record(m, b, r, 1, PART_USER, 0);
	memcpy(out, m->sc->vec[PART_USER], m->o.k * sizeof(float));
	out[m->o.k] = 1;
	return m->sc->n[PART_USER];
}

size_t rec_lightfm_record_item(struct rec_lightfm *m, const struct rec_block *b, size_t r, float *out)
{
	gather_record(m, b, r, 2, PART_POS, 0);
	memcpy(out, m->sc->vec[PART_POS], m->rowdim * sizeof(float));
	return m->sc->n[PART_POS];
}

void rec_lightfm_item(const struct rec_lightfm *m, size_t i, float *out)
{
	const struct rec_lightfm_items *it = &m->items;
	unsigned k = m->o.k;
	float *row = m->sc->row;

	memset(out, 0, m->rowdim * sizeof(float));
	for (uint32_t v = it->off[i]; v < it->off[i + 1]; v++) {
		uint32_t r = rec_embed_find(m->table, it->feat[v], 0);
		if (r == REC_EMBED_NONE)
			continue;
		rec_embed_read(m->table, r, row);
		for (unsigned d = 0; d < k; d++)
			out[d] += it->val[v] * row[1 + d];
		out[k] += it->val[v] * row[0];
	}
}

/* ---- gradients and updates ----------------------------------------------- */

/* The distinct-row index of row: features of a triple are few, so a scan
 * beats a hash table. */
static uint32_t distinct(struct rec_lightfm_scratch *sc, uint32_t row, size_t rowdim)
{
	for (size_t u = 0; u < sc->nu; u++)
		if (sc->urow[u] == row)
			return (uint32_t)u;
	if (sc->nu == sc->cap_u) {
		sc->cap_u = sc->cap_u ? 2 * sc->cap_u : 64;
		sc->urow = rec_xrealloc(sc->urow, sc->cap_u * sizeof(uint32_t));
		sc->G = rec_xrealloc(sc->G, sc->cap_u * rowdim * sizeof(float));
	}
	memset(sc->G + sc->nu * rowdim, 0, rowdim * sizeof(float));
	sc->urow[sc->nu] = row;
	return (uint32_t)sc->nu++;
}

/* Row gradients of the loss given dL/ds_i = a and dL/ds_j = c:
 * user rows x (a q_i + c q_j); item rows x a [b: 1, v: p_u] (c for j). */
static void backward(struct rec_lightfm *m, float a, float c)
{
	struct rec_lightfm_scratch *sc = m->sc;
	unsigned k = m->o.k;
	const float *p = sc->vec[PART_USER], *qi = sc->vec[PART_POS], *qj = sc->vec[PART_NEG];
	const float coef[NPARTS] = { 0, a, c };

	sc->nu = 0;
	for (int part = 0; part < NPARTS; part++)
		for (size_t j = 0; j < sc->n[part]; j++) {
			struct feat *f = &sc->f[part][j];
			float *g;
			f->u = distinct(sc, f->row, m->rowdim);  /* may move G */
			g = sc->G + (size_t)f->u * m->rowdim;
			if (part == PART_USER) {
				for (unsigned d = 0; d < k; d++)
					g[1 + d] += f->x * (a * qi[d] + c * qj[d]);
				continue;
			}
			g[0] += f->x * coef[part];
			for (unsigned d = 0; d < k; d++)
				g[1 + d] += f->x * coef[part] * p[d];
		}
}

static void update(struct rec_lightfm *m)
{
	struct rec_lightfm_scratch *sc = m->sc;

	for (size_t u = 0; u < sc->nu; u++) {
		float *g = sc->G + u * m->rowdim;
		if (m->o.l2 > 0) {
			rec_embed_read(m->table, sc->urow[u], sc->row);
			for (size_t d = 0; d < m->rowdim; d++)
				g[d] += m->o.l2 * sc->row[d];
		}
		rec_embed_adagrad(m->table, sc->urow[u], g, m->o.lr, m->o.eps);
	}
}

static float score(const struct rec_lightfm *m, int part)
{
	const float *p = m->sc->vec[PART_USER], *q = m->sc->vec[part];

	return dot(p, q, m->o.k) + q[m->o.k];
}

/* -log sigmoid(x), stable, and its derivative. */
static double softplus_neg(float x, float *g)
{
	*g = -1 / (1 + expf(x));
	return x > 0 ? log1p(exp(-(double)x)) : -(double)x + log1p(exp((double)x));
}

/* WARP: negatives until one violates the margin; its rank estimate sets
 * the weight. Returns the loss, *c the weight (0: no update). */
static double warp_draw(struct rec_lightfm *m, size_t i, float si, float *c)
{
	size_t n = m->items.n;

	*c = 0;
	for (unsigned t = 1; t <= m->o.max_sampled; t++) {
		long j = rec_lightfm_sample(m, i);
		float sj;
		if (j < 0)
			return 0;
		gather_item(m, (size_t)j, PART_NEG, 1);
		sj = score(m, PART_NEG);
		if (sj > si - 1) {
			*c = logf(floorf((float)(n - 1) / (float)t));
			return *c > 0 ? *c * (1 - si + sj) : 0;
		}
	}
	return 0;
}

/* One positive, record r with catalogue item i: the positive's features are
 * the record's own (an item's attributes may change), the negatives' those
 * of the catalogue. */
static double train_positive(struct rec_lightfm *m, const struct rec_block *b, size_t r, size_t i)
{
	float si, g, c;
	double loss;
	long j;

	gather_record(m, b, r, 1, PART_USER, 1);
	if (m->sc->n[PART_USER] == 0)
		return 0;
	gather_record(m, b, r, 2, PART_POS, 1);
	si = score(m, PART_POS);
	if (m->o.loss == REC_LOSS_WARP) {
		loss = warp_draw(m, i, si, &c);
		if (c <= 0)
			return loss;
		backward(m, -c, c);
	} else {
		if ((j = rec_lightfm_sample(m, i)) < 0)
			return 0;
		gather_item(m, (size_t)j, PART_NEG, 1);
		loss = softplus_neg(si - score(m, PART_NEG), &g);
		backward(m, g, -g);
	}
	update(m);
	return loss;
}

void rec_lightfm_train_block(struct rec_lightfm *m, const struct rec_block *b, double *loss)
{
	for (size_t r = 0; r < b->n; r++) {
		long i = record_to_catalogue(m, b, r);
		if (i < 0 || !(b->label[r] > 0))
			continue;
		m->items.count[i]++;
		tree_add(&m->items, (size_t)i, 1);
		*loss += train_positive(m, b, r, (size_t)i);
		m->trained++;
	}
}

void rec_lightfm_predict_block(struct rec_lightfm *m, const struct rec_block *b, float *p)
{
	for (size_t r = 0; r < b->n; r++) {
		gather_record(m, b, r, 1, PART_USER, 0);
		gather_record(m, b, r, 2, PART_POS, 0);
		p[r] = 1 / (1 + expf(-score(m, PART_POS)));
	}
}

double rec_lightfm_loss(struct rec_lightfm *m, const struct rec_block *b, size_t r, size_t neg,
			float weight, int grad)
{
	long i = record_to_catalogue(m, b, r);
	float si, sj, g;
	double loss;

	if (i < 0 || neg >= m->items.n)
		return NAN;
	gather_record(m, b, r, 1, PART_USER, 1);
	gather_record(m, b, r, 2, PART_POS, 1);
	gather_item(m, neg, PART_NEG, 1);
	si = score(m, PART_POS);
	sj = score(m, PART_NEG);
	if (m->o.loss == REC_LOSS_WARP) {
		loss = (double)weight * (1 - (double)si + (double)sj);
		if (grad)
			backward(m, -weight, weight);
	} else {
		loss = softplus_neg(si - sj, &g);
		if (grad)
			backward(m, g, -g);
	}
	return loss;
}

const float *rec_lightfm_row_grad(const struct rec_lightfm *m, uint64_t id)
{
	for (size_t u = 0; u < m->sc->nu; u++)
		if (rec_embed_id(m->table, m->sc->urow[u]) == id)
			return m->sc->G + u * m->rowdim;
	return NULL;
}

void rec_lightfm_add_item(struct rec_lightfm *m, uint64_t id, const uint64_t *feat, const float *val,
			  size_t nf, uint32_t count)
{
	add_item(m, id, feat, val, nf, count);
}
