/* rank.h - recommendation lists from a lightfm or ncf model: the users of
 * a stream (or a list) with the items they have, each user's top K
 * catalogue items (lightfm: rec_topk_dot over [p_u, 1] . [q_i, b_i]; ncf:
 * its tower over blocks of pairs), the items nearest an item by cosine,
 * and the ranking metrics of such lists against held-out items. A sasrec
 * model shares the catalogue, names and cosines; its users are
 * sequences (seqrank.h). */
#ifndef REC_RANK_H
#define REC_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "ctr.h"
#include "topk.h"

struct rec_sasrec;

/* ncf's catalogue, which its model file does not keep: the items of the
 * streams read (records with REC_RANK_NEW_ITEMS) that the model has a row
 * for, in order of first sight. */
struct rec_rank_items {
	size_t n, cap;
	uint64_t *id;
	float *vec;               /* n x 2k: each item's row [q_gmf, q_mlp] */
	uint32_t *count;          /* positives in records read with REC_RANK_COUNT */
	uint32_t *slot;           /* index: item + 1, 0 = empty */
	size_t slot_cap;
};

/* What ranks: a lightfm model (its own catalogue, score p_u . q_i + b_i),
 * an ncf model (the catalogue of the streams, score its probability) or
 * a sasrec model (its vocabulary: catalogue item i is row i + 1, as row 0
 * is padding). */
struct rec_rank_model {
	struct rec_lightfm *lfm;  /* one of the three, not owned */
	struct rec_net *ncf;
	struct rec_sasrec *sas;
	const struct rec_schema *schema;
	int user_field, item_field;   /* schema indices; sasrec: no user field (-1) */
	size_t dim;               /* user vector width: k + 1 ([p_u, 1]), 2k, sasrec's dim */
	struct rec_rank_items items;  /* ncf */
};

/* -1 after a message when c is neither lightfm nor ncf ("what needs ..."). */
int rec_rank_model_init(struct rec_rank_model *rm, const struct rec_ctr *c, const char *what);
/* The same for a sasrec model (its item field is a sequence). */
void rec_rank_model_init_sasrec(struct rec_rank_model *rm, struct rec_sasrec *m);
void rec_rank_model_free(struct rec_rank_model *rm);
size_t rec_rank_nitems(const struct rec_rank_model *rm);
uint64_t rec_rank_item_id(const struct rec_rank_model *rm, size_t i);
/* Each catalogue item's positives: lightfm's in training, ncf's in the
 * records read with REC_RANK_COUNT. */
const uint32_t *rec_rank_item_counts(const struct rec_rank_model *rm);

/* (user, catalogue item) pairs, then per-user sorted lists. */
struct rec_rank_pairs {
	uint32_t *u, *i;
	size_t n, cap;
	size_t *off;              /* after rec_rank_seal: users + 1 */
	uint32_t *items;          /* user q's items are items[off[q] .. off[q+1]-1] */
};

/* The users met in streams, in order of first sight, or listed
 * (rec_rank_users_read) in the list's order. */
struct rec_rank_users {
	size_t n, cap;
	uint64_t *id;             /* the user field's ID */
	float *vec;               /* n x dim: from the user's first record */
	unsigned char *state;     /* per user: REC_RANK_KNOWN, REC_RANK_LISTED */
	size_t unknown;           /* users none of whose features has a row */
	uint32_t *slot;           /* index: user + 1, 0 = empty */
	size_t slot_cap;
};
enum { REC_RANK_KNOWN = 1, REC_RANK_LISTED = 2 };

enum {
	REC_RANK_NEW_USERS = 1,   /* records of users not met yet add them */
	REC_RANK_POSITIVES = 2,   /* only records with a label > 0 make pairs */
	REC_RANK_NEW_ITEMS = 4,   /* ncf: records' items join the catalogue */
	REC_RANK_COUNT = 8        /* ncf: count the positives of each item */
};

/* The block's users (with REC_RANK_NEW_USERS) and their (user, item)
 * pairs into p when p is not NULL; items outside the catalogue make none.
 * A listed user takes its vector from its first record. */
void rec_rank_add(struct rec_rank_users *u, struct rec_rank_pairs *p, struct rec_rank_model *rm,
		  const struct rec_block *b, int flags);
/* Record r's item as a catalogue index (ncf: added with
 * REC_RANK_NEW_ITEMS, counted with REC_RANK_COUNT), or -1. */
long rec_rank_record_item(struct rec_rank_model *rm, const struct rec_block *b, size_t r, int flags);
/* Adds the pair (user, catalogue item) to p. */
void rec_rank_pair_add(struct rec_rank_pairs *p, size_t user, size_t item);
/* Sorts p into per-user lists without repeats (nusers lists). */
void rec_rank_seal(struct rec_rank_pairs *p, size_t nusers);
/* Drops from each sealed list of p the items of the same user's list in
 * q (e.g. held-out items the user had in training). */
void rec_rank_subtract(struct rec_rank_pairs *p, const struct rec_rank_pairs *q, size_t nusers);
void rec_rank_users_free(struct rec_rank_users *u);
void rec_rank_pairs_free(struct rec_rank_pairs *p);

/* Each user's k best catalogue items, as rec_topk_dot writes them (idx,
 * score: nu x k), the skipped ones left out: lightfm by p_u . q_i + b_i
 * (one GEMM per block), ncf by its logit (the tower over blocks of
 * 16 users x 512 items) with the probability as the score. */
void rec_rank_top(struct rec_rank_model *rm, uint32_t *idx, float *score, size_t *len,
		  const struct rec_rank_users *u, size_t k, const struct rec_topk_skip *skip);
/* The same ranked by rec_rank_item_counts, the count as the score. */
void rec_rank_popular(const struct rec_rank_model *rm, uint32_t *idx, float *score, size_t *len,
		      size_t nu, size_t k, const struct rec_topk_skip *skip);
/* The catalogue's items as unit vectors for cosines (n x *d): lightfm's
 * q_i, ncf's whole row [q_gmf, q_mlp], sasrec's item embedding (tied to
 * its output); malloc'd. */
float *rec_rank_item_directions(const struct rec_rank_model *rm, size_t *d);

/* Ranking metrics at K over the users that have held-out items (truth),
 * averaged over them: precision (hits / K), recall (hits / held-out), NDCG
 * (binary gains, log2 discounts), MAP (the sum over hits of the precision
 * at the hit, over min(K, held-out)); over their lists: coverage (share of
 * the catalogue that appears) and popularity (the mean training positives
 * of a recommended item over those of the mean catalogue item: 1 = no
 * bias to popular items). The averages are NaN when no user has held-out
 * items. */
struct rec_rank_metrics {
	size_t users;             /* users evaluated */
	double precision, recall, ndcg, map, coverage, popularity;
};
/* List q is idx[q * stride ..], len[q] long (at most stride). */
void rec_rank_evaluate(struct rec_rank_metrics *out, const uint32_t *idx, const size_t *len, size_t nq,
		       size_t stride, size_t k, const struct rec_rank_pairs *truth, const uint32_t *count,
		       size_t nitems);

/* Lists against a held-out period, as rec-eval --top-k and lightfm's
 * validation in rec-train score them: the users of the held-out streams
 * and their positives there, less the items the seen streams say they
 * had (those are also kept off their lists). */
struct rec_rank_heldout {
	struct rec_rank_users u;
	struct rec_rank_pairs truth, seen;
	int have_seen;            /* seen is read once; the users' order is the same every time */
};
/* Reads the held-out streams (NULL: stdin), the users' vectors from the
 * model as it is now, and on the first call the seen streams. Call again
 * after the model changed: the users are read again, seen is kept. */
int rec_rank_heldout_read(struct rec_rank_heldout *h, struct rec_rank_model *rm, const struct rec_ctr *c,
			  const char *const *held, size_t nheld, const char *const *seen, size_t nseen);
/* Each user's top k (popularity: by the training positives) against the
 * held-out items. */
void rec_rank_heldout_score(struct rec_rank_metrics *out, const struct rec_rank_heldout *h,
			    struct rec_rank_model *rm, size_t k, int popularity);
void rec_rank_heldout_free(struct rec_rank_heldout *h);

/* Names for IDs: each line's first tab-separated column, hashed as the
 * model's user and item fields would hash it (sasrec: the item field). */
struct rec_rank_names {
	uint64_t *id;
	uint32_t *off;            /* into text */
	char *text;
	size_t n, cap, len, cap_text;
	uint32_t *slot;
	size_t slot_cap;
};
int rec_rank_names_read(struct rec_rank_names *nm, const char *path, const struct rec_rank_model *rm);
/* Users from a text file, one a line: the first tab-separated column,
 * hashed as the model's user field hashes it, each added to u once (its
 * vector from the user ID's row alone until rec_rank_add meets a record
 * of it) and to nm as its name. */
int rec_rank_users_read(struct rec_rank_users *u, struct rec_rank_names *nm, const char *path,
			struct rec_rank_model *rm);
/* The name of id, or NULL. */
const char *rec_rank_name(const struct rec_rank_names *nm, uint64_t id);
void rec_rank_names_free(struct rec_rank_names *nm);

#endif
