/* The engine: NCHW float32 tensors, an arena for per-step memory, a flat parameter buffer,
 * and a tape of ops (forward + backward side by side) that every model in pstyle is built from.
 * It knows nothing of styles, images or databases.
 *
 *   ps_params p; ps_params_init(&p);
 *   int w = ps_params_add(&p, "conv.w", 16, 3, 3, 3), b = ps_params_add(&p, "conv.b", 1, 1, 1, 16);
 *   ps_params_alloc(&p); ps_params_init_he(&p, w, 1.41f, seed);
 *   ps_graph *g = ps_graph_new(64 << 20);               // grad on by default
 *   for (step...) {
 *       ps_graph_reset(g);                               // frees last step's activations
 *       ps_tensor *x = ps_tensor_const(g, 1, 3, H, W);   // fill x->data
 *       ps_tensor *y = ps_lrelu(g, ps_conv2d(g, x, &p.t[w], &p.t[b], 1, 1), 0.2f);
 *       ps_tensor *loss = ps_mse_loss(g, y, target);
 *       if (ps_graph_status(g)) return ps_graph_status(g);  // any failure above, with message
 *       ps_params_zero_grad(&p); ps_graph_backward(g, loss); ps_adam_step(&p, &opt);
 *   }
 */
#ifndef PS_NN_H
#define PS_NN_H
#include "src/base/base.h"
#include <stddef.h>
#include <stdint.h>

/* ---- tensors ------------------------------------------------------------------------------ */
/* A dense NCHW tensor. Token sets are (N, 1, T, D): T tokens of D features per sample; a plain
 * vector is (1, 1, 1, D); a scalar (1, 1, 1, 1). `grad` is NULL when no gradient flows here. */
typedef struct ps_tensor {
    int n, c, h, w;
    float *data;
    float *grad;
} ps_tensor;

static inline size_t ps_tensor_numel(const ps_tensor *t)
{
    return (size_t)t->n * t->c * t->h * t->w;
}

/* ---- arena: activations and scratch, reset once per step ------------------------------------ */
typedef struct ps_arena ps_arena;
ps_arena *ps_arena_new(size_t chunk_bytes);           /* grows chunk by chunk; NULL on OOM */
void *ps_arena_alloc(ps_arena *a, size_t bytes);       /* 64-byte aligned, zeroed; NULL on OOM */
void ps_arena_reset(ps_arena *a);                      /* keeps the memory for the next step */
size_t ps_arena_used(const ps_arena *a);
void ps_arena_free(ps_arena *a);

/* ---- parameters: one flat buffer + a pointer table (grad, Adam m and v laid out the same) --- */
typedef struct ps_params {
    int count, cap;
    char (*name)[64];
    ps_tensor *t;            /* t[i].data / t[i].grad point into data / grad */
    size_t *off;             /* offset of tensor i in the flat buffers */
    size_t total;            /* floats in all tensors */
    float *data, *grad, *m, *v;
    long step;               /* Adam step counter */
    int failed;              /* an add failed: alloc refuses, so declarations need no checks */
} ps_params;

void ps_params_init(ps_params *p);
/* Declare a tensor; returns its index (>= 0) or -1 on OOM. Call before ps_params_alloc. */
int ps_params_add(ps_params *p, const char *name, int n, int c, int h, int w);
/* Same with a printf-style name ("gen.attn%d.q"). A failure of either is remembered and makes
 * ps_params_alloc fail with its message, so a model can declare everything and check once. */
int ps_params_addf(ps_params *p, int n, int c, int h, int w, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Allocate the flat buffers (zeroed) and point every tensor into them. */
ps_status ps_params_alloc(ps_params *p);
int ps_params_find(const ps_params *p, const char *name);    /* index or -1 */
void ps_params_free(ps_params *p);
void ps_params_zero_grad(ps_params *p);
/* Frozen: every tensor's grad pointer is NULL, so ops skip weight gradients (learn-time and
 * MAML inner steps move only the style tokens); unfreeze points them back at the flat buffer. */
void ps_params_freeze(ps_params *p, int frozen);
/* Deterministic init from a seed: N(0, std^2). The stream depends on (seed, idx), so one seed
 * gives every tensor its own values. */
void ps_params_init_normal(ps_params *p, int idx, float std, uint64_t seed);
/* He-style init: N(0, (gain / sqrt(fan_in))^2), gain sqrt(2) for ReLU. fan_in = IN for linear
 * weights (1,1,IN,OUT), IC*K*K for conv weights (OC,IC,K,K). */
void ps_params_init_he(ps_params *p, int idx, float gain, uint64_t seed);
void ps_params_fill(ps_params *p, int idx, float value);

typedef struct ps_adam {
    float lr, beta1, beta2, eps, weight_decay; /* decoupled weight decay (AdamW) */
} ps_adam;
/* One AdamW step over the whole flat buffer; weight decay skipped for tensors with h*w*c*n<=w
 * (biases, norms: 1-D tensors). Gradients are NOT zeroed. */
void ps_adam_step(ps_params *p, const ps_adam *opt);

/* ---- deterministic randomness -------------------------------------------------------------- */
typedef struct ps_rng { uint64_t s[2]; } ps_rng;
void ps_rng_seed(ps_rng *r, uint64_t seed);
uint64_t ps_rng_u64(ps_rng *r);
float ps_rng_uniform(ps_rng *r);                /* [0, 1) */
float ps_rng_normal(ps_rng *r);

/* ---- the tape ------------------------------------------------------------------------------ */
/* A graph owns an arena and a tape. With grad on, every op whose inputs carry a gradient
 * allocates an output gradient and records its backward; ps_graph_backward seeds d(loss)=1 and
 * replays the tape in reverse. Gradients ACCUMULATE (+=) into leaves' (ps_tensor_leaf) and
 * parameters' grad buffers, so summing over tasks is free; the gradients of every other tensor
 * the graph made (op outputs, ps_tensor_new) are cleared at the start of each backward, so
 * calling backward twice exactly doubles the leaves' and parameters' gradients.
 * Shape errors in ops are recorded like OOM (PS_EINTERNAL, message names the op). */
typedef struct ps_graph ps_graph;
typedef void (*ps_backward_fn)(void *ctx);

ps_graph *ps_graph_new(size_t arena_chunk_bytes);
void ps_graph_free(ps_graph *g);
void ps_graph_reset(ps_graph *g);              /* clear tape, reset arena */
void ps_graph_set_grad(ps_graph *g, int on);   /* off: inference, no tape, no grad buffers */
int ps_graph_grad_on(const ps_graph *g);
ps_arena *ps_graph_arena(ps_graph *g);
/* New tensor from the arena, data zeroed; grad allocated (zeroed) when grad is on. NULL on OOM
 * (the graph remembers the failure: ps_graph_status returns it, later ops return NULL too). */
ps_tensor *ps_tensor_new(ps_graph *g, int n, int c, int h, int w);
/* A tensor that needs a gradient even though it is not a parameter (e.g. MAML style tokens):
 * grad always allocated, accumulated across backward calls. */
ps_tensor *ps_tensor_leaf(ps_graph *g, int n, int c, int h, int w);
/* A tensor that never carries a gradient (input images, targets): ops skip its backward. */
ps_tensor *ps_tensor_const(ps_graph *g, int n, int c, int h, int w);
/* A constant tensor viewing caller-owned data (no copy, no gradient). Ops keep pointers to
 * their inputs until backward, so inputs must outlive it: wrap rather than use a stack struct. */
ps_tensor *ps_tensor_wrap(ps_graph *g, float *data, int n, int c, int h, int w);
size_t ps_graph_tape_size(const ps_graph *g);  /* backward closures recorded so far */
ps_status ps_graph_status(const ps_graph *g);
/* Record a backward closure; ctx must live in the graph's arena (ps_graph_ctx). Used by ops in
 * other modules (src/feat, src/gen) to define their own differentiable ops:
 *     ps_tensor *y = ps_tensor_new(g, ...);            // NULL on failure: return NULL
 *     ... y->data = f(x->data) ...
 *     if (y->grad) { my_ctx *c = ps_graph_ctx(g, sizeof *c); c->x = x; c->y = y;
 *                    ps_graph_push(g, my_backward, c); }
 * and my_backward adds into x->grad (+=) when x->grad is non-NULL (const inputs have none). */
void *ps_graph_ctx(ps_graph *g, size_t bytes);
void ps_graph_push(ps_graph *g, ps_backward_fn fn, void *ctx);
void ps_graph_backward(ps_graph *g, ps_tensor *loss);
/* Backward from any tensor t with d(out)/dt = seed (numel(t) floats; NULL = all ones): how a
 * gradient computed in another graph (e.g. MAML's query loss w.r.t. adapted tokens) continues
 * into this one. */
void ps_graph_backward_seed(ps_graph *g, ps_tensor *t, const float *seed);

/* ---- ops on the tape (each has raw _forward/_backward kernels next to it in its .c file) ---- */
/* Shapes: x (N,C,H,W). Weights are ordinary ps_tensors (parameters or graph tensors). */
ps_tensor *ps_conv2d(ps_graph *g, ps_tensor *x, ps_tensor *w /* (OC,IC,K,K) */,
                     ps_tensor *b /* (1,1,1,OC) or NULL */, int stride, int pad);
ps_tensor *ps_upsample_nearest(ps_graph *g, ps_tensor *x, int factor);
ps_tensor *ps_upsample_bilinear(ps_graph *g, ps_tensor *x, int oh, int ow); /* align_corners=0 */
ps_tensor *ps_avgpool(ps_graph *g, ps_tensor *x, int factor);               /* floor(H/f) */
/* y = x W + b over the last dim: x (...,IN) rows = n*c*h, W (1,1,IN,OUT), b (1,1,1,OUT) or NULL */
ps_tensor *ps_linear(ps_graph *g, ps_tensor *x, ps_tensor *w, ps_tensor *b);
ps_tensor *ps_relu(ps_graph *g, ps_tensor *x);
ps_tensor *ps_lrelu(ps_graph *g, ps_tensor *x, float slope);
ps_tensor *ps_gelu(ps_graph *g, ps_tensor *x);      /* tanh approximation */
ps_tensor *ps_sigmoid(ps_graph *g, ps_tensor *x);
ps_tensor *ps_tanh(ps_graph *g, ps_tensor *x);
ps_tensor *ps_instnorm(ps_graph *g, ps_tensor *x, float eps);          /* per (n,c) over H*W */
/* over the last dim; gamma/beta (1,1,1,W) */
ps_tensor *ps_layernorm(ps_graph *g, ps_tensor *x, ps_tensor *gamma, ps_tensor *beta, float eps);
/* FiLM/AdaIN: y = x * (1 + scale[n,c]) + shift[n,c]; scale/shift (N,1,1,C) or (1,1,1,C);
 * either may be NULL. layernorm's gamma/beta may be NULL too. */
ps_tensor *ps_modulate(ps_graph *g, ps_tensor *x, ps_tensor *scale, ps_tensor *shift);
/* Multi-head attention: q (N,1,Tq,Dq) attends to kv (N or 1,1,Tk,Dkv);
 * wq (1,1,Dq,E), wk (1,1,Dkv,E), wv (1,1,Dkv,E), wo (1,1,E,Dout); E % heads == 0.
 * Returns (N,1,Tq,Dout). Softmax scaled by 1/sqrt(E/heads). */
ps_tensor *ps_attention(ps_graph *g, ps_tensor *q, ps_tensor *kv, ps_tensor *wq, ps_tensor *wk,
                        ps_tensor *wv, ps_tensor *wo, int heads);
ps_tensor *ps_map_to_tokens(ps_graph *g, ps_tensor *x);   /* (N,C,H,W) -> (N,1,H*W,C) */
ps_tensor *ps_tokens_to_map(ps_graph *g, ps_tensor *t, int h, int w); /* inverse */
ps_tensor *ps_concat(ps_graph *g, ps_tensor *a, ps_tensor *b);        /* along C */
ps_tensor *ps_add(ps_graph *g, ps_tensor *a, ps_tensor *b);           /* same shape */
ps_tensor *ps_mul(ps_graph *g, ps_tensor *a, ps_tensor *b);           /* same shape */
ps_tensor *ps_scale(ps_graph *g, ps_tensor *x, float s);              /* s * x */
/* a + s * b with b broadcast over N when b->n == 1 (e.g. adding a shared token set) */
ps_tensor *ps_axpy(ps_graph *g, ps_tensor *a, float s, ps_tensor *b);
/* Same data, new shape (numel must match); gradient shared. */
ps_tensor *ps_view(ps_graph *g, ps_tensor *x, int n, int c, int h, int w);
/* Rows [r0, r0 + rows) of the H axis of every (n, c) plane: (N,C,H,W) -> (N,C,rows,W). */
ps_tensor *ps_slice_rows(ps_graph *g, ps_tensor *x, int r0, int rows);
ps_tensor *ps_chan_mean(ps_graph *g, ps_tensor *x);     /* (N,C,H,W) -> (N,1,1,C) */
ps_tensor *ps_gram(ps_graph *g, ps_tensor *x);          /* centered covariance (N,1,C,C), /HW */
ps_tensor *ps_l1_loss(ps_graph *g, ps_tensor *a, ps_tensor *b);      /* mean |a-b| -> scalar */
ps_tensor *ps_mse_loss(ps_graph *g, ps_tensor *a, ps_tensor *b);     /* mean (a-b)^2 */
ps_tensor *ps_charbonnier_loss(ps_graph *g, ps_tensor *a, ps_tensor *b, float eps);
ps_tensor *ps_sum_scaled(ps_graph *g, ps_tensor *const *xs, const float *ws, int n); /* scalars */

/* Raw conv kernels (also used by the bench and the naive-reference test). scratch holds
 * ps_conv2d_scratch_floats(...) floats (forward) or ps_conv2d_backward_scratch_floats(...)
 * (backward): 3x3 pad-1 convs of stride 1 or 2 run direct kernels on zero-padded copies of the
 * input (and of dout) where the CPU has AVX-512 or AVX2 + FMA (but for stride 2's input
 * gradient), other convs im2col columns for a tile of output rows (<= 4 MB, so 1 MP images
 * need no giant buffer); 1x1 stride-1 convs go straight to sgemm. */
void ps_conv2d_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                       int H, int W, int OC, int K, int stride, int pad, float *scratch);
/* din += dconv/din, dw += dconv/dw, db += sum(dout); any of them may be NULL. */
void ps_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, int N, int C, int H, int W, int OC, int K, int stride,
                        int pad, float *scratch);
void ps_conv2d_forward_naive(float *out, const float *in, const float *w, const float *b, int N,
                             int C, int H, int W, int OC, int K, int stride, int pad);
void ps_conv2d_backward_naive(float *din, float *dw, float *db, const float *dout,
                              const float *in, const float *w, int N, int C, int H, int W, int OC,
                              int K, int stride, int pad);
size_t ps_conv2d_scratch_floats(int C, int H, int W, int OC, int K, int stride, int pad);
size_t ps_conv2d_backward_scratch_floats(int C, int H, int W, int OC, int K, int stride, int pad);
/* Which 3x3 kernels run, for tests and the bench to compare the paths in one process: im2col
 * everywhere, the best direct kernels the CPU has (AVX-512, else AVX2 + FMA: the default), or
 * one set forced (on a CPU without it, im2col). The environment variable PSTYLE_CONV3 (im2col,
 * avx2, avx512; anything else: auto) sets the starting mode, read once. */
#define PS_CONV3_IM2COL 0
#define PS_CONV3_AUTO 1
#define PS_CONV3_AVX2 2
#define PS_CONV3_AVX512 3
/* Sets the mode (a PS_CONV3_*; -1 only asks) and returns the previous one. Not thread-safe. */
int ps_conv2d_direct(int mode);
/* Non-zero when convs of this kernel size, stride and padding run the direct kernels (3x3,
 * stride 1 or 2, pad 1, on a CPU with the mode's kernels): PS_CONV3_AVX512 or PS_CONV3_AVX2,
 * the set that runs; 0 for im2col. */
int ps_conv2d_is_direct(int K, int stride, int pad);

/* ---- model files (.psm) -------------------------------------------------------------------- */
/* magic "PSM1", format version, architecture hyper-parameters as key=int pairs, named tensors
 * each zlib-compressed with a CRC-32. Loading checks everything and never crashes on bad input. */
#define PS_PSM_VERSION 1
#define PS_PSM_MAX_HP 64
typedef struct ps_hparams {
    int count;
    char key[PS_PSM_MAX_HP][32];
    int64_t val[PS_PSM_MAX_HP];
} ps_hparams;
int64_t ps_hparams_get(const ps_hparams *hp, const char *key, int64_t dflt);
/* PS_EUSAGE when the key is empty or >= 32 chars or the table is full. */
ps_status ps_hparams_set(ps_hparams *hp, const char *key, int64_t val);
/* Write atomically (temp file + fsync + rename). */
ps_status ps_psm_save(const char *path, const ps_hparams *hp, const ps_params *p);
/* Load tensors into an allocated ps_params: every declared tensor must be present with the same
 * shape, and the file may hold no others; on any error p is left untouched and the status is
 * PS_EINPUT with a message naming the file and the problem. hp may be NULL. hash_out (may be
 * NULL) gets 16 hex chars + NUL: a 64-bit hash (FNV-1a) of the whole file, which style vectors
 * record so that a vector is never applied with a model it was not made for. */
ps_status ps_psm_load(const char *path, ps_hparams *hp, ps_params *p, char hash_out[17]);
/* The same from the file's bytes in memory (path names it in messages); p NULL reads the
 * hyper-parameters only (to build the architecture before loading tensors). */
ps_status ps_psm_load_mem(const char *path, const unsigned char *file, size_t len, ps_hparams *hp,
                          ps_params *p, char hash_out[17]);
/* A model file's bytes, malloc'ed (regular files only, size-capped). */
ps_status ps_psm_read_file(const char *path, unsigned char **out, size_t *len);

/* ---- threads ------------------------------------------------------------------------------- */
/* Sets OpenBLAS and OpenMP thread counts to n (0 = number of cores, capped by PSTYLE_THREADS).
 * GEMMs run on OpenBLAS's threads, a few heavy loops (attention core, exp/tanh, norms) on
 * OpenMP's; the engine never nests one in the other, so callers must not call engine ops from
 * inside their own OpenMP parallel regions. Results are bitwise deterministic for a given seed
 * and thread count. */
void ps_threads_init(int n);

#endif
