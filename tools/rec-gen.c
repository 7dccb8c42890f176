/* rec-gen - deterministic synthetic data with a planted ground truth: a CTR
 * log whose click probability is a known function of its columns, an
 * interaction log with planted sequential patterns, and Criteo-shaped rows of
 * any size for throughput benchmarks. Same seed, same bytes: the generator
 * is an integer PRNG, and the only floating point is IEEE arithmetic plus
 * libm's exp/log family. */
#include "config.h"
#include "err.h"
#include "io.h"
#include "metrics.h"
#include "rng.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fused multiply-add rounds differently from a multiply and an add: keep
 * the compiler from contracting, so every machine computes the same doubles. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

struct gen;
struct gen_opts;
typedef void gen_fn(const struct gen_opts *o, struct gen *g);

struct gen_opts {
	const char *mode;     /* operand: ctr | seq | criteo */
	gen_fn *run;          /* the generator of that mode */
	size_t rows;          /* --rows, ctr and criteo (10000) */
	size_t users;         /* --users, seq (500) */
	size_t items;         /* --items, seq (300) */
	uint64_t seed;        /* --seed (1) */
	const char *truth;    /* --truth <file>, NULL for none */
	int strip;            /* --strip-trailing, criteo */
	int set_rows;         /* --rows was given */
	int set_seq;          /* --users or --items was given */
};
#define GEN_OPTS_INIT { .rows = 10000, .users = 500, .items = 300, .seed = 1 }

/* ---- randomness: xoshiro256** seeded by splitmix64 ----------------------- */

struct rng {
	uint64_t s[4];
};


static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = rec_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, 1), 53 bits. */
static inline double rng_unif(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in 0..n-1 (exact arithmetic for n < 2^53). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(rng_unif(r) * (double)n);
}

/* Standard normal, Marsaglia's polar method (log and sqrt only). */
static double rng_normal(struct rng *r)
{
	double u, v, s;

	do {
		u = 2 * rng_unif(r) - 1;
		v = 2 * rng_unif(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	return u * sqrt(-2 * log(s) / s);
}

/* ---- Zipf ranks 1..n, P(k) ~ k^-s ----------------------------------------
 * Rejection-inversion (Hoermann & Derflinger 1996), as in Apache Commons
 * RejectionInversionZipfSampler: O(1) per draw and no tables, so Criteo's
 * cardinalities of ten million cost nothing. Any s > 0, s = 1 included. */
struct zipf {
	double s, n, hx1, hn, sq;
};

/* log1p(x)/x and expm1(x)/x, continuous through 0. */
static double zipf_helper1(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

static double zipf_helper2(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}

/* H(x) = integral of t^-s from 1 to x (shifted), and its inverse. */
static double zipf_H(const struct zipf *z, double x)
{
	double lx = log(x);

	return zipf_helper2((1 - z->s) * lx) * lx;
}

static double zipf_Hinv(const struct zipf *z, double y)
{
	double t = y * (1 - z->s);

	return exp(zipf_helper1(t < -1 ? -1 : t) * y);
}

static void zipf_init(struct zipf *z, double s, uint64_t n)
{
	z->s = s;
	z->n = (double)n;
	z->hx1 = zipf_H(z, 1.5) - 1;
	z->hn = zipf_H(z, z->n + 0.5);
	z->sq = 2 - zipf_Hinv(z, zipf_H(z, 2.5) - exp(-s * log(2.0)));
}

static uint64_t zipf_draw(const struct zipf *z, struct rng *r)
{
	for (;;) {
		double u = z->hn + rng_unif(r) * (z->hx1 - z->hn), x = zipf_Hinv(z, u);
		double k = floor(x + 0.5);

		if (k < 1)
			k = 1;
		else if (k > z->n)
			k = z->n;
		if (k - x <= z->sq || u >= zipf_H(z, k + 0.5) - exp(-z->s * log(k)))
			return (uint64_t)k;
	}
}

/* ---- output: one big buffer written with write(2), and the truth file ---- */

struct gen {
	char *buf;
	size_t len, cap;
	int err;              /* errno of a failed write, 0 while all is well */
	struct rec_out truth; /* --truth, fp NULL without */
};

static void out_flush(struct gen *g)
{
	size_t off = 0;

	while (off < g->len && !g->err) {
		ssize_t n = write(1, g->buf + off, g->len - off);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EINTR)
			g->err = errno;
	}
	g->len = 0;
}

static inline void out_room(struct gen *g, size_t n)
{
	if (g->len + n > g->cap)
		out_flush(g);
}

static void out_str(struct gen *g, const char *s)
{
	size_t n = strlen(s);

	out_room(g, n);
	memcpy(g->buf + g->len, s, n);
	g->len += n;
}

/* Decimal digits of v; the caller has made room for 21 bytes. */
static inline void out_int(struct gen *g, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		g->buf[g->len++] = '-';
	while (n)
		g->buf[g->len++] = tmp[--n];
}

static void out_fmt(struct gen *g, const char *fmt, ...) REC_PRINTF(2, 3);
static void out_fmt(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (int pass = 0; pass < 2; pass++) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < g->cap - g->len) {
			g->len += (size_t)n;
			return;
		}
		out_flush(g);
	}
}

/* The truth file, when there is one: "key = value" lines. */
static void truth_fmt(struct gen *g, const char *fmt, ...) REC_PRINTF(2, 3);
static void truth_fmt(struct gen *g, const char *fmt, ...)
{
	va_list ap;

	if (!g->truth.fp)
		return;
	va_start(ap, fmt);
	vfprintf(g->truth.fp, fmt, ap);
	va_end(ap);
}

static int gen_open(struct gen *g, const struct gen_opts *o)
{
	g->cap = 1 << 20;
	g->buf = rec_xmalloc(g->cap);
	if (o->truth && rec_out_open(&g->truth, o->truth, 0, 0) < 0)
		return -1;
	return 0;
}

/* Flushes the data and commits the truth file; a closed pipe is a quiet
 * end (and leaves no truth for rows never written). Returns the exit status. */
static int gen_close(struct gen *g)
{
	int status = REC_EXIT_OK;

	out_flush(g);
	if (g->err && g->err != EPIPE) {
		rec_warn("cannot write to standard output: %s", strerror(g->err));
		status = REC_EXIT_TROUBLE;
	}
	if (g->err)
		rec_out_abort(&g->truth);
	else if (rec_out_commit(&g->truth) < 0)
		status = REC_EXIT_TROUBLE;
	free(g->buf);
	return status;
}

static double out_prob(struct gen *g, double v)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%.6f", v);
	out_str(g, tmp);
	return strtod(tmp, NULL);
}

/* ---- ctr: clicks from a known logit with one planted cross ----------------
 *   logit = bias + pair_effect[category / 2] + age_effect[age]
 *         + price_coef * (ln(price) - 3) + tag_coef * [t7 in tags]
 *         + cross * g * e,   g = +1 for F, -1 for M; e = +1 for an even
 *                            category, -1 for an odd one
 * Genders are 50/50 and categories uniform, and categories 2k and 2k+1 share
 * their main effect, so the cross moves neither a gender's nor a category's
 * click rate: only gender x category together reveal it (an XOR). */

#define CTR_CATEGORIES 20
#define CTR_TAGS 30
#define CTR_USERS 2000
#define CTR_ITEMS 1000
#define CTR_BIAS (-1.5)
#define CTR_PRICE_COEF (-0.4)
#define CTR_TAG 7
#define CTR_TAG_COEF 0.9
#define CTR_CROSS 1.0

static const int ctr_age[7] = { 1, 18, 25, 35, 45, 50, 56 };
static const double ctr_age_share[7] = { 0.04, 0.18, 0.35, 0.20, 0.09, 0.08, 0.06 };
static const double ctr_age_effect[7] = { -0.6, 0.1, 0.4, 0.2, -0.1, -0.3, -0.5 };
static const double ctr_pair_effect[CTR_CATEGORIES / 2] = {
	0.9, -0.7, 0.3, -1.1, 0.5, 0.0, -0.4, 1.2, -0.9, 0.2
};

struct ctr_state {
	struct rng r;
	struct zipf items;
	float *bayes, *nocross, *click; /* with --truth: one per row, for rec_auc */
	double clicks, logloss;
};

static int ctr_pick_age(struct rng *r)
{
	double u = rng_unif(r);
	int a = 0;

	while (a < 6 && (u -= ctr_age_share[a]) >= 0)
		a++;
	return a;
}

struct ctr_features {
	int female, age, cat, ntags, tags[4], hour;
	uint64_t user, item;
	double price;          /* as printed, to the cent */
	char price_text[32];
};

static void ctr_draw(struct ctr_features *x, struct rng *r, const struct zipf *items)
{
	double price;

	x->female = rng_unif(r) < 0.5;
	x->age = ctr_pick_age(r);
	x->cat = (int)rng_below(r, CTR_CATEGORIES);
	x->user = rng_below(r, CTR_USERS);
	x->item = zipf_draw(items, r) - 1;
	price = exp(3 + 1.2 * rng_normal(r));
	snprintf(x->price_text, sizeof(x->price_text), "%.2f", price < 0.01 ? 0.01 : price);
	x->price = strtod(x->price_text, NULL);
	x->ntags = (int)rng_below(r, 5);
	for (int k = 0; k < x->ntags; k++) {  /* distinct, in the order drawn */
		int dup;
		do {
			x->tags[k] = (int)rng_below(r, CTR_TAGS);
			dup = 0;
			for (int j = 0; j < k; j++)
				dup |= x->tags[j] == x->tags[k];
		} while (dup);
	}
	x->hour = (int)rng_below(r, 24);
}

/* The logit without the cross term. */
static double ctr_logit(const struct ctr_features *x)
{
	double logit = CTR_BIAS + ctr_pair_effect[x->cat / 2] + ctr_age_effect[x->age] +
		       CTR_PRICE_COEF * (log(x->price) - 3);

	for (int k = 0; k < x->ntags; k++)
		if (x->tags[k] == CTR_TAG)
			logit += CTR_TAG_COEF;
	return logit;
}

static double ctr_cross(const struct ctr_features *x)
{
	return CTR_CROSS * (x->female ? 1 : -1) * (x->cat % 2 == 0 ? 1 : -1);
}

static void ctr_row(struct gen *g, struct ctr_state *st, size_t i)
{
	struct ctr_features x;
	double nocross, p;
	int click;

	ctr_draw(&x, &st->r, &st->items);
	nocross = ctr_logit(&x);
	p = 1 / (1 + exp(-(nocross + ctr_cross(&x))));
	click = rng_unif(&st->r) < p;
	out_fmt(g, "%d\t", click);
	p = out_prob(g, p);
	out_fmt(g, "\tu%llu\ti%llu\t%c\t%d\tc%d\t%s\t", (unsigned long long)x.user,
		(unsigned long long)x.item, x.female ? 'F' : 'M', ctr_age[x.age], x.cat,
		x.price_text);
	for (int k = 0; k < x.ntags; k++)
		out_fmt(g, "%st%d", k ? "|" : "", x.tags[k]);
	out_fmt(g, "\t%d\n", x.hour);
	st->clicks += click;
	if (st->bayes) {
		st->bayes[i] = (float)p;
		st->nocross[i] = (float)nocross;
		st->click[i] = (float)click;
		st->logloss -= log(click ? p : 1 - p);
	}
}

static void ctr_truth(struct gen *g, const struct gen_opts *o, struct ctr_state *st)
{
	truth_fmt(g, "# rec-gen ctr --rows %zu --seed %llu\n"
		  "# logit = bias + category_effect[category] + age_effect[age]\n"
		  "#       + price_coef * (ln(price) - 3) + tag_coef * [tag in tags]\n"
		  "#       + cross * (gender F ? 1 : -1) * (category even ? 1 : -1)\n"
		  "# p = 1 / (1 + exp(-logit)), click ~ Bernoulli(p)\n",
		  o->rows, (unsigned long long)o->seed);
	truth_fmt(g, "bias = %g\nprice_coef = %g\nprice_center = 3\ntag = t%d\ntag_coef = %g\n"
		  "cross = %g\n", CTR_BIAS, CTR_PRICE_COEF, CTR_TAG, CTR_TAG_COEF, CTR_CROSS);
	for (int c = 0; c < CTR_CATEGORIES; c++)
		truth_fmt(g, "category_effect.c%d = %g\n", c, ctr_pair_effect[c / 2]);
	for (int a = 0; a < 7; a++)
		truth_fmt(g, "age_effect.%d = %g\n", ctr_age[a], ctr_age_effect[a]);
	truth_fmt(g, "rows = %zu\nclick_rate = %.6f\n", o->rows, st->clicks / (double)o->rows);
	truth_fmt(g, "# AUC of p against click: the best any model can do on these rows\n"
		  "bayes_auc = %.6f\nbayes_logloss = %.6f\n", rec_auc(st->bayes, st->click, NULL, o->rows),
		  st->logloss / (double)o->rows);
	truth_fmt(g, "# AUC of the logit without the cross: the best a model blind to\n"
		  "# gender x category can do\nnocross_auc = %.6f\n", rec_auc(st->nocross, st->click, NULL, o->rows));
}

static void gen_ctr(const struct gen_opts *o, struct gen *g)
{
	struct ctr_state st = { 0 };
	size_t i;

	rng_seed(&st.r, o->seed);
	zipf_init(&st.items, 1.1, CTR_ITEMS);
	if (g->truth.fp) {
		st.bayes = rec_xcalloc(o->rows, sizeof(*st.bayes));
		st.nocross = rec_xcalloc(o->rows, sizeof(*st.nocross));
		st.click = rec_xcalloc(o->rows, sizeof(*st.click));
	}
	out_str(g, "click\tp\tuser\titem\tgender\tage\tcategory\tprice\ttags\thour\n");
	for (i = 0; i < o->rows && !g->err; i++)
		ctr_row(g, &st, i);
	if (st.bayes && !g->err)
		ctr_truth(g, o, &st);
	free(st.bayes);
	free(st.nocross);
	free(st.click);
}

/* ---- seq: item cycles a user follows with probability q ------------------
 * The items form one hidden random cycle succ(). A user starts at a popular
 * item; each next item is succ(previous) with probability q, else a fresh
 * Zipf(1)-popular item (i0 most popular). */

#define SEQ_Q 0.6
#define SEQ_ZIPF_S 1.0
#define SEQ_TOPK 10

struct event {
	uint64_t time;
	uint32_t user, item, rating;
};

struct seq_state {
	struct rng r;
	struct zipf pop;
	uint32_t *succ;       /* the hidden cycle: the item after each item */
	double *pmf;          /* Zipf probability of each item */
	struct event *ev;
	size_t nev, cap;
	size_t transitions, followed, oracle_hits, pop_hits;
	double oracle_mass;   /* sum over transitions of P(next in oracle top-k) */
};

static int by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->time != y->time)
		return (x->time > y->time) - (x->time < y->time);
	return (x->user > y->user) - (x->user < y->user);
}

/* Ratings carry no signal; their shares are MovieLens-like. */
static uint32_t seq_rating(struct rng *r)
{
	static const double share[4] = { 0.06, 0.11, 0.27, 0.34 };
	double u = rng_unif(r);
	uint32_t k = 0;

	while (k < 4 && (u -= share[k]) >= 0)
		k++;
	return k + 1;
}

/* The best ranking for the next item: succ(prev) first, then the most
 * popular items i0, i1, ... Scores one transition against it. */
static void seq_score(struct seq_state *st, uint32_t prev, uint32_t next)
{
	uint32_t s = st->succ[prev], npop = s < SEQ_TOPK ? SEQ_TOPK : SEQ_TOPK - 1;
	double mass = s < SEQ_TOPK ? 0 : st->pmf[s];

	for (uint32_t k = 0; k < npop; k++)
		mass += st->pmf[k];
	st->transitions++;
	st->followed += next == s;
	st->oracle_hits += next == s || next < npop;
	st->pop_hits += next < SEQ_TOPK;
	st->oracle_mass += SEQ_Q + (1 - SEQ_Q) * mass;
}

/* One user's history of 10 to 60 events, a few minutes to an hour apart. */
static void seq_user(struct seq_state *st, uint32_t u)
{
	struct rng *r = &st->r;
	size_t len = 10 + rng_below(r, 51);
	uint64_t t = 1600000000 + rng_below(r, 30 * 86400);
	uint32_t item = (uint32_t)zipf_draw(&st->pop, r) - 1;

	for (size_t k = 0; k < len; k++) {
		if (k > 0) {
			uint32_t prev = item;
			if (rng_unif(r) < SEQ_Q)
				item = st->succ[prev];
			else
				item = (uint32_t)zipf_draw(&st->pop, r) - 1;
			seq_score(st, prev, item);
		}
		t += 60 + rng_below(r, 3600);
		rec_xgrow(&st->ev, &st->cap, st->nev + 1, sizeof(*st->ev));
		st->ev[st->nev++] = (struct event){ t, u, item, seq_rating(r) };
	}
}

/* succ: one random cycle through all items (Fisher-Yates, then link). */
static void seq_cycle(struct seq_state *st, size_t n)
{
	uint32_t *order = rec_xmalloc(n * sizeof(*order));
	double sum = 0;

	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng_below(&st->r, i + 1);
		uint32_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < n; i++)
		st->succ[order[i]] = order[(i + 1) % n];
	for (size_t i = 0; i < n; i++)
		sum += st->pmf[i] = exp(-SEQ_ZIPF_S * log((double)(i + 1)));
	for (size_t i = 0; i < n; i++)
		st->pmf[i] /= sum;
	free(order);
}

static void seq_truth(struct gen *g, const struct gen_opts *o, const struct seq_state *st)
{
	double n = st->transitions ? (double)st->transitions : 1;

	truth_fmt(g, "# rec-gen seq --users %zu --items %zu --seed %llu\n"
		  "# next item = succ(previous) with probability q, else a Zipf(s)\n"
		  "# popular item (i0 the most popular); succ is one random cycle\n",
		  o->users, o->items, (unsigned long long)o->seed);
	truth_fmt(g, "q = %g\nzipf_s = %g\nusers = %zu\nitems = %zu\ninteractions = %zu\n"
		  "transitions = %zu\n", SEQ_Q, SEQ_ZIPF_S, o->users, o->items, st->nev,
		  st->transitions);
	truth_fmt(g, "# share of next items equal to succ(previous): the HR@1 of the oracle\n"
		  "successor_share = %.6f\n", (double)st->followed / n);
	truth_fmt(g, "# HR@10 of the oracle ranking succ(previous), then i0, i1, ... over\n"
		  "# all transitions (the planted ceiling), its expectation q + (1 - q) *\n"
		  "# popular mass of that list, and HR@10 of popularity alone (i0..i9)\n"
		  "hr10_ceiling = %.6f\nhr10_expected = %.6f\npop_hr10 = %.6f\n",
		  (double)st->oracle_hits / n, st->oracle_mass / n, (double)st->pop_hits / n);
	for (size_t i = 0; i < o->items; i++)
		truth_fmt(g, "succ.i%zu = i%u\n", i, st->succ[i]);
}

static void gen_seq(const struct gen_opts *o, struct gen *g)
{
	struct seq_state st = { 0 };

	rng_seed(&st.r, o->seed);
	zipf_init(&st.pop, SEQ_ZIPF_S, o->items);
	st.succ = rec_xmalloc(o->items * sizeof(*st.succ));
	st.pmf = rec_xmalloc(o->items * sizeof(*st.pmf));
	seq_cycle(&st, o->items);
	for (uint32_t u = 0; u < o->users; u++)
		seq_user(&st, u);
	/* Users interleave in time; a user's times strictly increase, and the
	 * (time, user) order is total, so qsort's instability cannot show. */
	qsort(st.ev, st.nev, sizeof(*st.ev), by_time);
	for (size_t i = 0; i < st.nev && !g->err; i++)
		out_fmt(g, "u%u\ti%u\t%u\t%llu\n", st.ev[i].user, st.ev[i].item, st.ev[i].rating,
			(unsigned long long)st.ev[i].time);
	seq_truth(g, o, &st);
	free(st.succ);
	free(st.pmf);
	free(st.ev);
}

/* ---- criteo: the shape of the Criteo display-advertising log -------------
 * label, I1..I13, C1..C26, tab-separated. Columns go missing in groups, as
 * in the real file (I1 with I10; C19, C20, C25 and C26 together). */

enum { NUM = 13, CAT = 26 };

/* Missing shares of the groups; group 0 is never missing. */
static const double criteo_group_missing[11] = {
	0, 0.45, 0.22, 0.21, 0.04, 0.23, 0.77, 0.03, 0.12, 0.45, 0.78
};
static const int criteo_num_group[NUM] = { 1, 0, 2, 3, 4, 5, 4, 0, 4, 1, 4, 6, 3 };
static const int criteo_cat_group[CAT] = {
	0, 0, 7, 7, 0, 8, 0, 0, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 9, 9, 7, 10, 0, 7, 9, 9
};
/* I = floor(exp(mu + sigma * N(0,1))) - 1, at least 0: heavy tails with
 * medians and 90th percentiles near the real columns'. */
static const double criteo_mu[NUM] = {
	0.69, 1.39, 1.95, 1.61, 7.98, 3.81, 1.39, 2.20, 3.87, 0.2, 0.69, 0.0, 1.79
};
static const double criteo_sigma[NUM] = {
	1.17, 3.0, 1.64, 1.12, 1.84, 1.64, 1.57, 1.10, 1.54, 0.8, 0.86, 0.86, 1.2
};
/* The Kaggle cardinalities, and Zipf exponents fitted to each column's top
 * value share. */
static const uint64_t criteo_card[CAT] = {
	1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
	27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572
};
static const double criteo_s[CAT] = {
	1.69, 0.91, 1.02, 1.05, 2.22, 1.71, 0.65, 1.98, 3.65, 1.33, 0.72, 1.02, 0.70,
	1.25, 0.78, 1.02, 1.20, 0.85, 1.88, 0.42, 1.02, 1.64, 1.47, 1.05, 1.41, 0.98
};
/* The label: logit = CRITEO_BIAS + 0.3 ln(1 + I1) + 0.2 [I1 missing]
 *                  + sum over C1, C5, C9, C14, C17, C23 of effect(column, value),
 * effect uniform in [-0.8, 0.8] from a hash of (column, value). */
#define CRITEO_BIAS (-1.9)
static const int criteo_signal[CAT] = {
	1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0
};

static inline uint64_t mix64(uint64_t x)
{
	return rec_splitmix64(&x);
}

static double criteo_effect(int col, uint64_t rank)
{
	uint64_t h = mix64(((uint64_t)col << 48) ^ rank ^ UINT64_C(0x5eed));

	return ((double)(h % 2001) / 1000 - 1) * 0.8;
}

/* I1..I13 after the label; returns the label's logit so far. */
static double criteo_nums(struct gen *g, struct rng *r, const int *missing)
{
	double logit = CRITEO_BIAS;

	for (int f = 0; f < NUM; f++) {
		g->buf[g->len++] = '\t';
		if (missing[criteo_num_group[f]]) {
			if (f == 0)
				logit += 0.2;
			continue;
		}
		double x = exp(criteo_mu[f] + criteo_sigma[f] * rng_normal(r));
		int64_t v = x >= 2e9 ? 2000000000 : x < 1 ? 0 : (int64_t)x - 1;
		if (f == 1 && rng_unif(r) < 0.11)  /* I2 is -1 about one time in ten */
			v = rng_unif(r) < 0.9 ? -1 : -2;
		if (f == 0)
			logit += 0.3 * log1p((double)v);
		out_int(g, v);
	}
	return logit;
}

static double criteo_cats(struct gen *g, struct rng *r, const struct zipf *z, const int *missing,
			  size_t *end)
{
	static const char hex[] = "0123456789abcdef";
	double logit = 0;

	for (int f = 0; f < CAT; f++) {
		g->buf[g->len++] = '\t';
		if (missing[criteo_cat_group[f]])
			continue;
		uint64_t rank = zipf_draw(&z[f], r);
		uint64_t h = mix64(((uint64_t)(f + 1) << 40) ^ rank) >> 32;
		if (criteo_signal[f])
			logit += criteo_effect(f, rank);
		for (int i = 7; i >= 0; i--, h >>= 4)
			g->buf[g->len + (size_t)i] = hex[h & 15];
		g->len += 8;
		*end = g->len;
	}
	return logit;
}

/* The label is known last, so its byte is reserved and filled in. */
static int criteo_row(struct gen *g, struct rng *r, const struct zipf *z, int strip)
{
	int missing[11] = { 0 };
	size_t at, end;
	double logit;

	for (int k = 1; k < 11; k++)
		missing[k] = rng_unif(r) < criteo_group_missing[k];
	out_room(g, 1024);
	at = g->len++;
	logit = criteo_nums(g, r, missing);
	end = g->len;
	logit += criteo_cats(g, r, z, missing, &end);
	g->buf[at] = rng_unif(r) < 1 / (1 + exp(-logit)) ? '1' : '0';
	if (strip)
		g->len = end;
	g->buf[g->len++] = '\n';
	return g->buf[at] == '1';
}

static void gen_criteo(const struct gen_opts *o, struct gen *g)
{
	struct zipf z[CAT];
	struct rng r;
	size_t i, pos = 0;

	rng_seed(&r, o->seed);
	for (int f = 0; f < CAT; f++)
		zipf_init(&z[f], criteo_s[f], criteo_card[f]);
	for (i = 0; i < o->rows && !g->err; i++)
		pos += (size_t)criteo_row(g, &r, z, o->strip);
	truth_fmt(g, "# rec-gen criteo --rows %zu --seed %llu%s\n"
		  "# logit = %g + 0.3 ln(1 + I1) + 0.2 [I1 missing] + sum over C1, C5, C9,\n"
		  "#   C14, C17, C23 of an effect in [-0.8, 0.8] hashed from (column, value)\n"
		  "rows = %zu\nlabel_rate = %.6f\n", o->rows, (unsigned long long)o->seed,
		  o->strip ? " --strip-trailing" : "", CRITEO_BIAS, o->rows,
		  (double)pos / (double)o->rows);
}

/* ---- command line -------------------------------------------------------- */

static void usage(void)
{
	printf("Usage: rec-gen ctr|seq|criteo [--rows <n>] [--users <n>] [--items <n>]\n"
	       "               [--seed <n>] [--truth <file>] [--strip-trailing]\n"
	       "Write deterministic synthetic data to stdout: the same seed gives the same\n"
	       "bytes on every machine.\n\n"
	       "  ctr     CTR log, TSV with a header: click p user item gender age category\n"
	       "          price tags hour. click ~ Bernoulli(p), p = 1 / (1 + exp(-logit)),\n"
	       "          logit = %g + category effect + age effect %+g (ln(price) - 3)\n"
	       "          %+g [t%d in tags] %+g (F ? 1 : -1) (even category ? 1 : -1);\n"
	       "          the last term is a gender x category cross (an XOR) that neither\n"
	       "          column shows alone. user, item and hour carry no signal\n"
	       "  seq     interactions user item rating time, no header, in time order with\n"
	       "          users interleaved; each next item is the successor of the last one\n"
	       "          on a hidden item cycle with probability %g, else a Zipf-popular one\n"
	       "  criteo  Criteo-shaped rows, no header: label, I1..I13 heavy-tailed integers,\n"
	       "          C1..C26 8-hex-digit Zipf values with the Kaggle cardinalities\n\n"
	       "      --rows <n>        rows of ctr and criteo (10000)\n"
	       "      --users <n>       users of seq (500)\n"
	       "      --items <n>       items of seq (300)\n"
	       "      --seed <n>        random seed (1)\n"
	       "      --truth <file>    write the planted truth there: parameters, click rate,\n"
	       "                        Bayes-optimal and no-cross AUC, HR@10 ceiling\n"
	       "      --strip-trailing  criteo: drop trailing empty fields, like the real file\n"
	       "  -h, --help            show this help\n\n"
	       "Example:\n"
	       "  rec-gen ctr --rows 40000 --seed 1 --truth ctr.truth > ctr.tsv\n",
	       CTR_BIAS, CTR_PRICE_COEF, CTR_TAG_COEF, CTR_TAG, CTR_CROSS, SEQ_Q);
}

enum { OPT_ITEMS = 256, OPT_ROWS, OPT_SEED, OPT_STRIP, OPT_TRUTH, OPT_USERS };

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "items", required_argument, NULL, OPT_ITEMS },
	{ "rows", required_argument, NULL, OPT_ROWS },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "strip-trailing", no_argument, NULL, OPT_STRIP },
	{ "truth", required_argument, NULL, OPT_TRUTH },
	{ "users", required_argument, NULL, OPT_USERS },
	{ NULL, 0, NULL, 0 }
};

static int take_option(struct gen_opts *o, int c)
{
	switch (c) {
	case 'h':
		usage();
		exit(REC_EXIT_OK);
	case OPT_ITEMS:
		o->set_seq = 1;
		return rec_parse_size(optarg, "--items", SEQ_TOPK, UINT32_MAX, &o->items);
	case OPT_ROWS:
		o->set_rows = 1;
		return rec_parse_size(optarg, "--rows", 1, SIZE_MAX / 64, &o->rows);
	case OPT_SEED:
		return rec_parse_u64(optarg, "--seed", &o->seed);
	case OPT_STRIP:
		o->strip = 1;
		return 0;
	case OPT_TRUTH:
		o->truth = optarg;
		return 0;
	case OPT_USERS:
		o->set_seq = 1;
		return rec_parse_size(optarg, "--users", 1, UINT32_MAX, &o->users);
	default:
		return -1;
	}
}

static void parse_args(struct gen_opts *o, int argc, char **argv)
{
	static const struct { const char *name; gen_fn *run; } modes[] = {
		{ "ctr", gen_ctr }, { "seq", gen_seq }, { "criteo", gen_criteo }
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1)
		if (take_option(o, c) < 0)
			rec_usage_exit();
	if (optind != argc - 1)
		rec_usage_error("name one kind of data: ctr, seq or criteo");
	o->mode = argv[optind];
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(o->mode, modes[i].name) == 0)
			o->run = modes[i].run;
	if (!o->run)
		rec_usage_error("unknown kind of data '%s' (ctr, seq or criteo)", o->mode);
	if (o->run == gen_seq && o->set_rows)
		rec_usage_error("--rows does not apply to seq (use --users)");
	if (o->run != gen_seq && o->set_seq)
		rec_usage_error("--users and --items apply to seq only");
	if (o->run != gen_criteo && o->strip)
		rec_usage_error("--strip-trailing applies to criteo only");
}

int main(int argc, char **argv)
{
	struct gen_opts o = GEN_OPTS_INIT;
	struct gen g = { 0 };

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	rec_io_quiet_epipe();
	if (gen_open(&g, &o) < 0) {
		free(g.buf);
		return REC_EXIT_TROUBLE;
	}
	o.run(&o, &g);
	return gen_close(&g);
}
