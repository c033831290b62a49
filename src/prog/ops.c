/* The style program's operators at full resolution, in sRGB display planes, each group scaled
 * by its dial. Sizes learned at the fit resolution scale with the photo's long side, so dots,
 * cells and grain have the samples' size relative to the picture, never upsampled. */
#include "prog.h"
#include "src/feat/feat.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAT_EPS 0.01f /* guided filter: variance below (0.1)^2 is detail, above is an edge */

#define PAINT_RESTORE 0.75f /* paint gives its colours this much of their spread back: on the
                               external set 0, 0.5, 0.75, 1 gave 2, 4, 4, 3 of watercolour,
                               oil paint, oilify, flat paint, photocopy, cartoon */

const float ps_prog_flat_radii[6] = {1, 2, 3, 5, 8, 12};

/* Box mean of radius r (clamped window) of n = h*w plane src into dst, O(1) per pixel; dst may
 * be src (the rows go to tmp before any of dst is written). */
#define BOX_STRIP 256 /* columns a thread keeps running sums for in the vertical pass */

void ps_prog_box(float *dst, const float *src, int h, int w, int r, float *tmp)
{
#pragma omp parallel for schedule(static) /* rows, then strips of columns: each its own sums */
    for (int y = 0; y < h; y++) {
        const float *s = src + (size_t)y * w;
        float *t = tmp + (size_t)y * w;
        double acc = 0;
        int lo = 0, hi = -1;
        for (int x = 0; x < w; x++) {
            int a = x - r < 0 ? 0 : x - r, b = x + r >= w ? w - 1 : x + r;
            while (hi < b)
                acc += s[++hi];
            while (lo < a)
                acc -= s[lo++];
            t[x] = (float)(acc / (b - a + 1));
        }
    }
    double *col = calloc((size_t)w, sizeof *col);
    if (!col) { /* degrade to the horizontal pass alone rather than fail mid-image */
        memcpy(dst, tmp, sizeof(float) * h * w);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int x0 = 0; x0 < w; x0 += BOX_STRIP) {
        int x1 = x0 + BOX_STRIP < w ? x0 + BOX_STRIP : w, lo = 0, hi = -1;
        for (int y = 0; y < h; y++) {
            int a = y - r < 0 ? 0 : y - r, b = y + r >= h ? h - 1 : y + r;
            while (hi < b) {
                hi++;
                for (int x = x0; x < x1; x++)
                    col[x] += tmp[(size_t)hi * w + x];
            }
            while (lo < a) {
                for (int x = x0; x < x1; x++)
                    col[x] -= tmp[(size_t)lo * w + x];
                lo++;
            }
            for (int x = x0; x < x1; x++)
                dst[(size_t)y * w + x] = (float)(col[x] / (b - a + 1));
        }
    }
    free(col);
}

/* Self-guided filter (He, Sun, Tang 2010) per channel, in three planes: the box filter may
 * write over its source, so the means become the coefficients where they lie. */
void ps_prog_flatten(float *srgb, int h, int w, int r)
{
    size_t hw = (size_t)h * w;
    float *mi = malloc(sizeof(float) * hw * 3);
    if (!mi)
        return;
    float *mii = mi + hw, *tmp = mi + 2 * hw;
    for (int c = 0; c < 3; c++) {
        float *I = srgb + c * hw;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < hw; i++)
            mii[i] = I[i] * I[i];
        ps_prog_box(mi, I, h, w, r, tmp);
        ps_prog_box(mii, mii, h, w, r, tmp);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < hw; i++) {
            float var = mii[i] - mi[i] * mi[i], a = var / (var + FLAT_EPS);
            mii[i] = mi[i] - a * mi[i]; /* b */
            mi[i] = a;
        }
        ps_prog_box(mi, mi, h, w, r, tmp);
        ps_prog_box(mii, mii, h, w, r, tmp);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < hw; i++)
            I[i] = mi[i] * I[i] + mii[i];
    }
    free(mi);
}

/* ---- colour ------------------------------------------------------------------------------- */
/* Piecewise-linear monotone map through (x[i], y[i]), continued at the end slopes. */
static double pwl(double v, const double *x, const double *y, int n)
{
    int i = 0;
    while (i < n - 2 && v > x[i + 1])
        i++;
    double dx = x[i + 1] - x[i];
    return dx > 1e-9 ? y[i] + (v - x[i]) * (y[i + 1] - y[i]) / dx : y[i];
}

/* The band curves of a and b at lightness L: linear between band centres. */
static void band(const double va[PS_PROG_NB], const double vb[PS_PROG_NB], double L, double *a,
                 double *b)
{
    double s = L / 100.0 * PS_PROG_NB - 0.5;
    if (s <= 0 || s >= PS_PROG_NB - 1) {
        int i = s <= 0 ? 0 : PS_PROG_NB - 1;
        *a = va[i];
        *b = vb[i];
        return;
    }
    int i = (int)s;
    double f = s - i;
    *a = va[i] + f * (va[i + 1] - va[i]);
    *b = vb[i] + f * (vb[i + 1] - vb[i]);
}

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int nearest(const ps_prog *p, const double lab[3])
{
    int best = 0;
    double bd = 1e30;
    for (int j = 0; j < p->npal; j++) {
        double d = 0;
        for (int c = 0; c < 3; c++)
            d += (lab[c] - p->pal[j][c]) * (lab[c] - p->pal[j][c]);
        if (d < bd) {
            bd = d;
            best = j;
        }
    }
    return best;
}

void ps_prog_lab(const float *s, size_t hw, size_t i, double lab[3])
{
    float lin[3] = {ps_srgb_to_linear_fast(s[i]), ps_srgb_to_linear_fast(s[hw + i]),
                    ps_srgb_to_linear_fast(s[2 * hw + i])};
    ps_feat_rgb_to_lab(lin, lab);
}

/* CIE L* of display pixel i of planar s. */
static float lightness(const float *s, size_t hw, size_t i)
{
    float lin[3] = {ps_srgb_to_linear_fast(s[i]), ps_srgb_to_linear_fast(s[hw + i]),
                    ps_srgb_to_linear_fast(s[2 * hw + i])};
    return ps_feat_lightness_fast(lin);
}

static void put_lab(float *s, size_t hw, size_t i, const double lab[3])
{
    float lin[3];
    ps_feat_lab_to_rgb(lab, lin);
    for (int c = 0; c < 3; c++)
        s[c * hw + i] = ps_linear_to_srgb_fast(lin[c]);
}

/* The error a dither carries from row to row: win's, which goes on from the band above, or a
 * fresh one for a whole photo (*own: free it). */
static double *dither_err(const ps_prog_win *win, int w, int *own)
{
    *own = !win->dither_err;
    return win->dither_err ? win->dither_err : calloc(PS_PROG_DITHER_ERR(w), sizeof(double));
}

/* Each channel to its nearest level, with optional Floyd-Steinberg error diffusion per
 * channel, blended by weight t. The error diffuses over the window's kept rows, in order. */
static ps_status levels(const ps_prog *p, float *s, int h, int w, float t, const ps_prog_win *win)
{
    size_t hw = (size_t)h * w;
    int own = 0;
    double *err_all = p->dither ? dither_err(win, w, &own) : NULL;
    if (p->dither && !err_all)
        return ps_fail(PS_EINTERNAL, "apply: out of memory");
    int ya = err_all ? win->k0 : 0, yb = err_all ? win->k1 : h;
    /* threads take the channels when the error diffuses (its rows go in order), else the rows */
#pragma omp parallel for schedule(static) if (err_all)
    for (int c = 0; c < 3; c++) {
        const float *lv = p->lev[c];
        double *err = err_all ? err_all + (size_t)c * 2 * (w + 2) : NULL;
#pragma omp parallel for schedule(static) if (!err_all)
        for (int y = ya; y < yb; y++) {
            int py = win->y0 + y; /* the photo's row: its parity picks the error row */
            double *cur = err ? err + (size_t)(py & 1) * (w + 2) : NULL;
            double *nxt = err ? err + (size_t)((py + 1) & 1) * (w + 2) : NULL;
            if (nxt)
                memset(nxt, 0, sizeof(double) * (w + 2));
            for (int x = 0; x < w; x++) {
                float *v = &s[c * hw + (size_t)y * w + x];
                double want = *v + (cur ? cur[x + 1] : 0);
                int j = 0;
                while (j < p->nlev[c] - 1 && fabs(lv[j + 1] - want) < fabs(lv[j] - want))
                    j++;
                if (cur) {
                    double e = want - lv[j];
                    cur[x + 2] += e * 7 / 16;
                    nxt[x] += e * 3 / 16;
                    nxt[x + 1] += e * 5 / 16;
                    nxt[x + 2] += e * 1 / 16;
                }
                *v += t * (lv[j] - *v);
            }
        }
    }
    if (own)
        free(err_all);
    return PS_OK;
}

/* Palette with optional Floyd-Steinberg error diffusion in Lab, blended by weight t; the error
 * diffuses as in levels. */
static ps_status palette(const ps_prog *p, float *s, int h, int w, float t, const ps_prog_win *win)
{
    if (p->nlev[0] > 0)
        return levels(p, s, h, w, t, win);
    size_t hw = (size_t)h * w;
    int own = 0;
    double *err = p->dither ? dither_err(win, w, &own) : NULL;
    if (p->dither && !err)
        return ps_fail(PS_EINTERNAL, "apply: out of memory");
    int ya = err ? win->k0 : 0, yb = err ? win->k1 : h;
#pragma omp parallel for schedule(static) if (!err) /* the error diffuses in row order */
    for (int y = ya; y < yb; y++) {
        int py = win->y0 + y;
        double *cur = err ? err + (size_t)(py & 1) * 3 * (w + 2) : NULL;
        double *nxt = err ? err + (size_t)((py + 1) & 1) * 3 * (w + 2) : NULL;
        if (nxt)
            memset(nxt, 0, sizeof(double) * 3 * (w + 2));
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double lab[3], want[3];
            ps_prog_lab(s, hw, i, lab);
            for (int c = 0; c < 3; c++)
                want[c] = lab[c] + (cur ? cur[3 * (x + 1) + c] : 0);
            const float *q = p->pal[nearest(p, want)];
            if (cur)
                for (int c = 0; c < 3; c++) {
                    double e = want[c] - q[c];
                    cur[3 * (x + 2) + c] += e * 7 / 16;
                    nxt[3 * x + c] += e * 3 / 16;
                    nxt[3 * (x + 1) + c] += e * 5 / 16;
                    nxt[3 * (x + 2) + c] += e * 1 / 16;
                }
            for (int c = 0; c < 3; c++)
                lab[c] += t * (q[c] - lab[c]);
            put_lab(s, hw, i, lab);
        }
    }
    if (own)
        free(err);
    return PS_OK;
}

/* Hue rotation, tone curve and band chroma, weights already folded into the gates: a function
 * of the display colour alone. */
typedef struct {
    double x[PS_PROG_NQ + 2], y[PS_PROG_NQ + 2]; /* tone curve knots */
    double na[PS_PROG_NB], nb[PS_PROG_NB];        /* natural band colour */
    double ta[PS_PROG_NB], tb[PS_PROG_NB];        /* ... moved gc toward the samples' */
    double cr, sr, beta;
    int hue, tone;
} grade_ctx;

static void grade_init(grade_ctx *g, const ps_prog *p, float gh, float gt, float gc, float gb)
{
    const ps_prog_natural *nat = &ps_prog_nat;
    double rot = gh * p->hue_deg * (M_PI / 180);
    g->cr = cos(rot);
    g->sr = sin(rot);
    g->hue = gh > 0;
    g->tone = gt > 0;
    g->x[0] = 0;
    for (int q = 0; q < PS_PROG_NQ; q++) {
        g->x[q + 1] = nat->lq[q];
        g->y[q + 1] = nat->lq[q] + gt * (p->tone_q[q] - nat->lq[q]);
    }
    g->x[PS_PROG_NQ + 1] = 100;
    g->y[PS_PROG_NQ + 1] = 100 + gt * (g->y[PS_PROG_NQ] - g->x[PS_PROG_NQ]);
    /* the ends follow the outer quantiles' shift, so a lifted black stays lifted */
    g->y[0] = gt * (g->y[1] - g->x[1]);
    for (int b = 0; b < PS_PROG_NB; b++) {
        g->na[b] = nat->cab[b][0];
        g->nb[b] = nat->cab[b][1];
        g->ta[b] = g->na[b] + gc * (p->cab[b][0] - g->na[b]);
        g->tb[b] = g->nb[b] + gc * (p->cab[b][1] - g->nb[b]);
    }
    g->beta = pow(fmax(p->beta, 1e-3), gb);
}

/* One display colour through the grade. */
static void grade_px(const grade_ctx *g, const float in[3], float out[3])
{
    float lin[3] = {ps_srgb_to_linear_fast(in[0]), ps_srgb_to_linear_fast(in[1]),
                    ps_srgb_to_linear_fast(in[2])};
    double lab[3];
    ps_feat_rgb_to_lab(lin, lab);
    if (g->hue) {
        double a = lab[1];
        lab[1] = g->cr * a - g->sr * lab[2];
        lab[2] = g->sr * a + g->cr * lab[2];
    }
    double L = lab[0], L2 = g->tone ? pwl(L, g->x, g->y, PS_PROG_NQ + 2) : L;
    L2 = L2 < 0 ? 0 : L2 > 100 ? 100 : L2;
    double a2, b2, a1, b1;
    band(g->ta, g->tb, L2, &a2, &b2);
    band(g->na, g->nb, L, &a1, &b1);
    lab[1] = a2 + g->beta * (lab[1] - a1);
    lab[2] = b2 + g->beta * (lab[2] - b1);
    lab[0] = L2;
    ps_feat_lab_to_rgb(lab, lin);
    for (int c = 0; c < 3; c++)
        out[c] = ps_linear_to_srgb_fast(lin[c]);
}

/* Large photos read the grade from a GRADE_N^3 table over display RGB by tetrahedral
 * interpolation (the colour-LUT standard: exact on the grey axis and at every node), so each
 * pixel costs a few multiplies instead of a trip through CIELAB and back (150 ns). At 65 nodes
 * a strong grade stays within 2/255 of the exact one, 0.007/255 on average (test_prog); at 33,
 * 3.3/255 (the tone curve's knots and the gamut's clip are kinks, so the error falls with the
 * spacing, not its square). The table costs GRADE_N^3 exact pixels, so only photos of
 * GRADE_TABLE_MIN times that (0.55 MP) use it: at 1 MP, table and lookups take a third of the
 * exact grade's time. */
#define GRADE_N 65
#define GRADE_TABLE_MIN 2

static void grade_table(const grade_ctx *g, float *lut)
{
#pragma omp parallel for schedule(static)
    for (int r = 0; r < GRADE_N; r++)
        for (int gg = 0; gg < GRADE_N; gg++)
            for (int b = 0; b < GRADE_N; b++) {
                float in[3] = {(float)r / (GRADE_N - 1), (float)gg / (GRADE_N - 1),
                               (float)b / (GRADE_N - 1)};
                grade_px(g, in, lut + 3 * (((size_t)r * GRADE_N + gg) * GRADE_N + b));
            }
}

static void grade_lookup(const float *lut, const float in[3], float out[3])
{
    float f[3];
    int i[3];
    for (int c = 0; c < 3; c++) {
        float v = in[c] > 0 ? (in[c] < 1 ? in[c] : 1) : 0;
        v *= GRADE_N - 1;
        i[c] = (int)v < GRADE_N - 1 ? (int)v : GRADE_N - 2;
        f[c] = v - i[c];
    }
    const size_t sr = 3 * GRADE_N * GRADE_N, sg = 3 * GRADE_N, sb = 3;
    const float *p0 = lut + i[0] * sr + i[1] * sg + i[2] * sb;
    /* the tetrahedron of the cube that holds the point: walk from corner 000 to 111 along the
     * axes in decreasing order of their fractions */
    const size_t st[3] = {sr, sg, sb};
    int a[3] = {0, 1, 2};
    for (int j = 1; j < 3; j++) /* insertion sort, descending */
        for (int k = j; k > 0 && f[a[k]] > f[a[k - 1]]; k--) {
            int t = a[k];
            a[k] = a[k - 1], a[k - 1] = t;
        }
    size_t s1 = st[a[0]], s2 = s1 + st[a[1]];
    float w1 = f[a[0]], w2 = f[a[1]], w3 = f[a[2]];
    const float *p1 = p0 + s1, *p2 = p0 + s2, *p3 = p0 + sr + sg + sb;
    for (int c = 0; c < 3; c++)
        out[c] = p0[c] + w1 * (p1[c] - p0[c]) + w2 * (p2[c] - p1[c]) + w3 * (p3[c] - p2[c]);
}

/* The grade's gains at d: hue, tone, band colour, chroma. */
static void grade_gains(const ps_prog *p, const ps_dials *d, float g[4])
{
    g[0] = d->color * p->hue_g, g[1] = d->color * p->tone_g;
    g[2] = d->color * p->chroma_g, g[3] = d->color * p->beta_g;
}

float *ps_prog__grade_lut(const ps_prog *p, const ps_dials *d, size_t n, ps_status *st)
{
    *st = PS_OK;
    if (n < (size_t)GRADE_TABLE_MIN * GRADE_N * GRADE_N * GRADE_N || !(d->color > 0) ||
        !ps_prog_group_on(p, PS_COLOR) || p->pal_g > 0)
        return NULL;
    float *lut = malloc(sizeof(float) * 3 * GRADE_N * GRADE_N * GRADE_N), g[4];
    if (!lut) {
        *st = ps_fail(PS_EINTERNAL, "apply: out of memory for the colour table");
        return NULL;
    }
    grade_gains(p, d, g);
    grade_ctx c;
    grade_init(&c, p, g[0], g[1], g[2], g[3]);
    grade_table(&c, lut);
    return lut;
}

/* The grade on s, from lut (ps_prog__grade_lut for the photo) or, where it is NULL, exact. */
static void grade(const ps_prog *p, const ps_dials *d, float *s, int h, int w, const float *lut)
{
    size_t hw = (size_t)h * w;
    float g[4];
    grade_gains(p, d, g);
    grade_ctx c;
    grade_init(&c, p, g[0], g[1], g[2], g[3]);
#pragma omp parallel for schedule(static) /* each pixel by itself: the same result at any count */
    for (size_t i = 0; i < hw; i++) {
        float in[3] = {s[i], s[hw + i], s[2 * hw + i]}, out[3];
        if (lut)
            grade_lookup(lut, in, out);
        else
            grade_px(&c, in, out);
        for (int k = 0; k < 3; k++)
            s[k * hw + i] = out[k];
    }
}

/* ---- texture ------------------------------------------------------------------------------ */
/* Blocks of side b on the photo's grid; s holds its rows y0 .. y0 + h. */
static void cells(float *s, int h, int w, int y0, int b, float t)
{
    size_t hw = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (int by = -(y0 % b); by < h; by += b)
            for (int bx = 0; bx < w; bx += b) {
                int sy = by > 0 ? by : 0, ey = by + b < h ? by + b : h, ex = bx + b < w ? bx + b : w;
                double m = 0;
                for (int y = sy; y < ey; y++)
                    for (int x = bx; x < ex; x++)
                        m += s[c * hw + (size_t)y * w + x];
                m /= (double)(ey - sy) * (ex - bx);
                for (int y = sy; y < ey; y++)
                    for (int x = bx; x < ex; x++) {
                        float *v = &s[c * hw + (size_t)y * w + x];
                        *v += t * ((float)m - *v);
                    }
            }
}

uint64_t ps_prog_splitmix(uint64_t key)
{
    uint64_t z = key + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Deterministic standard normal for (cell, channel): a hashed pick from a table of 2^16 normals
 * (Box-Muller once; its log and cos per pixel were most of the grain's time). */
#define GAUSS_BITS 16
static float gauss_tab[1 << GAUSS_BITS];
static pthread_once_t gauss_once = PTHREAD_ONCE_INIT;

static void gauss_init(void)
{
    for (uint64_t i = 0; i < (1u << GAUSS_BITS); i++) {
        uint64_t z = ps_prog_splitmix(i);
        double u1 = ((z >> 11) + 0.5) / 9007199254740992.0, u2 = ((z & 0x7ff) + 0.5) / 2048.0;
        gauss_tab[i] = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
    }
}

static inline float gauss(uint64_t key)
{
    return gauss_tab[ps_prog_splitmix(key) >> (64 - GAUSS_BITS)];
}

static void texture(const ps_prog *p, float *s, int h, int w, int y0, double scale, float t)
{
    size_t hw = (size_t)h * w;
    int cell = scale > 1.5 ? (int)(scale + 0.5) : 1;
    float gs = t * p->grain_g, ss = t * p->screen_g, mono = p->grain_mono;
    if (gs > 0)
        pthread_once(&gauss_once, gauss_init);
#pragma omp parallel for schedule(static) /* grain is hashed from each pixel's place */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int py = y0 + y; /* the photo's row */
            uint64_t key = ((uint64_t)(py / cell) << 32 | (uint32_t)(x / cell)) * 4;
            float gm = gs > 0 && mono > 0 ? gauss(key + 3) : 0;
            for (int c = 0; c < 3; c++) {
                float v = s[c * hw + i];
                if (ss > 0)
                    v += ss * p->screen[c][(int)(py / scale) % p->screen_h]
                                        [(int)(x / scale) % p->screen_w];
                if (gs > 0)
                    v += gs * p->grain_sigma[c] *
                         (mono * gm + (mono < 1 ? (1 - mono) * gauss(key + c) : 0));
                s[c * hw + i] = clamp01(v);
            }
        }
}

/* ---- ink ---------------------------------------------------------------------------------- */
#define INK_MAX 64.0 /* Lab L below the surroundings; past this every mark is ink anyway */

/* mark[i]: how much darker pixel i is than its surroundings (mean over radius r) in srgb, in
 * Lab L, read before the colour group changes them. */
static ps_status ink_dark(const float *s, int h, int w, int r, float *mark)
{
    size_t hw = (size_t)h * w;
    float *L = malloc(sizeof(float) * hw * 2);
    if (!L)
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    float *tmp = L + hw;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++)
        L[i] = lightness(s, hw, i);
    ps_prog_box(mark, L, h, w, r, tmp); /* the surroundings' mean, then how much darker */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++)
        mark[i] -= L[i];
    free(L);
    return PS_OK;
}

/* hist (PS_PROG_INK_BINS) counts the n marks of mark by how much darker they are. */
static void ink_count(const float *mark, size_t n, double *hist)
{
    for (size_t i = 0; i < n; i++) {
        double d = mark[i];
        if (d > 0) {
            int b = (int)(d / INK_MAX * PS_PROG_INK_BINS);
            hist[b < PS_PROG_INK_BINS ? b : PS_PROG_INK_BINS - 1] += 1;
        }
    }
}

double ps_prog__ink_threshold(const double *hist, double share, double n)
{
    double above = 0;
    for (int b = PS_PROG_INK_BINS - 1; b >= 0; b--) {
        above += hist[b];
        if (above >= share * n)
            return (b + 0.5) * INK_MAX / PS_PROG_INK_BINS;
    }
    return INK_MAX;
}

/* mark[i] in [0, 1]: how much pixel i is among the marks past threshold t, a soft step of 2 L
 * around it. */
static void ink_soft(float *mark, size_t hw, double t)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++) {
        float v = (mark[i] - (float)t) / 2.0f + 0.5f;
        mark[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
}

/* Ink of lightness ink_L (neutral) over the marked pixels, by weight t. */
static void ink_put(float *s, int h, int w, const float *mark, float ink_L, float t)
{
    size_t hw = (size_t)h * w;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++) {
        float k = t * mark[i];
        if (k <= 0)
            continue;
        double lab[3];
        ps_prog_lab(s, hw, i, lab);
        if (lab[0] > ink_L)
            lab[0] += k * (ink_L - lab[0]);
        lab[1] *= 1 - fmin(k, 1);
        lab[2] *= 1 - fmin(k, 1);
        put_lab(s, hw, i, lab);
    }
}

/* ---- sketch ------------------------------------------------------------------------------- */
#define SK_FLAT 3.0 /* darkness (percent) that makes a mark, not paper's grain */
#define SK_EPS 10.0 /* Lab L added to the surroundings: black's noise is no mark */

ps_status ps_prog_darkness(const float *s, int h, int w, int r, float *d)
{
    size_t hw = (size_t)h * w;
    float *L = calloc(hw * 5, sizeof(float)); /* calloc: GCC cannot see the loop fills it */
    if (!L)
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    float *tmp = L + hw, *f = L + 2 * hw;
    memcpy(f, s, sizeof(float) * 3 * hw);
    ps_prog_flatten(f, h, w, r / 2 > 1 ? r / 2 : 1);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++)
        L[i] = lightness(f, hw, i);
    ps_prog_box(d, L, h, w, r, tmp);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < hw; i++) /* relative: dark ground shows its marks too, as dodge does */
        d[i] = 100 * (d[i] - L[i]) / (d[i] + SK_EPS);
    free(L);
    return PS_OK;
}

/* The share of natural pixels darker (ps_prog_darkness) than d: linear between the table's. */
static double natural_rank(double d)
{
    const double *nd = ps_prog_nat.sk_d;
    const float *at = ps_prog_sketch_at;
    if (d >= nd[0])
        return at[0] * nd[0] / d;
    int j = 1; /* nd falls with j */
    while (j < PS_PROG_NSK - 1 && d < nd[j])
        j++;
    double f = (nd[j - 1] - d) / fmax(nd[j - 1] - nd[j], 1e-9);
    return at[j - 1] + (f > 1 ? 1 : f) * (at[j] - at[j - 1]);
}

/* Marks on paper: a pixel at least SK_FLAT % darker than its surroundings is a mark; marks as dark
 * as the darkest share u of natural photos' marks take the samples' lightness at that share of
 * their marks, so the photo's own contrast decides how many marks it gets. Everything else is
 * paper; colour fades with the paper. */
static ps_status sketch(const ps_prog *p, float *s, int h, int w, int r, float t)
{
    size_t hw = (size_t)h * w;
    float *d = malloc(sizeof(float) * hw);
    ps_status st = d ? ps_prog_darkness(s, h, w, r, d)
                     : ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    const float *q = p->sketch_q, *at = ps_prog_sketch_at;
    double paper = q[PS_PROG_NSK - 1], mid = q[6], u_flat = natural_rank(SK_FLAT);
    size_t n = st ? 0 : hw;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        double Ls = paper;
        if (d[i] >= SK_FLAT) {
            double u = natural_rank(d[i]) / u_flat * p->sketch_marks;
            int j = 0;
            while (j < PS_PROG_NSK - 1 && u > at[j + 1])
                j++;
            Ls = u <= at[0] ? q[0]
                 : j == PS_PROG_NSK - 1
                     ? q[j]
                     : q[j] + (u - at[j]) / (at[j + 1] - at[j]) * (q[j + 1] - q[j]);
        }
        double lab[3];
        ps_prog_lab(s, hw, i, lab);
        double keep = (paper - Ls) / fmax(paper - mid, 1);
        keep = keep < 0 ? 0 : keep > 1 ? 1 : keep;
        lab[0] += t * (Ls - lab[0]);
        lab[1] *= 1 + t * (keep - 1);
        lab[2] *= 1 + t * (keep - 1);
        put_lab(s, hw, i, lab);
    }
    free(d);
    return st;
}

/* ---- pencil ------------------------------------------------------------------------------- */
/* The luma (BT.601, as YCrCb has it) becomes the pencil's lightness; each channel keeps its
 * difference from the luma by the share pencil_keep (1: coloured pencil, 0: graphite). */
static ps_status pencil(const ps_prog *p, float *s, int h, int w, double scale, float t)
{
    size_t hw = (size_t)h * w;
    float *cnt = malloc(sizeof(float) * hw);
    ps_status st = cnt ? ps_prog_pencil(s, h, w, p->pencil_r, p->pencil_k, scale, cnt)
                       : ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    for (size_t i = 0; i < hw && !st; i++) {
        float *r = s + i, *g = s + hw + i, *b = s + 2 * hw + i;
        float Y = 0.299f * *r + 0.587f * *g + 0.114f * *b, Yp = fminf(p->pencil_shade * cnt[i], 1);
        for (float *v = r; v <= b; v += hw)
            *v += t * (clamp01(Yp + p->pencil_keep * (*v - Y)) - *v);
    }
    free(cnt);
    return st;
}

int ps_prog_group_on(const ps_prog *p, int group)
{
    switch (group) {
    case 0:
        return p->hue_g > 0 || p->tone_g > 0 || p->chroma_g > 0 || p->beta_g > 0 || p->pal_g > 0;
    case 1:
        return p->cell_g > 0 || p->screen_g > 0 || p->grain_g > 0 || p->ht_g > 0 ||
               p->tile_g > 0;
    default:
        return p->flat_g > 0 || p->ink_g > 0 || p->sketch_g > 0 || p->paint_g > 0 ||
               p->pencil_g > 0 || p->oil_g > 0;
    }
}

static int stroke_on(const ps_prog *p, const ps_dials *d, float g)
{
    return d->stroke > 0 && g > 0 && ps_prog_group_on(p, PS_STROKE);
}

/* The operators' sizes in pixels of a ph x pw photo: the fit's scaled by its long side. */
typedef struct {
    double scale;
    int r4, flat, cell, oil; /* the ink's and sketch's surroundings, the flattening, the blocks,
                                the oil filter's window */
} op_sizes;

static op_sizes sizes_of(const ps_prog *p, int ph, int pw)
{
    op_sizes z;
    z.scale = (double)(pw > ph ? pw : ph) / (p->fit_px > 0 ? p->fit_px : PS_PROG_FIT_PX);
    z.r4 = (int)(4 * z.scale + 0.5);
    z.flat = (int)(p->flat_r * z.scale + 0.5);
    z.cell = (int)(p->cell * z.scale + 0.5);
    z.oil = (int)(p->oil_r * z.scale + 0.5);
    z.r4 = z.r4 < 1 ? 1 : z.r4, z.flat = z.flat < 1 ? 1 : z.flat, z.cell = z.cell < 1 ? 1 : z.cell;
    z.oil = z.oil < 1 ? 1 : z.oil;
    return z;
}

int ps_prog__reach(const ps_prog *p, const ps_dials *d, int ph, int pw)
{
    const op_sizes z = sizes_of(p, ph, pw);
    int tex = d->texture > 0 && ps_prog_group_on(p, PS_TEXTURE);
    int col = d->color > 0 && ps_prog_group_on(p, PS_COLOR);
    /* paint's and pencil's recursions run along whole rows and columns; a dither's error goes
     * on from band to band, over the rows kept alone, so nothing after it may read the rows
     * around them (tiles) */
    if (stroke_on(p, d, p->paint_g) || stroke_on(p, d, p->pencil_g) ||
        (col && p->pal_g > 0 && p->dither && tex && p->tile_g > 0))
        return -1;
    int reach = 0;
    if (stroke_on(p, d, p->flat_g))
        reach += 2 * z.flat; /* two box means */
    if (stroke_on(p, d, p->oil_g))
        reach += z.oil;
    if (stroke_on(p, d, p->sketch_g)) /* ps_prog_darkness: a flattening, then a box mean */
        reach += 2 * (z.r4 / 2 > 1 ? z.r4 / 2 : 1) + z.r4;
    if (stroke_on(p, d, p->ink_g))
        reach += z.r4;
    if (tex && p->cell_g > 0)
        reach += z.cell;
    if (tex && p->tile_g > 0)
        reach += ps_prog_tile_reach(p, z.scale);
    return reach;
}

ps_status ps_prog__run(const ps_prog *p, const ps_dials *d, float *s, int H, int W,
                       const ps_prog_win *win)
{
    int on[PS_NGROUPS] = {d->color > 0 && ps_prog_group_on(p, PS_COLOR),
                          d->texture > 0 && ps_prog_group_on(p, PS_TEXTURE),
                          d->stroke > 0 && ps_prog_group_on(p, PS_STROKE)};
    size_t hw = (size_t)H * W;
    int y0 = win->y0;
    const op_sizes z = sizes_of(p, win->ph, win->pw);
    const double scale = z.scale;
    ps_status st = PS_OK;
    float *mark = NULL;
    for (int op = 0; op < 3 && !st && on[PS_STROKE]; op++) { /* the flattenings, blended */
        float g = op == 0 ? p->flat_g : op == 1 ? p->paint_g : p->oil_g, t = d->stroke * g;
        if (g <= 0)
            continue;
        float *f = malloc(sizeof(float) * 3 * hw);
        if (!f) {
            st = ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", W, H);
            break;
        }
        if (op < 2) /* the oil filter writes f from s; the others filter a copy in place */
            memcpy(f, s, sizeof(float) * 3 * hw);
        if (op == 0) {
            ps_prog_flatten(f, H, W, z.flat);
        } else if (op == 1) {
            st = ps_prog_paint_smooth(f, H, W, p->paint_ss, p->paint_sr, scale);
            if (!st)
                st = ps_prog_paint_restore(f, s, hw, PAINT_RESTORE);
            if (!st && p->paint_e > 0)
                st = ps_prog_paint_edges(f, H, W, p->paint_e, scale);
        } else {
            st = ps_prog_oil(s, f, H, W, z.oil);
        }
        size_t n = st ? 0 : 3 * hw;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            s[i] = clamp01(s[i] + t * (f[i] - s[i]));
        free(f);
    }
    if (!st && on[PS_STROKE] && p->pencil_g > 0)
        st = pencil(p, s, H, W, scale, fminf(d->stroke * p->pencil_g, 1));
    if (!st && on[PS_STROKE] && p->sketch_g > 0)
        st = sketch(p, s, H, W, z.r4, fminf(d->stroke * p->sketch_g, 1));
    if (!st && on[PS_STROKE] && p->ink_g > 0) {
        if (!(mark = malloc(sizeof(float) * hw)))
            st = ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", W, H);
        else
            st = ink_dark(s, H, W, z.r4, mark);
        double t = win->ink_t;
        if (!st && win->ink_hist) { /* a first pass: the kept rows' marks, and no more */
            ink_count(mark + (size_t)win->k0 * W, (size_t)(win->k1 - win->k0) * W, win->ink_hist);
            free(mark);
            return PS_OK;
        }
        if (!st && t < 0) { /* the whole photo is here */
            double *hist = calloc(PS_PROG_INK_BINS, sizeof *hist);
            if (!hist)
                st = ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", W, H);
            else
                ink_count(mark, hw, hist), t = ps_prog__ink_threshold(hist, p->ink_share, hw);
            free(hist);
        }
        if (!st)
            ink_soft(mark, hw, t);
    }
    if (!st && on[PS_TEXTURE] && p->cell_g > 0)
        cells(s, H, W, y0, z.cell, fminf(d->texture * p->cell_g, 1));
    if (!st && on[PS_COLOR]) {
        if (p->pal_g > 0)
            st = palette(p, s, H, W, fminf(d->color * p->pal_g, 1), win);
        else
            grade(p, d, s, H, W, win->lut);
    }
    if (!st && mark)
        ink_put(s, H, W, mark, p->ink_L, d->stroke * p->ink_g);
    free(mark);
    if (!st && on[PS_TEXTURE] && p->tile_g > 0)
        st = ps_prog_tile(p, s, H, W, y0, scale, d->texture * p->tile_g);
    if (!st && on[PS_TEXTURE])
        texture(p, s, H, W, y0, scale, d->texture);
    if (!st && on[PS_TEXTURE] && p->ht_g > 0)
        ps_prog_halftone(p, s, H, W, y0, scale, fminf(d->texture * p->ht_g, 1));
    return st;
}

int ps_prog__noop(const ps_prog *p, const ps_dials *d)
{
    return !(d->color > 0 && ps_prog_group_on(p, PS_COLOR)) &&
           !(d->texture > 0 && ps_prog_group_on(p, PS_TEXTURE)) &&
           !(d->stroke > 0 && ps_prog_group_on(p, PS_STROKE));
}

ps_status ps_prog_apply(const ps_prog *p, const ps_image *in, const ps_dials *d, ps_image *out)
{
    if (out != in) {
        ps_status st = ps_img_alloc(out, in->w, in->h, in->c);
        if (st)
            return st;
        memcpy(out->px, in->px, sizeof(float) * in->c * in->w * in->h);
    }
    if (ps_prog__noop(p, d))
        return PS_OK; /* the photo, bit for bit */
    size_t n = (size_t)3 * in->h * in->w;
    float *s = out->px;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        s[i] = ps_linear_to_srgb_fast(s[i]);
    ps_status st;
    float *lut = ps_prog__grade_lut(p, d, (size_t)in->h * in->w, &st);
    const ps_prog_win whole = {0, in->h, in->w, 0, in->h, -1, NULL, lut, NULL};
    if (!st)
        st = ps_prog__run(p, d, s, in->h, in->w, &whole);
    free(lut);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        s[i] = ps_srgb_to_linear_fast(s[i]);
    if (st && out != in)
        ps_img_free(out);
    return st;
}

/* ---- words and bytes ---------------------------------------------------------------------- */
void ps_prog_describe(const ps_prog *p, char *buf, size_t n)
{
    static const char *const ink_name[4] = {"cyan", "magenta", "yellow", "black"};
    char c[160] = "none", t[480] = "none", s[160] = "none";
    if (p->pal_g > 0 && p->nlev[0] > 0)
        snprintf(c, sizeof c, "levels %d x %d x %d%s", p->nlev[0], p->nlev[1], p->nlev[2],
                 p->dither ? ", dithered" : "");
    else if (p->pal_g > 0)
        snprintf(c, sizeof c, "palette of %d colours%s", p->npal, p->dither ? ", dithered" : "");
    else if (ps_prog_group_on(p, 0)) {
        int m = 0;
        if (p->hue_g > 0)
            m = snprintf(c, sizeof c, "hue %+.0f deg at %.2f; ", p->hue_deg, p->hue_g);
        snprintf(c + m, sizeof c - m, "grade: tone %.2f, band colour %.2f, chroma x%.2f at %.2f",
                 p->tone_g, p->chroma_g, p->beta, p->beta_g);
    }
    int m = 0;
    if (p->cell_g > 0)
        m += snprintf(t + m, sizeof t - m, "cells %.0f px; ", p->cell);
    if (p->screen_g > 0)
        m += snprintf(t + m, sizeof t - m, "screen period %dx%d px; ", p->screen_w, p->screen_h);
    for (int j = 0; j < 4 && p->ht_g > 0; j++)
        if (p->ht_period[j] > 0)
            m += snprintf(t + m, sizeof t - m, "halftone %s %s %.1f px at %.0f deg; ",
                          ink_name[j], p->ht_dot[j] ? "dots" : "lines", p->ht_period[j],
                          p->ht_angle[j]);
    if (p->tile_g > 0)
        m += snprintf(t + m, sizeof t - m,
                      "tiles %.1f px, joints %.1f px at %.0f%% of the tile's colour, bevel %.2f, "
                      "at %.2f; ",
                      p->tile_size, p->tile_joint, 100 * p->tile_dark, p->tile_bevel, p->tile_g);
    if (p->grain_g > 0)
        m += snprintf(t + m, sizeof t - m, "grain %.1f/255%s at %.2f; ",
                      255 * (p->grain_sigma[0] + p->grain_sigma[1] + p->grain_sigma[2]) / 3,
                      p->grain_mono > 0.5f ? " mono" : "", p->grain_g);
    if (m >= 2)
        t[m - 2] = 0;
    int k = 0;
    if (p->flat_g > 0)
        k += snprintf(s + k, sizeof s - k, "flattening radius %.1f px at %.2f; ", p->flat_r,
                      p->flat_g);
    if (p->ink_g > 0)
        k += snprintf(s + k, sizeof s - k, "ink on %.0f%% of pixels, lightness %.0f, at %.2f; ",
                      100 * p->ink_share, p->ink_L, p->ink_g);
    if (p->sketch_g > 0)
        k += snprintf(s + k, sizeof s - k, "sketch on paper %.0f, lines to %.0f, at %.2f; ",
                      p->sketch_q[PS_PROG_NSK - 1], p->sketch_q[0], p->sketch_g);
    if (p->paint_g > 0)
        k += snprintf(s + k, sizeof s - k, "paint: smoothing %.0f px, range %.2f%s, at %.2f; ",
                      p->paint_ss, p->paint_sr, p->paint_e > 0 ? ", dark edges" : "",
                      p->paint_g);
    if (p->oil_g > 0)
        k += snprintf(s + k, sizeof s - k, "oil: %.0f px window, at %.2f; ", 2 * p->oil_r + 1,
                      p->oil_g);
    if (p->pencil_g > 0)
        k += snprintf(s + k, sizeof s - k, "%s pencil: strokes %.0f px, at %.2f; ",
                      p->pencil_keep > 0.5f ? "coloured" : "graphite", p->pencil_r, p->pencil_g);
    if (k >= 2)
        s[k - 2] = 0;
    snprintf(buf, n, "colour: %s; texture: %s; stroke: %s (sizes at %.0f px)", c, t, s,
             p->fit_px);
}

#define PROG_VERSION 1.0f
#define OLD_SCREEN 8 /* vectors from before screen_w and screen_h held a square pattern of up to
                        8 here; newer ones put the pattern after the fields */

long ps_prog_pack(const ps_prog *p, float v[PS_PROG_MAXFLOATS])
{
    memset(v, 0, sizeof(float) * PS_PROG_NFLOATS);
    int i = 0;
    v[i++] = PROG_VERSION;
    v[i++] = p->flat_g;
    v[i++] = p->flat_r;
    v[i++] = p->tone_g;
    for (int q = 0; q < PS_PROG_NQ; q++)
        v[i++] = p->tone_q[q];
    v[i++] = p->chroma_g;
    for (int b = 0; b < PS_PROG_NB; b++) {
        v[i++] = p->cab[b][0];
        v[i++] = p->cab[b][1];
    }
    v[i++] = p->beta_g;
    v[i++] = p->beta;
    v[i++] = p->pal_g;
    v[i++] = p->dither;
    v[i++] = (float)p->npal;
    for (int j = 0; j < PS_PROG_MAXPAL; j++)
        for (int c = 0; c < 3; c++)
            v[i++] = p->pal[j][c];
    v[i++] = p->cell_g;
    v[i++] = p->cell;
    v[i++] = p->screen_g;
    i += 1 + 3 * OLD_SCREEN * OLD_SCREEN;
    v[i++] = p->grain_g;
    for (int c = 0; c < 3; c++)
        v[i++] = p->grain_sigma[c];
    v[i++] = p->grain_mono;
    v[i++] = p->fit_px;
    v[i++] = p->ink_g;
    v[i++] = p->ink_share;
    v[i++] = p->ink_L;
    v[i++] = p->hue_g; /* later fields: 0 in older vectors is "off" */
    v[i++] = p->hue_deg;
    v[i++] = p->sketch_g;
    v[i++] = p->sketch_marks;
    for (int q = 0; q < PS_PROG_NSK; q++)
        v[i++] = p->sketch_q[q];
    for (int c = 0; c < 3; c++) {
        v[i++] = (float)p->nlev[c];
        for (int j = 0; j < PS_PROG_MAXLEV; j++)
            v[i++] = p->lev[c][j];
    }
    int on = p->screen_g > 0;
    float tail[] = {p->paint_g,  p->paint_ss, p->paint_sr,    p->paint_e,    p->pencil_g,
                    p->pencil_r, p->pencil_k, p->pencil_shade, p->pencil_keep,
                    on ? (float)p->screen_w : 0, on ? (float)p->screen_h : 0, p->ht_g};
    memcpy(v + i, tail, sizeof tail);
    i += (int)(sizeof tail / sizeof tail[0]);
    for (int c = 0; c < 4; c++) {
        v[i++] = p->ht_period[c];
        v[i++] = p->ht_angle[c];
        v[i++] = p->ht_dot[c];
        v[i++] = p->ht_use[c];
        v[i++] = p->ht_phase[c][0];
        v[i++] = p->ht_phase[c][1];
    }
    v[i++] = p->tile_g;
    v[i++] = p->tile_size;
    v[i++] = p->tile_joint;
    v[i++] = p->tile_dark;
    v[i++] = p->tile_bevel;
    v[i++] = p->oil_g;
    v[i++] = p->oil_r;
    long n = PS_PROG_NFLOATS;
    for (int c = 0; c < 3 && on; c++)
        for (int y = 0; y < p->screen_h; y++)
            for (int x = 0; x < p->screen_w; x++)
                v[n++] = p->screen[c][y][x];
    return n;
}

ps_status ps_prog_unpack(ps_prog *p, const float *v, long n)
{
    if (n < PS_PROG_NFLOATS || n > PS_PROG_MAXFLOATS || v[0] != PROG_VERSION)
        return ps_fail(PS_EINPUT, "style program: unknown format (%ld floats, version %g)", n,
                       n > 0 ? v[0] : 0.0);
    for (long j = 0; j < n; j++)
        if (!isfinite(v[j]))
            return ps_fail(PS_EINPUT, "style program: value %ld is not finite", j);
    int i = 1;
    p->flat_g = v[i++];
    p->flat_r = v[i++];
    p->tone_g = v[i++];
    for (int q = 0; q < PS_PROG_NQ; q++)
        p->tone_q[q] = v[i++];
    p->chroma_g = v[i++];
    for (int b = 0; b < PS_PROG_NB; b++) {
        p->cab[b][0] = v[i++];
        p->cab[b][1] = v[i++];
    }
    p->beta_g = v[i++];
    p->beta = v[i++];
    p->pal_g = v[i++];
    p->dither = v[i++];
    p->npal = (int)v[i++];
    for (int j = 0; j < PS_PROG_MAXPAL; j++)
        for (int c = 0; c < 3; c++)
            p->pal[j][c] = v[i++];
    p->cell_g = v[i++];
    p->cell = v[i++];
    p->screen_g = v[i++];
    const float *old = v + i; /* the square pattern of older vectors: period, then [3][8][8] */
    i += 1 + 3 * OLD_SCREEN * OLD_SCREEN;
    p->grain_g = v[i++];
    for (int c = 0; c < 3; c++)
        p->grain_sigma[c] = v[i++];
    p->grain_mono = v[i++];
    p->fit_px = v[i++];
    p->ink_g = v[i++];
    p->ink_share = v[i++];
    p->ink_L = v[i++];
    p->hue_g = v[i++];
    p->hue_deg = v[i++];
    p->sketch_g = v[i++];
    p->sketch_marks = v[i++];
    for (int q = 0; q < PS_PROG_NSK; q++) {
        p->sketch_q[q] = v[i++];
        if (p->sketch_q[q] < 0 || p->sketch_q[q] > 100 ||
            (q && p->sketch_q[q] < p->sketch_q[q - 1]))
            return ps_fail(PS_EINPUT,
                           "style program: the sketch's lightness is not monotone in [0, 100]");
    }
    for (int c = 0; c < 3; c++) {
        p->nlev[c] = (int)v[i++];
        for (int j = 0; j < PS_PROG_MAXLEV; j++)
            p->lev[c][j] = v[i++];
        if (p->nlev[c] < 0 || p->nlev[c] > PS_PROG_MAXLEV || (p->nlev[c] == 0) != (p->nlev[0] == 0))
            return ps_fail(PS_EINPUT, "style program: a level count is out of range");
        for (int j = 0; j < PS_PROG_MAXLEV; j++)
            if (p->lev[c][j] < 0 || p->lev[c][j] > 1)
                return ps_fail(PS_EINPUT, "style program: a level is outside [0, 1]");
    }
    float *tail[] = {&p->paint_g,  &p->paint_ss, &p->paint_sr,    &p->paint_e,   &p->pencil_g,
                     &p->pencil_r, &p->pencil_k, &p->pencil_shade, &p->pencil_keep};
    for (size_t j = 0; j < sizeof tail / sizeof tail[0]; j++)
        *tail[j] = v[i++];
    float sw = v[i++], sh = v[i++];
    if (sw == 0 && sh == 0) { /* an older vector: its square pattern, if any, in the fields */
        sw = sh = old[0];
        if (sw < 0 || sw > OLD_SCREEN || sw != (int)sw || n != PS_PROG_NFLOATS)
            return ps_fail(PS_EINPUT, "style program: bad screen period or length");
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < sh; y++)
                for (int x = 0; x < sw; x++)
                    p->screen[c][y][x] = old[1 + (c * OLD_SCREEN + y) * OLD_SCREEN + x];
    } else {
        if (sw < 1 || sw > PS_PROG_MAXP || sh < 1 || sh > PS_PROG_MAXP || sw != (int)sw ||
            sh != (int)sh || n != PS_PROG_NFLOATS + 3 * (long)sw * (long)sh)
            return ps_fail(PS_EINPUT, "style program: bad screen period or length");
        long j = PS_PROG_NFLOATS;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < sh; y++)
                for (int x = 0; x < sw; x++)
                    p->screen[c][y][x] = v[j++];
    }
    p->screen_w = (int)sw;
    p->screen_h = (int)sh;
    p->ht_g = v[i++];
    for (int c = 0; c < 4; c++) {
        p->ht_period[c] = v[i++];
        p->ht_angle[c] = v[i++];
        p->ht_dot[c] = v[i++];
        p->ht_use[c] = v[i++];
        p->ht_phase[c][0] = v[i++];
        p->ht_phase[c][1] = v[i++];
        if (p->ht_phase[c][0] < 0 || p->ht_phase[c][0] > 1 || p->ht_phase[c][1] < 0 ||
            p->ht_phase[c][1] > 1 ||(p->ht_period[c] != 0 && (p->ht_period[c] < 2 || p->ht_period[c] > 64)) ||
            fabsf(p->ht_angle[c]) > 180 || (p->ht_dot[c] != 0 && p->ht_dot[c] != 1) ||
            p->ht_use[c] < 0 || p->ht_use[c] > 1)
            return ps_fail(PS_EINPUT, "style program: a halftone screen is out of range");
    }
    p->tile_g = v[i++]; /* 0 in older vectors: no tiles */
    p->tile_size = v[i++];
    p->tile_joint = v[i++];
    p->tile_dark = v[i++];
    p->tile_bevel = v[i++];
    p->oil_g = v[i++]; /* 0 in older vectors: no oil filter */
    p->oil_r = v[i++];
    if ((p->tile_g > 0 || p->tile_size != 0) &&
        (p->tile_size < 2 || p->tile_size > 64 || p->tile_joint < 0 || p->tile_joint > 8 ||
         p->tile_dark < 0 || p->tile_dark > 1 || p->tile_bevel < 0 || p->tile_bevel > 4))
        return ps_fail(PS_EINPUT, "style program: the tiles are out of range");
    if (p->paint_g == 0 && p->paint_ss == 0) /* a vector from before paint: its identity */
        p->paint_ss = p->paint_sr = 1;
    if (p->pencil_g == 0 && p->pencil_r == 0)
        p->pencil_r = p->pencil_k = 1;
    /* every gate in [0, 1], every size and count in its range: a hostile blob cannot index out */
    float g[] = {p->flat_g, p->tone_g, p->chroma_g, p->beta_g, p->pal_g, p->cell_g, p->screen_g,
                 p->grain_g, p->grain_mono, p->ink_g, p->ink_share, p->hue_g, p->sketch_g,
                 p->sketch_marks, p->paint_g, p->pencil_g, p->pencil_keep, p->ht_g,
                 p->tile_g, p->oil_g};
    for (size_t j = 0; j < sizeof g / sizeof g[0]; j++)
        if (g[j] < 0 || g[j] > 1)
            return ps_fail(PS_EINPUT, "style program: a gate is outside [0, 1]");
    if (p->npal < 0 || p->npal > PS_PROG_MAXPAL || (p->pal_g > 0 && p->npal < 1) ||
        (p->screen_g > 0 && p->screen_w * p->screen_h < 2) ||
        p->cell < 1 || p->cell > 64 || p->flat_r < 1 || p->flat_r > 64 || p->fit_px < 16 ||
        p->fit_px > 4096 || p->beta < 0 || p->beta > 2 || p->ink_L < 0 || p->ink_L > 100 ||
        fabsf(p->hue_deg) > 180 || p->paint_ss < 1 || p->paint_ss > 256 ||
        p->paint_sr < 0.01f || p->paint_sr > 4 || p->paint_e < 0 || p->paint_e > 4 ||
        p->pencil_r < 1 || p->pencil_r > 256 || p->pencil_k < 1 || p->pencil_k > 1e4f ||
        p->pencil_shade < 0 || p->pencil_shade > 1 ||
        ((p->oil_g > 0 || p->oil_r != 0) && (p->oil_r < 1 || p->oil_r > 32)))
        return ps_fail(PS_EINPUT, "style program: a size is out of range");
    return PS_OK;
}
