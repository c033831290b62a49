/* Test images made by the tests themselves: smooth color fields with shapes and stripes, written
 * as real PNG/JPEG files. `test_mkimg OUT W H SEED` writes one; with no arguments it checks that
 * what it writes reads back (so the integration tests' inputs are what they claim). */
#include "src/img/img.h"
#include "src/nn/nn.h"
#include "check.h"
#include <math.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
    if (argc == 5) {
        ps_image im;
        if (ps_img_alloc(&im, atoi(argv[2]), atoi(argv[3]), 3))
            return 2;
        paint(&im, (unsigned)atoi(argv[4]));
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
    return check_done("test_mkimg");
}
