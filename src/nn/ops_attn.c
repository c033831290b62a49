/* Dense layers on token sets: linear (x W + b over the last dim, one sgemm) and multi-head
 * attention (sgemm projections around a fused SIMD softmax core). Attention is built for the
 * generator's shape: up to ~65k queries (pixels) against a few dozen style tokens. */
#include "nn_impl.h"
#include <math.h>
#include <string.h>

/* ---- linear ---------------------------------------------------------------------------------- */
typedef struct {
    ps_tensor *x, *w, *b, *y;
} ps_linear_ctx;

static void ps_linear_bwd(void *p)
{
    ps_linear_ctx *c = p;
    int rows = c->x->n * c->x->c * c->x->h, in = c->x->w, out = c->y->w;
    const float *dy = c->y->grad;
    if (c->x->grad) /* dx (rows,in) += dy W^T */
        ps_nn_gemm(0, 1, rows, in, out, 1.0f, dy, out, c->w->data, out, 1.0f, c->x->grad, in);
    if (c->w->grad) /* dW (in,out) += x^T dy */
        ps_nn_gemm(1, 0, in, out, rows, 1.0f, c->x->data, in, dy, out, 1.0f, c->w->grad, out);
    if (c->b && c->b->grad)
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++)
                c->b->grad[o] += dy[(size_t)r * out + o];
}

ps_tensor *ps_linear(ps_graph *g, ps_tensor *x, ps_tensor *w, ps_tensor *b)
{
    if (!ps_nn_live(g, x, w))
        return NULL;
    int in = x->w, out = w->w;
    if (w->h != in || w->n * w->c != 1 || (b && ps_tensor_numel(b) != (size_t)out))
        return ps_nn_bad(g, "linear: x (%d,%d,%d,%d) weight (%d,%d,%d,%d) bias %zu do not fit",
                         x->n, x->c, x->h, x->w, w->n, w->c, w->h, w->w,
                         b ? ps_tensor_numel(b) : 0);
    ps_tensor *y = ps_nn_out(g, x->grad || w->grad || (b && b->grad), x->n, x->c, x->h, out);
    if (!y)
        return NULL;
    int rows = x->n * x->c * x->h;
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++)
            y->data[(size_t)r * out + o] = b ? b->data[o] : 0.0f;
    ps_nn_gemm(0, 0, rows, out, in, 1.0f, x->data, in, w->data, out, 1.0f, y->data, out);
    if (y->grad) {
        ps_linear_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_linear_ctx){x, w, b, y};
        ps_graph_push(g, ps_linear_bwd, c);
    }
    return y;
}

/* ---- multi-head attention ------------------------------------------------------------------ */
/* The projections (q Wq, kv Wk, kv Wv, O Wo) are sgemm calls with good shapes. The core, per
 * query and head, is a (1 x d) (d x Tk) product, a softmax over Tk and a (1 x Tk) (Tk x d)
 * product: with Tk ~ 24 and d ~ 16 those are far too thin for sgemm (measured 8 GFLOP/s). So the
 * core is a fused loop over blocks of PS_ATTN_B queries held transposed (feature-major), which
 * makes every inner loop a fixed-length, vectorizable run over the block, softmax included. */
/* One block = the lanes of one SIMD vector (GCC vector extension: explicit, so it does not
 * depend on the auto-vectorizer at -O2): 4 queries with SSE, 8 with AVX (NATIVE=1). */
#ifdef __AVX__
typedef float ps_vf __attribute__((vector_size(32), may_alias));
typedef int32_t ps_vi __attribute__((vector_size(32), may_alias));
#else
typedef float ps_vf __attribute__((vector_size(16), may_alias));
typedef int32_t ps_vi __attribute__((vector_size(16), may_alias));
#endif
#define PS_ATTN_B ((int)(sizeof(ps_vf) / sizeof(float)))

typedef struct {
    ps_graph *g;
    ps_tensor *q, *kv, *wq, *wk, *wv, *wo, *y;
    int heads;
    float *Q, *K, *V, *P, *O; /* (N,Tq,E) (Nk,Tk,E) (Nk,Tk,E) (N,Tq,H,Tk) (N,Tq,E) */
} ps_attn_ctx;

static inline ps_vf ps_vf_max(ps_vf a, ps_vf b)
{
    ps_vi m = a > b; /* all-ones lanes where a wins */
    return (ps_vf)(((ps_vi)a & m) | ((ps_vi)b & ~m));
}

/* exp(x) for x <= 0 (softmax after subtracting the max): Cody-Waite reduction to r in
 * [-ln2/2, ln2/2], degree-6 Taylor/Horner for e^r (rel. error < 2e-7), 2^n by exponent bits.
 * Inputs below -87 are clamped (e^-87 ~ 1.6e-38, still a normal float). */
static inline ps_vf ps_vf_exp_neg(ps_vf x)
{
    x = ps_vf_max(x, x * 0.0f - 87.0f);
    /* round to nearest by the 1.5 * 2^23 trick */
    ps_vf n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    ps_vf r = x - n * 0.693145752f - n * 1.42860677e-6f;
    ps_vf p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666668e-2f +
              r * (8.3333338e-3f + r * 1.3888889e-3f)))));
    ps_vi e = (__builtin_convertvector(n, ps_vi) + 127) << 23;
    return p * (ps_vf)e;
}

/* dst[k] lane b = src[(i0 + b) * ld + c0 + k] * mul for k < rows, zero in lanes b >= nb, so
 * padded queries contribute nothing. */
static void ps_attn_load_t(ps_vf *dst, const float *src, size_t ld, int i0, int nb, int c0,
                           int rows, float mul)
{
    float *d = (float *)dst;
    for (int b = 0; b < nb; b++) { /* row by row: contiguous reads */
        const float *s = src + (size_t)(i0 + b) * ld + c0;
        for (int k = 0; k < rows; k++)
            d[k * PS_ATTN_B + b] = s[k] * mul;
    }
    for (int b = nb; b < PS_ATTN_B; b++)
        for (int k = 0; k < rows; k++)
            d[k * PS_ATTN_B + b] = 0.0f;
}

/* Inverse of ps_attn_load_t for the lanes b < nb. */
static void ps_attn_store_t(float *dst, size_t ld, const ps_vf *src, int i0, int nb, int c0,
                            int rows)
{
    const float *s = (const float *)src;
    for (int b = 0; b < nb; b++) {
        float *d = dst + (size_t)(i0 + b) * ld + c0;
        for (int k = 0; k < rows; k++)
            d[k] = s[k * PS_ATTN_B + b];
    }
}

/* out[r] = sum_k A[r * lda + k] * xt[k] for r < rows: the block "GEMM" (A rows broadcast).
 * Four rows at a time: four independent add chains instead of one latency-bound chain. */
static void ps_attn_block_mm(ps_vf *out, const float *A, size_t lda, const ps_vf *xt, int rows,
                             int K)
{
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *a0 = A + (size_t)r * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        ps_vf c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
        for (int k = 0; k < K; k++) {
            ps_vf x = xt[k];
            c0 += a0[k] * x, c1 += a1[k] * x, c2 += a2[k] * x, c3 += a3[k] * x;
        }
        out[r] = c0, out[r + 1] = c1, out[r + 2] = c2, out[r + 3] = c3;
    }
    for (; r < rows; r++) {
        const float *a = A + (size_t)r * lda;
        ps_vf c = {0};
        for (int k = 0; k < K; k++)
            c += a[k] * xt[k];
        out[r] = c;
    }
}

/* out[k] = sum_j A[j * lda + k] * xt[j] for k < cols: the transposed block product, four
 * columns at a time like ps_attn_block_mm. */
static void ps_attn_block_mtm(ps_vf *out, const float *A, size_t lda, const ps_vf *xt, int cols,
                              int J)
{
    int k = 0;
    for (; k + 4 <= cols; k += 4) {
        ps_vf c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
        for (int j = 0; j < J; j++) {
            const float *a = A + (size_t)j * lda + k;
            ps_vf x = xt[j];
            c0 += a[0] * x, c1 += a[1] * x, c2 += a[2] * x, c3 += a[3] * x;
        }
        out[k] = c0, out[k + 1] = c1, out[k + 2] = c2, out[k + 3] = c3;
    }
    for (; k < cols; k++) {
        ps_vf c = {0};
        for (int j = 0; j < J; j++)
            c += A[(size_t)j * lda + k] * xt[j];
        out[k] = c;
    }
}

/* Per-thread work vectors of the forward core: qt (d), st (Tk), ot (d). */
static size_t ps_attn_work(int Tk, int d)
{
    return (size_t)2 * d + Tk;
}

/* Softmax attention for one sample: O (Tq,E) from Q (Tq,E) and one kv set (K, V: (Tk,E)).
 * P (Tq,H,Tk) is written when non-NULL (backward needs it). */
static void ps_attn_core(float *O, float *P, const float *Q, const float *K, const float *V,
                         int Tq, int Tk, int E, int H, float scale, ps_vf *work)
{
    int d = E / H, nblk = (Tq + PS_ATTN_B - 1) / PS_ATTN_B;
#pragma omp parallel for if ((long)Tq * Tk * E > PS_NN_OMP_MIN) schedule(static)
    for (int blk = 0; blk < nblk; blk++) {
        ps_vf *qt = work + (size_t)omp_get_thread_num() * ps_attn_work(Tk, d);
        ps_vf *st = qt + d, *ot = st + Tk;
        int i0 = blk * PS_ATTN_B, nb = Tq - i0 < PS_ATTN_B ? Tq - i0 : PS_ATTN_B;
        for (int h = 0; h < H; h++) {
            ps_attn_load_t(qt, Q, (size_t)E, i0, nb, h * d, d, scale);
            ps_attn_block_mm(st, K + h * d, (size_t)E, qt, Tk, d); /* logits (Tk lanes) */
            ps_vf mx = st[0], sum = {0};
            for (int j = 1; j < Tk; j++)
                mx = ps_vf_max(mx, st[j]);
            for (int j = 0; j < Tk; j++) {
                st[j] = ps_vf_exp_neg(st[j] - mx);
                sum += st[j];
            }
            ps_vf inv = 1.0f / sum;
            for (int j = 0; j < Tk; j++)
                st[j] *= inv;
            if (P)
                ps_attn_store_t(P + (size_t)h * Tk, (size_t)H * Tk, st, i0, nb, 0, Tk);
            ps_attn_block_mtm(ot, V + h * d, (size_t)E, st, d, Tk); /* O_h = P V_h */
            ps_attn_store_t(O, (size_t)E, ot, i0, nb, h * d, d);
        }
    }
}

/* Per-thread work vectors of the backward core: dK and dV accumulators kept per lane (Tk*E
 * each, summed at the end: no horizontal sums in the loop), then pt, dst (Tk), qt, dot, dqt (d). */
static size_t ps_attn_work_bwd(int Tk, int E, int d)
{
    return (size_t)2 * Tk * E + (size_t)2 * Tk + (size_t)3 * d;
}

/* Backward of ps_attn_core for one sample: dQ (Tq,E) overwritten; dK, dV (Tk,E) accumulated.
 * Per-thread accumulators are summed in thread order: deterministic for a given thread count. */
static void ps_attn_core_bwd(float *dQ, float *dK, float *dV, const float *dO, const float *P,
                             const float *Q, const float *K, const float *V, int Tq, int Tk,
                             int E, int H, float scale, ps_vf *work, int nth)
{
    int d = E / H, nblk = (Tq + PS_ATTN_B - 1) / PS_ATTN_B;
    size_t acc_n = (size_t)Tk * E, wsz = ps_attn_work_bwd(Tk, E, d);
    for (int t = 0; t < nth; t++)
        memset(work + t * wsz, 0, 2 * acc_n * sizeof(ps_vf));
#pragma omp parallel for if ((long)Tq * Tk * E > PS_NN_OMP_MIN) schedule(static)
    for (int blk = 0; blk < nblk; blk++) {
        ps_vf *aK = work + (size_t)omp_get_thread_num() * wsz, *aV = aK + acc_n;
        ps_vf *pt = aV + acc_n, *dst = pt + Tk, *qt = dst + Tk, *dot = qt + d, *dqt = dot + d;
        int i0 = blk * PS_ATTN_B, nb = Tq - i0 < PS_ATTN_B ? Tq - i0 : PS_ATTN_B;
        for (int h = 0; h < H; h++) {
            ps_attn_load_t(qt, Q, (size_t)E, i0, nb, h * d, d, 1.0f);
            ps_attn_load_t(dot, dO, (size_t)E, i0, nb, h * d, d, 1.0f);
            ps_attn_load_t(pt, P + (size_t)h * Tk, (size_t)H * Tk, i0, nb, 0, Tk, 1.0f);
            ps_attn_block_mm(dst, V + h * d, (size_t)E, dot, Tk, d); /* dP = dO_h V_h^T */
            ps_vf dsum = {0};
            for (int j = 0; j < Tk; j++)
                dsum += pt[j] * dst[j];
            /* softmax backward, logit scale folded in: dS = P (dP - sum P dP) scale */
            for (int j = 0; j < Tk; j++)
                dst[j] = pt[j] * (dst[j] - dsum) * scale;
            ps_attn_block_mtm(dqt, K + h * d, (size_t)E, dst, d, Tk); /* dQ_h = dS K_h */
            ps_attn_store_t(dQ, (size_t)E, dqt, i0, nb, h * d, d);
            for (int j = 0; j < Tk; j++) { /* dK_h += dS^T Q_h, dV_h += P^T dO_h, per lane */
                ps_vf *ak = aK + (size_t)j * E + h * d, *av = aV + (size_t)j * E + h * d;
                for (int k = 0; k < d; k++) {
                    ak[k] += dst[j] * qt[k];
                    av[k] += pt[j] * dot[k];
                }
            }
        }
    }
    for (int t = 0; t < nth; t++) {
        const ps_vf *aK = work + t * wsz, *aV = aK + acc_n;
        for (size_t e = 0; e < acc_n; e++) {
            const float *k = (const float *)&aK[e], *v = (const float *)&aV[e];
            for (int b = 0; b < PS_ATTN_B; b++) {
                dK[e] += k[b];
                dV[e] += v[b];
            }
        }
    }
}

static void ps_attn_bwd(void *p)
{
    ps_attn_ctx *c = p;
    int N = c->q->n, Nk = c->kv->n, Tq = c->q->h, Dq = c->q->w, Tk = c->kv->h, Dkv = c->kv->w;
    int E = c->wq->w, Dout = c->wo->w, H = c->heads, nth = omp_get_max_threads();
    float scale = 1.0f / sqrtf((float)(E / H));
    size_t qe = (size_t)Tq * E, ke = (size_t)Tk * E;
    /* work first: the scratch is 64-byte aligned and the vectors need their own alignment */
    size_t nwork = (size_t)nth * ps_attn_work_bwd(Tk, E, E / H) * PS_ATTN_B;
    float *scratch = ps_nn_scratch(c->g, nwork + 2 * qe + 2 * (size_t)Nk * ke);
    if (!scratch)
        return;
    ps_vf *work = (ps_vf *)scratch;
    float *dO = scratch + nwork, *dQ = dO + qe, *dK = dQ + qe, *dV = dK + (size_t)Nk * ke;
    memset(dK, 0, 2 * (size_t)Nk * ke * sizeof(float));
    for (int n = 0; n < N; n++) {
        int nk = Nk == 1 ? 0 : n;
        const float *dy = c->y->grad + (size_t)n * Tq * Dout;
        ps_nn_gemm(0, 1, Tq, E, Dout, 1.0f, dy, Dout, c->wo->data, Dout, 0.0f, dO, E);
        if (c->wo->grad)
            ps_nn_gemm(1, 0, E, Dout, Tq, 1.0f, c->O + n * qe, E, dy, Dout, 1.0f, c->wo->grad,
                       Dout);
        ps_attn_core_bwd(dQ, dK + nk * ke, dV + nk * ke, dO, c->P + (size_t)n * Tq * H * Tk,
                         c->Q + n * qe, c->K + nk * ke, c->V + nk * ke, Tq, Tk, E, H, scale, work,
                         nth);
        const float *qn = c->q->data + (size_t)n * Tq * Dq;
        if (c->q->grad)
            ps_nn_gemm(0, 1, Tq, Dq, E, 1.0f, dQ, E, c->wq->data, E, 1.0f,
                       c->q->grad + (size_t)n * Tq * Dq, Dq);
        if (c->wq->grad)
            ps_nn_gemm(1, 0, Dq, E, Tq, 1.0f, qn, Dq, dQ, E, 1.0f, c->wq->grad, E);
    }
    for (int nk = 0; nk < Nk; nk++) {
        const float *kvn = c->kv->data + (size_t)nk * Tk * Dkv;
        const float *dKn = dK + nk * ke, *dVn = dV + nk * ke;
        if (c->kv->grad) {
            float *dkv = c->kv->grad + (size_t)nk * Tk * Dkv;
            ps_nn_gemm(0, 1, Tk, Dkv, E, 1.0f, dKn, E, c->wk->data, E, 1.0f, dkv, Dkv);
            ps_nn_gemm(0, 1, Tk, Dkv, E, 1.0f, dVn, E, c->wv->data, E, 1.0f, dkv, Dkv);
        }
        if (c->wk->grad)
            ps_nn_gemm(1, 0, Dkv, E, Tk, 1.0f, kvn, Dkv, dKn, E, 1.0f, c->wk->grad, E);
        if (c->wv->grad)
            ps_nn_gemm(1, 0, Dkv, E, Tk, 1.0f, kvn, Dkv, dVn, E, 1.0f, c->wv->grad, E);
    }
}

static int ps_attn_w_ok(const ps_tensor *w, int rows, int cols)
{
    return w->n == 1 && w->c == 1 && w->h == rows && (cols < 0 || w->w == cols);
}

ps_tensor *ps_attention(ps_graph *g, ps_tensor *q, ps_tensor *kv, ps_tensor *wq, ps_tensor *wk,
                        ps_tensor *wv, ps_tensor *wo, int heads)
{
    if (!ps_nn_live(g, q, kv) || !ps_nn_live(g, wq, wk) || !ps_nn_live(g, wv, wo))
        return NULL;
    int N = q->n, Nk = kv->n, Tq = q->h, Tk = kv->h, E = wq->w, Dout = wo->w;
    if (q->c != 1 || kv->c != 1 || (Nk != N && Nk != 1) || heads < 1 || E % heads ||
        !ps_attn_w_ok(wq, q->w, -1) || !ps_attn_w_ok(wk, kv->w, E) ||
        !ps_attn_w_ok(wv, kv->w, E) || !ps_attn_w_ok(wo, E, -1))
        return ps_nn_bad(g, "attention: q (%d,%d,%d,%d) kv (%d,%d,%d,%d) wq %dx%d wk %dx%d "
                            "wv %dx%d wo %dx%d heads %d do not fit", q->n, q->c, q->h, q->w,
                         kv->n, kv->c, kv->h, kv->w, wq->h, wq->w, wk->h, wk->w, wv->h, wv->w,
                         wo->h, wo->w, heads);
    int need = q->grad || kv->grad || wq->grad || wk->grad || wv->grad || wo->grad;
    ps_tensor *y = ps_nn_out(g, need, N, 1, Tq, Dout);
    if (!y)
        return NULL;
    int H = heads, keep = y->grad != NULL, nth = omp_get_max_threads();
    float scale = 1.0f / sqrtf((float)(E / H));
    size_t qe = (size_t)Tq * E, ke = (size_t)Tk * E;
    /* K and V live in the arena (small); Q, P and O too when backward needs them, else Q and O
     * are per-sample scratch and P is not stored at all. */
    float *K = ps_nn_alloc(g, 2 * (size_t)Nk * ke * sizeof(float)), *V = K ? K + Nk * ke : NULL;
    float *Q, *O, *P = NULL, *scratch;
    size_t nwork = (size_t)nth * ps_attn_work(Tk, E / H) * PS_ATTN_B; /* floats */
    if (keep) {
        Q = ps_nn_arena_alloc_raw(ps_graph_arena(g), N * qe * sizeof(float));
        O = ps_nn_arena_alloc_raw(ps_graph_arena(g), N * qe * sizeof(float));
        P = ps_nn_arena_alloc_raw(ps_graph_arena(g), (size_t)N * Tq * H * Tk * sizeof(float));
        scratch = ps_nn_scratch(g, nwork);
        if (!Q || !O || !P)
            return ps_nn_bad(g, "attention: out of memory for %d x %d queries", N, Tq);
    } else {
        scratch = ps_nn_scratch(g, nwork + 2 * qe);
        Q = scratch ? scratch + nwork : NULL;
        O = Q ? Q + qe : NULL;
    }
    if (!K || !Q || !scratch)
        return NULL;
    ps_vf *work = (ps_vf *)scratch;
    for (int nk = 0; nk < Nk; nk++) {
        const float *kvn = kv->data + (size_t)nk * Tk * kv->w;
        ps_nn_gemm(0, 0, Tk, E, kv->w, 1.0f, kvn, kv->w, wk->data, E, 0.0f, K + nk * ke, E);
        ps_nn_gemm(0, 0, Tk, E, kv->w, 1.0f, kvn, kv->w, wv->data, E, 0.0f, V + nk * ke, E);
    }
    for (int n = 0; n < N; n++) {
        int nk = Nk == 1 ? 0 : n;
        float *Qn = Q + (keep ? n * qe : 0), *On = O + (keep ? n * qe : 0);
        ps_nn_gemm(0, 0, Tq, E, q->w, 1.0f, q->data + (size_t)n * Tq * q->w, q->w, wq->data, E,
                   0.0f, Qn, E);
        ps_attn_core(On, keep ? P + (size_t)n * Tq * H * Tk : NULL, Qn, K + nk * ke, V + nk * ke,
                     Tq, Tk, E, H, scale, work);
        ps_nn_gemm(0, 0, Tq, Dout, E, 1.0f, On, E, wo->data, Dout, 0.0f,
                   y->data + (size_t)n * Tq * Dout, Dout);
    }
    if (keep) {
        ps_attn_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_attn_ctx){g, q, kv, wq, wk, wv, wo, y, heads, Q, K, V, P, O};
        ps_graph_push(g, ps_attn_bwd, c);
    }
    return y;
}
