/* Color science for the bench: CIELAB, CIEDE2000, Lab histogram distance, and the two classic
 * color-transfer baselines (Reinhard mean/std, linear Monge-Kantorovich) that pstyle's color
 * group must beat. Plain C on planar linear-RGB images; no graph. */
#include "src/feat/feat_impl.h"
#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846

/* IEC 61966-2-1 linear sRGB <-> XYZ, D65 white (the rows of the forward matrix sum to it). */
static const double rgb2xyz[3][3] = {{0.4124564, 0.3575761, 0.1804375},
                                     {0.2126729, 0.7151522, 0.0721750},
                                     {0.0193339, 0.1191920, 0.9503041}};
static const double xyz2rgb[3][3] = {{3.2404542, -1.5371385, -0.4985314},
                                     {-0.9692660, 1.8760108, 0.0415560},
                                     {0.0556434, -0.2040259, 1.0572252}};
static const double white[3] = {0.95047, 1.0, 1.08883};

static double lab_f(double t)
{
    const double e = 6.0 / 29.0;
    return t > e * e * e ? ps_feat__cbrt(t) : t / (3 * e * e) + 4.0 / 29.0;
}

static double lab_finv(double u)
{
    const double e = 6.0 / 29.0;
    return u > e ? u * u * u : 3 * e * e * (u - 4.0 / 29.0);
}

void ps_feat_rgb_to_lab(const float rgb[3], double lab[3])
{
    double f[3];
    for (int i = 0; i < 3; i++)
        f[i] = lab_f((rgb2xyz[i][0] * rgb[0] + rgb2xyz[i][1] * rgb[1] + rgb2xyz[i][2] * rgb[2]) /
                     white[i]);
    lab[0] = 116.0 * f[1] - 16.0;
    lab[1] = 500.0 * (f[0] - f[1]);
    lab[2] = 200.0 * (f[1] - f[2]);
}

double ps_feat_lightness(const float rgb[3])
{
    return 116.0 * lab_f((rgb2xyz[1][0] * rgb[0] + rgb2xyz[1][1] * rgb[1] + rgb2xyz[1][2] * rgb[2]) /
                         white[1]) -
           16.0;
}

/* L* over u = sqrt(Y): smooth there (the linear toe is u^2, the cube root u^(2/3)), so linear
 * interpolation between LIGHT_N segments stays within 5e-6 of L*, under float's rounding. */
#define LIGHT_N 4096
static float light_tab[LIGHT_N + 2];

__attribute__((constructor)) static void light_init(void)
{
    for (int i = 0; i <= LIGHT_N + 1; i++) {
        double u = (double)(i < LIGHT_N ? i : LIGHT_N) / LIGHT_N;
        light_tab[i] = (float)(116.0 * lab_f(u * u) - 16.0);
    }
}

float ps_feat_lightness_fast(const float rgb[3])
{
    float Y = (float)(rgb2xyz[1][0] * rgb[0] + rgb2xyz[1][1] * rgb[1] + rgb2xyz[1][2] * rgb[2]);
    float f = sqrtf(Y > 0 ? (Y < 1 ? Y : 1) : 0) * LIGHT_N; /* white[1] is 1 */
    int i = (int)f;
    return light_tab[i] + (f - i) * (light_tab[i + 1] - light_tab[i]);
}

void ps_feat_lab_to_rgb(const double lab[3], float rgb[3])
{
    double fy = (lab[0] + 16.0) / 116.0;
    double xyz[3] = {white[0] * lab_finv(fy + lab[1] / 500.0), white[1] * lab_finv(fy),
                     white[2] * lab_finv(fy - lab[2] / 200.0)};
    for (int i = 0; i < 3; i++)
        rgb[i] = (float)(xyz2rgb[i][0] * xyz[0] + xyz2rgb[i][1] * xyz[1] + xyz2rgb[i][2] * xyz[2]);
}

/* ---- CIEDE2000 ----------------------------------------------------------------------------- */
/* Equation numbers are those of Sharma, Wu, Dalal (2005). Angles in degrees as in the paper. */
static double deg(double r) { return r * 180.0 / PI; }
static double rad(double d) { return d * PI / 180.0; }

double ps_feat_ciede2000(const double lab1[3], const double lab2[3])
{
    double C1 = hypot(lab1[1], lab1[2]), C2 = hypot(lab2[1], lab2[2]);      /* (2) */
    double Cb = 0.5 * (C1 + C2), Cb7 = pow(Cb, 7.0);                      /* (3) */
    double G = 0.5 * (1.0 - sqrt(Cb7 / (Cb7 + 6103515625.0)));           /* (4), 25^7 */
    double a1 = (1.0 + G) * lab1[1], a2 = (1.0 + G) * lab2[1];            /* (5) */
    double c1 = hypot(a1, lab1[2]), c2 = hypot(a2, lab2[2]);              /* (6) */
    double h1 = (a1 == 0.0 && lab1[2] == 0.0) ? 0.0 : deg(atan2(lab1[2], a1)); /* (7) */
    double h2 = (a2 == 0.0 && lab2[2] == 0.0) ? 0.0 : deg(atan2(lab2[2], a2));
    if (h1 < 0.0)
        h1 += 360.0;
    if (h2 < 0.0)
        h2 += 360.0;
    double dL = lab2[0] - lab1[0], dC = c2 - c1;                          /* (8), (9) */
    double dh = 0.0;                                                      /* (10) */
    if (c1 * c2 != 0.0) {
        dh = h2 - h1;
        if (dh > 180.0)
            dh -= 360.0;
        else if (dh < -180.0)
            dh += 360.0;
    }
    double dH = 2.0 * sqrt(c1 * c2) * sin(rad(dh) / 2.0);                 /* (11) */
    double Lb = 0.5 * (lab1[0] + lab2[0]), cb = 0.5 * (c1 + c2);          /* (12), (13) */
    double hb = h1 + h2;                                                  /* (14) */
    if (c1 * c2 != 0.0) {
        if (fabs(h1 - h2) <= 180.0)
            hb *= 0.5;
        else if (h1 + h2 < 360.0)
            hb = 0.5 * (h1 + h2 + 360.0);
        else
            hb = 0.5 * (h1 + h2 - 360.0);
    }
    double T = 1.0 - 0.17 * cos(rad(hb - 30.0)) + 0.24 * cos(rad(2.0 * hb)) +
               0.32 * cos(rad(3.0 * hb + 6.0)) - 0.20 * cos(rad(4.0 * hb - 63.0)); /* (15) */
    double dtheta = 30.0 * exp(-((hb - 275.0) / 25.0) * ((hb - 275.0) / 25.0)); /* (16) */
    double cb7 = pow(cb, 7.0);
    double RC = 2.0 * sqrt(cb7 / (cb7 + 6103515625.0));                   /* (17) */
    double l50 = (Lb - 50.0) * (Lb - 50.0);
    double SL = 1.0 + 0.015 * l50 / sqrt(20.0 + l50);                     /* (18) */
    double SC = 1.0 + 0.045 * cb;                                         /* (19) */
    double SH = 1.0 + 0.015 * cb * T;                                     /* (20) */
    double RT = -sin(rad(2.0 * dtheta)) * RC;                             /* (21) */
    double tl = dL / SL, tc = dC / SC, th = dH / SH;
    return sqrt(tl * tl + tc * tc + th * th + RT * tc * th);              /* (22) */
}

double ps_feat_delta_e(const float *a, const float *b, int h, int w)
{
    size_t hw = (size_t)h * w;
    double s = 0.0;
    for (size_t i = 0; i < hw; i++) {
        float pa[3] = {a[i], a[hw + i], a[2 * hw + i]}, pb[3] = {b[i], b[hw + i], b[2 * hw + i]};
        double la[3], lb[3];
        ps_feat_rgb_to_lab(pa, la);
        ps_feat_rgb_to_lab(pb, lb);
        s += ps_feat_ciede2000(la, lb);
    }
    return hw ? s / hw : 0.0;
}

/* ---- Lab histogram distance ---------------------------------------------------------------- */
#define HB 8
static void lab_hist(double *hist, const float *img, int h, int w)
{
    size_t hw = (size_t)h * w;
    memset(hist, 0, HB * HB * HB * sizeof *hist);
    for (size_t i = 0; i < hw; i++) {
        float p[3] = {img[i], img[hw + i], img[2 * hw + i]};
        double lab[3];
        ps_feat_rgb_to_lab(p, lab);
        /* L in [0,100]; a, b in [-80, 80] (beyond that is rare and lands in the end bins) */
        int k[3];
        double lo[3] = {0.0, -80.0, -80.0}, span[3] = {100.0, 160.0, 160.0};
        for (int c = 0; c < 3; c++) {
            int v = (int)floor((lab[c] - lo[c]) / span[c] * HB);
            k[c] = v < 0 ? 0 : v >= HB ? HB - 1 : v;
        }
        hist[(k[0] * HB + k[1]) * HB + k[2]] += 1.0 / hw;
    }
}

double ps_feat_hist_distance(const float *a, int ah, int aw, const float *b, int bh, int bw)
{
    double ha[HB * HB * HB], hb[HB * HB * HB], d = 0.0;
    lab_hist(ha, a, ah, aw);
    lab_hist(hb, b, bh, bw);
    for (int i = 0; i < HB * HB * HB; i++)
        if (ha[i] + hb[i] > 0.0)
            d += (ha[i] - hb[i]) * (ha[i] - hb[i]) / (ha[i] + hb[i]);
    return 0.5 * d;
}

/* ---- color-transfer baselines -------------------------------------------------------------- */
/* Mean and covariance of an image's Lab pixels (two passes would be exact; one pass in double
 * around a fixed shift is exact enough for 8-bit-derived data). */
static void lab_stats(const float *img, int h, int w, double mean[3], double cov[3][3])
{
    size_t hw = (size_t)h * w;
    double s[3] = {0}, ss[3][3] = {{0}};
    const double shift[3] = {50.0, 0.0, 0.0};
    for (size_t i = 0; i < hw; i++) {
        float p[3] = {img[i], img[hw + i], img[2 * hw + i]};
        double lab[3];
        ps_feat_rgb_to_lab(p, lab);
        for (int r = 0; r < 3; r++) {
            double u = lab[r] - shift[r];
            s[r] += u;
            for (int c = 0; c < 3; c++)
                ss[r][c] += u * (lab[c] - shift[c]);
        }
    }
    for (int r = 0; r < 3; r++)
        mean[r] = s[r] / hw + shift[r];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            cov[r][c] = ss[r][c] / hw - (mean[r] - shift[r]) * (mean[c] - shift[c]);
}

/* out = clamp(lab_to_rgb(M (lab(src) - ms) + mr)) pixel by pixel; out may equal src. */
static void lab_affine(float *out, const float *src, int h, int w, const double M[3][3],
                       const double ms[3], const double mr[3])
{
    size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++) {
        float p[3] = {src[i], src[hw + i], src[2 * hw + i]};
        double lab[3], t[3];
        ps_feat_rgb_to_lab(p, lab);
        for (int r = 0; r < 3; r++)
            t[r] = mr[r] + M[r][0] * (lab[0] - ms[0]) + M[r][1] * (lab[1] - ms[1]) +
                   M[r][2] * (lab[2] - ms[2]);
        ps_feat_lab_to_rgb(t, p);
        for (int c = 0; c < 3; c++)
            out[(size_t)c * hw + i] = p[c] < 0.0f ? 0.0f : p[c] > 1.0f ? 1.0f : p[c];
    }
}

void ps_feat_reinhard_transfer(float *out, const float *src, int sh, int sw, const float *ref,
                               int rh, int rw)
{
    double ms[3], mr[3], cs[3][3], cr[3][3], M[3][3] = {{0}};
    lab_stats(src, sh, sw, ms, cs);
    lab_stats(ref, rh, rw, mr, cr);
    for (int c = 0; c < 3; c++) /* a flat source channel has no spread to rescale */
        M[c][c] = cs[c][c] > 1e-8 ? sqrt(cr[c][c] / cs[c][c]) : 1.0;
    lab_affine(out, src, sh, sw, M, ms, mr);
}

/* Symmetric 3x3 eigen-decomposition by cyclic Jacobi rotations: A = V diag(e) V^T. */
static void sym_eigen3(const double A[3][3], double e[3], double V[3][3])
{
    double a[3][3];
    memcpy(a, A, sizeof a);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            V[r][c] = r == c;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        if (off < 1e-15 * (fabs(a[0][0]) + fabs(a[1][1]) + fabs(a[2][2]) + 1e-300))
            break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                if (a[p][q] == 0.0)
                    continue;
                double th = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                double t = (th >= 0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < 3; k++) { /* A <- A J */
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) { /* A <- J^T A */
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) {
                    double vkp = V[k][p], vkq = V[k][q];
                    V[k][p] = c * vkp - s * vkq;
                    V[k][q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < 3; i++)
        e[i] = a[i][i];
}

/* B = A^pw for symmetric positive semi-definite A (eigenvalues floored to keep inverses sane). */
static void sym_pow3(const double A[3][3], double pw, double B[3][3])
{
    double e[3], V[3][3];
    sym_eigen3(A, e, V);
    for (int i = 0; i < 3; i++)
        e[i] = pow(e[i] > 1e-6 ? e[i] : 1e-6, pw);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            B[r][c] = V[r][0] * e[0] * V[c][0] + V[r][1] * e[1] * V[c][1] +
                      V[r][2] * e[2] * V[c][2];
}

static void mat3_mul(const double A[3][3], const double B[3][3], double C[3][3])
{
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            C[r][c] = A[r][0] * B[0][c] + A[r][1] * B[1][c] + A[r][2] * B[2][c];
}

void ps_feat_linear_transfer(float *out, const float *src, int sh, int sw, const float *ref,
                             int rh, int rw)
{
    /* T = Cs^-1/2 (Cs^1/2 Cr Cs^1/2)^1/2 Cs^-1/2: the unique symmetric positive map with
     * T Cs T = Cr, i.e. the optimal transport between the two Gaussians (Pitie 2007, eq. 8). */
    double ms[3], mr[3], cs[3][3], cr[3][3], h[3][3], hi[3][3], t0[3][3], t1[3][3], mid[3][3],
        T[3][3];
    lab_stats(src, sh, sw, ms, cs);
    lab_stats(ref, rh, rw, mr, cr);
    sym_pow3(cs, 0.5, h);
    sym_pow3(cs, -0.5, hi);
    mat3_mul(h, cr, t0);
    mat3_mul(t0, h, t1);
    sym_pow3(t1, 0.5, mid);
    mat3_mul(hi, mid, t0);
    mat3_mul(t0, hi, T);
    lab_affine(out, src, sh, sw, T, ms, mr);
}
