/* ctr.c - dispatch between the per-example trainers, the mini-batch deep
 * models and lightfm. */
#include "config.h"
#include "ctr.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int rec_ctr_kind_known(const char *kind)
{
	return !strcmp(kind, "lr") || !strcmp(kind, "fm") || !strcmp(kind, "ffm") ||
	       !strcmp(kind, "lightfm") || rec_net_kind_parse(kind) >= 0;
}

struct rec_ctr *rec_ctr_from_model(const struct rec_model *mf)
{
	const char *kind = rec_kv_get(&mf->manifest, "model.kind");
	struct rec_ctr *c;

	if (kind && strcmp(kind, "sasrec") == 0) {
		rec_error("'%s': a sasrec model: only rec-eval and rec-rank read it", mf->name);
		return NULL;
	}
	if (!kind || !rec_ctr_kind_known(kind)) {
		rec_error("'%s': unknown model.kind '%s' (lr, fm, ffm, deepfm, dlrm, ncf, lightfm)",
			  mf->name, kind ? kind : "");
		return NULL;
	}
	c = rec_xcalloc(1, sizeof(*c));
	if (strcmp(kind, "lightfm") == 0)
		c->lfm = rec_lightfm_load_model(mf);
	else if (rec_net_kind_parse(kind) < 0)
		c->fm = rec_fm_load_model(mf);
	else if ((c->net = rec_net_load_model(mf)))
		rec_net_set_threads(c->net, 1);
	if (!c->fm && !c->net && !c->lfm) {
		free(c);
		return NULL;
	}
	return c;
}

struct rec_ctr *rec_ctr_load(const char *path)
{
	struct rec_model *mf = rec_model_open_lazy(path);
	struct rec_ctr *c = mf ? rec_ctr_from_model(mf) : NULL;

	rec_model_close(mf);
	return c;
}

void rec_ctr_free(struct rec_ctr *c)
{
	if (!c)
		return;
	rec_fm_free(c->fm);
	rec_net_free(c->net);
	rec_lightfm_free(c->lfm);
	free(c);
}

const char *rec_ctr_kind(const struct rec_ctr *c)
{
	if (c->lfm)
		return "lightfm";
	if (c->net)
		return rec_net_kind_name(c->net->o.kind);
	return c->fm->o.ffm ? "ffm" : c->fm->o.k ? "fm" : "lr";
}

const struct rec_schema *rec_ctr_schema(const struct rec_ctr *c)
{
	return c->lfm ? c->lfm->schema : c->net ? c->net->schema : c->fm->schema;
}

struct rec_embed *rec_ctr_table(const struct rec_ctr *c)
{
	return c->lfm ? c->lfm->table : c->net ? c->net->table : c->fm->table;
}

uint64_t rec_ctr_trained(const struct rec_ctr *c)
{
	return c->lfm ? c->lfm->trained : c->net ? c->net->trained : c->fm->t;
}

int rec_ctr_check_schema(const struct rec_ctr *c, const struct rec_schema *s, const char *name)
{
	return rec_schema_check(rec_ctr_schema(c), s, name);
}

void rec_ctr_train_block(struct rec_ctr *c, const struct rec_block *b, double *loss)
{
	if (c->lfm)
		rec_lightfm_train_block(c->lfm, b, loss);
	else if (c->net)
		rec_net_train_block(c->net, b, loss);
	else
		rec_fm_train_block(c->fm, b, loss);
}

void rec_ctr_predict_block(struct rec_ctr *c, const struct rec_block *b, float *p)
{
	if (c->lfm) {
		rec_lightfm_predict_block(c->lfm, b, p);
		return;
	}
	if (c->net) {
		rec_net_predict_block(c->net, b, p);
		return;
	}
	for (size_t r = 0; r < b->n; r++)
		p[r] = rec_fm_predict(c->fm, b, r);
}

double rec_ctr_coverage(const struct rec_ctr *c)
{
	uint64_t seen = c->lfm ? c->lfm->seen : c->net ? c->net->seen : c->fm->seen;
	uint64_t found = c->lfm ? c->lfm->found : c->net ? c->net->found : c->fm->found;

	return seen ? (double)found / (double)seen : 0;
}

void rec_ctr_reset_coverage(struct rec_ctr *c)
{
	if (c->lfm)
		c->lfm->seen = c->lfm->found = 0;
	else if (c->net)
		c->net->seen = c->net->found = 0;
	else
		c->fm->seen = c->fm->found = 0;
}

int rec_ctr_save(const struct rec_ctr *c, const char *path, const struct rec_kv *extra)
{
	if (c->lfm)
		return rec_lightfm_save(c->lfm, path, extra);
	return c->net ? rec_net_save(c->net, path, extra) : rec_fm_save(c->fm, path, extra);
}
