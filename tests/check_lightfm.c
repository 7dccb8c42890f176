/* check_lightfm.c - lightfm: BPR and WARP gradients against central
 * differences, the popularity sampler against the counts, save/load round
 * trips, bad field roles, and learning planted groups well enough to beat
 * popularity and to place cold-start items by their attributes. */
#include "config.h"
#include "tests.h"
#include "lightfm.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static double frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffff) / 65536.0;
}

/* user, ugroup (user attribute), item, genres (item attribute list, valued),
 * price (numeric, never a feature). */
static struct rec_schema *schema(void)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);

	rec_schema_add(s, "user", REC_CATEGORICAL, 0);
	rec_schema_add(s, "ugroup", REC_CATEGORICAL, 0);
	rec_schema_add(s, "item", REC_CATEGORICAL, 0);
	rec_schema_add(s, "genres", REC_LIST, REC_FIELD_VALUED);
	rec_schema_add(s, "price", REC_NUMERIC, 0);
	return s;
}

static struct rec_lightfm *model(const struct rec_schema *s, int loss, unsigned k, float scale)
{
	struct rec_lightfm_opts o = REC_LIGHTFM_OPTS_INIT;

	o.k = k;
	o.loss = loss;
	o.init_scale = scale;
	o.seed = 3;
	strcpy(o.user_features, "ugroup");
	strcpy(o.item_features, "genres");
	return rec_lightfm_new(s, &o);
}

/* One interaction: item i has the genres 300 + i % 4 and 300 + (i + 1) % 4
 * (values 1 and 0.5), or none when i is odd and bare is set. */
static void add(struct rec_block *b, uint64_t user, uint64_t ugroup, uint64_t item, int bare, float label)
{
	rec_block_add_id(b, 0, user, 1);
	rec_block_add_id(b, 1, ugroup, 1);
	rec_block_add_id(b, 2, item, 1);
	if (!(bare && item % 2)) {
		rec_block_add_id(b, 3, 300 + item % 4, 1);
		rec_block_add_id(b, 3, 300 + (item + 1) % 4, 0.5f);
	}
	rec_block_add_num(b, 4, 9.5f);
	rec_block_end_record(b, label, 1, NULL, 0);
}

/* ---- gradients ----------------------------------------------------------- */

static double rel_err(double num, double g)
{
	return fabs(num - g) / fmax(5e-3, fmax(fabs(num), fabs(g)));
}

static double loss_at(struct rec_lightfm *m, const struct rec_block *b, size_t r, size_t neg,
		      uint32_t row, unsigned d, float v)
{
	float x[64], keep;
	double l;

	rec_embed_read(m->table, row, x);
	keep = x[d];
	x[d] = v;
	rec_embed_write(m->table, row, x);
	l = rec_lightfm_loss(m, b, r, neg, 0.7f, 0);
	x[d] = keep;
	rec_embed_write(m->table, row, x);
	return l;
}

/* Every coordinate of every row the triple (record r, negative neg)
 * touches, against central differences. Returns the worst relative error;
 * *n counts the coordinates compared. */
static double check_triple(struct rec_lightfm *m, const struct rec_block *b, size_t r, size_t neg, size_t *n)
{
	const float h = 1e-3f;
	uint64_t ids[64];
	size_t nid = 0;
	double worst = 0;

	rec_lightfm_loss(m, b, r, neg, 0.7f, 1);
	for (uint32_t row = 0; row < rec_embed_rows(m->table); row++)
		if (rec_lightfm_row_grad(m, rec_embed_id(m->table, row)) && nid < 64)
			ids[nid++] = rec_embed_id(m->table, row);
	ck_assert_uint_ge(nid, 5);   /* user, ugroup, two items, genres */
	for (size_t i = 0; i < nid; i++) {
		uint32_t row = rec_embed_find(m->table, ids[i], 0);
		float x[64], g[64];
		rec_lightfm_loss(m, b, r, neg, 0.7f, 1);
		memcpy(g, rec_lightfm_row_grad(m, ids[i]), m->rowdim * sizeof(float));
		rec_embed_read(m->table, row, x);
		for (unsigned d = 0; d < m->rowdim; d++) {
			double num = (loss_at(m, b, r, neg, row, d, x[d] + h) -
				      loss_at(m, b, r, neg, row, d, x[d] - h)) / (2.0 * h);
			worst = fmax(worst, rel_err(num, g[d]));
			(*n)++;
		}
	}
	return worst;
}

static void gradient_check(int loss)
{
	struct rec_schema *s = schema();
	struct rec_block *b = rec_block_new(s);
	struct rec_lightfm *m = model(s, loss, 4, 0.5f);
	size_t n = 0;
	double worst = 0;

	ck_assert_ptr_nonnull(m);
	for (uint64_t r = 0; r < 8; r++)
		add(b, 100 + r % 3, 150 + r % 2, 200 + r, 0, 1);
	for (size_t r = 0; r < b->n; r++)   /* fills the catalogue, makes the rows */
		rec_lightfm_loss(m, b, r, 0, 0.7f, 0);
	for (size_t r = 0; r < 6; r++)
		worst = fmax(worst, check_triple(m, b, r, (r + 3) % 8, &n));
	ck_assert_uint_gt(n, 100);
	ck_assert_msg(worst < 1e-2, "%s: worst relative error %g over %zu", rec_lightfm_loss_name(loss),
		      worst, n);
	rec_lightfm_free(m);
	rec_block_free(b);
	rec_schema_free(s);
}

START_TEST(test_bpr_gradients) { gradient_check(REC_LOSS_BPR); }
END_TEST
START_TEST(test_warp_gradients) { gradient_check(REC_LOSS_WARP); }
END_TEST

/* ---- the sampler --------------------------------------------------------- */

/* Item 200 + i has i + 1 positives; popular draws for item 200 follow the
 * others' counts, uniform draws are flat; never the positive itself. */
START_TEST(test_popular_sampler)
{
	struct rec_schema *s = schema();
	struct rec_block *b = rec_block_new(s);
	struct rec_lightfm *m = model(s, REC_LOSS_BPR, 2, 0.1f);
	size_t hits[12] = { 0 }, draws = 200000, total = 0;
	double loss = 0, worst = 0;

	for (uint64_t i = 0; i < 12; i++)
		for (uint64_t c = 0; c <= i; c++)
			add(b, 100 + c, 150, 200 + i, 0, 1);
	rec_lightfm_train_block(m, b, &loss);
	ck_assert_uint_eq(m->items.n, 12);
	for (size_t i = 1; i < 12; i++)
		total += i + 1;
	for (int pass = 0; pass < 2; pass++) {
		m->o.negatives = pass ? REC_NEG_UNIFORM : REC_NEG_POPULAR;
		memset(hits, 0, sizeof(hits));
		worst = 0;
		for (size_t t = 0; t < draws; t++) {
			long j = rec_lightfm_sample(m, 0);
			ck_assert(j > 0 && j < 12);
			hits[j]++;
		}
		for (size_t i = 1; i < 12; i++) {
			long c = rec_lightfm_find_item(m, 200 + i);
			double want = pass ? 1.0 / 11 : (double)(i + 1) / (double)total;
			ck_assert_int_ge(c, 0);
			worst = fmax(worst, fabs((double)hits[c] / (double)draws - want) / want);
		}
		ck_assert_msg(worst < 0.05, "%s sampler off by %g", pass ? "uniform" : "popular", worst);
	}
	rec_lightfm_free(m);
	rec_block_free(b);
	rec_schema_free(s);
}
END_TEST

/* ---- learning ------------------------------------------------------------ */

/* 4 groups: user u and item i belong to u % 4 and i % 4 (item genres say
 * it). Each user has 8 training positives and 2 held out, all in its group;
 * items 40..47 never appear in training (cold start). Every item is about
 * equally popular, so popularity ranks at chance. */
#define USERS 120
#define ITEMS 40

static struct rec_block *planted(const struct rec_schema *s, int held_out, unsigned seed)
{
	struct rec_block *b = rec_block_new(s);

	for (uint64_t u = 0; u < USERS; u++)
		for (int t = 0; t < (held_out ? 2 : 8); t++) {
			uint64_t i = (uint64_t)(frand(&seed) * (ITEMS / 4)) * 4 + u % 4;
			add(b, 1000 + u, 150 + u % 4, 2000 + i, 0, 1);
		}
	return b;
}

/* Share of (held-out positive, random item of another group) pairs the
 * scorer ranks right. */
static double pair_accuracy(struct rec_lightfm *m, const struct rec_block *test, int popularity)
{
	float p[64], q[64], qn[64];
	unsigned seed = 11;
	size_t right = 0, n = 0;

	for (size_t r = 0; r < test->n; r++) {
		int ok;
		uint64_t u = rec_lightfm_user_id(m, test, r, &ok) - 1000;
		long i = rec_lightfm_find_item(m, rec_lightfm_item_id(m, test, r, &ok)), j;
		uint64_t other = (uint64_t)(frand(&seed) * (ITEMS / 4)) * 4 + (u + 1 + (uint64_t)(frand(&seed) * 3)) % 4;
		float si, sj;
		j = rec_lightfm_find_item(m, 2000 + other);
		if (i < 0 || j < 0)
			continue;
		if (popularity) {
			si = (float)m->items.count[i];
			sj = (float)m->items.count[j];
		} else {
			rec_lightfm_user(m, test, r, p);
			rec_lightfm_item(m, (size_t)i, q);
			rec_lightfm_item(m, (size_t)j, qn);
			si = sj = 0;
			for (unsigned d = 0; d <= m->o.k; d++) {
				si += p[d] * q[d];
				sj += p[d] * qn[d];
			}
		}
		right += si > sj ? 2 : si == sj ? 1 : 0;
		n += 2;
	}
	ck_assert_uint_gt(n, 100);
	return (double)right / (double)n;
}

/* Cold start: items 40..47, never trained, scored from a record holding
 * only their ID and genres; a user's own group must come out on top. */
static double cold_start_accuracy(struct rec_lightfm *m, const struct rec_schema *s)
{
	struct rec_block *b = rec_block_new(s);
	float p[64], q[8][64];
	size_t right = 0;

	for (uint64_t i = 40; i < 48; i++)
		add(b, 1000, 150, 2000 + i, 0, 1);
	for (size_t r = 0; r < 8; r++)
		ck_assert_uint_eq(rec_lightfm_record_item(m, b, r, q[r]), 2);   /* genres only */
	for (size_t u = 0; u < USERS; u++) {
		struct rec_block *ub = rec_block_new(s);
		float best = -INFINITY;
		size_t arg = 0;
		add(ub, 1000 + u, 150 + u % 4, 2000, 0, 1);
		rec_lightfm_user(m, ub, 0, p);
		for (size_t r = 0; r < 8; r++) {
			float sc = 0;
			for (unsigned d = 0; d <= m->o.k; d++)
				sc += p[d] * q[r][d];
			if (sc > best) {
				best = sc;
				arg = r;
			}
		}
		right += (40 + arg) % 4 == u % 4;
		rec_block_free(ub);
	}
	rec_block_free(b);
	return (double)right / USERS;
}

static void learns(int loss, int negatives)
{
	struct rec_schema *s = schema();
	struct rec_block *train = planted(s, 0, 1), *test = planted(s, 1, 2);
	struct rec_lightfm *m = model(s, loss, 8, 0.05f);
	double l = 0, acc, pop, cold;

	m->o.negatives = negatives;
	for (int e = 0; e < 20; e++)
		rec_lightfm_train_block(m, train, &l);
	acc = pair_accuracy(m, test, 0);
	pop = pair_accuracy(m, test, 1);
	cold = cold_start_accuracy(m, s);
	fprintf(stderr, "lightfm %s %s: held-out pairs %.3f (popularity %.3f), cold start %.3f\n",
		rec_lightfm_loss_name(loss), rec_lightfm_neg_name(negatives), acc, pop, cold);
	ck_assert_msg(acc > 0.9, "held-out pair accuracy %g", acc);
	ck_assert_msg(acc > pop + 0.25, "%g does not beat popularity %g", acc, pop);
	ck_assert_msg(cold > 0.9, "cold-start accuracy %g", cold);
	rec_lightfm_free(m);
	rec_block_free(train);
	rec_block_free(test);
	rec_schema_free(s);
}

START_TEST(test_warp_learns) { learns(REC_LOSS_WARP, REC_NEG_UNIFORM); }
END_TEST
START_TEST(test_bpr_popular_learns) { learns(REC_LOSS_BPR, REC_NEG_POPULAR); }
END_TEST

/* ---- files and bad input ------------------------------------------------- */

START_TEST(test_save_load)
{
	struct rec_schema *s = schema();
	struct rec_block *train = planted(s, 0, 1);
	struct rec_lightfm *m = model(s, REC_LOSS_WARP, 4, 0.05f), *back;
	struct rec_model *mf;
	const char *path = test_tmpfile("lightfm.recm");
	float a[64], c[64];
	double l = 0;

	rec_lightfm_train_block(m, train, &l);
	ck_assert_int_eq(rec_lightfm_save(m, path, NULL), 0);
	mf = rec_model_open(path);
	ck_assert_ptr_nonnull(mf);
	back = rec_lightfm_load_model(mf);
	rec_model_close(mf);
	ck_assert_ptr_nonnull(back);
	ck_assert_uint_eq(back->items.n, m->items.n);
	ck_assert_uint_eq(back->trained, m->trained);
	ck_assert(back->rng == m->rng);
	ck_assert_int_eq(back->o.loss, REC_LOSS_WARP);
	ck_assert_str_eq(back->o.item_features, "genres");
	for (size_t i = 0; i < m->items.n; i++) {
		rec_lightfm_item(m, i, a);
		rec_lightfm_item(back, i, c);
		ck_assert(back->items.id[i] == m->items.id[i]);
		ck_assert_uint_eq(back->items.count[i], m->items.count[i]);
		ck_assert_mem_eq(a, c, back->rowdim * sizeof(float));
	}
	/* the same draws after loading: a resumed run samples what it would have */
	for (int t = 0; t < 100; t++)
		ck_assert_int_eq(rec_lightfm_sample(back, 0), rec_lightfm_sample(m, 0));
	rec_lightfm_free(back);
	rec_lightfm_free(m);
	rec_block_free(train);
	rec_schema_free(s);
}
END_TEST

START_TEST(test_bad_fields)
{
	struct rec_schema *s = schema();
	struct rec_lightfm_opts o = REC_LIGHTFM_OPTS_INIT;

	strcpy(o.item_features, "genres,price");   /* numeric */
	ck_assert_ptr_null(rec_lightfm_new(s, &o));
	strcpy(o.item_features, "genres,ugroup");
	strcpy(o.user_features, "ugroup");          /* both roles */
	ck_assert_ptr_null(rec_lightfm_new(s, &o));
	strcpy(o.user_features, "nosuch");
	ck_assert_ptr_null(rec_lightfm_new(s, &o));
	strcpy(o.user_features, "");
	strcpy(o.item_features, "genres,");
	ck_assert_ptr_null(rec_lightfm_new(s, &o));
	strcpy(o.item_features, "");
	strcpy(o.item_field, "user");
	ck_assert_ptr_null(rec_lightfm_new(s, &o));
	rec_schema_free(s);
}
END_TEST

/* A user seen nowhere scores every item by its bias alone; an item with
 * no attributes gets its ID row only; records without an item are skipped. */
START_TEST(test_unknown_and_bare)
{
	struct rec_schema *s = schema();
	struct rec_block *b = rec_block_new(s), *u = rec_block_new(s);
	struct rec_lightfm *m = model(s, REC_LOSS_BPR, 4, 0.1f);
	float p[64], q[64];
	double l = 0;

	for (uint64_t i = 0; i < 6; i++)
		add(b, 100 + i % 2, 150, 200 + i, 1, 1);
	rec_block_add_id(b, 0, 100, 1);   /* no item at all */
	rec_block_end_record(b, 1, 1, NULL, 0);
	rec_lightfm_train_block(m, b, &l);
	ck_assert_uint_eq(m->items.n, 6);
	ck_assert_uint_eq(m->trained, 6);
	ck_assert_uint_eq(m->items.off[2] - m->items.off[1], 1);   /* item 201: bare */
	ck_assert_uint_eq(m->items.off[1] - m->items.off[0], 3);
	add(u, 999, 998, 200, 0, 1);
	ck_assert_uint_eq(rec_lightfm_user(m, u, 0, p), 0);
	for (unsigned d = 0; d < 4; d++)
		ck_assert(p[d] == 0);
	ck_assert(p[4] == 1);
	rec_lightfm_item(m, 0, q);
	ck_assert(q[4] != 0);
	rec_lightfm_free(m);
	rec_block_free(b);
	rec_block_free(u);
	rec_schema_free(s);
}
END_TEST

Suite *suite_lightfm(void)
{
	Suite *s = suite_create("lightfm");
	TCase *tc = tcase_create("lightfm");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bpr_gradients);
	tcase_add_test(tc, test_warp_gradients);
	tcase_add_test(tc, test_popular_sampler);
	tcase_add_test(tc, test_warp_learns);
	tcase_add_test(tc, test_bpr_popular_learns);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_unknown_and_bare);
	suite_add_tcase(s, tc);
	return s;
}
