/* Section 3, a peer on the same network: the generator's weights, a learned style and the same
 * inputs go to bench/torch_peer.py, which rebuilds the network and the composition in PyTorch
 * (CPU, the same thread count). Both outputs are compared (max |difference|, which also checks
 * the C engine against an independent implementation) and both are timed in this run. */
#include "bench/bench_impl.h"
#include "meta/synth.h"
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cblas.h>

#define PEER_ARENA (64u << 20)
#define PEER_PAUSE_US 250000

/* One array of the exchange file: name, dims, float32 data (little-endian, as on x86/arm). */
static int put_array(FILE *f, const char *name, int nd, const int *dims, const float *data)
{
    uint32_t len = (uint32_t)strlen(name), d = (uint32_t)nd;
    size_t n = 1;
    fwrite(&len, 4, 1, f);
    fwrite(name, 1, len, f);
    fwrite(&d, 4, 1, f);
    for (int i = 0; i < nd; i++) {
        uint32_t v = (uint32_t)dims[i];
        fwrite(&v, 4, 1, f);
        n *= (size_t)dims[i];
    }
    return fwrite(data, sizeof(float), n, f) == n ? 0 : -1;
}

/* Generator tensors, the style tokens and the architecture, for torch_peer.py. */
static int write_weights(const ps_model *m, const float *tok, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite("PSB1", 1, 4, f) == 4 ? 0 : -1;
    const ps_gen_cfg *g = &m->gen.cfg;
    float cfg[8] = {(float)g->tok, (float)g->dim, (float)g->c1, (float)g->c2, (float)g->c3,
                    (float)g->heads, (float)g->bins, (float)g->grid_div};
    int d8 = 8, dt[2] = {ps_model_ntokens(m) / g->dim, g->dim};
    rc |= put_array(f, "cfg", 1, &d8, cfg);
    rc |= put_array(f, "tokens", 2, dt, tok);
    for (int i = 0; i < m->p.count; i++) {
        const ps_tensor *t = &m->p.t[i];
        if (strncmp(m->p.name[i], "gen.", 4))
            continue;
        int dims[4] = {t->n, t->c, t->h, t->w};
        rc |= put_array(f, m->p.name[i], 4, dims, t->data);
    }
    rc |= fclose(f);
    return rc;
}

static int write_inputs(const ps_model_heads *r, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite("PSB1", 1, 4, f) == 4 ? 0 : -1;
    int dw[3] = {3, r->work.h, r->work.w}, df[3] = {3, r->H, r->W};
    rc |= put_array(f, "work", 3, dw, r->work.px);
    rc |= put_array(f, "full", 3, df, r->xd);
    rc |= fclose(f);
    return rc;
}

/* The PyTorch side as a child process driven line by line (see torch_peer.py). */
typedef struct {
    pid_t pid;
    FILE *to, *from;
} peer_proc;

static int peer_start(peer_proc *pp, const char *cmd)
{
    int in[2], out[2];
    if (pipe(in))
        return -1;
    if (pipe(out)) {
        close(in[0]), close(in[1]);
        return -1;
    }
    fflush(NULL);
    pp->pid = fork();
    if (pp->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    pp->to = fdopen(in[1], "w");
    pp->from = fdopen(out[0], "r");
    char line[64];
    if (pp->pid < 0 || !pp->to || !pp->from || !fgets(line, sizeof line, pp->from) ||
        strncmp(line, "ready", 5))
        return -1;
    return 0;
}

/* One PyTorch run: seconds of its network and of its composition; 0 ok, -1 failed. */
static int peer_run(peer_proc *pp, double *net, double *comp)
{
    if (fputs("run\n", pp->to) < 0 || fflush(pp->to) ||
        fscanf(pp->from, "%lf %lf", net, comp) != 2)
        return -1;
    return 0;
}

/* Ask for the output file and wait; 0 when the child exited cleanly. */
static int peer_end(peer_proc *pp)
{
    if (pp->to) {
        fputs("end\n", pp->to);
        fclose(pp->to);
    }
    if (pp->from)
        fclose(pp->from);
    int status = 0;
    if (pp->pid <= 0 || waitpid(pp->pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

typedef struct {
    int w, h, runs; /* more runs where a run is short: the small sizes are the noisiest */
    ps_bench_time c_t, py_t;           /* network + composition */
    double c_net, py_net, c_comp, py_comp; /* medians of the two parts */
    double maxdiff;
    int ok;
} peer_row;

static void skip(ps_bench_ctx *c, const char *why)
{
    fprintf(c->md, "Not measured: %s.\n\n", why);
    ps_json_str(&c->js, "skipped", why);
    ps_json_end(&c->js, 0);
}

void ps_bench_sec_peer(ps_bench_ctx *c)
{
    fputs("## 3. Peer on the same network (PyTorch)\n\n", c->md);
    ps_json_begin(&c->js, "peer", 0);
    char py[256];
    if (!c->have_model || !c->tmp[0]) {
        skip(c, "no model could be loaded");
        return;
    }
    if (ps_bench_python("torch numpy", py, sizeof py)) {
        skip(c, "python3-torch is not installed (`apt-get install python3-torch`)");
        return;
    }
    char script[1024];
    if (ps_bench_script(c, "torch_peer.py", script, sizeof script)) {
        skip(c, "bench/torch_peer.py not found (run from the source tree)");
        return;
    }
    ps_model *m = &c->model;
    /* a learned style: one validation render, encoder only (the tokens are what matters) */
    ps_photo_set set;
    float *tok = malloc(sizeof(float) * ps_model_ntokens(m));
    ps_image sample = {0};
    ps_status st = ps_photos_procedural(1, 384, PS_PHOTOS_VAL, &set);
    if (st || !tok) {
        free(tok);
        skip(c, st ? ps_last_error() : "out of memory");
        if (!st)
            ps_photos_free(&set);
        return;
    }
    ps_synth_style sty;
    ps_synth_sample(ps_synth_val_seed(7), &sty);
    if (!(st = ps_img_alloc(&sample, set.img[0].w, set.img[0].h, 3)) &&
        !(st = ps_synth_render(&sty, &set.img[0], &sample, NULL, NULL, NULL)))
        st = ps_model_learn(m, &sample, 1, 0, tok, NULL, NULL, NULL, NULL);
    char wpath[400];
    snprintf(wpath, sizeof wpath, "%s/peer_weights.bin", c->tmp);
    if (st || write_weights(m, tok, wpath)) {
        skip(c, st ? ps_last_error() : "cannot write the weights");
        ps_img_free(&sample);
        ps_photos_free(&set);
        free(tok);
        return;
    }
    int threads = openblas_get_num_threads();
    peer_row rows[3] = {{.w = 576, .h = 432, .runs = 9}, {.w = 1152, .h = 864, .runs = 7},
                        {.w = 2304, .h = 1728, .runs = 5}};
    int nrows = c->quick ? 1 : 3;
    ps_graph *g = ps_graph_new(PEER_ARENA);
    const ps_dials w1 = {1, 1, 1};
    /* a peer that dies must fail its row, not kill the bench with SIGPIPE */
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    char err[300] = "";
    for (int i = 0; i < nrows && g; i++) {
        peer_row *r = &rows[i];
        ps_image photo = {0}, out = {0};
        ps_model_heads hr = {0};
        if (ps_img_resize(&set.img[0], &photo, r->w, r->h))
            break;
        char ipath[400], opath[400], cmd[4096], path[400];
        snprintf(ipath, sizeof ipath, "%s/peer_in%d.bin", c->tmp, i);
        snprintf(opath, sizeof opath, "%s/peer_out%d.bin", c->tmp, i);
        snprintf(cmd, sizeof cmd, "exec '%s' '%s' '%s' '%s' '%s' %d 2> '%s/peer.err'", py, script,
                 wpath, ipath, opath, threads, c->tmp);
        /* inputs prepared once (resize to the working size, display space), as PyTorch gets
         * them; timed: the network and the full-resolution composition, one C run then one
         * PyTorch run, so both sides see the same load */
        double t[PS_BENCH_MAX_RUNS], tp[PS_BENCH_MAX_RUNS], part[4][PS_BENCH_MAX_RUNS];
        peer_proc pp = {0};
        int ok = !ps_model_heads_forward(m, g, tok, &photo, &hr) && !write_inputs(&hr, ipath) &&
                 !peer_start(&pp, cmd);
        int runs = c->quick ? 2 : r->runs;
        for (int k = -1; k < runs && ok; k++) { /* k = -1: warm-up */
            ps_img_free(&out);
            /* a pause before each side: OpenBLAS and OpenMP workers spin for a while after a
             * run, and must not steal the other side's cores */
            usleep(PEER_PAUSE_US);
            double t0 = ps_clock_s();
            ok = !ps_model_heads_network(m, tok, &hr);
            double t1 = ps_clock_s();
            ok = ok && !ps_model_heads_compose(&hr, &w1, 0, &out);
            double t2 = ps_clock_s(), pn = 0, pc = 0;
            usleep(PEER_PAUSE_US);
            ok = ok && !peer_run(&pp, &pn, &pc);
            if (k >= 0) {
                t[k] = t2 - t0, tp[k] = pn + pc;
                part[0][k] = t1 - t0, part[1][k] = pn, part[2][k] = t2 - t1, part[3][k] = pc;
            }
        }
        if (ok) {
            r->c_net = ps_bench_stats(part[0], runs).med;
            r->py_net = ps_bench_stats(part[1], runs).med;
            r->c_comp = ps_bench_stats(part[2], runs).med;
            r->py_comp = ps_bench_stats(part[3], runs).med;
        }
        ok = !peer_end(&pp) && ok;
        if (ok) {
            r->c_t = ps_bench_stats(t, runs);
            r->py_t = ps_bench_stats(tp, runs);
            FILE *o = fopen(opath, "rb");
            size_t n = (size_t)3 * r->w * r->h;
            float *py_out = malloc(sizeof(float) * n);
            if (o && py_out && fread(py_out, sizeof(float), n, o) == n) {
                r->ok = 1;
                for (size_t k = 0; k < n; k++)
                    r->maxdiff = fmax(r->maxdiff, fabs(py_out[k] - out.px[k]));
            }
            if (o)
                fclose(o);
            free(py_out);
        }
        if (!r->ok) {
            snprintf(path, sizeof path, "%s/peer.err", c->tmp);
            FILE *e = fopen(path, "r");
            char line[300];
            while (e && fgets(line, sizeof line, e)) /* the last line: the exception */
                snprintf(err, sizeof err, "%s", line);
            if (e)
                fclose(e);
            err[strcspn(err, "\n")] = 0;
        }
        ps_model_heads_free(&hr);
        ps_img_free(&out);
        ps_img_free(&photo);
        unlink(ipath);
        unlink(opath);
    }
    signal(SIGPIPE, old_pipe);
    fprintf(c->md, "`bench/torch_peer.py` rebuilds the generator (content path, per-group "
            "attention, FiLM decoders, bilateral grid) and the full-resolution composition in "
            "PyTorch %s from the same weights, style tokens and inputs; both sides run the "
            "network at %d px and compose at full size, with %d threads each, runs alternating "
            "(C, PyTorch, C, ...), median (min-max) of %s runs after a warm-up. Goal: pstyle >= 2x faster; max |difference| < 1e-3."
            " The ratio of the fastest runs is given too: on a busy machine the minimum is the best"
            " estimate of each side's own cost. The last columns split the time into the network "
            "at the working size and the full-resolution composition (medians, C / PyTorch)."
            "\n\n| output | pstyle s | PyTorch s | time ratio C / PyTorch (medians) | ratio of "
            "minimums | max abs diff | network s | composition s |\n"
            "|---|---|---|---|---|---|---|---|\n", py, m->work_px, threads, c->quick ? "2" : "9, 7 and 5");
    ps_json_str(&c->js, "python", py);
    ps_bench_json_val(&c->js, "threads", threads, "count");
    ps_json_begin(&c->js, "sizes", 1);
    for (int i = 0; i < nrows; i++) {
        peer_row *r = &rows[i];
        double mp = r->w * (double)r->h / 1e6;
        if (!r->ok) {
            fprintf(c->md, "| %dx%d (%.2f MP) | failed: %s | | | | | | |\n", r->w, r->h, mp,
                    err);
            continue;
        }
        double ratio = r->c_t.med / r->py_t.med;
        fprintf(c->md, "| %dx%d (%.2f MP) | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.2f (goal "
                "<= 0.5: %s) | %.2f | %.1e%s | %.3f / %.3f | %.3f / %.3f |\n", r->w, r->h, mp,
                r->c_t.med, r->c_t.min,
                r->c_t.max, r->py_t.med, r->py_t.min, r->py_t.max, ratio,
                ratio <= 0.5 ? "met" : "**missed**", r->c_t.min / r->py_t.min, r->maxdiff,
                r->maxdiff < 1e-3 ? "" : " **too large**", r->c_net, r->py_net, r->c_comp,
                r->py_comp);
        ps_json_begin(&c->js, NULL, 0);
        ps_bench_json_val(&c->js, "megapixels", mp, "MP");
        int runs = c->quick ? 2 : r->runs;
        ps_bench_json_time(&c->js, "pstyle_time", r->c_t, 1, runs, "s");
        ps_bench_json_time(&c->js, "torch_time", r->py_t, 1, runs, "s");
        ps_bench_json_val(&c->js, "time_ratio_c_over_torch", ratio, "1");
        ps_bench_json_val(&c->js, "min_time_ratio_c_over_torch", r->c_t.min / r->py_t.min, "1");
        ps_bench_json_val(&c->js, "pstyle_network_time", r->c_net, "s");
        ps_bench_json_val(&c->js, "torch_network_time", r->py_net, "s");
        ps_bench_json_val(&c->js, "pstyle_composition_time", r->c_comp, "s");
        ps_bench_json_val(&c->js, "torch_composition_time", r->py_comp, "s");
        ps_bench_json_val(&c->js, "max_abs_difference", r->maxdiff, "display units [0,1]");
        ps_json_end(&c->js, 0);
    }
    ps_json_end(&c->js, 1);
    ps_json_end(&c->js, 0);
    fputc('\n', c->md);
    ps_graph_free(g);
    ps_img_free(&sample);
    ps_photos_free(&set);
    free(tok);
}
