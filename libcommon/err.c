/* err.c - messages in the git/zstd shape: "prog: what: subject: reason". */
#include "config.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *progname = "recpipe";

void rec_setprogname(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0)
		progname = slash ? slash + 1 : argv0;
	/* libtool-style wrappers prefix "lt-"; the user typed the plain name. */
	if (strncmp(progname, "lt-", 3) == 0)
		progname += 3;
}

const char *rec_progname(void)
{
	return progname;
}

static void vwarn(const char *fmt, va_list ap, const char *reason)
{
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	if (reason)
		fprintf(stderr, ": %s", reason);
	fputc('\n', stderr);
}

void rec_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, NULL);
	va_end(ap);
}

void rec_warn_errno(const char *fmt, ...)
{
	const char *reason = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, reason);
	va_end(ap);
}

int rec_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, NULL);
	va_end(ap);
	return -1;
}

void rec_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, NULL);
	va_end(ap);
	exit(REC_EXIT_TROUBLE);
}

void rec_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, NULL);
	va_end(ap);
	fprintf(stderr, "Try '%s --help'.\n", progname);
	exit(REC_EXIT_TROUBLE);
}

void rec_usage_exit(void)
{
	fprintf(stderr, "Try '%s --help'.\n", progname);
	exit(REC_EXIT_TROUBLE);
}

static void *check_alloc(void *p)
{
	if (!p)
		rec_die("out of memory");
	return p;
}

void *rec_xmalloc(size_t n)
{
	return check_alloc(malloc(n ? n : 1));
}

void *rec_xcalloc(size_t n, size_t size)
{
	return check_alloc(calloc(n ? n : 1, size ? size : 1));
}

void *rec_xrealloc(void *p, size_t n)
{
	return check_alloc(realloc(p, n ? n : 1));
}

#define HUGE_PAGE ((size_t)2 << 20)

void *rec_xmalloc_huge(size_t n)
{
	void *p = NULL;

	if (n < HUGE_PAGE)
		return rec_xmalloc(n);
	n = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (posix_memalign(&p, HUGE_PAGE, n))
		rec_die("out of memory");
#ifdef MADV_HUGEPAGE
	madvise(p, n, MADV_HUGEPAGE); /* a hint: without THP it just fails */
#endif
	return p;
}

void *rec_xcalloc_huge(size_t n)
{
	void *p = rec_xmalloc_huge(n);

	memset(p, 0, n);
	return p;
}

char *rec_xstrdup(const char *s)
{
	return check_alloc(strdup(s));
}

char *rec_xstrndup(const char *s, size_t n)
{
	return check_alloc(strndup(s, n));
}

void rec_xgrow(void *p, size_t *cap, size_t need, size_t elem)
{
	void **pp = p;
	size_t ncap = *cap ? *cap : 16;

	if (need <= *cap)
		return;
	while (ncap < need)
		ncap += ncap / 2 + 16;
	if (ncap > SIZE_MAX / elem)
		rec_die("out of memory");
	*pp = rec_xrealloc(*pp, ncap * elem);
	*cap = ncap;
}

/* Growable arrays past GROW_SMALL bytes are whole huge pages of their own
 * mapping: memory from the heap may hold pages touched before, and a
 * 2 MiB range with one such page faults 4 KiB at a time. */
#define GROW_SMALL (HUGE_PAGE / 8)

static void *huge_map(size_t n)
{
	size_t len = n + HUGE_PAGE;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *a;

	if (p == MAP_FAILED)
		rec_die("out of memory");
	a = (unsigned char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + len > a + n)
		munmap(a + n, (size_t)(p + len - (a + n)));
#ifdef MADV_HUGEPAGE
	madvise(a, n, MADV_HUGEPAGE);
#endif
	return a;
}

void rec_xgrow_huge(void *p, size_t *cap, size_t need, size_t elem)
{
	void **pp = p, *q;
	size_t ncap = *cap ? *cap : 16, bytes, old;

	if (need <= *cap)
		return;
	while (ncap < need)
		ncap += ncap / 2 + 16;
	if (ncap > (SIZE_MAX - HUGE_PAGE) / elem)
		rec_die("out of memory");
	if (ncap * elem <= GROW_SMALL) {
		*pp = rec_xrealloc(*pp, ncap * elem);
		*cap = ncap;
		return;
	}
	/* whole huge pages: take what the rounding gives */
	bytes = (ncap * elem + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	ncap = bytes / elem;
	q = huge_map(bytes);
	old = (*cap * elem + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	/* a mapping of ours moves into the start of the new one as it is,
	 * pages and all: nothing copied, nothing cleared again */
#ifdef MREMAP_FIXED
	if (*cap * elem > GROW_SMALL && mremap(*pp, old, old, MREMAP_MAYMOVE | MREMAP_FIXED, q) != MAP_FAILED) {
		*pp = q;
		*cap = ncap;
		return;
	}
#endif
	if (*cap)
		memcpy(q, *pp, *cap * elem);
	rec_free_huge(*pp, *cap, elem);
	*pp = q;
	*cap = ncap;
}

void rec_free_huge(void *p, size_t cap, size_t elem)
{
	if (cap * elem <= GROW_SMALL)
		free(p);
	else
		munmap(p, (cap * elem + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
}

static int bad_value(const char *s, const char *opt)
{
	return rec_error("invalid value '%s' for %s", s, opt);
}

int rec_parse_u64(const char *s, const char *opt, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || *s == '-' || *s == ' ')
		return bad_value(s, opt);
	v = strtoull(s, &end, 10); /* base 10: "010" is ten, not eight */
	if (errno || *end)
		return bad_value(s, opt);
	*out = v;
	return 0;
}

int rec_parse_size(const char *s, const char *opt, size_t lo, size_t hi, size_t *out)
{
	uint64_t v;

	if (rec_parse_u64(s, opt, &v) < 0)
		return -1;
	if (v < lo || v > hi)
		return rec_error("invalid value '%s' for %s (expected %zu to %zu)", s, opt, lo, hi);
	*out = (size_t)v;
	return 0;
}

int rec_parse_float(const char *s, const char *opt, double *out)
{
	char *end;
	double v;

	errno = 0;
	if (!*s)
		return bad_value(s, opt);
	v = strtod(s, &end);
	if (errno || *end || v != v)
		return bad_value(s, opt);
	*out = v;
	return 0;
}

int rec_name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}
