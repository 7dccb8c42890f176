/* schema.c - the field list a stream carries in its header. */
#include "config.h"
#include "stream.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { NULL, "num", "cat", "list", "seq" };

const char *rec_kind_name(int kind)
{
	return kind >= REC_NUMERIC && kind <= REC_SEQUENCE ? kind_names[kind] : "?";
}

int rec_kind_parse(const char *name)
{
	for (int k = REC_NUMERIC; k <= REC_SEQUENCE; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

struct rec_schema *rec_schema_new(uint32_t flags)
{
	struct rec_schema *s = rec_xcalloc(1, sizeof(*s));

	s->flags = flags;
	s->id_bits = 64;
	return s;
}

void rec_schema_free(struct rec_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfields; i++)
		free(s->field[i].name);
	free(s->field);
	free(s->meta);
	free(s);
}

struct rec_schema *rec_schema_copy(const struct rec_schema *s)
{
	struct rec_schema *c = rec_schema_new(s->flags);

	c->id_bits = s->id_bits;
	c->seed = s->seed;
	c->meta = s->meta ? rec_xstrdup(s->meta) : NULL;
	for (size_t i = 0; i < s->nfields; i++)
		if (rec_schema_add(c, s->field[i].name, s->field[i].kind, s->field[i].flags) < 0)
			abort(); /* a valid schema copies validly */
	return c;
}

static int valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > REC_MAX_NAME)
		return 0;
	/* Names print as "name=value" and sit in TSV: keep those bytes out. */
	for (const char *p = name; *p; p++)
		if (*p == '=' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ' ')
			return 0;
	return 1;
}

int rec_schema_add(struct rec_schema *s, const char *name, int kind, int flags)
{
	if (!valid_name(name))
		return rec_error("invalid field name '%s'", name);
	if (kind < REC_NUMERIC || kind > REC_SEQUENCE)
		return rec_error("field '%s': invalid kind %d", name, kind);
	if (kind == REC_NUMERIC && (flags & REC_FIELD_VALUED))
		flags &= ~REC_FIELD_VALUED; /* numeric fields are values already */
	if (rec_schema_find(s, name) >= 0)
		return rec_error("duplicate field name '%s'", name);
	if (s->nfields >= REC_MAX_FIELDS)
		return rec_error("too many fields (at most %d)", REC_MAX_FIELDS);
	s->field = rec_xrealloc(s->field, (s->nfields + 1) * sizeof(*s->field));
	s->field[s->nfields].name = rec_xstrdup(name);
	s->field[s->nfields].kind = (uint8_t)kind;
	s->field[s->nfields].flags = (uint8_t)flags;
	return (int)s->nfields++;
}

int rec_schema_find(const struct rec_schema *s, const char *name)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (strcmp(s->field[i].name, name) == 0)
			return (int)i;
	return -1;
}

void rec_schema_set_meta(struct rec_schema *s, const char *key, const char *value)
{
	size_t old = s->meta ? strlen(s->meta) : 0;
	size_t add = strlen(key) + strlen(value) + 5;

	s->meta = rec_xrealloc(s->meta, old + add);
	snprintf(s->meta + old, add, "%s = %s\n", key, value);
}

int rec_schema_equal(const struct rec_schema *a, const struct rec_schema *b)
{
	if (a->flags != b->flags || a->nfields != b->nfields)
		return 0;
	if ((a->flags & REC_HASHED) && (a->id_bits != b->id_bits || a->seed != b->seed))
		return 0;
	for (size_t i = 0; i < a->nfields; i++)
		if (a->field[i].kind != b->field[i].kind || a->field[i].flags != b->field[i].flags ||
		    strcmp(a->field[i].name, b->field[i].name) != 0)
			return 0;
	return 1;
}

char *rec_schema_describe(const struct rec_schema *s)
{
	size_t cap = 128, len;
	char *buf;

	for (size_t i = 0; i < s->nfields; i++)
		cap += strlen(s->field[i].name) + 12;
	buf = rec_xmalloc(cap);
	if (s->flags & REC_HASHED)
		len = (size_t)snprintf(buf, cap, "hashed(seed=%llu,bits=%u) label",
				       (unsigned long long)s->seed, (unsigned)s->id_bits);
	else
		len = (size_t)snprintf(buf, cap, "raw label");
	if (s->flags & REC_HAS_WEIGHT)
		len += (size_t)snprintf(buf + len, cap - len, " weight");
	if (s->flags & REC_HAS_GROUP)
		len += (size_t)snprintf(buf + len, cap - len, " group");
	for (size_t i = 0; i < s->nfields; i++)
		len += (size_t)snprintf(buf + len, cap - len, " %s:%s%s", s->field[i].name,
					rec_kind_name(s->field[i].kind),
					(s->field[i].flags & REC_FIELD_VALUED) ? "+val" : "");
	return buf;
}
