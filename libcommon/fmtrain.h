/* fmtrain.h - training and scoring logistic regression and factorization
 * machines on a hashed feature stream, one example at a time with row-wise
 * Adagrad on the embedding store (Hogwild-friendly: each example touches
 * only its own rows). */
#ifndef REC_FMTRAIN_H
#define REC_FMTRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "model.h"
#include "stream.h"

struct rec_fm_opts {
	unsigned k;               /* factors: 0 = logistic regression */
	float lr;                 /* Adagrad learning rate (0.05) */
	float l2;                 /* L2 on the rows an example touches (1e-5) */
	float eps;                /* Adagrad epsilon (1e-7) */
	float init_scale;         /* factors start uniform in [-s, s] (0.01) */
	int precision;            /* REC_FP32 or REC_FP16 rows */
	uint32_t min_count;       /* admission after N sightings (1) */
	uint64_t seed;
};
#define REC_FM_OPTS_INIT { .k = 8, .lr = 0.05f, .l2 = 1e-5f, .eps = 1e-7f, \
			   .init_scale = 0.01f, .precision = REC_FP32, .min_count = 1 }

struct rec_fm_model {
	struct rec_fm_opts o;
	struct rec_schema *schema;    /* the stream it was trained on */
	struct rec_embed *table;      /* rows [w, v_1..v_k] */
	uint64_t *numeric_id;         /* per field: the row ID of a numeric field */
	float w0, w0_acc;
	/* scratch for one example */
	float *R, *dR, *x, *sum_v;
	uint32_t *rows;
	uint64_t *ids;
	size_t cap;
	/* coverage while scoring: features seen, features with a row */
	uint64_t seen, found;
};

/* Needs a hashed schema. Returns NULL after a message. */
struct rec_fm_model *rec_fm_new(const struct rec_schema *s, const struct rec_fm_opts *o);
void rec_fm_free(struct rec_fm_model *m);
/* One pass of updates over the block's records; adds their losses (before
 * the update) to *loss. */
void rec_fm_train_block(struct rec_fm_model *m, const struct rec_block *b, double *loss);
/* Click probability of record r; features without a row count as absent. */
float rec_fm_predict(struct rec_fm_model *m, const struct rec_block *b, size_t r);

#endif

/* Saves the model (manifest + tensors: bias, embd.ids, embd.rows,
 * embd.state) atomically; extra holds the caller's provenance keys. */
int rec_fm_save(const struct rec_fm_model *m, const char *path, const struct rec_kv *extra);
/* Loads a model saved by rec_fm_save; NULL after a message. */
struct rec_fm_model *rec_fm_load(const char *path);
/* -1 (after a message naming both) when a stream's schema is not the one
 * the model was trained on. */
int rec_fm_check_schema(const struct rec_fm_model *m, const struct rec_schema *s, const char *name);
