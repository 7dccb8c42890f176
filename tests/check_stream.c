/* check_stream.c - the stream format: round trips, concatenation, and that
 * every corruption or truncation is an error, never a crash. */
#include "config.h"
#include "tests.h"
#include "stream.h"
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rec_schema *test_schema(uint32_t flags, unsigned bits)
{
	struct rec_schema *s = rec_schema_new(flags);

	s->id_bits = bits;
	s->seed = 42;
	ck_assert_int_eq(rec_schema_add(s, "price", REC_NUMERIC, 0), 0);
	ck_assert_int_eq(rec_schema_add(s, "item", REC_CATEGORICAL, 0), 1);
	ck_assert_int_eq(rec_schema_add(s, "tags", REC_LIST, REC_FIELD_VALUED), 2);
	ck_assert_int_eq(rec_schema_add(s, "hist", REC_SEQUENCE, 0), 3);
	rec_schema_set_meta(s, "made.by", "check_stream");
	return s;
}

/* Record r of the test data: deterministic, with missing values and empty lists. */
static void add_record(struct rec_block *b, size_t r)
{
	int hashed = b->schema->flags & REC_HASHED;
	uint64_t mask = b->schema->id_bits >= 64 ? UINT64_MAX : (UINT64_C(1) << b->schema->id_bits) - 1;
	char s[32];

	if (r % 3)
		rec_block_add_num(b, 0, (float)r * 0.5f);
	if (r % 5) {
		if (hashed)
			rec_block_add_id(b, 1, (r * UINT64_C(0x9e3779b97f4a7c15)) & mask, 0);
		else
			rec_block_add_str(b, 1, s, (size_t)snprintf(s, sizeof(s), "item%zu", r), 0);
	}
	for (size_t k = 0; k < r % 4; k++) {
		if (hashed)
			rec_block_add_id(b, 2, (r + k) & mask, (float)k);
		else
			rec_block_add_str(b, 2, s, (size_t)snprintf(s, sizeof(s), "t%zu", r + k), (float)k);
	}
	for (size_t k = 0; k < r % 7; k++) {
		if (hashed)
			rec_block_add_id(b, 3, (k * 7919) & mask, 0);
		else
			rec_block_add_str(b, 3, "", 0, 0); /* empty strings are values too */
	}
}

static void write_stream(const char *path, const struct rec_schema *s, size_t nrec, size_t block_bytes)
{
	struct rec_writer_opts o = REC_WRITER_OPTS_INIT;
	FILE *fp = fopen(path, "wb");
	struct rec_writer *w;
	char g[32];

	ck_assert_ptr_nonnull(fp);
	o.block_bytes = block_bytes;
	w = rec_writer_new(fp, path, s, &o);
	ck_assert_ptr_nonnull(w);
	for (size_t r = 0; r < nrec; r++) {
		add_record(rec_writer_block(w), r);
		snprintf(g, sizeof(g), "u%zu", r / 3);
		ck_assert_int_eq(rec_writer_end_record(w, (float)(r & 1), 1.0f + (float)r, g, strlen(g)), 0);
	}
	ck_assert_int_eq(rec_writer_finish(w), 0);
	ck_assert_uint_eq(rec_writer_records(w), nrec);
	rec_writer_free(w);
	ck_assert_int_eq(fclose(fp), 0);
}

static int col_equal(const struct rec_block *a, size_t ra, const struct rec_block *b, size_t rb, size_t f)
{
	const struct rec_col *ca = &a->col[f], *cb = &b->col[f];
	size_t n = rec_block_count(a, f, ra);

	if (n != rec_block_count(b, f, rb))
		return 0;
	for (size_t k = 0; k < n; k++) {
		size_t ia = ca->off[ra] + k, ib = cb->off[rb] + k;
		if (a->schema->field[f].kind != REC_NUMERIC) {
			if (a->schema->flags & REC_HASHED) {
				if (ca->id[ia] != cb->id[ib])
					return 0;
			} else {
				size_t la = ca->soff[ia + 1] - ca->soff[ia];
				if (la != cb->soff[ib + 1] - cb->soff[ib] ||
				    memcmp(ca->str + ca->soff[ia], cb->str + cb->soff[ib], la))
					return 0;
			}
		}
		if ((a->schema->field[f].kind == REC_NUMERIC ||
		     (a->schema->field[f].flags & REC_FIELD_VALUED)) && ca->val[ia] != cb->val[ib])
			return 0;
	}
	return 1;
}

/* Reads path and checks it holds copies x the records of write_stream. Returns
 * 0 when equal, -1 on a reader error, 1 on different content. */
static int read_and_compare(const char *path, const struct rec_schema *s, size_t nrec, int copies)
{
	struct rec_reader *r = rec_reader_open(path);
	struct rec_block *want = rec_block_new(s);
	const struct rec_block *b;
	size_t seen = 0;
	int rc, result = 0;
	char g[32];

	if (!r) {
		rec_block_free(want);
		return -1;
	}
	if (!rec_schema_equal(rec_reader_schema(r), s))
		result = 1;
	while (result == 0 && (rc = rec_reader_next(r, &b)) > 0) {
		for (size_t i = 0; i < b->n && result == 0; i++, seen++) {
			size_t idx = seen % nrec;
			rec_block_clear(want);
			add_record(want, idx);
			snprintf(g, sizeof(g), "u%zu", idx / 3);
			rec_block_end_record(want, (float)(idx & 1), 1.0f + (float)idx, g, strlen(g));
			if (b->label[i] != want->label[0] || b->weight[i] != want->weight[0] ||
			    b->goff[i + 1] - b->goff[i] != strlen(g) ||
			    memcmp(b->gstr + b->goff[i], g, strlen(g)))
				result = 1;
			for (size_t f = 0; f < s->nfields && result == 0; f++)
				if (!col_equal(b, i, want, 0, f))
					result = 1;
		}
	}
	if (result == 0 && rc < 0)
		result = -1;
	if (result == 0 && seen != nrec * (size_t)copies)
		result = 1;
	rec_block_free(want);
	rec_reader_close(r);
	return result;
}

static const uint32_t all_flags = REC_HAS_WEIGHT | REC_HAS_GROUP;

START_TEST(test_round_trip)
{
	static const struct { uint32_t flags; unsigned bits; size_t block; } cases[] = {
		{ 0, 64, 1u << 20 }, { REC_HASHED, 64, 1u << 20 }, { REC_HASHED, 24, 100 },
		{ REC_HASHED, 1, 1u << 20 }, { REC_HASHED, 63, 1 }, { 0, 64, 50 },
		/* IDs of 3 and 5 bytes read 8 at a time; dictionaries past 128
		 * entries, whose indices take two varint bytes */
		{ REC_HASHED, 24, 1u << 20 }, { REC_HASHED, 40, 1u << 20 }, { REC_HASHED, 17, 3000 },
	};
	const char *path = test_tmpfile("rt.rec");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec_schema *s = test_schema(cases[i].flags | all_flags, cases[i].bits);
		write_stream(path, s, 1000, cases[i].block);
		ck_assert_msg(read_and_compare(path, s, 1000, 1) == 0, "case %zu", i);
		rec_schema_free(s);
	}
}
END_TEST

START_TEST(test_empty_stream)
{
	const char *path = test_tmpfile("empty.rec");
	struct rec_schema *s = test_schema(REC_HASHED, 64);
	struct rec_reader *r;
	const struct rec_block *b;

	write_stream(path, s, 0, 1u << 20);
	r = rec_reader_open(path);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(rec_reader_next(r, &b), 0);
	rec_reader_close(r);
	rec_schema_free(s);
}
END_TEST

static void concat_files(const char *out, const char *a, const char *b)
{
	char cmd[1600];

	snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s'", a, b, out);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_concatenation)
{
	const char *a = test_tmpfile("a.rec"), *b = test_tmpfile("b.rec"), *ab = test_tmpfile("ab.rec");
	struct rec_schema *s = test_schema(REC_HASHED | all_flags, 64);
	struct rec_schema *other = test_schema(REC_HASHED | all_flags, 64);

	write_stream(a, s, 300, 200);
	write_stream(b, s, 300, 1u << 20);
	concat_files(ab, a, b);
	ck_assert_int_eq(read_and_compare(ab, s, 300, 2), 0);

	other->seed = 7; /* same fields, another seed: IDs would not agree */
	write_stream(b, other, 300, 1u << 20);
	concat_files(ab, a, b);
	ck_assert_int_eq(read_and_compare(ab, s, 300, 2), -1);
	rec_schema_free(s);
	rec_schema_free(other);
}
END_TEST

static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *p = malloc(1 << 20);

	ck_assert_ptr_nonnull(fp);
	*n = fread(p, 1, 1 << 20, fp);
	fclose(fp);
	return p;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Every byte flipped: the reader reports an error, or (where the byte does
 * not carry content, e.g. a zstd window size that is still large enough)
 * returns exactly the original records. It never crashes or hangs. */
START_TEST(test_corruption_every_byte)
{
	const char *path = test_tmpfile("c.rec"), *bad = test_tmpfile("bad.rec");
	struct rec_schema *s = test_schema(REC_HASHED | all_flags, 40);
	unsigned char *p;
	size_t n, errors = 0, benign = 0;
	FILE *saved = stderr;

	write_stream(path, s, 40, 300);
	p = slurp(path, &n);
	ck_assert_uint_gt(n, 100);
	stderr = fopen("/dev/null", "w");
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			p[i] ^= (unsigned char)(1u << bit);
			spit(bad, p, n);
			int rc = read_and_compare(bad, s, 40, 1);
			p[i] ^= (unsigned char)(1u << bit);
			ck_assert_msg(rc != 1, "byte %zu bit %d: wrong records returned without an error", i, bit);
			if (rc < 0)
				errors++;
			else
				benign++;
		}
	}
	fclose(stderr);
	stderr = saved;
	ck_assert_uint_gt(errors, 3 * n * 9 / 10);
	free(p);
	rec_schema_free(s);
}
END_TEST

START_TEST(test_truncation_every_length)
{
	const char *path = test_tmpfile("t.rec"), *cut = test_tmpfile("cut.rec");
	struct rec_schema *s = test_schema(all_flags, 64);
	unsigned char *p;
	size_t n;
	FILE *saved = stderr;

	write_stream(path, s, 60, 200);
	p = slurp(path, &n);
	stderr = fopen("/dev/null", "w");
	for (size_t len = 0; len < n; len++) {
		spit(cut, p, len);
		ck_assert_msg(read_and_compare(cut, s, 60, 1) == -1, "cut at %zu not an error", len);
	}
	fclose(stderr);
	stderr = saved;
	free(p);
	rec_schema_free(s);
}
END_TEST

/* Streams written by hand (uncompressed content, compressed here) to reach
 * the header checks behind the checksums. */
START_TEST(test_bad_headers)
{
	const char *path = test_tmpfile("h.rec");
	const char *texts[] = { "hello world, not a stream", "RECS\x02\0\0\0" };
	FILE *saved = stderr;
	char cmd[600];

	stderr = fopen("/dev/null", "w");
	/* plain text */
	spit(path, (const unsigned char *)texts[0], strlen(texts[0]));
	ck_assert_ptr_null(rec_reader_open(path));
	/* zstd, but not a recpipe stream; then a newer version */
	for (int i = 0; i < 2; i++) {
		spit(path, (const unsigned char *)texts[i], i ? 8 : strlen(texts[i]));
		snprintf(cmd, sizeof(cmd), "zstd -q -f '%s' -o '%s.zst'", path, path);
		ck_assert_int_eq(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.zst", path);
		ck_assert_ptr_null(rec_reader_open(cmd));
	}
	/* empty input */
	spit(path, (const unsigned char *)"", 0);
	ck_assert_ptr_null(rec_reader_open(path));
	fclose(stderr);
	stderr = saved;
}
END_TEST

START_TEST(test_schema_describe_and_equal)
{
	struct rec_schema *a = test_schema(REC_HASHED, 24), *b = rec_schema_copy(a);
	char *d = rec_schema_describe(a);

	ck_assert_str_eq(d, "hashed(seed=42,bits=24) label price:num item:cat tags:list+val hist:seq");
	ck_assert(rec_schema_equal(a, b));
	free(b->meta);
	b->meta = NULL; /* provenance does not matter */
	ck_assert(rec_schema_equal(a, b));
	b->id_bits = 25;
	ck_assert(!rec_schema_equal(a, b));
	ck_assert_int_eq(rec_schema_add(a, "item", REC_LIST, 0), -1);
	ck_assert_int_eq(rec_schema_add(a, "a=b", REC_LIST, 0), -1);
	ck_assert_int_eq(rec_schema_find(a, "tags"), 2);
	ck_assert_int_eq(rec_kind_parse("seq"), REC_SEQUENCE);
	free(d);
	rec_schema_free(a);
	rec_schema_free(b);
}
END_TEST

Suite *suite_stream(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_empty_stream);
	tcase_add_test(tc, test_concatenation);
	tcase_add_test(tc, test_corruption_every_byte);
	tcase_add_test(tc, test_truncation_every_length);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_schema_describe_and_equal);
	suite_add_tcase(s, tc);
	return s;
}
