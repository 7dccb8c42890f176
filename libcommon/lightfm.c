/* lightfm.c - the LightFM-style hybrid: the item catalogue, negative
 * sampling, BPR and WARP updates, one positive at a time, and the cache of
 * interactions later epochs train from.
 *
 * Training keeps vectors in the store's row order [b, v_1 .. v_k], a
 * user's as [1, p_u], so that its dot product with an item's [b_i, q_i] is
 * the score and the item rows' gradient is a multiple of it. Outside,
 * a vector is [v_1 .. v_k, b] (rec_lightfm_user, _item): a user's [p_u, 1]
 * dotted with an item's [q_i, b_i] is the score, as rec-rank's GEMM has it. */
#include "config.h"
#include "lightfm.h"
#include "lanes.h"
#include "rng.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GCC's -O2 vectorizes no loop whose trip count it doesn't know: the
 * elementwise row loops below ask for it, and the sums are written in
 * 4-float lanes (lanes.h), not index order, the same bits with or without
 * OpenMP, SSE2 or AVX. */
#ifdef _OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

/* One feature of the triple being trained: its row and value. */
struct feat {
	uint32_t row;
	float x;
};

/* A distinct row of the triple, its gradient su w + si [1, p_u]: every
 * user row's is a multiple of w = a q_i + c q_j, every item row's of
 * [1, p_u], so none needs writing out. */
struct grad {
	uint32_t row;
	float su, si;
};

/* A user or item feature of a positive as training keeps it: the row once
 * found (REC_EMBED_NONE until then: with --min-count it may come later). */
struct entry {
	uint64_t id;
	uint32_t row;
	float x;
};

enum { PART_USER, PART_POS, PART_NEG, NPARTS };

/* Draws whose WARP weights are kept, not worked out each time. */
#define WARP_TABLE 64

struct rec_lightfm_scratch {
	struct feat *f[NPARTS];
	size_t n[NPARTS], cap[NPARTS];
	float *vec[NPARTS];            /* [1, p_u], [b_i, q_i], [b_j, q_j] */
	const float *in[NPARTS];       /* each part's vector: vec[part], or an item's
					  lone row valued 1 in place (read before
					  the update writes rows) */
	float *w;                      /* a q_i + c q_j, the user rows' gradient over x */
	float ww, pp;                  /* |w|^2, |[1, p_u]|^2 */
	float *row;                    /* one row, read */
	struct entry *ent[2];          /* a streamed record's user and item features */
	size_t ne[2], cap_ent[2];
	struct grad *g;                /* distinct rows of the triple */
	size_t ng, cap_g;
	float *G;                      /* one gradient written out (rowdim) */
	float warp_w[WARP_TABLE + 1];  /* WARP's weight after t draws of n items, */
	size_t warp_n[WARP_TABLE + 1]; /* for the n it was worked out for (0: none) */
};

/* The cache: per positive its catalogue item and how many user and item
 * entries follow the previous positive's in ent; per block of the stream
 * its records and positives, per input its blocks (checkpoints and the
 * progress line count records as the stream had them). */
struct cached_pos {
	uint32_t item, nuser, nitem;
};

struct cached_block {
	size_t records, first_pos, npos, first_ent;
};

struct rec_lightfm_cache {
	int state;                     /* enum rec_lightfm_cache_state */
	size_t max_bytes;
	struct cached_pos *pos;
	size_t npos, cap_pos;
	struct entry *ent;
	size_t nent, cap_ent;
	struct cached_block *blk;
	size_t nblk, cap_blk;
	size_t *input_end;             /* blocks up to the end of each input */
	size_t ninputs, cap_inputs;
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
	m->sc->w = rec_xcalloc(m->rowdim, sizeof(float));
	m->sc->G = rec_xcalloc(m->rowdim, sizeof(float));
	m->sc->row = rec_xmalloc(m->rowdim * sizeof(float));
	m->cache = rec_xcalloc(1, sizeof(*m->cache));
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
	free(it->q);
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
	rec_lightfm_cache_drop(m);
	free(m->cache);
	if (m->sc) {
		for (int p = 0; p < NPARTS; p++) {
			free(m->sc->f[p]);
			free(m->sc->vec[p]);
		}
		free(m->sc->w);
		free(m->sc->row);
		free(m->sc->ent[0]);
		free(m->sc->ent[1]);
		free(m->sc->g);
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

/* The tree over the counts as they are, built again in one pass if they
 * changed without it: every node is a sum of counts, so it is the tree
 * that tree_add would have kept. */
static void tree_fresh(struct rec_lightfm_items *it)
{
	if (!it->tree_stale)
		return;
	rec_xgrow(&it->tree, &it->tree_cap, it->n + 1, sizeof(uint64_t));
	for (size_t j = 1; j <= it->n; j++)
		it->tree[j] = it->count[j - 1];
	for (size_t j = 1; j <= it->n; j++)
		if (j + (j & -j) <= it->n)
			it->tree[j + (j & -j)] += it->tree[j];
	it->tree_stale = 0;
}

/* Item i has one more positive; only the popular sampler reads the tree,
 * so the uniform one leaves it stale. */
static void count_positive(struct rec_lightfm *m, size_t i)
{
	struct rec_lightfm_items *it = &m->items;

	it->count[i]++;
	if (m->o.negatives != REC_NEG_POPULAR) {
		it->tree_stale = 1;
		return;
	}
	tree_fresh(it);
	tree_add(it, i, 1);
}

/* Appends item n (count already in place) to the Fenwick tree: node n + 1
 * covers the counts of (n + 1 - lowbit, n + 1]. A stale tree waits for
 * tree_fresh. */
static void tree_append(struct rec_lightfm_items *it)
{
	size_t j = it->n + 1;

	rec_xgrow(&it->tree, &it->tree_cap, j + 1, sizeof(uint64_t));
	if (it->tree_stale)
		return;
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
		it->q = rec_xrealloc(it->q, cap * sizeof(float *));
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
	it->q[i] = NULL;
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

/* rec_lightfm_sample with the generator's state in *rng. */
static long sample_with(struct rec_lightfm *m, size_t i, uint64_t *rng)
{
	struct rec_lightfm_items *it = &m->items;
	uint64_t total = 0;

	if (m->o.negatives == REC_NEG_POPULAR) {
		tree_fresh(it);
		total = tree_prefix(it, it->n);
	}
	if (it->n < 2)
		return -1;
	/* popular: i's own positives make it likely; a few draws get past them */
	for (int tries = 0; tries < 16; tries++) {
		size_t j = total ? tree_find(it, rand_below(rng, total)) : (size_t)rand_below(rng, it->n);
		if (j != i)
			return (long)j;
	}
	return -1;
}

long rec_lightfm_sample(struct rec_lightfm *m, size_t i)
{
	return sample_with(m, i, &m->rng);
}

/* ---- features and vectors ------------------------------------------------ */

static void push(struct rec_lightfm_scratch *sc, int part, uint32_t row, float x)
{
	if (sc->n[part] == sc->cap[part])
		rec_xgrow(&sc->f[part], &sc->cap[part], sc->n[part] + 1, sizeof(struct feat));
	sc->f[part][sc->n[part]++] = (struct feat){ .row = row, .x = x };
}

/* Scoring: looks the feature up, making no row; adds it to part when it
 * has one. */
static void take(struct rec_lightfm *m, int part, uint64_t id, float x)
{
	uint32_t row;

	m->seen++;
	if (x == 0 || (row = rec_embed_find(m->table, id, 0)) == REC_EMBED_NONE)
		return;
	m->found++;
	push(m->sc, part, row, x);
}

/* in[part] = sum x row over part's features; a user's b slot holds 1. */
static void pool(struct rec_lightfm *m, int part)
{
	struct rec_lightfm_scratch *sc = m->sc;
	const struct feat *f = sc->f[part];
	float *vec = sc->vec[part];
	const float *v;
	size_t j = 0;

	sc->in[part] = vec;
	/* an item that is one fp32 row valued 1: the row itself (1 v, bit
	 * for bit, but for the sign of a zero) */
	if (part != PART_USER && sc->n[part] == 1 && f[0].x == 1 &&
	    (v = rec_embed_values(m->table, f[0].row))) {
		sc->in[part] = v;
		return;
	}
	/* fp32: the first row straight in (0 + x v, the same bits as adding
	 * to zeros), no memset for the sums to wait on */
	if (sc->n[part] && (v = rec_embed_values(m->table, f[0].row))) {
		float x = f[0].x;
		SIMD
		for (size_t d = 0; d < m->rowdim; d++)
			vec[d] = 0.0f + x * v[d];
		j = 1;
	} else
		memset(vec, 0, m->rowdim * sizeof(float));
	for (; j < sc->n[part]; j++)
		rec_embed_axpy(m->table, f[j].row, f[j].x, vec);
	if (part == PART_USER)
		vec[0] = 1;
}

/* Record r's features of one role into part, for scoring. */
static void gather_record(struct rec_lightfm *m, const struct rec_block *b, size_t r, int role, int part)
{
	const struct rec_schema *s = b->schema;

	m->sc->n[part] = 0;
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (m->role[f] != role)
			continue;
		for (uint32_t v = c->off[r]; v < c->off[r + 1]; v++)
			take(m, part, c->id[v], feature_value(s, c, f, v));
	}
	pool(m, part);
}

/* Record r's features of one role as entries in scratch slot e (0 user,
 * 1 item), rows not looked up yet; a feature valued 0 never counts. */
static void record_entries(struct rec_lightfm *m, const struct rec_block *b, size_t r, int role, int e)
{
	const struct rec_schema *s = b->schema;
	struct rec_lightfm_scratch *sc = m->sc;

	sc->ne[e] = 0;
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (m->role[f] != role)
			continue;
		rec_xgrow(&sc->ent[e], &sc->cap_ent[e], sc->ne[e] + (c->off[r + 1] - c->off[r]),
			  sizeof(struct entry));
		for (uint32_t v = c->off[r]; v < c->off[r + 1]; v++) {
			float x = feature_value(s, c, f, v);
			if (x != 0)
				sc->ent[e][sc->ne[e]++] = (struct entry){ c->id[v], REC_EMBED_NONE, x };
		}
	}
}

/* Finds (making) the rows the entries lack, keeps them there, and puts the
 * entries that have one into part; returns how many. */
static size_t resolve(struct rec_lightfm *m, int part, struct entry *e, size_t n)
{
	m->sc->n[part] = 0;
	for (size_t j = 0; j < n; j++) {
		if (e[j].row == REC_EMBED_NONE)
			e[j].row = rec_embed_find(m->table, e[j].id, 1);
		if (e[j].row != REC_EMBED_NONE)
			push(m->sc, part, e[j].row, e[j].x);
	}
	return m->sc->n[part];
}

/* The row of catalogue feature v, made when first needed and kept (rows
 * never move). */
static uint32_t item_row(struct rec_lightfm *m, uint32_t v)
{
	struct rec_lightfm_items *it = &m->items;

	if (it->row[v] == REC_EMBED_NONE)
		it->row[v] = rec_embed_find(m->table, it->feat[v], 1);
	return it->row[v];
}

/* Item i's shortcut, once its one row valued 1 has been found. */
static void note_shortcut(struct rec_lightfm *m, size_t i)
{
	struct rec_lightfm_items *it = &m->items;
	uint32_t v = it->off[i];

	if (it->off[i + 1] == v + 1 && it->val[v] == 1 && it->row[v] != REC_EMBED_NONE)
		it->q[i] = rec_embed_values(m->table, it->row[v]);
}

/* Catalogue item i into part, for training. */
static void gather_item(struct rec_lightfm *m, size_t i, int part)
{
	const struct rec_lightfm_items *it = &m->items;

	m->sc->n[part] = 0;
	for (uint32_t v = it->off[i]; v < it->off[i + 1]; v++) {
		uint32_t row = item_row(m, v);
		if (row != REC_EMBED_NONE && it->val[v] != 0)
			push(m->sc, part, row, it->val[v]);
	}
	note_shortcut(m, i);
	pool(m, part);
}

/* Catalogue item i's score for the pooled user straight from its rows,
 * sum x (row . [1, p_u]): WARP scores many negatives a positive and
 * updates with one, so only that one is pooled. */
static float item_score(struct rec_lightfm *m, size_t i)
{
	const struct rec_lightfm_items *it = &m->items;
	const float *p = m->sc->vec[PART_USER];
	float s = 0;

	if (it->q[i])  /* 0 + 1 (row . p), as below */
		return rec_dot_lanes(it->q[i], p, m->rowdim);
	for (uint32_t v = it->off[i]; v < it->off[i + 1]; v++) {
		uint32_t row = item_row(m, v);
		const float *q;
		if (row == REC_EMBED_NONE || it->val[v] == 0)
			continue;
		/* fp32: the shortcut's dot, whatever order rec_embed_dot's
		 * vector sum has in this build */
		q = rec_embed_values(m->table, row);
		s += it->val[v] * (q ? rec_dot_lanes(q, p, m->rowdim) : rec_embed_dot(m->table, row, p));
	}
	note_shortcut(m, i);
	return s;
}

size_t rec_lightfm_user(struct rec_lightfm *m, const struct rec_block *b, size_t r, float *out)
{
	gather_record(m, b, r, 1, PART_USER);
	memcpy(out, m->sc->vec[PART_USER] + 1, m->o.k * sizeof(float));
	out[m->o.k] = 1;
	return m->sc->n[PART_USER];
}

size_t rec_lightfm_record_item(struct rec_lightfm *m, const struct rec_block *b, size_t r, float *out)
{
	gather_record(m, b, r, 2, PART_POS);
	memcpy(out, m->sc->in[PART_POS] + 1, m->o.k * sizeof(float));
	out[m->o.k] = m->sc->in[PART_POS][0];
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

/* The gradient of row: features of a triple are few, so a scan beats a
 * hash table. */
static struct grad *grad_of(struct rec_lightfm_scratch *sc, uint32_t row)
{
	for (size_t u = 0; u < sc->ng; u++)
		if (sc->g[u].row == row)
			return &sc->g[u];
	if (sc->ng == sc->cap_g)
		rec_xgrow(&sc->g, &sc->cap_g, sc->ng + 1, sizeof(struct grad));
	sc->g[sc->ng] = (struct grad){ row, 0, 0 };
	return &sc->g[sc->ng++];
}

/* Row gradients of the loss given dL/ds_i = a and dL/ds_j = c, in row
 * order: user rows x (a q_i + c q_j) with 0 for b; item rows x a [1, p_u]
 * (c for j). */
static void backward(struct rec_lightfm *m, float a, float c)
{
	struct rec_lightfm_scratch *sc = m->sc;
	const float *qi = sc->in[PART_POS], *qj = sc->in[PART_NEG];
	const float *p = sc->vec[PART_USER], coef[NPARTS] = { 0, a, c };
	rec_v4sf vw = { 0, 0, 0, 0 }, vp = { 0, 0, 0, 0 };
	float ww, pp;
	size_t d = 1;

	/* from 1: w has no b, and [1, p_u] a 1 there; the sums in rec_dot_lanes()'s
	 * lanes and order */
	for (; d + 4 <= m->rowdim; d += 4) {
		rec_v4sf x, y, z;
		memcpy(&x, qi + d, sizeof(x));
		memcpy(&y, qj + d, sizeof(y));
		memcpy(&z, p + d, sizeof(z));
		x = a * x + c * y;
		memcpy(sc->w + d, &x, sizeof(x));
		vw += x * x;
		vp += z * z;
	}
	ww = vw[0];
	pp = vp[0];
	for (; d < m->rowdim; d++) {
		sc->w[d] = a * qi[d] + c * qj[d];
		ww += sc->w[d] * sc->w[d];
		pp += p[d] * p[d];
	}
	sc->w[0] = 0;
	sc->ww = (((0.0f + ww) + vw[1]) + vw[2]) + vw[3];
	sc->pp = (((1.0f + pp) + vp[1]) + vp[2]) + vp[3];
	sc->ng = 0;
	for (int part = 0; part < NPARTS; part++)
		for (size_t j = 0; j < sc->n[part]; j++) {
			const struct feat *f = &sc->f[part][j];
			struct grad *g = grad_of(sc, f->row);
			if (part == PART_USER)
				g->su += f->x;
			else
				g->si += f->x * coef[part];
		}
}

/* g's gradient written out into G. */
static float *write_grad(const struct rec_lightfm *m, const struct grad *g)
{
	const struct rec_lightfm_scratch *sc = m->sc;
	const float *w = sc->w, *p = sc->vec[PART_USER];
	float *G = sc->G;

	SIMD
	for (size_t d = 0; d < m->rowdim; d++)
		G[d] = g->su * w[d] + g->si * p[d];
	return G;
}

/* Adagrad on every row of the triple. A row that is a user's or an item's
 * feature, not both, with no L2, needs just its multiple of w or [1, p_u]
 * and the squares' sum that follows from the vector's; the rest have
 * theirs written out. */
static void update(struct rec_lightfm *m)
{
	struct rec_lightfm_scratch *sc = m->sc;
	const float *w = sc->w, *p = sc->vec[PART_USER];
	float ww = sc->ww, pp = sc->pp;

	for (size_t u = 0; u < sc->ng; u++) {
		const struct grad *g = &sc->g[u];
		float *G;
		if (m->o.l2 == 0 && (g->su == 0 || g->si == 0)) {
			int user = g->su != 0;
			float s = user ? g->su : g->si;
			rec_embed_adagrad_scaled(m->table, g->row, user ? w : p, s, s * s * (user ? ww : pp),
						 m->o.lr, m->o.eps);
			continue;
		}
		G = write_grad(m, g);
		if (m->o.l2 > 0) {
			rec_embed_read(m->table, g->row, sc->row);
			for (size_t d = 0; d < m->rowdim; d++)
				G[d] += m->o.l2 * sc->row[d];
		}
		rec_embed_adagrad_scaled(m->table, g->row, G, 1, rec_dot_lanes(G, G, m->rowdim), m->o.lr, m->o.eps);
	}
}

/* [1, p_u] . [b, q]: b plus the k products, a whole number of vectors
 * when k is. */
static float score(const struct rec_lightfm *m, int part)
{
	return m->sc->in[part][0] + rec_dot_lanes(m->sc->vec[PART_USER] + 1, m->sc->in[part] + 1, m->o.k);
}

/* BPR's two scores in one pass. */
static void score_pair(const struct rec_lightfm *m, float *si, float *sj)
{
	const float *p = m->sc->vec[PART_USER], *qi = m->sc->in[PART_POS], *qj = m->sc->in[PART_NEG];
	rec_v4sf va = { 0, 0, 0, 0 }, vb = { 0, 0, 0, 0 };
	float a, b;
	size_t d = 1;

	/* rec_dot_lanes()'s lanes and order */
	for (; d + 4 <= m->rowdim; d += 4) {
		rec_v4sf x, y, z;
		memcpy(&x, p + d, sizeof(x));
		memcpy(&y, qi + d, sizeof(y));
		memcpy(&z, qj + d, sizeof(z));
		va += x * y;
		vb += x * z;
	}
	a = va[0];
	b = vb[0];
	for (; d < m->rowdim; d++) {
		a += p[d] * qi[d];
		b += p[d] * qj[d];
	}
	*si = qi[0] + ((((0.0f + a) + va[1]) + va[2]) + va[3]);
	*sj = qj[0] + ((((0.0f + b) + vb[1]) + vb[2]) + vb[3]);
}

/* -log sigmoid(x), stable, and its derivative, from one exponential. */
static double softplus_neg(float x, float *g)
{
	float e = expf(-fabsf(x));

	*g = -(x > 0 ? e : 1) / (1 + e);
	return (double)logf(1 + e) + (x < 0 ? -(double)x : 0);  /* for the report: log1pf is slower */
}

/* log(floor((n - 1) / t)): the catalogue changes size only in the first
 * epoch, so a logf per update mostly gives what it gave before. */
static float warp_weight(struct rec_lightfm_scratch *sc, size_t n, unsigned t)
{
	if (t > WARP_TABLE)
		return logf(floorf((float)(n - 1) / (float)t));
	if (sc->warp_n[t] != n) {
		sc->warp_w[t] = logf(floorf((float)(n - 1) / (float)t));
		sc->warp_n[t] = n;
	}
	return sc->warp_w[t];
}

/* WARP: negatives until one violates the margin; its rank estimate sets
 * the weight. Returns the loss, *c the weight (0: no update) and *j the
 * negative. */
static double warp_draw(struct rec_lightfm *m, size_t i, float si, float *c, long *j)
{
	*c = 0;
	for (unsigned t = 1; t <= m->o.max_sampled; t++) {
		float sj;
		if ((*j = rec_lightfm_sample(m, i)) < 0)
			return 0;
		sj = item_score(m, (size_t)*j);
		if (sj > si - 1) {
			*c = warp_weight(m->sc, m->items.n, t);
			return *c > 0 ? *c * (1 - si + sj) : 0;
		}
	}
	return 0;
}

/* One positive of catalogue item i, its user's and its item's features as
 * entries: the record's own (an item's attributes may change); the
 * negatives' are the catalogue's. Streamed and cached epochs both come
 * here, so they train the same model. */
static double train_positive(struct rec_lightfm *m, size_t i, struct entry *user, size_t nuser,
			     struct entry *item, size_t nitem)
{
	float si, sj, g, c;
	double loss;
	long j;

	count_positive(m, i);
	m->trained++;
	if (resolve(m, PART_USER, user, nuser) == 0)
		return 0;
	pool(m, PART_USER);
	resolve(m, PART_POS, item, nitem);
	pool(m, PART_POS);
	if (m->o.loss == REC_LOSS_WARP) {
		si = score(m, PART_POS);
		loss = warp_draw(m, i, si, &c, &j);
		if (c <= 0)
			return loss;
		gather_item(m, (size_t)j, PART_NEG);
		backward(m, -c, c);
	} else {
		if ((j = rec_lightfm_sample(m, i)) < 0)
			return 0;
		gather_item(m, (size_t)j, PART_NEG);
		score_pair(m, &si, &sj);
		loss = softplus_neg(si - sj, &g);
		backward(m, g, -g);
	}
	update(m);
	return loss;
}

/* ---- the cache of interactions ------------------------------------------- */

/* The positives and entries by what they fill: their arrays are address
 * space in whole 2 MiB pages, which count once written to. */
static size_t cache_bytes(const struct rec_lightfm_cache *c)
{
	return c->npos * sizeof(*c->pos) + c->nent * sizeof(*c->ent) + c->cap_blk * sizeof(*c->blk) +
	       c->cap_inputs * sizeof(*c->input_end);
}

/* Past the limit: give up, and let every epoch read the stream. */
static void cache_check(struct rec_lightfm *m)
{
	if (cache_bytes(m->cache) <= m->cache->max_bytes)
		return;
	rec_lightfm_cache_drop(m);
	m->cache->state = REC_CACHE_FULL;
}

static void cache_block(struct rec_lightfm *m, size_t records)
{
	struct rec_lightfm_cache *c = m->cache;

	if (c->state != REC_CACHE_RECORDING)
		return;
	rec_xgrow(&c->blk, &c->cap_blk, c->nblk + 1, sizeof(*c->blk));
	c->blk[c->nblk++] = (struct cached_block){ records, c->npos, 0, c->nent };
	cache_check(m);
}

/* The positive just trained, its entries' rows as it found them. */
static void cache_positive(struct rec_lightfm *m, size_t i)
{
	struct rec_lightfm_cache *c = m->cache;
	struct rec_lightfm_scratch *sc = m->sc;
	size_t n = sc->ne[0] + sc->ne[1];

	if (c->state != REC_CACHE_RECORDING)
		return;
	rec_xgrow_huge(&c->pos, &c->cap_pos, c->npos + 1, sizeof(*c->pos));
	rec_xgrow_huge(&c->ent, &c->cap_ent, c->nent + n, sizeof(*c->ent));
	c->pos[c->npos++] = (struct cached_pos){ (uint32_t)i, (uint32_t)sc->ne[0], (uint32_t)sc->ne[1] };
	memcpy(c->ent + c->nent, sc->ent[0], sc->ne[0] * sizeof(struct entry));
	memcpy(c->ent + c->nent + sc->ne[0], sc->ent[1], sc->ne[1] * sizeof(struct entry));
	c->nent += n;
	c->blk[c->nblk - 1].npos++;
	cache_check(m);
}

void rec_lightfm_cache_start(struct rec_lightfm *m, size_t max_bytes)
{
	rec_lightfm_cache_drop(m);
	m->cache->max_bytes = max_bytes;
	m->cache->state = REC_CACHE_RECORDING;
}

void rec_lightfm_cache_end_input(struct rec_lightfm *m)
{
	struct rec_lightfm_cache *c = m->cache;

	if (c->state != REC_CACHE_RECORDING)
		return;
	rec_xgrow(&c->input_end, &c->cap_inputs, c->ninputs + 1, sizeof(size_t));
	c->input_end[c->ninputs++] = c->nblk;
	cache_check(m);
}

void rec_lightfm_cache_finish(struct rec_lightfm *m)
{
	if (m->cache->state == REC_CACHE_RECORDING)
		m->cache->state = REC_CACHE_READY;
}

void rec_lightfm_cache_drop(struct rec_lightfm *m)
{
	struct rec_lightfm_cache *c = m->cache;

	if (!c)
		return;
	rec_free_huge(c->pos, c->cap_pos, sizeof(*c->pos));
	rec_free_huge(c->ent, c->cap_ent, sizeof(*c->ent));
	free(c->blk);
	free(c->input_end);
	*c = (struct rec_lightfm_cache){ 0 };
}

int rec_lightfm_cache_state(const struct rec_lightfm *m)
{
	return m->cache->state;
}

size_t rec_lightfm_cache_bytes(const struct rec_lightfm *m)
{
	return cache_bytes(m->cache);
}

size_t rec_lightfm_cache_positives(const struct rec_lightfm *m)
{
	return m->cache->npos;
}

size_t rec_lightfm_cache_blocks(const struct rec_lightfm *m, size_t input, size_t *first)
{
	const struct rec_lightfm_cache *c = m->cache;

	if (c->state != REC_CACHE_READY || input >= c->ninputs)
		return *first = 0;
	*first = input ? c->input_end[input - 1] : 0;
	return c->input_end[input] - *first;
}

size_t rec_lightfm_train_cached(struct rec_lightfm *m, size_t block, double *loss)
{
	const struct rec_lightfm_cache *c = m->cache;
	const struct cached_block *b = &c->blk[block];
	struct entry *e = c->ent + b->first_ent;

	for (size_t k = b->first_pos; k < b->first_pos + b->npos; k++) {
		const struct cached_pos *p = &c->pos[k];
		*loss += train_positive(m, p->item, e, p->nuser, e + p->nuser, p->nitem);
		e += p->nuser + p->nitem;
	}
	return b->records;
}

/* ---- blocks -------------------------------------------------------------- */

void rec_lightfm_train_block(struct rec_lightfm *m, const struct rec_block *b, double *loss)
{
	struct rec_lightfm_scratch *sc = m->sc;

	cache_block(m, b->n);
	for (size_t r = 0; r < b->n; r++) {
		long i = record_to_catalogue(m, b, r);
		if (i < 0 || !(b->label[r] > 0))
			continue;
		record_entries(m, b, r, 1, 0);
		record_entries(m, b, r, 2, 1);
		*loss += train_positive(m, (size_t)i, sc->ent[0], sc->ne[0], sc->ent[1], sc->ne[1]);
		cache_positive(m, (size_t)i);
	}
}

void rec_lightfm_predict_block(struct rec_lightfm *m, const struct rec_block *b, float *p)
{
	for (size_t r = 0; r < b->n; r++) {
		gather_record(m, b, r, 1, PART_USER);
		gather_record(m, b, r, 2, PART_POS);
		p[r] = 1 / (1 + expf(-score(m, PART_POS)));
	}
}

double rec_lightfm_loss(struct rec_lightfm *m, const struct rec_block *b, size_t r, size_t neg,
			float weight, int grad)
{
	struct rec_lightfm_scratch *sc = m->sc;
	long i = record_to_catalogue(m, b, r);
	float si, sj, g;
	double loss;

	if (i < 0 || neg >= m->items.n)
		return NAN;
	record_entries(m, b, r, 1, 0);
	record_entries(m, b, r, 2, 1);
	resolve(m, PART_USER, sc->ent[0], sc->ne[0]);
	pool(m, PART_USER);
	resolve(m, PART_POS, sc->ent[1], sc->ne[1]);
	pool(m, PART_POS);
	gather_item(m, neg, PART_NEG);
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
	for (size_t u = 0; u < m->sc->ng; u++)
		if (rec_embed_id(m->table, m->sc->g[u].row) == id)
			return write_grad(m, &m->sc->g[u]);
	return NULL;
}

void rec_lightfm_add_item(struct rec_lightfm *m, uint64_t id, const uint64_t *feat, const float *val,
			  size_t nf, uint32_t count)
{
	add_item(m, id, feat, val, nf, count);
}
