/* check_export.c - the row encodings (int8 with its scale, bfloat16), the
 * choice of rows by norm, bytes per row, and a small fm model exported
 * pruned and quantized, then read back; tests/cli/export.sh reads the npz,
 * safetensors and text of trained models from Python. */
#include "config.h"
#include "tests.h"
#include "export.h"
#include "fmtrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_int8)
{
	const float row[] = { 1.27f, -0.635f, 0, 0.01f, -1.0f };
	const float zero[3] = { 0 };
	int8_t q[5];
	float scale = rec_export_int8(row, 5, q);

	ck_assert_float_eq_tol(scale, 0.01f, 1e-7f);
	ck_assert_int_eq(q[0], 127);
	ck_assert_int_eq(q[1], -64);   /* -63.5 to even */
	ck_assert_int_eq(q[2], 0);
	ck_assert_int_eq(q[3], 1);
	ck_assert_int_eq(q[4], -100);
	for (int i = 0; i < 5; i++)
		ck_assert_float_eq_tol(q[i] * scale, row[i], scale / 2 + 1e-7f);
	/* a row of zeros: scale 0, codes 0, and nothing divided by 0 */
	ck_assert_float_eq(rec_export_int8(zero, 3, q), 0);
	ck_assert(q[0] == 0 && q[1] == 0 && q[2] == 0);
}
END_TEST

START_TEST(test_bf16)
{
	ck_assert_uint_eq(rec_bf16_from_float(1.0f), 0x3f80);
	ck_assert_uint_eq(rec_bf16_from_float(-2.0f), 0xc000);
	/* halfway between 1 and the next bf16 (1 + 2^-7): to even, down */
	ck_assert_uint_eq(rec_bf16_from_float(1.0f + 0x1p-8f), 0x3f80);
	/* halfway above an odd one: to even, up */
	ck_assert_uint_eq(rec_bf16_from_float(1.0078125f + 0x1p-8f), 0x3f82);
	ck_assert_uint_eq(rec_bf16_from_float(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
	ck_assert(isnan(rec_bf16_to_float(rec_bf16_from_float(NAN))));
	ck_assert_float_eq(rec_bf16_to_float(0x4049), 3.140625f);
}
END_TEST

START_TEST(test_row_bytes)
{
	/* dim 16: ID 8 + 16 values (+ a 4-byte scale for int8) */
	ck_assert_uint_eq(rec_export_row_bytes(16, REC_EXPORT_FP32), 72);
	ck_assert_uint_eq(rec_export_row_bytes(16, REC_EXPORT_FP16), 40);
	ck_assert_uint_eq(rec_export_row_bytes(16, REC_EXPORT_BF16), 40);
	ck_assert_uint_eq(rec_export_row_bytes(16, REC_EXPORT_INT8), 28);
	ck_assert_uint_eq(rec_export_row_bytes(17, REC_EXPORT_INT8), 29);
}
END_TEST

START_TEST(test_select)
{
	const double norm[] = { 3, 1, 2, 2, NAN, 0.5 };
	unsigned char keep[6];

	/* ties go to the earlier row */
	ck_assert_uint_eq(rec_export_select(norm, 6, 2, 0, keep), 2);
	ck_assert(keep[0] && !keep[1] && keep[2] && !keep[3] && !keep[4] && !keep[5]);
	ck_assert_uint_eq(rec_export_select(norm, 6, 0, 1.5, keep), 3);
	ck_assert(keep[0] && !keep[1] && keep[2] && keep[3] && !keep[4] && !keep[5]);
	ck_assert_uint_eq(rec_export_select(norm, 6, 1, 1.5, keep), 1);
	ck_assert(keep[0] && !keep[2]);
	/* nothing asked: everything, a NaN row too */
	ck_assert_uint_eq(rec_export_select(norm, 6, 0, 0, keep), 6);
	ck_assert_uint_eq(rec_export_select(norm, 6, 10, 0, keep), 6);
	ck_assert_uint_eq(rec_export_select(norm, 0, 3, 0, keep), 0);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(rec_export_format_parse("safetensors"), REC_EXPORT_SAFETENSORS);
	ck_assert_int_eq(rec_export_format_parse("onnx"), REC_EXPORT_ONNX);
	ck_assert_int_eq(rec_export_format_parse("NPZ"), -1);
	ck_assert_int_eq(rec_export_precision_parse("bf16"), REC_EXPORT_BF16);
	ck_assert_int_eq(rec_export_precision_parse("int4"), -1);
	ck_assert_str_eq(rec_export_precision_name(REC_EXPORT_INT8), "int8");
}
END_TEST

/* An fm with k = 2 over price (numeric) and item, four rows of known
 * norms: the numeric one (3), item 7 (norm 5), item 8 (1), item 9 (4). */
static const char *small_fm(void)
{
	static const float v[4][3] = { { 3, 0, 0 }, { 3, 4, 0 }, { 0, 0, 1 }, { 0, 0, -4 } };
	const char *path = test_tmpfile("small.recm");
	struct rec_schema *s = rec_schema_new(REC_HASHED);
	struct rec_fm_opts o = REC_FM_OPTS_INIT;
	struct rec_fm_model *m;

	s->id_bits = 64;
	s->seed = 5;
	ck_assert_int_eq(rec_schema_add(s, "price", REC_NUMERIC, 0), 0);
	ck_assert_int_eq(rec_schema_add(s, "item", REC_CATEGORICAL, 0), 1);
	o.k = 2;
	ck_assert_ptr_nonnull(m = rec_fm_new(s, &o));
	for (uint32_t r = 0; r < 4; r++) {
		uint64_t id = r ? 6 + r : m->numeric_id[0];
		ck_assert_uint_eq(rec_embed_find(m->table, id, 1), r);
		rec_embed_write(m->table, r, v[r]);
	}
	ck_assert_int_eq(rec_fm_save(m, path, NULL), 0);
	rec_fm_free(m);
	rec_schema_free(s);
	return path;
}

static const struct rec_tensor *find_tensor(const struct rec_export *x, const char *name)
{
	for (size_t i = 0; i < x->nt; i++)
		if (strcmp(x->t[i].name, name) == 0)
			return &x->t[i];
	return NULL;
}

START_TEST(test_export_small)
{
	const char *path = small_fm(), *out = test_tmpfile("small-top.recm");
	struct rec_export_opts o = { .format = REC_EXPORT_RECM, .top_rows = 2 };
	struct rec_export *x = rec_export_open(path, &o), *y;
	const struct rec_tensor *t;

	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->kind, "fm");
	ck_assert(x->dim == 3 && x->rows_in == 4 && x->nrows == 2);
	/* items 7 and 9 kept, in the model's order */
	ck_assert(x->ids[0] == 7 && x->ids[1] == 9);
	ck_assert(x->field[0] == -1 && x->field[1] == -1);
	ck_assert_int_eq(rec_export_write(x, out, 1), 0);
	rec_export_free(x);
	/* read back: a model of two rows, values as they were */
	o = (struct rec_export_opts){ .format = REC_EXPORT_TEXT };
	ck_assert_ptr_nonnull(y = rec_export_open(out, &o));
	ck_assert(y->nrows == 2 && y->ids[1] == 9 && y->rows[5] == -4);
	ck_assert_str_eq(rec_kv_get(&y->meta, "export.top_rows"), "2");
	ck_assert_str_eq(rec_kv_get(&y->meta, "export.source_rows"), "4");
	rec_export_free(y);
	/* int8 for safetensors: codes and scales; the numeric row is told */
	o = (struct rec_export_opts){ .format = REC_EXPORT_SAFETENSORS, .precision = REC_EXPORT_INT8 };
	ck_assert_ptr_nonnull(x = rec_export_open(path, &o));
	ck_assert_int_eq(x->field[0], 0);
	t = find_tensor(x, "embd.rows");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->dtype, "i8");
	ck_assert(((const int8_t *)t->data)[3] == 95 && ((const int8_t *)t->data)[4] == 127);
	t = find_tensor(x, "embd.scale");
	ck_assert_ptr_nonnull(t);
	ck_assert_float_eq_tol(((const float *)t->data)[1], 4.0f / 127, 1e-7f);
	ck_assert_float_eq_tol(x->rows[3], 3, 4.0f / 254);
	rec_export_free(x);
}
END_TEST

START_TEST(test_export_refuses)
{
	struct rec_export_opts o = { .format = REC_EXPORT_TEXT, .precision = REC_EXPORT_INT8 };

	ck_assert_int_eq(rec_export_check_opts(&o), -1);
	o = (struct rec_export_opts){ .format = REC_EXPORT_RECM, .weights_only = 1 };
	ck_assert_int_eq(rec_export_check_opts(&o), -1);
	o = (struct rec_export_opts){ .format = REC_EXPORT_ONNX };
	ck_assert_int_eq(rec_export_check_opts(&o), 0);
	o.fields_from = "names.tsv";
	ck_assert_int_eq(rec_export_check_opts(&o), -1);
	o = (struct rec_export_opts){ .format = REC_EXPORT_RECM, .precision = REC_EXPORT_INT8 };
	ck_assert_int_eq(rec_export_check_opts(&o), 0);
	ck_assert_ptr_null(rec_export_open(test_tmpfile("no-such.recm"), &o));
}
END_TEST

Suite *suite_export(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_int8);
	tcase_add_test(tc, test_bf16);
	tcase_add_test(tc, test_row_bytes);
	tcase_add_test(tc, test_select);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_export_small);
	tcase_add_test(tc, test_export_refuses);
	suite_add_tcase(s, tc);
	return s;
}
