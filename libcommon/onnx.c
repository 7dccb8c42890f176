/* onnx.c - see onnx.h. Every message and string the graph holds is
 * recorded in one ownership list, so the model frees in one sweep. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "onnx.h"
#include "onnx.pb-c.h"

/* A growable array of message pointers, as the generated structs hold them. */
struct ptrs {
	void **p;
	size_t n, cap;
};

struct rec_onnx {
	Onnx__ModelProto model;
	Onnx__GraphProto graph;
	Onnx__OperatorSetIdProto opset[2];
	Onnx__OperatorSetIdProto *opsets[2];
	struct ptrs nodes, inits, inputs, outputs, meta;
	struct ptrs owned;
	unsigned next_name;
};

static void push(struct ptrs *a, void *p)
{
	rec_xgrow(&a->p, &a->cap, a->n + 1, sizeof(void *));
	a->p[a->n++] = p;
}

static void *own(struct rec_onnx *g, void *p)
{
	push(&g->owned, p);
	return p;
}

static void *alloc(struct rec_onnx *g, size_t n)
{
	return own(g, rec_xcalloc(1, n ? n : 1));
}

void *rec_onnx_alloc(struct rec_onnx *g, size_t bytes)
{
	return alloc(g, bytes);
}

static char *str(struct rec_onnx *g, const char *s)
{
	return own(g, rec_xstrdup(s));
}

static char *fresh_name(struct rec_onnx *g, const char *prefix)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%s%u", prefix, g->next_name++);
	return str(g, buf);
}

struct rec_onnx *rec_onnx_new(const char *graph_name)
{
	struct rec_onnx *g = rec_xcalloc(1, sizeof(*g));
	static const Onnx__ModelProto model_init = ONNX__MODEL_PROTO__INIT;
	static const Onnx__GraphProto graph_init = ONNX__GRAPH_PROTO__INIT;
	static const Onnx__OperatorSetIdProto opset_init = ONNX__OPERATOR_SET_ID_PROTO__INIT;

	g->model = model_init;
	g->graph = graph_init;
	g->graph.name = str(g, graph_name);
	g->model.has_ir_version = 1;
	g->model.ir_version = REC_ONNX_IR_VERSION;
	g->model.producer_name = str(g, "recpipe");
	g->model.producer_version = str(g, PACKAGE_VERSION);
	for (int i = 0; i < 2; i++) {
		g->opset[i] = opset_init;
		g->opset[i].has_version = 1;
		g->opsets[i] = &g->opset[i];
	}
	g->opset[0].domain = str(g, "");
	g->opset[0].version = REC_ONNX_OPSET;
	g->opset[1].domain = str(g, "ai.onnx.ml");
	g->opset[1].version = REC_ONNX_ML_OPSET;
	g->model.n_opset_import = 2;
	g->model.opset_import = g->opsets;
	g->model.graph = &g->graph;
	return g;
}

void rec_onnx_free(struct rec_onnx *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nodes.n; i++)
		free(((Onnx__NodeProto *)g->nodes.p[i])->attribute);
	for (size_t i = 0; i < g->owned.n; i++)
		free(g->owned.p[i]);
	free(g->owned.p);
	free(g->nodes.p);
	free(g->inits.p);
	free(g->inputs.p);
	free(g->outputs.p);
	free(g->meta.p);
	free(g);
}

/* ---- inputs and outputs -------------------------------------------------- */

static Onnx__ValueInfoProto *value_info(struct rec_onnx *g, const char *name, int type, size_t ndim,
					const char *const *dims)
{
	static const Onnx__ValueInfoProto vi_init = ONNX__VALUE_INFO_PROTO__INIT;
	static const Onnx__TypeProto type_init = ONNX__TYPE_PROTO__INIT;
	static const Onnx__TypeProto__Tensor tensor_init = ONNX__TYPE_PROTO__TENSOR__INIT;
	static const Onnx__TensorShapeProto shape_init = ONNX__TENSOR_SHAPE_PROTO__INIT;
	static const Onnx__TensorShapeProto__Dimension dim_init = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
	Onnx__ValueInfoProto *vi = alloc(g, sizeof(*vi));
	Onnx__TypeProto *tp = alloc(g, sizeof(*tp));
	Onnx__TypeProto__Tensor *tt = alloc(g, sizeof(*tt));
	Onnx__TensorShapeProto *sh = alloc(g, sizeof(*sh));

	*vi = vi_init;
	*tp = type_init;
	*tt = tensor_init;
	*sh = shape_init;
	vi->name = str(g, name);
	vi->type = tp;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	tt->has_elem_type = 1;
	tt->elem_type = type;
	tt->shape = sh;
	sh->n_dim = ndim;
	sh->dim = alloc(g, ndim * sizeof(*sh->dim));
	for (size_t d = 0; d < ndim; d++) {
		char *end;
		long long v = strtoll(dims[d], &end, 10);
		Onnx__TensorShapeProto__Dimension *dm = alloc(g, sizeof(*dm));
		*dm = dim_init;
		if (*dims[d] && !*end) {
			dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			dm->dim_value = v;
		} else {
			dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			dm->dim_param = str(g, dims[d]);
		}
		sh->dim[d] = dm;
	}
	return vi;
}

void rec_onnx_input(struct rec_onnx *g, const char *name, int type, size_t ndim, const char *const *dims)
{
	push(&g->inputs, value_info(g, name, type, ndim, dims));
}

void rec_onnx_output(struct rec_onnx *g, const char *name, int type, size_t ndim, const char *const *dims)
{
	push(&g->outputs, value_info(g, name, type, ndim, dims));
}

/* ---- constants ----------------------------------------------------------- */

static size_t type_size(int type)
{
	switch (type) {
	case REC_ONNX_INT8:
	case REC_ONNX_BOOL:
		return 1;
	case REC_ONNX_FLOAT16:
	case REC_ONNX_BFLOAT16:
		return 2;
	case REC_ONNX_FLOAT:
		return 4;
	default:
		return 8;
	}
}

const char *rec_onnx_tensor(struct rec_onnx *g, const char *name, int type, const int64_t *shape,
			    size_t ndim, const void *data)
{
	static const Onnx__TensorProto tensor_init = ONNX__TENSOR_PROTO__INIT;
	Onnx__TensorProto *t = alloc(g, sizeof(*t));
	size_t count = 1;

	*t = tensor_init;
	t->name = name ? str(g, name) : fresh_name(g, "c");
	t->has_data_type = 1;
	t->data_type = type;
	t->n_dims = ndim;
	t->dims = alloc(g, ndim * sizeof(int64_t));
	for (size_t d = 0; d < ndim; d++) {
		t->dims[d] = shape[d];
		count *= (size_t)shape[d];
	}
	t->has_raw_data = 1;
	t->raw_data.len = count * type_size(type);
	t->raw_data.data = (uint8_t *)data;
	push(&g->inits, t);
	return t->name;
}

static const char *copied(struct rec_onnx *g, int type, const void *v, size_t n, size_t ndim)
{
	int64_t shape[1] = { (int64_t)n };
	void *data = alloc(g, n * type_size(type));

	memcpy(data, v, n * type_size(type));
	return rec_onnx_tensor(g, NULL, type, shape, ndim, data);
}

const char *rec_onnx_ints(struct rec_onnx *g, const int64_t *v, size_t n)
{
	return copied(g, REC_ONNX_INT64, v, n, 1);
}

const char *rec_onnx_floats(struct rec_onnx *g, const float *v, size_t n)
{
	return copied(g, REC_ONNX_FLOAT, v, n, 1);
}

const char *rec_onnx_scalar(struct rec_onnx *g, float v)
{
	return copied(g, REC_ONNX_FLOAT, &v, 1, 0);
}

/* ---- nodes --------------------------------------------------------------- */

const char *rec_onnx_op(struct rec_onnx *g, const char *op, ...)
{
	static const Onnx__NodeProto node_init = ONNX__NODE_PROTO__INIT;
	Onnx__NodeProto *nd = alloc(g, sizeof(*nd));
	const char *in;
	size_t cap = 0;
	va_list ap;

	*nd = node_init;
	nd->op_type = str(g, op);
	nd->name = fresh_name(g, "node");
	va_start(ap, op);
	while ((in = va_arg(ap, const char *))) {
		rec_xgrow(&nd->input, &cap, nd->n_input + 1, sizeof(char *));
		nd->input[nd->n_input++] = (char *)in;
	}
	va_end(ap);
	own(g, nd->input);
	nd->n_output = 1;
	nd->output = alloc(g, sizeof(char *));
	nd->output[0] = fresh_name(g, "t");
	push(&g->nodes, nd);
	return nd->output[0];
}

static Onnx__NodeProto *last(struct rec_onnx *g)
{
	return g->nodes.p[g->nodes.n - 1];
}

static Onnx__AttributeProto *attr(struct rec_onnx *g, const char *name, int type)
{
	static const Onnx__AttributeProto attr_init = ONNX__ATTRIBUTE_PROTO__INIT;
	Onnx__NodeProto *nd = last(g);
	Onnx__AttributeProto *a = alloc(g, sizeof(*a));

	*a = attr_init;
	a->name = str(g, name);
	a->has_type = 1;
	a->type = type;
	/* regrown per attribute: rec_onnx_free frees the arrays */
	nd->attribute = rec_xrealloc(nd->attribute, (nd->n_attribute + 1) * sizeof(*nd->attribute));
	nd->attribute[nd->n_attribute++] = a;
	return a;
}

void rec_onnx_attr_int(struct rec_onnx *g, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

	a->has_i = 1;
	a->i = v;
}

void rec_onnx_attr_ints(struct rec_onnx *g, const char *name, const int64_t *v, size_t n)
{
	Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);

	a->n_ints = n;
	a->ints = alloc(g, n * sizeof(int64_t));
	memcpy(a->ints, v, n * sizeof(int64_t));
}

void rec_onnx_attr_float(struct rec_onnx *g, const char *name, float v)
{
	Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

	a->has_f = 1;
	a->f = v;
}

void rec_onnx_attr_string(struct rec_onnx *g, const char *name, const char *s)
{
	Onnx__AttributeProto *a = attr(g, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);

	a->has_s = 1;
	a->s.data = (uint8_t *)str(g, s);
	a->s.len = strlen(s);
}

void rec_onnx_domain(struct rec_onnx *g, const char *domain)
{
	last(g)->domain = str(g, domain);
}

const char *rec_onnx_rename(struct rec_onnx *g, const char *name)
{
	return last(g)->output[0] = str(g, name);
}

void rec_onnx_meta(struct rec_onnx *g, const char *key, const char *value)
{
	static const Onnx__StringStringEntryProto kv_init = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
	Onnx__StringStringEntryProto *kv = alloc(g, sizeof(*kv));

	*kv = kv_init;
	kv->key = str(g, key);
	kv->value = str(g, value);
	push(&g->meta, kv);
}

void rec_onnx_doc(struct rec_onnx *g, const char *doc)
{
	g->graph.doc_string = str(g, doc);
}

/* ---- writing ------------------------------------------------------------- */

struct file_buffer {
	ProtobufCBuffer base;
	FILE *fp;
	int err;
};

static void append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct file_buffer *fb = (struct file_buffer *)b;

	if (!fb->err && fwrite(data, 1, len, fb->fp) != len)
		fb->err = errno ? errno : EIO;
}

int rec_onnx_write(struct rec_onnx *g, FILE *fp, const char *name)
{
	struct file_buffer fb = { .base = { .append = append }, .fp = fp };

	g->graph.n_node = g->nodes.n;
	g->graph.node = (Onnx__NodeProto **)g->nodes.p;
	g->graph.n_initializer = g->inits.n;
	g->graph.initializer = (Onnx__TensorProto **)g->inits.p;
	g->graph.n_input = g->inputs.n;
	g->graph.input = (Onnx__ValueInfoProto **)g->inputs.p;
	g->graph.n_output = g->outputs.n;
	g->graph.output = (Onnx__ValueInfoProto **)g->outputs.p;
	g->model.n_metadata_props = g->meta.n;
	g->model.metadata_props = (Onnx__StringStringEntryProto **)g->meta.p;
	errno = 0;
	onnx__model_proto__pack_to_buffer(&g->model, &fb.base);
	if (fb.err) {
		errno = fb.err;
		rec_warn_errno("%s: write error", name);
		return -1;
	}
	return 0;
}
