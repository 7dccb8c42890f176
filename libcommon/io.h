/* io.h - buffered byte sources that can be peeked, and atomic outputs. */
#ifndef REC_IO_H
#define REC_IO_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* A readable byte source: a file, stdin or a pipe, optionally through a
 * decompressing filter (gzip, xz, bzip2, zstd) when opened for text. */
struct rec_src {
	char *name;          /* for messages: the path, or "(stdin)" */
	int fd;              /* -1 when reading through libarchive */
	int owns_fd;
	void *archive;       /* struct archive * for compressed text, else NULL */
	unsigned char *buf;  /* read buffer */
	size_t cap, pos, len;
	uint64_t consumed;   /* bytes handed out so far: the input offset */
	int eof;
	int err;             /* a read error was reported */
};

/* Opens path (NULL or "-" = stdin) for raw reading. Returns NULL after
 * printing a message on failure. */
struct rec_src *rec_src_open(const char *path);
/* Same, but compressed text (gzip, xz, bzip2, zstd) is decompressed on the
 * fly, so "rec-cross ratings.dat.gz" works. Plain text reads directly. */
struct rec_src *rec_src_open_text(const char *path);
void rec_src_close(struct rec_src *s);
/* Turns on that decompression for a source opened with rec_src_open, before
 * anything was consumed; -1 after a message. */
int rec_src_text_filter(struct rec_src *s);

/* Makes up to want bytes available at *p without consuming them; returns
 * how many are (fewer only at end of input), or -1 on a read error. */
ssize_t rec_src_peek(struct rec_src *s, const unsigned char **p, size_t want);
/* Reads up to n bytes; returns the count (0 at end), -1 on error. */
ssize_t rec_src_read(struct rec_src *s, void *dst, size_t n);
/* Gives access to the buffered bytes: returns the count available at *p
 * (refilling when empty), 0 at end, -1 on error. Call rec_src_skip after. */
ssize_t rec_src_fill(struct rec_src *s, const unsigned char **p);
void rec_src_skip(struct rec_src *s, size_t n);

/* An output written atomically: to "<path>.tmp.XXXXXX", renamed on commit.
 * A killed (SIGINT, SIGTERM, SIGHUP) or failing run unlinks the
 * temporary file, so no truncated output is ever left under path. */
struct rec_out {
	FILE *fp;
	char *path;   /* NULL for stdout */
	char *tmp;
};

/* Opens path (NULL or "-" = stdout). With binary set, refuses to write to a
 * terminal unless force is set. Returns -1 after printing on failure. */
int rec_out_open(struct rec_out *o, const char *path, int binary, int force);
/* Flushes, closes and renames into place; -1 (after a message) on error,
 * in which case the temporary file is gone too. */
int rec_out_commit(struct rec_out *o);
/* Drops the output: closes and unlinks the temporary file. */
void rec_out_abort(struct rec_out *o);
/* The name to use in messages. */
const char *rec_out_name(const struct rec_out *o);

/* Ignore SIGPIPE so a closed reader turns into EPIPE, which tools treat as
 * a quiet end ("rec-cat x | head"). */
void rec_io_quiet_epipe(void);

#endif
