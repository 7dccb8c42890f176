/* model.h - model files: a zstd-compressed tar archive (`tar -tvf` lists
 * it) holding a MANIFEST of "key = value" lines first, then one member per
 * tensor in raw little-endian bytes, each declared in the manifest as
 * "tensor.<name> = <dtype> <d0> [<d1> ...]". Described in rec-model(5). */
#ifndef REC_MODEL_H
#define REC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define REC_MODEL_VERSION 1u
#define REC_MODEL_MAX_DIMS 4

/* An ordered list of key = value pairs. */
struct rec_kv {
	char **key, **val;
	size_t n, cap;
};

/* Replaces the value of key, or appends the pair. */
void rec_kv_set(struct rec_kv *kv, const char *key, const char *val);
void rec_kv_setf(struct rec_kv *kv, const char *key, const char *fmt, ...) REC_PRINTF(3, 4);
/* The value of key, or NULL. */
const char *rec_kv_get(const struct rec_kv *kv, const char *key);
void rec_kv_free(struct rec_kv *kv);

struct rec_tensor {
	char *name;
	char dtype[8];             /* f32 f16 bf16 i8 u32 u64 i64 */
	size_t shape[REC_MODEL_MAX_DIMS], ndim;
	size_t bytes;
	const void *data;
	void *owned;               /* read tensors own their data */
	int streamed;              /* read piece by piece (rec_model_stream), not kept */
	/* written tensors without data: their bytes come from fill */
	void (*fill)(const void *ctx, size_t r0, size_t n, void *out);
	const void *ctx;
};

/* Bytes of one element of dtype, 0 when unknown. */
size_t rec_dtype_size(const char *dtype);

struct rec_model_writer;

/* Starts a model at path (NULL or "-" = stdout; a terminal is refused unless
 * force); the file appears only on commit. NULL after a message. */
struct rec_model_writer *rec_model_create(const char *path, int force);
/* Adds a tensor; data must stay valid until commit. -1 on a bad name/dtype. */
int rec_model_add(struct rec_model_writer *w, const char *name, const char *dtype,
		  const size_t *shape, size_t ndim, const void *data);
/* Adds a tensor whose bytes fill(ctx, r0, n, out) writes at commit, n of
 * its rows (along the first dimension) from row r0 at a time, so that a
 * table is written without a copy of itself; it is read twice (checksum,
 * then data) and must not change until commit. */
int rec_model_add_filled(struct rec_model_writer *w, const char *name, const char *dtype,
			 const size_t *shape, size_t ndim,
			 void (*fill)(const void *ctx, size_t r0, size_t n, void *out), const void *ctx);
/* Writes the manifest (the caller's keys, rec.format_version and the tensor
 * lines) and every tensor, then renames into place. Frees w. */
int rec_model_commit(struct rec_model_writer *w, const struct rec_kv *manifest);
/* Drops the model: nothing is left behind. Frees w. */
void rec_model_abort(struct rec_model_writer *w);

struct rec_model {
	char *name;
	struct rec_kv manifest;    /* without the tensor lines */
	struct rec_tensor *t;
	size_t nt;
	struct rec_model_rest *rest; /* a lazy model's archive, still open */
};

/* Reads a whole model, checking every member against the manifest. NULL
 * after a one-line message naming the file and what was wrong. */
struct rec_model *rec_model_open(const char *path);
/* The same up to the first embedding member (embd.*): the rest is read when
 * a tensor there is asked for (rec_model_expect), or streamed into a table
 * (rec_model_stream), so that loading needs no second copy of the table. A
 * damaged or missing member is then found there, and it is the same error. */
struct rec_model *rec_model_open_lazy(const char *path);
/* When tensor name is a lazy model's next member: its rows (along the first
 * dimension) r0 .. r0+n-1 to take(ctx, r0, n, rows) a megabyte or so at a
 * time, its size and checksum checked; a nonzero take stops it (having
 * said why). 0, -1 after a message, or 1 when name is not next (read it
 * with rec_model_expect then). */
int rec_model_stream(const struct rec_model *m, const char *name,
		     int (*take)(void *ctx, size_t r0, size_t n, const void *rows), void *ctx);
/* The MANIFEST alone, no tensor read (what kind of model a file holds). */
struct rec_model *rec_model_peek(const char *path);
const struct rec_tensor *rec_model_tensor(const struct rec_model *m, const char *name);
void rec_model_close(struct rec_model *m);
/* Tensor name's declaration if it holds count elements of dtype; NULL
 * after a message otherwise. */
const struct rec_tensor *rec_model_declared(const struct rec_model *m, const char *name, const char *dtype,
					   size_t count);
/* The data of tensor name if it holds count elements of dtype (read now
 * when a lazy model has not yet); NULL after a message otherwise.
 * rec_model_tensor gives the declaration, whose data a lazy model may not
 * have read. */
const void *rec_model_expect(const struct rec_model *m, const char *name, const char *dtype,
			     size_t count);

/* A number from the manifest into *out when the key is there (older files
 * may lack it: *out keeps its default); -1 after a message naming the file
 * and the key when it is not a number. */
int rec_model_float(const struct rec_model *m, const char *key, float *out);
int rec_model_u64(const struct rec_model *m, const char *key, uint64_t *out);
/* The same for a table of keys, each into a float (f) or an integer (u). */
struct rec_model_number {
	const char *key;
	float *f;
	uint64_t *u;
};
int rec_model_numbers(const struct rec_model *m, const struct rec_model_number *k, size_t n);

/* The stream schema as manifest keys (stream.*), so that a model reads and
 * hashes new data exactly as it was trained, and back. */
struct rec_schema;
void rec_schema_to_kv(const struct rec_schema *s, struct rec_kv *kv);
struct rec_schema *rec_schema_from_kv(const struct rec_kv *kv, const char *name);
/* -1 (after a message naming both) when a stream's schema is not the one a
 * model was trained on. */
int rec_schema_check(const struct rec_schema *model, const struct rec_schema *s, const char *name);

#endif
