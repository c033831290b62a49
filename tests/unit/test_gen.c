/* The generator's composition y = z + wc*(A[z;1]), z = x + ws*up(dS) + wt*up(dT): the row-wise
 * fast kernel against the per-pixel reference over odd sizes, upsampling factors 1..7 and 1..8
 * luma bins; exact identity at weights (0,0,0); each weight reaches only its own head; constant
 * heads against the formula written out; ps_gen_work_size's multiples and aspect. (Gradients of
 * ps_gen_compose and ps_gen_linearize are in test_grad's table.) */
#include "src/gen/gen.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int H, W, h, w, gh, gw, bins;
    float *x, *ds, *dt, *grid, *out, *ref;
} comp;

static float *rnd(ps_rng *r, size_t n, float lo, float hi)
{
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = lo + (hi - lo) * ps_rng_uniform(r);
    return p;
}

static void comp_new(comp *c, ps_rng *r, int H, int W, int h, int w, int gh, int gw, int bins)
{
    *c = (comp){H, W, h, w, gh, gw, bins, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t HW = (size_t)H * W;
    c->x = rnd(r, 3 * HW, 0, 1); /* a photo in display space */
    c->ds = rnd(r, (size_t)3 * h * w, -0.3f, 0.3f);
    c->dt = rnd(r, (size_t)3 * h * w, -0.3f, 0.3f);
    c->grid = rnd(r, (size_t)12 * bins * gh * gw, -0.5f, 0.5f);
    c->out = malloc(sizeof(float) * 3 * HW);
    c->ref = malloc(sizeof(float) * 3 * HW);
}

static void comp_free(comp *c)
{
    free(c->x);
    free(c->ds);
    free(c->dt);
    free(c->grid);
    free(c->out);
    free(c->ref);
}

static void run(const comp *c, float *out, const float w[3], int naive)
{
    ps_tensor ds = {1, 3, c->h, c->w, c->ds, NULL}, dt = {1, 3, c->h, c->w, c->dt, NULL};
    ps_tensor grid = {1, 12 * c->bins, c->gh, c->gw, c->grid, NULL};
    const ps_gen_heads hd = {&ds, &dt, &grid};
    const ps_dials d = {w[PS_COLOR], w[PS_TEXTURE], w[PS_STROKE]};
    (naive ? ps_gen_compose_forward_naive : ps_gen_compose_forward)(out, c->x, c->H, c->W, &hd, &d);
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* fast == naive to float rounding, over upsampling factors 1..7 (plus odd remainders), bins
 * 1..8, grids from 1x1, and one image large enough for the threaded path */
static void test_fast_vs_naive(ps_rng *r)
{
    double worst = 0;
    for (int f = 1; f <= 7; f++)
        for (int bins = 1; bins <= 8; bins++) {
            int h = 1 + (int)(ps_rng_u64(r) % 6), w = 1 + (int)(ps_rng_u64(r) % 7);
            int H = h * f + (int)(ps_rng_u64(r) % 3), W = w * f + (int)(ps_rng_u64(r) % 3);
            comp c;
            comp_new(&c, r, H, W, h, w, 1 + (int)(ps_rng_u64(r) % 4), 1 + (int)(ps_rng_u64(r) % 5),
                     bins);
            const float wgt[3] = {2 * ps_rng_uniform(r), 2 * ps_rng_uniform(r), 2 * ps_rng_uniform(r)};
            run(&c, c.out, wgt, 0);
            run(&c, c.ref, wgt, 1);
            double d = maxdiff(c.out, c.ref, (size_t)3 * H * W);
            worst = fmax(worst, d);
            CHECK(d < 1e-5, "fast vs naive: %g at %dx%d from %dx%d, grid %dx%dx%d", d, W, H, w, h,
                  c.gw, c.gh, bins);
            comp_free(&c);
        }
    comp c;
    comp_new(&c, r, 301, 263, 40, 32, 5, 4, 8); /* > 65536 pixels: the OpenMP row loop */
    const float wgt[3] = {1.3f, 0.7f, 1.9f};
    run(&c, c.out, wgt, 0);
    run(&c, c.ref, wgt, 1);
    double d = maxdiff(c.out, c.ref, (size_t)3 * 301 * 263);
    CHECK(d < 1e-5, "fast vs naive, large image: %g", d);
    printf("test_gen: fast vs naive composition, max |diff| %.3g\n", fmax(worst, d));
    comp_free(&c);
}

/* weights (0,0,0) give the photo back bit for bit, whatever the heads say */
static void test_identity(ps_rng *r)
{
    const float zero[3] = {0, 0, 0};
    comp c;
    comp_new(&c, r, 37, 53, 9, 13, 3, 4, 8);
    for (size_t i = 0; i < (size_t)3 * 9 * 13; i++)
        c.ds[i] *= 100, c.dt[i] *= 100; /* even wild heads */
    run(&c, c.out, zero, 0);
    run(&c, c.ref, zero, 1);
    size_t n = (size_t)3 * 37 * 53;
    CHECK(!memcmp(c.out, c.x, sizeof(float) * n), "fast path: (0,0,0) is not the identity (%g)",
          maxdiff(c.out, c.x, n));
    CHECK(!memcmp(c.ref, c.x, sizeof(float) * n), "naive path: (0,0,0) is not the identity (%g)",
          maxdiff(c.ref, c.x, n));
    comp_free(&c);
}

/* Each head matters exactly when its weight is non-zero: swapping one head for another random
 * one changes nothing at weight 0 and something at weight 1. */
static void test_groups(ps_rng *r)
{
    static const char *const name[3] = {"color (grid)", "texture (dT)", "stroke (dS)"};
    comp c;
    comp_new(&c, r, 24, 30, 6, 8, 3, 4, 4);
    size_t n = (size_t)3 * 24 * 30;
    float *other = malloc(sizeof(float) * n);
    for (int g = 0; g < 3; g++) {
        float *head = g == 0 ? c.grid : g == 1 ? c.dt : c.ds;
        size_t hn = g == 0 ? (size_t)12 * 4 * 3 * 4 : (size_t)3 * 6 * 8;
        float *save = malloc(sizeof(float) * hn), *alt = rnd(r, hn, -0.5f, 0.5f);
        memcpy(save, head, sizeof(float) * hn);
        for (int on = 0; on < 2; on++) {
            float wgt[3] = {1, 1, 1};
            wgt[g] = (float)on;
            run(&c, c.out, wgt, 0);
            memcpy(head, alt, sizeof(float) * hn);
            run(&c, other, wgt, 0);
            memcpy(head, save, sizeof(float) * hn);
            double d = maxdiff(c.out, other, n);
            if (on)
                CHECK(d > 1e-3, "%s at weight 1 changes nothing (%g)", name[g], d);
            else
                CHECK(d == 0, "%s at weight 0 still changes the output by %g", name[g], d);
        }
        free(save);
        free(alt);
    }
    /* without color the residuals add: (1,0) + (0,1) - x == (1,1), and they scale linearly */
    const float ws[3] = {0, 0, 1}, wt[3] = {0, 1, 0}, wst[3] = {0, 1, 1}, ws2[3] = {0, 0, 2};
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    run(&c, a, ws, 0);
    run(&c, b, wt, 0);
    run(&c, c.out, wst, 0);
    run(&c, other, ws2, 0);
    double add = 0, lin = 0;
    for (size_t i = 0; i < n; i++) {
        add = fmax(add, fabs((double)a[i] + b[i] - c.x[i] - c.out[i]));
        lin = fmax(lin, fabs(2.0 * ((double)a[i] - c.x[i]) - ((double)other[i] - c.x[i])));
    }
    CHECK(add < 1e-5, "stroke and texture residuals do not add: %g", add);
    CHECK(lin < 1e-5, "the stroke weight does not scale its residual: %g", lin);
    /* color alone: y - x scales with wc */
    const float wc1[3] = {1, 0, 0}, wc2[3] = {2, 0, 0};
    run(&c, a, wc1, 0);
    run(&c, b, wc2, 0);
    lin = 0;
    for (size_t i = 0; i < n; i++)
        lin = fmax(lin, fabs(2.0 * ((double)a[i] - c.x[i]) - ((double)b[i] - c.x[i])));
    CHECK(lin < 1e-5, "the color weight does not scale its change: %g", lin);
    free(a);
    free(b);
    free(other);
    comp_free(&c);
}

/* Constant heads make every interpolation trivial, so the output is the formula itself:
 * z = x + ws*s + wt*t, y = z + wc*(C[z;1]) with the grid's constant 3x4 matrix C. */
static void test_constant_heads(ps_rng *r)
{
    comp c;
    comp_new(&c, r, 19, 23, 5, 7, 2, 3, 3);
    float s[3], t[3], C[12];
    for (int ch = 0; ch < 3; ch++) {
        s[ch] = ps_rng_uniform(r) - 0.5f;
        t[ch] = ps_rng_uniform(r) - 0.5f;
        for (int i = 0; i < 5 * 7; i++)
            c.ds[ch * 35 + i] = s[ch], c.dt[ch * 35 + i] = t[ch];
    }
    size_t plane = (size_t)3 * 2 * 3; /* bins * gh * gw */
    for (int j = 0; j < 12; j++) {
        C[j] = ps_rng_uniform(r) - 0.5f;
        for (size_t i = 0; i < plane; i++)
            c.grid[j * plane + i] = C[j];
    }
    const float wgt[3] = {0.8f, 1.7f, 0.4f};
    run(&c, c.out, wgt, 0);
    size_t HW = (size_t)19 * 23;
    double d = 0;
    for (size_t p = 0; p < HW; p++) {
        double z[3];
        for (int ch = 0; ch < 3; ch++)
            z[ch] = c.x[ch * HW + p] + wgt[2] * s[ch] + wgt[1] * t[ch];
        for (int ch = 0; ch < 3; ch++) {
            double y = z[ch] + wgt[0] * (C[4 * ch] * z[0] + C[4 * ch + 1] * z[1] +
                                         C[4 * ch + 2] * z[2] + C[4 * ch + 3]);
            d = fmax(d, fabs(y - c.out[ch * HW + p]));
        }
    }
    CHECK(d < 1e-5, "constant heads: output differs from the formula by %g", d);
    comp_free(&c);
}

/* Working size: multiples of the grid cell, long side near `work`, aspect kept within a cell,
 * never below one cell. */
static void test_work_size(void)
{
    ps_gen gen;
    memset(&gen, 0, sizeof gen);
    ps_gen_cfg_default(&gen.cfg);
    const int unit = gen.cfg.grid_div;
    static const int sizes[][2] = {{4000, 3000}, {3000, 4000}, {640, 480}, {257, 255}, {100, 7},
                                   {7, 100},     {1, 1},       {12000, 300}, {256, 256}, {33, 47}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int W = sizes[i][0], H = sizes[i][1];
        for (int work = 64; work <= 512; work *= 2) {
            int w, h;
            ps_gen_work_size(&gen, W, H, work, &w, &h);
            CHECK(w % unit == 0 && h % unit == 0 && w >= unit && h >= unit,
                  "%dx%d at %d: %dx%d is not in whole cells of %d", W, H, work, w, h, unit);
            int lw = W >= H ? w : h;
            CHECK(abs(lw - work) <= unit / 2, "%dx%d at %d: long side %d", W, H, work, lw);
            /* each side is the scaled side rounded to a cell (or one cell when smaller) */
            double s = (double)work / (W > H ? W : H);
            CHECK(fabs(w - W * s) <= unit / 2.0 || w == unit, "%dx%d at %d: width %d, want %.1f",
                  W, H, work, w, W * s);
            CHECK(fabs(h - H * s) <= unit / 2.0 || h == unit, "%dx%d at %d: height %d, want %.1f",
                  W, H, work, h, H * s);
        }
    }
}

int main(void)
{
    ps_threads_init(0);
    ps_rng r;
    ps_rng_seed(&r, 2026);
    test_fast_vs_naive(&r);
    test_identity(&r);
    test_groups(&r);
    test_constant_heads(&r);
    test_work_size();
    return check_done("test_gen");
}
