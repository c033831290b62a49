/* Test images made by the tests themselves: smooth color fields with shapes and stripes, written
 * as real PNG/JPEG files. `test_mkimg OUT W H SEED [C]` writes one (C: 1 gray, 3 RGB (default),
 * 4 RGBA with a radial alpha ramp); `test_mkimg --info F` prints "W H C" as pstyle reads F;
 * `test_mkimg --diff A B` prints the mean and max absolute difference of two same-size images in
 * 8-bit sRGB steps (color and alpha). With no arguments it checks that what it writes reads back
 * (so the integration tests' inputs are what they claim). */
#include "src/img/img.h"
#include "src/nn/nn.h"
#include "check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void paint(ps_image *im, unsigned seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    float c0[3], c1[3], c2[3], cx = ps_rng_uniform(&r), cy = ps_rng_uniform(&r);
    for (int c = 0; c < 3; c++)
        c0[c] = ps_rng_uniform(&r), c1[c] = ps_rng_uniform(&r), c2[c] = ps_rng_uniform(&r);
    float freq = 4 + 20 * ps_rng_uniform(&r), ang = 6.2832f * ps_rng_uniform(&r);
    size_t hw = (size_t)im->w * im->h;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            float u = (float)x / im->w, v = (float)y / im->h;
            float d = sqrtf((u - cx) * (u - cx) + (v - cy) * (v - cy));
            float stripe = 0.5f + 0.5f * sinf(freq * (u * cosf(ang) + v * sinf(ang)) * 6.2832f);
            for (int c = 0; c < 3; c++) {
                float val = c0[c] * (1 - v) + c1[c] * v;          /* sky-like gradient */
                if (d < 0.25f)
                    val = c2[c];                                  /* a disc */
                else if (v > 0.7f)
                    val = 0.6f * val + 0.4f * stripe * c2[c];     /* striped ground */
                im->px[c * hw + (size_t)y * im->w + x] = val * val; /* to linear */
            }
        }
}

/* Gray: the painting's luma in plane 0; RGBA: opaque in the middle, clear at the corners. */
static void set_channels(ps_image *im, int c)
{
    size_t hw = (size_t)im->w * im->h;
    for (size_t i = 0; i < hw; i++) {
        if (c == 1)
            im->px[i] = 0.2126f * im->px[i] + 0.7152f * im->px[hw + i] + 0.0722f * im->px[2 * hw + i];
        if (c == 4) {
            float u = (float)(i % im->w) / im->w - 0.5f, v = (float)(i / im->w) / im->h - 0.5f;
            float a = 1.0f - 1.6f * sqrtf(u * u + v * v);
            im->px[3 * hw + i] = a < 0 ? 0 : a;
        }
    }
    im->c = c;
}

/* Both images as 8-bit sRGB RGBA, as a viewer would see the files. */
static int diff_files(const char *a, const char *b)
{
    ps_image ia = {0}, ib = {0};
    if (ps_img_load(a, &ia) || ps_img_load(b, &ib)) {
        fprintf(stderr, "test_mkimg: %s\n", ps_last_error());
        ps_img_free(&ia);
        return 2;
    }
    int rc = 0;
    if (ia.w != ib.w || ia.h != ib.h) {
        fprintf(stderr, "test_mkimg: sizes differ: %dx%d, %dx%d\n", ia.w, ia.h, ib.w, ib.h);
        rc = 2;
    } else {
        size_t n = (size_t)4 * ia.w * ia.h;
        unsigned char *ba = malloc(n), *bb = malloc(n);
        if (!ba || !bb) {
            rc = 2;
        } else {
            ps_img_to_rgba8(&ia, ba, 4);
            ps_img_to_rgba8(&ib, bb, 4);
            double sum = 0;
            int mx = 0;
            for (size_t i = 0; i < n; i++) {
                int d = abs((int)ba[i] - (int)bb[i]);
                sum += d;
                mx = d > mx ? d : mx;
            }
            printf("%.4f %d\n", sum / n, mx);
        }
        free(ba);
        free(bb);
    }
    ps_img_free(&ia);
    ps_img_free(&ib);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--info")) {
        ps_image im;
        if (ps_img_load(argv[2], &im)) {
            fprintf(stderr, "test_mkimg: %s\n", ps_last_error());
            return 2;
        }
        printf("%d %d %d\n", im.w, im.h, im.c);
        ps_img_free(&im);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--diff"))
        return diff_files(argv[2], argv[3]);
    if (argc == 5 || argc == 6) {
        ps_image im;
        int c = argc == 6 ? atoi(argv[5]) : 3;
        if ((c != 1 && c != 3 && c != 4) || ps_img_alloc(&im, atoi(argv[2]), atoi(argv[3]), 4))
            return 2;
        paint(&im, (unsigned)atoi(argv[4]));
        set_channels(&im, c);
        ps_status st = ps_img_save(argv[1], &im, 95);
        if (st)
            fprintf(stderr, "%s\n", ps_last_error());
        ps_img_free(&im);
        return st ? 2 : 0;
    }
    ps_image im, back;
    CHECK(ps_img_alloc(&im, 64, 48, 3) == PS_OK, "alloc");
    paint(&im, 3);
    CHECK(ps_img_save("a.png", &im, 0) == PS_OK, "save: %s", ps_last_error());
    CHECK(ps_img_load("a.png", &back) == PS_OK, "load: %s", ps_last_error());
    CHECK(back.w == 64 && back.h == 48 && back.c == 3, "size %dx%d", back.w, back.h);
    double err = 0;
    for (size_t i = 0; i < (size_t)3 * 64 * 48; i++)
        err = fmax(err, fabs(back.px[i] - im.px[i]));
    CHECK(err < 0.01, "PNG round trip error %.4f", err);
    ps_img_free(&im);
    ps_img_free(&back);
    /* RGBA keeps its alpha ramp; gray reads back with three equal planes */
    CHECK(ps_img_alloc(&im, 64, 48, 4) == PS_OK, "alloc");
    paint(&im, 3);
    set_channels(&im, 4);
    CHECK(ps_img_save("a4.png", &im, 0) == PS_OK, "save: %s", ps_last_error());
    CHECK(ps_img_load("a4.png", &back) == PS_OK && back.c == 4, "RGBA read back with %d planes",
          back.c);
    size_t hw = (size_t)64 * 48;
    CHECK(back.px && back.px[3 * hw] < 0.01f && back.px[3 * hw + 24 * 64 + 32] > 0.9f,
          "alpha ramp lost");
    ps_img_free(&back);
    set_channels(&im, 1);
    CHECK(ps_img_save("a1.png", &im, 0) == PS_OK, "save: %s", ps_last_error());
    CHECK(ps_img_load("a1.png", &back) == PS_OK && back.c == 3, "gray read back with %d planes",
          back.c);
    CHECK(back.px && back.px[100] == back.px[hw + 100] && back.px[100] == back.px[2 * hw + 100],
          "gray planes differ");
    CHECK(back.px && fabsf(back.px[100] - im.px[100]) < 0.01f, "gray value %.4f, wrote %.4f",
          back.px ? back.px[100] : 0, im.px[100]);
    ps_img_free(&im);
    ps_img_free(&back);
    return check_done("test_mkimg");
}
