/* Internals of src/feat shared by its files and its tests (not part of the feat.h contract): the
 * raw forward/backward kernels of the feature space's own ops and their tape wrappers. Kernels
 * take outputs first; backward kernels ACCUMULATE (+=) into the input gradient. */
#ifndef PS_FEAT_IMPL_H
#define PS_FEAT_IMPL_H
#include "src/feat/feat.h"
#include <stdint.h>

#define PS_FEAT_HIST_BINS 8

/* Smoothing constants: each keeps a square root or a ratio differentiable where its argument
 * vanishes (flat image regions), and is small against the values it guards (see ops.c). */
#define PS_FEAT_OPP_EPS 0.01f    /* cube-root offset: slope at black is finite (7.2/0.788) */

/* Cube root of t > 0 within 1e-14: the exponent divided by 3 in the bits (2 % off), then two
 * Halley steps (cubic: 2e-2 -> 2e-5 -> 6e-15). libm's cbrt, with its frexp and scalbn, was a
 * third of a colour grade's time on a 12 MP photo, and of the features' time; Newton's steps
 * needed four dependent divisions for the same accuracy. CIELAB (color.c) and the opponent
 * colours (ops.c) share it. */
static inline double ps_feat__cbrt(double t)
{
    union {
        double d;
        uint64_t u;
    } v = {t};
    v.u = v.u / 3 + 0x2a9f7893782da1ceull;
    double y = v.d;
    for (int i = 0; i < 2; i++) {
        double y3 = y * y * y;
        y *= (y3 + 2 * t) / (2 * y3 + t);
    }
    return y;
}
#define PS_FEAT_MAG_DELTA 1e-3f /* smooth |(a,b)|: filter responses are ~1e-2..1e-1 */
/* coherence denominator: windows whose mean |grad|^2 is below (1% contrast per pixel)^2 count as
 * unoriented */
#define PS_FEAT_TR_EPS 1e-4f
/* smooth |(Jxx-Jyy, 2Jxy)|: a tenth of TR_EPS, so flat windows sit in the smooth part and
 * oriented ones (>> TR_EPS) do not feel it */
#define PS_FEAT_OR_DELTA 1e-5f
#define PS_FEAT_ORIENT_DELTA 1e-2f /* moments of orientation maps: values in [-1,1], spread ~0.1 */
#define PS_FEAT_EDGE_DELTA 1e-3f   /* moments of edge strength |grad| ~ 0.005..0.05 (= MAG_DELTA) */
#define PS_FEAT_RATIO_EPS 1e-6f

/* opponent color of compressed linear RGB: (N,3,HW) -> (N,3,HW) = (L, a, b); df (may be NULL)
 * gets the compression's slope per input element, which is all backward needs */
void ps_feat__opp_forward(float *out, float *df, const float *in, int N, int HW);
void ps_feat__opp_backward(float *din, const float *dout, const float *df, int N, int HW);
/* smooth magnitude of channel pairs (k, k+K): (N,2K,HW) -> (N,K,HW) */
void ps_feat__mag_forward(float *out, const float *in, int N, int K, int HW);
void ps_feat__mag_backward(float *din, const float *dout, const float *in, const float *out, int N,
                           int K, int HW);
/* structure-tensor products of gradients: (N,2,HW) (gx,gy) -> (N,3,HW) (gx^2, gx gy, gy^2) */
void ps_feat__stprod_forward(float *out, const float *in, int N, int HW);
void ps_feat__stprod_backward(float *din, const float *dout, const float *in, int N, int HW);
/* orientation maps of a smoothed structure tensor: (N,3,HW) -> (N,5,HW) = coherence c and the
 * c-weighted doubled and quadrupled angle (c cos2t, c sin2t, c cos4t, c sin4t) */
void ps_feat__orient_forward(float *out, const float *in, int N, int HW);
void ps_feat__orient_backward(float *din, const float *dout, const float *in, int N, int HW);
/* per-channel moments: (N,C,HW) -> (N,1,1,3C) = (mean, smooth std, power mean (E x^4)^1/4);
 * delta: the spread treated as zero (see ops.c) */
void ps_feat__moments_forward(float *out, const float *in, int N, int C, int HW, float delta);
void ps_feat__moments_backward(float *din, const float *dout, const float *in, const float *out,
                               int N, int C, int HW, float delta);
/* soft histogram with cubic B-spline kernels (C2-smooth, unlike triangles) over [lo_c, hi_c]:
 * (N,C,HW) -> (N,1,1,C*BINS), each channel's bins sum to 1 */
void ps_feat__hist_forward(float *out, const float *in, int N, int C, int HW, const float *lo,
                           const float *hi);
void ps_feat__hist_backward(float *din, const float *dout, const float *in, int N, int C, int HW,
                            const float *lo, const float *hi);
/* log-like compression y = asinh(x / s0[j]) of per-sample statistics: (N,...,D) elementwise */
void ps_feat__asinh_forward(float *out, const float *in, int N, int D, const float *s0);
void ps_feat__asinh_backward(float *din, const float *dout, const float *in, int N, int D,
                             const float *s0);
/* covariances (M,C,C) -> same shape: diagonal asinh(c_ii/e), off-diagonal correlations
 * c_ij / sqrt((c_ii+e)(c_jj+e)) */
void ps_feat__corr_forward(float *out, const float *in, int M, int C, float e);
void ps_feat__corr_backward(float *din, const float *dout, const float *in, const float *out,
                            int M, int C, float e);

/* sRGB-encoded Rec.601 luma of planar linear RGB (c = 3) or luminance (c = 1), clamped to [0,1];
 * dy (may be NULL) gets d(luma)/d(input) per input element. */
void ps_feat__luma(float *y, float *dy, const float *x, int c, int hw);
/* Mean SSIM of two luma planes (h,w >= 7); when da/db are non-NULL they get d(mean SSIM)/dy.
 * scratch: ps_feat__ssim_scratch(h, w) floats. */
double ps_feat__ssim_plane(const float *ya, const float *yb, int h, int w, float *da, float *db,
                           float *scratch);
size_t ps_feat__ssim_scratch(int h, int w);

/* Calibration weight of statistic j of ps_feat_all's vector (feat.c): the calibrated scale is the
 * statistic's spread times this, so both kinds of statistics in a group weigh the same. */
float ps_feat__balance(int j);

/* ---- tape wrappers (ops.c) ----------------------------------------------------------------- */
ps_tensor *ps_feat__opp(ps_graph *g, ps_tensor *x);
ps_tensor *ps_feat__mag(ps_graph *g, ps_tensor *x);
ps_tensor *ps_feat__stprod(ps_graph *g, ps_tensor *x);
ps_tensor *ps_feat__orient(ps_graph *g, ps_tensor *x);
ps_tensor *ps_feat__moments(ps_graph *g, ps_tensor *x, float delta);
ps_tensor *ps_feat__hist(ps_graph *g, ps_tensor *x, const float *lo, const float *hi);
ps_tensor *ps_feat__asinh(ps_graph *g, ps_tensor *x, const float *s0); /* s0 must outlive g */
ps_tensor *ps_feat__corr(ps_graph *g, ps_tensor *x, float e); /* x (N,1,C,C) from ps_gram */
ps_tensor *ps_feat__slice(ps_graph *g, ps_tensor *x, int c0, int k); /* channels [c0, c0+k) */
/* y = a[n,ia] / (a[n,ia] + b[n,ib] + eps): (N,1,1,1), a scale-free ratio of two statistics */
ps_tensor *ps_feat__ratio(ps_graph *g, ps_tensor *a, int ia, ps_tensor *b, int ib);
/* Gather per-sample entries of several tensors into one (N,1,1,D) vector:
 * out[n, j] = (src[n, idx[j]] - off[j]) / scale[j], where a source's per-sample entries are its
 * numel/N values in memory order (so (kN,...) tensors from batch-folded views work). idx NULL
 * takes all entries; off/scale NULL means 0/1. */
typedef struct ps_feat__src {
    ps_tensor *t;
    const int *idx;
    int count;
} ps_feat__src;
ps_tensor *ps_feat__pack(ps_graph *g, int N, const ps_feat__src *src, int nsrc, const float *off,
                         const float *scale);

/* ---- the reference metrics' random projections (score_dirs.c, generated) ------------------- */
#define PS_FEAT__SWD_DIRS 64  /* unit directions in Lab */
#define PS_FEAT__LAP_DIRS 128 /* unit directions in 7x7x3 patch space */
#define PS_FEAT__LAP_DIM 147
extern const double ps_feat__swd_dirs[PS_FEAT__SWD_DIRS * 3];
extern const double ps_feat__lap_dirs[PS_FEAT__LAP_DIRS * PS_FEAT__LAP_DIM];
#endif
