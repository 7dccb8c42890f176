/* rank.h - recommendation lists from a lightfm model: the users of a
 * stream with the items they have, each user's top K catalogue items
 * (rec_topk_dot over [p_u, 1] . [q_i, b_i]), the items nearest an item by
 * cosine, and the ranking metrics of such lists against held-out items. */
#ifndef REC_RANK_H
#define REC_RANK_H

#include <stddef.h>
#include <stdint.h>

#include "lightfm.h"
#include "topk.h"

/* (user, catalogue item) pairs, then per-user sorted lists. */
struct rec_rank_pairs {
	uint32_t *u, *i;
	size_t n, cap;
	size_t *off;              /* after rec_rank_seal: users + 1 */
	uint32_t *items;          /* user q's items are items[off[q] .. off[q+1]-1] */
};

/* The users met in streams, in order of first sight. */
struct rec_rank_users {
	size_t n, cap;
	uint64_t *id;             /* the user field's ID */
	float *vec;               /* n x (k + 1): [p_u, 1] from the user's first record */
	size_t unknown;           /* users none of whose features has a row */
	uint32_t *slot;           /* index: user + 1, 0 = empty */
	size_t slot_cap;
};

enum {
	REC_RANK_NEW_USERS = 1,   /* records of users not met yet add them */
	REC_RANK_POSITIVES = 2    /* only records with a label > 0 make pairs */
};

/* The block's users (with REC_RANK_NEW_USERS) and their (user, item)
 * pairs into p when p is not NULL; items outside the catalogue make none. */
void rec_rank_add(struct rec_rank_users *u, struct rec_rank_pairs *p, struct rec_lightfm *m,
		  const struct rec_block *b, int flags);
/* Sorts p into per-user lists without repeats (nusers lists). */
void rec_rank_seal(struct rec_rank_pairs *p, size_t nusers);
/* Drops from each sealed list of p the items of the same user's list in
 * q (e.g. held-out items the user had in training). */
void rec_rank_subtract(struct rec_rank_pairs *p, const struct rec_rank_pairs *q, size_t nusers);
void rec_rank_users_free(struct rec_rank_users *u);
void rec_rank_pairs_free(struct rec_rank_pairs *p);

/* The catalogue as an n x (k + 1) matrix of [q_i, b_i]; malloc'd. */
float *rec_rank_item_matrix(const struct rec_lightfm *m);
/* The same without the bias, each row scaled to unit length (cosines). */
float *rec_rank_item_directions(const struct rec_lightfm *m);

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

/* Names for IDs: each line's first tab-separated column, hashed as the
 * model's user and item fields would hash it. */
struct rec_rank_names {
	uint64_t *id;
	uint32_t *off;            /* into text */
	char *text;
	size_t n, cap, len, cap_text;
	uint32_t *slot;
	size_t slot_cap;
};
int rec_rank_names_read(struct rec_rank_names *nm, const char *path, const struct rec_lightfm *m);
/* The name of id, or NULL. */
const char *rec_rank_name(const struct rec_rank_names *nm, uint64_t id);
void rec_rank_names_free(struct rec_rank_names *nm);

#endif
