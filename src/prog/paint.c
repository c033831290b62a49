/* The painterly stroke operators, both in the domain transform of Gastal and Oliveira (2011):
 * the distance between neighbours along a row or a column is one step plus k times their colour
 * difference, so a filter in that domain stops at edges and spreads over flat ground.
 *   paint   their recursive filter (3 iterations, spatial sigma ss, k = ss / sr), then the
 *           smoothed image's edges darkened by its gradient: flat paint, watercolour
 *   pencil  each pixel's lightness grows with how many pixels lie within a domain distance R of
 *           it along its row and its column: flat ground is paper, every change of colour a mark
 * Sizes are in fit pixels: on a photo s times the fit size a step is 1 / s of a fit pixel, while
 * a colour difference keeps its weight, so an edge is as far across at every resolution. */
#include "prog.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAINT_ITERS 3

/* The pencil runs (fit px) and edge weights natural.c tables, from short strokes to long ones
 * and from soft edges to hard (OpenCV's pencilSketch at its defaults: R = 1.5 ss = 90, k = 857) */
const float ps_prog_pen_r[PS_PROG_PEN_NR] = {12, 25, 50, 90};
const float ps_prog_pen_k[PS_PROG_PEN_NK] = {100, 250, 600, 1500};
/* paint's settings natural.c tables: from a light smoothing to OpenCV's stylization (60, 0.45)
 * and edge-preserving filter (80, 0.5), without and with dark edges */
const float ps_prog_paint_ss[PS_PROG_PAINT_NS] = {4, 8, 16, 32, 64};
const float ps_prog_paint_sr[PS_PROG_PAINT_NR] = {0.15f, 0.4f, 1.0f};
const float ps_prog_paint_e[PS_PROG_PAINT_NE] = {0, 1};

/* dx[i]: domain distance from pixel i to its right neighbour (fit px); dy[i]: to the one below. */
static void domain_steps(const float *s, int h, int w, float k, double scale, float *dx, float *dy)
{
    size_t hw = (size_t)h * w;
    float unit = (float)(1 / scale);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float ax = 0, ay = 0;
            for (int c = 0; c < 3; c++) {
                const float *p = s + c * hw + i;
                ax += x + 1 < w ? fabsf(p[1] - p[0]) : 0;
                ay += y + 1 < h ? fabsf(p[w] - p[0]) : 0;
            }
            dx[i] = unit + k * ax;
            dy[i] = unit + k * ay;
        }
}

/* One iteration's pass along every row, both ways; a^d per step in row (w floats). */
static void paint_rows(float *s, int h, int w, const float *dx, float nla, float *row, int y0,
                       int y1)
{
    size_t hw = (size_t)h * w;
    for (int y = y0; y < y1; y++) {
        const float *d = dx + (size_t)y * w;
        for (int x = 0; x + 1 < w; x++)
            row[x] = expf(nla * d[x]);
        for (int c = 0; c < 3; c++) {
            float *r = s + c * hw + (size_t)y * w;
            for (int x = 1; x < w; x++)
                r[x] += row[x - 1] * (r[x - 1] - r[x]);
            for (int x = w - 2; x >= 0; x--)
                r[x] += row[x] * (r[x + 1] - r[x]);
        }
    }
}

/* The same down columns x0..x1 and back up, a row at a time (rows are contiguous). */
static void paint_cols(float *s, int h, int w, const float *dy, float nla, float *row, int x0,
                       int x1)
{
    size_t hw = (size_t)h * w;
    for (int pass = 0; pass < 2; pass++)
        for (int j = 1; j < h; j++) {
            int y = pass ? h - 1 - j : j, from = pass ? y + 1 : y - 1;
            const float *d = dy + (size_t)(pass ? y : y - 1) * w;
            for (int x = x0; x < x1; x++)
                row[x - x0] = expf(nla * d[x]);
            for (int c = 0; c < 3; c++) {
                float *r = s + c * hw + (size_t)y * w;
                const float *q = s + c * hw + (size_t)from * w;
                for (int x = x0; x < x1; x++)
                    r[x] += row[x - x0] * (q[x] - r[x]);
            }
        }
}

#define PAINT_STRIP 256 /* columns a thread filters together */

ps_status ps_prog_paint_smooth(float *s, int h, int w, float ss, float sr, double scale)
{
    size_t hw = (size_t)h * w;
    float *dx = malloc(sizeof(float) * hw * 2);
    if (!dx)
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    float *dy = dx + hw;
    domain_steps(s, h, w, ss / sr, scale, dx, dy);
    int oom = 0;
#pragma omp parallel reduction(| : oom)
    { /* rows, then strips of columns, each a thread's: the same sums in the same order */
        float *row = malloc(sizeof(float) * (w > PAINT_STRIP ? w : PAINT_STRIP));
        oom = !row;
        for (int it = 0; it < PAINT_ITERS; it++) {
            /* the iterations' sigmas fall by halves and sum (in variance) to ss: their eq. 14 */
            double sh = ss * sqrt(3.0) * pow(2.0, PAINT_ITERS - (it + 1)) /
                        sqrt(pow(4.0, PAINT_ITERS) - 1);
            float nla = (float)(-sqrt(2.0) / sh); /* the feedback a^d = exp(d ln a), per step */
#pragma omp for schedule(static)
            for (int y = 0; y < h; y++)
                if (row)
                    paint_rows(s, h, w, dx, nla, row, y, y + 1);
#pragma omp for schedule(static)
            for (int x0 = 0; x0 < w; x0 += PAINT_STRIP)
                if (row)
                    paint_cols(s, h, w, dy, nla, row, x0, x0 + PAINT_STRIP < w ? x0 + PAINT_STRIP : w);
        }
        free(row);
    }
    free(dx);
    return oom ? ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h) : PS_OK;
}

ps_status ps_prog_paint_edges(float *s, int h, int w, float e, double scale)
{
    size_t hw = (size_t)h * w;
    int st = scale > 1.5 ? (int)(scale + 0.5) : 1; /* a fit pixel's step: lines keep their width */
    float *m = malloc(sizeof(float) * hw);
    if (!m)
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int xr = x + st < w ? x + st : w - 1, yd = y + st < h ? y + st : h - 1;
            float g = 0;
            for (int c = 0; c < 3; c++) {
                const float *p = s + c * hw;
                float gx = p[(size_t)y * w + xr] - p[i], gy = p[(size_t)yd * w + x] - p[i];
                g += sqrtf(gx * gx + gy * gy);
            }
            m[i] = g;
        }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++) {
        float f = 1 - e * m[i];
        f = f < 0 ? 0 : f;
        for (int c = 0; c < 3; c++)
            s[c * hw + i] *= f;
    }
    free(m);
    return PS_OK;
}

/* cnt[i] += the domain length (fit px) of the pixels of one line within R of pixel i: the line
 * is n pixels at stride st of cnt and d, d[j] the distance from pixel j to j + 1. */
static void pencil_line(float *cnt, const float *d, int n, size_t st, float R, float unit,
                        double *pos)
{
    pos[0] = 0;
    for (int j = 1; j < n; j++)
        pos[j] = pos[j - 1] + d[(size_t)(j - 1) * st];
    int lo = 0, hi = 0;
    for (int j = 0; j < n; j++) {
        while (pos[j] - pos[lo] > R)
            lo++;
        hi = hi < j ? j : hi;
        while (hi + 1 < n && pos[hi + 1] - pos[j] <= R)
            hi++;
        cnt[(size_t)j * st] += (float)(hi - lo + 1) * unit;
    }
}

ps_status ps_prog_pencil(const float *s, int h, int w, float R, float k, double scale, float *cnt)
{
    size_t hw = (size_t)h * w;
    int n = w > h ? w : h, oom = 0;
    float *dx = malloc(sizeof(float) * hw * 2);
    if (!dx)
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    float *dy = dx + hw, unit = (float)(1 / scale);
    domain_steps(s, h, w, k, scale, dx, dy);
    memset(cnt, 0, sizeof(float) * hw);
#pragma omp parallel reduction(| : oom)
    { /* every row, then every column (after the rows: both add to cnt) */
        double *pos = malloc(sizeof(double) * n);
        oom = !pos;
#pragma omp for schedule(static)
        for (int y = 0; y < h; y++)
            if (pos)
                pencil_line(cnt + (size_t)y * w, dx + (size_t)y * w, w, 1, R, unit, pos);
#pragma omp for schedule(static)
        for (int x = 0; x < w; x++)
            if (pos)
                pencil_line(cnt + x, dy + x, h, (size_t)w, R, unit, pos);
        free(pos);
    }
    free(dx);
    return oom ? ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h) : PS_OK;
}

/* Each channel of s (n values in [0, 1]) takes, by the share r, the value of ref's distribution
 * at its own rank (histogram matching, 4096 levels): smoothing keeps its shapes but gives the
 * colours their spread back, as a mode filter keeps a region's colour. */
ps_status ps_prog_paint_restore(float *s, const float *ref, size_t n, float r)
{
    enum { NB = 4096 };
    double *hs = calloc(2 * NB, sizeof *hs);
    float *map = malloc(sizeof(float) * NB);
    if (!hs || !map) {
        free(hs);
        free(map);
        return ps_fail(PS_EINTERNAL, "apply: out of memory");
    }
    double *hr = hs + NB;
    for (int c = 0; c < 3; c++) {
        float *a = s + c * n;
        const float *b = ref + c * n;
        memset(hs, 0, sizeof(double) * 2 * NB);
        for (size_t i = 0; i < n; i++) {
            int x = (int)(a[i] * (NB - 1) + 0.5f), y = (int)(b[i] * (NB - 1) + 0.5f);
            hs[x < 0 ? 0 : x >= NB ? NB - 1 : x] += 1;
            hr[y < 0 ? 0 : y >= NB ? NB - 1 : y] += 1;
        }
        double ca = 0, cb = 0;
        for (int x = 0, y = 0; x < NB; x++) { /* the middle of bin x's rank range in ref */
            double mid = ca + hs[x] / 2;
            ca += hs[x];
            while (y < NB - 1 && cb + hr[y] < mid)
                cb += hr[y++];
            map[x] = (float)y / (NB - 1);
        }
        for (size_t i = 0; i < n; i++) {
            int x = (int)(a[i] * (NB - 1) + 0.5f);
            a[i] += r * (map[x < 0 ? 0 : x >= NB ? NB - 1 : x] - a[i]);
        }
    }
    free(hs);
    free(map);
    return PS_OK;
}
