/* Image formats and color on real files made here: PNG 8/16-bit, gray, gray+alpha, RGBA, BMP,
 * TGA (raw and RLE), JPEG, each also through the raw decode (ps_img_load_raw, unpacked in bands),
 * sRGB transfer functions, and saving (round trips, atomic replace, unsupported formats,
 * unwritable places, a full disk, a row source equal to an image, a source that fails). */
#include "check.h"
#include "img_util.h"
#include <dirent.h>
#include <signal.h>
#include <stb_image_write.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* 8-bit test pattern: every channel different, every code hit somewhere. */
static unsigned char code8(int x, int y, int k) { return (unsigned char)((x * 7 + y * 13 + k * 71 + x * y) & 255); }

static unsigned char *pattern8(int w, int h, int ch)
{
    unsigned char *p = malloc((size_t)w * h * ch);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++)
                p[((size_t)y * w + x) * ch + k] = code8(x, y, k);
    return p;
}

/* Checks a loaded image against the interleaved 8-bit source it was written from. */
static void check_against8(const char *what, const ps_image *im, const unsigned char *src, int w, int h, int ch)
{
    CHECK(im->w == w && im->h == h && im->c == (ch == 2 || ch == 4 ? 4 : 3), "%s: got %dx%dx%d", what,
          im->w, im->h, im->c);
    if (im->w != w || im->h != h)
        return;
    int bad = 0;
    size_t plane = (size_t)w * h;
    for (size_t i = 0; i < plane; i++) {
        const unsigned char *s = src + i * ch;
        for (int k = 0; k < 3; k++) {
            float want = ps_srgb_to_linear(s[ch >= 3 ? k : 0] / 255.0f);
            bad += fabsf(im->px[k * plane + i] - want) > 1e-6f;
        }
        if (im->c == 4)
            bad += fabsf(im->px[3 * plane + i] - (ch == 2 || ch == 4 ? s[ch - 1] / 255.0f : 1.0f)) > 1e-6f;
    }
    CHECK(bad == 0, "%s: %d samples differ from the source", what, bad);
}

static void test_color(void)
{
    CHECK_NEAR(ps_srgb_to_linear(0.5f), 0.2140411, 1e-6, 0);
    CHECK_NEAR(ps_linear_to_srgb(0.5f), 0.7353570, 1e-6, 0);
    CHECK_NEAR(ps_srgb_to_linear(0.04045f), 0.04045 / 12.92, 1e-7, 0);
    CHECK(ps_srgb_to_linear(-0.5f) == 0 && ps_srgb_to_linear(1.5f) == 1.0f, "clamped");
    CHECK(ps_linear_to_srgb(-0.5f) == 0 && ps_linear_to_srgb(7.0f) == 1.0f, "clamped");
    double worst = 0;
    for (int i = 0; i <= 10000; i++) {
        float v = i / 10000.0f;
        worst = fmax(worst, fabs(ps_linear_to_srgb(ps_srgb_to_linear(v)) - v));
        worst = fmax(worst, fabs(ps_srgb_to_linear(ps_linear_to_srgb(v)) - v));
    }
    CHECK(worst < 2e-6, "sRGB round trip error %g", worst);

    /* 8-bit: every code survives from -> to, and rounding is to the nearest code */
    ps_image im;
    ps_img_alloc(&im, 256, 1, 3);
    unsigned char codes[256 * 3], back[256 * 3];
    for (int i = 0; i < 256 * 3; i++)
        codes[i] = (unsigned char)(i / 3);
    ps_img_from_rgba8(&im, codes, 3);
    ps_img_to_rgba8(&im, back, 3);
    CHECK(!memcmp(codes, back, sizeof codes), "8-bit codes round trip");
    int bad = 0;
    for (int k = 0; k < 255; k++) { /* just below / above the midpoint between k and k+1 */
        float mid = (k + 0.5f) / 255.0f;
        im.px[0] = ps_srgb_to_linear(mid - 1e-3f), im.px[1] = ps_srgb_to_linear(mid + 1e-3f);
        ps_img_to_rgba8(&im, back, 3);
        bad += back[0] != k || back[3] != k + 1;
    }
    CHECK(bad == 0, "%d codes rounded wrongly", bad);
    ps_img_free(&im);
    /* random linear values against the formula in double; only near-ties may differ */
    ps_img_alloc(&im, 1000, 100, 1);
    uint64_t seed = 99;
    for (int i = 0; i < 100000; i++)
        im.px[i] = (float)(tu_rand(&seed) / 4294967296.0 * 1.2 - 0.1); /* some out of [0,1] */
    unsigned char *g = malloc(100000);
    ps_img_to_rgba8(&im, g, 1);
    bad = 0;
    for (int i = 0; i < 100000; i++) {
        double v = fmin(fmax(im.px[i], 0), 1);
        double e = (v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055) * 255;
        bad += g[i] != (int)floor(e + 0.5) && fabs(e - floor(e) - 0.5) > 1e-4;
    }
    CHECK(bad == 0, "%d of 100000 values encoded off the exact rounding", bad);
    free(g);
    ps_img_free(&im);
}

/* The file decoded raw and unpacked in bands gives ps_img_load's pixels (tu_raw_differs); its raw
 * holds ch samples a pixel at depth (0: either). */
static void check_raw(const char *name, int ch, int depth)
{
    size_t n;
    unsigned char *b = tu_read(name, &n);
    ps_img_raw r;
    CHECK(b && tu_raw_differs(b, n, name) == 0, "%s: raw rows differ from the load", name);
    CHECK(b && ps_img_load_raw(b, n, name, &r, NULL) == PS_OK && (!ch || r.ch == ch) && (!depth || r.depth == depth),
          "%s: raw has %d samples of %d bits: %s", name, r.ch, r.depth, ps_last_error());
    ps_img_raw_free(&r);
    free(b);
}

static void test_png8(void)
{
    const int w = 37, h = 23;
    for (int ch = 1; ch <= 4; ch++) {
        char name[32];
        snprintf(name, sizeof name, "png8_%d.png", ch);
        unsigned char *src = pattern8(w, h, ch);
        CHECK(stbi_write_png(name, w, h, ch, src, w * ch), "write %s", name);
        ps_image im;
        CHECK(ps_img_load(name, &im) == PS_OK, "%s: %s", name, ps_last_error());
        check_against8(name, &im, src, w, h, ch);
        check_raw(name, ch, 8);
        ps_img_free(&im);
        free(src);
    }
}

/* 16-bit PNG: values must come through with 16-bit precision, not rounded to 8 bits. */
static void test_png16(void)
{
    const int w = 19, h = 11;
    for (int ch = 1; ch <= 4; ch++) {
        uint16_t *v = malloc(sizeof *v * w * h * ch);
        for (int i = 0; i < w * h * ch; i++)
            v[i] = (uint16_t)(i * 2654435761u >> 7);
        v[0] = 30000, v[ch] = 30001; /* same 8-bit code (116), must stay distinct */
        char name[32];
        snprintf(name, sizeof name, "png16_%d.png", ch);
        CHECK(tu_write_png(name, w, h, ch, 16, v) > 0, "write %s", name);
        ps_image im;
        CHECK(ps_img_load(name, &im) == PS_OK, "%s: %s", name, ps_last_error());
        if (im.px) {
            size_t plane = (size_t)w * h;
            int bad = 0;
            for (size_t i = 0; i < plane; i++) {
                const uint16_t *s = v + i * ch;
                for (int k = 0; k < 3; k++)
                    bad += fabs(im.px[k * plane + i] - ps_srgb_to_linear(s[ch >= 3 ? k : 0] / 65535.0f)) > 1e-6;
                if (ch == 2 || ch == 4)
                    bad += fabs(im.px[3 * plane + i] - s[ch - 1] / 65535.0) > 1e-6;
            }
            CHECK(bad == 0, "%s: %d samples differ", name, bad);
            double d = im.px[1] - im.px[0], want = ps_srgb_to_linear(30001 / 65535.0f) - ps_srgb_to_linear(30000 / 65535.0f);
            CHECK(d > 0 && fabs(d - want) < 0.3 * want, "%s: 16-bit step %g, want %g", name, d, want);
        }
        check_raw(name, ch, 16);
        ps_img_free(&im);
        free(v);
    }
}

static void test_bmp_tga(void)
{
    const int w = 29, h = 17;
    for (int ch = 3; ch <= 4; ch++) {
        unsigned char *src = pattern8(w, h, ch);
        char name[32];
        snprintf(name, sizeof name, "img%d.bmp", ch);
        CHECK(stbi_write_bmp(name, w, h, ch, src), "write %s", name);
        ps_image im;
        CHECK(ps_img_load(name, &im) == PS_OK, "%s: %s", name, ps_last_error());
        check_against8(name, &im, src, w, h, ch);
        check_raw(name, ch, 8);
        ps_img_free(&im);
        if (ch == 3) { /* the same rows stored top-down (negative height) */
            size_t n, stride = (w * 3 + 3) & ~3u;
            unsigned char *b = tu_read(name, &n), *flip = malloc(n);
            memcpy(flip, b, 54);
            for (int y = 0; y < h; y++)
                memcpy(flip + 54 + y * stride, b + 54 + (h - 1 - y) * stride, stride);
            uint32_t nh = (uint32_t)-h;
            flip[22] = nh & 255, flip[23] = nh >> 8 & 255, flip[24] = nh >> 16 & 255, flip[25] = nh >> 24;
            tu_write("topdown.bmp", flip, n);
            CHECK(ps_img_load("topdown.bmp", &im) == PS_OK, "top-down BMP: %s", ps_last_error());
            check_against8("top-down BMP", &im, src, w, h, ch);
            check_raw("topdown.bmp", 3, 8);
            ps_img_free(&im);
            free(b), free(flip);
        }
        for (int rle = 0; rle <= 1; rle++) {
            stbi_write_tga_with_rle = rle;
            snprintf(name, sizeof name, "img%d_%s.tga", ch, rle ? "rle" : "raw");
            CHECK(stbi_write_tga(name, w, h, ch, src), "write %s", name);
            CHECK(ps_img_load(name, &im) == PS_OK, "%s: %s", name, ps_last_error());
            check_against8(name, &im, src, w, h, ch);
            check_raw(name, ch, 8);
            ps_img_free(&im);
        }
        free(src);
    }
    stbi_write_tga_with_rle = 1;
}

/* A smooth, colorful linear image (what photos look like to JPEG). */
static void smooth_image(ps_image *im, int w, int h, int c)
{
    ps_img_alloc(im, w, h, c);
    for (int k = 0; k < c; k++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                im->px[((size_t)k * h + y) * w + x] =
                    (float)(0.5 + 0.45 * sin(0.07 * x * (k + 1) + 0.05 * y) * cos(0.04 * y - 0.3 * k));
}

static void test_jpeg(void)
{
    ps_image a, b;
    smooth_image(&a, 96, 64, 3);
    CHECK(ps_img_save("q95.jpg", &a, 95) == PS_OK, "%s", ps_last_error());
    CHECK(ps_img_load("q95.jpg", &b) == PS_OK, "%s", ps_last_error());
    if (b.px) {
        CHECK(b.w == 96 && b.h == 64 && b.c == 3, "jpeg size %dx%dx%d", b.w, b.h, b.c);
        double p = tu_psnr8(&a, &b);
        CHECK(p > 44, "JPEG q95 PSNR %.2f dB", p); /* measured 47.8 */
    }
    check_raw("q95.jpg", 3, 8);
    ps_img_free(&b);
    /* lower quality is smaller and worse, but still close */
    CHECK(ps_img_save("q50.JPEG", &a, 50) == PS_OK, "%s", ps_last_error());
    CHECK(ps_img_load("q50.JPEG", &b) == PS_OK, "%s", ps_last_error());
    if (b.px) {
        double p = tu_psnr8(&a, &b);
        CHECK(p > 34, "JPEG q50 PSNR %.2f dB", p); /* measured 36.7 */
    }
    struct stat s95, s50;
    CHECK(stat("q95.jpg", &s95) == 0 && stat("q50.JPEG", &s50) == 0 && s50.st_size < s95.st_size,
          "quality changes the size");
    ps_img_free(&b);
    /* alpha is dropped for JPEG, and a gray plane is saved as gray */
    ps_image rgba, g;
    smooth_image(&rgba, 32, 16, 4);
    CHECK(ps_img_save("rgba.jpg", &rgba, 90) == PS_OK && ps_img_load("rgba.jpg", &b) == PS_OK && b.c == 3,
          "RGBA to JPEG: %s", ps_last_error());
    ps_img_free(&b);
    smooth_image(&g, 32, 16, 1);
    CHECK(ps_img_save("gray.jpg", &g, 90) == PS_OK && ps_img_load("gray.jpg", &b) == PS_OK && b.c == 3,
          "gray JPEG: %s", ps_last_error());
    if (b.px)
        CHECK(b.px[5] == b.px[16 * 32 + 5] && fabsf(b.px[5] - g.px[5]) < 0.05f, "gray JPEG is gray");
    check_raw("gray.jpg", 1, 8); /* kept as one sample a pixel, spread by ps_img_raw_rows */
    ps_img_free(&b);
    ps_img_free(&g);
    ps_img_free(&rgba);
    ps_img_free(&a);
}

/* Save -> load of arbitrary linear values is within half an 8-bit (or 16-bit) sRGB step, alpha
 * kept. 300 rows: the encoder's bands of 64 rows, compressed on every thread, make several
 * rounds, the last one short, so their streams and checksums must join. */
static void test_save_png(void)
{
    uint64_t seed = 42;
    enum { W = 181, H = 300 };
    for (int run = 0; run < 4; run++) {
        int c = run == 0 ? 1 : run == 3 ? 3 : run + 2, depth = run == 3 ? 16 : 8;
        ps_image a, b;
        ps_img_alloc(&a, W, H, c); /* noise: > 64 KiB of deflate output, several IDATs */
        for (size_t i = 0; i < (size_t)W * H * c; i++)
            a.px[i] = tu_rand(&seed) / 4294967296.0f;
        for (int y = 0; y < 30; y++) /* and smooth rows, where the filters matter */
            for (int x = 0; x < W; x++)
                for (int k = 0; k < c; k++)
                    a.px[((size_t)k * H + y) * W + x] = (float)(x + y + k) / 300;
        const char *name = run == 3 ? "rt16.png" : c == 4 ? "rt4.PNG" : c == 3 ? "rt3.png" : "rt1.png";
        ps_img_meta m = {0};
        m.depth = depth;
        CHECK(ps_img_save_meta(name, &a, 0, &m) == PS_OK, "%s: %s", name, ps_last_error());
        CHECK(ps_img_load(name, &b) == PS_OK, "%s: %s", name, ps_last_error());
        if (b.px && b.w == a.w && b.h == a.h && b.c == (c == 4 ? 4 : 3)) {
            size_t plane = (size_t)a.w * a.h;
            double worst = 0, worst_a = 0;
            for (int k = 0; k < 3; k++)
                for (size_t i = 0; i < plane; i++)
                    worst = fmax(worst, fabs(ps_linear_to_srgb(b.px[k * plane + i]) -
                                             ps_linear_to_srgb(a.px[(c == 1 ? 0 : k) * plane + i])));
            for (size_t i = 0; c == 4 && i < plane; i++)
                worst_a = fmax(worst_a, fabs(b.px[3 * plane + i] - a.px[3 * plane + i]));
            double step = depth == 16 ? 65535 : 255;
            CHECK(worst <= 0.5 / step + 1e-6, "%s: sRGB error %g > half a step", name, worst);
            CHECK(worst_a <= 0.5 / 255 + 1e-6, "%s: alpha error %g", name, worst_a);
        } else {
            CHECK(0, "%s: reloaded as %dx%dx%d", name, b.w, b.h, b.c);
        }
        ps_img_free(&a);
        ps_img_free(&b);
    }
}

/* In memory: encode_png gives the bytes save writes; read_file gives a file's bytes. */
static void test_memory(void)
{
    ps_image a, b;
    smooth_image(&a, 300, 200, 4); /* > 64 KiB of pixels: the memory sink grows */
    unsigned char *png, *file;
    size_t n, nf;
    CHECK(ps_img_encode_png(&a, &png, &n) == PS_OK && n > 8 && !memcmp(png, "\x89PNG", 4), "%s", ps_last_error());
    CHECK(ps_img_save("mem.png", &a, 0) == PS_OK, "%s", ps_last_error());
    CHECK(ps_img_read_file("mem.png", &file, &nf) == PS_OK && nf == n && !memcmp(file, png, n),
          "encode_png and save agree (%zu vs %zu bytes)", n, nf);
    CHECK(ps_img_load_mem(png, n, "mem", &b) == PS_OK && b.c == 4 && tu_psnr8(&a, &b) == 99.0,
          "encode_png round trip: %s", ps_last_error());
    ps_img_free(&b);
    free(png), free(file);
    CHECK(ps_img_read_file("nothere.png", &file, &nf) == PS_EINPUT && file == NULL && nf == 0 &&
              !strcmp(ps_last_error(), "nothere.png: no such file"), "read_file missing");
    ps_image bad = {0, 0, 0, NULL};
    CHECK(ps_img_encode_png(&bad, &png, &n) == PS_EUSAGE && png == NULL, "encode an empty image");
    ps_img_free(&a);
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void test_save_errors(void)
{
    ps_image a;
    smooth_image(&a, 64, 64, 3);
    CHECK(ps_img_save("out.gif", &a, 0) == PS_EUSAGE && strstr(ps_last_error(), "out.gif: unsupported output format"),
          "gif: %s", ps_last_error());
    CHECK(ps_img_save("png", &a, 0) == PS_EUSAGE, "no extension");
    CHECK(ps_img_save("x.png/", &a, 0) == PS_EUSAGE, "folder-like name");
    CHECK(ps_img_save("x.jpg", &a, 101) == PS_EUSAGE, "quality 101");
    CHECK(ps_img_save("no/such/dir/x.png", &a, 0) == PS_EINPUT && !strncmp(ps_last_error(), "no/such/dir/x.png: ", 19),
          "missing folder: %s", ps_last_error());
    mkdir("isdir.png", 0777);
    CHECK(ps_img_save("isdir.png", &a, 0) == PS_EINPUT, "over a directory: %s", ps_last_error());
    CHECK(dir_entries("isdir.png") == 0, "nothing left inside");

    /* a full disk (simulated with RLIMIT_FSIZE): clear error, old file intact, no temp file */
    mkdir("full", 0777);
    ps_image small;
    ps_img_alloc(&small, 4, 4, 3);
    CHECK(ps_img_save("full/a.png", &small, 0) == PS_OK, "%s", ps_last_error());
    size_t n0, n1;
    unsigned char *before = tu_read("full/a.png", &n0);
    ps_image noisy;
    ps_img_alloc(&noisy, 256, 256, 3);
    uint64_t seed = 7;
    for (size_t i = 0; i < (size_t)256 * 256 * 3; i++)
        noisy.px[i] = tu_rand(&seed) / 4294967296.0f;
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old, lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    ps_status st = ps_img_save("full/a.png", &noisy, 0);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK(st == PS_EINPUT && strstr(ps_last_error(), "full/a.png: cannot write"), "disk full: %d %s", st, ps_last_error());
    unsigned char *after = tu_read("full/a.png", &n1);
    CHECK(before && after && n0 == n1 && !memcmp(before, after, n0), "old file intact");
    CHECK(dir_entries("full") == 1, "no temp file left (%d entries)", dir_entries("full"));
    free(before), free(after);

    if (geteuid() != 0) { /* root writes anywhere */
        mkdir("ro", 0555);
        CHECK(ps_img_save("ro/x.jpg", &a, 0) == PS_EINPUT && strstr(ps_last_error(), "ro/x.jpg: "),
              "read-only folder: %s", ps_last_error());
        CHECK(dir_entries("ro") == 0, "nothing left in ro");
    }
    ps_image bad = {0, 0, 0, NULL};
    CHECK(ps_img_save("e.png", &bad, 0) == PS_EUSAGE, "empty image");
    ps_img_free(&noisy);
    ps_img_free(&small);
    ps_img_free(&a);
}

/* A row source over interleaved codes (ch 1, 3 or 4 a pixel, depth 8 or 16), as a decoder's raw
 * would be: it checks that rows come in order, counts its calls and fails on call fail_at. */
typedef struct {
    const void *codes;
    int w, h, ch, depth, next, calls, fail_at, disorder;
} code_src;

static ps_status code_rows(void *ctx, int y0, int n, void *dst, int ch, int depth)
{
    code_src *s = ctx;
    s->disorder += y0 != s->next || n < 1 || y0 + n > s->h || depth != s->depth;
    s->next = y0 + n;
    if (++s->calls == s->fail_at)
        return ps_fail(PS_ESTORE, "source: gave up on call %d at row %d", s->calls, y0);
    const int bps = depth / 8;
    for (int y = y0; y < y0 + n; y++)
        for (int x = 0; x < s->w; x++)
            for (int k = 0; k < ch; k++) { /* the encoder may ask for fewer samples: alpha dropped */
                const unsigned char *from = (const unsigned char *)s->codes + (((size_t)y * s->w + x) * s->ch + k) * bps;
                memcpy((unsigned char *)dst + (((size_t)(y - y0) * s->w + x) * ch + k) * bps, from, bps);
            }
    return PS_OK;
}

/* Codes (noise, and smooth rows where the filters matter) and the linear image they are the
 * exact rounding of. */
static void *make_codes(int w, int h, int ch, int depth, ps_image *im, uint64_t *seed)
{
    const size_t n = (size_t)w * h * ch;
    unsigned char *c8 = depth == 8 ? malloc(n) : NULL;
    uint16_t *c16 = depth == 16 ? malloc(2 * n) : NULL;
    ps_img_alloc(im, w, h, ch);
    const double max = depth == 16 ? 65535 : 255;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++) {
                unsigned v = y % 50 < 20 ? (unsigned)((x + 3 * y + 40 * k) * (max / 400)) % (unsigned)(max + 1)
                                         : tu_rand(seed) % (unsigned)(max + 1);
                size_t i = ((size_t)y * w + x) * ch + k;
                if (depth == 8)
                    c8[i] = (unsigned char)v;
                else
                    c16[i] = (uint16_t)v;
                im->px[((size_t)k * h + y) * w + x] = k == 3 ? (float)(v / max) : ps_srgb_to_linear((float)(v / max));
            }
    return depth == 8 ? (void *)c8 : (void *)c16;
}

static void test_save_src(void)
{
    uint64_t seed = 9;
    static const struct {
        int w, h, ch, depth;
        const char *a, *b;
        int q;
    } cases[] = {
        {181, 300, 3, 8, "s_img.png", "s_src.png", 0},      {181, 300, 4, 8, "s_img4.png", "s_src4.png", 0},
        {77, 200, 1, 8, "s_img1.png", "s_src1.png", 0},     {181, 300, 3, 16, "s_i16.png", "s_s16.png", 0},
        {53, 170, 4, 16, "s_i164.png", "s_s164.png", 0},    {43, 131, 1, 16, "s_i161.png", "s_s161.png", 0},
        {181, 300, 3, 8, "s_img.jpg", "s_src.jpg", 92},     {181, 300, 4, 8, "s_img4.jpg", "s_src4.jpg", 95},
        {99, 130, 1, 8, "s_img1.jpg", "s_src1.jpg", 95},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ps_image im;
        void *codes = make_codes(cases[c].w, cases[c].h, cases[c].ch, cases[c].depth, &im, &seed);
        ps_img_meta m = {0};
        m.depth = cases[c].depth;
        code_src cs = {codes, cases[c].w, cases[c].h, cases[c].ch, cases[c].depth, 0, 0, 0, 0};
        const ps_img_src src = {cases[c].w, cases[c].h, cases[c].ch, code_rows, &cs};
        CHECK(ps_img_save_meta(cases[c].a, &im, cases[c].q, &m) == PS_OK, "%s: %s", cases[c].a, ps_last_error());
        CHECK(ps_img_save_src(cases[c].b, &src, cases[c].q, &m) == PS_OK, "%s: %s", cases[c].b, ps_last_error());
        size_t na, nb;
        unsigned char *a = tu_read(cases[c].a, &na), *b = tu_read(cases[c].b, &nb);
        CHECK(a && b && na == nb && !memcmp(a, b, na), "%s and %s differ (%zu, %zu bytes)", cases[c].a,
              cases[c].b, na, nb);
        CHECK(cs.disorder == 0 && cs.next == cases[c].h, "%s: rows asked out of order", cases[c].b);
        free(a), free(b), free(codes);
        ps_img_free(&im);
    }
    /* a source that fails on its 3rd call: its status and message, nothing written, an existing
     * file untouched, no temp file left. 2100 rows: 3 calls even with 16 threads' PNG chunks */
    mkdir("srcfail", 0777);
    ps_image im;
    void *codes = make_codes(16, 2100, 3, 8, &im, &seed);
    CHECK(ps_img_save("srcfail/keep.png", &im, 0) == PS_OK, "%s", ps_last_error());
    size_t n0, n1;
    unsigned char *before = tu_read("srcfail/keep.png", &n0);
    static const char *const names[] = {"srcfail/new.png", "srcfail/new.jpg", "srcfail/keep.png"};
    for (int i = 0; i < 3; i++) {
        code_src cs = {codes, 16, 2100, 3, 8, 0, 0, 3, 0};
        const ps_img_src src = {16, 2100, 3, code_rows, &cs};
        ps_img_meta m = {0};
        m.depth = 8;
        ps_status st = ps_img_save_src(names[i], &src, 0, &m);
        CHECK(st == PS_ESTORE && cs.calls == 3 && !strncmp(ps_last_error(), "source: gave up on call 3 at row ", 33),
              "%s: %d after %d calls: %s", names[i], st, cs.calls, ps_last_error());
    }
    unsigned char *after = tu_read("srcfail/keep.png", &n1);
    CHECK(access("srcfail/new.png", F_OK) != 0 && access("srcfail/new.jpg", F_OK) != 0, "a failed save left a file");
    CHECK(before && after && n0 == n1 && !memcmp(before, after, n0), "the existing file was changed");
    CHECK(dir_entries("srcfail") == 1, "temp files left: %d entries", dir_entries("srcfail"));
    /* and one that asks nothing of a source without rows() */
    const ps_img_src none = {16, 16, 3, NULL, NULL};
    CHECK(ps_img_save_src("srcfail/none.png", &none, 0, NULL) == PS_EUSAGE &&
              strstr(ps_last_error(), "cannot encode a 16x16 image with 3 planes"), "%s", ps_last_error());
    free(before), free(after), free(codes);
    ps_img_free(&im);
}

int main(void)
{
    test_color();
    test_png8();
    test_png16();
    test_bmp_tga();
    test_jpeg();
    test_save_png();
    test_memory();
    test_save_errors();
    test_save_src();
    return check_done("test_img");
}
