/* Attention at a size where the fused core runs on several threads (lanes, padding, per-thread
 * dK/dV accumulators), against a plain double-precision reference: output and every gradient.
 * Also: two runs with the same thread count give bitwise identical gradients. */
#include "src/nn/nn.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

/* TQ * TK * E above PS_NN_OMP_MIN (4M) so the core runs threaded; TQ not a multiple of 8 */
enum { N = 2, TQ = 11003, TK = 24, DQ = 12, DKV = 10, E = 16, H = 4, DOUT = 6 };

/* y[r][c] = sum_k x[r][k] w[k][c] */
static void mm(double *y, const double *x, const double *w, int R, int K, int C)
{
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += x[r * K + k] * w[k * C + c];
            y[r * C + c] = s;
        }
}

static double *dbl(const float *x, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* Reference forward for sample n with kv sample nk; loss = sum(y * G) and its gradients by
 * hand (the textbook formulas), accumulated into the d* arrays. */
static void reference(const ps_params *p, const double *G, double *y, double *grads[6])
{
    const double *q = dbl(p->t[0].data, ps_tensor_numel(&p->t[0]));
    const double *kv = dbl(p->t[1].data, ps_tensor_numel(&p->t[1]));
    double *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = dbl(p->t[2 + i].data, ps_tensor_numel(&p->t[2 + i]));
    int d = E / H;
    double sc = 1.0 / sqrt((double)d);
    double *Q = calloc(TQ * E, 8), *K = calloc(TK * E, 8), *V = calloc(TK * E, 8);
    double *O = calloc(TQ * E, 8), *P = calloc(TQ * TK, 8), *dO = calloc(TQ * E, 8);
    double *dQ = calloc(TQ * E, 8), *dK = calloc(TK * E, 8), *dV = calloc(TK * E, 8);
    for (int n = 0; n < N; n++) {
        const double *qn = q + n * TQ * DQ, *kvn = kv; /* kv is shared (n = 1) */
        mm(Q, qn, w[0], TQ, DQ, E);
        mm(K, kvn, w[1], TK, DKV, E);
        mm(V, kvn, w[2], TK, DKV, E);
        const double *Gn = G + n * TQ * DOUT;
        /* dO = G Wo^T */
        for (int i = 0; i < TQ; i++)
            for (int e = 0; e < E; e++) {
                double s = 0;
                for (int o = 0; o < DOUT; o++)
                    s += Gn[i * DOUT + o] * w[3][e * DOUT + o];
                dO[i * E + e] = s;
            }
        memset(dQ, 0, TQ * E * 8);
        for (int h = 0; h < H; h++)
            for (int i = 0; i < TQ; i++) {
                double m = -1e300, z = 0, dp[TK], dot = 0;
                for (int j = 0; j < TK; j++) {
                    double s = 0;
                    for (int k = 0; k < d; k++)
                        s += Q[i * E + h * d + k] * K[j * E + h * d + k];
                    P[i * TK + j] = s * sc;
                    m = fmax(m, s * sc);
                }
                for (int j = 0; j < TK; j++)
                    z += (P[i * TK + j] = exp(P[i * TK + j] - m));
                for (int j = 0; j < TK; j++)
                    P[i * TK + j] /= z;
                for (int k = 0; k < d; k++) {
                    double s = 0;
                    for (int j = 0; j < TK; j++)
                        s += P[i * TK + j] * V[j * E + h * d + k];
                    O[i * E + h * d + k] = s;
                }
                for (int j = 0; j < TK; j++) {
                    dp[j] = 0;
                    for (int k = 0; k < d; k++) {
                        dp[j] += dO[i * E + h * d + k] * V[j * E + h * d + k];
                        dV[j * E + h * d + k] += P[i * TK + j] * dO[i * E + h * d + k];
                    }
                    dot += P[i * TK + j] * dp[j];
                }
                for (int j = 0; j < TK; j++) {
                    double ds = P[i * TK + j] * (dp[j] - dot) * sc;
                    for (int k = 0; k < d; k++) {
                        dQ[i * E + h * d + k] += ds * K[j * E + h * d + k];
                        dK[j * E + h * d + k] += ds * Q[i * E + h * d + k];
                    }
                }
            }
        mm(y + n * TQ * DOUT, O, w[3], TQ, E, DOUT);
        /* parameter and input gradients of the projections */
        for (int e = 0; e < E; e++)
            for (int o = 0; o < DOUT; o++)
                for (int i = 0; i < TQ; i++)
                    grads[5][e * DOUT + o] += O[i * E + e] * Gn[i * DOUT + o];
        for (int a = 0; a < DQ; a++)
            for (int e = 0; e < E; e++)
                for (int i = 0; i < TQ; i++) {
                    grads[2][a * E + e] += qn[i * DQ + a] * dQ[i * E + e];
                    grads[0][(n * TQ + i) * DQ + a] += dQ[i * E + e] * w[0][a * E + e];
                }
    }
    for (int j = 0; j < TK; j++)
        for (int a = 0; a < DKV; a++)
            for (int e = 0; e < E; e++) {
                grads[1][j * DKV + a] +=
                    dK[j * E + e] * w[1][a * E + e] + dV[j * E + e] * w[2][a * E + e];
                grads[3][a * E + e] += kv[j * DKV + a] * dK[j * E + e];
                grads[4][a * E + e] += kv[j * DKV + a] * dV[j * E + e];
            }
    free((void *)q), free((void *)kv);
    for (int i = 0; i < 4; i++)
        free(w[i]);
    free(Q), free(K), free(V), free(O), free(P), free(dO), free(dQ), free(dK), free(dV);
}

/* Relative error ||a - b|| / ||b|| */
static double relerr(const float *a, const double *b, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        e += (a[i] - b[i]) * (a[i] - b[i]);
        s += b[i] * b[i];
    }
    return sqrt(e / (s > 0 ? s : 1));
}

static void run(ps_params *p, const ps_tensor *G, ps_graph *g, float *y)
{
    ps_graph_reset(g);
    ps_params_zero_grad(p);
    ps_tensor *out = ps_attention(g, &p->t[0], &p->t[1], &p->t[2], &p->t[3], &p->t[4], &p->t[5], H);
    ps_tensor *Gt = ps_tensor_const(g, N, 1, TQ, DOUT);
    memcpy(Gt->data, G->data, ps_tensor_numel(G) * sizeof(float));
    /* loss = mean(out * G) * numel = sum(out * G) */
    ps_tensor *prod = ps_mul(g, out, Gt);
    ps_tensor *loss = ps_scale(g, ps_chan_mean(g, ps_view(g, prod, 1, 1, 1, N * TQ * DOUT)),
                               (float)(N * TQ * DOUT));
    CHECK(ps_graph_status(g) == PS_OK, "graph: %s", ps_last_error());
    memcpy(y, out->data, ps_tensor_numel(out) * sizeof(float));
    ps_graph_backward(g, loss);
}

int main(void)
{
    ps_threads_init(2);
    ps_params p;
    ps_params_init(&p);
    ps_params_add(&p, "q", N, 1, TQ, DQ);
    ps_params_add(&p, "kv", 1, 1, TK, DKV);
    ps_params_add(&p, "wq", 1, 1, DQ, E);
    ps_params_add(&p, "wk", 1, 1, DKV, E);
    ps_params_add(&p, "wv", 1, 1, DKV, E);
    ps_params_add(&p, "wo", 1, 1, E, DOUT);
    ps_params_alloc(&p);
    for (int i = 0; i < 6; i++)
        ps_params_init_normal(&p, i, i < 2 ? 1.0f : 0.5f, 21);
    ps_params gp;
    ps_params_init(&gp);
    ps_params_add(&gp, "G", N, 1, TQ, DOUT);
    ps_params_alloc(&gp);
    ps_params_init_normal(&gp, 0, 1.0f, 22);

    ps_graph *g = ps_graph_new(1 << 20);
    float *y = malloc(N * TQ * DOUT * sizeof(float)), *g1 = malloc(p.total * sizeof(float));
    run(&p, &gp.t[0], g, y);
    memcpy(g1, p.grad, p.total * sizeof(float));

    double *yr = calloc(N * TQ * DOUT, 8), *gr[6];
    for (int i = 0; i < 6; i++)
        gr[i] = calloc(ps_tensor_numel(&p.t[i]), 8);
    double *Gd = dbl(gp.t[0].data, ps_tensor_numel(&gp.t[0]));
    reference(&p, Gd, yr, gr);
    double e = relerr(y, yr, N * TQ * DOUT);
    CHECK(e < 1e-5, "output rel. error %.3g", e);
    for (int i = 0; i < 6; i++) {
        e = relerr(g1 + p.off[i], gr[i], ps_tensor_numel(&p.t[i]));
        CHECK(e < 1e-4, "grad %s rel. error %.3g", p.name[i], e);
    }
    run(&p, &gp.t[0], g, y);
    CHECK(!memcmp(g1, p.grad, p.total * sizeof(float)), "same threads, same gradients bitwise");

    for (int i = 0; i < 6; i++)
        free(gr[i]);
    free(yr), free(Gd), free(y), free(g1);
    ps_graph_free(g);
    ps_params_free(&p), ps_params_free(&gp);
    return check_done("test_nn_attn");
}
