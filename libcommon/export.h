/* export.h - a model's tensors in formats other tools read: NumPy .npz,
 * safetensors, text for people, or a recpipe model again; for serving,
 * the embedding rows may be pruned by norm and stored in fp16, bf16 or
 * int8 with a per-row scale. Described in rec-export(1). */
#ifndef REC_EXPORT_H
#define REC_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "stream.h"

struct rec_ctr;
struct rec_sasrec;

enum rec_export_format {
	REC_EXPORT_NPZ,
	REC_EXPORT_SAFETENSORS,
	REC_EXPORT_TEXT,
	REC_EXPORT_RECM,
	REC_EXPORT_ONNX
};

enum rec_export_precision { REC_EXPORT_FP32, REC_EXPORT_FP16, REC_EXPORT_BF16, REC_EXPORT_INT8 };

struct rec_export_opts {
	int format;               /* enum rec_export_format */
	int precision;            /* enum rec_export_precision of embd.rows */
	size_t top_rows;          /* keep the rows of the N largest norms (0 = all) */
	double min_norm;          /* drop rows of a smaller L2 norm (0 = none) */
	int weights_only;         /* leave out embd.state and the *.adam moments */
	const char *fields_from;  /* text: a hashed stream that tells each row's field */
};

/* A checked model and its tensors as they will be written, in file order:
 * the embedding tensors pruned and re-encoded, the others as they are. */
struct rec_export {
	char *name;               /* the model file, for messages */
	struct rec_kv meta;       /* its keys, without checksums, plus export.* */
	struct rec_schema *schema;
	char kind[8];
	size_t dim;               /* floats per row */
	size_t rows_in, nrows;    /* rows in the model, rows kept */
	uint64_t *ids;            /* the kept rows' IDs */
	float *rows;              /* their values rounded to the precision: nrows x dim */
	float *state;             /* their optimizer state */
	int *field;               /* per kept row: its field, -1 unknown, -2 several */
	int fields_from_stream;   /* field was filled from a stream (--fields-from) */
	int format, precision;
	struct rec_tensor *t;
	size_t nt;
	struct rec_model *mf;     /* holds the data of the tensors passed through */
	struct rec_ctr *ctr;      /* onnx: the model itself, whose graph is written */
	struct rec_sasrec *sas;   /* onnx of a sasrec model: the model (no rows, no tensors) */
};

/* Names <-> enums; -1 when unknown. */
int rec_export_format_parse(const char *name);
const char *rec_export_format_name(int format);
int rec_export_precision_parse(const char *name);
const char *rec_export_precision_name(int precision);

/* -1 after a message when o asks for something the format cannot do. */
int rec_export_check_opts(const struct rec_export_opts *o);
/* Reads and checks the model at path (NULL or "-" = stdin) as rec-eval
 * would, then prunes and encodes its rows for o->format (a sasrec model
 * is only loaded, and refused but for onnx at fp32, unpruned); NULL after
 * a message. */
struct rec_export *rec_export_open(const char *path, const struct rec_export_opts *o);
/* Writes x to path (NULL or "-" = stdout; a binary format is refused on a
 * terminal unless force); nothing is left behind on failure. */
int rec_export_write(const struct rec_export *x, const char *path, int force);
void rec_export_free(struct rec_export *x);

/* The writers, onto an open stream; -1 after a message. */
int rec_export_npz(const struct rec_export *x, FILE *fp, const char *name);
int rec_export_safetensors(const struct rec_export *x, FILE *fp);
int rec_export_text(const struct rec_export *x, FILE *fp);
/* The model as an ONNX graph (export_onnx.c); name is for messages. */
int rec_export_onnx(const struct rec_export *x, FILE *fp, const char *name);
/* A sasrec model as an ONNX graph from a user's history to the scores of
 * every item (export_sasrec.c). */
int rec_export_sasrec_onnx(const struct rec_export *x, FILE *fp, const char *name);
/* The manifest keys as "key = value" lines (the npz's manifest entry). */
char *rec_export_manifest_text(const struct rec_export *x, size_t *len);

/* Bytes a served row takes: its 8-byte ID, dim values at precision and,
 * for int8, its 4-byte float scale. */
size_t rec_export_row_bytes(size_t dim, int precision);

/* Symmetric int8: scale = max|v| / 127, q = round(v / scale); row ~ q x scale.
 * Returns the scale (0 for a row of zeros, whose q are 0). */
float rec_export_int8(const float *row, size_t dim, int8_t *q);
/* bfloat16: the high half of a binary32, rounded to nearest even. */
uint16_t rec_bf16_from_float(float f);
float rec_bf16_to_float(uint16_t h);

/* Marks in keep the rows to export: those of norm at least min_norm, and of
 * these the top ones (0 = all) by norm, ties to the earlier row. Returns how
 * many are kept. */
size_t rec_export_select(const double *norm, size_t n, size_t top, double min_norm,
			 unsigned char *keep);

#endif
