/* embed.h - the embedding store: a collisionless map from 64-bit feature IDs
 * to rows, created on first sight, with row-wise Adagrad state, optional
 * admission after N sightings (count-min sketch) and expiry of rows unseen for
 * a while, in fp32 or fp16. Memory per row is the figure that decides how
 * large a model fits: see rec_embed_bytes() and bench/embed-mem. */
#ifndef REC_EMBED_H
#define REC_EMBED_H

#include <stddef.h>
#include <stdint.h>

enum rec_precision { REC_FP32 = 0, REC_FP16 = 1 };

struct rec_embed_opts {
	unsigned dim;             /* floats per row (16) */
	int precision;            /* REC_FP32 or REC_FP16 */
	float init_scale;         /* new rows are uniform in [-s, s] (0.01) */
	uint64_t seed;            /* initial values depend on (seed, id) only */
	uint32_t min_count;       /* a row is created at the Nth sighting (1 = at once) */
	uint32_t expire_after;    /* drop rows unseen for this many ticks (0 = never) */
};
#define REC_EMBED_OPTS_INIT { .dim = 16, .precision = REC_FP32, .init_scale = 0.01f, \
			      .min_count = 1 }

struct rec_embed;

struct rec_embed *rec_embed_new(const struct rec_embed_opts *o);
void rec_embed_free(struct rec_embed *e);
const struct rec_embed_opts *rec_embed_opts(const struct rec_embed *e);

#define REC_EMBED_NONE UINT32_MAX

/* The row of id, or REC_EMBED_NONE. With create set, a missing row is made
 * (once admitted: with min_count > 1 an ID must be seen that often first,
 * and each call counts as a sighting). Marks the row as seen now. */
uint32_t rec_embed_find(struct rec_embed *e, uint64_t id, int create);

/* rows[i] = rec_embed_find(e, ids[i], create) for i in order, with the
 * cache misses of many lookups overlapped, for each i whose rows[i] is
 * REC_EMBED_NONE on entry (the others are the caller's, found before);
 * returns how many got none. */
size_t rec_embed_find_many(struct rec_embed *e, const uint64_t *ids, size_t n, int create, uint32_t *rows);

/* Row values as floats (converted from fp16 when stored so). */
void rec_embed_read(const struct rec_embed *e, uint32_t row, float *out);
void rec_embed_write(struct rec_embed *e, uint32_t row, const float *in);
/* The n rows one after the other into out (n x dim). */
void rec_embed_read_many(const struct rec_embed *e, const uint32_t *rows, size_t n, float *out);
/* fp32 rows: the row's values in place, for a caller's own inlined loops;
 * NULL for fp16. Rows never move while the store only grows (until
 * rec_embed_expire). */
float *rec_embed_values(struct rec_embed *e, uint32_t row);
/* fp32 rows: values[i] and acc[i] point at rows[i]'s values and Adagrad
 * accumulator in place, for a caller's own fused update (valid while the
 * store only grows); -1, setting nothing, for fp16 rows. */
int rec_embed_places(struct rec_embed *e, const uint32_t *rows, size_t n, float **values, float **acc);
/* out += row * scale, without a temporary (pooling). */
void rec_embed_axpy(const struct rec_embed *e, uint32_t row, float scale, float *out);
/* row . v (dim floats); fp32 rows sum in vector lanes, not index order. */
float rec_embed_dot(const struct rec_embed *e, uint32_t row, const float *v);
/* Row-wise Adagrad: acc += mean(g^2); row -= lr * g / (sqrt(acc) + eps). */
void rec_embed_adagrad(struct rec_embed *e, uint32_t row, const float *grad, float lr, float eps);
/* rec_embed_adagrad on rows[i] with gradient grad + i dim, in order (a row
 * may come twice). */
void rec_embed_adagrad_many(struct rec_embed *e, const uint32_t *rows, size_t n, const float *grad,
			    float lr, float eps);
/* rec_embed_adagrad for the gradient s v, with sumsq = sum((s v)^2) given:
 * a caller whose gradients are multiples of a few vectors (lightfm) needs
 * neither to write them out nor to sum each one's squares. */
void rec_embed_adagrad_scaled(struct rec_embed *e, uint32_t row, const float *v, float s, float sumsq,
			      float lr, float eps);
/* Plain SGD with L2: row -= lr * (g + l2 * row). */
void rec_embed_sgd(struct rec_embed *e, uint32_t row, const float *grad, float lr, float l2);
float rec_embed_state(const struct rec_embed *e, uint32_t row);
void rec_embed_set_state(struct rec_embed *e, uint32_t row, float acc);
uint64_t rec_embed_id(const struct rec_embed *e, uint32_t row);

size_t rec_embed_rows(const struct rec_embed *e);
/* Bytes held: rows (ID, state, values, last-seen tick), the index, the sketch. */
size_t rec_embed_bytes(const struct rec_embed *e);

/* Advances the clock used by expiry (e.g. once per N examples). */
void rec_embed_tick(struct rec_embed *e);
/* Drops rows unseen for more than expire_after ticks; returns how many. Row
 * numbers of the remaining rows change. */
size_t rec_embed_expire(struct rec_embed *e);

/* Model files (embedio.c): the tensors embd.ids (u64), embd.rows (f32,
 * rows x dim) and embd.state (f32 Adagrad accumulators). Saving writes them
 * from the table at commit, without a copy: the table must not change
 * until the writer commits. */
struct rec_model;
struct rec_model_writer;
int rec_embed_save(const struct rec_embed *e, struct rec_model_writer *w);
/* Fills an empty table from a model's tensors, streamed from the archive
 * when the model was opened lazily (rec_model_open_lazy) and they come
 * next; -1 after a message. */
int rec_embed_load(struct rec_embed *e, const struct rec_model *mf);

/* float <-> IEEE half, round to nearest even (exposed for tests). */
uint16_t rec_half_from_float(float f);
float rec_half_to_float(uint16_t h);

#endif
