/* Normalisation and second-order statistics: instance norm (per (n,c) over H*W), layer norm
 * (over the last dim, with gain and bias) and the centered Gram/covariance matrix. */
#include "nn_impl.h"
#include <math.h>

/* Normalise rows of length len: xhat = (x - mean) * rstd. Statistics in double: the generator's
 * maps reach 65k pixels per row, where float sums lose the variance of near-constant maps. */
static void ps_norm_rows(float *xhat, float *rstd, const float *x, size_t rows, size_t len,
                         float eps)
{
#pragma omp parallel for if (rows * len > PS_NN_OMP_MIN) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        double s = 0.0, ss = 0.0;
        for (size_t i = 0; i < len; i++)
            s += xr[i];
        double mean = s / len;
        for (size_t i = 0; i < len; i++) {
            double d = xr[i] - mean;
            ss += d * d;
        }
        float rs = (float)(1.0 / sqrt(ss / len + eps)), m = (float)mean;
        rstd[r] = rs;
        for (size_t i = 0; i < len; i++)
            xhat[r * len + i] = (xr[i] - m) * rs;
    }
}

/* dx += rstd * (dxh - mean(dxh) - xhat * mean(dxh * xhat)), per row; dxh given per row by
 * dy (times gamma when gamma is non-NULL). */
static void ps_norm_rows_bwd(float *dx, const float *dy, const float *gamma, const float *xhat,
                             const float *rstd, size_t rows, size_t len)
{
#pragma omp parallel for if (rows * len > PS_NN_OMP_MIN) schedule(static)
    for (size_t r = 0; r < rows; r++) {
        const float *d = dy + r * len, *xh = xhat + r * len;
        double s = 0.0, sx = 0.0;
        for (size_t i = 0; i < len; i++) {
            float g = d[i] * (gamma ? gamma[i] : 1.0f);
            s += g;
            sx += (double)g * xh[i];
        }
        float ms = (float)(s / len), msx = (float)(sx / len), rs = rstd[r];
        float *o = dx + r * len;
        for (size_t i = 0; i < len; i++)
            o[i] += rs * (d[i] * (gamma ? gamma[i] : 1.0f) - ms - xh[i] * msx);
    }
}

typedef struct {
    ps_tensor *x, *gamma, *beta, *y;
    float *xhat, *rstd;
    size_t rows, len;
} ps_norm_ctx;

static void ps_norm_bwd(void *p)
{
    ps_norm_ctx *c = p;
    const float *dy = c->y->grad;
    if (c->x->grad)
        ps_norm_rows_bwd(c->x->grad, dy, c->gamma ? c->gamma->data : NULL, c->xhat, c->rstd,
                         c->rows, c->len);
    if (c->gamma && c->gamma->grad)
        for (size_t r = 0; r < c->rows; r++)
            for (size_t i = 0; i < c->len; i++)
                c->gamma->grad[i] += dy[r * c->len + i] * c->xhat[r * c->len + i];
    if (c->beta && c->beta->grad)
        for (size_t r = 0; r < c->rows; r++)
            for (size_t i = 0; i < c->len; i++)
                c->beta->grad[i] += dy[r * c->len + i];
}

/* Shared by instnorm (rows = N*C of length H*W, no affine) and layernorm (rows of length W). */
static ps_tensor *ps_norm(ps_graph *g, ps_tensor *x, ps_tensor *gamma, ps_tensor *beta,
                          size_t len, float eps)
{
    size_t rows = ps_tensor_numel(x) / len;
    int need = x->grad || (gamma && gamma->grad) || (beta && beta->grad);
    ps_tensor *y = ps_nn_out(g, need, x->n, x->c, x->h, x->w);
    float *rstd = ps_nn_alloc(g, rows * sizeof(float));
    /* y doubles as xhat when there is no affine part; otherwise xhat gets its own buffer */
    float *xhat = (gamma || beta) ? ps_nn_alloc(g, rows * len * sizeof(float))
                                  : (y ? y->data : NULL);
    if (!y || !rstd || !xhat)
        return NULL;
    ps_norm_rows(xhat, rstd, x->data, rows, len, eps);
    if (gamma || beta)
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < len; i++)
                y->data[r * len + i] = xhat[r * len + i] * (gamma ? gamma->data[i] : 1.0f) +
                                       (beta ? beta->data[i] : 0.0f);
    if (y->grad) {
        ps_norm_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_norm_ctx){x, gamma, beta, y, xhat, rstd, rows, len};
        ps_graph_push(g, ps_norm_bwd, c);
    }
    return y;
}

ps_tensor *ps_instnorm(ps_graph *g, ps_tensor *x, float eps)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    return ps_norm(g, x, NULL, NULL, (size_t)x->h * x->w, eps);
}

ps_tensor *ps_layernorm(ps_graph *g, ps_tensor *x, ps_tensor *gamma, ps_tensor *beta, float eps)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if ((gamma && ps_tensor_numel(gamma) != (size_t)x->w) ||
        (beta && ps_tensor_numel(beta) != (size_t)x->w))
        return ps_nn_bad(g, "layernorm: gamma/beta must have %d values", x->w);
    return ps_norm(g, x, gamma, beta, (size_t)x->w, eps);
}

/* ---- gram: G[n] = Xc Xc^T / HW with Xc = X - mean over H*W; (N,C,H,W) -> (N,1,C,C) ---------- */
typedef struct {
    ps_graph *g;
    ps_tensor *x, *y;
    float *mean; /* (N*C) */
} ps_gram_ctx;

static void ps_gram_center(float *xc, const float *x, const float *mean, int C, size_t hw)
{
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < hw; i++)
            xc[c * hw + i] = x[c * hw + i] - mean[c];
}

static void ps_gram_bwd(void *p)
{
    ps_gram_ctx *c = p;
    const ps_tensor *x = c->x;
    int C = x->c;
    size_t hw = (size_t)x->h * x->w;
    float *xc = ps_nn_scratch(c->g, (size_t)C * hw + (size_t)C * C);
    if (!xc)
        return;
    float *sym = xc + (size_t)C * hw;
    for (int n = 0; n < x->n; n++) {
        /* dXc = (dG + dG^T) Xc / HW; the centering adds nothing since rows of Xc sum to 0 */
        const float *dg = c->y->grad + (size_t)n * C * C;
        for (int i = 0; i < C; i++)
            for (int j = 0; j < C; j++)
                sym[i * C + j] = dg[i * C + j] + dg[j * C + i];
        ps_gram_center(xc, x->data + n * C * hw, c->mean + (size_t)n * C, C, hw);
        ps_nn_gemm(0, 0, C, (int)hw, C, 1.0f / hw, sym, C, xc, (int)hw, 1.0f,
                   x->grad + n * C * hw, (int)hw);
    }
}

ps_tensor *ps_gram(ps_graph *g, ps_tensor *x)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    int C = x->c;
    size_t hw = (size_t)x->h * x->w;
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, 1, C, C);
    float *mean = ps_nn_alloc(g, (size_t)x->n * C * sizeof(float));
    float *xc = ps_nn_scratch(g, (size_t)C * hw);
    if (!y || !mean || !xc)
        return NULL;
    for (int n = 0; n < x->n; n++) {
        const float *xn = x->data + n * C * hw;
        for (int c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t i = 0; i < hw; i++)
                s += xn[c * hw + i];
            mean[n * C + c] = (float)(s / hw);
        }
        ps_gram_center(xc, xn, mean + n * C, C, hw);
        ps_nn_gemm(0, 1, C, C, (int)hw, 1.0f / hw, xc, (int)hw, xc, (int)hw, 0.0f,
                   y->data + (size_t)n * C * C, C);
    }
    if (y->grad) {
        ps_gram_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_gram_ctx){g, x, y, mean};
        ps_graph_push(g, ps_gram_bwd, c);
    }
    return y;
}
