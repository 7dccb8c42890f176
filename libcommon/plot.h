/* plot.h - ROC curves, reliability diagrams and scaling laws as standalone
 * SVG files. */
#ifndef REC_PLOT_H
#define REC_PLOT_H

#include <stddef.h>

#include "scaling.h"

enum rec_plot_kind {
	REC_PLOT_ROC = 1,
	REC_PLOT_CALIBRATION,
	REC_PLOT_LAW               /* rec-eval --scaling-law only */
};

/* What one --plot asks for. path points into the parsed argument. */
struct rec_plot_spec {
	enum rec_plot_kind kind;
	const char *path;
};

#define REC_PLOT_BINS 20         /* calibration bins rec_plot_draw uses */
#define REC_PLOT_MAX_POINTS 2000 /* about the most vertices a drawn curve keeps */

/* Parses "roc:FILE", "calibration:FILE" (or "calib:FILE"), "law:FILE", or
 * a FILE whose base name starts with "roc", "calib", "law" or "scaling"
 * (any case). -1 when the kind cannot
 * be told, or FILE is empty or "-" (standard output carries the tool's
 * data); prints nothing, the caller knows the option. */
int rec_plot_parse(const char *arg, struct rec_plot_spec *spec);

/* ROC vertices, from (0,0) through one vertex per distinct score (highest
 * first) to (1,1), so a run of tied scores is one straight segment; labels
 * above 0.5 are positive, weights NULL = 1, as in rec_auc. fpr and tpr hold
 * n + 1 values. Returns the number of vertices, 0 when a class is absent.
 * The trapezoids under them add up to rec_auc. */
size_t rec_roc_curve(double *fpr, double *tpr, const float *score, const float *label,
		     const float *weight, size_t n);
/* Area under a polyline by trapezoids. */
double rec_curve_area(const double *x, const double *y, size_t n);
/* Thins a monotone curve in place, keeping both ends and each vertex that
 * moved x + y by at least 2 / max_points since the last one kept: at most
 * about max_points + 2 remain, none off the original by more than that
 * step. Returns the new count. */
size_t rec_curve_thin(double *x, double *y, size_t n, size_t max_points);

/* One bin of a reliability diagram. */
struct rec_calib_bin {
	double p;       /* mean prediction (weighted) */
	double rate;    /* mean label: the observed click rate (weighted) */
	double weight;  /* sum of weights; the record count when unweighted */
	size_t n;       /* records */
};

/* Sorts the records by prediction and cuts them into `bins` runs of equal
 * record count (sizes differ by at most one; fewer bins when n < bins).
 * Returns the number of bins filled into out[bins]. */
size_t rec_calib_bins(struct rec_calib_bin *out, const float *p, const float *label,
		      const float *weight, size_t n, unsigned bins);

/* Write an SVG file atomically (NULL or "-" = stdout); title, when not
 * NULL, follows the kind's name in the heading. -1 after a message, with
 * nothing left at path, on failure or when there is nothing to draw. */
int rec_plot_roc(const char *path, const float *p, const float *y, const float *w,
		 size_t n, const char *title);
int rec_plot_calibration(const char *path, const float *p, const float *y, const float *w,
			 size_t n, unsigned bins, const char *title);
/* Loss against size on log-log axes: the points (the first nfit filled,
 * the held-out rest hollow) and the fitted law's curve. */
int rec_plot_law(const char *path, const double *N, const double *loss, size_t n, size_t nfit,
		 const struct rec_law *law, const char *title);
/* Draws what spec asks for, with REC_PLOT_BINS calibration bins (not
 * REC_PLOT_LAW, which rec_plot_law draws). */
int rec_plot_draw(const struct rec_plot_spec *spec, const float *p, const float *y,
		  const float *w, size_t n, const char *title);

#endif
