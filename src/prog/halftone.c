/* Halftone: the photo printed in four inks (cyan, magenta, yellow, black by grey-component
 * replacement), each ink as a screen of dots or lines at its own period and angle, each cell
 * inked by the share the ink's coverage asks for.
 *   fit     each ink plane's power spectrum (FFTW), pooled over the samples: a screen is a sharp
 *           peak, hundreds of times the spectrum's level at that radius, where natural photos
 *           spread their power over every angle; its position gives the period and angle, a
 *           second peak at right angles says dots rather than lines
 *   render  each ink's coverage is what it absorbs of the light (1 - linear reflectance, by
 *           grey-component replacement), so a cell reflects on average what the photo does
 *           (Murray-Davies); in the screen's coordinates each point of a cell has a threshold,
 *           the share of the cell nearer its centre (dots) or its centre line (lines); an ink
 *           covers the points whose threshold is under its coverage, averaged over 2x2 points
 *           per pixel; an ink the samples do not use is left out (a black-only print is grey)
 * Periods are in fit pixels. */
#include "prog.h"
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HT_N 256          /* the spectrum's side: a 256 crop holds 36 cells of period 7 */
#define HT_MIN_P 2.5      /* periods searched, fit px */
#define HT_MAX_P 32.0
#define HT_PEAK 200.0     /* a screen's peak over the median power of its ring */
#define HT_DOT 0.2        /* the right-angle peak's share of the first that says dots */
#define HT_USE 0.01       /* an ink whose mean coverage in the samples is under this is unused */
#define HT_MID 0.15       /* printed inks are on or off: the share of ink values between 0.15
                             and 0.85 (GEGL's newsprint 0.03; natural photos 0.4, a canvas 0.34,
                             scanlines 0.5, cartoon 0.38, a dither 0.25) */

static void inks(float r, float g, float b, float ink[4])
{
    float k = fminf(fminf(1 - r, 1 - g), 1 - b);
    float d = k < 1 ? 1 - k : 1;
    ink[0] = (1 - r - k) / d;
    ink[1] = (1 - g - k) / d;
    ink[2] = (1 - b - k) / d;
    ink[3] = k;
}

/* FFTW's planner is not thread-safe; one learn per model, but two models may learn at once. */
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;

/* pow[4][HT_N][HT_N/2+1]: each ink plane's Hann-windowed power spectrum of the central HT_N
 * crop, summed over the samples; crop[k][4][HT_N][HT_N]: those windowed planes; *mid: the share
 * of ink values between 0.15 and 0.85 there, use[4]: each ink's mean coverage. Returns 0, or -1
 * when out of memory. */
static int ink_spectra(float *const *im, const int *hs, const int *ws, int k, double *pw,
                       float *crop, double *mid, double use[4])
{
    const int N = HT_N, M = HT_N / 2 + 1;
    float *in = fftwf_malloc(sizeof(float) * N * N);
    fftwf_complex *out = fftwf_malloc(sizeof(fftwf_complex) * N * M);
    fftwf_plan plan = NULL;
    if (in && out) {
        pthread_mutex_lock(&plan_lock);
        plan = fftwf_plan_dft_r2c_2d(N, N, in, out, FFTW_ESTIMATE);
        pthread_mutex_unlock(&plan_lock);
    }
    if (!plan) {
        fftwf_free(in);
        fftwf_free(out);
        return -1;
    }
    float hann[HT_N];
    for (int i = 0; i < N; i++)
        hann[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * (i + 0.5) / N));
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i];
        int y0 = (hs[i] - N) / 2, x0 = (ws[i] - N) / 2;
        float *q = crop + (size_t)i * 4 * N * N; /* the sample's four ink planes, then windowed */
        double mean[4] = {0};
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                size_t j = (size_t)(y0 + y) * ws[i] + x0 + x;
                float ink[4];
                inks(im[i][j], im[i][hw + j], im[i][2 * hw + j], ink);
                for (int c = 0; c < 4; c++) {
                    q[(size_t)c * N * N + y * N + x] = ink[c];
                    mean[c] += ink[c] / ((double)N * N);
                    *mid += ink[c] > 0.15f && ink[c] < 0.85f ? 1.0 / (4.0 * k * N * N) : 0;
                }
            }
        for (int c = 0; c < 4; c++) {
            float *qc = q + (size_t)c * N * N;
            use[c] += mean[c] / k;
            for (int y = 0; y < N; y++)
                for (int x = 0; x < N; x++)
                    qc[y * N + x] = in[y * N + x] =
                        (float)((qc[y * N + x] - mean[c]) * hann[y] * hann[x]);
            fftwf_execute(plan);
            for (int j = 0; j < N * M; j++)
                pw[(size_t)c * N * M + j] += (double)out[j][0] * out[j][0] +
                                             (double)out[j][1] * out[j][1];
        }
    }
    pthread_mutex_lock(&plan_lock);
    fftwf_destroy_plan(plan);
    pthread_mutex_unlock(&plan_lock);
    fftwf_free(in);
    fftwf_free(out);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Power at frequency (fy, fx) in cycles per HT_N, nearest bin, either half-plane. */
static double power_at(const double *pw, double fy, double fx)
{
    const int N = HT_N, M = HT_N / 2 + 1;
    if (fx < 0) {
        fx = -fx;
        fy = -fy;
    }
    int u = (int)lround(fx), v = ((int)lround(fy) % N + N) % N;
    return u < M ? pw[(size_t)v * M + u] : 0;
}

/* One ink plane's screen: its period (0 when none), angle (degrees) and whether it is dots. */
static void ink_screen(const double *pw, float *period, float *angle, float *dot)
{
    const int N = HT_N, M = HT_N / 2 + 1;
    double rlo = N / HT_MAX_P, rhi = N / HT_MIN_P, best = 0;
    int bu = 0, bv = 0;
    for (int v = 0; v < N; v++)
        for (int u = 0; u < M; u++) {
            int fy = v < N / 2 ? v : v - N;
            double r = hypot(u, fy);
            if (r < rlo || r > rhi || pw[(size_t)v * M + u] <= best)
                continue;
            best = pw[(size_t)v * M + u];
            bu = u;
            bv = fy;
        }
    *period = 0;
    if (best <= 0)
        return;
    double r0 = hypot(bu, bv);
    double *ring = malloc(sizeof(double) * N * M);
    if (!ring)
        return;
    size_t n = 0;
    for (int v = 0; v < N; v++)
        for (int u = 0; u < M; u++) {
            int fy = v < N / 2 ? v : v - N;
            if (fabs(hypot(u, fy) - r0) < 0.1 * r0)
                ring[n++] = pw[(size_t)v * M + u];
        }
    qsort(ring, n, sizeof *ring, cmp_double);
    double med = n ? ring[n / 2] : 0;
    free(ring);
    if (!(med > 0) || best < HT_PEAK * med)
        return;
    /* the peak's position between bins: a parabola through each axis's neighbours */
    double c0 = log(best), fu = bu, fv = bv;
    double l = log(power_at(pw, bv, bu - 1) + 1e-30), r = log(power_at(pw, bv, bu + 1) + 1e-30);
    if (l < c0 && r < c0)
        fu += 0.5 * (l - r) / (l - 2 * c0 + r);
    l = log(power_at(pw, bv - 1, bu) + 1e-30);
    r = log(power_at(pw, bv + 1, bu) + 1e-30);
    if (l < c0 && r < c0)
        fv += 0.5 * (l - r) / (l - 2 * c0 + r);
    *period = (float)(N / hypot(fu, fv));
    *angle = (float)(atan2(fv, fu) * 180 / M_PI);
    *dot = power_at(pw, bu, -bv) > HT_DOT * best; /* (fy, fx) turned by 90 degrees */
}

/* Where the screen of ink c along frequency (fx, fy) (cycles per HT_N) has its ink: the phase
 * c0 in [0, 1) such that the ink peaks where (fx x + fy y) / HT_N = c0 + a whole number, at
 * pixel centres (x + 1/2, y + 1/2) of the whole image. The samples' Fourier coefficients at the
 * (fractional) peak, each turned to the image's origin, add up when the screen is fixed to the
 * image, as a filter's is; the window is symmetric and real, so it adds no phase. */
static float ink_phase(const float *crop, int c, int k, const int *hs, const int *ws, double fx,
                       double fy)
{
    const int N = HT_N;
    double zr = 0, zi = 0;
    for (int i = 0; i < k; i++) {
        const float *q = crop + ((size_t)i * 4 + c) * N * N;
        double xr = 0, xi = 0;
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                double a = 2 * M_PI * (fx * x + fy * y) / N;
                xr += q[y * N + x] * cos(a);
                xi -= q[y * N + x] * sin(a);
            }
        double b = 2 * M_PI * (fx * ((ws[i] - N) / 2 + 0.5) + fy * ((hs[i] - N) / 2 + 0.5)) / N;
        zr += xr * cos(b) + xi * sin(b);
        zi += xi * cos(b) - xr * sin(b);
    }
    double c0 = -atan2(zi, zr) / (2 * M_PI);
    return (float)(c0 - floor(c0));
}

int ps_prog_halftone_fit(ps_prog *p, float *const *im, const int *hs, const int *ws, int k)
{
    for (int i = 0; i < k; i++)
        if (hs[i] < HT_N || ws[i] < HT_N)
            return 0; /* too small to see a screen's period */
    const size_t plane = (size_t)HT_N * (HT_N / 2 + 1);
    double *pw = calloc(4 * plane, sizeof *pw), mid = 0, use[4] = {0};
    float *crop = malloc(sizeof(float) * 4 * k * HT_N * HT_N);
    if (!pw || !crop || ink_spectra(im, hs, ws, k, pw, crop, &mid, use) || mid > HT_MID) {
        free(pw);
        free(crop);
        return 0;
    }
    int on = 0;
    for (int c = 0; c < 4; c++) {
        ink_screen(pw + c * plane, &p->ht_period[c], &p->ht_angle[c], &p->ht_dot[c]);
        p->ht_use[c] = use[c] >= HT_USE;
        if (!(p->ht_period[c] > 0))
            continue;
        on = 1;
        double th = p->ht_angle[c] * M_PI / 180, f = HT_N / p->ht_period[c];
        p->ht_phase[c][0] = ink_phase(crop, c, k, hs, ws, f * cos(th), f * sin(th));
        if (p->ht_dot[c]) /* the lattice's other axis, turned by 90 degrees */
            p->ht_phase[c][1] = ink_phase(crop, c, k, hs, ws, -f * sin(th), f * cos(th));
    }
    free(pw);
    free(crop);
    p->ht_g = on;
    return on;
}

/* The share of a cell's points whose threshold is under v: the point at phases (a, b) in
 * [-1/2, 1/2) has as threshold the area of the cell nearer the centre than it (dots: a disc
 * clipped to the cell) or nearer the centre line (lines: 2 |b|). */
static double threshold(double r2)
{
    if (r2 <= 0.25)
        return M_PI * r2;
    if (r2 >= 0.5)
        return 1;
    return M_PI * r2 - 4 * (r2 * acos(0.5 / sqrt(r2)) - 0.5 * sqrt(r2 - 0.25));
}

/* A dot's threshold grows with r^2 = a^2 + b^2, so "threshold under v" is "r^2 under the
 * threshold's inverse at v": tabled once, so each of a pixel's 16 points (4 inks, 2 x 2) costs
 * a square and a compare instead of an acos. */
#define HT_R2_N 4096
#define HT_RUN 256 /* pixels of a row painted together, so each ink's points run in SIMD lanes */
static float r2_tab[HT_R2_N + 2];
static pthread_once_t r2_once = PTHREAD_ONCE_INIT;

/* Filled on a photo's first halftone, not before main: 200,000 acos calls, 2.7 ms that every
 * process paid twice (main starts over once) and only halftone styles need. */
static void r2_init(void)
{
    for (int i = 0; i <= HT_R2_N + 1; i++) {
        double v = i >= HT_R2_N ? 1 : (double)i / HT_R2_N, lo = 0, hi = 0.5;
        for (int it = 0; it < 50; it++) { /* bisection: threshold is monotone */
            double mid = 0.5 * (lo + hi);
            *(threshold(mid) < v ? &lo : &hi) = mid;
        }
        r2_tab[i] = (float)(v >= 1 ? 0.5 : 0.5 * (lo + hi));
    }
}

static inline float r2_under(float v)
{
    v = v > 0 ? (v < 1 ? v : 1) : 0;
    float f = v * HT_R2_N;
    int i = (int)f;
    return r2_tab[i] + (f - i) * (r2_tab[i + 1] - r2_tab[i]);
}

/* A quarter if the ink covers the point (px, py): its phases in the screen's cell, centred,
 * against the ink's limit (dot: r^2; lines: u^2). Branch-free, so a row's points run in SIMD
 * lanes; floor by truncation, corrected below zero. */
static inline float covers(float px, float py, float ca, float sa, float inv, float ou, float ov,
                           float dotf, float lim)
{
    float u = (px * ca + py * sa) * inv + ou, v = (py * ca - px * sa) * inv + ov;
    float fu = (float)(int)u, fv = (float)(int)v;
    fu -= (float)(fu > u);
    fv -= (float)(fv > v);
    u -= fu + 0.5f;
    v -= fv + 0.5f;
    return 0.25f * (float)(u * u + dotf * (v * v) < lim);
}

void ps_prog_halftone(const ps_prog *p, float *s, int h, int w, int y0, double scale, float t)
{
    size_t hw = (size_t)h * w;
    float ca[4], sa[4], inv[4], ou[4], ov[4];
    pthread_once(&r2_once, r2_init);
    for (int c = 0; c < 4; c++) {
        double th = p->ht_angle[c] * M_PI / 180;
        ca[c] = (float)cos(th);
        sa[c] = (float)sin(th);
        inv[c] = p->ht_period[c] > 0 ? (float)(1 / (p->ht_period[c] * scale)) : 0;
        ou[c] = 0.5f - p->ht_phase[c][0]; /* cells centred on the samples' ink */
        ov[c] = 0.5f - p->ht_phase[c][1];
    }
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++)
        for (int x0 = 0; x0 < w; x0 += HT_RUN) {
            int n = w - x0 < HT_RUN ? w - x0 : HT_RUN;
            float ink[4][HT_RUN], lim[HT_RUN];
            for (int j = 0; j < n; j++) {
                size_t i = (size_t)y * w + x0 + j;
                float k4[4];
                inks(ps_srgb_to_linear_fast(s[i]), ps_srgb_to_linear_fast(s[hw + i]),
                     ps_srgb_to_linear_fast(s[2 * hw + i]), k4);
                for (int c = 0; c < 4; c++)
                    ink[c][j] = k4[c];
            }
            for (int c = 0; c < 4; c++) {
                float use = p->ht_use[c], *k = ink[c];
                if (!inv[c]) {
                    for (int j = 0; j < n; j++)
                        k[j] += t * (k[j] * use - k[j]);
                    continue;
                }
                /* dots: r^2 under the dot's; lines: 2 |u| under the coverage */
                int dot = p->ht_dot[c] != 0;
                float dotf = dot ? 1.0f : 0.0f;
                for (int j = 0; j < n; j++) {
                    float want = k[j] * use;
                    lim[j] = !(want > 0) ? -1 : dot ? (want < 1 ? r2_under(want) : 1)
                                                    : 0.25f * want * want;
                }
#pragma omp simd
                for (int j = 0; j < n; j++) {
                    float px = (float)(x0 + j) + 0.25f, py = (float)(y0 + y) + 0.25f; /* 2x2 points a pixel */
                    float cover = covers(px, py, ca[c], sa[c], inv[c], ou[c], ov[c], dotf, lim[j]) +
                                  covers(px + 0.5f, py, ca[c], sa[c], inv[c], ou[c], ov[c], dotf,
                                         lim[j]) +
                                  covers(px, py + 0.5f, ca[c], sa[c], inv[c], ou[c], ov[c], dotf,
                                         lim[j]) +
                                  covers(px + 0.5f, py + 0.5f, ca[c], sa[c], inv[c], ou[c], ov[c],
                                         dotf, lim[j]);
                    k[j] += t * (cover - k[j]);
                }
            }
            for (int j = 0; j < n; j++)
                for (int c = 0; c < 3; c++)
                    s[c * hw + (size_t)y * w + x0 + j] = ps_linear_to_srgb_fast(
                        1 - (ink[c][j] * (1 - ink[3][j]) + ink[3][j]));
        }
}
