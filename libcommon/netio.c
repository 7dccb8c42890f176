/* netio.c - deep models in and out of model files: the manifest holds the
 * architecture, each Linear layer is a tensor pair <mlp>.<l>.weight (out x
 * in) and <mlp>.<l>.bias, Adam's moments ride along for fine-tuning and
 * resuming. */
#include "config.h"
#include "net.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tensor prefixes of the MLPs, in rec_net_mlps order. */
static const char *const mlp_names[3] = { "deep", "bottom", "head" };

static void list_to_kv(struct rec_kv *kv, const char *key, const unsigned *v, size_t n)
{
	char buf[256];
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && len < sizeof(buf) - 16; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "", v[i]);
	rec_kv_set(kv, key, buf);
}

static void opts_to_kv(const struct rec_net *n, struct rec_kv *kv)
{
	const struct rec_net_opts *o = &n->o;

	rec_kv_set(kv, "model.kind", rec_net_kind_name(o->kind));
	rec_kv_setf(kv, "model.dim", "%u", o->k);
	list_to_kv(kv, "model.hidden", o->hidden, o->nhidden);
	if (o->kind == REC_DLRM)
		list_to_kv(kv, "model.bottom", o->bottom, o->nbottom);
	if (o->kind == REC_NCF) {
		rec_kv_set(kv, "model.user_field", o->user_field);
		rec_kv_set(kv, "model.item_field", o->item_field);
	}
	rec_kv_set(kv, "model.row_precision", o->precision == REC_FP16 ? "fp16" : "fp32");
	rec_kv_setf(kv, "model.seed", "%llu", (unsigned long long)o->seed);
	rec_kv_setf(kv, "model.batch", "%zu", o->batch);
	rec_kv_setf(kv, "model.lr", "%.9g", o->lr);
	rec_kv_setf(kv, "model.dense_lr", "%.9g", o->dense_lr);
	rec_kv_setf(kv, "model.l2", "%.9g", o->l2);
	rec_kv_setf(kv, "model.init_scale", "%.9g", o->init_scale);
	rec_kv_setf(kv, "model.warmup", "%llu", (unsigned long long)o->warmup);
	rec_kv_setf(kv, "model.decay", "%d", o->decay);
	rec_kv_setf(kv, "model.trained", "%llu", (unsigned long long)n->trained);
}

/* The layers of one MLP; adam holds both moments (2 x nparam). */
static int add_mlp(struct rec_model_writer *w, const struct rec_mlp *m, const char *name, float *adam,
		   struct rec_kv *kv)
{
	char t[64];

	for (size_t l = 0; l < m->nlayers; l++) {
		snprintf(t, sizeof(t), "%s.%zu.weight", name, l);
		if (rec_model_add(w, t, "f32", (size_t[]){ m->dim[l + 1], m->dim[l] }, 2,
				  m->param + m->w_off[l]) < 0)
			return -1;
		snprintf(t, sizeof(t), "%s.%zu.bias", name, l);
		if (rec_model_add(w, t, "f32", (size_t[]){ m->dim[l + 1] }, 1, m->param + m->b_off[l]) < 0)
			return -1;
	}
	memcpy(adam, m->m, m->nparam * sizeof(float));
	memcpy(adam + m->nparam, m->v, m->nparam * sizeof(float));
	snprintf(t, sizeof(t), "%s.adam", name);
	rec_kv_setf(kv, "model.adam_steps", "%llu", (unsigned long long)m->steps);
	return rec_model_add(w, t, "f32", (size_t[]){ 2, m->nparam }, 2, adam);
}

int rec_net_save(const struct rec_net *n, const char *path, const struct rec_kv *extra)
{
	struct rec_mlp *m[3];
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_kv kv = { 0 };
	float *adam[3] = { 0 };
	int rc = w ? 0 : -1;

	rec_net_mlps(n, m);
	for (size_t i = 0; extra && i < extra->n; i++)
		rec_kv_set(&kv, extra->key[i], extra->val[i]);
	opts_to_kv(n, &kv);
	rec_schema_to_kv(n->schema, &kv);
	for (int i = 0; rc == 0 && i < 3; i++)
		if (m[i]) {
			adam[i] = rec_xmalloc(2 * m[i]->nparam * sizeof(float));
			rc = add_mlp(w, m[i], mlp_names[i], adam[i], &kv);
		}
	if (rc == 0)
		rc = rec_embed_save(n->table, w);
	if (rc == 0)
		rc = rec_model_commit(w, &kv);
	else if (w)
		rec_model_abort(w);
	for (int i = 0; i < 3; i++)
		free(adam[i]);
	rec_kv_free(&kv);
	return rc;
}

/* "128,64" into v; -1 on anything else. */
static int parse_list(const char *s, unsigned *v, size_t max, size_t *n)
{
	char *end;

	*n = 0;
	if (!s)
		return -1;
	while (*s) {
		unsigned long x = strtoul(s, &end, 10);
		if (end == s || x == 0 || x > 65536 || *n == max || (*end && *end != ','))
			return -1;
		v[(*n)++] = (unsigned)x;
		s = *end ? end + 1 : end;
	}
	return 0;
}

/* The optimization settings and counters, so that a resumed run goes on as
 * it was. */
static int numbers_from_kv(const struct rec_model *mf, struct rec_net_opts *o, uint64_t *trained)
{
	uint64_t batch = o->batch, decay = 0;
	const struct rec_model_number k[] = {
		{ "model.lr", &o->lr, NULL }, { "model.dense_lr", &o->dense_lr, NULL },
		{ "model.l2", &o->l2, NULL }, { "model.init_scale", &o->init_scale, NULL },
		{ "model.seed", NULL, &o->seed }, { "model.batch", NULL, &batch },
		{ "model.warmup", NULL, &o->warmup }, { "model.decay", NULL, &decay },
		{ "model.trained", NULL, trained },
	};

	if (rec_model_numbers(mf, k, sizeof(k) / sizeof(k[0])) < 0)
		return -1;
	if (batch < 1 || batch > (1 << 20))
		return rec_error("'%s': bad model.batch in the MANIFEST", mf->name);
	o->batch = batch;
	o->decay = decay != 0;
	return 0;
}

static int opts_from_kv(const struct rec_model *mf, struct rec_net_opts *o, uint64_t *trained)
{
	const struct rec_kv *kv = &mf->manifest;
	const char *kind = rec_kv_get(kv, "model.kind"), *dim = rec_kv_get(kv, "model.dim");
	const char *prec = rec_kv_get(kv, "model.row_precision"), *v;

	if (!kind || (o->kind = rec_net_kind_parse(kind)) < 0 || !dim ||
	    (o->k = (unsigned)strtoul(dim, NULL, 10)) == 0 ||
	    parse_list(rec_kv_get(kv, "model.hidden"), o->hidden, REC_MLP_MAX_LAYERS - 1, &o->nhidden) < 0 ||
	    (o->kind == REC_DLRM &&
	     parse_list(rec_kv_get(kv, "model.bottom"), o->bottom, REC_MLP_MAX_LAYERS - 1, &o->nbottom) < 0))
		return rec_error("'%s': bad model.kind, model.dim, model.hidden or model.bottom", mf->name);
	o->precision = prec && strcmp(prec, "fp16") == 0 ? REC_FP16 : REC_FP32;
	o->min_count = 1;  /* every saved row is back at once */
	if (numbers_from_kv(mf, o, trained) < 0)
		return -1;
	if ((v = rec_kv_get(kv, "model.user_field")))
		snprintf(o->user_field, sizeof(o->user_field), "%s", v);
	if ((v = rec_kv_get(kv, "model.item_field")))
		snprintf(o->item_field, sizeof(o->item_field), "%s", v);
	return 0;
}

static int load_mlp(struct rec_mlp *m, const struct rec_model *mf, const char *name)
{
	char t[64];
	const float *p, *adam;
	uint64_t steps = 0;

	for (size_t l = 0; l < m->nlayers; l++) {
		snprintf(t, sizeof(t), "%s.%zu.weight", name, l);
		if (!(p = rec_model_expect(mf, t, "f32", (size_t)m->dim[l] * m->dim[l + 1])))
			return -1;
		memcpy(m->param + m->w_off[l], p, (size_t)m->dim[l] * m->dim[l + 1] * sizeof(float));
		snprintf(t, sizeof(t), "%s.%zu.bias", name, l);
		if (!(p = rec_model_expect(mf, t, "f32", m->dim[l + 1])))
			return -1;
		memcpy(m->param + m->b_off[l], p, m->dim[l + 1] * sizeof(float));
	}
	snprintf(t, sizeof(t), "%s.adam", name);
	if (!(adam = rec_model_expect(mf, t, "f32", 2 * m->nparam)))
		return -1;
	memcpy(m->m, adam, m->nparam * sizeof(float));
	memcpy(m->v, adam + m->nparam, m->nparam * sizeof(float));
	if (rec_model_u64(mf, "model.adam_steps", &steps) < 0)
		return -1;
	m->steps = steps;
	return 0;
}

struct rec_net *rec_net_load_model(const struct rec_model *mf)
{
	struct rec_net_opts o = REC_NET_OPTS_INIT;
	struct rec_schema *s;
	struct rec_net *n;
	struct rec_mlp *m[3];
	uint64_t trained = 0;
	int rc = 0;

	if (opts_from_kv(mf, &o, &trained) < 0 || !(s = rec_schema_from_kv(&mf->manifest, mf->name)))
		return NULL;
	n = rec_net_new(s, &o);
	rec_schema_free(s);
	if (!n)
		return NULL;
	rec_net_mlps(n, m);
	for (int i = 0; rc == 0 && i < 3; i++)
		if (m[i])
			rc = load_mlp(m[i], mf, mlp_names[i]);
	if (rc < 0 || rec_embed_load(n->table, mf) < 0) {
		rec_net_free(n);
		return NULL;
	}
	n->trained = trained;
	return n;
}
