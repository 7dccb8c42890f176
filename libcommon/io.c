/* io.c - peekable byte sources and atomic outputs. */
#include "config.h"
#include "io.h"
#include "err.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_BUFSIZE (1u << 20)

static struct rec_src *src_new(const char *path)
{
	struct rec_src *s = rec_xcalloc(1, sizeof(*s));
	int use_stdin = !path || strcmp(path, "-") == 0;

	s->name = rec_xstrdup(use_stdin ? "(stdin)" : path);
	s->cap = SRC_BUFSIZE;
	s->buf = rec_xmalloc(s->cap);
	if (use_stdin) {
		s->fd = 0;
		return s;
	}
	s->fd = open(path, O_RDONLY);
	if (s->fd < 0) {
		rec_warn_errno("cannot open '%s'", path);
		rec_src_close(s);
		return NULL;
	}
	s->owns_fd = 1;
	return s;
}

struct rec_src *rec_src_open(const char *path)
{
	return src_new(path);
}

static int compressed_magic(const unsigned char *p, size_t n)
{
	static const unsigned char gz[] = { 0x1f, 0x8b }, bz[] = { 'B', 'Z', 'h' },
		xz[] = { 0xfd, '7', 'z', 'X', 'Z' }, zs[] = { 0x28, 0xb5, 0x2f, 0xfd };

	return (n >= 2 && !memcmp(p, gz, 2)) || (n >= 3 && !memcmp(p, bz, 3)) ||
	       (n >= 5 && !memcmp(p, xz, 5)) || (n >= 4 && !memcmp(p, zs, 4));
}

/* Hands the already-buffered prefix and then the fd to libarchive. */
struct archive_feed {
	struct rec_src *src;
	unsigned char *block;
	size_t prefix;   /* bytes of the buffered prefix still in block */
};

static la_ssize_t feed_read(struct archive *a, void *data, const void **out)
{
	struct archive_feed *f = data;
	struct rec_src *s = f->src;
	ssize_t n;

	(void)a;
	if (f->prefix) {
		*out = f->block;
		n = (ssize_t)f->prefix;
		f->prefix = 0;
		return n;
	}
	do
		n = read(s->fd, f->block, SRC_BUFSIZE);
	while (n < 0 && errno == EINTR);
	*out = f->block;
	return n;
}

static int feed_close(struct archive *a, void *data)
{
	struct archive_feed *f = data;

	(void)a;
	free(f->block);
	free(f);
	return ARCHIVE_OK;
}

static int start_archive(struct rec_src *s)
{
	struct archive *a = archive_read_new();
	struct archive_feed *f = rec_xcalloc(1, sizeof(*f));
	struct archive_entry *entry;

	f->src = s;
	f->block = rec_xmalloc(s->len - s->pos > SRC_BUFSIZE ? s->len - s->pos : SRC_BUFSIZE);
	f->prefix = s->len - s->pos;
	memcpy(f->block, s->buf + s->pos, f->prefix);
	s->pos = s->len = 0;
	s->eof = 0; /* that was the compressed input's end; the text's is ahead */
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open(a, f, NULL, feed_read, feed_close) != ARCHIVE_OK ||
	    archive_read_next_header(a, &entry) != ARCHIVE_OK) {
		rec_warn("cannot decompress '%s': %s", s->name, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	s->archive = a;
	s->pos = s->len = 0;
	return 0;
}

int rec_src_text_filter(struct rec_src *s)
{
	const unsigned char *p;
	ssize_t n = rec_src_peek(s, &p, 6);

	if (n < 0 || (compressed_magic(p, (size_t)n) && start_archive(s) < 0))
		return -1;
	return 0;
}

struct rec_src *rec_src_open_text(const char *path)
{
	struct rec_src *s = src_new(path);

	if (s && rec_src_text_filter(s) < 0) {
		rec_src_close(s);
		return NULL;
	}
	return s;
}

void rec_src_close(struct rec_src *s)
{
	if (!s)
		return;
	if (s->archive)
		archive_read_free(s->archive);
	if (s->owns_fd)
		close(s->fd);
	free(s->buf);
	free(s->name);
	free(s);
}

/* Appends more input to the buffer; returns bytes added, 0 at end, -1 on error. */
static ssize_t src_refill(struct rec_src *s)
{
	ssize_t n;

	if (s->eof)
		return 0;
	if (s->pos > 0 && s->pos == s->len)
		s->pos = s->len = 0;
	if (s->len == s->cap) {
		if (s->pos > 0) {
			memmove(s->buf, s->buf + s->pos, s->len - s->pos);
			s->len -= s->pos;
			s->pos = 0;
		} else {
			s->cap *= 2;
			s->buf = rec_xrealloc(s->buf, s->cap);
		}
	}
	if (s->archive) {
		n = archive_read_data(s->archive, s->buf + s->len, s->cap - s->len);
		if (n < 0) {
			s->err = 1;
			return rec_error("'%s': %s", s->name, archive_error_string(s->archive));
		}
	} else {
		do
			n = read(s->fd, s->buf + s->len, s->cap - s->len);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			s->err = 1;
			rec_warn_errno("cannot read '%s'", s->name);
			return -1;
		}
	}
	if (n == 0)
		s->eof = 1;
	s->len += (size_t)n;
	return n;
}

ssize_t rec_src_peek(struct rec_src *s, const unsigned char **p, size_t want)
{
	while (s->len - s->pos < want) {
		ssize_t n = src_refill(s);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
	}
	*p = s->buf + s->pos;
	return (ssize_t)(s->len - s->pos < want ? s->len - s->pos : want);
}

ssize_t rec_src_fill(struct rec_src *s, const unsigned char **p)
{
	if (s->pos == s->len && src_refill(s) < 0)
		return -1;
	*p = s->buf + s->pos;
	return (ssize_t)(s->len - s->pos);
}

void rec_src_skip(struct rec_src *s, size_t n)
{
	s->pos += n;
	s->consumed += n;
}

ssize_t rec_src_read(struct rec_src *s, void *dst, size_t n)
{
	size_t got = 0;

	while (got < n) {
		const unsigned char *p;
		ssize_t avail = rec_src_fill(s, &p);
		size_t take;

		if (avail < 0)
			return -1;
		if (avail == 0)
			break;
		take = (size_t)avail < n - got ? (size_t)avail : n - got;
		memcpy((char *)dst + got, p, take);
		rec_src_skip(s, take);
		got += take;
	}
	return (ssize_t)got;
}

/* Temporary files to unlink if a signal ends the run. */
#define MAX_PENDING 16
static char *volatile pending[MAX_PENDING];

static void on_fatal_signal(int sig)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending[i])
			unlink(pending[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track_tmp(char *tmp, int add)
{
	static int installed;

	for (int i = 0; i < MAX_PENDING; i++) {
		if (add && !pending[i]) {
			pending[i] = tmp;
			break;
		}
		if (!add && pending[i] == tmp)
			pending[i] = NULL;
	}
	if (add && !installed) {
		int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGXFSZ };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], on_fatal_signal);
		installed = 1;
	}
}

static mode_t current_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

int rec_out_open(struct rec_out *o, const char *path, int binary, int force)
{
	struct stat st;
	int fd;

	memset(o, 0, sizeof(*o));
	if (!path || strcmp(path, "-") == 0) {
		if (binary && !force && isatty(1))
			return rec_error("refusing to write binary data to a terminal (use -f)");
		o->fp = stdout;
		return 0;
	}
	o->path = rec_xstrdup(path);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* /dev/null, a FIFO: nothing to replace, nothing to half-write */
		if (!(o->fp = fopen(path, "wb"))) {
			rec_warn_errno("cannot open '%s'", path);
			free(o->path);
			o->path = NULL;
			return -1;
		}
		return 0;
	}
	o->tmp = rec_xmalloc(strlen(path) + 16);
	sprintf(o->tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		rec_warn_errno("cannot create '%s'", path);
		free(o->path);
		free(o->tmp);
		memset(o, 0, sizeof(*o));
		return -1;
	}
	fchmod(fd, 0666 & ~current_umask());
	track_tmp(o->tmp, 1);
	o->fp = fdopen(fd, "wb");
	return 0;
}

const char *rec_out_name(const struct rec_out *o)
{
	return o->path ? o->path : "(stdout)";
}

static void out_release(struct rec_out *o)
{
	if (o->tmp)
		track_tmp(o->tmp, 0);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

void rec_out_abort(struct rec_out *o)
{
	if (!o->fp)
		return;
	if (o->path) {
		fclose(o->fp);
		if (o->tmp)
			unlink(o->tmp);
	}
	out_release(o);
}

int rec_out_commit(struct rec_out *o)
{
	int failed;

	if (!o->fp)
		return 0;
	if (!o->path) {
		failed = fflush(stdout) != 0 || ferror(stdout);
		if (failed && errno != EPIPE)
			rec_warn_errno("cannot write to standard output");
		out_release(o);
		return failed && errno != EPIPE ? -1 : 0;
	}
	failed = fflush(o->fp) != 0 || ferror(o->fp);
	failed |= fclose(o->fp) != 0;
	if (!failed && (!o->tmp || rename(o->tmp, o->path) == 0)) {
		out_release(o);
		return 0;
	}
	rec_warn_errno("cannot write '%s'", o->path);
	if (o->tmp)
		unlink(o->tmp);
	out_release(o);
	return -1;
}

void rec_io_quiet_epipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}
