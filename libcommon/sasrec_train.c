/* sasrec_train.c - leave-one-out over item sequences: training epochs on
 * every sequence but its last two items, and the ranking of a held-out
 * item (the last: test, the one before: validation) against all items
 * and against sampled negatives. */
#include "config.h"
#include "sasrec.h"
#include "err.h"
#include "rng.h"

#include "blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const unsigned rec_seqeval_slice_lo[REC_SEQEVAL_SLICES] = { 1, 5, 10, 20, 50 };

size_t rec_sasrec_rows(const struct rec_sasrec *m, const struct rec_seqs *s, size_t i, uint32_t *rows)
{
	size_t n = 0;

	for (uint32_t j = s->off[i]; j < s->off[i + 1]; j++)
		if ((rows[n] = rec_sasrec_find(m, s->id[j])))
			n++;
	return n;
}

static size_t train_part(size_t n)
{
	return n >= 3 ? n - 2 : n;
}

double rec_sasrec_train_epoch(struct rec_sasrec *m, const struct rec_seqs *s, size_t epoch)
{
	struct rec_sasrec_batch b = { 0 };
	uint64_t rng = m->o.seed ^ rec_mix64(epoch + UINT64_C(0x65706f6368));
	size_t *order = rec_xmalloc((s->n + 1) * sizeof(size_t)), steps = 0;
	uint32_t *rows = rec_xmalloc(rec_seqs_longest(s) * sizeof(uint32_t));
	double loss = 0;

	for (size_t i = 0; i < s->n; i++)
		order[i] = i;
	for (size_t i = s->n; i > 1; i--) {
		size_t j = rec_splitmix64(&rng) % i, t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	rec_sasrec_batch_clear(&b);
	for (size_t i = 0; i < s->n; i++) {
		size_t n = rec_sasrec_rows(m, s, order[i], rows);
		rec_sasrec_batch_add(&b, m, rows, train_part(n), 1);
		if (b.nseq == m->o.batch || (i + 1 == s->n && b.nseq)) {
			loss += rec_sasrec_step(m, &b);
			steps++;
			rec_sasrec_batch_clear(&b);
		}
	}
	rec_sasrec_batch_free(&b);
	free(rows);
	free(order);
	return steps ? loss / (double)steps : 0;
}

/* ---- evaluation ----------------------------------------------------------- */

/* Per-batch state of the evaluation. */
struct evalws {
	float *H, *S;               /* users x dim, users x items */
	uint32_t *mark, gen;        /* items: == gen when left out of the ranking */
	uint32_t *rows;
	size_t *seq;                /* the batch's sequences, and their targets */
	uint32_t *target, *hist;
};

/* Users scored at once: up to 16, so that the attention probabilities the
 * forward pass keeps (t^2 floats a user and head) stay in cache (on
 * MovieLens-1M, t up to 200, twice as fast as 256). */
static size_t eval_users(const struct rec_sasrec *m)
{
	size_t n = ((size_t)16 << 20) / m->nitems;

	return n < 1 ? 1 : n > 16 ? 16 : n;
}

static int slice_of(uint32_t history)
{
	int k = 0;

	while (k + 1 < REC_SEQEVAL_SLICES && history >= rec_seqeval_slice_lo[k + 1])
		k++;
	return k;
}

static void add_metric(struct rec_seqeval_metrics *m, uint32_t rank, size_t k)
{
	m->users++;
	m->hr += rank <= k;
	m->ndcg += rank <= k ? 1.0 / log2(rank + 1.0) : 0;
	m->mrr += 1.0 / rank;
}

static void mean_metric(struct rec_seqeval_metrics *m)
{
	if (!m->users) {
		m->hr = m->ndcg = m->mrr = NAN;
		return;
	}
	m->hr /= (double)m->users;
	m->ndcg /= (double)m->users;
	m->mrr /= (double)m->users;
}

static void next_gen(struct evalws *w, size_t V)
{
	if (++w->gen == 0) {
		memset(w->mark, 0, V * sizeof(uint32_t));
		w->gen = 1;
	}
}

/* The target's rank among all items and among sampled negatives. */
static void rank_user(const struct rec_sasrec *m, struct evalws *w, const float *score, const uint32_t *hist,
		      size_t nh, uint32_t target, const struct rec_seqeval_opts *o, struct rec_seqeval_user *u)
{
	size_t V = m->nitems, free_items;
	float ts = score[target];
	double mx = -INFINITY, sum = 0;
	uint64_t rng = rec_mix64(o->seed ^ (u->seq * UINT64_C(0x9e3779b97f4a7c15)));
	uint32_t rank = 1, cand = 0, srank = 1, drawn = 0;

	next_gen(w, V);
	w->mark[0] = w->gen;
	for (size_t i = 0; !o->keep_seen && i < nh; i++)
		if (hist[i] != target)
			w->mark[hist[i]] = w->gen;
	for (size_t j = 1; j < V; j++) {
		mx = score[j] > mx ? score[j] : mx;
		if (w->mark[j] == w->gen)
			continue;
		cand++;
		rank += j != target && score[j] > ts;
	}
	for (size_t j = 1; j < V; j++)
		sum += exp(score[j] - mx);
	u->rank = rank;
	u->candidates = cand;
	u->ce = (float)(log(sum) + mx - ts);
	/* sampled: negatives the user never had, without repeats */
	next_gen(w, V);
	w->mark[0] = w->mark[target] = w->gen;
	for (size_t i = 0; i < nh; i++)
		w->mark[hist[i]] = w->gen;
	free_items = 0;
	for (size_t j = 1; j < V; j++)
		free_items += w->mark[j] != w->gen;
	while (drawn < o->sampled && drawn < free_items) {
		uint32_t j = 1 + (uint32_t)((rec_splitmix64(&rng) >> 11) % (V - 1));
		if (w->mark[j] == w->gen)
			continue;
		w->mark[j] = w->gen;
		drawn++;
		srank += score[j] > ts;
	}
	u->srank = srank;
	u->scandidates = drawn + 1;
}

/* The known items of the first nh of sequence i as rows; returns how many. */
static size_t history_rows(const struct rec_sasrec *m, const struct rec_seqs *s, size_t i, size_t nh,
			   uint32_t *rows)
{
	size_t k = 0;

	for (size_t j = 0; j < nh; j++)
		if ((rows[k] = rec_sasrec_find(m, s->id[s->off[i] + j])))
			k++;
	return k;
}

/* The users of the batch: encode, score every item, rank. */
static void eval_batch(struct rec_sasrec *m, struct evalws *w, const struct rec_sasrec_batch *b,
		       const struct rec_seqs *s, const struct rec_seqeval_opts *o, struct rec_seqeval *r)
{
	size_t V = m->nitems, d = m->o.dim;

	if (!b->nseq)
		return;
	rec_sasrec_encode(m, b, w->H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b->nseq, (int)V, (int)d, 1.0f, w->H, (int)d,
		    rec_sasrec_items(m), (int)d, 0.0f, w->S, (int)V);
	for (size_t i = 0; i < b->nseq; i++) {
		struct rec_seqeval_user *u = &r->u[r->n++];
		size_t nh = history_rows(m, s, w->seq[i], w->hist[i], w->rows);
		u->seq = w->seq[i];
		u->history = w->hist[i];
		rank_user(m, w, w->S + i * V, w->rows, nh, w->target[i], o, u);
	}
}

static void summarize(struct rec_seqeval *r, size_t k)
{
	double ce = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct rec_seqeval_user *u = &r->u[i];
		add_metric(&r->all, u->rank, k);
		add_metric(&r->sampled, u->srank, k);
		add_metric(&r->slice[slice_of(u->history)], u->rank, k);
		ce += u->ce;
	}
	r->ce = r->n ? ce / (double)r->n : NAN;
	mean_metric(&r->all);
	mean_metric(&r->sampled);
	for (int i = 0; i < REC_SEQEVAL_SLICES; i++)
		mean_metric(&r->slice[i]);
}

/* Sequence i's history (its known items before the target) into the
 * batch; 0 when it has no target of the split or no known history. */
static int add_user(struct rec_sasrec *m, struct evalws *w, struct rec_sasrec_batch *b,
		    const struct rec_seqs *s, size_t i, int split)
{
	size_t n = s->off[i + 1] - s->off[i], nh = n - (split == REC_SPLIT_TEST ? 1 : 2), k;
	uint32_t target;

	if (n < 3 || !(target = rec_sasrec_find(m, s->id[s->off[i] + nh])))
		return 0;
	if (!(k = history_rows(m, s, i, nh, w->rows)))
		return 0;
	w->seq[b->nseq] = i;
	w->target[b->nseq] = target;
	w->hist[b->nseq] = (uint32_t)nh;
	rec_sasrec_batch_add(b, m, w->rows, k, 0);
	return 1;
}

void rec_seqeval_run(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqeval_opts *o,
		     struct rec_seqeval *r)
{
	struct rec_sasrec_batch b = { 0 };
	struct evalws w = { 0 };
	size_t users = eval_users(m);

	memset(r, 0, sizeof(*r));
	r->u = rec_xcalloc(s->n + 1, sizeof(*r->u));
	w.H = rec_xmalloc(users * m->o.dim * sizeof(float));
	w.S = rec_xmalloc(users * m->nitems * sizeof(float));
	w.mark = rec_xcalloc(m->nitems, sizeof(uint32_t));
	w.rows = rec_xmalloc(rec_seqs_longest(s) * sizeof(uint32_t));
	w.seq = rec_xmalloc(users * sizeof(size_t));
	w.target = rec_xmalloc(users * sizeof(uint32_t));
	w.hist = rec_xmalloc(users * sizeof(uint32_t));
	rec_sasrec_batch_clear(&b);
	for (size_t i = 0; i < s->n; i++) {
		if (!add_user(m, &w, &b, s, i, o->split))
			r->skipped += s->off[i + 1] - s->off[i] >= 3;
		if (b.nseq == users || i + 1 == s->n) {
			eval_batch(m, &w, &b, s, o, r);
			rec_sasrec_batch_clear(&b);
		}
	}
	summarize(r, o->k);
	rec_sasrec_batch_free(&b);
	free(w.H), free(w.S), free(w.mark), free(w.rows), free(w.seq), free(w.target), free(w.hist);
}

void rec_seqeval_free(struct rec_seqeval *r)
{
	free(r->u);
	memset(r, 0, sizeof(*r));
}
