/* rec-train - train a click or recommendation model on hashed feature
 * streams. */
#include "config.h"
#include "ctr.h"
#include "err.h"
#include "metrics.h"
#include "rank.h"
#include "sasrec.h"
#include "stream.h"

#include "blas.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* lightfm's validation lists are this long */
#define VALID_K 10

struct train_opts {
	const char *model;        /* --model (fm) */
	const char *loss_arg;     /* --loss, as given */
	struct rec_fm_opts fm;    /* lr, fm, ffm */
	struct rec_net_opts net;  /* deepfm, dlrm, ncf */
	struct rec_lightfm_opts lfm; /* lightfm */
	struct rec_sasrec_opts sas; /* sasrec */
	int set_sasrec_only;      /* --heads, --blocks, --max-len, --dropout, --activation given */
	unsigned set_sas;         /* SET_*: which sasrec settings were given */
	int set_model, set_every; /* --model, --checkpoint-every given */
	int set_batch, set_negatives; /* --batch, --negatives <n> given */
	int set_lightfm_only;     /* --loss, --negatives, --max-sampled, --*-features given */
	int set_dim, set_lr, set_l2; /* --dim, --lr, --l2 given (defaults differ per kind) */
	int set_arch, set_fm_only; /* model options; lr/fm/ffm-only options given */
	int threads;              /* --threads (1) */
	size_t epochs;            /* --epochs (1) */
	size_t cache_mb;          /* --cache-mb: lightfm's interactions kept for later epochs (1024) */
	const char *valid;        /* --valid <file>: scored after every epoch */
	size_t patience;          /* --patience: stop after this many epochs without gain */
	const char *output;       /* -o: written atomically */
	const char *init;         /* --init <model>: warm start */
	const char *checkpoint;   /* --checkpoint <file> */
	uint64_t every;           /* --checkpoint-every <examples> */
	int resume;               /* --resume: go on from the checkpoint */
	int verbosity;            /* -q/-v (2) */
	char **inputs;            /* hashed streams; none = stdin */
	size_t ninputs;
};

/* sasrec settings given on the command line: --init and --resume check
 * them against the model's. */
enum { SET_HEADS = 1, SET_BLOCKS = 2, SET_MAX_LEN = 4, SET_ACT = 8, SET_ITEM = 16, SET_DROPOUT = 32,
       SET_SEED = 64 };

/* Where training stands: a checkpoint records it, --resume goes back to it. */
struct progress {
	size_t epoch, input;      /* 1-based epoch, index into inputs */
	uint64_t records;         /* records of that input done */
	uint64_t examples;        /* in all */
	uint64_t since_checkpoint;
	double loss, t0, last_show;
	uint64_t epoch_examples;
	double best;              /* best validation logloss */
	double flops0;            /* dense operations before this epoch */
	size_t stale;             /* epochs since it improved */
	int tty;                  /* show the progress line */
	struct rec_rank_heldout lists; /* lightfm's validation users and items */
};

static void usage(void)
{
	printf("Usage: rec-train [options] [<file>...]\n"
	       "Train a click or recommendation model on hashed feature streams (rec-hash\n"
	       "output).\n\n"
	       "Model:\n"
	       "      --model <kind>         lr, fm, ffm, deepfm, dlrm, ncf, lightfm or sasrec\n"
	       "                             (fm)\n"
	       "      --dim <k>              factors / embedding width (8 for fm, 4 for ffm,\n"
	       "                             16 for the deep models, 32 for lightfm)\n"
	       "      --hidden <n,n..>       MLP layers: deepfm's deep part, dlrm's top,\n"
	       "                             ncf's tower (128,64)\n"
	       "      --bottom <n,n..>       dlrm: bottom MLP layers before the k-wide one (64)\n"
	       "      --user-field <name>, --item-field <name>  ncf's and lightfm's ID\n"
	       "                             fields (user, item)\n"
	       "lightfm (implicit feedback: records with a label > 0 are positives):\n"
	       "      --user-features <f,..>, --item-features <f,..>  attribute fields whose\n"
	       "                             rows add to the user's or the item's vector\n"
	       "      --loss bpr|warp        pairwise loss (warp)\n"
	       "      --negatives uniform|popular  draw negatives uniformly from the items\n"
	       "                             seen, or in proportion to their positives\n"
	       "                             (uniform)\n"
	       "      --max-sampled <n>      warp: negatives drawn per positive at most (10)\n"
	       "      --cache-mb <n>         several epochs: keep the first one's interactions\n"
	       "                             in memory, up to n MiB, and train the others from\n"
	       "                             there; standard input needs it (1024; 0 reads the\n"
	       "                             input every epoch)\n"
	       "sasrec (item sequences from rec-cross --group-by; leave-one-out: the last\n"
	       "item of each is for testing, the one before for validation):\n"
	       "      --heads <n>            attention heads, dividing --dim (2)\n"
	       "      --blocks <n>           transformer blocks (2)\n"
	       "      --max-len <n>          latest items a sequence is read for (50)\n"
	       "      --dropout <p>          dropout rate (0.2)\n"
	       "      --activation relu|gelu feed-forward activation (relu)\n"
	       "      --loss bce|softmax|sampled-softmax  (bce)\n"
	       "      --negatives <n>        sampled negatives per target, drawn from the items\n"
	       "                             the sequence lacks (bce 1, sampled-softmax 100)\n"
	       "Optimization:\n"
	       "      --optimizer <name>     lr/fm/ffm rows: adagrad, sgd, or ftrl (lr only)\n"
	       "                             (adagrad); deep models: row-wise Adagrad on\n"
	       "                             embeddings, Adam on the MLPs\n"
	       "      --lr <rate>            embedding learning rate, FTRL's alpha (0.05;\n"
	       "                             0.01 for ffm and for sgd)\n"
	       "      --dense-lr <rate>      Adam's learning rate for the MLPs (0.001)\n"
	       "      --l2 <c>, --l1 <c>     L2 on the rows an example touches (1e-5);\n"
	       "                             FTRL's L1\n"
	       "      --warmup <n>           ramp the learning rates up over n examples (0)\n"
	       "      --decay                after warm-up, scale them by sqrt(warmup / t)\n"
	       "      --batch <n>            examples per update (deep models: 512; lr, fm,\n"
	       "                             ffm: 1 without it); sasrec: sequences (128)\n"
	       "      --epochs <n>           passes over the input files (1)\n"
	       "      --threads <n>          deep models: threads sharing each batch (1); any\n"
	       "                             fixed count is bit-for-bit reproducible\n"
	       "Embeddings:\n"
	       "      --row-precision fp32|fp16  how rows are stored (fp32)\n"
	       "      --min-count <n>        give an ID a row at its n-th sighting (1)\n"
	       "      --init-scale <s>       rows start uniform in [-s, s] (0.01; deep 0.05)\n"
	       "      --seed <n>             initial values (0)\n"
	       "Validation, fine-tuning, checkpoints:\n"
	       "      --valid <file>         a hashed stream scored after every epoch (lightfm:\n"
	       "                             its users' top-10 lists; sasrec: none, it\n"
	       "                             validates on the second-to-last items)\n"
	       "      --patience <n>         stop after n epochs without a better validation\n"
	       "                             logloss (needs --valid; lightfm: NDCG@10; sasrec:\n"
	       "                             NDCG@10 of the second-to-last items); the model\n"
	       "                             written is the best epoch's\n"
	       "      --init <model>         start from a trained model (fine-tuning); its\n"
	       "                             architecture wins over --model/--dim/--hidden\n"
	       "                             (sasrec: a differing --dim, --heads, --blocks,\n"
	       "                             --max-len, --activation is an error)\n"
	       "      --freeze <what>        with --init: keep 'embeddings' or 'dense' fixed\n"
	       "      --checkpoint <file>    write the model there every --checkpoint-every\n"
	       "                             examples (sasrec: epochs), atomically\n"
	       "      --checkpoint-every <n> (1000000; sasrec 1)\n"
	       "      --resume               go on from the checkpoint where it stopped\n"
	       "  -o, --output <model>       write the model there (a .recm file, see rec-eval)\n"
	       "  -q, --quiet, -v, --verbose  less or more on stderr\n"
	       "  -h, --help                 show this help\n"
	       "      --version              show the version\n");
}

enum { OPT_MODEL = 256, OPT_DIM, OPT_LR, OPT_L2, OPT_L1, OPT_EPOCHS, OPT_VALID, OPT_PRECISION,
       OPT_MIN_COUNT, OPT_SEED, OPT_VERSION, OPT_HIDDEN, OPT_BOTTOM, OPT_BATCH, OPT_DENSE_LR,
       OPT_INIT_SCALE, OPT_THREADS, OPT_USER, OPT_ITEM, OPT_OPTIMIZER, OPT_WARMUP, OPT_DECAY,
       OPT_PATIENCE, OPT_INIT, OPT_FREEZE, OPT_CHECKPOINT, OPT_EVERY, OPT_RESUME, OPT_LOSS,
       OPT_NEGATIVES, OPT_MAX_SAMPLED, OPT_USER_FEATURES, OPT_ITEM_FEATURES, OPT_HEADS, OPT_BLOCKS,
       OPT_MAX_LEN, OPT_DROPOUT, OPT_ACTIVATION, OPT_CACHE_MB };

static const struct option long_options[] = {
	{ "activation", required_argument, NULL, OPT_ACTIVATION },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "blocks", required_argument, NULL, OPT_BLOCKS },
	{ "bottom", required_argument, NULL, OPT_BOTTOM },
	{ "cache-mb", required_argument, NULL, OPT_CACHE_MB },
	{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
	{ "checkpoint-every", required_argument, NULL, OPT_EVERY },
	{ "decay", no_argument, NULL, OPT_DECAY },
	{ "dense-lr", required_argument, NULL, OPT_DENSE_LR },
	{ "dim", required_argument, NULL, OPT_DIM },
	{ "dropout", required_argument, NULL, OPT_DROPOUT },
	{ "epochs", required_argument, NULL, OPT_EPOCHS },
	{ "freeze", required_argument, NULL, OPT_FREEZE },
	{ "heads", required_argument, NULL, OPT_HEADS },
	{ "help", no_argument, NULL, 'h' },
	{ "hidden", required_argument, NULL, OPT_HIDDEN },
	{ "init", required_argument, NULL, OPT_INIT },
	{ "init-scale", required_argument, NULL, OPT_INIT_SCALE },
	{ "item-features", required_argument, NULL, OPT_ITEM_FEATURES },
	{ "item-field", required_argument, NULL, OPT_ITEM },
	{ "l1", required_argument, NULL, OPT_L1 },
	{ "l2", required_argument, NULL, OPT_L2 },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "max-len", required_argument, NULL, OPT_MAX_LEN },
	{ "max-sampled", required_argument, NULL, OPT_MAX_SAMPLED },
	{ "min-count", required_argument, NULL, OPT_MIN_COUNT },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "negatives", required_argument, NULL, OPT_NEGATIVES },
	{ "optimizer", required_argument, NULL, OPT_OPTIMIZER },
	{ "output", required_argument, NULL, 'o' },
	{ "patience", required_argument, NULL, OPT_PATIENCE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "row-precision", required_argument, NULL, OPT_PRECISION },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "user-features", required_argument, NULL, OPT_USER_FEATURES },
	{ "user-field", required_argument, NULL, OPT_USER },
	{ "valid", required_argument, NULL, OPT_VALID },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ NULL, 0, NULL, 0 }
};

/* "128,64": 1 to max widths of 1..65536. */
static int take_layers(const char *arg, const char *opt, unsigned *v, size_t max, size_t *n)
{
	const char *p = arg;
	char *end;

	*n = 0;
	do {
		unsigned long x = strtoul(p, &end, 10);
		if (end == p || x < 1 || x > 65536 || *n == max || (*end && *end != ','))
			return rec_error("invalid value '%s' for %s (widths like 128,64)", arg, opt);
		v[(*n)++] = (unsigned)x;
		p = end + 1;
	} while (*end);
	return 0;
}

static int take_rate(const char *arg, const char *opt, float *out, float *out2)
{
	double d;

	if (rec_parse_float(arg, opt, &d) < 0)
		return -1;
	if (!(d >= 0) || d > 1e6)
		return rec_error("invalid value '%s' for %s", arg, opt);
	*out = (float)d;
	if (out2)
		*out2 = (float)d;
	return 0;
}

static int take_count(struct train_opts *o, int c, const char *arg)
{
	size_t z;

	switch (c) {
	case OPT_DIM:
		if (rec_parse_size(arg, "--dim", 1, 1023, &z) < 0)
			return -1;
		o->fm.k = o->net.k = o->lfm.k = (unsigned)z;
		o->set_dim = 1;
		return 0;
	case OPT_EPOCHS: return rec_parse_size(arg, "--epochs", 1, 100000, &o->epochs);
	case OPT_CACHE_MB: return rec_parse_size(arg, "--cache-mb", 0, SIZE_MAX >> 21, &o->cache_mb);
	case OPT_PATIENCE: return rec_parse_size(arg, "--patience", 1, 100000, &o->patience);
	case OPT_BATCH:
		o->set_batch = 1;
		return rec_parse_size(arg, "--batch", 1, 1 << 20, &o->net.batch);
	case OPT_HEADS:
	case OPT_BLOCKS:
	case OPT_MAX_LEN:
		if (rec_parse_size(arg, c == OPT_HEADS ? "--heads" : c == OPT_BLOCKS ? "--blocks" : "--max-len",
				   c == OPT_BLOCKS ? 0 : 1, c == OPT_BLOCKS ? 64 : 4096, &z) < 0)
			return -1;
		*(c == OPT_HEADS ? &o->sas.heads : c == OPT_BLOCKS ? &o->sas.blocks : &o->sas.max_len) = (unsigned)z;
		return 0;
	case OPT_MAX_SAMPLED:
		if (rec_parse_size(arg, "--max-sampled", 1, 100000, &z) < 0)
			return -1;
		o->lfm.max_sampled = (unsigned)z;
		return 0;
	case OPT_THREADS:
		if (rec_parse_size(arg, "--threads", 1, 1024, &z) < 0)
			return -1;
		o->threads = (int)z;
		return 0;
	case OPT_MIN_COUNT:
		if (rec_parse_size(arg, "--min-count", 1, 255, &z) < 0)
			return -1;
		o->fm.min_count = o->net.min_count = o->lfm.min_count = (uint32_t)z;
		return 0;
	case OPT_WARMUP:
		if (rec_parse_u64(arg, "--warmup", &o->fm.warmup) < 0)
			return -1;
		o->net.warmup = o->fm.warmup;
		return 0;
	case OPT_EVERY:
		if (rec_parse_u64(arg, "--checkpoint-every", &o->every) < 0 || o->every == 0)
			return rec_error("invalid value '%s' for --checkpoint-every", arg);
		o->set_every = 1;
		return 0;
	case OPT_SEED:
		if (rec_parse_u64(arg, "--seed", &o->fm.seed) < 0)
			return -1;
		o->net.seed = o->lfm.seed = o->fm.seed;
		return 0;
	}
	return -1;
}

static int take_float(struct train_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_LR:
		o->set_lr = 1;
		return take_rate(arg, "--lr", &o->fm.lr, &o->net.lr);
	case OPT_L2:
		o->set_l2 = 1;
		return take_rate(arg, "--l2", &o->fm.l2, &o->net.l2);
	case OPT_L1: return take_rate(arg, "--l1", &o->fm.l1, NULL);
	case OPT_DENSE_LR: return take_rate(arg, "--dense-lr", &o->net.dense_lr, NULL);
	case OPT_INIT_SCALE:
		return take_rate(arg, "--init-scale", &o->fm.init_scale, &o->net.init_scale);
	case OPT_DROPOUT:
		if (take_rate(arg, "--dropout", &o->sas.dropout, NULL) < 0 || o->sas.dropout >= 1)
			return rec_error("invalid value '%s' for --dropout (0 to below 1)", arg);
		return 0;
	}
	return -1;
}

static int take_name(struct train_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_MODEL:
		if (!rec_ctr_kind_known(arg) && strcmp(arg, "sasrec"))
			return rec_error("unknown model '%s' (lr, fm, ffm, deepfm, dlrm, ncf, lightfm, sasrec)",
					 arg);
		o->model = arg;
		return 0;
	case OPT_OPTIMIZER:
		if ((o->fm.optimizer = rec_optimizer_parse(arg)) < 0)
			return rec_error("invalid value '%s' for --optimizer (adagrad, sgd, ftrl)", arg);
		return 0;
	case OPT_PRECISION:
		if (strcmp(arg, "fp32") && strcmp(arg, "fp16"))
			return rec_error("invalid value '%s' for --row-precision (fp32, fp16)", arg);
		o->fm.precision = o->net.precision = strcmp(arg, "fp16") ? REC_FP32 : REC_FP16;
		return 0;
	case OPT_FREEZE:
		if (strcmp(arg, "embeddings") == 0)
			o->net.freeze |= REC_FREEZE_EMBED;
		else if (strcmp(arg, "dense") == 0)
			o->net.freeze |= REC_FREEZE_DENSE;
		else
			return rec_error("invalid value '%s' for --freeze (embeddings, dense)", arg);
		return 0;
	case OPT_USER:
	case OPT_ITEM:
		if (strlen(arg) >= sizeof(o->net.user_field))
			return rec_error("field name '%s' is too long", arg);
		strcpy(c == OPT_USER ? o->net.user_field : o->net.item_field, arg);
		strcpy(c == OPT_USER ? o->lfm.user_field : o->lfm.item_field, arg);
		if (c == OPT_ITEM)
			strcpy(o->sas.item_field, arg);
		return 0;
	case OPT_USER_FEATURES:
	case OPT_ITEM_FEATURES:
		if (strlen(arg) >= sizeof(o->lfm.user_features))
			return rec_error("field list '%s' is too long", arg);
		strcpy(c == OPT_USER_FEATURES ? o->lfm.user_features : o->lfm.item_features, arg);
		return 0;
	case OPT_LOSS:  /* lightfm's or sasrec's: parse_args checks which */
		if ((o->lfm.loss = rec_lightfm_loss_parse(arg)) < 0 && (o->sas.loss = rec_sasrec_loss_parse(arg)) < 0)
			return rec_error("invalid value '%s' for --loss (bpr, warp; sasrec: bce, softmax, "
					 "sampled-softmax)", arg);
		o->loss_arg = arg;
		return 0;
	case OPT_NEGATIVES:  /* a sampler (lightfm) or a count (sasrec) */
		if (arg[0] >= '0' && arg[0] <= '9') {
			size_t z;
			if (rec_parse_size(arg, "--negatives", 1, 100000, &z) < 0)
				return -1;
			o->sas.negatives = (unsigned)z;
			o->set_negatives = 1;
			return 0;
		}
		if ((o->lfm.negatives = rec_lightfm_neg_parse(arg)) < 0)
			return rec_error("invalid value '%s' for --negatives (uniform, popular; sasrec: a count)",
					 arg);
		return 0;
	case OPT_ACTIVATION:
		if (strcmp(arg, "relu") && strcmp(arg, "gelu"))
			return rec_error("invalid value '%s' for --activation (relu, gelu)", arg);
		o->sas.act = strcmp(arg, "gelu") ? REC_ACT_RELU : REC_ACT_GELU;
		return 0;
	}
	return -1;
}

/* Remembers which sasrec settings the command line gives. */
static void note_sasrec_setting(struct train_opts *o, int c)
{
	o->set_sas |= c == OPT_HEADS ? SET_HEADS : c == OPT_BLOCKS ? SET_BLOCKS : c == OPT_MAX_LEN ? SET_MAX_LEN
		      : c == OPT_ACTIVATION ? SET_ACT : c == OPT_ITEM ? SET_ITEM : c == OPT_DROPOUT ? SET_DROPOUT
		      : c == OPT_SEED ? SET_SEED : 0;
	o->set_model |= c == OPT_MODEL;
}

static int take_option(struct train_opts *o, int c, const char *arg)
{
	note_sasrec_setting(o, c);
	if (c == OPT_MODEL || c == OPT_DIM || c == OPT_USER || c == OPT_ITEM || c == OPT_PRECISION)
		o->set_arch = 1;
	if (c == OPT_OPTIMIZER || c == OPT_L1)
		o->set_fm_only = 1;
	if (c == OPT_MAX_SAMPLED || c == OPT_USER_FEATURES || c == OPT_ITEM_FEATURES ||
	    ((c == OPT_LOSS || c == OPT_NEGATIVES) && !(arg[0] >= '0' && arg[0] <= '9') &&
	     rec_sasrec_loss_parse(arg) < 0))
		o->set_arch = o->set_lightfm_only = 1;
	if (c == OPT_HEADS || c == OPT_BLOCKS || c == OPT_MAX_LEN || c == OPT_DROPOUT || c == OPT_ACTIVATION ||
	    (c == OPT_LOSS && rec_sasrec_loss_parse(arg) >= 0) ||
	    (c == OPT_NEGATIVES && arg[0] >= '0' && arg[0] <= '9'))
		o->set_sasrec_only = 1;
	switch (c) {
	case 'h': usage(); exit(REC_EXIT_OK);
	case OPT_VERSION: printf("rec-train (recpipe) %s\n", PACKAGE_VERSION); exit(REC_EXIT_OK);
	case 'q': o->verbosity--; return 0;
	case 'v': o->verbosity++; return 0;
	case 'o': o->output = arg; return 0;
	case OPT_VALID: o->valid = arg; return 0;
	case OPT_INIT: o->init = arg; return 0;
	case OPT_CHECKPOINT: o->checkpoint = arg; return 0;
	case OPT_RESUME: o->resume = 1; return 0;
	case OPT_DECAY: o->fm.decay = o->net.decay = 1; return 0;
	case OPT_HIDDEN:
		o->set_arch = 1;
		return take_layers(arg, "--hidden", o->net.hidden, REC_MLP_MAX_LAYERS - 1, &o->net.nhidden);
	case OPT_BOTTOM:
		o->set_arch = 1;
		return take_layers(arg, "--bottom", o->net.bottom, REC_MLP_MAX_LAYERS - 1, &o->net.nbottom);
	case OPT_MODEL: case OPT_OPTIMIZER: case OPT_PRECISION: case OPT_FREEZE: case OPT_USER: case OPT_ITEM:
	case OPT_USER_FEATURES: case OPT_ITEM_FEATURES: case OPT_LOSS: case OPT_NEGATIVES: case OPT_ACTIVATION:
		return take_name(o, c, arg);
	case OPT_LR: case OPT_L2: case OPT_L1: case OPT_DENSE_LR: case OPT_INIT_SCALE: case OPT_DROPOUT:
		return take_float(o, c, arg);
	default:
		return take_count(o, c, arg);
	}
}

/* sasrec reads all of its sequences first and validates on their
 * second-to-last items itself. */
static void check_sasrec_args(struct train_opts *o)
{
	int sas = strcmp(o->model, "sasrec") == 0;

	if (!sas && o->set_sasrec_only)
		rec_usage_error("--heads, --blocks, --max-len, --dropout, --activation, --loss %s and "
				"--negatives <n> apply to --model sasrec", o->loss_arg ? o->loss_arg : "bce");
	if (!sas)
		return;
	if (o->set_lightfm_only)
		rec_usage_error("--loss bpr|warp, --negatives uniform|popular, --max-sampled and the "
				"feature lists apply to --model lightfm");
	if (o->valid)
		rec_usage_error("--valid does not apply to sasrec: it validates on each sequence's "
				"second-to-last item (leave-one-out; --patience works on those)");
	o->sas.freeze = (o->net.freeze & REC_FREEZE_EMBED ? REC_SASREC_FREEZE_EMBED : 0) |
			(o->net.freeze & REC_FREEZE_DENSE ? REC_SASREC_FREEZE_DENSE : 0);
	if (o->sas.freeze == (REC_SASREC_FREEZE_EMBED | REC_SASREC_FREEZE_DENSE))
		rec_usage_error("--freeze embeddings and --freeze dense leave nothing to train");
	o->every = o->set_every ? o->every : 1;  /* epochs */
	o->sas.dim = o->set_dim ? o->net.k : o->sas.dim;
	o->sas.lr = o->set_lr ? o->net.lr : o->sas.lr;
	o->sas.batch = o->set_batch ? o->net.batch : o->sas.batch;
	o->sas.seed = o->fm.seed;
	o->sas.threads = (unsigned)o->threads;
	if (!o->set_negatives && o->sas.loss == REC_SASREC_SAMPLED)
		o->sas.negatives = 100;
	if (o->sas.dim % o->sas.heads)
		rec_usage_error("--heads (%u) must divide --dim (%u)", o->sas.heads, o->sas.dim);
}

static void check_args(struct train_opts *o)
{
	int sas = strcmp(o->model, "sasrec") == 0, lightfm = strcmp(o->model, "lightfm") == 0;

	check_sasrec_args(o);
	if (o->epochs > 1 && o->ninputs == 0 && !sas && !(lightfm && o->cache_mb))
		rec_usage_error("several epochs need input files, not standard input (lightfm: "
				"or its cache, --cache-mb)");
	if (o->patience && !o->valid && !sas)
		rec_usage_error("--patience needs --valid");
	if (o->valid && lightfm && o->ninputs == 0)
		rec_usage_error("lightfm's --valid needs the training inputs as files: what each user had "
				"there stays off its validation list");
	if (o->net.freeze && !o->init)
		rec_usage_error("--freeze needs --init (a model to fine-tune)");
	/* sasrec keeps the best epoch in memory and writes it at the end */
	if (o->patience && o->output && strcmp(o->output, "-") == 0 && !sas)
		rec_usage_error("--patience rewrites the output at every better epoch: name a file with -o");
	if (o->resume && !o->checkpoint)
		rec_usage_error("--resume needs --checkpoint <file>");
	if (o->resume && o->init && !sas)
		rec_usage_error("--resume and --init exclude each other");
	if (o->resume && o->ninputs == 0)
		rec_usage_error("--resume needs input files, not standard input");
	/* fail now, not after hours of training */
	if (o->output && strcmp(o->output, "-") == 0 && isatty(STDOUT_FILENO))
		rec_usage_error("refusing to write a model to a terminal: redirect it or name a file with -o");
	if ((o->init || o->resume) && o->set_arch && !sas && o->verbosity >= 1)
		rec_warn("the model's kind and shape come from %s: --model, --dim, --hidden, --bottom, "
			 "--row-precision and the ncf fields are ignored", o->init ? "--init" : "the checkpoint");
}

/* --init or --resume without --model: the kind the file holds, where the
 * checks and the training path depend on it (sasrec's training, lightfm's
 * epochs from standard input); the others tell their kinds apart when they
 * load. fallback when the file says nothing more. */
static const char *model_kind(const char *path, const char *fallback)
{
	static char kind[32];
	struct rec_model *mf;
	const char *k;

	if (!path || strcmp(path, "-") == 0)
		return fallback;
	if (!(mf = rec_model_peek(path)))
		exit(REC_EXIT_TROUBLE);
	k = rec_kv_get(&mf->manifest, "model.kind");
	snprintf(kind, sizeof(kind), "%s",
		 k && (strcmp(k, "sasrec") == 0 || strcmp(k, "lightfm") == 0) ? k : fallback);
	rec_model_close(mf);
	return kind;
}

static void parse_args(struct train_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "ho:qv", long_options, NULL)) != -1)
		if (take_option(o, c, optarg) < 0)
			rec_usage_exit();
	o->inputs = argv + optind;
	o->ninputs = (size_t)(argc - optind);
	if (!o->set_model && (o->init || o->resume))
		o->model = model_kind(o->resume ? o->checkpoint : o->init, o->model);
	check_args(o);
	if (strcmp(o->model, "lr") == 0)
		o->fm.k = 0;
	o->fm.ffm = strcmp(o->model, "ffm") == 0;
	/* lr, fm and ffm update after every example unless --batch says */
	o->fm.batch = o->set_batch ? o->net.batch : 0;
	if (o->fm.ffm && !o->set_dim)
		o->fm.k = 4;
	/* row-wise Adagrad's step grows with the row's width (ffm's rows hold
	 * fields x k floats); plain SGD has no such damping at all */
	if (!o->set_lr && (o->fm.ffm || o->fm.optimizer == REC_OPT_SGD))
		o->fm.lr = 0.01f;
	o->net.kind = rec_net_kind_parse(o->model);
	/* lightfm shares the rates and the store's settings */
	if (o->set_lr)
		o->lfm.lr = o->net.lr;
	if (o->set_l2)
		o->lfm.l2 = o->net.l2;
	o->lfm.init_scale = o->net.init_scale;
	o->lfm.precision = o->net.precision;
	if (strcmp(o->model, "lightfm") && o->set_lightfm_only && !o->init && !o->resume)
		rec_usage_error("--loss, --negatives, --max-sampled, --user-features and "
				"--item-features apply to --model lightfm");
	if (strcmp(o->model, "lightfm") == 0 && o->set_fm_only && !o->init && !o->resume &&
	    o->verbosity >= 1)
		rec_warn("--optimizer and --l1 apply to lr, fm and ffm; lightfm trains its rows with "
			 "row-wise Adagrad");
	if (o->net.kind >= 0 && o->set_fm_only && !o->init && !o->resume && o->verbosity >= 1)
		rec_warn("--optimizer and --l1 apply to lr, fm and ffm; %s trains its rows with "
			 "row-wise Adagrad and its MLPs with Adam", o->model);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The deep models split each batch among their own threads, each of which
 * calls a one-threaded BLAS: small GEMMs split no further. One thread by
 * default: where cores are shared (virtual machines), OpenMP's spinning
 * workers slow the serial parts down more than the shares speed up. */
static void set_threads(struct train_opts *o)
{
#ifdef _OPENMP
	omp_set_num_threads(o->threads);
#endif
	rec_blas_threads(1);
	o->net.threads = (unsigned)o->threads;
}

/* --init / --resume: a trained model with this run's optimization settings. */
static struct rec_ctr *warm_start(const char *path, const struct train_opts *o, int resume)
{
	struct rec_ctr *c = rec_ctr_load(path);

	if (c && c->net)
		rec_net_set_threads(c->net, o->net.threads);
	if (!c || resume)
		return c;
	if (!c->net && o->net.freeze) {
		rec_error("'%s': --freeze applies to the deep models (deepfm, dlrm, ncf), not %s", path,
			  rec_ctr_kind(c));
		rec_ctr_free(c);
		return NULL;
	}
	if (c->lfm) {
		c->lfm->o.lr = o->set_lr ? o->net.lr : c->lfm->o.lr;
		c->lfm->o.l2 = o->set_l2 ? o->net.l2 : c->lfm->o.l2;
		c->lfm->trained = 0;
	} else if (c->net) {
		c->net->o.lr = o->net.lr;
		c->net->o.dense_lr = o->net.dense_lr;
		c->net->o.l2 = o->net.l2;
		c->net->o.batch = o->net.batch;
		c->net->o.freeze = o->net.freeze;
		c->net->o.warmup = o->net.warmup;
		c->net->o.decay = o->net.decay;
		c->net->trained = 0;
	} else {
		c->fm->o.lr = o->set_lr || !(c->fm->o.ffm || c->fm->o.optimizer == REC_OPT_SGD) ? o->fm.lr : 0.01f;
		c->fm->o.l2 = o->fm.l2;
		c->fm->o.warmup = o->fm.warmup;
		c->fm->o.decay = o->fm.decay;
		c->fm->o.batch = o->fm.batch;
		c->fm->t = 0;
	}
	return c;
}

static struct rec_ctr *new_model(const struct rec_schema *s, const struct train_opts *o)
{
	struct rec_ctr *c = rec_xcalloc(1, sizeof(*c));

	if (strcmp(o->model, "lightfm") == 0)
		c->lfm = rec_lightfm_new(s, &o->lfm);
	else if (o->net.kind >= 0)
		c->net = rec_net_new(s, &o->net);
	else
		c->fm = rec_fm_new(s, &o->fm);
	if (!c->net && !c->fm && !c->lfm) {
		free(c);
		return NULL;
	}
	return c;
}

/* Opens one input; the first makes the model (unless --init made it), and
 * every one must have the model's schema. */
static struct rec_reader *open_input(const char *path, struct rec_ctr **m, const struct train_opts *o)
{
	struct rec_reader *r = rec_reader_open(path);

	if (!r)
		return NULL;
	if (!*m && !(*m = new_model(rec_reader_schema(r), o))) {
		rec_reader_close(r);
		return NULL;
	}
	if (rec_ctr_check_schema(*m, rec_reader_schema(r), rec_reader_name(r)) < 0) {
		rec_reader_close(r);
		return NULL;
	}
	return r;
}

/* What a model file says about the run that wrote it. */
static void provenance(struct rec_kv *kv, const struct train_opts *o, const struct progress *p)
{
	size_t last = o->ninputs ? o->ninputs - 1 : 0;

	rec_kv_setf(kv, "train.examples", "%llu", (unsigned long long)p->examples);
	rec_kv_setf(kv, "train.epochs", "%zu", o->epochs);
	rec_kv_setf(kv, "train.epoch", "%zu", p->epoch);
	rec_kv_setf(kv, "train.input", "%zu", p->input < last ? p->input : last);
	rec_kv_setf(kv, "train.records", "%llu", (unsigned long long)p->records);
	if (o->init)
		rec_kv_set(kv, "train.init", o->init);
}

static double mib(size_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void show_progress(const struct rec_ctr *m, struct progress *p, int final)
{
	double t = now(), secs = t - p->t0;
	size_t rows = rec_embed_rows(rec_ctr_table(m)), bytes = rec_embed_bytes(rec_ctr_table(m));

	if (!final && t - p->last_show < 1)
		return;
	p->last_show = t;
	fprintf(stderr, "\r\033[Krec-train: epoch %zu: %llu examples, %.0f/s, loss %.4f, %zu rows, %.0f MiB",
		p->epoch, (unsigned long long)p->epoch_examples,
		secs > 0 ? (double)p->epoch_examples / secs : 0,
		p->epoch_examples ? p->loss / (double)p->epoch_examples : 0, rows, mib(bytes));
	if (final)
		fputc('\r', stderr), fputs("\033[K", stderr);
}

static int checkpoint(const struct rec_ctr *m, const struct train_opts *o, const struct progress *p)
{
	struct rec_kv kv = { 0 };
	int rc;

	provenance(&kv, o, p);
	rc = rec_ctr_save(m, o->checkpoint, &kv);
	rec_kv_free(&kv);
	if (rc == 0 && o->verbosity >= 3)
		rec_warn("checkpoint: %llu examples into '%s'", (unsigned long long)p->examples, o->checkpoint);
	return rc;
}

/* After a block of n records: the counts, the progress line, a checkpoint
 * when one is due. */
static int after_block(const struct rec_ctr *m, const struct train_opts *o, struct progress *p, size_t n)
{
	p->examples += n;
	p->epoch_examples += n;
	p->since_checkpoint += n;
	if (p->tty)
		show_progress(m, p, 0);
	if (!o->checkpoint || p->since_checkpoint < o->every)
		return 0;
	p->since_checkpoint = 0;
	return checkpoint(m, o, p);
}

/* lightfm records the interactions of the first whole epoch when more
 * follow, so that those need no stream. */
static void start_cache(struct rec_ctr *m, const struct train_opts *o, const struct progress *p, uint64_t skip)
{
	if (m->lfm && o->cache_mb && p->input == 0 && skip == 0 && p->epoch < o->epochs &&
	    rec_lightfm_cache_state(m->lfm) == REC_CACHE_OFF)
		rec_lightfm_cache_start(m->lfm, o->cache_mb << 20);
}

/* lightfm's cache went past --cache-mb: say so once (*full); standard
 * input can't be read again. */
static int check_cache(const struct rec_ctr *m, const struct train_opts *o, int *full)
{
	if (*full || !m->lfm || rec_lightfm_cache_state(m->lfm) != REC_CACHE_FULL)
		return 0;
	*full = 1;
	if (!o->ninputs)
		return rec_error("standard input is read once, and its interactions exceed --cache-mb %zu: "
				 "name the files, or raise --cache-mb", o->cache_mb);
	if (o->verbosity >= 2)
		rec_warn("the interactions exceed --cache-mb %zu: reading the input every epoch", o->cache_mb);
	return 0;
}

/* Trains on one input; with skip, passes over the records a resumed run has
 * done already (whole blocks: checkpoints fall between blocks). */
static int train_stream(struct rec_ctr **m, const struct train_opts *o, struct progress *p, uint64_t skip)
{
	const char *path = o->ninputs ? o->inputs[p->input] : NULL;
	struct rec_reader *r;
	const struct rec_block *b;
	int rc, full;

	if (!o->ninputs && p->epoch > 1)  /* lightfm's cache could not take it */
		return rec_error("standard input can be read only once");
	if (!(r = open_input(path, m, o)))
		return -1;
	start_cache(*m, o, p, skip);
	full = (*m)->lfm && rec_lightfm_cache_state((*m)->lfm) == REC_CACHE_FULL;
	p->records = 0;
	while ((rc = rec_reader_next(r, &b)) > 0) {
		p->records += b->n;
		if (p->records <= skip)
			continue;
		rec_ctr_train_block(*m, b, &p->loss);
		if (after_block(*m, o, p, b->n) < 0 || check_cache(*m, o, &full) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && p->records < skip)
		rc = rec_error("'%s': %llu records, the checkpoint is %llu into it", rec_reader_name(r),
			       (unsigned long long)p->records, (unsigned long long)skip);
	if (rc == 0 && (*m)->lfm)
		rec_lightfm_cache_end_input((*m)->lfm);
	rec_reader_close(r);
	return rc;
}

/* The same from lightfm's cache: no stream, no lookups. A cached epoch is
 * always a whole one (a resumed run's first epoch streams). */
static int train_cached(struct rec_ctr *m, const struct train_opts *o, struct progress *p)
{
	size_t first, n = rec_lightfm_cache_blocks(m->lfm, p->input, &first);

	p->records = 0;
	for (size_t k = first; k < first + n; k++) {
		size_t records = rec_lightfm_train_cached(m->lfm, k, &p->loss);
		p->records += records;
		if (after_block(m, o, p, records) < 0)
			return -1;
	}
	return 0;
}

static int train_input(struct rec_ctr **m, const struct train_opts *o, struct progress *p, uint64_t skip)
{
	if (*m && (*m)->lfm && rec_lightfm_cache_state((*m)->lfm) == REC_CACHE_READY)
		return train_cached(*m, o, p);
	return train_stream(m, o, p, skip);
}

/* Scores the validation stream: AUC and logloss on stderr and into prov. */
static int validate_scores(struct rec_ctr *m, const struct train_opts *o, size_t epoch, struct rec_kv *prov,
			   double *logloss)
{
	struct rec_reader *r = open_input(o->valid, &m, o);
	const struct rec_block *b;
	float *p = NULL, *y = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!r)
		return -1;
	rec_ctr_reset_coverage(m);
	while ((rc = rec_reader_next(r, &b)) > 0) {
		size_t c = cap;
		rec_xgrow(&p, &c, n + b->n, sizeof(float));
		if (c != cap) {
			y = rec_xrealloc(y, c * sizeof(float));
			cap = c;
		}
		rec_ctr_predict_block(m, b, p + n);
		memcpy(y + n, b->label, b->n * sizeof(float));
		n += b->n;
	}
	if (rc == 0) {
		double auc = rec_auc(p, y, NULL, n);
		*logloss = rec_logloss(p, y, NULL, n);
		rec_kv_setf(prov, "train.valid_auc", "%.6f", auc);
		rec_kv_setf(prov, "train.valid_logloss", "%.6f", *logloss);
		if (o->verbosity >= 2)
			rec_warn("epoch %zu: valid auc %.4f logloss %.4f coverage %.3f (%zu records)", epoch,
				 auc, *logloss, rec_ctr_coverage(m), n);
	}
	free(p);
	free(y);
	rec_reader_close(r);
	return rc;
}

/* lightfm: the top-10 lists of the validation stream's users against
 * their positives there, less what they had in the training inputs;
 * *loss is -NDCG@10, as lower is better. */
static int validate_lists(struct rec_ctr *m, const struct train_opts *o, struct progress *p, struct rec_kv *prov,
			  double *loss)
{
	struct rec_rank_model rm;
	struct rec_rank_metrics r;
	int rc = rec_rank_model_init(&rm, m, "validation");

	if (rc == 0)
		rc = rec_rank_heldout_read(&p->lists, &rm, m, &o->valid, 1, (const char *const *)o->inputs,
					   o->ninputs);
	if (rc == 0)
		rec_rank_heldout_score(&r, &p->lists, &rm, VALID_K, 0);
	rec_rank_model_free(&rm);
	if (rc < 0)
		return -1;
	if (!r.users)
		return rec_error("'%s': no user has positives there that the training inputs lack: "
				 "nothing to validate the lists on", o->valid);
	*loss = -r.ndcg;
	rec_kv_setf(prov, "train.valid_precision10", "%.6f", r.precision);
	rec_kv_setf(prov, "train.valid_recall10", "%.6f", r.recall);
	rec_kv_setf(prov, "train.valid_ndcg10", "%.6f", r.ndcg);
	if (o->verbosity >= 2)
		rec_warn("epoch %zu: valid precision@%d %.4f recall@%d %.4f ndcg@%d %.4f (%zu users)", p->epoch,
			 VALID_K, r.precision, VALID_K, r.recall, VALID_K, r.ndcg, r.users);
	return 0;
}

static int validate(struct rec_ctr *m, const struct train_opts *o, struct progress *p, struct rec_kv *prov,
		    double *loss)
{
	if (m->lfm)
		return validate_lists(m, o, p, prov, loss);
	return validate_scores(m, o, p->epoch, prov, loss);
}

static void report_epoch(const struct rec_ctr *m, const struct train_opts *o, const struct progress *p)
{
	struct rec_embed *t = rec_ctr_table(m);
	size_t rows = rec_embed_rows(t);
	double secs = now() - p->t0;

	if (o->verbosity >= 2 && isatty(STDERR_FILENO))
		show_progress(m, (struct progress *)p, 1);
	if (o->verbosity < 2)
		return;
	rec_warn("epoch %zu: %llu examples, train %s %.4f, %.0f examples/s, %zu rows, %.1f MiB, "
		 "%.1f bytes/row", p->epoch, (unsigned long long)p->epoch_examples,
		 m->lfm ? rec_lightfm_loss_name(m->lfm->o.loss) : "logloss",
		 p->epoch_examples ? p->loss / (double)p->epoch_examples : 0,
		 secs > 0 ? (double)p->epoch_examples / secs : 0, rows, mib(rec_embed_bytes(t)),
		 rows ? (double)rec_embed_bytes(t) / (double)rows : 0);
	if (m->net && o->verbosity >= 3)
		rec_warn("epoch %zu: dense part %.1f GFLOP/s", p->epoch,
			 secs > 0 ? (m->net->flops - p->flops0) / secs * 1e-9 : 0);
}

static int save(const struct rec_ctr *m, const struct train_opts *o, const struct progress *p,
		const struct rec_kv *valid)
{
	struct rec_kv kv = { 0 };
	int rc;

	for (size_t i = 0; i < valid->n; i++)
		rec_kv_set(&kv, valid->key[i], valid->val[i]);
	provenance(&kv, o, p);
	rc = rec_ctr_save(m, o->output, &kv);
	rec_kv_free(&kv);
	return rc;
}

/* After an epoch: validation, early stopping (the output holds the best
 * epoch), or nothing. Returns -1 on error, 1 to stop, 0 to go on. */
static int end_epoch(struct rec_ctr *m, const struct train_opts *o, struct progress *p, struct rec_kv *valid)
{
	double ll = INFINITY;

	report_epoch(m, o, p);
	if (!o->valid)
		return 0;
	if (validate(m, o, p, valid, &ll) < 0)
		return -1;
	if (!o->patience)
		return 0;
	if (ll < p->best) {
		p->best = ll;
		p->stale = 0;
		rec_kv_setf(valid, "train.best_epoch", "%zu", p->epoch);
		return o->output && save(m, o, p, valid) < 0 ? -1 : 0;
	}
	if (++p->stale < o->patience)
		return 0;
	if (o->verbosity >= 2)
		rec_warn("stopping after epoch %zu: no better %s for %zu epochs", p->epoch,
			 m->lfm ? "NDCG@10" : "logloss", p->stale);
	return 1;
}

/* --resume: the checkpoint's model and where it stood. */
static struct rec_ctr *resume(const struct train_opts *o, struct progress *p, uint64_t *skip)
{
	struct rec_model *mf = rec_model_peek(o->checkpoint);
	const char *e, *i, *r, *x;
	struct rec_ctr *m;

	if (!mf)
		return NULL;
	e = rec_kv_get(&mf->manifest, "train.epoch");
	i = rec_kv_get(&mf->manifest, "train.input");
	r = rec_kv_get(&mf->manifest, "train.records");
	x = rec_kv_get(&mf->manifest, "train.examples");
	if (!e || !i || !r || !x) {
		rec_error("'%s': not a checkpoint (no train.epoch, train.input, train.records)", o->checkpoint);
		rec_model_close(mf);
		return NULL;
	}
	p->epoch = strtoul(e, NULL, 10);
	p->input = strtoul(i, NULL, 10);
	*skip = strtoull(r, NULL, 10);
	p->examples = strtoull(x, NULL, 10);
	rec_model_close(mf);
	if (p->epoch < 1 || p->epoch > o->epochs || p->input >= o->ninputs) {
		rec_error("'%s': checkpoint at epoch %zu, input %zu does not fit this run", o->checkpoint,
			  p->epoch, p->input + 1);
		return NULL;
	}
	m = warm_start(o->checkpoint, o, 1);
	return m;
}

static void finish_cache(struct rec_lightfm *m, const struct train_opts *o)
{
	if (rec_lightfm_cache_state(m) != REC_CACHE_RECORDING)
		return;
	rec_lightfm_cache_finish(m);
	if (o->verbosity >= 3)
		rec_warn("cached %zu positives in %.1f MiB for the later epochs", rec_lightfm_cache_positives(m),
			 mib(rec_lightfm_cache_bytes(m)));
}

static int run_epochs(struct rec_ctr **m, const struct train_opts *o, struct progress *p, uint64_t skip,
		      struct rec_kv *valid)
{
	size_t first_input = p->input;
	int stop = 0;

	for (size_t e = p->epoch; !stop && e <= o->epochs; e++) {
		p->epoch = e;
		p->loss = 0;
		p->epoch_examples = 0;
		p->t0 = now();
		p->flops0 = *m && (*m)->net ? (*m)->net->flops : 0;
		for (p->input = first_input; p->input < (o->ninputs ? o->ninputs : 1); p->input++, skip = 0)
			if (train_input(m, o, p, skip) < 0)
				return -1;
		first_input = 0;
		if ((*m)->lfm)
			finish_cache((*m)->lfm, o);
		if ((stop = end_epoch(*m, o, p, valid)) < 0)
			return -1;
	}
	return stop;
}

/* ---- sasrec ---------------------------------------------------------------- */

/* Where a sasrec run stands after each epoch; a checkpoint records it. */
struct sas_state {
	size_t epoch;             /* epochs done */
	double loss, hr, ndcg;    /* training loss and validation HR@10, NDCG@10 of the last */
	size_t best_epoch, stale; /* --patience: the best NDCG@10's epoch, epochs since */
	double best_loss, best_hr, best_ndcg;
	uint64_t best_trained;    /* targets trained on up to best_epoch */
	float *best;              /* --patience: the weights of best_epoch */
	char *init;               /* the pre-trained model of a fine-tuning run */
	size_t added;             /* items the pre-trained model did not have */
};

static void sas_state_free(struct sas_state *st)
{
	free(st->best);
	free(st->init);
}

/* The sequences of the inputs; *schema (when set: the model's) checks them. */
static int sas_read(const struct train_opts *o, struct rec_seqs *s, const char *field,
		    struct rec_schema **schema)
{
	for (size_t i = 0; i < (o->ninputs ? o->ninputs : 1); i++)
		if (rec_seqs_read(s, o->ninputs ? o->inputs[i] : NULL, field, schema) < 0)
			return -1;
	return 0;
}

static struct rec_sasrec *sas_fresh(const struct train_opts *o, struct rec_seqs *s)
{
	struct rec_schema *schema = NULL;
	struct rec_sasrec *m = NULL;
	uint64_t *ids = NULL;
	size_t n = 0;

	if (sas_read(o, s, o->sas.item_field, &schema) == 0) {
		ids = rec_sasrec_vocabulary(s, &n);
		m = rec_sasrec_new(schema, &o->sas, ids, n);
	}
	free(ids);
	rec_schema_free(schema);
	return m;
}

/* -1 after a message when option opt was given as mine and the model
 * (key in its manifest) says theirs. */
static int agree(const char *path, const char *opt, const char *key, int given, const char *mine,
		 const char *theirs)
{
	if (!given || strcmp(mine, theirs) == 0)
		return 0;
	return rec_error("%s %s disagrees with '%s' (%s = %s): leave it out, the model's holds", opt, mine,
			 path, key, theirs);
}

/* The options given that disagree with model m: --init checks the
 * architecture, --resume every setting. */
static int sas_agree(const struct train_opts *o, const struct rec_sasrec *m, const char *path, int all)
{
	const struct rec_sasrec_opts *c = &o->sas, *p = &m->o;
	char a[2][8][72];
	int bad = 0;

#define F(i, fmt, x, y) (snprintf(a[0][i], 72, fmt, x), snprintf(a[1][i], 72, fmt, y))
	F(0, "%u", c->dim, p->dim), F(1, "%u", c->heads, p->heads), F(2, "%u", c->blocks, p->blocks);
	F(3, "%u", c->max_len, p->max_len);
	F(4, "%s", c->act == REC_ACT_GELU ? "gelu" : "relu", p->act == REC_ACT_GELU ? "gelu" : "relu");
	F(5, "%s", c->item_field, p->item_field);
	bad |= agree(path, "--dim", "model.dim", o->set_dim, a[0][0], a[1][0]);
	bad |= agree(path, "--heads", "model.heads", o->set_sas & SET_HEADS, a[0][1], a[1][1]);
	bad |= agree(path, "--blocks", "model.blocks", o->set_sas & SET_BLOCKS, a[0][2], a[1][2]);
	bad |= agree(path, "--max-len", "model.max_len", o->set_sas & SET_MAX_LEN, a[0][3], a[1][3]);
	bad |= agree(path, "--activation", "model.activation", o->set_sas & SET_ACT, a[0][4], a[1][4]);
	bad |= agree(path, "--item-field", "model.item_field", o->set_sas & SET_ITEM, a[0][5], a[1][5]);
	if (!all)
		return bad;
	F(0, "%.9g", c->lr, p->lr), F(1, "%zu", c->batch, p->batch), F(2, "%.9g", c->dropout, p->dropout);
	F(3, "%s", rec_sasrec_loss_name(c->loss), rec_sasrec_loss_name(p->loss));
	F(4, "%u", c->negatives, p->negatives);
	F(5, "%llu", (unsigned long long)c->seed, (unsigned long long)p->seed);
#undef F
	bad |= agree(path, "--lr", "model.lr", o->set_lr, a[0][0], a[1][0]);
	bad |= agree(path, "--batch", "model.batch", o->set_batch, a[0][1], a[1][1]);
	bad |= agree(path, "--dropout", "model.dropout", o->set_sas & SET_DROPOUT, a[0][2], a[1][2]);
	bad |= agree(path, "--loss", "model.loss", o->loss_arg != NULL, a[0][3], a[1][3]);
	bad |= agree(path, "--negatives", "model.negatives", o->set_negatives, a[0][4], a[1][4]);
	bad |= agree(path, "--seed", "model.seed", o->set_sas & SET_SEED, a[0][5], a[1][5]);
	if (c->freeze != p->freeze)
		bad |= rec_error("--freeze differs from the checkpoint '%s' (model.freeze)", path);
	return bad;
}

/* Fine-tuning's settings: those given on the command line, else the
 * pre-trained model's. */
static struct rec_sasrec_opts sas_tuning(const struct train_opts *o, const struct rec_sasrec_opts *pre)
{
	struct rec_sasrec_opts t = *pre;

	t.lr = o->set_lr ? o->sas.lr : pre->lr;
	t.batch = o->set_batch ? o->sas.batch : pre->batch;
	t.dropout = o->set_sas & SET_DROPOUT ? o->sas.dropout : pre->dropout;
	t.loss = o->loss_arg ? o->sas.loss : pre->loss;
	t.negatives = o->set_negatives || o->loss_arg ? o->sas.negatives : pre->negatives;
	t.seed = o->set_sas & SET_SEED ? o->sas.seed : pre->seed;
	t.threads = o->sas.threads;
	t.freeze = o->sas.freeze;
	return t;
}

/* A sasrec model file's contents, or NULL after a message. */
static struct rec_model *sas_open(const char *path)
{
	struct rec_model *mf = rec_model_open(path);
	const char *kind = mf ? rec_kv_get(&mf->manifest, "model.kind") : NULL;

	if (mf && (!kind || strcmp(kind, "sasrec"))) {
		rec_error("'%s' is a %s model, not sasrec", path, kind ? kind : "unknown");
		rec_model_close(mf);
		return NULL;
	}
	return mf;
}

/* --init: the pre-trained model over its items and the inputs' new ones. */
static struct rec_sasrec *sas_init(const struct train_opts *o, struct rec_seqs *s, struct sas_state *st)
{
	struct rec_model *mf = sas_open(o->init);
	struct rec_sasrec *pre = mf ? rec_sasrec_load_model(mf) : NULL, *m = NULL;
	struct rec_schema *schema = pre ? rec_schema_copy(pre->schema) : NULL;
	struct rec_sasrec_opts t;
	uint64_t *ids = NULL;
	size_t n;

	rec_model_close(mf);
	if (pre && sas_agree(o, pre, o->init, 0) == 0 && sas_read(o, s, pre->o.item_field, &schema) == 0) {
		t = sas_tuning(o, &pre->o);
		ids = rec_sasrec_vocabulary(s, &n);
		m = rec_sasrec_extend(pre, &t, ids, n, &st->added);
		st->init = rec_xstrdup(o->init);
	}
	if (m && st->added && (t.freeze & REC_SASREC_FREEZE_EMBED) && o->verbosity >= 2)
		rec_warn("%zu items new to '%s' keep their random rows (--freeze embeddings)", st->added,
			 o->init);
	free(ids);
	rec_schema_free(schema);
	rec_sasrec_free(pre);
	return m;
}

/* The state numbers of a checkpoint's checkpoint.* keys (exact: %.17g). */
static int sas_state_from_kv(const struct rec_model *mf, struct sas_state *st, uint64_t *patience,
			     uint64_t *nseq)
{
	uint64_t epoch = 0, best = 0, stale = 0;
	double *d[] = { &st->loss, &st->hr, &st->ndcg, &st->best_loss, &st->best_hr, &st->best_ndcg };
	const char *dk[] = { "loss", "valid_hr10", "valid_ndcg10", "best_loss", "best_valid_hr10",
			     "best_valid_ndcg10" };
	const struct rec_model_number num[] = {
		{ "checkpoint.epoch", NULL, &epoch }, { "checkpoint.best_epoch", NULL, &best },
		{ "checkpoint.stale", NULL, &stale }, { "checkpoint.best_trained", NULL, &st->best_trained },
		{ "checkpoint.patience", NULL, patience }, { "train.sequences", NULL, nseq },
	};
	char key[64];

	if (!rec_kv_get(&mf->manifest, "checkpoint.epoch"))
		return rec_error("'%s': not a sasrec checkpoint (no checkpoint.epoch)", mf->name);
	if (rec_model_numbers(mf, num, sizeof(num) / sizeof(num[0])) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		const char *v;
		snprintf(key, sizeof(key), "checkpoint.%s", dk[i]);
		*d[i] = (v = rec_kv_get(&mf->manifest, key)) ? strtod(v, NULL) : NAN;
	}
	st->epoch = epoch;
	st->best_epoch = best;
	st->stale = stale;
	if (rec_kv_get(&mf->manifest, "train.init"))
		st->init = rec_xstrdup(rec_kv_get(&mf->manifest, "train.init"));
	return 0;
}

/* The checkpoint must have been made from these inputs: the same number
 * of sequences, no item it lacks. */
static int sas_same_inputs(const struct rec_sasrec *m, const struct rec_seqs *s, uint64_t nseq,
			   const char *path)
{
	size_t unknown = 0, nid = s->n ? s->off[s->n] : 0;

	for (size_t i = 0; i < nid; i++)
		unknown += rec_sasrec_find(m, s->id[i]) == 0;
	if (s->n != nseq || unknown)
		return rec_error("'%s' was trained on %llu sequences, the inputs hold %zu (%zu of their items "
				 "unknown to it): resume with the same files", path, (unsigned long long)nseq, s->n,
				 unknown);
	return 0;
}

/* --resume: the checkpoint's model, its state, the same inputs. */
static struct rec_sasrec *sas_resume(const struct train_opts *o, struct rec_seqs *s, struct sas_state *st)
{
	struct rec_model *mf = sas_open(o->checkpoint);
	struct rec_sasrec *m = mf ? rec_sasrec_load_model(mf) : NULL;
	struct rec_schema *schema = m ? rec_schema_copy(m->schema) : NULL;
	uint64_t patience = 0, nseq = 0;
	int rc = m ? sas_state_from_kv(mf, st, &patience, &nseq) : -1;

	if (rc == 0 && (rc = sas_agree(o, m, o->checkpoint, 1)) == 0 && patience != o->patience)
		rc = rec_error("'%s' was written with --patience %llu, not %zu", o->checkpoint,
			       (unsigned long long)patience, o->patience);
	if (rc == 0 && o->init && (!st->init || strcmp(o->init, st->init)))
		rc = rec_error("'%s' fine-tunes '%s', not '%s'", o->checkpoint, st->init ? st->init : "nothing",
			       o->init);
	if (rc == 0 && st->epoch > o->epochs)
		rc = rec_error("'%s' is %zu epochs in, past --epochs %zu", o->checkpoint, st->epoch, o->epochs);
	if (rc == 0 && o->patience && st->best_epoch) {
		st->best = rec_xmalloc(m->nparam * sizeof(float));
		rc = rec_sasrec_load_best(m, mf, st->best);
	}
	if (rc == 0 && (rc = sas_read(o, s, m->o.item_field, &schema)) == 0)
		rc = sas_same_inputs(m, s, nseq, o->checkpoint);
	rec_model_close(mf);
	rec_schema_free(schema);
	if (rc < 0) {
		rec_sasrec_free(m);
		return NULL;
	}
	m->o.threads = o->sas.threads;
	return m;
}

/* What a model file says about the run: the numbers of the epoch whose
 * weights it holds. */
static void sas_provenance(struct rec_kv *kv, const struct train_opts *o, const struct rec_seqs *s,
			   const struct sas_state *st, int best)
{
	rec_kv_setf(kv, "train.valid_hr10", "%.6f", best ? st->best_hr : st->hr);
	rec_kv_setf(kv, "train.valid_ndcg10", "%.6f", best ? st->best_ndcg : st->ndcg);
	rec_kv_setf(kv, "train.loss", "%.6f", best ? st->best_loss : st->loss);
	rec_kv_setf(kv, "train.epochs", "%zu", o->epochs);
	rec_kv_setf(kv, "train.epoch", "%zu", st->epoch);
	rec_kv_setf(kv, "train.sequences", "%zu", s->n);
	if (o->patience && st->best_epoch)
		rec_kv_setf(kv, "train.best_epoch", "%zu", st->best_epoch);
	if (st->init)
		rec_kv_set(kv, "train.init", st->init);
}

/* The model after this epoch, with what --resume needs exactly. */
static int sas_checkpoint(const struct rec_sasrec *m, const struct train_opts *o, const struct rec_seqs *s,
			  const struct sas_state *st)
{
	struct rec_kv kv = { 0 };
	int rc;

	sas_provenance(&kv, o, s, st, 0);
	rec_kv_setf(&kv, "checkpoint.epoch", "%zu", st->epoch);
	rec_kv_setf(&kv, "checkpoint.loss", "%.17g", st->loss);
	rec_kv_setf(&kv, "checkpoint.valid_hr10", "%.17g", st->hr);
	rec_kv_setf(&kv, "checkpoint.valid_ndcg10", "%.17g", st->ndcg);
	rec_kv_setf(&kv, "checkpoint.patience", "%zu", o->patience);
	rec_kv_setf(&kv, "checkpoint.best_epoch", "%zu", st->best_epoch);
	rec_kv_setf(&kv, "checkpoint.stale", "%zu", st->stale);
	rec_kv_setf(&kv, "checkpoint.best_trained", "%llu", (unsigned long long)st->best_trained);
	rec_kv_setf(&kv, "checkpoint.best_loss", "%.17g", st->best_loss);
	rec_kv_setf(&kv, "checkpoint.best_valid_hr10", "%.17g", st->best_hr);
	rec_kv_setf(&kv, "checkpoint.best_valid_ndcg10", "%.17g", st->best_ndcg);
	rc = rec_sasrec_save_checkpoint(m, o->checkpoint, &kv, st->best_epoch ? st->best : NULL);
	rec_kv_free(&kv);
	if (rc == 0 && o->verbosity >= 3)
		rec_warn("checkpoint: epoch %zu into '%s'", st->epoch, o->checkpoint);
	return rc;
}

/* Early stopping's bookkeeping after an epoch; 1 when patience ran out. */
static int sas_patience(const struct rec_sasrec *m, const struct train_opts *o, struct sas_state *st)
{
	if (!st->best_epoch || st->ndcg > st->best_ndcg) {
		st->best_epoch = st->epoch;
		st->best_loss = st->loss;
		st->best_hr = st->hr;
		st->best_ndcg = st->ndcg;
		st->best_trained = m->trained;
		st->stale = 0;
		if (!st->best)
			st->best = rec_xmalloc(m->nparam * sizeof(float));
		memcpy(st->best, m->param, m->nparam * sizeof(float));
		return 0;
	}
	if (++st->stale < o->patience)
		return 0;
	if (o->verbosity >= 2)
		rec_warn("stopping after epoch %zu: no better valid ndcg@10 for %zu epochs (best: epoch %zu, "
			 "%.4f)", st->epoch, st->stale, st->best_epoch, st->best_ndcg);
	return 1;
}

/* One epoch over the training part of every sequence, then HR@10 and
 * NDCG@10 of the validation items; 1 when --patience says stop. */
static int sas_epoch(struct rec_sasrec *m, const struct rec_seqs *s, const struct train_opts *o,
		     struct sas_state *st)
{
	struct rec_seqeval_opts eo = REC_SEQEVAL_OPTS_INIT;
	struct rec_seqeval r;
	uint64_t before = m->trained;
	double t0 = now(), secs;

	eo.split = REC_SPLIT_VALID;
	eo.sampled = 0;
	st->loss = rec_sasrec_train_epoch(m, s, ++st->epoch);
	secs = now() - t0;
	rec_seqeval_run(m, s, &eo, &r);
	st->hr = r.all.hr;
	st->ndcg = r.all.ndcg;
	if (o->verbosity >= 2)
		rec_warn("epoch %zu: %llu targets, train %s %.4f, %.0f targets/s, valid hr@10 %.4f "
			 "ndcg@10 %.4f (%zu users)", st->epoch, (unsigned long long)(m->trained - before),
			 rec_sasrec_loss_name(m->o.loss), st->loss,
			 secs > 0 ? (double)(m->trained - before) / secs : 0, r.all.hr, r.all.ndcg, r.n);
	rec_seqeval_free(&r);
	return o->patience ? sas_patience(m, o, st) : 0;
}

/* An earlier epoch was best: its weights, without Adam's moments (they
 * belong to the last epoch). */
static void sas_restore_best(struct rec_sasrec *m, const struct sas_state *st)
{
	memcpy(m->param, st->best, m->nparam * sizeof(float));
	memset(m->m, 0, m->nparam * sizeof(float));
	memset(m->v, 0, m->nparam * sizeof(float));
	m->steps = 0;
	m->trained = st->best_trained;
}

static int sas_train(struct rec_sasrec *m, const struct rec_seqs *s, const struct train_opts *o,
		     struct sas_state *st)
{
	int stop = o->patience && st->stale >= o->patience, best;  /* a checkpoint of a stopped run */

	while (!stop && st->epoch < o->epochs) {
		stop = sas_epoch(m, s, o, st);
		if (o->checkpoint && st->epoch % o->every == 0 && sas_checkpoint(m, o, s, st) < 0)
			return -1;
	}
	best = o->patience && st->best_epoch && st->best_epoch != st->epoch;
	if (best)
		sas_restore_best(m, st);
	if (o->output) {
		struct rec_kv kv = { 0 };
		int rc;
		sas_provenance(&kv, o, s, st, best);
		rc = rec_sasrec_save(m, o->output, &kv);
		rec_kv_free(&kv);
		return rc;
	}
	return 0;
}

static int run_sasrec(const struct train_opts *o)
{
	struct rec_seqs s = { 0 };
	struct sas_state st = { 0 };
	struct rec_sasrec *m;
	int ok;

#ifdef _OPENMP
	omp_set_num_threads(o->threads);
#endif
	rec_blas_threads(1);
	m = o->resume ? sas_resume(o, &s, &st) : o->init ? sas_init(o, &s, &st) : sas_fresh(o, &s);
	ok = m && sas_train(m, &s, o, &st) == 0;
	sas_state_free(&st);
	rec_sasrec_free(m);
	rec_seqs_free(&s);
	return ok ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}

static int run_train(struct train_opts *o)
{
	struct progress p = { .epoch = 1, .best = INFINITY, .tty = o->verbosity >= 2 && isatty(STDERR_FILENO) };
	struct rec_ctr *m = NULL;
	struct rec_kv valid = { 0 };
	uint64_t skip = 0;
	int stop, ok;

	set_threads(o);

	if (o->resume && !(m = resume(o, &p, &skip)))
		return REC_EXIT_TROUBLE;
	if (o->init && !(m = warm_start(o->init, o, 0)))
		return REC_EXIT_TROUBLE;
	stop = run_epochs(&m, o, &p, skip, &valid);
	ok = stop >= 0;
	if (ok && o->output && !(o->patience && p.best < INFINITY))
		ok = save(m, o, &p, &valid) == 0;
	rec_kv_free(&valid);
	rec_rank_heldout_free(&p.lists);
	rec_ctr_free(m);
	return ok ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}

int main(int argc, char **argv)
{
	struct train_opts o = { .model = "fm", .fm = REC_FM_OPTS_INIT, .net = REC_NET_OPTS_INIT,
				.lfm = REC_LIGHTFM_OPTS_INIT, .sas = REC_SASREC_OPTS_INIT,
				.threads = 1, .epochs = 1, .cache_mb = 1024, .every = 1000000, .verbosity = 2 };

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	if (strcmp(o.model, "sasrec") == 0)
		return run_sasrec(&o);
	return run_train(&o);
}
