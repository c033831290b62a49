/* Benchmark harness: `pstyle bench` / `make bench`. One run measures the machine, the engine,
 * a PyTorch peer on the same network, apply/learn speed, and quality on the synthesizer's
 * validation styles against baselines measured in the same run, and writes REPORT.md,
 * results.json and PNG plots into one folder. */
#ifndef PS_BENCH_H
#define PS_BENCH_H
#include "src/base/base.h"
#include <stdio.h>

typedef struct ps_bench_opts {
    int quick;            /* fewer sizes, styles and runs; every section still runs */
    const char *model;    /* model file (resolved by the caller) */
    const char *ablation; /* model trained without the inner loop; may be missing */
    const char *out;      /* output folder (created) */
    const char *exe;      /* the pstyle binary, for timing real processes */
    const char *data;     /* photos folder (data/photos); procedural photos when absent */
    const char *extval;   /* external validation set (data/extval, `make extval`) */
    const char *only;     /* comma-separated sections to run (NULL: all) */
} ps_bench_opts;

/* Run everything and write <out>/REPORT.md, <out>/results.json and PNG plots in <out>. Fails only when
 * the outputs cannot be written; a section that cannot run says why in the report. */
ps_status ps_bench_run(const ps_bench_opts *o);

/* Line plots (the report's, and the training run's loss curves). */
#define PS_BENCH_PLOT_SERIES 8
typedef struct ps_bench_series {
    const char *name;
    int n;
    const double *x, *y;
} ps_bench_series;
/* <dir>/<file>: a PNG line plot drawn by pstyle's own raster writer (no gnuplot needed). */
ps_status ps_bench_plot_png(const char *dir, const char *file, const char *title,
                            const char *xlabel, const char *ylabel, const ps_bench_series *s,
                            int ns);

#endif
