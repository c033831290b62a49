/* Line plots for the report: gnuplot (pngcairo, else png) when it is on PATH, else a plain
 * raster of our own written with src/img: axes, a 5x7 bitmap font for the numbers and labels,
 * one colored line with markers per series and a legend. */
#include "bench/bench_impl.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char plot_colors[PS_BENCH_PLOT_SERIES][3] = {
    {0, 114, 178}, {213, 94, 0}, {0, 158, 115}, {204, 121, 167},
    {230, 159, 0}, {86, 180, 233}, {0, 0, 0},   {150, 150, 150}};

static int plot_gnuplot(ps_bench_ctx *c, const char *file, const char *title, const char *xlabel,
                        const char *ylabel, const ps_bench_series *s, int ns, int logx)
{
    char dat[400], gp[400], cmd[1000];
    snprintf(dat, sizeof dat, "%s/%s.dat", c->tmp, file);
    FILE *d = fopen(dat, "w");
    if (!d)
        return -1;
    for (int i = 0; i < ns; i++) {
        for (int k = 0; k < s[i].n; k++)
            if (isfinite(s[i].y[k]))
                fprintf(d, "%.9g %.9g\n", s[i].x[k], s[i].y[k]);
        fputs("\n\n", d); /* gnuplot data blocks, addressed with `index` */
    }
    fclose(d);
    /* pngcairo needs a cairo build of gnuplot; gnuplot-nox has only the gd "png" terminal */
    static const char *const terms[2] = {"pngcairo size 800,500 noenhanced font 'sans,10'",
                                         "png size 800,500 noenhanced"};
    for (int t = 0; t < 2; t++) {
        snprintf(gp, sizeof gp, "%s/%s.%d.gp", c->tmp, file, t);
        FILE *g = fopen(gp, "w");
        if (!g)
            return -1;
        fprintf(g, "set terminal %s\nset output '%s/%s'\nset title '%s'\nset xlabel '%s'\n"
                   "set ylabel '%s'\nset grid\nset key outside right top vertical\n%s",
                terms[t], c->out, file, title, xlabel, ylabel, logx ? "set logscale x 2\n" : "");
        if (logx && ns > 0) { /* tics at the measured x values: a log axis hides them otherwise */
            fputs("set xtics (", g);
            for (int k = 0; k < s[0].n; k++)
                fprintf(g, "%s%.9g", k ? ", " : "", s[0].x[k]);
            fputs(")\n", g);
        }
        fputs("plot ", g);
        for (int i = 0; i < ns; i++)
            fprintf(g, "%s'%s' index %d with linespoints lw 2 pt 7 lc rgb '#%02x%02x%02x' "
                       "title '%s'", i ? ", " : "", dat, i, plot_colors[i][0],
                    plot_colors[i][1], plot_colors[i][2], s[i].name);
        fputc('\n', g);
        fclose(g);
        snprintf(cmd, sizeof cmd, "gnuplot '%s' >/dev/null 2>&1", gp);
        if (system(cmd) == 0)
            return 0;
    }
    return -1;
}

/* ---- our own raster ------------------------------------------------------------------------ */
typedef struct {
    ps_image im;
    int W, H;
} canvas;

static void put(canvas *cv, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= cv->W || y >= cv->H)
        return;
    for (int k = 0; k < 3; k++)
        cv->im.px[((size_t)k * cv->H + y) * cv->W + x] = ps_srgb_to_linear(rgb[k] / 255.0f);
}

static void text(canvas *cv, int x, int y, const char *s, const unsigned char rgb[3])
{
    for (; *s; s++, x += 6) {
        const unsigned char *g = ps_img_glyph((unsigned char)*s);
        if (!g)
            g = ps_img_glyph(toupper((unsigned char)*s));
        if (!g) /* not in the font (a space, too): leave the cell blank */
            continue;
        for (int r = 0; r < 7; r++)
            for (int b = 0; b < 5; b++)
                if (g[r] >> (4 - b) & 1)
                    put(cv, x + b, y + r, rgb);
    }
}

static void line(canvas *cv, double x0, double y0, double x1, double y1, int thick,
                 const unsigned char rgb[3])
{
    int n = (int)(fabs(x1 - x0) + fabs(y1 - y0)) + 1;
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n;
        int x = (int)lround(x0 + t * (x1 - x0)), y = (int)lround(y0 + t * (y1 - y0));
        for (int a = -thick / 2; a <= thick / 2; a++)
            for (int b = -thick / 2; b <= thick / 2; b++)
                put(cv, x + a, y + b, rgb);
    }
}

static void nice_num(char *buf, size_t n, double v)
{
    snprintf(buf, n, fabs(v) >= 1000 || (v != 0 && fabs(v) < 0.01) ? "%.1e" : "%.3g", v);
}

static int plot_own(ps_bench_ctx *c, const char *file, const char *title, const char *xlabel,
                    const char *ylabel, const ps_bench_series *s, int ns, int logx)
{
    canvas cv = {{0}, 800, 500};
    if (ps_img_alloc(&cv.im, cv.W, cv.H, 3))
        return -1;
    for (size_t i = 0; i < (size_t)3 * cv.W * cv.H; i++)
        cv.im.px[i] = 1;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < ns; i++)
        for (int k = 0; k < s[i].n; k++) {
            double x = logx ? log2(s[i].x[k]) : s[i].x[k], y = s[i].y[k];
            if (!isfinite(x) || !isfinite(y))
                continue;
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
        }
    if (!(x1 >= x0) || !(y1 >= y0)) {
        ps_img_free(&cv.im);
        return -1;
    }
    if (x1 == x0)
        x0 -= 0.5, x1 += 0.5;
    double pad = (y1 - y0) * 0.08 + 1e-9;
    y0 -= pad, y1 += pad;
    const int L = 80, R = 580, T = 40, B = 440; /* plot area; the legend goes right of it */
    const unsigned char black[3] = {0, 0, 0}, grey[3] = {215, 215, 215};
#define PX(x) (L + ((logx ? log2(x) : (x)) - x0) / (x1 - x0) * (R - L))
#define PY(y) (B - ((y)-y0) / (y1 - y0) * (B - T))
    char buf[64];
    for (int i = 0; i <= 5; i++) {
        double yv = y0 + (y1 - y0) * i / 5, xv = x0 + (x1 - x0) * i / 5;
        int py = (int)(B - (double)i / 5 * (B - T)), px = (int)(L + (double)i / 5 * (R - L));
        line(&cv, L, py, R, py, 1, grey);
        line(&cv, px, T, px, B, 1, grey);
        nice_num(buf, sizeof buf, yv);
        text(&cv, L - 6 - 6 * (int)strlen(buf), py - 3, buf, black);
        nice_num(buf, sizeof buf, logx ? exp2(xv) : xv);
        text(&cv, px - 3 * (int)strlen(buf), B + 8, buf, black);
    }
    line(&cv, L, T, L, B, 1, black);
    line(&cv, L, B, R, B, 1, black);
    text(&cv, L, 15, title, black);
    text(&cv, (L + R) / 2 - 3 * (int)strlen(xlabel), B + 28, xlabel, black);
    text(&cv, 8, T - 18, ylabel, black);
    for (int i = 0; i < ns; i++) {
        const unsigned char *col = plot_colors[i % PS_BENCH_PLOT_SERIES];
        int prev = -1;
        for (int k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].y[k]))
                continue;
            double px = PX(s[i].x[k]), py = PY(s[i].y[k]);
            if (prev >= 0)
                line(&cv, PX(s[i].x[prev]), PY(s[i].y[prev]), px, py, 2, col);
            for (int a = -3; a <= 3; a++)
                for (int b = -3; b <= 3; b++)
                    if (a * a + b * b <= 9)
                        put(&cv, (int)lround(px) + a, (int)lround(py) + b, col);
            prev = k;
        }
        line(&cv, R + 15, T + 10 + 16 * i, R + 35, T + 10 + 16 * i, 3, col);
        text(&cv, R + 42, T + 7 + 16 * i, s[i].name, black);
    }
#undef PX
#undef PY
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", c->out, file);
    int rc = ps_img_save(path, &cv.im, 0) ? -1 : 0;
    ps_img_free(&cv.im);
    return rc;
}

int ps_bench_plot(ps_bench_ctx *c, const char *file, const char *title, const char *xlabel,
                  const char *ylabel, const ps_bench_series *s, int ns, int logx)
{
    if (ns > PS_BENCH_PLOT_SERIES)
        ns = PS_BENCH_PLOT_SERIES;
    if (c->gnuplot && c->tmp[0] && !plot_gnuplot(c, file, title, xlabel, ylabel, s, ns, logx))
        return 0;
    return plot_own(c, file, title, xlabel, ylabel, s, ns, logx);
}

ps_status ps_bench_plot_png(const char *dir, const char *file, const char *title,
                            const char *xlabel, const char *ylabel, const ps_bench_series *s,
                            int ns)
{
    ps_bench_ctx c = {.out = dir}; /* no gnuplot, no scratch folder: our own raster */
    if (ps_bench_plot(&c, file, title, xlabel, ylabel, s, ns, 0))
        return ps_fail(PS_EINPUT, "%s/%s: cannot write the plot", dir, file);
    return PS_OK;
}
