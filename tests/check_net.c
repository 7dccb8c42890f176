/* check_net.c - deepfm, dlrm and ncf: every gradient against central
 * differences of the batch loss, save/load round trips, and learning a
 * planted interaction. */
#include "config.h"
#include "tests.h"
#include "metrics.h"
#include "net.h"
#include "mlp.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static double frand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffff) / 65536.0;
}

/* user, item (categorical), tags (list, valued), price, age (numeric). */
/* The test schema, with extra categorical fields after its five. */
static struct rec_schema *schema_wide(size_t extra)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);
	char name[24];   /* "c" and any size_t */

	rec_schema_add(s, "user", REC_CATEGORICAL, 0);
	rec_schema_add(s, "item", REC_CATEGORICAL, 0);
	rec_schema_add(s, "tags", REC_LIST, REC_FIELD_VALUED);
	rec_schema_add(s, "price", REC_NUMERIC, 0);
	rec_schema_add(s, "age", REC_NUMERIC, 0);
	for (size_t f = 0; f < extra; f++) {
		snprintf(name, sizeof(name), "c%zu", f);
		rec_schema_add(s, name, REC_CATEGORICAL, 0);
	}
	return s;
}

static struct rec_schema *schema(void)
{
	return schema_wide(0);
}

/* n records over a few IDs, so that rows repeat within a batch; extra:
 * schema_wide's fields. */
static struct rec_block *block_wide(const struct rec_schema *s, size_t n, unsigned seed, size_t extra)
{
	struct rec_block *b = rec_block_new(s);

	for (size_t r = 0; r < n; r++) {
		rec_block_add_id(b, 0, 100 + (uint64_t)(frand(&seed) * 5), 1);
		rec_block_add_id(b, 1, 200 + (uint64_t)(frand(&seed) * 7), 1);
		for (int t = (int)(frand(&seed) * 3); t > 0; t--)
			rec_block_add_id(b, 2, 300 + (uint64_t)(frand(&seed) * 4), (float)(0.5 + frand(&seed)));
		rec_block_add_num(b, 3, (float)(frand(&seed) * 20 - 5));
		if (r % 3)
			rec_block_add_num(b, 4, (float)(frand(&seed) * 60));
		for (size_t f = 0; f < extra; f++)
			rec_block_add_id(b, 5 + (int)f, 1000 * (f + 1) + (uint64_t)(frand(&seed) * 3), 1);
		rec_block_end_record(b, frand(&seed) < 0.4 ? 1.0f : 0.0f, 1, NULL, 0);
	}
	return b;
}

static struct rec_net *net_k(const struct rec_schema *s, int kind, unsigned k)
{
	struct rec_net_opts o = REC_NET_OPTS_INIT;

	o.kind = kind;
	o.k = k;
	o.hidden[0] = 6;
	o.hidden[1] = 5;
	o.bottom[0] = 3;
	o.init_scale = 0.5f;
	o.seed = 3;
	return rec_net_new(s, &o);
}

static struct rec_net *net(const struct rec_schema *s, int kind)
{
	return net_k(s, kind, 4);
}

/* Worst mismatch, relative to max(|a|, |b|, floor), between the analytic
 * gradient g and central differences of the loss in *p. */
/* The mean batch loss is float arithmetic: differences of it carry noise of
 * about 1e-6, hence the floor under the relative error. Where a ReLU unit
 * crosses zero within the step (a kink) the slopes left and right of the
 * point differ, and the gradient is the slope on the side the unit is on:
 * then it must match that one-sided difference. */
struct fd_check {
	double worst;
	size_t compared, kinks;
};

static double rel_err(double num, double g)
{
	return fabs(num - g) / fmax(5e-3, fmax(fabs(num), fabs(g)));
}

#define FD_TOLERANCE 2e-2

/* Compares g with the differences of f(-h), f(0), f(h): the central one,
 * unless that is off and the one-sided ones disagree (a kink; curvature
 * alone, as where one row feeds every example, leaves the central one
 * right). */
static void compare(struct fd_check *c, double lo, double mid, double hi, double h, double g)
{
	double fwd = (hi - mid) / h, bwd = (mid - lo) / h, err = rel_err((hi - lo) / (2 * h), g);

	if (err >= FD_TOLERANCE && fabs(fwd - bwd) > 0.02 * fmax(fabs(fwd), fabs(bwd)) + 5e-5) {
		c->kinks++;
		err = fmin(rel_err(fwd, g), rel_err(bwd, g));
	}
	c->compared++;
	if (err > c->worst)
		c->worst = err;
}

static double loss_at(struct rec_net *n, const struct rec_block *b, float *p, float v)
{
	float keep = *p;
	double l;

	*p = v;
	l = rec_net_loss(n, b, 0, b->n, 0);
	*p = keep;
	return l;
}

/* p is a parameter the loss reads directly (an MLP weight). */
static void check_param(struct rec_net *n, const struct rec_block *b, float *p, float g, struct fd_check *c)
{
	const float h = 1e-3f;

	compare(c, loss_at(n, b, p, *p - h), loss_at(n, b, p, *p), loss_at(n, b, p, *p + h), h, g);
}

static void check_mlp(struct rec_net *n, const struct rec_block *b, struct rec_mlp *m, struct fd_check *c)
{
	float *g;

	if (!m->param)
		return;
	g = malloc(m->nparam * sizeof(float));
	rec_net_loss(n, b, 0, b->n, 1);
	memcpy(g, m->grad, m->nparam * sizeof(float));
	for (size_t i = 0; i < m->nparam; i++) {
		check_param(n, b, &m->param[i], g[i], c);
	}
	free(g);
}

/* Row values are perturbed through the store: the loss gathers them anew. */
static double row_loss(struct rec_net *n, const struct rec_block *b, uint32_t r, unsigned d, float v)
{
	float row[64], keep;
	double l;

	rec_embed_read(n->table, r, row);
	keep = row[d];
	row[d] = v;
	rec_embed_write(n->table, r, row);
	l = rec_net_loss(n, b, 0, b->n, 0);
	row[d] = keep;
	rec_embed_write(n->table, r, row);
	return l;
}

/* Rows of users, items, tags and (deepfm's) the numeric fields price and age. */
static void check_rows(struct rec_net *n, const struct rec_block *b, struct fd_check *c)
{
	uint64_t ids[] = { 100, 102, 201, 205, 300, 303, 0, 0 };
	size_t nids = 6;
	const float h = 1e-3f;
	float row[64], g[64];

	if (n->schema->nfields > 4) {   /* the test schema's, not one of its own */
		ids[nids++] = n->numeric_id[3];
		ids[nids++] = n->numeric_id[4];
	}
	for (size_t i = 0; i < nids; i++) {
		uint32_t r = rec_embed_find(n->table, ids[i], 0);
		const float *ag;
		rec_net_loss(n, b, 0, b->n, 1);
		ag = rec_net_row_grad(n, ids[i]);
		if (r == REC_EMBED_NONE || !ag)
			continue;   /* ncf has no tag rows */
		memcpy(g, ag, n->rowdim * sizeof(float));
		rec_embed_read(n->table, r, row);
		for (unsigned d = 0; d < n->rowdim; d++)
			compare(c, row_loss(n, b, r, d, row[d] - h), row_loss(n, b, r, d, row[d]),
				row_loss(n, b, r, d, row[d] + h), h, g[d]);
	}
}

static void assert_check(const struct fd_check *c, const char *what)
{
	ck_assert_msg(c->compared > 0, "%s: nothing compared", what);
	ck_assert_msg(c->worst < FD_TOLERANCE, "%s: worst relative error %g", what, c->worst);
	ck_assert_msg(c->kinks * 4 <= c->compared, "%s: %zu kinks in %zu", what, c->kinks, c->compared);
}

/* extra fields and k: the wide case takes dlrm's and deepfm's vector
 * paths (8 and 4 dots or dimensions at a time) besides their remainders */
static void gradient_check_wide(int kind, size_t extra, unsigned k)
{
	struct rec_schema *s = schema_wide(extra);
	struct rec_block *b = block_wide(s, 24, 5, extra);
	struct rec_net *n = net_k(s, kind, k);
	struct fd_check rows = { 0 }, dense = { 0 };

	ck_assert_ptr_nonnull(n);
	rec_net_loss(n, b, 0, b->n, 0);   /* creates the rows */
	check_rows(n, b, &rows);
	check_mlp(n, b, &n->deep, &dense);
	check_mlp(n, b, &n->bottom, &dense);
	check_mlp(n, b, &n->head, &dense);
	assert_check(&rows, rec_net_kind_name(kind));
	assert_check(&dense, rec_net_kind_name(kind));
	rec_net_free(n);
	rec_block_free(b);
	rec_schema_free(s);
}

static void gradient_check(int kind)
{
	gradient_check_wide(kind, 0, 4);
}

/* The MLP's products go through rec_smm in blocks of 128 rows, then 64,
 * 32, ... 1: a batch of 301 rows takes most block sizes. Forward outputs,
 * parameter gradients and input gradients against loops in double. */
START_TEST(test_mlp_matches_loops)
{
	static const unsigned dims[] = { 37, 19, 5 };
	const size_t b = 301, in = dims[0], hid = dims[1], out = dims[2];
	struct rec_mlp m;
	uint64_t seed = 9;
	float *x, *dout = malloc(b * out * sizeof(float)), *din = malloc(b * in * sizeof(float));
	double *h = calloc(b * hid, sizeof(double)), *dh = calloc(b * hid, sizeof(double));
	double *dW0 = calloc(hid * in, sizeof(double)), *dW1 = calloc(out * hid, sizeof(double));
	double worst = 0;

	rec_mlp_init(&m, dims, 2, 0, 5);
	x = rec_mlp_input(&m, 0, b);
	for (size_t i = 0; i < b * in; i++)
		x[i] = (float)((double)(rec_splitmix64(&seed) >> 11) * 0x1.0p-53 - 0.5);
	for (size_t i = 0; i < b * out; i++)
		dout[i] = (float)((double)(rec_splitmix64(&seed) >> 11) * 0x1.0p-53 - 0.5);
	const float *y = rec_mlp_forward(&m, 0, b), *W0 = m.param + m.w_off[0], *W1 = m.param + m.w_off[1];
	for (size_t r = 0; r < b; r++) {
		for (size_t j = 0; j < hid; j++) {
			double z = m.param[m.b_off[0] + j];
			for (size_t i = 0; i < in; i++)
				z += (double)W0[j * in + i] * x[r * in + i];
			h[r * hid + j] = z > 0 ? z : 0;
		}
		for (size_t o = 0; o < out; o++) {
			double z = m.param[m.b_off[1] + o];
			for (size_t j = 0; j < hid; j++)
				z += (double)W1[o * hid + j] * h[r * hid + j];
			worst = fmax(worst, fabs(z - y[r * out + o]));
			for (size_t j = 0; j < hid; j++) {
				dW1[o * hid + j] += (double)dout[r * out + o] * h[r * hid + j];
				dh[r * hid + j] += (double)dout[r * out + o] * W1[o * hid + j];
			}
		}
	}
	ck_assert_msg(worst < 1e-5, "forward off by %g", worst);
	rec_mlp_backward(&m, 0, b, dout, din);
	worst = 0;
	for (size_t r = 0; r < b; r++)
		for (size_t j = 0; j < hid; j++) {
			double d = h[r * hid + j] > 0 ? dh[r * hid + j] : 0;
			for (size_t i = 0; i < in; i++)
				dW0[j * in + i] += d * x[r * in + i];
		}
	for (size_t i = 0; i < hid * in; i++)
		worst = fmax(worst, fabs(dW0[i] - m.grad[m.w_off[0] + i]));
	for (size_t i = 0; i < out * hid; i++)
		worst = fmax(worst, fabs(dW1[i] - m.grad[m.w_off[1] + i]));
	for (size_t r = 0; r < b; r++)
		for (size_t i = 0; i < in; i++) {
			double g = 0;
			for (size_t j = 0; j < hid; j++)
				g += (h[r * hid + j] > 0 ? dh[r * hid + j] : 0) * W0[j * in + i];
			worst = fmax(worst, fabs(g - din[r * in + i]));
		}
	ck_assert_msg(worst < 1e-4, "gradients off by %g", worst);
	rec_mlp_free(&m);
	free(dout);
	free(din);
	free(h);
	free(dh);
	free(dW0);
	free(dW1);
}
END_TEST

START_TEST(test_deepfm_gradients) { gradient_check(REC_DEEPFM); }
END_TEST
START_TEST(test_deepfm_gradients_wide) { gradient_check_wide(REC_DEEPFM, 10, 13); }
END_TEST
START_TEST(test_dlrm_gradients_wide) { gradient_check_wide(REC_DLRM, 10, 13); }
END_TEST
START_TEST(test_dlrm_gradients) { gradient_check(REC_DLRM); }
END_TEST
/* 27 vectors of 19 (Criteo's shape, k past two tiles): the forward's four
 * tiles at once and the backward's groups of four rows, the last group
 * short, besides the tails */
START_TEST(test_dlrm_gradients_criteo_shape) { gradient_check_wide(REC_DLRM, 23, 19); }
END_TEST
START_TEST(test_ncf_gradients) { gradient_check(REC_NCF); }
END_TEST

/* The gradients of a batch shared by three threads: each thread's sums,
 * added up (rec_mlp_reduce, deepfm's folded first layer's too), are one
 * thread's to rounding. */
#define GRADS_MAX 65536

static void grads_of(struct rec_net *n, const struct rec_block *b, float *out, size_t *len)
{
	static const uint64_t ids[] = { 100, 201, 300 };
	struct rec_mlp *m[3];
	size_t at = 0;

	rec_net_loss(n, b, 0, b->n, 1);
	rec_net_mlps(n, m);
	for (int i = 0; i < 3; i++)
		for (size_t p = 0; m[i] && p < m[i]->nparam; p++) {
			ck_assert_uint_lt(at, GRADS_MAX);
			out[at++] = m[i]->grad[p];
		}
	for (size_t i = 0; i < 5; i++) {
		uint64_t id = i < 3 ? ids[i] : n->numeric_id[i];
		const float *g = rec_net_row_grad(n, id);
		for (unsigned d = 0; g && d < n->rowdim; d++) {
			ck_assert_uint_lt(at, GRADS_MAX);
			out[at++] = g[d];
		}
	}
	*len = at;
}

static void threads_match_one(int kind)
{
	struct rec_schema *s = schema_wide(4);
	struct rec_block *b = block_wide(s, 40, 7, 4);
	struct rec_net *n = net_k(s, kind, 5);
	float *one = malloc(GRADS_MAX * sizeof(float)), *three = malloc(GRADS_MAX * sizeof(float));
	size_t n1, n3;
	double worst = 0;

	ck_assert_ptr_nonnull(n);
	rec_net_loss(n, b, 0, b->n, 0);   /* creates the rows */
	grads_of(n, b, one, &n1);
	rec_net_set_threads(n, 3);
	grads_of(n, b, three, &n3);
	ck_assert_uint_eq(n1, n3);
	for (size_t i = 0; i < n1; i++)
		worst = fmax(worst, fabs(one[i] - three[i]) / fmax(1e-3, fabs(one[i])));
	ck_assert_msg(worst < 1e-4, "%s: three threads' gradients off by %g", rec_net_kind_name(kind), worst);
	rec_net_free(n);
	rec_block_free(b);
	rec_schema_free(s);
	free(one);
	free(three);
}

START_TEST(test_deepfm_threads) { threads_match_one(REC_DEEPFM); }
END_TEST
START_TEST(test_dlrm_threads) { threads_match_one(REC_DLRM); }
END_TEST

/* Without numeric fields dlrm has no bottom MLP: the dots alone. */
START_TEST(test_dlrm_without_numbers)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);
	struct rec_block *b;
	struct rec_net *n;
	struct fd_check c = { 0 };

	rec_schema_add(s, "user", REC_CATEGORICAL, 0);
	rec_schema_add(s, "item", REC_CATEGORICAL, 0);
	rec_schema_add(s, "tags", REC_LIST, REC_FIELD_VALUED);
	b = rec_block_new(s);
	for (unsigned r = 0, seed = 9; r < 16; r++) {
		rec_block_add_id(b, 0, 100 + r % 4, 1);
		rec_block_add_id(b, 1, 200 + r % 5, 1);
		rec_block_add_id(b, 2, 300 + r % 3, 2);
		rec_block_end_record(b, frand(&seed) < 0.5, 1, NULL, 0);
	}
	n = net(s, REC_DLRM);
	ck_assert_uint_eq(n->ndense, 0);
	ck_assert_uint_eq(n->deep.dim[0], 3);   /* three fields, three dots */
	rec_net_loss(n, b, 0, b->n, 0);
	check_rows(n, b, &c);
	check_mlp(n, b, &n->deep, &c);
	assert_check(&c, "dlrm without numbers");
	rec_net_free(n);
	rec_block_free(b);
	rec_schema_free(s);
}
END_TEST

START_TEST(test_ncf_needs_user_and_item)
{
	struct rec_schema *s = rec_schema_new(REC_HASHED);
	struct rec_net_opts o = REC_NET_OPTS_INIT;

	rec_schema_add(s, "who", REC_CATEGORICAL, 0);
	rec_schema_add(s, "what", REC_CATEGORICAL, 0);
	o.kind = REC_NCF;
	ck_assert_ptr_null(rec_net_new(s, &o));
	snprintf(o.user_field, sizeof(o.user_field), "who");
	snprintf(o.item_field, sizeof(o.item_field), "what");
	struct rec_net *n = rec_net_new(s, &o);
	ck_assert_ptr_nonnull(n);
	rec_net_free(n);
	rec_schema_free(s);
}
END_TEST

/* Clicks follow user x item affinity: one hidden factor each, plus noise. */
static struct rec_block *planted(const struct rec_schema *s, size_t n, unsigned seed)
{
	struct rec_block *b = rec_block_new(s);

	for (size_t r = 0; r < n; r++) {
		unsigned u = (unsigned)(frand(&seed) * 40), i = (unsigned)(frand(&seed) * 40);
		int match = (u % 2) == (i % 2);
		rec_block_add_id(b, 0, 1000 + u, 1);
		rec_block_add_id(b, 1, 2000 + i, 1);
		rec_block_add_id(b, 2, 3000 + (unsigned)(frand(&seed) * 3), 1);
		rec_block_add_num(b, 3, (float)(frand(&seed) * 10));
		rec_block_add_num(b, 4, 30);
		rec_block_end_record(b, frand(&seed) < (match ? 0.8 : 0.2), 1, NULL, 0);
	}
	return b;
}

/* Each model finds the planted cross (Bayes AUC 0.8), which no sum of
 * per-feature weights can express, and save -> load gives the same scores. */
static void learns_and_round_trips(int kind)
{
	struct rec_schema *s = schema();
	struct rec_block *tr = planted(s, 20000, 1), *te = planted(s, 4000, 2);
	struct rec_net_opts o = REC_NET_OPTS_INIT;
	struct rec_net *n, *back;
	float *p = malloc(te->n * sizeof(float)), *q = malloc(te->n * sizeof(float));
	char path[] = "/tmp/check_net.XXXXXX";
	double loss = 0, auc;
	int fd = mkstemp(path);

	close(fd);
	o.kind = kind;
	o.k = 8;
	o.batch = 64;
	o.hidden[0] = 32;
	o.hidden[1] = 16;
	o.bottom[0] = 8;
	o.seed = 1;
	n = rec_net_new(s, &o);
	for (int e = 0; e < 3; e++)
		rec_net_train_block(n, tr, &loss);
	rec_net_predict_block(n, te, p);
	auc = rec_auc(p, te->label, NULL, te->n);
	ck_assert_msg(auc > 0.77, "%s: test AUC %.4f (Bayes 0.80)", rec_net_kind_name(kind), auc);
	ck_assert_int_eq(rec_net_save(n, path, NULL), 0);
	struct rec_model *mf = rec_model_open(path);
	ck_assert_ptr_nonnull(mf);
	back = rec_net_load_model(mf);
	ck_assert_ptr_nonnull(back);
	rec_net_predict_block(back, te, q);
	for (size_t i = 0; i < te->n; i++)
		ck_assert_float_eq(p[i], q[i]);
	ck_assert_uint_eq(back->trained, n->trained);
	rec_model_close(mf);
	rec_net_free(back);
	rec_net_free(n);
	unlink(path);
	free(p);
	free(q);
	rec_block_free(tr);
	rec_block_free(te);
	rec_schema_free(s);
}

START_TEST(test_deepfm_learns) { learns_and_round_trips(REC_DEEPFM); }
END_TEST
START_TEST(test_dlrm_learns) { learns_and_round_trips(REC_DLRM); }
END_TEST
START_TEST(test_ncf_learns) { learns_and_round_trips(REC_NCF); }
END_TEST

Suite *suite_net(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("net");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mlp_matches_loops);
	tcase_add_test(tc, test_deepfm_gradients);
	tcase_add_test(tc, test_dlrm_gradients);
	tcase_add_test(tc, test_deepfm_gradients_wide);
	tcase_add_test(tc, test_dlrm_gradients_wide);
	tcase_add_test(tc, test_dlrm_gradients_criteo_shape);
	tcase_add_test(tc, test_ncf_gradients);
	tcase_add_test(tc, test_deepfm_threads);
	tcase_add_test(tc, test_dlrm_threads);
	tcase_add_test(tc, test_dlrm_without_numbers);
	tcase_add_test(tc, test_ncf_needs_user_and_item);
	tcase_add_test(tc, test_deepfm_learns);
	tcase_add_test(tc, test_dlrm_learns);
	tcase_add_test(tc, test_ncf_learns);
	suite_add_tcase(s, tc);
	return s;
}
