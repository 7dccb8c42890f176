/* join.h - small attribute tables (users, items) held in memory and looked
 * up by key, so a ratings log can be joined with them on the fly. */
#ifndef REC_JOIN_H
#define REC_JOIN_H

#include <stddef.h>

#include "text.h"

struct rec_join;

/* Loads a whole delimited file. names (ncols of them) name its columns;
 * with header set, the first line must have as many fields (its names are
 * used when names is NULL). key is the index of the key column. Returns NULL
 * after a message ("file:line: ...") on failure or on a duplicate key. */
struct rec_join *rec_join_load(const char *path, const struct rec_text_opts *topts,
			       int header, char **names, size_t ncols, const char *key);
void rec_join_free(struct rec_join *j);
size_t rec_join_ncols(const struct rec_join *j);
const char *rec_join_colname(const struct rec_join *j, size_t col);
size_t rec_join_keycol(const struct rec_join *j);
size_t rec_join_rows(const struct rec_join *j);
/* The row whose key equals key[0..len), as ncols spans (valid while j
 * lives), or NULL when there is none. */
const struct rec_span *rec_join_find(const struct rec_join *j, const char *key, size_t len);

#endif
