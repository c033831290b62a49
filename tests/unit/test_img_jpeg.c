/* JPEG decoding (libjpeg-turbo) on what stb_image got wrong: a scan using a Huffman table never
 * defined, a DHT with more than 256 codes, truncated progressive files, the 100-scan cap, bytes
 * stb_image alone would take for a JPEG; and what must decode: progressive, grayscale (R = G = B),
 * CMYK and YCCK, a file without DHT (libjpeg's standard tables). Files are written with libjpeg. */
#include "check.h"
#include "img_util.h"
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>

typedef struct {
    unsigned char *b;
    size_t n;
} mem;

enum { W = 48, H = 32 };

/* A smooth, colorful W x H picture with `comps` bytes a pixel (all in 30..249). */
static unsigned char *picture(int comps)
{
    unsigned char *px = malloc((size_t)W * H * comps);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < comps; k++)
                px[(y * W + x) * comps + k] = (unsigned char)(30 + x * (k + 1) + y * (4 - k));
    return px;
}

/* A W x H JPEG of px (comps 1 gray, 3 RGB, 4 CMYK as Adobe stores it), stored in color space cs.
 * scans: 0 baseline; -1 libjpeg's usual progression; n > 0 a progression of exactly n scans (one DC
 * scan, then each component's 63 AC coefficients cut into bands of one scan each); -3 sequential
 * with one scan per component. */
static mem write_jpeg(const unsigned char *px, int comps, J_COLOR_SPACE cs, int scans)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_scan_info script[200];
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = W, c.image_height = H, c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, cs);
    jpeg_set_quality(&c, 95, TRUE);
    int nc = c.num_components, i = 0;
    if (scans == -1) {
        jpeg_simple_progression(&c);
    } else if (scans == -3) {
        for (; i < nc; i++)
            script[i] = (jpeg_scan_info){1, {i}, 0, 63, 0, 0};
    } else if (scans > 0) {
        script[i++] = (jpeg_scan_info){nc, {0, 1, 2, 3}, 0, 0, 0, 0};
        for (int k = 0, left = scans - 1; k < nc; k++) {
            int bands = left / (nc - k);
            left -= bands;
            for (int b = 0; b < bands; b++)
                script[i++] = (jpeg_scan_info){1, {k}, 1 + 63 * b / bands, 63 * (b + 1) / bands, 0, 0};
        }
    }
    if (i)
        c.scan_info = script, c.num_scans = i;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)c.next_scanline * W * comps;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return (mem){buf, size};
}

/* Offset of the nth (0-based) marker FF m, m >= C0: entropy-coded data has no such pair (it
 * stuffs a 00 after each FF). n if none. */
static size_t marker_at(const mem *j, unsigned m, int nth)
{
    for (size_t i = 0; i + 1 < j->n; i++)
        if (j->b[i] == 0xff && j->b[i + 1] == m && nth-- == 0)
            return i;
    return j->n;
}

static void expect_refused(const unsigned char *b, size_t n, const char *name, const char *why)
{
    ps_image im = {1, 1, 1, NULL};
    ps_status st = ps_img_load_mem(b, n, name, &im);
    size_t nl = strlen(name);
    CHECK(st == PS_EINPUT && !strncmp(ps_last_error(), name, nl) && ps_last_error()[nl] == ':' &&
              strstr(ps_last_error(), why),
          "%s: status %d '%s', want PS_EINPUT '%s: ...%s...'", name, st, ps_last_error(), name, why);
    CHECK(im.px == NULL && im.w == 0, "%s: output left zeroed", name);
}

/* Loads, with the expected size and 3 planes. */
static int load_ok(const mem *j, const char *name, ps_image *im)
{
    ps_status st = ps_img_load_mem(j->b, j->n, name, im);
    CHECK(st == PS_OK && im->w == W && im->h == H && im->c == 3, "%s: status %d %s, %dx%dx%d", name,
          st, ps_last_error(), im->w, im->h, im->c);
    return st == PS_OK;
}

/* sRGB byte of plane k at (x, y). */
static int srgb_at(const ps_image *im, int k, int x, int y)
{
    return (int)(ps_linear_to_srgb(im->px[((size_t)k * im->h + y) * im->w + x]) * 255 + 0.5f);
}

/* Largest |decoded - source| over the picture, in sRGB steps. */
static int max_err(const ps_image *im, const unsigned char *rgb)
{
    int worst = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < 3; k++) {
                int d = abs(srgb_at(im, k, x, y) - rgb[(y * W + x) * 3 + k]);
                worst = d > worst ? d : worst;
            }
    return worst;
}

/* The picture as a baseline JPEG from the project's own writer (stb_image_write). */
static mem save_baseline(const unsigned char *rgb)
{
    ps_image im = {0};
    mem j = {0};
    ps_img_alloc(&im, W, H, 3);
    ps_img_from_rgba8(&im, rgb, 3);
    if (ps_img_save("base.jpg", &im, 95) == PS_OK)
        j.b = tu_read("base.jpg", &j.n);
    ps_img_free(&im);
    CHECK(j.b && j.n > 100, "baseline JPEG written: %s", ps_last_error());
    return j;
}

/* Baseline, progressive, sequential with a scan per component, gray, CMYK, YCCK: all decode. */
static void test_decodes(const unsigned char *rgb, const mem *base)
{
    static const struct {
        const char *name;
        int scans;
    } kinds[] = {{"baseline.jpg", 0}, {"progressive.jpg", -1}, {"sequential.jpg", -3}};
    ps_image im = {0};
    for (int i = 0; i < 3; i++) {
        mem j = write_jpeg(rgb, 3, JCS_YCbCr, kinds[i].scans);
        if (load_ok(&j, kinds[i].name, &im))
            CHECK(max_err(&im, rgb) <= 8, "%s: off by %d", kinds[i].name, max_err(&im, rgb));
        ps_img_free(&im);
        CHECK(tu_raw_differs(j.b, j.n, kinds[i].name) == 0, "%s: raw rows differ from the load", kinds[i].name);
        free(j.b);
    }
    if (load_ok(base, "base.jpg", &im))
        CHECK(max_err(&im, rgb) <= 8, "base.jpg: off by %d", max_err(&im, rgb));
    ps_img_free(&im);

    /* (d) one-component JPEG: R = G = B exactly, near the source */
    unsigned char *gray = picture(1), *gray3 = malloc((size_t)W * H * 3);
    for (int i = 0; i < W * H * 3; i++)
        gray3[i] = gray[i / 3];
    mem j = write_jpeg(gray, 1, JCS_GRAYSCALE, -1);
    if (load_ok(&j, "gray.jpg", &im)) {
        size_t plane = (size_t)W * H, diff = 0;
        for (size_t i = 0; i < plane; i++)
            diff += im.px[i] != im.px[plane + i] || im.px[i] != im.px[2 * plane + i];
        CHECK(diff == 0, "gray JPEG: %zu pixels with R, G, B not equal", diff);
        CHECK(max_err(&im, gray3) <= 4, "gray JPEG: off by %d", max_err(&im, gray3));
    }
    CHECK(tu_raw_differs(j.b, j.n, "gray.jpg") == 0, "gray JPEG: raw rows differ from the load");
    ps_img_free(&im);
    free(j.b), free(gray), free(gray3);

    /* CMYK as Adobe stores it (inverted: 255 = no ink), plain and as YCCK: R = C * K / 255; and
     * without Adobe's APP14 marker, plain inks: R = (255 - C) * (255 - K) / 255 */
    unsigned char *cmyk = picture(4), *want = malloc((size_t)W * H * 3);
    for (int kind = 0; kind < 3; kind++) {
        static const char *const names[3] = {"cmyk.jpg", "ycck.jpg", "plain_cmyk.jpg"};
        for (int i = 0; i < W * H; i++)
            for (int k = 0; k < 3; k++) {
                int c = cmyk[4 * i + k], K = cmyk[4 * i + 3];
                want[3 * i + k] = (unsigned char)(kind < 2 ? (c * K + 127) / 255 : ((255 - c) * (255 - K) + 127) / 255);
            }
        j = write_jpeg(cmyk, 4, kind == 1 ? JCS_YCCK : JCS_CMYK, 0);
        size_t app14 = marker_at(&j, 0xee, 0), len = app14 + 4 < j.n ? 2u + (j.b[app14 + 2] << 8 | j.b[app14 + 3]) : 0;
        CHECK(app14 < j.n, "%s has an Adobe marker", names[kind]);
        if (kind == 2 && app14 < j.n)
            memmove(j.b + app14, j.b + app14 + len, j.n - app14 - len), j.n -= len;
        if (load_ok(&j, names[kind], &im))
            CHECK(max_err(&im, want) <= 8, "%s: off by %d", names[kind], max_err(&im, want));
        ps_img_free(&im);
        CHECK(tu_raw_differs(j.b, j.n, names[kind]) == 0, "%s: raw rows differ from the load", names[kind]);
        free(j.b);
    }
    free(cmyk), free(want);
}

/* (a) A scan naming a Huffman table no DHT defined: stb_image decoded it with whatever memory its
 * table held; now refused, in a baseline file (AC table of the first component set to 3) and in
 * a progressive one (an AC scan's table). Without any DHT at all the file still decodes, exactly
 * as before: libjpeg then uses the standard tables (Motion-JPEG frames rely on that), which are
 * the ones stb_image_write codes with. */
static void test_undefined_table(const unsigned char *rgb, const mem *base)
{
    mem j = {malloc(base->n), base->n};
    memcpy(j.b, base->b, base->n);
    size_t sos = marker_at(&j, 0xda, 0);
    CHECK(sos + 7 < j.n && j.b[sos + 4] == 3, "SOS with 3 components");
    j.b[sos + 6] = 0x03; /* component 1: DC table 0, AC table 3 */
    expect_refused(j.b, j.n, "undef.jpg", "corrupt JPEG: Huffman table 0x03 was not defined");
    tu_write("undef.jpg", j.b, j.n); /* and the message a user sees */
    ps_image im = {0};
    CHECK(ps_img_load("undef.jpg", &im) == PS_EINPUT &&
              !strcmp(ps_last_error(), "undef.jpg: corrupt JPEG: Huffman table 0x03 was not defined"),
          "file: %s", ps_last_error());
    free(j.b);

    j = write_jpeg(rgb, 3, JCS_YCbCr, -1);
    sos = marker_at(&j, 0xda, 1); /* the second scan: AC of one component */
    CHECK(sos + 6 < j.n && j.b[sos + 4] == 1, "progressive AC scan");
    j.b[sos + 6] = 0x33;
    expect_refused(j.b, j.n, "undef_prog.jpg", "Huffman table 0x03 was not defined");
    free(j.b);

    /* every DHT cut out of the baseline file (its segments, then one scan to the end) */
    j.b = malloc(base->n), j.n = 2;
    memcpy(j.b, base->b, 2);
    for (size_t i = 2; i + 4 <= base->n;) {
        size_t seg = base->b[i + 1] == 0xda ? base->n - i : 2 + (size_t)(base->b[i + 2] << 8 | base->b[i + 3]);
        if (base->b[i + 1] != 0xc4)
            memcpy(j.b + j.n, base->b + i, seg), j.n += seg;
        i += seg;
    }
    CHECK(j.n < base->n && marker_at(&j, 0xc4, 0) == j.n, "DHT removed (%zu of %zu bytes)", j.n, base->n);
    ps_image a = {0}, b = {0};
    if (load_ok(&j, "nodht.jpg", &a) && load_ok(base, "base.jpg", &b))
        CHECK(!memcmp(a.px, b.px, sizeof(float) * W * H * 3), "without DHT: not the same pixels");
    ps_img_free(&a), ps_img_free(&b);
    free(j.b);
}

/* (b) A DHT whose 16 code counts add up to 272: stb_image wrote past its size array; refused. */
static void test_big_dht(const mem *base)
{
    enum { N = 16 * 17 };
    unsigned char seg[4 + 1 + 16 + N];
    seg[0] = 0xff, seg[1] = 0xc4, seg[2] = (sizeof seg - 2) >> 8, seg[3] = (sizeof seg - 2) & 255;
    seg[4] = 0x00; /* DC table 0 */
    memset(seg + 5, 17, 16);
    for (int i = 0; i < N; i++)
        seg[21 + i] = (unsigned char)i;
    unsigned char *b = malloc(base->n + sizeof seg);
    memcpy(b, base->b, 2), memcpy(b + 2, seg, sizeof seg), memcpy(b + 2 + sizeof seg, base->b + 2, base->n - 2);
    expect_refused(b, base->n + sizeof seg, "bigdht.jpg", "corrupt JPEG: Bogus Huffman table definition");
    free(b);
}

/* (c) Every proper prefix of a progressive file is refused (stb_image read zeros past the end,
 * libjpeg warns of a premature end, which is an error here); one cut just before its EOI too. */
static void test_truncated(const unsigned char *rgb)
{
    mem j = write_jpeg(rgb, 3, JCS_YCbCr, -1);
    int ok = 0, bad = 0;
    for (size_t len = 1; len < j.n; len++) {
        ps_image im = {0};
        ps_status st = ps_img_load_mem(j.b, len, "cut.jpg", &im);
        ok += st == PS_OK;
        bad += st != PS_OK && (st != PS_EINPUT || strncmp(ps_last_error(), "cut.jpg: ", 9));
        ps_img_free(&im);
    }
    CHECK(ok == 0 && bad == 0, "progressive prefixes: %d decoded, %d bad errors", ok, bad);
    expect_refused(j.b, j.n - 2, "noeoi.jpg", "noeoi.jpg: truncated or corrupt image");
    free(j.b);
}

/* At most 100 scans: a legal progression of exactly 100 decodes, 101 is refused. So are scans
 * repeated past the cap in a sequential file with a scan per component (legal to decode, one
 * pass over a component each), and a repeated scan in a baseline file, where one is all a
 * frame may have. */
static void test_scan_cap(const unsigned char *rgb, const mem *base)
{
    for (int scans = 100; scans <= 101; scans++) {
        mem j = write_jpeg(rgb, 3, JCS_YCbCr, scans);
        CHECK(marker_at(&j, 0xda, scans - 1) < j.n && marker_at(&j, 0xda, scans) == j.n, "%d scans written", scans);
        ps_image im = {0};
        if (scans == 100 && load_ok(&j, "scans100.jpg", &im))
            CHECK(max_err(&im, rgb) <= 8, "100 scans: off by %d", max_err(&im, rgb));
        if (scans == 101)
            expect_refused(j.b, j.n, "scans101.jpg", "scans101.jpg: corrupt JPEG: over 100 scans");
        ps_img_free(&im);
        free(j.b);
    }
    mem seq = write_jpeg(rgb, 3, JCS_YCbCr, -3);
    size_t last = marker_at(&seq, 0xda, 2), scan = seq.n - 2 - last; /* SOS .. before EOI */
    for (int total = 100; total <= 101; total++) {
        unsigned char *b = malloc(seq.n + (total - 3) * scan), *p = b + last;
        memcpy(b, seq.b, last);
        for (int c = 0; c < total - 2; c++, p += scan)
            memcpy(p, seq.b + last, scan);
        memcpy(p, "\xff\xd9", 2);
        mem j = {b, (size_t)(p + 2 - b)};
        ps_image im = {0};
        if (total == 100 && load_ok(&j, "seq100.jpg", &im))
            CHECK(max_err(&im, rgb) <= 8, "sequential, 100 scans: off by %d", max_err(&im, rgb));
        if (total == 101)
            expect_refused(j.b, j.n, "seq101.jpg", "seq101.jpg: corrupt JPEG: over 100 scans");
        ps_img_free(&im);
        free(b);
    }
    free(seq.b);
    size_t sos = marker_at(base, 0xda, 0), bscan = base->n - 2 - sos;
    unsigned char *b = malloc(base->n + bscan);
    memcpy(b, base->b, base->n - 2), memcpy(b + base->n - 2, base->b + sos, bscan);
    memcpy(b + base->n - 2 + bscan, "\xff\xd9", 2);
    expect_refused(b, base->n + bscan, "twice.jpg", "twice.jpg: corrupt JPEG: Didn't expect more than one scan");
    free(b);
}

/* stb_image takes FF FF .. D8 for a JPEG SOI, and FF D8 then anything: those bytes go to libjpeg
 * too (and are refused by it), never to stb_image's JPEG decoder. */
static void test_stb_never_sees_jpeg(const mem *base)
{
    unsigned char *b = malloc(base->n + 2);
    memcpy(b, "\xff\xff", 2), memcpy(b + 2, base->b, base->n);
    expect_refused(b + 1, base->n + 1, "fill.jpg", "fill.jpg: corrupt JPEG: Not a JPEG file: starts with 0xff 0xff");
    expect_refused(b, base->n + 2, "fill2.jpg", "fill2.jpg: corrupt JPEG: Not a JPEG file");
    memcpy(b, base->b, base->n);
    b[2] = 0x00; /* FF D8 00 ..: garbage where the first marker should be */
    expect_refused(b, base->n, "garbage.jpg", "garbage.jpg: corrupt JPEG: ");
    free(b);
}

/* Random bit flips in a progressive file: a clean PS_EINPUT naming it, or a sane image. */
static void test_flips(const unsigned char *rgb)
{
    mem j = write_jpeg(rgb, 3, JCS_YCbCr, -1);
    unsigned char *b = malloc(j.n);
    uint64_t seed = 77;
    int decoded = 0, bad = 0;
    for (int it = 0; it < 300; it++) {
        memcpy(b, j.b, j.n);
        for (int f = 1 + tu_rand(&seed) % 4; f > 0; f--)
            b[tu_rand(&seed) % j.n] ^= (unsigned char)(1u << (tu_rand(&seed) & 7));
        ps_image im = {0};
        ps_status st = ps_img_load_mem(b, j.n, "flip.jpg", &im);
        decoded += st == PS_OK;
        bad += st != PS_OK && (st != PS_EINPUT || strncmp(ps_last_error(), "flip.jpg: ", 10));
        for (size_t i = 0; st == PS_OK && i < (size_t)im.w * im.h * im.c; i++)
            bad += !(im.px[i] >= 0 && im.px[i] <= 1);
        ps_img_free(&im);
    }
    CHECK(bad == 0, "%d bad outcomes", bad);
    printf("  progressive: %d of 300 flipped copies decoded\n", decoded);
    free(b), free(j.b);
}

int main(void)
{
    unsigned char *rgb = picture(3);
    mem base = save_baseline(rgb);
    if (base.b) {
        test_decodes(rgb, &base);
        test_undefined_table(rgb, &base);
        test_big_dht(&base);
        test_truncated(rgb);
        test_scan_cap(rgb, &base);
        test_stb_never_sees_jpeg(&base);
        test_flips(rgb);
    }
    free(base.b);
    free(rgb);
    return check_done("test_img_jpeg");
}
