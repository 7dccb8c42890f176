/* peak.c - what one core can do: fp32 FMA throughput with AVX2 and with
 * AVX-512 (independent chains, no memory traffic), and what the installed
 * BLAS's sgemm reaches on a large square product with the kernels it runs
 * here. Benchmarks quote their GFLOP/s as a share of these. Prints
 * "name GFLOP/s" lines; "n/a" where the core lacks the instructions.
 * peak --blas-env prints only the BLIS_ARCH_TYPE=N that libcommon/blas.c
 * chose (nothing when it chose none), for giving a peer the same kernels. */
#include "config.h"

#include "blas.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define X86 1
#endif

#define CHAINS 12            /* FMA latency 4 cycles x 2 pipes, with room; in registers */
#define ROUNDS (1L << 24)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#ifdef X86
/* CHAINS independent FMA chains, named so that they stay in registers. */
#define FMA_BODY(T, fma, x)                                                             \
	do {                                                                            \
		T c0 = x(0), c1 = x(1), c2 = x(2), c3 = x(3), c4 = x(4), c5 = x(5);     \
		T c6 = x(6), c7 = x(7), c8 = x(8), c9 = x(9), c10 = x(10), c11 = x(11); \
		T a = x(0.999999f), b = x(1e-7f);                                       \
		t = now();                                                              \
		for (long r = 0; r < ROUNDS; r++) {                                     \
			c0 = fma(c0, a, b), c1 = fma(c1, a, b), c2 = fma(c2, a, b);     \
			c3 = fma(c3, a, b), c4 = fma(c4, a, b), c5 = fma(c5, a, b);     \
			c6 = fma(c6, a, b), c7 = fma(c7, a, b), c8 = fma(c8, a, b);     \
			c9 = fma(c9, a, b), c10 = fma(c10, a, b), c11 = fma(c11, a, b); \
		}                                                                       \
		t = now() - t;                                                          \
		out = fma(c0, c1, c2), out = fma(out, c3, c4), out = fma(out, c5, c6);  \
		out = fma(out, c7, c8), out = fma(out, c9, c10), out = fma(out, c11, a); \
	} while (0)

/* Seconds of ROUNDS x CHAINS FMAs of 8 floats; sink keeps them alive. */
__attribute__((target("avx2,fma"))) static double fma256(float *sink)
{
	__m256 out;
	double t;

	FMA_BODY(__m256, _mm256_fmadd_ps, _mm256_set1_ps);
	*sink = _mm256_cvtss_f32(out);
	return t;
}

__attribute__((target("avx512f"))) static double fma512(float *sink)
{
	__m512 out;
	double t;

	FMA_BODY(__m512, _mm512_fmadd_ps, _mm512_set1_ps);
	*sink = _mm512_reduce_add_ps(out);
	return t;
}

static void report_fma(void)
{
	float sink = 0;
	double flop = 2.0 * CHAINS * (double)ROUNDS;

	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		printf("avx2_fma %.1f\n", flop * 8 / fma256(&sink) / 1e9);
	else
		printf("avx2_fma n/a\n");
	if (__builtin_cpu_supports("avx512f"))
		printf("avx512_fma %.1f\n", flop * 16 / fma512(&sink) / 1e9);
	else
		printf("avx512_fma n/a\n");
	if (sink == 12345.0f) /* never: the results must look used */
		puts("");
}
#else
static void report_fma(void)
{
	printf("avx2_fma n/a\navx512_fma n/a\n");
}
#endif

/* Best of a few 1024^3 products on one thread. */
static void report_sgemm(void)
{
	const int n = 1024;
	float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n);
	float *C = malloc(sizeof(float) * n * n);
	double best = 1e30;

	if (!A || !B || !C)
		return;
	for (long i = 0; i < (long)n * n; i++) {
		A[i] = (float)(i % 7) * 1e-3f;
		B[i] = (float)(i % 5) * 1e-3f;
	}
	rec_blas_threads(1);
	for (int r = 0; r < 5; r++) {
		double t = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, A, n, B, n, 0, C, n);
		t = now() - t;
		best = t < best ? t : best;
	}
	printf("sgemm %.1f\n", 2.0 * n * n * n / best / 1e9);
	printf("sgemm_kernels %s\n", rec_blas_describe());
	printf("smm_kernels %s\n", rec_smm_describe());
	free(A), free(B), free(C);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--blas-env") == 0) {
		const char *arch = (rec_blas_describe(), getenv("BLIS_ARCH_TYPE"));
		if (arch)
			printf("BLIS_ARCH_TYPE=%s\n", arch);
		return 0;
	}
	report_fma();
	report_sgemm();
	return 0;
}
