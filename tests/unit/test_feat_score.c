/* The six reference metrics (ps_feat_score) against the Python reference itself on varied image
 * pairs written as PNG, plus checks that need no Python: identical images, two constant images
 * worked out by hand, symmetry, more noise -> larger distances, bad arguments.
 * The reference is $PSTYLE_METRICS_PY, else $PSTYLE_ROOT/../shared/metrics/pstyle_metrics.py;
 * without it (or without /usr/bin/python3 and its modules) the Python comparison is skipped. */
#include "check.h"
#include "test_feat_util.h"
#include "src/img/img.h"
#include <time.h>
#include <unistd.h>

#define PY "/usr/bin/python3"
#define REF_RTOL 1e-4
#define REF_ATOL 1e-9

typedef struct {
    const char *name;
    int h, w;
    unsigned char *out, *gt;
} pair;

static unsigned char clamp8(double v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
}

static unsigned char *img_new(int h, int w) { return malloc((size_t)h * w * 3); }

/* tf_natural's dead leaves as 8-bit sRGB */
static unsigned char *img_natural(int h, int w, uint64_t seed)
{
    ps_image im;
    unsigned char *u = img_new(h, w);
    ps_img_alloc(&im, w, h, 3);
    tf_natural(im.px, h, w, seed);
    ps_img_to_rgba8(&im, u, 3);
    ps_img_free(&im);
    return u;
}

static unsigned char *img_gradient(int h, int w)
{
    unsigned char *u = img_new(h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = u + ((size_t)y * w + x) * 3;
            p[0] = clamp8(255.0 * x / (w - 1)), p[1] = clamp8(255.0 * y / (h - 1));
            p[2] = clamp8(128 + 100 * sin(0.05 * (x + 2 * y)));
        }
    return u;
}

/* cells of side k in two colours, or (k < 0) diagonal stripes of period -k */
static unsigned char *img_pattern(int h, int w, int k, const unsigned char c0[3],
                                  const unsigned char c1[3])
{
    unsigned char *u = img_new(h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int on = k > 0 ? (x / k + y / k) % 2 : (x + y) % -k < -k / 2;
            memcpy(u + ((size_t)y * w + x) * 3, on ? c1 : c0, 3);
        }
    return u;
}

static unsigned char *img_const(int h, int w, const unsigned char c[3])
{
    return img_pattern(h, w, 1 << 20, c, c);
}

/* a copy of src plus Gaussian noise of the given sigma (in codes) */
static unsigned char *img_noisy(const unsigned char *src, int h, int w, double sigma, uint64_t seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    unsigned char *u = img_new(h, w);
    for (size_t i = 0; i < (size_t)h * w * 3; i++)
        u[i] = clamp8(src[i] + sigma * ps_rng_normal(&r));
    return u;
}

/* 5x5 box blur, edges clamped */
static unsigned char *img_blur(const unsigned char *src, int h, int w)
{
    unsigned char *u = img_new(h, w);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0;
                for (int dy = -2; dy <= 2; dy++)
                    for (int dx = -2; dx <= 2; dx++) {
                        int yy = y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy;
                        int xx = x + dx < 0 ? 0 : x + dx >= w ? w - 1 : x + dx;
                        s += src[((size_t)yy * w + xx) * 3 + c];
                    }
                u[((size_t)y * w + x) * 3 + c] = clamp8(s / 25.0);
            }
    return u;
}

/* a warm colour cast: per-channel gain and offset */
static unsigned char *img_shift(const unsigned char *src, int h, int w)
{
    unsigned char *u = img_new(h, w);
    for (size_t i = 0; i < (size_t)h * w * 3; i++)
        u[i] = clamp8(i % 3 == 0 ? 1.1 * src[i] + 12 : i % 3 == 1 ? src[i] + 4 : 0.85 * src[i] - 6);
    return u;
}

static int save_png(const char *path, const unsigned char *u, int h, int w)
{
    ps_image im;
    ps_status st = ps_img_alloc(&im, w, h, 3);
    if (st == PS_OK) {
        ps_img_from_rgba8(&im, u, 3);
        st = ps_img_save(path, &im, 0);
    }
    ps_img_free(&im);
    return st == PS_OK ? 0 : -1;
}

/* skimage's rgb2lab of one 8-bit colour, written out independently of score.c */
static void hand_lab(const unsigned char rgb[3], double lab[3])
{
    static const double m[3][3] = {{0.412453, 0.357580, 0.180423},
                                   {0.212671, 0.715160, 0.072169},
                                   {0.019334, 0.119193, 0.950227}};
    static const double white[3] = {0.95047, 1.0, 1.08883};
    double lin[3], f[3];
    for (int k = 0; k < 3; k++) {
        double v = rgb[k] / 255.0;
        lin[k] = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
    }
    for (int k = 0; k < 3; k++) {
        double t = (m[k][0] * lin[0] + m[k][1] * lin[1] + m[k][2] * lin[2]) / white[k];
        f[k] = t <= 0.008856 ? 7.787 * t + 16.0 / 116.0 : pow(t, 1.0 / 3.0);
    }
    lab[0] = 116 * f[1] - 16, lab[1] = 500 * (f[0] - f[1]), lab[2] = 200 * (f[1] - f[2]);
}

/* Two constant images: PSNR from the MSE, SSIM per channel (2ab + C1) / (a^2 + b^2 + C1) as the
 * variances vanish, SWD the mean |dir . (labA - labB)|, GradW1 0; LapSWD: bands 0-2 are 0 and
 * every band-3 patch standardises to z_c = +-h_c / (h_c + 1e-6), h_c = |labA_c - labB_c| / 2, so
 * it is 100/4 * mean_k |2 sum_j dir_kj z_(j mod 3)|. */
static void test_constant(void)
{
    const unsigned char ca[3] = {200, 80, 30}, cb[3] = {190, 100, 60};
    int h = 60, w = 64;
    unsigned char *a = img_const(h, w, ca), *b = img_const(h, w, cb);
    double m[PS_SCORE_N], la[3], lb[3], mse = 0, ssim = 0, swd = 0, lap = 0, z[3];
    CHECK(ps_feat_score(a, b, h, w, m) == PS_OK, "%s", ps_last_error());
    hand_lab(ca, la);
    hand_lab(cb, lb);
    const double C1 = 2.55 * 2.55;
    for (int k = 0; k < 3; k++) {
        mse += (ca[k] - cb[k]) * (ca[k] - cb[k]) / 3.0;
        double x = ca[k], y = cb[k];
        ssim += (2 * x * y + C1) / (x * x + y * y + C1) / 3;
        double hk = fabs(la[k] - lb[k]) / 2;
        z[k] = (la[k] > lb[k] ? hk : -hk) / (hk + 1e-6);
    }
    for (int d = 0; d < PS_FEAT__SWD_DIRS; d++) {
        const double *u = ps_feat__swd_dirs + 3 * d;
        swd += fabs(u[0] * (la[0] - lb[0]) + u[1] * (la[1] - lb[1]) + u[2] * (la[2] - lb[2]));
    }
    for (int d = 0; d < PS_FEAT__LAP_DIRS; d++) {
        double p = 0;
        for (int j = 0; j < PS_FEAT__LAP_DIM; j++)
            p += ps_feat__lap_dirs[d * PS_FEAT__LAP_DIM + j] * z[j % 3];
        lap += fabs(2 * p);
    }
    CHECK_NEAR(m[PS_SCORE_PSNR], 10 * log10(255.0 * 255.0 / mse), 0, 1e-12);
    CHECK_NEAR(m[PS_SCORE_SSIM], ssim, 0, 1e-12);
    CHECK_NEAR(m[PS_SCORE_DE00], ps_feat_ciede2000(lb, la), 0, 1e-10);
    CHECK_NEAR(m[PS_SCORE_SWD], swd / PS_FEAT__SWD_DIRS, 0, 1e-10);
    CHECK_NEAR(m[PS_SCORE_GRADW1], 0, 1e-12, 0);
    CHECK_NEAR(m[PS_SCORE_LAPSWD], 100.0 / 4 * lap / PS_FEAT__LAP_DIRS, 0, 1e-8);
    free(a);
    free(b);
}

/* More grain on the same image: the structure distances grow. */
static void test_monotone(void)
{
    int h = 128, w = 112;
    unsigned char *gt = img_natural(h, w, 21);
    double prev[PS_SCORE_N] = {0};
    for (int i = 0; i < 3; i++) {
        double sigma = 3 * pow(3, i), m[PS_SCORE_N];
        unsigned char *out = img_noisy(gt, h, w, sigma, 100 + i);
        CHECK(ps_feat_score(out, gt, h, w, m) == PS_OK, "%s", ps_last_error());
        CHECK(m[PS_SCORE_LAPSWD] > prev[PS_SCORE_LAPSWD] &&
                  m[PS_SCORE_GRADW1] > prev[PS_SCORE_GRADW1],
              "sigma %g: LapSWD %g (before %g), GradW1 %g (before %g)", sigma, m[PS_SCORE_LAPSWD],
              prev[PS_SCORE_LAPSWD], m[PS_SCORE_GRADW1], prev[PS_SCORE_GRADW1]);
        memcpy(prev, m, sizeof m);
        free(out);
    }
    free(gt);
}

static void test_api(void)
{
    static const char *names[PS_SCORE_N] = {"PSNR", "SSIM", "dE00", "SWD", "GradW1", "LapSWD"};
    for (int i = 0; i < PS_SCORE_N; i++) {
        CHECK(!strcmp(ps_feat_score_name(i), names[i]), "name %d", i);
        CHECK(ps_feat_score_higher_better(i) == (i <= PS_SCORE_SSIM), "higher better %d", i);
    }
    CHECK(ps_feat_score_name(PS_SCORE_N) == NULL && ps_feat_score_name(-1) == NULL, "out of range");
    /* the embedded directions (score_dirs.c) are whole: every one a unit vector */
    for (int d = 0; d < PS_FEAT__SWD_DIRS + PS_FEAT__LAP_DIRS; d++) {
        int dim = d < PS_FEAT__SWD_DIRS ? 3 : PS_FEAT__LAP_DIM;
        const double *u = d < PS_FEAT__SWD_DIRS ? ps_feat__swd_dirs + 3 * d
                                                : ps_feat__lap_dirs + (d - PS_FEAT__SWD_DIRS) * dim;
        double nn = 0;
        for (int j = 0; j < dim; j++)
            nn += u[j] * u[j];
        CHECK_NEAR(nn, 1.0, 1e-7, 0);
    }
    int s = PS_FEAT_SCORE_MIN_SIDE;
    unsigned char *a = img_gradient(s, s + 11);
    double m[PS_SCORE_N];
    CHECK(ps_feat_score(a, a, s, s + 11, m) == PS_OK, "smallest size: %s", ps_last_error());
    CHECK(ps_feat_score(a, a, s - 1, s + 12, m) == PS_EINPUT, "too short");
    CHECK(ps_feat_score(a, a, s + 12, s - 1, m) == PS_EINPUT, "too narrow");
    CHECK(ps_feat_score(a, NULL, s, s, m) == PS_EUSAGE, "NULL image");
    free(a);
}

/* Runs the reference on every pair's PNGs in one Python process (importing scikit-image takes
 * a second) and compares all six numbers, printed with 17 digits. */
static void compare_reference(const pair *p, int n)
{
    char path[4096];
    const char *script = getenv("PSTYLE_METRICS_PY"), *root = getenv("PSTYLE_ROOT");
    if (script && *script) {
        CHECK(access(script, R_OK) == 0, "PSTYLE_METRICS_PY=%s is not readable", script);
        if (access(script, R_OK) != 0)
            return;
    } else if (root && *root) {
        snprintf(path, sizeof path, "%s/../shared/metrics/pstyle_metrics.py", root);
        script = path;
        if (access(script, R_OK) != 0) {
            printf("skipped: reference comparison (%s not found)\n", script);
            return;
        }
    } else {
        printf("skipped: reference comparison (set PSTYLE_METRICS_PY or PSTYLE_ROOT)\n");
        return;
    }
    if (access(PY, X_OK) != 0 ||
        system(PY " -c 'import numpy, scipy, skimage, PIL' > /dev/null 2>&1") != 0) {
        printf("skipped: reference comparison (" PY " with numpy, scipy, skimage, PIL missing)\n");
        return;
    }
    setenv("PS_METRICS_REF", script, 1); /* passed by environment: no shell quoting of the path */
    char cmd[8192] = PY " -c \"\n"
                     "import os, runpy, sys, warnings\n"
                     "warnings.simplefilter('ignore', RuntimeWarning)\n" /* log10(inf): PSNR cap */
                     "p = runpy.run_path(os.environ['PS_METRICS_REF'])\n"
                     "for o, g in zip(sys.argv[1::2], sys.argv[2::2]):\n"
                     "    s = p['score'](p['load_rgb'](o), p['load_rgb'](g))\n"
                     "    print(' '.join('%.17g' % s[k] for k in p['METRICS']))\n"
                     "\"";
    for (int i = 0; i < n; i++) {
        char o[128], g[128];
        snprintf(o, sizeof o, "%s_out.png", p[i].name);
        snprintf(g, sizeof g, "%s_gt.png", p[i].name);
        CHECK(save_png(o, p[i].out, p[i].h, p[i].w) == 0 &&
                  save_png(g, p[i].gt, p[i].h, p[i].w) == 0,
              "%s: %s", p[i].name, ps_last_error());
        size_t len = strlen(cmd);
        snprintf(cmd + len, sizeof cmd - len, " %s %s", o, g);
    }
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "popen");
    if (!f)
        return;
    double worst[PS_SCORE_N] = {0};
    char line[1024];
    int got = 0;
    while (got < n && fgets(line, sizeof line, f)) {
        double r[PS_SCORE_N], c[PS_SCORE_N];
        int nr = sscanf(line, "%lf %lf %lf %lf %lf %lf", &r[0], &r[1], &r[2], &r[3], &r[4], &r[5]);
        CHECK(nr == PS_SCORE_N, "%s: reference printed '%s'", p[got].name, line);
        if (nr != PS_SCORE_N)
            break;
        CHECK(ps_feat_score(p[got].out, p[got].gt, p[got].h, p[got].w, c) == PS_OK, "%s",
              ps_last_error());
        for (int k = 0; k < PS_SCORE_N; k++) {
            CHECK(fabs(c[k] - r[k]) <= REF_ATOL + REF_RTOL * fabs(r[k]),
                  "%s %dx%d %s: C %.12g, Python %.12g", p[got].name, p[got].w, p[got].h,
                  ps_feat_score_name(k), c[k], r[k]);
            if (r[k] != 0)
                worst[k] = fmax(worst[k], fabs(c[k] - r[k]) / fabs(r[k]));
        }
        got++;
    }
    int ok = pclose(f) == 0 && got == n;
    CHECK(ok, "reference run failed after %d of %d pairs", got, n);
    if (!ok)
        return;
    printf("max relative difference to the reference over %d pairs:", n);
    for (int k = 0; k < PS_SCORE_N; k++)
        printf(" %s %.2g", ps_feat_score_name(k), worst[k]);
    printf("\n");
}

int main(void)
{
    const unsigned char red[3] = {220, 40, 30}, ink[3] = {20, 20, 60}, paper[3] = {240, 235, 220};
    const unsigned char grey[3] = {128, 128, 128};
    pair p[8];
    int n = 0;
    unsigned char *g;
    p[n++] = (pair){"identical", 80, 96, img_natural(80, 96, 1), img_natural(80, 96, 1)};
    g = img_gradient(64, 64);
    p[n++] = (pair){"grad_noise", 64, 64, img_noisy(g, 64, 64, 6, 2), g};
    p[n++] = (pair){"checker_stripes", 67, 59, img_pattern(67, 59, -6, red, paper),
                    img_pattern(67, 59, 5, ink, paper)};
    g = img_natural(150, 200, 3);
    p[n++] = (pair){"natural_blur", 150, 200, img_blur(g, 150, 200), g};
    g = img_natural(96, 128, 4);
    p[n++] = (pair){"colour_shift", 96, 128, img_shift(g, 96, 128), g};
    unsigned char *flat = img_const(71, 57, grey);
    p[n++] = (pair){"noise_noise", 71, 57, img_noisy(flat, 71, 57, 40, 5),
                    img_noisy(flat, 71, 57, 40, 6)};
    free(flat);
    p[n++] = (pair){"constants", 60, 64, img_const(60, 64, paper), img_const(60, 64, red)};
    g = img_natural(512, 512, 8);
    p[n++] = (pair){"big_grain", 512, 512, img_noisy(g, 512, 512, 8, 9), g};

    /* C-only: identical images, symmetry, timing of the 512x512 pair */
    double m[PS_SCORE_N], s[PS_SCORE_N];
    CHECK(ps_feat_score(p[0].out, p[0].gt, p[0].h, p[0].w, m) == PS_OK, "%s", ps_last_error());
    CHECK(m[PS_SCORE_PSNR] == 99.0, "PSNR %g", m[PS_SCORE_PSNR]);
    CHECK_NEAR(m[PS_SCORE_SSIM], 1.0, 1e-12, 0);
    for (int k = PS_SCORE_DE00; k < PS_SCORE_N; k++)
        CHECK_NEAR(m[k], 0.0, 1e-12, 0);
    for (int i = 1; i < n; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK(ps_feat_score(p[i].out, p[i].gt, p[i].h, p[i].w, m) == PS_OK, "%s", ps_last_error());
        clock_gettime(CLOCK_MONOTONIC, &t1);
        CHECK(ps_feat_score(p[i].gt, p[i].out, p[i].h, p[i].w, s) == PS_OK, "%s", ps_last_error());
        for (int k = 0; k < PS_SCORE_N; k++)
            CHECK_NEAR(s[k], m[k], 1e-12, 1e-12);
        if (p[i].h == 512)
            printf("512x512 pair: %.3f s\n",
                   (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec));
    }
    test_constant();
    test_monotone();
    test_api();
    compare_reference(p, n);
    for (int i = 0; i < n; i++)
        free(p[i].out), free(p[i].gt);
    return check_done("test_feat_score");
}
