/* rehash.c - rec-hash over a raw stream: every string value becomes its
 * field-salted 64-bit ID; numbers, labels, weights and groups pass through. */
#include "config.h"
#include "cross.h"
#include "err.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

static void hash_record(struct rec_block *out, const struct rec_block *in, size_t r,
			const uint64_t *salt, unsigned bits)
{
	const struct rec_schema *s = in->schema;

	for (size_t f = 0; f < s->nfields; f++) {
		const struct rec_col *c = &in->col[f];
		for (uint32_t i = c->off[r]; i < c->off[r + 1]; i++) {
			if (s->field[f].kind == REC_NUMERIC) {
				rec_block_add_num(out, f, c->val[i]);
				continue;
			}
			uint64_t id = rec_hash_value(salt[f], c->str + c->soff[i], c->soff[i + 1] - c->soff[i]);
			rec_block_add_id(out, f, rec_hash_fold(id, bits),
					 (s->field[f].flags & REC_FIELD_VALUED) ? c->val[i] : 0);
		}
	}
}

static int hash_blocks(struct rec_reader *rd, struct rec_writer *w, const uint64_t *salt, unsigned bits)
{
	const struct rec_schema *s = rec_reader_schema(rd);
	const struct rec_block *b;
	int rc;

	while ((rc = rec_reader_next(rd, &b)) > 0)
		for (size_t r = 0; r < b->n; r++) {
			const char *g = (s->flags & REC_HAS_GROUP) ? b->gstr + b->goff[r] : NULL;
			size_t glen = g ? b->goff[r + 1] - b->goff[r] : 0;
			hash_record(rec_writer_block(w), b, r, salt, bits);
			if (rec_writer_end_record(w, b->label[r], (s->flags & REC_HAS_WEIGHT) ? b->weight[r] : 1, g, glen) < 0)
				return -1;
		}
	return rc;
}

int rec_hash_stream(struct rec_reader *rd, const struct rec_cross_opts *o, const char *out, int force)
{
	const struct rec_schema *in = rec_reader_schema(rd);
	struct rec_schema *s;
	struct rec_writer *w = NULL;
	struct rec_out dst;
	uint64_t *salt;
	int ok;

	if (in->flags & REC_HASHED) {
		rec_error("'%s': stream is hashed already", rec_reader_name(rd));
		return REC_EXIT_TROUBLE;
	}
	s = rec_schema_copy(in);
	s->flags |= REC_HASHED;
	s->seed = o->seed;
	s->id_bits = o->bits;
	rec_schema_set_meta(s, "hashed_by", "rec-hash");
	salt = rec_xcalloc(s->nfields + 1, sizeof(uint64_t));
	for (size_t f = 0; f < s->nfields; f++)
		salt[f] = rec_hash_salt(s->seed, s->field[f].name);
	ok = rec_out_open(&dst, out, 1, force) == 0;
	if (ok)
		ok = (w = rec_writer_new(dst.fp, rec_out_name(&dst), s, &o->writer)) != NULL;
	if (ok)
		ok = hash_blocks(rd, w, salt, o->bits) == 0 && rec_writer_finish(w) == 0;
	if (ok)
		ok = rec_out_commit(&dst) == 0;
	else if (dst.fp)
		rec_out_abort(&dst);
	rec_writer_free(w);
	rec_schema_free(s);
	free(salt);
	return ok ? REC_EXIT_OK : REC_EXIT_TROUBLE;
}
