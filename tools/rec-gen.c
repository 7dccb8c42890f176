/* rec-gen - deterministic synthetic data with a planted ground truth: a CTR
 * log whose click probability is a known function of its columns, an
 * interaction log with planted sequential patterns, and Criteo-shaped rows of
 * any size for throughput benchmarks. Same seed, same bytes. */
#include "config.h"
#include "err.h"
#include "io.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen_opts {
	const char *mode;     /* ctr | seq | criteo */
	size_t rows;          /* --rows (ctr 10000, criteo 10000) */
	size_t users;         /* --users (seq 500) */
	size_t items;         /* --items (seq 300) */
	uint64_t seed;        /* --seed (1) */
	const char *truth;    /* --truth FILE */
	int strip;            /* --strip-trailing */
};

/* ---- randomness (xoshiro256**, seeded by splitmix64) --------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
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

/* Uniform in [0, 1). */
static inline double rng_unif(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(rng_unif(r) * (double)n);
}

static double rng_normal(struct rng *r)
{
	double u = rng_unif(r), v = rng_unif(r);

	return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/* Zipf ranks 1..n by rejection-inversion (Hoermann & Derflinger 1996): O(1)
 * per draw without tables, so cardinalities of millions cost nothing. */
struct zipf {
	double s, n, hx1, hn, s2;
};

static double zipf_H(const struct zipf *z, double x)
{
	return (pow(x, 1 - z->s) - 1) / (1 - z->s);
}

static double zipf_Hinv(const struct zipf *z, double y)
{
	return pow(y * (1 - z->s) + 1, 1 / (1 - z->s));
}

static void zipf_init(struct zipf *z, double s, uint64_t n)
{
	z->s = s;
	z->n = (double)n;
	z->hx1 = zipf_H(z, 1.5) - 1;
	z->hn = zipf_H(z, z->n + 0.5);
	z->s2 = 2 - zipf_Hinv(z, zipf_H(z, 2.5) - pow(2, -s));
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
		if (k - x <= z->s2 || u >= zipf_H(z, k + 0.5) - pow(k, -z->s))
			return (uint64_t)k;
	}
}

/* ---- output -------------------------------------------------------------- */

struct out {
	char buf[1 << 16];
	size_t len;
	int failed;
};

static void out_flush(struct out *o)
{
	if (o->len && !o->failed && fwrite(o->buf, 1, o->len, stdout) != o->len)
		o->failed = errno ? errno : EIO;
	o->len = 0;
}

static inline void out_room(struct out *o, size_t n)
{
	if (o->len + n > sizeof(o->buf))
		out_flush(o);
}

static void out_str(struct out *o, const char *s)
{
	size_t n = strlen(s);

	out_room(o, n);
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_fmt(struct out *o, const char *fmt, ...) REC_PRINTF(2, 3);
static void out_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;

	out_room(o, 256);
	va_start(ap, fmt);
	o->len += (size_t)vsnprintf(o->buf + o->len, 256, fmt, ap);
	va_end(ap);
}

static inline void out_char(struct out *o, char c)
{
	out_room(o, 1);
	o->buf[o->len++] = c;
}

/* ---- exact AUC with ties, for the truth files ----------------------------- */

struct scored {
	double score;
	int label;
};

static int by_score(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->score, y = ((const struct scored *)b)->score;

	return (x > y) - (x < y);
}

/* Mann-Whitney: mean rank of the positives, tied scores sharing their rank. */
static double auc(struct scored *v, size_t n)
{
	double pos = 0, rank_sum = 0;

	qsort(v, n, sizeof(*v), by_score);
	for (size_t i = 0; i < n;) {
		size_t j = i, npos = 0;
		while (j < n && v[j].score == v[i].score)
			npos += (size_t)v[j++].label;
		rank_sum += (double)npos * ((double)(i + 1) + (double)j) / 2;
		pos += (double)npos;
		i = j;
	}
	if (pos == 0 || pos == (double)n)
		return 0.5;
	return (rank_sum - pos * (pos + 1) / 2) / (pos * ((double)n - pos));
}

static FILE *open_truth(const struct gen_opts *o)
{
	FILE *fp = o->truth ? fopen(o->truth, "w") : NULL;

	if (o->truth && !fp)
		rec_warn_errno("cannot create '%s'", o->truth);
	return fp;
}

/* ---- ctr: clicks from a known logit with one planted cross ---------------- */

#define CTR_CATEGORIES 20
#define CTR_TAGS 30
static const int ages[] = { 1, 18, 25, 35, 45, 50, 56 };
static const double age_share[] = { 0.04, 0.18, 0.34, 0.2, 0.1, 0.08, 0.06 };
static const double age_effect[] = { -0.6, 0.1, 0.4, 0.2, -0.1, -0.3, -0.5 };

/* The planted effects, drawn from a fixed stream so every seed shares them. */
struct ctr_truth {
	double bias, category[CTR_CATEGORIES], price, tag7, cross;
};

static void ctr_effects(struct ctr_truth *t)
{
	struct rng r;

	rng_seed(&r, 12345);
	t->bias = -1.2;
	for (int c = 0; c < CTR_CATEGORIES; c++)
		t->category[c] = 0.6 * rng_normal(&r);
	t->price = -0.35;
	t->tag7 = 0.9;
	t->cross = 1.1;
}

static int pick_age(struct rng *r)
{
	double u = rng_unif(r);
	int a = 0;

	while (a < 6 && (u -= age_share[a]) >= 0)
		a++;
	return a;
}

/* XOR-style: +cross when (category even) matches (gender F), else -cross.
 * Categories are uniform and genders 50/50, so neither column alone says
 * anything about this term. */
static double cross_term(const struct ctr_truth *t, int category, int female)
{
	return ((category % 2 == 0) == female) ? t->cross : -t->cross;
}

static int ctr_row(struct out *o, struct rng *r, const struct ctr_truth *t, struct zipf *items,
		   double *logit_nocross, double *p)
{
	int female = rng_unif(r) < 0.5, age = pick_age(r), cat = (int)rng_below(r, CTR_CATEGORIES);
	uint64_t user = rng_below(r, 2000), item = zipf_draw(items, r) - 1;
	double price = exp(3 + rng_normal(r)), logit;
	int ntags = (int)rng_below(r, 5), has7 = 0, hour = (int)rng_below(r, 24);
	int tags[4];

	for (int k = 0; k < ntags; k++) {
		tags[k] = (int)rng_below(r, CTR_TAGS);
		has7 |= tags[k] == 7;
	}
	*logit_nocross = t->bias + t->category[cat] + age_effect[age] +
			 t->price * (log(price) - 3) + (has7 ? t->tag7 : 0);
	logit = *logit_nocross + cross_term(t, cat, female);
	*p = 1 / (1 + exp(-logit));
	int click = rng_unif(r) < *p;
	out_fmt(o, "%d\t%.6f\tu%llu\ti%llu\t%c\t%d\tc%d\t%.2f\t", click, *p,
		(unsigned long long)user, (unsigned long long)item, female ? 'F' : 'M', ages[age], cat,
		price);
	for (int k = 0; k < ntags; k++)
		out_fmt(o, "%st%d", k ? "|" : "", tags[k]);
	out_fmt(o, "\t%d\n", hour);
	return click;
}

static int gen_ctr(const struct gen_opts *o, struct out *out)
{
	struct ctr_truth t;
	struct rng r;
	struct zipf items;
	struct scored *bayes = rec_xcalloc(o->rows, sizeof(*bayes));
	struct scored *nocross = rec_xcalloc(o->rows, sizeof(*nocross));
	double clicks = 0;
	FILE *fp;

	ctr_effects(&t);
	rng_seed(&r, o->seed);
	zipf_init(&items, 1.05, 1000);
	out_str(out, "click\tp\tuser\titem\tgender\tage\tcategory\tprice\ttags\thour\n");
	for (size_t i = 0; i < o->rows; i++) {
		double p;
		int click = ctr_row(out, &r, &t, &items, &nocross[i].score, &p);
		bayes[i] = (struct scored){ floor(p * 1e6 + 0.5) / 1e6, click }; /* as printed */
		nocross[i].label = click;
		clicks += click;
	}
	if ((fp = open_truth(o))) {
		fprintf(fp, "# rec-gen ctr --rows %zu --seed %llu\n", o->rows, (unsigned long long)o->seed);
		fprintf(fp, "logit = bias + category_effect[category] + age_effect[age]"
			" + price_coef * (ln(price) - 3) + tag7_coef * [t7 in tags]"
			" + cross * (+1 if (category even) == (gender F) else -1)\n");
		fprintf(fp, "bias = %g\nprice_coef = %g\ntag7_coef = %g\ncross = %g\n", t.bias, t.price,
			t.tag7, t.cross);
		for (int c = 0; c < CTR_CATEGORIES; c++)
			fprintf(fp, "category_effect.c%d = %.6f\n", c, t.category[c]);
		for (int a = 0; a < 7; a++)
			fprintf(fp, "age_effect.%d = %g\n", ages[a], age_effect[a]);
		fprintf(fp, "rows = %zu\nclick_rate = %.6f\n", o->rows, clicks / (double)o->rows);
		fprintf(fp, "bayes_auc = %.6f\n", auc(bayes, o->rows));
		fprintf(fp, "nocross_auc = %.6f\n", auc(nocross, o->rows));
		if (fclose(fp) != 0)
			rec_warn_errno("cannot write '%s'", o->truth);
	}
	free(bayes);
	free(nocross);
	return 0;
}

/* ---- seq: item chains a user follows with probability q ------------------ */

struct event {
	uint64_t time;
	uint32_t user, item, rating;
};

static int by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->time != y->time)
		return (x->time > y->time) - (x->time < y->time);
	return (x->user > y->user) - (x->user < y->user);
}

#define SEQ_Q 0.6

struct seq_state {
	uint32_t *succ;       /* the hidden cycle: the item after each item */
	struct event *ev;
	size_t nev, cap;
	size_t transitions, followed;
};

/* One user's history: a popular start, then the successor with probability q. */
static void seq_user(struct seq_state *st, struct rng *r, const struct zipf *pop, uint32_t u)
{
	size_t len = 10 + rng_below(r, 51);
	uint64_t t = rng_below(r, 1000000);
	uint32_t item = (uint32_t)zipf_draw(pop, r) - 1;

	for (size_t k = 0; k < len; k++) {
		if (k > 0) {
			uint32_t next = rng_unif(r) < SEQ_Q ? st->succ[item] : (uint32_t)zipf_draw(pop, r) - 1;
			st->transitions++;
			st->followed += next == st->succ[item];
			item = next;
		}
		t += 1 + rng_below(r, 1000);
		rec_xgrow(&st->ev, &st->cap, st->nev + 1, sizeof(*st->ev));
		st->ev[st->nev++] = (struct event){ t, u, item, 1 + (uint32_t)rng_below(r, 5) };
	}
}

static int gen_seq(const struct gen_opts *o, struct out *out)
{
	struct seq_state st = { 0 };
	uint32_t *order = rec_xcalloc(o->items, sizeof(uint32_t));
	struct rng r;
	struct zipf pop;
	FILE *fp;

	rng_seed(&r, o->seed);
	zipf_init(&pop, 1.0001, o->items);
	st.succ = rec_xcalloc(o->items, sizeof(uint32_t));
	for (uint32_t i = 0; i < o->items; i++)
		order[i] = i;
	for (size_t i = o->items - 1; i > 0; i--) { /* a random cycle through all items */
		size_t j = rng_below(&r, i + 1);
		uint32_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < o->items; i++)
		st.succ[order[i]] = order[(i + 1) % o->items];
	for (uint32_t u = 0; u < o->users; u++)
		seq_user(&st, &r, &pop, u);
	qsort(st.ev, st.nev, sizeof(*st.ev), by_time);
	for (size_t i = 0; i < st.nev; i++)
		out_fmt(out, "u%u\ti%u\t%u\t%llu\n", st.ev[i].user, st.ev[i].item, st.ev[i].rating,
			(unsigned long long)st.ev[i].time);
	if ((fp = open_truth(o))) {
		double share = st.transitions ? (double)st.followed / (double)st.transitions : 0;
		fprintf(fp, "# rec-gen seq --users %zu --items %zu --seed %llu\n", o->users, o->items,
			(unsigned long long)o->seed);
		fprintf(fp, "# next item = succ(previous) with probability q, else a Zipf(1) popular item;\n"
			"# succ is one random cycle through all items\n");
		fprintf(fp, "q = %g\nusers = %zu\nitems = %zu\ninteractions = %zu\n", SEQ_Q, o->users,
			o->items, st.nev);
		fprintf(fp, "successor_share = %.6f\n", share);
		/* A model that ranks succ(previous) first hits whenever it is followed:
		 * at least this share of next items is predictable at HR@1. */
		fprintf(fp, "planted_hr1_floor = %.6f\n", share);
		for (size_t i = 0; i < o->items; i++)
			fprintf(fp, "succ.i%zu = i%u\n", i, st.succ[i]);
		if (fclose(fp) != 0)
			rec_warn_errno("cannot write '%s'", o->truth);
	}
	free(order);
	free(st.succ);
	free(st.ev);
	return 0;
}

/* ---- criteo: the shape of the Criteo display-ads log ---------------------- */

static const uint64_t criteo_card[26] = {
	1460, 583, 10131227, 2202608, 305, 24, 12517, 633, 3, 93145, 5683, 8351593, 3194,
	27, 14992, 5461306, 10, 5652, 2173, 4, 7046547, 18, 15, 286181, 105, 142572
};
/* Shares of empty values, close to the real file's. */
static const double criteo_cat_missing[26] = {
	0, 0, 0.03, 0.03, 0, 0.12, 0, 0, 0, 0, 0, 0.03, 0, 0, 0, 0.03, 0, 0, 0.44, 0.44,
	0.03, 0.76, 0, 0.03, 0.44, 0.44
};
static const double criteo_num_missing[13] = {
	0.45, 0, 0.21, 0.22, 0.03, 0.22, 0.04, 0, 0.04, 0.45, 0.04, 0.77, 0.22
};
/* Log-normal scale of each integer column: heavy tails, as in the real data. */
static const double criteo_num_mu[13] = { 0.7, 2.5, 2.2, 1.8, 7.5, 3.5, 1.8, 2.3, 3.8, 0.2, 0.8, 0.3, 1.8 };

static inline uint32_t mix32(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (uint32_t)x;
}

/* The click signal: a few columns shift the logit. */
static double criteo_effect(uint64_t field, uint64_t rank)
{
	return ((double)(mix32(field * 7919 + rank) % 1000) / 1000 - 0.5) * 1.6;
}

static void criteo_row(struct out *o, struct rng *r, const struct zipf *z, int strip)
{
	char cells[40][24];
	size_t lens[40], last = 0;
	double logit = -1.4;

	for (int f = 0; f < 13; f++) {
		lens[1 + f] = 0;
		if (rng_unif(r) < criteo_num_missing[f])
			continue;
		long v = (long)floor(exp(criteo_num_mu[f] + 1.4 * rng_normal(r)) - 1);
		if (f == 1 && rng_unif(r) < 0.05)
			v = -(long)(1 + rng_below(r, 3));
		lens[1 + f] = (size_t)snprintf(cells[1 + f], sizeof(cells[0]), "%ld", v < 0 && f != 1 ? 0 : v);
		if (f == 0)
			logit += 0.25 * log1p(v > 0 ? (double)v : 0);
	}
	for (int f = 0; f < 26; f++) {
		lens[14 + f] = 0;
		if (rng_unif(r) < criteo_cat_missing[f])
			continue;
		uint64_t rank = zipf_draw(&z[f], r);
		if (f == 0 || f == 8 || f == 13 || f == 16)
			logit += criteo_effect((uint64_t)f, rank);
		uint32_t v = mix32(((uint64_t)(f + 1) << 40) ^ rank);
		static const char hex[] = "0123456789abcdef";
		for (int i = 7; i >= 0; i--, v >>= 4)
			cells[14 + f][i] = hex[v & 15];
		lens[14 + f] = 8;
	}
	lens[0] = 1;
	cells[0][0] = rng_unif(r) < 1 / (1 + exp(-logit)) ? '1' : '0';
	for (size_t c = 0; c < 40; c++)
		if (lens[c])
			last = c;
	for (size_t c = 0; c < (strip ? last + 1 : 40); c++) {
		if (c)
			out_char(o, '\t');
		out_room(o, lens[c]);
		memcpy(o->buf + o->len, cells[c], lens[c]);
		o->len += lens[c];
	}
	out_char(o, '\n');
}

static int gen_criteo(const struct gen_opts *o, struct out *out)
{
	struct zipf z[26];
	struct rng r;

	rng_seed(&r, o->seed);
	for (int f = 0; f < 26; f++)
		zipf_init(&z[f], criteo_card[f] > 100000 ? 1.05 : 1.2, criteo_card[f]);
	for (size_t i = 0; i < o->rows && !out->failed; i++)
		criteo_row(out, &r, z, o->strip);
	return 0;
}

/* ---- command line -------------------------------------------------------- */

static void usage(void)
{
	printf("Usage: rec-gen ctr|seq|criteo [--rows <n>] [--users <n>] [--items <n>]\n"
	       "               [--seed <n>] [--truth <file>] [--strip-trailing]\n"
	       "Write deterministic synthetic data to stdout (same seed, same bytes).\n\n"
	       "  ctr     CTR log with a header: click p user item gender age category price\n"
	       "          tags hour; click ~ Bernoulli(p), p = sigmoid of category, age,\n"
	       "          ln(price), tag t7 and one planted gender x category cross that\n"
	       "          neither column shows alone (XOR-style)\n"
	       "  seq     interaction log user item rating time in global time order; users\n"
	       "          follow a hidden item cycle with probability 0.6\n"
	       "  criteo  Criteo-shaped rows: label, I1..I13 heavy-tailed integers, C1..C26\n"
	       "          Zipf-distributed 8-hex-digit values with Criteo's cardinalities\n\n"
	       "      --rows <n>        rows for ctr and criteo (10000)\n"
	       "      --users <n>       users for seq (500)\n"
	       "      --items <n>       items for seq (300)\n"
	       "      --seed <n>        random seed (1)\n"
	       "      --truth <file>    write the planted truth (parameters, Bayes AUC) there\n"
	       "      --strip-trailing  criteo: drop trailing empty fields, as the real file does\n"
	       "  -h, --help            show this help\n");
}

enum { OPT_ROWS = 256, OPT_USERS, OPT_ITEMS, OPT_SEED, OPT_TRUTH, OPT_STRIP };

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
	case 'h': usage(); exit(REC_EXIT_OK);
	case OPT_ROWS: return rec_parse_size(optarg, "--rows", 1, SIZE_MAX, &o->rows);
	case OPT_USERS: return rec_parse_size(optarg, "--users", 1, UINT32_MAX, &o->users);
	case OPT_ITEMS: return rec_parse_size(optarg, "--items", 2, UINT32_MAX, &o->items);
	case OPT_SEED: return rec_parse_u64(optarg, "--seed", &o->seed);
	case OPT_TRUTH: o->truth = optarg; return 0;
	case OPT_STRIP: o->strip = 1; return 0;
	default: return -1;
	}
}

static void parse_args(struct gen_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1)
		if (take_option(o, c) < 0)
			rec_usage_exit();
	if (optind != argc - 1)
		rec_usage_error("name one kind of data: ctr, seq or criteo");
	o->mode = argv[optind];
	if (strcmp(o->mode, "ctr") && strcmp(o->mode, "seq") && strcmp(o->mode, "criteo"))
		rec_usage_error("unknown kind of data '%s' (ctr, seq or criteo)", o->mode);
}

int main(int argc, char **argv)
{
	struct gen_opts o = { .rows = 10000, .users = 500, .items = 300, .seed = 1 };
	struct out *out = rec_xcalloc(1, sizeof(*out));
	int status;

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	rec_io_quiet_epipe();
	if (strcmp(o.mode, "ctr") == 0)
		gen_ctr(&o, out);
	else if (strcmp(o.mode, "seq") == 0)
		gen_seq(&o, out);
	else
		gen_criteo(&o, out);
	out_flush(out);
	if (!out->failed && fflush(stdout) != 0)
		out->failed = errno;
	status = out->failed && out->failed != EPIPE ? REC_EXIT_TROUBLE : REC_EXIT_OK;
	if (status != REC_EXIT_OK)
		rec_warn("cannot write to standard output: %s", strerror(out->failed));
	free(out);
	return status;
}
