/* JPEG EXIF orientation: a 64x32 image with four colored quadrants is written by stb_image_write,
 * an APP1 Exif segment with orientation 1..8 is spliced in (both TIFF byte orders), and the
 * loaded image must show the quadrants where the EXIF spec's "0th row / 0th column" table puts
 * them. Malformed Exif blocks must be ignored, not fatal. */
#include "check.h"
#include "img_util.h"
#include <stb_image_write.h>

enum { W = 64, H = 32 };
static const unsigned char colors[4][3] = {{230, 20, 20}, {20, 230, 20}, {20, 20, 230}, {230, 230, 230}};
static const char names[] = "RGBW"; /* stored quadrants: top-left R, top-right G, bottom-left B, bottom-right W */

/* Display quadrants (TL, TR, BL, BR) for each orientation, from the EXIF 2.3 table: e.g. 6 is
 * "0th row = visual right side, 0th column = visual top". */
static const char *const expect[9] = {NULL,   "RGBW", "GRWB", "WBGR", "BWRG",
                                      "RBGW", "BRWG", "WGBR", "GWRB"};

typedef struct {
    unsigned char *b;
    size_t n;
} mem;

static void mem_put(void *ctx, void *data, int size)
{
    mem *m = ctx;
    m->b = realloc(m->b, m->n + size);
    memcpy(m->b + m->n, data, size);
    m->n += size;
}

static void put16(unsigned char *p, unsigned v, int be)
{
    p[be ? 0 : 1] = (unsigned char)(v >> 8), p[be ? 1 : 0] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v, int be)
{
    put16(p + (be ? 0 : 2), v >> 16, be), put16(p + (be ? 2 : 0), v & 0xffff, be);
}

enum { EX_OK, EX_FAR_IFD, EX_CUT_ENTRIES, EX_BAD_MAGIC, EX_VALUE_9, EX_TYPE_LONG, EX_TINY };

/* APP1 segment (marker included) with an IFD0 of Make + Orientation, like a camera's;
 * `bad` breaks it in one way. Returns its size. */
static size_t exif_app1(unsigned char *s, int be, int orient, int bad)
{
    unsigned char *t = s + 10; /* TIFF header starts after FF E1, length, "Exif\0\0" */
    memcpy(s, "\xff\xe1\0\0Exif\0\0", 10);
    memcpy(t, be ? "MM\0*" : "II*\0", 4);
    if (bad == EX_BAD_MAGIC)
        t[2] = 'X';
    put32(t + 4, bad == EX_FAR_IFD ? 0xfffffff0u : 8, be);
    put16(t + 8, 2, be);
    unsigned char *e = t + 10;
    put16(e, 0x010f, be), put16(e + 2, 2, be), put32(e + 4, 6, be), put32(e + 8, 38, be); /* Make */
    e += 12;
    put16(e, 0x0112, be), put16(e + 2, bad == EX_TYPE_LONG ? 4 : 3, be), put32(e + 4, 1, be);
    put32(e + 8, 0, be);
    put16(e + 8, bad == EX_VALUE_9 ? 9 : (unsigned)orient, be);
    e += 12;
    put32(e, 0, be); /* no next IFD */
    memcpy(e + 4, "Canon\0", 6);
    size_t n = (size_t)(e + 10 - s);
    if (bad == EX_CUT_ENTRIES)
        n = (size_t)(t + 10 + 12 + 6 - s); /* ends inside the orientation entry */
    if (bad == EX_TINY)
        n = 10 + 4;
    put16(s + 2, (unsigned)(n - 2), 1);
    return n;
}

/* The test JPEG with `pre` inserted right after SOI. */
static mem make_jpeg(const unsigned char *pre, size_t npre)
{
    static unsigned char px[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            memcpy(px + (y * W + x) * 3, colors[(y >= H / 2) * 2 + (x >= W / 2)], 3);
    mem j = {0}, out = {0};
    stbi_write_jpg_to_func(mem_put, &j, W, H, 3, px, 95); /* q > 90: no chroma subsampling */
    mem_put(&out, j.b, 2);
    mem_put(&out, (void *)pre, (int)npre);
    mem_put(&out, j.b + 2, (int)j.n - 2);
    free(j.b);
    return out;
}

/* The nearest reference color at the center of each display quadrant, as "TL TR BL BR". */
static void quadrants(const ps_image *im, char q[5])
{
    size_t plane = (size_t)im->w * im->h;
    for (int i = 0; i < 4; i++) {
        int x = (i & 1) ? im->w * 3 / 4 : im->w / 4, y = (i & 2) ? im->h * 3 / 4 : im->h / 4;
        double best = 1e9;
        for (int c = 0; c < 4; c++) {
            double d = 0;
            for (int k = 0; k < 3; k++) {
                double v = ps_linear_to_srgb(im->px[k * plane + (size_t)y * im->w + x]) * 255 - colors[c][k];
                d += v * v;
            }
            if (d < best)
                best = d, q[i] = names[c];
        }
        CHECK(best < 3 * 12 * 12, "quadrant %d is no reference color (distance^2 %g)", i, best);
    }
    q[4] = 0;
}

static void test_orientations(void)
{
    for (int be = 0; be <= 1; be++)
        for (int o = 1; o <= 8; o++) {
            unsigned char seg[128];
            mem j = make_jpeg(seg, exif_app1(seg, be, o, EX_OK));
            ps_image im;
            CHECK(ps_img_load_mem(j.b, j.n, "exif.jpg", &im) == PS_OK, "o=%d: %s", o, ps_last_error());
            if (im.px) {
                int sw = o >= 5;
                CHECK(im.w == (sw ? H : W) && im.h == (sw ? W : H), "o=%d %s: %dx%d", o, be ? "MM" : "II", im.w, im.h);
                char q[5];
                quadrants(&im, q);
                CHECK(!strcmp(q, expect[o]), "orientation %d (%s): quadrants %s, want %s", o, be ? "MM" : "II", q, expect[o]);
            }
            CHECK(tu_raw_differs(j.b, j.n, "exif.jpg") == 0, "orientation %d (%s): raw rows differ", o, be ? "MM" : "II");
            ps_img_free(&im);
            free(j.b);
        }
}

/* Each broken block is ignored: the image loads as stored. */
static void test_malformed(void)
{
    for (int bad = EX_FAR_IFD; bad <= EX_TINY; bad++)
        for (int be = 0; be <= 1; be++) {
            unsigned char seg[128];
            mem j = make_jpeg(seg, exif_app1(seg, be, 6, bad));
            ps_image im;
            CHECK(ps_img_load_mem(j.b, j.n, "bad-exif.jpg", &im) == PS_OK, "bad=%d: %s", bad, ps_last_error());
            if (im.px) {
                char q[5];
                quadrants(&im, q);
                CHECK(im.w == W && im.h == H && !strcmp(q, "RGBW"), "bad=%d: %dx%d %s", bad, im.w, im.h, q);
            }
            ps_img_free(&im);
            free(j.b);
        }
    /* An XMP APP1 first, then the Exif one: still found. Also a file round trip via ps_img_load. */
    unsigned char seg[256];
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    size_t nx = 4 + sizeof xmp;
    memcpy(seg, "\xff\xe1", 2), put16(seg + 2, (unsigned)(nx - 2), 1), memcpy(seg + 4, xmp, sizeof xmp);
    size_t n = nx + exif_app1(seg + nx, 1, 8, EX_OK);
    mem j = make_jpeg(seg, n);
    CHECK(tu_write("xmp_exif.jpg", j.b, j.n) == 0, "write");
    ps_image im;
    CHECK(ps_img_load("xmp_exif.jpg", &im) == PS_OK, "%s", ps_last_error());
    if (im.px) {
        char q[5];
        quadrants(&im, q);
        CHECK(im.w == H && !strcmp(q, expect[8]), "after XMP: %s", q);
    }
    ps_img_free(&im);
    free(j.b);
}

/* Random damage inside the Exif block. Run on SOI + APP1 alone, in a buffer of exactly that size,
 * so any read past the segment is a read past the allocation, which ASan reports; and on the
 * whole file, which must load (the block is ignored or read) or be refused, never crash. */
static void test_fuzz(void)
{
    uint64_t seed = 2024;
    int loaded = 0, bad = 0;
    for (int it = 0; it < 2000; it++) {
        unsigned char seg[128];
        size_t n = exif_app1(seg, it & 1, 1 + it % 8, EX_OK);
        for (int f = 1 + tu_rand(&seed) % 4; f > 0; f--)
            seg[4 + tu_rand(&seed) % (n - 4)] = (unsigned char)tu_rand(&seed); /* keep marker, length */
        unsigned char *head = malloc(2 + n);
        memcpy(head, "\xff\xd8", 2), memcpy(head + 2, seg, n);
        ps_image im;
        bad += ps_img_load_mem(head, 2 + n, "head.jpg", &im) != PS_EINPUT;
        free(head);
        mem j = make_jpeg(seg, n);
        ps_status st = ps_img_load_mem(j.b, j.n, "fuzz.jpg", &im);
        loaded += st == PS_OK;
        bad += st != PS_OK && st != PS_EINPUT;
        bad += st == PS_OK && !((im.w == W && im.h == H) || (im.w == H && im.h == W));
        ps_img_free(&im);
        free(j.b);
    }
    CHECK(bad == 0, "%d bad outcomes", bad);
    CHECK(loaded == 2000, "damaged Exif blocks must not make the image unreadable (%d of 2000 loaded)", loaded);
}

int main(void)
{
    test_orientations();
    test_malformed();
    test_fuzz();
    return check_done("test_img_exif");
}
