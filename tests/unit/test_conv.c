/* The fast convs (direct 3x3 kernels where the CPU has AVX-512 or AVX2, im2col + sgemm in row
 * tiles, 1x1 straight to sgemm) against the naive loops, forward and backward (input, weight and
 * bias gradients, accumulated onto what was there), by normalized MSE, over kernel sizes,
 * strides, paddings, odd sizes and batches, under every 3x3 path the CPU runs (im2col, the AVX2
 * and the AVX-512 direct kernels); plus the adjoint identity <conv(x), dy> = <x, dx> = <w, dw>
 * for the backward on a tiled image, under each path too. */
#include "src/nn/nn.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

/* The 3x3 paths, each tried where the CPU has it (ps_conv2d_is_direct says it runs). */
static const int modes[] = {PS_CONV3_AVX512, PS_CONV3_AVX2, PS_CONV3_IM2COL};
#define NMODES ((int)(sizeof modes / sizeof modes[0]))

static int mode_runs(int mode)
{
    int was = ps_conv2d_direct(mode), ok = mode == PS_CONV3_IM2COL || ps_conv2d_is_direct(3, 1, 1);
    ps_conv2d_direct(was);
    return ok;
}

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
    fill(in, nin, r), fill(w, nw, r), fill(b, OC, r);
    ps_conv2d_forward_naive(ref, in, w, b, N, C, H, W, OC, K, stride, pad);
    for (int m = 0; m < NMODES; m++) {
        if (!mode_runs(modes[m]))
            continue;
        int was = ps_conv2d_direct(modes[m]);
        float *scratch = malloc(ps_conv2d_scratch_floats(C, H, W, OC, K, stride, pad) * 4);
        ps_conv2d_forward(fast, in, w, b, N, C, H, W, OC, K, stride, pad, scratch);
        double e = nmse(fast, ref, nout);
        CHECK(e < 1e-11, "N%d C%d %dx%d OC%d K%d s%d p%d direct %d: nmse %.3g", N, C, H, W, OC, K,
              stride, pad, ps_conv2d_is_direct(K, stride, pad), e);
        free(scratch);
        ps_conv2d_direct(was);
    }
    free(in), free(w), free(b), free(fast), free(ref);
}

/* The raw backward against the naive one: din, dw, db start from the same random values (the
 * kernels accumulate), and each gradient is also computed alone (the others NULL). */
static void compare_bwd(int N, int C, int H, int W, int OC, int K, int stride, int pad, ps_rng *r)
{
    int OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
    size_t nin = (size_t)N * C * H * W, nw = (size_t)OC * C * K * K;
    size_t nout = (size_t)N * OC * OH * OW;
    float *in = malloc(nin * 4), *w = malloc(nw * 4), *dout = malloc(nout * 4);
    float *din0 = malloc(nin * 4), *dw0 = malloc(nw * 4), *db0 = malloc(OC * 4);
    float *din[2], *dw[2], *db[2];
    for (int i = 0; i < 2; i++)
        din[i] = malloc(nin * 4), dw[i] = malloc(nw * 4), db[i] = malloc(OC * 4);
    fill(in, nin, r), fill(w, nw, r), fill(dout, nout, r);
    fill(din0, nin, r), fill(dw0, nw, r), fill(db0, OC, r);
    memcpy(din[1], din0, nin * 4), memcpy(dw[1], dw0, nw * 4), memcpy(db[1], db0, OC * 4);
    ps_conv2d_backward_naive(din[1], dw[1], db[1], dout, in, w, N, C, H, W, OC, K, stride, pad);
    for (int m = 0; m < NMODES; m++)
        for (int alone = 0; alone <= 1 && mode_runs(modes[m]); alone++) {
            int was = ps_conv2d_direct(modes[m]), d = ps_conv2d_is_direct(K, stride, pad);
            float *scratch =
                malloc(ps_conv2d_backward_scratch_floats(C, H, W, OC, K, stride, pad) * 4);
            memcpy(din[0], din0, nin * 4), memcpy(dw[0], dw0, nw * 4), memcpy(db[0], db0, OC * 4);
            if (alone) {
                ps_conv2d_backward(din[0], NULL, NULL, dout, in, w, N, C, H, W, OC, K, stride, pad,
                                   scratch);
                ps_conv2d_backward(NULL, dw[0], NULL, dout, in, w, N, C, H, W, OC, K, stride, pad,
                                   scratch);
                ps_conv2d_backward(NULL, NULL, db[0], dout, in, w, N, C, H, W, OC, K, stride, pad,
                                   scratch);
            } else
                ps_conv2d_backward(din[0], dw[0], db[0], dout, in, w, N, C, H, W, OC, K, stride,
                                   pad, scratch);
            double ei = nmse(din[0], din[1], nin), ew = nmse(dw[0], dw[1], nw);
            double eb = nmse(db[0], db[1], OC);
            CHECK(ei < 1e-11 && ew < 1e-11 && eb < 1e-11,
                  "bwd N%d C%d %dx%d OC%d K%d s%d p%d direct %d alone %d: nmse din %.3g dw %.3g "
                  "db %.3g", N, C, H, W, OC, K, stride, pad, d, alone, ei, ew, eb);
            free(scratch);
            ps_conv2d_direct(was);
        }
    free(in), free(w), free(dout), free(din0), free(dw0), free(db0);
    for (int i = 0; i < 2; i++)
        free(din[i]), free(dw[i]), free(db[i]);
}

/* Backward through the op on an image big enough for several column tiles. */
static void adjoint1(int N, int C, int H, int W, int OC, int K, int stride, int pad, ps_rng *r)
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

/* The adjoint identity under each 3x3 path the CPU runs. */
static void adjoint(int N, int C, int H, int W, int OC, int K, int stride, int pad, ps_rng *r)
{
    for (int m = 0; m < NMODES; m++) {
        if (!mode_runs(modes[m]))
            continue;
        int was = ps_conv2d_direct(modes[m]);
        adjoint1(N, C, H, W, OC, K, stride, pad, r);
        ps_conv2d_direct(was);
    }
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
    /* 3x3 shapes for the direct kernels: many row bands, channel counts that are not multiples
     * of their block of 8 (49 = 7 x 7, 13, 3), rows narrower than one vector */
    compare(1, 49, 37, 300, 16, 3, 1, 1, &r);
    compare(2, 13, 21, 45, 13, 3, 1, 1, &r);
    compare(3, 4, 5, 3, 9, 3, 1, 1, &r);
    compare(1, 16, 64, 100, 32, 3, 2, 1, &r); /* stride 2: parity planes, even and odd sizes */
    compare(2, 5, 17, 31, 11, 3, 2, 1, &r);
    for (int ki = 0; ki < 4; ki++) {
        compare_bwd(2, 3, 13, 11, 4, ks[ki], 1, ks[ki] / 2, &r);
        compare_bwd(1, 5, 9, 16, 3, ks[ki], 2, ks[ki] / 2, &r);
    }
    compare_bwd(1, 49, 37, 300, 16, 3, 1, 1, &r);
    compare_bwd(2, 16, 21, 45, 49, 3, 1, 1, &r);
    compare_bwd(3, 4, 5, 3, 9, 3, 1, 1, &r);
    compare_bwd(2, 16, 33, 70, 32, 3, 2, 1, &r);
    compare_bwd(1, 3, 8, 8, 16, 3, 2, 1, &r);
    compare_bwd(1, 5, 9, 16, 3, 3, 1, 0, &r); /* pad 0: im2col */
    adjoint(2, 16, 40, 300, 4, 7, 1, 3, &r);
    adjoint(1, 32, 64, 100, 8, 3, 2, 1, &r);
    adjoint(2, 8, 20, 30, 5, 1, 1, 0, &r); /* pointwise path */
    return check_done("test_conv");
}
