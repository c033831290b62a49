/* Pointwise and layout ops: activations, scale, add/axpy, mul, modulate, concat, view, the
 * map <-> token transposes and the channel mean. Each op's forward and backward sit together. */
#include "nn_impl.h"
#include <math.h>
#include <string.h>

/* ---- unary activations (one op, one switch outside the loops: no per-element calls) ---------- */
typedef enum {
    PS_U_RELU, PS_U_LRELU, PS_U_GELU, PS_U_SIGMOID, PS_U_TANH, PS_U_SCALE
} ps_unary_kind;

typedef struct {
    ps_tensor *x, *y;
    ps_unary_kind kind;
    float a; /* lrelu slope or scale factor */
} ps_unary_ctx;

#define PS_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define PS_GELU_C 0.044715f

static void ps_unary_bwd(void *p)
{
    ps_unary_ctx *c = p;
    const float *x = c->x->data, *y = c->y->data, *dy = c->y->grad;
    float *dx = c->x->grad, a = c->a;
    long n = (long)ps_tensor_numel(c->x);
    switch (c->kind) {
    case PS_U_RELU:
#pragma omp simd
        for (long i = 0; i < n; i++)
            dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case PS_U_LRELU:
#pragma omp simd
        for (long i = 0; i < n; i++)
            dx[i] += x[i] > 0.0f ? dy[i] : a * dy[i];
        break;
    case PS_U_GELU:
#pragma omp parallel for if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++) {
            float v = x[i], t = tanhf(PS_GELU_K * (v + PS_GELU_C * v * v * v));
            float d = 0.5f * (1.0f + t) +
                      0.5f * v * (1.0f - t * t) * PS_GELU_K * (1.0f + 3.0f * PS_GELU_C * v * v);
            dx[i] += dy[i] * d;
        }
        break;
    case PS_U_SIGMOID:
#pragma omp simd
        for (long i = 0; i < n; i++)
            dx[i] += dy[i] * y[i] * (1.0f - y[i]);
        break;
    case PS_U_TANH:
#pragma omp simd
        for (long i = 0; i < n; i++)
            dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case PS_U_SCALE:
#pragma omp simd
        for (long i = 0; i < n; i++)
            dx[i] += a * dy[i];
        break;
    }
}

static ps_tensor *ps_unary(ps_graph *g, ps_tensor *xt, ps_unary_kind kind, float a)
{
    if (!ps_nn_live(g, xt, xt))
        return NULL;
    ps_tensor *yt = ps_nn_out(g, xt->grad != NULL, xt->n, xt->c, xt->h, xt->w);
    if (!yt)
        return NULL;
    const float *x = xt->data;
    float *y = yt->data;
    long n = (long)ps_tensor_numel(xt);
    switch (kind) {
    case PS_U_RELU:
#pragma omp simd
        for (long i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case PS_U_LRELU:
#pragma omp simd
        for (long i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        break;
    case PS_U_GELU:
#pragma omp parallel for if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + tanhf(PS_GELU_K * (v + PS_GELU_C * v * v * v)));
        }
        break;
    case PS_U_SIGMOID:
#pragma omp parallel for if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case PS_U_TANH:
#pragma omp parallel for if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case PS_U_SCALE:
#pragma omp simd
        for (long i = 0; i < n; i++)
            y[i] = a * x[i];
        break;
    }
    if (yt->grad) {
        ps_unary_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_unary_ctx){xt, yt, kind, a};
        ps_graph_push(g, ps_unary_bwd, c);
    }
    return yt;
}

ps_tensor *ps_relu(ps_graph *g, ps_tensor *x) { return ps_unary(g, x, PS_U_RELU, 0.0f); }
ps_tensor *ps_lrelu(ps_graph *g, ps_tensor *x, float s) { return ps_unary(g, x, PS_U_LRELU, s); }
ps_tensor *ps_gelu(ps_graph *g, ps_tensor *x) { return ps_unary(g, x, PS_U_GELU, 0.0f); }
ps_tensor *ps_sigmoid(ps_graph *g, ps_tensor *x) { return ps_unary(g, x, PS_U_SIGMOID, 0.0f); }
ps_tensor *ps_tanh(ps_graph *g, ps_tensor *x) { return ps_unary(g, x, PS_U_TANH, 0.0f); }
ps_tensor *ps_scale(ps_graph *g, ps_tensor *x, float s) { return ps_unary(g, x, PS_U_SCALE, s); }

/* ---- a + s*b (b broadcast over N when b->n == 1), and a * b --------------------------------- */
typedef struct {
    ps_tensor *a, *b, *y;
    float s;
} ps_binary_ctx;

static void ps_axpy_bwd(void *p)
{
    ps_binary_ctx *c = p;
    size_t n = ps_tensor_numel(c->a), nb = ps_tensor_numel(c->b);
    const float *dy = c->y->grad;
    if (c->a->grad)
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            c->a->grad[i] += dy[i];
    if (c->b->grad) /* nb < n when b was broadcast over N: sum the per-sample slices */
        for (size_t off = 0; off < n; off += nb)
#pragma omp simd
            for (size_t i = 0; i < nb; i++)
                c->b->grad[i] += c->s * dy[off + i];
}

ps_tensor *ps_axpy(ps_graph *g, ps_tensor *a, float s, ps_tensor *b)
{
    if (!ps_nn_live(g, a, b))
        return NULL;
    if (a->c != b->c || a->h != b->h || a->w != b->w || (b->n != a->n && b->n != 1))
        return ps_nn_bad(g, "add: shapes (%d,%d,%d,%d) and (%d,%d,%d,%d) differ", a->n, a->c,
                         a->h, a->w, b->n, b->c, b->h, b->w);
    ps_tensor *y = ps_nn_out(g, a->grad || b->grad, a->n, a->c, a->h, a->w);
    if (!y)
        return NULL;
    size_t n = ps_tensor_numel(a), nb = ps_tensor_numel(b);
    for (size_t off = 0; off < n; off += nb)
#pragma omp simd
        for (size_t i = 0; i < nb; i++)
            y->data[off + i] = a->data[off + i] + s * b->data[i + (nb == n ? off : 0)];
    if (y->grad) {
        ps_binary_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_binary_ctx){a, b, y, s};
        ps_graph_push(g, ps_axpy_bwd, c);
    }
    return y;
}

ps_tensor *ps_add(ps_graph *g, ps_tensor *a, ps_tensor *b)
{
    if (ps_nn_live(g, a, b) && !ps_nn_same_shape(a, b))
        return ps_nn_bad(g, "add: shapes (%d,%d,%d,%d) and (%d,%d,%d,%d) differ", a->n, a->c,
                         a->h, a->w, b->n, b->c, b->h, b->w);
    return ps_axpy(g, a, 1.0f, b);
}

static void ps_mul_bwd(void *p)
{
    ps_binary_ctx *c = p;
    size_t n = ps_tensor_numel(c->a);
    const float *dy = c->y->grad, *a = c->a->data, *b = c->b->data;
    if (c->a->grad)
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            c->a->grad[i] += dy[i] * b[i];
    if (c->b->grad)
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            c->b->grad[i] += dy[i] * a[i];
}

ps_tensor *ps_mul(ps_graph *g, ps_tensor *a, ps_tensor *b)
{
    if (!ps_nn_live(g, a, b))
        return NULL;
    if (!ps_nn_same_shape(a, b))
        return ps_nn_bad(g, "mul: shapes (%d,%d,%d,%d) and (%d,%d,%d,%d) differ", a->n, a->c,
                         a->h, a->w, b->n, b->c, b->h, b->w);
    ps_tensor *y = ps_nn_out(g, a->grad || b->grad, a->n, a->c, a->h, a->w);
    if (!y)
        return NULL;
    size_t n = ps_tensor_numel(a);
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        y->data[i] = a->data[i] * b->data[i];
    if (y->grad) {
        ps_binary_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_binary_ctx){a, b, y, 1.0f};
        ps_graph_push(g, ps_mul_bwd, c);
    }
    return y;
}

/* ---- modulate: y = x * (1 + scale[n,c]) + shift[n,c] ---------------------------------------- */
typedef struct {
    ps_tensor *x, *scale, *shift, *y;
} ps_modulate_ctx;

/* Index of the (n,c) modulation entry: per-sample tables when they have N rows, else shared. */
static size_t ps_mod_index(const ps_tensor *m, int n, int c, int C)
{
    return (m->n == 1 ? 0 : (size_t)n * C) + c;
}

static void ps_modulate_bwd(void *p)
{
    ps_modulate_ctx *m = p;
    const ps_tensor *x = m->x;
    size_t hw = (size_t)x->h * x->w;
    for (int n = 0; n < x->n; n++)
        for (int c = 0; c < x->c; c++) {
            size_t o = ((size_t)n * x->c + c) * hw;
            const float *dy = m->y->grad + o, *xv = x->data + o;
            float s = m->scale ? m->scale->data[ps_mod_index(m->scale, n, c, x->c)] : 0.0f;
            double dsc = 0.0, dsh = 0.0;
            for (size_t i = 0; i < hw; i++) {
                dsc += (double)dy[i] * xv[i];
                dsh += dy[i];
            }
            if (x->grad)
#pragma omp simd
                for (size_t i = 0; i < hw; i++)
                    x->grad[o + i] += dy[i] * (1.0f + s);
            if (m->scale && m->scale->grad)
                m->scale->grad[ps_mod_index(m->scale, n, c, x->c)] += (float)dsc;
            if (m->shift && m->shift->grad)
                m->shift->grad[ps_mod_index(m->shift, n, c, x->c)] += (float)dsh;
        }
}

static int ps_mod_ok(const ps_tensor *m, const ps_tensor *x)
{
    return !m || ((m->n == 1 || m->n == x->n) && ps_tensor_numel(m) == (size_t)m->n * x->c);
}

ps_tensor *ps_modulate(ps_graph *g, ps_tensor *x, ps_tensor *scale, ps_tensor *shift)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if (!ps_mod_ok(scale, x) || !ps_mod_ok(shift, x))
        return ps_nn_bad(g, "modulate: scale/shift must be (N,1,1,C) or (1,1,1,C) for x "
                            "(%d,%d,%d,%d)", x->n, x->c, x->h, x->w);
    ps_tensor *y = ps_nn_out(g, x->grad || (scale && scale->grad) || (shift && shift->grad), x->n,
                             x->c, x->h, x->w);
    if (!y)
        return NULL;
    size_t hw = (size_t)x->h * x->w;
    for (int n = 0; n < x->n; n++)
        for (int c = 0; c < x->c; c++) {
            size_t o = ((size_t)n * x->c + c) * hw;
            float s = 1.0f + (scale ? scale->data[ps_mod_index(scale, n, c, x->c)] : 0.0f);
            float t = shift ? shift->data[ps_mod_index(shift, n, c, x->c)] : 0.0f;
#pragma omp simd
            for (size_t i = 0; i < hw; i++)
                y->data[o + i] = x->data[o + i] * s + t;
        }
    if (y->grad) {
        ps_modulate_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_modulate_ctx){x, scale, shift, y};
        ps_graph_push(g, ps_modulate_bwd, c);
    }
    return y;
}

/* ---- concat along C ------------------------------------------------------------------------ */
typedef struct {
    ps_tensor *a, *b, *y;
} ps_pair_ctx;

static void ps_concat_bwd(void *p)
{
    ps_pair_ctx *c = p;
    size_t sa = (size_t)c->a->c * c->a->h * c->a->w, sb = (size_t)c->b->c * c->b->h * c->b->w;
    for (int n = 0; n < c->y->n; n++) {
        const float *dy = c->y->grad + n * (sa + sb);
        if (c->a->grad)
            for (size_t i = 0; i < sa; i++)
                c->a->grad[n * sa + i] += dy[i];
        if (c->b->grad)
            for (size_t i = 0; i < sb; i++)
                c->b->grad[n * sb + i] += dy[sa + i];
    }
}

ps_tensor *ps_concat(ps_graph *g, ps_tensor *a, ps_tensor *b)
{
    if (!ps_nn_live(g, a, b))
        return NULL;
    if (a->n != b->n || a->h != b->h || a->w != b->w)
        return ps_nn_bad(g, "concat: shapes (%d,%d,%d,%d) and (%d,%d,%d,%d) differ beyond C",
                         a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w);
    ps_tensor *y = ps_nn_out(g, a->grad || b->grad, a->n, a->c + b->c, a->h, a->w);
    if (!y)
        return NULL;
    size_t sa = (size_t)a->c * a->h * a->w, sb = (size_t)b->c * b->h * b->w;
    for (int n = 0; n < a->n; n++) {
        memcpy(y->data + n * (sa + sb), a->data + n * sa, sa * sizeof(float));
        memcpy(y->data + n * (sa + sb) + sa, b->data + n * sb, sb * sizeof(float));
    }
    if (y->grad) {
        ps_pair_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_pair_ctx){a, b, y};
        ps_graph_push(g, ps_concat_bwd, c);
    }
    return y;
}

/* ---- view: same buffers, new shape (no tape entry: the gradient buffer is shared) ----------- */
ps_tensor *ps_view(ps_graph *g, ps_tensor *x, int n, int c, int h, int w)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0 ||
        (size_t)n * c * h * w != ps_tensor_numel(x))
        return ps_nn_bad(g, "view: (%d,%d,%d,%d) does not match (%d,%d,%d,%d)", n, c, h, w, x->n,
                         x->c, x->h, x->w);
    ps_tensor *y = ps_nn_alloc(g, sizeof *y);
    if (!y)
        return NULL;
    *y = (ps_tensor){n, c, h, w, x->data, ps_graph_grad_on(g) ? x->grad : NULL};
    return y;
}

/* ---- (N,C,H,W) <-> (N,1,H*W,C) --------------------------------------------------------------- */
/* dst (N, A, B) = transpose of src (N, B, A) per sample; add accumulates (for backward). */
static void ps_transpose_batched(float *dst, const float *src, int N, int A, int B, int add)
{
    for (int n = 0; n < N; n++) {
        float *d = dst + (size_t)n * A * B;
        const float *s = src + (size_t)n * A * B;
        /* 32x32 blocks keep both sides in cache for the big maps of the generator */
        for (int a0 = 0; a0 < A; a0 += 32)
            for (int b0 = 0; b0 < B; b0 += 32)
                for (int a = a0; a < A && a < a0 + 32; a++)
                    for (int b = b0; b < B && b < b0 + 32; b++) {
                        if (add)
                            d[(size_t)a * B + b] += s[(size_t)b * A + a];
                        else
                            d[(size_t)a * B + b] = s[(size_t)b * A + a];
                    }
    }
}

typedef struct {
    ps_tensor *x, *y;
    int a, b; /* y is (N, a, b) and x is (N, b, a) */
} ps_transpose_ctx;

static void ps_transpose_bwd(void *p)
{
    ps_transpose_ctx *c = p;
    if (c->x->grad)
        ps_transpose_batched(c->x->grad, c->y->grad, c->x->n, c->b, c->a, 1);
}

static ps_tensor *ps_transpose_op(ps_graph *g, ps_tensor *x, int yc, int yh, int yw, int a, int b)
{
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, yc, yh, yw);
    if (!y)
        return NULL;
    ps_transpose_batched(y->data, x->data, x->n, a, b, 0);
    if (y->grad) {
        ps_transpose_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_transpose_ctx){x, y, a, b};
        ps_graph_push(g, ps_transpose_bwd, c);
    }
    return y;
}

ps_tensor *ps_map_to_tokens(ps_graph *g, ps_tensor *x)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    return ps_transpose_op(g, x, 1, x->h * x->w, x->c, x->h * x->w, x->c);
}

ps_tensor *ps_tokens_to_map(ps_graph *g, ps_tensor *t, int h, int w)
{
    if (!ps_nn_live(g, t, t))
        return NULL;
    if (t->c != 1 || h <= 0 || w <= 0 || (long)h * w != t->h)
        return ps_nn_bad(g, "tokens_to_map: tokens (%d,%d,%d,%d) are not %dx%d", t->n, t->c, t->h,
                         t->w, h, w);
    return ps_transpose_op(g, t, t->w, h, w, t->w, h * w);
}

/* ---- channel mean: (N,C,H,W) -> (N,1,1,C) -------------------------------------------------- */
static void ps_chan_mean_bwd(void *p)
{
    ps_pair_ctx *c = p; /* a = x, y = mean */
    size_t hw = (size_t)c->a->h * c->a->w;
    float inv = 1.0f / (float)hw;
    for (size_t nc = 0; nc < (size_t)c->a->n * c->a->c; nc++) {
        float d = c->y->grad[nc] * inv;
        float *dx = c->a->grad + nc * hw;
#pragma omp simd
        for (size_t i = 0; i < hw; i++)
            dx[i] += d;
    }
}

ps_tensor *ps_chan_mean(ps_graph *g, ps_tensor *x)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, 1, 1, x->c);
    if (!y)
        return NULL;
    size_t hw = (size_t)x->h * x->w;
    for (size_t nc = 0; nc < (size_t)x->n * x->c; nc++) {
        double s = 0.0;
        for (size_t i = 0; i < hw; i++)
            s += x->data[nc * hw + i];
        y->data[nc] = (float)(s / hw);
    }
    if (y->grad) {
        ps_pair_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_pair_ctx){x, NULL, y};
        ps_graph_push(g, ps_chan_mean_bwd, c);
    }
    return y;
}
