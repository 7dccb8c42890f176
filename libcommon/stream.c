/* stream.c - record blocks and their encoding in zstd-compressed streams.
 *
 * Decompressed, a stream is a header chunk ("RECS") followed by block chunks
 * ("RECB"); concatenated streams simply repeat the header. A block stores its
 * records column by column (labels, weights, group keys, then each field's
 * counts, values and floats), which is what makes hashed IDs and small
 * numbers compress well. rec-stream(5) has the byte layout. */
#include "config.h"
#include "stream.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_literalCompressionMode */
#include <zstd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "recpipe streams are little-endian; this build assumes a little-endian host"
#endif

#define CHUNK_HEAD 16               /* magic, count, length, checksum */
#define MAX_BLOCK_RECORDS (1u << 20)
#define MAX_PAYLOAD (256u << 20)
#define MAX_HEADER (4u << 20)

/* ---- building blocks ---------------------------------------------------- */

struct rec_block *rec_block_new(const struct rec_schema *s)
{
	struct rec_block *b = rec_xcalloc(1, sizeof(*b));

	b->schema = s;
	b->col = rec_xcalloc(s->nfields ? s->nfields : 1, sizeof(*b->col));
	rec_block_clear(b);
	return b;
}

void rec_block_free(struct rec_block *b)
{
	if (!b)
		return;
	for (size_t f = 0; f < b->schema->nfields; f++) {
		struct rec_col *c = &b->col[f];
		free(c->off);
		free(c->id);
		free(c->soff);
		free(c->str);
		free(c->val);
	}
	free(b->col);
	free(b->label);
	free(b->weight);
	free(b->goff);
	free(b->gstr);
	free(b);
}

static void reserve_records(struct rec_block *b, size_t n)
{
	size_t cap = b->cap_n;

	if (n + 1 <= cap)
		return;
	rec_xgrow(&b->label, &cap, n + 1, sizeof(float));
	b->weight = rec_xrealloc(b->weight, cap * sizeof(float));
	b->goff = rec_xrealloc(b->goff, cap * sizeof(uint32_t));
	for (size_t f = 0; f < b->schema->nfields; f++)
		b->col[f].off = rec_xrealloc(b->col[f].off, cap * sizeof(uint32_t));
	b->cap_n = cap;
}

void rec_block_clear(struct rec_block *b)
{
	reserve_records(b, 1);
	b->n = 0;
	b->bytes = 0;
	b->goff[0] = 0;
	for (size_t f = 0; f < b->schema->nfields; f++) {
		b->col[f].off[0] = 0;
		b->col[f].nval = 0;
		if (b->col[f].soff || !(b->schema->flags & REC_HASHED)) {
			rec_xgrow(&b->col[f].soff, &b->col[f].cap_soff, 1, sizeof(uint32_t));
			b->col[f].soff[0] = 0;
		}
	}
}

static inline void push_val(struct rec_col *c, float v)
{
	if (c->nval >= c->cap_val)
		rec_xgrow(&c->val, &c->cap_val, c->nval + 1, sizeof(float));
	c->val[c->nval] = v;
}

void rec_block_add_num(struct rec_block *b, size_t field, float x)
{
	struct rec_col *c = &b->col[field];

	push_val(c, x);
	c->nval++;
}

void rec_block_add_id(struct rec_block *b, size_t field, uint64_t id, float v)
{
	struct rec_col *c = &b->col[field];

	if (c->nval >= c->cap_id)
		rec_xgrow(&c->id, &c->cap_id, c->nval + 1, sizeof(uint64_t));
	c->id[c->nval] = id;
	if (b->schema->field[field].flags & REC_FIELD_VALUED)
		push_val(c, v);
	c->nval++;
}

void rec_block_add_str(struct rec_block *b, size_t field, const char *s, size_t len, float v)
{
	struct rec_col *c = &b->col[field];
	size_t used = c->soff[c->nval];

	rec_xgrow(&c->soff, &c->cap_soff, c->nval + 2, sizeof(uint32_t));
	rec_xgrow(&c->str, &c->cap_str, used + len + 1, 1);
	if (len)
		memcpy(c->str + used, s, len);
	c->soff[c->nval + 1] = (uint32_t)(used + len);
	if (b->schema->field[field].flags & REC_FIELD_VALUED)
		push_val(c, v);
	c->nval++;
}

void rec_block_end_record(struct rec_block *b, float label, float weight,
			  const char *group, size_t glen)
{
	size_t n = b->n, bytes = 4;

	reserve_records(b, n + 1);
	b->label[n] = label;
	if (b->schema->flags & REC_HAS_WEIGHT) {
		b->weight[n] = weight;
		bytes += 4;
	}
	if (b->schema->flags & REC_HAS_GROUP) {
		size_t used = b->goff[n];
		rec_xgrow(&b->gstr, &b->cap_gstr, used + glen + 1, 1);
		if (glen)
			memcpy(b->gstr + used, group, glen);
		b->goff[n + 1] = (uint32_t)(used + glen);
		bytes += glen + 1;
	}
	for (size_t f = 0; f < b->schema->nfields; f++) {
		struct rec_col *c = &b->col[f];
		bytes += (c->nval - c->off[n]) * 9 + 1;
		c->off[n + 1] = (uint32_t)c->nval;
	}
	b->n = n + 1;
	b->bytes += bytes;
}

void rec_block_cancel_record(struct rec_block *b)
{
	for (size_t f = 0; f < b->schema->nfields; f++)
		b->col[f].nval = b->col[f].off[b->n];
}

/* ---- encoding ------------------------------------------------------------ */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static inline unsigned char *buf_room(struct buf *b, size_t n)
{
	if (b->len + n > b->cap)
		rec_xgrow(&b->p, &b->cap, b->len + n, 1);
	return b->p + b->len;
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return; /* p may be NULL then */
	memcpy(buf_room(b, n), p, n);
	b->len += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	put_bytes(b, &v, 4);
}

static inline void put_varint(struct buf *b, uint64_t v)
{
	unsigned char *p = buf_room(b, 10);
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	b->len += n;
}

static int is_scalar(int kind)
{
	return kind == REC_NUMERIC || kind == REC_CATEGORICAL;
}

static void put_counts(struct buf *out, const struct rec_block *b, size_t f)
{
	const uint32_t *off = b->col[f].off;

	if (!is_scalar(b->schema->field[f].kind)) {
		for (size_t r = 0; r < b->n; r++)
			put_varint(out, off[r + 1] - off[r]);
		return;
	}
	/* At most one value: a presence bitmap. */
	size_t nbytes = (b->n + 7) / 8;
	unsigned char *bits = buf_room(out, nbytes);
	memset(bits, 0, nbytes);
	for (size_t r = 0; r < b->n; r++)
		if (off[r + 1] > off[r])
			bits[r >> 3] |= (unsigned char)(1u << (r & 7));
	out->len += nbytes;
}

/* Distinct IDs of one column, for dictionary coding. */
struct dict {
	uint64_t *key;        /* open addressing; slot empty when idx is 0 */
	uint32_t *idx;        /* 1 + position in the dictionary */
	size_t cap;
	uint64_t *ids;        /* the distinct IDs in first-seen order */
	uint32_t *code;       /* per value: its position */
	size_t nids, cap_ids, cap_code;
};

static void dict_free(struct dict *d)
{
	free(d->key);
	free(d->idx);
	free(d->ids);
	free(d->code);
}

/* Codes the column's IDs; returns the number of distinct ones. */
static size_t dict_build(struct dict *d, const uint64_t *id, size_t n)
{
	size_t cap = 64;

	while (cap < 2 * n)
		cap *= 2;
	if (cap > d->cap) {
		d->key = rec_xrealloc(d->key, cap * sizeof(uint64_t));
		d->idx = rec_xrealloc(d->idx, cap * sizeof(uint32_t));
		d->cap = cap;
	}
	memset(d->idx, 0, cap * sizeof(uint32_t));
	rec_xgrow(&d->code, &d->cap_code, n + 1, sizeof(uint32_t));
	d->nids = 0;
	for (size_t i = 0; i < n; i++) {
		size_t h = (size_t)((id[i] * UINT64_C(0x9e3779b97f4a7c15)) >> 40) & (cap - 1);
		while (d->idx[h] && d->key[h] != id[i])
			h = (h + 1) & (cap - 1);
		if (!d->idx[h]) {
			rec_xgrow(&d->ids, &d->cap_ids, d->nids + 1, sizeof(uint64_t));
			d->ids[d->nids++] = id[i];
			d->key[h] = id[i];
			d->idx[h] = (uint32_t)d->nids;
		}
		d->code[i] = d->idx[h] - 1;
	}
	return d->nids;
}

static void put_ids(struct buf *out, const uint64_t *id, size_t n, unsigned idb)
{
	unsigned char *p = buf_room(out, n * 8 + 8);

	for (size_t i = 0; i < n; i++)
		memcpy(p + i * idb, &id[i], 8); /* little-endian: low bytes first */
	out->len += n * idb;
}

/* Hashed values: plain (a 0 byte, then the IDs) or, when values repeat
 * enough to pay for it, a dictionary (a 1 byte, the distinct IDs, then one
 * varint position per value): repeats then cost a byte, not a match. With
 * full 64-bit IDs large dictionaries lost to zstd's own matching on
 * Criteo-shaped data (bench/), so those keep to 256 entries. */
static void put_hashed(struct buf *out, const struct rec_block *b, size_t f, struct dict *d)
{
	const struct rec_col *c = &b->col[f];
	size_t nval = c->off[b->n], ndict = dict_build(d, c->id, nval);
	unsigned idb = rec_schema_id_bytes(b->schema);

	if (idb <= 1 || ndict * 4 > nval * 3 || (idb > 4 && ndict > 256)) {
		put_bytes(out, "", 1);
		put_ids(out, c->id, nval, idb);
		return;
	}
	put_bytes(out, "\1", 1);
	put_varint(out, ndict);
	put_ids(out, d->ids, ndict, idb);
	for (size_t i = 0; i < nval; i++)
		put_varint(out, d->code[i]);
}

static void put_values(struct buf *out, const struct rec_block *b, size_t f, struct dict *d)
{
	const struct rec_col *c = &b->col[f];
	size_t nval = c->off[b->n];

	if (b->schema->flags & REC_HASHED) {
		put_hashed(out, b, f, d);
		return;
	}
	for (size_t i = 0; i < nval; i++)
		put_varint(out, c->soff[i + 1] - c->soff[i]);
	put_bytes(out, c->str, c->soff[nval]);
}

static void encode_payload(struct buf *out, const struct rec_block *b, struct dict *d)
{
	const struct rec_schema *s = b->schema;

	put_bytes(out, b->label, b->n * 4);
	if (s->flags & REC_HAS_WEIGHT)
		put_bytes(out, b->weight, b->n * 4);
	if (s->flags & REC_HAS_GROUP) {
		for (size_t r = 0; r < b->n; r++)
			put_varint(out, b->goff[r + 1] - b->goff[r]);
		put_bytes(out, b->gstr, b->goff[b->n]);
	}
	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &b->col[f];
		int kind = s->field[f].kind;
		put_counts(out, b, f);
		if (kind != REC_NUMERIC)
			put_values(out, b, f, d);
		if (kind == REC_NUMERIC || (s->field[f].flags & REC_FIELD_VALUED))
			put_bytes(out, c->val, c->off[b->n] * 4);
	}
}

/* Appends a whole block chunk: head, then payload. */
static void encode_block(struct buf *out, const struct rec_block *b, struct dict *d)
{
	size_t head = out->len;
	uint32_t len, sum;

	buf_room(out, CHUNK_HEAD);
	out->len += CHUNK_HEAD;
	encode_payload(out, b, d);
	len = (uint32_t)(out->len - head - CHUNK_HEAD);
	sum = XXH32(out->p + head + CHUNK_HEAD, len, 0);
	memcpy(out->p + head, REC_BLOCK_MAGIC, 4);
	memcpy(out->p + head + 4, &(uint32_t){ (uint32_t)b->n }, 4);
	memcpy(out->p + head + 8, &len, 4);
	memcpy(out->p + head + 12, &sum, 4);
}

size_t rec_block_payload_size(const struct rec_block *b)
{
	struct buf tmp = { 0 };
	struct dict d = { 0 };
	size_t n;

	encode_payload(&tmp, b, &d);
	n = tmp.len;
	free(tmp.p);
	dict_free(&d);
	return n;
}

static void encode_header(struct buf *out, const struct rec_schema *s)
{
	size_t start = out->len, meta = s->meta ? strlen(s->meta) : 0;

	put_bytes(out, REC_STREAM_MAGIC, 4);
	put_u32(out, REC_STREAM_VERSION);
	put_u32(out, 0); /* length, patched below */
	put_u32(out, s->flags);
	put_u32(out, s->id_bits);
	put_bytes(out, &s->seed, 8);
	put_u32(out, (uint32_t)s->nfields);
	for (size_t f = 0; f < s->nfields; f++) {
		unsigned char kf[3] = { s->field[f].kind, s->field[f].flags,
					(unsigned char)strlen(s->field[f].name) };
		put_bytes(out, kf, 3);
		put_bytes(out, s->field[f].name, kf[2]);
	}
	put_u32(out, (uint32_t)meta);
	put_bytes(out, s->meta, meta);
	uint32_t len = (uint32_t)(out->len - start - 12 + 4);
	memcpy(out->p + start + 8, &len, 4);
	put_u32(out, XXH32(out->p + start, out->len - start, 0));
}

/* ---- writer -------------------------------------------------------------- */

struct rec_writer {
	FILE *fp;
	char *name;
	struct rec_schema *schema;
	struct rec_block *block;
	ZSTD_CCtx *cctx;
	struct buf enc, zout;
	struct dict dict;
	size_t block_bytes;
	uint64_t records;
	int failed;
};

static int writer_emit(struct rec_writer *w, const void *src, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { src, n, 0 };
	size_t left;

	if (w->failed)
		return -1;
	do {
		ZSTD_outBuffer out = { w->zout.p, w->zout.cap, 0 };
		left = ZSTD_compressStream2(w->cctx, &out, &in, end);
		if (ZSTD_isError(left)) {
			w->failed = 1;
			return rec_error("cannot compress '%s': %s", w->name, ZSTD_getErrorName(left));
		}
		if (out.pos && fwrite(w->zout.p, 1, out.pos, w->fp) != out.pos) {
			w->failed = 1;
			if (errno == EPIPE)
				return -1;
			return rec_error("cannot write '%s': %s", w->name, strerror(errno));
		}
	} while (in.pos < in.size || (end == ZSTD_e_end && left != 0));
	return 0;
}

struct rec_writer *rec_writer_new(FILE *fp, const char *name, const struct rec_schema *s,
				  const struct rec_writer_opts *opts)
{
	static const struct rec_writer_opts defaults = REC_WRITER_OPTS_INIT;
	struct rec_writer *w = rec_xcalloc(1, sizeof(*w));

	if (!opts)
		opts = &defaults;
	w->fp = fp;
	w->name = rec_xstrdup(name ? name : "(stdout)");
	w->schema = rec_schema_copy(s);
	w->block = rec_block_new(w->schema);
	w->block_bytes = opts->block_bytes ? opts->block_bytes : defaults.block_bytes;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx)
		rec_die("out of memory");
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, opts->level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	/* Hashed IDs are random bytes, which Huffman coding hardly shrinks:
	 * stored raw, a Criteo-shaped stream is 3% larger and decompresses
	 * a third faster, on every epoch of every model trained on it. A
	 * library without the setting refuses it and compresses them. */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
	if (opts->threads > 0)
		ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, opts->threads);
	w->zout.cap = ZSTD_CStreamOutSize();
	w->zout.p = rec_xmalloc(w->zout.cap);
	encode_header(&w->enc, w->schema);
	if (writer_emit(w, w->enc.p, w->enc.len, ZSTD_e_continue) < 0) {
		rec_writer_free(w);
		return NULL;
	}
	w->enc.len = 0;
	return w;
}

struct rec_block *rec_writer_block(struct rec_writer *w)
{
	return w->block;
}

static int writer_flush_block(struct rec_writer *w, const struct rec_block *b)
{
	if (b->n == 0)
		return 0;
	w->enc.len = 0;
	encode_block(&w->enc, b, &w->dict);
	w->records += b->n;
	return writer_emit(w, w->enc.p, w->enc.len, ZSTD_e_continue);
}

int rec_writer_end_record(struct rec_writer *w, float label, float weight,
			  const char *group, size_t glen)
{
	struct rec_block *b = w->block;
	int rc = 0;

	rec_block_end_record(b, label, weight, group, glen);
	if (b->bytes >= w->block_bytes || b->n >= MAX_BLOCK_RECORDS / 4) {
		rc = writer_flush_block(w, b);
		rec_block_clear(b);
	}
	return rc;
}

int rec_writer_put_block(struct rec_writer *w, const struct rec_block *b)
{
	if (writer_flush_block(w, w->block) < 0)
		return -1;
	rec_block_clear(w->block);
	return writer_flush_block(w, b);
}

int rec_writer_finish(struct rec_writer *w)
{
	if (writer_flush_block(w, w->block) < 0)
		return -1;
	rec_block_clear(w->block);
	if (writer_emit(w, NULL, 0, ZSTD_e_end) < 0)
		return -1;
	if (fflush(w->fp) != 0) {
		w->failed = 1;
		return errno == EPIPE ? -1 : rec_error("cannot write '%s': %s", w->name, strerror(errno));
	}
	return 0;
}

void rec_writer_free(struct rec_writer *w)
{
	if (!w)
		return;
	rec_block_free(w->block);
	rec_schema_free(w->schema);
	ZSTD_freeCCtx(w->cctx);
	free(w->enc.p);
	free(w->zout.p);
	dict_free(&w->dict);
	free(w->name);
	free(w);
}

uint64_t rec_writer_records(const struct rec_writer *w)
{
	return w->records + w->block->n;
}

/* ---- reader -------------------------------------------------------------- */

struct rec_reader {
	struct rec_src *src;
	ZSTD_DCtx *dctx;
	struct buf d;             /* decompressed bytes; d.p[pos..len) unread */
	size_t pos;
	uint64_t doff;            /* stream offset of d.p[0] */
	size_t last_ret;          /* last ZSTD_decompressStream result: 0 = frame done */
	int in_eof;
	struct rec_schema *schema;
	struct rec_schema *other; /* a later concatenated header */
	struct rec_block *block;
	uint64_t *dict;           /* a dictionary-coded column's distinct IDs */
	size_t cap_dict;
	uint64_t records;
	int failed;
};

int rec_stream_sniff(const unsigned char *p, size_t n)
{
	return n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd;
}

int rec_stream_sniff_content(const unsigned char *p, size_t n)
{
	unsigned char head[4];
	ZSTD_DCtx *d;
	int is_stream = 0;

	if (!rec_stream_sniff(p, n) || !(d = ZSTD_createDCtx()))
		return 0;
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer out = { head, sizeof(head), 0 };
	while (out.pos < out.size && in.pos < in.size) {
		size_t before = in.pos + out.pos;
		if (ZSTD_isError(ZSTD_decompressStream(d, &out, &in)) || in.pos + out.pos == before)
			break;
	}
	is_stream = out.pos == sizeof(head) && memcmp(head, REC_STREAM_MAGIC, 4) == 0;
	ZSTD_freeDCtx(d);
	return is_stream;
}

static int reader_fail(struct rec_reader *r, const char *what, uint64_t off)
{
	r->failed = 1;
	return rec_error("'%s': %s at byte %llu of the decompressed stream (input byte %llu)",
			 r->src->name, what, (unsigned long long)off,
			 (unsigned long long)r->src->consumed);
}

/* Decompresses until at least n unread bytes are buffered. Returns 1 when
 * they are, 0 at a clean end (nothing unread, last frame complete), -1 on
 * corruption or truncation. */
static int reader_need(struct rec_reader *r, size_t n)
{
	if (r->pos > 0 && r->pos >= r->d.len / 2) {
		memmove(r->d.p, r->d.p + r->pos, r->d.len - r->pos);
		r->d.len -= r->pos;
		r->doff += r->pos;
		r->pos = 0;
	}
	while (r->d.len - r->pos < n) {
		const unsigned char *p;
		ssize_t avail = rec_src_fill(r->src, &p);
		if (avail < 0)
			return -1;
		if (avail == 0) {
			if (r->last_ret != 0)
				return reader_fail(r, "truncated stream (incomplete zstd frame)", r->doff + r->d.len);
			if (r->d.len > r->pos)
				return reader_fail(r, "truncated stream (incomplete chunk)", r->doff + r->pos);
			return 0;
		}
		buf_room(&r->d, ZSTD_DStreamOutSize());
		ZSTD_inBuffer in = { p, (size_t)avail, 0 };
		ZSTD_outBuffer out = { r->d.p + r->d.len, r->d.cap - r->d.len, 0 };
		size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);
		rec_src_skip(r->src, in.pos);
		if (ZSTD_isError(ret)) {
			r->failed = 1;
			return rec_error("'%s': corrupt stream at input byte %llu: %s", r->src->name,
					 (unsigned long long)r->src->consumed, ZSTD_getErrorName(ret));
		}
		r->last_ret = ret;
		r->d.len += out.pos;
	}
	return 1;
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* A bounds-checked cursor over a chunk. */
struct cur {
	const unsigned char *p, *end;
	int bad;
};

static const unsigned char *take(struct cur *c, size_t n)
{
	const unsigned char *p = c->p;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return NULL;
	}
	c->p += n;
	return p;
}

static uint64_t take_varint(struct cur *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64 && c->p < c->end; shift += 7) {
		unsigned char byte = *c->p++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

static struct rec_schema *parse_header(struct cur *c)
{
	struct rec_schema *s = rec_schema_new(0);
	const unsigned char *p = take(c, 20);
	uint32_t nfields, meta;

	if (!p)
		goto bad;
	s->flags = get_u32(p);
	s->id_bits = get_u32(p + 4);
	memcpy(&s->seed, p + 8, 8);
	nfields = get_u32(p + 16);
	if (s->flags & ~(uint32_t)(REC_HASHED | REC_HAS_WEIGHT | REC_HAS_GROUP) ||
	    s->id_bits < 1 || s->id_bits > 64 || nfields > REC_MAX_FIELDS)
		goto bad;
	for (uint32_t f = 0; f < nfields; f++) {
		const unsigned char *kf = take(c, 3);
		const unsigned char *name = kf ? take(c, kf[2]) : NULL;
		char tmp[REC_MAX_NAME + 1];
		if (!name)
			goto bad;
		memcpy(tmp, name, kf[2]);
		tmp[kf[2]] = 0;
		if (strlen(tmp) != kf[2] || kf[1] & ~REC_FIELD_VALUED ||
		    rec_schema_add(s, tmp, kf[0], kf[1]) < 0)
			goto bad;
	}
	p = take(c, 4);
	meta = p ? get_u32(p) : 0;
	p = take(c, meta);
	if (!p)
		goto bad;
	if (meta)
		s->meta = rec_xstrndup((const char *)p, meta);
	return s;
bad:
	rec_schema_free(s);
	return NULL;
}

/* Reads a header chunk at the cursor position; sets *out. */
static int read_header(struct rec_reader *r, struct rec_schema **out)
{
	uint64_t at = r->doff + r->pos;
	const unsigned char *h;
	uint32_t version, len;
	int rc = reader_need(r, 4);

	if (rc < 0)
		return -1;
	if (rc == 0 || memcmp(r->d.p + r->pos, REC_STREAM_MAGIC, 4) != 0)
		return reader_fail(r, "not a recpipe stream (bad magic)", at);
	if ((rc = reader_need(r, 12)) <= 0)
		return rc < 0 ? -1 : reader_fail(r, "truncated stream header", at);
	h = r->d.p + r->pos;
	version = get_u32(h + 4);
	len = get_u32(h + 8);
	if (version > REC_STREAM_VERSION) {
		r->failed = 1;
		return rec_error("'%s': stream is format v%u, this build reads up to v%u (byte %llu)",
				 r->src->name, version, REC_STREAM_VERSION, (unsigned long long)at);
	}
	if (version == 0)
		return reader_fail(r, "unknown stream format version 0", at + 4);
	if (len < 28 || len > MAX_HEADER)
		return reader_fail(r, "corrupt stream header (bad length)", at + 8);
	if ((rc = reader_need(r, 12 + (size_t)len)) <= 0)
		return rc < 0 ? -1 : reader_fail(r, "truncated stream header", at);
	h = r->d.p + r->pos;
	if (XXH32(h, 12 + len - 4, 0) != get_u32(h + 12 + len - 4))
		return reader_fail(r, "corrupt stream header (checksum mismatch)", at);
	struct cur c = { h + 12, h + 12 + len - 4, 0 };
	*out = parse_header(&c);
	if (!*out || c.p != c.end)
		return reader_fail(r, "corrupt stream header", at);
	r->pos += 12 + (size_t)len;
	return 1;
}

struct rec_reader *rec_reader_from_src(struct rec_src *src)
{
	struct rec_reader *r = rec_xcalloc(1, sizeof(*r));
	const unsigned char *p;
	ssize_t n;

	r->src = src;
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		rec_die("out of memory");
	n = rec_src_peek(src, &p, 4);
	if (n < 0)
		goto fail;
	if (n == 0) {
		rec_error("'%s': empty input, not a recpipe stream", src->name);
		goto fail;
	}
	if (!rec_stream_sniff(p, (size_t)n)) {
		rec_error("'%s': not a recpipe stream (no zstd frame at byte 0)", src->name);
		goto fail;
	}
	if (read_header(r, &r->schema) <= 0)
		goto fail;
	r->block = rec_block_new(r->schema);
	return r;
fail:
	rec_reader_close(r);
	return NULL;
}

struct rec_reader *rec_reader_open(const char *path)
{
	struct rec_src *src = rec_src_open(path);

	return src ? rec_reader_from_src(src) : NULL;
}

const struct rec_schema *rec_reader_schema(const struct rec_reader *r)
{
	return r->schema;
}

const char *rec_reader_name(const struct rec_reader *r)
{
	return r->src->name;
}

uint64_t rec_reader_records(const struct rec_reader *r)
{
	return r->records;
}

void rec_reader_close(struct rec_reader *r)
{
	if (!r)
		return;
	rec_block_free(r->block);
	rec_schema_free(r->schema);
	rec_schema_free(r->other);
	ZSTD_freeDCtx(r->dctx);
	rec_src_close(r->src);
	free(r->d.p);
	free(r->dict);
	free(r);
}

/* ---- decoding blocks ----------------------------------------------------- */

/* below[x][k]: the bits of byte x below bit k + 1 that are set */
static uint8_t below[256][8];

static __attribute__((constructor)) void fill_below(void)
{
	for (int x = 0; x < 256; x++)
		for (int k = 0, n = 0; k < 8; k++)
			below[x][k] = (uint8_t)(n += (x >> k) & 1);
}

/* A scalar column's offsets from its presence bits, a byte (8 records) at
 * a time: a loop over single bits was a sixth of reading. */
static void presence_offsets(const unsigned char *bits, size_t n, uint32_t *off)
{
	uint32_t total = 0;
	size_t r = 0;

	for (; r + 8 <= n; r += 8) {
		const uint8_t *k = below[bits[r >> 3]];
		for (int j = 0; j < 8; j++)
			off[r + j + 1] = total + k[j];
		total += k[7];
	}
	for (; r < n; r++) {
		total += (bits[r >> 3] >> (r & 7)) & 1;
		off[r + 1] = total;
	}
}

static int get_counts(struct cur *c, struct rec_block *b, size_t f)
{
	uint32_t *off = b->col[f].off;
	uint64_t total = 0;

	if (is_scalar(b->schema->field[f].kind)) {
		const unsigned char *bits = take(c, (b->n + 7) / 8);
		if (!bits)
			return -1;
		presence_offsets(bits, b->n, off);
		return 0;
	}
	for (size_t r = 0; r < b->n; r++) {
		total += take_varint(c);
		if (c->bad || total > MAX_PAYLOAD)
			return -1;
		off[r + 1] = (uint32_t)total;
	}
	return 0;
}

static int take_ids(struct cur *c, uint64_t *dst, size_t n, unsigned idb)
{
	const unsigned char *p = take(c, n * idb);

	if (!p)
		return -1;
	if (idb == 8) {
		if (n)
			memcpy(dst, p, n * 8);
		return 0;
	}
	/* 8-byte loads, masked, wherever 8 bytes are there to read */
	uint64_t mask = ~UINT64_C(0) >> (64 - 8 * idb);
	size_t i = 0, fast = (size_t)(c->end - p) >= 8 ? ((size_t)(c->end - p) - 8) / idb + 1 : 0;
	if (fast > n)
		fast = n;
	for (; i < fast; i++) {
		uint64_t v;
		memcpy(&v, p + i * idb, 8);
		dst[i] = v & mask;
	}
	for (; i < n; i++) {
		uint64_t v = 0;
		memcpy(&v, p + i * idb, idb);
		dst[i] = v;
	}
	return 0;
}

/* n dictionary indices into dst as IDs. The indices are varints, nearly
 * all of one or two bytes: those take a compare or two, not a call. */
static int take_coded(struct cur *c, const uint64_t *dict, uint64_t ndict, uint64_t *restrict dst, size_t n)
{
	const unsigned char *p = c->p, *end = c->end;

	for (size_t i = 0; i < n; i++) {
		uint64_t k;
		if (p < end && *p < 0x80) {
			k = *p++;
		} else if (end - p >= 2 && p[1] < 0x80) {
			k = (p[0] & 0x7fu) | (uint64_t)p[1] << 7;
			p += 2;
		} else {
			c->p = p;
			k = take_varint(c);
			if (c->bad)
				return -1;
			p = c->p;
		}
		if (k >= ndict)
			return -1;
		dst[i] = dict[k];
	}
	c->p = p;
	return 0;
}

/* Plain or dictionary-coded IDs (see put_hashed). */
static int get_ids(struct cur *c, struct rec_block *b, size_t f, struct rec_reader *r)
{
	struct rec_col *col = &b->col[f];
	unsigned idb = rec_schema_id_bytes(b->schema);
	const unsigned char *mode = take(c, 1);
	uint64_t ndict;

	rec_xgrow(&col->id, &col->cap_id, col->nval + 1, sizeof(uint64_t));
	if (!mode || *mode > 1)
		return -1;
	if (*mode == 0)
		return take_ids(c, col->id, col->nval, idb);
	ndict = take_varint(c);
	if (c->bad || ndict > col->nval)
		return -1;
	rec_xgrow(&r->dict, &r->cap_dict, ndict + 1, sizeof(uint64_t));
	if (take_ids(c, r->dict, ndict, idb) < 0)
		return -1;
	return take_coded(c, r->dict, ndict, col->id, col->nval);
}

/* Reads nval varint lengths, then the bytes, into offsets + string storage. */
static int get_strings(struct cur *c, size_t nval, uint32_t **soff, size_t *cap_soff,
		       char **str, size_t *cap_str)
{
	uint64_t total = 0;
	const unsigned char *p;

	rec_xgrow(soff, cap_soff, nval + 1, sizeof(uint32_t));
	(*soff)[0] = 0;
	for (size_t i = 0; i < nval; i++) {
		total += take_varint(c);
		if (c->bad || total > MAX_PAYLOAD)
			return -1;
		(*soff)[i + 1] = (uint32_t)total;
	}
	if (!(p = take(c, total)))
		return -1;
	rec_xgrow(str, cap_str, total + 1, 1);
	if (total)
		memcpy(*str, p, total);
	return 0;
}

static int get_floats(struct cur *c, float **dst, size_t *cap, size_t n)
{
	const unsigned char *p = take(c, n * 4);

	if (!p)
		return -1;
	rec_xgrow(dst, cap, n + 1, sizeof(float));
	if (n)
		memcpy(*dst, p, n * 4);
	return 0;
}

static int get_field(struct cur *c, struct rec_block *b, size_t f, struct rec_reader *r)
{
	struct rec_col *col = &b->col[f];
	const struct rec_field *fd = &b->schema->field[f];

	if (get_counts(c, b, f) < 0)
		return -1;
	col->nval = col->off[b->n];
	if (fd->kind != REC_NUMERIC) {
		int rc = (b->schema->flags & REC_HASHED)
			? get_ids(c, b, f, r)
			: get_strings(c, col->nval, &col->soff, &col->cap_soff, &col->str, &col->cap_str);
		if (rc < 0)
			return -1;
	}
	if (fd->kind == REC_NUMERIC || (fd->flags & REC_FIELD_VALUED))
		return get_floats(c, &col->val, &col->cap_val, col->nval);
	return 0;
}

static int decode_payload(struct cur *c, struct rec_block *b, size_t n, struct rec_reader *r)
{
	const struct rec_schema *s = b->schema;
	size_t cap;

	reserve_records(b, n);
	b->n = n;
	cap = b->cap_n;
	if (get_floats(c, &b->label, &cap, n) < 0)
		return -1;
	if ((s->flags & REC_HAS_WEIGHT) && get_floats(c, &b->weight, &cap, n) < 0)
		return -1;
	if ((s->flags & REC_HAS_GROUP) &&
	    get_strings(c, n, &b->goff, &cap, &b->gstr, &b->cap_gstr) < 0)
		return -1;
	for (size_t f = 0; f < s->nfields; f++)
		if (get_field(c, b, f, r) < 0)
			return -1;
	return c->p == c->end ? 0 : -1;
}

static int reader_block(struct rec_reader *r, const struct rec_block **out)
{
	uint64_t at = r->doff + r->pos;
	const unsigned char *h = r->d.p + r->pos;
	uint32_t n = get_u32(h + 4), len = get_u32(h + 8), sum = get_u32(h + 12);
	int rc;

	if (n == 0 || n > MAX_BLOCK_RECORDS || len > MAX_PAYLOAD)
		return reader_fail(r, "corrupt block header", at);
	if ((rc = reader_need(r, CHUNK_HEAD + (size_t)len)) <= 0)
		return rc < 0 ? -1 : reader_fail(r, "truncated block", at);
	h = r->d.p + r->pos;
	if (XXH32(h + CHUNK_HEAD, len, 0) != sum)
		return reader_fail(r, "corrupt block (checksum mismatch)", at);
	struct cur c = { h + CHUNK_HEAD, h + CHUNK_HEAD + len, 0 };
	if (decode_payload(&c, r->block, n, r) < 0)
		return reader_fail(r, "corrupt block (sizes disagree)", at);
	r->pos += CHUNK_HEAD + (size_t)len;
	r->records += n;
	*out = r->block;
	return 1;
}

/* A header in the middle: a concatenated stream, which must agree. */
static int reader_header_again(struct rec_reader *r)
{
	uint64_t at = r->doff + r->pos;
	char *a, *b;

	rec_schema_free(r->other);
	r->other = NULL;
	if (read_header(r, &r->other) <= 0)
		return -1;
	if (rec_schema_equal(r->schema, r->other))
		return 0;
	a = rec_schema_describe(r->schema);
	b = rec_schema_describe(r->other);
	rec_error("'%s': concatenated streams disagree at byte %llu: first schema is [%s], then [%s]",
		  r->src->name, (unsigned long long)at, a, b);
	free(a);
	free(b);
	r->failed = 1;
	return -1;
}

int rec_reader_next(struct rec_reader *r, const struct rec_block **b)
{
	for (;;) {
		int rc;
		if (r->failed)
			return -1;
		if ((rc = reader_need(r, 4)) <= 0)
			return rc;
		if (r->d.len - r->pos < CHUNK_HEAD && reader_need(r, CHUNK_HEAD) < 0)
			return -1;
		if (memcmp(r->d.p + r->pos, REC_STREAM_MAGIC, 4) == 0) {
			if (reader_header_again(r) < 0)
				return -1;
			continue;
		}
		if (memcmp(r->d.p + r->pos, REC_BLOCK_MAGIC, 4) != 0)
			return reader_fail(r, "corrupt stream (unknown chunk)", r->doff + r->pos);
		if (r->d.len - r->pos < CHUNK_HEAD)
			return reader_fail(r, "truncated block", r->doff + r->pos);
		return reader_block(r, b);
	}
}
