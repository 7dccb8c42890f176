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

/* Past the table, logf(1 + |x|): 1 + |x| rounds by at most half an ulp of
 * |x|, which moves the logarithm by far less than an ulp of its own, and
 * glibc's logf is several times faster than its log1pf. */
static inline float squash(float x)
{
	float a = fabsf(x), y;

	if (a < SQUASH_TABLE && x == (float)(int)x)
		y = squash_table[(int)a];
	else
		y = a < SQUASH_TABLE ? log1pf(a) : logf(1 + a);
	return x < 0 ? -y : y;
}

float rec_squash(float x)
{
	return squash(x);
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

/* Whether field f holds at most one value a record (rec-stream(5)). */
static int is_scalar(const struct rec_field *fd)
{
	return fd->kind == REC_NUMERIC || fd->kind == REC_CATEGORICAL;
}

/* Whether every record of r0 .. r1-1 keeps a feature in column c of
 * field fd: a categorical field without values, a value in each record. */
static int all_kept(const struct rec_field *fd, const struct rec_col *c, size_t r0, size_t r1)
{
	return is_scalar(fd) && !has_values(fd) && c->off[r1] - c->off[r0] == r1 - r0;
}

/* Whether record r keeps a feature in scalar column c, its value index
 * going to *j. No branch on the record: a missing value or a zero, in a
 * random pattern (Criteo's numbers have both), is a mispredicted branch.
 * *j is clamped below end, the span's end in the column, so that it can
 * be read where the record has no value. */
static inline int scalar_keep(const struct rec_col *c, size_t r, uint32_t end, int valued, uint32_t *j)
{
	uint32_t i = c->off[r];
	int keep = c->off[r + 1] > i;

	*j = i < end ? i : end - 1;
	if (valued)
		keep &= c->val[*j] != 0;
	return keep;
}

/* Each record's start in the span from the counts of its features with
 * x != 0 (a squashed number is 0 exactly when the number is), so that
 * gather writes them in place, with no pass to take zeros out after it.
 * *all gets the count with zeros, coverage's denominator. */
static size_t count(struct rec_featspan *sp, const struct rec_block *b, size_t r0, size_t r1,
		    const unsigned char *take, size_t *all)
{
	size_t nr = r1 - r0, *at;

	rec_xgrow(&sp->at, &sp->at_cap, 2 * nr + 1, sizeof(size_t));
	at = sp->at;
	memset(at, 0, (nr + 1) * sizeof(size_t));
	*all = 0;
	for (size_t f = 0; f < b->schema->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		const struct rec_field *fd = &b->schema->field[f];
		uint32_t end = c->off[r1], j;
		if ((take && !take[f]) || end == c->off[r0])
			continue;
		*all += end - c->off[r0];
		if (all_kept(fd, c, r0, r1)) {
			for (size_t i = 1; i <= nr; i++)
				at[i]++;
			continue;
		}
		if (is_scalar(fd)) {
			for (size_t r = r0; r < r1; r++)
				at[r - r0 + 1] += scalar_keep(c, r, end, has_values(fd), &j);
			continue;
		}
		for (size_t r = r0; r < r1; r++)
			at[r - r0 + 1] += c->off[r + 1] - c->off[r];
		if (has_values(fd))
			for (size_t r = r0; r < r1; r++)
				for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++)
					at[r - r0 + 1] -= c->val[i] == 0;
	}
	for (size_t i = 1; i <= nr; i++)
		at[i] += at[i - 1];
	reserve(sp, at[nr] + 1); /* + 1: gather_scalar's place for what it drops */
	return at[nr];
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Scalar column c, field f, into the span, its rows row (REC_EMBED_NONE:
 * to be found): each record writes, one that keeps nothing into the
 * place past the span's end. numeric, valued and dense (all_kept) are
 * constants in each inlined copy, so that the loop carries no test of the
 * field's kind. */
ALWAYS_INLINE void gather_scalar_as(struct rec_featspan *sp, const struct rec_col *c, uint32_t f, size_t r0,
				    size_t r1, uint64_t numeric_id, uint32_t row, size_t *cur, int numeric,
				    int valued, int dense)
{
	uint32_t end = c->off[r1], j;
	size_t past = sp->at[r1 - r0];
	uint64_t *restrict id = sp->id;
	uint32_t *restrict rows = sp->rows, *restrict fld = sp->fld;
	float *restrict x = sp->x;

	for (size_t r = r0; r < r1; r++) {
		int keep = dense ? 1 : scalar_keep(c, r, end, valued, &j);
		if (dense)
			j = c->off[r0] + (uint32_t)(r - r0);
		size_t p = keep ? cur[r - r0] : past;
		float v = valued && keep ? c->val[j] : 1;
		id[p] = numeric ? numeric_id : c->id[j];
		rows[p] = row;
		fld[p] = f;
		x[p] = numeric ? squash(v) : v;
		cur[r - r0] += keep;
	}
}

static void gather_scalar(struct rec_featspan *sp, const struct rec_col *c, const struct rec_field *fd,
			  uint32_t f, size_t r0, size_t r1, uint64_t numeric_id, uint32_t row, size_t *cur)
{
	if (fd->kind == REC_NUMERIC)
		gather_scalar_as(sp, c, f, r0, r1, numeric_id, row, cur, 1, 1, 0);
	else if (has_values(fd))
		gather_scalar_as(sp, c, f, r0, r1, 0, row, cur, 0, 1, 0);
	else if (all_kept(fd, c, r0, r1))
		gather_scalar_as(sp, c, f, r0, r1, 0, row, cur, 0, 0, 1);
	else
		gather_scalar_as(sp, c, f, r0, r1, 0, row, cur, 0, 0, 0);
}

/* List column c, field f, into the span. */
static void gather_list(struct rec_featspan *sp, const struct rec_col *c, const struct rec_field *fd,
			uint32_t f, size_t r0, size_t r1, size_t *cur)
{
	int valued = has_values(fd);

	for (size_t r = r0; r < r1; r++)
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++) {
			if (valued && c->val[i] == 0)
				continue;
			size_t p = cur[r - r0]++;
			sp->id[p] = c->id[i];
			sp->rows[p] = REC_EMBED_NONE;
			sp->fld[p] = f;
			sp->x[p] = valued ? c->val[i] : 1;
		}
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
		if ((take && !take[f]) || c->off[r1] == c->off[r0])
			continue;
		const struct rec_field *fd = &s->field[f];
		int numeric = fd->kind == REC_NUMERIC;
		if (is_scalar(fd))
			gather_scalar(sp, c, fd, (uint32_t)f, r0, r1, numeric ? numeric_id[f] : 0,
				      numeric ? sp->field_row[f] : REC_EMBED_NONE, cur);
		else
			gather_list(sp, c, fd, (uint32_t)f, r0, r1, cur);
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

/* Each numeric field's one row, found once for the span rather than once
 * a record; REC_EMBED_NONE where it has none yet, so that it is created
 * in its place among the others. */
static void find_field_rows(struct rec_featspan *sp, struct rec_embed *e, const struct rec_schema *s,
			    const uint64_t *numeric_id, const unsigned char *take)
{
	rec_xgrow(&sp->field_row, &sp->field_row_cap, s->nfields, sizeof(uint32_t));
	for (size_t f = 0; f < s->nfields; f++)
		sp->field_row[f] = s->field[f].kind == REC_NUMERIC && (!take || take[f])
			? rec_embed_find(e, numeric_id[f], 0) : REC_EMBED_NONE;
}

size_t rec_featspan_lookup(struct rec_featspan *sp, struct rec_embed *e, const struct rec_block *b, size_t r0,
		       size_t r1, const uint64_t *numeric_id, const unsigned char *take, int create)
{
	size_t nr = r1 - r0, seen;

	count(sp, b, r0, r1, take, &seen);
	find_field_rows(sp, e, b->schema, numeric_id, take);
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
	free(sp->field_row);
	memset(sp, 0, sizeof(*sp));
}
