/* SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) as a metric and as a differentiable loss, and PSNR.
 * Both compare sRGB-encoded luma, i.e. what a viewer sees, not linear light: SSIM's constants
 * C1 = (0.01)^2, C2 = (0.03)^2 assume perceptually coded data with dynamic range 1. */
#include "src/feat/feat_impl.h"
#include "src/img/srgb.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIN PS_FEAT_SSIM_WIN
#define SSIM_C1 1e-4
#define SSIM_C2 9e-4

/* Normalized 7-tap Gaussian, sigma 1.5 (Wang et al. use 11 taps; 7 keep +-2 sigma and make the
 * loss usable on small crops). */
static void ssim_taps(float t[WIN])
{
    double s = 0.0, e[WIN];
    for (int i = 0; i < WIN; i++) {
        double x = i - WIN / 2;
        s += e[i] = exp(-x * x / (2.0 * 1.5 * 1.5));
    }
    for (int i = 0; i < WIN; i++)
        t[i] = (float)(e[i] / s);
}

void ps_feat__luma(float *y, float *dy, const float *x, int c, int hw)
{
    static const float w3[3] = {0.299f, 0.587f, 0.114f}, w1[1] = {1.0f};
    const float *wt = c == 3 ? w3 : w1;
    for (int i = 0; i < hw; i++)
        y[i] = 0.0f;
    for (int k = 0; k < c; k++)
        for (int i = 0; i < hw; i++) {
            float d;
            y[i] += wt[k] * ps_linear_to_srgb_clamped(x[(size_t)k * hw + i], &d);
            if (dy)
                dy[(size_t)k * hw + i] = wt[k] * d;
        }
}

size_t ps_feat__ssim_scratch(int h, int w)
{
    size_t ow = (size_t)(w - WIN + 1), oh = (size_t)(h - WIN + 1);
    return 5 * (size_t)h * ow + 5 * oh * ow + 3 * (size_t)h * w;
}

/* Valid correlation of k planes with the separable window: in (k,h,w) -> tmp (k,h,ow) -> out
 * (k,oh,ow). */
static void win_filter(float *out, float *tmp, const float *const *in, int k, int h, int w)
{
    float t[WIN];
    ssim_taps(t);
    int oh = h - WIN + 1, ow = w - WIN + 1;
    for (int p = 0; p < k; p++) {
        float *tp = tmp + (size_t)p * h * ow;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < ow; x++) {
                const float *r = in[p] + (size_t)y * w + x;
                float s = 0.0f;
                for (int j = 0; j < WIN; j++)
                    s += t[j] * r[j];
                tp[(size_t)y * ow + x] = s;
            }
        float *op = out + (size_t)p * oh * ow;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float s = 0.0f;
                for (int j = 0; j < WIN; j++)
                    s += t[j] * tp[(size_t)(y + j) * ow + x];
                op[(size_t)y * ow + x] = s;
            }
    }
}

/* Transpose of win_filter for k planes: in (k,oh,ow) -> tmp (k,h,ow) -> out (k,h,w). */
static void win_filter_t(float *out, float *tmp, const float *in, int k, int h, int w)
{
    float t[WIN];
    ssim_taps(t);
    int oh = h - WIN + 1, ow = w - WIN + 1;
    memset(tmp, 0, (size_t)k * h * ow * sizeof(float));
    memset(out, 0, (size_t)k * h * w * sizeof(float));
    for (int p = 0; p < k; p++) {
        const float *ip = in + (size_t)p * oh * ow;
        float *tp = tmp + (size_t)p * h * ow, *op = out + (size_t)p * h * w;
        for (int y = 0; y < oh; y++)
            for (int j = 0; j < WIN; j++)
                for (int x = 0; x < ow; x++)
                    tp[(size_t)(y + j) * ow + x] += t[j] * ip[(size_t)y * ow + x];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < ow; x++)
                for (int j = 0; j < WIN; j++)
                    op[(size_t)y * w + x + j] += t[j] * tp[(size_t)y * ow + x];
    }
}

double ps_feat__ssim_plane(const float *ya, const float *yb, int h, int w, float *da, float *db,
                           float *scratch)
{
    int oh = h - WIN + 1, ow = w - WIN + 1;
    size_t m = (size_t)oh * ow, hw = (size_t)h * w;
    float *tmp = scratch, *mu = scratch + 5 * (size_t)h * ow;
    float *ma = mu, *mb = mu + m, *eaa = mu + 2 * m, *ebb = mu + 3 * m, *eab = mu + 4 * m;
    float *sq = mu + 5 * m; /* a^2, b^2, ab; later the transposed maps */
    for (size_t i = 0; i < hw; i++) {
        sq[i] = ya[i] * ya[i];
        sq[hw + i] = yb[i] * yb[i];
        sq[2 * hw + i] = ya[i] * yb[i];
    }
    const float *planes[5] = {ya, yb, sq, sq + hw, sq + 2 * hw};
    win_filter(mu, tmp, planes, 5, h, w);
    double total = 0.0;
    for (size_t i = 0; i < m; i++) {
        double a = ma[i], b = mb[i];
        double va = eaa[i] - a * a, vb = ebb[i] - b * b, cab = eab[i] - a * b;
        double n1 = 2 * a * b + SSIM_C1, n2 = 2 * cab + SSIM_C2;
        double d1 = a * a + b * b + SSIM_C1, d2 = va + vb + SSIM_C2;
        double s = n1 * n2 / (d1 * d2);
        total += s;
        if (da) {
            /* partials w.r.t. the window sums mu_a, E[a^2], E[ab] (and b's by symmetry) */
            double dva = -s / d2, dcab = 2 * n1 / (d1 * d2);
            double dma = 2 * b * n2 / (d1 * d2) - 2 * a * s / d1;
            double dmb = 2 * a * n2 / (d1 * d2) - 2 * b * s / d1;
            ma[i] = (float)((dma - 2 * dva * a - dcab * b) / m); /* d/d mu_a */
            mb[i] = (float)((dmb - 2 * dva * b - dcab * a) / m); /* d/d mu_b */
            eaa[i] = (float)(dva / m);                            /* d/d E[a^2] */
            ebb[i] = (float)(dva / m);                            /* d/d E[b^2] */
            eab[i] = (float)(dcab / m);                           /* d/d E[ab] */
        }
    }
    if (da) {
        float *back = sq; /* 3 planes of h*w: the 5 transposed maps go in two passes */
        win_filter_t(back, tmp, mu, 3, h, w); /* mu_a, mu_b, E[a^2] */
        for (size_t i = 0; i < hw; i++) {
            da[i] = back[i] + 2 * ya[i] * back[2 * hw + i];
            db[i] = back[hw + i];
        }
        win_filter_t(back, tmp, mu + 3 * m, 2, h, w); /* E[b^2], E[ab] */
        for (size_t i = 0; i < hw; i++) {
            db[i] += 2 * yb[i] * back[i] + ya[i] * back[hw + i];
            da[i] += yb[i] * back[hw + i];
        }
    }
    return total / m;
}

/* ---- the loss on the tape ------------------------------------------------------------------ */
/* The gradient is computed eagerly with the forward (one pass over the windows instead of two)
 * and kept in the arena; backward only scales it by the incoming gradient. */
typedef struct {
    ps_tensor *a, *b, *y;
    float *ga, *gb; /* d(loss)/d(a), d(loss)/d(b) */
} ssim_ctx;

static void ssim_bwd(void *p)
{
    ssim_ctx *k = p;
    size_t n = ps_tensor_numel(k->a);
    float gy = k->y->grad[0];
    if (k->a->grad)
        for (size_t i = 0; i < n; i++)
            k->a->grad[i] += gy * k->ga[i];
    if (k->b->grad)
        for (size_t i = 0; i < n; i++)
            k->b->grad[i] += gy * k->gb[i];
}

ps_tensor *ps_feat_ssim_loss(ps_graph *g, ps_tensor *a, ps_tensor *b)
{
    if (!a || !b || ps_graph_status(g) != PS_OK)
        return NULL;
    if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w || (a->c != 3 && a->c != 1) ||
        a->h < WIN || a->w < WIN) {
        ps_fail(PS_EUSAGE,
                "ssim loss: need two equal (N,3|1,H>=7,W>=7) images, got (%d,%d,%d,%d) and "
                "(%d,%d,%d,%d)",
                a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w);
        return NULL;
    }
    int need = ps_graph_grad_on(g) && (a->grad || b->grad);
    ps_tensor *y = need ? ps_tensor_new(g, 1, 1, 1, 1) : ps_tensor_const(g, 1, 1, 1, 1);
    int N = a->n, C = a->c, H = a->h, W = a->w;
    size_t hw = (size_t)H * W, per = (size_t)C * hw;
    ps_arena *ar = ps_graph_arena(g);
    float *ya = ps_arena_alloc(ar, 4 * hw * sizeof(float));
    float *dxa = ps_arena_alloc(ar, 2 * per * sizeof(float));
    float *scratch = ps_arena_alloc(ar, ps_feat__ssim_scratch(H, W) * sizeof(float));
    ssim_ctx *k = ps_graph_ctx(g, sizeof *k);
    float *ga = need ? ps_arena_alloc(ar, 2 * (size_t)N * per * sizeof(float)) : NULL;
    if (!y || !ya || !dxa || !scratch || !k || (need && !ga)) {
        ps_fail(PS_EINTERNAL, "ssim loss: out of memory");
        return NULL;
    }
    float *yb = ya + hw, *da = yb + hw, *db = da + hw, *dxb = dxa + per;
    double sum = 0.0;
    for (int n = 0; n < N; n++) {
        ps_feat__luma(ya, need ? dxa : NULL, a->data + n * per, C, (int)hw);
        ps_feat__luma(yb, need ? dxb : NULL, b->data + n * per, C, (int)hw);
        double s = ps_feat__ssim_plane(ya, yb, H, W, need ? da : NULL, need ? db : NULL, scratch);
        sum += s;
        if (need)
            for (int c = 0; c < C; c++)
                for (size_t i = 0; i < hw; i++) {
                    size_t j = (size_t)c * hw + i;
                    ga[n * per + j] = -da[i] * dxa[j] / N;
                    ga[(size_t)N * per + n * per + j] = -db[i] * dxb[j] / N;
                }
    }
    y->data[0] = (float)(1.0 - sum / N);
    if (need) {
        *k = (ssim_ctx){a, b, y, ga, ga + (size_t)N * per};
        ps_graph_push(g, ssim_bwd, k);
    }
    return y;
}

/* ---- metrics ------------------------------------------------------------------------------- */
double ps_feat_ssim(const float *a, const float *b, int c, int h, int w)
{
    if ((c != 1 && c != 3) || h < WIN || w < WIN)
        return NAN;
    size_t hw = (size_t)h * w;
    float *y = malloc((2 * hw + ps_feat__ssim_scratch(h, w)) * sizeof(float));
    if (!y)
        return NAN;
    ps_feat__luma(y, NULL, a, c, (int)hw);
    ps_feat__luma(y + hw, NULL, b, c, (int)hw);
    double s = ps_feat__ssim_plane(y, y + hw, h, w, NULL, NULL, y + 2 * hw);
    free(y);
    return s;
}

double ps_feat_psnr(const float *a, const float *b, int c, int h, int w)
{
    size_t n = (size_t)c * h * w;
    double se = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d0, d1;
        double e = (double)ps_linear_to_srgb_clamped(a[i], &d0) - ps_linear_to_srgb_clamped(b[i], &d1);
        se += e * e;
    }
    if (se == 0.0)
        return INFINITY;
    return 10.0 * log10((double)n / se);
}
