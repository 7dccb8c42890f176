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
