/* check_featspan.c - a span of features against a plain record-by-record
 * reading of the block, and the squashing of numbers against log1p. */
#include "config.h"
#include "tests.h"
#include "featspan.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>

enum { NUM1, CAT, VCAT, LIST, NUM2, DENSE, NFIELDS };

static struct rec_schema *mixed_schema(void)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);

	rec_schema_add(s, "n1", REC_NUMERIC, 0);
	rec_schema_add(s, "c", REC_CATEGORICAL, 0);
	rec_schema_add(s, "vc", REC_CATEGORICAL, REC_FIELD_VALUED);
	rec_schema_add(s, "l", REC_LIST, REC_FIELD_VALUED);
	rec_schema_add(s, "n2", REC_NUMERIC, 0);
	rec_schema_add(s, "d", REC_CATEGORICAL, 0); /* in every record */
	return s;
}

/* Missing values, zeros, large and fractional numbers, in no pattern. */
static void random_records(struct rec_block *b, size_t n, uint64_t seed)
{
	static const float nums[] = { 0, 1, 3, 0.5f, -2, 1023, 1024, 54321, -70000.25f };

	for (size_t r = 0; r < n; r++) {
		uint64_t u = rec_splitmix64(&seed);
		if (u & 1)
			rec_block_add_num(b, NUM1, nums[(u >> 8) % 9]);
		if (u & 2)
			rec_block_add_id(b, CAT, 100 + (u >> 16) % 50, 0);
		if (u & 4)
			rec_block_add_id(b, VCAT, 200 + (u >> 24) % 50, (u >> 32) % 3 ? 0.5f : 0);
		for (unsigned k = 0; k < (u >> 40) % 4; k++)
			rec_block_add_id(b, LIST, 300 + k, k == 1 ? 0 : 2.0f);
		if (u & 8)
			rec_block_add_num(b, NUM2, nums[(u >> 48) % 9]);
		rec_block_add_id(b, DENSE, 400 + (u >> 56) % 30, 0);
		rec_block_end_record(b, 0, 1, NULL, 0);
	}
}

/* The features of record r with x != 0, in field order, rows found in
 * that order in ref; returns how many values the record has. */
static size_t expect(const struct rec_block *b, size_t r, const uint64_t *numeric_id, const unsigned char *take,
		     struct rec_embed *ref, struct rec_featspan *want, size_t *nwant)
{
	size_t all = 0;

	for (size_t f = 0; f < NFIELDS; f++) {
		const struct rec_col *c = &b->col[f];
		int numeric = f == NUM1 || f == NUM2;
		if (take && !take[f])
			continue;
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++, all++) {
			float x = numeric ? rec_squash(c->val[i]) : f == CAT || f == DENSE ? 1 : c->val[i];
			if (x == 0)
				continue;
			want->id[*nwant] = numeric ? numeric_id[f] : c->id[i];
			want->rows[*nwant] = rec_embed_find(ref, want->id[*nwant], 1);
			want->fld[*nwant] = (uint32_t)f;
			want->x[(*nwant)++] = x;
		}
	}
	return all;
}

static void check_spans(const unsigned char *take)
{
	static const uint64_t numeric_id[NFIELDS] = { [NUM1] = 7, [NUM2] = 9 };
	struct rec_schema *s = mixed_schema();
	struct rec_block *b = rec_block_new(s);
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *e = rec_embed_new(&o), *ref = rec_embed_new(&o);
	struct rec_featspan sp = { 0 }, want = { 0 };
	size_t n = 600;

	want.id = malloc(n * 8 * sizeof(uint64_t));
	want.rows = malloc(n * 8 * sizeof(uint32_t));
	want.fld = malloc(n * 8 * sizeof(uint32_t));
	want.x = malloc(n * 8 * sizeof(float));
	random_records(b, n, 11);
	/* spans of 1, 2, 3 ... records: the first finds no row for n1, n2 */
	for (size_t r0 = 0, len = 1; r0 < n; r0 += len, len++) {
		size_t r1 = r0 + len < n ? r0 + len : n, nwant = 0, all = 0;
		size_t seen = rec_featspan_lookup(&sp, e, b, r0, r1, numeric_id, take, 1);
		for (size_t r = r0; r < r1; r++) {
			ck_assert_uint_eq(sp.at[r - r0], nwant);
			all += expect(b, r, numeric_id, take, ref, &want, &nwant);
		}
		ck_assert_uint_eq(sp.at[r1 - r0], nwant);
		ck_assert_uint_eq(seen, all);
		for (size_t i = 0; i < nwant; i++) {
			ck_assert_uint_eq(sp.id[i], want.id[i]);
			ck_assert_uint_eq(sp.rows[i], want.rows[i]);
			ck_assert_uint_eq(sp.fld[i], want.fld[i]);
			ck_assert_float_eq(sp.x[i], want.x[i]);
		}
	}
	ck_assert_uint_eq(rec_embed_rows(e), rec_embed_rows(ref));
	rec_featspan_free(&sp);
	free(want.id);
	free(want.rows);
	free(want.fld);
	free(want.x);
	rec_embed_free(e);
	rec_embed_free(ref);
	rec_block_free(b);
	rec_schema_free(s);
}

START_TEST(test_span_matches_records)
{
	check_spans(NULL);
}
END_TEST

START_TEST(test_span_of_taken_fields)
{
	static const unsigned char take[NFIELDS] = { [CAT] = 1, [LIST] = 1, [NUM2] = 1, [DENSE] = 1 };

	check_spans(take);
}
END_TEST

/* Within one ulp of log1p in double, the table's integers, logf's range
 * past it and log1pf's fractions below it alike, and odd in x. */
START_TEST(test_squash_is_log1p)
{
	uint64_t seed = 5;

	for (int i = 0; i < 200000; i++) {
		float x = i < 100000 ? (float)i * (i % 3 ? 1.0f : 0.37f)
				     : (float)ldexp((double)(rec_splitmix64(&seed) >> 40), (int)(i % 40) - 24);
		double want = log1p((double)x);
		float got = rec_squash(x);
		ck_assert_msg(fabs(got - want) <= nextafterf((float)want, INFINITY) - (float)want,
			      "squash(%.9g) = %.9g, log1p %.9g", (double)x, (double)got, want);
		ck_assert_float_eq(rec_squash(-x), -got);
	}
}
END_TEST

Suite *suite_featspan(void)
{
	Suite *s = suite_create("featspan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_span_matches_records);
	tcase_add_test(tc, test_span_of_taken_fields);
	tcase_add_test(tc, test_squash_is_log1p);
	suite_add_tcase(s, tc);
	return s;
}
