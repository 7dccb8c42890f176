/* err.h - messages, exit codes and option-value parsing shared by the tools. */
#ifndef REC_ERR_H
#define REC_ERR_H

#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

enum {
	REC_EXIT_OK = 0,      /* success */
	REC_EXIT_FALSE = 1,   /* ran fine, the answer is "no" */
	REC_EXIT_TROUBLE = 2  /* usage, I/O, corrupt input, out of memory */
};

#define REC_PRINTF(a, b) __attribute__((format(printf, a, b)))

void rec_setprogname(const char *argv0);
const char *rec_progname(void);

/* "prog: message\n" on stderr. */
void rec_warn(const char *fmt, ...) REC_PRINTF(1, 2);
/* "prog: message: strerror(errno)\n" on stderr. */
void rec_warn_errno(const char *fmt, ...) REC_PRINTF(1, 2);
/* Prints like rec_warn and returns -1, for library code: return rec_error(...). */
int rec_error(const char *fmt, ...) REC_PRINTF(1, 2);
/* Prints like rec_warn and exits with REC_EXIT_TROUBLE. Tools only. */
noreturn void rec_die(const char *fmt, ...) REC_PRINTF(1, 2);
/* Prints "prog: msg" and "Try 'prog --help'." and exits 2. Tools only. */
noreturn void rec_usage_error(const char *fmt, ...) REC_PRINTF(1, 2);

/* Prints "Try 'prog --help'." and exits 2: after getopt or a value parser
 * has already said what was wrong. */
noreturn void rec_usage_exit(void);

/* Allocation that dies on failure: tools have no sensible way on. */
void *rec_xmalloc(size_t n);
void *rec_xcalloc(size_t n, size_t size);
void *rec_xrealloc(void *p, size_t n);
char *rec_xstrdup(const char *s);
/* n bytes on 2 MiB boundaries, marked for transparent huge pages when that
 * large: tables read at random then cost one TLB entry per 2 MiB, not per
 * 4 KiB. Zeroed (rec_xcalloc_huge) or not; free() releases them. */
void *rec_xmalloc_huge(size_t n);
void *rec_xcalloc_huge(size_t n);
char *rec_xstrndup(const char *s, size_t n);
/* Grows *p (of *cap elements of size elem) to hold at least need elements. */
void rec_xgrow(void *p, size_t *cap, size_t need, size_t elem);
/* The same for an array that grows large and is written through: past
 * 256 KiB it lives in whole 2 MiB pages of a mapping of its own, marked
 * for transparent huge pages, so that filling it faults once per 2 MiB,
 * not once per 4 KiB page (a fault costs microseconds, more under
 * virtualisation); growing moves the pages (mremap), not the bytes.
 * Release it with rec_free_huge and its *cap. */
void rec_xgrow_huge(void *p, size_t *cap, size_t need, size_t elem);
void rec_free_huge(void *p, size_t cap, size_t elem);

/* Whole-string numeric parsing for option values; on failure print
 * "prog: invalid value 'S' for OPT" and return -1. */
int rec_parse_size(const char *s, const char *opt, size_t lo, size_t hi, size_t *out);
int rec_parse_u64(const char *s, const char *opt, uint64_t *out);
int rec_parse_float(const char *s, const char *opt, double *out);

/* The index of name among the n names (an enum's spellings), or -1. */
int rec_name_index(const char *const *names, size_t n, const char *name);
#define REC_NAME_INDEX(names, name) rec_name_index(names, sizeof(names) / sizeof(names[0]), name)

#endif
