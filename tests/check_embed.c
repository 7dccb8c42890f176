/* check_embed.c - the embedding store: identity of rows, order-independent
 * initial values, admission, expiry, fp16 rounding, Adagrad, bytes per row,
 * and model files, read whole or streamed into the table. */
#include "config.h"
#include "tests.h"
#include "embed.h"
#include "model.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t nth_id(uint64_t i)
{
	return i * UINT64_C(0x9e3779b97f4a7c15) + 12345; /* spread over all 64 bits */
}

START_TEST(test_rows_by_id)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *e = rec_embed_new(&o);
	size_t n = 300000;

	for (uint64_t i = 0; i < n; i++)
		ck_assert_uint_eq(rec_embed_find(e, nth_id(i), 1), i);
	ck_assert_uint_eq(rec_embed_rows(e), n);
	for (uint64_t i = 0; i < n; i += 7) {
		uint32_t r = rec_embed_find(e, nth_id(i), 0);
		ck_assert_uint_eq(r, i);
		ck_assert_uint_eq(rec_embed_id(e, r), nth_id(i));
	}
	ck_assert_uint_eq(rec_embed_find(e, 42, 0), REC_EMBED_NONE);
	ck_assert_uint_eq(rec_embed_rows(e), n);
	/* small consecutive IDs (folded with --bits) index as well */
	for (uint64_t i = 0; i < 1000; i++)
		rec_embed_find(e, i, 1);
	for (uint64_t i = 0; i < 1000; i++)
		ck_assert_uint_eq(rec_embed_id(e, rec_embed_find(e, i, 0)), i);
	rec_embed_free(e);
}
END_TEST

/* IDs whose hashes differ in the low bits only all want one slot: linear
 * probing must tell them apart by the IDs in the rows. */
START_TEST(test_same_slot_and_tag)
{
	const uint64_t gold = UINT64_C(0x9e3779b97f4a7c15);
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *e = rec_embed_new(&o);
	uint64_t inv = gold;  /* gold^-1 mod 2^64 by Newton's iteration */

	for (int i = 0; i < 5; i++)
		inv *= 2 - gold * inv;
	ck_assert(inv * gold == 1);
	for (uint64_t i = 0; i < 5000; i++)
		ck_assert_uint_eq(rec_embed_find(e, i * inv, 1), i);  /* hashes 0, 1, 2, ... */
	for (uint64_t i = 0; i < 5000; i++)
		ck_assert_uint_eq(rec_embed_find(e, i * inv, 0), i);
	ck_assert_uint_eq(rec_embed_find(e, 5000 * inv, 0), REC_EMBED_NONE);
	rec_embed_free(e);
}
END_TEST

START_TEST(test_init_independent_of_order)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *a, *b;
	float ra[16], rb[16];

	o.seed = 3;
	a = rec_embed_new(&o);
	b = rec_embed_new(&o);
	for (uint64_t i = 0; i < 1000; i++) {
		rec_embed_find(a, nth_id(i), 1);
		rec_embed_find(b, nth_id(999 - i), 1);
	}
	for (uint64_t i = 0; i < 1000; i++) {
		rec_embed_read(a, rec_embed_find(a, nth_id(i), 0), ra);
		rec_embed_read(b, rec_embed_find(b, nth_id(i), 0), rb);
		ck_assert(memcmp(ra, rb, sizeof(ra)) == 0);
		for (int k = 0; k < 16; k++)
			ck_assert(fabsf(ra[k]) <= o.init_scale && ra[k] != 0);
	}
	rec_embed_read(a, 0, ra);
	rec_embed_read(a, 1, rb);
	ck_assert(memcmp(ra, rb, sizeof(ra)) != 0);
	rec_embed_free(a);
	rec_embed_free(b);
}
END_TEST

/* Initial values are uniform on [-s, s): mean 0, variance s^2 / 3, and the
 * two values cut from one random number (k even, k + 1) uncorrelated. An
 * odd dim has a last value with no partner. */
START_TEST(test_init_uniform)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	enum { ROWS = 20000, DIM = 5 };
	double sum[DIM] = { 0 }, sq[DIM] = { 0 }, cross[DIM] = { 0 };
	float r[DIM];
	struct rec_embed *e;

	o.dim = DIM;
	o.init_scale = 0.5f;
	e = rec_embed_new(&o);
	for (uint64_t i = 0; i < ROWS; i++) {
		rec_embed_read(e, rec_embed_find(e, nth_id(i), 1), r);
		for (int k = 0; k < DIM; k++) {
			ck_assert(r[k] >= -o.init_scale && r[k] < o.init_scale);
			sum[k] += r[k];
			sq[k] += (double)r[k] * r[k];
			if (k + 1 < DIM)
				cross[k] += (double)r[k] * r[k + 1];
		}
	}
	double var = 0.25 / 3, sd_mean = sqrt(var / ROWS);
	for (int k = 0; k < DIM; k++) {
		ck_assert_double_lt(fabs(sum[k] / ROWS), 4 * sd_mean);
		ck_assert_double_lt(fabs(sq[k] / ROWS / var - 1), 0.03);
		if (k + 1 < DIM) /* sd of the mean product: var / sqrt(ROWS) */
			ck_assert_double_lt(fabs(cross[k] / ROWS), 4 * var / sqrt(ROWS));
	}
	rec_embed_free(e);
}
END_TEST

START_TEST(test_admission_after_n_sightings)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *e;

	o.min_count = 3;
	e = rec_embed_new(&o);
	ck_assert_uint_eq(rec_embed_find(e, 77, 1), REC_EMBED_NONE);
	ck_assert_uint_eq(rec_embed_find(e, 77, 1), REC_EMBED_NONE);
	ck_assert_uint_eq(rec_embed_find(e, 78, 1), REC_EMBED_NONE);
	ck_assert_uint_eq(rec_embed_find(e, 77, 1), 0);
	ck_assert_uint_eq(rec_embed_find(e, 77, 0), 0);
	ck_assert_uint_eq(rec_embed_rows(e), 1);
	/* a lookup without create does not count as a sighting */
	ck_assert_uint_eq(rec_embed_find(e, 78, 0), REC_EMBED_NONE);
	ck_assert_uint_eq(rec_embed_find(e, 78, 1), REC_EMBED_NONE);
	ck_assert_uint_eq(rec_embed_find(e, 78, 1), 1);
	/* of 100000 IDs seen twice, none gets a row */
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < 100000; i++)
			rec_embed_find(e, nth_id(i), 1);
	ck_assert_uint_le(rec_embed_rows(e), 2 + 100); /* sketch collisions admit very few */
	rec_embed_free(e);
}
END_TEST

START_TEST(test_expiry)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *e;
	float before[16], after[16];

	o.expire_after = 2;
	e = rec_embed_new(&o);
	for (uint64_t i = 0; i < 10; i++)
		rec_embed_find(e, nth_id(i), 1);
	rec_embed_read(e, rec_embed_find(e, nth_id(9), 0), before);
	for (int t = 0; t < 3; t++) {
		rec_embed_tick(e);
		for (uint64_t i = 5; i < 10; i++) /* only the second half stays in use */
			rec_embed_find(e, nth_id(i), 0);
	}
	ck_assert_uint_eq(rec_embed_expire(e), 5);
	ck_assert_uint_eq(rec_embed_rows(e), 5);
	for (uint64_t i = 0; i < 5; i++)
		ck_assert_uint_eq(rec_embed_find(e, nth_id(i), 0), REC_EMBED_NONE);
	rec_embed_read(e, rec_embed_find(e, nth_id(9), 0), after);
	ck_assert(memcmp(before, after, sizeof(before)) == 0);
	rec_embed_free(e);
}
END_TEST

/* Expected bits from numpy's float32 -> float16 cast. */
START_TEST(test_half_rounding)
{
	static const struct { float f; uint16_t h; } cases[] = {
		{ 1.0f, 0x3c00 }, { 65504.0f, 0x7bff }, { 65519.0f, 0x7bff }, { 65520.0f, 0x7c00 },
		{ 1e-8f, 0x0000 }, { 5.96e-8f, 0x0001 }, { 2.98e-8f, 0x0000 }, { 3e-8f, 0x0001 },
		{ -2.0f, 0xc000 }, { 0.1f, 0x2e66 }, { 1.0f / 3, 0x3555 }, { 6.1035e-05f, 0x0400 },
		{ 0.0001f, 0x068e }, { -0.0f, 0x8000 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(rec_half_from_float(cases[i].f) == cases[i].h, "%g -> %#x, want %#x",
			      cases[i].f, rec_half_from_float(cases[i].f), cases[i].h);
	/* every finite half survives the trip through float */
	for (uint32_t h = 0; h < 0x10000; h++)
		if ((h & 0x7c00) != 0x7c00 || !(h & 0x3ff))
			ck_assert_uint_eq(rec_half_from_float(rec_half_to_float((uint16_t)h)), h);
	ck_assert(isnan(rec_half_to_float(rec_half_from_float(NAN))));
}
END_TEST

START_TEST(test_adagrad_matches_formula)
{
	for (int prec = REC_FP32; prec <= REC_FP16; prec++) {
		struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
		struct rec_embed *e;
		float row[16], g[16], got[16];
		double acc = 0;

		o.dim = 16;
		o.precision = prec;
		e = rec_embed_new(&o);
		rec_embed_find(e, 5, 1);
		rec_embed_read(e, 0, row);
		for (int step = 0; step < 3; step++) {
			double sq = 0;
			for (int k = 0; k < 16; k++) {
				g[k] = (float)(k - 7) * 0.01f * (float)(step + 1);
				sq += (double)g[k] * g[k];
			}
			acc += sq / 16;
			for (int k = 0; k < 16; k++)
				row[k] -= (float)(0.1 / (sqrt(acc) + 1e-8) * g[k]);
			rec_embed_adagrad(e, 0, g, 0.1f, 1e-8f);
		}
		rec_embed_read(e, 0, got);
		for (int k = 0; k < 16; k++)
			ck_assert_float_eq_tol(got[k], row[k], prec == REC_FP32 ? 1e-6 : 2e-3);
		ck_assert_float_eq_tol(rec_embed_state(e, 0), acc, 1e-6);
		rec_embed_free(e);
	}
}
END_TEST

/* find_many: the rows rec_embed_find gives one ID after another, new rows
 * created in the same order, across the index's growth; entries that come
 * with a row keep it and are not looked up. */
START_TEST(test_find_many_matches_find)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *one = rec_embed_new(&o), *many = rec_embed_new(&o);
	size_t n = 40000;
	uint64_t *ids = malloc(n * sizeof(*ids));
	uint32_t *rows = malloc(n * sizeof(*rows));
	uint64_t seed = 7;

	for (size_t i = 0; i < n; i++) /* repeats, new IDs and long runs of one */
		ids[i] = i % 5 == 4 ? ids[i - 1] : nth_id(rec_splitmix64(&seed) % 20000);
	for (size_t i = 0; i < n; i++)
		rows[i] = i % 7 == 3 ? (uint32_t)i : REC_EMBED_NONE;
	ck_assert_uint_eq(rec_embed_find_many(many, ids, n, 1, rows), 0);
	for (size_t i = 0; i < n; i++) {
		if (i % 7 == 3) {
			ck_assert_uint_eq(rows[i], i);
			continue;
		}
		ck_assert_uint_eq(rows[i], rec_embed_find(one, ids[i], 1));
	}
	ck_assert_uint_eq(rec_embed_rows(many), rec_embed_rows(one));
	/* without create, unknown IDs get none and are counted */
	for (size_t i = 0; i < n; i++) {
		ids[i] = i % 2 ? nth_id(i % 20000) : nth_id(100000 + i);
		rows[i] = REC_EMBED_NONE;
	}
	size_t rows_before = rec_embed_rows(many), none = rec_embed_find_many(many, ids, n, 0, rows), want = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(rows[i], rec_embed_find(one, ids[i], 0));
		want += rows[i] == REC_EMBED_NONE;
	}
	ck_assert_uint_eq(none, want);
	ck_assert_uint_ge(none, n / 2);
	ck_assert_uint_eq(rec_embed_rows(many), rows_before);
	free(ids);
	free(rows);
	rec_embed_free(one);
	rec_embed_free(many);
}
END_TEST

/* adagrad_many is rec_embed_adagrad row after row, to the bit: rows met
 * twice in one call, more rows than one pass takes, fp32 and fp16. */
START_TEST(test_adagrad_many_matches_one_by_one)
{
	static const unsigned dims[] = { 1, 9 };

	for (int prec = REC_FP32; prec <= REC_FP16; prec++)
		for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
			struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
			struct rec_embed *one, *many;
			size_t n = 700;
			uint32_t rows[700];
			float *g = malloc(n * dims[d] * sizeof(float)), a[9], b[9];
			uint64_t seed = 3;

			o.dim = dims[d];
			o.precision = prec;
			one = rec_embed_new(&o);
			many = rec_embed_new(&o);
			for (uint64_t i = 0; i < 300; i++) {
				rec_embed_find(one, nth_id(i), 1);
				rec_embed_find(many, nth_id(i), 1);
			}
			for (size_t i = 0; i < n; i++)
				rows[i] = (uint32_t)(rec_splitmix64(&seed) % 300);
			for (size_t j = 0; j < n * dims[d]; j++)
				g[j] = (float)((double)(rec_splitmix64(&seed) >> 11) * 0x1.0p-53 - 0.5);
			for (int round = 0; round < 2; round++) {
				rec_embed_adagrad_many(many, rows, n, g, 0.1f, 1e-7f);
				for (size_t i = 0; i < n; i++)
					rec_embed_adagrad(one, rows[i], g + i * dims[d], 0.1f, 1e-7f);
			}
			for (uint32_t r = 0; r < 300; r++) {
				rec_embed_read(one, r, a);
				rec_embed_read(many, r, b);
				ck_assert_mem_eq(a, b, dims[d] * sizeof(float));
				ck_assert_float_eq(rec_embed_state(one, r), rec_embed_state(many, r));
			}
			free(g);
			rec_embed_free(one);
			rec_embed_free(many);
		}
}
END_TEST

/* The accounting behind the memory targets: 88 B/row fp32, 56 B/row fp16 at
 * dim 16 including the index (bench/embed-mem measures RSS). */
START_TEST(test_bytes_per_row)
{
	for (int prec = REC_FP32; prec <= REC_FP16; prec++) {
		struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
		struct rec_embed *e;

		o.precision = prec;
		e = rec_embed_new(&o);
		for (uint64_t i = 0; i < 1000000; i++) {
			rec_embed_find(e, nth_id(i), 1);
			if (i > 1000 && (i & (i - 1)) == 0) /* just past each index doubling */
				ck_assert_uint_le(rec_embed_bytes(e) / rec_embed_rows(e), prec == REC_FP32 ? 88 : 56);
		}
		ck_assert_uint_le(rec_embed_bytes(e) / rec_embed_rows(e), prec == REC_FP32 ? 88 : 56);
		rec_embed_free(e);
	}
}
END_TEST

/* A table saved and loaded again, from a model read whole and from one
 * read lazily (the table streamed in): the same IDs, rows and Adagrad
 * state, rows in the same order. */
START_TEST(test_save_load)
{
	const char *path = test_tmpfile("embd.recm");
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	struct rec_embed *e, *back;
	struct rec_model_writer *w;
	size_t n = 90000;
	float a[7], b[7];

	o.dim = 7;
	e = rec_embed_new(&o);
	for (uint64_t i = 0; i < n; i++) {
		uint32_t r = rec_embed_find(e, nth_id(i), 1);
		rec_embed_set_state(e, r, (float)i / 3);
	}
	w = rec_model_create(path, 0);
	ck_assert_int_eq(rec_embed_save(e, w), 0);
	ck_assert_int_eq(rec_model_commit(w, NULL), 0);
	for (int lazy = 0; lazy <= 1; lazy++) {
		struct rec_model *m = lazy ? rec_model_open_lazy(path) : rec_model_open(path);
		ck_assert_ptr_nonnull(m);
		back = rec_embed_new(&o);
		ck_assert_int_eq(rec_embed_load(back, m), 0);
		ck_assert_ptr_null(m->rest);  /* read to the end */
		rec_model_close(m);
		ck_assert_uint_eq(rec_embed_rows(back), n);
		for (uint32_t r = 0; r < n; r++) {
			ck_assert_uint_eq(rec_embed_id(back, r), rec_embed_id(e, r));
			ck_assert(rec_embed_state(back, r) == rec_embed_state(e, r));
			rec_embed_read(e, r, a);
			rec_embed_read(back, r, b);
			ck_assert(memcmp(a, b, sizeof(a)) == 0);
		}
		rec_embed_free(back);
	}
	rec_embed_free(e);
}
END_TEST

Suite *suite_embed(void)
{
	Suite *s = suite_create("embed");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rows_by_id);
	tcase_add_test(tc, test_same_slot_and_tag);
	tcase_add_test(tc, test_init_uniform);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_init_independent_of_order);
	tcase_add_test(tc, test_admission_after_n_sightings);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_half_rounding);
	tcase_add_test(tc, test_adagrad_matches_formula);
	tcase_add_test(tc, test_find_many_matches_find);
	tcase_add_test(tc, test_adagrad_many_matches_one_by_one);
	tcase_add_test(tc, test_bytes_per_row);
	suite_add_tcase(s, tc);
	return s;
}
