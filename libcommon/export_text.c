/* export_text.c - a model as tab-separated text for people, grep and sort:
 * a summary in comment lines, one line per embedding row (ID, field,
 * values), then each dense tensor as a "# tensor" block, one row per line.
 * Floats are printed with %.6g; the tools never set a locale, so with a
 * '.' whatever the environment says. */
#include "config.h"
#include "export.h"
#include "embed.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* What the floats of a row are, as rec-model(5) names them. */
static void row_layout(const struct rec_export *x, FILE *fp)
{
	const char *k = rec_kv_get(&x->meta, "model.dim");

	if (strcmp(x->kind, "lr") == 0)
		fputs(x->dim == 2 ? "w z" : "w", fp);
	else if (strcmp(x->kind, "fm") == 0 || strcmp(x->kind, "deepfm") == 0)
		fprintf(fp, "w v_1..v_%s", k);
	else if (strcmp(x->kind, "ffm") == 0)
		fprintf(fp, "w, then %zu vectors of %s, one per field", x->schema->nfields, k);
	else if (strcmp(x->kind, "dlrm") == 0)
		fprintf(fp, "v_1..v_%s", k);
	else
		fprintf(fp, "p_gmf (%s), p_mlp (%s)", k, k);
}

/* How many rows a field has when that can be told without a stream:
 * numeric fields have rows of known IDs, or none in dlrm and ncf, and ncf
 * has rows for its user and item fields only. -1 when it cannot. */
static long known_rows(const struct rec_export *x, size_t f, const size_t *count)
{
	const struct rec_field *fd = &x->schema->field[f];
	const char *user = rec_kv_get(&x->meta, "model.user_field");
	const char *item = rec_kv_get(&x->meta, "model.item_field");

	if (x->fields_from_stream || fd->kind == REC_NUMERIC)
		return (long)count[f];
	if (strcmp(x->kind, "ncf") == 0 && strcmp(fd->name, user ? user : "user") != 0 &&
	    strcmp(fd->name, item ? item : "item") != 0)
		return 0;
	return -1;
}

static void rows_per_field(const struct rec_export *x, FILE *fp)
{
	size_t nf = x->schema->nfields, *count = rec_xcalloc(nf + 1, sizeof(size_t));
	size_t unknown = 0, several = 0;

	for (size_t r = 0; r < x->nrows; r++) {
		if (x->field[r] >= 0)
			count[x->field[r]]++;
		else if (x->field[r] == -1)
			unknown++;
		else
			several++;
	}
	fputs("# rows per field:", fp);
	for (size_t f = 0; f < nf; f++) {
		long n = known_rows(x, f, count);
		fprintf(fp, "%s %s ", f ? "," : "", x->schema->field[f].name);
		if (n < 0)
			fputs("-", fp);
		else
			fprintf(fp, "%ld", n);
	}
	if (x->fields_from_stream)
		fprintf(fp, "; not in the stream %zu, in several fields %zu", unknown, several);
	fputs("\n", fp);
	free(count);
}

static void bytes_per_row(const struct rec_export *x, FILE *fp)
{
	static const size_t elem[] = { 4, 2, 2, 1 };
	const char *held = rec_kv_get(&x->meta, "model.row_precision");
	int p = x->precision != REC_EXPORT_FP32 ? x->precision :
		held && strcmp(held, "fp16") == 0 ? REC_EXPORT_FP16 : REC_EXPORT_FP32;

	fprintf(fp, "# bytes per row %zu at %s: ID 8 + %zu x %zu", rec_export_row_bytes(x->dim, p),
		rec_export_precision_name(p), x->dim, elem[p]);
	fprintf(fp, " (fp32 %zu, fp16 %zu, bf16 %zu, int8 %zu with its 4-byte scale)\n",
		rec_export_row_bytes(x->dim, REC_EXPORT_FP32), rec_export_row_bytes(x->dim, REC_EXPORT_FP16),
		rec_export_row_bytes(x->dim, REC_EXPORT_BF16), rec_export_row_bytes(x->dim, REC_EXPORT_INT8));
}

static void summary(const struct rec_export *x, FILE *fp)
{
	static const char *const arch[] = { "model.dim", "model.hidden", "model.bottom",
					    "model.user_field", "model.item_field",
					    "model.row_precision", "model.optimizer" };
	char *schema = rec_schema_describe(x->schema);

	fprintf(fp, "# kind %s\n", x->kind);
	for (size_t i = 0; i < sizeof(arch) / sizeof(arch[0]); i++)
		if (rec_kv_get(&x->meta, arch[i]))
			fprintf(fp, "# %s %s\n", arch[i] + 6, rec_kv_get(&x->meta, arch[i]));
	fprintf(fp, "# schema %s\n", schema);
	fprintf(fp, "# rows %zu (of %zu in the model), %zu floats each: ", x->nrows, x->rows_in, x->dim);
	row_layout(x, fp);
	fputs("\n", fp);
	rows_per_field(x, fp);
	bytes_per_row(x, fp);
	if (x->precision != REC_EXPORT_FP32)
		fprintf(fp, "# values rounded to %s\n", rec_export_precision_name(x->precision));
	for (size_t i = 0; i < x->meta.n; i++)
		if (!strncmp(x->meta.key[i], "train.", 6) || !strncmp(x->meta.key[i], "export.", 7))
			fprintf(fp, "# %s %s\n", x->meta.key[i], x->meta.val[i]);
	fputs("# id\tfield\tvalues\n", fp);
	free(schema);
}

static void rows(const struct rec_export *x, FILE *fp)
{
	for (size_t r = 0; r < x->nrows && !ferror(fp); r++) {
		const float *v = x->rows + r * x->dim;
		fprintf(fp, "%llu\t%s", (unsigned long long)x->ids[r],
			x->field[r] >= 0 ? x->schema->field[x->field[r]].name : "-");
		for (size_t i = 0; i < x->dim; i++)
			fprintf(fp, "\t%.6g", v[i]);
		fputs("\n", fp);
	}
}

static void value(FILE *fp, const struct rec_tensor *t, size_t i)
{
	const unsigned char *p = (const unsigned char *)t->data + i * rec_dtype_size(t->dtype);
	union { float f; uint16_t h; int8_t b; uint32_t u; uint64_t l; int64_t s; } v;

	memcpy(&v, p, rec_dtype_size(t->dtype));
	if (strcmp(t->dtype, "f32") == 0)
		fprintf(fp, "%.6g", v.f);
	else if (strcmp(t->dtype, "f16") == 0)
		fprintf(fp, "%.6g", rec_half_to_float(v.h));
	else if (strcmp(t->dtype, "bf16") == 0)
		fprintf(fp, "%.6g", rec_bf16_to_float(v.h));
	else if (strcmp(t->dtype, "i8") == 0)
		fprintf(fp, "%d", v.b);
	else if (strcmp(t->dtype, "u32") == 0)
		fprintf(fp, "%u", v.u);
	else if (strcmp(t->dtype, "u64") == 0)
		fprintf(fp, "%llu", (unsigned long long)v.l);
	else
		fprintf(fp, "%lld", (long long)v.s);
}

/* "# tensor deep.0.weight 128 x 112", then its last dimension per line. */
static void tensor(const struct rec_tensor *t, FILE *fp)
{
	size_t cols = t->shape[t->ndim - 1], lines = 1;

	fprintf(fp, "# tensor %s", t->name);
	for (size_t d = 0; d < t->ndim; d++) {
		fprintf(fp, "%s%zu", d ? " x " : " ", t->shape[d]);
		if (d + 1 < t->ndim)
			lines *= t->shape[d];
	}
	fputs("\n", fp);
	for (size_t l = 0; cols && l < lines && !ferror(fp); l++)
		for (size_t c = 0; c < cols; c++) {
			value(fp, t, l * cols + c);
			fputs(c + 1 < cols ? "\t" : "\n", fp);
		}
}

int rec_export_text(const struct rec_export *x, FILE *fp)
{
	summary(x, fp);
	rows(x, fp);
	for (size_t i = 0; i < x->nt && !ferror(fp); i++)
		if (strncmp(x->t[i].name, "embd.", 5) != 0)
			tensor(&x->t[i], fp);
	return 0;
}
