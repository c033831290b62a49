/* Resampling quality: constants stay constant, ramps stay monotone, smooth signals are
 * reproduced, fine detail averages out instead of aliasing; a box-first shrink matches the
 * kernel's; fit keeps the aspect ratio. */
#include "check.h"
#include "src/img/img.h"
#include <string.h>

static const int sizes[][2] = {{64, 48}, {7, 5}, {1, 1}, {200, 150}, {33, 97}, {13, 480}, {640, 3}};
#define NSIZES (int)(sizeof sizes / sizeof sizes[0])

static void test_constant(void)
{
    ps_image a, b;
    ps_img_alloc(&a, 64, 48, 5); /* any plane count */
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 64 * 48; i++)
            a.px[k * 64 * 48 + i] = 0.1f + 0.2f * k;
    for (int s = 0; s < NSIZES; s++) {
        CHECK(ps_img_resize(&a, &b, sizes[s][0], sizes[s][1]) == PS_OK, "%s", ps_last_error());
        CHECK(b.w == sizes[s][0] && b.h == sizes[s][1] && b.c == 5, "size %dx%dx%d", b.w, b.h, b.c);
        double worst = 0;
        for (int k = 0; k < 5; k++)
            for (int i = 0; i < b.w * b.h; i++)
                worst = fmax(worst, fabs(b.px[k * b.w * b.h + i] - (0.1f + 0.2f * k)));
        CHECK(worst < 1e-6, "constant drifts by %g at %dx%d", worst, b.w, b.h);
        ps_img_free(&b);
    }
    ps_img_free(&a);
}

/* A horizontal ramp resized to any size is non-decreasing along x and constant along y. */
static void test_ramp(void)
{
    ps_image a, b;
    ps_img_alloc(&a, 50, 20, 1);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 50; x++)
            a.px[y * 50 + x] = x / 49.0f;
    for (int s = 0; s < NSIZES; s++) {
        ps_img_resize(&a, &b, sizes[s][0], sizes[s][1]);
        int nonmono = 0;
        double ydev = 0;
        for (int y = 0; y < b.h; y++)
            for (int x = 0; x < b.w; x++) {
                float v = b.px[y * b.w + x];
                nonmono += x > 0 && v < b.px[y * b.w + x - 1] - 1e-6f;
                ydev = fmax(ydev, fabs(v - b.px[x]));
            }
        CHECK(nonmono == 0, "ramp not monotone at %dx%d (%d steps down)", b.w, b.h, nonmono);
        CHECK(ydev < 1e-5, "ramp varies along y by %g at %dx%d", ydev, b.w, b.h);
        if (b.w > 1) /* covers the range, nearly end to end */
            CHECK(b.px[0] < 0.1f && b.px[b.w - 1] > 0.9f, "ramp ends %g..%g", b.px[0], b.px[b.w - 1]);
        ps_img_free(&b);
    }
    ps_img_free(&a);
}

/* A smooth function sampled at pixel centers resizes to the same function at the new centers. */
static double smooth(double u, double v) { return 0.5 + 0.3 * sin(2 * M_PI * u * 1.5) * cos(2 * M_PI * v); }

static void test_smooth(void)
{
    const int W = 240, H = 160;
    ps_image a, b;
    ps_img_alloc(&a, W, H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            a.px[y * W + x] = (float)smooth((x + 0.5) / W, (y + 0.5) / H);
    const int to[][2] = {{120, 80}, {60, 40}, {331, 217}, {97, 61}};
    for (int s = 0; s < 4; s++) {
        int w = to[s][0], h = to[s][1];
        ps_img_resize(&a, &b, w, h);
        double worst = 0;
        for (int y = 8; y < h - 8; y++) /* the border is cut-and-renormalised, so skip it */
            for (int x = 8; x < w - 8; x++)
                worst = fmax(worst, fabs(b.px[y * w + x] - smooth((x + 0.5) / w, (y + 0.5) / h)));
        CHECK(worst < 2e-3, "smooth signal off by %g at %dx%d", worst, w, h);
        ps_img_free(&b);
    }
    ps_img_free(&a);
}

/* A one-pixel checkerboard has all its energy at Nyquist: shrinking must give flat 0.5, where
 * point sampling would give black or white (and a plain bilinear, a moire). */
static void test_no_alias(void)
{
    ps_image a, b;
    ps_img_alloc(&a, 256, 256, 3);
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 256; y++)
            for (int x = 0; x < 256; x++)
                a.px[(k * 256 + y) * 256 + x] = (float)((x + y) & 1);
    const int to[][2] = {{32, 32}, {37, 29}, {100, 80}, {5, 3}, {128, 128}};
    for (int s = 0; s < 5; s++) {
        ps_img_resize(&a, &b, to[s][0], to[s][1]);
        double worst = 0;
        for (int i = 0; i < b.w * b.h * 3; i++)
            worst = fmax(worst, fabs(b.px[i] - 0.5));
        CHECK(worst < 0.02, "checkerboard at %dx%d deviates from gray by %g", b.w, b.h, worst);
        ps_img_free(&b);
    }
    /* and stripes along one axis only: a 2-px period shrunk 3x */
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++)
            a.px[y * 256 + x] = (float)((x >> 0) & 1);
    ps_img_resize(&a, &b, 85, 85);
    double worst = 0;
    for (int y = 0; y < b.h; y++)
        for (int x = 4; x < b.w - 4; x++)
            worst = fmax(worst, fabs(b.px[y * b.w + x] - 0.5));
    CHECK(worst < 0.02, "stripes shrunk 3x deviate by %g", worst);
    ps_img_free(&b);
    ps_img_free(&a);
}

/* Upscaling a sharp edge rings, but never outside the input's range. */
static void test_range(void)
{
    ps_image a, b;
    ps_img_alloc(&a, 8, 1, 1);
    for (int x = 4; x < 8; x++)
        a.px[x] = 1;
    ps_img_resize(&a, &b, 64, 3);
    float lo = 1, hi = 0;
    for (int i = 0; i < 64 * 3; i++)
        lo = fminf(lo, b.px[i]), hi = fmaxf(hi, b.px[i]);
    CHECK(lo >= 0 && hi <= 1, "edge rings out of range: %g..%g", lo, hi);
    CHECK(fabsf(b.px[0]) < 1e-6f && fabsf(b.px[63] - 1) < 1e-6f, "edge ends %g %g", b.px[0], b.px[63]);
    ps_img_free(&b);
    ps_img_free(&a);
}

/* ps_img_shrink (box means, then Lanczos) against the kernel alone: a smooth signal with a fine
 * checkerboard and hashed noise, of a size whose last blocks are partial; constants exact. */
static void test_shrink(void)
{
    const int W = 1601, H = 1203;
    ps_image a, b, c;
    ps_img_alloc(&a, W, H, 2);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double n = (double)(((unsigned)(y * W + x) * 2654435761u) >> 8) / (1u << 24);
            a.px[y * W + x] = (float)(0.8 * smooth((x + 0.5) / W, (y + 0.5) / H) +
                                      0.1 * ((x + y) & 1) + 0.05 * n);
            a.px[W * H + y * W + x] = 0.375f;
        }
    const int to[][2] = {{256, 192}, {160, 120}, {100, 300}, {533, 401}};
    for (int s = 0; s < 4; s++) {
        int w = to[s][0], h = to[s][1];
        CHECK(ps_img_shrink(&a, &b, w, h) == PS_OK && ps_img_resize(&a, &c, w, h) == PS_OK &&
                  b.w == w && b.h == h && b.c == 2,
              "%s", ps_last_error());
        double worst = 0, flat = 0;
        for (int y = 4; y < h - 4; y++)
            for (int x = 4; x < w - 4; x++)
                worst = fmax(worst, fabs(b.px[y * w + x] - c.px[y * w + x]));
        for (int i = 0; i < w * h; i++)
            flat = fmax(flat, fabs(b.px[w * h + i] - 0.375f));
        CHECK(worst < 1.0 / 255, "shrunk to %dx%d off the kernel's by %.2e", w, h, worst);
        CHECK(flat < 1e-6, "a constant drifts by %g at %dx%d", flat, w, h);
        ps_img_free(&b);
        ps_img_free(&c);
    }
    ps_img_free(&a);
}

static void test_fit(void)
{
    ps_image a, b;
    ps_img_alloc(&a, 300, 200, 3);
    for (int i = 0; i < 300 * 200 * 3; i++)
        a.px[i] = (float)(i % 7) / 7;
    CHECK(ps_img_fit(&a, &b, 150) == PS_OK && b.w == 150 && b.h == 100, "fit 150: %dx%d", b.w, b.h);
    ps_img_free(&b);
    CHECK(ps_img_fit(&a, &b, 299) == PS_OK && b.w == 299 && b.h == 199, "fit 299: %dx%d", b.w, b.h);
    ps_img_free(&b);
    CHECK(ps_img_fit(&a, &b, 300) == PS_OK && b.w == 300 && b.h == 200 && b.px != a.px &&
              !memcmp(a.px, b.px, sizeof(float) * 300 * 200 * 3),
          "fit 300 copies");
    ps_img_free(&b);
    ps_img_free(&a);
    ps_img_alloc(&a, 10, 4000, 1); /* tall and thin: short side rounds, never to 0 */
    CHECK(ps_img_fit(&a, &b, 100) == PS_OK && b.w == 1 && b.h == 100, "fit tall: %dx%d", b.w, b.h);
    ps_img_free(&b);
    ps_img_free(&a);
    CHECK(ps_img_fit(&a, &b, 100) == PS_EUSAGE && b.px == NULL, "fit of an empty image");
    ps_img_alloc(&a, 4, 4, 1);
    CHECK(ps_img_fit(&a, &b, 0) == PS_EUSAGE && b.px == NULL, "fit to 0");
    CHECK(ps_img_fit(&a, &a, 2) == PS_EUSAGE && a.px != NULL, "fit in place is refused, input intact");
    CHECK(ps_img_resize(&a, &a, 2, 2) == PS_EUSAGE && a.w == 4, "resize in place is refused");
    CHECK(ps_img_resize(&a, &b, 0, 5) == PS_EUSAGE && b.px == NULL, "resize to 0 wide");
    CHECK(ps_img_alloc(&b, -1, 5, 3) == PS_EUSAGE && b.px == NULL, "alloc negative");
    ps_img_free(&a);
}

int main(void)
{
    test_constant();
    test_ramp();
    test_smooth();
    test_no_alias();
    test_range();
    test_shrink();
    test_fit();
    return check_done("test_img_resize");
}
