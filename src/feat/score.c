/* The bench's six reference metrics (PSNR, SSIM, dE00, SWD, GradW1, LapSWD) of an output against
 * its ground truth, exactly as shared/metrics/pstyle_metrics.py defines them on top of
 * scikit-image 0.19 and scipy.ndimage. Forward only, double throughout; the random projections
 * are embedded (score_dirs.c), so nothing is read at run time. */
#include "src/feat/feat_impl.h"
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SSIM_WIN 7
#define SWD_MAX_PIXELS 20000
#define LAP_LEVELS 4
#define LAP_K 7          /* patch side */
#define LAP_PATCHES 4096 /* target patch count per band */

static const char *const score_names[PS_SCORE_N] = {"PSNR", "SSIM", "dE00", "SWD", "GradW1",
                                                    "LapSWD"};

const char *ps_feat_score_name(int i) { return i >= 0 && i < PS_SCORE_N ? score_names[i] : NULL; }

int ps_feat_score_higher_better(int i) { return i == PS_SCORE_PSNR || i == PS_SCORE_SSIM; }

static ps_status score_oom(void) { return ps_fail(PS_EINTERNAL, "score: out of memory"); }

/* Order-preserving map of a double (no NaN) to a 64-bit key: flip all bits of negatives, only
 * the sign bit of the rest. */
static uint64_t sort_key(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | (uint64_t)1 << 63;
}

static double sort_unkey(uint64_t k)
{
    uint64_t u = k >> 63 ? k & ~((uint64_t)1 << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* LSD radix sort of n >= 1 keys, a byte per pass, skipping the bytes all keys share (mostly the
 * exponent's): 3x faster than qsort, and sorting is most of the run time. Returns k or tmp,
 * whichever ends up holding the sorted keys. */
static const uint64_t *radix_sort(uint64_t *k, uint64_t *tmp, size_t n)
{
    size_t count[8][256] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 8; d++)
            count[d][k[i] >> (8 * d) & 255]++;
    for (int d = 0; d < 8; d++) {
        size_t *c = count[d], sum = 0;
        if (c[k[0] >> (8 * d) & 255] == n)
            continue;
        for (int v = 0; v < 256; v++) {
            size_t t = c[v];
            c[v] = sum, sum += t;
        }
        for (size_t i = 0; i < n; i++)
            tmp[c[k[i] >> (8 * d) & 255]++] = k[i];
        uint64_t *t = k;
        k = tmp, tmp = t;
    }
    return k;
}

/* sum_k |sort(a)_k - sort(b)_k| over n >= 1 values each: n times the 1-D Wasserstein-1 distance
 * of two equal-size samples. scratch: 4n keys. */
static double sorted_l1(const double *a, const double *b, size_t n, uint64_t *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = sort_key(a[i]), scratch[2 * n + i] = sort_key(b[i]);
    const uint64_t *sa = radix_sort(scratch, scratch + n, n);
    const uint64_t *sb = radix_sort(scratch + 2 * n, scratch + 3 * n, n);
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs(sort_unkey(sa[i]) - sort_unkey(sb[i]));
    return s;
}

/* skimage rgb2lab of u8 / 255: its sRGB matrix (6 digits), D65 2-degree white and its rounded
 * CIE constants (0.008856, 7.787). color.c's ps_feat_rgb_to_lab, with the exact constants, is
 * up to 0.005 away in Lab, hence this copy. */
static void score_lab(double *lab, const unsigned char *rgb, size_t n)
{
    static const double m[3][3] = {{0.412453, 0.357580, 0.180423},
                                   {0.212671, 0.715160, 0.072169},
                                   {0.019334, 0.119193, 0.950227}};
    static const double white[3] = {0.95047, 1.0, 1.08883};
    double lin[256];
    for (int i = 0; i < 256; i++) {
        double v = i / 255.0;
        lin[i] = v > 0.04045 ? pow((v + 0.055) / 1.055, 2.4) : v / 12.92;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rgb + 3 * i;
        double f[3];
        for (int k = 0; k < 3; k++) {
            double t = (m[k][0] * lin[p[0]] + m[k][1] * lin[p[1]] + m[k][2] * lin[p[2]]) / white[k];
            f[k] = t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0;
        }
        lab[3 * i] = 116.0 * f[1] - 16.0;
        lab[3 * i + 1] = 500.0 * (f[0] - f[1]);
        lab[3 * i + 2] = 200.0 * (f[1] - f[2]);
    }
}

/* skimage peak_signal_noise_ratio with data_range 255; the integer sum is what numpy's float sum
 * of integer squares gives exactly. Identical images (infinite PSNR) hit the cap. */
static double score_psnr(const unsigned char *a, const unsigned char *b, size_t n)
{
    uint64_t se = 0;
    for (size_t i = 0; i < n; i++) {
        int d = a[i] - b[i];
        se += (uint64_t)(d * d);
    }
    if (se == 0)
        return 99.0;
    return fmin(10.0 * log10(255.0 * 255.0 / ((double)se / n)), 99.0);
}

/* col[k*w + i] += sign * (x, y, xx, yy, xy) of channel c of row r at column i */
static void ssim_col_add(int64_t *col, const unsigned char *x, const unsigned char *y, int c, int r,
                         int w, int sign)
{
    for (int i = 0; i < w; i++) {
        int64_t a = x[((size_t)r * w + i) * 3 + c], b = y[((size_t)r * w + i) * 3 + c];
        col[i] += sign * a, col[w + i] += sign * b;
        col[2 * w + i] += sign * a * a, col[3 * w + i] += sign * b * b;
        col[4 * w + i] += sign * a * b;
    }
}

/* skimage structural_similarity of channel c of two interleaved RGB images: 7x7 uniform windows,
 * sample covariance (49/48), data_range 255. Its 3-pixel crop keeps exactly the windows that lie
 * inside the image, so the reflected border never matters. Window sums slide, in exact integers;
 * col: 5*w scratch for the sums over the window's rows. */
static double ssim_channel(const unsigned char *x, const unsigned char *y, int c, int h, int w,
                           int64_t *col)
{
    const double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);
    const double nw = SSIM_WIN * SSIM_WIN, cov = nw / (nw - 1);
    double total = 0.0;
    memset(col, 0, 5 * (size_t)w * sizeof *col);
    for (int r = 0; r < h; r++) {
        ssim_col_add(col, x, y, c, r, w, 1);
        if (r >= SSIM_WIN)
            ssim_col_add(col, x, y, c, r - SSIM_WIN, w, -1);
        if (r < SSIM_WIN - 1)
            continue;
        int64_t s[5] = {0, 0, 0, 0, 0};
        for (int i = 0; i < w; i++) {
            for (int k = 0; k < 5; k++)
                s[k] += col[(size_t)k * w + i] -
                        (i >= SSIM_WIN ? col[(size_t)k * w + i - SSIM_WIN] : 0);
            if (i < SSIM_WIN - 1)
                continue;
            double ux = s[0] / nw, uy = s[1] / nw;
            double vx = cov * (s[2] / nw - ux * ux), vy = cov * (s[3] / nw - uy * uy);
            double vxy = cov * (s[4] / nw - ux * uy);
            total +=
                (2 * ux * uy + C1) * (2 * vxy + C2) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
        }
    }
    return total / ((double)(h - SSIM_WIN + 1) * (w - SSIM_WIN + 1));
}

static ps_status score_ssim(double *res, const unsigned char *a, const unsigned char *b, int h,
                            int w)
{
    int64_t *col = malloc(5 * (size_t)w * sizeof *col);
    if (!col)
        return score_oom();
    double s = 0.0;
    for (int c = 0; c < 3; c++)
        s += ssim_channel(a, b, c, h, w, col);
    free(col);
    *res = s / 3.0;
    return PS_OK;
}

/* Sliced Wasserstein distance of the Lab colour distributions: pixels 0, s, 2s, ... with
 * s = ceil(n / 20000), projected on the 64 directions of ps_feat__swd_dirs. keys: 4n. */
static ps_status score_swd(double *res, const double *la, const double *lb, size_t n,
                           uint64_t *keys)
{
    size_t s = (n + SWD_MAX_PIXELS - 1) / SWD_MAX_PIXELS, m = (n - 1) / s + 1;
    double *pa = malloc(2 * m * sizeof *pa);
    if (!pa)
        return score_oom();
    double *pb = pa + m, sum = 0.0;
    for (int d = 0; d < PS_FEAT__SWD_DIRS; d++) {
        const double *u = ps_feat__swd_dirs + 3 * d;
        for (size_t i = 0; i < m; i++) {
            const double *p = la + 3 * i * s, *q = lb + 3 * i * s;
            pa[i] = p[0] * u[0] + p[1] * u[1] + p[2] * u[2];
            pb[i] = q[0] * u[0] + q[1] * u[1] + q[2] * u[2];
        }
        sum += sorted_l1(pa, pb, m, keys);
    }
    free(pa);
    *res = sum / ((double)m * PS_FEAT__SWD_DIRS);
    return PS_OK;
}

/* |sobel| of Lab L (stride 3 in lab) as scipy.ndimage.sobel along both axes with mode 'reflect':
 * for a 3-tap kernel that repeats the border pixel, i.e. clamps the index. */
static void sobel_mag(double *g, const double *lab, int h, int w)
{
#define L_AT(yy, xx) lab[((size_t)(yy) * w + (xx)) * 3]
    for (int y = 0; y < h; y++) {
        int ym = y > 0 ? y - 1 : 0, yp = y < h - 1 ? y + 1 : h - 1;
        for (int x = 0; x < w; x++) {
            int xm = x > 0 ? x - 1 : 0, xp = x < w - 1 ? x + 1 : w - 1;
            double d0 = (L_AT(yp, xm) - L_AT(ym, xm)) + 2 * (L_AT(yp, x) - L_AT(ym, x)) +
                        (L_AT(yp, xp) - L_AT(ym, xp));
            double d1 = (L_AT(ym, xp) - L_AT(ym, xm)) + 2 * (L_AT(y, xp) - L_AT(y, xm)) +
                        (L_AT(yp, xp) - L_AT(yp, xm));
            g[(size_t)y * w + x] = hypot(d0, d1);
        }
    }
#undef L_AT
}

static ps_status score_gradw1(double *res, const double *la, const double *lb, int h, int w,
                              uint64_t *keys)
{
    size_t n = (size_t)h * w;
    double *ga = malloc(2 * n * sizeof *ga);
    if (!ga)
        return score_oom();
    sobel_mag(ga, la, h, w);
    sobel_mag(ga + n, lb, h, w);
    *res = sorted_l1(ga, ga + n, n, keys) / n;
    free(ga);
    return PS_OK;
}

/* One Laplacian-pyramid step of g (h,w,3): band (2*(h/2), 2*(w/2), 3) = g - nearest-neighbour
 * upsample of the 2x2 box average low (odd last row/column dropped), and g's first
 * (h/2)*(w/2)*3 entries become low. Writing low in place is safe: in row-major order every
 * write lands at or before the position the current block reads, and after all earlier reads. */
static void lap_split(double *band, double *g, int h, int w)
{
    int h2 = h / 2, w2 = w / 2, bw = 2 * w2;
    for (int y = 0; y < h2; y++)
        for (int x = 0; x < w2; x++)
            for (int c = 0; c < 3; c++) {
                const double *p = g + ((size_t)2 * y * w + 2 * x) * 3 + c, *q = p + (size_t)w * 3;
                double *o = band + ((size_t)2 * y * bw + 2 * x) * 3 + c, *r = o + (size_t)bw * 3;
                /* the reference's summation order: (0,0) + (1,0) + (0,1) + (1,1) */
                double low = 0.25 * (p[0] + q[0] + p[3] + q[3]);
                o[0] = p[0] - low, o[3] = p[3] - low, r[0] = q[0] - low, r[3] = q[3] - low;
                g[((size_t)y * w2 + x) * 3 + c] = low;
            }
}

/* The LapSWD distance of one band of both images (H,W,3): 7x7x3 patches at corners (y, x) on
 * the stride-s grid, y <= H-7, flattened (y, x, channel); every dimension standardised over
 * both patch sets together; projected on the 128 directions; mean |a - b| of the sorted
 * projections. keys: 4 * patch count (< 4HW). */
static ps_status lap_band(double *res, const double *ba, const double *bb, int H, int W,
                          uint64_t *keys)
{
    enum { D = PS_FEAT__LAP_DIM, ROW = LAP_K * 3 };
    int s = (int)ceil(sqrt((double)(H - LAP_K + 1) * (W - LAP_K + 1) / LAP_PATCHES));
    int ny = (H - LAP_K) / s + 1, nx = (W - LAP_K) / s + 1;
    size_t np = (size_t)ny * nx, n2 = 2 * np;
    double *x = malloc(n2 * D * sizeof *x), *p = malloc(PS_FEAT__LAP_DIRS * n2 * sizeof *p);
    if (!x || !p) {
        free(x);
        free(p);
        return score_oom();
    }
    /* rows [0, np): a's patches, [np, 2np): b's */
    double *row = x;
    for (int img = 0; img < 2; img++)
        for (int py = 0; py < ny; py++)
            for (int px = 0; px < nx; px++, row += D)
                for (int dy = 0; dy < LAP_K; dy++)
                    memcpy(row + dy * ROW,
                           (img ? bb : ba) + ((size_t)(py * s + dy) * W + (size_t)px * s) * 3,
                           ROW * sizeof *row);
    /* per-dimension mean and population std over both sets, accumulated row by row */
    double mu[D] = {0}, sd[D] = {0};
    for (size_t i = 0; i < n2; i++)
        for (int j = 0; j < D; j++)
            mu[j] += x[i * D + j];
    for (int j = 0; j < D; j++)
        mu[j] /= n2;
    for (size_t i = 0; i < n2; i++)
        for (int j = 0; j < D; j++)
            sd[j] += (x[i * D + j] - mu[j]) * (x[i * D + j] - mu[j]);
    for (int j = 0; j < D; j++)
        sd[j] = sqrt(sd[j] / n2) + 1e-6;
    for (size_t i = 0; i < n2; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (x[i * D + j] - mu[j]) / sd[j];
    /* p (dirs, 2np) = dirs (dirs, D) x^T: each direction's projections contiguous for sorting */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, PS_FEAT__LAP_DIRS, (int)n2, D, 1.0,
                ps_feat__lap_dirs, D, x, D, 0.0, p, (int)n2);
    double sum = 0.0;
    for (int k = 0; k < PS_FEAT__LAP_DIRS; k++)
        sum += sorted_l1(p + k * n2, p + k * n2 + np, np, keys);
    free(x);
    free(p);
    *res = sum / ((double)np * PS_FEAT__LAP_DIRS);
    return PS_OK;
}

/* Laplacian sliced Wasserstein distance (after Karras et al. 2018) over 4 bands, times 100.
 * keys: 4hw. */
static ps_status score_lapswd(double *res, const double *la, const double *lb, int h, int w,
                              uint64_t *keys)
{
    size_t n3 = (size_t)h * w * 3;
    double *buf = malloc(4 * n3 * sizeof *buf);
    if (!buf)
        return score_oom();
    double *ga = buf, *gb = buf + n3, *bandA = buf + 2 * n3, *bandB = buf + 3 * n3;
    memcpy(ga, la, n3 * sizeof *ga);
    memcpy(gb, lb, n3 * sizeof *gb);
    double sum = 0.0;
    ps_status st = PS_OK;
    for (int lv = 0; lv < LAP_LEVELS && st == PS_OK; lv++) {
        double d = 0.0;
        if (lv == LAP_LEVELS - 1) { /* the last band is the remaining low-pass level itself */
            st = lap_band(&d, ga, gb, h, w, keys);
        } else {
            lap_split(bandA, ga, h, w);
            lap_split(bandB, gb, h, w);
            st = lap_band(&d, bandA, bandB, h / 2 * 2, w / 2 * 2, keys);
            h /= 2, w /= 2;
        }
        sum += d;
    }
    free(buf);
    *res = sum / LAP_LEVELS * 100.0;
    return st;
}

ps_status ps_feat_score(const unsigned char *out, const unsigned char *gt, int h, int w,
                        double m[PS_SCORE_N])
{
    if (!out || !gt || !m)
        return ps_fail(PS_EUSAGE, "score: NULL image or result");
    if (h < PS_FEAT_SCORE_MIN_SIDE || w < PS_FEAT_SCORE_MIN_SIDE)
        return ps_fail(PS_EINPUT, "score: images must be at least %dx%d pixels, got %dx%d",
                       PS_FEAT_SCORE_MIN_SIDE, PS_FEAT_SCORE_MIN_SIDE, w, h);
    size_t n = (size_t)h * w;
    double *lo = malloc(6 * n * sizeof *lo);
    uint64_t *keys = malloc(4 * n * sizeof *keys); /* the sorts' scratch, for at most n values */
    if (!lo || !keys) {
        free(lo);
        free(keys);
        return score_oom();
    }
    double *lg = lo + 3 * n, de = 0.0;
    score_lab(lo, out, n);
    score_lab(lg, gt, n);
    /* ps_feat_ciede2000 is skimage's deltaE_ciede2000 term for term (same branch cuts, degrees
     * instead of radians); skimage's clamp of dE^2 at 0 never acts, as |R_T| <= 2 sin 60deg < 2 */
    for (size_t i = 0; i < n; i++)
        de += ps_feat_ciede2000(lg + 3 * i, lo + 3 * i);
    m[PS_SCORE_PSNR] = score_psnr(out, gt, 3 * n);
    m[PS_SCORE_DE00] = de / n;
    ps_status st = score_ssim(&m[PS_SCORE_SSIM], gt, out, h, w);
    if (st == PS_OK)
        st = score_swd(&m[PS_SCORE_SWD], lo, lg, n, keys);
    if (st == PS_OK)
        st = score_gradw1(&m[PS_SCORE_GRADW1], lo, lg, h, w, keys);
    if (st == PS_OK)
        st = score_lapswd(&m[PS_SCORE_LAPSWD], lo, lg, h, w, keys);
    free(lo);
    free(keys);
    return st;
}
