/* check_model.c - model files: round trips, manifest checks, truncation,
 * atomic writes, tensors filled or read piece by piece, and that tar lists
 * them. */
#include "config.h"
#include "tests.h"
#include "model.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float small[3 * 16];
static uint64_t ids[5] = { 1, 2, 3, UINT64_MAX, 0 };

static void write_model(const char *path, float *big, size_t nbig)
{
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_kv kv = { 0 };

	ck_assert_ptr_nonnull(w);
	for (int i = 0; i < 48; i++)
		small[i] = (float)i * 0.25f - 3;
	ck_assert_int_eq(rec_model_add(w, "mlp.0.weight", "f32", (size_t[]){ 3, 16 }, 2, small), 0);
	ck_assert_int_eq(rec_model_add(w, "embd.0.ids", "u64", (size_t[]){ 5 }, 1, ids), 0);
	ck_assert_int_eq(rec_model_add(w, "empty", "f16", (size_t[]){ 0, 8 }, 2, NULL), 0);
	if (big)
		ck_assert_int_eq(rec_model_add(w, "big", "f32", (size_t[]){ nbig }, 1, big), 0);
	ck_assert_int_eq(rec_model_add(w, "bad/name", "f32", (size_t[]){ 1 }, 1, small), -1);
	ck_assert_int_eq(rec_model_add(w, "x", "f64", (size_t[]){ 1 }, 1, small), -1);
	rec_kv_set(&kv, "model.kind", "fm");
	rec_kv_setf(&kv, "model.dim", "%d", 16);
	rec_kv_set(&kv, "model.kind", "lr"); /* replaces */
	ck_assert_int_eq(rec_model_commit(w, &kv), 0);
	rec_kv_free(&kv);
}

START_TEST(test_round_trip)
{
	const char *path = test_tmpfile("m.recm");
	size_t nbig = 5u << 20;
	float *big = malloc(nbig * sizeof(float));
	struct rec_model *m;
	const struct rec_tensor *t;

	for (size_t i = 0; i < nbig; i++)
		big[i] = (float)(i % 1000) - 0.5f;
	write_model(path, big, nbig);
	m = rec_model_open(path);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(rec_kv_get(&m->manifest, "model.kind"), "lr");
	ck_assert_str_eq(rec_kv_get(&m->manifest, "model.dim"), "16");
	ck_assert_str_eq(rec_kv_get(&m->manifest, "rec.format_version"), "1");
	t = rec_model_tensor(m, "mlp.0.weight");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->dtype, "f32");
	ck_assert_uint_eq(t->ndim, 2);
	ck_assert_uint_eq(t->shape[1], 16);
	ck_assert(memcmp(t->data, small, sizeof(small)) == 0);
	ck_assert(memcmp(rec_model_tensor(m, "embd.0.ids")->data, ids, sizeof(ids)) == 0);
	ck_assert_uint_eq(rec_model_tensor(m, "empty")->bytes, 0);
	ck_assert(memcmp(rec_model_tensor(m, "big")->data, big, nbig * sizeof(float)) == 0);
	ck_assert_ptr_null(rec_model_tensor(m, "nope"));
	rec_model_close(m);
	free(big);
}
END_TEST

START_TEST(test_tar_lists_it)
{
	const char *path = test_tmpfile("t.recm"), *list = test_tmpfile("list.txt");
	char cmd[1200], line[256];
	FILE *fp;

	write_model(path, NULL, 0);
	snprintf(cmd, sizeof(cmd), "tar -tf '%s' > '%s' 2>/dev/null || tar --zstd -tf '%s' > '%s'",
		 path, list, path, list);
	ck_assert_int_eq(system(cmd), 0);
	fp = fopen(list, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_str_eq(line, "MANIFEST\n");
	fclose(fp);
}
END_TEST

/* Streams a lazy model's tensors as they come, counting bytes. */
struct taken {
	const unsigned char *want;  /* the tensor's expected bytes, or NULL */
	size_t row, next, calls;
};

static int take_rows(void *ctx, size_t r0, size_t n, const void *rows)
{
	struct taken *t = ctx;

	ck_assert_uint_eq(r0, t->next);  /* in order, no gap */
	if (t->want)
		ck_assert(memcmp(rows, t->want + r0 * t->row, n * t->row) == 0);
	t->next = r0 + n;
	t->calls++;
	return 0;
}

/* Reads all of a model lazily, the embedding members streamed: 0 when it
 * is whole, -1 when refused somewhere. */
static int read_lazily(const char *path)
{
	struct rec_model *m = rec_model_open_lazy(path);
	int rc = 0;

	if (!m)
		return -1;
	for (size_t i = 0; rc == 0 && i < m->nt; i++) {
		const struct rec_tensor *t = &m->t[i];
		struct taken tk = { NULL, t->shape[0] ? t->bytes / t->shape[0] : 1, 0, 0 };
		int s = strncmp(t->name, "embd.", 5) == 0 ? rec_model_stream(m, t->name, take_rows, &tk) : 1;
		if (s == 1)
			s = rec_model_expect(m, t->name, t->dtype, t->bytes / rec_dtype_size(t->dtype)) ? 0 : -1;
		rc = s;
	}
	if (rc == 0 && m->rest)
		rc = -1;  /* the end of the archive not reached */
	rec_model_close(m);
	return rc;
}

START_TEST(test_truncation_and_corruption)
{
	const char *path = test_tmpfile("c.recm"), *cut = test_tmpfile("cut.recm");
	FILE *fp = NULL, *saved = stderr;
	unsigned char *buf = malloc(1 << 20);
	size_t n;

	write_model(path, NULL, 0);
	fp = fopen(path, "rb");
	n = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	stderr = fopen("/dev/null", "w");
	for (size_t len = 0; len < n; len += 1 + len / 50) {
		fp = fopen(cut, "wb");
		fwrite(buf, 1, len, fp);
		fclose(fp);
		ck_assert_msg(rec_model_open(cut) == NULL, "cut at %zu of %zu accepted", len, n);
		ck_assert_msg(read_lazily(cut) < 0, "cut at %zu of %zu read lazily", len, n);
	}
	ck_assert_int_eq(read_lazily(path), 0);  /* the whole file reads */
	fclose(stderr);
	stderr = saved;
	free(buf);
}
END_TEST

/* Archives built by hand: what the loader must refuse. */
static void raw_archive(const char *path, const char *manifest, const char *member, size_t len)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	static char zeros[4096];

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (int i = 0; i < (member ? 2 : 1); i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, i ? member : "MANIFEST");
		archive_entry_set_size(e, (la_int64_t)(i ? len : strlen(manifest)));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_write_header(a, e);
		archive_write_data(a, i ? zeros : manifest, i ? len : strlen(manifest));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

START_TEST(test_manifest_checks)
{
	const char *path = test_tmpfile("bad.recm");
	static const struct { const char *manifest, *member; size_t len; } cases[] = {
		{ "rec.format_version = 1\ntensor.w = f32 3 16\n", "w", 100 },     /* size */
		{ "rec.format_version = 1\n", "w", 4 },                           /* undeclared */
		{ "rec.format_version = 1\ntensor.w = f32 1\n", NULL, 0 },        /* missing */
		{ "rec.format_version = 2\n", NULL, 0 },                          /* newer */
		{ "rec.format_version = 1\ntensor.w = f64 1\n", "w", 8 },         /* dtype */
		{ "rec.format_version = 1\nno equals sign\n", NULL, 0 },          /* line */
		{ "model.kind = fm\n", NULL, 0 },                                 /* no version */
	};
	FILE *saved = stderr;

	stderr = fopen("/dev/null", "w");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw_archive(path, cases[i].manifest, cases[i].member, cases[i].len);
		ck_assert_msg(rec_model_open(path) == NULL, "case %zu accepted", i);
	}
	raw_archive(path, "rec.format_version = 1\ntensor.w = f32 1\n", "w", 4);
	struct rec_model *m = rec_model_open(path);
	ck_assert_ptr_nonnull(m); /* the control case loads */
	rec_model_close(m);
	/* a checksum that does not match, read whole or streamed */
	raw_archive(path, "rec.format_version = 1\ntensor.embd.ids = u64 2\nchecksum.embd.ids = 1\n",
		    "embd.ids", 16);
	ck_assert_ptr_null(rec_model_open(path));
	ck_assert_int_eq(read_lazily(path), -1);
	fclose(stderr);
	stderr = saved;
}
END_TEST

START_TEST(test_abort_leaves_nothing)
{
	char dir[] = "/tmp/rec-model.XXXXXX", path[64];
	struct rec_model_writer *w;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.recm", dir);
	w = rec_model_create(path, 0);
	ck_assert_int_eq(rec_model_add(w, "w", "f32", (size_t[]){ 3, 16 }, 2, small), 0);
	rec_model_abort(w);
	ck_assert_int_ne(access(path, F_OK), 0);
	ck_assert_int_eq(rmdir(dir), 0); /* empty: no temporary file either */
}
END_TEST

/* A lazy model reads up to its first embedding member; those are streamed
 * in order, in pieces, or read into memory when asked for, and the end of
 * the archive is checked once the last is read. */
START_TEST(test_lazy_streams_embeddings)
{
	const char *path = test_tmpfile("lazy.recm");
	size_t n = 70000, dim = 5;
	uint64_t *id = malloc(n * sizeof(uint64_t));
	float *rows = malloc(n * dim * sizeof(float)), *state = malloc(n * sizeof(float)), tail[4] = { 1, 2, 3, 4 };
	struct rec_model_writer *w = rec_model_create(path, 0);
	struct rec_model *m;
	struct taken ti = { NULL, 8, 0, 0 }, tr = { NULL, dim * sizeof(float), 0, 0 };
	const float *st;

	for (size_t i = 0; i < n; i++) {
		id[i] = i * 7919 + 3;
		state[i] = (float)i / 8;
		for (size_t d = 0; d < dim; d++)
			rows[i * dim + d] = (float)(i % 977) - (float)d / 4;
	}
	ti.want = (const unsigned char *)id;
	tr.want = (const unsigned char *)rows;
	ck_assert_int_eq(rec_model_add(w, "mlp.w", "f32", (size_t[]){ 3, 16 }, 2, small), 0);
	ck_assert_int_eq(rec_model_add(w, "embd.ids", "u64", (size_t[]){ n }, 1, id), 0);
	ck_assert_int_eq(rec_model_add(w, "embd.rows", "f32", (size_t[]){ n, dim }, 2, rows), 0);
	ck_assert_int_eq(rec_model_add(w, "embd.state", "f32", (size_t[]){ n }, 1, state), 0);
	ck_assert_int_eq(rec_model_add(w, "tail", "f32", (size_t[]){ 4 }, 1, tail), 0);
	ck_assert_int_eq(rec_model_commit(w, NULL), 0);

	m = rec_model_open_lazy(path);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(m->rest);
	ck_assert_ptr_nonnull(rec_model_tensor(m, "mlp.w")->data);
	ck_assert_ptr_null(rec_model_tensor(m, "embd.rows")->data);
	ck_assert_int_eq(rec_model_stream(m, "embd.rows", take_rows, &tr), 1);  /* ids come first */
	ck_assert_int_eq(rec_model_stream(m, "embd.ids", take_rows, &ti), 0);
	ck_assert_uint_eq(ti.next, n);
	ck_assert_int_eq(rec_model_stream(m, "embd.rows", take_rows, &tr), 0);
	ck_assert_uint_eq(tr.next, n);
	ck_assert_uint_ge(tr.calls, 2);
	ck_assert_ptr_null(rec_model_tensor(m, "embd.rows")->data);  /* not kept */
	st = rec_model_expect(m, "embd.state", "f32", n);  /* the rest into memory */
	ck_assert_ptr_nonnull(st);
	ck_assert(memcmp(st, state, n * sizeof(float)) == 0);
	ck_assert(memcmp(rec_model_tensor(m, "tail")->data, tail, sizeof(tail)) == 0);
	ck_assert_ptr_null(m->rest);
	ck_assert_int_eq(rec_model_stream(m, "embd.state", take_rows, &tr), 1);
	rec_model_close(m);
	ck_assert_int_eq(read_lazily(path), 0);
	free(id);
	free(rows);
	free(state);
}
END_TEST

/* A tensor written through rec_model_add_filled: the bytes of its rows
 * r0 .. r0+n-1 out of the array it stands for, the calls counted. */
struct filled {
	const float *data;
	size_t rows, cols, calls;
};

static void fill_from(const void *ctx, size_t r0, size_t n, void *out)
{
	struct filled *f = (struct filled *)(uintptr_t)ctx;

	ck_assert_uint_le(r0 + n, f->rows);
	memcpy(out, f->data + r0 * f->cols, n * f->cols * sizeof(float));
	f->calls++;
}

static void write_tensors(const char *path, struct filled *t, size_t nt, int filled)
{
	struct rec_model_writer *w = rec_model_create(path, 0);
	char name[32];

	ck_assert_ptr_nonnull(w);
	for (size_t i = 0; i < nt; i++) {
		size_t shape[2] = { t[i].rows, t[i].cols };
		snprintf(name, sizeof(name), "t%zu", i);
		if (filled)
			ck_assert_int_eq(rec_model_add_filled(w, name, "f32", shape, 2, fill_from, &t[i]), 0);
		else
			ck_assert_int_eq(rec_model_add(w, name, "f32", shape, 2, t[i].data), 0);
	}
	ck_assert_int_eq(rec_model_commit(w, NULL), 0);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *p;

	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	rewind(fp);
	p = malloc(*len + 1);
	ck_assert_uint_eq(fread(p, 1, *len, fp), *len);
	fclose(fp);
	return p;
}

/* Filled tensors make the same file as tensors in memory: a tensor of
 * several pieces with a short last one, one whose row alone outgrows a
 * piece, an empty one. */
START_TEST(test_filled_same_bytes)
{
	const char *a = test_tmpfile("mem.recm"), *b = test_tmpfile("fill.recm");
	size_t n = 300001, la, lb;
	float *data = malloc(n * sizeof(float));
	struct filled t[3] = { { data, 100000, 3, 0 }, { data, 2, 150000, 0 }, { data, 0, 4, 0 } };
	unsigned char *pa, *pb;
	struct rec_model *m;

	for (size_t i = 0; i < n; i++)
		data[i] = (float)i * 0.5f - 7;
	write_tensors(a, t, 3, 0);
	write_tensors(b, t, 3, 1);
	ck_assert_uint_ge(t[0].calls, 2 * 2);  /* read twice, in several pieces */
	ck_assert_uint_eq(t[1].calls, 2 * 2);  /* a row a piece */
	ck_assert_uint_eq(t[2].calls, 0);
	pa = slurp(a, &la);
	pb = slurp(b, &lb);
	ck_assert_uint_eq(la, lb);
	ck_assert(memcmp(pa, pb, la) == 0);
	m = rec_model_open(b);
	ck_assert_ptr_nonnull(m);
	ck_assert(memcmp(rec_model_tensor(m, "t0")->data, data, 300000 * sizeof(float)) == 0);
	rec_model_close(m);
	free(pa);
	free(pb);
	free(data);
}
END_TEST

Suite *suite_model(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_filled_same_bytes);
	tcase_add_test(tc, test_lazy_streams_embeddings);
	tcase_add_test(tc, test_tar_lists_it);
	tcase_add_test(tc, test_truncation_and_corruption);
	tcase_add_test(tc, test_manifest_checks);
	tcase_add_test(tc, test_abort_leaves_nothing);
	suite_add_tcase(s, tc);
	return s;
}
