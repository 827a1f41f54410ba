#include "rater_effects.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many residuals the median is exact (sort); above it a fine histogram of
 * |t| gives it to within half a bin (RE_HIST_MAX / RE_HIST_BINS / 2 = 0.00012). */
#define RE_EXACT_MEDIAN_MAX 65536
#define RE_HIST_BINS 65536
#define RE_HIST_MAX 16.0
/* Segments (one ratee's ratings) up to this length are put in order by insertion sort. */
#define RE_INSERTION_MAX 48
/* A leverage this close to 1 means the ratee has effectively one rating. */
#define RE_LEVERAGE_ONE (1.0 - 1e-9)
/* Conjugate gradients per IRLS step: stop when the residual norm is below this
 * fraction of the right-hand side's (offsets then agree with the exact solution of the
 * step to far below the printed 4 decimals), or after RE_CG_MAX_ITER iterations. */
#define RE_CG_REL_TOL 1e-10
#define RE_CG_MAX_ITER 500
#define RE_TINY 1e-300

struct rater_effects *rater_effects_new(size_t n_people, size_t n_ratings)
{
    if (n_people > RATER_EFFECTS_MAX_PEOPLE || n_ratings > RATER_EFFECTS_MAX_RATINGS)
        return NULL;
    struct rater_effects *re = calloc(1, sizeof *re);
    if (!re)
        return NULL;
    re->n_people = n_people;
    re->n_ratings = n_ratings;
    size_t np = n_people ? n_people : 1, nr = n_ratings ? n_ratings : 1;
    re->level = calloc(np, sizeof *re->level);
    re->offset = calloc(np, sizeof *re->offset);
    re->rater_weight = calloc(np, sizeof *re->rater_weight);
    re->rater_n = calloc(np, sizeof *re->rater_n);
    re->weight = calloc(nr, sizeof *re->weight);
    if (!re->level || !re->offset || !re->rater_weight || !re->rater_n || !re->weight)
        rater_effects_destroy(&re);
    return re;
}

void rater_effects_destroy(struct rater_effects **p)
{
    if (!p || !*p)
        return;
    struct rater_effects *re = *p;
    free(re->level);
    free(re->offset);
    free(re->rater_weight);
    free(re->rater_n);
    free(re->weight);
    free(re);
    *p = NULL;
}

/* The working set of one estimate: ratings in canonical order (by ratee, then rater,
 * then y), with seg[e]..seg[e+1] the ratings about ratee e. */
struct re_work {
    size_t n, np;
    uint32_t *perm; /* sorted position -> caller's index */
    size_t *seg;    /* np + 1 */
    int32_t *rater; /* sorted */
    double *y;      /* sorted */
    double *w;      /* sorted: robust weight */
    double *t;      /* sorted: standardised residual, NAN when leverage is 1 */
    /* per ratee */
    double *wsum; /* W_e = sum of w */
    double *ybar; /* weighted mean of y */
    double *m;    /* weighted mean of the raters' offsets (A x products) */
    /* per rater */
    double *dsum; /* D_r = sum of w */
    double *diag; /* diagonal of A (Jacobi preconditioner) */
    double *rhs, *res, *z, *dir, *adir;
    double *scratch; /* exact median */
    uint32_t *hist;
};

static void re_work_free(struct re_work *wk)
{
    free(wk->perm);
    free(wk->seg);
    free(wk->rater);
    free(wk->y);
    free(wk->w);
    free(wk->t);
    free(wk->wsum);
    free(wk->ybar);
    free(wk->m);
    free(wk->dsum);
    free(wk->diag);
    free(wk->rhs);
    free(wk->res);
    free(wk->z);
    free(wk->dir);
    free(wk->adir);
    free(wk->scratch);
    free(wk->hist);
}

static int re_work_alloc(struct re_work *wk)
{
    size_t nr = wk->n ? wk->n : 1, np = wk->np ? wk->np : 1;
    wk->perm = malloc(nr * sizeof *wk->perm);
    wk->seg = malloc((wk->np + 1) * sizeof *wk->seg);
    wk->rater = malloc(nr * sizeof *wk->rater);
    wk->y = malloc(nr * sizeof *wk->y);
    wk->w = malloc(nr * sizeof *wk->w);
    wk->t = malloc(nr * sizeof *wk->t);
    double **per[] = {&wk->wsum, &wk->ybar, &wk->m, &wk->dsum, &wk->diag,
                      &wk->rhs,  &wk->res,  &wk->z, &wk->dir,  &wk->adir};
    bool ok = wk->perm && wk->seg && wk->rater && wk->y && wk->w && wk->t;
    for (size_t i = 0; i < sizeof per / sizeof per[0]; i++) {
        *per[i] = malloc(np * sizeof **per[i]);
        ok = ok && *per[i];
    }
    wk->scratch = malloc((wk->n < RE_EXACT_MEDIAN_MAX ? nr : RE_EXACT_MEDIAN_MAX) * sizeof *wk->scratch);
    wk->hist = malloc((RE_HIST_BINS + 1) * sizeof *wk->hist);
    return ok && wk->scratch && wk->hist ? 0 : -1;
}

struct re_order_ctx {
    const int32_t *rater;
    const double *y;
};

static int re_cmp_rating(uint32_t a, uint32_t b, const struct re_order_ctx *ctx)
{
    if (ctx->rater[a] != ctx->rater[b])
        return ctx->rater[a] < ctx->rater[b] ? -1 : 1;
    if (ctx->y[a] != ctx->y[b])
        return ctx->y[a] < ctx->y[b] ? -1 : 1;
    return 0; /* identical ratings: their order changes no sum */
}

static int re_cmp_qsort(const void *a, const void *b, void *ctx)
{
    return re_cmp_rating(*(const uint32_t *)a, *(const uint32_t *)b, ctx);
}

static void re_sort_segment(uint32_t *p, size_t n, const struct re_order_ctx *ctx)
{
    if (n > RE_INSERTION_MAX) {
        qsort_r(p, n, sizeof *p, re_cmp_qsort, (void *)ctx);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t v = p[i];
        size_t j = i;
        while (j > 0 && re_cmp_rating(p[j - 1], v, ctx) > 0) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = v;
    }
}

/* Counting sort by ratee, then each ratee's ratings by (rater, y). */
static void re_order(struct re_work *wk, const int32_t *rater, const int32_t *ratee, const double *y)
{
    size_t *seg = wk->seg;
    memset(seg, 0, (wk->np + 1) * sizeof *seg);
    for (size_t i = 0; i < wk->n; i++)
        seg[(size_t)ratee[i] + 1]++;
    for (size_t e = 0; e < wk->np; e++)
        seg[e + 1] += seg[e];
    /* seg[e] is the start of e; advance it while filling, then shift back */
    for (size_t i = 0; i < wk->n; i++) {
        size_t e = (size_t)ratee[i];
        wk->perm[seg[e]++] = (uint32_t)i;
    }
    /* seg[e] now holds the end of e, which is the start of e + 1 */
    for (size_t e = wk->np; e > 0; e--)
        seg[e] = seg[e - 1];
    seg[0] = 0;
    struct re_order_ctx ctx = {rater, y};
    for (size_t e = 0; e < wk->np; e++)
        re_sort_segment(wk->perm + seg[e], seg[e + 1] - seg[e], &ctx);
    for (size_t k = 0; k < wk->n; k++) {
        wk->rater[k] = rater[wk->perm[k]];
        wk->y[k] = y[wk->perm[k]];
    }
}

static int re_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of |t| over the ratings whose t is not NAN (exact for small sets, histogram
 * otherwise). Returns -1 when there is none. */
static double re_median_abs(struct re_work *wk)
{
    size_t m = 0;
    for (size_t k = 0; k < wk->n; k++)
        if (!isnan(wk->t[k]))
            m++;
    if (m == 0)
        return -1;
    if (m <= RE_EXACT_MEDIAN_MAX) {
        size_t j = 0;
        for (size_t k = 0; k < wk->n; k++)
            if (!isnan(wk->t[k]))
                wk->scratch[j++] = fabs(wk->t[k]);
        qsort(wk->scratch, m, sizeof *wk->scratch, re_cmp_double);
        return (m % 2) ? wk->scratch[m / 2] : 0.5 * (wk->scratch[m / 2 - 1] + wk->scratch[m / 2]);
    }
    memset(wk->hist, 0, (RE_HIST_BINS + 1) * sizeof *wk->hist);
    const double per_bin = RE_HIST_BINS / RE_HIST_MAX;
    for (size_t k = 0; k < wk->n; k++) {
        if (isnan(wk->t[k]))
            continue;
        double a = fabs(wk->t[k]) * per_bin;
        size_t b = a >= RE_HIST_BINS ? RE_HIST_BINS : (size_t)a;
        wk->hist[b]++;
    }
    size_t want = (m + 1) / 2, cum = 0;
    for (size_t b = 0; b <= RE_HIST_BINS; b++) {
        cum += wk->hist[b];
        if (cum >= want)
            return ((double)b + 0.5) / per_bin;
    }
    return RE_HIST_MAX;
}

/* out = A x, where A is the matrix of the weighted ridge problem in the offsets once
 * the levels are eliminated (level_e = ybar_e - m_e, m_e the weighted mean of its
 * raters' offsets):  (A x)_r = (D_r + k) x_r - sum over r's ratings of w m_e.
 * Also leaves m (for x) in wk->m. Two passes over the ratings. */
static void re_apply(struct re_work *wk, double k, const double *x, double *out)
{
    for (size_t e = 0; e < wk->np; e++) {
        size_t a = wk->seg[e], b = wk->seg[e + 1];
        double s = 0;
        for (size_t i = a; i < b; i++)
            s += wk->w[i] * x[wk->rater[i]];
        wk->m[e] = a < b ? s / wk->wsum[e] : 0.0;
    }
    for (size_t r = 0; r < wk->np; r++)
        out[r] = (wk->dsum[r] + k) * x[r];
    for (size_t e = 0; e < wk->np; e++)
        for (size_t i = wk->seg[e]; i < wk->seg[e + 1]; i++)
            out[wk->rater[i]] -= wk->w[i] * wk->m[e];
}

static double re_dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* One IRLS step: with the weights fixed, minimise
 *     sum w (y - level - offset)^2 + k sum offset^2
 * exactly (to RE_CG_REL_TOL) by preconditioned conjugate gradients on the offsets,
 * warm-started from `offset`; then the levels. Returns the CG iterations used. */
static int re_solve_step(struct re_work *wk, double k, double *offset, double *level)
{
    const size_t np = wk->np;
    for (size_t p = 0; p < np; p++) {
        wk->dsum[p] = 0;
        wk->diag[p] = k;
        wk->rhs[p] = 0;
    }
    for (size_t e = 0; e < np; e++) {
        size_t a = wk->seg[e], b = wk->seg[e + 1];
        double sw = 0, sy = 0;
        for (size_t i = a; i < b; i++) {
            sw += wk->w[i];
            sy += wk->w[i] * wk->y[i];
        }
        wk->wsum[e] = sw;
        wk->ybar[e] = a < b ? sy / sw : 0.0;
        for (size_t i = a; i < b; i++) {
            int32_t r = wk->rater[i];
            wk->dsum[r] += wk->w[i];
            wk->diag[r] += wk->w[i] - wk->w[i] * wk->w[i] / sw;
            wk->rhs[r] += wk->w[i] * (wk->y[i] - wk->ybar[e]);
        }
    }
    /* res = rhs - A x; a rater whose row of A is 0 (every rating the ratee's only one,
     * k = 0) keeps its offset: nothing determines it */
    re_apply(wk, k, offset, wk->adir);
    for (size_t r = 0; r < np; r++) {
        wk->res[r] = wk->rhs[r] - wk->adir[r];
        wk->z[r] = wk->diag[r] > RE_TINY ? wk->res[r] / wk->diag[r] : 0.0;
        wk->dir[r] = wk->z[r];
    }
    double bnorm = sqrt(re_dot(wk->rhs, wk->rhs, np));
    double rz = re_dot(wk->res, wk->z, np);
    int it = 0;
    while (it < RE_CG_MAX_ITER && sqrt(re_dot(wk->res, wk->res, np)) > RE_CG_REL_TOL * bnorm + RE_TINY) {
        re_apply(wk, k, wk->dir, wk->adir);
        double pap = re_dot(wk->dir, wk->adir, np);
        if (!(pap > 0))
            break;
        double alpha = rz / pap;
        for (size_t r = 0; r < np; r++) {
            offset[r] += alpha * wk->dir[r];
            wk->res[r] -= alpha * wk->adir[r];
            wk->z[r] = wk->diag[r] > RE_TINY ? wk->res[r] / wk->diag[r] : 0.0;
        }
        double rz_new = re_dot(wk->res, wk->z, np);
        double beta = rz > 0 ? rz_new / rz : 0.0;
        for (size_t r = 0; r < np; r++)
            wk->dir[r] = wk->z[r] + beta * wk->dir[r];
        rz = rz_new;
        it++;
    }
    re_apply(wk, k, offset, wk->adir); /* leaves m for the final offsets */
    for (size_t e = 0; e < np; e++)
        level[e] = wk->seg[e] < wk->seg[e + 1] ? wk->ybar[e] - wk->m[e] : NAN;
    return it;
}

int rater_effects_estimate(struct rater_effects *re, const int32_t *rater, const int32_t *ratee,
                           const double *y, double shrink_k)
{
    re->errstr[0] = '\0';
    re->iterations = 0;
    re->cg_iterations = 0;
    re->converged = false;
    re->scale = RATER_EFFECTS_MIN_SCALE;
    const size_t n = re->n_ratings, np = re->n_people;
    if (!(shrink_k >= 0) || !isfinite(shrink_k)) {
        snprintf(re->errstr, sizeof re->errstr, "shrink_k: must be >= 0");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (rater[i] < 0 || (size_t)rater[i] >= np || ratee[i] < 0 || (size_t)ratee[i] >= np) {
            snprintf(re->errstr, sizeof re->errstr, "rating %zu: rater or ratee index out of range", i);
            return -1;
        }
        if (!isfinite(y[i])) {
            snprintf(re->errstr, sizeof re->errstr, "rating %zu: value is not a finite number", i);
            return -1;
        }
    }

    struct re_work wk = {.n = n, .np = np};
    if (re_work_alloc(&wk) < 0) {
        re_work_free(&wk);
        snprintf(re->errstr, sizeof re->errstr, "out of memory");
        return -1;
    }
    re_order(&wk, rater, ratee, y);

    double *level = re->level, *offset = re->offset;
    for (size_t p = 0; p < np; p++) {
        offset[p] = 0;
        level[p] = NAN;
        re->rater_n[p] = 0;
        re->rater_weight[p] = 0;
    }
    for (size_t k = 0; k < n; k++) {
        wk.w[k] = 1.0;
        re->rater_n[wk.rater[k]]++;
    }

    /* the previous step's estimate, to measure movement */
    double *old = malloc((2 * np + 1) * sizeof *old);
    if (!old) {
        re_work_free(&wk);
        snprintf(re->errstr, sizeof re->errstr, "out of memory");
        return -1;
    }
    const double c = RATER_EFFECTS_HUBER_C;
    for (int it = 1; it <= RATER_EFFECTS_MAX_ITER; it++) {
        memcpy(old, offset, np * sizeof *old);
        memcpy(old + np, level, np * sizeof *old);
        re->cg_iterations += re_solve_step(&wk, shrink_k, offset, level);
        double moved = 0;
        for (size_t p = 0; p < np; p++) {
            double d = fabs(offset[p] - old[p]);
            if (d > moved)
                moved = d;
            if (!isnan(level[p]) && !isnan(old[np + p])) {
                d = fabs(level[p] - old[np + p]);
                if (d > moved)
                    moved = d;
            }
        }

        /* standardised residuals, scale, Huber weights */
        for (size_t e = 0; e < np; e++) {
            size_t a = wk.seg[e], b = wk.seg[e + 1];
            for (size_t k = a; k < b; k++) {
                double h = wk.w[k] / wk.wsum[e];
                double r = wk.y[k] - level[e] - offset[wk.rater[k]];
                wk.t[k] = h >= RE_LEVERAGE_ONE ? NAN : r / sqrt(1.0 - h);
            }
        }
        double mad = re_median_abs(&wk);
        double scale = mad < 0 ? RATER_EFFECTS_MIN_SCALE : RATER_EFFECTS_MAD_FACTOR * mad;
        if (scale < RATER_EFFECTS_MIN_SCALE)
            scale = RATER_EFFECTS_MIN_SCALE;
        re->scale = scale;
        for (size_t k = 0; k < n; k++) {
            double at = fabs(wk.t[k]);
            wk.w[k] = (isnan(wk.t[k]) || at <= c * scale) ? 1.0 : c * scale / at;
        }
        re->iterations = it;
        if (it > 1 && moved < RATER_EFFECTS_TOL) {
            re->converged = true;
            break;
        }
    }
    free(old);

    for (size_t k = 0; k < n; k++) {
        re->weight[wk.perm[k]] = wk.w[k];
        re->rater_weight[wk.rater[k]] += wk.w[k];
    }
    re_work_free(&wk);
    return 0;
}
