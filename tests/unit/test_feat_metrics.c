/* Image-quality metrics and color baselines: CIEDE2000 on the published test pairs, CIELAB round
 * trip, SSIM and PSNR properties, the Lab histogram distance, and the two color-transfer
 * baselines moving an image's Lab statistics onto a reference's. */
#include "check.h"
#include "test_feat_util.h"
#include "src/img/img.h"

/* Sharma, Wu, Dalal (2005), Table 1: L1 a1 b1 L2 a2 b2 and the CIEDE2000 difference (4 decimals).
 * Pairs 7-16 sit on the hue-angle wrap and the mean-hue branch cuts of equations (10) and (14). */
static const double sharma[34][7] = {
    {50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425},
    {50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615},
    {50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412},
    {50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000},
    {50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669},
    {50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195},
    {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045},
    {50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461},
    {50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065},
    {50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492},
    {50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977},
    {50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030},
    {50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000},
    {50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000},
    {60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644},
    {63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630},
    {61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731},
    {35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645},
    {22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373},
    {36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146},
    {90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441},
    {90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381},
    {6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377},
    {2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082},
};

static void test_ciede2000(void)
{
    int ok = 0;
    for (int i = 0; i < 34; i++) {
        const double *p = sharma[i];
        double d12 = ps_feat_ciede2000(p, p + 3), d21 = ps_feat_ciede2000(p + 3, p);
        /* the table is rounded to 4 decimals: agreement to half a unit in the last place */
        int good = fabs(d12 - p[6]) <= 5e-5 + 1e-12 && fabs(d21 - p[6]) <= 5e-5 + 1e-12;
        CHECK(good, "Sharma pair %d: %.6f / %.6f, table %.4f", i + 1, d12, d21, p[6]);
        ok += good;
    }
    printf("  CIEDE2000: %d of 34 published pairs within 5e-5 (both orders)\n", ok);
    double lab[3] = {40.0, 10.0, -20.0};
    CHECK(ps_feat_ciede2000(lab, lab) == 0.0, "self difference");
}

static void test_lab(void)
{
    /* known values: D65 white is L=100, a=b=0; linear sRGB red is (53.24, 80.09, 67.20) */
    float white[3] = {1, 1, 1}, red[3] = {1, 0, 0}, back[3];
    double lab[3];
    ps_feat_rgb_to_lab(white, lab);
    CHECK(fabs(lab[0] - 100.0) < 1e-3 && fabs(lab[1]) < 1e-3 && fabs(lab[2]) < 1e-3,
          "white -> %g %g %g", lab[0], lab[1], lab[2]);
    ps_feat_rgb_to_lab(red, lab);
    CHECK(fabs(lab[0] - 53.24) < 0.01 && fabs(lab[1] - 80.09) < 0.01 && fabs(lab[2] - 67.20) < 0.01,
          "red -> %g %g %g", lab[0], lab[1], lab[2]);
    ps_rng r;
    ps_rng_seed(&r, 3);
    double worst = 0.0, worst_L = 0.0, worst_fast = 0.0;
    int lightness_differs = 0;
    for (int i = 0; i < 1000; i++) {
        float p[3] = {ps_rng_uniform(&r), ps_rng_uniform(&r), ps_rng_uniform(&r)};
        if (i < 3) /* dark values go through the linear segment of f */
            p[0] = p[1] = p[2] = 1e-4f * (float)i;
        ps_feat_rgb_to_lab(p, lab);
        lightness_differs += ps_feat_lightness(p) != lab[0];
        worst_fast = fmax(worst_fast, fabs(ps_feat_lightness_fast(p) - lab[0]));
        /* L* by libm's cube root: the fast one must agree to double rounding, not 1e-6 */
        double Y = 0.2126729 * p[0] + 0.7151522 * p[1] + 0.0721750 * p[2];
        if (Y > 216.0 / 24389)
            worst_L = fmax(worst_L, fabs(116 * cbrt(Y) - 16 - lab[0]));
        ps_feat_lab_to_rgb(lab, back);
        for (int c = 0; c < 3; c++)
            worst = fmax(worst, fabs(back[c] - p[c]));
    }
    CHECK(worst < 1e-5, "Lab round trip error %g", worst);
    CHECK(worst_L < 1e-11, "L* against libm's cbrt: %g", worst_L);
    CHECK(worst_fast < 5e-5, "ps_feat_lightness_fast off L* by %g", worst_fast); /* 1e-5 */
    CHECK(lightness_differs == 0, "ps_feat_lightness differs from Lab's L in %d of 1000",
          lightness_differs);
}

static void test_ssim_psnr(void)
{
    enum { H = 64, W = 72 };
    size_t n = 3 * (size_t)H * W;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    tf_natural(a, H, W, 5);
    CHECK(fabs(ps_feat_ssim(a, a, 3, H, W) - 1.0) < 1e-6, "SSIM(x,x) = %.9f",
          ps_feat_ssim(a, a, 3, H, W));
    CHECK(isinf(ps_feat_psnr(a, a, 3, H, W)), "PSNR of identical images: %g",
          ps_feat_psnr(a, a, 3, H, W));
    /* more noise -> lower SSIM and PSNR, and both symmetric */
    tf_grain(b, a, H, W, 0.01f, 1);
    tf_grain(c, a, H, W, 0.05f, 1);
    double s1 = ps_feat_ssim(a, b, 3, H, W), s2 = ps_feat_ssim(a, c, 3, H, W);
    double p1 = ps_feat_psnr(a, b, 3, H, W), p2 = ps_feat_psnr(a, c, 3, H, W);
    printf("  SSIM grain 0.01: %.4f, 0.05: %.4f; PSNR %.2f dB, %.2f dB\n", s1, s2, p1, p2);
    CHECK(s1 < 1.0 && s2 < s1 && s2 > -1.0, "SSIM order %g %g", s1, s2);
    CHECK(p2 < p1 && p1 < 80.0 && p2 > 10.0, "PSNR order %g %g", p1, p2);
    CHECK(fabs(ps_feat_ssim(b, a, 3, H, W) - s1) < 1e-9, "SSIM not symmetric");
    /* PSNR against a hand computation: a constant offset of 0.1 in sRGB code values is 20 dB */
    for (size_t i = 0; i < n; i++) {
        b[i] = ps_srgb_to_linear(0.5f);
        c[i] = ps_srgb_to_linear(0.6f);
    }
    CHECK(fabs(ps_feat_psnr(b, c, 3, H, W) - 20.0) < 1e-3, "PSNR %g, want 20",
          ps_feat_psnr(b, c, 3, H, W));
    /* SSIM sees structure: a mean shift costs little, scrambling the structure costs a lot */
    for (size_t i = 0; i < n; i++)
        b[i] = tf_clamp01(a[i] * 1.05f);
    for (size_t i = 0; i < n; i++)
        c[i] = a[(i * 7919) % n];
    double shift = ps_feat_ssim(a, b, 3, H, W), scramble = ps_feat_ssim(a, c, 3, H, W);
    CHECK(shift > 0.95 && scramble < 0.3, "SSIM brightness %g, scrambled %g", shift, scramble);
    /* the loss on the tape equals 1 - the metric, per image averaged over the batch */
    ps_graph *g = ps_graph_new(1 << 22);
    ps_graph_set_grad(g, 0);
    ps_tensor *ta = ps_tensor_new(g, 2, 3, H, W), *tb = ps_tensor_new(g, 2, 3, H, W);
    memcpy(ta->data, a, n * sizeof *a);
    memcpy(ta->data + n, a, n * sizeof *a);
    memcpy(tb->data, a, n * sizeof *a);
    memcpy(tb->data + n, c, n * sizeof *a);
    ps_tensor *l = ps_feat_ssim_loss(g, ta, tb);
    CHECK(l && fabs(l->data[0] - (1.0 - (1.0 + scramble) / 2)) < 1e-5, "ssim loss %g",
          l ? l->data[0] : NAN);
    ps_tensor *small = ps_tensor_new(g, 1, 3, 6, 40);
    CHECK(ps_feat_ssim_loss(g, small, small) == NULL, "6-pixel-high image accepted");
    CHECK(isnan(ps_feat_ssim(a, a, 3, 6, 40)), "metric on a too-small image is not NAN");
    ps_graph_free(g);
    free(a);
    free(b);
    free(c);
}

static void test_hist_distance(void)
{
    enum { H = 48, W = 40 };
    size_t n = 3 * (size_t)H * W;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    tf_natural(a, H, W, 7);
    CHECK(ps_feat_hist_distance(a, H, W, a, H, W) == 0.0, "self distance");
    /* a slight tint moves less than a hue rotation; disjoint colors are at the maximum 1 */
    for (size_t i = 0; i < n; i++)
        b[i] = i < n / 3 ? tf_clamp01(a[i] * 1.08f) : a[i];
    double tint = ps_feat_hist_distance(a, H, W, b, H, W);
    tf_hue_rotate(b, a, H, W);
    double hue = ps_feat_hist_distance(a, H, W, b, H, W);
    for (size_t i = 0; i < n; i++) {
        a[i] = i < n / 3 ? 0.9f : 0.05f;  /* red */
        b[i] = i < n / 3 ? 0.05f : 0.9f;  /* cyan */
    }
    double disjoint = ps_feat_hist_distance(a, H, W, b, 10, 10);
    printf("  Lab chi2: tint %.3f, hue rotation %.3f, disjoint %.3f\n", tint, hue, disjoint);
    CHECK(tint > 0.0 && tint < hue, "tint %g vs hue %g", tint, hue);
    CHECK(fabs(disjoint - 1.0) < 1e-9, "disjoint %g", disjoint);
    free(a);
    free(b);
}

/* Lab mean and covariance of a planar image (reference computation for the transfer tests). */
static void lab_moments(const float *img, int h, int w, double m[3], double cov[3][3])
{
    size_t hw = (size_t)h * w;
    double s[3] = {0}, ss[3][3] = {{0}};
    for (size_t i = 0; i < hw; i++) {
        float p[3] = {img[i], img[hw + i], img[2 * hw + i]};
        double lab[3];
        ps_feat_rgb_to_lab(p, lab);
        for (int r = 0; r < 3; r++) {
            s[r] += lab[r];
            for (int c = 0; c < 3; c++)
                ss[r][c] += lab[r] * lab[c];
        }
    }
    for (int r = 0; r < 3; r++)
        m[r] = s[r] / hw;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            cov[r][c] = ss[r][c] / hw - m[r] * m[c];
}

static void test_transfer(void)
{
    enum { SH = 64, SW = 56, RH = 40, RW = 48 };
    float *src = malloc(3 * SH * SW * sizeof *src), *out = malloc(3 * SH * SW * sizeof *out);
    float *ref = malloc(3 * RH * RW * sizeof *ref);
    /* mid-tone images so that the transferred colors stay in gamut (clamping would bend them) */
    tf_smooth(src, SH, SW, 21);
    tf_smooth(ref, RH, RW, 22);
    for (int i = 0; i < 3 * SH * SW; i++)
        src[i] = 0.05f + 0.4f * src[i];
    for (int i = 0; i < 3 * RH * RW; i++)
        ref[i] = 0.1f + 0.35f * ref[i] * (i < RH * RW ? 1.0f : 0.5f); /* warm reference */
    double ms[3], mr[3], mo[3], cs[3][3], cr[3][3], co[3][3];
    lab_moments(src, SH, SW, ms, cs);
    lab_moments(ref, RH, RW, mr, cr);

    ps_feat_reinhard_transfer(out, src, SH, SW, ref, RH, RW);
    lab_moments(out, SH, SW, mo, co);
    for (int c = 0; c < 3; c++) {
        CHECK(fabs(mo[c] - mr[c]) < 0.05 * (1.0 + fabs(mr[c] - ms[c])),
              "Reinhard mean %d: %g, want %g (from %g)", c, mo[c], mr[c], ms[c]);
        CHECK(fabs(sqrt(co[c][c]) - sqrt(cr[c][c])) < 0.05 * sqrt(cr[c][c]) + 0.05,
              "Reinhard std %d: %g, want %g", c, sqrt(co[c][c]), sqrt(cr[c][c]));
    }

    ps_feat_linear_transfer(out, src, SH, SW, ref, RH, RW);
    lab_moments(out, SH, SW, mo, co);
    double cerr = 0.0, cnorm = 0.0, cbefore = 0.0;
    for (int r = 0; r < 3; r++) {
        CHECK(fabs(mo[r] - mr[r]) < 0.05 * (1.0 + fabs(mr[r] - ms[r])),
              "linear mean %d: %g, want %g (from %g)", r, mo[r], mr[r], ms[r]);
        for (int c = 0; c < 3; c++) {
            cerr += (co[r][c] - cr[r][c]) * (co[r][c] - cr[r][c]);
            cbefore += (cs[r][c] - cr[r][c]) * (cs[r][c] - cr[r][c]);
            cnorm += cr[r][c] * cr[r][c];
        }
    }
    printf("  linear transfer: covariance error %.2e of its norm (before %.2e)\n",
           sqrt(cerr / cnorm), sqrt(cbefore / cnorm));
    CHECK(sqrt(cerr / cnorm) < 0.02 && cbefore > 100.0 * cerr, "covariance not matched");
    /* in place works too */
    memcpy(out, src, 3 * SH * SW * sizeof *out);
    ps_feat_linear_transfer(out, out, SH, SW, ref, RH, RW);
    lab_moments(out, SH, SW, mo, co);
    CHECK(fabs(mo[0] - mr[0]) < 0.05 * (1.0 + fabs(mr[0] - ms[0])), "in-place transfer");
    free(src);
    free(out);
    free(ref);
}

int main(void)
{
    test_ciede2000();
    test_lab();
    test_ssim_psnr();
    test_hist_distance();
    test_transfer();
    return check_done("test_feat_metrics");
}
