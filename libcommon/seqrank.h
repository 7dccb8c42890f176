/* seqrank.h - recommendation lists from a sasrec model. A user is a record
 * of a sequence stream (rec-cross --group-by), named by its group key; its
 * history is the record's items, oldest first. The model reads the last
 * max_len of them that it has a row for (no hold-out: this is serving,
 * the next item after everything known) and scores item j as h . E[j]
 * from the last position. Lists hold catalogue indices as rank.h's do:
 * vocabulary row - 1. */
#ifndef REC_SEQRANK_H
#define REC_SEQRANK_H

#include <stddef.h>
#include <stdint.h>

#include "rank.h"
#include "sasrec.h"

/* An index of strings held elsewhere as offsets into a buffer. */
struct rec_seqrank_index {
	uint32_t *slot;           /* entry + 1, 0 = empty */
	size_t cap;
};

/* The users to list, each with its key and its sequence. */
struct rec_seqrank_users {
	size_t n, cap;
	long *seq;                /* the user's sequence in the rec_seqs, -1: none */
	uint32_t *koff;           /* n + 1 offsets into kstr: the user's key */
	char *kstr;
	size_t cap_k;
	struct rec_seqrank_index ix;   /* key -> user */
};

/* Every sequence of s is a user, in the stream's order. */
void rec_seqrank_users_all(struct rec_seqrank_users *u, const struct rec_seqs *s);
/* The users a text file names, one a line (first tab-separated column,
 * plain or compressed), in its order: each one's sequence is the first of
 * s with that group key, or none. Empty lines and repeats add nobody. */
int rec_seqrank_users_read(struct rec_seqrank_users *u, const char *path, const struct rec_seqs *s);
void rec_seqrank_users_free(struct rec_seqrank_users *u);
static inline const char *rec_seqrank_key(const struct rec_seqrank_users *u, size_t q, size_t *len)
{
	*len = u->koff[q + 1] - u->koff[q];
	return u->kstr + u->koff[q];
}

/* The final hidden state after each user's history, H (u->n x dim), in
 * batches through rec_sasrec_encode. A user with no item the model has a
 * row for reads the padding row alone at the last position (all zeros:
 * the position embedding is the whole input), the model's guess for an
 * empty history. Returns how many users had none. */
size_t rec_seqrank_encode(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
			  float *H);

/* Each user's k best catalogue items, as rec_topk_dot writes them (idx,
 * score: u->n x k; len), the items of its whole history left out unless
 * keep_seen: users in blocks encoded together, one GEMM of a block
 * against the item table per tile, a bounded heap per user. Returns the
 * users with no known item (rec_seqrank_encode). */
size_t rec_seqrank_top(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
		       size_t k, int keep_seen, uint32_t *idx, float *score, size_t *len);

/* A held-out period: the users are test's records (each group key once,
 * in order of first sight), each one's history the first sequence of hist
 * with its key (none: an empty history). seen gets their history items
 * and truth their test items, both sealed, as catalogue indices (items
 * without a row left out); counts (a catalogue's worth) each item's
 * occurrences in all of hist, for popularity. */
void rec_seqrank_heldout(struct rec_seqrank_users *u, struct rec_rank_pairs *seen, struct rec_rank_pairs *truth,
			 uint32_t *counts, const struct rec_sasrec *m, const struct rec_seqs *hist,
			 const struct rec_seqs *test);

/* Candidates to re-rank: (user, item) pairs from a text file. */
struct rec_seqrank_cands {
	size_t n, cap;
	uint32_t *user;           /* index into the users */
	uint32_t *row;            /* the item's vocabulary row, 0: the model has none */
	uint64_t *id;             /* the item's hashed ID */
	uint32_t *ioff;           /* n + 1 offsets into istr: the item as given */
	char *istr;
	size_t cap_i;
	float *score;             /* after rec_seqrank_score; NaN without a row */
	size_t unknown;           /* candidates whose item has no row */
};

/* Lines 'user<TAB>item' of raw values: the user a group key of s (added
 * to u at first sight), the item hashed as the model's item field hashes
 * it. A line with an empty field is skipped. -1 after a message. */
int rec_seqrank_cands_read(struct rec_seqrank_cands *c, struct rec_seqrank_users *u, const char *path,
			   const struct rec_sasrec *m, const struct rec_seqs *s);
/* Scores every candidate h_user . E[item]; returns the users with no
 * known item. */
size_t rec_seqrank_score(struct rec_sasrec *m, const struct rec_seqs *s, const struct rec_seqrank_users *u,
			 struct rec_seqrank_cands *c);
/* The scored candidates in output order (users in order, each one's best
 * first, the file's order breaking ties), those without a row left out;
 * returns how many (order needs room for c->n). */
size_t rec_seqrank_order(const struct rec_seqrank_cands *c, uint32_t *order);
void rec_seqrank_cands_free(struct rec_seqrank_cands *c);

#endif
