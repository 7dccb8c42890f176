/* check_fm.c - factorization machine kernels against finite differences and
 * against the pairwise definition; the trainer's FFM, optimizers and
 * learning-rate schedule on small planted problems. */
#include "config.h"
#include "tests.h"
#include "fm.h"
#include "fmtrain.h"
#include "metrics.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffff) / 65536.0 - 0.5;
}

/* The definition, in double: sum over pairs. */
static double fm_direct(const float *R, const float *x, size_t n, unsigned k, float w0)
{
	double z = w0;

	for (size_t i = 0; i < n; i++) {
		z += R[i * (k + 1)] * (double)x[i];
		for (size_t j = i + 1; j < n; j++)
			for (unsigned f = 0; f < k; f++)
				z += (double)R[i * (k + 1) + 1 + f] * R[j * (k + 1) + 1 + f] * x[i] * x[j];
	}
	return z;
}

/* P[i] = row i of R (n rows of 1 + k floats), as the kernels take them. */
static const float *const *rows_of(const float **P, const float *R, size_t n, unsigned k)
{
	for (size_t i = 0; i < n; i++)
		P[i] = R + i * (k + 1);
	return P;
}

/* Every k takes the kernel's 8- and 4-factor blocks and its one-by-one
 * tail in some mix; k = 0 is logistic regression. */
START_TEST(test_forward_matches_definition)
{
	static const unsigned ks[] = { 0, 1, 3, 4, 5, 8, 12, 13, 16, 21 };
	static const size_t ns[] = { 1, 5, 13 };
	unsigned seed = 7;
	float R[13 * 22], x[13], sum_v[21];
	const float *P[13];

	for (size_t a = 0; a < sizeof(ks) / sizeof(ks[0]); a++)
		for (size_t b = 0; b < sizeof(ns) / sizeof(ns[0]); b++) {
			unsigned k = ks[a];
			size_t n = ns[b];
			for (size_t i = 0; i < n * (k + 1); i++)
				R[i] = (float)frand(&seed);
			for (size_t i = 0; i < n; i++)
				x[i] = i % 3 ? 1.0f : (float)(2 * frand(&seed));
			ck_assert_double_eq_tol(rec_fm_forward(sum_v, rows_of(P, R, n, k), x, n, k, 0.3f),
						fm_direct(R, x, n, k, 0.3f), 1e-5);
			/* sum_v, which backward takes */
			for (unsigned f = 0; f < k; f++) {
				double sv = 0;
				for (size_t i = 0; i < n; i++)
					sv += (double)R[i * (k + 1) + 1 + f] * x[i];
				ck_assert_double_eq_tol(sum_v[f], sv, 1e-5);
			}
		}
}
END_TEST

/* Central differences in double on the direct definition. */
START_TEST(test_backward_finite_differences)
{
	unsigned seed = 11, k = 6;
	size_t n = 9, m = n * (k + 1);
	float R[9 * 7], dR[9 * 7], x[9], sum_v[6], h = 1e-2f;
	const float *P[9];
	double worst = 0;

	for (size_t i = 0; i < m; i++)
		R[i] = (float)frand(&seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(1 + frand(&seed));
	rec_fm_forward(sum_v, rows_of(P, R, n, k), x, n, k, 0);
	rec_fm_backward(dR, P, x, sum_v, n, k, 1.0f);
	for (size_t i = 0; i < m; i++) {
		float keep = R[i];
		R[i] = keep + h;
		double up = fm_direct(R, x, n, k, 0);
		R[i] = keep - h;
		double down = fm_direct(R, x, n, k, 0);
		R[i] = keep;
		double num = (up - down) / (2 * (double)h);
		double rel = fabs(num - dR[i]) / fmax(1e-6, fabs(num) + fabs(dR[i]));
		worst = fmax(worst, rel);
	}
	ck_assert_msg(worst < 1e-4, "worst relative error %g", worst);
}
END_TEST

START_TEST(test_logistic_loss)
{
	float d;

	ck_assert_double_eq_tol(rec_logistic_loss(0, 1, &d), log(2), 1e-6);
	ck_assert_double_eq_tol(d, -0.5, 1e-6);
	ck_assert_double_eq_tol(rec_logistic_loss(2, 0, &d), log1p(exp(2)), 1e-5);
	ck_assert_double_eq_tol(d, 1 / (1 + exp(-2)), 1e-6);
	/* large logits stay finite */
	ck_assert(isfinite(rec_logistic_loss(100, 0, &d)) && fabs(rec_logistic_loss(100, 0, &d) - 100) < 1e-3);
	ck_assert(isfinite(rec_logistic_loss(-100, 0, &d)));
	/* both signs of the logit, both labels, against double precision */
	for (float z = -30; z <= 30; z += 0.7f)
		for (int y = 0; y <= 1; y++) {
			double loss = fmax(z, 0) - z * y + log1p(exp(-fabs(z))), g = 1 / (1 + exp(-z)) - y;
			ck_assert_double_eq_tol(rec_logistic_loss(z, (float)y, &d), loss, 1e-6 * (1 + loss));
			ck_assert_double_eq_tol(d, g, 1e-7);
		}
}
END_TEST

/* ---- field-aware FM kernels ------------------------------------------------ */

/* The FFM definition, in double: sum over pairs. */
static double ffm_direct(const float *R, const float *x, const uint32_t *fld, size_t n, unsigned F,
			 unsigned k, float w0)
{
	size_t stride = 1 + (size_t)F * k;
	double z = w0;

	for (size_t i = 0; i < n; i++) {
		z += R[i * stride] * (double)x[i];
		for (size_t j = i + 1; j < n; j++) {
			const float *a = R + i * stride + 1 + fld[j] * k, *b = R + j * stride + 1 + fld[i] * k;
			double dot = 0;
			for (unsigned f = 0; f < k; f++)
				dot += (double)a[f] * b[f];
			z += dot * x[i] * x[j];
		}
	}
	return z;
}

/* n features over F fields, k factors: field 0 gets several features (a
 * multi-valued field), x ranges over 1, fractions and negatives. */
static const struct { size_t n; unsigned F, k; } ffm_shapes[] = {
	{ 2, 2, 1 }, { 5, 3, 4 }, { 9, 4, 8 }, { 14, 6, 3 }, { 20, 3, 16 },
};

static void ffm_example(float *R, float *x, uint32_t *fld, size_t n, unsigned F, unsigned k,
			unsigned seed)
{
	for (size_t i = 0; i < n * (1 + F * k); i++)
		R[i] = (float)frand(&seed);
	for (size_t i = 0; i < n; i++) {
		fld[i] = i < n / 3 ? 0 : (uint32_t)(i % F);
		x[i] = i % 4 == 0 ? 1.0f : (float)(3 * frand(&seed));
	}
}

START_TEST(test_ffm_forward_matches_definition)
{
	size_t n = ffm_shapes[_i].n;
	unsigned F = ffm_shapes[_i].F, k = ffm_shapes[_i].k;
	float *R = malloc(n * (1 + F * k) * sizeof(float)), x[32], acc[16];
	uint32_t fld[32];

	ffm_example(R, x, fld, n, F, k, 3 + (unsigned)_i);
	ck_assert_double_eq_tol(rec_ffm_forward(acc, R, x, fld, n, F, k, 0.3f),
				ffm_direct(R, x, fld, n, F, k, 0.3f), 1e-5);
	free(R);
}
END_TEST

/* Central differences in double on the definition, divided by the step the
 * float actually took. */
START_TEST(test_ffm_backward_finite_differences)
{
	size_t n = ffm_shapes[_i].n, m = n * (1 + ffm_shapes[_i].F * ffm_shapes[_i].k);
	unsigned F = ffm_shapes[_i].F, k = ffm_shapes[_i].k;
	float *R = malloc(m * sizeof(float)), *dR = malloc(m * sizeof(float)), x[32], h = 1e-2f;
	uint32_t fld[32];
	double worst = 0;

	ffm_example(R, x, fld, n, F, k, 17 + (unsigned)_i);
	rec_ffm_backward(dR, R, x, fld, n, F, k, 0.7f);
	for (size_t i = 0; i < m; i++) {
		float keep = R[i], up, down;
		R[i] = up = keep + h;
		double zu = ffm_direct(R, x, fld, n, F, k, 0);
		R[i] = down = keep - h;
		double zd = ffm_direct(R, x, fld, n, F, k, 0);
		R[i] = keep;
		double num = 0.7 * (zu - zd) / ((double)up - down);
		worst = fmax(worst, fabs(num - dR[i]) / fmax(1e-5, fabs(num) + fabs(dR[i])));
	}
	ck_assert_msg(worst < 1e-3, "n %zu F %u k %u: worst relative error %g", n, F, k, worst);
	free(R);
	free(dR);
}
END_TEST

/* ---- training ------------------------------------------------------------- */

static double rng_unit(uint64_t *s)
{
	return (double)(rec_splitmix64(s) >> 11) * 0x1.0p-53;
}

/* A hashed schema of nf categorical fields "c0".."c<nf-1>". */
static struct rec_schema *cat_schema(size_t nf)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);
	char name[24];

	s->id_bits = 64;
	s->seed = 5;
	for (size_t f = 0; f < nf; f++) {
		snprintf(name, sizeof(name), "c%zu", f);
		ck_assert_int_eq(rec_schema_add(s, name, REC_CATEGORICAL, 0), (int)f);
	}
	return s;
}

/* The ID of value v of field f. */
static uint64_t vid(size_t f, unsigned v)
{
	return ((uint64_t)(f + 1) << 32) | v;
}

static float sigmoid(double z)
{
	return (float)(1 / (1 + exp(-z)));
}

static void train(struct rec_fm_model *m, const struct rec_block *b, size_t epochs)
{
	double loss = 0;

	for (size_t e = 0; e < epochs; e++)
		rec_fm_train_block(m, b, &loss);
}

/* AUC of the model's scores on b, and of the true probabilities p (the
 * Bayes AUC) into *bayes. */
static double auc_of(struct rec_fm_model *m, const struct rec_block *b, const float *p, double *bayes)
{
	float *score = malloc(b->n * sizeof(float));
	double auc;

	for (size_t r = 0; r < b->n; r++)
		score[r] = rec_fm_predict(m, b, r);
	auc = rec_auc(score, b->label, NULL, b->n);
	*bayes = rec_auc(p, b->label, NULL, b->n);
	free(score);
	return auc;
}

/* Three fields of 10 values and no main effects: logit = 2.5 s(a) t(b) +
 * 2.5 s'(a) u(c), the signs balanced over the values. Field a shows one
 * face to field b and an unrelated one to field c: an FFM holds that at
 * k = 1, logistic regression sees nothing (AUC 0.5). */
static void planted_ffm(struct rec_block *b, size_t n, uint64_t seed, float *p)
{
	static const int sa[10] = { 1, -1, 1, 1, -1, -1, 1, -1, 1, -1 };
	static const int sa2[10] = { 1, 1, -1, -1, 1, -1, -1, 1, 1, -1 };
	static const int tb[10] = { 1, 1, 1, 1, 1, -1, -1, -1, -1, -1 };
	static const int uc[10] = { -1, 1, -1, 1, -1, 1, -1, 1, -1, 1 };

	for (size_t r = 0; r < n; r++) {
		unsigned a = (unsigned)(rec_splitmix64(&seed) % 10), v = (unsigned)(rec_splitmix64(&seed) % 10);
		unsigned c = (unsigned)(rec_splitmix64(&seed) % 10);
		p[r] = sigmoid(2.5 * sa[a] * tb[v] + 2.5 * sa2[a] * uc[c]);
		rec_block_add_id(b, 0, vid(0, a), 0);
		rec_block_add_id(b, 1, vid(1, v), 0);
		rec_block_add_id(b, 2, vid(2, c), 0);
		rec_block_end_record(b, rng_unit(&seed) < p[r], 1, NULL, 0);
	}
}

/* One epoch of 20000 examples, k = 4: each of the 200 interaction cells gets
 * about 100. The held-out Bayes AUC is about 0.87; over 10 data seeds the
 * FFM ended within 0.003 of it, with Adagrad and with SGD, so 0.02 leaves a
 * wide margin while a model that missed either interaction would be far
 * below (LR, which sees none, measures 0.50). */
START_TEST(test_ffm_learns_field_aware_interaction)
{
	static const int opts[] = { REC_OPT_ADAGRAD, REC_OPT_SGD };
	struct rec_schema *s = cat_schema(3);
	struct rec_block *tr = rec_block_new(s), *te = rec_block_new(s);
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m, *lr;
	float *ptr = malloc(20000 * sizeof(float)), *pte = malloc(5000 * sizeof(float));
	double auc, bayes, lr_auc;

	planted_ffm(tr, 20000, 1, ptr);
	planted_ffm(te, 5000, 2, pte);
	o.k = 4;
	o.seed = 1;
	o.ffm = 1;
	o.optimizer = opts[_i];
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	ck_assert_uint_eq(m->dim, 1 + 3 * 4);
	train(m, tr, 1);
	auc = auc_of(m, te, pte, &bayes);
	o.k = 0;
	o.ffm = 0;
	ck_assert_ptr_nonnull(lr = rec_fm_new(s, &o));
	train(lr, tr, 1);
	lr_auc = auc_of(lr, te, pte, &bayes);
	ck_assert_msg(bayes > 0.85 && auc > bayes - 0.02 && lr_auc < 0.55,
		      "%s: ffm auc %.4f, lr %.4f, bayes %.4f", rec_optimizer_name(opts[_i]), auc, lr_auc,
		      bayes);
	rec_fm_free(m);
	rec_fm_free(lr);
	rec_block_free(tr);
	rec_block_free(te);
	rec_schema_free(s);
	free(ptr);
	free(pte);
}
END_TEST

/* Every field kind: numeric, categorical, a valued list of several IDs. */
static struct rec_schema *mixed_schema(void)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);

	s->id_bits = 64;
	s->seed = 9;
	ck_assert_int_eq(rec_schema_add(s, "price", REC_NUMERIC, 0), 0);
	ck_assert_int_eq(rec_schema_add(s, "item", REC_CATEGORICAL, 0), 1);
	ck_assert_int_eq(rec_schema_add(s, "tags", REC_LIST, REC_FIELD_VALUED), 2);
	return s;
}

static void mixed_records(struct rec_block *b, size_t n, uint64_t seed)
{
	for (size_t r = 0; r < n; r++) {
		unsigned item = (unsigned)(rec_splitmix64(&seed) % 50), ntags = (unsigned)(rec_splitmix64(&seed) % 4);
		if (r % 3)
			rec_block_add_num(b, 0, (float)(rng_unit(&seed) * 100));
		rec_block_add_id(b, 1, vid(1, item), 0);
		for (unsigned t = 0; t < ntags; t++)
			rec_block_add_id(b, 2, vid(2, (unsigned)(rec_splitmix64(&seed) % 20)),
					 (float)(0.5 + rng_unit(&seed)));
		rec_block_end_record(b, (item % 3 == 0) ^ (ntags > 1), 1, NULL, 0);
	}
}

/* Copies model src to dst with key set to val in the manifest. */
static void doctor_model(const char *src, const char *dst, const char *key, const char *val)
{
	struct rec_model *mf = rec_model_open(src);
	struct rec_model_writer *w = rec_model_create(dst, 1);
	struct rec_kv kv = { 0 };

	ck_assert_ptr_nonnull(mf);
	ck_assert_ptr_nonnull(w);
	for (size_t i = 0; i < mf->manifest.n; i++)
		rec_kv_set(&kv, mf->manifest.key[i], mf->manifest.val[i]);
	rec_kv_set(&kv, key, val);
	for (size_t i = 0; i < mf->nt; i++)
		ck_assert_int_eq(rec_model_add(w, mf->t[i].name, mf->t[i].dtype, mf->t[i].shape,
					       mf->t[i].ndim, mf->t[i].data), 0);
	ck_assert_int_eq(rec_model_commit(w, &kv), 0);
	rec_kv_free(&kv);
	rec_model_close(mf);
}

START_TEST(test_ffm_save_load)
{
	struct rec_schema *s = mixed_schema();
	struct rec_block *b = rec_block_new(s);
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m, *l;
	const char *path = test_tmpfile("ffm.recm"), *bad = test_tmpfile("bad.recm");

	mixed_records(b, 500, 3);
	o.k = 3;
	o.ffm = 1;
	o.warmup = 100;
	o.decay = 1;
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	train(m, b, 2);
	ck_assert_int_eq(rec_fm_save(m, path, NULL), 0);
	ck_assert_ptr_nonnull(l = rec_fm_load(path));
	ck_assert(l->o.ffm && l->o.k == 3 && l->dim == 1 + 3 * 3 && l->o.optimizer == REC_OPT_ADAGRAD);
	ck_assert(l->o.warmup == 100 && l->o.decay && l->t == 1000 && l->o.lr == o.lr && l->o.l2 == o.l2);
	for (size_t r = 0; r < b->n; r++) {
		float a = rec_fm_predict(m, b, r), c = rec_fm_predict(l, b, r);
		ck_assert_msg(a == c, "record %zu: %.9g before saving, %.9g after loading", r, a, c);
	}
	/* rows that are not 1 + F k wide are refused */
	doctor_model(path, bad, "model.dim", "2");
	ck_assert_ptr_null(rec_fm_load(bad));
	doctor_model(path, bad, "model.kind", "fm");
	ck_assert_ptr_null(rec_fm_load(bad));
	doctor_model(path, bad, "model.optimizer", "rmsprop");
	ck_assert_ptr_null(rec_fm_load(bad));
	rec_fm_free(m);
	rec_fm_free(l);
	rec_block_free(b);
	rec_schema_free(s);
}
END_TEST

/* Weights of the signal field's 8 values; fields 1 and 2 are noise of 1000
 * values each. */
static const float ftrl_w[8] = { 2, -2, 1.5f, -1.5f, 1, -1, 2.5f, -2.5f };

static void planted_sparse(struct rec_block *b, size_t n, uint64_t seed, float *p)
{
	for (size_t r = 0; r < n; r++) {
		unsigned v = (unsigned)(rec_splitmix64(&seed) % 8);
		p[r] = sigmoid(ftrl_w[v]);
		rec_block_add_id(b, 0, vid(0, v), 0);
		rec_block_add_id(b, 1, vid(1, (unsigned)(rec_splitmix64(&seed) % 1000)), 0);
		rec_block_add_id(b, 2, vid(2, (unsigned)(rec_splitmix64(&seed) % 1000)), 0);
		rec_block_end_record(b, rng_unit(&seed) < p[r], 1, NULL, 0);
	}
}

/* Rows of the noise fields whose w is not exactly 0. */
static size_t nonzero_noise(const struct rec_fm_model *m)
{
	size_t nz = 0;

	for (size_t f = 1; f <= 2; f++)
		for (unsigned v = 0; v < 1000; v++) {
			uint32_t row = rec_embed_find(m->table, vid(f, v), 0);
			float wz[2];
			ck_assert_uint_ne(row, REC_EMBED_NONE);
			rec_embed_read(m->table, row, wz);
			nz += wz[0] != 0;
		}
	return nz;
}

/* A noise ID shows up about 30 times in 30000 examples, so its z (a sum of
 * gradients p - y that average 0, each below 1 in size) stays within a few
 * units: the largest |z| of the 2000 measured 6.4 to 9.2 over 20 data seeds.
 * l1 = 20 keeps every noise weight at exactly 0, while the signal values see
 * 3750 examples each and cross it early (|w| ended at 0.89 or more). Without
 * l1 the noise weights are almost all non-zero. */
START_TEST(test_ftrl_sparsity)
{
	struct rec_schema *s = cat_schema(3);
	struct rec_block *b = rec_block_new(s), *te = rec_block_new(s);
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m, *dense, *l;
	float *p = malloc(30000 * sizeof(float)), *pte = malloc(5000 * sizeof(float));
	const char *path = test_tmpfile("ftrl.recm");
	double auc, bayes;

	planted_sparse(b, 30000, 7, p);
	planted_sparse(te, 5000, 8, pte);
	o.k = 0;
	o.optimizer = REC_OPT_FTRL;
	o.lr = 0.1f;
	o.l1 = 20;
	o.l2 = 1;
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	train(m, b, 1);
	ck_assert_uint_eq(nonzero_noise(m), 0);
	for (unsigned v = 0; v < 8; v++) {
		float wz[2];
		rec_embed_read(m->table, rec_embed_find(m->table, vid(0, v), 0), wz);
		ck_assert_msg(wz[0] * ftrl_w[v] > 0, "value %u: w %g, planted %g", v, wz[0], ftrl_w[v]);
	}
	auc = auc_of(m, te, pte, &bayes);
	ck_assert_msg(auc > bayes - 0.01, "ftrl auc %.4f, bayes %.4f", auc, bayes);

	/* save -> load keeps [w, z], n, the settings and the clock */
	ck_assert_int_eq(rec_fm_save(m, path, NULL), 0);
	ck_assert_ptr_nonnull(l = rec_fm_load(path));
	ck_assert(l->o.optimizer == REC_OPT_FTRL && l->o.l1 == 20 && l->o.ftrl_beta == 1 && l->t == 30000);
	ck_assert_uint_eq(rec_embed_rows(l->table), rec_embed_rows(m->table));
	for (uint32_t r = 0; r < rec_embed_rows(m->table); r++) {
		float a[2], c[2];
		rec_embed_read(m->table, r, a);
		rec_embed_read(l->table, r, c);
		ck_assert(a[0] == c[0] && a[1] == c[1]);
		ck_assert(rec_embed_state(m->table, r) == rec_embed_state(l->table, r));
	}
	for (size_t r = 0; r < 100; r++)
		ck_assert(rec_fm_predict(m, te, r) == rec_fm_predict(l, te, r));
	/* [w, z] rows are not Adagrad's [w]; ftrl trains no ffm */
	doctor_model(path, test_tmpfile("bad.recm"), "model.optimizer", "adagrad");
	ck_assert_ptr_null(rec_fm_load(test_tmpfile("bad.recm")));
	doctor_model(path, test_tmpfile("bad.recm"), "model.kind", "ffm");
	ck_assert_ptr_null(rec_fm_load(test_tmpfile("bad.recm")));

	o.l1 = 0;
	ck_assert_ptr_nonnull(dense = rec_fm_new(s, &o));
	train(dense, b, 1);
	ck_assert_uint_gt(nonzero_noise(dense), 1900);
	rec_fm_free(m);
	rec_fm_free(l);
	rec_fm_free(dense);
	rec_block_free(b);
	rec_block_free(te);
	rec_schema_free(s);
	free(p);
	free(pte);
}
END_TEST

/* Logistic regression by plain SGD on the sparse problem: the epoch loss
 * falls, the signal's signs come out and the AUC ends within 0.01 of Bayes
 * (0.005 at worst over 20 data seeds; the noise weights cost a little). */
START_TEST(test_sgd_learns)
{
	struct rec_schema *s = cat_schema(3);
	struct rec_block *b = rec_block_new(s), *te = rec_block_new(s);
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m;
	float *p = malloc(30000 * sizeof(float)), *pte = malloc(5000 * sizeof(float));
	double auc, bayes, loss1 = 0, loss2 = 0;

	planted_sparse(b, 30000, 7, p);
	planted_sparse(te, 5000, 8, pte);
	o.k = 0;
	o.optimizer = REC_OPT_SGD;
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	rec_fm_train_block(m, b, &loss1);
	rec_fm_train_block(m, b, &loss2);
	ck_assert_msg(loss2 < loss1, "epoch losses %g then %g", loss1, loss2);
	for (unsigned v = 0; v < 8; v++) {
		float w;
		rec_embed_read(m->table, rec_embed_find(m->table, vid(0, v), 0), &w);
		ck_assert_msg(w * ftrl_w[v] > 0, "value %u: w %g, planted %g", v, w, ftrl_w[v]);
	}
	auc = auc_of(m, te, pte, &bayes);
	ck_assert_msg(auc > bayes - 0.01, "sgd auc %.4f, bayes %.4f", auc, bayes);
	rec_fm_free(m);
	rec_block_free(b);
	rec_block_free(te);
	rec_schema_free(s);
	free(p);
	free(pte);
}
END_TEST

/* A batch of one is an update after every example, to the bit, where no
 * example holds a row twice (a batch sums those, an example steps twice):
 * Adagrad on fp32 rows (in place) and fp16 (through a copy), SGD, FTRL and
 * an FFM. */
START_TEST(test_batch_of_one_is_per_example)
{
	static const struct { int opt, prec, ffm; unsigned k; } cases[] = {
		{ REC_OPT_ADAGRAD, REC_FP32, 0, 4 }, { REC_OPT_ADAGRAD, REC_FP16, 0, 4 },
		{ REC_OPT_SGD, REC_FP32, 0, 4 }, { REC_OPT_FTRL, REC_FP32, 0, 0 },
		{ REC_OPT_ADAGRAD, REC_FP32, 1, 2 },
	};
	struct rec_schema *s = cat_schema(3);
	struct rec_block *b = rec_block_new(s);
	float *p = malloc(3000 * sizeof(float));

	planted_ffm(b, 3000, 4, p);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct rec_fm_opts o = REC_FM_OPTS_INIT;
		struct rec_fm_model *one, *each;
		o.optimizer = cases[c].opt;
		o.precision = cases[c].prec;
		o.ffm = cases[c].ffm;
		o.k = cases[c].k;
		o.l1 = cases[c].opt == REC_OPT_FTRL ? 0.01f : 0;
		ck_assert_ptr_nonnull(each = rec_fm_new(s, &o));
		o.batch = 1;
		ck_assert_ptr_nonnull(one = rec_fm_new(s, &o));
		train(each, b, 2);
		train(one, b, 2);
		ck_assert_msg(memcmp(&each->w0, &one->w0, sizeof(float)) == 0, "case %zu: bias", c);
		for (size_t r = 0; r < b->n; r++) {
			float pe = rec_fm_predict(each, b, r), p1 = rec_fm_predict(one, b, r);
			ck_assert_msg(memcmp(&pe, &p1, sizeof(float)) == 0, "case %zu, record %zu: %.9g != %.9g", c,
				      r, pe, p1);
		}
		rec_fm_free(one);
		rec_fm_free(each);
	}
	free(p);
	rec_block_free(b);
	rec_schema_free(s);
}
END_TEST

/* One example's Adagrad step, worked in double from fmtrain.c's rules:
 * gradients at the rows' values before the step, L2 on every row the
 * example touches, then each feature's row-wise step in feature order (a
 * value twice in a list steps its row twice). Four records of a number,
 * a categorical value and a list, one with a repeated value and rows
 * shared across records; fp32 rows (updated in place) and fp16 (through a
 * copy) against the same arithmetic. And batches of 3 (records 0-2, then
 * 3): each row's gradients of the batch's mean loss summed, then one step
 * per distinct row, L2 once, the bias's with the summed dz. */
#define STEP_K 3
struct ref_row {
	uint64_t id;
	double v[1 + STEP_K], acc;
};

static struct ref_row *ref_row(struct ref_row *t, size_t *n, uint64_t id, const struct rec_fm_model *fresh)
{
	float init[1 + STEP_K];

	for (size_t i = 0; i < *n; i++)
		if (t[i].id == id)
			return &t[i];
	/* a new row starts where the store starts it: from (seed, ID) alone */
	rec_embed_read(fresh->table, rec_embed_find(fresh->table, id, 1), init);
	t[*n].id = id;
	for (int k = 0; k <= STEP_K; k++)
		t[*n].v[k] = init[k];
	t[*n].acc = 0;
	return &t[(*n)++];
}

START_TEST(test_adagrad_step_matches_reference)
{
	static const float num[4] = { 3, 0, 17.5f, 1 };
	static const unsigned cat[4] = { 1, 2, 1, 3 }, list[4][3] = { { 5, 6 }, { 5 }, { 7, 7, 5 }, { 0 } };
	static const size_t nlist[4] = { 2, 1, 3, 0 };
	static const float label[4] = { 1, 0, 1, 0 };

	for (int prec = REC_FP32; prec <= REC_FP16; prec++)
	for (size_t batch = 0; batch <= 3; batch += 3) {
		struct rec_schema *s = rec_schema_new(REC_HASHED);
		struct rec_fm_opts o = REC_FM_OPTS_INIT;
		struct rec_fm_model *m, *fresh;
		struct rec_block *b;
		struct ref_row t[16];
		size_t nt = 0;
		double w0 = 0, w0_acc = 0, loss = 0, worst = 0, G[16][1 + STEP_K] = { { 0 } }, dz_sum = 0;
		int touched[16] = { 0 };

		s->id_bits = 64;
		ck_assert_int_eq(rec_schema_add(s, "n", REC_NUMERIC, 0), 0);
		ck_assert_int_eq(rec_schema_add(s, "c", REC_CATEGORICAL, 0), 1);
		ck_assert_int_eq(rec_schema_add(s, "l", REC_LIST, 0), 2);
		o.k = STEP_K;
		o.lr = 0.1f;
		o.l2 = 0.05f;
		o.init_scale = 0.3f;
		o.precision = prec;
		o.seed = 9;
		o.batch = batch;
		ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
		ck_assert_ptr_nonnull(fresh = rec_fm_new(s, &o));
		b = rec_block_new(s);
		for (size_t r = 0; r < 4; r++) {
			struct { struct ref_row *row; double x; } f[5];
			size_t nf = 0;
			double sum[STEP_K] = { 0 }, z = w0, sq = 0, dz, g[5][1 + STEP_K];

			if (num[r] != 0) { /* a number 0 is no feature */
				rec_block_add_num(b, 0, num[r]);
				f[nf].row = ref_row(t, &nt, m->numeric_id[0], fresh);
				f[nf++].x = rec_squash(num[r]);
			}
			rec_block_add_id(b, 1, vid(1, cat[r]), 0);
			f[nf].row = ref_row(t, &nt, vid(1, cat[r]), fresh);
			f[nf++].x = 1;
			for (size_t j = 0; j < nlist[r]; j++) {
				rec_block_add_id(b, 2, vid(2, list[r][j]), 0);
				f[nf].row = ref_row(t, &nt, vid(2, list[r][j]), fresh);
				f[nf++].x = 1;
			}
			rec_block_end_record(b, label[r], 1, NULL, 0);
			for (size_t i = 0; i < nf; i++) {
				z += f[i].row->v[0] * f[i].x;
				for (int k = 0; k < STEP_K; k++) {
					double a = f[i].row->v[1 + k] * f[i].x;
					sum[k] += a;
					sq += a * a;
				}
			}
			for (int k = 0; k < STEP_K; k++)
				z += 0.5 * sum[k] * sum[k];
			z -= 0.5 * sq;
			dz = 1 / (1 + exp(-z)) - label[r];
			if (batch) { /* records 0-2 and 3: the mean loss's gradients, summed */
				dz /= r < 3 ? 3 : 1;
				dz_sum += dz;
				for (size_t i = 0; i < nf; i++) {
					double *gi = G[f[i].row - t];
					touched[f[i].row - t] = 1;
					const double *v = f[i].row->v;
					gi[0] += dz * f[i].x;
					for (int k = 0; k < STEP_K; k++)
						gi[1 + k] += dz * f[i].x * (sum[k] - v[1 + k] * f[i].x);
				}
				if (r != 2 && r != 3)
					continue;
				for (size_t j = 0; j < nt; j++) { /* each row the batch touched, once */
					double mean = 0, *gj = G[j];
					if (!touched[j])
						continue;
					touched[j] = 0;
					for (int k = 0; k <= STEP_K; k++) {
						gj[k] += o.l2 * t[j].v[k];
						mean += gj[k] * gj[k] / (1 + STEP_K);
					}
					t[j].acc += mean;
					for (int k = 0; k <= STEP_K; k++)
						t[j].v[k] -= o.lr * gj[k] / (sqrt(t[j].acc) + o.eps);
					memset(gj, 0, sizeof(G[j]));
				}
				w0_acc += dz_sum * dz_sum;
				w0 -= o.lr * dz_sum / (sqrt(w0_acc) + o.eps);
				dz_sum = 0;
				continue;
			}
			for (size_t i = 0; i < nf; i++) { /* every gradient before any step */
				const double *v = f[i].row->v;
				g[i][0] = dz * f[i].x + o.l2 * v[0];
				for (int k = 0; k < STEP_K; k++)
					g[i][1 + k] = dz * f[i].x * (sum[k] - v[1 + k] * f[i].x) + o.l2 * v[1 + k];
			}
			for (size_t i = 0; i < nf; i++) {
				double mean = 0;
				for (int k = 0; k <= STEP_K; k++)
					mean += g[i][k] * g[i][k] / (1 + STEP_K);
				f[i].row->acc += mean;
				for (int k = 0; k <= STEP_K; k++)
					f[i].row->v[k] -= o.lr * g[i][k] / (sqrt(f[i].row->acc) + o.eps);
			}
			w0_acc += dz * dz;
			w0 -= o.lr * dz / (sqrt(w0_acc) + o.eps);
		}
		rec_fm_train_block(m, b, &loss);
		ck_assert_uint_eq(rec_embed_rows(m->table), nt);
		for (size_t i = 0; i < nt; i++) {
			uint32_t row = rec_embed_find(m->table, t[i].id, 0);
			float got[1 + STEP_K];
			ck_assert_uint_ne(row, REC_EMBED_NONE);
			rec_embed_read(m->table, row, got);
			for (int k = 0; k <= STEP_K; k++)
				worst = fmax(worst, fabs(got[k] - t[i].v[k]));
			worst = fmax(worst, fabs(rec_embed_state(m->table, row) - t[i].acc) / fmax(t[i].acc, 1e-3));
		}
		worst = fmax(worst, fabs(m->w0 - w0));
		/* fp16 rows round every stored value to 11 bits */
		ck_assert_msg(worst < (prec == REC_FP32 ? 2e-6 : 2e-3), "precision %d, batch %zu: worst error %g",
			      prec, batch, worst);
		rec_block_free(b);
		rec_fm_free(m);
		rec_fm_free(fresh);
		rec_schema_free(s);
	}
}
END_TEST

START_TEST(test_lr_schedule)
{
	ck_assert_float_eq(rec_lr_at(0.1f, 0, 0, 0), 0.1f);
	ck_assert_float_eq(rec_lr_at(0.1f, 0, 0, 1000000), 0.1f);
	/* linear warm-up from 0 */
	ck_assert_float_eq(rec_lr_at(0.1f, 100, 0, 0), 0);
	ck_assert_float_eq_tol(rec_lr_at(0.1f, 100, 0, 25), 0.025f, 1e-7f);
	ck_assert_float_eq_tol(rec_lr_at(0.1f, 100, 0, 99), 0.099f, 1e-7f);
	ck_assert_float_eq(rec_lr_at(0.1f, 100, 0, 100), 0.1f);
	ck_assert_float_eq(rec_lr_at(0.1f, 100, 0, 1000000), 0.1f);
	/* then lr sqrt(warmup / t), continuous at t = warmup */
	ck_assert_float_eq_tol(rec_lr_at(0.1f, 100, 1, 50), 0.05f, 1e-7f);
	ck_assert_float_eq(rec_lr_at(0.1f, 100, 1, 100), 0.1f);
	ck_assert_float_eq_tol(rec_lr_at(0.1f, 100, 1, 400), 0.05f, 1e-7f);
	ck_assert_float_eq_tol(rec_lr_at(0.1f, 100, 1, 10000), 0.01f, 1e-8f);
	/* decay without warm-up counts from 1 */
	ck_assert_float_eq(rec_lr_at(0.1f, 0, 1, 0), 0.1f);
	ck_assert_float_eq(rec_lr_at(0.1f, 0, 1, 1), 0.1f);
	ck_assert_float_eq_tol(rec_lr_at(0.1f, 0, 1, 4), 0.05f, 1e-7f);
}
END_TEST

/* With warm-up the first example trains at lr 0: every row is as created
 * (a fresh store with the same options makes the same values), states and
 * bias at 0. The second trains at lr / warmup and moves them. */
START_TEST(test_warmup_first_example)
{
	static const struct { unsigned k; int ffm, opt; } kinds[] = {
		{ 4, 0, REC_OPT_ADAGRAD }, { 3, 1, REC_OPT_SGD }, { 0, 0, REC_OPT_FTRL },
	};
	struct rec_schema *s = mixed_schema();
	struct rec_block *b = rec_block_new(s);
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m;
	struct rec_embed *fresh;
	float got[16], want[16];
	double loss = 0;
	size_t moved = 0;

	rec_block_add_num(b, 0, 3.5f);
	rec_block_add_id(b, 1, vid(1, 7), 0);
	rec_block_add_id(b, 2, vid(2, 1), 0.5f);
	rec_block_add_id(b, 2, vid(2, 2), 1.5f);
	rec_block_end_record(b, 1, 1, NULL, 0);
	o.k = kinds[_i].k;
	o.ffm = kinds[_i].ffm;
	o.optimizer = kinds[_i].opt;
	o.warmup = 10;
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	ck_assert_ptr_nonnull(fresh = rec_embed_new(rec_embed_opts(m->table)));
	rec_fm_train_block(m, b, &loss);
	ck_assert_uint_eq(m->t, 1);
	ck_assert_uint_eq(rec_embed_rows(m->table), 4);
	ck_assert(m->w0 == 0 && m->w0_acc == 0 && loss > 0);
	for (uint32_t r = 0; r < 4; r++) {
		rec_embed_read(m->table, r, got);
		rec_embed_read(fresh, rec_embed_find(fresh, rec_embed_id(m->table, r), 1), want);
		ck_assert(memcmp(got, want, m->dim * sizeof(float)) == 0);
		ck_assert(rec_embed_state(m->table, r) == 0);
	}
	rec_fm_train_block(m, b, &loss);
	for (uint32_t r = 0; r < 4; r++) {
		rec_embed_read(m->table, r, got);
		rec_embed_read(fresh, rec_embed_find(fresh, rec_embed_id(m->table, r), 0), want);
		moved += memcmp(got, want, m->dim * sizeof(float)) != 0;
	}
	ck_assert_uint_eq(moved, 4);
	ck_assert(m->w0 != 0);
	rec_embed_free(fresh);
	rec_fm_free(m);
	rec_block_free(b);
	rec_schema_free(s);
}
END_TEST

/* Combinations that make no model. */
START_TEST(test_refused_options)
{
	struct rec_schema *s = mixed_schema();
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m;

	o.optimizer = REC_OPT_FTRL;
	ck_assert_ptr_null(rec_fm_new(s, &o)); /* ftrl with k = 8 */
	o.k = 0;
	o.ffm = 1;
	ck_assert_ptr_null(rec_fm_new(s, &o)); /* ftrl ffm, and ffm without factors */
	o.ffm = 0;
	o.precision = REC_FP16;
	ck_assert_ptr_null(rec_fm_new(s, &o));
	o.precision = REC_FP32;
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	ck_assert_uint_eq(m->dim, 2);
	rec_fm_free(m);
	o.optimizer = 7;
	ck_assert_ptr_null(rec_fm_new(s, &o));
	o.optimizer = REC_OPT_ADAGRAD;
	o.ffm = 1;
	o.k = 341; /* 1 + 3 * 341 = 1024 floats fit, one more factor does not */
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	rec_fm_free(m);
	o.k = 342;
	ck_assert_ptr_null(rec_fm_new(s, &o));
	ck_assert_int_eq(rec_optimizer_parse("ftrl"), REC_OPT_FTRL);
	ck_assert_int_eq(rec_optimizer_parse("adam"), -1);
	ck_assert_str_eq(rec_optimizer_name(REC_OPT_SGD), "sgd");
	rec_schema_free(s);
}
END_TEST

Suite *suite_fm(void)
{
	Suite *s = suite_create("fm");
	TCase *tc = tcase_create("core"), *ffm = tcase_create("ffm"), *tr = tcase_create("train");
	size_t nshapes = sizeof(ffm_shapes) / sizeof(ffm_shapes[0]);

	tcase_add_test(tc, test_forward_matches_definition);
	tcase_add_test(tc, test_backward_finite_differences);
	tcase_add_test(tc, test_logistic_loss);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(ffm, test_ffm_forward_matches_definition, 0, (int)nshapes);
	tcase_add_loop_test(ffm, test_ffm_backward_finite_differences, 0, (int)nshapes);
	suite_add_tcase(s, ffm);
	tcase_add_loop_test(tr, test_ffm_learns_field_aware_interaction, 0, 2);
	tcase_add_test(tr, test_ffm_save_load);
	tcase_add_test(tr, test_ftrl_sparsity);
	tcase_add_test(tr, test_sgd_learns);
	tcase_add_test(tr, test_adagrad_step_matches_reference);
	tcase_add_test(tr, test_batch_of_one_is_per_example);
	tcase_add_test(tr, test_lr_schedule);
	tcase_add_loop_test(tr, test_warmup_first_example, 0, 3);
	tcase_add_test(tr, test_refused_options);
	suite_add_tcase(s, tr);
	return s;
}
