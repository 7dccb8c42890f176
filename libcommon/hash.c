/* hash.c - field salts for feature hashing. */
#include "config.h"
#include "hash.h"

#include <string.h>

uint64_t rec_hash_salt(uint64_t seed, const char *field_name)
{
	/* The seed goes through the hash too, so salts of nearby seeds differ
	 * in every bit. */
	return XXH3_64bits_withSeed(field_name, strlen(field_name), seed ^ UINT64_C(0x9e3779b97f4a7c15));
}

uint64_t rec_hash_group(const void *key, size_t len)
{
	return XXH3_64bits(key, len);
}
