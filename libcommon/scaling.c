/* scaling.c - L(N) = E + A N^-alpha by least squares in relative error.
 *
 * Sizes are taken relative to their geometric mean N0 while fitting,
 * f = E + B (N / N0)^-alpha with A = B N0^alpha, so that the numbers the
 * search and the covariance handle stay near 1 whatever the sizes. */
#include "config.h"
#include "scaling.h"
#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALPHA_MIN 0.001
#define ALPHA_MAX 4.0
#define GRID 400

struct points {
	const double *u, *L;      /* sizes over N0, losses */
	size_t n;
};

struct fit {
	double E, B, rss;
};

/* The best E >= 0 and B >= 0 for one alpha: weighted linear least squares
 * of L on x = u^-alpha, weights 1 / L^2 (relative error). */
static struct fit fit_at(const struct points *p, double alpha)
{
	double S = 0, Sx = 0, Sxx = 0, Sy = 0, Sxy = 0, det;
	struct fit f = { 0, 0, 0 };

	for (size_t i = 0; i < p->n; i++) {
		double w = 1 / (p->L[i] * p->L[i]), x = pow(p->u[i], -alpha);
		S += w;
		Sx += w * x;
		Sxx += w * x * x;
		Sy += w * p->L[i];
		Sxy += w * x * p->L[i];
	}
	det = S * Sxx - Sx * Sx;
	if (det > 1e-12 * S * Sxx) {
		f.B = (S * Sxy - Sx * Sy) / det;
		f.E = (Sy - f.B * Sx) / S;
	}
	if (det <= 1e-12 * S * Sxx || f.E < 0) {   /* E on its bound */
		f.E = 0;
		f.B = Sxy / Sxx;
	}
	if (f.B < 0) {                              /* no decrease: a constant */
		f.B = 0;
		f.E = Sy / S;
	}
	for (size_t i = 0; i < p->n; i++) {
		double r = (p->L[i] - f.E - f.B * pow(p->u[i], -alpha)) / p->L[i];
		f.rss += r * r;
	}
	return f;
}

static double grid_alpha(int j)
{
	return ALPHA_MIN * pow(ALPHA_MAX / ALPHA_MIN, (double)j / (GRID - 1));
}

/* The alpha of least RSS: the best of a log-spaced grid, then golden
 * sections between its neighbours. */
static double search_alpha(const struct points *p)
{
	const double g = (sqrt(5) - 1) / 2;
	double best = INFINITY, a, b, c, d;
	int jb = 0;

	for (int j = 0; j < GRID; j++) {
		double rss = fit_at(p, grid_alpha(j)).rss;
		if (rss < best) {
			best = rss;
			jb = j;
		}
	}
	a = grid_alpha(jb > 0 ? jb - 1 : 0);
	b = grid_alpha(jb < GRID - 1 ? jb + 1 : GRID - 1);
	for (int it = 0; it < 100 && b - a > 1e-12 * b; it++) {
		c = b - g * (b - a);
		d = a + g * (b - a);
		if (fit_at(p, c).rss < fit_at(p, d).rss)
			b = d;
		else
			a = c;
	}
	return (a + b) / 2;
}

/* The inverse of the symmetric 3 x 3 matrix m into inv; 0 when singular. */
static int invert3(const double m[3][3], double inv[3][3])
{
	double det;

	inv[0][0] = m[1][1] * m[2][2] - m[1][2] * m[2][1];
	inv[0][1] = m[0][2] * m[2][1] - m[0][1] * m[2][2];
	inv[0][2] = m[0][1] * m[1][2] - m[0][2] * m[1][1];
	inv[1][1] = m[0][0] * m[2][2] - m[0][2] * m[2][0];
	inv[1][2] = m[0][2] * m[1][0] - m[0][0] * m[1][2];
	inv[2][2] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
	det = m[0][0] * inv[0][0] + m[0][1] * (m[1][2] * m[2][0] - m[1][0] * m[2][2]) +
	      m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
	if (!(fabs(det) > 1e-300))
		return 0;
	inv[1][0] = inv[0][1];
	inv[2][0] = inv[0][2];
	inv[2][1] = inv[1][2];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			inv[i][j] /= det;
	return 1;
}

/* Standard errors from s^2 (J'J)^-1 over (E, B, alpha), carried to A =
 * B N0^alpha by the delta method. */
static void standard_errors(const struct points *p, const struct fit *f, double alpha, double N0,
			    struct rec_law *law)
{
	double m[3][3] = { { 0 } }, inv[3][3], s2, lnN0 = log(N0), scale = pow(N0, alpha), varA;

	law->se_E = law->se_A = law->se_alpha = NAN;
	if (p->n <= 3)
		return;
	for (size_t i = 0; i < p->n; i++) {
		double x = pow(p->u[i], -alpha);
		double j[3] = { 1 / p->L[i], x / p->L[i], -f->B * x * log(p->u[i]) / p->L[i] };
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 3; b++)
				m[a][b] += j[a] * j[b];
	}
	if (!invert3(m, inv))
		return;
	s2 = f->rss / (double)(p->n - 3);
	law->se_E = sqrt(s2 * inv[0][0]);
	law->se_alpha = sqrt(s2 * inv[2][2]);
	varA = s2 * (inv[1][1] + 2 * f->B * lnN0 * inv[1][2] + f->B * f->B * lnN0 * lnN0 * inv[2][2]);
	law->se_A = scale * sqrt(varA > 0 ? varA : 0);
}

static int check_points(const double *N, const double *L, size_t n)
{
	size_t distinct = 0;

	if (n < 3)
		return rec_error("a power law needs at least 3 points, not %zu", n);
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		if (!(N[i] > 0) || !(L[i] > 0) || !isfinite(N[i]) || !isfinite(L[i]))
			return rec_error("point %zu: size %g and loss %g must both be positive",
					 i + 1, N[i], L[i]);
		for (size_t j = 0; j < i; j++)
			seen |= N[j] == N[i];
		distinct += !seen;
	}
	if (distinct < 3)
		return rec_error("a power law needs at least 3 distinct sizes, not %zu", distinct);
	return 0;
}

int rec_law_fit(const double *N, const double *L, size_t n, struct rec_law *law)
{
	double *u, logsum = 0, N0, alpha;
	struct points p;
	struct fit f;

	if (check_points(N, L, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		logsum += log(N[i]);
	N0 = exp(logsum / (double)n);
	u = rec_xmalloc(n * sizeof(double));
	for (size_t i = 0; i < n; i++)
		u[i] = N[i] / N0;
	p = (struct points){ u, L, n };
	alpha = search_alpha(&p);
	f = fit_at(&p, alpha);
	*law = (struct rec_law){ .E = f.E, .A = f.B * pow(N0, alpha), .alpha = alpha,
				 .rms_rel = sqrt(f.rss / (double)n), .n = n };
	standard_errors(&p, &f, alpha, N0, law);
	free(u);
	return 0;
}

double rec_law_at(const struct rec_law *law, double N)
{
	return law->E + law->A * pow(N, -law->alpha);
}

/* ---- reading points ------------------------------------------------------ */

static void add_point(struct rec_law_points *pts, double N, double L)
{
	size_t cap = pts->cap;

	rec_xgrow(&pts->N, &cap, pts->n + 1, sizeof(double));
	if (cap != pts->cap) {
		pts->L = rec_xrealloc(pts->L, cap * sizeof(double));
		pts->cap = cap;
	}
	pts->N[pts->n] = N;
	pts->L[pts->n++] = L;
}

/* One line's size and loss; 0 when the line holds no point (blank,
 * comment), 1 for a point, -1 when it does not start with two numbers. */
static int parse_point(char *line, double *N, double *L)
{
	char *end, *p = line + strspn(line, " \t\r\n");

	if (*p == 0 || *p == '#')
		return 0;
	errno = 0;
	*N = strtod(p, &end);
	if (end == p || !strchr(" \t", *end) || errno)
		return -1;
	p = end + strspn(end, " \t");
	*L = strtod(p, &end);
	if (end == p || !strchr(" \t\r\n", *end) || errno)
		return -1;
	return 1;
}

int rec_law_read(struct rec_law_points *pts, const char *path)
{
	int stdin_ = !path || strcmp(path, "-") == 0;
	const char *name = stdin_ ? "(stdin)" : path;
	FILE *fp = stdin_ ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0, points = 0;
	int rc = 0;

	if (!fp)
		return rec_error("cannot open '%s': %s", path, strerror(errno));
	while (rc == 0 && getline(&line, &cap, fp) >= 0) {
		double N, L;
		int got = parse_point(line, &N, &L);
		lineno++;
		if (got < 0 && points == 0 && lineno == 1)
			continue;  /* a header */
		if (got < 0)
			rc = rec_error("%s:%zu: expected a size and a loss, two numbers", name, lineno);
		else if (got && !(N > 0 && L > 0 && isfinite(N) && isfinite(L)))
			rc = rec_error("%s:%zu: size %g and loss %g must both be positive", name, lineno,
				       N, L);
		else if (got) {
			add_point(pts, N, L);
			points++;
		}
	}
	if (rc == 0 && ferror(fp))
		rc = rec_error("cannot read '%s': %s", name, strerror(errno));
	free(line);
	if (!stdin_)
		fclose(fp);
	return rc;
}

void rec_law_points_free(struct rec_law_points *pts)
{
	free(pts->N);
	free(pts->L);
}
