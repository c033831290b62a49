/* Internals shared by the bench's sections: timing statistics, results.json values, the
 * report context every section writes into, and the plot writer. Not part of the public API. */
#ifndef PS_BENCH_IMPL_H
#define PS_BENCH_IMPL_H
#include "bench/bench.h"
#include "encoder/enc.h"
#include "src/base/base.h"
#include <stdio.h>

#define PS_BENCH_MAX_RUNS 15

typedef struct {
    double med, min, max; /* seconds unless said otherwise */
} ps_bench_time;

/* Median, min and max of v[0..n) (sorts v in place); n >= 1. */
ps_bench_time ps_bench_stats(double *v, int n);

/* ---- results.json values with their units (on base/json.c's writer) ------------------------ */
/* {"value": v, "unit": unit} */
void ps_bench_json_val(ps_json *j, const char *key, double v, const char *unit);
/* {"median": ..., "min": ..., "max": ..., "runs": n, "unit": unit}, values scaled by `scale` */
void ps_bench_json_time(ps_json *j, const char *key, ps_bench_time t, double scale,
                        int runs, const char *unit);

/* ---- the report every section writes into ------------------------------------------------ */
typedef struct ps_bench_ctx {
    const ps_bench_opts *o;
    int quick;
    FILE *md;         /* REPORT.md */
    ps_json js;       /* results.json */
    const char *out;  /* output folder */
    char model_path[1024];
    ps_model model;
    int have_model;
    char tmp[256];    /* scratch folder, removed at the end */
    double roof;      /* sgemm GFLOP/s of this run, 0 if not measured */
    int gnuplot;      /* gnuplot found on PATH */
} ps_bench_ctx;

/* Sections: each writes its Markdown and one key of results.json; a part that cannot run says
 * why in both instead of failing the whole report. */
void ps_bench_sec_engine(ps_bench_ctx *c);
void ps_bench_sec_peer(ps_bench_ctx *c);
void ps_bench_sec_speed(ps_bench_ctx *c);
void ps_bench_sec_quality(ps_bench_ctx *c);
void ps_bench_sec_extval(ps_bench_ctx *c);

/* A Python 3 that can import every module in `modules` (space-separated): $PSTYLE_PYTHON, then
 * python3, then /usr/bin/python3 (Debian's packages live there even under pyenv). Writes the
 * command into buf; returns 0 when found. */
int ps_bench_python(const char *modules, char *buf, size_t n);

/* Path of a helper script of the bench (torch_peer.py, ssim_check.py) into buf; 0 when found. */
int ps_bench_script(const ps_bench_ctx *c, const char *name, char *buf, size_t n);

/* ---- contact sheets (sheet.c) ------------------------------------------------------------ */
typedef struct ps_bench_sheet {
    ps_image im; /* empty when it could not be allocated */
    int rows, cols, tw, th;
} ps_bench_sheet;
void ps_bench_sheet_new(ps_bench_sheet *s, int rows, int cols, int tw, int th);
/* im (linear RGB[A]; alpha ignored) resized into tile (row, col); out of range: ignored */
void ps_bench_sheet_put(ps_bench_sheet *s, int row, int col, const ps_image *im);
ps_status ps_bench_sheet_save(const ps_bench_sheet *s, const char *path);
void ps_bench_sheet_free(ps_bench_sheet *s);

/* One line on stderr as a long section moves on: "bench: SECTION i+1/n: what". */
void ps_bench_progress(const char *section, int i, int n, const char *what);

/* ---- plots ------------------------------------------------------------------------------- */
/* <out>/<file>: line plot with markers, gnuplot when available, else pstyle's own PNG writer.
 * logx: logarithmic x axis. Returns 0 when written. */
int ps_bench_plot(ps_bench_ctx *c, const char *file, const char *title, const char *xlabel,
                  const char *ylabel, const ps_bench_series *s, int ns, int logx);

/* ---- the optimization baseline (optimize.c) ---------------------------------------------- */
/* Gatys-style reference: Adam on the pixels of `photo` (linear RGB, 3 planes), minimizing the
 * feature-statistics distance to the samples (ps_feat_all, all groups weight 1) plus
 * content_w * L1 to the photo, `steps` steps; out gets photo's size. */
ps_status ps_bench_optimize(const ps_image *samples, int k, const ps_image *photo, int steps,
                            float content_w, ps_image *out);

#endif
