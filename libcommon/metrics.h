/* metrics.h - evaluation metrics people trust: exact AUC with ties, logloss,
 * group AUC, calibration. Checked against scikit-learn in the tests. */
#ifndef REC_METRICS_H
#define REC_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Area under the ROC curve of scores against 0/1 labels, exact: tied scores
 * count a half (the Mann-Whitney statistic). Optional weights (NULL = 1).
 * Returns NaN when one class is absent. Sorts a copy; O(n log n). */
double rec_auc(const float *score, const float *label, const float *weight, size_t n);

/* Mean negative log-likelihood of probabilities p, clipped to [eps, 1 - eps]
 * with eps the double epsilon (2.2e-16) as scikit-learn 1.2 does, weighted
 * when weight != NULL. */
double rec_logloss(const float *p, const float *label, const float *weight, size_t n);

/* Group AUC: the AUC inside each group (e.g. user), averaged with the group's
 * number of records as weight, over groups that hold both classes.
 * group[i] identifies record i's group. *ngroups_used (optional) tells how
 * many groups counted. NaN when none did. */
double rec_gauc(const float *score, const float *label, const uint64_t *group, size_t n,
		size_t *ngroups_used);

/* Mean prediction over mean label (1 = calibrated). */
double rec_calibration(const float *p, const float *label, size_t n);

#endif
