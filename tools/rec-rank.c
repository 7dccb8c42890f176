/* rec-rank - recommendation lists from a model: each user's top K items,
 * candidates re-ranked, similar items. */
#include "config.h"
#include "ctr.h"
#include "err.h"
#include "io.h"
#include "rank.h"
#include "seqrank.h"

#include "blas.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MODE_TOP, MODE_SIMILAR, MODE_RERANK };

struct rank_opts {
	const char *model;        /* -m, --model <file> (required) */
	size_t k;                 /* -k, --top <n> (10; --rerank: all) */
	int set_k;
	int mode;                 /* --similar, --rerank; else top K per user */
	int keep_seen;            /* --keep-seen: do not drop the items a user has */
	int all_items;            /* --all-items: --similar for the whole catalogue */
	const char *names;        /* --names <file> */
	const char *users;        /* --users <file>: these users only, in its order */
	const char *candidates;   /* --candidates <file>: sasrec's --rerank pairs */
	const char *output;       /* -o, --output <file>; NULL = stdout */
	int stream;               /* --format stream: a hashed stream, not TSV */
	int force;                /* -f: a stream to a terminal too */
	int verbosity;            /* -q/-v (2) */
	char **inputs;            /* hashed streams; none = stdin */
	size_t ninputs;
};

/* What a run holds. */
struct rank_state {
	struct rec_ctr *c;        /* lightfm, ncf and the others, or */
	struct rec_sasrec *sas;   /* a sasrec model */
	struct rec_seqs seqs;     /* sasrec: the input's sequences */
	struct rec_lightfm *m;    /* c->lfm, for --rerank */
	struct rec_rank_model rm; /* top K and --similar */
	struct rec_rank_names names;
	struct rec_out out;
	struct rec_schema *os;    /* --format stream: user, item, rank, score */
	struct rec_writer *w;
	int werr;                 /* a record could not be written */
};

static void usage(void)
{
	printf("Usage: rec-rank -m <model> [-k <n>] [--keep-seen] [--users <file>]\n"
	       "                [--names <file>] [-o <file>] [<file>...]\n"
	       "       rec-rank -m <model> --rerank [-k <n>] [--names <file>] [<file>...]\n"
	       "       rec-rank -m <sasrec-model> --rerank --candidates <file> [-k <n>]\n"
	       "                [<file>...]\n"
	       "       rec-rank -m <model> --similar [--all-items] [-k <n>] [--names <file>]\n"
	       "                [<file>...]\n"
	       "Write recommendation lists from a lightfm, ncf or sasrec model (rec-train\n"
	       "--model) as TSV lines 'user item rank score' (--similar: 'item similar rank\n"
	       "cosine'). An ncf model's catalogue is the items of the input it has rows for.\n"
	       "A sasrec model reads item sequences (rec-cross --group-by): a user is a\n"
	       "record, named by its group key, scored after its whole history.\n\n"
	       "  -m, --model <file>     the model\n"
	       "  -k, --top <n>          list length (10; --rerank: every candidate)\n"
	       "      --keep-seen        keep the items a user has in the input in its list\n"
	       "      --users <file>     lists for these users only, one raw user value a\n"
	       "                         line, hashed as the model's user field; the input\n"
	       "                         still gives what they have\n"
	       "      --rerank           each record is a candidate: order every user's\n"
	       "                         candidates by score\n"
	       "      --candidates <file>  sasrec --rerank: 'user<TAB>item' lines of raw\n"
	       "                         values; the input gives the users' histories\n"
	       "      --similar          for the items of the input, the nearest catalogue\n"
	       "                         items by cosine of their vectors\n"
	       "      --all-items        with --similar: every catalogue item, no input read\n"
	       "                         (lightfm)\n"
	       "      --names <file>     print users and items by name: the first column of\n"
	       "                         each line, hashed as the model's fields hash it\n"
	       "      --format <f>       tsv (default) or stream: a hashed stream of the\n"
	       "                         fields user, item, rank, score for rec-cat\n"
	       "  -f, --force            write a stream to a terminal too\n"
	       "  -o, --output <file>    write there atomically (default: stdout)\n"
	       "  -q, --quiet, -v, --verbose  less or more on stderr\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n");
}

enum { OPT_KEEP_SEEN = 256, OPT_RERANK, OPT_SIMILAR, OPT_ALL_ITEMS, OPT_NAMES, OPT_USERS,
       OPT_FORMAT, OPT_CANDIDATES, OPT_VERSION };

static const struct option long_options[] = {
	{ "all-items", no_argument, NULL, OPT_ALL_ITEMS },
	{ "candidates", required_argument, NULL, OPT_CANDIDATES },
	{ "force", no_argument, NULL, 'f' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "keep-seen", no_argument, NULL, OPT_KEEP_SEEN },
	{ "model", required_argument, NULL, 'm' },
	{ "names", required_argument, NULL, OPT_NAMES },
	{ "output", required_argument, NULL, 'o' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "rerank", no_argument, NULL, OPT_RERANK },
	{ "similar", no_argument, NULL, OPT_SIMILAR },
	{ "top", required_argument, NULL, 'k' },
	{ "users", required_argument, NULL, OPT_USERS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static void take_option(struct rank_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'h': usage(); exit(REC_EXIT_OK);
	case OPT_VERSION: printf("rec-rank (recpipe) %s\n", PACKAGE_VERSION); exit(REC_EXIT_OK);
	case 'f': o->force = 1; break;
	case 'm': o->model = arg; break;
	case 'o': o->output = arg; break;
	case 'q': o->verbosity--; break;
	case 'v': o->verbosity++; break;
	case 'k':
		if (rec_parse_size(arg, "--top", 1, 1000000, &o->k) < 0)
			rec_usage_exit();
		o->set_k = 1;
		break;
	case OPT_KEEP_SEEN: o->keep_seen = 1; break;
	case OPT_ALL_ITEMS: o->all_items = 1; break;
	case OPT_NAMES: o->names = arg; break;
	case OPT_USERS: o->users = arg; break;
	case OPT_CANDIDATES: o->candidates = arg; break;
	case OPT_FORMAT:
		if (strcmp(arg, "tsv") != 0 && strcmp(arg, "stream") != 0)
			rec_usage_error("unknown --format '%s' (tsv, stream)", arg);
		o->stream = strcmp(arg, "stream") == 0;
		break;
	case OPT_RERANK:
	case OPT_SIMILAR:
		if (o->mode != MODE_TOP)
			rec_usage_error("--rerank and --similar exclude each other");
		o->mode = c == OPT_RERANK ? MODE_RERANK : MODE_SIMILAR;
		break;
	default: rec_usage_exit();
	}
}

static void parse_args(struct rank_opts *o, int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "fhk:m:o:qv", long_options, NULL)) != -1)
		take_option(o, c, optarg);
	if (!o->model)
		rec_usage_error("name the model with -m");
	o->inputs = argv + optind;
	o->ninputs = (size_t)(argc - optind);
	if (o->all_items && o->mode != MODE_SIMILAR)
		rec_usage_error("--all-items goes with --similar");
	if (o->all_items && o->ninputs)
		rec_usage_error("--all-items reads no input: drop the files or --all-items");
	if (o->keep_seen && o->mode != MODE_TOP)
		rec_usage_error("--keep-seen applies to top-K lists, not --rerank or --similar");
	if (o->names && o->stream)
		rec_usage_error("--names applies to --format tsv: a stream carries IDs");
	if (o->users && o->mode != MODE_TOP)
		rec_usage_error("--users applies to top-K lists, not --rerank or --similar");
	if (o->candidates && o->mode != MODE_RERANK)
		rec_usage_error("--candidates goes with --rerank");
	if (o->output && strcmp(o->output, "-") == 0)
		o->output = NULL;
}

/* ---- output ------------------------------------------------------------ */

static void put_id(FILE *fp, const struct rec_rank_names *nm, uint64_t id)
{
	const char *name = rec_rank_name(nm, id);

	if (name)
		fputs(name, fp);
	else
		fprintf(fp, "%llu", (unsigned long long)id);
}

/* --format stream: one record; the label is the score too. */
static void put_record(struct rank_state *st, uint64_t a, uint64_t b, size_t rank, float score)
{
	struct rec_block *blk = rec_writer_block(st->w);

	rec_block_add_id(blk, 0, a, 1);
	rec_block_add_id(blk, 1, b, 1);
	rec_block_add_num(blk, 2, (float)rank);
	rec_block_add_num(blk, 3, score);
	if (rec_writer_end_record(st->w, score, 1, NULL, 0) < 0)
		st->werr = 1;
}

static void put_line(struct rank_state *st, uint64_t a, uint64_t b, size_t rank, float score)
{
	if (st->w) {
		put_record(st, a, b, rank, score);
		return;
	}
	put_id(st->out.fp, &st->names, a);
	fputc('\t', st->out.fp);
	put_id(st->out.fp, &st->names, b);
	fprintf(st->out.fp, "\t%zu\t%.6g\n", rank, score);
}

/* Query q's list: its rank lines after the query's own ID. */
static void put_lists(struct rank_state *st, const uint64_t *qid, size_t nq, const uint32_t *idx,
		      const float *score, const size_t *len, size_t k)
{
	for (size_t q = 0; q < nq; q++)
		for (size_t r = 0; r < len[q]; r++)
			put_line(st, qid[q], rec_rank_item_id(&st->rm, idx[q * k + r]), r + 1, score[q * k + r]);
}

/* ---- input ------------------------------------------------------------ */

/* Every block of every input, checked against the model's schema, to fn. */
static int each_block(struct rank_state *st, const struct rank_opts *o,
		      int (*fn)(struct rank_state *, const struct rec_block *, void *), void *arg)
{
	int status = 0;

	for (size_t f = 0; f < (o->ninputs ? o->ninputs : 1); f++) {
		struct rec_reader *r = rec_reader_open(o->ninputs ? o->inputs[f] : NULL);
		const struct rec_block *b;
		int rc = r ? rec_ctr_check_schema(st->c, rec_reader_schema(r), rec_reader_name(r)) : -1;
		while (rc == 0 && (rc = rec_reader_next(r, &b)) > 0)
			rc = fn(st, b, arg);
		rec_reader_close(r);
		if (rc < 0)
			status = -1;   /* report each bad input, go on */
	}
	return status;
}

/* sasrec: every input's sequences (each checked against the model's schema, each
 * bad one named). */
static int read_seqs(struct rank_state *st, const struct rank_opts *o)
{
	int status = 0;

	for (size_t f = 0; f < (o->ninputs ? o->ninputs : 1); f++)
		if (rec_seqs_read(&st->seqs, o->ninputs ? o->inputs[f] : NULL, st->sas->o.item_field,
				  &st->sas->schema) < 0)
			status = -1;
	return status;
}

/* ---- top K per user ------------------------------------------------------- */

struct top_input {
	struct rec_rank_users users;
	struct rec_rank_pairs seen;
	int flags;                /* for rec_rank_add */
};

static int add_users(struct rank_state *st, const struct rec_block *b, void *arg)
{
	struct top_input *in = arg;

	rec_rank_add(&in->users, &in->seen, &st->rm, b, in->flags);
	return 0;
}

static void warn_short(const struct rank_opts *o, size_t k, size_t n)
{
	if (k > n && o->verbosity >= 2)
		rec_warn("K = %zu is more than the %zu catalogue items: the lists are shorter", k, n);
}

static void warn_unknown(const struct rank_state *st, const struct rank_opts *o, const struct rec_rank_users *u)
{
	if (!u->unknown || o->verbosity < 2)
		return;
	if (st->rm.lfm)
		rec_warn("%zu of %zu users have no feature the model knows: their items rank by item "
			 "bias alone", u->unknown, u->n);
	else
		rec_warn("%zu of %zu users have no feature the model knows: their items rank as the "
			 "model scores an unknown user", u->unknown, u->n);
}

static int run_top(struct rank_state *st, const struct rank_opts *o)
{
	struct top_input in = { .flags = REC_RANK_NEW_ITEMS | (o->users ? 0 : REC_RANK_NEW_USERS) };
	size_t n, k = o->k, ni;
	uint32_t *idx;
	float *score;
	size_t *len;
	int rc = o->users ? rec_rank_users_read(&in.users, &st->names, o->users, &st->rm) : 0;
	struct rec_topk_skip skip;

	if (rc == 0)
		rc = each_block(st, o, add_users, &in);
	n = in.users.n;
	ni = rec_rank_nitems(&st->rm);
	rec_rank_seal(&in.seen, n);
	skip = (struct rec_topk_skip){ in.seen.off, in.seen.items };
	warn_short(o, k, ni);
	if (k > ni)   /* no list is longer: room for no more */
		k = ni;
	warn_unknown(st, o, &in.users);
	idx = rec_xmalloc((n * k + 1) * sizeof(uint32_t));
	score = rec_xmalloc((n * k + 1) * sizeof(float));
	len = rec_xmalloc((n + 1) * sizeof(size_t));
	if (rc == 0) {   /* lists over part of the input would mislead */
		rec_rank_top(&st->rm, idx, score, len, &in.users, k, o->keep_seen ? NULL : &skip);
		put_lists(st, in.users.id, n, idx, score, len, k);
	}
	free(idx);
	free(score);
	free(len);
	rec_rank_users_free(&in.users);
	rec_rank_pairs_free(&in.seen);
	return rc;
}

/* ---- similar items ------------------------------------------------------ */

struct similar_input {
	uint32_t *item;           /* catalogue indices, first sight order */
	size_t n, cap;
	unsigned char *taken;     /* per catalogue item (ncf's grows) */
	size_t cap_taken;
	size_t missing;           /* records whose item is not in the catalogue */
};

/* Whether catalogue item i is a query already (ncf's catalogue grows). */
static int taken(struct similar_input *in, size_t i)
{
	size_t had = in->cap_taken;

	rec_xgrow(&in->taken, &in->cap_taken, i + 1, 1);
	memset(in->taken + had, 0, in->cap_taken - had);
	return in->taken[i];
}

static void take_item(struct similar_input *in, size_t i)
{
	taken(in, i);
	in->taken[i] = 1;
	rec_xgrow(&in->item, &in->cap, in->n + 1, sizeof(uint32_t));
	in->item[in->n++] = (uint32_t)i;
}

static int add_items(struct rank_state *st, const struct rec_block *b, void *arg)
{
	struct similar_input *in = arg;

	for (size_t r = 0; r < b->n; r++) {
		long i = rec_rank_record_item(&st->rm, b, r, REC_RANK_NEW_ITEMS);
		const struct rec_col *c = &b->col[st->rm.item_field];
		if (i < 0) {
			in->missing += c->off[r + 1] > c->off[r];
			continue;
		}
		if (!taken(in, (size_t)i))
			take_item(in, (size_t)i);
	}
	return 0;
}

/* The query items' directions and IDs, and each one's skip list: itself. */
static float *queries(const struct rec_rank_model *rm, const struct similar_input *in, const float *It,
		      size_t d, uint64_t *qid, size_t *off)
{
	float *Q = rec_xmalloc((in->n * d + 1) * sizeof(float));

	for (size_t q = 0; q < in->n; q++) {
		memcpy(Q + q * d, It + (size_t)in->item[q] * d, d * sizeof(float));
		qid[q] = rec_rank_item_id(rm, in->item[q]);
		off[q] = q;
	}
	off[in->n] = in->n;
	return Q;
}

/* sasrec: the items of the input's sequences. */
static int add_seq_items(struct rank_state *st, const struct rank_opts *o, struct similar_input *in)
{
	int rc = read_seqs(st, o);

	for (size_t j = 0; rc == 0 && j < st->seqs.off[st->seqs.n]; j++) {
		long i = (long)rec_sasrec_find(st->sas, st->seqs.id[j]) - 1;
		if (i < 0)
			in->missing++;
		else if (!taken(in, (size_t)i))
			take_item(in, (size_t)i);
	}
	return rc;
}

static int run_similar(struct rank_state *st, const struct rank_opts *o)
{
	struct similar_input in = { 0 };
	size_t k = o->k, *len, *off, ni, d;
	float *It, *Q, *score;
	uint64_t *qid;
	uint32_t *idx;
	int rc = 0;

	if (o->all_items)
		for (size_t i = 0; i < rec_rank_nitems(&st->rm); i++)
			take_item(&in, i);
	else if (st->sas)
		rc = add_seq_items(st, o, &in);
	else
		rc = each_block(st, o, add_items, &in);
	if (in.missing && o->verbosity >= 2)
		rec_warn("%zu %s items the model never saw: no neighbours for them", in.missing,
			 st->sas ? "history entries are" : "records name");
	ni = rec_rank_nitems(&st->rm);
	It = rec_rank_item_directions(&st->rm, &d);
	warn_short(o, k, ni ? ni - 1 : 0);
	if (k > ni)
		k = ni;
	qid = rec_xmalloc((in.n + 1) * sizeof(uint64_t));
	off = rec_xmalloc((in.n + 1) * sizeof(size_t));
	Q = queries(&st->rm, &in, It, d, qid, off);
	idx = rec_xmalloc((in.n * k + 1) * sizeof(uint32_t));
	score = rec_xmalloc((in.n * k + 1) * sizeof(float));
	len = rec_xmalloc((in.n + 1) * sizeof(size_t));
	rec_topk_dot(idx, score, len, Q, in.n, It, ni, d, k, &(struct rec_topk_skip){ off, in.item });
	if (rc == 0)
		put_lists(st, qid, in.n, idx, score, len, k);
	free(It);
	free(Q);
	free(qid);
	free(off);
	free(idx);
	free(score);
	free(len);
	free(in.item);
	free(in.taken);
	return rc;
}

/* ---- re-ranking candidates -------------------------------------------------- */

struct candidate {
	uint32_t user;            /* in order of first sight */
	uint64_t seq, item;       /* input order, the item field's ID */
	float score;
};

struct rerank_input {
	struct candidate *c;
	size_t n, cap;
	uint64_t *uid;            /* users, first sight order */
	size_t nu, cap_u;
	uint32_t *slot;
	size_t slot_cap;
	int ufield, ifield;
	float *p, *vec;           /* scratch */
	size_t cap_p;
};

/* The index of user id, added at first sight. */
static uint32_t user_index(struct rerank_input *in, uint64_t id)
{
	size_t h, mask = in->slot_cap - 1;

	if (2 * (in->nu + 1) > in->slot_cap) {
		free(in->slot);
		in->slot_cap = in->slot_cap ? 2 * in->slot_cap : 1024;
		in->slot = rec_xcalloc(in->slot_cap, sizeof(uint32_t));
		mask = in->slot_cap - 1;
		for (size_t u = 0; u < in->nu; u++) {
			for (h = (in->uid[u] * UINT64_C(0x9e3779b97f4a7c15)) >> 20 & mask; in->slot[h]; h = (h + 1) & mask)
				;
			in->slot[h] = (uint32_t)(u + 1);
		}
	}
	for (h = (id * UINT64_C(0x9e3779b97f4a7c15)) >> 20 & mask; in->slot[h]; h = (h + 1) & mask)
		if (in->uid[in->slot[h] - 1] == id)
			return in->slot[h] - 1;
	rec_xgrow(&in->uid, &in->cap_u, in->nu + 1, sizeof(uint64_t));
	in->uid[in->nu] = id;
	in->slot[h] = (uint32_t)(in->nu + 1);
	return (uint32_t)in->nu++;
}

/* lightfm: the raw score p_u . q_i + b_i, the item from the record's own
 * features (cold start); other kinds: their probability. */
static void score_block(struct rank_state *st, struct rerank_input *in, const struct rec_block *b)
{
	rec_xgrow(&in->p, &in->cap_p, b->n + 1, sizeof(float));
	if (!st->m) {
		rec_ctr_predict_block(st->c, b, in->p);
		return;
	}
	for (size_t r = 0; r < b->n; r++) {
		size_t k = st->m->o.k;
		float *u = in->vec, *q = in->vec + k + 1, s;
		rec_lightfm_user(st->m, b, r, u);
		rec_lightfm_record_item(st->m, b, r, q);
		s = q[k];
		for (size_t d = 0; d < k; d++)
			s += u[d] * q[d];
		in->p[r] = s;
	}
}

static int add_candidates(struct rank_state *st, const struct rec_block *b, void *arg)
{
	struct rerank_input *in = arg;

	score_block(st, in, b);
	for (size_t r = 0; r < b->n; r++) {
		const struct rec_col *u = &b->col[in->ufield], *i = &b->col[in->ifield];
		if (u->off[r + 1] == u->off[r] || i->off[r + 1] == i->off[r])
			continue;   /* no user or no item: nothing to rank */
		rec_xgrow(&in->c, &in->cap, in->n + 1, sizeof(struct candidate));
		in->c[in->n] = (struct candidate){ .user = user_index(in, u->id[u->off[r]]), .seq = in->n,
						   .item = i->id[i->off[r]], .score = in->p[r] };
		in->n++;
	}
	return 0;
}

static int by_user_score(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->user != y->user)
		return x->user < y->user ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int rerank_fields(const struct rec_ctr *c, struct rerank_input *in)
{
	const char *uf = c->lfm ? c->lfm->o.user_field : c->net ? c->net->o.user_field : NULL;
	const char *itf = c->lfm ? c->lfm->o.item_field : c->net ? c->net->o.item_field : NULL;

	if (!uf || (!c->lfm && c->net->o.kind != REC_NCF))
		return rec_error("--rerank needs a lightfm or ncf model, not %s", rec_ctr_kind(c));
	in->ufield = rec_schema_find(rec_ctr_schema(c), uf);
	in->ifield = rec_schema_find(rec_ctr_schema(c), itf);
	return 0;
}

static int run_rerank(struct rank_state *st, const struct rank_opts *o)
{
	struct rerank_input in = { 0 };
	size_t first = 0;
	int rc;

	if (rerank_fields(st->c, &in) < 0)
		return -1;
	in.vec = rec_xmalloc(2 * (st->m ? st->m->o.k + 1 : 1) * sizeof(float));
	rc = each_block(st, o, add_candidates, &in);
	qsort(in.c, in.n, sizeof(*in.c), by_user_score);
	for (size_t j = 0; rc == 0 && j < in.n; j++) {
		if (j && in.c[j].user != in.c[j - 1].user)
			first = j;
		if (!o->set_k || j - first < o->k)
			put_line(st, in.uid[in.c[j].user], in.c[j].item, j - first + 1, in.c[j].score);
	}
	free(in.c);
	free(in.uid);
	free(in.slot);
	free(in.p);
	free(in.vec);
	return rc;
}

/* ---- sasrec: users are sequences ------------------------------------------ */

/* User q's line: its key, the item (name: as given, else put_id), rank, score;
 * in a stream the key is the record's group key. */
static void put_key_line(struct rank_state *st, const struct rec_seqrank_users *u, size_t q, uint64_t item,
			 const char *name, size_t nlen, size_t rank, float score)
{
	size_t klen;
	const char *key = rec_seqrank_key(u, q, &klen);

	if (st->w) {
		struct rec_block *blk = rec_writer_block(st->w);
		rec_block_add_id(blk, 0, item, 1);
		rec_block_add_num(blk, 1, (float)rank);
		rec_block_add_num(blk, 2, score);
		if (rec_writer_end_record(st->w, score, 1, key, klen) < 0)
			st->werr = 1;
		return;
	}
	fwrite(key, 1, klen, st->out.fp);
	fputc('\t', st->out.fp);
	if (name)
		fwrite(name, 1, nlen, st->out.fp);
	else
		put_id(st->out.fp, &st->names, item);
	fprintf(st->out.fp, "\t%zu\t%.6g\n", rank, score);
}

static void warn_empty(const struct rank_opts *o, size_t empty, size_t n)
{
	if (empty && o->verbosity >= 2)
		rec_warn("%zu of %zu users have no item the model knows: their lists are the model's "
			 "for an empty history (the last position's embedding alone)", empty, n);
}

static int run_seq_top(struct rank_state *st, const struct rank_opts *o)
{
	struct rec_seqrank_users u = { 0 };
	size_t k = o->k, ni = rec_rank_nitems(&st->rm), *len = NULL, empty;
	uint32_t *idx = NULL;
	float *score = NULL;
	int rc = read_seqs(st, o);

	if (rc == 0 && o->users)
		rc = rec_seqrank_users_read(&u, o->users, &st->seqs);
	else if (rc == 0)
		rec_seqrank_users_all(&u, &st->seqs);
	if (rc == 0) {   /* lists over part of the input would mislead */
		warn_short(o, k, ni);
		k = k < ni ? k : ni;   /* no list is longer: room for no more */
		idx = rec_xmalloc((u.n * k + 1) * sizeof(uint32_t));
		score = rec_xmalloc((u.n * k + 1) * sizeof(float));
		len = rec_xmalloc((u.n + 1) * sizeof(size_t));
		empty = rec_seqrank_top(st->sas, &st->seqs, &u, k, o->keep_seen, idx, score, len);
		warn_empty(o, empty, u.n);
		for (size_t q = 0; q < u.n; q++)
			for (size_t r = 0; r < len[q]; r++)
				put_key_line(st, &u, q, rec_rank_item_id(&st->rm, idx[q * k + r]), NULL, 0, r + 1,
					     score[q * k + r]);
	}
	free(idx);
	free(score);
	free(len);
	rec_seqrank_users_free(&u);
	return rc;
}

/* Each user's candidates of --candidates by score, as given. */
static void put_ranked(struct rank_state *st, const struct rank_opts *o, const struct rec_seqrank_users *u,
		       const struct rec_seqrank_cands *c, const uint32_t *order, size_t n)
{
	size_t first = 0;

	for (size_t j = 0; j < n; j++) {
		uint32_t a = order[j];
		if (j && c->user[a] != c->user[order[j - 1]])
			first = j;
		if (!o->set_k || j - first < o->k)
			put_key_line(st, u, c->user[a], c->id[a], c->istr + c->ioff[a], c->ioff[a + 1] - c->ioff[a],
				     j - first + 1, c->score[a]);
	}
}

static int run_seq_rerank(struct rank_state *st, const struct rank_opts *o)
{
	struct rec_seqrank_users u = { 0 };
	struct rec_seqrank_cands c = { 0 };
	uint32_t *order = NULL;
	int rc = read_seqs(st, o);

	if (rc == 0)
		rc = rec_seqrank_cands_read(&c, &u, o->candidates, st->sas, &st->seqs);
	if (rc == 0) {
		warn_empty(o, rec_seqrank_score(st->sas, &st->seqs, &u, &c), u.n);
		if (c.unknown && o->verbosity >= 2)
			rec_warn("%zu candidates name items the model has no row for: left out of the lists",
				 c.unknown);
		order = rec_xmalloc((c.n + 1) * sizeof(uint32_t));
		put_ranked(st, o, &u, &c, order, rec_seqrank_order(&c, order));
	}
	free(order);
	rec_seqrank_cands_free(&c);
	rec_seqrank_users_free(&u);
	return rc;
}

/* ---- main ---------------------------------------------------------------- */

/* The output stream's schema: the model's seed and ID bits, its user and
 * item fields (for --similar, the item and a "similar" one), so that the
 * IDs are those the model's fields hash to. */
static int open_stream(struct rank_state *st, const struct rank_opts *o)
{
	const struct rec_schema *ms = st->sas ? st->sas->schema : rec_ctr_schema(st->c);
	const char *uf = st->rm.lfm ? st->rm.lfm->o.user_field : st->rm.ncf ? st->rm.ncf->o.user_field : NULL;
	const char *itf = st->rm.lfm ? st->rm.lfm->o.item_field : st->rm.ncf ? st->rm.ncf->o.item_field : NULL;
	int keyed = st->sas && o->mode != MODE_SIMILAR;   /* sasrec users: group keys */

	if (st->sas)
		itf = st->sas->o.item_field;
	else if (!uf)
		return rec_error("--rerank needs a lightfm or ncf model, not %s", rec_ctr_kind(st->c));
	st->os = rec_schema_new(REC_HASHED | (keyed ? REC_HAS_GROUP : 0));
	st->os->seed = ms->seed;
	st->os->id_bits = ms->id_bits;
	if (!keyed)
		rec_schema_add(st->os, o->mode == MODE_SIMILAR ? itf : uf, REC_CATEGORICAL, 0);
	rec_schema_add(st->os, o->mode == MODE_SIMILAR ? "similar" : itf, REC_CATEGORICAL, 0);
	rec_schema_add(st->os, "rank", REC_NUMERIC, 0);
	rec_schema_add(st->os, "score", REC_NUMERIC, 0);
	rec_schema_set_meta(st->os, "made_by", "rec-rank");
	st->w = rec_writer_new(st->out.fp, rec_out_name(&st->out), st->os, NULL);
	return st->w ? 0 : -1;
}

/* The model: a sasrec one, or one behind rec_ctr. */
static int load_model(struct rank_state *st, const char *path)
{
	struct rec_model *mf = rec_model_open_lazy(path);
	const char *kind = mf ? rec_kv_get(&mf->manifest, "model.kind") : NULL;

	if (kind && strcmp(kind, "sasrec") == 0) {
		if ((st->sas = rec_sasrec_load_model(mf))) {
			st->sas->o.threads = 1;   /* as rec-rank's OpenBLAS */
			rec_rank_model_init_sasrec(&st->rm, st->sas);
		}
	} else if (mf) {
		st->c = rec_ctr_from_model(mf);
	}
	rec_model_close(mf);
	return st->c || st->sas ? 0 : -1;
}

/* Whether the model ranks as the options ask; rankable gets whether
 * it has users and items to pair. */
static int check_model(struct rank_state *st, const struct rank_opts *o, int *rankable)
{
	if (st->sas) {
		*rankable = 1;
		if (o->mode == MODE_RERANK && !o->candidates)
			return rec_error("'%s' is a sasrec model: --rerank takes the candidates from "
					 "--candidates <file> ('user<TAB>item' lines), the input gives the "
					 "histories", o->model);
		return 0;
	}
	if (o->candidates)
		return rec_error("--candidates needs a sasrec model, not %s: the candidates are the "
				 "input's records", rec_ctr_kind(st->c));
	st->m = st->c->lfm;
	*rankable = st->m || (st->c->net && st->c->net->o.kind == REC_NCF);
	if ((o->mode != MODE_RERANK || *rankable) &&
	    rec_rank_model_init(&st->rm, st->c, o->mode == MODE_SIMILAR ? "--similar" : "top-K lists") < 0)
		return -1;
	if (o->all_items && st->rm.ncf)
		return rec_error("'%s' is an ncf model, which keeps no catalogue: --similar takes the "
				 "items of the input instead of --all-items", o->model);
	return 0;
}

static int open_all(struct rank_state *st, const struct rank_opts *o)
{
	int rankable = 0;

	if (load_model(st, o->model) < 0 || check_model(st, o, &rankable) < 0)
		return -1;
	if (o->names && rankable && rec_rank_names_read(&st->names, o->names, &st->rm) < 0)
		return -1;
	if (rec_out_open(&st->out, o->output, o->stream, o->force) < 0)
		return -1;
	return o->stream ? open_stream(st, o) : 0;
}

static int run_rank(const struct rank_opts *o)
{
	struct rank_state st = { 0 };
	int rc = open_all(&st, o);

	if (rc == 0 && st.sas && o->mode != MODE_SIMILAR)
		rc = o->mode == MODE_TOP ? run_seq_top(&st, o) : run_seq_rerank(&st, o);
	else if (rc == 0 && o->mode == MODE_TOP)
		rc = run_top(&st, o);
	else if (rc == 0 && o->mode == MODE_SIMILAR)
		rc = run_similar(&st, o);
	else if (rc == 0)
		rc = run_rerank(&st, o);
	if (st.w && rc == 0 && (st.werr || rec_writer_finish(st.w) < 0))
		rc = -1;
	rec_writer_free(st.w);
	rec_schema_free(st.os);
	if (st.out.fp) {
		if (rc == 0)
			rc = rec_out_commit(&st.out);
		else
			rec_out_abort(&st.out);
	}
	rec_rank_names_free(&st.names);
	rec_rank_model_free(&st.rm);
	rec_ctr_free(st.c);
	rec_seqs_free(&st.seqs);
	rec_sasrec_free(st.sas);
	return rc == 0 ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}

int main(int argc, char **argv)
{
	struct rank_opts o = { .k = 10, .verbosity = 2 };

	rec_setprogname(argv[0]);
	parse_args(&o, argc, argv);
	rec_blas_threads(1);
	rec_io_quiet_epipe();
	return run_rank(&o);
}
