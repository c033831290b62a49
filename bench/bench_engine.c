/* Engine micro-benchmark: how close conv2d (im2col + sgemm) and attention come to the raw sgemm
 * roof of this machine, at the shapes the generator runs. Uses the same ps_threads_init setting
 * as the rest of pstyle, so the numbers are what `apply` gets. */
#include "bench/bench.h"
#include "src/nn/nn.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>

#define PS_BENCH_MAX_RUNS 9

typedef struct {
    double med, min, max; /* seconds */
} ps_bench_time;

static double ps_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int ps_bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What one benchmark runs: fn(arg) once per timed run. */
typedef void (*ps_bench_fn)(void *arg);

static ps_bench_time ps_bench_run(ps_bench_fn fn, void *arg, int runs)
{
    double t[PS_BENCH_MAX_RUNS];
    fn(arg); /* warm-up: page faults, OpenBLAS thread start, caches */
    for (int i = 0; i < runs; i++) {
        double t0 = ps_bench_now();
        fn(arg);
        t[i] = ps_bench_now() - t0;
    }
    qsort(t, (size_t)runs, sizeof t[0], ps_bench_cmp);
    return (ps_bench_time){t[runs / 2], t[0], t[runs - 1]};
}

static void ps_bench_fill(float *x, size_t n, ps_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ps_rng_normal(r) * 0.1f;
}

static void ps_bench_line(FILE *out, const char *name, double flops, ps_bench_time t, double roof)
{
    double g = flops / t.med * 1e-9;
    fprintf(out, "%-34s %8.1f  (%6.1f-%6.1f) %9.2f ms", name, g, flops / t.max * 1e-9,
            flops / t.min * 1e-9, t.med * 1e3);
    if (roof > 0)
        fprintf(out, "  %5.0f%%", 100.0 * g / roof);
    fputc('\n', out);
}

/* ---- sgemm roof ------------------------------------------------------------------------------ */
typedef struct {
    int n;
    float *a, *b, *c;
} ps_bench_gemm;

static void ps_bench_gemm_fn(void *p)
{
    ps_bench_gemm *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->n, g->n, 1.0f, g->a, g->n,
                g->b, g->n, 0.0f, g->c, g->n);
}

/* ---- conv2d ---------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W, OC, K, stride, pad, OH, OW;
    float *in, *w, *b, *out, *scratch;
} ps_bench_conv;

static void ps_bench_conv_fn(void *p)
{
    ps_bench_conv *c = p;
    ps_conv2d_forward(c->out, c->in, c->w, c->b, 1, c->C, c->H, c->W, c->OC, c->K, c->stride,
                      c->pad, c->scratch);
}

static void ps_bench_conv_shape(FILE *out, int C, int HW, int OC, int K, int stride, int runs,
                                double roof, ps_rng *r)
{
    ps_bench_conv c = {C, HW, HW, OC, K, stride, K / 2, 0, 0, NULL, NULL, NULL, NULL, NULL};
    c.OH = c.OW = (HW + 2 * c.pad - K) / stride + 1;
    c.in = malloc((size_t)C * HW * HW * sizeof(float));
    c.w = malloc((size_t)OC * C * K * K * sizeof(float));
    c.b = malloc((size_t)OC * sizeof(float));
    c.out = malloc((size_t)OC * c.OH * c.OW * sizeof(float));
    c.scratch = malloc(ps_conv2d_scratch_floats(C, HW, HW, K, stride, c.pad) * sizeof(float));
    if (c.in && c.w && c.b && c.out && c.scratch) {
        ps_bench_fill(c.in, (size_t)C * HW * HW, r);
        ps_bench_fill(c.w, (size_t)OC * C * K * K, r);
        ps_bench_fill(c.b, (size_t)OC, r);
        char name[64];
        snprintf(name, sizeof name, "conv%dx%d%s %d->%d @%dx%d", K, K, stride > 1 ? "/2" : "",
                 C, OC, HW, HW);
        double flops = 2.0 * OC * C * K * K * c.OH * c.OW;
        ps_bench_line(out, name, flops, ps_bench_run(ps_bench_conv_fn, &c, runs), roof);
    }
    free(c.in), free(c.w), free(c.b), free(c.out), free(c.scratch);
}

/* conv forward + backward through the tape (what one training step pays per layer) */
typedef struct {
    ps_graph *g;
    ps_tensor *x, *w, *b;
} ps_bench_convbw;

static void ps_bench_convbw_fn(void *p)
{
    ps_bench_convbw *c = p;
    ps_graph_reset(c->g);
    ps_tensor *y = ps_conv2d(c->g, c->x, c->w, c->b, 1, 1);
    ps_graph_backward(c->g, ps_chan_mean(c->g, ps_view(c->g, y, 1, 1, 1, (int)ps_tensor_numel(y))));
}

/* ---- attention ------------------------------------------------------------------------------- */
typedef struct {
    ps_graph *g;
    ps_tensor *q, *kv, *wq, *wk, *wv, *wo;
    int heads;
} ps_bench_attn;

static void ps_bench_attn_fn(void *p)
{
    ps_bench_attn *a = p;
    ps_graph_reset(a->g);
    ps_attention(a->g, a->q, a->kv, a->wq, a->wk, a->wv, a->wo, a->heads);
}

void ps_bench_engine(FILE *out, int quick)
{
    int runs = quick ? 3 : 7;
    ps_rng r;
    ps_rng_seed(&r, 1);
    double load[1] = {-1};
    getloadavg(load, 1); /* other processes' load makes every figure below slower */
    fprintf(out, "engine: %s, %d threads, load average %.1f\n", openblas_get_config(),
            openblas_get_num_threads(), load[0]);
    fprintf(out, "GFLOP/s: median (min-max) of %d runs after a warm-up; roof = share of sgemm's\n",
            runs);
    fprintf(out, "%-34s %8s  %15s %12s  %6s\n", "kernel", "GFLOP/s", "(min-max)", "time",
            "roof");

    ps_bench_gemm gm = {quick ? 512 : 1024, NULL, NULL, NULL};
    size_t nn = (size_t)gm.n * gm.n;
    gm.a = malloc(nn * sizeof(float)), gm.b = malloc(nn * sizeof(float));
    gm.c = malloc(nn * sizeof(float));
    double roof = 0;
    if (gm.a && gm.b && gm.c) {
        ps_bench_fill(gm.a, nn, &r), ps_bench_fill(gm.b, nn, &r);
        ps_bench_time t = ps_bench_run(ps_bench_gemm_fn, &gm, runs);
        double flops = 2.0 * gm.n * nn;
        roof = flops / t.med * 1e-9;
        char name[64];
        snprintf(name, sizeof name, "sgemm %dx%dx%d (roof)", gm.n, gm.n, gm.n);
        ps_bench_line(out, name, flops, t, 0);
    }
    free(gm.a), free(gm.b), free(gm.c);

    ps_bench_conv_shape(out, 32, 128, 32, 3, 1, runs, roof, &r);
    ps_bench_conv_shape(out, 32, 256, 32, 3, 1, runs, roof, &r);
    ps_bench_conv_shape(out, 64, 64, 64, 3, 1, runs, roof, &r);
    ps_bench_conv_shape(out, 64, 128, 64, 1, 1, runs, roof, &r);
    ps_bench_conv_shape(out, 32, 256, 64, 3, 2, runs, roof, &r);

    ps_params p;
    ps_params_init(&p);
    /* parameters as plain weight storage for the tape benchmarks */
    int iw = ps_params_add(&p, "conv.w", 32, 32, 3, 3);
    int ib = ps_params_add(&p, "conv.b", 1, 1, 1, 32);
    int iq = ps_params_add(&p, "wq", 1, 1, 64, 64), ik = ps_params_add(&p, "wk", 1, 1, 64, 64);
    int iv = ps_params_add(&p, "wv", 1, 1, 64, 64), io = ps_params_add(&p, "wo", 1, 1, 64, 64);
    ps_graph *g = ps_graph_new((size_t)64 << 20);
    if (ps_params_alloc(&p) == PS_OK && g) {
        for (int i = 0; i < p.count; i++)
            ps_params_init_he(&p, i, 1.0f, 7);
        ps_tensor *x = ps_tensor_const(g, 1, 32, 128, 128);
        if (x) {
            ps_bench_fill(x->data, ps_tensor_numel(x), &r);
            ps_bench_convbw c = {g, x, &p.t[iw], &p.t[ib]};
            ps_graph_set_grad(g, 1);
            /* forward + dW + db + (no dx: the input is a constant) = 2 GEMM passes */
            double flops = 2.0 * 2.0 * 32 * 32 * 9 * 128 * 128;
            ps_bench_line(out, "conv3x3 32->32 @128 fwd+bwd(w)", flops,
                          ps_bench_run(ps_bench_convbw_fn, &c, runs), roof);
        }
        /* the input tensors outlive graph resets: keep them out of the graph's arena */
        int Tq = 65536, Tk = 24, E = 64;
        ps_graph_set_grad(g, 0);
        float *qd = malloc((size_t)Tq * E * sizeof(float)), *kd = malloc((size_t)Tk * E * 4);
        if (qd && kd) {
            ps_bench_fill(qd, (size_t)Tq * E, &r), ps_bench_fill(kd, (size_t)Tk * E, &r);
            ps_tensor q = {1, 1, Tq, E, qd, NULL}, kv = {1, 1, Tk, E, kd, NULL};
            ps_bench_attn a = {g, &q, &kv, &p.t[iq], &p.t[ik], &p.t[iv], &p.t[io], 4};
            /* Q and output projections, QK^T and PV; K/V projections are negligible */
            double flops = 2.0 * Tq * E * E * 2 + 2.0 * Tq * Tk * E * 2;
            ps_bench_line(out, "attention 65536q x 24k E64 h4", flops,
                          ps_bench_run(ps_bench_attn_fn, &a, runs), roof);
        }
        free(qd), free(kd);
    }
    ps_graph_free(g);
    ps_params_free(&p);
}
