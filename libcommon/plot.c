/* plot.c - ROC curves and reliability diagrams as standalone SVG files. */
#include "config.h"
#include "plot.h"
#include "err.h"
#include "io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct scored {
	float s, l, w;
};

/* Descending score, NaN last, so qsort sees a consistent order. */
static int by_score_desc(const void *a, const void *b)
{
	float x = ((const struct scored *)a)->s, y = ((const struct scored *)b)->s;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return (x < y) - (x > y);
}

/* NaN first, then ascending. */
static int by_score_asc(const void *a, const void *b)
{
	return by_score_desc(b, a);
}

static struct scored *sorted_copy(const float *score, const float *label, const float *weight,
				  size_t n, int (*cmp)(const void *, const void *))
{
	struct scored *v = rec_xmalloc((n ? n : 1) * sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = (struct scored){ score[i], label[i], weight ? weight[i] : 1 };
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

size_t rec_roc_curve(double *fpr, double *tpr, const float *score, const float *label,
		     const float *weight, size_t n)
{
	struct scored *v = sorted_copy(score, label, weight, n, by_score_desc);
	double tp = 0, fp = 0;
	size_t m = 1;

	fpr[0] = tpr[0] = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		do { /* like auc_sorted: a NaN score is a run of its own */
			tp += v[j].l > 0.5f ? v[j].w : 0;
			fp += v[j].l > 0.5f ? 0 : v[j].w;
			j++;
		} while (j < n && v[j].s == v[i].s);
		fpr[m] = fp;
		tpr[m++] = tp;
		i = j;
	}
	free(v);
	if (tp <= 0 || fp <= 0)
		return 0;
	for (size_t i = 1; i < m; i++) {
		fpr[i] /= fp;
		tpr[i] /= tp;
	}
	return m;
}

double rec_curve_area(const double *x, const double *y, size_t n)
{
	double area = 0;

	for (size_t i = 1; i < n; i++)
		area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
	return area;
}

size_t rec_curve_thin(double *x, double *y, size_t n, size_t max_points)
{
	double step = 2.0 / (double)(max_points ? max_points : 1);
	size_t k = 0;

	for (size_t i = 1; i < n; i++) {
		if (i + 1 < n && fabs(x[i] - x[k]) + fabs(y[i] - y[k]) < step)
			continue;
		x[++k] = x[i];
		y[k] = y[i];
	}
	return n ? k + 1 : 0;
}

size_t rec_calib_bins(struct rec_calib_bin *out, const float *p, const float *label,
		      const float *weight, size_t n, unsigned bins)
{
	struct scored *v = sorted_copy(p, label, weight, n, by_score_asc);
	size_t m = 0;

	while (m < n && isnan(v[m].s)) /* sorted first; they fall in no bin */
		m++;
	n -= m;
	if (bins > n)
		bins = (unsigned)n;
	for (size_t b = 0; b < bins; b++) {
		size_t lo = m + b * n / bins, hi = m + (b + 1) * n / bins;
		struct rec_calib_bin *c = &out[b];

		*c = (struct rec_calib_bin){ .n = hi - lo };
		for (size_t i = lo; i < hi; i++) {
			c->p += (double)v[i].w * v[i].s;
			c->rate += (double)v[i].w * v[i].l;
			c->weight += v[i].w;
		}
		c->p = c->weight != 0 ? c->p / c->weight : NAN;
		c->rate = c->weight != 0 ? c->rate / c->weight : NAN;
	}
	free(v);
	return bins;
}

/* ---- SVG ------------------------------------------------------------------ */

/* A square canvas; the plot area is S pixels wide at (L, T). */
enum { W = 600, L = 80, T = 76, S = 450, TICKS = 5 };

struct frame {
	FILE *fp;
	double top;   /* value at the top and right end of both axes */
};

static double px(const struct frame *f, double x)
{
	return L + S * x / f->top;
}

static double py(const struct frame *f, double y)
{
	return T + S * (1 - y / f->top);
}

/* Length of the valid UTF-8 sequence at s, 0 when it is not one: a file
 * name is bytes, but the SVG must stay well-formed XML. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t len = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;

	if (c == 0xe0 || c == 0xf0)
		lo = c == 0xe0 ? 0xa0 : 0x90;
	if (c == 0xed || c == 0xf4)
		hi = c == 0xed ? 0x9f : 0x8f;
	for (size_t i = 1; i < len; i++, lo = 0x80, hi = 0xbf)
		if (s[i] < lo || s[i] > hi)
			return 0;
	return len;
}

/* Text content or attribute value: markup escaped, control characters and
 * bytes that are not UTF-8 shown as '?'. */
static void put_text(FILE *fp, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t len; *u; u += len) {
		len = utf8_len(u);
		if (*u == '&' || *u == '<' || *u == '>' || *u == '"')
			fputs(*u == '&' ? "&amp;" : *u == '<' ? "&lt;" : *u == '>' ? "&gt;" : "&quot;", fp);
		else if (len == 0 || *u < 0x20) {
			fputc('?', fp);
			len = 1;
		} else
			fwrite(u, 1, len, fp);
	}
}

static void put_heading(FILE *fp, const char *kind, const char *title)
{
	fputs(kind, fp);
	if (title) {
		fputs(": ", fp);
		put_text(fp, title);
	}
}

static void svg_begin(FILE *fp, const char *kind, const char *title, const char *sub)
{
	fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n<title>",
		W, W, W, W);
	put_heading(fp, kind, title);
	fprintf(fp, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
		"<text x=\"%d\" y=\"30\" text-anchor=\"middle\" font-size=\"17\">", W, W, W / 2);
	put_heading(fp, kind, title);
	fprintf(fp, "</text>\n<text x=\"%d\" y=\"52\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
		W / 2, sub);
}

/* Grid, frame, ticks labelled 0..top, axis titles and the y = x diagonal. */
static void svg_axes(const struct frame *f, const char *xtitle, const char *ytitle)
{
	FILE *fp = f->fp;

	fputs("<g stroke=\"#e6e6e6\">\n", fp);
	for (int i = 1; i < TICKS; i++) {
		double v = f->top * i / TICKS;
		fprintf(fp, "<line x1=\"%.4g\" y1=\"%d\" x2=\"%.4g\" y2=\"%d\"/>\n",
			px(f, v), T, px(f, v), T + S);
		fprintf(fp, "<line x1=\"%d\" y1=\"%.4g\" x2=\"%d\" y2=\"%.4g\"/>\n",
			L, py(f, v), L + S, py(f, v));
	}
	fprintf(fp, "</g>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		"stroke=\"black\"/>\n<g stroke=\"black\">\n", L, T, S, S);
	for (int i = 0; i <= TICKS; i++) {
		double v = f->top * i / TICKS;
		fprintf(fp, "<line x1=\"%.4g\" y1=\"%d\" x2=\"%.4g\" y2=\"%d\"/>\n",
			px(f, v), T + S, px(f, v), T + S + 5);
		fprintf(fp, "<line x1=\"%d\" y1=\"%.4g\" x2=\"%d\" y2=\"%.4g\"/>\n",
			L - 5, py(f, v), L, py(f, v));
	}
	fputs("</g>\n<g text-anchor=\"middle\">\n", fp);
	for (int i = 0; i <= TICKS; i++)
		fprintf(fp, "<text x=\"%.4g\" y=\"%d\">%.4g</text>\n",
			px(f, f->top * i / TICKS), T + S + 20, f->top * i / TICKS);
	fputs("</g>\n<g text-anchor=\"end\">\n", fp);
	for (int i = 0; i <= TICKS; i++)
		fprintf(fp, "<text x=\"%d\" y=\"%.4g\">%.4g</text>\n",
			L - 9, py(f, f->top * i / TICKS) + 4, f->top * i / TICKS);
	fprintf(fp, "</g>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n"
		"<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
		L + S / 2, T + S + 46, xtitle, L - 52, T + S / 2, ytitle);
	fprintf(fp, "<line x1=\"%.4g\" y1=\"%.4g\" x2=\"%.4g\" y2=\"%.4g\" stroke=\"#999\" "
		"stroke-dasharray=\"6 4\"/>\n", px(f, 0), py(f, 0), px(f, f->top), py(f, f->top));
}

static void svg_polyline(const struct frame *f, const double *x, const double *y, size_t n)
{
	fputs("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" "
	      "stroke-linejoin=\"round\" points=\"", f->fp);
	for (size_t i = 0; i < n; i++)
		fprintf(f->fp, "%s%.4g,%.4g", i ? " " : "", px(f, x[i]), py(f, y[i]));
	fputs("\"/>\n", f->fp);
}

/* A key at (x, y): the curve's line and the dashed diagonal. */
static void svg_legend(FILE *fp, int x, int y, const char *curve, const char *diagonal)
{
	fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"210\" height=\"48\" fill=\"white\" "
		"stroke=\"#ccc\"/>\n", x, y);
	fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" "
		"stroke-width=\"2\"/>\n<text x=\"%d\" y=\"%d\">%s</text>\n",
		x + 8, y + 16, x + 34, y + 16, x + 42, y + 20, curve);
	fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\" "
		"stroke-dasharray=\"6 4\"/>\n<text x=\"%d\" y=\"%d\">%s</text>\n",
		x + 8, y + 36, x + 34, y + 36, x + 42, y + 40, diagonal);
}

/* Opens path, lets draw write the SVG and commits; -1 after a message. */
static int write_svg(const char *path, void (*draw)(FILE *, const void *), const void *arg)
{
	struct rec_out o;

	if (rec_out_open(&o, path, 0, 0) < 0)
		return -1;
	draw(o.fp, arg);
	fputs("</svg>\n", o.fp);
	return rec_out_commit(&o);
}

struct roc_plot {
	const double *x, *y;
	size_t m;          /* vertices */
	size_t n;          /* records */
	double auc;
	const char *title;
};

static void draw_roc(FILE *fp, const void *arg)
{
	const struct roc_plot *r = arg;
	struct frame f = { fp, 1 };
	char sub[128], curve[64];

	snprintf(sub, sizeof(sub), "AUC %.4f over %zu records", r->auc, r->n);
	snprintf(curve, sizeof(curve), "model (AUC %.4f)", r->auc);
	svg_begin(fp, "ROC curve", r->title, sub);
	svg_axes(&f, "False positive rate", "True positive rate");
	svg_polyline(&f, r->x, r->y, r->m);
	/* bottom right: a ROC curve worth drawing stays above the diagonal */
	svg_legend(fp, L + S - 220, T + S - 58, curve, "chance");
}

static const char *out_name(const char *path)
{
	return path && strcmp(path, "-") != 0 ? path : "(stdout)";
}

int rec_plot_roc(const char *path, const float *p, const float *y, const float *w, size_t n,
		 const char *title)
{
	double *fx = rec_xmalloc((n + 1) * sizeof(double)), *fy = rec_xmalloc((n + 1) * sizeof(double));
	struct roc_plot r = { fx, fy, rec_roc_curve(fx, fy, p, y, w, n), n, 0, title };
	int rc;

	if (r.m == 0) {
		rc = rec_error("cannot draw a ROC curve in '%s': the labels hold only one class",
			       out_name(path));
	} else {
		r.auc = rec_curve_area(fx, fy, r.m);
		r.m = rec_curve_thin(fx, fy, r.m, REC_PLOT_MAX_POINTS);
		rc = write_svg(path, draw_roc, &r);
	}
	free(fx);
	free(fy);
	return rc;
}

struct calib_plot {
	const struct rec_calib_bin *bin;
	size_t nbins;
	size_t n;          /* records */
	double top;        /* axis end */
	const char *title;
};

/* The smallest of 1, 0.5, 0.2, 0.1, 0.05 ... that v does not pass, so a
 * 2% click rate is not squeezed into a corner. */
static double nice_top(double v)
{
	static const double m[] = { 0.5, 0.2, 0.1 };
	double top = 1;

	if (v > 1)
		return ceil(v);
	for (double d = 1; d > 1e-6; d /= 10)
		for (size_t i = 0; i < 3; i++) {
			if (!(m[i] * d >= v))
				return top;
			top = m[i] * d;
		}
	return top;
}

/* "20 equal-count bins of 500 records; calibration 1.0123" */
static void calib_subtitle(char *sub, size_t size, const struct calib_plot *c)
{
	size_t lo = c->bin[0].n, hi = c->bin[0].n, len;
	double sp = 0, sl = 0;

	for (size_t i = 0; i < c->nbins; i++) {
		if (c->bin[i].weight != 0) { /* else p and rate are NaN */
			sp += c->bin[i].p * c->bin[i].weight;
			sl += c->bin[i].rate * c->bin[i].weight;
		}
		lo = c->bin[i].n < lo ? c->bin[i].n : lo;
		hi = c->bin[i].n > hi ? c->bin[i].n : hi;
	}
	len = (size_t)snprintf(sub, size, "%zu equal-count bins of %zu", c->nbins, lo);
	if (hi != lo && len < size)
		len += (size_t)snprintf(sub + len, size - len, "-%zu", hi);
	if (len < size)
		snprintf(sub + len, size - len, " records; calibration %.4f", sl != 0 ? sp / sl : NAN);
}

/* One dot per bin, its area following the bin's weight; hovering shows
 * the numbers. */
static void svg_bins(const struct frame *f, const struct calib_plot *c)
{
	double wmax = 0;

	for (size_t i = 0; i < c->nbins; i++)
		wmax = c->bin[i].weight > wmax ? c->bin[i].weight : wmax;
	fputs("<g fill=\"#1f77b4\">\n", f->fp);
	for (size_t i = 0; i < c->nbins; i++) {
		const struct rec_calib_bin *b = &c->bin[i];
		if (!isfinite(b->p) || !isfinite(b->rate))
			continue;
		fprintf(f->fp, "<circle cx=\"%.4g\" cy=\"%.4g\" r=\"%.3g\"><title>bin %zu: "
			"%zu records, mean prediction %.4g, click rate %.4g</title></circle>\n",
			px(f, b->p), py(f, b->rate), 2 + 3 * sqrt(wmax > 0 ? b->weight / wmax : 1),
			i + 1, b->n, b->p, b->rate);
	}
	fputs("</g>\n", f->fp);
}

static void draw_calibration(FILE *fp, const void *arg)
{
	const struct calib_plot *c = arg;
	struct frame f = { fp, c->top };
	double *x = rec_xmalloc(c->nbins * 2 * sizeof(double)), *y = x + c->nbins;
	size_t k = 0;
	char sub[160];

	for (size_t i = 0; i < c->nbins; i++) {
		if (!isfinite(c->bin[i].p) || !isfinite(c->bin[i].rate))
			continue;
		x[k] = c->bin[i].p;
		y[k++] = c->bin[i].rate;
	}
	calib_subtitle(sub, sizeof(sub), c);
	svg_begin(fp, "Calibration", c->title, sub);
	svg_axes(&f, "Mean predicted probability", "Observed click rate");
	/* top left: the legend hides less of a curve near the diagonal there */
	svg_legend(fp, L + 10, T + 10, "model, one dot per bin", "perfectly calibrated");
	svg_polyline(&f, x, y, k);
	svg_bins(&f, c);
	free(x);
}

int rec_plot_calibration(const char *path, const float *p, const float *y, const float *w,
			 size_t n, unsigned bins, const char *title)
{
	struct rec_calib_bin *bin = rec_xmalloc((bins ? bins : 1) * sizeof(*bin));
	struct calib_plot c = { bin, rec_calib_bins(bin, p, y, w, n, bins), n, 0, title };
	double vmax = 0;
	int rc;

	for (size_t i = 0; i < c.nbins; i++) {
		vmax = bin[i].p > vmax ? bin[i].p : vmax;
		vmax = bin[i].rate > vmax ? bin[i].rate : vmax;
	}
	c.top = nice_top(vmax);
	if (c.nbins == 0)
		rc = rec_error("cannot draw a calibration plot in '%s': no scored records",
			       out_name(path));
	else
		rc = write_svg(path, draw_calibration, &c);
	free(bin);
	return rc;
}

/* ---- scaling laws: log-log points and the fitted curve -------------------- */

struct law_plot {
	const double *N, *loss;
	size_t n, nfit;            /* the first nfit points were fitted */
	const struct rec_law *law;
	double x0, x1, y0, y1;     /* log10 ranges of the axes */
	const char *title;
};

/* Position in [0, 1] of v on a log10 axis from lo to hi. */
static double log_pos(double v, double lo, double hi)
{
	return (log10(v) - lo) / (hi - lo);
}

/* Frame and ticks of a log-log plot: TICKS + 1 values evenly spaced in
 * log, labelled with their values. */
static void svg_log_axes(const struct frame *f, const struct law_plot *lp)
{
	FILE *fp = f->fp;

	fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		"stroke=\"black\"/>\n<g stroke=\"#e6e6e6\">\n", L, T, S, S);
	for (int i = 1; i < TICKS; i++) {
		double v = (double)i / TICKS;
		fprintf(fp, "<line x1=\"%.4g\" y1=\"%d\" x2=\"%.4g\" y2=\"%d\"/>\n",
			px(f, v), T, px(f, v), T + S);
		fprintf(fp, "<line x1=\"%d\" y1=\"%.4g\" x2=\"%d\" y2=\"%.4g\"/>\n",
			L, py(f, v), L + S, py(f, v));
	}
	fputs("</g>\n", fp);
	for (int i = 0; i <= TICKS; i++) {
		double v = (double)i / TICKS;
		fprintf(fp, "<text x=\"%.4g\" y=\"%d\" text-anchor=\"middle\">%.3g</text>\n",
			px(f, v), T + S + 20, pow(10, lp->x0 + v * (lp->x1 - lp->x0)));
		fprintf(fp, "<text x=\"%d\" y=\"%.4g\" text-anchor=\"end\">%.4g</text>\n",
			L - 9, py(f, v) + 4, pow(10, lp->y0 + v * (lp->y1 - lp->y0)));
	}
	fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Parameters N (log)</text>\n"
		"<text transform=\"translate(%d %d) rotate(-90)\" text-anchor=\"middle\">"
		"Test loss (log)</text>\n", L + S / 2, T + S + 46, L - 58, T + S / 2);
}

/* Axis ranges holding every point and the curve between them, padded. */
static void law_ranges(struct law_plot *lp)
{
	double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY, pad;

	for (size_t i = 0; i < lp->n; i++) {
		double fit = rec_law_at(lp->law, lp->N[i]);
		xl = fmin(xl, log10(lp->N[i]));
		xh = fmax(xh, log10(lp->N[i]));
		yl = fmin(yl, fmin(log10(lp->loss[i]), log10(fit)));
		yh = fmax(yh, fmax(log10(lp->loss[i]), log10(fit)));
	}
	pad = (xh - xl) * 0.05 + 1e-3;
	lp->x0 = xl - pad;
	lp->x1 = xh + pad;
	pad = (yh - yl) * 0.08 + 1e-3;
	lp->y0 = yl - pad;
	lp->y1 = yh + pad;
}

static void draw_law(FILE *fp, const void *arg)
{
	const struct law_plot *lp = arg;
	const struct rec_law *law = lp->law;
	struct frame f = { fp, 1 };
	double x[101], y[101];
	char sub[160];

	snprintf(sub, sizeof(sub), "L(N) = %.4g + %.4g N^-%.4g, fitted on %zu of %zu points",
		 law->E, law->A, law->alpha, lp->nfit, lp->n);
	svg_begin(fp, "Scaling law", lp->title, sub);
	svg_log_axes(&f, lp);
	for (int i = 0; i <= 100; i++) {
		double N = pow(10, lp->x0 + (lp->x1 - lp->x0) * i / 100);
		x[i] = (double)i / 100;
		y[i] = log_pos(rec_law_at(law, N), lp->y0, lp->y1);
	}
	fprintf(fp, "<clipPath id=\"area\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
		"</clipPath>\n<g clip-path=\"url(#area)\">\n", L, T, S, S);
	svg_polyline(&f, x, y, 101);
	fputs("</g>\n", fp);
	for (size_t i = 0; i < lp->n; i++) {
		int held = i >= lp->nfit;
		fprintf(fp, "<circle cx=\"%.4g\" cy=\"%.4g\" r=\"5\" fill=\"%s\" stroke=\"%s\" "
			"stroke-width=\"2\"/>\n", px(&f, log_pos(lp->N[i], lp->x0, lp->x1)),
			py(&f, log_pos(lp->loss[i], lp->y0, lp->y1)), held ? "white" : "#1f77b4",
			held ? "#d62728" : "#1f77b4");
	}
	fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"200\" height=\"48\" fill=\"white\" stroke=\"#ccc\"/>\n"
		"<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"#1f77b4\"/><text x=\"%d\" y=\"%d\">fitted</text>\n"
		"<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"white\" stroke=\"#d62728\" stroke-width=\"2\"/>"
		"<text x=\"%d\" y=\"%d\">held out, predicted</text>\n",
		L + S - 210, T + 10, L + S - 190, T + 26, L + S - 176, T + 30,
		L + S - 190, T + 46, L + S - 176, T + 50);
}

int rec_plot_law(const char *path, const double *N, const double *loss, size_t n, size_t nfit,
		 const struct rec_law *law, const char *title)
{
	struct law_plot lp = { N, loss, n, nfit, law, 0, 0, 0, 0, title };

	if (n == 0)
		return rec_error("cannot draw a scaling law in '%s': no points", out_name(path));
	law_ranges(&lp);
	return write_svg(path, draw_law, &lp);
}

int rec_plot_parse(const char *arg, struct rec_plot_spec *spec)
{
	static const struct { const char *prefix; enum rec_plot_kind kind; } kinds[] = {
		{ "roc:", REC_PLOT_ROC },
		{ "calibration:", REC_PLOT_CALIBRATION },
		{ "calib:", REC_PLOT_CALIBRATION },
		{ "law:", REC_PLOT_LAW },
	};
	const char *base = strrchr(arg, '/');

	spec->path = arg;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t len = strlen(kinds[i].prefix);
		if (strncasecmp(arg, kinds[i].prefix, len) == 0) {
			spec->kind = kinds[i].kind;
			spec->path = arg + len;
			return *spec->path && strcmp(spec->path, "-") != 0 ? 0 : -1;
		}
	}
	base = base ? base + 1 : arg;
	if (strncasecmp(base, "roc", 3) == 0)
		spec->kind = REC_PLOT_ROC;
	else if (strncasecmp(base, "calib", 5) == 0)
		spec->kind = REC_PLOT_CALIBRATION;
	else if (strncasecmp(base, "law", 3) == 0 || strncasecmp(base, "scaling", 7) == 0)
		spec->kind = REC_PLOT_LAW;
	else
		return -1;
	return 0;
}

int rec_plot_draw(const struct rec_plot_spec *spec, const float *p, const float *y,
		  const float *w, size_t n, const char *title)
{
	if (spec->kind == REC_PLOT_ROC)
		return rec_plot_roc(spec->path, p, y, w, n, title);
	return rec_plot_calibration(spec->path, p, y, w, n, REC_PLOT_BINS, title);
}
