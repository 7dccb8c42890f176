/* featspan.h - the features of a run of records, flattened so that their rows
 * are looked up in one batch (rec_embed_find_many), whose cache misses
 * overlap, rather than one lookup after another. lr, fm, ffm and the deep
 * models read their examples through it. */
#ifndef REC_FEATSPAN_H
#define REC_FEATSPAN_H

#include <stddef.h>
#include <stdint.h>

#include "embed.h"
#include "stream.h"

struct rec_featspan {
	uint64_t *id;             /* feature IDs (a numeric field's is its own) */
	uint32_t *rows, *fld;     /* their rows, their schema fields */
	float *x;                 /* their values (numbers squashed, see rec_squash) */
	size_t cap;
	size_t *at, at_cap;       /* record i's features: at[i] .. at[i+1]-1 */
	uint32_t *field_row;      /* a numeric field's row, found once a call */
	size_t field_row_cap;
};

/* sign(x) ln(1 + |x|): how every model takes a number. Heavy-tailed counts
 * (Criteo's integers reach millions) would otherwise swamp a logit. */
float rec_squash(float x);

/* The features of records r0 .. r1-1 of b with x != 0, record after
 * record in field order, of the fields with take[f] set (take NULL: all);
 * numeric field f's ID is numeric_id[f]. Their rows are found (created
 * when create is set, in that order) and those without a row are left
 * out. Returns how many features the records have in the taken fields,
 * x = 0 included (the denominator of coverage). */
size_t rec_featspan_lookup(struct rec_featspan *sp, struct rec_embed *e, const struct rec_block *b, size_t r0,
		       size_t r1, const uint64_t *numeric_id, const unsigned char *take, int create);
void rec_featspan_free(struct rec_featspan *sp);

#endif
