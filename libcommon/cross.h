/* cross.h - from delimited text to feature records: column roles, joins,
 * derived features (crosses, list features, buckets) and per-group sequences.
 * Shared by rec-cross (raw string values) and rec-hash (hashed IDs). */
#ifndef REC_CROSS_H
#define REC_CROSS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"
#include "text.h"

/* Options that name columns hold comma-separated names; "I1..I13" expands
 * to I1, I2, ..., I13. */

enum rec_missing { REC_MISSING_SKIP, REC_MISSING_TOKEN };

struct rec_join_opts {
	const char *path;      /* --join FILE */
	const char *sep;       /* --join-sep ("|" default... the main separator) */
	const char *columns;   /* --join-columns: names, the key first unless --join-key */
	const char *key;       /* --join-key: the key column (default: the first) */
	int header;            /* --join-header: the first line names the columns */
	int csv;               /* --join-csv */
};

/* A list of strings (owned copies), e.g. the args of a repeatable option. */
struct rec_strv {
	char **v;
	size_t n, cap;
};
void rec_strv_push(struct rec_strv *sv, const char *s);
void rec_strv_free(struct rec_strv *sv);

struct rec_cross_opts {
	struct rec_text_opts text;   /* -F/--sep, --csv */
	int header;            /* --header */
	const char *columns;   /* --columns */
	const char *preset;    /* --preset criteo */
	const char *label;     /* --label COL or a rule such as 'rating>=4' */
	const char *weight;    /* --weight COL */
	const char *group;     /* --group COL */
	struct rec_strv numeric, categorical, lists, multihot, skip;
	struct rec_strv crosses, perms, combs, pairs, log_buckets, buckets;
	struct rec_join_opts *joins;
	size_t njoins;
	enum rec_missing missing;    /* --missing skip|token */
	const char *group_by;  /* --group-by COL: one record per group */
	const char *order_by;  /* --order-by COL: order inside a group */
	int pad;               /* --pad: short rows are padded with missing values */
	int skip_bad;          /* --skip-bad */
	int verbosity;         /* -q/-v */
	/* Output. */
	int hashed;            /* rec-hash: values become 64-bit IDs */
	uint64_t seed;         /* --seed */
	unsigned bits;         /* --bits (64) */
	struct rec_writer_opts writer;
};
#define REC_CROSS_OPTS_INIT { .text = REC_TEXT_OPTS_INIT, .verbosity = 2, .bits = 64, \
			      .writer = REC_WRITER_OPTS_INIT }

/* The long options rec-cross and rec-hash share, for getopt_long tables. */
enum {
	REC_OPT_HEADER = 1000, REC_OPT_COLUMNS, REC_OPT_PRESET, REC_OPT_LABEL, REC_OPT_WEIGHT,
	REC_OPT_GROUP, REC_OPT_NUMERIC, REC_OPT_CATEGORICAL, REC_OPT_LIST, REC_OPT_MULTIHOT,
	REC_OPT_SKIP, REC_OPT_CROSS, REC_OPT_PERM, REC_OPT_COMB, REC_OPT_PAIRS,
	REC_OPT_BUCKET_LOG, REC_OPT_BUCKET, REC_OPT_JOIN, REC_OPT_JOIN_SEP,
	REC_OPT_JOIN_COLUMNS, REC_OPT_JOIN_KEY, REC_OPT_JOIN_HEADER, REC_OPT_JOIN_CSV,
	REC_OPT_MISSING, REC_OPT_GROUP_BY, REC_OPT_ORDER_BY, REC_OPT_PAD, REC_OPT_SKIP_BAD,
	REC_OPT_CSV, REC_OPT_SEP, REC_OPT_LEVEL, REC_OPT_LAST,
	REC_OPT_VERSION, REC_OPT_SEED, REC_OPT_BITS
};
/* getopt_long entries for the shared options, ended by a zero entry. */
extern const struct option rec_cross_long_options[];
/* The usage lines of the shared options, for --help: output, then input,
 * roles, joins, derivations and sequences. */
extern const char rec_cross_output_help[];
extern const char rec_cross_options_help[];

/* The command line of rec-cross and rec-hash. */
struct rec_cross_cli {
	struct rec_cross_opts x;  /* the shared column and derivation options */
	const char *output;       /* -o, --output; NULL = stdout */
	int force;                /* -f: binary output to a terminal */
	char **inputs;            /* operands; none = stdin */
	size_t ninputs;
};
#define REC_CROSS_CLI_INIT { .x = REC_CROSS_OPTS_INIT }

/* Parses argv; with hashing, --seed and --bits are taken too. Returns 0 to
 * go on, 1 when --help (through usage) or --version was printed, -1 after a
 * message on bad usage. */
int rec_cross_parse_cli(struct rec_cross_cli *cli, int argc, char **argv, int hashing,
			void (*usage)(void));

/* The whole main of rec-cross (hashing 0) and rec-hash (hashing 1): parses
 * the command line, then returns run's exit status. */
int rec_cross_main(int argc, char **argv, int hashing, void (*usage)(void),
		   int (*run)(const struct rec_cross_cli *cli));

/* Takes one shared option (its getopt_long value and optarg). Returns 1 when
 * taken, 0 when the option is not a shared one, -1 after a message. */
int rec_cross_take_option(struct rec_cross_opts *o, int opt, const char *arg);
/* Checks combinations once all options are in; -1 after a message. */
int rec_cross_check_options(const struct rec_cross_opts *o);
void rec_cross_opts_release(struct rec_cross_opts *o);
/* True when any option about reading text was given (rec-hash refuses them
 * on a stream input instead of ignoring them). */
int rec_cross_has_text_options(const struct rec_cross_opts *o);

/* Reads the text inputs (ninputs paths; none = stdin) and writes one stream
 * to out (NULL or "-" = stdout). first, when not NULL, is the already opened
 * source of the first input (the reader takes it over). Returns REC_EXIT_OK
 * or REC_EXIT_TROUBLE (after messages; no partial output file is left). */
int rec_cross_run(const struct rec_cross_opts *o, char *const *inputs, size_t ninputs,
		  struct rec_src *first, const char *out, int force);

/* rec-hash over a raw stream: the same fields with hashed values. Reads all
 * of rd (which stays the caller's). Returns an exit status. */
int rec_hash_stream(struct rec_reader *rd, const struct rec_cross_opts *o, const char *out, int force);

/* The transforms, exposed for tests. */
/* Criteo-style log bucket: floor(ln(x)^2) for x > 2, else the integer x. */
long rec_bucket_log(double x);
/* Index of the bucket of x among sorted edges: i with edges[i-1] <= x < edges[i]. */
size_t rec_bucket_index(double x, const double *edges, size_t nedges);
/* Expands a comma list with "a1..a9" ranges; returns the count, -1 on a bad range. */
int rec_names_expand(const char *list, struct rec_strv *out);

#endif
