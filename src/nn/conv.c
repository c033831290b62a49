/* 2-D convolution: 3x3 pad-1 convs by conv3.c's direct kernels where the CPU has them, else
 * im2col + sgemm over tiles of output rows (so the column buffer stays a few MB even at 1 MP),
 * 1x1 stride-1 convs straight to sgemm, and naive references in plain loops. */
#include "nn_impl.h"
#include <string.h>

/* Column tiles hold at most this many floats (4 MB): big enough for sgemm to run at full speed,
 * small enough to stay in the last-level cache between im2col and sgemm, and never to need a
 * gigabyte at 1 MP. */
#define PS_CONV_TILE_FLOATS ((size_t)1 << 20)

static int ps_conv_out(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

static int ps_conv_is_pointwise(int K, int stride, int pad)
{
    return K == 1 && stride == 1 && pad == 0;
}

/* Output rows per column tile: whole image when it fits, else as many rows as fit (>= 1). */
static int ps_conv_tile_rows(int C, int K, int OH, int OW)
{
    size_t row = (size_t)C * K * K * OW;
    size_t rows = PS_CONV_TILE_FLOATS / (row ? row : 1);
    if (rows < 1)
        rows = 1;
    return rows > (size_t)OH ? OH : (int)rows;
}

static size_t ps_conv_col_floats(int C, int H, int W, int K, int stride, int pad)
{
    if (ps_conv_is_pointwise(K, stride, pad))
        return 1;
    int OH = ps_conv_out(H, K, stride, pad), OW = ps_conv_out(W, K, stride, pad);
    return (size_t)C * K * K * OW * ps_conv_tile_rows(C, K, OH, OW);
}

size_t ps_conv2d_scratch_floats(int C, int H, int W, int OC, int K, int stride, int pad)
{
    if (ps_conv2d_is_direct(K, stride, pad))
        return ps_conv3_fwd_scratch(C, H, W, OC, stride);
    return ps_conv_col_floats(C, H, W, K, stride, pad);
}

size_t ps_conv2d_backward_scratch_floats(int C, int H, int W, int OC, int K, int stride, int pad)
{
    size_t col = 2 * ps_conv_col_floats(C, H, W, K, stride, pad);
    if (!ps_conv2d_is_direct(K, stride, pad))
        return col;
    size_t direct = ps_conv3_bwd_scratch(C, H, W, OC, stride);
    return stride == 1 || direct > col ? direct : col; /* stride 2: din by im2col */
}

/* Output columns [*lo, *hi) whose input column ox*stride - pad + kx lies inside [0, W): the
 * rest of a column row is padding, so the copy loops below need no per-element test. */
static void ps_conv_valid_cols(int W, int OW, int kx, int stride, int pad, int *lo, int *hi)
{
    int first = pad - kx, last = W - 1 + pad - kx; /* need first <= ox*stride <= last */
    int l = first <= 0 ? 0 : (first + stride - 1) / stride;
    int h = last < 0 ? 0 : last / stride + 1;
    *lo = l < OW ? l : OW;
    *hi = h < *lo ? *lo : (h < OW ? h : OW);
}

/* col (C*K*K, rows*OW) for output rows [r0, r0+rows) of one image; zero in the padding.
 * Serial on purpose: it alternates with multi-threaded sgemm calls, and an OpenMP team spinning
 * between regions would steal the cores OpenBLAS is computing on. */
static void ps_im2col(float *col, const float *in, int C, int H, int W, int K, int stride, int pad,
                      int OW, int r0, int rows)
{
    size_t ncols = (size_t)rows * OW;
    for (int ckk = 0; ckk < C * K * K; ckk++) {
        int c = ckk / (K * K), ky = ckk / K % K, kx = ckk % K, lo, hi;
        ps_conv_valid_cols(W, OW, kx, stride, pad, &lo, &hi);
        float *dst = col + (size_t)ckk * ncols;
        const float *src = in + (size_t)c * H * W;
        for (int r = 0; r < rows; r++) {
            int iy = (r0 + r) * stride - pad + ky;
            float *d = dst + (size_t)r * OW;
            if (iy < 0 || iy >= H) {
                memset(d, 0, OW * sizeof(float));
                continue;
            }
            const float *s = src + (size_t)iy * W;
            int off = kx - pad; /* input column of ox is ox * stride + off */
            memset(d, 0, (size_t)lo * sizeof(float));
            if (stride == 1)
                memcpy(d + lo, s + lo + off, (size_t)(hi - lo) * sizeof(float));
            else
                for (int ox = lo; ox < hi; ox++)
                    d[ox] = s[ox * stride + off];
            memset(d + hi, 0, (size_t)(OW - hi) * sizeof(float));
        }
    }
}

/* din += col2im(dcol) for output rows [r0, r0+rows); serial like ps_im2col. */
static void ps_col2im_add(float *din, const float *col, int C, int H, int W, int K, int stride,
                          int pad, int OW, int r0, int rows)
{
    size_t ncols = (size_t)rows * OW;
    for (int ckk = 0; ckk < C * K * K; ckk++) {
        int c = ckk / (K * K), ky = ckk / K % K, kx = ckk % K, lo, hi;
        ps_conv_valid_cols(W, OW, kx, stride, pad, &lo, &hi);
        const float *src = col + (size_t)ckk * ncols;
        float *dst = din + (size_t)c * H * W;
        for (int r = 0; r < rows; r++) {
            int iy = (r0 + r) * stride - pad + ky;
            if (iy < 0 || iy >= H)
                continue;
            float *d = dst + (size_t)iy * W;
            const float *s = src + (size_t)r * OW;
            for (int ox = lo, off = kx - pad; ox < hi; ox++)
                d[ox * stride + off] += s[ox];
        }
    }
}

/* out (N,OC,OH,OW) = w (OC,C,K,K) * in (N,C,H,W) + b (OC) */
void ps_conv2d_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                       int H, int W, int OC, int K, int stride, int pad, float *scratch)
{
    if (ps_conv2d_is_direct(K, stride, pad)) {
        ps_conv3_forward(out, in, w, b, N, C, H, W, OC, stride, scratch);
        return;
    }
    int OH = ps_conv_out(H, K, stride, pad), OW = ps_conv_out(W, K, stride, pad);
    size_t ohw = (size_t)OH * OW, ckk = (size_t)C * K * K;
    int trows = ps_conv_tile_rows(C, K, OH, OW);
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C * H * W;
        float *y = out + (size_t)n * OC * ohw;
        for (int oc = 0; oc < OC; oc++) {
            float bv = b ? b[oc] : 0.0f;
            float *yo = y + (size_t)oc * ohw;
            for (size_t i = 0; i < ohw; i++)
                yo[i] = bv;
        }
        if (ps_conv_is_pointwise(K, stride, pad)) {
            ps_nn_gemm(0, 0, OC, (int)ohw, C, 1.0f, w, C, x, (int)ohw, 1.0f, y, (int)ohw);
            continue;
        }
        for (int r0 = 0; r0 < OH; r0 += trows) {
            int rows = OH - r0 < trows ? OH - r0 : trows;
            ps_im2col(scratch, x, C, H, W, K, stride, pad, OW, r0, rows);
            ps_nn_gemm(0, 0, OC, rows * OW, (int)ckk, 1.0f, w, (int)ckk, scratch, rows * OW, 1.0f,
                       y + (size_t)r0 * OW, (int)ohw);
        }
    }
}

/* db (OC) += dout (N,OC,HW) summed over N and HW. In 16 running sums: one sum is a chain of
 * dependent adds the compiler may not reorder, 4 cycles a float (a third of a training step's
 * direct conv backward at 128x128); 16 independent lanes vectorize. */
static void ps_conv_bias_grad(float *db, const float *dout, int N, int OC, size_t hw)
{
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++) {
            const float *d = dout + ((size_t)n * OC + oc) * hw;
            float lane[16] = {0}, s = 0.0f;
            size_t i = 0;
            for (; i + 16 <= hw; i += 16)
                for (int l = 0; l < 16; l++)
                    lane[l] += d[i + l];
            for (; i < hw; i++)
                s += d[i];
            for (int l = 0; l < 16; l++)
                s += lane[l];
            db[oc] += s;
        }
}

void ps_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, int N, int C, int H, int W, int OC, int K, int stride,
                        int pad, float *scratch)
{
    int OH = ps_conv_out(H, K, stride, pad), OW = ps_conv_out(W, K, stride, pad);
    size_t ohw = (size_t)OH * OW, ckk = (size_t)C * K * K;
    if (db)
        ps_conv_bias_grad(db, dout, N, OC, ohw);
    if (ps_conv2d_is_direct(K, stride, pad)) {
        if (din || dw)
            ps_conv3_backward(din, dw, dout, in, w, N, C, H, W, OC, stride, scratch);
        if (stride == 1 || !din)
            return;
        dw = NULL; /* stride 2: the input gradient (a strided scatter) stays on im2col below */
    }
    int trows = ps_conv_tile_rows(C, K, OH, OW);
    float *col = scratch, *dcol = scratch + ckk * (size_t)trows * OW;
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C * H * W;
        const float *dy = dout + (size_t)n * OC * ohw;
        if (ps_conv_is_pointwise(K, stride, pad)) {
            if (dw) /* dw (OC,C) += dy (OC,HW) x^T */
                ps_nn_gemm(0, 1, OC, C, (int)ohw, 1.0f, dy, (int)ohw, x, (int)ohw, 1.0f, dw, C);
            if (din) /* dx (C,HW) += w^T dy */
                ps_nn_gemm(1, 0, C, (int)ohw, OC, 1.0f, w, C, dy, (int)ohw, 1.0f,
                           din + (size_t)n * C * H * W, (int)ohw);
            continue;
        }
        for (int r0 = 0; r0 < OH; r0 += trows) {
            int rows = OH - r0 < trows ? OH - r0 : trows;
            const float *dyt = dy + (size_t)r0 * OW;
            if (dw) {
                ps_im2col(col, x, C, H, W, K, stride, pad, OW, r0, rows);
                ps_nn_gemm(0, 1, OC, (int)ckk, rows * OW, 1.0f, dyt, (int)ohw, col, rows * OW,
                           1.0f, dw, (int)ckk);
            }
            if (din) {
                ps_nn_gemm(1, 0, (int)ckk, rows * OW, OC, 1.0f, w, (int)ckk, dyt, (int)ohw, 0.0f,
                           dcol, rows * OW);
                ps_col2im_add(din + (size_t)n * C * H * W, dcol, C, H, W, K, stride, pad, OW, r0,
                              rows);
            }
        }
    }
}

void ps_conv2d_forward_naive(float *out, const float *in, const float *w, const float *b, int N,
                             int C, int H, int W, int OC, int K, int stride, int pad)
{
    int OH = ps_conv_out(H, K, stride, pad), OW = ps_conv_out(W, K, stride, pad);
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = b ? b[oc] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                s += (double)in[(((size_t)n * C + c) * H + iy) * W + ix] *
                                     w[(((size_t)oc * C + c) * K + ky) * K + kx];
                            }
                    out[(((size_t)n * OC + oc) * OH + oy) * OW + ox] = (float)s;
                }
}

void ps_conv2d_backward_naive(float *din, float *dw, float *db, const float *dout,
                              const float *in, const float *w, int N, int C, int H, int W, int OC,
                              int K, int stride, int pad)
{
    int OH = ps_conv_out(H, K, stride, pad), OW = ps_conv_out(W, K, stride, pad);
    if (db)
        for (int oc = 0; oc < OC; oc++) {
            double s = 0.0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < OH * OW; i++)
                    s += dout[((size_t)n * OC + oc) * OH * OW + i];
            db[oc] += (float)s;
        }
    for (int oc = 0; oc < OC; oc++)
        for (int c = 0; c < C; c++)
            for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++) {
                    size_t wi = (((size_t)oc * C + c) * K + ky) * K + kx;
                    double s = 0.0;
                    for (int n = 0; n < N; n++)
                        for (int oy = 0; oy < OH; oy++)
                            for (int ox = 0; ox < OW; ox++) {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                size_t ii = (((size_t)n * C + c) * H + iy) * W + ix;
                                double d = dout[(((size_t)n * OC + oc) * OH + oy) * OW + ox];
                                if (din)
                                    din[ii] += (float)(d * w[wi]);
                                s += d * in[ii];
                            }
                    if (dw)
                        dw[wi] += (float)s;
                }
}

/* ---- the op ---------------------------------------------------------------------------------- */
typedef struct {
    ps_graph *g;
    ps_tensor *x, *w, *b, *y;
    int stride, pad;
} ps_conv2d_ctx;

static void ps_conv2d_bwd(void *p)
{
    ps_conv2d_ctx *c = p;
    const ps_tensor *x = c->x, *w = c->w;
    float *scratch = ps_nn_scratch(c->g, ps_conv2d_backward_scratch_floats(
                                             x->c, x->h, x->w, w->n, w->h, c->stride, c->pad));
    if (!scratch)
        return;
    ps_conv2d_backward(x->grad, w->grad, c->b ? c->b->grad : NULL, c->y->grad, x->data, w->data,
                       x->n, x->c, x->h, x->w, w->n, w->h, c->stride, c->pad, scratch);
}

ps_tensor *ps_conv2d(ps_graph *g, ps_tensor *x, ps_tensor *w, ps_tensor *b, int stride, int pad)
{
    if (!ps_nn_live(g, x, w))
        return NULL;
    int K = w->h;
    if (w->c != x->c || w->w != K || stride < 1 || pad < 0 || x->h + 2 * pad < K ||
        x->w + 2 * pad < K)
        return ps_nn_bad(g, "conv2d: input (%d,%d,%d,%d) weight (%d,%d,%d,%d) stride %d pad %d "
                            "do not fit", x->n, x->c, x->h, x->w, w->n, w->c, w->h, w->w, stride,
                         pad);
    if (b && ps_tensor_numel(b) != (size_t)w->n)
        return ps_nn_bad(g, "conv2d: bias has %zu values for %d output channels",
                         ps_tensor_numel(b), w->n);
    int OH = ps_conv_out(x->h, K, stride, pad), OW = ps_conv_out(x->w, K, stride, pad);
    ps_tensor *y = ps_nn_out(g, x->grad || w->grad || (b && b->grad), x->n, w->n, OH, OW);
    float *scratch = ps_nn_scratch(g, ps_conv2d_scratch_floats(x->c, x->h, x->w, w->n, K, stride,
                                                               pad));
    if (!y || !scratch)
        return NULL;
    ps_conv2d_forward(y->data, x->data, w->data, b ? b->data : NULL, x->n, x->c, x->h, x->w, w->n,
                      K, stride, pad, scratch);
    if (y->grad) {
        ps_conv2d_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_conv2d_ctx){g, x, w, b, y, stride, pad};
        ps_graph_push(g, ps_conv2d_bwd, c);
    }
    return y;
}
