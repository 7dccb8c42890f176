/* stream.h - the recpipe feature stream: schema, record blocks, reader and
 * writer. The format itself is described in rec-stream(5). */
#ifndef REC_STREAM_H
#define REC_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io.h"

#define REC_STREAM_MAGIC "RECS"
#define REC_BLOCK_MAGIC "RECB"
#define REC_STREAM_VERSION 1u

/* Field kinds. */
enum rec_kind {
	REC_NUMERIC = 1,      /* at most one float per record, no ID */
	REC_CATEGORICAL = 2,  /* at most one value per record */
	REC_LIST = 3,         /* any number of values, order irrelevant (pooled) */
	REC_SEQUENCE = 4      /* any number of values, oldest first */
};

/* Field flags. */
enum {
	REC_FIELD_VALUED = 1  /* every value of the field carries a float */
};

/* Stream flags. */
enum {
	REC_HASHED = 1,       /* values are 64-bit IDs, else raw byte strings */
	REC_HAS_WEIGHT = 2,   /* every record carries a weight */
	REC_HAS_GROUP = 4     /* every record carries a group key (e.g. the user) */
};

#define REC_MAX_FIELDS 4096
#define REC_MAX_NAME 255

struct rec_field {
	char *name;
	uint8_t kind;         /* enum rec_kind */
	uint8_t flags;        /* REC_FIELD_* */
};

struct rec_schema {
	uint32_t flags;       /* REC_HASHED | REC_HAS_WEIGHT | REC_HAS_GROUP */
	uint32_t id_bits;     /* hashed streams: IDs are below 2^id_bits (1..64) */
	uint64_t seed;        /* hashed streams: the hash seed */
	size_t nfields;
	struct rec_field *field;
	char *meta;           /* provenance, "key = value" lines; may be NULL */
};

struct rec_schema *rec_schema_new(uint32_t flags);
void rec_schema_free(struct rec_schema *s);
struct rec_schema *rec_schema_copy(const struct rec_schema *s);
/* Appends a field; returns its index, or -1 (with a message) on a
 * duplicate or invalid name. */
int rec_schema_add(struct rec_schema *s, const char *name, int kind, int flags);
/* Index of the named field, or -1. */
int rec_schema_find(const struct rec_schema *s, const char *name);
/* Appends "key = value\n" to the provenance text. */
void rec_schema_set_meta(struct rec_schema *s, const char *key, const char *value);
/* Schemas agree when everything but the provenance text matches. */
int rec_schema_equal(const struct rec_schema *a, const struct rec_schema *b);
/* One line describing s, e.g. "hashed seed=0x0 bits=64 label I1:num C1:cat";
 * returns a malloc'd string. */
char *rec_schema_describe(const struct rec_schema *s);
const char *rec_kind_name(int kind);
/* "num", "cat", "list", "seq" back to a kind; -1 when unknown. */
int rec_kind_parse(const char *name);
/* Bytes one stored ID takes: ceil(id_bits / 8). */
static inline unsigned rec_schema_id_bytes(const struct rec_schema *s)
{
	return (s->id_bits + 7) / 8;
}

/* One field's values over the records of a block. Record r owns values
 * off[r] .. off[r+1]-1. A numeric field has val only; a categorical, list
 * or sequence field has id (hashed) or soff/str (raw), plus val when the
 * field is REC_FIELD_VALUED. */
struct rec_col {
	uint32_t *off;        /* n+1 offsets */
	uint64_t *id;         /* hashed: nval IDs */
	uint32_t *soff;       /* raw: nval+1 offsets into str */
	char *str;            /* raw: the value bytes, not NUL-terminated */
	float *val;           /* numeric or valued: nval floats */
	size_t nval;
	size_t cap_off, cap_id, cap_soff, cap_str, cap_val;
};

/* A block of records, the unit the reader returns and the writer fills. */
struct rec_block {
	const struct rec_schema *schema;   /* not owned */
	size_t n;             /* records */
	float *label;         /* n */
	float *weight;        /* n, when REC_HAS_WEIGHT */
	uint32_t *goff;       /* n+1 offsets into gstr, when REC_HAS_GROUP */
	char *gstr;
	struct rec_col *col;  /* schema->nfields */
	size_t cap_n, cap_gstr;
	size_t bytes;         /* payload estimate of the ended records */
};

struct rec_block *rec_block_new(const struct rec_schema *s);
void rec_block_free(struct rec_block *b);
void rec_block_clear(struct rec_block *b);

/* Building a record: add its features in any order, then end it. */
void rec_block_add_num(struct rec_block *b, size_t field, float x);
void rec_block_add_id(struct rec_block *b, size_t field, uint64_t id, float v);
void rec_block_add_str(struct rec_block *b, size_t field, const char *s, size_t len, float v);
void rec_block_end_record(struct rec_block *b, float label, float weight,
			  const char *group, size_t glen);
/* Drops the features added since the last ended record. */
void rec_block_cancel_record(struct rec_block *b);
/* Bytes the block's payload will take when encoded. */
size_t rec_block_payload_size(const struct rec_block *b);

/* Accessors for record r of a block. */
static inline size_t rec_block_count(const struct rec_block *b, size_t field, size_t r)
{
	return b->col[field].off[r + 1] - b->col[field].off[r];
}

/* Writer: encodes blocks into one zstd frame on an output. */
struct rec_writer;

struct rec_writer_opts {
	int level;            /* zstd level (4: the first that beats zstd -3 of the
	                       * Criteo text with 64-bit IDs, bench/) */
	int threads;          /* zstd worker threads (0 = none) */
	size_t block_bytes;   /* flush a block at about this payload size (1 MiB) */
};
#define REC_WRITER_OPTS_INIT { .level = 4, .threads = 0, .block_bytes = 1u << 20 }

/* Writes the header at once. fp stays the caller's. name is for messages.
 * Returns NULL after a message on failure. opts may be NULL. */
struct rec_writer *rec_writer_new(FILE *fp, const char *name, const struct rec_schema *s,
				  const struct rec_writer_opts *opts);
/* The block to add the next record's features to. */
struct rec_block *rec_writer_block(struct rec_writer *w);
/* Ends the record being built; flushes the block when it is full. */
int rec_writer_end_record(struct rec_writer *w, float label, float weight,
			  const char *group, size_t glen);
/* Writes a whole block of the same schema (e.g. one read from a stream). */
int rec_writer_put_block(struct rec_writer *w, const struct rec_block *b);
/* Flushes everything and ends the frame; -1 on a write error. */
int rec_writer_finish(struct rec_writer *w);
void rec_writer_free(struct rec_writer *w);
uint64_t rec_writer_records(const struct rec_writer *w);

/* Reader: decodes one or more concatenated streams of the same schema. */
struct rec_reader;

/* Opens path (NULL or "-" = stdin) and reads its header. Returns NULL after a
 * message on failure ("not a recpipe stream", bad version, truncation). */
struct rec_reader *rec_reader_open(const char *path);
/* Same over an open source (which the reader then owns). */
struct rec_reader *rec_reader_from_src(struct rec_src *src);
const struct rec_schema *rec_reader_schema(const struct rec_reader *r);
const char *rec_reader_name(const struct rec_reader *r);
/* Reads the next block: 1 with *b set (valid until the next call), 0 at the
 * end of input, -1 after a message naming the file and byte offset. */
int rec_reader_next(struct rec_reader *r, const struct rec_block **b);
/* Records returned so far. */
uint64_t rec_reader_records(const struct rec_reader *r);
void rec_reader_close(struct rec_reader *r);

/* True when the bytes start like a recpipe stream (a zstd frame). */
int rec_stream_sniff(const unsigned char *p, size_t n);
/* True when they are a zstd frame whose content starts with the stream
 * magic: tells a stream from zstd-compressed text. n: what is at hand. */
int rec_stream_sniff_content(const unsigned char *p, size_t n);

#endif
