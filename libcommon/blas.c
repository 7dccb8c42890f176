/* blas.c - which BLAS, which kernels, how many threads.
 *
 * BLIS picks its kernels from the CPU's vendor, family and features when
 * first called. BLIS 0.9 (Debian 12's) knows AMD's families up to 0x19
 * (Zen 3 and 4) and falls back to its reference kernels on anything later:
 * on a Zen 5 that is sgemm at 25 GFLOP/s where its AVX-512 (skx) kernels
 * reach 170. So, before BLIS starts, a CPU of a family that BLIS has never
 * heard of gets the kernels its features allow, through BLIS's own
 * BLIS_ARCH_TYPE variable; a value the user set is left alone. */
#include "config.h"
#include "blas.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_BLIS
#include <blis.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

/* An AMD CPU newer than every family BLIS 0.9 knows. */
static int amd_family_unknown_to_blis(void)
{
	unsigned a, b, c, d, family;

	if (!__get_cpuid(0, &a, &b, &c, &d) || b != 0x68747541 /* "Auth" enticAMD */)
		return 0;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	family = (a >> 8) & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	return family > 0x19;
}

static __attribute__((constructor)) void choose_blis_kernels(void)
{
	char id[16];
	arch_t arch;

	if (getenv("BLIS_ARCH_TYPE") || strncmp(bli_info_get_version_str(), "0.", 2) != 0 ||
	    !amd_family_unknown_to_blis())
		return;
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
		arch = BLIS_ARCH_SKX;
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		arch = BLIS_ARCH_ZEN3;
	else
		return;
	snprintf(id, sizeof(id), "%d", (int)arch);
	setenv("BLIS_ARCH_TYPE", id, 0);
}
#endif

void rec_blas_threads(int n)
{
	bli_thread_set_num_threads(n);
}

const char *rec_blas_describe(void)
{
	static char s[64];

	bli_init(); /* before its first product, BLIS has chosen no kernels */
	snprintf(s, sizeof(s), "BLIS %s, %s kernels", bli_info_get_version_str(),
		 bli_arch_string(bli_arch_query_id()));
	return s;
}

#else /* OpenBLAS */

void rec_blas_threads(int n)
{
	openblas_set_num_threads(n);
}

const char *rec_blas_describe(void)
{
	static char s[64];

	snprintf(s, sizeof(s), "OpenBLAS, %s kernels", openblas_get_corename());
	return s;
}
#endif

#ifdef HAVE_LIBXSMM
/* rec_smm on libxsmm. Its own dispatch hashes the whole GEMM descriptor
 * under its registry's lock (0.4 us a call here: too much for products of
 * a few microseconds), so the kernels it made are kept in a table of ours
 * by shape: open addressing, nothing ever removed. A reader takes a slot
 * only once its state says it is complete (acquire); one writer at a time
 * (the critical section, which the JIT sits in too) fills an empty slot and
 * then publishes it (release). Shapes libxsmm has no kernel for are kept
 * too, as SMM_NONE, and go to cblas_sgemm. libxsmm picks its kernels from
 * the CPU's features (AVX-512 here, on a Zen 5 it calls "cpx"), or from
 * LIBXSMM_TARGET when set. */
#include <libxsmm.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#define SMM_SLOTS 8192 /* power of two; filled to 3/4 at most */
enum { SMM_EMPTY, SMM_KERNEL, SMM_NONE };

struct smm_slot {
	uint32_t key[8]; /* m, n, k, lda, ldb, ldc, transa, beta */
	rec_smm_fn fn;
	int state;
};

static struct smm_slot smm_table[SMM_SLOTS];
static size_t smm_used;

static size_t smm_hash(const uint32_t *key)
{
	uint64_t h = 0x9e3779b97f4a7c15u;

	for (size_t i = 0; i < 8; i++)
		h = (h ^ key[i]) * 0xff51afd7ed558ccdu;
	return (size_t)(h >> 32) & (SMM_SLOTS - 1);
}

/* The slot of key, or the empty one where it would go. */
static struct smm_slot *smm_find(const uint32_t *key)
{
	for (size_t i = smm_hash(key);; i = (i + 1) & (SMM_SLOTS - 1)) {
		struct smm_slot *e = &smm_table[i];
		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == SMM_EMPTY ||
		    !memcmp(e->key, key, sizeof(e->key)))
			return e;
	}
}

/* Row-major C = op(A) B is column-major C^T = B^T op(A)^T: libxsmm's
 * (M, N, K) = (n, m, k) with B as its A, and A as its B, transposed
 * where A is. */
static rec_smm_fn smm_dispatch(const uint32_t *key)
{
	libxsmm_blasint lda = (libxsmm_blasint)key[4], ldb = (libxsmm_blasint)key[3];
	libxsmm_blasint ldc = (libxsmm_blasint)key[5];
	float alpha = 1, beta = key[7] ? 1.0f : 0.0f;
	int flags = key[6] ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
	int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;

	return libxsmm_smmdispatch((libxsmm_blasint)key[1], (libxsmm_blasint)key[0],
				   (libxsmm_blasint)key[2], &lda, &ldb, &ldc, &alpha, &beta, &flags, &prefetch);
}

static rec_smm_fn smm_kernel(const uint32_t *key)
{
	struct smm_slot *e = smm_find(key);
	rec_smm_fn fn;

	if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != SMM_EMPTY)
		return e->fn;
#pragma omp critical(rec_smm)
	{
		e = smm_find(key);
		if (e->state != SMM_EMPTY) {
			fn = e->fn;
		} else {
			fn = smm_dispatch(key);
			if (smm_used < SMM_SLOTS / 4 * 3) {
				memcpy(e->key, key, sizeof(e->key));
				e->fn = fn;
				__atomic_store_n(&e->state, fn ? SMM_KERNEL : SMM_NONE, __ATOMIC_RELEASE);
				smm_used++;
			}
		}
	}
	return fn;
}

static int smm_fits(size_t v)
{
	return v <= INT_MAX;
}

static rec_smm_fn smm_find_kernel(int transa, size_t m, size_t n, size_t k, size_t lda, size_t ldb,
				  int beta, size_t ldc)
{
	uint32_t key[8] = { (uint32_t)m, (uint32_t)n, (uint32_t)k, (uint32_t)lda, (uint32_t)ldb,
			    (uint32_t)ldc, transa != 0, beta != 0 };

	if (!m || !n || !k || !smm_fits(m) || !smm_fits(n) || !smm_fits(k) || !smm_fits(lda) ||
	    !smm_fits(ldb) || !smm_fits(ldc))
		return NULL;
	return smm_kernel(key);
}

const char *rec_smm_describe(void)
{
	static char s[64];

	libxsmm_init();
	snprintf(s, sizeof(s), "libxsmm %s, %s kernels", LIBXSMM_CONFIG_VERSION, libxsmm_get_target_arch());
	return s;
}

#else /* cblas */

static rec_smm_fn smm_find_kernel(int transa, size_t m, size_t n, size_t k, size_t lda, size_t ldb,
				  int beta, size_t ldc)
{
	(void)transa, (void)m, (void)n, (void)k, (void)lda, (void)ldb, (void)beta, (void)ldc;
	return NULL;
}

const char *rec_smm_describe(void)
{
	return "cblas";
}
#endif

void rec_smm_init(struct rec_smm *s, int transa, size_t m, size_t n, size_t k, size_t lda, size_t ldb,
		  int beta, size_t ldc)
{
	rec_smm_fn fn = smm_find_kernel(transa, m, n, k, lda, ldb, beta, ldc);

	*s = (struct rec_smm){ fn, fn && __builtin_cpu_supports("avx"), transa, beta, (int)m, (int)n, (int)k,
			       (int)lda, (int)ldb, (int)ldc };
}

void rec_smm_blas(const struct rec_smm *s, const float *A, const float *B, float *C)
{
	if (!s->m || !s->n)
		return;
	cblas_sgemm(CblasRowMajor, s->transa ? CblasTrans : CblasNoTrans, CblasNoTrans, s->m, s->n, s->k, 1.0f,
		    A, s->lda, B, s->ldb, s->beta ? 1.0f : 0.0f, C, s->ldc);
}

void rec_smm(int transa, size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B,
	     size_t ldb, int beta, float *C, size_t ldc)
{
	struct rec_smm s;

	rec_smm_init(&s, transa, m, n, k, lda, ldb, beta, ldc);
	rec_smm_run(&s, A, B, C);
}

/* In tiles, so that both sides are read and written a cache line at a time. */
void rec_transpose(float *restrict dst, const float *restrict src, size_t rows, size_t cols)
{
	enum { TILE = 16 };

	for (size_t r0 = 0; r0 < rows; r0 += TILE)
		for (size_t c0 = 0; c0 < cols; c0 += TILE) {
			size_t r1 = r0 + TILE < rows ? r0 + TILE : rows, c1 = c0 + TILE < cols ? c0 + TILE : cols;
			for (size_t r = r0; r < r1; r++)
				for (size_t c = c0; c < c1; c++)
					dst[c * rows + r] = src[r * cols + c];
		}
}
