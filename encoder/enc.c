/* The style encoder: per-image tokens from a small CNN plus the fixed feature statistics, and
 * attention pooling over the shots. */
#include "enc.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define ENC_C1 24
#define ENC_C2 48
#define ENC_C3 64
#define ENC_FH 128 /* width of the projected feature statistics */

void ps_enc_declare(ps_enc *e, int tok, int dim, ps_params *p)
{
    e->tok = tok;
    e->dim = dim;
    e->c1w = ps_params_add(p, "enc.c1.w", ENC_C1, 3, 3, 3);
    e->c1b = ps_params_add(p, "enc.c1.b", 1, 1, 1, ENC_C1);
    e->c2w = ps_params_add(p, "enc.c2.w", ENC_C2, ENC_C1, 3, 3);
    e->c2b = ps_params_add(p, "enc.c2.b", 1, 1, 1, ENC_C2);
    e->c3w = ps_params_add(p, "enc.c3.w", ENC_C3, ENC_C2, 3, 3);
    e->c3b = ps_params_add(p, "enc.c3.b", 1, 1, 1, ENC_C3);
    e->c4w = ps_params_add(p, "enc.c4.w", dim, ENC_C3, 3, 3);
    e->c4b = ps_params_add(p, "enc.c4.b", 1, 1, 1, dim);
    e->fw = ps_params_add(p, "enc.feat.w", 1, 1, PS_FEAT_DIM, ENC_FH);
    e->fb = ps_params_add(p, "enc.feat.b", 1, 1, 1, ENC_FH);
    for (int k = 0; k < PS_NGROUPS; k++) {
        e->qw[k] = ps_params_addf(p, 1, 1, ENC_FH, tok * dim, "enc.g%d.qw", k);
        e->qb[k] = ps_params_addf(p, 1, 1, 1, tok * dim, "enc.g%d.qb", k);
        e->qe[k] = ps_params_addf(p, 1, 1, tok, dim, "enc.g%d.qe", k);
        e->aq[k] = ps_params_addf(p, 1, 1, dim, dim, "enc.g%d.attn.q", k);
        e->ak[k] = ps_params_addf(p, 1, 1, dim, dim, "enc.g%d.attn.k", k);
        e->av[k] = ps_params_addf(p, 1, 1, dim, dim, "enc.g%d.attn.v", k);
        e->ao[k] = ps_params_addf(p, 1, 1, dim, dim, "enc.g%d.attn.o", k);
        e->m1w[k] = ps_params_addf(p, 1, 1, dim, 2 * dim, "enc.g%d.mlp1", k);
        e->m2w[k] = ps_params_addf(p, 1, 1, 2 * dim, dim, "enc.g%d.mlp2", k);
    }
    e->score = ps_params_add(p, "enc.pool.score", 1, 1, dim, 1);
}

void ps_enc_init(const ps_enc *e, ps_params *p, uint64_t seed)
{
    ps_params_init_he(p, e->c1w, 1.41f, seed);
    ps_params_init_he(p, e->c2w, 1.41f, seed);
    ps_params_init_he(p, e->c3w, 1.41f, seed);
    ps_params_init_he(p, e->c4w, 1.41f, seed);
    ps_params_init_he(p, e->fw, 1.0f, seed);
    for (int k = 0; k < PS_NGROUPS; k++) {
        ps_params_init_he(p, e->qw[k], 0.5f, seed);
        ps_params_init_normal(p, e->qe[k], 0.5f, seed + 1);
        ps_params_init_he(p, e->aq[k], 1.0f, seed);
        ps_params_init_he(p, e->ak[k], 1.0f, seed);
        ps_params_init_he(p, e->av[k], 1.0f, seed);
        ps_params_init_he(p, e->ao[k], 0.5f, seed);
        ps_params_init_he(p, e->m1w[k], 1.0f, seed);
        ps_params_init_he(p, e->m2w[k], 0.5f, seed);
    }
    ps_params_init_he(p, e->score, 0.1f, seed);
}

#define P(i) (&p->t[(i)])

ps_tensor *ps_enc_tokens(ps_graph *g, const ps_enc *e, ps_params *p, ps_tensor *x)
{
    int K = x->n, T = e->tok, D = e->dim;
    ps_tensor *c = ps_lrelu(g, ps_conv2d(g, x, P(e->c1w), P(e->c1b), 1, 1), 0.2f);
    c = ps_lrelu(g, ps_conv2d(g, c, P(e->c2w), P(e->c2b), 2, 1), 0.2f);
    c = ps_lrelu(g, ps_conv2d(g, c, P(e->c3w), P(e->c3b), 2, 1), 0.2f);
    c = ps_lrelu(g, ps_conv2d(g, c, P(e->c4w), P(e->c4b), 2, 1), 0.2f);
    ps_tensor *map = ps_map_to_tokens(g, c);
    ps_tensor *f = ps_feat_all(g, ps_gen_linearize(g, x));
    ps_tensor *fh = ps_gelu(g, ps_linear(g, f, P(e->fw), P(e->fb)));
    ps_tensor *tok = NULL;
    for (int k = 0; k < PS_NGROUPS; k++) {
        ps_tensor *q = ps_view(g, ps_linear(g, fh, P(e->qw[k]), P(e->qb[k])), K, 1, T, D);
        q = ps_axpy(g, q, 1.0f, P(e->qe[k]));
        ps_tensor *t = ps_add(g, q, ps_attention(g, q, map, P(e->aq[k]), P(e->ak[k]),
                                                  P(e->av[k]), P(e->ao[k]), 4));
        ps_tensor *m = ps_linear(g, ps_gelu(g, ps_linear(g, t, P(e->m1w[k]), NULL)),
                                 P(e->m2w[k]), NULL);
        t = ps_add(g, t, m);
        tok = tok ? ps_concat(g, tok, t) : t; /* (K,k+1,T,D): groups are contiguous per image */
    }
    return ps_view(g, tok, K, 1, PS_NGROUPS * T, D);
}

/* ---- attention pooling over shots ---------------------------------------------------------- */
typedef struct {
    ps_tensor *out, *tok, *score;
    float *a; /* (R, K) softmax weights */
} pool_ctx;

static void pool_forward(float *out, float *a, const float *tok, const float *u, int K, int R,
                         int D)
{
    for (int r = 0; r < R; r++) {
        float mx = -INFINITY;
        for (int k = 0; k < K; k++) {
            const float *t = tok + ((size_t)k * R + r) * D;
            float s = 0;
            for (int d = 0; d < D; d++)
                s += t[d] * u[d];
            a[r * K + k] = s;
            mx = s > mx ? s : mx;
        }
        float z = 0;
        for (int k = 0; k < K; k++)
            z += a[r * K + k] = expf(a[r * K + k] - mx);
        float *o = out + (size_t)r * D;
        memset(o, 0, sizeof(float) * D);
        for (int k = 0; k < K; k++) {
            a[r * K + k] /= z;
            const float *t = tok + ((size_t)k * R + r) * D;
            for (int d = 0; d < D; d++)
                o[d] += a[r * K + k] * t[d];
        }
    }
}

static void pool_backward(void *vc)
{
    pool_ctx *c = vc;
    int K = c->tok->n, R = c->tok->h, D = c->tok->w;
    const float *tok = c->tok->data, *u = c->score->data, *a = c->a, *dout = c->out->grad;
    float *dtok = c->tok->grad, *du = c->score->grad;
    for (int r = 0; r < R; r++) {
        const float *go = dout + (size_t)r * D;
        float da[64], dot = 0; /* K <= 64 is checked at forward */
        for (int k = 0; k < K; k++) {
            const float *t = tok + ((size_t)k * R + r) * D;
            float s = 0;
            for (int d = 0; d < D; d++)
                s += go[d] * t[d];
            da[k] = s;
            dot += a[r * K + k] * s;
        }
        for (int k = 0; k < K; k++) {
            float ak = a[r * K + k], ds = ak * (da[k] - dot);
            const float *t = tok + ((size_t)k * R + r) * D;
            if (dtok) {
                float *dt = dtok + ((size_t)k * R + r) * D;
                for (int d = 0; d < D; d++)
                    dt[d] += ak * go[d] + ds * u[d];
            }
            if (du)
                for (int d = 0; d < D; d++)
                    du[d] += ds * t[d];
        }
    }
}

ps_tensor *ps_enc_pool(ps_graph *g, ps_tensor *tok, ps_tensor *score)
{
    if (!tok || !score || ps_graph_status(g))
        return NULL;
    int K = tok->n, R = tok->h, D = tok->w;
    if (tok->c != 1 || K > 64 || (int)ps_tensor_numel(score) != D) {
        ps_fail(PS_EINTERNAL, "encoder pool: bad shapes");
        return NULL;
    }
    ps_tensor *out = ps_tensor_new(g, 1, 1, R, D);
    float *a = ps_arena_alloc(ps_graph_arena(g), sizeof(float) * (size_t)R * K);
    if (!out || !a)
        return NULL;
    pool_forward(out->data, a, tok->data, score->data, K, R, D);
    if (ps_graph_grad_on(g) && out->grad && (tok->grad || score->grad)) {
        pool_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (pool_ctx){.out = out, .tok = tok, .score = score, .a = a};
        ps_graph_push(g, pool_backward, c);
    }
    return out;
}
