/* embed-mem - memory per row of the embedding store, measured as the growth
 * of the resident set while N rows are created, next to the store's own
 * accounting. Usage: embed-mem [rows] [dim]. Prints one Markdown table row
 * per precision. */
#include "config.h"
#include "embed.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static size_t resident_bytes(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (!fp || fscanf(fp, "%lu %lu", &size, &resident) != 2)
		rec_die("cannot read /proc/self/statm");
	fclose(fp);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void measure(int precision, size_t rows, unsigned dim)
{
	struct rec_embed_opts o = REC_EMBED_OPTS_INIT;
	size_t before = resident_bytes(), after;
	struct rec_embed *e;
	double t0, t1;

	o.precision = precision;
	o.dim = dim;
	e = rec_embed_new(&o);
	t0 = seconds();
	for (uint64_t i = 0; i < rows; i++)
		rec_embed_find(e, i * UINT64_C(0x9e3779b97f4a7c15) + 1, 1);
	t1 = seconds();
	after = resident_bytes();
	printf("| %s | %u | %zu | %.1f | %.1f | %.1f |\n", precision == REC_FP16 ? "fp16" : "fp32", dim,
	       rows, (double)(after - before) / (double)rows,
	       (double)rec_embed_bytes(e) / (double)rec_embed_rows(e), (double)rows / (t1 - t0) / 1e6);
	rec_embed_free(e);
}

int main(int argc, char **argv)
{
	size_t rows = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
	unsigned dim = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 16;

	rec_setprogname(argv[0]);
	printf("| precision | dim | rows | RSS bytes/row | accounted bytes/row | M inserts/s |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	/* each in a fresh process: memory freed by one would be reused by the next */
	for (int p = REC_FP32; p <= REC_FP16; p++) {
		pid_t pid;
		fflush(stdout);
		if ((pid = fork()) == 0) {
			measure(p, rows, dim);
			exit(0);
		}
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			rec_die("cannot run the measurement");
	}
	return 0;
}
