/* lightfm.h - a LightFM-style hybrid model for implicit feedback.
 *
 * A user is the sum of the rows of its features (the user ID field and the
 * user attribute fields), an item the same over the item ID field and the
 * item attributes, so an item never trained on still gets a vector from
 * its attributes (cold start). Rows are [b, v_1 .. v_k]:
 *   p_u = sum x_f v_f over the user's features
 *   q_i = sum x_f v_f, b_i = sum x_f b_f over the item's features
 *   score(u, i) = p_u . q_i + b_i
 * (the b of a user feature is never used). Records with a label > 0 are
 * positives, their item as the record has it; training pairs each with
 * sampled negatives from the catalogue of the items seen so far (each with
 * the attributes of its first record), under BPR (-log sigmoid(s_i - s_j)) or WARP
 * (negatives drawn until one comes within 1 of the positive; the hinge
 * 1 - s_i + s_j weighted by log(floor((N - 1) / draws))), one update per
 * positive, row-wise Adagrad. man/rec-train.1 gives the same in words.
 * Later epochs may train from a cache of the first one's interactions as
 * row numbers (rec_lightfm_cache_*): the same model, without decoding the
 * stream or looking a feature up again. */
#ifndef REC_LIGHTFM_H
#define REC_LIGHTFM_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "model.h"
#include "stream.h"

enum rec_lightfm_loss { REC_LOSS_BPR = 0, REC_LOSS_WARP = 1 };
enum rec_lightfm_neg { REC_NEG_UNIFORM = 0, REC_NEG_POPULAR = 1 };

struct rec_lightfm_opts {
	unsigned k;                    /* factors (32) */
	int loss;                      /* enum rec_lightfm_loss (WARP) */
	int negatives;                 /* enum rec_lightfm_neg (uniform) */
	unsigned max_sampled;          /* WARP: negatives drawn per positive at most (10) */
	float lr;                      /* row-wise Adagrad (0.05) */
	float l2;                      /* on the rows an update touches (0, as LightFM) */
	float eps;                     /* Adagrad epsilon (1e-7) */
	float init_scale;              /* rows start uniform in [-s, s] (0.05) */
	int precision;                 /* REC_FP32 or REC_FP16 rows */
	uint32_t min_count;
	uint64_t seed;                 /* initial rows and the sampler */
	char user_field[64], item_field[64];    /* the ID fields ("user", "item") */
	char user_features[256], item_features[256];  /* attribute fields, comma lists ("") */
};
#define REC_LIGHTFM_OPTS_INIT { .k = 32, .loss = REC_LOSS_WARP, .max_sampled = 10, .lr = 0.05f, \
				.l2 = 0, .eps = 1e-7f, .init_scale = 0.05f,                       \
				.precision = REC_FP32, .min_count = 1, .user_field = "user",    \
				.item_field = "item" }

/* The items seen in training: each one's ID (the item field's value), its
 * features (the ID and the attributes of its first record) and its
 * positives; a Fenwick tree over the positives draws popular negatives. */
struct rec_lightfm_items {
	size_t n, cap;
	uint64_t *id;
	uint32_t *off;                 /* n + 1: item i's features are off[i] .. off[i+1]-1 */
	uint64_t *feat;
	float *val;
	uint32_t *row;                 /* each feature's row once found (rows never move) */
	float **q;                     /* n: item i's row in place once found, when that row,
					  valued 1, is all the item has (fp32): scoring's
					  shortcut; NULL otherwise */
	size_t nfeat, cap_feat;
	uint32_t *count;               /* positives */
	uint64_t *tree;                /* Fenwick tree over count, 1-based */
	size_t tree_cap;
	int tree_stale;                /* counts changed without it (uniform sampling) */
	uint32_t *slot;                /* open-addressing index: item + 1, 0 = empty */
	size_t slot_cap;
};

struct rec_lightfm_scratch;
struct rec_lightfm_cache;

struct rec_lightfm {
	struct rec_lightfm_opts o;
	struct rec_schema *schema;
	struct rec_embed *table;
	unsigned rowdim;               /* 1 + k */
	signed char *role;             /* per schema field: 0 none, 1 user, 2 item */
	int user_id, item_id;          /* the ID fields' indices */
	struct rec_lightfm_items items;
	uint64_t rng;                  /* the sampler's splitmix64 state */
	uint64_t trained;              /* positives trained on */
	uint64_t seen, found;          /* coverage while scoring */
	struct rec_lightfm_scratch *sc;
	struct rec_lightfm_cache *cache;
};

const char *rec_lightfm_loss_name(int loss);
int rec_lightfm_loss_parse(const char *name);
const char *rec_lightfm_neg_name(int neg);
int rec_lightfm_neg_parse(const char *name);

/* Needs a hashed schema with the named fields, categorical or lists, each
 * in one role; NULL after a message. */
struct rec_lightfm *rec_lightfm_new(const struct rec_schema *s, const struct rec_lightfm_opts *o);
void rec_lightfm_free(struct rec_lightfm *m);

/* Adds the block's items to the catalogue and trains on its positives;
 * adds their losses (before the update) to *loss. */
void rec_lightfm_train_block(struct rec_lightfm *m, const struct rec_block *b, double *loss);
/* The cache of interactions. While it records, train_block keeps each
 * positive as it trained on it: its catalogue item and its user's and
 * item's feature rows (an ID without a row yet is kept and looked up again,
 * as a streamed epoch would: --min-count). Rows never move while the store
 * only grows, as in training. Past max_bytes it frees what it holds and
 * stays FULL. Once READY, rec_lightfm_train_cached replays a block: the
 * same updates, in the same order, as train_block on that block again
 * (the catalogue is complete after one epoch). */
enum rec_lightfm_cache_state { REC_CACHE_OFF, REC_CACHE_RECORDING, REC_CACHE_READY, REC_CACHE_FULL };
void rec_lightfm_cache_start(struct rec_lightfm *m, size_t max_bytes);
/* The blocks recorded since the last call are the next input's. */
void rec_lightfm_cache_end_input(struct rec_lightfm *m);
/* The epoch is complete: RECORDING becomes READY. */
void rec_lightfm_cache_finish(struct rec_lightfm *m);
/* Frees what it holds; the state goes back to OFF. */
void rec_lightfm_cache_drop(struct rec_lightfm *m);
int rec_lightfm_cache_state(const struct rec_lightfm *m);
size_t rec_lightfm_cache_bytes(const struct rec_lightfm *m);
size_t rec_lightfm_cache_positives(const struct rec_lightfm *m);
/* How many blocks input (0-based) had, *first the index of its first. */
size_t rec_lightfm_cache_blocks(const struct rec_lightfm *m, size_t input, size_t *first);
/* Trains on cached block `block`; returns the records the stream had in it. */
size_t rec_lightfm_train_cached(struct rec_lightfm *m, size_t block, double *loss);
/* sigmoid(score) of each record's user and item into p (b->n floats). */
void rec_lightfm_predict_block(struct rec_lightfm *m, const struct rec_block *b, float *p);

/* The user of record r as [p_u, 1] (k + 1 floats), so that a dot product
 * with an item's [q_i, b_i] is the score. Returns how many of its features
 * had a row: 0 for an unknown user, whose p_u is 0. */
size_t rec_lightfm_user(struct rec_lightfm *m, const struct rec_block *b, size_t r, float *out);
/* The item of record r from the record's own item features, as [q_i, b_i]
 * (cold start: the ID may be new, the attributes known); returns how many
 * had a row. */
size_t rec_lightfm_record_item(struct rec_lightfm *m, const struct rec_block *b, size_t r, float *out);
/* Catalogue item i as [q_i, b_i]. */
void rec_lightfm_item(const struct rec_lightfm *m, size_t i, float *out);
/* The catalogue index of an item ID, or -1. */
long rec_lightfm_find_item(const struct rec_lightfm *m, uint64_t id);
/* The item field's ID of record r, or 0 with *ok = 0 when it has none. */
uint64_t rec_lightfm_item_id(const struct rec_lightfm *m, const struct rec_block *b, size_t r, int *ok);
uint64_t rec_lightfm_user_id(const struct rec_lightfm *m, const struct rec_block *b, size_t r, int *ok);

/* A negative for the positive catalogue item i, drawn as --negatives says
 * (uniform, or in proportion to the items' positives); -1 when there is
 * no other item. */
long rec_lightfm_sample(struct rec_lightfm *m, size_t i);

/* For gradient checks: the loss of record r as a positive against the
 * catalogue item neg (WARP: the hinge times weight, however far inside
 * the margin) and, with grad set, the gradients (rec_lightfm_row_grad). */
double rec_lightfm_loss(struct rec_lightfm *m, const struct rec_block *b, size_t r, size_t neg,
			float weight, int grad);
/* After rec_lightfm_loss(.., 1): the gradient of the row of id (NULL if
 * the triple did not touch it), valid until the next call. */
const float *rec_lightfm_row_grad(const struct rec_lightfm *m, uint64_t id);

/* Model files (lightfmio.c): the keys model.* and the tensors items.* and
 * embd.*, described in rec-model(5). */
/* Appends an item to the catalogue (loading). */
void rec_lightfm_add_item(struct rec_lightfm *m, uint64_t id, const uint64_t *feat, const float *val,
			  size_t nf, uint32_t count);
int rec_lightfm_save(const struct rec_lightfm *m, const char *path, const struct rec_kv *extra);
struct rec_lightfm *rec_lightfm_load_model(const struct rec_model *mf);

#endif
