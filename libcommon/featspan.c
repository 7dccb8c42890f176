/* featspan.c - the features of a run of records, looked up in one batch. */
#include "config.h"
#include "featspan.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Small counts, most numbers, come from a table of the same values. */
#define SQUASH_TABLE 1024
static float squash_table[SQUASH_TABLE];

static __attribute__((constructor)) void fill_squash_table(void)
{
	for (int i = 0; i < SQUASH_TABLE; i++)
		squash_table[i] = log1pf((float)i);
}

float rec_squash(float x)
{
	if (x >= 0 && x < SQUASH_TABLE && x == (float)(int)x)
		return squash_table[(int)x];
	return x < 0 ? -log1pf(-x) : log1pf(x);
}

static void reserve(struct rec_featspan *sp, size_t need)
{
	size_t cap = sp->cap;

	rec_xgrow(&sp->id, &sp->cap, need, sizeof(uint64_t));
	if (sp->cap == cap)
		return;
	sp->rows = rec_xrealloc(sp->rows, sp->cap * sizeof(uint32_t));
	sp->fld = rec_xrealloc(sp->fld, sp->cap * sizeof(uint32_t));
	sp->x = rec_xrealloc(sp->x, sp->cap * sizeof(float));
}

/* Whether field f's values carry their own x, which may be 0. */
static int has_values(const struct rec_field *fd)
{
	return fd->kind == REC_NUMERIC || (fd->flags & REC_FIELD_VALUED);
}

/* Each record's start in the span from the counts of its features with
 * x != 0 (a squashed number is 0 exactly when the number is), so that
 * gather writes them in place, with no pass to take zeros out after it.
 * *all gets the count with zeros, coverage's denominator. */
static size_t count(struct rec_featspan *sp, const struct rec_block *b, size_t r0, size_t r1,
		    const unsigned char *take, size_t *all)
{
	size_t nr = r1 - r0, zeros = 0;

	rec_xgrow(&sp->at, &sp->at_cap, 2 * nr + 1, sizeof(size_t));
	memset(sp->at, 0, (nr + 1) * sizeof(size_t));
	for (size_t f = 0; f < b->schema->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		if (take && !take[f])
			continue;
		for (size_t r = r0; r < r1; r++)
			sp->at[r - r0 + 1] += c->off[r + 1] - c->off[r];
		if (!has_values(&b->schema->field[f]))
			continue;
		for (size_t r = r0; r < r1; r++)
			for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++)
				if (c->val[i] == 0) {
					sp->at[r - r0 + 1]--;
					zeros++;
				}
	}
	for (size_t i = 1; i <= nr; i++)
		sp->at[i] += sp->at[i - 1];
	reserve(sp, sp->at[nr]);
	*all = sp->at[nr] + zeros;
	return sp->at[nr];
}

/* The features with x != 0 into the span, field by field: each column is
 * read in order, which the hardware prefetcher follows (across all
 * columns at once, record by record, it does not). */
static void gather(struct rec_featspan *sp, const struct rec_block *b, size_t r0, size_t r1,
		   const uint64_t *numeric_id, const unsigned char *take)
{
	const struct rec_schema *s = b->schema;
	size_t nr = r1 - r0, *cur = sp->at + nr + 1;

	memcpy(cur, sp->at, nr * sizeof(size_t));
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		const struct rec_field *fd = &s->field[f];
		if (take && !take[f])
			continue;
		if (has_values(fd)) {
			int numeric = fd->kind == REC_NUMERIC;
			for (size_t r = r0; r < r1; r++)
				for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++) {
					if (c->val[i] == 0)
						continue;
					size_t p = cur[r - r0]++;
					sp->id[p] = numeric ? numeric_id[f] : c->id[i];
					sp->fld[p] = (uint32_t)f;
					sp->x[p] = numeric ? rec_squash(c->val[i]) : c->val[i];
				}
		} else {
			for (size_t r = r0; r < r1; r++)
				for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++) {
					size_t p = cur[r - r0]++;
					sp->id[p] = c->id[i];
					sp->fld[p] = (uint32_t)f;
					sp->x[p] = 1;
				}
		}
	}
}

/* Keeps the features that keep(sp, i) allows, in order. */
#define COMPACT(sp, nr, keep)                                                   \
	do {                                                                    \
		size_t k_ = 0, i_ = 0;                                          \
		for (size_t r_ = 0; r_ < (nr); r_++) {                          \
			size_t end_ = (sp)->at[r_ + 1];                         \
			(sp)->at[r_] = k_;                                      \
			for (; i_ < end_; i_++)                                 \
				if (keep(sp, i_)) {                             \
					(sp)->id[k_] = (sp)->id[i_];            \
					(sp)->rows[k_] = (sp)->rows[i_];        \
					(sp)->fld[k_] = (sp)->fld[i_];          \
					(sp)->x[k_++] = (sp)->x[i_];            \
				}                                               \
		}                                                               \
		(sp)->at[nr] = k_;                                              \
	} while (0)
#define HAS_ROW(sp, i) ((sp)->rows[i] != REC_EMBED_NONE)

size_t rec_featspan_lookup(struct rec_featspan *sp, struct rec_embed *e, const struct rec_block *b, size_t r0,
		       size_t r1, const uint64_t *numeric_id, const unsigned char *take, int create)
{
	size_t nr = r1 - r0, seen;

	count(sp, b, r0, r1, take, &seen);
	gather(sp, b, r0, r1, numeric_id, take);
	if (rec_embed_find_many(e, sp->id, sp->at[nr], create, sp->rows))
		COMPACT(sp, nr, HAS_ROW);
	return seen;
}

void rec_featspan_free(struct rec_featspan *sp)
{
	free(sp->id);
	free(sp->rows);
	free(sp->fld);
	free(sp->x);
	free(sp->at);
	memset(sp, 0, sizeof(*sp));
}
