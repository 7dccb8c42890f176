/* ctr.h - any model rec-train makes, behind one interface: the per-example
 * trainers (lr, fm, ffm; fmtrain.h), the mini-batch deep models (deepfm,
 * dlrm, ncf; net.h) and the implicit-feedback hybrid (lightfm; lightfm.h).
 * rec-train, rec-eval and rec-export see only this. */
#ifndef REC_CTR_H
#define REC_CTR_H

#include "fmtrain.h"
#include "lightfm.h"
#include "net.h"

struct rec_ctr {
	struct rec_fm_model *fm;   /* one of the three */
	struct rec_net *net;
	struct rec_lightfm *lfm;
};

/* A kind name rec-train knows: lr fm ffm deepfm dlrm ncf lightfm. */
int rec_ctr_kind_known(const char *kind);
/* Loads any model file; NULL after a message. */
struct rec_ctr *rec_ctr_load(const char *path);
/* The same from a model file already read. */
struct rec_ctr *rec_ctr_from_model(const struct rec_model *mf);
void rec_ctr_free(struct rec_ctr *c);

const char *rec_ctr_kind(const struct rec_ctr *c);
const struct rec_schema *rec_ctr_schema(const struct rec_ctr *c);
struct rec_embed *rec_ctr_table(const struct rec_ctr *c);
uint64_t rec_ctr_trained(const struct rec_ctr *c);
/* -1 after a message naming the stream when its schema is not the model's. */
int rec_ctr_check_schema(const struct rec_ctr *c, const struct rec_schema *s, const char *name);

void rec_ctr_train_block(struct rec_ctr *c, const struct rec_block *b, double *loss);
/* Probabilities of the block's records into p (b->n floats); lightfm's
 * are sigmoid(score) of each record's user and item. */
void rec_ctr_predict_block(struct rec_ctr *c, const struct rec_block *b, float *p);
/* Share of the features scored since the last reset that had a row. */
double rec_ctr_coverage(const struct rec_ctr *c);
void rec_ctr_reset_coverage(struct rec_ctr *c);

int rec_ctr_save(const struct rec_ctr *c, const char *path, const struct rec_kv *extra);

#endif
