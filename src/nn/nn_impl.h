/* Engine internals shared by the op files of src/nn (not part of the contract in nn.h).
 * Ops follow one pattern: check inputs with ps_nn_live, make the output with ps_nn_out (which
 * gives it a gradient only when grad is on and some input carries one), run the forward kernel,
 * and push the backward closure only when the output has a gradient. */
#ifndef PS_NN_IMPL_H
#define PS_NN_IMPL_H
#include "nn.h"
#include <cblas.h>

/* Non-zero when the graph is healthy and every tensor given is non-NULL; records the failure
 * otherwise (a NULL input means an earlier op failed, and its status is already set). */
int ps_nn_live(ps_graph *g, const ps_tensor *a, const ps_tensor *b);
/* Output of an op: data NOT zeroed (ops overwrite every element), grad zeroed when need_grad
 * and grad mode is on. Registered for zeroing at the start of each backward. */
ps_tensor *ps_nn_out(ps_graph *g, int need_grad, int n, int c, int h, int w);
/* Record a shape/argument error on the graph: later ops return NULL; returns NULL. */
ps_tensor *ps_nn_bad(ps_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Per-graph scratch (im2col columns, softmax rows), reused across ops and grown on demand;
 * contents undefined. NULL on OOM (status set). Valid until the next ps_nn_scratch call. */
float *ps_nn_scratch(ps_graph *g, size_t floats);
/* Arena allocation without the zero fill, for buffers an op overwrites entirely. */
void *ps_nn_arena_alloc_raw(ps_arena *a, size_t bytes);
/* Allocate from the graph arena, recording OOM in the status. */
void *ps_nn_alloc(ps_graph *g, size_t bytes);

static inline int ps_nn_same_shape(const ps_tensor *a, const ps_tensor *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w;
}

/* Row-major sgemm shorthand: C(MxN) = alpha * op(A) op(B) + beta * C. */
static inline void ps_nn_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                              int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* OpenMP only where it clearly pays. libgomp's idle team spins (not yields) for a while after
 * each region, taking a core from the next multi-threaded sgemm: on 2 cores that costs up to
 * a few ms per region. So a loop goes parallel only above ~4M elements (>= ~10 ms serial), where
 * halving it wins; smaller loops and plain copies stay serial. */
#define PS_NN_OMP_MIN (1L << 22)

/* conv3.c: 3x3 pad-1 convs of stride 1 or 2 by direct AVX-512 or AVX2 kernels, when
 * ps_conv2d_is_direct; stride 2's input gradient is left to im2col (ps_conv3_backward skips it).
 * Same contracts as conv.c's raw kernels (din and dw accumulate; either may be NULL); scratch
 * of the _scratch sizes. */
size_t ps_conv3_fwd_scratch(int C, int H, int W, int OC, int stride);
size_t ps_conv3_bwd_scratch(int C, int H, int W, int OC, int stride);
void ps_conv3_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                      int H, int W, int OC, int stride, float *scratch);
void ps_conv3_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                       int N, int C, int H, int W, int OC, int stride, float *scratch);

#endif
