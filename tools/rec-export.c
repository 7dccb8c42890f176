/* rec-export - write a trained model as NumPy .npz, safetensors, text, an
 * ONNX graph (a sasrec model: that only) or a recpipe model again, its
 * embedding rows optionally pruned and stored at a lower precision for
 * serving. */
#include "config.h"
#include "err.h"
#include "export.h"
#include "io.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct export_opts {
	const char *model;        /* -m, --model <file>, or the operand; NULL = stdin */
	const char *output;       /* -o, --output <file>; NULL = stdout */
	struct rec_export_opts x; /* --format (from -o's name, else text), --precision
				   * (fp32), --top-rows, --min-norm, --weights-only,
				   * --fields-from */
	int force;                /* -f: allow binary output to a terminal */
	int verbosity;            /* -q/-v (2) */
};
#define EXPORT_OPTS_INIT { .x = { .format = -1 }, .verbosity = 2 }

static void usage(void)
{
	printf("Usage: rec-export [--format <fmt>] [--precision <p>] [--top-rows <n>]\n"
	       "                  [--min-norm <x>] [--weights-only] [--fields-from <stream>]\n"
	       "                  [-f] [-q | -v] [-o <file>] [-m <model> | <model>]\n"
	       "Write a model from rec-train as a NumPy .npz, safetensors, tab-separated text,\n"
	       "an ONNX graph or a recpipe model again, its embedding rows optionally pruned\n"
	       "and stored at a lower precision for serving.\n\n"
	       "  -m, --model <file>     the model (or the operand; none or - = stdin)\n"
	       "  -o, --output <file>    where to write (stdout), atomically\n"
	       "      --format <fmt>     npz, safetensors, text, onnx or recm; by default\n"
	       "                         from the name given to -o (.npz, .safetensors,\n"
	       "                         .txt, .tsv, .onnx, .recm), text on stdout; a sasrec\n"
	       "                         model as onnx only\n"
	       "      --precision <p>    the embedding rows in fp32, fp16, bf16 or int8 with\n"
	       "                         a per-row scale (embd.scale); recm and text get the\n"
	       "                         values they decode to; text takes no int8 (fp32)\n"
	       "      --top-rows <n>     keep the n rows of largest L2 norm\n"
	       "      --min-norm <x>     drop the rows of L2 norm below x\n"
	       "      --weights-only     npz, safetensors: leave out the optimizer state\n"
	       "                         (embd.state, *.adam)\n"
	       "      --fields-from <stream>\n"
	       "                         text: tell each row's field from a stream hashed\n"
	       "                         like the training data\n"
	       "  -f, --force            write binary data to a terminal\n"
	       "  -q, --quiet, -v, --verbose  less or more on stderr\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n");
}

enum { OPT_FORMAT = 256, OPT_PRECISION, OPT_TOP_ROWS, OPT_MIN_NORM, OPT_WEIGHTS_ONLY,
       OPT_FIELDS_FROM, OPT_VERSION };

static const struct option long_options[] = {
	{ "fields-from", required_argument, NULL, OPT_FIELDS_FROM },
	{ "force", no_argument, NULL, 'f' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "min-norm", required_argument, NULL, OPT_MIN_NORM },
	{ "model", required_argument, NULL, 'm' },
	{ "output", required_argument, NULL, 'o' },
	{ "precision", required_argument, NULL, OPT_PRECISION },
	{ "quiet", no_argument, NULL, 'q' },
	{ "top-rows", required_argument, NULL, OPT_TOP_ROWS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "weights-only", no_argument, NULL, OPT_WEIGHTS_ONLY },
	{ NULL, 0, NULL, 0 }
};

/* The format a file name asks for; -1 when it does not tell. */
static int format_from_name(const char *path)
{
	static const struct { const char *suffix; int format; } map[] = {
		{ ".npz", REC_EXPORT_NPZ }, { ".safetensors", REC_EXPORT_SAFETENSORS },
		{ ".txt", REC_EXPORT_TEXT }, { ".tsv", REC_EXPORT_TEXT },
		{ ".recm", REC_EXPORT_RECM }, { ".onnx", REC_EXPORT_ONNX },
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t n = strlen(map[i].suffix);
		if (len > n && strcmp(path + len - n, map[i].suffix) == 0)
			return map[i].format;
	}
	return -1;
}

static void parse_option(struct export_opts *o, int c)
{
	switch (c) {
	case 'h': usage(); exit(REC_EXIT_OK);
	case OPT_VERSION: printf("rec-export (recpipe) %s\n", PACKAGE_VERSION); exit(REC_EXIT_OK);
	case 'f': o->force = 1; break;
	case 'm': o->model = optarg; break;
	case 'o': o->output = optarg; break;
	case 'q': o->verbosity--; break;
	case 'v': o->verbosity++; break;
	case OPT_FORMAT:
		if ((o->x.format = rec_export_format_parse(optarg)) < 0)
			rec_usage_error("unknown --format '%s' (npz, safetensors, text, recm)", optarg);
		break;
	case OPT_PRECISION:
		if ((o->x.precision = rec_export_precision_parse(optarg)) < 0)
			rec_usage_error("unknown --precision '%s' (fp32, fp16, bf16, int8)", optarg);
		break;
	case OPT_TOP_ROWS:
		if (rec_parse_size(optarg, "--top-rows", 1, SIZE_MAX, &o->x.top_rows) < 0)
			rec_usage_exit();
		break;
	case OPT_MIN_NORM:
		if (rec_parse_float(optarg, "--min-norm", &o->x.min_norm) < 0)
			rec_usage_exit();
		if (o->x.min_norm < 0)
			rec_usage_error("invalid value '%s' for --min-norm (a norm is at least 0)", optarg);
		break;
	case OPT_WEIGHTS_ONLY: o->x.weights_only = 1; break;
	case OPT_FIELDS_FROM: o->x.fields_from = optarg; break;
	default: rec_usage_exit();
	}
}

/* The operand, "-" and the format settled, every combination checked
 * before a file is opened. */
static void resolve(struct export_opts *o, int argc, char **argv)
{
	if (optind < argc && o->model)
		rec_usage_error("name the model once, with -m or as the operand");
	if (optind < argc)
		o->model = argv[optind++];
	if (optind < argc)
		rec_usage_error("one model at a time: extra operand '%s'", argv[optind]);
	if (o->model && strcmp(o->model, "-") == 0)
		o->model = NULL;
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;
	if (o->x.format < 0)
		o->x.format = o->output ? format_from_name(o->output) : REC_EXPORT_TEXT;
	if (o->x.format < 0)
		rec_usage_error("cannot tell the format of '%s' from its name: use --format", o->output);
	if (rec_export_check_opts(&o->x) < 0)
		rec_usage_exit();
	if (o->x.format != REC_EXPORT_TEXT && !o->output && !o->force && isatty(STDOUT_FILENO))
		rec_die("refusing to write binary data to a terminal (use -f)");
}

static void parse_args(struct export_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "fhm:o:qv", long_options, NULL)) != -1)
		parse_option(o, c);
	resolve(o, argc, argv);
}

/* What a served row costs: the summary line. */
static void report(const struct rec_export *x, const char *output)
{
	if (strcmp(x->kind, "sasrec") == 0) {   /* a graph, not rows to serve */
		rec_warn("'%s' (%s): a sasrec graph over %zu items of %zu values, in fp32",
			 output ? output : "(stdout)", rec_export_format_name(x->format), x->nrows, x->dim);
		return;
	}
	rec_warn("'%s' (%s): %zu of %zu rows of %zu values, %zu bytes per row at %s "
		 "(fp32 %zu, fp16 %zu, int8 %zu)", output ? output : "(stdout)",
		 rec_export_format_name(x->format), x->nrows, x->rows_in, x->dim,
		 rec_export_row_bytes(x->dim, x->precision), rec_export_precision_name(x->precision),
		 rec_export_row_bytes(x->dim, REC_EXPORT_FP32), rec_export_row_bytes(x->dim, REC_EXPORT_FP16),
		 rec_export_row_bytes(x->dim, REC_EXPORT_INT8));
}

static int run_export(const struct export_opts *o)
{
	struct rec_export *x = rec_export_open(o->model, &o->x);
	int rc;

	if (!x)
		return REC_EXIT_TROUBLE;
	rec_io_quiet_epipe();
	rc = rec_export_write(x, o->output, o->force);
	if (rc == 0 && o->verbosity >= 2)
		report(x, o->output);
	rec_export_free(x);
	return rc < 0 ? REC_EXIT_TROUBLE : REC_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct export_opts o = EXPORT_OPTS_INIT;

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	return run_export(&o);
}
