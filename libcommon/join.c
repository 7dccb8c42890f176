/* join.c - in-memory attribute tables with an open-addressing key index. */
#include "config.h"
#include "join.h"
#include "err.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

struct rec_join {
	char **names;
	size_t ncols, keycol, nrows;
	char *arena;               /* every field's bytes, row after row */
	size_t arena_len, arena_cap;
	size_t *field_off;         /* nrows * ncols (+1) offsets into arena */
	size_t field_cap;
	struct rec_span *rows;     /* built once loading is done */
	size_t *slot;              /* hash index: row + 1, 0 = empty */
	size_t nslots;
};

static const char *field_ptr(const struct rec_join *j, size_t row, size_t col, size_t *len)
{
	size_t i = row * j->ncols + col;

	*len = j->field_off[i + 1] - j->field_off[i];
	return j->arena + j->field_off[i];
}

static void store_row(struct rec_join *j, const struct rec_span *f)
{
	size_t base = j->nrows * j->ncols;

	rec_xgrow(&j->field_off, &j->field_cap, base + j->ncols + 1, sizeof(size_t));
	if (base == 0)
		j->field_off[0] = 0;
	for (size_t c = 0; c < j->ncols; c++) {
		rec_xgrow(&j->arena, &j->arena_cap, j->arena_len + f[c].len, 1);
		memcpy(j->arena + j->arena_len, f[c].p, f[c].len);
		j->arena_len += f[c].len;
		j->field_off[base + c + 1] = j->arena_len;
	}
	j->nrows++;
}

static size_t *find_slot(const struct rec_join *j, const char *key, size_t len)
{
	size_t mask = j->nslots - 1, i = rec_hash_group(key, len) & mask;

	for (;; i = (i + 1) & mask) {
		size_t flen;
		const char *p;
		if (!j->slot[i])
			return &j->slot[i];
		p = field_ptr(j, j->slot[i] - 1, j->keycol, &flen);
		if (flen == len && memcmp(p, key, len) == 0)
			return &j->slot[i];
	}
}

/* Builds the index and the span view; -1 on a duplicate key. */
static int index_rows(struct rec_join *j, const char *path)
{
	j->nslots = 16;
	while (j->nslots < 2 * j->nrows + 16)
		j->nslots *= 2;
	j->slot = rec_xcalloc(j->nslots, sizeof(size_t));
	j->rows = rec_xcalloc(j->nrows * j->ncols + 1, sizeof(struct rec_span));
	for (size_t r = 0; r < j->nrows; r++) {
		size_t len, *s;
		const char *key = field_ptr(j, r, j->keycol, &len);
		for (size_t c = 0; c < j->ncols; c++)
			j->rows[r * j->ncols + c].p = field_ptr(j, r, c, &j->rows[r * j->ncols + c].len);
		s = find_slot(j, key, len);
		if (*s)
			return rec_error("'%s': duplicate key '%.*s' (row %zu)", path, (int)len, key, r + 1);
		*s = r + 1;
	}
	return 0;
}

static int set_names(struct rec_join *j, char **names, size_t ncols,
		     const struct rec_span *hdr, size_t nhdr, const char *path)
{
	if (!names && !hdr)
		return rec_error("'%s': name the join table's columns (--join-columns or --join-header)", path);
	j->ncols = names ? ncols : nhdr;
	if (hdr && nhdr != j->ncols)
		return rec_error("'%s': header has %zu columns, --join-columns names %zu", path, nhdr, ncols);
	j->names = rec_xcalloc(j->ncols, sizeof(char *));
	for (size_t c = 0; c < j->ncols; c++)
		j->names[c] = names ? rec_xstrdup(names[c]) : rec_xstrndup(hdr[c].p, hdr[c].len);
	return 0;
}

static int find_key(struct rec_join *j, const char *key, const char *path)
{
	if (!key)
		return 0; /* the first column */
	for (size_t c = 0; c < j->ncols; c++)
		if (strcmp(j->names[c], key) == 0) {
			j->keycol = c;
			return 0;
		}
	return rec_error("'%s': no column '%s' to join on", path, key);
}

static int load_rows(struct rec_join *j, struct rec_text *t, int header, char **names, size_t ncols,
		     const char *key, const char *path)
{
	const struct rec_span *f;
	size_t n;
	int rc, named = 0;

	while ((rc = rec_text_next(t, &f, &n)) > 0) {
		if (!named) {
			named = 1;
			if (set_names(j, names, ncols, header ? f : NULL, n, path) < 0 ||
			    find_key(j, key, path) < 0)
				return -1;
			if (header)
				continue;
		}
		if (n != j->ncols)
			return rec_error("%s:%llu: expected %zu fields, found %zu", path,
					 (unsigned long long)rec_text_lineno(t), j->ncols, n);
		store_row(j, f);
	}
	if (rc == 0 && !named)
		return rec_error("'%s': empty join table", path);
	return rc;
}

struct rec_join *rec_join_load(const char *path, const struct rec_text_opts *topts,
			       int header, char **names, size_t ncols, const char *key)
{
	struct rec_join *j = rec_xcalloc(1, sizeof(*j));
	struct rec_text *t = rec_text_open_path(path, topts);

	if (!t || load_rows(j, t, header, names, ncols, key, path) < 0 || index_rows(j, path) < 0) {
		rec_text_close(t);
		rec_join_free(j);
		return NULL;
	}
	rec_text_close(t);
	return j;
}

void rec_join_free(struct rec_join *j)
{
	if (!j)
		return;
	for (size_t c = 0; c < j->ncols; c++)
		free(j->names[c]);
	free(j->names);
	free(j->arena);
	free(j->field_off);
	free(j->rows);
	free(j->slot);
	free(j);
}

size_t rec_join_ncols(const struct rec_join *j) { return j->ncols; }
const char *rec_join_colname(const struct rec_join *j, size_t col) { return j->names[col]; }
size_t rec_join_keycol(const struct rec_join *j) { return j->keycol; }
size_t rec_join_rows(const struct rec_join *j) { return j->nrows; }

const struct rec_span *rec_join_find(const struct rec_join *j, const char *key, size_t len)
{
	size_t *s = find_slot(j, key, len);

	return *s ? &j->rows[(*s - 1) * j->ncols] : NULL;
}
