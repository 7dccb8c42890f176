/* sasrec.h - SASRec: a decoder-only transformer over item-ID sequences.
 *
 * Items are a dense vocabulary (index 0 is padding and never used: a batch
 * packs only real positions). Row i of a sequence of t inputs reads
 *   x = E[item_i] + P[max_len - t + i]
 * (positions are right-aligned, so the latest item always has the last
 * one), then each of the blocks does, pre-LayerNorm,
 *   x += drop(W_o attn(LN_1(x)) + b_o)         causal, heads share dim
 *   x += drop(W_2 act(W_1 LN_2(x) + b_1) + b_2)  act: ReLU or GELU
 * and h = LN_f(x) scores item j as h . E[j] (the output is tied to the
 * item table). The input embeddings are dropped out too. Losses, each a
 * mean over the rows that have a target: binary cross-entropy of the
 * target against sampled negatives (as SASRec), full softmax
 * cross-entropy over all items, or softmax over the target and the
 * sampled negatives (uniform over the items the sequence does not hold,
 * as SASRec draws them). Adam on everything but a frozen part.
 *
 * Kernels take outputs, inputs, parameters, sizes; backward ones add to
 * their gradients (+=). Each cblas path has a plain-loop _ref beside it. */
#ifndef REC_SASREC_H
#define REC_SASREC_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "stream.h"

/* ---- kernels ------------------------------------------------------------- */

/* out = (x - mean) * rstd * g + b per row.   x, out (N,C)   mean, rstd (N) */
void rec_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *g,
			   const float *b, size_t N, size_t C);
void rec_layernorm_backward(float *dx, float *dg, float *db, const float *dout, const float *x,
			    const float *mean, const float *rstd, const float *g, size_t N, size_t C);

/* y = x W^T + b.   x (N,C)   W (OC,C)   b (OC)   y (N,OC) */
void rec_linear_forward(float *y, const float *x, const float *W, const float *b, size_t N, size_t C,
			size_t OC);
void rec_linear_forward_ref(float *y, const float *x, const float *W, const float *b, size_t N,
			    size_t C, size_t OC);
/* dx += dy W (dx may be NULL);  dW += dy^T x;  db += colsum(dy). */
void rec_linear_backward(float *dx, float *dW, float *db, const float *dy, const float *x,
			 const float *W, size_t N, size_t C, size_t OC);
void rec_linear_backward_ref(float *dx, float *dW, float *db, const float *dy, const float *x,
			     const float *W, size_t N, size_t C, size_t OC);

enum rec_act { REC_ACT_RELU = 0, REC_ACT_GELU = 1 };
/* y = act(x) elementwise (GELU: the tanh form; y may be x); dx = dy
 * act'(x) (dx may be dy). */
void rec_act_forward(float *y, const float *x, size_t n, int act);
void rec_act_backward(float *dx, const float *dy, const float *x, size_t n, int act);

/* Causal multi-head self-attention over packed sequences: sequence s owns
 * rows off[s] .. off[s+1]-1, t = off[s+1] - off[s] of them, at most T.
 * qkv (N,3C): q, k, v of each row, heads side by side in each   out (N,C)
 * P: per sequence s and head h the probabilities, t rows of ld =
 * rec_attention_ld(T) floats at poff[s] + h t ld (zero above the diagonal
 * as far as the products read: to the end of the row's block of ATT_BLK
 * rows, the rest left unwritten). scratch: rec_attention_scratch(T, C, H)
 * floats for each of the threads, which share the sequences. */
size_t rec_attention_ld(size_t T);
size_t rec_attention_scratch(size_t T, size_t C, size_t H);
void rec_attention_forward(float *out, float *P, float *scratch, const float *qkv, const uint32_t *off,
			   const size_t *poff, size_t nseq, size_t C, size_t H, size_t T, size_t threads);
void rec_attention_forward_ref(float *out, float *P, const float *qkv, const uint32_t *off,
			       const size_t *poff, size_t nseq, size_t C, size_t H, size_t T);
/* The output of each sequence's last row only: out (nseq,C); scratch: T
 * floats for each of the threads. */
void rec_attention_last_forward(float *out, float *scratch, const float *qkv, const uint32_t *off,
				size_t nseq, size_t C, size_t H, size_t T, size_t threads);
/* The same over q, k and v in separate places: row r's are at q + r ldq,
 * k + r ldk, v + r ldv (heads side by side in each); out (N,C). */
struct rec_attn_in {
	const float *q, *k, *v;
	size_t ldq, ldk, ldv;
};
void rec_attention_forward_sep(float *out, float *P, float *scratch, const struct rec_attn_in *in,
			       const uint32_t *off, const size_t *poff, size_t nseq, size_t C, size_t H,
			       size_t T, size_t threads);
/* dqkv += the gradient from dout. */
void rec_attention_backward(float *dqkv, float *scratch, const float *dout, const float *qkv,
			    const float *P, const uint32_t *off, const size_t *poff, size_t nseq,
			    size_t C, size_t H, size_t T, size_t threads);
/* dq, dk, dv (the strides of q, k, v) += the gradient from dout. */
struct rec_attn_grad {
	float *dq, *dk, *dv;
};
void rec_attention_backward_sep(const struct rec_attn_grad *g, float *scratch, const float *dout,
				const struct rec_attn_in *in, const float *P, const uint32_t *off,
				const size_t *poff, size_t nseq, size_t C, size_t H, size_t T, size_t threads);
void rec_attention_backward_ref(float *dqkv, const float *dout, const float *qkv, const float *P,
				const uint32_t *off, const size_t *poff, size_t nseq, size_t C,
				size_t H, size_t T);

/* ---- sequences ------------------------------------------------------------ */

/* The item sequences of a stream (one record per user, rec-cross
 * --group-by): hashed IDs, oldest first, and each record's group key. */
struct rec_seqs {
	size_t n;
	uint32_t *off;          /* n + 1: sequence s is id[off[s]] .. id[off[s+1]-1] */
	uint64_t *id;
	uint32_t *goff;         /* n + 1 offsets into gstr ("" without group keys) */
	char *gstr;
	size_t cap_n, cap_id, cap_g;
};

/* Appends the sequences of a hashed stream's sequence field item_field;
 * schema (when not NULL) gets a copy of the stream's schema if it has
 * none yet, and each later stream must match it. -1 after a message. */
int rec_seqs_read(struct rec_seqs *s, const char *path, const char *item_field,
		  struct rec_schema **schema);
void rec_seqs_free(struct rec_seqs *s);
/* The length of the longest sequence (at least 1): a bound for per-sequence scratch. */
size_t rec_seqs_longest(const struct rec_seqs *s);

/* ---- the model ------------------------------------------------------------ */

enum rec_sasrec_loss { REC_SASREC_BCE = 0, REC_SASREC_SOFTMAX = 1, REC_SASREC_SAMPLED = 2 };

struct rec_sasrec_opts {
	unsigned dim;           /* --dim (64) */
	unsigned heads;         /* --heads (2); must divide dim */
	unsigned blocks;        /* --blocks (2) */
	unsigned max_len;       /* --max-len: inputs of a sequence at most (50) */
	unsigned ffn;           /* feed-forward width (0: dim, as SASRec) */
	int act;                /* enum rec_act (ReLU) */
	float dropout;          /* --dropout (0.2) */
	int loss;               /* enum rec_sasrec_loss (bce) */
	unsigned negatives;     /* --negatives per target (bce 1, sampled-softmax 100) */
	size_t batch;           /* --batch: sequences per step (128) */
	float lr;               /* --lr, Adam (0.001) */
	uint64_t seed;          /* --seed: weights, dropout, negatives, order */
	unsigned threads;       /* --threads (1) */
	char item_field[64];    /* --item-field (item) */
	int freeze;             /* --freeze: REC_SASREC_FREEZE_* Adam leaves alone */
};
/* embeddings: the item and position tables; dense: blocks and final LN */
enum { REC_SASREC_FREEZE_EMBED = 1, REC_SASREC_FREEZE_DENSE = 2 };
#define REC_SASREC_OPTS_INIT { .dim = 64, .heads = 2, .blocks = 2, .max_len = 50, .dropout = 0.2f, \
			       .loss = REC_SASREC_BCE, .negatives = 1, .batch = 128, .lr = 0.001f, .threads = 1,      \
			       .item_field = "item" }

/* Where one block's parameters sit in the flat parameter array. */
struct rec_sasrec_block {
	size_t ln1_g, ln1_b, qkv_w, qkv_b, o_w, o_b, ln2_g, ln2_b, up_w, up_b, down_w, down_b;
};

/* One named tensor of the model file: rows x cols floats at off. */
struct rec_sasrec_tensor {
	char name[40];
	size_t off, rows, cols;
};

/* A batch of packed sequences: rows off[s] .. off[s+1]-1 are sequence s's
 * inputs, each with its item, position and target (0: no loss there).
 * hist[hoff[s]] .. hist[hoff[s+1]-1]: every item of a sequence added with
 * targets, the ones before the max_len window too (negatives avoid them). */
struct rec_sasrec_batch {
	size_t nseq, nrow;
	uint32_t *off, *item, *pos, *target;
	uint32_t *hoff, *hist;
	size_t cap_seq, cap_row, cap_hist;
};

struct rec_sasrec_work;

struct rec_sasrec {
	struct rec_sasrec_opts o;
	struct rec_schema *schema;
	size_t nitems;          /* vocabulary rows, padding included */
	uint64_t *item_id;      /* nitems: the hashed ID of each row (0 for padding) */
	uint32_t *slot;         /* open addressing: ID -> row, 0 = empty */
	size_t slot_cap;
	size_t tok, pos, lnf_g, lnf_b;  /* E (nitems,dim), P (max_len,dim), final LN */
	struct rec_sasrec_block *blk;
	struct rec_sasrec_tensor *tensor;
	size_t ntensor;
	float *param, *grad, *m, *v;    /* one layout, so Adam is one loop */
	size_t nparam;
	uint64_t steps;         /* Adam steps; with the seed, keys dropout and negatives */
	uint64_t trained;       /* targets trained on */
	size_t pass_rows;       /* rows a forward and backward pass takes at most, in whole
				 * sequences (0: the whole batch); see rec_sasrec_loss */
	struct rec_sasrec_work *w;      /* thread 0's workspace */
	struct rec_sasrec_work **team;  /* each thread's (team[0] is w), made on first use */
	size_t nteam;
	float *group_grad;              /* the gradients of pass groups 1, 2, ... */
};

const char *rec_sasrec_loss_name(int loss);
int rec_sasrec_loss_parse(const char *name);

/* A model over the vocabulary ids (n hashed item IDs, distinct); NULL
 * after a message on bad options. */
struct rec_sasrec *rec_sasrec_new(const struct rec_schema *s, const struct rec_sasrec_opts *o,
				  const uint64_t *ids, size_t n);
void rec_sasrec_free(struct rec_sasrec *m);
/* Parameters of the model; without the item and position embeddings with
 * non_embedding set (the N of scaling laws, Kaplan et al. 2020). */
size_t rec_sasrec_params(const struct rec_sasrec *m, int non_embedding);
/* The row of a hashed item ID, 0 when it is not in the vocabulary. */
uint32_t rec_sasrec_find(const struct rec_sasrec *m, uint64_t id);

/* The distinct item IDs of the sequences in order of first sight (a
 * vocabulary for rec_sasrec_new); *n gets their count. */
uint64_t *rec_sasrec_vocabulary(const struct rec_seqs *s, size_t *n);

void rec_sasrec_batch_clear(struct rec_sasrec_batch *b);
/* Adds a sequence of rows (unknown items skipped) whose last max_len
 * items are the inputs; with targets, item i + 1 is the target of input
 * i and the last item is only a target. Returns the inputs added. */
size_t rec_sasrec_batch_add(struct rec_sasrec_batch *b, const struct rec_sasrec *m, const uint32_t *rows,
			    size_t n, int targets);
void rec_sasrec_batch_free(struct rec_sasrec_batch *b);

/* Forward pass, mean loss of the batch's targets and, with grad, the
 * gradients into m->grad (zeroed first). train turns dropout on; the masks
 * and the negatives depend on the seed, m->steps and the row's place in
 * the batch only, so repeated calls see the same ones (gradient checks).
 * The batch goes through in passes of at most m->pass_rows rows, whose
 * activations stay in the cache; the gradients add up to the batch's.
 * Threads share the passes, and the sums are the same for any number. */
double rec_sasrec_loss(struct rec_sasrec *m, const struct rec_sasrec_batch *b, int train, int grad);
/* One step: loss, gradients, Adam. Returns the mean loss. */
double rec_sasrec_step(struct rec_sasrec *m, const struct rec_sasrec_batch *b);
/* The final hidden state of each sequence's last row (b->nseq x dim), no
 * dropout: score item j as its dot product with row j of the item table. */
void rec_sasrec_encode(struct rec_sasrec *m, const struct rec_sasrec_batch *b, float *h);
/* The item table (nitems x dim). */
const float *rec_sasrec_items(const struct rec_sasrec *m);
/* The candidates of the last sampled loss (bce, sampled-softmax): per row
 * of the batch its target, then its negatives (nrow x (negatives + 1)).
 * Only of a batch that went through in one pass (m->pass_rows). */
const uint32_t *rec_sasrec_candidates(const struct rec_sasrec *m);

/* ---- leave-one-out, training, evaluation (sasrec_train.c) ----------------- */

/* Leave-one-out: of a sequence of n items the last is the test target, the
 * one before it the validation target, the rest training; a sequence of
 * fewer than 3 items is all training and never evaluated. */
enum rec_seq_split { REC_SPLIT_TRAIN = 0, REC_SPLIT_VALID = 1, REC_SPLIT_TEST = 2 };

/* Sequence i's items as vocabulary rows, unknown ones left out; returns
 * how many (rows needs room for the whole sequence). */
size_t rec_sasrec_rows(const struct rec_sasrec *m, const struct rec_seqs *s, size_t i, uint32_t *rows);

/* One epoch over the training part of every sequence, in an order
 * shuffled by (seed, epoch); returns the mean loss of its steps. */
double rec_sasrec_train_epoch(struct rec_sasrec *m, const struct rec_seqs *s, size_t epoch);

/* What rec-eval measures: each evaluated user's target ranked against all
 * items (seen ones left out unless keep_seen) and against `sampled`
 * negatives drawn from the items the user has not had. */
struct rec_seqeval_opts {
	int split;              /* REC_SPLIT_TEST or REC_SPLIT_VALID */
	size_t k;               /* HR@k, NDCG@k (10) */
	int keep_seen;          /* rank the history's items too */
	size_t sampled;         /* negatives of the sampled ranking (100; 0: none) */
	uint64_t seed;          /* their draw */
};
#define REC_SEQEVAL_OPTS_INIT { .split = REC_SPLIT_TEST, .k = 10, .sampled = 100 }

struct rec_seqeval_user {
	size_t seq;             /* index in the rec_seqs */
	uint32_t history;       /* items before the target */
	uint32_t rank;          /* 1-based, among all items */
	uint32_t candidates;    /* items it was ranked among, itself included */
	uint32_t srank;         /* 1-based, among the target and the sampled negatives */
	uint32_t scandidates;
	float ce;               /* -log softmax probability of the target over all items */
};

#define REC_SEQEVAL_SLICES 5
struct rec_seqeval_metrics {
	size_t users;
	double hr, ndcg, mrr;
};

struct rec_seqeval {
	struct rec_seqeval_user *u;
	size_t n, skipped;      /* evaluated; with a target or history unknown to the model */
	struct rec_seqeval_metrics all, sampled;
	double ce;
	struct rec_seqeval_metrics slice[REC_SEQEVAL_SLICES];  /* by history length */
};

/* Lower bounds of the history-length slices: 1-4, 5-9, 10-19, 20-49, 50+. */
extern const unsigned rec_seqeval_slice_lo[REC_SEQEVAL_SLICES];

void rec_seqeval_run(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqeval_opts *o,
		     struct rec_seqeval *r);
void rec_seqeval_free(struct rec_seqeval *r);

/* Model files (sasrecio.c): keys model.*, tensors items.ids, the weights
 * and adam, described in rec-model(5). */
int rec_sasrec_save(const struct rec_sasrec *m, const char *path, const struct rec_kv *extra);
struct rec_sasrec *rec_sasrec_load_model(const struct rec_model *mf);
/* The same file with best (m->nparam floats: the weights of the best
 * epoch so far, for early stopping) as sasrec.best when not NULL; and
 * that tensor back. */
int rec_sasrec_save_checkpoint(const struct rec_sasrec *m, const char *path, const struct rec_kv *extra,
			       const float *best);
int rec_sasrec_load_best(const struct rec_sasrec *m, const struct rec_model *mf, float *best);

/* ---- fine-tuning (sasrec_tune.c) ------------------------------------------ */

/* A model with pre's architecture (dim, heads, blocks, max_len, ffn,
 * activation, item field) and weights, the training settings of o, a
 * fresh Adam, over pre's items followed by those of ids (n, distinct)
 * that pre lacks, whose rows start as rec_sasrec_new's do; *added gets
 * their count. */
struct rec_sasrec *rec_sasrec_extend(const struct rec_sasrec *pre, const struct rec_sasrec_opts *o,
				     const uint64_t *ids, size_t n, size_t *added);

#endif
