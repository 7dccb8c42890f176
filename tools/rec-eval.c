/* rec-eval - score a hashed stream with a trained model and report metrics. */
#include "config.h"
#include "err.h"
#include "fmtrain.h"
#include "hash.h"
#include "io.h"
#include "metrics.h"

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
	char **inputs;            /* hashed streams; none = stdin */
	size_t ninputs;
};

/* Everything scored, kept for the metrics. */
struct scores {
	float *p, *y;
	uint64_t *g;
	size_t n, cap;
	int groups;
};

static void usage(void)
{
	printf("Usage: rec-eval -m <model> [--json] [--predict] [--min-auc <x>] [<file>...]\n"
	       "Score hashed feature streams with a model from rec-train and print AUC,\n"
	       "logloss, group AUC (over the stream's group key), calibration and coverage.\n\n"
	       "  -m, --model <file>     the model\n"
	       "      --json             print the metrics as one JSON object\n"
	       "      --predict          write 'score<TAB>label[<TAB>group]' per record to\n"
	       "                         stdout; the metrics go to stderr\n"
	       "      --min-auc <x>      exit 1 when the AUC is below x (for release gates)\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n");
}

enum { OPT_JSON = 256, OPT_PREDICT, OPT_MIN_AUC, OPT_VERSION };

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "min-auc", required_argument, NULL, OPT_MIN_AUC },
	{ "model", required_argument, NULL, 'm' },
	{ "predict", no_argument, NULL, OPT_PREDICT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

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
		default: rec_usage_exit();
		}
	}
	if (!o->model)
		rec_usage_error("name the model with -m");
	o->inputs = argv + optind;
	o->ninputs = (size_t)(argc - optind);
}

static void keep(struct scores *s, float p, float y, uint64_t g)
{
	size_t cap = s->cap;

	rec_xgrow(&s->p, &cap, s->n + 1, sizeof(float));
	s->y = rec_xrealloc(s->y, cap * sizeof(float));
	s->g = rec_xrealloc(s->g, cap * sizeof(uint64_t));
	s->cap = cap;
	s->p[s->n] = p;
	s->y[s->n] = y;
	s->g[s->n++] = g;
}

static int score_block(struct rec_fm_model *m, const struct rec_block *b, struct scores *s, int predict)
{
	int grouped = (b->schema->flags & REC_HAS_GROUP) != 0;

	s->groups = grouped;
	for (size_t r = 0; r < b->n; r++) {
		float p = rec_fm_predict(m, b, r);
		const char *g = grouped ? b->gstr + b->goff[r] : "";
		size_t glen = grouped ? b->goff[r + 1] - b->goff[r] : 0;
		keep(s, p, b->label[r], rec_hash_group(g, glen));
		if (predict && (grouped ? printf("%.6f\t%g\t%.*s\n", p, b->label[r], (int)glen, g)
			       : printf("%.6f\t%g\n", p, b->label[r])) < 0)
			return -1;
	}
	return 0;
}

static int score_input(struct rec_fm_model *m, const char *path, struct scores *s, int predict)
{
	struct rec_reader *r = rec_reader_open(path);
	const struct rec_block *b;
	int rc;

	if (!r)
		return -1;
	rc = rec_fm_check_schema(m, rec_reader_schema(r), rec_reader_name(r));
	while (rc == 0 && (rc = rec_reader_next(r, &b)) > 0)
		rc = score_block(m, b, s, predict) < 0 ? -1 : 0;
	rec_reader_close(r);
	return rc;
}

static void report(FILE *fp, const struct scores *s, const struct rec_fm_model *m, int json)
{
	size_t used = 0;
	double auc = rec_auc(s->p, s->y, NULL, s->n), ll = rec_logloss(s->p, s->y, NULL, s->n);
	double gauc = s->groups ? rec_gauc(s->p, s->y, s->g, s->n, &used) : NAN;
	double cal = rec_calibration(s->p, s->y, s->n);
	double cov = m->seen ? (double)m->found / (double)m->seen : 0;

	if (json) {
		fprintf(fp, "{\"records\": %zu, \"auc\": %.6f, \"logloss\": %.6f, ", s->n, auc, ll);
		if (s->groups)
			fprintf(fp, "\"gauc\": %.6f, \"gauc_groups\": %zu, ", gauc, used);
		fprintf(fp, "\"calibration\": %.6f, \"coverage\": %.6f}\n", cal, cov);
		return;
	}
	fprintf(fp, "records      %zu\nauc          %.4f\nlogloss      %.4f\n", s->n, auc, ll);
	if (s->groups)
		fprintf(fp, "gauc         %.4f (%zu groups with both labels)\n", gauc, used);
	fprintf(fp, "calibration  %.4f\ncoverage     %.4f\n", cal, cov);
}

static int run_eval(const struct eval_opts *o)
{
	struct rec_fm_model *m = rec_fm_load(o->model);
	struct scores s = { 0 };
	int status = REC_EXIT_OK;

	if (!m)
		return REC_EXIT_TROUBLE;
	rec_io_quiet_epipe();
	for (size_t i = 0; status == REC_EXIT_OK && i < (o->ninputs ? o->ninputs : 1); i++)
		if (score_input(m, o->ninputs ? o->inputs[i] : NULL, &s, o->predict) < 0)
			status = REC_EXIT_TROUBLE;
	if (status == REC_EXIT_OK) {
		report(o->predict ? stderr : stdout, &s, m, o->json);
		if (o->min_auc >= 0 && !(rec_auc(s.p, s.y, NULL, s.n) >= o->min_auc))
			status = REC_EXIT_FALSE;
		if (fflush(stdout) != 0)
			status = rec_error("cannot write to standard output") ? REC_EXIT_TROUBLE : status;
	}
	free(s.p);
	free(s.y);
	free(s.g);
	rec_fm_free(m);
	return status;
}

int main(int argc, char **argv)
{
	struct eval_opts o = { .min_auc = -1 };

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	return run_eval(&o);
}
