/* The feature space's own differentiable ops: pointwise maps and reductions that would be clumsy
 * to compose from engine ops (opponent color, smooth magnitudes, structure-tensor orientation,
 * moments, soft histograms, gathers). Each raw forward sits next to its backward; the tape
 * wrappers at the bottom record them with ps_graph_push. */
#include "src/feat/feat_impl.h"
#include <math.h>
#include <string.h>

/* ---- opponent color ------------------------------------------------------------------------ */
/* f(x) = (cbrt(x + e) - cbrt(e)) / (cbrt(1 + e) - cbrt(e)) maps linear [0,1] onto [0,1] roughly
 * like CIE L* (f(0.18) = 0.47), with a finite slope at black so gradients stay bounded. The
 * opponent axes are luminance, red-green and yellow-blue of the compressed channels. */
static float opp_f(float x, float *df)
{
    static const float c0 = 0.21544347f;      /* cbrt(PS_FEAT_OPP_EPS) */
    static const float k = 1.26923073f;       /* 1 / (cbrt(1 + eps) - cbrt(eps)) */
    if (x <= 0.0f) { /* generators may overshoot below black: clamp, no gradient */
        *df = 0.0f;
        return 0.0f;
    }
    float r = (float)ps_feat__cbrt(x + PS_FEAT_OPP_EPS);
    *df = k / (3.0f * r * r);
    return (r - c0) * k;
}

/* df (may be NULL) receives f' per input element, so backward need not take roots again. */
void ps_feat__opp_forward(float *out, float *df, const float *in, int N, int HW)
{
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * 3 * HW;
        const float *R = in + o, *G = R + HW, *B = G + HW;
        float *L = out + o, *A = L + HW, *Y = A + HW;
        for (int i = 0; i < HW; i++) {
            float dr, dg, db, r = opp_f(R[i], &dr), gg = opp_f(G[i], &dg), b = opp_f(B[i], &db);
            L[i] = (r + gg + b) * (1.0f / 3.0f);
            A[i] = (r - gg) * 0.5f;
            Y[i] = (r + gg - 2.0f * b) * 0.25f;
            if (df) {
                df[o + i] = dr;
                df[o + HW + i] = dg;
                df[o + 2 * HW + i] = db;
            }
        }
    }
}

void ps_feat__opp_backward(float *din, const float *dout, const float *df, int N, int HW)
{
    for (int n = 0; n < N; n++) {
        size_t o = (size_t)n * 3 * HW;
        const float *fr = df + o, *fg = fr + HW, *fb = fg + HW;
        const float *dL = dout + o, *dA = dL + HW, *dY = dA + HW;
        float *dR = din + o, *dG = dR + HW, *dB = dG + HW;
        for (int i = 0; i < HW; i++) {
            float l = dL[i] * (1.0f / 3.0f);
            dR[i] += fr[i] * (l + 0.5f * dA[i] + 0.25f * dY[i]);
            dG[i] += fg[i] * (l - 0.5f * dA[i] + 0.25f * dY[i]);
            dB[i] += fb[i] * (l - 0.5f * dY[i]);
        }
    }
}

/* ---- smooth magnitude of channel pairs ----------------------------------------------------- */
/* m = sqrt(a^2 + b^2 + d^2) - d: phase-invariant energy of a quadrature pair (or |gradient|),
 * zero at zero, smooth there. */
void ps_feat__mag_forward(float *out, const float *in, int N, int K, int HW)
{
    const float d = PS_FEAT_MAG_DELTA;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            const float *a = in + ((size_t)n * 2 * K + k) * HW, *b = a + (size_t)K * HW;
            float *m = out + ((size_t)n * K + k) * HW;
            for (int i = 0; i < HW; i++)
                m[i] = sqrtf(a[i] * a[i] + b[i] * b[i] + d * d) - d;
        }
}

void ps_feat__mag_backward(float *din, const float *dout, const float *in, const float *out, int N,
                           int K, int HW)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            size_t ia = ((size_t)n * 2 * K + k) * HW, ib = ia + (size_t)K * HW;
            size_t im = ((size_t)n * K + k) * HW;
            for (int i = 0; i < HW; i++) {
                float s = dout[im + i] / (out[im + i] + PS_FEAT_MAG_DELTA);
                din[ia + i] += s * in[ia + i];
                din[ib + i] += s * in[ib + i];
            }
        }
}

/* ---- structure-tensor products ------------------------------------------------------------- */
void ps_feat__stprod_forward(float *out, const float *in, int N, int HW)
{
    for (int n = 0; n < N; n++) {
        const float *gx = in + (size_t)n * 2 * HW, *gy = gx + HW;
        float *xx = out + (size_t)n * 3 * HW, *xy = xx + HW, *yy = xy + HW;
        for (int i = 0; i < HW; i++) {
            xx[i] = gx[i] * gx[i];
            xy[i] = gx[i] * gy[i];
            yy[i] = gy[i] * gy[i];
        }
    }
}

void ps_feat__stprod_backward(float *din, const float *dout, const float *in, int N, int HW)
{
    for (int n = 0; n < N; n++) {
        const float *gx = in + (size_t)n * 2 * HW, *gy = gx + HW;
        const float *dxx = dout + (size_t)n * 3 * HW, *dxy = dxx + HW, *dyy = dxy + HW;
        float *dgx = din + (size_t)n * 2 * HW, *dgy = dgx + HW;
        for (int i = 0; i < HW; i++) {
            dgx[i] += 2.0f * gx[i] * dxx[i] + gy[i] * dxy[i];
            dgy[i] += 2.0f * gy[i] * dyy[i] + gx[i] * dxy[i];
        }
    }
}

/* ---- orientation of a smoothed structure tensor -------------------------------------------- */
/* With tr = Jxx + Jyy, d = Jxx - Jyy, o = 2 Jxy and R = sqrt(d^2 + o^2 + delta^2):
 *   coherence (l1 - l2)/(l1 + l2) = (R - delta) q,   q = 1/(tr + eps)
 *   c cos2t = d q,  c sin2t = o q,  c cos4t = (d^2 - o^2)/R q,  c sin4t = 2 d o / R q.
 * The doubled angle makes orientation (not direction) a vector; its window means form the
 * dominant-orientation "histogram" (first two circular harmonics, weighted by coherence). */
void ps_feat__orient_forward(float *out, const float *in, int N, int HW)
{
    const float dl = PS_FEAT_OR_DELTA;
    for (int n = 0; n < N; n++) {
        const float *xx = in + (size_t)n * 3 * HW, *xy = xx + HW, *yy = xy + HW;
        float *o0 = out + (size_t)n * 5 * HW;
        for (int i = 0; i < HW; i++) {
            float d = xx[i] - yy[i], o = 2.0f * xy[i];
            float q = 1.0f / (xx[i] + yy[i] + PS_FEAT_TR_EPS);
            float R = sqrtf(d * d + o * o + dl * dl);
            o0[i] = (R - dl) * q;
            o0[HW + i] = d * q;
            o0[2 * HW + i] = o * q;
            o0[3 * HW + i] = (d * d - o * o) / R * q;
            o0[4 * HW + i] = 2.0f * d * o / R * q;
        }
    }
}

void ps_feat__orient_backward(float *din, const float *dout, const float *in, int N, int HW)
{
    const float dl = PS_FEAT_OR_DELTA;
    for (int n = 0; n < N; n++) {
        const float *xx = in + (size_t)n * 3 * HW, *xy = xx + HW, *yy = xy + HW;
        const float *g = dout + (size_t)n * 5 * HW;
        float *dxx = din + (size_t)n * 3 * HW, *dxy = dxx + HW, *dyy = dxy + HW;
        for (int i = 0; i < HW; i++) {
            float d = xx[i] - yy[i], o = 2.0f * xy[i];
            float q = 1.0f / (xx[i] + yy[i] + PS_FEAT_TR_EPS);
            float R = sqrtf(d * d + o * o + dl * dl), iR = 1.0f / R, iR3 = iR * iR * iR;
            float A = (d * d - o * o) * iR, B = 2.0f * d * o * iR;
            float g0 = g[i], g1 = g[HW + i], g2 = g[2 * HW + i], g3 = g[3 * HW + i],
                  g4 = g[4 * HW + i];
            float dA_dd = 2.0f * d * iR - (d * d - o * o) * d * iR3;
            float dA_do = -2.0f * o * iR - (d * d - o * o) * o * iR3;
            float dB_dd = 2.0f * o * iR - 2.0f * d * o * d * iR3;
            float dB_do = 2.0f * d * iR - 2.0f * d * o * o * iR3;
            float gd = q * (g0 * d * iR + g1 + g3 * dA_dd + g4 * dB_dd);
            float go = q * (g0 * o * iR + g2 + g3 * dA_do + g4 * dB_do);
            float gt = -q * q * (g0 * (R - dl) + g1 * d + g2 * o + g3 * A + g4 * B);
            dxx[i] += gt + gd;
            dyy[i] += gt - gd;
            dxy[i] += 2.0f * go;
        }
    }
}

/* ---- per-channel moments ------------------------------------------------------------------- */
/* mean; std = sqrt(var + d^2) - d; a high quantile approximated by the power mean
 * P = (E x^4 + d^4)^(1/4) (closer to the max the heavier the tail). d is the spread below which
 * a statistic is "zero": there std and P turn smooth instead of |x|-like. Sums in double. */
void ps_feat__moments_forward(float *out, const float *in, int N, int C, int HW, float delta)
{
    const double d = delta;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            double s = 0, v = 0, p = 0;
            for (int i = 0; i < HW; i++)
                s += x[i];
            double mu = s / HW;
            for (int i = 0; i < HW; i++) {
                double e = x[i] - mu, x2 = (double)x[i] * x[i];
                v += e * e;
                p += x2 * x2;
            }
            float *o = out + ((size_t)n * C + c) * 3;
            o[0] = (float)mu;
            o[1] = (float)(sqrt(v / HW + d * d) - d);
            o[2] = (float)pow(p / HW + d * d * d * d, 0.25);
        }
}

void ps_feat__moments_backward(float *din, const float *dout, const float *in, const float *out,
                               int N, int C, int HW, float delta)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            size_t base = ((size_t)n * C + c) * HW;
            const float *o = out + ((size_t)n * C + c) * 3, *g = dout + ((size_t)n * C + c) * 3;
            float mu = o[0];
            float gm = g[0] / HW;
            float gs = g[1] / (HW * (o[1] + delta));
            float gp = g[2] / (HW * o[2] * o[2] * o[2]);
            for (int i = 0; i < HW; i++) {
                float x = in[base + i];
                din[base + i] += gm + gs * (x - mu) + gp * x * x * x;
            }
        }
}

/* ---- soft histogram ------------------------------------------------------------------------ */
/* Bin centers lo + k*step, k = 0..BINS-1. A value at t = (x - lo)/step (clamped to the range)
 * spreads over the four nearest centers with cubic B-spline weights, which sum to one and are
 * twice continuously differentiable: the histogram's gradient has no jumps at bin boundaries
 * (triangles would jump at every center, quadratic splines at every half bin), so optimizers
 * see a smooth loss and finite differences converge. */
static inline void hist_weights(float t, int *k, float w[4], float dw[4])
{
    int kk = (int)(t + 3.0f) - 3; /* floor: hist_t keeps t >= -2 */
    float u = t - (float)kk, v = 1.0f - u;
    w[0] = v * v * v / 6.0f;
    w[1] = (3.0f * u * u * u - 6.0f * u * u + 4.0f) / 6.0f;
    w[2] = (-3.0f * u * u * u + 3.0f * u * u + 3.0f * u + 1.0f) / 6.0f;
    w[3] = u * u * u / 6.0f;
    dw[0] = -0.5f * v * v;
    dw[1] = (3.0f * u * u - 4.0f * u) * 0.5f;
    dw[2] = (-3.0f * u * u + 2.0f * u + 1.0f) * 0.5f;
    dw[3] = 0.5f * u * u;
    *k = kk;
}

/* Bins k-1..k+2 of a value range over [-3, BINS+3] (hist_t keeps k in [-2, BINS+1]); the kernels
 * work on a padded row of HIST_PAD bins offset by 3 and fold the padding into the end bins once. */
#define HIST_PAD (PS_FEAT_HIST_BINS + 7)

static inline int hist_clampbin(int b)
{
    return b < 0 ? 0 : b >= PS_FEAT_HIST_BINS ? PS_FEAT_HIST_BINS - 1 : b;
}

/* t is not clamped to the range: a value past an end keeps spreading over virtual bins that fold
 * into the end bin, which keeps the map C2 across the ends too. Two bins out, all four weights
 * fold into the end bin and nothing changes any more, so clamping there is exact. */
static inline float hist_t(float x, float lo, float hi, float *dt)
{
    float step = (hi - lo) / (PS_FEAT_HIST_BINS - 1), t = (x - lo) * (1.0f / step);
    const float tmin = -2.0f, tmax = (float)(PS_FEAT_HIST_BINS + 1);
    if (t <= tmin || t >= tmax) {
        *dt = 0.0f;
        return t <= tmin ? tmin : tmax;
    }
    *dt = 1.0f / step;
    return t;
}

void ps_feat__hist_forward(float *out, const float *in, int N, int C, int HW, const float *lo,
                           const float *hi)
{
    const float inv = 1.0f / HW;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *x = in + ((size_t)n * C + c) * HW;
            double pad[HIST_PAD] = {0}, acc[PS_FEAT_HIST_BINS] = {0};
            for (int i = 0; i < HW; i++) {
                float dt, w[4], dw[4];
                int k;
                hist_weights(hist_t(x[i], lo[c], hi[c], &dt), &k, w, dw);
                for (int j = 0; j < 4; j++)
                    pad[k + 2 + j] += w[j];
            }
            for (int b = 0; b < HIST_PAD; b++)
                acc[hist_clampbin(b - 3)] += pad[b];
            float *o = out + ((size_t)n * C + c) * PS_FEAT_HIST_BINS;
            for (int b = 0; b < PS_FEAT_HIST_BINS; b++)
                o[b] = (float)acc[b] * inv;
        }
}

void ps_feat__hist_backward(float *din, const float *dout, const float *in, int N, int C, int HW,
                            const float *lo, const float *hi)
{
    const float inv = 1.0f / HW;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            size_t base = ((size_t)n * C + c) * HW;
            const float *g = dout + ((size_t)n * C + c) * PS_FEAT_HIST_BINS;
            float gp[HIST_PAD];
            for (int b = 0; b < HIST_PAD; b++)
                gp[b] = g[hist_clampbin(b - 3)];
            for (int i = 0; i < HW; i++) {
                float dt, w[4], dw[4];
                int k;
                hist_weights(hist_t(in[base + i], lo[c], hi[c], &dt), &k, w, dw);
                if (dt == 0.0f)
                    continue;
                float s = 0.0f;
                for (int j = 0; j < 4; j++)
                    s += gp[k + 2 + j] * dw[j];
                din[base + i] += s * dt * inv;
            }
        }
}

/* ---- log-like compression ----------------------------------------------------------------- */
/* y = asinh(x / s0): linear below the scale s0, logarithmic above, odd. Energies and covariances
 * of filter responses span orders of magnitude between a flat sky and a hatched drawing;
 * compressing them makes a doubling of texture energy count the same at every contrast (Weber),
 * so faint grain on a smooth photo is as visible to the loss as it is to a viewer. s0 has one
 * entry per statistic of a sample (D = numel / N). */
void ps_feat__asinh_forward(float *out, const float *in, int N, int D, const float *s0)
{
    for (int n = 0; n < N; n++)
        for (int j = 0; j < D; j++)
            out[(size_t)n * D + j] = asinhf(in[(size_t)n * D + j] / s0[j]);
}

void ps_feat__asinh_backward(float *din, const float *dout, const float *in, int N, int D,
                             const float *s0)
{
    for (int n = 0; n < N; n++)
        for (int j = 0; j < D; j++) {
            float x = in[(size_t)n * D + j];
            din[(size_t)n * D + j] += dout[(size_t)n * D + j] / sqrtf(x * x + s0[j] * s0[j]);
        }
}

/* ---- covariance -> compressed variances and correlations -------------------------------- */
/* For each (C,C) covariance: off-diagonal c_ij -> c_ij / sqrt((c_ii + e)(c_jj + e)), a
 * correlation, independent of contrast (Portilla-Simoncelli's choice); diagonal c_ii ->
 * asinh(c_ii / e), the log-compressed variance. e = s0^2 with s0 the energy scale. */
void ps_feat__corr_forward(float *out, const float *in, int M, int C, float e)
{
    for (int m = 0; m < M; m++) {
        const float *c = in + (size_t)m * C * C;
        float *o = out + (size_t)m * C * C;
        for (int i = 0; i < C; i++)
            for (int j = 0; j < C; j++)
                o[i * C + j] = i == j ? asinhf(c[i * C + i] / e)
                                      : c[i * C + j] /
                                            sqrtf((c[i * C + i] + e) * (c[j * C + j] + e));
    }
}

void ps_feat__corr_backward(float *din, const float *dout, const float *in, const float *out,
                            int M, int C, float e)
{
    for (int m = 0; m < M; m++) {
        const float *c = in + (size_t)m * C * C, *o = out + (size_t)m * C * C,
                    *g = dout + (size_t)m * C * C;
        float *d = din + (size_t)m * C * C;
        for (int i = 0; i < C; i++)
            for (int j = 0; j < C; j++) {
                float ai = c[i * C + i] + e, aj = c[j * C + j] + e;
                if (i == j) {
                    d[i * C + i] += g[i * C + i] / sqrtf(c[i * C + i] * c[i * C + i] + e * e);
                    continue;
                }
                float r = o[i * C + j], gg = g[i * C + j];
                d[i * C + j] += gg / sqrtf(ai * aj);
                d[i * C + i] -= 0.5f * gg * r / ai;
                d[j * C + j] -= 0.5f * gg * r / aj;
            }
    }
}

/* ---- tape wrappers ------------------------------------------------------------------------- */
/* Outputs get a gradient only when an input has one, as the engine's own ops do, so metric-only
 * passes (constant targets, bench) record nothing. */
static ps_tensor *feat_out(ps_graph *g, int need_grad, int n, int c, int h, int w)
{
    return need_grad ? ps_tensor_new(g, n, c, h, w) : ps_tensor_const(g, n, c, h, w);
}

static int feat_live(ps_graph *g, const ps_tensor *x)
{
    return x && ps_graph_status(g) == PS_OK;
}

/* One context shape serves the unary map ops: input, output, and the kernel's extra arguments. */
typedef struct {
    ps_tensor *x, *y;
    const float *lo, *hi; /* per-channel or per-statistic constants of the op */
    float e;              /* a scalar constant of the op */
} unary_ctx;

static ps_tensor *unary_op(ps_graph *g, ps_tensor *x, int c, int h, int w, ps_backward_fn bwd,
                           const float *lo, const float *hi, float e)
{
    ps_tensor *y = feat_out(g, x->grad != NULL, x->n, c, h, w);
    if (!y)
        return NULL;
    if (y->grad) {
        unary_ctx *k = ps_graph_ctx(g, sizeof *k);
        if (!k)
            return NULL;
        *k = (unary_ctx){x, y, lo, hi, e};
        ps_graph_push(g, bwd, k);
    }
    return y;
}

typedef struct {
    ps_tensor *x, *y;
    float *df; /* f' of every input element */
} opp_ctx;

static void opp_bwd(void *p)
{
    opp_ctx *k = p;
    ps_feat__opp_backward(k->x->grad, k->y->grad, k->df, k->x->n, k->x->h * k->x->w);
}

ps_tensor *ps_feat__opp(ps_graph *g, ps_tensor *x)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = feat_out(g, x->grad != NULL, x->n, 3, x->h, x->w);
    if (!y)
        return NULL;
    opp_ctx *k = NULL;
    if (y->grad) {
        k = ps_graph_ctx(g, sizeof *k);
        float *df = ps_arena_alloc(ps_graph_arena(g), ps_tensor_numel(x) * sizeof(float));
        if (!k || !df)
            return NULL;
        *k = (opp_ctx){x, y, df};
        ps_graph_push(g, opp_bwd, k);
    }
    ps_feat__opp_forward(y->data, k ? k->df : NULL, x->data, x->n, x->h * x->w);
    return y;
}

static void mag_bwd(void *p)
{
    unary_ctx *k = p;
    ps_feat__mag_backward(k->x->grad, k->y->grad, k->x->data, k->y->data, k->x->n, k->y->c,
                          k->x->h * k->x->w);
}

ps_tensor *ps_feat__mag(ps_graph *g, ps_tensor *x)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = unary_op(g, x, x->c / 2, x->h, x->w, mag_bwd, NULL, NULL, 0.0f);
    if (y)
        ps_feat__mag_forward(y->data, x->data, x->n, x->c / 2, x->h * x->w);
    return y;
}

static void stprod_bwd(void *p)
{
    unary_ctx *k = p;
    ps_feat__stprod_backward(k->x->grad, k->y->grad, k->x->data, k->x->n, k->x->h * k->x->w);
}

ps_tensor *ps_feat__stprod(ps_graph *g, ps_tensor *x)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = unary_op(g, x, 3, x->h, x->w, stprod_bwd, NULL, NULL, 0.0f);
    if (y)
        ps_feat__stprod_forward(y->data, x->data, x->n, x->h * x->w);
    return y;
}

static void orient_bwd(void *p)
{
    unary_ctx *k = p;
    ps_feat__orient_backward(k->x->grad, k->y->grad, k->x->data, k->x->n, k->x->h * k->x->w);
}

ps_tensor *ps_feat__orient(ps_graph *g, ps_tensor *x)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = unary_op(g, x, 5, x->h, x->w, orient_bwd, NULL, NULL, 0.0f);
    if (y)
        ps_feat__orient_forward(y->data, x->data, x->n, x->h * x->w);
    return y;
}

static void moments_bwd(void *p)
{
    unary_ctx *k = p;
    ps_feat__moments_backward(k->x->grad, k->y->grad, k->x->data, k->y->data, k->x->n, k->x->c,
                              k->x->h * k->x->w, k->e);
}

ps_tensor *ps_feat__moments(ps_graph *g, ps_tensor *x, float delta)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = unary_op(g, x, 1, 1, 3 * x->c, moments_bwd, NULL, NULL, delta);
    if (y)
        ps_feat__moments_forward(y->data, x->data, x->n, x->c, x->h * x->w, delta);
    return y;
}

static void hist_bwd(void *p)
{
    unary_ctx *k = p;
    ps_feat__hist_backward(k->x->grad, k->y->grad, k->x->data, k->x->n, k->x->c,
                           k->x->h * k->x->w, k->lo, k->hi);
}

ps_tensor *ps_feat__hist(ps_graph *g, ps_tensor *x, const float *lo, const float *hi)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = unary_op(g, x, 1, 1, PS_FEAT_HIST_BINS * x->c, hist_bwd, lo, hi, 0.0f);
    if (y)
        ps_feat__hist_forward(y->data, x->data, x->n, x->c, x->h * x->w, lo, hi);
    return y;
}

static void asinh_bwd(void *p)
{
    unary_ctx *k = p;
    int D = (int)(ps_tensor_numel(k->x) / k->x->n);
    ps_feat__asinh_backward(k->x->grad, k->y->grad, k->x->data, k->x->n, D, k->lo);
}

ps_tensor *ps_feat__asinh(ps_graph *g, ps_tensor *x, const float *s0)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = unary_op(g, x, x->c, x->h, x->w, asinh_bwd, s0, NULL, 0.0f);
    if (y)
        ps_feat__asinh_forward(y->data, x->data, x->n, (int)(ps_tensor_numel(x) / x->n), s0);
    return y;
}

typedef struct {
    ps_tensor *x, *y;
    float e;
} corr_ctx;

static void corr_bwd(void *p)
{
    corr_ctx *k = p;
    ps_feat__corr_backward(k->x->grad, k->y->grad, k->x->data, k->y->data, k->x->n * k->x->c,
                           k->x->w, k->e);
}

ps_tensor *ps_feat__corr(ps_graph *g, ps_tensor *x, float e)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = feat_out(g, x->grad != NULL, x->n, x->c, x->h, x->w);
    if (!y)
        return NULL;
    ps_feat__corr_forward(y->data, x->data, x->n * x->c, x->w, e);
    if (y->grad) {
        corr_ctx *k = ps_graph_ctx(g, sizeof *k);
        if (!k)
            return NULL;
        *k = (corr_ctx){x, y, e};
        ps_graph_push(g, corr_bwd, k);
    }
    return y;
}

/* ---- slice, ratio, pack -------------------------------------------------------------------- */
typedef struct {
    ps_tensor *x, *y;
    int c0;
} slice_ctx;

static void slice_bwd(void *p)
{
    slice_ctx *k = p;
    size_t hw = (size_t)k->x->h * k->x->w, span = (size_t)k->y->c * hw;
    for (int n = 0; n < k->x->n; n++) {
        float *d = k->x->grad + ((size_t)n * k->x->c + k->c0) * hw;
        const float *s = k->y->grad + n * span;
        for (size_t i = 0; i < span; i++)
            d[i] += s[i];
    }
}

ps_tensor *ps_feat__slice(ps_graph *g, ps_tensor *x, int c0, int k)
{
    if (!feat_live(g, x))
        return NULL;
    ps_tensor *y = feat_out(g, x->grad != NULL, x->n, k, x->h, x->w);
    if (!y)
        return NULL;
    size_t hw = (size_t)x->h * x->w;
    for (int n = 0; n < x->n; n++)
        memcpy(y->data + n * k * hw, x->data + ((size_t)n * x->c + c0) * hw,
               k * hw * sizeof(float));
    if (y->grad) {
        slice_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (slice_ctx){x, y, c0};
        ps_graph_push(g, slice_bwd, c);
    }
    return y;
}

typedef struct {
    ps_tensor *a, *b, *y;
    int ia, ib;
} ratio_ctx;

static void ratio_bwd(void *p)
{
    ratio_ctx *k = p;
    size_t sa = ps_tensor_numel(k->a) / k->y->n, sb = ps_tensor_numel(k->b) / k->y->n;
    for (int n = 0; n < k->y->n; n++) {
        float a = k->a->data[n * sa + k->ia], b = k->b->data[n * sb + k->ib];
        float s = a + b + PS_FEAT_RATIO_EPS, gy = k->y->grad[n] / (s * s);
        if (k->a->grad)
            k->a->grad[n * sa + k->ia] += gy * (b + PS_FEAT_RATIO_EPS);
        if (k->b->grad)
            k->b->grad[n * sb + k->ib] -= gy * a;
    }
}

ps_tensor *ps_feat__ratio(ps_graph *g, ps_tensor *a, int ia, ps_tensor *b, int ib)
{
    if (!feat_live(g, a) || !feat_live(g, b))
        return NULL;
    ps_tensor *y = feat_out(g, a->grad || b->grad, a->n, 1, 1, 1);
    if (!y)
        return NULL;
    size_t sa = ps_tensor_numel(a) / a->n, sb = ps_tensor_numel(b) / a->n;
    for (int n = 0; n < a->n; n++) {
        float va = a->data[n * sa + ia], vb = b->data[n * sb + ib];
        y->data[n] = va / (va + vb + PS_FEAT_RATIO_EPS);
    }
    if (y->grad) {
        ratio_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ratio_ctx){a, b, y, ia, ib};
        ps_graph_push(g, ratio_bwd, c);
    }
    return y;
}

typedef struct {
    ps_tensor *y;
    int nsrc;
    ps_feat__src *src; /* idx arrays copied into the arena, so callers may use stack arrays */
    const float *scale;
} pack_ctx;

static void pack_bwd(void *p)
{
    pack_ctx *k = p;
    int D = k->y->w, j = 0;
    for (int s = 0; s < k->nsrc; s++) {
        ps_feat__src *src = &k->src[s];
        size_t per = ps_tensor_numel(src->t) / k->y->n;
        if (src->t->grad)
            for (int n = 0; n < k->y->n; n++)
                for (int i = 0; i < src->count; i++) {
                    float gy = k->y->grad[(size_t)n * D + j + i];
                    src->t->grad[n * per + src->idx[i]] += k->scale ? gy / k->scale[j + i] : gy;
                }
        j += src->count;
    }
}

ps_tensor *ps_feat__pack(ps_graph *g, int N, const ps_feat__src *src, int nsrc, const float *off,
                         const float *scale)
{
    int D = 0, need = 0;
    for (int s = 0; s < nsrc; s++) {
        if (!feat_live(g, src[s].t))
            return NULL;
        D += src[s].idx ? src[s].count : (int)(ps_tensor_numel(src[s].t) / N);
        need |= src[s].t->grad != NULL;
    }
    ps_tensor *y = feat_out(g, need, N, 1, 1, D);
    pack_ctx *k = ps_graph_ctx(g, sizeof *k);
    ps_feat__src *cp = ps_graph_ctx(g, (size_t)nsrc * sizeof *cp);
    if (!y || !k || !cp)
        return NULL;
    int j = 0;
    for (int s = 0; s < nsrc; s++) {
        size_t per = ps_tensor_numel(src[s].t) / N;
        int cnt = src[s].idx ? src[s].count : (int)per;
        int *idx = ps_graph_ctx(g, (size_t)cnt * sizeof *idx);
        if (!idx)
            return NULL;
        for (int i = 0; i < cnt; i++)
            idx[i] = src[s].idx ? src[s].idx[i] : i;
        cp[s] = (ps_feat__src){src[s].t, idx, cnt};
        for (int n = 0; n < N; n++)
            for (int i = 0; i < cnt; i++) {
                float v = src[s].t->data[n * per + idx[i]];
                if (off)
                    v -= off[j + i];
                if (scale)
                    v /= scale[j + i];
                y->data[(size_t)n * D + j + i] = v;
            }
        j += cnt;
    }
    if (y->grad) {
        *k = (pack_ctx){y, nsrc, cp, scale};
        ps_graph_push(g, pack_bwd, k);
    }
    return y;
}
