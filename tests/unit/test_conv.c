/* The fast conv (im2col + sgemm in row tiles, 1x1 straight to sgemm) against the naive loops,
 * by normalized MSE, over kernel sizes, strides, paddings, odd sizes and batches; plus the
 * adjoint identity <conv(x), dy> = <x, dx> = <w, dw> for the backward on a tiled image. */
#include "src/nn/nn.h"
#include "check.h"
#include <stdlib.h>

static void fill(float *x, size_t n, ps_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ps_rng_normal(r);
}

static double nmse(const float *a, const float *b, size_t n)
{
    double e = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? e / s : e;
}

static void compare(int N, int C, int H, int W, int OC, int K, int stride, int pad, ps_rng *r)
{
    int OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
    size_t nin = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K;
    size_t nout = (size_t)N * OC * OH * OW;
    float *in = malloc(nin * 4), *w = malloc(nw * 4), *b = malloc(OC * 4);
    float *fast = malloc(nout * 4), *ref = malloc(nout * 4);
    float *scratch = malloc(ps_conv2d_scratch_floats(C, H, W, K, stride, pad) * 4);
    fill(in, nin, r), fill(w, nw, r), fill(b, OC, r);
    ps_conv2d_forward(fast, in, w, b, N, C, H, W, OC, K, stride, pad, scratch);
    ps_conv2d_forward_naive(ref, in, w, b, N, C, H, W, OC, K, stride, pad);
    double e = nmse(fast, ref, nout);
    CHECK(e < 1e-11, "N%d C%d %dx%d OC%d K%d s%d p%d: nmse %.3g", N, C, H, W, OC, K, stride, pad,
          e);
    free(in), free(w), free(b), free(fast), free(ref), free(scratch);
}

/* Backward through the op on an image big enough for several column tiles. */
static void adjoint(int N, int C, int H, int W, int OC, int K, int stride, int pad, ps_rng *r)
{
    ps_graph *g = ps_graph_new(1 << 20);
    ps_tensor *x = ps_tensor_leaf(g, N, C, H, W), *w = ps_tensor_leaf(g, OC, C, K, K);
    fill(x->data, ps_tensor_numel(x), r), fill(w->data, ps_tensor_numel(w), r);
    ps_tensor *y = ps_conv2d(g, x, w, NULL, stride, pad);
    ps_tensor *dy = ps_tensor_const(g, y->n, y->c, y->h, y->w);
    fill(dy->data, ps_tensor_numel(dy), r);
    /* loss = mean(y * dy), so the backward hands the conv dy / numel */
    ps_tensor *prod = ps_mul(g, y, dy);
    ps_tensor *loss = ps_chan_mean(g, ps_view(g, prod, 1, 1, 1, (int)ps_tensor_numel(y)));
    CHECK(ps_graph_status(g) == PS_OK, "adjoint graph: %s", ps_last_error());
    ps_graph_backward(g, loss);
    double yy = 0, xx = 0, ww = 0, n = (double)ps_tensor_numel(y);
    for (size_t i = 0; i < ps_tensor_numel(y); i++)
        yy += (double)y->data[i] * dy->data[i];
    for (size_t i = 0; i < ps_tensor_numel(x); i++)
        xx += (double)x->data[i] * x->grad[i] * n;
    for (size_t i = 0; i < ps_tensor_numel(w); i++)
        ww += (double)w->data[i] * w->grad[i] * n;
    CHECK_NEAR(xx, yy, 1e-3, 1e-4);
    CHECK_NEAR(ww, yy, 1e-3, 1e-4);
    ps_graph_free(g);
}

int main(void)
{
    ps_threads_init(0);
    ps_rng r;
    ps_rng_seed(&r, 5);
    static const int ks[] = {1, 3, 5, 7};
    for (int ki = 0; ki < 4; ki++)
        for (int stride = 1; stride <= 2; stride++) {
            int K = ks[ki];
            compare(2, 3, 13, 11, 4, K, stride, K / 2, &r);
            compare(1, 5, 9, 16, 3, K, stride, 0, &r);
            compare(3, 2, 10, 7, 6, K, stride, K - 1, &r);
        }
    compare(1, 16, 40, 300, 4, 7, 1, 3, &r); /* several column tiles */
    compare(2, 8, 33, 257, 8, 3, 2, 1, &r);
    adjoint(2, 16, 40, 300, 4, 7, 1, 3, &r);
    adjoint(1, 32, 64, 100, 8, 3, 2, 1, &r);
    adjoint(2, 8, 20, 30, 5, 1, 1, 0, &r); /* pointwise path */
    return check_done("test_conv");
}
