/* Section 4, speed: real `pstyle apply` and `pstyle learn` processes on images the bench makes
 * (wall time and peak RSS from wait4), the in-process ps_model_apply time without decode and
 * encode beside them, and many files in one process (throughput). */
#include "bench/bench_impl.h"
#include "meta/synth.h"
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPEED_MAX_ARGS 32

/* The peak resident memory (VmHWM, MB) of process pid's address space, or -1. Not wait4's
 * ru_maxrss: Linux folds the address space a process had before its exec into that figure, and
 * a forked child's is a copy of the bench's own (hundreds of MB after the in-process runs). */
static double vm_hwm_mb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}

/* Run the pstyle binary with args; wall seconds in *sec, peak RSS in MB in *rss_mb: the child
 * is traced only to stop it as it exits (PTRACE_O_TRACEEXIT), when its address space still
 * tells its peak. The child's stderr goes to <tmp>/stderr so a failure can be quoted. Returns
 * the exit code (-1: no run). */
static int run_pstyle(const ps_bench_ctx *c, const char *const *args, double *sec, double *rss_mb)
{
    char *argv[SPEED_MAX_ARGS + 2];
    int n = 0;
    argv[n++] = (char *)c->o->exe;
    for (; args[n - 1] && n < SPEED_MAX_ARGS; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    char errpath[300];
    snprintf(errpath, sizeof errpath, "%s/stderr", c->tmp);
    fflush(NULL);
    double t0 = ps_clock_s();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY), ef = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (dn >= 0)
            dup2(dn, 1);
        if (ef >= 0)
            dup2(ef, 2);
        ptrace(PTRACE_TRACEME, 0, NULL, NULL); /* the exec stops it for the options below */
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    double hwm = -1;
    for (;;) {
        if (wait4(pid, &status, 0, &ru) < 0)
            return -1;
        if (!WIFSTOPPED(status))
            break;
        int sig = WSTOPSIG(status), deliver = 0;
        if (sig == SIGTRAP && status >> 16 == PTRACE_EVENT_EXIT)
            hwm = vm_hwm_mb(pid);
        else if (sig == SIGTRAP && status >> 16 == 0) /* the stop after its exec */
            ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
        else
            deliver = sig; /* its own signals go on to it */
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)deliver);
    }
    *sec = ps_clock_s() - t0;
    /* where tracing is refused, wait4's figure, an upper bound */
    *rss_mb = hwm >= 0 ? hwm : (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The stream's rows, taken and dropped. */
static ps_status drop_rows(ps_prog_stream *st, int w, int h)
{
    enum { ROWS = 64 };
    unsigned char *buf = malloc((size_t)w * 4 * ROWS);
    ps_status e = buf ? PS_OK : ps_fail(PS_EINTERNAL, "bench: out of memory");
    for (int y = 0; y < h && !e; y += ROWS)
        e = ps_prog_stream_rows(st, y, h - y < ROWS ? h - y : ROWS, buf, 3, 8);
    free(buf);
    return e;
}

/* apply's phases in this process on the file in: decode, style (a stream's rows taken and
 * dropped), encode (into out from a stream at dials 0, which only unpacks and packs the rows:
 * the style's stream into the encoder less the style would be a difference of noisy times).
 * 0 on a failure. */
static int phases(const ps_prog *prog, const ps_dials *d, const char *in, const char *out,
                  double t[3])
{
    static const ps_dials off = {0, 0, 0};
    unsigned char *buf = NULL;
    size_t len = 0;
    ps_img_raw raw = {0};
    double t0 = ps_clock_s();
    int ok = ps_img_read_file(in, &buf, &len) == PS_OK &&
             ps_img_load_raw(buf, len, in, &raw, NULL) == PS_OK;
    free(buf);
    double t1 = ps_clock_s();
    const ps_prog_input src = ps_prog_input_raw(&raw);
    ps_prog_stream *st = NULL;
    ok = ok && ps_prog_stream_open(prog, d, &src, 0, &st) == PS_OK &&
         drop_rows(st, raw.w, raw.h) == PS_OK;
    ps_prog_stream_free(st);
    st = NULL;
    double t2 = ps_clock_s();
    ok = ok && ps_prog_stream_open(prog, &off, &src, 0, &st) == PS_OK &&
         ps_img_save_src(out, &(ps_img_src){raw.w, raw.h, raw.c, ps_prog_stream_rows, st}, 92,
                         NULL) == PS_OK;
    ps_prog_stream_free(st);
    double t3 = ps_clock_s();
    ps_img_raw_free(&raw);
    t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2;
    return ok;
}

/* The first line of the last child's stderr, for the report. */
static void child_error(const ps_bench_ctx *c, char *buf, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/stderr", c->tmp);
    FILE *f = fopen(path, "r");
    buf[0] = 0;
    if (f) {
        if (!fgets(buf, (int)n, f))
            buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
}

/* A photo-like test image of w x h: a procedural content image, styled by a validation style so
 * it has real texture and edges, resized to the size asked. */
static ps_status make_photo(int i, int w, int h, ps_image *out)
{
    ps_photo_set set;
    ps_status st = ps_photos_procedural(1 + i, 512, PS_PHOTOS_VAL, &set);
    if (st)
        return st;
    ps_synth_style sty;
    ps_synth_sample(ps_synth_val_seed(100 + i), &sty);
    ps_image full = {0};
    st = ps_img_alloc(&full, set.img[i].w, set.img[i].h, 3);
    if (!st)
        st = ps_synth_render(&sty, &set.img[i], &full, NULL, NULL, NULL);
    if (!st)
        st = ps_img_resize(&full, out, w, h);
    ps_img_free(&full);
    ps_photos_free(&set);
    return st;
}

/* Dial moves as `pstyle serve` paints them: the style program of one validation style (fitted
 * on 5 of its renders) applied to a 512 px preview and to the whole 1 MP photo, with the colour
 * dial moving each time. Median and 95th percentile, against one `pstyle apply` process per
 * move (proc_1mp, the 1 MP row above). */
static void dial_moves(ps_bench_ctx *c, double proc_1mp)
{
    enum { MAXPREV = 40, MAXFULL = 15 };
    const int NPREV = c->quick ? 5 : MAXPREV, NFULL = c->quick ? 3 : MAXFULL;
    ps_synth_style sty;
    ps_synth_sample(ps_synth_val_seed(7), &sty);
    ps_photo_set set = {0};
    ps_image sm[5] = {{0}}, photo = {0}, prev = {0}, out = {0};
    ps_prog prog;
    ps_status st = ps_photos_procedural(6, 512, PS_PHOTOS_VAL, &set);
    for (int i = 0; i < 5 && !st; i++)
        if (!(st = ps_img_alloc(&sm[i], set.img[i].w, set.img[i].h, 3)))
            st = ps_synth_render(&sty, &set.img[i], &sm[i], NULL, NULL, NULL);
    if (!st)
        st = ps_prog_fit(&prog, sm, 5);
    if (!st)
        st = make_photo(0, 1152, 864, &photo);
    if (!st)
        st = ps_img_fit(&photo, &prev, 512);
    double tp[MAXPREV], tf[MAXFULL];
    for (int i = -1; i < NPREV + NFULL && !st; i++) { /* i = -1: warm-up */
        const ps_dials w = {0.5f + (float)(i & 7) / 7, 1, 1};
        const ps_image *in = i < NPREV ? &prev : &photo;
        double t0 = ps_clock_s();
        st = ps_prog_apply(&prog, in, &w, &out);
        double dt = ps_clock_s() - t0;
        if (i >= 0 && i < NPREV)
            tp[i] = dt;
        else if (i >= NPREV)
            tf[i - NPREV] = dt;
        ps_img_free(&out);
    }
    fputs("\n### dial moves (`pstyle serve`)\n\n", c->md);
    if (st) {
        fprintf(c->md, "Not measured: %s.\n\n", ps_last_error());
    } else {
        char desc[512];
        ps_prog_describe(&prog, desc, sizeof desc);
        ps_bench_time p = ps_bench_stats(tp, NPREV), f = ps_bench_stats(tf, NFULL);
        double p95 = tp[(int)(0.95 * (NPREV - 1))], f95 = tf[(int)(0.95 * (NFULL - 1))];
        fprintf(c->md, "A slider move repaints with the style program alone (the photo is decoded "
                "once): validation style 7's program (%s), colour dial moving, in-process. "
                "Preview %dx%d: median **%.0f ms**, p95 %.0f ms (%d moves); the whole %dx%d photo "
                "on release: median **%.0f ms**, p95 %.0f ms (%d moves); against re-running "
                "`pstyle apply` per move (the 1 MP row above, another style: %.0f ms). The page "
                "adds the HTTP round trip and the image encode and decode.\n\n",
                desc, prev.w, prev.h, 1e3 * p.med, 1e3 * p95, NPREV, photo.w, photo.h, 1e3 * f.med,
                1e3 * f95, NFULL, 1e3 * proc_1mp);
        ps_json_begin(&c->js, "dial_move", 0);
        ps_bench_json_time(&c->js, "preview", p, 1, NPREV, "s");
        ps_bench_json_val(&c->js, "preview_p95", p95, "s");
        ps_bench_json_time(&c->js, "full_1mp", f, 1, NFULL, "s");
        ps_bench_json_val(&c->js, "full_1mp_p95", f95, "s");
        ps_json_end(&c->js, 0);
    }
    for (int i = 0; i < 5; i++)
        ps_img_free(&sm[i]);
    ps_img_free(&photo);
    ps_img_free(&prev);
    ps_photos_free(&set);
}

/* Training throughput: a short `pstyle train` process in `make train`'s configuration (one
 * thread, its episode shape and defaults), episodes per second over the span its log.csv
 * covers, so loading the photos is left out. */
#define TRAIN_EPISODES 60
static void training(ps_bench_ctx *c)
{
    int n = c->quick ? 20 : TRAIN_EPISODES;
    char dir[400], out[400], eps[16], path[460];
    snprintf(dir, sizeof dir, "%s/train", c->tmp);
    snprintf(out, sizeof out, "%s/train.psm", c->tmp);
    snprintf(eps, sizeof eps, "%d", n);
    int photos = access(c->o->data, R_OK) == 0;
    const char *args[SPEED_MAX_ARGS] = {"train", "--out", out, "--dir", dir, "--episodes", eps,
                                        "--seed", "1", "--threads", "1", "--quiet",
                                        photos ? "--data" : "--procedural",
                                        photos ? c->o->data : NULL, NULL};
    double sec, rss;
    int rc = run_pstyle(c, args, &sec, &rss);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = rc ? NULL : fopen(path, "r");
    char line[512];
    double e0 = -1, s0 = 0, e1 = -1, s1 = 0;
    while (f && fgets(line, sizeof line, f)) {
        double e, t;
        if (sscanf(line, "%lf,%lf", &e, &t) != 2)
            continue;
        if (e0 < 0)
            e0 = e, s0 = t;
        e1 = e, s1 = t;
    }
    if (f)
        fclose(f);
    fputs("\n### training\n\n", c->md);
    ps_json_begin(&c->js, "training", 0);
    if (e1 <= e0 || s1 <= s0) {
        char err[512] = "";
        if (rc)
            child_error(c, err, sizeof err);
        fprintf(c->md, "Not measured: `pstyle train` %s.\n\n", rc ? err : "logged too little");
        ps_json_str(&c->js, "skipped", rc ? err : "log.csv too short");
        ps_json_end(&c->js, 0);
        return;
    }
    double rate = (e1 - e0) / (s1 - s0), total = 18000 + 8000;
    fprintf(c->md, "A `pstyle train` process in `make train`'s configuration (1 thread, episodes "
            "of 4 shots and 2 queries at 96 px, %s): %d episodes, **%.1f episodes/s** between "
            "its first and last log lines (loading the photos left out; %.0f s in all, peak RSS "
            "%.0f MB). `make train`'s %.0f episodes at this rate: %.0f min, validation runs "
            "apart. PyTorch: no peer of the training step yet.\n\n",
            photos ? "on `make data`'s photos" : "on procedural images (no photos)", n, rate, sec,
            rss, total, total / rate / 60);
    ps_bench_json_val(&c->js, "episodes", n, "episodes");
    ps_bench_json_val(&c->js, "episodes_per_second", rate, "1/s");
    ps_bench_json_val(&c->js, "process_time", sec, "s");
    ps_bench_json_val(&c->js, "make_train_minutes_at_this_rate", total / rate / 60, "min");
    ps_json_end(&c->js, 0);
}

#define NROWS 5

typedef struct {
    double mp;
    int w, h;
    ps_bench_time proc, proc1, floor, phase[3]; /* phases: decode, style, encode */
    double rss_mb;
    int runs, ok;
} speed_row;

void ps_bench_sec_speed(ps_bench_ctx *c)
{
    fputs("## 4. Speed\n\n", c->md);
    ps_json_begin(&c->js, "speed", 0);
    if (!c->have_model || !c->tmp[0] || !c->o->exe) {
        const char *why = !c->have_model ? "no model could be loaded"
                          : !c->tmp[0]     ? "no scratch folder"
                                           : "the pstyle binary's path is unknown";
        fprintf(c->md, "Not measured: %s.\n\n", why);
        ps_json_str(&c->js, "skipped", why);
        ps_json_end(&c->js, 0);
        return;
    }
    char db[400], err[512], path[400];
    snprintf(db, sizeof db, "%s/speed.db", c->tmp);
    /* samples for learn: 10 renders of one validation style at 768 px */
    enum { KMAX = 10 };
    char samples[KMAX][400];
    ps_status st = PS_OK;
    for (int i = 0; i < KMAX && !st; i++) {
        ps_image im = {0};
        snprintf(samples[i], sizeof samples[i], "%s/sample%d.jpg", c->tmp, i);
        if (!(st = make_photo(i, c->quick ? 384 : 768, c->quick ? 288 : 576, &im)))
            st = ps_img_save(samples[i], &im, 90);
        ps_img_free(&im);
    }
    if (st) {
        fprintf(c->md, "Not measured: cannot make test images: %s.\n\n", ps_last_error());
        ps_json_str(&c->js, "skipped", ps_last_error());
        ps_json_end(&c->js, 0);
        return;
    }

    /* learn, K = 1 / 5 / 10 (quick: 1 / 5); the last one leaves the style that apply uses */
    static const int ks[3] = {1, 5, 10};
    int runs = c->quick ? 1 : 3, warm = !c->quick;
    fprintf(c->md, "### learn\n\nA `pstyle learn` process on K JPEG samples of %s (decode, "
            "encoder, %d inner steps, store write), median (min-max) of %d runs%s."
            "\n\n| K | time s | peak RSS MB | target |\n|---|---|---|---|\n",
            c->quick ? "384x288" : "768x576", c->model.inner_steps, runs,
            warm ? " after a warm-up" : " (quick: no warm-up, not comparable with the targets)");
    ps_json_begin(&c->js, "learn", 1);
    for (int ki = 0; ki < (c->quick ? 2 : 3); ki++) {
        const char *args[SPEED_MAX_ARGS] = {"learn", "--user", "bench", "--db", db, "--model",
                                            c->model_path};
        int na = 7;
        for (int i = 0; i < ks[ki]; i++)
            args[na++] = samples[i];
        args[na] = NULL;
        double t[PS_BENCH_MAX_RUNS], rss = 0, r;
        int rc = warm ? run_pstyle(c, args, &t[0], &rss) : 0; /* page cache, store creation */
        for (int i = 0; i < runs && rc == 0; i++) {
            rc = run_pstyle(c, args, &t[i], &r);
            rss = r > rss ? r : rss;
        }
        if (rc) {
            child_error(c, err, sizeof err);
            fprintf(c->md, "| %d | failed (exit %d: %s) | | |\n", ks[ki], rc, err);
            continue;
        }
        ps_bench_time s = ps_bench_stats(t, runs);
        fprintf(c->md, "| %d | %.2f (%.2f-%.2f) | %.0f | %s |\n", ks[ki], s.med, s.min, s.max,
                rss, ks[ki] == 5 ? (s.med <= 2.0 ? "<= 2 s: met" : "<= 2 s: **missed**") : "");
        ps_json_begin(&c->js, NULL, 0);
        ps_bench_json_val(&c->js, "k", ks[ki], "images");
        ps_bench_json_time(&c->js, "time", s, 1, runs, "s");
        ps_bench_json_val(&c->js, "peak_rss", rss, "MB");
        ps_json_end(&c->js, 0);
    }
    ps_json_end(&c->js, 1);

    /* apply at several sizes: processes at all cores, at one thread and at strength 0 (decode
     * and encode only: the floor), and the phases in-process */
    speed_row rows[NROWS] = {{.mp = 0.25, .w = 576, .h = 432},   {.mp = 1, .w = 1152, .h = 864},
                             {.mp = 4, .w = 2304, .h = 1728},    {.mp = 12, .w = 4000, .h = 3000},
                             {.mp = 24, .w = 6000, .h = 4000}};
    int nrows = c->quick ? 2 : NROWS;
    ps_prog prog;
    float *tok = malloc(sizeof(float) * ps_model_ntokens(&c->model));
    int have_prog = 0;
    char desc[512] = "";
    if (tok) {
        ps_image im[KMAX] = {{0}};
        int ok = 1;
        for (int i = 0; i < KMAX && ok; i++)
            ok = ps_img_load(samples[i], &im[i]) == PS_OK;
        have_prog = ok && ps_model_learn(&c->model, im, KMAX, -1, tok, &prog, NULL, NULL,
                                         NULL) == PS_OK;
        for (int i = 0; i < KMAX; i++)
            ps_img_free(&im[i]);
        if (have_prog)
            ps_prog_describe(&prog, desc, sizeof desc);
    }
    free(tok);
    fprintf(c->md, "\n### apply\n\n`pstyle apply` processes, JPEG in and out (quality 92), with "
            "the style learned from the 10 samples above (its program: %s), without "
            "`--model`, as a user runs it: a program needs no model, so none is loaded. "
            "*all cores*: %d "
            "threads; *1 thread*: `--threads 1`; *floor*: `--strength 0`, which returns the photo "
            "as decoded: the same process without the style (decode, store, encode). *peak RSS*: "
            "the largest of these processes' (VmHWM as each exits). Phases in-process, on the "
            "same file, as apply runs them: decode (`ps_img_load_raw`, the file as stored), "
            "style (`ps_prog_stream`: the program band by band, its rows taken and dropped), "
            "encode (`ps_img_save_src` from a stream at dials 0, which only unpacks and packs "
            "the rows). Median "
            "(min-max) of %d runs after a warm-up.\n\n"
            "| size | MP | all cores s | 1 thread s | speed-up | floor s | peak RSS MB | decode s "
            "| style s | encode s | target |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n",
            have_prog ? desc : "not learned in-process", omp_get_max_threads(), c->quick ? 1 : 3);
    ps_json_begin(&c->js, "apply", 1);
    for (int ri = 0; ri < nrows; ri++) {
        speed_row *r = &rows[ri];
        r->runs = c->quick ? 1 : 3;
        char in[400], out[400];
        snprintf(in, sizeof in, "%s/photo%d.jpg", c->tmp, ri);
        snprintf(out, sizeof out, "%s/out%d.jpg", c->tmp, ri);
        ps_image im = {0};
        if (make_photo(0, r->w, r->h, &im) || ps_img_save(in, &im, 90)) {
            fprintf(c->md, "| %dx%d | %.2f | cannot make the image: %s |||||||||\n", r->w, r->h,
                    r->mp, ps_last_error());
            ps_img_free(&im);
            continue;
        }
        ps_img_free(&im);
        /* --force: every run writes the output again (apply keeps an existing one) */
        /* no --model: a style's program needs none, and apply loads one only when named */
        const char *args[3][SPEED_MAX_ARGS] = {
            {"apply", "--user", "bench", "--db", db, "--force", in, "-o", out, NULL},
            {"apply", "--user", "bench", "--db", db, "--force", "--threads", "1", in, "-o", out,
             NULL},
            {"apply", "--user", "bench", "--db", db, "--force", "--strength", "0", in, "-o", out,
             NULL}};
        ps_bench_time *res[3] = {&r->proc, &r->proc1, &r->floor};
        int rc = 0;
        for (int k = 0; k < 3 && rc == 0; k++) {
            double t[PS_BENCH_MAX_RUNS], x;
            rc = warm ? run_pstyle(c, args[k], &t[0], &x) : 0;
            for (int i = 0; i < r->runs && rc == 0; i++) {
                rc = run_pstyle(c, args[k], &t[i], &x);
                r->rss_mb = x > r->rss_mb ? x : r->rss_mb;
            }
            if (!rc)
                *res[k] = ps_bench_stats(t, r->runs);
        }
        if (rc) {
            child_error(c, err, sizeof err);
            fprintf(c->md, "| %dx%d | %.2f | failed (exit %d: %s) |||||||||\n", r->w, r->h, r->mp,
                    rc, err);
            continue;
        }
        r->ok = 1;
        /* the phases, in this process */
        const ps_dials w1 = {1, 1, 1};
        double tp[3][PS_BENCH_MAX_RUNS];
        int pok = have_prog;
        for (int i = -warm; i < r->runs && pok; i++) { /* i = -1: warm-up */
            double t[3];
            pok = phases(&prog, &w1, in, out, t);
            for (int k = 0; k < 3 && i >= 0; k++)
                tp[k][i] = t[k];
        }
        for (int k = 0; k < 3; k++)
            r->phase[k] = pok ? ps_bench_stats(tp[k], r->runs) : (ps_bench_time){NAN, NAN, NAN};
        char target[96] = "";
        double goal = r->mp == 1 ? 0.2 : r->mp == 12 ? 1 : r->mp == 24 ? 2 : 0;
        if (goal > 0)
            snprintf(target, sizeof target, "<= %.1f s, <= 250 MB: %s", goal,
                     r->proc.med <= goal && r->rss_mb <= 250 ? "met" : "**missed**");
        fprintf(c->md, "| %dx%d | %.2f | %.3f (%.3f-%.3f) | %.3f | %.2fx | %.3f | %.0f | %.3f | "
                "%.3f | %.3f | %s |\n",
                r->w, r->h, r->w * (double)r->h / 1e6, r->proc.med, r->proc.min, r->proc.max,
                r->proc1.med, r->proc1.med / r->proc.med, r->floor.med, r->rss_mb,
                r->phase[0].med, r->phase[1].med, r->phase[2].med, target);
        ps_json_begin(&c->js, NULL, 0);
        ps_bench_json_val(&c->js, "width", r->w, "px");
        ps_bench_json_val(&c->js, "height", r->h, "px");
        ps_bench_json_val(&c->js, "megapixels", r->w * (double)r->h / 1e6, "MP");
        ps_bench_json_time(&c->js, "process_time", r->proc, 1, r->runs, "s");
        ps_bench_json_time(&c->js, "process_time_1_thread", r->proc1, 1, r->runs, "s");
        ps_bench_json_val(&c->js, "thread_speedup", r->proc1.med / r->proc.med, "ratio");
        ps_bench_json_time(&c->js, "floor_time", r->floor, 1, r->runs, "s");
        ps_bench_json_val(&c->js, "peak_rss", r->rss_mb, "MB");
        ps_bench_json_time(&c->js, "decode_time", r->phase[0], 1, r->runs, "s");
        ps_bench_json_time(&c->js, "style_time", r->phase[1], 1, r->runs, "s");
        ps_bench_json_time(&c->js, "encode_time", r->phase[2], 1, r->runs, "s");
        ps_json_end(&c->js, 0);
    }
    ps_json_end(&c->js, 1);

    /* many files in one process against one process per file, at 0.25 MP */
    int nf = c->quick ? 2 : 12;
    const char *args[SPEED_MAX_ARGS] = {"apply", "--user", "bench", "--db", db,
                                        "--force", "--out-dir", c->tmp};
    int na = 8;
    snprintf(path, sizeof path, "%s/photo0.jpg", c->tmp);
    char links[12][400];
    for (int i = 0; i < nf; i++) {
        snprintf(links[i], sizeof links[i], "%s/many%02d.jpg", c->tmp, i);
        if (symlink(path, links[i]) && access(links[i], R_OK))
            break;
        args[na++] = links[i];
    }
    args[na] = NULL;
    double tm, rssm;
    int rc = rows[0].ok ? run_pstyle(c, args, &tm, &rssm) : -1;
    if (rc == 0) {
        double single = rows[0].proc.med;
        fprintf(c->md, "\n### many files per process\n\n%d files of %dx%d in one `pstyle apply`: "
                "%.2f s, **%.2f images/s** (one process per file: %.2f images/s), peak RSS %.0f "
                "MB.\n\n", nf, rows[0].w, rows[0].h, tm, nf / tm, 1 / single, rssm);
        ps_json_begin(&c->js, "throughput", 0);
        ps_bench_json_val(&c->js, "files", nf, "count");
        ps_bench_json_val(&c->js, "megapixels_each", rows[0].w * (double)rows[0].h / 1e6, "MP");
        ps_bench_json_val(&c->js, "one_process", nf / tm, "images/s");
        ps_bench_json_val(&c->js, "process_per_file", 1 / single, "images/s");
        ps_bench_json_val(&c->js, "peak_rss", rssm, "MB");
        ps_json_end(&c->js, 0);
    } else {
        fputs("\n### many files per process\n\nNot measured: the 0.25 MP apply failed.\n\n",
              c->md);
    }

    dial_moves(c, rows[1].ok ? rows[1].proc.med : NAN);

    double xs[NROWS], yp[NROWS], yf[NROWS];
    int np = 0;
    for (int i = 0; i < nrows; i++)
        if (rows[i].ok) {
            xs[np] = rows[i].w * (double)rows[i].h / 1e6;
            yp[np] = rows[i].proc.med;
            yf[np++] = rows[i].floor.med;
        }
    ps_bench_series s[2] = {{"pstyle apply", np, xs, yp}, {"floor (strength 0)", np, xs, yf}};
    if (np >= 2 && !ps_bench_plot(c, "speed_apply.png", "apply time vs image size", "megapixels",
                                  "seconds (median)", s, 2, 0))
        fputs("![apply time vs megapixels](speed_apply.png)\n\n", c->md);
    training(c);
    ps_json_end(&c->js, 0);
}
