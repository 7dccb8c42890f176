/* text.h - splitting delimited text (TSV, CSV with RFC 4180 quoting, any
 * single- or multi-character separator such as "|" or "::") into fields. */
#ifndef REC_TEXT_H
#define REC_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

struct rec_span {
	const char *p;        /* not NUL-terminated */
	size_t len;
};

struct rec_text_opts {
	const char *sep;      /* field separator, one or more bytes ("\t") */
	int csv;              /* RFC 4180: "quoted, fields", "" inside quotes, newlines inside quotes */
};
#define REC_TEXT_OPTS_INIT { .sep = "\t", .csv = 0 }

struct rec_text;

/* Takes ownership of src. Returns NULL after a message on bad options. */
struct rec_text *rec_text_open(struct rec_src *src, const struct rec_text_opts *o);
/* The file at path (standard input for NULL or "-"; compressed or not, as
 * rec_src_open_text reads it) split with o (NULL: tab-separated); NULL
 * after a message. */
struct rec_text *rec_text_open_path(const char *path, const struct rec_text_opts *o);
/* Reads the next non-empty line and splits it. Returns 1 with *fields (valid
 * until the next call) and *n set, 0 at the end of input, -1 after a message
 * "name:line: what was wrong" (e.g. an unterminated quote) or a read error.
 * A trailing "\r" is dropped (CRLF files); a last line without "\n" counts. */
int rec_text_next(struct rec_text *t, const struct rec_span **fields, size_t *n);
/* The line number of the line last returned (1-based; for a quoted CSV
 * record spanning lines, its first line). */
uint64_t rec_text_lineno(const struct rec_text *t);
const char *rec_text_name(const struct rec_text *t);
/* Input bytes consumed so far (for throughput figures). */
uint64_t rec_text_bytes(const struct rec_text *t);
void rec_text_close(struct rec_text *t);

#endif
