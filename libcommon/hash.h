/* hash.h - stateless, seeded, field-salted 64-bit feature hashing (XXH3).
 * The same (seed, field name, value) gives the same ID on every machine and
 * in every release: tests/check_hash.c pins known values. */
#ifndef REC_HASH_H
#define REC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* The salt of a field: every value of the field is hashed with it, so equal
 * strings in different fields get unrelated IDs. */
uint64_t rec_hash_salt(uint64_t seed, const char *field_name);

static inline uint64_t rec_hash_value(uint64_t salt, const void *value, size_t len)
{
	return XXH3_64bits_withSeed(value, len, salt);
}

/* Keeps the low bits: IDs fall in [0, 2^bits). bits is 1..64. */
static inline uint64_t rec_hash_fold(uint64_t id, unsigned bits)
{
	return bits >= 64 ? id : id & ((UINT64_C(1) << bits) - 1);
}

/* The hash of a group key (e.g. the user), independent of any field. */
uint64_t rec_hash_group(const void *key, size_t len);

#endif
