/* Feature space: finite-difference gradient checks of every feature op and group and of the SSIM
 * loss; invariance checks (what each group must and must not see); shapes and errors; timing. */
#include "check.h"
#include "test_feat_util.h"
#include <time.h>

/* ---- builders for the gradient checker ----------------------------------------------------- */
static ps_tensor *b_opp(ps_graph *g, ps_tensor *x, void *a) { (void)a; return ps_feat__opp(g, x); }
static ps_tensor *b_mag(ps_graph *g, ps_tensor *x, void *a) { (void)a; return ps_feat__mag(g, x); }
static ps_tensor *b_stprod(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat__stprod(g, x);
}
static ps_tensor *b_orient(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat__orient(g, x);
}
static ps_tensor *b_moments(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat__moments(g, x, 1e-3f);
}
static ps_tensor *b_hist(ps_graph *g, ps_tensor *x, void *a)
{
    static const float lo[3] = {0.0f, -0.3f, -0.3f}, hi[3] = {1.0f, 0.3f, 0.3f};
    (void)a;
    return ps_feat__hist(g, x, lo, hi);
}
static ps_tensor *b_asinh(ps_graph *g, ps_tensor *x, void *a)
{
    static const float s0[8] = {1e-3f, 2e-3f, 1e-2f, 0.1f, 1e-3f, 3e-3f, 2e-2f, 1.0f};
    (void)a;
    return ps_feat__asinh(g, x, s0);
}
static ps_tensor *b_corr(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat__corr(g, ps_gram(g, x), 4e-4f);
}
static ps_tensor *b_slice(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat__slice(g, x, 1, 2);
}
static ps_tensor *b_ratio(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat__ratio(g, x, 1, x, 4);
}
static ps_tensor *b_pack(ps_graph *g, ps_tensor *x, void *a)
{
    static const int idx[3] = {5, 0, 5};
    static const float off[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f}, sc[5] = {2, 3, 0.5f, 4, 1};
    ps_feat__src src[2] = {{x, idx, 3}, {x, idx + 1, 2}};
    (void)a;
    return ps_feat__pack(g, x->n, src, 2, off, sc);
}
static ps_tensor *b_distance(ps_graph *g, ps_tensor *x, void *a)
{
    static const float w[PS_NGROUPS] = {1.0f, 0.5f, 2.0f};
    ps_tensor *target = a; /* a constant (1,1,1,D) target, broadcast over the batch */
    return ps_feat_distance(g, x, target, w);
}
static ps_tensor *b_distance_pair(ps_graph *g, ps_tensor *x, void *a)
{
    /* gradient into both arguments: d(x[0], x[1]) */
    static const float w[PS_NGROUPS] = {0.3f, 1.0f, 1.5f};
    (void)a;
    ps_tensor *v = ps_view(g, x, 1, 2, 1, PS_FEAT_DIM);
    return ps_feat_distance(g, ps_feat__slice(g, v, 0, 1), ps_feat__slice(g, v, 1, 1), w);
}
static ps_tensor *b_ssim(ps_graph *g, ps_tensor *x, void *a)
{
    ps_tensor *ref = a;
    return ps_feat_ssim_loss(g, x, ref);
}
static ps_tensor *b_ssim_both(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a; /* x holds both images along the batch: SSIM(x[0], x[1]) with grads into both */
    ps_tensor *v = ps_view(g, x, 1, 2 * x->c, x->h, x->w);
    ps_tensor *l = ps_feat__slice(g, v, 0, x->c), *r = ps_feat__slice(g, v, x->c, x->c);
    return ps_feat_ssim_loss(g, l, r);
}
static ps_tensor *b_color(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat_color(g, x);
}
static ps_tensor *b_texture(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat_texture(g, x);
}
static ps_tensor *b_stroke(ps_graph *g, ps_tensor *x, void *a)
{
    (void)a;
    return ps_feat_stroke(g, x);
}
static ps_tensor *b_all(ps_graph *g, ps_tensor *x, void *a) { (void)a; return ps_feat_all(g, x); }

static void fill_uniform(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * ps_rng_uniform(&r);
}

static void fill_natural(float *x, int n, int h, int w, uint64_t seed)
{
    for (int i = 0; i < n; i++)
        tf_natural(x + (size_t)i * 3 * h * w, h, w, seed + (uint64_t)i);
}

/* Natural-ish content kept off the kinks of the features: off the clamps at 0 and 1 (one-sided
 * differences), and with a faint ripple everywhere, because on a perfectly flat patch |grad| sits
 * at its smoothed zero where a finite-difference step is not small. */
static void fill_natural_open(float *x, int n, int h, int w, uint64_t seed)
{
    fill_natural(x, n, h, w, seed);
    for (int i = 0; i < n * 3; i++)
        for (int y = 0; y < h; y++)
            for (int k = 0; k < w; k++) {
                float *p = x + ((size_t)i * h + y) * w + k;
                *p = 0.03f + 0.94f * *p + 0.01f * sinf(0.9f * k + 0.5f * y + (float)i);
            }
}

static int ops_checked;

static void grad_case(const char *name, tf_build_fn fn, void *arg, int n, int c, int h, int w,
                      const float *x0, double step, int elems, int fields)
{
    tf_grad_case t = {name, fn, arg, n, c, h, w, x0, step, 2e-2, elems, fields, NULL};
    int fails = tf_grad_check(&t, 1234 + (uint64_t)ops_checked);
    CHECK(fails == 0, "%s: %d gradient directions failed", name, fails);
    ops_checked++;
}

/* The opponent map's fixed points: black -> (0,0,0), white -> (1,0,0), and its constants match
 * PS_FEAT_OPP_EPS (they are written out as literals in ops.c). */
static void test_opp_values(void)
{
    float in[6] = {0, 1, 0, 1, 0, 1}, out[6]; /* N=1, HW=2: pixel 0 black, pixel 1 white */
    ps_feat__opp_forward(out, NULL, in, 1, 2);
    CHECK(fabsf(out[0]) < 1e-6f && fabsf(out[2]) < 1e-6f && fabsf(out[4]) < 1e-6f, "black");
    CHECK(fabsf(out[1] - 1.0f) < 1e-6f && fabsf(out[3]) < 1e-6f && fabsf(out[5]) < 1e-6f,
          "white -> %g %g %g", out[1], out[3], out[5]);
    float mid[3] = {0.18f, 0.18f, 0.18f}, o[3];
    ps_feat__opp_forward(o, NULL, mid, 1, 1);
    double want = (cbrt(0.18 + PS_FEAT_OPP_EPS) - cbrt(PS_FEAT_OPP_EPS)) /
                  (cbrt(1.0 + PS_FEAT_OPP_EPS) - cbrt(PS_FEAT_OPP_EPS));
    CHECK(fabs(o[0] - want) < 1e-6, "18%% gray -> %g, want %g", o[0], want);
}

/* Soft histogram values: each channel sums to one; values far past an end put all their mass in
 * the end bin; a value on a bin center spreads 1/6, 2/3, 1/6 (the cubic B-spline). */
static void test_hist_values(void)
{
    const float lo[1] = {0.0f}, hi[1] = {1.0f};
    float far[4] = {-5.0f, -5.0f, 50.0f, 1e30f}, out[PS_FEAT_HIST_BINS];
    ps_feat__hist_forward(out, far, 1, 1, 4, lo, hi);
    CHECK(fabsf(out[0] - 0.5f) < 1e-6f && fabsf(out[PS_FEAT_HIST_BINS - 1] - 0.5f) < 1e-6f,
          "far values: %g %g", out[0], out[PS_FEAT_HIST_BINS - 1]);
    float center[1] = {3.0f / (PS_FEAT_HIST_BINS - 1)};
    ps_feat__hist_forward(out, center, 1, 1, 1, lo, hi);
    CHECK(fabsf(out[2] - 1.0f / 6) < 1e-6f && fabsf(out[3] - 2.0f / 3) < 1e-6f &&
              fabsf(out[4] - 1.0f / 6) < 1e-6f,
          "center: %g %g %g", out[2], out[3], out[4]);
    float any[64];
    fill_uniform(any, 64, -0.5f, 1.5f, 12);
    ps_feat__hist_forward(out, any, 1, 1, 64, lo, hi);
    double sum = 0.0;
    for (int b = 0; b < PS_FEAT_HIST_BINS; b++)
        sum += out[b];
    CHECK(fabs(sum - 1.0) < 1e-5, "bins sum to %g", sum);
}

static void test_op_grads(void)
{
    float x[2 * 8 * 6 * 5];
    /* pointwise maps and reductions on small tensors: single-element directions see each output */
    fill_uniform(x, 2 * 3 * 30, 0.02f, 0.98f, 1);
    x[7] = -0.1f; /* below black: clamped, zero gradient, must not break the check */
    grad_case("opp", b_opp, NULL, 2, 3, 5, 6, x, 1e-3, 40, 4);
    grad_case("hist", b_hist, NULL, 2, 3, 5, 6, x, 1e-3, 40, 4);
    grad_case("slice", b_slice, NULL, 2, 3, 5, 6, x, 1e-3, 20, 2);
    fill_uniform(x, 2 * 8 * 30, -0.1f, 0.1f, 2);
    grad_case("mag", b_mag, NULL, 2, 8, 5, 6, x, 1e-4, 40, 4);
    grad_case("moments", b_moments, NULL, 2, 8, 5, 6, x, 1e-4, 40, 4);
    grad_case("stprod", b_stprod, NULL, 2, 2, 5, 6, x, 1e-4, 40, 4);
    grad_case("corr", b_corr, NULL, 2, 4, 5, 6, x, 1e-4, 40, 4);
    fill_uniform(x, 2 * 8, -0.05f, 0.05f, 9);
    grad_case("asinh", b_asinh, NULL, 2, 1, 1, 8, x, 1e-5, 16, 2);
    /* a structure tensor: Jxx, Jyy >= 0, |Jxy| <= sqrt(Jxx Jyy) */
    fill_uniform(x, 2 * 3 * 30, 0.0f, 2e-3f, 3);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 30; i++) {
            float *J = x + n * 90;
            J[30 + i] = (J[30 + i] / 2e-3f * 2.0f - 1.0f) * sqrtf(J[i] * J[60 + i]);
        }
    grad_case("orient", b_orient, NULL, 2, 3, 5, 6, x, 2e-7, 40, 4);
    fill_uniform(x, 2 * 8, 0.1f, 1.0f, 4);
    grad_case("ratio", b_ratio, NULL, 2, 1, 1, 8, x, 1e-3, 16, 2);
    grad_case("pack", b_pack, NULL, 2, 1, 1, 8, x, 1e-3, 16, 2);
}

static void test_distance_ssim_grads(void)
{
    ps_graph *g = ps_graph_new(1 << 20);
    ps_tensor *tgt = ps_tensor_const(g, 1, 1, 1, PS_FEAT_DIM);
    fill_uniform(tgt->data, PS_FEAT_DIM, -1.0f, 1.0f, 5);
    float *f = malloc(2 * PS_FEAT_DIM * sizeof *f);
    fill_uniform(f, 2 * PS_FEAT_DIM, -1.5f, 1.5f, 6);
    grad_case("distance", b_distance, tgt, 2, 1, 1, PS_FEAT_DIM, f, 1e-2, 40, 4);
    grad_case("distance(both)", b_distance_pair, NULL, 2, 1, 1, PS_FEAT_DIM, f, 1e-2, 40, 4);
    free(f);

    enum { H = 20, W = 22 };
    float *a = malloc(2 * 2 * 3 * H * W * sizeof *a);
    for (int n = 0; n < 2; n++) { /* smooth-ish content so SSIM is far from both 0 and 1 */
        ps_rng r;
        ps_rng_seed(&r, 7 + n);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    a[((n * 3 + c) * H + y) * W + x] =
                        0.3f + 0.2f * sinf(0.4f * x + c + n) * cosf(0.3f * y) +
                        0.1f * ps_rng_uniform(&r);
    }
    ps_tensor *ref = ps_tensor_const(g, 2, 3, H, W);
    fill_uniform(ref->data, 2 * 3 * H * W, 0.1f, 0.6f, 8);
    for (size_t i = 0; i < ps_tensor_numel(ref); i++)
        ref->data[i] = 0.5f * ref->data[i] + 0.5f * a[i];
    grad_case("ssim_loss", b_ssim, ref, 2, 3, H, W, a, 3e-3, 30, 6);
    grad_case("ssim_loss(both)", b_ssim_both, NULL, 2, 3, H, W, a, 3e-3, 30, 6);
    free(a);
    ps_graph_free(g);
}

/* Whole groups: random fields over the image and over 8x8 patches (corners and borders
 * included). A single pixel moves the normalized statistics by less than their float rounding
 * over a finite-difference step, so per-pixel directions would test the rounding, not the
 * gradient; the ops above are checked pixel by pixel. */
static void test_group_grads(void)
{
    enum { N = 2, H = 48, W = 52 };
    float *x = malloc((size_t)N * 3 * H * W * sizeof *x);
    fill_natural_open(x, N, H, W, 100);
    grad_case("color", b_color, NULL, N, 3, H, W, x, 1e-3, 0, 24);
    grad_case("texture", b_texture, NULL, N, 3, H, W, x, 1e-3, 0, 24);
    grad_case("stroke", b_stroke, NULL, N, 3, H, W, x, 1e-3, 0, 24);
    grad_case("all", b_all, NULL, N, 3, H, W, x, 1e-3, 0, 24);
    free(x);
}

/* ---- what the groups see ------------------------------------------------------------------- */
/* Group distance between the features of two images (calibrated units). */
static void group_dists(const float *a, const float *b, int h, int w, double d[PS_NGROUPS])
{
    ps_graph *g = ps_graph_new(1 << 22);
    ps_graph_set_grad(g, 0);
    ps_tensor *ta = ps_tensor_new(g, 1, 3, h, w), *tb = ps_tensor_new(g, 1, 3, h, w);
    memcpy(ta->data, a, 3 * (size_t)h * w * sizeof(float));
    memcpy(tb->data, b, 3 * (size_t)h * w * sizeof(float));
    ps_tensor *fa = ps_feat_all(g, ta), *fb = ps_feat_all(g, tb);
    for (int k = 0; k < PS_NGROUPS; k++) {
        float wt[PS_NGROUPS] = {0};
        wt[k] = 1.0f;
        ps_tensor *l = ps_feat_distance(g, fa, fb, wt);
        d[k] = l ? l->data[0] : NAN;
    }
    ps_graph_free(g);
}

/* Mean of the opponent image's channel c (color statistics entry c). */
static double color_mean(const float *img, int h, int w, int c)
{
    ps_graph *g = ps_graph_new(1 << 22);
    ps_graph_set_grad(g, 0);
    ps_tensor *t = ps_tensor_new(g, 1, 3, h, w);
    memcpy(t->data, img, 3 * (size_t)h * w * sizeof(float));
    ps_tensor *f = ps_feat_color(g, t);
    double v = f ? f->data[c] : NAN;
    ps_graph_free(g);
    return v;
}

/* Raw texture statistics of an image (grad off). */
static void texture_raw(const float *img, int h, int w, float *out)
{
    ps_graph *g = ps_graph_new(1 << 22);
    ps_graph_set_grad(g, 0);
    ps_tensor *t = ps_tensor_new(g, 1, 3, h, w);
    memcpy(t->data, img, 3 * (size_t)h * w * sizeof(float));
    ps_tensor *f = ps_feat_texture(g, t);
    for (int j = 0; j < PS_FEAT_TEXTURE_DIM; j++)
        out[j] = f ? f->data[j] : NAN;
    ps_graph_free(g);
}

/* Distances are in calibrated units: over the calibration set two unrelated images are about 2
 * apart in every group (each normalized statistic has unit variance), which sets what "moves"
 * (> 1) and "barely moves" (< 0.15 of the group that should move) mean below. */
static void test_invariance(void)
{
    enum { H = 96, W = 96 };
    size_t n = 3 * (size_t)H * W;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    double d[PS_NGROUPS];
    tf_natural(a, H, W, 42);
    tf_natural(b, H, W, 43);
    group_dists(a, b, H, W, d);
    printf("  unrelated images: color %.3f texture %.3f stroke %.3f\n", d[0], d[1], d[2]);

    /* hue: a 120 degree channel rotation of a warm-tinted image keeps luminance exactly */
    for (size_t i = 0; i < n; i++)
        a[i] *= i < n / 3 ? 1.0f : i < 2 * n / 3 ? 0.6f : 0.3f;
    tf_hue_rotate(b, a, H, W);
    group_dists(a, b, H, W, d);
    printf("  hue shift:        color %.3f texture %.3f stroke %.3f\n", d[0], d[1], d[2]);
    CHECK(d[PS_COLOR] > 1.0, "hue shift must move color stats: %g", d[PS_COLOR]);
    CHECK(d[PS_TEXTURE] < 0.15 * d[PS_COLOR], "texture %g vs color %g",
          d[PS_TEXTURE], d[PS_COLOR]);
    CHECK(d[PS_STROKE] < 1e-6, "stroke sees luminance only, which the rotation keeps: %g",
          d[PS_STROKE]);
    float ta[PS_FEAT_TEXTURE_DIM], tb[PS_FEAT_TEXTURE_DIM];
    texture_raw(a, H, W, ta);
    texture_raw(b, H, W, tb);
    int moved = 0; /* luminance statistics (all but the 16 chroma energies) are unchanged */
    for (int j = 0; j < PS_FEAT_TEXTURE_DIM - 16; j++)
        moved += !(fabsf(ta[j] - tb[j]) <= 1e-4f * (1.0f + fabsf(ta[j])));
    CHECK(moved == 0, "%d luminance texture statistics moved under a hue rotation", moved);

    /* grain on a clean photo-like image: the finest texture energies move by several natural
     * spreads (the group distance averages them with 200 statistics grain hardly touches) */
    tf_smooth(b, H, W, 11);
    tf_grain(c, b, H, W, 0.03f, 9);
    group_dists(b, c, H, W, d);
    printf("  added grain:      color %.3f texture %.3f stroke %.3f\n", d[0], d[1], d[2]);
    CHECK(d[PS_TEXTURE] > 2.0 * d[PS_COLOR], "texture %g vs color %g",
          d[PS_TEXTURE], d[PS_COLOR]);
    texture_raw(b, H, W, ta);
    texture_raw(c, H, W, tb);
    const float *sc = ps_feat_calib_scale() + ps_feat_group_offset(PS_TEXTURE);
    for (int j = 0; j < 4; j++) /* level 0: the energies of the 4 orientations */
        CHECK((tb[j] - ta[j]) / sc[j] > 2.0, "grain: finest energy %d moved %g calibrated units", j,
              (tb[j] - ta[j]) / sc[j]);
    for (int k = 0; k < 3; k++) {
        double m0 = color_mean(b, H, W, k), m1 = color_mean(c, H, W, k);
        CHECK(fabs(m1 - m0) < 0.01, "grain moved color mean %d: %g -> %g", k, m0, m1);
    }

    /* directional blur of an isotropic texture (a photo-like image with grain): orientation */
    tf_smooth(c, H, W, 12);
    tf_grain(a, c, H, W, 0.04f, 10);
    tf_hblur(b, a, H, W, 4);
    group_dists(a, b, H, W, d);
    printf("  directional blur: color %.3f texture %.3f stroke %.3f\n", d[0], d[1], d[2]);
    CHECK(d[PS_STROKE] > 1.0, "directional blur must move stroke stats: %g",
          d[PS_STROKE]);
    CHECK(d[PS_COLOR] < 0.15 * d[PS_STROKE], "color %g vs stroke %g", d[PS_COLOR],
          d[PS_STROKE]);
    group_dists(a, a, H, W, d);
    CHECK(d[0] == 0.0 && d[1] == 0.0 && d[2] == 0.0, "self distance %g %g %g", d[0], d[1], d[2]);
    free(a);
    free(b);
    free(c);
}

static void test_shapes_and_errors(void)
{
    ps_graph *g = ps_graph_new(1 << 22);
    ps_tensor *small = ps_tensor_new(g, 1, 3, PS_FEAT_MIN_SIDE - 1, 64);
    CHECK(ps_feat_all(g, small) == NULL, "too-small image accepted");
    CHECK(strstr(ps_last_error(), "features") != NULL, "message: %s", ps_last_error());
    ps_tensor *gray = ps_tensor_new(g, 1, 1, 64, 64);
    CHECK(ps_feat_texture(g, gray) == NULL, "1-channel image accepted");
    CHECK(ps_feat_color(g, NULL) == NULL, "NULL accepted");
    ps_tensor *img = ps_tensor_new(g, 3, 3, 64, 80);
    fill_natural(img->data, 3, 64, 80, 5);
    ps_tensor *c = ps_feat_color(g, img), *t = ps_feat_texture(g, img),
              *s = ps_feat_stroke(g, img), *all = ps_feat_all(g, img);
    CHECK(c && c->n == 3 && c->w == PS_FEAT_COLOR_DIM, "color shape");
    CHECK(t && t->n == 3 && t->w == PS_FEAT_TEXTURE_DIM, "texture shape");
    CHECK(s && s->n == 3 && s->w == PS_FEAT_STROKE_DIM, "stroke shape");
    CHECK(all && all->n == 3 && all->w == PS_FEAT_DIM, "all shape");
    CHECK(ps_feat_group_offset(PS_STROKE) == PS_FEAT_COLOR_DIM + PS_FEAT_TEXTURE_DIM,
          "stroke offset %d", ps_feat_group_offset(PS_STROKE));
    /* ps_feat_all is ps_feat_normalize of the three groups, sample by sample */
    if (c && t && s && all) {
        const float *m = ps_feat_calib_mean(), *sc = ps_feat_calib_scale();
        int bad = 0;
        for (int n = 0; n < 3; n++)
            for (int j = 0; j < PS_FEAT_DIM; j++) {
                float raw = j < PS_FEAT_COLOR_DIM ? c->data[n * PS_FEAT_COLOR_DIM + j]
                            : j < PS_FEAT_COLOR_DIM + PS_FEAT_TEXTURE_DIM
                                ? t->data[n * PS_FEAT_TEXTURE_DIM + j - PS_FEAT_COLOR_DIM]
                                : s->data[n * PS_FEAT_STROKE_DIM + j - PS_FEAT_COLOR_DIM -
                                          PS_FEAT_TEXTURE_DIM];
                float want = (raw - m[j]) / sc[j], got = all->data[n * PS_FEAT_DIM + j];
                bad += !(fabsf(got - want) <= 1e-4f * (1.0f + fabsf(want)));
            }
        CHECK(bad == 0, "%d entries of ps_feat_all differ from the normalized groups", bad);
        /* batch entries are independent: sample 1 alone gives the same vector */
        ps_tensor *one = ps_tensor_new(g, 1, 3, 64, 80);
        memcpy(one->data, img->data + 3 * 64 * 80, 3 * 64 * 80 * sizeof(float));
        ps_tensor *f1 = ps_feat_all(g, one);
        int diff = 0;
        for (int j = 0; f1 && j < PS_FEAT_DIM; j++)
            diff += !(fabsf(f1->data[j] - all->data[PS_FEAT_DIM + j]) <=
                      1e-4f * (1.0f + fabsf(f1->data[j])));
        CHECK(f1 && diff == 0, "batched and single features differ in %d entries", diff);
    }
    float w[PS_NGROUPS] = {1, 1, 1};
    CHECK(ps_feat_distance(g, c, all, w) == NULL, "distance accepted a raw group vector");
    ps_graph_free(g);
}

/* The use the feature space exists for: gradient descent on an image's pixels toward another
 * image's statistics (what the learn-time inner loop does to style tokens) must shrink every
 * group's distance. Adam on the pixels, as style-transfer-by-optimization does. */
static void test_descent(void)
{
    enum { H = 64, W = 64, STEPS = 150 };
    size_t n = 3 * (size_t)H * W;
    float *x = malloc(n * sizeof *x), *t = malloc(n * sizeof *t);
    float *m = calloc(n, sizeof *m), *v = calloc(n, sizeof *v);
    tf_smooth(x, H, W, 31);
    tf_natural(t, H, W, 32);
    ps_graph *g = ps_graph_new(1 << 22);
    ps_graph_set_grad(g, 0);
    ps_tensor *tt = ps_tensor_new(g, 1, 3, H, W);
    memcpy(tt->data, t, n * sizeof *t);
    ps_tensor *ft = ps_feat_all(g, tt);
    float target[PS_FEAT_DIM];
    memcpy(target, ft->data, sizeof target);
    ps_graph_set_grad(g, 1);
    float w[PS_NGROUPS] = {1, 1, 1};
    double first[PS_NGROUPS] = {0}, last[PS_NGROUPS] = {0};
    for (int step = 0; step <= STEPS; step++) {
        ps_graph_reset(g);
        ps_tensor *img = ps_tensor_leaf(g, 1, 3, H, W), *fb = ps_tensor_const(g, 1, 1, 1, PS_FEAT_DIM);
        memcpy(img->data, x, n * sizeof *x);
        memcpy(fb->data, target, sizeof target);
        ps_tensor *fa = ps_feat_all(g, img);
        for (int k = 0; k < PS_NGROUPS; k++) {
            float wk[PS_NGROUPS] = {0};
            wk[k] = 1.0f;
            ps_tensor *dk = ps_feat_distance(g, fa, fb, wk);
            (step == 0 ? first : last)[k] = dk ? dk->data[0] : NAN;
        }
        ps_tensor *loss = ps_feat_distance(g, fa, fb, w);
        if (!loss || step == STEPS)
            break;
        ps_graph_backward(g, loss);
        float c1 = 1.0f - powf(0.9f, (float)(step + 1)), c2 = 1.0f - powf(0.999f, (float)(step + 1));
        for (size_t i = 0; i < n; i++) {
            float gr = img->grad[i];
            m[i] = 0.9f * m[i] + 0.1f * gr;
            v[i] = 0.999f * v[i] + 0.001f * gr * gr;
            x[i] = tf_clamp01(x[i] - 0.01f * (m[i] / c1) / (sqrtf(v[i] / c2) + 1e-8f));
        }
    }
    printf("  descent %d steps: color %.3f -> %.3f, texture %.3f -> %.3f, stroke %.3f -> %.3f\n",
           STEPS, first[0], last[0], first[1], last[1], first[2], last[2]);
    for (int k = 0; k < PS_NGROUPS; k++)
        CHECK(last[k] < 0.5 * first[k], "%s distance %g -> %g", ps_feat_group_name(k), first[k],
              last[k]);
    ps_graph_free(g);
    free(x);
    free(t);
    free(m);
    free(v);
}

/* Forward + backward of the whole feature set and a distance to a constant target, one core.
 * Reports CPU time (what the work costs; the test machine is shared, so wall time includes other
 * processes) next to wall time. */
static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

static void test_timing(void)
{
    enum { N = 4, H = 128, W = 128, REPS = 5 };
    ps_graph *g = ps_graph_new(1 << 24);
    float *x = malloc((size_t)N * 3 * H * W * sizeof *x);
    fill_natural(x, N, H, W, 77);
    float w[PS_NGROUPS] = {1, 1, 1};
    double best_cpu = 1e9, best_wall = 1e9;
    for (int r = 0; r < REPS; r++) {
        ps_graph_reset(g);
        ps_tensor *img = ps_tensor_leaf(g, N, 3, H, W);
        memcpy(img->data, x, ps_tensor_numel(img) * sizeof(float));
        ps_tensor *tgt = ps_tensor_const(g, 1, 1, 1, PS_FEAT_DIM);
        struct timespec c0, c1, w0, w1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        clock_gettime(CLOCK_MONOTONIC, &w0);
        ps_tensor *loss = ps_feat_distance(g, ps_feat_all(g, img), tgt, w);
        ps_graph_backward(g, loss);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        clock_gettime(CLOCK_MONOTONIC, &w1);
        best_cpu = fmin(best_cpu, ms_between(&c0, &c1));
        best_wall = fmin(best_wall, ms_between(&w0, &w1));
        CHECK(loss != NULL, "timing graph failed: %s", ps_last_error());
    }
    printf("  features fwd+bwd at %dx%d, 1 thread: %.2f ms CPU (%.2f ms wall) per image, best of "
           "%d, batch %d\n", H, W, best_cpu / N, best_wall / N, REPS, N);
    free(x);
    ps_graph_free(g);
}

int main(void)
{
    ps_threads_init(1); /* small tensors: OpenMP threads would only spin on a shared machine */
    test_opp_values();
    test_hist_values();
    test_op_grads();
    test_distance_ssim_grads();
    test_group_grads();
    printf("  %d feature ops/groups gradient-checked\n", ops_checked);
    test_invariance();
    test_shapes_and_errors();
    test_descent();
    test_timing();
    return check_done("test_feat");
}
