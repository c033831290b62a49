/* Dense layers on token sets: linear (x W + b over the last dim) and multi-head attention, both
 * as strided sgemm calls (heads are column slices of Q, K, V: no copies). Attention is built for
 * the generator's shape: up to ~65k queries (pixels) against a few dozen style tokens. */
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
typedef struct {
    ps_graph *g;
    ps_tensor *q, *kv, *wq, *wk, *wv, *wo, *y;
    int heads;
    float *Q, *K, *V, *P, *O; /* (N,Tq,E) (Nk,Tk,E) (Nk,Tk,E) (N,heads,Tq,Tk) (N,Tq,E) */
} ps_attn_ctx;

static void ps_softmax_rows(float *s, long rows, int cols)
{
#pragma omp parallel for if (rows * cols > PS_NN_OMP_MIN) schedule(static)
    for (long r = 0; r < rows; r++) {
        float *x = s + r * cols, m = x[0], sum = 0.0f;
        for (int j = 1; j < cols; j++)
            m = x[j] > m ? x[j] : m;
        for (int j = 0; j < cols; j++) {
            x[j] = expf(x[j] - m);
            sum += x[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++)
            x[j] *= inv;
    }
}

static void ps_attn_bwd(void *p)
{
    ps_attn_ctx *c = p;
    int N = c->q->n, Nk = c->kv->n, Tq = c->q->h, Dq = c->q->w, Tk = c->kv->h, Dkv = c->kv->w;
    int E = c->wq->w, Dout = c->wo->w, H = c->heads, d = E / H;
    float scale = 1.0f / sqrtf((float)d);
    size_t qe = (size_t)Tq * E, ke = (size_t)Tk * E, pp = (size_t)Tq * Tk;
    float *dO = ps_nn_scratch(c->g, 2 * qe + pp + 2 * (size_t)Nk * ke);
    if (!dO)
        return;
    float *dQ = dO + qe, *dP = dQ + qe, *dK = dP + pp, *dV = dK + (size_t)Nk * ke;
    memset(dK, 0, 2 * (size_t)Nk * ke * sizeof(float));
    for (int n = 0; n < N; n++) {
        int nk = Nk == 1 ? 0 : n;
        const float *dy = c->y->grad + (size_t)n * Tq * Dout, *O = c->O + n * qe;
        const float *Q = c->Q + n * qe, *K = c->K + nk * ke, *V = c->V + nk * ke;
        float *dKn = dK + nk * ke, *dVn = dV + nk * ke;
        ps_nn_gemm(0, 1, Tq, E, Dout, 1.0f, dy, Dout, c->wo->data, Dout, 0.0f, dO, E);
        if (c->wo->grad)
            ps_nn_gemm(1, 0, E, Dout, Tq, 1.0f, O, E, dy, Dout, 1.0f, c->wo->grad, Dout);
        for (int h = 0; h < H; h++) {
            const float *P = c->P + ((size_t)n * H + h) * pp;
            ps_nn_gemm(0, 1, Tq, Tk, d, 1.0f, dO + h * d, E, V + h * d, E, 0.0f, dP, Tk);
            ps_nn_gemm(1, 0, Tk, d, Tq, 1.0f, P, Tk, dO + h * d, E, 1.0f, dVn + h * d, E);
            /* softmax backward: dS = P * (dP - sum_j P dP), times the logit scale */
#pragma omp parallel for if ((long)pp > PS_NN_OMP_MIN) schedule(static)
            for (long r = 0; r < Tq; r++) {
                const float *pr = P + r * Tk;
                float *dr = dP + r * Tk, dot = 0.0f;
                for (int j = 0; j < Tk; j++)
                    dot += pr[j] * dr[j];
                for (int j = 0; j < Tk; j++)
                    dr[j] = pr[j] * (dr[j] - dot) * scale;
            }
            ps_nn_gemm(0, 0, Tq, d, Tk, 1.0f, dP, Tk, K + h * d, E, 0.0f, dQ + h * d, E);
            ps_nn_gemm(1, 0, Tk, d, Tq, 1.0f, dP, Tk, Q + h * d, E, 1.0f, dKn + h * d, E);
        }
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
    int H = heads, d = E / H, keep = y->grad != NULL;
    float scale = 1.0f / sqrtf((float)d);
    size_t qe = (size_t)Tq * E, ke = (size_t)Tk * E, pp = (size_t)Tq * Tk;
    /* K and V live in the arena (small); Q, P and O too when backward needs them, else they
     * are per-sample scratch reused for every n and head. */
    float *K = ps_nn_alloc(g, 2 * (size_t)Nk * ke * sizeof(float)), *V = K ? K + Nk * ke : NULL;
    float *Q, *P, *O;
    if (keep) {
        Q = ps_nn_arena_alloc_raw(ps_graph_arena(g), N * qe * sizeof(float));
        O = ps_nn_arena_alloc_raw(ps_graph_arena(g), N * qe * sizeof(float));
        P = ps_nn_arena_alloc_raw(ps_graph_arena(g), (size_t)N * H * pp * sizeof(float));
        if (!Q || !O || !P)
            return ps_nn_bad(g, "attention: out of memory for %d x %d queries", N, Tq);
    } else {
        Q = ps_nn_scratch(g, 2 * qe + pp);
        O = Q ? Q + qe : NULL;
        P = Q ? O + qe : NULL;
    }
    if (!K || !Q)
        return NULL;
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
        for (int h = 0; h < H; h++) {
            float *Ph = P + (keep ? ((size_t)n * H + h) * pp : 0);
            ps_nn_gemm(0, 1, Tq, Tk, d, scale, Qn + h * d, E, K + nk * ke + h * d, E, 0.0f, Ph,
                       Tk);
            ps_softmax_rows(Ph, Tq, Tk);
            ps_nn_gemm(0, 0, Tq, d, Tk, 1.0f, Ph, Tk, V + nk * ke + h * d, E, 0.0f, On + h * d,
                       E);
        }
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
