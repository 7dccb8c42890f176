/* model.c - model files through libarchive: tar, zstd-compressed. */
#include "config.h"
#include "model.h"
#include "hash.h"
#include "io.h"
#include "stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- key = value -------------------------------------------------------- */

void rec_kv_set(struct rec_kv *kv, const char *key, const char *val)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0) {
			free(kv->val[i]);
			kv->val[i] = rec_xstrdup(val);
			return;
		}
	size_t cap = kv->cap;
	rec_xgrow(&kv->key, &cap, kv->n + 1, sizeof(char *));
	kv->val = rec_xrealloc(kv->val, cap * sizeof(char *));
	kv->cap = cap;
	kv->key[kv->n] = rec_xstrdup(key);
	kv->val[kv->n++] = rec_xstrdup(val);
}

void rec_kv_setf(struct rec_kv *kv, const char *key, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rec_kv_set(kv, key, buf);
}

const char *rec_kv_get(const struct rec_kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0)
			return kv->val[i];
	return NULL;
}

void rec_kv_free(struct rec_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->key[i]);
		free(kv->val[i]);
	}
	free(kv->key);
	free(kv->val);
	memset(kv, 0, sizeof(*kv));
}

size_t rec_dtype_size(const char *dtype)
{
	static const struct { const char *name; size_t size; } types[] = {
		{ "f32", 4 }, { "f16", 2 }, { "bf16", 2 }, { "i8", 1 }, { "u32", 4 },
		{ "u64", 8 }, { "i64", 8 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dtype, types[i].name) == 0)
			return types[i].size;
	return 0;
}

static int valid_tensor_name(const char *name)
{
	if (!*name || strlen(name) > 200 || strcmp(name, "MANIFEST") == 0)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

/* ---- writing ----------------------------------------------------------- */

struct rec_model_writer {
	struct rec_out out;
	struct rec_tensor *t;
	size_t nt;
};

struct rec_model_writer *rec_model_create(const char *path, int force)
{
	struct rec_model_writer *w = rec_xcalloc(1, sizeof(*w));

	if (rec_out_open(&w->out, path, 1, force) < 0) {
		free(w);
		return NULL;
	}
	return w;
}

static struct rec_tensor *add_tensor(struct rec_model_writer *w, const char *name, const char *dtype,
				     const size_t *shape, size_t ndim)
{
	struct rec_tensor *t;
	size_t bytes = rec_dtype_size(dtype);

	if (!valid_tensor_name(name) || !bytes || ndim == 0 || ndim > REC_MODEL_MAX_DIMS) {
		rec_error("tensor '%s': invalid name, dtype '%s' or rank %zu", name, dtype, ndim);
		return NULL;
	}
	w->t = rec_xrealloc(w->t, (w->nt + 1) * sizeof(*w->t));
	t = &w->t[w->nt++];
	memset(t, 0, sizeof(*t));
	t->name = rec_xstrdup(name);
	snprintf(t->dtype, sizeof(t->dtype), "%s", dtype);
	for (size_t d = 0; d < ndim; d++) {
		t->shape[d] = shape[d];
		bytes *= shape[d];
	}
	t->ndim = ndim;
	t->bytes = bytes;
	return t;
}

int rec_model_add(struct rec_model_writer *w, const char *name, const char *dtype,
		  const size_t *shape, size_t ndim, const void *data)
{
	struct rec_tensor *t = add_tensor(w, name, dtype, shape, ndim);

	if (!t)
		return -1;
	t->data = data;
	return 0;
}

int rec_model_add_filled(struct rec_model_writer *w, const char *name, const char *dtype,
			 const size_t *shape, size_t ndim,
			 void (*fill)(const void *ctx, size_t r0, size_t n, void *out), const void *ctx)
{
	struct rec_tensor *t = add_tensor(w, name, dtype, shape, ndim);

	if (!t)
		return -1;
	t->fill = fill;
	t->ctx = ctx;
	return 0;
}

/* Bytes a piece of a tensor written at a time: rows from fill go through
 * a buffer of about this size. */
#define PIECE ((size_t)1 << 20)

/* Rows of row bytes in a piece: at least one. */
static size_t piece_rows(size_t row)
{
	return PIECE / row ? PIECE / row : 1;
}

/* The tensor's bytes a piece at a time, to put(arg, bytes, len); stops at
 * the first nonzero return. */
static int for_each_piece(const struct rec_tensor *t, int (*put)(void *arg, const void *p, size_t len),
			  void *arg)
{
	size_t row = t->shape[0] ? t->bytes / t->shape[0] : 0, step;
	unsigned char *buf;
	int rc = 0;

	if (t->bytes == 0)
		return 0;
	if (!t->fill)
		return put(arg, t->data, t->bytes);
	step = piece_rows(row);
	buf = rec_xmalloc(step * row);
	for (size_t r = 0; rc == 0 && r < t->shape[0]; r += step) {
		size_t n = t->shape[0] - r < step ? t->shape[0] - r : step;
		t->fill(t->ctx, r, n, buf);
		rc = put(arg, buf, n * row);
	}
	free(buf);
	return rc;
}

static int hash_piece(void *state, const void *p, size_t len)
{
	return XXH3_64bits_update(state, p, len) == XXH_OK ? 0 : -1;
}

static uint64_t tensor_checksum(const struct rec_tensor *t)
{
	XXH3_state_t *st = XXH3_createState();

	if (!st)
		rec_die("out of memory");
	XXH3_64bits_reset(st);
	for_each_piece(t, hash_piece, st);
	uint64_t h = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return h;
}

static char *manifest_text(const struct rec_model_writer *w, const struct rec_kv *kv, size_t *len)
{
	size_t cap = 256, n = 0;
	char *s;

	for (size_t i = 0; kv && i < kv->n; i++)
		cap += strlen(kv->key[i]) + strlen(kv->val[i]) + 4;
	cap += w->nt * (2 * 220 + REC_MODEL_MAX_DIMS * 21 + 32);
	s = rec_xmalloc(cap);
	n += (size_t)snprintf(s + n, cap - n, "rec.format_version = %u\n", REC_MODEL_VERSION);
	for (size_t i = 0; kv && i < kv->n; i++)
		if (strcmp(kv->key[i], "rec.format_version") && strncmp(kv->key[i], "tensor.", 7) &&
		    strncmp(kv->key[i], "checksum.", 9))
			n += (size_t)snprintf(s + n, cap - n, "%s = %s\n", kv->key[i], kv->val[i]);
	for (size_t i = 0; i < w->nt; i++) {
		n += (size_t)snprintf(s + n, cap - n, "tensor.%s = %s", w->t[i].name, w->t[i].dtype);
		for (size_t d = 0; d < w->t[i].ndim; d++)
			n += (size_t)snprintf(s + n, cap - n, " %zu", w->t[i].shape[d]);
		n += (size_t)snprintf(s + n, cap - n, "\n");
	}
	/* the archive has no checksum of its own: a flipped bit would load */
	for (size_t i = 0; i < w->nt; i++)
		n += (size_t)snprintf(s + n, cap - n, "checksum.%s = %016llx\n", w->t[i].name,
				      (unsigned long long)tensor_checksum(&w->t[i]));
	*len = n;
	return s;
}

static int put_bytes(void *a, const void *data, size_t len)
{
	const char *p = data;

	for (size_t done = 0; done < len;) {
		size_t chunk = len - done < (1u << 24) ? len - done : (1u << 24);
		la_ssize_t wrote = archive_write_data(a, p + done, chunk);
		if (wrote <= 0)
			return -1;
		done += (size_t)wrote;
	}
	return 0;
}

static int put_header(struct archive *a, const char *name, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int rc;

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
	archive_entry_free(e);
	return rc;
}

static int write_archive(struct rec_model_writer *w, const struct rec_kv *kv)
{
	struct archive *a = archive_write_new();
	size_t len;
	char *manifest = manifest_text(w, kv, &len);
	int rc = 0;

	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_FILE(a, w->out.fp) != ARCHIVE_OK)
		rc = -1;
	if (rc == 0)
		rc = put_header(a, "MANIFEST", len) || put_bytes(a, manifest, len) ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < w->nt; i++)
		rc = put_header(a, w->t[i].name, w->t[i].bytes) || for_each_piece(&w->t[i], put_bytes, a) ? -1 : 0;
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = -1;
	if (rc < 0)
		rec_error("cannot write '%s': %s", rec_out_name(&w->out),
			  archive_error_string(a) ? archive_error_string(a) : strerror(errno));
	archive_write_free(a);
	free(manifest);
	return rc;
}

static void writer_free(struct rec_model_writer *w)
{
	for (size_t i = 0; i < w->nt; i++)
		free(w->t[i].name);
	free(w->t);
	free(w);
}

int rec_model_commit(struct rec_model_writer *w, const struct rec_kv *manifest)
{
	int rc = write_archive(w, manifest);

	if (rc == 0)
		rc = rec_out_commit(&w->out);
	else
		rec_out_abort(&w->out);
	writer_free(w);
	return rc;
}

void rec_model_abort(struct rec_model_writer *w)
{
	rec_out_abort(&w->out);
	writer_free(w);
}

/* ---- reading ----------------------------------------------------------- */

/* "f32 3 16" into a tensor's dtype and shape; -1 when malformed. */
static int parse_decl(struct rec_tensor *t, const char *name, const char *val)
{
	char *end;
	const char *p = val;
	size_t bytes, len = strcspn(p, " ");

	if (len == 0 || len >= sizeof(t->dtype))
		return -1;
	memcpy(t->dtype, p, len);
	t->dtype[len] = 0;
	if (!(bytes = rec_dtype_size(t->dtype)) || !valid_tensor_name(name))
		return -1;
	for (p += len; *p == ' ' && t->ndim < REC_MODEL_MAX_DIMS; t->ndim++) {
		unsigned long long d = strtoull(p + 1, &end, 10);
		if (end == p + 1 || d > (1ull << 40) || bytes > (SIZE_MAX >> 1) / (d ? d : 1))
			return -1;
		t->shape[t->ndim] = (size_t)d;
		bytes *= (size_t)d;
		p = end;
	}
	t->name = rec_xstrdup(name);
	t->bytes = bytes;
	return *p || t->ndim == 0 ? -1 : 0;
}

/* One "key = value" line; tensor lines become declared, empty tensors. */
static int parse_line(struct rec_model *m, char *line, size_t lineno)
{
	char *eq = strstr(line, " = ");

	if (!eq || eq == line)
		return rec_error("'%s': MANIFEST line %zu: expected 'key = value'", m->name, lineno);
	*eq = 0;
	if (strncmp(line, "tensor.", 7) == 0) {
		m->t = rec_xrealloc(m->t, (m->nt + 1) * sizeof(*m->t));
		memset(&m->t[m->nt], 0, sizeof(*m->t));
		if (rec_model_tensor(m, line + 7) || parse_decl(&m->t[m->nt++], line + 7, eq + 3) < 0)
			return rec_error("'%s': MANIFEST line %zu: bad or repeated tensor '%s'", m->name,
					 lineno, line + 7);
		return 0;
	}
	rec_kv_set(&m->manifest, line, eq + 3);
	return 0;
}

static int parse_manifest(struct rec_model *m, char *text)
{
	const char *v;
	size_t lineno = 0;

	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			return rec_error("'%s': MANIFEST does not end with a newline", m->name);
		*nl = 0;
		if (parse_line(m, line, ++lineno) < 0)
			return -1;
	}
	if (!(v = rec_kv_get(&m->manifest, "rec.format_version")))
		return rec_error("'%s': MANIFEST has no rec.format_version", m->name);
	if (strtoul(v, NULL, 10) > REC_MODEL_VERSION || strtoul(v, NULL, 10) == 0)
		return rec_error("'%s': model is format v%s, this build reads up to v%u", m->name, v,
				 REC_MODEL_VERSION);
	return 0;
}

static int read_data(struct archive *a, void *dst, size_t len)
{
	size_t got = 0;

	while (got < len) {
		la_ssize_t n = archive_read_data(a, (char *)dst + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* A lazy model's archive, from its first embedding member on. */
struct rec_model_rest {
	struct archive *a;
	struct archive_entry *e;   /* the member whose data comes next */
};

/* Files written before the checksum.* keys load without the check. */
static int verify_checksum(const struct rec_model *m, const struct rec_tensor *t, uint64_t got)
{
	char key[REC_MAX_NAME + 16];
	const char *want;

	snprintf(key, sizeof(key), "checksum.%s", t->name);
	if ((want = rec_kv_get(&m->manifest, key)) && strtoull(want, NULL, 16) != got)
		return rec_error("'%s': tensor '%s' is damaged (its checksum does not match)", m->name, t->name);
	return 0;
}

/* The tensor the member at e declares, its size checked; NULL after a
 * message. */
static struct rec_tensor *member_tensor(const struct rec_model *m, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e);
	struct rec_tensor *t = (struct rec_tensor *)rec_model_tensor(m, name ? name : "");
	la_int64_t size = archive_entry_size(e);

	if (!t) {
		rec_error("'%s': member '%s' is not declared in the MANIFEST", m->name, name);
		return NULL;
	}
	if (t->data || t->streamed) {
		rec_error("'%s': tensor '%s' appears twice", m->name, name);
		return NULL;
	}
	if (size < 0 || (uint64_t)size != t->bytes) {
		rec_error("'%s': tensor '%s' has %lld bytes, the MANIFEST says %zu", m->name, name,
			  (long long)size, t->bytes);
		return NULL;
	}
	return t;
}

static int truncated(const struct rec_model *m, const struct rec_tensor *t, struct archive *a)
{
	return rec_error("'%s': tensor '%s' is truncated: %s", m->name, t->name,
			 archive_error_string(a) ? archive_error_string(a) : "early end");
}

/* Reads one member after the manifest into its declared tensor. */
static int read_member(const struct rec_model *m, struct archive *a, struct archive_entry *e)
{
	struct rec_tensor *t = member_tensor(m, e);

	if (!t)
		return -1;
	t->owned = rec_xmalloc(t->bytes ? t->bytes : 1);
	t->data = t->owned;
	if (read_data(a, t->owned, t->bytes) < 0)
		return truncated(m, t, a);
	return verify_checksum(m, t, XXH3_64bits(t->data, t->bytes));
}

static int read_manifest(struct rec_model *m, struct archive *a)
{
	struct archive_entry *e;
	la_int64_t size;
	char *text;
	int rc;

	if (archive_read_next_header(a, &e) != ARCHIVE_OK)
		return rec_error("'%s': not a model file: %s", m->name,
				 archive_error_string(a) ? archive_error_string(a) : "empty");
	size = archive_entry_size(e);
	if (strcmp(archive_entry_pathname(e), "MANIFEST") != 0 || size < 0 || size > (1 << 24))
		return rec_error("'%s': not a model file: the first member is not a MANIFEST", m->name);
	text = rec_xmalloc((size_t)size + 1);
	rc = read_data(a, text, (size_t)size);
	text[size] = 0;
	if (rc < 0)
		rec_error("'%s': truncated MANIFEST", m->name);
	else
		rc = parse_manifest(m, text);
	free(text);
	return rc;
}

static int is_embedding(const char *name)
{
	return name && strncmp(name, "embd.", 5) == 0;
}

/* Reads members until the end, checking that every declared tensor came;
 * lazy, stops before an embedding member instead, leaving it in *pending.
 * Returns 0 at the end, 1 when stopped, -1 after a message. */
static int read_members(const struct rec_model *m, struct archive *a, int lazy, struct archive_entry **pending)
{
	struct archive_entry *e;
	int rc;

	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (lazy && is_embedding(archive_entry_pathname(e))) {
			*pending = e;
			return 1;
		}
		if (read_member(m, a, e) < 0)
			return -1;
	}
	if (rc != ARCHIVE_EOF)
		return rec_error("'%s': corrupt or truncated model: %s", m->name,
				 archive_error_string(a) ? archive_error_string(a) : "bad member");
	for (size_t i = 0; i < m->nt; i++)
		if (!m->t[i].data && !m->t[i].streamed)
			return rec_error("'%s': tensor '%s' is in the MANIFEST but not in the file",
					 m->name, m->t[i].name);
	return 0;
}

/* Ends a lazy model's reading: the archive is closed. */
static void rest_free(const struct rec_model *m)
{
	struct rec_model_rest *r = m->rest;

	if (!r)
		return;
	archive_read_free(r->a);
	free(r);
	((struct rec_model *)m)->rest = NULL;
}

/* Goes on from a lazy model's member just read: to the next embedding
 * member (lazy) or through the end. */
static int read_on(const struct rec_model *m, int lazy)
{
	struct rec_model_rest *r = m->rest;
	int rc = read_members(m, r->a, lazy, &r->e);

	if (rc != 1)
		rest_free(m);
	return rc < 0 ? -1 : 0;
}

/* The rest of a lazy model into memory. */
static int read_rest(const struct rec_model *m)
{
	struct rec_model_rest *r = m->rest;

	if (read_member(m, r->a, r->e) < 0) {
		rest_free(m);
		return -1;
	}
	return read_on(m, 0);
}

int rec_model_stream(const struct rec_model *m, const char *name,
		     int (*take)(void *ctx, size_t r0, size_t n, const void *rows), void *ctx)
{
	struct rec_model_rest *r = m->rest;
	struct rec_tensor *t;
	XXH3_state_t *h;
	unsigned char *buf;
	size_t row, step;
	int rc = 0;

	if (!r || strcmp(archive_entry_pathname(r->e), name) != 0)
		return 1;
	if (!(t = member_tensor(m, r->e)))
		return -1;
	row = t->shape[0] ? t->bytes / t->shape[0] : 1;
	step = piece_rows(row);
	buf = rec_xmalloc(step * row);
	if (!(h = XXH3_createState()))
		rec_die("out of memory");
	XXH3_64bits_reset(h);
	for (size_t r0 = 0; rc == 0 && r0 < t->shape[0]; r0 += step) {
		size_t n = t->shape[0] - r0 < step ? t->shape[0] - r0 : step;
		if (read_data(r->a, buf, n * row) < 0)
			rc = truncated(m, t, r->a);
		else if (XXH3_64bits_update(h, buf, n * row) != XXH_OK || take(ctx, r0, n, buf) != 0)
			rc = -1;
	}
	if (rc == 0)
		rc = verify_checksum(m, t, XXH3_64bits_digest(h));
	XXH3_freeState(h);
	free(buf);
	t->streamed = 1;
	if (rc < 0) {
		rest_free(m);
		return -1;
	}
	return read_on(m, 1);
}

/* The whole model, or with manifest_only its MANIFEST alone, or lazy all
 * but the embedding members from the first one on. */
enum { READ_ALL, READ_MANIFEST, READ_LAZY };

static struct rec_model *open_model(const char *path, int how)
{
	struct rec_model *m = rec_xcalloc(1, sizeof(*m));
	struct archive *a = archive_read_new();
	struct archive_entry *pending = NULL;
	int stdin_ = !path || strcmp(path, "-") == 0, rc;

	m->name = rec_xstrdup(stdin_ ? "(stdin)" : path);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	rc = stdin_ ? archive_read_open_fd(a, 0, 1 << 16) : archive_read_open_filename(a, path, 1 << 16);
	if (rc != ARCHIVE_OK) {
		rec_error("cannot open '%s': %s", m->name, archive_error_string(a));
		rc = -1;
	} else {
		rc = read_manifest(m, a);
		if (rc == 0 && how != READ_MANIFEST)
			rc = read_members(m, a, how == READ_LAZY, &pending);
	}
	if (rc == 1) {
		m->rest = rec_xmalloc(sizeof(*m->rest));
		m->rest->a = a;
		m->rest->e = pending;
	} else {
		archive_read_free(a);
	}
	if (rc < 0) {
		rec_model_close(m);
		return NULL;
	}
	return m;
}

struct rec_model *rec_model_open(const char *path)
{
	return open_model(path, READ_ALL);
}

struct rec_model *rec_model_open_lazy(const char *path)
{
	return open_model(path, READ_LAZY);
}

struct rec_model *rec_model_peek(const char *path)
{
	return open_model(path, READ_MANIFEST);
}

const struct rec_tensor *rec_model_tensor(const struct rec_model *m, const char *name)
{
	for (size_t i = 0; i < m->nt; i++)
		if (m->t[i].name && strcmp(m->t[i].name, name) == 0)
			return &m->t[i];
	return NULL;
}

void rec_model_close(struct rec_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nt; i++) {
		free(m->t[i].name);
		free(m->t[i].owned);
	}
	free(m->t);
	rest_free(m);
	rec_kv_free(&m->manifest);
	free(m->name);
	free(m);
}

const struct rec_tensor *rec_model_declared(const struct rec_model *m, const char *name, const char *dtype,
					   size_t count)
{
	const struct rec_tensor *t = rec_model_tensor(m, name);

	if (!t || strcmp(t->dtype, dtype) != 0 || t->bytes != count * rec_dtype_size(dtype)) {
		rec_error("'%s': tensor '%s' missing or not %zu x %s", m->name, name, count, dtype);
		return NULL;
	}
	return t;
}

const void *rec_model_expect(const struct rec_model *m, const char *name, const char *dtype,
			     size_t count)
{
	const struct rec_tensor *t = rec_model_declared(m, name, dtype, count);

	if (t && !t->data && !t->streamed && m->rest && read_rest(m) < 0)
		return NULL;
	if (t && !t->data) {
		rec_error("'%s': tensor '%s' was streamed, not kept", m->name, name);
		return NULL;
	}
	return t ? t->data : NULL;
}

void rec_schema_to_kv(const struct rec_schema *s, struct rec_kv *kv)
{
	char key[64], *all = rec_schema_describe(s);

	rec_kv_set(kv, "stream.schema", all);
	free(all);
	rec_kv_setf(kv, "stream.flags", "%u", (unsigned)s->flags);
	rec_kv_setf(kv, "stream.id_bits", "%u", (unsigned)s->id_bits);
	rec_kv_setf(kv, "stream.seed", "%llu", (unsigned long long)s->seed);
	rec_kv_setf(kv, "stream.fields", "%zu", s->nfields);
	for (size_t f = 0; f < s->nfields; f++) {
		snprintf(key, sizeof(key), "stream.field.%zu", f);
		rec_kv_setf(kv, key, "%s %s %u", s->field[f].name, rec_kind_name(s->field[f].kind),
			    (unsigned)s->field[f].flags);
	}
}

struct rec_schema *rec_schema_from_kv(const struct rec_kv *kv, const char *name)
{
	const char *flags = rec_kv_get(kv, "stream.flags"), *bits = rec_kv_get(kv, "stream.id_bits");
	const char *seed = rec_kv_get(kv, "stream.seed"), *nf = rec_kv_get(kv, "stream.fields");
	struct rec_schema *s;
	char key[64], fname[REC_MAX_NAME + 1], kind[8];
	unsigned fl;

	if (!flags || !bits || !seed || !nf) {
		rec_error("'%s': the MANIFEST lacks the stream schema", name);
		return NULL;
	}
	s = rec_schema_new((uint32_t)strtoul(flags, NULL, 10));
	s->id_bits = (uint32_t)strtoul(bits, NULL, 10);
	s->seed = strtoull(seed, NULL, 10);
	for (size_t f = 0, n = strtoul(nf, NULL, 10); f < n; f++) {
		const char *v;
		snprintf(key, sizeof(key), "stream.field.%zu", f);
		v = rec_kv_get(kv, key);
		if (!v || sscanf(v, "%255s %7s %u", fname, kind, &fl) != 3 ||
		    rec_schema_add(s, fname, rec_kind_parse(kind), (int)fl) < 0) {
			rec_error("'%s': bad %s in the MANIFEST", name, key);
			rec_schema_free(s);
			return NULL;
		}
	}
	return s;
}

int rec_schema_check(const struct rec_schema *model, const struct rec_schema *s, const char *name)
{
	char *a, *b;

	if (rec_schema_equal(model, s))
		return 0;
	a = rec_schema_describe(model);
	b = rec_schema_describe(s);
	rec_error("'%s': stream schema [%s] is not the model's [%s]", name, b, a);
	free(a);
	free(b);
	return -1;
}

int rec_model_float(const struct rec_model *m, const char *key, float *out)
{
	const char *v = rec_kv_get(&m->manifest, key);
	char *end;

	if (!v)
		return 0;
	*out = strtof(v, &end);
	if (end == v || *end || !isfinite(*out))
		return rec_error("'%s': bad %s in the MANIFEST", m->name, key);
	return 0;
}

int rec_model_u64(const struct rec_model *m, const char *key, uint64_t *out)
{
	const char *v = rec_kv_get(&m->manifest, key);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (end == v || *end || *v == '-' || errno)
		return rec_error("'%s': bad %s in the MANIFEST", m->name, key);
	return 0;
}

int rec_model_numbers(const struct rec_model *m, const struct rec_model_number *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((k[i].f ? rec_model_float(m, k[i].key, k[i].f) : rec_model_u64(m, k[i].key, k[i].u)) < 0)
			return -1;
	return 0;
}
