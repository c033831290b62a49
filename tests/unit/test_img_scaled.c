/* ps_img_load_mem_scaled: the n/8 rule (smallest n keeping each side >= min_side), JPEG by IDCT
 * scaling and PNG by resizing giving the same size and nearly the same pixels as shrinking a
 * full decode, EXIF orientation applied at the reduced scale, full sizes reported, min_side 0 or
 * past the image meaning a full decode, and the caps still judged on the full size. */
#include "check.h"
#include "img_util.h"
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Smooth w x h RGB (so that a shrink of it barely depends on the filter). */
static unsigned char *picture(int w, int h)
{
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(40 + 170 * x / w), p[1] = (unsigned char)(40 + 170 * y / h);
            p[2] = (unsigned char)(120 + 60 * ((x / 64 + y / 64) & 1));
        }
    return px;
}

/* A JPEG of px (quality 95, 4:4:4), with an Exif APP1 giving orientation o when o > 1. */
static unsigned char *jpeg(const unsigned char *px, int w, int h, int o, size_t *n)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    for (int i = 0; i < 3; i++)
        c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    if (o > 1) { /* "Exif\0\0" + little-endian TIFF, one IFD entry: 0x0112 SHORT 1 = o */
        unsigned char x[6 + 8 + 2 + 12 + 4] = "Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0";
        x[6 + 8 + 2 + 8] = (unsigned char)o;
        jpeg_write_marker(&c, JPEG_APP0 + 1, x, sizeof x);
    }
    for (int y = 0; y < h; y++) {
        JSAMPROW r = (JSAMPROW)px + (size_t)y * w * 3;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *n = size;
    return buf;
}

static double mean_diff8(const ps_image *a, const ps_image *b)
{
    double s = 0;
    size_t n = (size_t)a->w * a->h * 3;
    for (size_t i = 0; i < n; i++)
        s += fabs(ps_linear_to_srgb(a->px[i]) - ps_linear_to_srgb(b->px[i])) * 255;
    return s / n;
}

/* buf decoded at min_side: size (and full size) as the rule says, and close to a full decode
 * resized to that size. */
static void check_scaled(const char *what, const unsigned char *buf, size_t n, int min_side, int want_w,
                         int want_h, int full_w, int full_h)
{
    ps_image s, f, r;
    int fw = -1, fh = -1;
    CHECK(ps_img_load_mem_scaled(buf, n, what, min_side, &s, &fw, &fh) == PS_OK, "%s: %s", what, ps_last_error());
    CHECK(s.w == want_w && s.h == want_h && s.c == 3, "%s at %d: %dx%d, want %dx%d", what, min_side, s.w, s.h,
          want_w, want_h);
    CHECK(fw == full_w && fh == full_h, "%s: full size %dx%d, want %dx%d", what, fw, fh, full_w, full_h);
    CHECK(ps_img_load_mem(buf, n, what, &f) == PS_OK, "%s full", what);
    if (s.w == f.w && s.h == f.h) {
        CHECK(!memcmp(s.px, f.px, sizeof(float) * 3 * s.w * s.h), "%s: a full-size result is the full decode", what);
    } else if (s.px && ps_img_resize(&f, &r, s.w, s.h) == PS_OK) {
        double d = mean_diff8(&s, &r);
        CHECK(d < 2.0, "%s at %d: %.2f 8-bit steps from a resized full decode", what, min_side, d);
        ps_img_free(&r);
    }
    ps_img_free(&s), ps_img_free(&f);
}

int main(void)
{
    enum { W = 1000, H = 600 };
    unsigned char *px = picture(W, H);
    size_t jn, pn;
    unsigned char *j = jpeg(px, W, H, 1, &jn), *j6 = jpeg(px, W, H, 6, &jn);
    CHECK(tu_write_png("p.png", W, H, 3, 8, px) > 0, "png");
    unsigned char *png = tu_read("p.png", &pn);
    /* 600 * n / 8 >= 100 first at n = 2: 250 x 150; 300 needs n = 4; 75 (and 1) n = 1 */
    check_scaled("j.jpg", j, jn, 100, 250, 150, W, H);
    check_scaled("j.jpg", j, jn, 300, 500, 300, W, H);
    check_scaled("j.jpg", j, jn, 75, 125, 75, W, H);
    check_scaled("j.jpg", j, jn, 1, 125, 75, W, H);
    check_scaled("j.jpg", j, jn, 0, W, H, W, H);
    check_scaled("j.jpg", j, jn, 600, W, H, W, H);  /* n = 8 */
    check_scaled("j.jpg", j, jn, 5000, W, H, W, H); /* larger than the image */
    check_scaled("j6.jpg", j6, jn, 100, 150, 250, H, W); /* rotated: upright sizes */
    check_scaled("p.png", png, pn, 100, 250, 150, W, H);
    check_scaled("p.png", png, pn, 0, W, H, W, H);
    /* a side shorter than min_side is kept whole, the other still shrinks as far as it may */
    unsigned char *thin = picture(2000, 40);
    size_t tn;
    unsigned char *jt = jpeg(thin, 2000, 40, 1, &tn);
    check_scaled("thin.jpg", jt, tn, 64, 2000, 40, 2000, 40); /* 40 must stay 40: n = 8 */
    check_scaled("thin.jpg", jt, tn, 20, 1000, 20, 2000, 40);

    /* the caps are judged on the full size, and a failure reports no size */
    ps_image im;
    int fw = 7, fh = 7;
    CHECK(tu_write_png("huge.png", 8000, 8000, 3, 8, NULL) > 0, "huge");
    size_t hn;
    unsigned char *huge = tu_read("huge.png", &hn);
    CHECK(ps_img_load_mem_scaled(huge, hn, "huge.png", 64, &im, &fw, &fh) == PS_EINPUT &&
              strstr(ps_last_error(), "huge.png: image is 8000 x 8000 = 64.0 MP, more than the") && !im.px &&
              fw == 0 && fh == 0, "cap on the full size: %s", ps_last_error());
    CHECK(ps_img_load_mem_scaled(j, 100, "cut.jpg", 64, &im, NULL, NULL) == PS_EINPUT && !im.px, "truncated");

    /* a large JPEG at 1/8 is fast and small: 6000 x 4000 -> 750 x 500 */
    unsigned char *big = picture(6000, 4000);
    size_t bn;
    unsigned char *jb = jpeg(big, 6000, 4000, 1, &bn);
    free(big);
    double t0 = now();
    CHECK(ps_img_load_mem_scaled(jb, bn, "big.jpg", 256, &im, &fw, &fh) == PS_OK && im.w == 750 && im.h == 500 &&
              fw == 6000 && fh == 4000, "big: %dx%d", im.w, im.h);
    double t = now() - t0;
    ps_img_free(&im);
    t0 = now();
    CHECK(ps_img_load_mem(jb, bn, "big.jpg", &im) == PS_OK, "big full");
    double tf = now() - t0;
    ps_img_free(&im);
    CHECK(t < tf / 2, "scaled decode %.3f s vs full %.3f s", t, tf);

    free(px), free(thin), free(j), free(j6), free(jt), free(jb), free(png), free(huge);
    unlink("p.png"), unlink("huge.png");
    return check_done("test_img_scaled");
}
