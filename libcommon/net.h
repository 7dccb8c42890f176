/* net.h - the deep click models, trained on mini-batches of a hashed stream:
 * an embedding store for the sparse half (row-wise Adagrad, one update per
 * distinct row per batch) and MLPs for the dense half (Adam).
 *
 * Every model sums a field's values into one field vector e_f (x times the
 * ID's row; a numeric field has one row of its own, scaled by its value
 * squashed to sign(v) log(1 + |v|)):
 *   deepfm  rows [w, v]: logit = sum x w + FM over the field vectors
 *           + MLP(e_1 .. e_F)
 *   dlrm    rows [v]: numeric fields -> bottom MLP -> b (k floats);
 *           logit = top MLP(b, <z_a, z_b> for a < b over z = [b, e_1 .. e_C])
 *   ncf     NeuMF over the user and item fields, rows [p_gmf, p_mlp]:
 *           logit = head(p_gmf * q_gmf, tower(p_mlp, q_mlp))
 * man/rec-train.1 gives the same in words. */
#ifndef REC_NET_H
#define REC_NET_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "mlp.h"
#include "model.h"
#include "stream.h"

enum rec_net_kind { REC_DEEPFM, REC_DLRM, REC_NCF };
enum { REC_FREEZE_EMBED = 1, REC_FREEZE_DENSE = 2 };

struct rec_net_opts {
	int kind;
	unsigned k;                    /* embedding width (16) */
	unsigned hidden[REC_MLP_MAX_LAYERS - 1];
	size_t nhidden;                /* deep / top / tower layers (128, 64) */
	unsigned bottom[REC_MLP_MAX_LAYERS - 1];
	size_t nbottom;                /* dlrm bottom layers before the k-wide one (64) */
	size_t batch;                  /* examples per update (512) */
	float lr;                      /* row-wise Adagrad on embeddings (0.05) */
	float dense_lr;                /* Adam on the MLPs (0.001) */
	float l2;                      /* on the rows a batch touches (1e-5) */
	float eps;                     /* Adagrad epsilon (1e-7) */
	float init_scale;              /* rows start uniform in [-s, s] (0.05) */
	int precision;                 /* REC_FP32 or REC_FP16 rows */
	uint32_t min_count;
	uint64_t seed;
	int freeze;                    /* REC_FREEZE_* while fine-tuning */
	unsigned threads;              /* each runs a share of every batch (0: OpenMP's count) */
	uint64_t warmup;               /* learning rates ramp up over this many examples */
	int decay;                     /* then fall as sqrt(warmup / t) (rec_lr_at) */
	char user_field[64], item_field[64];  /* ncf ("user", "item") */
};
#define REC_NET_OPTS_INIT { .kind = REC_DEEPFM, .k = 16, .hidden = { 128, 64 }, .nhidden = 2, \
			    .bottom = { 64 }, .nbottom = 1, .batch = 512, .lr = 0.05f,           \
			    .dense_lr = 0.001f, .l2 = 1e-5f, .eps = 1e-7f, .init_scale = 0.05f,   \
			    .precision = REC_FP32, .min_count = 1, .user_field = "user",        \
			    .item_field = "item" }

struct rec_net_batch;

struct rec_net {
	struct rec_net_opts o;
	struct rec_schema *schema;
	struct rec_embed *table;
	unsigned rowdim;               /* floats per row */
	unsigned voff;                 /* where v starts in a row (1 for deepfm's w) */
	unsigned width;                /* floats per field vector (k, 2k for ncf) */
	size_t nslot;                  /* field vectors per example */
	int *slot;                     /* per schema field: its slot, or -1 */
	int *dense;                    /* per schema field: dlrm bottom input, or -1 */
	size_t ndense;
	uint64_t *numeric_id;          /* per schema field: the row of a numeric field */
	struct rec_mlp deep;           /* deepfm deep part, dlrm top, ncf tower */
	struct rec_mlp bottom;         /* dlrm, when the stream has numeric fields */
	struct rec_mlp head;           /* ncf */
	uint64_t trained;              /* examples trained on */
	uint64_t seen, found;          /* coverage while scoring */
	double flops;                  /* dense floating-point operations so far */
	size_t threads;
	struct rec_net_batch *bt;
};

const char *rec_net_kind_name(int kind);
int rec_net_kind_parse(const char *name);
/* Needs a hashed schema that has the fields the model needs; NULL after a
 * message. */
struct rec_net *rec_net_new(const struct rec_schema *s, const struct rec_net_opts *o);
void rec_net_free(struct rec_net *n);
/* The MLPs of the model in the order deep, bottom, head; NULL where its
 * kind has none (bottom: dlrm with numeric fields; head: ncf). */
void rec_net_mlps(const struct rec_net *n, struct rec_mlp *m[3]);
/* Threads that share each batch (0: OpenMP's count); results are
 * bit-for-bit the same for the same count. */
void rec_net_set_threads(struct rec_net *n, unsigned threads);

/* Trains on the block's records in batches; adds their losses (before the
 * updates) to *loss. */
void rec_net_train_block(struct rec_net *n, const struct rec_block *b, double *loss);
/* Click probabilities of the block's records into p (b->n floats). */
void rec_net_predict_block(struct rec_net *n, const struct rec_block *b, float *p);

/* For gradient checks: the mean loss of records [first, first + count) and,
 * with grad set, the gradients (rows: rec_net_row_grad; MLPs: their grad). */
double rec_net_loss(struct rec_net *n, const struct rec_block *b, size_t first, size_t count, int grad);
/* After rec_net_loss(.., 1): the gradient of the row of id (NULL if the
 * batch did not touch it). */
const float *rec_net_row_grad(const struct rec_net *n, uint64_t id);

/* ncf, for ranking: the user field's vector of record r, [p_gmf, p_mlp]
 * (2k floats, as the model pools it); returns how many of its values had
 * a row (0: an unknown user, all zero). */
size_t rec_net_ncf_user(struct rec_net *n, const struct rec_block *b, size_t r, float *out);
/* The row of id as a field vector (2k floats); 0, and zeros, when the
 * model has none. */
int rec_net_ncf_row(struct rec_net *n, uint64_t id, float *out);
/* Logits of every pair of np user vectors P (np x 2k) and nq item vectors
 * Q (nq x 2k) into logit (np x nq): the tower runs the np * nq pairs as
 * one batch (cblas GEMMs), then the head. Uses MLP workspace 0. */
void rec_net_ncf_pairs(struct rec_net *n, float *logit, const float *P, size_t np, const float *Q, size_t nq);

int rec_net_save(const struct rec_net *n, const char *path, const struct rec_kv *extra);
struct rec_net *rec_net_load_model(const struct rec_model *mf);

#endif
