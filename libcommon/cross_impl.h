/* cross_impl.h - the compiled form of rec-cross options, shared by the
 * files that set it up (crossrun.c) and run it per line (cross.c). */
#ifndef REC_CROSS_IMPL_H
#define REC_CROSS_IMPL_H

#include "cross.h"
#include "err.h"
#include "join.h"

enum role { ROLE_NONE, ROLE_NUMERIC, ROLE_CATEGORICAL, ROLE_LIST, ROLE_MULTIHOT };
enum { BUCKET_NONE, BUCKET_LOG, BUCKET_EDGES };
enum { DERIVED_CROSS, DERIVED_PAIRS, DERIVED_PERM, DERIVED_COMB };

/* A column of the main input, of a joined table, or a multi-hot group. */
struct xcol {
	char *name;
	int role;
	int bucket;           /* BUCKET_*: a numeric column emitted as categorical */
	double *edges;
	size_t nedges;
	char *list_sep;       /* ROLE_LIST */
	size_t *members;      /* ROLE_MULTIHOT: column indices */
	size_t nmembers;
	int join;             /* -1: main input; else the join it comes from */
	size_t src;           /* its field index in the line or joined row */
	int field;            /* schema field, or -1 when it makes none */
	int used;             /* values are needed (field, derivation) */
	int derived_only;     /* no role given: read only by derivations */
	/* This row's values. */
	struct rec_span raw;
	struct rec_span *el;
	size_t nel, cap_el;
	double num;
	int has_num;
	char bucket_buf[24];
};

struct xderived {
	int type;             /* DERIVED_* */
	size_t *cols;         /* column indices; PAIRS: the list column twice first */
	size_t ncols;
	int field;
};

struct rec_cross {
	const struct rec_cross_opts *o;
	struct xcol *cols;
	size_t ncols, nmain;  /* columns; of them, from the main input */
	struct xderived *derived;
	size_t nderived;
	struct rec_join **joins;
	size_t njoins;
	size_t *jkey;         /* main column holding each join's key */
	const struct rec_span **jrow;
	uint64_t *join_misses;
	int label_col, weight_col, group_col, order_col;
	int label_op;         /* 0: the value; > G(>=) < L(<=) = ! */
	double label_ref;
	int pad;
	struct rec_schema *schema;
	uint64_t *salt;       /* per field, hashed output */
	struct rec_block *block;   /* where features go (the writer's, or a scratch one) */
	/* The line being turned into a record. */
	float pending_label, pending_weight;
	struct rec_span pending_group;
	char *scratch;
	size_t cap_scratch;
	struct rec_span *sorted;
	size_t cap_sorted;
	/* Messages. */
	const char *input_name;
	uint64_t lineno;
	char errbuf[512];
};

/* Compiles the options for input columns named names[0..n); NULL after a
 * message. */
struct rec_cross *rec_cross_setup(const struct rec_cross_opts *o, char **names, size_t n);
void rec_cross_free(struct rec_cross *x);
/* Formats "name:line: what" into x->errbuf; returns -1. */
int row_error(struct rec_cross *x, const char *fmt, ...) REC_PRINTF(2, 3);
/* Loads a line's fields into the columns' values. */
int rec_cross_load_row(struct rec_cross *x, const struct rec_span *f, size_t n);
/* Adds one value of a categorical-like field to x->block. */
void rec_cross_emit(struct rec_cross *x, size_t field, const char *p, size_t len);
/* Loads a line and adds its features to x->block; the label, weight and
 * group key are left in x->pending_*. */
int rec_cross_line(struct rec_cross *x, const struct rec_span *f, size_t n);
int rec_parse_number(const char *p, size_t len, double *out);

#endif
