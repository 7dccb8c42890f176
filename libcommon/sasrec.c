/* sasrec.c - the SASRec model: parameters in one allocation, the forward
 * and backward passes over a packed batch (every GEMM over all the rows
 * of a pass of some thousand, see PASS_ROWS), the three losses and Adam. */
#include "config.h"
#include "sasrec.h"
#include "err.h"
#include "rng.h"

#include "blas.h"
#include "mlp.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() ((size_t)omp_get_thread_num())
#else
#define THREAD_ID() ((size_t)0)
#endif

/* Activations one block keeps for its backward pass. */
struct block_acts {
	float *x, *ln1, *m1, *r1, *qkv, *P, *att, *x2, *ln2, *m2, *r2, *h, *ha;
	uint8_t *mask_a, *mask_f;   /* dropout: 1 keeps an element */
};

struct rec_sasrec_work {
	size_t cap_row, cap_p, cap_seq, cap_neg, threads;
	struct block_acts *blk;
	uint8_t *mask_e;                     /* embedding dropout */
	float *xL, *hf, *mf, *rf;            /* last residual, final LN */
	size_t *poff;                        /* per sequence: its attention probabilities */
	float *dx, *dy, *dln, *dqkv, *datt, *dha, *dhf;
	float *scratch;                      /* the attention's, per thread */
	float *logits;                       /* full softmax: LOGIT_ROWS x nitems */
	float *rowloss, *g;                  /* per row; sampled: per candidate */
	uint32_t *cand;                      /* sampled: target + negatives per row */
	uint32_t *mark, *gen;                /* per thread: nitems marks, the generation */
	size_t mark_threads;
	float *fold, *dfold;                 /* one head: per block, and one for the gradient */
	size_t row_base;                     /* the pass's first row in the batch */
	uint32_t *pass_off;                  /* the pass's sequence offsets, from its first row */
	size_t cap_pass_off;
	size_t *pass_seq;                    /* thread 0's: each pass's first sequence */
	double *pass_loss;                   /* thread 0's: each pass's summed loss */
	size_t cap_pass;
};

#define LOGIT_ROWS 128

/* Rows of a forward and backward pass (rec_sasrec_loss). A batch of 128
 * MovieLens-1M sequences has some 13,000 rows, whose activations (about
 * 6 KB a row at dim 50, attention probabilities included) stream from
 * memory; a thousand rows' stay in the cache. Epochs of the paper's
 * setting took 15-25% less time than with whole batches on one thread, and
 * as little on two; 512 and 2,048 were as fast. The same for any number
 * of threads, so that they all train the same model. */
#define PASS_ROWS 1024

/* A batch's passes fall into PASS_GROUPS groups of consecutive passes; a
 * thread takes a group at a time, and each group adds its gradients into
 * a buffer of its own (group 0 into m->grad), summed in group order after:
 * the same floats in the same order for any number of threads. Two: the
 * threads of this project's 2-core machine, and a buffer more per group
 * (the parameters' size) to zero and add once a step. */
#define PASS_GROUPS 2

/* One head's folded attention weights (see fold_weights): a 2d x d matrix
 * and 2d biases. */
#define FOLD_SIZE(d) (2 * (size_t)(d) * (d) + 2 * (size_t)(d))

static const char *const loss_names[] = { "bce", "softmax", "sampled-softmax" };

const char *rec_sasrec_loss_name(int loss)
{
	return loss_names[loss];
}

int rec_sasrec_loss_parse(const char *name)
{
	return REC_NAME_INDEX(loss_names, name);
}

/* ---- vocabulary ----------------------------------------------------------- */

uint32_t rec_sasrec_find(const struct rec_sasrec *m, uint64_t id)
{
	size_t mask = m->slot_cap - 1;

	for (size_t h = rec_mix64(id) & mask; m->slot[h]; h = (h + 1) & mask)
		if (m->item_id[m->slot[h]] == id)
			return m->slot[h];
	return 0;
}

static void index_items(struct rec_sasrec *m)
{
	size_t mask;

	for (m->slot_cap = 16; m->slot_cap < 2 * m->nitems; m->slot_cap *= 2)
		;
	m->slot = rec_xcalloc(m->slot_cap, sizeof(uint32_t));
	mask = m->slot_cap - 1;
	for (size_t r = 1; r < m->nitems; r++) {
		size_t h = rec_mix64(m->item_id[r]) & mask;
		while (m->slot[h])
			h = (h + 1) & mask;
		m->slot[h] = (uint32_t)r;
	}
}

uint64_t *rec_sasrec_vocabulary(const struct rec_seqs *s, size_t *n)
{
	size_t cap = 1024, mask, count = 0, nid = s->n ? s->off[s->n] : 0;
	uint64_t *ids = NULL, *seen = NULL;
	unsigned char *used;
	size_t idcap = 0;

	while (cap < 2 * nid)
		cap *= 2;
	seen = rec_xmalloc(cap * sizeof(uint64_t));
	used = rec_xcalloc(cap, 1);
	mask = cap - 1;
	for (size_t i = 0; i < nid; i++) {
		uint64_t id = s->id[i];
		size_t h = rec_mix64(id) & mask;
		while (used[h] && seen[h] != id)
			h = (h + 1) & mask;
		if (used[h])
			continue;
		used[h] = 1;
		seen[h] = id;
		rec_xgrow(&ids, &idcap, count + 1, sizeof(uint64_t));
		ids[count++] = id;
	}
	free(seen);
	free(used);
	*n = count;
	return ids;
}

/* ---- parameters ----------------------------------------------------------- */

static size_t add_tensor(struct rec_sasrec *m, size_t *off, const char *name, size_t rows, size_t cols)
{
	struct rec_sasrec_tensor *t = &m->tensor[m->ntensor++];

	snprintf(t->name, sizeof(t->name), "%s", name);
	t->off = *off;
	t->rows = rows;
	t->cols = cols;
	*off += rows * cols;
	return t->off;
}

/* GGUF-style names: token_embd, pos_embd, blk.N.*, output_norm. */
static void lay_out(struct rec_sasrec *m)
{
	size_t d = m->o.dim, f = m->o.ffn, off = 0;
	char n[40];

	m->tensor = rec_xcalloc(4 + 12 * (size_t)m->o.blocks, sizeof(*m->tensor));
	m->blk = rec_xcalloc(m->o.blocks + 1, sizeof(*m->blk));
	m->tok = add_tensor(m, &off, "token_embd.weight", m->nitems, d);
	m->pos = add_tensor(m, &off, "pos_embd.weight", m->o.max_len, d);
	for (unsigned l = 0; l < m->o.blocks; l++) {
		struct rec_sasrec_block *b = &m->blk[l];
#define T(field, suffix, r, c) (snprintf(n, sizeof(n), "blk.%u." suffix, l), b->field = add_tensor(m, &off, n, r, c))
		T(ln1_g, "attn_norm.weight", 1, d);
		T(ln1_b, "attn_norm.bias", 1, d);
		T(qkv_w, "attn_qkv.weight", 3 * d, d);
		T(qkv_b, "attn_qkv.bias", 1, 3 * d);
		T(o_w, "attn_output.weight", d, d);
		T(o_b, "attn_output.bias", 1, d);
		T(ln2_g, "ffn_norm.weight", 1, d);
		T(ln2_b, "ffn_norm.bias", 1, d);
		T(up_w, "ffn_up.weight", f, d);
		T(up_b, "ffn_up.bias", 1, f);
		T(down_w, "ffn_down.weight", d, f);
		T(down_b, "ffn_down.bias", 1, d);
#undef T
	}
	m->lnf_g = add_tensor(m, &off, "output_norm.weight", 1, d);
	m->lnf_b = add_tensor(m, &off, "output_norm.bias", 1, d);
	m->nparam = off;
}

static float uniform(uint64_t *s, float bound)
{
	return bound * (float)(2.0 * (double)(rec_splitmix64(s) >> 11) * 0x1.0p-53 - 1.0);
}

/* Tables and weights uniform in +-1/sqrt(fan-in), biases 0, LN gains 1. */
static void init_params(struct rec_sasrec *m)
{
	uint64_t s = m->o.seed ^ UINT64_C(0x736173726563);

	for (size_t i = 0; i < m->ntensor; i++) {
		const struct rec_sasrec_tensor *t = &m->tensor[i];
		float *p = m->param + t->off;
		const char *suffix = strrchr(t->name, '.');
		int norm = strstr(t->name, "norm") != NULL, bias = strcmp(suffix, ".bias") == 0;
		for (size_t j = 0; j < t->rows * t->cols; j++)
			p[j] = norm ? !bias : bias ? 0 : uniform(&s, 1.0f / sqrtf((float)t->cols));
	}
	memset(m->param + m->tok, 0, m->o.dim * sizeof(float));  /* padding */
}

static int check_opts(const struct rec_sasrec_opts *o)
{
	if (o->dim < 1 || o->heads < 1 || o->dim % o->heads)
		return rec_error("--heads (%u) must divide --dim (%u)", o->heads, o->dim);
	if (o->max_len < 1 || o->blocks > 64 || !(o->dropout >= 0 && o->dropout < 1))
		return rec_error("bad --max-len, --blocks or --dropout");
	if (o->loss != REC_SASREC_SOFTMAX && o->negatives < 1)
		return rec_error("%s needs --negatives of at least 1", rec_sasrec_loss_name(o->loss));
	return 0;
}

static struct rec_sasrec_work *new_work(const struct rec_sasrec *m)
{
	struct rec_sasrec_work *w = rec_xcalloc(1, sizeof(*w));

	w->blk = rec_xcalloc(m->o.blocks + 1, sizeof(struct block_acts));
	w->fold = rec_xcalloc(m->o.blocks + 1, FOLD_SIZE(m->o.dim) * sizeof(float));
	w->dfold = rec_xcalloc(FOLD_SIZE(m->o.dim), sizeof(float));
	return w;
}

struct rec_sasrec *rec_sasrec_new(const struct rec_schema *s, const struct rec_sasrec_opts *o,
				  const uint64_t *ids, size_t n)
{
	struct rec_sasrec *m;

	if (check_opts(o) < 0)
		return NULL;
	if (n < 2) {
		rec_error("sasrec needs at least 2 distinct items, the input has %zu", n);
		return NULL;
	}
	m = rec_xcalloc(1, sizeof(*m));
	m->o = *o;
	if (!m->o.ffn)
		m->o.ffn = m->o.dim;
	if (!m->o.threads)
		m->o.threads = 1;
	m->schema = s ? rec_schema_copy(s) : NULL;
	m->nitems = n + 1;
	m->item_id = rec_xcalloc(m->nitems, sizeof(uint64_t));
	memcpy(m->item_id + 1, ids, n * sizeof(uint64_t));
	index_items(m);
	lay_out(m);
	m->param = rec_xmalloc(m->nparam * sizeof(float));
	m->grad = rec_xcalloc(m->nparam, sizeof(float));
	m->m = rec_xcalloc(m->nparam, sizeof(float));
	m->v = rec_xcalloc(m->nparam, sizeof(float));
	init_params(m);
	m->w = new_work(m);
	m->team = rec_xmalloc(sizeof(*m->team));
	m->team[0] = m->w;
	m->nteam = 1;
	m->pass_rows = PASS_ROWS;
	return m;
}

static void free_work(struct rec_sasrec_work *w, size_t blocks)
{
	if (!w)
		return;
	for (size_t l = 0; l < blocks; l++) {
		struct block_acts *a = &w->blk[l];
		float *p[] = { a->x, a->ln1, a->m1, a->r1, a->qkv, a->P, a->att, a->x2, a->ln2, a->m2,
			       a->r2, a->h, a->ha };
		for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
			free(p[i]);
		free(a->mask_a), free(a->mask_f);
	}
	free(w->blk);
	free(w->mask_e), free(w->xL), free(w->hf), free(w->mf), free(w->rf), free(w->poff);
	free(w->dx), free(w->dy), free(w->dln), free(w->dqkv), free(w->datt), free(w->dha);
	free(w->dhf), free(w->scratch), free(w->logits), free(w->rowloss), free(w->g);
	free(w->cand), free(w->mark), free(w->gen);
	free(w->fold), free(w->dfold), free(w->pass_off), free(w->pass_seq), free(w->pass_loss);
	free(w);
}

void rec_sasrec_free(struct rec_sasrec *m)
{
	if (!m)
		return;
	for (size_t t = 0; t < m->nteam; t++)
		free_work(m->team[t], m->o.blocks);
	free(m->team);
	free(m->group_grad);
	rec_schema_free(m->schema);
	free(m->item_id);
	free(m->slot);
	free(m->blk);
	free(m->tensor);
	free(m->param);
	free(m->grad);
	free(m->m);
	free(m->v);
	free(m);
}

const float *rec_sasrec_items(const struct rec_sasrec *m)
{
	return m->param + m->tok;
}

/* ---- batches -------------------------------------------------------------- */

void rec_sasrec_batch_clear(struct rec_sasrec_batch *b)
{
	b->nseq = b->nrow = 0;
	if (!b->off)
		b->off = rec_xcalloc(1, sizeof(uint32_t));
	if (!b->hoff)
		b->hoff = rec_xcalloc(b->cap_seq ? b->cap_seq : 1, sizeof(uint32_t));
	b->off[0] = b->hoff[0] = 0;
}

/* The whole sequence (n rows; none without targets) as sequence nseq's
 * history. */
static void add_history(struct rec_sasrec_batch *b, const uint32_t *rows, size_t n)
{
	size_t base = b->hoff[b->nseq];

	b->hoff[b->nseq + 1] = (uint32_t)(base + n);
	if (!n)
		return;
	rec_xgrow(&b->hist, &b->cap_hist, base + n, sizeof(uint32_t));
	memcpy(b->hist + base, rows, n * sizeof(uint32_t));
}

size_t rec_sasrec_batch_add(struct rec_sasrec_batch *b, const struct rec_sasrec *m, const uint32_t *rows,
			    size_t n, int targets)
{
	size_t in = targets ? (n ? n - 1 : 0) : n, T = m->o.max_len, t = in < T ? in : T;
	size_t first = in - t, cap;

	if (t == 0)
		return 0;
	if (!b->off)
		rec_sasrec_batch_clear(b);
	cap = b->cap_seq;
	rec_xgrow(&b->off, &cap, b->nseq + 2, sizeof(uint32_t));
	if (cap != b->cap_seq)
		b->hoff = rec_xrealloc(b->hoff, cap * sizeof(uint32_t));
	b->cap_seq = cap;
	add_history(b, rows, targets ? n : 0);
	cap = b->cap_row;
	rec_xgrow(&b->item, &cap, b->nrow + t, sizeof(uint32_t));
	b->pos = rec_xrealloc(b->pos, cap * sizeof(uint32_t));
	b->target = rec_xrealloc(b->target, cap * sizeof(uint32_t));
	b->cap_row = cap;
	for (size_t i = 0; i < t; i++) {
		b->item[b->nrow + i] = rows[first + i];
		b->pos[b->nrow + i] = (uint32_t)(T - t + i);
		b->target[b->nrow + i] = targets ? rows[first + i + 1] : 0;
	}
	b->nrow += t;
	b->off[++b->nseq] = (uint32_t)b->nrow;
	return t;
}

void rec_sasrec_batch_free(struct rec_sasrec_batch *b)
{
	free(b->off);
	free(b->item);
	free(b->pos);
	free(b->target);
	free(b->hoff);
	free(b->hist);
	memset(b, 0, sizeof(*b));
}

/* ---- workspace ------------------------------------------------------------ */

/* Faults in the pages of a fresh buffer in one call: page by page, as a
 * batch's activations (some 100 MB) are first written, the faults were 4%
 * of an epoch on a virtual machine. Only a hint: without it, the same
 * faults later. */
static void *populated(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	const uintptr_t page = 4096;
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + bytes) & ~(page - 1);

	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
	(void)bytes;
#endif
	return p;
}

/* Workspace: what it held need not survive, so no realloc copies it. */
static void grow(float **p, size_t n)
{
	free(*p);
	*p = populated(rec_xmalloc((n ? n : 1) * sizeof(float)), n * sizeof(float));
}

static void grow_mask(uint8_t **p, size_t n)
{
	free(*p);
	*p = populated(rec_xmalloc(n ? n : 1), n);
}

static void reserve_rows(struct rec_sasrec *m, size_t N)
{
	struct rec_sasrec_work *w = m->w;
	size_t d = m->o.dim, f = m->o.ffn, K = m->o.negatives + 1;

	if (N <= w->cap_row)
		return;
	N += N / 4; /* each regrowth populates some 100 MB: few of them */
	w->cap_row = N;
	for (size_t l = 0; l < m->o.blocks; l++) {
		struct block_acts *a = &w->blk[l];
		grow(&a->x, N * d), grow(&a->ln1, N * d), grow(&a->m1, N), grow(&a->r1, N);
		grow(&a->qkv, 3 * N * d), grow(&a->att, N * d), grow(&a->x2, N * d), grow(&a->ln2, N * d);
		grow(&a->m2, N), grow(&a->r2, N), grow(&a->h, N * f), grow(&a->ha, N * f);
		grow_mask(&a->mask_a, N * d), grow_mask(&a->mask_f, N * d);
	}
	grow_mask(&w->mask_e, N * d), grow(&w->xL, N * d), grow(&w->hf, N * d), grow(&w->mf, N);
	grow(&w->rf, N), grow(&w->dx, N * d), grow(&w->dy, N * d), grow(&w->dln, N * d);
	grow(&w->dqkv, 3 * N * d), grow(&w->datt, N * d), grow(&w->dha, N * f);
	grow(&w->dhf, N * d), grow(&w->rowloss, N), grow(&w->g, N * K);
	w->cand = rec_xrealloc(w->cand, N * K * sizeof(uint32_t));
}

/* Attention probabilities: H t rows of rec_attention_ld(T) per sequence. */
static void reserve_seqs(struct rec_sasrec *m, const struct rec_sasrec_batch *b)
{
	struct rec_sasrec_work *w = m->w;
	size_t total = 0, H = m->o.heads, T = m->o.max_len, threads = m->o.threads ? m->o.threads : 1;
	size_t ld = rec_attention_ld(T);

	if (b->nseq + 1 > w->cap_seq) {
		w->cap_seq = b->nseq + 1;
		w->poff = rec_xrealloc(w->poff, w->cap_seq * sizeof(size_t));
	}
	for (size_t s = 0; s < b->nseq; s++) {
		size_t t = b->off[s + 1] - b->off[s];
		w->poff[s] = total;
		total += H * t * ld;
	}
	if (total > w->cap_p) {
		total += total / 4;
		w->cap_p = total;
		for (size_t l = 0; l < m->o.blocks; l++)
			grow(&w->blk[l].P, total);
	}
	if (threads > w->threads) {
		w->threads = threads;
		grow(&w->scratch, threads * rec_attention_scratch(T, m->o.dim, H));
	}
	if (m->o.loss == REC_SASREC_SOFTMAX && !w->logits)
		grow(&w->logits, LOGIT_ROWS * m->nitems);
}

/* ---- forward -------------------------------------------------------------- */

/* Four mask bytes from each of the hashes key + g, g < quads. Cloned for
 * AVX-512 (its 64-bit multiply: 9 times the scalar loop's speed) and
 * AVX2; integer arithmetic, so each gives the same bytes. */
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
static void mask_quads(uint8_t *mask, size_t quads, uint64_t key, uint32_t drop)
{
#pragma omp simd
	for (size_t g = 0; g < quads; g++) {
		uint64_t z = rec_mix64(key + g);
		mask[4 * g] = (uint32_t)(z & 0xffff) >= drop;
		mask[4 * g + 1] = (uint32_t)(z >> 16 & 0xffff) >= drop;
		mask[4 * g + 2] = (uint32_t)(z >> 32 & 0xffff) >= drop;
		mask[4 * g + 3] = (uint32_t)(z >> 48 & 0xffff) >= drop;
	}
}

/* Element j of the batch's mask with key. */
static uint8_t mask_at(uint64_t key, size_t j, uint32_t drop)
{
	return (uint32_t)(rec_mix64(key + j / 4) >> (16 * (j % 4)) & 0xffff) >= drop;
}

/* Site s of step m->steps: each element kept (1) with probability 1 - p,
 * from a hash of (seed, step, site, index in the batch), so the mask is
 * the same whatever the threads and passes. One 64-bit hash decides four
 * elements, a 16-bit uniform each (p is rounded to a multiple of 2^-16).
 * Bytes, not floats: the masks are written and read again once a step,
 * and their memory traffic was most of dropout's cost. */
static void dropout_mask(const struct rec_sasrec *m, uint8_t *mask, size_t n, uint64_t site)
{
	uint64_t key = rec_mix64(m->o.seed ^ rec_mix64(m->steps * 256 + site + 1));
	uint32_t drop = (uint32_t)(m->o.dropout * 65536.0 + 0.5);
	size_t first = m->w->row_base * m->o.dim, head = (4 - first % 4) % 4, quads;

	head = head < n ? head : n;
	quads = (n - head) / 4;
	for (size_t i = 0; i < head; i++)
		mask[i] = mask_at(key, first + i, drop);
	mask_quads(mask + head, quads, key + (first + head) / 4, drop);
	for (size_t i = head + 4 * quads; i < n; i++)
		mask[i] = mask_at(key, first + i, drop);
}

/* What a kept element is scaled by. */
static float keep_scale(const struct rec_sasrec *m)
{
	return 1.0f / (float)(1.0 - m->o.dropout);
}

/* Dropout on x at site: draws the mask (kept for the backward pass) and
 * applies it. */
static void drop_out(const struct rec_sasrec *m, float *x, uint8_t *mask, size_t n, uint64_t site)
{
	float keep = keep_scale(m);

	dropout_mask(m, mask, n, site);
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		x[i] *= keep * (float)mask[i];
}

static void embed_forward(struct rec_sasrec *m, const struct rec_sasrec_batch *b, float *x, int drop)
{
	size_t d = m->o.dim;
	const float *E = m->param + m->tok, *P = m->param + m->pos;

	for (size_t i = 0; i < b->nrow; i++)
#pragma omp simd
		for (size_t c = 0; c < d; c++)
			x[i * d + c] = E[(size_t)b->item[i] * d + c] + P[(size_t)b->pos[i] * d + c];
	if (drop)
		drop_out(m, x, m->w->mask_e, b->nrow * d, 0);
}

/* z = x + y, y times its dropout mask where mask is not NULL: the
 * residual and the dropout in one pass (z may be y). */
static void add_dropped(float *z, const float *x, const float *y, const uint8_t *mask, size_t n,
			float keep)
{
	if (!mask) {
#pragma omp simd
		for (size_t i = 0; i < n; i++)
			z[i] = x[i] + y[i];
		return;
	}
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		z[i] = x[i] + y[i] * (keep * (float)mask[i]);
}

/* A LayerNorm's input, output, statistics and parameters (offsets). */
struct norm_site {
	float *x, *ln, *mean, *rstd;
	size_t gain, bias;
};

/* The LayerNorm that block l begins with; l == blocks: the final one. */
static struct norm_site input_norm(struct rec_sasrec *m, size_t l)
{
	struct rec_sasrec_work *w = m->w;

	if (l == m->o.blocks)
		return (struct norm_site){ w->xL, w->hf, w->mf, w->rf, m->lnf_g, m->lnf_b };
	return (struct norm_site){ w->blk[l].x, w->blk[l].ln1, w->blk[l].m1, w->blk[l].r1, m->blk[l].ln1_g,
				   m->blk[l].ln1_b };
}

static void norm(const struct rec_sasrec *m, const struct norm_site *o, size_t N)
{
	rec_layernorm_forward(o->ln, o->mean, o->rstd, o->x, m->param + o->gain, m->param + o->bias, N,
			      m->o.dim);
}

/* Rows a LayerNorm follows their residual by: some 13 KB at dim 50, so
 * that it reads them from L1. */
#define NORM_ROWS 64

/* o->x = x + drop(y) (y may be o->x) and its LayerNorm, NORM_ROWS rows
 * at a time: the batch's activations are larger than the cache, and
 * dropout, residual and LN each passed over them. mask: NULL for no
 * dropout. */
static void residual_norm(const struct rec_sasrec *m, const struct norm_site *o, const float *x,
			  const float *y, const uint8_t *mask, size_t N)
{
	size_t d = m->o.dim;

	for (size_t r0 = 0; r0 < N; r0 += NORM_ROWS) {
		size_t n = N - r0 < NORM_ROWS ? N - r0 : NORM_ROWS, e = r0 * d;
		struct norm_site part = { o->x + e, o->ln + e, o->mean + r0, o->rstd + r0, o->gain, o->bias };
		add_dropped(part.x, x + e, y + e, mask ? mask + e : NULL, n * d, keep_scale(m));
		norm(m, &part, n);
	}
}

/* With one head the attention's four d x d products fold into two, which
 * saves a third of the block's GEMM work (forward and backward) and
 * computes the same function. With x = LN_1(in) and q, k, v = x W^T + b:
 *   q_i . k_j = (x_i A^T + u) . x_j + q_i . b_k,  A = W_k^T W_q, u = b_q W_k
 * and the last term, the same for every j of row i, leaves the softmax as
 * it is (b_k has no gradient); and as each row of P sums to 1,
 *   W_o (P v)_i + b_o = (P v')_i,  v' = x (W_o W_v)^T + (W_o b_v + b_o).
 * So the block computes q' = x A^T + u and v' by one GEMM, then
 * attention with q', keys x and values v'; what W_q, W_k, W_v, W_o and
 * the biases get is the chain rule through A, u, W_o W_v and its bias
 * (unfold_grads). Block l's [A; W_o W_v] (2d x d), then [u; W_o b_v + b_o]. */
static int folded(const struct rec_sasrec *m)
{
	return m->o.heads == 1;
}

static float *fold_of(const struct rec_sasrec *m, size_t l)
{
	return m->w->fold + l * FOLD_SIZE(m->o.dim);
}

static void fold_weights(struct rec_sasrec *m, size_t l)
{
	const struct rec_sasrec_block *p = &m->blk[l];
	const float *W = m->param, *Wq = W + p->qkv_w, *bq = W + p->qkv_b;
	size_t d = m->o.dim, dd = d * d;
	const float *Wk = Wq + dd, *Wv = Wq + 2 * dd, *bv = bq + 2 * d, *Wo = W + p->o_w;
	float *F = fold_of(m, l), *bf = F + 2 * dd;
	int n = (int)d;

	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, Wk, n, Wq, n, 0.0f, F, n);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, Wo, n, Wv, n, 0.0f, F + dd, n);
	cblas_sgemv(CblasRowMajor, CblasTrans, n, n, 1.0f, Wk, n, bq, 1, 0.0f, bf, 1);
	memcpy(bf + d, W + p->o_b, d * sizeof(float));
	cblas_sgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0f, Wo, n, bv, 1, 1.0f, bf + d, 1);
}

/* The gradients of the folded weights and biases (dF: as fold_of's
 * layout) into those of the block's parameters. */
static void unfold_grads(struct rec_sasrec *m, size_t l, const float *dF)
{
	const struct rec_sasrec_block *p = &m->blk[l];
	size_t d = m->o.dim, dd = d * d;
	const float *W = m->param, *Wq = W + p->qkv_w, *Wk = Wq + dd, *Wv = Wq + 2 * dd, *Wo = W + p->o_w;
	const float *bq = W + p->qkv_b, *bv = bq + 2 * d, *dA = dF, *dVO = dF + dd, *du = dF + 2 * dd;
	const float *dc = du + d;
	float *G = m->grad, *dWq = G + p->qkv_w, *dWk = dWq + dd, *dWv = dWq + 2 * dd, *dWo = G + p->o_w;
	float *dbq = G + p->qkv_b, *dbv = dbq + 2 * d, *dbo = G + p->o_b;
	int n = (int)d;

	/* A = W_k^T W_q, u = b_q W_k */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, Wk, n, dA, n, 1.0f, dWq, n);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, Wq, n, dA, n, 1.0f, dWk, n);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0f, Wk, n, du, 1, 1.0f, dbq, 1);
	cblas_sger(CblasRowMajor, n, n, 1.0f, bq, 1, du, 1, dWk, n);
	/* W_o W_v, W_o b_v + b_o */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, dVO, n, Wv, n, 1.0f, dWo, n);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, Wo, n, dVO, n, 1.0f, dWv, n);
	cblas_sgemv(CblasRowMajor, CblasTrans, n, n, 1.0f, Wo, n, dc, 1, 1.0f, dbv, 1);
	cblas_sger(CblasRowMajor, n, n, 1.0f, dc, 1, bv, 1, dWo, n);
	for (size_t c = 0; c < d; c++)
		dbo[c] += dc[c];
}

/* q' and v' of the folded block in a->qkv (N,2d), keys: LN_1's output. */
static struct rec_attn_in folded_in(const struct rec_sasrec *m, const struct block_acts *a)
{
	size_t d = m->o.dim;

	return (struct rec_attn_in){ a->qkv, a->ln1, a->qkv + d, 2 * d, d, 2 * d };
}

/* The attention and its output projection: out (N,d). */
static void attention_forward(struct rec_sasrec *m, size_t l, const struct rec_sasrec_batch *b, float *out)
{
	const struct rec_sasrec_block *p = &m->blk[l];
	struct block_acts *a = &m->w->blk[l];
	const float *W = m->param;
	size_t N = b->nrow, d = m->o.dim;

	if (folded(m)) {
		struct rec_attn_in in = folded_in(m, a);
		fold_weights(m, l);
		rec_linear_forward(a->qkv, a->ln1, fold_of(m, l), fold_of(m, l) + 2 * d * d, N, d, 2 * d);
		rec_attention_forward_sep(out, a->P, m->w->scratch, &in, b->off, m->w->poff, b->nseq, d, 1,
					  m->o.max_len, m->o.threads);
		return;
	}
	rec_linear_forward(a->qkv, a->ln1, W + p->qkv_w, W + p->qkv_b, N, d, 3 * d);
	rec_attention_forward(a->att, a->P, m->w->scratch, a->qkv, b->off, m->w->poff, b->nseq, d, m->o.heads,
			      m->o.max_len, m->o.threads);
	rec_linear_forward(out, a->att, W + p->o_w, W + p->o_b, N, d, d);
}

/* Where the FFN's activation goes: over its input for ReLU, whose
 * backward reads the sign only (the same after it), so that the pass
 * writes no second N x ffn array; GELU's backward needs the input. */
static float *activated(const struct rec_sasrec *m, struct block_acts *a)
{
	return m->o.act == REC_ACT_RELU ? a->h : a->ha;
}

/* Block l from its input's LayerNorm (done) to the next one's: the next
 * input is x2 + drop(FFN(LN_2(x2))) with x2 = in + drop(attention(LN_1(in))). */
static void block_forward(struct rec_sasrec *m, size_t l, const struct rec_sasrec_batch *b, int drop)
{
	const struct rec_sasrec_block *p = &m->blk[l];
	struct block_acts *a = &m->w->blk[l];
	struct norm_site ffn = { a->x2, a->ln2, a->m2, a->r2, p->ln2_g, p->ln2_b }, next = input_norm(m, l + 1);
	const float *W = m->param;
	size_t N = b->nrow, d = m->o.dim, f = m->o.ffn;
	float *out = next.x;

	attention_forward(m, l, b, out);
	if (drop)
		dropout_mask(m, a->mask_a, N * d, 1 + 2 * l);
	residual_norm(m, &ffn, a->x, out, drop ? a->mask_a : NULL, N);
	rec_linear_forward(a->h, a->ln2, W + p->up_w, W + p->up_b, N, d, f);
	rec_act_forward(activated(m, a), a->h, N * f, m->o.act);
	rec_linear_forward(out, activated(m, a), W + p->down_w, W + p->down_b, N, f, d);
	if (drop)
		dropout_mask(m, a->mask_f, N * d, 2 + 2 * l);
	residual_norm(m, &next, a->x2, out, drop ? a->mask_f : NULL, N);
}

/* The embeddings and the first LayerNorm. */
static void embed_norm(struct rec_sasrec *m, const struct rec_sasrec_batch *b, int drop)
{
	struct norm_site first;

	reserve_rows(m, b->nrow);
	reserve_seqs(m, b);
	first = input_norm(m, 0);
	embed_forward(m, b, first.x, drop);
	norm(m, &first, b->nrow);
}

static void forward(struct rec_sasrec *m, const struct rec_sasrec_batch *b, int drop)
{
	drop = drop && m->o.dropout > 0;
	embed_norm(m, b, drop);
	for (size_t l = 0; l < m->o.blocks; l++)
		block_forward(m, l, b, drop);
}

/* ---- losses --------------------------------------------------------------- */

static size_t count_targets(const struct rec_sasrec_batch *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nrow; i++)
		n += b->target[i] != 0;
	return n;
}

/* Softmax cross-entropy over items 1..nitems-1 of each row of lg (n rows);
 * lg becomes scale * dloss/dlogits. Losses into rowloss. */
static void softmax_rows(float *lg, float *rowloss, const uint32_t *target, size_t n, size_t V, float scale,
			 size_t threads)
{
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
	for (size_t i = 0; i < n; i++) {
		float *r = lg + i * V, mx = r[1];
		double sum = 0;
		if (!target[i]) {
			memset(r, 0, V * sizeof(float));
			rowloss[i] = 0;
			continue;
		}
		for (size_t j = 2; j < V; j++)
			mx = r[j] > mx ? r[j] : mx;
		rowloss[i] = mx - r[target[i]];
		for (size_t j = 1; j < V; j++)
			sum += (r[j] = expf(r[j] - mx));
		rowloss[i] += (float)log(sum);
		r[0] = 0;
		for (size_t j = 1; j < V; j++)
			r[j] = (float)(r[j] / sum) * scale;
		r[target[i]] -= scale;
	}
}

/* Full softmax: LOGIT_ROWS rows of logits h E^T at a time. */
static double full_softmax(struct rec_sasrec *m, const struct rec_sasrec_batch *b, float scale, int grad)
{
	struct rec_sasrec_work *w = m->w;
	size_t V = m->nitems, d = m->o.dim;
	const float *E = m->param + m->tok;
	double sum = 0;

	for (size_t r0 = 0; r0 < b->nrow; r0 += LOGIT_ROWS) {
		size_t n = b->nrow - r0 < LOGIT_ROWS ? b->nrow - r0 : LOGIT_ROWS;
		const float *h = w->hf + r0 * d;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)V, (int)d, 1.0f, h, (int)d, E,
			    (int)d, 0.0f, w->logits, (int)V);
		softmax_rows(w->logits, w->rowloss + r0, b->target + r0, n, V, scale, m->o.threads);
		for (size_t i = 0; i < n; i++)
			sum += w->rowloss[r0 + i];
		if (!grad)
			continue;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)V, 1.0f, w->logits,
			    (int)V, E, (int)d, 0.0f, w->dhf + r0 * d, (int)d);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, (int)d, (int)n, 1.0f, w->logits,
			    (int)V, h, (int)d, 1.0f, m->grad + m->tok, (int)d);
	}
	return sum;
}

/* Marks the items of sequence s's history with a new generation of one
 * thread's marks; returns how many distinct items it marked. */
static size_t mark_history(uint32_t *mark, uint32_t *gen, size_t V, const struct rec_sasrec_batch *b,
			   size_t s)
{
	size_t distinct = 0;

	if (++*gen == 0) {
		memset(mark, 0, V * sizeof(uint32_t));
		*gen = 1;
	}
	for (uint32_t j = b->hoff[s]; j < b->hoff[s + 1]; j++)
		if (mark[b->hist[j]] != *gen) {
			mark[b->hist[j]] = *gen;
			distinct++;
		}
	return distinct;
}

/* Row i's negatives: uniform over the items its sequence never had (mark
 * != gen), from a hash of (seed, step, i), i the row's place in the batch
 * (not the pass), a hit on the history drawn
 * again; over all items but the target when the history has them all. */
static void draw_negatives(const struct rec_sasrec *m, uint32_t *c, uint32_t target, size_t i,
			   const uint32_t *mark, uint32_t gen, int all_seen)
{
	uint64_t s = rec_mix64(m->o.seed ^ UINT64_C(0x6e6567) ^ rec_mix64(m->steps)) + i * UINT64_C(0x9e3779b97f4a7c15);
	size_t V = m->nitems;

	c[0] = target;
	for (size_t k = 1; k <= m->o.negatives; k++) {
		uint32_t j;
		do
			j = 1 + (uint32_t)((rec_splitmix64(&s) >> 11) % (V - 1));
		while (all_seen ? j == target && V > 2 : mark[j] == gen || j == target);
		c[k] = j;
	}
}

/* Every target row's candidates into w->cand, the sequences shared among
 * the threads (each with its own marks): the draws depend on the row
 * only, so any thread count gives the same ones. */
static void draw_all_negatives(struct rec_sasrec *m, const struct rec_sasrec_batch *b)
{
	struct rec_sasrec_work *w = m->w;
	size_t V = m->nitems, K = m->o.negatives + 1, threads = m->o.threads ? m->o.threads : 1;

	if (threads > w->mark_threads) {
		free(w->mark), free(w->gen);
		w->mark = rec_xcalloc(threads * V, sizeof(uint32_t));
		w->gen = rec_xcalloc(threads, sizeof(uint32_t));
		w->mark_threads = threads;
	}
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
	for (size_t q = 0; q < b->nseq; q++) {
		size_t t = THREAD_ID();
		uint32_t *mark = w->mark + t * V;
		int all_seen = mark_history(mark, &w->gen[t], V, b, q) >= V - 1;
		for (size_t i = b->off[q]; i < b->off[q + 1]; i++)
			if (b->target[i])
				draw_negatives(m, w->cand + i * K, b->target[i], w->row_base + i, mark,
					       w->gen[t], all_seen);
	}
}

const uint32_t *rec_sasrec_candidates(const struct rec_sasrec *m)
{
	return m->w->cand;
}

/* Row i's loss over its candidates' scores s (K of them, the target
 * first), which become scale * dloss/ds in place. */
static float candidate_loss(int loss, float *s, size_t K, float scale)
{
	double l = 0, mx = s[0], sum = 0;

	if (loss == REC_SASREC_BCE) {
		/* one exp a candidate: e = e^-|x| gives the sigmoid and the
		 * softplus both */
		for (size_t k = 0; k < K; k++) {
			double x = s[k], e = exp(-fabs(x)), sig = x >= 0 ? 1 / (1 + e) : e / (1 + e);
			l += log1p(e) + (k ? (x > 0 ? x : 0) : (x < 0 ? -x : 0));
			s[k] = (float)(k ? sig : sig - 1) * scale;
		}
		return (float)l;
	}
	for (size_t k = 1; k < K; k++)
		mx = s[k] > mx ? s[k] : mx;
	for (size_t k = 0; k < K; k++)
		sum += exp(s[k] - mx);
	l = log(sum) + mx - s[0];
	for (size_t k = 0; k < K; k++)
		s[k] = (float)(exp(s[k] - mx) / sum - (k == 0)) * scale;
	return (float)l;
}

/* Loops, not cblas_sdot and cblas_saxpy: rows of 50, two calls a
 * candidate each way, whose overhead was half of the loss's time. */
static float dot(const float *x, const float *y, size_t n)
{
	float s = 0;

#pragma omp simd reduction(+:s)
	for (size_t i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

/* y += a x; x and y do not overlap. */
static void axpy(float *restrict y, float a, const float *restrict x, size_t n)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		y[i] += a * x[i];
}

/* BCE or sampled softmax over each row's target and negatives. */
static double sampled_loss(struct rec_sasrec *m, const struct rec_sasrec_batch *b, float scale, int grad)
{
	struct rec_sasrec_work *w = m->w;
	size_t d = m->o.dim, K = m->o.negatives + 1;
	float *E = m->param + m->tok, *dE = m->grad + m->tok;
	double sum = 0;

	draw_all_negatives(m, b);
#pragma omp parallel for schedule(static) num_threads(m->o.threads) if (m->o.threads > 1)
	for (size_t i = 0; i < b->nrow; i++) {
		const float *h = w->hf + i * d;
		uint32_t *c = w->cand + i * K;
		float *g = w->g + i * K, *dh = w->dhf + i * d;
		memset(dh, 0, d * sizeof(float));
		w->rowloss[i] = 0;
		if (!b->target[i])
			continue;
		for (size_t k = 0; k < K; k++)
			g[k] = dot(h, E + (size_t)c[k] * d, d);
		w->rowloss[i] = candidate_loss(m->o.loss, g, K, scale);
		for (size_t k = 0; k < K; k++)
			axpy(dh, g[k], E + (size_t)c[k] * d, d);
	}
	for (size_t i = 0; i < b->nrow; i++)
		sum += w->rowloss[i];
	if (grad)  /* serial: rows share candidates */
		for (size_t i = 0; i < b->nrow; i++)
			for (size_t k = 0; b->target[i] && k < K; k++)
				axpy(dE + (size_t)w->cand[i * K + k] * d, w->g[i * K + k], w->hf + i * d, d);
	return sum;
}

/* ---- backward ------------------------------------------------------------- */

static void masked(float *dst, const float *src, const uint8_t *mask, size_t n, int drop, float keep)
{
	if (!drop) {
		memcpy(dst, src, n * sizeof(float));
		return;
	}
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] * (keep * (float)mask[i]);
}

/* From the gradient of the attention's output projection (w->dy) to that
 * of LN_1's output (w->dln, written). */
static void attention_backward(struct rec_sasrec *m, size_t l, const struct rec_sasrec_batch *b)
{
	const struct rec_sasrec_block *p = &m->blk[l];
	struct block_acts *a = &m->w->blk[l];
	struct rec_sasrec_work *w = m->w;
	const float *W = m->param;
	float *G = m->grad;
	size_t N = b->nrow, d = m->o.dim;

	memset(w->dln, 0, N * d * sizeof(float));
	if (folded(m)) {
		struct rec_attn_in in = folded_in(m, a);
		struct rec_attn_grad g = { w->dqkv, w->dln, w->dqkv + d };
		memset(w->dqkv, 0, 2 * N * d * sizeof(float));
		rec_attention_backward_sep(&g, w->scratch, w->dy, &in, a->P, b->off, w->poff, b->nseq, d, 1,
					   m->o.max_len, m->o.threads);
		memset(w->dfold, 0, FOLD_SIZE(d) * sizeof(float));
		rec_linear_backward(w->dln, w->dfold, w->dfold + 2 * d * d, w->dqkv, a->ln1, fold_of(m, l), N, d,
				    2 * d);
		unfold_grads(m, l, w->dfold);
		return;
	}
	memset(w->datt, 0, N * d * sizeof(float));
	rec_linear_backward(w->datt, G + p->o_w, G + p->o_b, w->dy, a->att, W + p->o_w, N, d, d);
	memset(w->dqkv, 0, 3 * N * d * sizeof(float));
	rec_attention_backward(w->dqkv, w->scratch, w->datt, a->qkv, a->P, b->off, w->poff, b->nseq, d,
			       m->o.heads, m->o.max_len, m->o.threads);
	rec_linear_backward(w->dln, G + p->qkv_w, G + p->qkv_b, w->dqkv, a->ln1, W + p->qkv_w, N, d, 3 * d);
}

/* dx: the gradient of the block's output in, of its input out. */
static void block_backward(struct rec_sasrec *m, size_t l, const struct rec_sasrec_batch *b, int drop)
{
	const struct rec_sasrec_block *p = &m->blk[l];
	struct block_acts *a = &m->w->blk[l];
	struct rec_sasrec_work *w = m->w;
	const float *W = m->param;
	float *G = m->grad;
	size_t N = b->nrow, d = m->o.dim, f = m->o.ffn;

	masked(w->dy, w->dx, a->mask_f, N * d, drop, keep_scale(m));
	memset(w->dha, 0, N * f * sizeof(float));
	rec_linear_backward(w->dha, G + p->down_w, G + p->down_b, w->dy, activated(m, a), W + p->down_w, N, f,
			    d);
	rec_act_backward(w->dha, w->dha, a->h, N * f, m->o.act);
	memset(w->dln, 0, N * d * sizeof(float));
	rec_linear_backward(w->dln, G + p->up_w, G + p->up_b, w->dha, a->ln2, W + p->up_w, N, d, f);
	rec_layernorm_backward(w->dx, G + p->ln2_g, G + p->ln2_b, w->dln, a->x2, a->m2, a->r2, W + p->ln2_g,
			       N, d);
	masked(w->dy, w->dx, a->mask_a, N * d, drop, keep_scale(m));
	attention_backward(m, l, b);
	rec_layernorm_backward(w->dx, G + p->ln1_g, G + p->ln1_b, w->dln, a->x, a->m1, a->r1, W + p->ln1_g,
			       N, d);
}

static void backward(struct rec_sasrec *m, const struct rec_sasrec_batch *b, int drop)
{
	struct rec_sasrec_work *w = m->w;
	size_t N = b->nrow, d = m->o.dim;
	float *dE = m->grad + m->tok, *dP = m->grad + m->pos;

	drop = drop && m->o.dropout > 0;
	memset(w->dx, 0, N * d * sizeof(float));
	rec_layernorm_backward(w->dx, m->grad + m->lnf_g, m->grad + m->lnf_b, w->dhf, w->xL, w->mf, w->rf,
			       m->param + m->lnf_g, N, d);
	for (size_t l = m->o.blocks; l-- > 0;)
		block_backward(m, l, b, drop);
	masked(w->dy, w->dx, w->mask_e, N * d, drop, keep_scale(m));
	for (size_t i = 0; i < N; i++)
#pragma omp simd
		for (size_t c = 0; c < d; c++) {
			dE[(size_t)b->item[i] * d + c] += w->dy[i * d + c];
			dP[(size_t)b->pos[i] * d + c] += w->dy[i * d + c];
		}
}

/* ---- steps ---------------------------------------------------------------- */

/* The sequences s0 .. s1-1 of b as a batch of their own (its offsets in
 * w->pass_off); their histories stay b's. */
static struct rec_sasrec_batch pass_of(struct rec_sasrec *m, const struct rec_sasrec_batch *b, size_t s0,
				       size_t s1)
{
	struct rec_sasrec_work *w = m->w;
	uint32_t r0 = b->off[s0];

	rec_xgrow(&w->pass_off, &w->cap_pass_off, s1 - s0 + 1, sizeof(uint32_t));
	for (size_t s = s0; s <= s1; s++)
		w->pass_off[s - s0] = b->off[s] - r0;
	return (struct rec_sasrec_batch){ .nseq = s1 - s0, .nrow = b->off[s1] - r0, .off = w->pass_off,
					  .item = b->item + r0, .pos = b->pos + r0, .target = b->target + r0,
					  .hoff = b->hoff ? b->hoff + s0 : NULL, .hist = b->hist };
}

/* The end of the pass that starts at sequence s0: whole sequences, at
 * most m->pass_rows rows unless one sequence alone has more. */
static size_t pass_end(const struct rec_sasrec *m, const struct rec_sasrec_batch *b, size_t s0)
{
	size_t s1 = s0 + 1;

	if (!m->pass_rows)
		return b->nseq;
	while (s1 < b->nseq && b->off[s1 + 1] - b->off[s0] <= m->pass_rows)
		s1++;
	return s1;
}

/* Each pass's first sequence into w->pass_seq (then b->nseq); returns
 * how many passes. */
static size_t plan_passes(struct rec_sasrec *m, const struct rec_sasrec_batch *b)
{
	struct rec_sasrec_work *w = m->w;
	size_t n = 0, cap = w->cap_pass;

	for (size_t s0 = 0; s0 < b->nseq; s0 = pass_end(m, b, s0)) {
		rec_xgrow(&w->pass_seq, &cap, n + 2, sizeof(size_t));
		w->pass_seq[n++] = s0;
	}
	if (cap != w->cap_pass)
		w->pass_loss = rec_xrealloc(w->pass_loss, cap * sizeof(double));
	w->cap_pass = cap;
	w->pass_seq[n] = b->nseq;
	return n;
}

/* One pass over the sequences of p, which begin at row row_base of the
 * batch: its loss summed, gradients added to m->grad. */
static double run_pass(struct rec_sasrec *m, const struct rec_sasrec_batch *p, size_t row_base, float scale,
		       int train, int grad)
{
	double sum;

	m->w->row_base = row_base;
	forward(m, p, train);
	sum = m->o.loss == REC_SASREC_SOFTMAX ? full_softmax(m, p, scale, grad) : sampled_loss(m, p, scale, grad);
	if (grad)
		backward(m, p, train);
	m->w->row_base = 0;
	return sum;
}

/* Workspaces for threads and buffers for groups, before they share out
 * the passes. */
static void reserve_team(struct rec_sasrec *m, size_t threads, size_t groups, int grad)
{
	if (threads > m->nteam) {
		m->team = rec_xrealloc(m->team, threads * sizeof(*m->team));
		for (; m->nteam < threads; m->nteam++)
			m->team[m->nteam] = new_work(m);
	}
	if (grad && groups > 1 && !m->group_grad)
		m->group_grad = rec_xmalloc((PASS_GROUPS - 1) * m->nparam * sizeof(float));
}

/* Group g of the npass passes (of groups) on thread t: through a copy
 * of m with the thread's workspace and the group's gradients; threads
 * inside a pass (the attention's) only when the group has the model's. */
static void run_group(struct rec_sasrec *m, const struct rec_sasrec_batch *b, size_t g, size_t groups,
		      size_t npass, size_t t, float scale, int train, int grad)
{
	struct rec_sasrec mt = *m;
	const size_t *seq = m->w->pass_seq;

	mt.w = m->team[t];
	mt.grad = g ? m->group_grad + (g - 1) * m->nparam : m->grad;
	if (groups > 1 && m->o.threads > 1)
		mt.o.threads = 1;
	for (size_t q = g * npass / groups; q < (g + 1) * npass / groups; q++) {
		struct rec_sasrec_batch p = pass_of(&mt, b, seq[q], seq[q + 1]);
		m->w->pass_loss[q] = run_pass(&mt, &p, b->off[seq[q]], scale, train, grad);
	}
}

double rec_sasrec_loss(struct rec_sasrec *m, const struct rec_sasrec_batch *b, int train, int grad)
{
	size_t n = count_targets(b), npass, groups, threads;
	float scale = n ? 1.0f / (float)n : 0;
	double sum = 0;

	if (!n)
		return 0;
	npass = plan_passes(m, b);
	groups = npass < PASS_GROUPS ? npass : PASS_GROUPS;
	threads = m->o.threads < groups ? m->o.threads : groups;
	reserve_team(m, threads, groups, grad);
	if (grad) {
		memset(m->grad, 0, m->nparam * sizeof(float));
		if (groups > 1)
			memset(m->group_grad, 0, (groups - 1) * m->nparam * sizeof(float));
	}
#pragma omp parallel for schedule(static, 1) num_threads(threads) if (threads > 1)
	for (size_t g = 0; g < groups; g++)
		run_group(m, b, g, groups, npass, THREAD_ID(), scale, train, grad);
	for (size_t g = 1; grad && g < groups; g++)   /* times 1: exact, the same sums */
		axpy(m->grad, 1.0f, m->group_grad + (g - 1) * m->nparam, m->nparam);
	for (size_t q = 0; q < npass; q++)
		sum += m->w->pass_loss[q];
	return sum / (double)n;
}

/* Adam with SASRec's betas (0.9, 0.98), on all but the frozen part: the
 * tables come first in the layout, the blocks and final LN after them. */
static void adam(struct rec_sasrec *m)
{
	const float b1 = 0.9f, b2 = 0.98f, lr = m->o.lr;
	size_t tables = (m->nitems + m->o.max_len) * m->o.dim;
	size_t lo = m->o.freeze & REC_SASREC_FREEZE_EMBED ? tables : 0;
	size_t hi = m->o.freeze & REC_SASREC_FREEZE_DENSE ? tables : m->nparam;
	float c1, c2;

	m->steps++;
	c1 = 1.0f / (1.0f - powf(b1, (float)m->steps));
	c2 = 1.0f / (1.0f - powf(b2, (float)m->steps));
	rec_adam_update(m->param, m->grad, m->m, m->v, lo, hi, lr, b1, b2, c1, c2, 0);
	memset(m->param + m->tok, 0, m->o.dim * sizeof(float));  /* padding stays 0 */
}

double rec_sasrec_step(struct rec_sasrec *m, const struct rec_sasrec_batch *b)
{
	double loss = rec_sasrec_loss(m, b, 1, 1);

	adam(m);
	m->trained += count_targets(b);
	return loss;
}

/* The last block for the last row of each sequence only, no dropout: the
 * keys and values of every row, the rest of that one row; h (nseq,d).
 * Its input's LayerNorm is done (by the block before, or embed_norm). */
static void last_block_forward(struct rec_sasrec *m, const struct rec_sasrec_batch *b, float *h)
{
	size_t l = m->o.blocks - 1, N = b->nrow, S = b->nseq, d = m->o.dim, f = m->o.ffn;
	const struct rec_sasrec_block *p = &m->blk[l];
	struct block_acts *a = &m->w->blk[l];
	struct rec_sasrec_work *w = m->w;
	const float *W = m->param;

	rec_linear_forward(a->qkv, a->ln1, W + p->qkv_w, W + p->qkv_b, N, d, 3 * d);
	rec_attention_last_forward(a->att, w->scratch, a->qkv, b->off, S, d, m->o.heads, m->o.max_len,
				   m->o.threads);
	rec_linear_forward(w->dy, a->att, W + p->o_w, W + p->o_b, S, d, d);
	for (size_t s = 0; s < S; s++)
		for (size_t c = 0; c < d; c++)
			a->x2[s * d + c] = a->x[(size_t)(b->off[s + 1] - 1) * d + c] + w->dy[s * d + c];
	rec_layernorm_forward(a->ln2, a->m2, a->r2, a->x2, W + p->ln2_g, W + p->ln2_b, S, d);
	rec_linear_forward(a->h, a->ln2, W + p->up_w, W + p->up_b, S, d, f);
	rec_act_forward(a->ha, a->h, S * f, m->o.act);
	rec_linear_forward(w->dy, a->ha, W + p->down_w, W + p->down_b, S, f, d);
	for (size_t i = 0; i < S * d; i++)
		w->xL[i] = w->dy[i] + a->x2[i];
	rec_layernorm_forward(h, w->mf, w->rf, w->xL, m->param + m->lnf_g, m->param + m->lnf_b, S, d);
}

void rec_sasrec_encode(struct rec_sasrec *m, const struct rec_sasrec_batch *b, float *h)
{
	struct rec_sasrec_work *w = m->w;
	size_t d = m->o.dim, L = m->o.blocks;

	if (!b->nrow)
		return;
	if (L == 0) {
		forward(m, b, 0);
		for (size_t s = 0; s < b->nseq; s++)
			memcpy(h + s * d, w->hf + (size_t)(b->off[s + 1] - 1) * d, d * sizeof(float));
		return;
	}
	/* every block but the last for all rows, as forward() */
	embed_norm(m, b, 0);
	for (size_t l = 0; l + 1 < L; l++)
		block_forward(m, l, b, 0);
	last_block_forward(m, b, h);
}

size_t rec_sasrec_params(const struct rec_sasrec *m, int non_embedding)
{
	size_t embedding = (m->nitems + m->o.max_len) * m->o.dim;

	return non_embedding ? m->nparam - embedding : m->nparam;
}
