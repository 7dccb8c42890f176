/* cross.h - from delimited text to feature records: column roles, joins,
 * derived features (crosses, list features, buckets) and sequences. Shared by
 * rec-cross (raw output) and rec-hash (hashed output). */
#ifndef REC_CROSS_H
#define REC_CROSS_H
#endif
