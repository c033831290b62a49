/* The oil filter: each pixel takes the colour of its neighbourhood's most common lightness, the
 * intensity-mode filter of GEGL's oilify and OpenCV's xphoto::oilPainting. Where a box or domain
 * smoothing averages across an edge and makes colours no photo had, the mode keeps the colours
 * that are there (flat patches of the dominant one, edges where the majority changes), so the
 * style's colour distribution stays the photo's.
 *
 * The mode is soft, as GEGL's: each lightness bin of the (2r+1)^2 window (clamped at the
 * borders) weighs its count to the 16th power and gives its pixels' mean colour. GEGL's 8 over
 * 256 bins and OpenCV's hard mode both make flat patches with sharp joints; over 32 bins the 16th
 * power does (on the external set, against the 8th: oilify LapSWD 5.2 -> 3.9, oil-paint's 10.8
 * -> 8.3 at the same radius).
 *
 * The window slides with a histogram per column (Perreault and Hebert 2007: a row step adds one
 * row to every column's histogram and drops one, a pixel step adds one column's and drops one),
 * in integers, so each pixel's histogram is exact whatever rows a band or a thread starts at. */
#include "prog.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OIL_BINS 32   /* lightness bins (GEGL and OpenCV use 256 over windows this size and
                         larger; 32 keep a mode at the fit size's 11x11, and cost an eighth) */
#define OIL_Q 4095    /* colours summed as 12-bit integers: exact in int32 up to 2^31 / 4095
                         pixels, a window of radius OIL_MAXR */
#define OIL_MAXR 361
#define OIL_CH (4 * OIL_BINS) /* per column: the bins' counts, then their R, G, B sums */

/* The radii (fit px) natural.c tables, from a light oilify to OpenCV's oilPainting(7) */
const float ps_prog_oil_r[PS_PROG_OIL_NR] = {2, 3, 5, 7, 10};

static inline void oil_pixel(const float *s, size_t hw, size_t i, int *bin, int32_t q[3])
{
    float r = s[i], g = s[hw + i], b = s[2 * hw + i];
    float l = 0.299f * r + 0.587f * g + 0.114f * b; /* OpenCV's grey, on display values */
    int k = (int)(l * OIL_BINS);
    *bin = k < 0 ? 0 : k >= OIL_BINS ? OIL_BINS - 1 : k;
    float v[3] = {r, g, b};
    for (int c = 0; c < 3; c++) /* inline: libm's fminf and lrintf are calls */
        q[c] = (int32_t)((v[c] < 0 ? 0 : v[c] > 1 ? 1 : v[c]) * OIL_Q + 0.5f);
}

/* Row y of s added to (sign 1) or taken from (-1) every column's histogram. */
static void oil_row(const float *s, int h, int w, int y, int sign, int32_t *col)
{
    size_t hw = (size_t)h * w;
    for (int x = 0; x < w; x++) {
        int b;
        int32_t q[3];
        oil_pixel(s, hw, (size_t)y * w + x, &b, q);
        int32_t *c = col + (size_t)x * OIL_CH;
        c[b] += sign;
        for (int k = 0; k < 3; k++)
            c[(k + 1) * OIL_BINS + b] += sign * q[k];
    }
}

/* The window's colour from its histogram acc (OIL_CH) into out[3]. The counts are taken as
 * shares of the largest bin's, so that their powers stay normal floats; bins under 1/OIL_FLOOR
 * of it would weigh under 1e-14 of it and are dropped (in integers: the same bins in every
 * band). */
#define OIL_FLOOR 8
static void oil_mode(const int32_t *acc, float out[3])
{
    int32_t top = 1;
    for (int b = 0; b < OIL_BINS; b++)
        top = acc[b] > top ? acc[b] : top;
    float inv = 1.0f / (float)top, den = 0, n0 = 0, n1 = 0, n2 = 0;
    const int32_t *s0 = acc + OIL_BINS, *s1 = s0 + OIL_BINS, *s2 = s1 + OIL_BINS;
    /* in lanes (the sums' order is the loop's, the same in every band) */
#pragma omp simd reduction(+ : den, n0, n1, n2)
    for (int b = 0; b < OIL_BINS; b++) {
        float q = (float)acc[b] * inv, q2 = q * q, q4 = q2 * q2, q8 = q4 * q4;
        float u = acc[b] * OIL_FLOOR >= top ? q * q2 * q4 * q8 : 0; /* share^16 per pixel */
        den += u * (float)acc[b];
        n0 += u * (float)s0[b];
        n1 += u * (float)s1[b];
        n2 += u * (float)s2[b];
    }
    out[0] = n0 / (den * OIL_Q);
    out[1] = n1 / (den * OIL_Q);
    out[2] = n2 / (den * OIL_Q);
}

ps_status ps_prog_oil(const float *srgb, float *out, int h, int w, int r)
{
    r = r < 1 ? 1 : r > OIL_MAXR ? OIL_MAXR : r; /* a panorama tens of thousands of px long */
    size_t hw = (size_t)h * w;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        /* every column's histogram, with r + 1 columns of zeros before and r after */
        int32_t *pad = calloc((size_t)(w + 2 * r + 1) * OIL_CH, sizeof *pad), acc[OIL_CH];
        int32_t *col = pad ? pad + (size_t)(r + 1) * OIL_CH : NULL;
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int ya = (int)((long)h * t / nt), yb = (int)((long)h * (t + 1) / nt);
        if (!col)
            failed = 1;
        for (int y = ya - r; col && y < ya + r && y < h; y++) /* the first row's columns */
            if (y >= 0)
                oil_row(srgb, h, w, y, 1, col);
        for (int y = ya; col && y < yb; y++) {
            if (y + r < h)
                oil_row(srgb, h, w, y + r, 1, col);
            if (y > ya && y - r - 1 >= 0) /* the first row's columns start at y - r */
                oil_row(srgb, h, w, y - r - 1, -1, col);
            memset(acc, 0, sizeof acc);
            for (int x = 0; x < r; x++)
                for (int j = 0; j < OIL_CH; j++)
                    acc[j] += col[(size_t)x * OIL_CH + j];
            for (int x = 0; x < w; x++) { /* columns past the borders are zeros */
                const int32_t *in = col + (size_t)(x + r) * OIL_CH,
                              *gone = col + ((ptrdiff_t)x - r - 1) * OIL_CH;
#pragma omp simd
                for (int j = 0; j < OIL_CH; j++)
                    acc[j] += in[j] - gone[j];
                float c3[3];
                oil_mode(acc, c3);
                for (int k = 0; k < 3; k++)
                    out[k * hw + (size_t)y * w + x] = c3[k];
            }
        }
        free(pad);
    }
    return failed ? ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h) : PS_OK;
}
