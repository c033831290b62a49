/* The bench's driver: opens REPORT.md and results.json, loads the model, runs the sections in
 * order and closes the files. Also the timing statistics the sections share. The two reports
 * are written as hidden partial files and renamed over the old ones only when the run ends
 * well, under a lock on the folder: a second bench into the same folder, or a run stopped
 * midway, used to leave two reports spliced into one file that no longer parsed. */
#include "bench/bench_impl.h"
#include "bench/bench_synth.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

ps_bench_time ps_bench_stats(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return (ps_bench_time){med, v[0], v[n - 1]};
}

/* ---- results.json values with their units ------------------------------------------------ */
void ps_bench_json_val(ps_json *j, const char *key, double v, const char *unit)
{
    ps_json_begin(j, key, 0);
    ps_json_num(j, "value", v);
    ps_json_str(j, "unit", unit);
    ps_json_end(j, 0);
}

void ps_bench_json_time(ps_json *j, const char *key, ps_bench_time t, double scale, int runs,
                        const char *unit)
{
    ps_json_begin(j, key, 0);
    ps_json_num(j, "median", t.med * scale);
    ps_json_num(j, "min", t.min * scale);
    ps_json_num(j, "max", t.max * scale);
    if (runs > 0)
        ps_json_int(j, "runs", runs);
    ps_json_str(j, "unit", unit);
    ps_json_end(j, 0);
}

int ps_bench_python(const char *modules, char *buf, size_t n)
{
    const char *cands[3] = {getenv("PSTYLE_PYTHON"), "python3", "/usr/bin/python3"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i] || strchr(cands[i], '\''))
            continue;
        char cmd[600], imports[300];
        snprintf(imports, sizeof imports, "%s", modules);
        for (char *p = imports; *p; p++)
            if (*p == ' ')
                *p = ',';
        snprintf(cmd, sizeof cmd, "'%s' -c 'import %s' >/dev/null 2>&1", cands[i], imports);
        if (system(cmd) == 0) {
            snprintf(buf, n, "%s", cands[i]);
            return 0;
        }
    }
    return -1;
}

int ps_bench_script(const ps_bench_ctx *c, const char *name, char *buf, size_t n)
{
    char dir[900] = ".";
    if (c->o->exe) {
        snprintf(dir, sizeof dir, "%s", c->o->exe);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
    }
    /* the source tree (make bench), next to a build-tree binary, or the install's data dir */
    const char *fmts[4] = {"bench/%.0s%s", "%s/bench/%s", "%s/../bench/%s", PS_DATADIR "/%.0s%s"};
    for (int i = 0; i < 4; i++) {
        snprintf(buf, n, fmts[i], dir, name);
        if (access(buf, R_OK) == 0)
            return 0;
    }
    return -1;
}

/* ---- driver --------------------------------------------------------------------------------- */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* path: the report's name in dir; part: the hidden file it is written to first. */
static FILE *open_out(const char *dir, const char *name, char *path, char *part, size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    snprintf(part, n, "%s/.%s.partial", dir, name);
    return fopen(part, "w");
}

/* Flush, sync and close f, then rename part over path; nonzero when any step failed. */
static int close_out(FILE *f, int failed, const char *part, const char *path)
{
    int bad = failed | fflush(f) | ferror(f);
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(part, path)) {
        remove(part);
        return 1;
    }
    return 0;
}

ps_status ps_bench_run(const ps_bench_opts *o)
{
    double t0 = ps_clock_s();
    if (mkdir(o->out, 0755) && errno != EEXIST)
        return ps_fail(PS_EINPUT, "%s: %s", o->out, strerror(errno));
    char lockpath[1024];
    snprintf(lockpath, sizeof lockpath, "%s/.bench.lock", o->out);
    int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0)
        return ps_fail(PS_EINPUT, "%s: %s", lockpath, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB)) {
        ps_status st = errno == EWOULDBLOCK
                           ? ps_fail(PS_EINPUT, "%s: another bench is writing its report there",
                                     o->out)
                           : ps_fail(PS_EINPUT, "%s: %s", lockpath, strerror(errno));
        close(lock);
        return st;
    }
    ps_bench_ctx c = {.o = o, .quick = o->quick, .out = o->out};
    char mdpath[1024], jspath[1024], mdpart[1024], jspart[1024];
    c.md = open_out(o->out, "REPORT.md", mdpath, mdpart, sizeof mdpath);
    FILE *js = open_out(o->out, "results.json", jspath, jspart, sizeof jspath);
    if (!c.md || !js) {
        ps_status st = ps_fail(PS_EINPUT, "%s: %s", c.md ? jspart : mdpart, strerror(errno));
        if (c.md)
            fclose(c.md), remove(mdpart);
        if (js)
            fclose(js), remove(jspart);
        close(lock);
        return st;
    }
    ps_json_init(&c.js, js);
    snprintf(c.tmp, sizeof c.tmp, "%s/pstyle-bench-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(c.tmp))
        c.tmp[0] = 0;
    c.gnuplot = system("command -v gnuplot >/dev/null 2>&1") == 0;
    snprintf(c.model_path, sizeof c.model_path, "%s", o->model ? o->model : "");
    char model_err[512] = "";
    if (o->model && ps_model_load(&c.model, o->model) == PS_OK)
        c.have_model = 1;
    else
        snprintf(model_err, sizeof model_err, "%s", o->model ? ps_last_error() : "no model");

    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    ps_json_begin(&c.js, NULL, 0);
    ps_json_str(&c.js, "pstyle_version", PS_VERSION);
    ps_json_str(&c.js, "date", date);
    ps_json_num(&c.js, "quick", c.quick);
    ps_json_str(&c.js, "plotter", c.gnuplot ? "gnuplot" : "pstyle");
    ps_json_begin(&c.js, "model", 0);
    ps_json_str(&c.js, "path", c.model_path);
    ps_json_str(&c.js, "hash", c.have_model ? c.model.hash : "");
    if (!c.have_model)
        ps_json_str(&c.js, "error", model_err);
    ps_json_end(&c.js, 0);

    fprintf(c.md, "# pstyle bench report\n\n%s, pstyle %s, %s run. Model: `%s` (%s). Plots by %s."
            "\n\n", date, PS_VERSION, c.quick ? "**quick** (fewer sizes, styles and runs)" :
            "full", c.model_path, c.have_model ? c.model.hash : model_err,
            c.gnuplot ? "gnuplot" : "pstyle's own PNG writer (gnuplot not installed)");
    fputs("**How to read this.** Every figure was measured in this run, next to its baseline "
          "measured in the same run. Times are medians over several runs after a warm-up, with "
          "min-max in parentheses: absolute times on a shared machine are noisy, ratios measured "
          "side by side are not. Quality is measured twice: in section 9 on the external styles "
          "(GEGL and OpenCV filters pstyle never trains on: what users see, next to doing "
          "nothing), and in sections 5-8 on the synthesizer's validation styles (never used in "
          "training, but from the same renderer) against their ground-truth renders: PSNR and "
          "SSIM higher is better, ΔE2000, histogram distance and the distribution distances "
          "lower is better. `results.json` holds every number with its unit.\n\n", c.md);

    static void (*const sections[5])(ps_bench_ctx *) = {ps_bench_sec_engine, ps_bench_sec_peer,
                                                        ps_bench_sec_speed, ps_bench_sec_quality,
                                                        ps_bench_sec_extval};
    static const char *const names[5] = {"engine", "peer", "speed", "quality", "external"};
    double took[5] = {0};
    int nrun = 0, done = 0;
    for (int i = 0; i < 5; i++)
        nrun += !o->only || strstr(o->only, names[i]) != NULL;
    for (int i = 0; i < 5; i++) {
        if (o->only && !strstr(o->only, names[i]))
            continue;
        ps_bench_progress("section", done, nrun, names[i]); /* a long quiet section says so */
        double ts = ps_clock_s();
        sections[i](&c);
        took[i] = ps_clock_s() - ts;
        fprintf(stderr, "bench: %s done in %.0f s\n", names[i], took[i]);
        done++;
        fflush(c.md);
    }

    if (!c.quick && !o->only) {
        fputs("## Appendix: synthesizer throughput\n\n```\n", c.md);
        fflush(c.md);
        ps_bench_synth(c.md, 0);
        fputs("```\n", c.md);
    }

    double wall = ps_clock_s() - t0;
    fprintf(c.md, "\nBench time: %.0f s in all; machine+engine %.0f s, peer %.0f s, speed %.0f s, "
            "quality+controls+few-shot %.0f s, external styles %.0f s.\n", wall, took[0], took[1],
            took[2], took[3], took[4]);
    ps_json_begin(&c.js, "bench_time", 0);
    ps_bench_json_val(&c.js, "total", wall, "s");
    for (int i = 0; i < 5; i++)
        ps_bench_json_val(&c.js, names[i], took[i], "s");
    ps_json_end(&c.js, 0);
    ps_json_end(&c.js, 0);
    int bad = close_out(js, 0, jspart, jspath);
    bad |= close_out(c.md, bad, mdpart, mdpath); /* REPORT.md only beside its results.json */
    close(lock);
    if (c.have_model)
        ps_model_free(&c.model);
    if (c.tmp[0])
        nftw(c.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (bad)
        return ps_fail(PS_EINPUT, "%s: write failed", o->out);
    return PS_OK;
}
