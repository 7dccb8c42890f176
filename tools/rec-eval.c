/* rec-eval - score a hashed stream with a trained model and report metrics:
 * click metrics per record, or (--top-k) ranking metrics of the lists a
 * lightfm or ncf model makes for the users of a held-out stream. */
#include "config.h"
#include "err.h"
#include "ctr.h"
#include "hash.h"
#include "io.h"
#include "metrics.h"
#include "plot.h"
#include "rank.h"
#include "scaling.h"
#include "sasrec.h"
#include "seqrank.h"

#include "blas.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eval_opts {
	const char *model;        /* -m, --model <file> (required) */
	int json;                 /* --json: metrics as one JSON object */
	int predict;              /* --predict: score, label, group per record on stdout */
	double min_auc;           /* --min-auc: exit 1 below it (-1 = off) */
	struct rec_plot_spec plot[8]; /* --plot [<kind>:]<file>, repeatable */
	size_t nplots;
	size_t top_k;             /* --top-k <n>: ranking metrics at n (0 = off) */
	const char *seen[8];      /* --seen <file>: what users had, left out of lists */
	int popularity;           /* --popularity: rank by training positives instead */
	int keep_seen;            /* --keep-seen: sasrec ranks the history's items too */
	size_t sampled;           /* --sampled <n>: sasrec's sampled negatives (100) */
	int ranks;                /* --ranks: sasrec's rank of each user's target on stdout */
	int split;                /* --split test|valid: sasrec's held-out item (test) */
	int set_seq;              /* one of the four given */
	int set_loo;              /* --sampled, --ranks or --split: leave-one-out only */
	int scaling;              /* --scaling-law: fit L(N) to (size, loss) points */
	size_t hold_out;          /* --hold-out <n>: the n largest sizes predicted, not fitted (2) */
	int set_hold_out;
	size_t nseen;
	char **inputs;            /* hashed streams; none = stdin */
	size_t ninputs;
};

/* Everything scored, kept for the metrics. */
struct scores {
	float *p, *y, *w;
	uint64_t *g;
	size_t n, cap;
	int groups, weighted;
};

static void usage(void)
{
	printf("Usage: rec-eval -m <model> [--json] [--predict] [--min-auc <x>]\n"
	       "                [--plot [<kind>:]<file>]... [<file>...]\n"
	       "       rec-eval -m <model> --top-k <n> [--seen <file>]... [--json] [<file>...]\n"
	       "       rec-eval -m <sasrec-model> --top-k <n> --seen <file>... [--keep-seen]\n"
	       "                [--popularity] [--json] [<file>...]\n"
	       "       rec-eval -m <sasrec-model> [--top-k <n>] [--keep-seen] [--sampled <n>]\n"
	       "                [--split test|valid] [--ranks] [--json] [<file>...]\n"
	       "       rec-eval --scaling-law [--hold-out <n>] [--plot law:<file>] [--json]\n"
	       "                [<points>...]\n"
	       "Score hashed feature streams with a model from rec-train and print AUC,\n"
	       "logloss, group AUC (over the stream's group key), calibration and coverage.\n"
	       "With --top-k, rank the catalogue for every user of the streams (a held-out\n"
	       "period) with a lightfm or ncf model and print precision, recall, NDCG and\n"
	       "MAP at n against each user's positives there, coverage and popularity of\n"
	       "the lists.\n"
	       "A sasrec model ranks the held-out item of every sequence of the streams:\n"
	       "HR, NDCG, MRR, cross-entropy, by history length too; with --seen, the lists\n"
	       "after the --seen sequences against the streams' (a held-out period).\n"
	       "With --scaling-law, fit L(N) = E + A N^-alpha to 'size loss' lines and\n"
	       "predict the largest sizes from the others.\n\n"
	       "  -m, --model <file>     the model\n"
	       "      --json             print the metrics as one JSON object\n"
	       "      --predict          write 'score<TAB>label[<TAB>group]' per record to\n"
	       "                         stdout; the metrics go to stderr\n"
	       "      --min-auc <x>      exit 1 when the AUC is below x (for release gates)\n"
	       "      --plot [<kind>:]<file>\n"
	       "                         draw a ROC curve or a calibration plot as SVG;\n"
	       "                         <kind> is roc or calibration, else the file name\n"
	       "                         starts with roc or calib; may be repeated\n"
	       "      --top-k <n>        ranking metrics of top-n lists (lightfm, ncf models;\n"
	       "                         sasrec with --seen)\n"
	       "      --seen <file>      with --top-k: a stream of what users had before\n"
	       "                         (training): left out of lists and of the truth;\n"
	       "                         may be repeated\n"
	       "      --popularity       with --top-k: rank by the items' positives in\n"
	       "                         training instead of the model (the baseline)\n"
	       "sasrec models, on item sequences (the last item of each is the test target):\n"
	       "      --top-k <n>        HR@n and NDCG@n (10)\n"
	       "      --seen <file>      with --top-k: the histories; the input's items are\n"
	       "                         the truth (precision, recall, NDCG, MAP as above)\n"
	       "      --keep-seen        rank the items of the user's history too (left out\n"
	       "                         by default)\n"
	       "      --sampled <n>      also rank against n negatives the user never had\n"
	       "                         (100; 0: off)\n"
	       "      --split test|valid rank the last item (test) or the one before it\n"
	       "      --ranks            write 'user<TAB>history<TAB>rank<TAB>candidates<TAB>\n"
	       "                         sampled_rank<TAB>sampled_candidates<TAB>cross_entropy'\n"
	       "                         per user to stdout; the metrics go to stderr\n"
	       "scaling laws, on text lines 'N loss' (e.g. non-embedding parameters and\n"
	       "test cross-entropy of a ladder of models):\n"
	       "      --scaling-law      fit L(N) = E + A N^-alpha in relative error\n"
	       "      --hold-out <n>     predict the n largest sizes instead of fitting them\n"
	       "                         (2; 0: fit all)\n"
	       "      --plot law:<file>  draw points and curve, log-log, as SVG\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n");
}

enum { OPT_JSON = 256, OPT_PREDICT, OPT_MIN_AUC, OPT_PLOT, OPT_VERSION, OPT_TOP_K, OPT_SEEN,
       OPT_POPULARITY, OPT_KEEP_SEEN, OPT_SAMPLED, OPT_RANKS, OPT_SPLIT, OPT_SCALING,
       OPT_HOLD_OUT };

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "hold-out", required_argument, NULL, OPT_HOLD_OUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "keep-seen", no_argument, NULL, OPT_KEEP_SEEN },
	{ "min-auc", required_argument, NULL, OPT_MIN_AUC },
	{ "model", required_argument, NULL, 'm' },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "popularity", no_argument, NULL, OPT_POPULARITY },
	{ "predict", no_argument, NULL, OPT_PREDICT },
	{ "ranks", no_argument, NULL, OPT_RANKS },
	{ "sampled", required_argument, NULL, OPT_SAMPLED },
	{ "scaling-law", no_argument, NULL, OPT_SCALING },
	{ "seen", required_argument, NULL, OPT_SEEN },
	{ "split", required_argument, NULL, OPT_SPLIT },
	{ "top-k", required_argument, NULL, OPT_TOP_K },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* Scaling-law plots go with --scaling-law, the others without. */
static void check_plots(const struct eval_opts *o)
{
	for (size_t i = 0; i < o->nplots; i++)
		if ((o->plot[i].kind == REC_PLOT_LAW) != !!o->scaling)
			rec_usage_error(o->scaling ? "--scaling-law draws law:<file> plots only"
						   : "--plot law:<file> goes with --scaling-law");
}

static void parse_args(struct eval_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "hm:", long_options, NULL)) != -1) {
		switch (c) {
		case 'h': usage(); exit(REC_EXIT_OK);
		case OPT_VERSION: printf("rec-eval (recpipe) %s\n", PACKAGE_VERSION); exit(REC_EXIT_OK);
		case 'm': o->model = optarg; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_PREDICT: o->predict = 1; break;
		case OPT_MIN_AUC:
			if (rec_parse_float(optarg, "--min-auc", &o->min_auc) < 0)
				rec_usage_exit();
			break;
		case OPT_PLOT:
			if (o->nplots == sizeof(o->plot) / sizeof(o->plot[0]))
				rec_usage_error("too many --plot options (at most %zu)", o->nplots);
			if (rec_plot_parse(optarg, &o->plot[o->nplots++]) < 0)
				rec_usage_error("cannot tell the kind of --plot '%s': use roc:<file>, "
						"calibration:<file>, or a name starting with roc or calib",
						optarg);
			break;
		case OPT_TOP_K:
			if (rec_parse_size(optarg, "--top-k", 1, 100000, &o->top_k) < 0)
				rec_usage_exit();
			break;
		case OPT_POPULARITY: o->popularity = 1; break;
		case OPT_SCALING: o->scaling = 1; break;
		case OPT_HOLD_OUT:
			if (rec_parse_size(optarg, "--hold-out", 0, 1000000, &o->hold_out) < 0)
				rec_usage_exit();
			o->set_hold_out = 1;
			break;
		case OPT_KEEP_SEEN: o->keep_seen = o->set_seq = 1; break;
		case OPT_RANKS: o->ranks = o->set_seq = o->set_loo = 1; break;
		case OPT_SAMPLED:
			o->set_seq = o->set_loo = 1;
			if (rec_parse_size(optarg, "--sampled", 0, 1000000, &o->sampled) < 0)
				rec_usage_exit();
			break;
		case OPT_SPLIT:
			o->set_seq = o->set_loo = 1;
			if (strcmp(optarg, "test") && strcmp(optarg, "valid"))
				rec_usage_error("invalid value '%s' for --split (test, valid)", optarg);
			o->split = strcmp(optarg, "test") ? REC_SPLIT_VALID : REC_SPLIT_TEST;
			break;
		case OPT_SEEN:
			if (o->nseen == sizeof(o->seen) / sizeof(o->seen[0]))
				rec_usage_error("too many --seen options (at most %zu)", o->nseen);
			o->seen[o->nseen++] = optarg;
			break;
		default: rec_usage_exit();
		}
	}
	check_plots(o);
	if (o->scaling && (o->model || o->predict || o->min_auc >= 0 || o->top_k || o->nseen ||
			   o->popularity || o->set_seq))
		rec_usage_error("--scaling-law reads 'size loss' points, not a model: of the other "
				"options only --hold-out, --plot law:<file> and --json apply");
	if (o->set_hold_out && !o->scaling)
		rec_usage_error("--hold-out goes with --scaling-law");
	if (!o->model && !o->scaling)
		rec_usage_error("name the model with -m");
	if ((o->nseen || o->popularity) && !o->top_k)
		rec_usage_error("--seen and --popularity go with --top-k");
	if (o->top_k && (o->predict || o->nplots || o->min_auc >= 0))
		rec_usage_error("--top-k reports ranking metrics: --predict, --plot and --min-auc do "
				"not apply");
	o->inputs = argv + optind;
	o->ninputs = (size_t)(argc - optind);
}

static void keep(struct scores *s, float p, float y, float w, uint64_t g)
{
	size_t cap = s->cap;

	rec_xgrow(&s->p, &cap, s->n + 1, sizeof(float));
	if (cap != s->cap) {  /* the parallel arrays only when p grew */
		s->y = rec_xrealloc(s->y, cap * sizeof(float));
		s->w = rec_xrealloc(s->w, cap * sizeof(float));
		s->g = rec_xrealloc(s->g, cap * sizeof(uint64_t));
		s->cap = cap;
	}
	s->p[s->n] = p;
	s->y[s->n] = y;
	s->w[s->n] = w;
	s->g[s->n++] = g;
}

static int score_block(struct rec_ctr *m, const struct rec_block *b, struct scores *s, int predict)
{
	int grouped = (b->schema->flags & REC_HAS_GROUP) != 0;
	int weighted = (b->schema->flags & REC_HAS_WEIGHT) != 0;
	float *p = rec_xmalloc((b->n + 1) * sizeof(float));
	int rc = 0;

	s->groups = grouped;
	s->weighted = weighted;
	rec_ctr_predict_block(m, b, p);
	for (size_t r = 0; rc == 0 && r < b->n; r++) {
		const char *g = grouped ? b->gstr + b->goff[r] : "";
		size_t glen = grouped ? b->goff[r + 1] - b->goff[r] : 0;
		keep(s, p[r], b->label[r], weighted ? b->weight[r] : 1, rec_hash_group(g, glen));
		if (predict && (grouped ? printf("%.6f\t%g\t%.*s\n", p[r], b->label[r], (int)glen, g)
			       : printf("%.6f\t%g\n", p[r], b->label[r])) < 0)
			rc = -1;
	}
	free(p);
	return rc;
}

static int score_input(struct rec_ctr *m, const char *path, struct scores *s, int predict)
{
	struct rec_reader *r = rec_reader_open(path);
	const struct rec_block *b;
	int rc;

	if (!r)
		return -1;
	rc = rec_ctr_check_schema(m, rec_reader_schema(r), rec_reader_name(r));
	while (rc == 0 && (rc = rec_reader_next(r, &b)) > 0)
		rc = score_block(m, b, s, predict) < 0 ? -1 : 0;
	rec_reader_close(r);
	return rc;
}

/* "key": value, with null where the metric is undefined (one class only):
 * JSON has no NaN. */
static void json_num(FILE *fp, const char *key, double v)
{
	if (isfinite(v))
		fprintf(fp, "\"%s\": %.6f, ", key, v);
	else
		fprintf(fp, "\"%s\": null, ", key);
}

static void report(FILE *fp, const struct scores *s, const struct rec_ctr *m, int json)
{
	size_t used = 0;
	const float *w = s->weighted ? s->w : NULL;
	double auc = rec_auc(s->p, s->y, w, s->n), ll = rec_logloss(s->p, s->y, w, s->n);
	double gauc = s->groups ? rec_gauc(s->p, s->y, s->g, s->n, &used) : NAN;
	double cal = rec_calibration(s->p, s->y, s->n);
	double cov = rec_ctr_coverage(m);

	if (json) {
		fprintf(fp, "{\"records\": %zu, \"model\": \"%s\", ", s->n, rec_ctr_kind(m));
		json_num(fp, "auc", auc);
		json_num(fp, "logloss", ll);
		if (s->groups) {
			json_num(fp, "gauc", gauc);
			fprintf(fp, "\"gauc_groups\": %zu, ", used);
		}
		json_num(fp, "calibration", cal);
		fprintf(fp, "\"coverage\": %.6f}\n", cov);
		return;
	}
	fprintf(fp, "records      %zu\nauc          %.4f\nlogloss      %.4f\n", s->n, auc, ll);
	if (s->groups)
		fprintf(fp, "gauc         %.4f (%zu groups with both labels)\n", gauc, used);
	fprintf(fp, "calibration  %.4f\ncoverage     %.4f\n", cal, cov);
}

/* ---- --top-k ------------------------------------------------------------- */

static void report_rank(FILE *fp, const struct rec_rank_metrics *r, size_t k, const char *name, int json)
{
	static const char *const names[] = { "precision", "recall", "ndcg", "map" };
	const double v[] = { r->precision, r->recall, r->ndcg, r->map };
	char key[48];

	if (json)
		fprintf(fp, "{\"users\": %zu, \"model\": \"%s\", \"k\": %zu, ", r->users, name, k);
	else
		fprintf(fp, "users        %zu\n", r->users);
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "%s@%zu", names[i], k);
		if (json)
			json_num(fp, key, v[i]);
		else if (isfinite(v[i]))
			fprintf(fp, "%-12s %.4f\n", key, v[i]);
		else
			fprintf(fp, "%-12s nan\n", key);
	}
	if (json) {
		fprintf(fp, "\"coverage\": %.6f, \"popularity\": %.6f}\n", r->coverage, r->popularity);
		return;
	}
	fprintf(fp, "coverage     %.4f\npopularity   %.4f\n", r->coverage, r->popularity);
}

/* The users of the inputs ranked against their positives there, minus
 * what --seen says they had. */
static int run_top_k(const struct eval_opts *o, struct rec_ctr *c)
{
	struct rec_rank_model rm;
	struct rec_rank_heldout h = { 0 };
	struct rec_rank_metrics r;
	int rc = rec_rank_model_init(&rm, c, "--top-k");

	if (rc == 0)
		rc = rec_rank_heldout_read(&h, &rm, c, (const char *const *)o->inputs, o->ninputs, o->seen,
					   o->nseen);
	if (rc == 0) {
		if (h.u.unknown && !o->popularity)
			rec_warn("%zu of %zu users have no feature the model knows: their items rank as "
				 "the model scores an unknown user", h.u.unknown, h.u.n);
		rec_rank_heldout_score(&r, &h, &rm, o->top_k, o->popularity);
		if (!r.users)
			rec_warn("no user of the input has positives it did not have before: nothing "
				 "to measure");
		report_rank(stdout, &r, o->top_k, o->popularity ? "popularity" : rec_ctr_kind(c), o->json);
	}
	rec_rank_heldout_free(&h);
	rec_rank_model_free(&rm);
	return rc;
}

/* ---- sasrec --------------------------------------------------------------- */

static void seq_metrics(FILE *fp, const char *prefix, const struct rec_seqeval_metrics *m, size_t k,
			int json)
{
	const double v[] = { m->hr, m->ndcg, m->mrr };
	static const char *const names[] = { "hr", "ndcg", "mrr" };
	char key[48];

	for (int i = 0; i < 3; i++) {
		if (i < 2)
			snprintf(key, sizeof(key), "%s%s@%zu", prefix, names[i], k);
		else
			snprintf(key, sizeof(key), "%s%s", prefix, names[i]);
		if (json)
			json_num(fp, key, v[i]);
		else if (isfinite(v[i]))
			fprintf(fp, "%-20s %.4f\n", key, v[i]);
		else
			fprintf(fp, "%-20s nan\n", key);
	}
}

static void report_seq(FILE *fp, const struct rec_sasrec *m, const struct rec_seqeval *r,
		       const struct eval_opts *o, size_t k)
{
	size_t params = rec_sasrec_params(m, 0), nonembed = rec_sasrec_params(m, 1);
	char prefix[48];

	if (o->json)
		fprintf(fp, "{\"users\": %zu, \"skipped\": %zu, \"model\": \"sasrec\", \"params\": %zu, "
			"\"non_embedding_params\": %zu, \"k\": %zu, ", r->n, r->skipped, params, nonembed, k);
	else
		fprintf(fp, "users                %zu\nparams               %zu\n"
			"non_embedding_params %zu\n", r->n, params, nonembed);
	seq_metrics(fp, "", &r->all, k, o->json);
	if (o->sampled) {
		snprintf(prefix, sizeof(prefix), "sampled%zu_", o->sampled);
		seq_metrics(fp, prefix, &r->sampled, k, o->json);
	}
	if (o->json)
		json_num(fp, "cross_entropy", r->ce);
	else
		fprintf(fp, "%-20s %.4f\n", "cross_entropy", r->ce);
	for (int i = 0; i < REC_SEQEVAL_SLICES; i++) {
		unsigned lo = rec_seqeval_slice_lo[i];
		if (i + 1 < REC_SEQEVAL_SLICES)
			snprintf(prefix, sizeof(prefix), "history_%u-%u_", lo, rec_seqeval_slice_lo[i + 1] - 1);
		else
			snprintf(prefix, sizeof(prefix), "history_%u+_", lo);
		if (o->json) {
			fprintf(fp, "\"%susers\": %zu, ", prefix, r->slice[i].users);
		} else {
			char key[64];
			snprintf(key, sizeof(key), "%susers", prefix);
			fprintf(fp, "%-20s %zu\n", key, r->slice[i].users);
		}
		seq_metrics(fp, prefix, &r->slice[i], k, o->json);
	}
	if (o->json)
		fprintf(fp, "\"keep_seen\": %s, \"split\": \"%s\"}\n", o->keep_seen ? "true" : "false",
			o->split == REC_SPLIT_TEST ? "test" : "valid");
}

static int write_ranks(const struct rec_seqs *s, const struct rec_seqeval *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct rec_seqeval_user *u = &r->u[i];
		if (printf("%.*s\t%u\t%u\t%u\t%u\t%u\t%.6f\n", (int)(s->goff[u->seq + 1] - s->goff[u->seq]),
			   s->gstr + s->goff[u->seq], u->history, u->rank, u->candidates, u->srank,
			   u->scandidates, u->ce) < 0)
			return -1;
	}
	return 0;
}

/* Every sequence of the streams paths names into s. */
static int read_seqs(struct rec_seqs *s, char *const *paths, size_t n, struct rec_sasrec *m)
{
	int rc = 0;

	for (size_t i = 0; i < (n ? n : 1); i++)
		if (rec_seqs_read(s, n ? paths[i] : NULL, m->o.item_field, &m->schema) < 0)
			rc = -1;
	return rc;
}

/* The lists against a held-out period: the histories from --seen, each
 * input user's items the truth, as for lightfm. */
static void seq_lists(const struct eval_opts *o, struct rec_sasrec *m, const struct rec_seqs *hist,
		      const struct rec_seqs *test)
{
	struct rec_rank_model rm;
	struct rec_seqrank_users u = { 0 };
	struct rec_rank_pairs seen = { 0 }, truth = { 0 };
	struct rec_rank_metrics r;
	size_t k = o->top_k, ni, room, empty = 0, *len;
	uint32_t *idx;
	float *score;

	rec_rank_model_init_sasrec(&rm, m);
	ni = rec_rank_nitems(&rm);
	rm.items.count = rec_xcalloc(ni + 1, sizeof(uint32_t));
	rec_seqrank_heldout(&u, &seen, &truth, rm.items.count, m, hist, test);
	if (!o->keep_seen)
		rec_rank_subtract(&truth, &seen, u.n);
	room = k < ni ? k : ni;   /* no list is longer */
	idx = rec_xmalloc((u.n * room + 1) * sizeof(uint32_t));
	score = rec_xmalloc((u.n * room + 1) * sizeof(float));
	len = rec_xmalloc((u.n + 1) * sizeof(size_t));
	if (o->popularity)
		rec_rank_popular(&rm, idx, score, len, u.n, room,
				 o->keep_seen ? NULL : &(struct rec_topk_skip){ seen.off, seen.items });
	else
		empty = rec_seqrank_top(m, hist, &u, room, o->keep_seen, idx, score, len);
	if (empty)
		rec_warn("%zu of %zu users have no item the model knows in --seen: their lists are the "
			 "model's for an empty history", empty, u.n);
	rec_rank_evaluate(&r, idx, len, u.n, room, k, &truth, rm.items.count, ni);
	if (!r.users)
		rec_warn("no user of the input has items it did not have before: nothing to measure");
	report_rank(stdout, &r, k, o->popularity ? "popularity" : "sasrec", o->json);
	free(idx);
	free(score);
	free(len);
	rec_seqrank_users_free(&u);
	rec_rank_pairs_free(&seen);
	rec_rank_pairs_free(&truth);
	rec_rank_model_free(&rm);
}

/* --top-k with --seen: a held-out period's lists. */
static int run_seq_heldout(const struct eval_opts *o, struct rec_sasrec *m)
{
	struct rec_seqs hist = { 0 }, test = { 0 };
	int rc = read_seqs(&hist, (char *const *)o->seen, o->nseen, m);

	if (read_seqs(&test, o->inputs, o->ninputs, m) < 0)
		rc = -1;
	if (rc == 0)
		seq_lists(o, m, &hist, &test);
	rec_seqs_free(&hist);
	rec_seqs_free(&test);
	return rc;
}

/* Leave-one-out ranking of the held-out items of the inputs' sequences. */
static int run_seq_eval(const struct eval_opts *o, const struct rec_model *mf)
{
	struct rec_seqeval_opts eo = REC_SEQEVAL_OPTS_INIT;
	struct rec_sasrec *m;
	struct rec_seqs s = { 0 };
	struct rec_seqeval r;
	int rc = 0;

	if (o->predict || o->nplots || o->min_auc >= 0 || (o->popularity && !o->nseen))
		return rec_error("'%s' is a sasrec model: --predict, --plot, --min-auc and --popularity "
				 "without --seen do not apply", o->model);
	if (o->nseen && o->set_loo)
		return rec_error("'%s': --seen ranks a held-out period: --sampled, --split and --ranks "
				 "apply to leave-one-out only", o->model);
	if (!(m = rec_sasrec_load_model(mf)))
		return -1;
	if (o->nseen) {
		rc = run_seq_heldout(o, m);
		rec_sasrec_free(m);
		return rc;
	}
	rc = read_seqs(&s, o->inputs, o->ninputs, m);
	if (rc == 0) {
		eo.split = o->split;
		eo.k = o->top_k ? o->top_k : 10;
		eo.keep_seen = o->keep_seen;
		eo.sampled = o->sampled;
		rec_seqeval_run(m, &s, &eo, &r);
		if (!r.n)
			rec_warn("no sequence of 3 or more items the model knows: nothing to measure");
		report_seq(o->ranks ? stderr : stdout, m, &r, o, eo.k);
		if (o->ranks && write_ranks(&s, &r) < 0)
			rc = -1;
		rec_seqeval_free(&r);
	}
	rec_seqs_free(&s);
	rec_sasrec_free(m);
	return rc;
}

/* The model file's kind decides: sasrec, or one behind rec_ctr. */
/* ---- scaling laws --------------------------------------------------------- */

static int by_size(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Sorts the points by size (stable in loss for equal sizes). */
static void sort_points(struct rec_law_points *pts)
{
	double *pair = rec_xmalloc(pts->n * 2 * sizeof(double));

	for (size_t i = 0; i < pts->n; i++) {
		pair[2 * i] = pts->N[i];
		pair[2 * i + 1] = pts->L[i];
	}
	qsort(pair, pts->n, 2 * sizeof(double), by_size);
	for (size_t i = 0; i < pts->n; i++) {
		pts->N[i] = pair[2 * i];
		pts->L[i] = pair[2 * i + 1];
	}
	free(pair);
}

static void json_g(FILE *fp, const char *key, double v, const char *sep)
{
	if (isfinite(v))
		fprintf(fp, "\"%s\": %.9g%s", key, v, sep);
	else
		fprintf(fp, "\"%s\": null%s", key, sep);
}

static void report_law(FILE *fp, const struct rec_law_points *pts, const struct rec_law *law,
		       int json)
{
	size_t nfit = law->n;

	if (json) {
		fprintf(fp, "{\"points\": %zu, \"fitted\": %zu, ", pts->n, nfit);
		json_g(fp, "E", law->E, ", ");
		json_g(fp, "A", law->A, ", ");
		json_g(fp, "alpha", law->alpha, ", ");
		json_g(fp, "se_E", law->se_E, ", ");
		json_g(fp, "se_A", law->se_A, ", ");
		json_g(fp, "se_alpha", law->se_alpha, ", ");
		json_g(fp, "rms_rel_residual", law->rms_rel, ", \"held_out\": [");
		for (size_t i = nfit; i < pts->n; i++) {
			double pred = rec_law_at(law, pts->N[i]);
			fprintf(fp, "%s{", i > nfit ? ", " : "");
			json_g(fp, "N", pts->N[i], ", ");
			json_g(fp, "loss", pts->L[i], ", ");
			json_g(fp, "predicted", pred, ", ");
			json_g(fp, "rel_error", (pred - pts->L[i]) / pts->L[i], "}");
		}
		fputs("]}\n", fp);
		return;
	}
	fprintf(fp, "points               %zu, fitted %zu (N %.4g .. %.4g)\n", pts->n, nfit,
		pts->N[0], pts->N[nfit - 1]);
	fprintf(fp, "E                    %.6g ± %.2g\n", law->E, law->se_E);
	fprintf(fp, "A                    %.6g ± %.2g\n", law->A, law->se_A);
	fprintf(fp, "alpha                %.6g ± %.2g\n", law->alpha, law->se_alpha);
	fprintf(fp, "rms_rel_residual     %.4g\n", law->rms_rel);
	if (nfit < pts->n)
		fprintf(fp, "%-20s %-12s %-12s %s\n", "held_out_N", "loss", "predicted", "rel_error");
	for (size_t i = nfit; i < pts->n; i++) {
		double pred = rec_law_at(law, pts->N[i]);
		fprintf(fp, "%-20.6g %-12.6g %-12.6g %+.2f%%\n", pts->N[i], pts->L[i], pred,
			100 * (pred - pts->L[i]) / pts->L[i]);
	}
}

/* --scaling-law: the points of every input, the smallest sizes fitted,
 * the hold_out largest predicted. */
static int run_scaling(const struct eval_opts *o)
{
	struct rec_law_points pts = { 0 };
	struct rec_law law;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < (o->ninputs ? o->ninputs : 1); i++)
		rc = rec_law_read(&pts, o->ninputs ? o->inputs[i] : NULL);
	if (rc == 0 && pts.n <= o->hold_out + 2)
		rc = rec_error("%zu points: a law needs 3 to fit besides the %zu held out", pts.n,
			       o->hold_out);
	if (rc == 0) {
		sort_points(&pts);
		rc = rec_law_fit(pts.N, pts.L, pts.n - o->hold_out, &law);
	}
	if (rc == 0) {
		report_law(stdout, &pts, &law, o->json);
		for (size_t i = 0; i < o->nplots; i++)
			if (rec_plot_law(o->plot[i].path, pts.N, pts.L, pts.n, law.n, &law, NULL) < 0)
				rc = -1;
	}
	rec_law_points_free(&pts);
	if (fflush(stdout) != 0)
		rc = rec_error("cannot write to standard output");
	return rc == 0 ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}

static int run_eval(const struct eval_opts *o)
{
	struct rec_model *mf = rec_model_open_lazy(o->model);
	const char *kind = mf ? rec_kv_get(&mf->manifest, "model.kind") : NULL;
	struct rec_ctr *m = NULL;
	struct scores s = { 0 };
	int status = REC_EXIT_OK;

	if (kind && strcmp(kind, "sasrec") == 0) {
		status = run_seq_eval(o, mf) == 0 && fflush(stdout) == 0 ? REC_EXIT_OK : REC_EXIT_TROUBLE;
		rec_model_close(mf);
		return status;
	}
	if (mf && o->set_seq)
		rec_error("'%s' is a %s model: --keep-seen, --sampled, --split and --ranks need sasrec",
			  o->model, kind ? kind : "unknown");
	else if (mf)
		m = rec_ctr_from_model(mf);
	rec_model_close(mf);
	if (!m)
		return REC_EXIT_TROUBLE;
	if (o->top_k) {
		status = run_top_k(o, m) == 0 && fflush(stdout) == 0 ? REC_EXIT_OK : REC_EXIT_TROUBLE;
		rec_ctr_free(m);
		return status;
	}
	rec_io_quiet_epipe();
	for (size_t i = 0; status == REC_EXIT_OK && i < (o->ninputs ? o->ninputs : 1); i++)
		if (score_input(m, o->ninputs ? o->inputs[i] : NULL, &s, o->predict) < 0)
			status = REC_EXIT_TROUBLE;
	if (status == REC_EXIT_OK) {
		report(o->predict ? stderr : stdout, &s, m, o->json);
		if (o->min_auc >= 0 && !(rec_auc(s.p, s.y, s.weighted ? s.w : NULL, s.n) >= o->min_auc))
			status = REC_EXIT_FALSE;
		for (size_t i = 0; i < o->nplots; i++)
			if (rec_plot_draw(&o->plot[i], s.p, s.y, s.weighted ? s.w : NULL, s.n, o->model) < 0)
				status = REC_EXIT_TROUBLE;
		if (fflush(stdout) != 0)
			status = rec_error("cannot write to standard output") ? REC_EXIT_TROUBLE : status;
	}
	free(s.p);
	free(s.y);
	free(s.g);
	free(s.w);
	rec_ctr_free(m);
	return status;
}

int main(int argc, char **argv)
{
	struct eval_opts o = { .min_auc = -1, .sampled = 100, .split = REC_SPLIT_TEST, .hold_out = 2 };

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	if (o.scaling)
		return run_scaling(&o);
	rec_blas_threads(1);  /* deep models split batches among their own threads */
	return run_eval(&o);
}
