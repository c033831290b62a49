/* Engine micro-benchmark: how close conv2d (im2col + sgemm) and attention come to the raw sgemm
 * roof of this machine, at the shapes the generator runs. Uses the same ps_threads_init setting
 * as the rest of pstyle, so the numbers are what `apply` gets. */
#include "bench/bench_impl.h"
#include "src/nn/nn.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cblas.h>

/* What one benchmark runs: fn(arg) once per timed run. */
typedef void (*ps_bench_fn)(void *arg);

static ps_bench_time ps_bench_repeat(ps_bench_fn fn, void *arg, int runs)
{
    double t[PS_BENCH_MAX_RUNS];
    fn(arg); /* warm-up: page faults, OpenBLAS thread start, caches */
    for (int i = 0; i < runs; i++) {
        double t0 = ps_clock_s();
        fn(arg);
        t[i] = ps_clock_s() - t0;
    }
    return ps_bench_stats(t, runs);
}

static void ps_bench_fill(float *x, size_t n, ps_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ps_rng_normal(r) * 0.1f;
}

/* A share of the roof with its min-max as a table cell, "-" where it was not timed. */
static void ps_bench_roof_cell(ps_bench_ctx *c, double flops, ps_bench_time t)
{
    double roof = c->roof;
    if (roof > 0 && t.med > 0)
        fprintf(c->md, " %.0f%% (%.0f-%.0f) |", 100.0 * flops / t.med * 1e-9 / roof,
                100.0 * flops / t.max * 1e-9 / roof, 100.0 * flops / t.min * 1e-9 / roof);
    else
        fprintf(c->md, " - |");
}

/* One kernel: a Markdown table row and a results.json entry, GFLOP/s with min-max and the
 * share of the sgemm roof; the same kernel timed in this run by im2col + sgemm (base) and by the
 * AVX2 kernels where the CPU runs AVX-512's (avx2) have their shares in the last two columns
 * (time 0: not timed). */
static void ps_bench_line3(ps_bench_ctx *c, const char *name, double flops, ps_bench_time t,
                           ps_bench_time base, ps_bench_time avx2)
{
    double g = flops / t.med * 1e-9, roof = c->roof;
    fprintf(c->md, "| %s | %.1f (%.1f-%.1f) | %.2f |", name, g, flops / t.max * 1e-9,
            flops / t.min * 1e-9, t.med * 1e3);
    ps_bench_roof_cell(c, flops, t);
    ps_bench_roof_cell(c, flops, base);
    ps_bench_roof_cell(c, flops, avx2);
    fprintf(c->md, "\n");
    ps_json_begin(&c->js, NULL, 0);
    ps_json_str(&c->js, "kernel", name);
    ps_bench_json_val(&c->js, "flops", flops, "FLOP");
    ps_bench_json_time(&c->js, "gflops", (ps_bench_time){g, flops / t.max * 1e-9,
                                                         flops / t.min * 1e-9}, 1, 0, "GFLOP/s");
    ps_bench_json_time(&c->js, "time", t, 1e3, 0, "ms");
    if (roof > 0)
        ps_bench_json_val(&c->js, "roof_fraction", g / roof, "1");
    if (base.med > 0) {
        ps_bench_json_time(&c->js, "im2col_time", base, 1e3, 0, "ms");
        if (roof > 0)
            ps_bench_json_val(&c->js, "im2col_roof_fraction", flops / base.med * 1e-9 / roof,
                              "1");
    }
    if (avx2.med > 0) {
        ps_bench_json_time(&c->js, "avx2_time", avx2, 1e3, 0, "ms");
        if (roof > 0)
            ps_bench_json_val(&c->js, "avx2_roof_fraction", flops / avx2.med * 1e-9 / roof, "1");
    }
    ps_json_end(&c->js, 0);
}

static void ps_bench_line(ps_bench_ctx *c, const char *name, double flops, ps_bench_time t)
{
    ps_bench_line3(c, name, flops, t, (ps_bench_time){0}, (ps_bench_time){0});
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
/* The three passes of one layer: forward, input gradient (bwd-data), weight gradient. */
enum { PS_BENCH_FWD, PS_BENCH_DIN, PS_BENCH_DW };

typedef struct {
    int C, H, W, OC, K, stride, pad, OH, OW, pass;
    float *in, *w, *b, *out, *din, *dw, *scratch;
} ps_bench_conv;

static void ps_bench_conv_fn(void *p)
{
    ps_bench_conv *c = p;
    if (c->pass == PS_BENCH_FWD)
        ps_conv2d_forward(c->out, c->in, c->w, c->b, 1, c->C, c->H, c->W, c->OC, c->K, c->stride,
                          c->pad, c->scratch);
    else /* out holds dout; the gradients accumulate, which costs nothing extra */
        ps_conv2d_backward(c->pass == PS_BENCH_DIN ? c->din : NULL,
                           c->pass == PS_BENCH_DW ? c->dw : NULL, NULL, c->out, c->in, c->w, 1,
                           c->C, c->H, c->W, c->OC, c->K, c->stride, c->pad, c->scratch);
}

/* Scratch for every pass on either path. */
static size_t ps_bench_conv_scratch(const ps_bench_conv *c)
{
    size_t most = 0;
    for (int direct = 0; direct <= 1; direct++) {
        int was = ps_conv2d_direct(direct);
        size_t f = ps_conv2d_scratch_floats(c->C, c->H, c->W, c->OC, c->K, c->stride, c->pad);
        size_t b = ps_conv2d_backward_scratch_floats(c->C, c->H, c->W, c->OC, c->K, c->stride,
                                                     c->pad);
        ps_conv2d_direct(was);
        most = f > most ? f : most;
        most = b > most ? b : most;
    }
    return most;
}

/* The same pass on the other paths, timed beside the one pstyle takes (path, a PS_CONV3_*):
 * im2col + sgemm, and the AVX2 kernels where this CPU runs AVX-512's (what a CPU with AVX2 but
 * not AVX-512, such as AMD's Zen 2 and 3, runs). A time stays 0 where its path does not apply. */
static void ps_bench_other_paths(ps_bench_fn fn, void *arg, int runs, int path, int K, int stride,
                                 ps_bench_time *base, ps_bench_time *avx2)
{
    int was = ps_conv2d_direct(PS_CONV3_IM2COL);
    *base = ps_bench_repeat(fn, arg, runs);
    ps_conv2d_direct(PS_CONV3_AVX2);
    if (path == PS_CONV3_AVX512 && ps_conv2d_is_direct(K, stride, K / 2))
        *avx2 = ps_bench_repeat(fn, arg, runs);
    ps_conv2d_direct(was);
}

/* Rows for the forward, bwd-data and bwd-weight passes of one layer (each 2*OC*C*K*K*OH*OW
 * FLOP), with the im2col + sgemm path timed beside the one pstyle takes. */
static void ps_bench_conv_shape(ps_bench_ctx *cx, const char *layer, int C, int HW, int OC, int K,
                                int stride, int runs, ps_rng *r)
{
    ps_bench_conv c = {C, HW, HW, OC, K, stride, K / 2, 0, 0, 0,
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    c.OH = c.OW = (HW + 2 * c.pad - K) / stride + 1;
    size_t nin = (size_t)C * HW * HW, nw = (size_t)OC * C * K * K;
    c.in = malloc(nin * sizeof(float)), c.din = malloc(nin * sizeof(float));
    c.w = malloc(nw * sizeof(float)), c.dw = malloc(nw * sizeof(float));
    c.b = malloc((size_t)OC * sizeof(float));
    c.out = malloc((size_t)OC * c.OH * c.OW * sizeof(float));
    c.scratch = malloc(ps_bench_conv_scratch(&c) * sizeof(float));
    if (c.in && c.din && c.w && c.dw && c.b && c.out && c.scratch) {
        ps_bench_fill(c.in, nin, r), ps_bench_fill(c.w, nw, r);
        ps_bench_fill(c.b, (size_t)OC, r);
        ps_bench_fill(c.out, (size_t)OC * c.OH * c.OW, r);
        memset(c.din, 0, nin * sizeof(float)), memset(c.dw, 0, nw * sizeof(float));
        static const char *const pass[3] = {"", " bwd-data", " bwd-weight"};
        double flops = 2.0 * OC * C * K * K * c.OH * c.OW;
        for (c.pass = PS_BENCH_FWD; c.pass <= PS_BENCH_DW; c.pass++) {
            char name[80];
            snprintf(name, sizeof name, "%s conv%dx%d%s %d->%d @%dx%d%s", layer, K, K,
                     stride > 1 ? "/2" : "", C, OC, HW, HW, pass[c.pass]);
            ps_bench_time t = ps_bench_repeat(ps_bench_conv_fn, &c, runs), base = {0}, avx2 = {0};
            int path = ps_conv2d_is_direct(K, stride, c.pad);
            /* stride 2's input gradient is im2col on every path (nn.h) */
            if (path && (stride == 1 || c.pass != PS_BENCH_DIN))
                ps_bench_other_paths(ps_bench_conv_fn, &c, runs, path, K, stride, &base, &avx2);
            ps_bench_line3(cx, name, flops, t, base, avx2);
        }
    }
    free(c.in), free(c.din), free(c.w), free(c.dw), free(c.b), free(c.out), free(c.scratch);
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

/* Sections 1 and 2: the machine with its sgemm roof, then the generator's own layers (its
 * conv shapes at the working resolution, its attention) as GFLOP/s and share of the roof. */
void ps_bench_sec_engine(ps_bench_ctx *c)
{
    int runs = c->quick ? 3 : 7;
    ps_rng r;
    ps_rng_seed(&r, 1);
    double load[1] = {-1};
    getloadavg(load, 1); /* other processes' load makes every figure below slower */
    char cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f)
        fclose(f);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(c->md, "## 1. Machine\n\n| | |\n|---|---|\n| CPU | %s |\n| cores | %ld |\n"
            "| OpenBLAS | %s |\n| OpenBLAS threads | %d |\n| load average at start | %.2f |\n",
            cpu, cores, openblas_get_config(), openblas_get_num_threads(), load[0]);
    ps_json_begin(&c->js, "machine", 0);
    ps_json_str(&c->js, "cpu", cpu);
    ps_bench_json_val(&c->js, "cores", (double)cores, "count");
    ps_json_str(&c->js, "openblas", openblas_get_config());
    ps_bench_json_val(&c->js, "openblas_threads", openblas_get_num_threads(), "count");
    ps_bench_json_val(&c->js, "load_average", load[0], "1");

    ps_bench_gemm gm = {c->quick ? 512 : 1024, NULL, NULL, NULL};
    size_t nn = (size_t)gm.n * gm.n;
    gm.a = malloc(nn * sizeof(float)), gm.b = malloc(nn * sizeof(float));
    gm.c = malloc(nn * sizeof(float));
    if (gm.a && gm.b && gm.c) {
        ps_bench_fill(gm.a, nn, &r), ps_bench_fill(gm.b, nn, &r);
        ps_bench_time t = ps_bench_repeat(ps_bench_gemm_fn, &gm, runs);
        double flops = 2.0 * gm.n * nn;
        c->roof = flops / t.med * 1e-9;
        fprintf(c->md, "| sgemm %dx%dx%d (the roof) | %.1f GFLOP/s (%.1f-%.1f) |\n\n", gm.n,
                gm.n, gm.n, c->roof, flops / t.max * 1e-9, flops / t.min * 1e-9);
        ps_bench_json_time(&c->js, "sgemm_roof", (ps_bench_time){c->roof, flops / t.max * 1e-9,
                           flops / t.min * 1e-9}, 1, runs, "GFLOP/s");
        ps_bench_json_val(&c->js, "sgemm_n", gm.n, "count");
    }
    free(gm.a), free(gm.b), free(gm.c);
    ps_json_end(&c->js, 0);

    ps_gen_cfg g0;
    ps_gen_cfg_default(&g0);
    const ps_gen_cfg *gc = c->have_model ? &c->model.gen.cfg : &g0;
    int W = c->have_model ? c->model.work_px : 256, c1 = gc->c1, c2 = gc->c2, c3 = gc->c3;
    fprintf(c->md, "## 2. Engine\n\nThe generator's layers at its working resolution (%dx%d, %s),"
            " median (min-max) of %d runs after a warm-up; roof = share of this run's sgemm;"
            " im2col roof = the same pass by im2col + sgemm, where pstyle takes another path"
            " (direct 3x3 kernels on AVX-512 or AVX2), timed beside it; AVX2 roof = the pass by"
            " the AVX2 kernels, where this CPU runs AVX-512's.\n\n| kernel | GFLOP/s | ms | roof |"
            " im2col roof | AVX2 roof |\n|---|---|---|---|---|---|\n", W, W,
            c->have_model ? "from the model" : "default architecture", runs);
    ps_json_begin(&c->js, "engine", 0);
    ps_bench_json_val(&c->js, "work_px", W, "px");
    ps_json_begin(&c->js, "kernels", 1);
    ps_bench_conv_shape(c, "e1", 3, W, c1, 3, 1, runs, &r);
    ps_bench_conv_shape(c, "e2", c1, W, c2, 3, 2, runs, &r);
    ps_bench_conv_shape(c, "e3", c2, W / 2, c3, 3, 2, runs, &r);
    ps_bench_conv_shape(c, "mid", c3, W / 4, c3, 3, 1, runs, &r);
    ps_bench_conv_shape(c, "d2", c3 + c2, W / 2, c2, 3, 1, runs, &r);
    ps_bench_conv_shape(c, "d1", c2 + c1 + 1, W, c1, 3, 1, runs, &r);
    ps_bench_conv_shape(c, "out", c1, W, 3, 3, 1, runs, &r);

    ps_params p;
    ps_params_init(&p);
    /* parameters as plain weight storage for the tape benchmarks */
    int D = gc->dim;
    int iw = ps_params_add(&p, "conv.w", c2, c2, 3, 3);
    int ib = ps_params_add(&p, "conv.b", 1, 1, 1, c2);
    int iq = ps_params_add(&p, "wq", 1, 1, c3, D), ik = ps_params_add(&p, "wk", 1, 1, D, D);
    int iv = ps_params_add(&p, "wv", 1, 1, D, D), io = ps_params_add(&p, "wo", 1, 1, D, c3);
    ps_graph *g = ps_graph_new((size_t)64 << 20);
    if (ps_params_alloc(&p) == PS_OK && g) {
        for (int i = 0; i < p.count; i++)
            ps_params_init_he(&p, i, 1.0f, 7);
        int hw = W / 2;
        ps_tensor *x = ps_tensor_const(g, 1, c2, hw, hw);
        if (x) {
            ps_bench_fill(x->data, ps_tensor_numel(x), &r);
            ps_bench_convbw cb = {g, x, &p.t[iw], &p.t[ib]};
            ps_graph_set_grad(g, 1);
            /* forward + dW + db + (no dx: the input is a constant) = 2 GEMM passes */
            double flops = 2.0 * 2.0 * c2 * c2 * 9 * hw * hw;
            char name[96];
            snprintf(name, sizeof name, "conv3x3 %d->%d @%d fwd+bwd(w) (training)", c2, c2, hw);
            ps_bench_time t = ps_bench_repeat(ps_bench_convbw_fn, &cb, runs), base = {0};
            ps_bench_time avx2 = {0};
            int path = ps_conv2d_is_direct(3, 1, 1);
            if (path)
                ps_bench_other_paths(ps_bench_convbw_fn, &cb, runs, path, 3, 1, &base, &avx2);
            ps_bench_line3(c, name, flops, t, base, avx2);
        }
        /* the input tensors outlive graph resets: keep them out of the graph's arena */
        int Tq = (W / 4) * (W / 4), Tk = gc->tok;
        ps_graph_set_grad(g, 0);
        float *qd = malloc((size_t)Tq * c3 * sizeof(float)), *kd = malloc((size_t)Tk * D * 4);
        if (qd && kd) {
            ps_bench_fill(qd, (size_t)Tq * c3, &r), ps_bench_fill(kd, (size_t)Tk * D, &r);
            ps_tensor q = {1, 1, Tq, c3, qd, NULL}, kv = {1, 1, Tk, D, kd, NULL};
            ps_bench_attn a = {g, &q, &kv, &p.t[iq], &p.t[ik], &p.t[iv], &p.t[io], gc->heads};
            /* Q and output projections, QK^T and PV; K/V projections are negligible */
            double flops = 2.0 * Tq * c3 * D * 2 + 2.0 * Tq * Tk * D * 2;
            char name[96];
            snprintf(name, sizeof name, "attention %dq x %dk E%d h%d (per group)", Tq, Tk, D,
                     gc->heads);
            ps_bench_line(c, name, flops, ps_bench_repeat(ps_bench_attn_fn, &a, runs));
        }
        free(qd), free(kd);
    }
    ps_graph_free(g);
    ps_params_free(&p);
    ps_json_end(&c->js, 1);
    ps_json_end(&c->js, 0);
    fputc('\n', c->md);
}
