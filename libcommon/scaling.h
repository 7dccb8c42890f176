/* scaling.h - power laws of test loss in model size, L(N) = E + A N^-alpha,
 * fitted to (size, loss) points of a ladder of trained models, so that a few
 * small runs predict what a larger one will reach (Kaplan et al. 2020;
 * Hoffmann et al. 2022 fit the same form). */
#ifndef REC_SCALING_H
#define REC_SCALING_H

#include <stddef.h>

struct rec_law {
	double E, A, alpha;           /* the irreducible loss, the scale, the exponent */
	double se_E, se_A, se_alpha;  /* standard errors; NAN with 3 points */
	double rms_rel;               /* root mean square of the relative residuals */
	size_t n;                     /* points fitted */
};

/* Least squares in relative error, sum ((L_i - E - A N_i^-alpha) / L_i)^2,
 * with E >= 0, A >= 0 and alpha in [0.001, 4]: for each alpha the best E
 * and A are a weighted linear fit, so only alpha is searched (a grid, then
 * golden sections). Standard errors from the Gauss-Newton covariance
 * s^2 (J'J)^-1, s^2 = RSS / (n - 3). Needs n >= 3 points, N and L > 0,
 * at least 3 distinct sizes; -1 after a message. */
int rec_law_fit(const double *N, const double *L, size_t n, struct rec_law *law);

double rec_law_at(const struct rec_law *law, double N);

/* (size, loss) points in text, "N loss [more columns]" a line, split by
 * blanks or tabs; blank lines and '#' comments skipped, a first line that
 * does not start with a number taken for a header. Appends to pts; path
 * NULL or "-" is standard input. -1 after a message naming the line. */
struct rec_law_points {
	double *N, *L;
	size_t n, cap;
};
int rec_law_read(struct rec_law_points *pts, const char *path);
void rec_law_points_free(struct rec_law_points *pts);

#endif
