/* fmtrain.h - training and scoring logistic regression, factorization
 * machines and field-aware FMs on a hashed feature stream, one example at a
 * time or in mini-batches, the rows updated in the embedding store by
 * Adagrad (row-wise), SGD or, for logistic regression, FTRL-Proximal. */
#ifndef REC_FMTRAIN_H
#define REC_FMTRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "model.h"
#include "featspan.h"
#include "rowset.h"
#include "stream.h"

enum rec_optimizer {
	REC_OPT_ADAGRAD = 0,      /* row-wise Adagrad */
	REC_OPT_SGD = 1,          /* plain SGD with L2 */
	REC_OPT_FTRL = 2          /* FTRL-Proximal, per coordinate; logistic regression only */
};

struct rec_fm_opts {
	unsigned k;               /* factors: 0 = logistic regression */
	int ffm;                  /* field-aware: k factors per (feature, field) (0) */
	int optimizer;            /* enum rec_optimizer (REC_OPT_ADAGRAD) */
	float lr;                 /* learning rate; FTRL's alpha (0.05) */
	float l2;                 /* L2 on the rows an example touches; FTRL's lambda2 (1e-5) */
	float l1;                 /* FTRL: L1, which makes weights exactly 0 (0) */
	float ftrl_beta;          /* FTRL: beta in alpha / (beta + sqrt(n)) (1) */
	float eps;                /* Adagrad epsilon, the bias's under FTRL too (1e-7) */
	float init_scale;         /* factors start uniform in [-s, s] (0.01) */
	int precision;            /* REC_FP32 or REC_FP16 rows (FTRL: fp32 only) */
	uint32_t min_count;       /* admission after N sightings (1) */
	uint64_t warmup;          /* lr ramps up from 0 over this many examples (0) */
	size_t batch;             /* examples per update; 0: after every example (0) */
	int decay;                /* after warm-up, lr sqrt(warmup / t) (0 = constant) */
	uint64_t seed;
};
#define REC_FM_OPTS_INIT { .k = 8, .lr = 0.05f, .l2 = 1e-5f, .ftrl_beta = 1, .eps = 1e-7f, \
			   .init_scale = 0.01f, .precision = REC_FP32, .min_count = 1 }

struct rec_fm_model {
	struct rec_fm_opts o;
	struct rec_schema *schema;    /* the stream it was trained on */
	struct rec_embed *table;      /* rows, see fmtrain.c for the layouts */
	unsigned dim;                 /* floats per row: 1+k, 1+F*k (ffm), 2 (ftrl) */
	unsigned nf;                  /* F: fields of the schema */
	uint64_t *numeric_id;         /* per field: the row ID of a numeric field */
	float w0, w0_acc;
	uint64_t t;                   /* examples trained: the lr schedule's clock */
	/* scratch for one example: its rows' values (a copy, or the store's
	 * own fp32 rows in place), gradients, accumulators and steps */
	float *R, *dR, *sum_v;
	const float **P;
	float **acc, *step;
	size_t cap;
	struct rec_featspan span;         /* the features of records trained together */
	/* a batch (o.batch > 0): its distinct rows, their summed gradients,
	 * and each feature's row there (| REC_FM_NEW where it comes first) */
	struct rec_rowset rs;
	float *G;
	uint32_t *fu;
	size_t cap_g, cap_fu;
	/* the example being trained or scored: a slice of the span */
	struct rec_fm_feats {
		const uint32_t *rows, *fld;
		const float *x;
		size_t n;
	} feats;
	/* coverage while scoring: features seen, features with a row */
	uint64_t seen, found;
};

/* Needs a hashed schema and a valid combination of options. Returns NULL
 * after a message. */
struct rec_fm_model *rec_fm_new(const struct rec_schema *s, const struct rec_fm_opts *o);
void rec_fm_free(struct rec_fm_model *m);
/* One pass of updates over the block's records; adds their losses (before
 * the update) to *loss. */
void rec_fm_train_block(struct rec_fm_model *m, const struct rec_block *b, double *loss);
/* Click probability of record r; features without a row count as absent. */
float rec_fm_predict(struct rec_fm_model *m, const struct rec_block *b, size_t r);

/* The learning rate of example t (0-based: t examples came before it):
 * lr t / warmup while t < warmup, then lr, or with decay lr sqrt(W / t)
 * once t > W = max(warmup, 1). */
float rec_lr_at(float lr, uint64_t warmup, int decay, uint64_t t);
/* "adagrad", "sgd", "ftrl" (NULL when unknown), and back (-1 when unknown). */
const char *rec_optimizer_name(int opt);
int rec_optimizer_parse(const char *name);

/* Saves the model (manifest + tensors: bias, embd.ids, embd.rows,
 * embd.state) atomically; extra holds the caller's provenance keys. The
 * manifest has model.kind (lr, fm, ffm), model.dim (k), model.optimizer and
 * the optim.* settings with optim.examples, the schedule's clock. */
int rec_fm_save(const struct rec_fm_model *m, const char *path, const struct rec_kv *extra);
/* Loads a model saved by rec_fm_save; NULL after a message. */
struct rec_fm_model *rec_fm_load(const char *path);
struct rec_fm_model *rec_fm_load_model(const struct rec_model *mf);
/* -1 (after a message naming both) when a stream's schema is not the one
 * the model was trained on. */
int rec_fm_check_schema(const struct rec_fm_model *m, const struct rec_schema *s, const char *name);

#endif
