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

/* dx[i]: domain distance from pixel i to its right neighbour (fit px); dy[i]: to the one below. */
static void domain_steps(const float *s, int h, int w, float k, double scale, float *dx, float *dy)
{
    size_t hw = (size_t)h * w;
    float unit = (float)(1 / scale);
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

ps_status ps_prog_paint_smooth(float *s, int h, int w, float ss, float sr, double scale)
{
    size_t hw = (size_t)h * w;
    float *dx = malloc(sizeof(float) * hw * 2), *row = malloc(sizeof(float) * w);
    if (!dx || !row) {
        free(dx);
        free(row);
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    }
    float *dy = dx + hw;
    domain_steps(s, h, w, ss / sr, scale, dx, dy);
    for (int it = 0; it < PAINT_ITERS; it++) {
        /* the iterations' sigmas fall by halves and sum (in variance) to ss: their eq. 14 */
        double sh = ss * sqrt(3.0) * pow(2.0, PAINT_ITERS - (it + 1)) /
                    sqrt(pow(4.0, PAINT_ITERS) - 1);
        float nla = (float)(-sqrt(2.0) / sh); /* V = a^d = exp(d ln a) */
        for (int c = 0; c < 3; c++) {
            float *p = s + c * hw;
            for (int y = 0; y < h; y++) { /* along the row, both ways */
                float *r = p + (size_t)y * w;
                const float *d = dx + (size_t)y * w;
                for (int x = 0; x + 1 < w; x++)
                    row[x] = expf(nla * d[x]);
                for (int x = 1; x < w; x++)
                    r[x] += row[x - 1] * (r[x - 1] - r[x]);
                for (int x = w - 2; x >= 0; x--)
                    r[x] += row[x] * (r[x + 1] - r[x]);
            }
        }
        for (int c = 0; c < 3; c++) { /* down the columns, a row at a time (vectorises) */
            float *p = s + c * hw;
            for (int y = 1; y < h; y++) {
                float *r = p + (size_t)y * w;
                const float *d = dy + (size_t)(y - 1) * w;
                for (int x = 0; x < w; x++)
                    r[x] += expf(nla * d[x]) * (r[x - w] - r[x]);
            }
            for (int y = h - 2; y >= 0; y--) {
                float *r = p + (size_t)y * w;
                const float *d = dy + (size_t)y * w;
                for (int x = 0; x < w; x++)
                    r[x] += expf(nla * d[x]) * (r[x + w] - r[x]);
            }
        }
    }
    free(dx);
    free(row);
    return PS_OK;
}

ps_status ps_prog_paint_edges(float *s, int h, int w, float e, double scale)
{
    size_t hw = (size_t)h * w;
    int st = scale > 1.5 ? (int)(scale + 0.5) : 1; /* a fit pixel's step: lines keep their width */
    float *m = malloc(sizeof(float) * hw);
    if (!m)
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
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
    int n = w > h ? w : h;
    float *dx = malloc(sizeof(float) * hw * 2);
    double *pos = malloc(sizeof(double) * n);
    if (!dx || !pos) {
        free(dx);
        free(pos);
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    }
    float *dy = dx + hw, unit = (float)(1 / scale);
    domain_steps(s, h, w, k, scale, dx, dy);
    memset(cnt, 0, sizeof(float) * hw);
    for (int y = 0; y < h; y++)
        pencil_line(cnt + (size_t)y * w, dx + (size_t)y * w, w, 1, R, unit, pos);
    for (int x = 0; x < w; x++)
        pencil_line(cnt + x, dy + x, h, (size_t)w, R, unit, pos);
    free(dx);
    free(pos);
    return PS_OK;
}
