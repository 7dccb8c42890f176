/* embed.c - the embedding store.
 *
 * Rows live packed in chunks of 65536: [id u64][Adagrad state f32][last
 * seen u32, only with expiry][values], so a row costs exactly its bytes (no
 * per-row allocation, no padding) and a lookup touches the row's one or two
 * cache lines rather than one line per array. The index is open addressing
 * over 4-byte slots with linear probing, kept between 40% and 80% full,
 * which bounds its cost at 10 bytes per row. fp32 at dim 16: 8 + 4 + 64 = 76
 * bytes of row, fp16: 8 + 4 + 32 = 44.
 *
 * A slot holds row + 1 in its low bits and, in the bits that row numbers
 * cannot reach before the index next doubles, a tag: more bits of the ID's
 * hash. A probe reads a row only where the tag matches, so a collision
 * costs a compare in the slot's cache line rather than a miss on a row
 * that is not the one sought. Tags cost no memory; with 2^22 slots they
 * are 9 bits, and they vanish as the index nears 2^32 slots. */
#include "config.h"
#include "embed.h"
#include "lanes.h"
#include "rng.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GCC's -O2 vectorizes no loop whose trip count it doesn't know; the row
 * loops below are elementwise, so vectorized they give the same bits. */
#ifdef _OPENMP
#define PRAGMA(x) _Pragma(#x)
#define SIMD _Pragma("omp simd")
#define SIMD_SUM(s) PRAGMA(omp simd reduction(+:s))
#else
#define SIMD
#define SIMD_SUM(s)
#endif

#define MIN_CHUNK_BITS 16
#define HUGE_PAGE ((size_t)2 << 20)
#define CMS_DEPTH 4
#define CMS_WIDTH_BITS 20

struct rec_embed {
	struct rec_embed_opts o;
	size_t elt;               /* bytes per value: 4 or 2 */
	size_t row_bytes;         /* the packed row */
	size_t val_off;           /* where its values start */
	size_t nrows, nchunks;
	unsigned chunk_bits;      /* rows per chunk: a power of two */
	unsigned char **chunk;
	uint32_t *slot;           /* row + 1 | tag; 0 = empty */
	size_t nslots;
	unsigned shift;           /* 64 - log2(nslots) */
	unsigned tag_shift;       /* a slot's tag: hash >> tag_shift & tag_mask */
	uint32_t tag_mask;
	uint8_t *cms;             /* count-min sketch, only with min_count > 1 */
	uint32_t now;
};

/* ---- fp16 ------------------------------------------------------------------ */

uint16_t rec_half_from_float(float f)
{
	uint32_t x, sign, mant;
	int exp;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	exp = (int)((x >> 23) & 0xff) - 127 + 15;
	mant = x & 0x7fffff;
	if (((x >> 23) & 0xff) == 0xff) /* inf or nan */
		return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
	if (exp >= 31)
		return (uint16_t)(sign | 0x7c00);
	if (exp <= 0) { /* subnormal or zero */
		if (exp < -10)
			return (uint16_t)sign;
		mant |= 0x800000;
		unsigned shift = (unsigned)(14 - exp);
		uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
		if (rest > mid || (rest == mid && (half & 1)))
			half++;
		return (uint16_t)(sign | half);
	}
	uint32_t half = sign | ((uint32_t)exp << 10) | (mant >> 13), rest = mant & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
		half++; /* may carry into the exponent: that is the right rounding */
	return (uint16_t)half;
}

float rec_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, x;
	float f;

	if (exp == 0x1f)
		x = sign | 0x7f800000 | (mant << 13);
	else if (exp)
		x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
	else if (!mant)
		x = sign;
	else { /* subnormal: normalise */
		exp = 127 - 15 + 1;
		while (!(mant & 0x400)) {
			mant <<= 1;
			exp--;
		}
		x = sign | (exp << 23) | ((mant & 0x3ff) << 13);
	}
	memcpy(&f, &x, 4);
	return f;
}

/* ---- rows ------------------------------------------------------------------- */

static inline size_t chunk_of(const struct rec_embed *e, uint32_t row) { return row >> e->chunk_bits; }
static inline size_t index_in(const struct rec_embed *e, uint32_t row)
{
	return row & (((uint32_t)1 << e->chunk_bits) - 1);
}

/* Chunks of whole huge pages: rows are read at random, and a 2 MiB page
 * costs one TLB entry where 4 KiB pages cost one per row. Pages of a chunk
 * count only once rows are written to them, so a large chunk costs nothing
 * until it fills. */
static unsigned chunk_bits_for(size_t row_bytes)
{
	unsigned bits = MIN_CHUNK_BITS;

	while (((size_t)1 << bits) * row_bytes % HUGE_PAGE)
		bits++;
	return bits;
}

enum { ID_OFF = 0, ACC_OFF = 8, SEEN_OFF = 12 };

static inline unsigned char *row_base(const struct rec_embed *e, uint32_t row)
{
	return e->chunk[chunk_of(e, row)] + index_in(e, row) * e->row_bytes;
}

static inline unsigned char *row_ptr(const struct rec_embed *e, uint32_t row)
{
	return row_base(e, row) + e->val_off;
}

static inline uint64_t row_id(const struct rec_embed *e, uint32_t row)
{
	uint64_t id;

	memcpy(&id, row_base(e, row) + ID_OFF, 8); /* rows are packed, not 8-aligned */
	return id;
}

static inline float *row_acc(const struct rec_embed *e, uint32_t row)
{
	return (float *)(void *)(row_base(e, row) + ACC_OFF);
}

static inline uint32_t *row_seen(const struct rec_embed *e, uint32_t row)
{
	return (uint32_t *)(void *)(row_base(e, row) + SEEN_OFF);
}

static void add_chunk(struct rec_embed *e)
{
	e->chunk = rec_xrealloc(e->chunk, (e->nchunks + 1) * sizeof(*e->chunk));
	/* not zeroed: pages count only once rows are written to them */
	e->chunk[e->nchunks++] = rec_xmalloc_huge(((size_t)1 << e->chunk_bits) * e->row_bytes);
}

/* Uniform in [-scale, scale) from 24 random bits: exact in a float. */
static inline float uniform24(uint32_t bits, float scale)
{
	return scale * ((float)(bits & 0xffffff) * 0x1.0p-23f - 1.0f);
}

/* Initial values depend on (seed, id) only: the same in any arrival order
 * and any number of threads. Values 2j and 2j + 1 take the two halves of
 * the jth number of a splitmix64 sequence keyed by the ID; the numbers do
 * not wait on one another, so their multiplies overlap. */
static void init_row(struct rec_embed *e, uint32_t row, uint64_t id)
{
	float tmp[1024], *out = e->elt == 4 ? (float *)(void *)row_ptr(e, row) : tmp;
	uint64_t base = rec_mix64(id ^ rec_mix64(e->o.seed + UINT64_C(0x9e3779b97f4a7c15)));
	unsigned dim = e->o.dim;

	for (unsigned k = 0; k < dim; k += 2) {
		uint64_t x = rec_mix64(base + (k / 2 + 1) * UINT64_C(0x9e3779b97f4a7c15));
		out[k] = uniform24((uint32_t)(x >> 40), e->o.init_scale);
		if (k + 1 < dim)
			out[k + 1] = uniform24((uint32_t)x >> 8, e->o.init_scale);
	}
	if (out == tmp)
		rec_embed_write(e, row, tmp);
}

static uint32_t append_row(struct rec_embed *e, uint64_t id)
{
	uint32_t row = (uint32_t)e->nrows++;

	if (chunk_of(e, row) >= e->nchunks)
		add_chunk(e);
	memcpy(row_base(e, row) + ID_OFF, &id, 8);
	*row_acc(e, row) = 0;
	if (e->o.expire_after)
		*row_seen(e, row) = e->now;
	init_row(e, row, id);
	return row;
}

/* ---- index ------------------------------------------------------------------ */

static inline uint64_t hash_of(uint64_t id)
{
	return id * UINT64_C(0x9e3779b97f4a7c15);
}

/* The tag of a hash: its bits just below those that pick the slot, moved
 * to the slot's bits above the largest row + 1 (at most nslots, as the
 * index doubles past 80% full). */
static inline uint32_t tag_of(uint64_t hash, unsigned tag_shift, uint32_t tag_mask)
{
	return (uint32_t)(hash >> tag_shift) & tag_mask;
}

/* How many rows ahead a rebuild of the index fetches their slots. */
#define LEAD_RESET 16

static void index_reset(struct rec_embed *e, size_t nslots)
{
	unsigned bits = 0; /* log2(nslots) */

	free(e->slot);
	while (((size_t)1 << bits) < nslots)
		bits++;
	e->nslots = nslots;
	e->shift = 64 - bits;
	/* rows + 1 take bits + 1 bits; the tag the rest of 32, taken from the
	 * hash's bits 33 .. 63 - bits */
	e->tag_shift = bits < 31 ? 32 - bits : 0;
	e->tag_mask = bits < 31 ? ~((UINT32_C(2) << bits) - 1) : 0;
	e->slot = rec_xcalloc_huge(nslots * sizeof(uint32_t));
	for (uint32_t r = 0; r < e->nrows; r++) {
		uint64_t h = hash_of(row_id(e, r));
		if (r + LEAD_RESET < e->nrows) /* rows in order land on slots at random */
			__builtin_prefetch(&e->slot[hash_of(row_id(e, r + LEAD_RESET)) >> e->shift], 1);
		size_t i = (size_t)(h >> e->shift);
		while (e->slot[i])
			i = (i + 1) & (e->nslots - 1);
		e->slot[i] = (r + 1) | tag_of(h, e->tag_shift, e->tag_mask);
	}
}

/* ---- admission: a count-min sketch of sightings ------------------------------ */

static int admit(struct rec_embed *e, uint64_t id)
{
	size_t width = (size_t)1 << CMS_WIDTH_BITS;
	uint8_t *cell[CMS_DEPTH];
	unsigned lo = 255;

	for (int d = 0; d < CMS_DEPTH; d++) {
		uint64_t h = rec_mix64(id + (uint64_t)(d + 1) * UINT64_C(0x9e3779b97f4a7c15));
		cell[d] = &e->cms[(size_t)d * width + (h & (width - 1))];
		if (*cell[d] < lo)
			lo = *cell[d];
	}
	/* conservative update: raise only the smallest counters */
	for (int d = 0; d < CMS_DEPTH; d++)
		if (*cell[d] == lo && lo < 255)
			(*cell[d])++;
	return lo + 1 >= e->o.min_count;
}

/* ---- public ------------------------------------------------------------------ */

struct rec_embed *rec_embed_new(const struct rec_embed_opts *o)
{
	struct rec_embed *e;

	if (o->dim == 0 || o->dim > 1024 || (o->precision != REC_FP32 && o->precision != REC_FP16) ||
	    o->min_count > 255) {
		rec_error("invalid embedding options (dim 1..1024, min count up to 255)");
		return NULL;
	}
	e = rec_xcalloc(1, sizeof(*e));
	e->o = *o;
	if (e->o.min_count == 0)
		e->o.min_count = 1;
	e->elt = o->precision == REC_FP16 ? 2 : 4;
	e->val_off = e->o.expire_after ? 16 : 12;
	e->row_bytes = e->val_off + e->o.dim * e->elt;
	if (e->row_bytes % 4) /* keep fp32 and u32 fields 4-byte aligned */
		e->row_bytes += 4 - e->row_bytes % 4;
	e->chunk_bits = chunk_bits_for(e->row_bytes);
	index_reset(e, 1024);
	if (e->o.min_count > 1)
		e->cms = rec_xcalloc((size_t)CMS_DEPTH << CMS_WIDTH_BITS, 1);
	return e;
}

void rec_embed_free(struct rec_embed *e)
{
	if (!e)
		return;
	for (size_t c = 0; c < e->nchunks; c++)
		free(e->chunk[c]);
	free(e->chunk);
	free(e->slot);
	free(e->cms);
	free(e);
}

const struct rec_embed_opts *rec_embed_opts(const struct rec_embed *e)
{
	return &e->o;
}

/* A new row for id in the empty slot i, once admitted; kept out of line,
 * since lookups of known IDs are what has to be fast. */
static __attribute__((noinline)) uint32_t insert(struct rec_embed *e, uint64_t id, size_t i)
{
	uint32_t row;

	if (e->nrows >= REC_EMBED_NONE - 1 || (e->cms && !admit(e, id)))
		return REC_EMBED_NONE;
	row = append_row(e, id);
	e->slot[i] = (row + 1) | tag_of(hash_of(id), e->tag_shift, e->tag_mask);
	if (e->nrows * 5 > e->nslots * 4)
		index_reset(e, e->nslots * 2);
	return row;
}

/* What a lookup reads of the table, copied into registers: a store to the
 * caller's uint32_t rows may alias any unsigned field, and would make the
 * compiler load each again after every lookup. Taken afresh after an
 * insert, which may grow the index or add a chunk. */
struct view {
	const uint32_t *slot;
	size_t mask;
	unsigned shift, chunk_bits, tag_shift;
	uint32_t tag_mask;
	unsigned char *const *chunk;
	size_t row_bytes;
};

static inline struct view view_of(const struct rec_embed *e)
{
	return (struct view){ e->slot, e->nslots - 1, e->shift, e->chunk_bits, e->tag_shift, e->tag_mask,
			      e->chunk, e->row_bytes };
}

static inline const unsigned char *view_row(const struct view *v, uint32_t row)
{
	return v->chunk[row >> v->chunk_bits] + (row & ((UINT32_C(1) << v->chunk_bits) - 1)) * v->row_bytes;
}

/* From slot i on, the first slot whose tag is tag, or the empty one that
 * ends the run; *at gets its place. */
static inline uint32_t next_tagged(const struct view *v, size_t i, uint32_t tag, size_t *at)
{
	uint32_t s;

	while ((s = v->slot[i]) && (s & v->tag_mask) != tag)
		i = (i + 1) & v->mask;
	*at = i;
	return s;
}

static inline uint32_t row_in(const struct view *v, uint32_t s)
{
	return (s & ~v->tag_mask) - 1;
}

/* The row of id, or REC_EMBED_NONE with *empty the slot where it would go. */
static inline uint32_t probe(const struct view *v, uint64_t id, uint64_t hash, size_t *empty)
{
	uint32_t tag = tag_of(hash, v->tag_shift, v->tag_mask), s;
	size_t i = (size_t)(hash >> v->shift);

	for (; (s = next_tagged(v, i, tag, &i)); i = (i + 1) & v->mask) {
		uint64_t have;
		memcpy(&have, view_row(v, row_in(v, s)) + ID_OFF, 8);
		if (have == id)
			return row_in(v, s);
	}
	*empty = i;
	return REC_EMBED_NONE;
}

/* A found row is marked seen; a missing one is inserted with create. */
static inline uint32_t found_or_insert(struct rec_embed *e, uint32_t row, uint64_t id, size_t empty, int create)
{
	if (row == REC_EMBED_NONE)
		return create ? insert(e, id, empty) : REC_EMBED_NONE;
	if (e->o.expire_after)
		*row_seen(e, row) = e->now;
	return row;
}

uint32_t rec_embed_find(struct rec_embed *e, uint64_t id, int create)
{
	struct view v = view_of(e);
	size_t empty = 0;
	uint32_t row = probe(&v, id, hash_of(id), &empty);

	return found_or_insert(e, row, id, empty, create);
}

/* How far ahead find_many fetches: index slots LEAD_SLOT lookups ahead, the
 * rows they point to LEAD_ROW ahead, so about that many misses overlap. */
#define LEAD_SLOT 96
#define LEAD_ROW 48
#define RING 128 /* > LEAD_SLOT, a power of two */

/* Lookups find_many_at pipelines at a time: the positions to look up are
 * listed first, so that those with a row already (dlrm's and the FMs'
 * numbers, a third of Criteo's features) cost no turn of the pipeline and
 * no mispredicted test in each of its stages. */
#define FIND_PIECE 4096

/* The hash, not the slot, waits in the ring: a lookup that grows the index
 * changes every slot. */
static size_t find_many_at(struct rec_embed *e, const uint64_t *ids, const size_t *at, size_t n, int create,
			   uint32_t *rows)
{
	uint64_t h[RING];
	size_t none = 0, empty = 0;
	struct view v = view_of(e);
	int expire = e->o.expire_after != 0;

	for (size_t i = 0; i < n + LEAD_SLOT; i++) {
		size_t j = i - (LEAD_SLOT - LEAD_ROW), k = i - LEAD_SLOT;
		if (i < n) {
			h[i % RING] = hash_of(ids[at[i]]);
			__builtin_prefetch(&v.slot[h[i % RING] >> v.shift]);
		}
		if (i >= LEAD_SLOT - LEAD_ROW && j < n) {
			uint64_t hj = h[j % RING];
			size_t slot;
			uint32_t s = next_tagged(&v, hj >> v.shift, tag_of(hj, v.tag_shift, v.tag_mask), &slot);
			if (s) {
				const unsigned char *p = view_row(&v, row_in(&v, s));
				__builtin_prefetch(p);
				__builtin_prefetch(p + v.row_bytes - 1);
			}
		}
		if (i >= LEAD_SLOT) {
			uint64_t id = ids[at[k]];
			uint32_t row = probe(&v, id, h[k % RING], &empty);
			if (row != REC_EMBED_NONE && !expire) {
				rows[at[k]] = row;
				continue;
			}
			rows[at[k]] = row = found_or_insert(e, row, id, empty, create);
			none += row == REC_EMBED_NONE;
			v = view_of(e);
		}
	}
	return none;
}

size_t rec_embed_find_many(struct rec_embed *e, const uint64_t *ids, size_t n, int create, uint32_t *rows)
{
	size_t at[FIND_PIECE];
	size_t none = 0;

	for (size_t i = 0; i < n;) {
		size_t m = 0;
		for (; i < n && m < FIND_PIECE; i++) {
			at[m] = i;
			m += rows[i] == REC_EMBED_NONE;
		}
		none += find_many_at(e, ids, at, m, create, rows);
	}
	return none;
}

static inline void read_row(const struct rec_embed *e, uint32_t row, float *out)
{
	const unsigned char *p = row_ptr(e, row);

	if (e->elt == 4) { /* a loop, not memcpy: rows are short, a call is not */
		const float *v = (const float *)(const void *)p;
		SIMD
		for (unsigned k = 0; k < e->o.dim; k++)
			out[k] = v[k];
		return;
	}
	const uint16_t *h = (const uint16_t *)(const void *)p;
	for (unsigned k = 0; k < e->o.dim; k++)
		out[k] = rec_half_to_float(h[k]);
}

void rec_embed_read(const struct rec_embed *e, uint32_t row, float *out)
{
	read_row(e, row, out);
}

void rec_embed_read_many(const struct rec_embed *e, const uint32_t *rows, size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		read_row(e, rows[i], out + i * e->o.dim);
}

void rec_embed_write(struct rec_embed *e, uint32_t row, const float *in)
{
	unsigned char *p = row_ptr(e, row);

	if (e->elt == 4) {
		memcpy(p, in, e->o.dim * 4);
		return;
	}
	uint16_t *h = (uint16_t *)(void *)p;
	for (unsigned k = 0; k < e->o.dim; k++)
		h[k] = rec_half_from_float(in[k]);
}

float *rec_embed_values(struct rec_embed *e, uint32_t row)
{
	return e->elt == 4 ? (float *)(void *)row_ptr(e, row) : NULL;
}

int rec_embed_places(struct rec_embed *e, const uint32_t *rows, size_t n, float **values, float **acc)
{
	if (e->elt != 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char *p = row_base(e, rows[i]);
		values[i] = (float *)(void *)(p + e->val_off);
		acc[i] = (float *)(void *)(p + ACC_OFF);
	}
	return 0;
}

void rec_embed_axpy(const struct rec_embed *e, uint32_t row, float scale, float *out)
{
	const unsigned char *p = row_ptr(e, row);

	if (e->elt == 4) {
		const float *v = (const float *)(const void *)p;
		SIMD
		for (unsigned k = 0; k < e->o.dim; k++)
			out[k] += scale * v[k];
		return;
	}
	const uint16_t *h = (const uint16_t *)(const void *)p;
	for (unsigned k = 0; k < e->o.dim; k++)
		out[k] += scale * rec_half_to_float(h[k]);
}

/* fp16 rows go through floats; out of line, so that the fp32 path that
 * adagrad() inlines stays free of a 4 KiB buffer. */
static __attribute__((noinline)) void half_axpy(struct rec_embed *e, uint32_t row, float step,
						const float *grad)
{
	float v[1024];

	rec_embed_read(e, row, v);
	for (unsigned k = 0; k < e->o.dim; k++)
		v[k] -= step * grad[k];
	rec_embed_write(e, row, v);
}

/* row -= step * grad, in place (fp32) or through floats (fp16). */
static inline void row_step(struct rec_embed *e, uint32_t row, float step, const float *grad)
{
	if (e->elt == 2) {
		half_axpy(e, row, step, grad);
		return;
	}
	float *w = (float *)(void *)row_ptr(e, row);
	SIMD
	for (unsigned k = 0; k < e->o.dim; k++)
		w[k] -= step * grad[k];
}

/* acc += sumsq / dim; row -= scale * lr / (sqrt(acc) + eps) * grad. */
static inline void adagrad_step(struct rec_embed *e, uint32_t row, const float *grad, float scale, float sumsq,
				float lr, float eps)
{
	float *acc = row_acc(e, row);

	*acc += sumsq / (float)e->o.dim;
	row_step(e, row, scale * (lr / (sqrtf(*acc) + eps)), grad);
}

/* In lanes: in index order, dim 17 was a chain of 17 dependent adds per
 * row, and fm spent a tenth of its time waiting on them. */
static inline float sum_sq(const float *grad, unsigned dim)
{
	return rec_dot_lanes(grad, grad, dim);
}

static inline void adagrad(struct rec_embed *e, uint32_t row, const float *grad, float lr, float eps)
{
	adagrad_step(e, row, grad, 1, sum_sq(grad, e->o.dim), lr, eps);
}

void rec_embed_adagrad(struct rec_embed *e, uint32_t row, const float *grad, float lr, float eps)
{
	adagrad(e, row, grad, lr, eps);
}

/* How many rows ahead adagrad_many fetches: a batch's rows were read at
 * its start, and many have left the cache by its update. A call on fewer
 * rows than a run (one example's) finds them where its read left them. */
#define LEAD_UPDATE 8
/* Rows adagrad_many takes a pass at a time. */
#define ADAGRAD_RUN 256

/* Row-wise Adagrad on a run of rows in three passes: the accumulators in
 * order, then all their steps in vector lanes (one row after another, a
 * square root and a division each are a chain of latency), then the rows
 * in order. Each row gets rec_embed_adagrad's arithmetic in its order, a
 * row met twice included: no accumulator depends on a row's values. */
static void adagrad_run(struct rec_embed *e, const uint32_t *rows, size_t n, size_t ahead, int fetch,
			const float *grad, float lr, float eps)
{
	float step[ADAGRAD_RUN];
	unsigned dim = e->o.dim;

	for (size_t i = 0; i < n; i++) {
		float *acc = row_acc(e, rows[i]);
		if (fetch && i + LEAD_UPDATE < ahead) {
			const unsigned char *p = row_base(e, rows[i + LEAD_UPDATE]);
			__builtin_prefetch(p, 1);
			__builtin_prefetch(p + e->row_bytes - 1, 1);
		}
		*acc += sum_sq(grad + i * dim, dim) / (float)dim;
		step[i] = *acc;
	}
	SIMD
	for (size_t i = 0; i < n; i++)
		step[i] = lr / (sqrtf(step[i]) + eps);
	for (size_t i = 0; i < n; i++)
		row_step(e, rows[i], step[i], grad + i * dim);
}

void rec_embed_adagrad_many(struct rec_embed *e, const uint32_t *rows, size_t n, const float *grad,
			    float lr, float eps)
{
	int fetch = n > ADAGRAD_RUN;

	for (size_t i = 0; i < n; i += ADAGRAD_RUN) {
		size_t m = n - i < ADAGRAD_RUN ? n - i : ADAGRAD_RUN;
		adagrad_run(e, rows + i, m, n - i, fetch, grad + i * e->o.dim, lr, eps);
	}
}

void rec_embed_adagrad_scaled(struct rec_embed *e, uint32_t row, const float *v, float s, float sumsq,
			      float lr, float eps)
{
	adagrad_step(e, row, v, s, sumsq, lr, eps);
}

float rec_embed_dot(const struct rec_embed *e, uint32_t row, const float *v)
{
	const unsigned char *p = row_ptr(e, row);
	float s = 0;

	if (e->elt == 4) {
		const float *w = (const float *)(const void *)p;
		SIMD_SUM(s)
		for (unsigned k = 0; k < e->o.dim; k++)
			s += w[k] * v[k];
		return s;
	}
	const uint16_t *h = (const uint16_t *)(const void *)p;
	for (unsigned k = 0; k < e->o.dim; k++)
		s += rec_half_to_float(h[k]) * v[k];
	return s;
}

void rec_embed_sgd(struct rec_embed *e, uint32_t row, const float *grad, float lr, float l2)
{
	float v[1024];

	rec_embed_read(e, row, v);
	for (unsigned k = 0; k < e->o.dim; k++)
		v[k] -= lr * (grad[k] + l2 * v[k]);
	rec_embed_write(e, row, v);
}

float rec_embed_state(const struct rec_embed *e, uint32_t row)
{
	return *row_acc(e, row);
}

void rec_embed_set_state(struct rec_embed *e, uint32_t row, float acc)
{
	*row_acc(e, row) = acc;
}

uint64_t rec_embed_id(const struct rec_embed *e, uint32_t row)
{
	return row_id(e, row);
}

size_t rec_embed_rows(const struct rec_embed *e)
{
	return e->nrows;
}

size_t rec_embed_bytes(const struct rec_embed *e)
{
	return e->nrows * e->row_bytes + e->nslots * 4 + (e->cms ? (size_t)CMS_DEPTH << CMS_WIDTH_BITS : 0);
}

void rec_embed_tick(struct rec_embed *e)
{
	e->now++;
}

/* Moves row `from` into row `to` (to < from). */
static void move_row(struct rec_embed *e, uint32_t to, uint32_t from)
{
	memcpy(row_base(e, to), row_base(e, from), e->row_bytes);
}

size_t rec_embed_expire(struct rec_embed *e)
{
	uint32_t kept = 0;
	size_t dropped, nslots = 1024;

	if (!e->o.expire_after)
		return 0;
	for (uint32_t r = 0; r < e->nrows; r++) {
		if (e->now - *row_seen(e, r) > e->o.expire_after)
			continue;
		if (kept != r)
			move_row(e, kept, r);
		kept++;
	}
	dropped = e->nrows - kept;
	e->nrows = kept;
	while (nslots * 4 < e->nrows * 5)
		nslots *= 2;
	index_reset(e, nslots);
	return dropped;
}
