/* Helpers for the feature-space tests: a seeded "natural-ish" image synthesizer (dead leaves with
 * textured fills, edges at every scale, grain and blur), small image edits (hue rotation, grain,
 * directional blur) and a finite-difference gradient checker for ops on the tape. */
#ifndef PS_TEST_FEAT_UTIL_H
#define PS_TEST_FEAT_UTIL_H
#include "src/feat/feat_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline float tf_clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* A random color in linear RGB: random hue, saturation skewed low and value skewed mid, as in
 * photographs. */
static inline void tf_color(ps_rng *r, float rgb[3])
{
    float h = ps_rng_uniform(r) * 6.0f, s = powf(ps_rng_uniform(r), 1.5f),
          v = 0.15f + 0.8f * ps_rng_uniform(r);
    float c = v * s, x = c * (1.0f - fabsf(fmodf(h, 2.0f) - 1.0f)), m = v - c;
    float t[6][3] = {{c, x, 0}, {x, c, 0}, {0, c, x}, {0, x, c}, {x, 0, c}, {c, 0, x}};
    for (int k = 0; k < 3; k++)
        rgb[k] = powf(t[(int)h % 6][k] + m, 2.2f); /* display value -> linear */
}

/* Dead leaves: occluding discs and rectangles with power-law sizes (scale invariant like natural
 * images), each flat, striped at a random orientation and frequency, or noisy; then a random
 * amount of blur and grain. How busy an image is (shape count, share and strength of textured
 * fills, grain) is itself drawn per image, so the set spans clean graphics to dense texture.
 * Planar linear RGB (3,h,w) in [0,1]. */
static inline void tf_natural(float *img, int h, int w, uint64_t seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    size_t hw = (size_t)h * w;
    float bg[3];
    tf_color(&r, bg);
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < hw; i++)
            img[c * hw + i] = bg[c];
    float u = ps_rng_uniform(&r);
    int shapes = 5 + (int)(u * u * u * 200);
    float p_tex = ps_rng_uniform(&r), amp_max = 0.5f * ps_rng_uniform(&r);
    float rmax = (float)(h < w ? h : w) / 3.0f;
    for (int s = 0; s < shapes; s++) {
        float col[3];
        tf_color(&r, col);
        /* radius from a power law p(r) ~ r^-3 on [1.5, rmax] by inverting its CDF */
        float lo2 = 1.0f / (1.5f * 1.5f), hi2 = 1.0f / (rmax * rmax);
        float rad = 1.0f / sqrtf(lo2 - ps_rng_uniform(&r) * (lo2 - hi2));
        float cx = ps_rng_uniform(&r) * w, cy = ps_rng_uniform(&r) * h;
        int rect = ps_rng_uniform(&r) < 0.4f;
        int fill = ps_rng_uniform(&r) < p_tex ? 1 + (ps_rng_uniform(&r) < 0.5f) : 0;
        float th = ps_rng_uniform(&r) * 3.14159f, fr = 0.05f + 0.4f * ps_rng_uniform(&r),
              amp = amp_max * ps_rng_uniform(&r), ct = 6.2832f * fr * cosf(th),
              st = 6.2832f * fr * sinf(th);
        for (int y = (int)fmaxf(0, cy - rad); y < h && y <= cy + rad; y++)
            for (int x = (int)fmaxf(0, cx - rad); x < w && x <= cx + rad; x++) {
                float dx = x - cx, dy = y - cy;
                if (!rect && dx * dx + dy * dy > rad * rad)
                    continue;
                float mod = 1.0f;
                if (fill == 1)
                    mod += amp * sinf(dx * ct + dy * st);
                else if (fill == 2)
                    mod += amp * (ps_rng_uniform(&r) - 0.5f);
                for (int c = 0; c < 3; c++)
                    img[c * hw + (size_t)y * w + x] = col[c] * mod;
            }
    }
    int blur = (int)(ps_rng_uniform(&r) * 4); /* 0..3 passes of a 3-tap box */
    float *tmp = malloc(hw * sizeof *tmp);
    for (int b = 0; b < blur && tmp; b++)
        for (int c = 0; c < 3; c++) {
            float *p = img + c * hw;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float s = 0.0f;
                    for (int j = -1; j <= 1; j++)
                        for (int i = -1; i <= 1; i++) {
                            int yy = y + j < 0 ? 0 : y + j >= h ? h - 1 : y + j;
                            int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                            s += p[(size_t)yy * w + xx];
                        }
                    tmp[(size_t)y * w + x] = s / 9.0f;
                }
            memcpy(p, tmp, hw * sizeof *tmp);
        }
    free(tmp);
    float grain = 0.03f * ps_rng_uniform(&r) * ps_rng_uniform(&r);
    for (size_t i = 0; i < 3 * hw; i++)
        img[i] = tf_clamp01(img[i] + grain * ps_rng_normal(&r));
}

/* A clean photo-like image: a smooth two-color gradient with a few large flat discs and
 * anti-aliased (box-blurred) edges, no grain. */
static inline void tf_smooth(float *img, int h, int w, uint64_t seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    size_t hw = (size_t)h * w;
    float c0[3], c1[3];
    tf_color(&r, c0);
    tf_color(&r, c1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                img[c * hw + (size_t)y * w + x] =
                    c0[c] + (c1[c] - c0[c]) * (float)(x + y) / (float)(h + w);
    for (int s = 0; s < 6; s++) {
        float col[3], cx = ps_rng_uniform(&r) * w, cy = ps_rng_uniform(&r) * h,
                      rad = (0.1f + 0.2f * ps_rng_uniform(&r)) * w;
        tf_color(&r, col);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad)
                    for (int c = 0; c < 3; c++)
                        img[c * hw + (size_t)y * w + x] = col[c];
    }
}

/* Rotate hue by permuting channels R->G->B->R (a 120 degree hue shift with luminance-symmetric
 * compression left exactly as it was). */
static inline void tf_hue_rotate(float *out, const float *in, int h, int w)
{
    size_t hw = (size_t)h * w;
    memcpy(out, in + 2 * hw, hw * sizeof *out);
    memcpy(out + hw, in, hw * sizeof *out);
    memcpy(out + 2 * hw, in + hw, hw * sizeof *out);
}

static inline void tf_grain(float *out, const float *in, int h, int w, float sigma, uint64_t seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    for (size_t i = 0; i < 3 * (size_t)h * w; i++)
        out[i] = tf_clamp01(in[i] + sigma * ps_rng_normal(&r));
}

/* Horizontal box blur of length 2k+1 (edges clamped): motion blur along x. */
static inline void tf_hblur(float *out, const float *in, int h, int w, int k)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float s = 0.0f;
                for (int i = -k; i <= k; i++) {
                    int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                    s += in[((size_t)c * h + y) * w + xx];
                }
                out[((size_t)c * h + y) * w + x] = s / (2 * k + 1);
            }
}

/* ---- finite-difference gradient check ------------------------------------------------------ */
/* The checked scalar is L = sum_i R_i y_i over the op's output y, with fixed random weights R_i
 * normalized by each output's typical size (so small statistics are checked as closely as big
 * ones). Analytic dL/dx comes from the tape; numeric ones from central differences of L, summed in
 * double, along directions v: L(x + h v) - L(x - h v) over 2h must equal <dL/dx, v>. Directions
 * are single elements (where one element moves L enough to rise above float rounding) or random
 * +-1 fields over the whole input or a patch (for ops that average over many pixels). A direction
 * whose step-h and step-h/2 estimates disagree is straddling a kink and is skipped, counted. */
typedef ps_tensor *(*tf_build_fn)(ps_graph *g, ps_tensor *x, void *arg);

typedef struct {
    const char *name;
    tf_build_fn fn;
    void *arg;
    int n, c, h, w;
    const float *x0;   /* input values (n*c*h*w) */
    double step;       /* h */
    double tol;        /* |num - ana| <= tol * (|num| + scale of <g,v>) */
    int elems, fields; /* directions: single elements, random fields (half global, half patch) */
    const float *rscale; /* per-output normalization; NULL: |y0| + mean|y0| */
} tf_grad_case;

static inline double tf_eval(const tf_grad_case *t, ps_graph *g, const float *x, const double *R)
{
    ps_graph_reset(g);
    ps_graph_set_grad(g, 0);
    ps_tensor *xt = ps_tensor_new(g, t->n, t->c, t->h, t->w);
    memcpy(xt->data, x, ps_tensor_numel(xt) * sizeof(float));
    ps_tensor *y = t->fn(g, xt, t->arg);
    double L = 0.0;
    for (size_t i = 0; y && i < ps_tensor_numel(y); i++)
        L += R[i] * y->data[i];
    ps_graph_set_grad(g, 1);
    return y ? L : NAN;
}

/* Returns the number of failed directions (0 = pass) and prints a summary line. */
static inline int tf_grad_check(const tf_grad_case *t, uint64_t seed)
{
    ps_graph *g = ps_graph_new(1 << 22);
    size_t nx = (size_t)t->n * t->c * t->h * t->w;
    ps_rng rng;
    ps_rng_seed(&rng, seed);
    ps_tensor *x = ps_tensor_leaf(g, t->n, t->c, t->h, t->w);
    memcpy(x->data, t->x0, nx * sizeof(float));
    ps_tensor *y = t->fn(g, x, t->arg);
    if (!y) {
        fprintf(stderr, "FAIL %s: build failed: %s\n", t->name, ps_last_error());
        ps_graph_free(g);
        return 1;
    }
    size_t ny = ps_tensor_numel(y);
    double *R = malloc(ny * sizeof *R), mean = 0.0;
    float *Rf = malloc(ny * sizeof *Rf), *ana = malloc(nx * sizeof *ana),
          *xp = malloc(nx * sizeof *xp), *v = malloc(nx * sizeof *v);
    for (size_t i = 0; i < ny; i++)
        mean += fabs(y->data[i]) / ny;
    for (size_t i = 0; i < ny; i++) {
        double s = t->rscale ? t->rscale[i % (ny / t->n)] : fabs(y->data[i]) + mean + 1e-12;
        R[i] = (ps_rng_uniform(&rng) * 2.0 - 1.0) / s;
        Rf[i] = (float)R[i];
    }
    /* L = sum R_i y_i as a scalar on the tape: mean over a (1,1,ny,1) view of R*ny*y */
    ps_tensor *rc = ps_tensor_const(g, y->n, y->c, y->h, y->w);
    for (size_t i = 0; i < ny; i++)
        rc->data[i] = Rf[i] * (float)ny;
    ps_tensor *loss = ps_chan_mean(g, ps_view(g, ps_mul(g, y, rc), 1, 1, (int)ny, 1));
    ps_graph_backward(g, loss);
    memcpy(ana, x->grad, nx * sizeof(float));
    double gscale = 0.0;
    for (size_t i = 0; i < nx; i++)
        gscale += (double)ana[i] * ana[i];
    gscale = sqrt(gscale / nx);
    int fails = 0, skipped = 0, total = t->elems + t->fields;
    double worst = 0.0;
    for (int d = 0; d < total; d++) {
        memset(v, 0, nx * sizeof(float));
        double vnorm = 0.0;
        if (d < t->elems) {
            v[(size_t)(ps_rng_uniform(&rng) * nx) % nx] = 1.0f;
            vnorm = 1.0;
        } else if ((d - t->elems) % 2 == 0) {
            for (size_t i = 0; i < nx; i++)
                v[i] = ps_rng_uniform(&rng) < 0.5f ? -1.0f : 1.0f;
            vnorm = sqrt((double)nx);
        } else { /* an (up to) 8x8 patch of one sample, all channels */
            int ph = t->h < 8 ? t->h : 8, pw = t->w < 8 ? t->w : 8;
            int n0 = (int)(ps_rng_uniform(&rng) * t->n) % t->n;
            int py = (int)(ps_rng_uniform(&rng) * (t->h - ph + 1));
            int px = (int)(ps_rng_uniform(&rng) * (t->w - pw + 1));
            for (int c = 0; c < t->c; c++)
                for (int yy = py; yy < py + ph; yy++)
                    for (int xx = px; xx < px + pw; xx++) {
                        v[(((size_t)n0 * t->c + c) * t->h + yy) * t->w + xx] =
                            ps_rng_uniform(&rng) < 0.5f ? -1.0f : 1.0f;
                        vnorm += 1.0;
                    }
            vnorm = sqrt(vnorm);
        }
        double an = 0.0, num[2];
        for (size_t i = 0; i < nx; i++)
            an += (double)ana[i] * v[i];
        for (int k = 0; k < 2; k++) {
            double hh = t->step / (1 << k), lp, lm;
            for (size_t i = 0; i < nx; i++)
                xp[i] = (float)(t->x0[i] + hh * v[i]);
            lp = tf_eval(t, g, xp, R);
            for (size_t i = 0; i < nx; i++)
                xp[i] = (float)(t->x0[i] - hh * v[i]);
            lm = tf_eval(t, g, xp, R);
            num[k] = (lp - lm) / (2.0 * hh);
        }
        double scale = gscale * vnorm, tol = t->tol * (fabs(num[0]) + scale);
        if (fabs(num[0] - num[1]) > tol) { /* estimates disagree: a kink is in reach */
            skipped++;
            continue;
        }
        double err = fabs(num[0] - an) / (fabs(num[0]) + scale);
        if (err > worst)
            worst = err;
        if (fabs(num[0] - an) > tol) {
            fails++;
            fprintf(stderr, "FAIL %s: direction %d: numeric %.6g analytic %.6g (scale %.3g)\n",
                    t->name, d, num[0], an, scale);
        }
    }
    /* skipping more than a few directions would hide a broken op behind "kinks" */
    if (skipped > total / 8) {
        fails++;
        fprintf(stderr, "FAIL %s: %d of %d directions skipped as kinks\n", t->name, skipped, total);
    }
    printf("  grad %-22s %3d directions, %d skipped, worst rel err %.2e%s\n", t->name, total,
           skipped, worst, fails ? "  FAILED" : "");
    free(R);
    free(Rf);
    free(ana);
    free(xp);
    free(v);
    ps_graph_free(g);
    return fails;
}
#endif
