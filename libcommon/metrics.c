/* metrics.c - AUC, logloss, group AUC and calibration. */
#include "config.h"
#include "metrics.h"
#include "err.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct scored {
	float score, label, weight;
	uint64_t group;
};

static int by_score(const void *a, const void *b)
{
	float x = ((const struct scored *)a)->score, y = ((const struct scored *)b)->score;

	return (x > y) - (x < y);
}

static int by_group_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return by_score(a, b);
}

/* AUC of records already sorted by score: walks runs of tied scores; a
 * positive beats every negative below its run and half of those in it. */
static double auc_sorted(const struct scored *v, size_t n)
{
	double neg_below = 0, pos_total = 0, neg_total = 0, area = 0;

	for (size_t i = 0; i < n;) {
		double pos = 0, neg = 0;
		size_t j = i;
		do { /* at least one step: a NaN score equals nothing, not even itself */
			pos += v[j].label > 0.5f ? v[j].weight : 0;
			neg += v[j].label > 0.5f ? 0 : v[j].weight;
			j++;
		} while (j < n && v[j].score == v[i].score);
		area += pos * (neg_below + neg / 2);
		neg_below += neg;
		pos_total += pos;
		neg_total += neg;
		i = j;
	}
	if (pos_total == 0 || neg_total == 0)
		return NAN;
	return area / (pos_total * neg_total);
}

static struct scored *gather(const float *score, const float *label, const float *weight,
			     const uint64_t *group, size_t n)
{
	struct scored *v = rec_xmalloc(n * sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = (struct scored){ score[i], label[i], weight ? weight[i] : 1, group ? group[i] : 0 };
	return v;
}

double rec_auc(const float *score, const float *label, const float *weight, size_t n)
{
	struct scored *v = gather(score, label, weight, NULL, n);
	double auc;

	qsort(v, n, sizeof(*v), by_score);
	auc = auc_sorted(v, n);
	free(v);
	return auc;
}

double rec_logloss(const float *p, const float *label, const float *weight, size_t n)
{
	double sum = 0, wsum = 0;

	for (size_t i = 0; i < n; i++) {
		double q = p[i] < DBL_EPSILON ? DBL_EPSILON : p[i] > 1 - DBL_EPSILON ? 1 - DBL_EPSILON : p[i];
		double w = weight ? weight[i] : 1;
		sum -= w * (label[i] > 0.5f ? log(q) : log(1 - q));
		wsum += w;
	}
	return wsum > 0 ? sum / wsum : NAN;
}

double rec_gauc(const float *score, const float *label, const uint64_t *group, size_t n,
		size_t *ngroups_used)
{
	struct scored *v = gather(score, label, NULL, group, n);
	double sum = 0, weight = 0;
	size_t used = 0;

	qsort(v, n, sizeof(*v), by_group_score);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j].group == v[i].group)
			j++;
		double auc = auc_sorted(v + i, j - i);
		if (!isnan(auc)) {
			sum += auc * (double)(j - i);
			weight += (double)(j - i);
			used++;
		}
		i = j;
	}
	free(v);
	if (ngroups_used)
		*ngroups_used = used;
	return weight > 0 ? sum / weight : NAN;
}

double rec_calibration(const float *p, const float *label, size_t n)
{
	double sp = 0, sl = 0;

	for (size_t i = 0; i < n; i++) {
		sp += p[i];
		sl += label[i];
	}
	return sl > 0 ? sp / sl : NAN;
}
