/* export.c - a model read for export: checked as the tools load it, its
 * rows pruned by norm and rounded to the serving precision, then written
 * in the chosen format (the writers are export_npz.c, export_st.c and
 * export_text.c; a recpipe model goes through model.c). */
#include "config.h"
#include "export.h"
#include "ctr.h"
#include "embed.h"
#include "err.h"
#include "hash.h"
#include "io.h"
#include "sasrec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const format_names[] = { "npz", "safetensors", "text", "recm", "onnx" };
static const char *const precision_names[] = { "fp32", "fp16", "bf16", "int8" };

static int name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

int rec_export_format_parse(const char *name)
{
	return name_index(format_names, NELEM(format_names), name);
}

const char *rec_export_format_name(int format)
{
	return format_names[format];
}

int rec_export_precision_parse(const char *name)
{
	return name_index(precision_names, NELEM(precision_names), name);
}

const char *rec_export_precision_name(int precision)
{
	return precision_names[precision];
}

int rec_export_check_opts(const struct rec_export_opts *o)
{
	/* text would print int8 rows dequantized, hiding the codes and scales */
	if (o->format == REC_EXPORT_TEXT && o->precision == REC_EXPORT_INT8)
		return rec_error("--precision int8 does not apply to --format text "
				 "(npz, safetensors and recm take it)");
	if (o->format == REC_EXPORT_RECM && o->weights_only)
		return rec_error("--weights-only does not apply to --format recm "
				 "(loading a model needs its optimizer state)");
	if (o->fields_from && o->format != REC_EXPORT_TEXT)
		return rec_error("--fields-from applies to --format text only");
	return 0;
}

size_t rec_export_row_bytes(size_t dim, int precision)
{
	static const size_t elem[] = { 4, 2, 2, 1 };

	return 8 + dim * elem[precision] + (precision == REC_EXPORT_INT8 ? 4 : 0);
}

/* ---- the row encodings -------------------------------------------------- */

float rec_export_int8(const float *row, size_t dim, int8_t *q)
{
	float max = 0, scale;

	for (size_t i = 0; i < dim; i++)
		if (fabsf(row[i]) > max)
			max = fabsf(row[i]);
	scale = max / 127;
	for (size_t i = 0; i < dim; i++) {
		float r = scale > 0 ? row[i] / scale : 0;
		/* rounding may land a hair above 127; NaN has no code */
		r = r > 127 ? 127 : r < -127 ? -127 : r == r ? r : 0;
		q[i] = (int8_t)lrintf(r);
	}
	return scale;
}

uint16_t rec_bf16_from_float(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);  /* a NaN stays a (quiet) NaN */
	u += 0x7fffu + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

float rec_bf16_to_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* ---- which rows ----------------------------------------------------------- */

struct ranked {
	double norm;
	size_t row;
};

static int by_norm_desc(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;

	if (a->norm != b->norm)
		return a->norm > b->norm ? -1 : 1;
	return a->row < b->row ? -1 : a->row > b->row;
}

size_t rec_export_select(const double *norm, size_t n, size_t top, double min_norm,
			 unsigned char *keep)
{
	struct ranked *r = rec_xmalloc((n + 1) * sizeof(*r));
	size_t m = 0, kept;

	for (size_t i = 0; i < n; i++) {
		keep[i] = 0;
		if (!(min_norm > 0) || norm[i] >= min_norm)
			r[m++] = (struct ranked){ norm[i] == norm[i] ? norm[i] : -1, i };
	}
	kept = top && top < m ? top : m;
	if (kept < m)
		qsort(r, m, sizeof(*r), by_norm_desc);
	for (size_t i = 0; i < kept; i++)
		keep[r[i].row] = 1;
	free(r);
	return kept;
}

/* The floats of a row that scoring reads: an FTRL row's z is not a weight. */
static size_t weights_per_row(const struct rec_export *x)
{
	const char *opt = rec_kv_get(&x->meta, "model.optimizer");

	return strcmp(x->kind, "lr") == 0 && opt && strcmp(opt, "ftrl") == 0 ? 1 : x->dim;
}

static double *row_norms(const struct rec_export *x, const float *rows)
{
	double *norm = rec_xmalloc((x->rows_in + 1) * sizeof(double));
	size_t used = weights_per_row(x);

	for (size_t r = 0; r < x->rows_in; r++) {
		double s = 0;
		for (size_t i = 0; i < used; i++)
			s += (double)rows[r * x->dim + i] * rows[r * x->dim + i];
		norm[r] = sqrt(s);
	}
	return norm;
}

/* Copies the kept rows' IDs, values and state out of the model's tensors. */
static void keep_rows(struct rec_export *x, const struct rec_export_opts *o)
{
	const uint64_t *ids = rec_model_tensor(x->mf, "embd.ids")->data;
	const float *rows = rec_model_tensor(x->mf, "embd.rows")->data;
	const float *state = rec_model_tensor(x->mf, "embd.state")->data;
	unsigned char *keep = rec_xmalloc(x->rows_in + 1);
	double *norm = row_norms(x, rows);
	size_t k = 0;

	x->nrows = rec_export_select(norm, x->rows_in, o->top_rows, o->min_norm, keep);
	x->ids = rec_xmalloc((x->nrows + 1) * sizeof(uint64_t));
	x->rows = rec_xmalloc((x->nrows * x->dim + 1) * sizeof(float));
	x->state = rec_xmalloc((x->nrows + 1) * sizeof(float));
	for (size_t r = 0; r < x->rows_in; r++) {
		if (!keep[r])
			continue;
		x->ids[k] = ids[r];
		x->state[k] = state[r];
		memcpy(x->rows + k++ * x->dim, rows + r * x->dim, x->dim * sizeof(float));
	}
	free(keep);
	free(norm);
}

/* ---- the tensors to write ------------------------------------------------- */

static void add_tensor(struct rec_export *x, const char *name, const char *dtype, const size_t *shape,
		       size_t ndim, const void *data, void *owned)
{
	struct rec_tensor *t;

	x->t = rec_xrealloc(x->t, (x->nt + 1) * sizeof(*x->t));
	t = &x->t[x->nt++];
	memset(t, 0, sizeof(*t));
	t->name = rec_xstrdup(name);
	snprintf(t->dtype, sizeof(t->dtype), "%s", dtype);
	t->bytes = rec_dtype_size(dtype);
	for (size_t d = 0; d < ndim; d++) {
		t->shape[d] = shape[d];
		t->bytes *= shape[d];
	}
	t->ndim = ndim;
	t->data = data;
	t->owned = owned;
}

/* embd.rows at the precision (and embd.scale for int8); x->rows becomes
 * what a reader gets back, so that text and recm hold the same values. */
static void add_rows(struct rec_export *x, int encoded)
{
	size_t n = x->nrows, d = x->dim, shape[2] = { n, d };
	uint16_t *h = x->precision == REC_EXPORT_FP16 || x->precision == REC_EXPORT_BF16 ?
		      rec_xmalloc((n * d + 1) * sizeof(uint16_t)) : NULL;
	int8_t *q = x->precision == REC_EXPORT_INT8 ? rec_xmalloc(n * d + 1) : NULL;
	float *scale = q ? rec_xmalloc((n + 1) * sizeof(float)) : NULL;

	for (size_t i = 0; h && i < n * d; i++) {
		int fp16 = x->precision == REC_EXPORT_FP16;
		h[i] = fp16 ? rec_half_from_float(x->rows[i]) : rec_bf16_from_float(x->rows[i]);
		x->rows[i] = fp16 ? rec_half_to_float(h[i]) : rec_bf16_to_float(h[i]);
	}
	for (size_t r = 0; q && r < n; r++) {
		scale[r] = rec_export_int8(x->rows + r * d, d, q + r * d);
		for (size_t i = 0; i < d; i++)
			x->rows[r * d + i] = q[r * d + i] * scale[r];
	}
	if (!encoded || x->precision == REC_EXPORT_FP32) {
		add_tensor(x, "embd.rows", "f32", shape, 2, x->rows, NULL);
		free(h);
		free(q);
		free(scale);
	} else if (h) {
		add_tensor(x, "embd.rows", x->precision == REC_EXPORT_FP16 ? "f16" : "bf16", shape, 2, h, h);
	} else {
		add_tensor(x, "embd.rows", "i8", shape, 2, q, q);
		add_tensor(x, "embd.scale", "f32", shape, 1, scale, scale);
	}
}

static int optimizer_state(const char *name)
{
	size_t len = strlen(name);

	return strcmp(name, "embd.state") == 0 || (len > 5 && strcmp(name + len - 5, ".adam") == 0);
}

/* Every tensor of the model in file order, the embedding ones swapped for
 * the kept rows: npz and safetensors get the encoded rows, text and recm
 * the values they decode to. */
static int build_tensors(struct rec_export *x, int weights_only)
{
	int encoded = x->format == REC_EXPORT_NPZ || x->format == REC_EXPORT_SAFETENSORS ||
		      x->format == REC_EXPORT_ONNX;

	for (size_t i = 0; i < x->mf->nt; i++) {
		const struct rec_tensor *t = &x->mf->t[i];
		if (weights_only && optimizer_state(t->name))
			continue;
		if (strcmp(t->name, "embd.ids") == 0)
			add_tensor(x, t->name, "u64", &x->nrows, 1, x->ids, NULL);
		else if (strcmp(t->name, "embd.rows") == 0)
			add_rows(x, encoded);
		else if (strcmp(t->name, "embd.state") == 0)
			add_tensor(x, t->name, "f32", &x->nrows, 1, x->state, NULL);
		else if (strcmp(t->name, "embd.scale") == 0 && x->precision == REC_EXPORT_INT8 && encoded)
			return rec_error("'%s': the model has a tensor 'embd.scale' of its own, "
					 "which int8 rows would shadow", x->name);
		else
			add_tensor(x, t->name, t->dtype, t->shape, t->ndim, t->data, NULL);
	}
	return 0;
}

/* ---- which field a row is of ---------------------------------------------- */

struct id_row {
	uint64_t id;
	size_t row;
};

static int by_id(const void *pa, const void *pb)
{
	const struct id_row *a = pa, *b = pb;

	return a->id < b->id ? -1 : a->id > b->id;
}

static long find_row(const struct id_row *ix, size_t n, uint64_t id)
{
	struct id_row key = { id, 0 };
	const struct id_row *hit = bsearch(&key, ix, n, sizeof(*ix), by_id);

	return hit ? (long)hit->row : -1;
}

static void mark(struct rec_export *x, long row, int f)
{
	if (row >= 0)
		x->field[row] = x->field[row] == -1 || x->field[row] == f ? f : -2;
}

/* A numeric field's row has an ID made from the field's name (rec-model(5));
 * dlrm and ncf give numeric fields no row. */
static void mark_numeric(struct rec_export *x, const struct id_row *ix)
{
	const struct rec_schema *s = x->schema;

	if (strcmp(x->kind, "dlrm") == 0 || strcmp(x->kind, "ncf") == 0)
		return;
	for (size_t f = 0; f < s->nfields; f++)
		if (s->field[f].kind == REC_NUMERIC)
			mark(x, find_row(ix, x->nrows, rec_hash_salt(s->seed, s->field[f].name) ^
						       UINT64_C(0x6e756d6572696300)), (int)f);
}

static void mark_block(struct rec_export *x, const struct id_row *ix, const struct rec_block *b)
{
	for (size_t f = 0; f < x->schema->nfields; f++) {
		if (x->schema->field[f].kind == REC_NUMERIC)
			continue;
		for (size_t i = 0; i < b->col[f].nval; i++)
			mark(x, find_row(ix, x->nrows, b->col[f].id[i]), (int)f);
	}
}

/* Every ID of a stream hashed like the model's names its field. */
static int mark_stream(struct rec_export *x, const struct id_row *ix, const char *path)
{
	struct rec_reader *r = rec_reader_open(path);
	const struct rec_block *b;
	int rc;

	if (!r)
		return -1;
	rc = rec_schema_check(x->schema, rec_reader_schema(r), rec_reader_name(r));
	while (rc == 0 && (rc = rec_reader_next(r, &b)) > 0) {
		mark_block(x, ix, b);
		rc = 0;
	}
	rec_reader_close(r);
	return rc;
}

static int find_fields(struct rec_export *x, const char *stream)
{
	struct id_row *ix = rec_xmalloc((x->nrows + 1) * sizeof(*ix));
	int rc = 0;

	x->field = rec_xmalloc((x->nrows + 1) * sizeof(int));
	for (size_t r = 0; r < x->nrows; r++) {
		x->field[r] = -1;
		ix[r] = (struct id_row){ x->ids[r], r };
	}
	qsort(ix, x->nrows, sizeof(*ix), by_id);
	mark_numeric(x, ix);
	if (stream) {
		rc = mark_stream(x, ix, stream);
		x->fields_from_stream = 1;
	}
	free(ix);
	return rc;
}

/* ---- reading -------------------------------------------------------------- */

/* Loads the model as rec-eval would, so that whatever it refuses is refused
 * here too, and keeps what the export needs to know of it: for ONNX, the
 * whole model, whose structure the graph follows. */
static int check_model(struct rec_export *x)
{
	struct rec_ctr *c = rec_ctr_from_model(x->mf);

	if (!c)
		return -1;
	snprintf(x->kind, sizeof(x->kind), "%s", rec_ctr_kind(c));
	x->dim = rec_embed_opts(rec_ctr_table(c))->dim;
	x->rows_in = rec_embed_rows(rec_ctr_table(c));
	x->schema = rec_schema_copy(rec_ctr_schema(c));
	if (x->format == REC_EXPORT_ONNX)
		x->ctr = c;
	else
		rec_ctr_free(c);
	return 0;
}

/* The model's keys but the checksums (of tensors that change), and how the
 * export changed it. A model exported before keeps what that export did
 * (rounding and pruning cannot be undone) and its rows as trained. */
static void export_meta(struct rec_export *x, const struct rec_export_opts *o)
{
	const struct rec_kv *kv = &x->mf->manifest;

	for (size_t i = 0; i < kv->n; i++)
		if (strncmp(kv->key[i], "checksum.", 9) != 0)
			rec_kv_set(&x->meta, kv->key[i], kv->val[i]);
	if (o->precision != REC_EXPORT_FP32 || !rec_kv_get(&x->meta, "export.precision"))
		rec_kv_set(&x->meta, "export.precision", rec_export_precision_name(o->precision));
	if (!rec_kv_get(&x->meta, "export.source_rows"))
		rec_kv_setf(&x->meta, "export.source_rows", "%zu", x->rows_in);
	if (o->top_rows)
		rec_kv_setf(&x->meta, "export.top_rows", "%zu", o->top_rows);
	if (o->min_norm > 0)
		rec_kv_setf(&x->meta, "export.min_norm", "%.9g", o->min_norm);
	if (o->weights_only && o->format != REC_EXPORT_TEXT)
		rec_kv_set(&x->meta, "export.weights_only", "1");
}

/* A sasrec model has no embedding rows of the click models' kind: only
 * its whole ONNX graph is written, the item table as trained. */
static int open_sasrec(struct rec_export *x, const struct rec_export_opts *o)
{
	if (x->format != REC_EXPORT_ONNX)
		return rec_error("'%s': a sasrec model: only rec-eval and rec-rank read it "
				 "(rec-export writes it only as onnx)", x->name);
	if (o->precision != REC_EXPORT_FP32 || o->top_rows || o->min_norm > 0)
		return rec_error("'%s': a sasrec graph holds its item table whole and in fp32 "
				 "(--precision, --top-rows and --min-norm do not apply)", x->name);
	if (!(x->sas = rec_sasrec_load_model(x->mf)))
		return -1;
	snprintf(x->kind, sizeof(x->kind), "sasrec");
	x->dim = x->sas->o.dim;
	x->rows_in = x->nrows = x->sas->nitems - 1;
	x->schema = rec_schema_copy(x->sas->schema);
	export_meta(x, o);
	return 0;
}

static int is_sasrec(const struct rec_model *mf)
{
	const char *kind = rec_kv_get(&mf->manifest, "model.kind");

	return kind && strcmp(kind, "sasrec") == 0;
}

struct rec_export *rec_export_open(const char *path, const struct rec_export_opts *o)
{
	struct rec_export *x = rec_xcalloc(1, sizeof(*x));

	x->format = o->format;
	x->precision = o->precision;
	if (!(x->mf = rec_model_open(path)))
		goto fail;
	x->name = rec_xstrdup(x->mf->name);
	if (is_sasrec(x->mf)) {
		if (open_sasrec(x, o) < 0)
			goto fail;
		return x;
	}
	if (check_model(x) < 0)
		goto fail;
	export_meta(x, o);
	keep_rows(x, o);
	/* text is for people and ONNX for serving: optimizer state is noise there */
	if (build_tensors(x, o->weights_only || o->format == REC_EXPORT_TEXT ||
			     o->format == REC_EXPORT_ONNX) < 0 ||
	    find_fields(x, o->format == REC_EXPORT_TEXT ? o->fields_from : NULL) < 0)
		goto fail;
	return x;
fail:
	rec_export_free(x);
	return NULL;
}

void rec_export_free(struct rec_export *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nt; i++) {
		free(x->t[i].name);
		free(x->t[i].owned);
	}
	free(x->t);
	free(x->ids);
	free(x->rows);
	free(x->state);
	free(x->field);
	rec_schema_free(x->schema);
	rec_ctr_free(x->ctr);
	rec_sasrec_free(x->sas);
	rec_kv_free(&x->meta);
	rec_model_close(x->mf);
	free(x->name);
	free(x);
}

/* ---- writing -------------------------------------------------------------- */

char *rec_export_manifest_text(const struct rec_export *x, size_t *len)
{
	size_t cap = 1, n = 0;
	char *s;

	for (size_t i = 0; i < x->meta.n; i++)
		cap += strlen(x->meta.key[i]) + strlen(x->meta.val[i]) + 4;
	s = rec_xmalloc(cap);
	for (size_t i = 0; i < x->meta.n; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s = %s\n", x->meta.key[i], x->meta.val[i]);
	*len = n;
	return s;
}

/* Back into a model file that rec-eval and rec-train read as any other. */
static int write_recm(const struct rec_export *x, const char *path, int force)
{
	struct rec_model_writer *w = rec_model_create(path, force);

	if (!w)
		return -1;
	for (size_t i = 0; i < x->nt; i++) {
		const struct rec_tensor *t = &x->t[i];
		if (rec_model_add(w, t->name, t->dtype, t->shape, t->ndim, t->data) < 0) {
			rec_model_abort(w);
			return -1;
		}
	}
	return rec_model_commit(w, &x->meta);
}

int rec_export_write(const struct rec_export *x, const char *path, int force)
{
	struct rec_out out;
	int rc;

	if (x->format == REC_EXPORT_RECM)
		return write_recm(x, path, force);
	if (rec_out_open(&out, path, x->format != REC_EXPORT_TEXT, force) < 0)
		return -1;
	if (x->format == REC_EXPORT_NPZ)
		rc = rec_export_npz(x, out.fp, rec_out_name(&out));
	else if (x->format == REC_EXPORT_SAFETENSORS)
		rc = rec_export_safetensors(x, out.fp);
	else if (x->format == REC_EXPORT_ONNX && x->sas)
		rc = rec_export_sasrec_onnx(x, out.fp, rec_out_name(&out));
	else if (x->format == REC_EXPORT_ONNX)
		rc = rec_export_onnx(x, out.fp, rec_out_name(&out));
	else
		rc = rec_export_text(x, out.fp);
	if (rc < 0) {
		rec_out_abort(&out);
		return -1;
	}
	return rec_out_commit(&out);
}
