/* metrics-ref - reads "score label group" lines and prints recpipe's metrics,
 * for tests/cli/metrics.sh to compare with scikit-learn. */
#include "config.h"
#include "err.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t n = 0, cap = 0, used;
	float *score = NULL, *label = NULL, s, l;
	uint64_t *group = NULL;
	unsigned long long g;

	(void)argc;
	rec_setprogname(argv[0]);
	while (scanf("%f %f %llu", &s, &l, &g) == 3) {
		size_t c = cap;
		rec_xgrow(&score, &c, n + 1, sizeof(float));
		label = rec_xrealloc(label, c * sizeof(float));
		group = rec_xrealloc(group, c * sizeof(uint64_t));
		cap = c;
		score[n] = s;
		label[n] = l;
		group[n++] = g;
	}
	printf("auc %.10f\n", rec_auc(score, label, NULL, n));
	printf("logloss %.10f\n", rec_logloss(score, label, NULL, n));
	printf("gauc %.10f\n", rec_gauc(score, label, group, n, &used));
	printf("groups %zu\n", used);
	printf("calibration %.10f\n", rec_calibration(score, label, n));
	free(score);
	free(label);
	free(group);
	return 0;
}
