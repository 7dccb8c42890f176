/* onnx.h - building an ONNX model: operator nodes, constant tensors, the
 * graph's inputs and outputs, then one protobuf write. The messages are
 * those protoc-c generates from ONNX's own onnx.proto; this module only
 * keeps the bookkeeping (names, ownership) out of the graph code. */
#ifndef REC_ONNX_H
#define REC_ONNX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Element types, as TensorProto.DataType numbers them. */
enum rec_onnx_type {
	REC_ONNX_FLOAT = 1,
	REC_ONNX_INT8 = 3,
	REC_ONNX_INT64 = 7,
	REC_ONNX_BOOL = 9,
	REC_ONNX_FLOAT16 = 10,
	REC_ONNX_BFLOAT16 = 16
};

/* Opsets the graphs are written against: the default domain's and
 * ai.onnx.ml's (LabelEncoder). */
#define REC_ONNX_OPSET 17
#define REC_ONNX_ML_OPSET 2
#define REC_ONNX_IR_VERSION 8

struct rec_onnx;

struct rec_onnx *rec_onnx_new(const char *graph_name);
void rec_onnx_free(struct rec_onnx *g);

/* Declares a graph input or output; each dimension is a number or a
 * symbolic name ("N"). */
void rec_onnx_input(struct rec_onnx *g, const char *name, int type, size_t ndim,
		    const char *const *dims);
void rec_onnx_output(struct rec_onnx *g, const char *name, int type, size_t ndim,
		     const char *const *dims);

/* A constant tensor (an initializer) of raw little-endian data, which
 * must stay valid until the write; returns its name (made up when name is
 * NULL). */
const char *rec_onnx_tensor(struct rec_onnx *g, const char *name, int type, const int64_t *shape,
			    size_t ndim, const void *data);
/* Zeroed memory that lives as long as the graph, for tensor data. */
void *rec_onnx_alloc(struct rec_onnx *g, size_t bytes);
/* Constants copied in: int64 and float vectors, and scalars. */
const char *rec_onnx_ints(struct rec_onnx *g, const int64_t *v, size_t n);
const char *rec_onnx_floats(struct rec_onnx *g, const float *v, size_t n);
const char *rec_onnx_scalar(struct rec_onnx *g, float v);

/* Appends a node of the default domain on the NULL-terminated inputs;
 * returns the name of its one output. */
const char *rec_onnx_op(struct rec_onnx *g, const char *op, ...);
/* Attributes, domain and output name of the node appended last. */
void rec_onnx_attr_int(struct rec_onnx *g, const char *name, int64_t v);
void rec_onnx_attr_ints(struct rec_onnx *g, const char *name, const int64_t *v, size_t n);
void rec_onnx_attr_float(struct rec_onnx *g, const char *name, float v);
void rec_onnx_attr_string(struct rec_onnx *g, const char *name, const char *s);
void rec_onnx_domain(struct rec_onnx *g, const char *domain);
const char *rec_onnx_rename(struct rec_onnx *g, const char *name);

/* Model-level key = value metadata (metadata_props). */
void rec_onnx_meta(struct rec_onnx *g, const char *key, const char *value);
void rec_onnx_doc(struct rec_onnx *g, const char *doc);

/* Packs the model onto fp; -1 after a message naming name on a write error. */
int rec_onnx_write(struct rec_onnx *g, FILE *fp, const char *name);

#endif
