/* rec-train - train a model on hashed feature streams. */
#include "config.h"
#include "err.h"
#include "fmtrain.h"
#include "metrics.h"
#include "stream.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct train_opts {
	const char *model;        /* --model lr|fm (fm) */
	struct rec_fm_opts fm;    /* --dim, --lr, --l2, --seed, --row-precision, --min-count */
	size_t epochs;            /* --epochs (1) */
	const char *valid;        /* --valid <file>: evaluated after every epoch */
	const char *output;       /* -o, --output <model>: written atomically at the end */
	int verbosity;            /* -q/-v (2) */
	char **inputs;            /* hashed streams; none = stdin */
	size_t ninputs;
};

static void usage(void)
{
	printf("Usage: rec-train [options] [<file>...]\n"
	       "Train a click model on hashed feature streams (rec-hash output).\n\n"
	       "      --model lr|fm          logistic regression or factorization machine (fm)\n"
	       "      --dim <k>              FM factors per feature (8)\n"
	       "      --lr <rate>            Adagrad learning rate (0.05)\n"
	       "      --l2 <c>               L2 on the rows an example touches (1e-5)\n"
	       "      --epochs <n>           passes over the input files (1)\n"
	       "      --valid <file>         a hashed stream scored after every epoch\n"
	       "      --row-precision fp32|fp16  how rows are stored (fp32)\n"
	       "      --min-count <n>        give an ID a row at its n-th sighting (1)\n"
	       "      --seed <n>             initial values (0)\n"
	       "  -o, --output <model>       write the model there (a .recm file, see rec-eval)\n"
	       "  -q, --quiet, -v, --verbose  less or more on stderr\n"
	       "  -h, --help                 show this help\n"
	       "      --version              show the version\n");
}

enum { OPT_MODEL = 256, OPT_DIM, OPT_LR, OPT_L2, OPT_EPOCHS, OPT_VALID, OPT_PRECISION,
       OPT_MIN_COUNT, OPT_SEED, OPT_VERSION };

static const struct option long_options[] = {
	{ "dim", required_argument, NULL, OPT_DIM },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "help", no_argument, NULL, 'h' },
	{ "l2", required_argument, NULL, OPT_L2 },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "min-count", required_argument, NULL, OPT_MIN_COUNT },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "row-precision", required_argument, NULL, OPT_PRECISION },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "valid", required_argument, NULL, OPT_VALID },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static int take_number(struct train_opts *o, int c, const char *arg)
{
	double d;
	size_t z;

	switch (c) {
	case OPT_DIM:
		if (rec_parse_size(arg, "--dim", 1, 1023, &z) < 0)
			return -1;
		o->fm.k = (unsigned)z;
		return 0;
	case OPT_EPOCHS: return rec_parse_size(arg, "--epochs", 1, 100000, &o->epochs);
	case OPT_MIN_COUNT:
		if (rec_parse_size(arg, "--min-count", 1, 255, &z) < 0)
			return -1;
		o->fm.min_count = (uint32_t)z;
		return 0;
	case OPT_SEED: return rec_parse_u64(arg, "--seed", &o->fm.seed);
	default:
		if (rec_parse_float(arg, c == OPT_LR ? "--lr" : "--l2", &d) < 0 || d < 0)
			return rec_error("invalid value '%s' for %s", arg, c == OPT_LR ? "--lr" : "--l2");
		*(c == OPT_LR ? &o->fm.lr : &o->fm.l2) = (float)d;
		return 0;
	}
}

static int take_option(struct train_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'h': usage(); exit(REC_EXIT_OK);
	case OPT_VERSION: printf("rec-train (recpipe) %s\n", PACKAGE_VERSION); exit(REC_EXIT_OK);
	case 'q': o->verbosity--; return 0;
	case 'v': o->verbosity++; return 0;
	case OPT_VALID: o->valid = arg; return 0;
	case 'o': o->output = arg; return 0;
	case OPT_MODEL:
		if (strcmp(arg, "lr") && strcmp(arg, "fm"))
			return rec_error("unknown model '%s' (lr, fm)", arg);
		o->model = arg;
		return 0;
	case OPT_PRECISION:
		if (strcmp(arg, "fp32") && strcmp(arg, "fp16"))
			return rec_error("invalid value '%s' for --row-precision (fp32, fp16)", arg);
		o->fm.precision = strcmp(arg, "fp16") ? REC_FP32 : REC_FP16;
		return 0;
	case OPT_DIM: case OPT_LR: case OPT_L2: case OPT_EPOCHS: case OPT_MIN_COUNT: case OPT_SEED:
		return take_number(o, c, arg);
	default:
		return -1;
	}
}

static void parse_args(struct train_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "ho:qv", long_options, NULL)) != -1)
		if (take_option(o, c, optarg) < 0)
			rec_usage_exit();
	if (strcmp(o->model, "lr") == 0)
		o->fm.k = 0;
	o->inputs = argv + optind;
	o->ninputs = (size_t)(argc - optind);
	if (o->epochs > 1 && o->ninputs == 0)
		rec_usage_error("several epochs need input files, not standard input");
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Opens one input; the first fixes the schema, later ones must agree. */
static struct rec_reader *open_input(const char *path, struct rec_fm_model **m, const struct train_opts *o)
{
	struct rec_reader *r = rec_reader_open(path);

	if (!r)
		return NULL;
	if (!*m) {
		*m = rec_fm_new(rec_reader_schema(r), &o->fm);
		if (!*m) {
			rec_reader_close(r);
			return NULL;
		}
	} else if (rec_fm_check_schema(*m, rec_reader_schema(r), rec_reader_name(r)) < 0) {
		rec_reader_close(r);
		return NULL;
	}
	return r;
}

static int train_file(const char *path, struct rec_fm_model **m, const struct train_opts *o,
		      double *loss, uint64_t *examples)
{
	struct rec_reader *r = open_input(path, m, o);
	const struct rec_block *b;
	int rc;

	if (!r)
		return -1;
	while ((rc = rec_reader_next(r, &b)) > 0) {
		rec_fm_train_block(*m, b, loss);
		*examples += b->n;
	}
	rec_reader_close(r);
	return rc;
}

/* Scores a stream: AUC, logloss and coverage on stderr. */
static int validate(struct rec_fm_model *m, const struct train_opts *o, size_t epoch, struct rec_kv *prov)
{
	struct rec_reader *r = open_input(o->valid, &m, o);
	const struct rec_block *b;
	float *p = NULL, *y = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!r)
		return -1;
	m->seen = m->found = 0;
	while ((rc = rec_reader_next(r, &b)) > 0)
		for (size_t i = 0; i < b->n; i++, n++) {
			size_t c = cap;
			rec_xgrow(&p, &c, n + 1, sizeof(float));
			y = rec_xrealloc(y, c * sizeof(float));
			cap = c;
			p[n] = rec_fm_predict(m, b, i);
			y[n] = b->label[i];
		}
	if (rc == 0) {
		double auc = rec_auc(p, y, NULL, n), ll = rec_logloss(p, y, NULL, n);
		rec_kv_setf(prov, "train.valid_auc", "%.6f", auc);
		rec_kv_setf(prov, "train.valid_logloss", "%.6f", ll);
		if (o->verbosity >= 2)
			rec_warn("epoch %zu: valid auc %.4f logloss %.4f coverage %.3f (%zu records)", epoch,
				 auc, ll, m->seen ? (double)m->found / (double)m->seen : 0, n);
	}
	free(p);
	free(y);
	rec_reader_close(r);
	return rc;
}

static int run_train(const struct train_opts *o)
{
	struct rec_fm_model *m = NULL;
	struct rec_kv prov = { 0 };
	uint64_t seen = 0;
	int ok = 1;

	for (size_t e = 1; ok && e <= o->epochs; e++) {
		double loss = 0, t0 = now();
		uint64_t examples = 0;
		for (size_t i = 0; ok && i < (o->ninputs ? o->ninputs : 1); i++)
			ok = train_file(o->ninputs ? o->inputs[i] : NULL, &m, o, &loss, &examples) == 0;
		if (ok && o->verbosity >= 2)
			rec_warn("epoch %zu: %llu examples, train logloss %.4f, %.0f examples/s, %zu rows, "
				 "%.1f bytes/row", e, (unsigned long long)examples,
				 examples ? loss / (double)examples : 0, (double)examples / (now() - t0),
				 rec_embed_rows(m->table),
				 (double)rec_embed_bytes(m->table) / (double)(rec_embed_rows(m->table) + !rec_embed_rows(m->table)));
		seen += examples;
		if (ok && o->valid)
			ok = validate(m, o, e, &prov) == 0;
	}
	if (ok && o->output) {
		rec_kv_setf(&prov, "train.examples", "%llu", (unsigned long long)seen);
		rec_kv_setf(&prov, "train.epochs", "%zu", o->epochs);
		rec_kv_setf(&prov, "train.lr", "%g", o->fm.lr);
		rec_kv_setf(&prov, "train.l2", "%g", o->fm.l2);
		ok = rec_fm_save(m, o->output, &prov) == 0;
	}
	rec_kv_free(&prov);
	rec_fm_free(m);
	return ok ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}

int main(int argc, char **argv)
{
	struct train_opts o = { .model = "fm", .fm = REC_FM_OPTS_INIT, .epochs = 1, .verbosity = 2 };

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	return run_train(&o);
}
