/* Hostile and broken input: missing, empty, directory, text, oversized headers (refused before
 * decoding), truncation at every length, random bit flips. Every case is a PS_EINPUT with
 * "<name>: <reason>" or a clean decode, never a crash (run under `make SAN=1 test` too). */
#include "check.h"
#include "img_util.h"
#include <fcntl.h>
#include <stb_image_write.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void expect_error(const char *path, const char *msg)
{
    ps_image im = {1, 1, 1, NULL};
    ps_status st = ps_img_load(path, &im);
    CHECK(st == PS_EINPUT && !strcmp(ps_last_error(), msg), "%s: status %d, '%s', want '%s'", path, st,
          ps_last_error(), msg);
    CHECK(im.px == NULL && im.w == 0, "%s: output left zeroed", path);
}

static void test_not_images(void)
{
    expect_error("nope.png", "nope.png: no such file");
    expect_error("nodir/x.png", "nodir/x.png: no such file");
    mkdir("photo.jpg", 0777);
    expect_error("photo.jpg", "photo.jpg: is a directory");
    tu_write("empty.png", "", 0);
    expect_error("empty.png", "empty.png: empty file");
    const char *txt = "Dear diary, today I took a photo.\n";
    tu_write("notes.jpg", txt, strlen(txt));
    expect_error("notes.jpg", "notes.jpg: not an image (unknown format)");
    if (geteuid() != 0) { /* root reads anything */
        tu_write("secret.png", "x", 1);
        chmod("secret.png", 0);
        expect_error("secret.png", "secret.png: permission denied");
    }
    /* formats stb_image knows but pstyle refuses (truncated ones decode silently or hang it) */
    static const char *const others[][2] = {{"GIF89a\x02\0\x02\0\x80\0\0", "GIF"}, {"P6\n2 2\n255\n", "PNM"},
                                            {"8BPS\0\x01", "PSD"}, {"#?RADIANCE\n", "HDR"}};
    for (int i = 0; i < 4; i++) {
        char name[32], want[128];
        snprintf(name, sizeof name, "other%d.img", i);
        snprintf(want, sizeof want, "%s: unsupported image format (%s); use JPEG, PNG, BMP or TGA", name, others[i][1]);
        tu_write(name, others[i][0], strlen(others[i][0]));
        expect_error(name, want);
    }
    static unsigned char rle8[64] = "BM"; /* 2x2, 8 bits, BI_RLE8 */
    rle8[10] = 54, rle8[14] = 40, rle8[18] = rle8[22] = 2, rle8[26] = 1, rle8[28] = 8, rle8[30] = 1;
    tu_write("rle8.bmp", rle8, sizeof rle8);
    expect_error("rle8.bmp", "rle8.bmp: unsupported image format (compressed BMP); use JPEG, PNG, BMP or TGA");
    tu_write("bin.dat", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    expect_error("bin.dat", "bin.dat: not an image (unknown format)");
    /* a sparse 600 MiB file is refused by its size, without reading it */
    int fd = open("big.png", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 600LL << 20) == 0, "sparse file");
    close(fd);
    ps_image im;
    double t0 = now();
    CHECK(ps_img_load("big.png", &im) == PS_EINPUT && strstr(ps_last_error(), "big.png: file too large"),
          "big file: %s", ps_last_error());
    CHECK(now() - t0 < 0.5, "big file refused in %.3f s", now() - t0);
    unlink("big.png");
    CHECK(ps_img_load_mem((const unsigned char *)"", 0, "buf", &im) == PS_EINPUT &&
              !strcmp(ps_last_error(), "buf: empty file"), "empty buffer");
}

/* Headers that claim more than the caps: refused from the header alone, fast, with the size. */
static void test_too_large(void)
{
    const char *msg = "huge.png: image is 40000 x 40000 = 1600.0 MP, more than the 50 MP pstyle can process within "
                      "its memory budget";
    CHECK(tu_write_png("huge.png", 40000, 40000, 3, 8, NULL) > 0, "write");
    double t0 = now();
    expect_error("huge.png", msg);
    CHECK(now() - t0 < 0.2, "refused in %.3f s", now() - t0);
    tu_write_png("wide.png", 40000, 2, 4, 16, NULL); /* few pixels, but a side over the cap */
    expect_error("wide.png", "wide.png: image is 40000 x 2, more than the 32768 px per side pstyle can process");
    tu_write_png("many.png", 8000, 6300, 1, 8, NULL); /* sides fine, 50.4 megapixels */
    expect_error("many.png", "many.png: image is 8000 x 6300 = 50.4 MP, more than the 50 MP pstyle can "
                             "process within its memory budget");

    /* JPEG: patch the frame header of a real file (both stb_image's own refusal at 40000^2 and
     * ours at 20000^2 must give the size) */
    static unsigned char px[16 * 8 * 3];
    CHECK(stbi_write_jpg("small.jpg", 16, 8, 3, px, 90), "write jpg");
    size_t n;
    unsigned char *j = tu_read("small.jpg", &n);
    const int sides[2] = {40000, 20000};
    for (int s = 0; s < 2; s++) {
        size_t i = 2;
        while (i + 4 < n && !(j[i] == 0xff && j[i + 1] == 0xc0))
            i += 2 + (j[i + 2] << 8 | j[i + 3]);
        CHECK(i + 9 < n, "SOF0 found");
        j[i + 5] = j[i + 7] = (unsigned char)(sides[s] >> 8), j[i + 6] = j[i + 8] = sides[s] & 255;
        tu_write("huge.jpg", j, n);
        char want[192];
        snprintf(want, sizeof want, "huge.jpg: image is %d x %d = %.1f MP, more than the 50 MP pstyle "
                 "can process within its memory budget", sides[s], sides[s], sides[s] * (double)sides[s] / 1e6);
        t0 = now();
        expect_error("huge.jpg", want);
        CHECK(now() - t0 < 0.2, "JPEG refused in %.3f s", now() - t0);
    }
    free(j);
    /* BMP (bottom-up and top-down) and TGA headers */
    static unsigned char bmp[64];
    memcpy(bmp, "BM", 2);
    bmp[10] = 54, bmp[14] = 40, bmp[26] = 1, bmp[28] = 24;
    bmp[18] = 0x40, bmp[19] = 0x9c;                             /* width 40000 */
    bmp[22] = 0xc0, bmp[23] = 0x63, bmp[24] = bmp[25] = 0xff;   /* height -40000 */
    tu_write("huge.bmp", bmp, sizeof bmp);
    expect_error("huge.bmp", "huge.bmp: image is 40000 x 40000 = 1600.0 MP, more than the 50 MP pstyle can process within "
                         "its memory budget");
    static unsigned char tga[64];
    tga[2] = 2, tga[12] = tga[14] = 0x40, tga[13] = tga[15] = 0x9c, tga[16] = 24;
    tu_write("huge.tga", tga, sizeof tga);
    expect_error("huge.tga", "huge.tga: image is 40000 x 40000 = 1600.0 MP, more than the 50 MP pstyle can process within "
                         "its memory budget");
}

/* A baseline JPEG whose one scan (SOS segment + data) is repeated: stb_image decoded every copy
 * over the whole image, so thousands were a CPU bomb. A baseline frame has exactly one scan, so
 * libjpeg refuses a second copy already; the 100-scan cap on files that may have many scans
 * (progressive) is tested in test_img_jpeg.c. */
static void test_scan_bomb(void)
{
    static unsigned char px[64 * 64 * 3];
    stbi_write_jpg("one.jpg", 64, 64, 3, px, 90);
    size_t n, sos = 2;
    unsigned char *j = tu_read("one.jpg", &n);
    while (sos + 4 < n && !(j[sos] == 0xff && j[sos + 1] == 0xda))
        sos += 2 + (j[sos + 2] << 8 | j[sos + 3]);
    size_t scan = n - 2 - sos; /* SOS .. just before EOI */
    CHECK(j[n - 2] == 0xff && j[n - 1] == 0xd9 && sos + 4 < n, "layout");
    static const int counts[3] = {1, 2, 101};
    for (int k = 0; k < 3; k++) {
        int copies = counts[k];
        unsigned char *b = malloc(sos + copies * scan + 2);
        memcpy(b, j, sos);
        for (int c = 0; c < copies; c++)
            memcpy(b + sos + c * scan, j + sos, scan);
        memcpy(b + sos + copies * scan, "\xff\xd9", 2);
        ps_image im;
        ps_status st = ps_img_load_mem(b, sos + copies * scan + 2, "scans.jpg", &im);
        CHECK(copies == 1 ? st == PS_OK : st == PS_EINPUT, "%d scans: status %d %s", copies, st,
              ps_last_error());
        ps_img_free(&im);
        free(b);
    }
    free(j);
}

/* A 1000x1000 gray PNG (1 MB of scanlines) whose IDAT inflates to 64 MB of zeros: refused without
 * inflating much past 1 MB. And the same stream cut short of 1 MB: truncated. */
static void test_zlib_bomb(void)
{
    enum { MB = 1 << 20 };
    unsigned char *zeros = calloc(MB, 1), *z = malloc(MB), *file = malloc(MB + 64), ihdr[13] = {0};
    z_stream zs = {0};
    deflateInit(&zs, 9);
    zs.next_out = z, zs.avail_out = MB;
    for (int i = 0; i < 64; i++) {
        zs.next_in = zeros, zs.avail_in = MB;
        deflate(&zs, i == 63 ? Z_FINISH : Z_NO_FLUSH);
    }
    uint32_t zn = (uint32_t)(MB - zs.avail_out);
    deflateEnd(&zs);
    tu_be32(ihdr, 1000), tu_be32(ihdr + 4, 1000), ihdr[8] = 8;
    for (int cut = 0; cut <= 1; cut++) {
        unsigned char *p = file;
        memcpy(p, "\x89PNG\r\n\x1a\n", 8);
        p = tu_png_chunk(p + 8, "IHDR", ihdr, 13);
        p = tu_png_chunk(p, "IDAT", z, cut ? 400 : zn); /* 400 bytes of it inflate to < 1 MB */
        p = tu_png_chunk(p, "IEND", NULL, 0);
        const char *name = cut ? "cutzlib.png" : "bomb.png";
        tu_write(name, file, (size_t)(p - file));
        char want[64];
        snprintf(want, sizeof want, "%s: truncated or corrupt image", name);
        double t0 = now();
        expect_error(name, want);
        CHECK(now() - t0 < 0.5, "%s refused in %.3f s", name, now() - t0);
    }
    free(zeros), free(z), free(file);
}

/* The sample files the corruption tests cut and flip, each a valid image as a whole. */
typedef struct {
    const char *name;
    unsigned char *b;
    size_t n;
} sample;

static int nsamples;
static sample samples[8];

static void add_sample(const char *name)
{
    sample *s = &samples[nsamples++];
    s->name = name;
    s->b = tu_read(name, &s->n);
    ps_image im;
    CHECK(s->b && ps_img_load(name, &im) == PS_OK, "sample %s loads: %s", name, ps_last_error());
    ps_img_free(&im);
}

static void make_samples(void)
{
    enum { w = 24, h = 16 };
    static unsigned char px[w * h * 4];
    static uint16_t px16[w * h * 4];
    uint64_t seed = 3;
    for (int i = 0; i < w * h * 4; i++)
        px[i] = (unsigned char)(i % 97 + (tu_rand(&seed) & 15)), px16[i] = (uint16_t)(px[i] * 257 + i);
    stbi_write_png("s8.png", w, h, 4, px, w * 4);
    tu_write_png("s16.png", w, h, 3, 16, px16);
    stbi_write_jpg("s.jpg", w, h, 3, px, 80);
    stbi_write_bmp("s24.bmp", w, h, 3, px);
    stbi_write_bmp("s32.bmp", w, h, 4, px);
    stbi_write_tga_with_rle = 0;
    stbi_write_tga("raw.tga", w, h, 3, px);
    stbi_write_tga_with_rle = 1;
    stbi_write_tga("rle.tga", w, h, 4, px);
    const char *names[] = {"s8.png", "s16.png", "s.jpg", "s24.bmp", "s32.bmp", "raw.tga", "rle.tga"};
    for (int i = 0; i < 7; i++)
        add_sample(names[i]);
}

/* Every proper prefix of every sample is refused as input (none decodes as a gray-padded image). */
static void test_truncated(void)
{
    for (int s = 0; s < nsamples; s++) {
        int ok = 0, bad_status = 0, bad_msg = 0;
        size_t nlen = strlen(samples[s].name);
        for (size_t len = 0; len < samples[s].n; len++) {
            ps_image im;
            ps_status st = ps_img_load_mem(samples[s].b, len, samples[s].name, &im);
            ok += st == PS_OK;
            bad_status += st != PS_OK && st != PS_EINPUT;
            bad_msg += st == PS_EINPUT && strncmp(ps_last_error(), samples[s].name, nlen);
            ps_img_free(&im);
        }
        CHECK(ok == 0, "%s: %d of %zu prefixes decoded", samples[s].name, ok, samples[s].n);
        CHECK(bad_status == 0 && bad_msg == 0, "%s: %d wrong statuses, %d unnamed messages", samples[s].name,
              bad_status, bad_msg);
    }
    /* and through the file path: the message a user sees */
    tu_write("cut.png", samples[0].b, samples[0].n / 2);
    expect_error("cut.png", "cut.png: truncated or corrupt image");
    tu_write("cut.jpg", samples[2].b, samples[2].n - 100);
    expect_error("cut.jpg", "cut.jpg: truncated or corrupt image");
}

/* Re-seals every chunk of a PNG whose lengths survived, so flips reach the decoder proper. */
static void png_fix_crcs(unsigned char *b, size_t n)
{
    for (size_t i = 8; i + 12 <= n;) {
        size_t len = (size_t)b[i] << 24 | b[i + 1] << 16 | b[i + 2] << 8 | b[i + 3];
        if (len > n - i - 12)
            return;
        tu_be32(b + i + 8 + len, (uint32_t)crc32(0, b + i + 4, (uInt)len + 4));
        i += 12 + len;
    }
}

/* Random bit flips: either a clean PS_EINPUT or a sane image, never a crash or a wild value.
 * PNGs go twice: as flipped (their CRCs catch it) and resealed (fix), to reach the decoder. */
static void flip_round(const sample *sp, int fix, uint64_t *seed)
{
    unsigned char *b = malloc(sp->n);
    int decoded = 0, bad = 0;
    for (int it = 0; it < 300; it++) {
        memcpy(b, sp->b, sp->n);
        int flips = 1 + tu_rand(seed) % 8;
        for (int f = 0; f < flips; f++) {
            /* half the flips hit the first 64 bytes, where the headers are */
            size_t pos = tu_rand(seed) % (f & 1 || sp->n < 64 ? sp->n : 64);
            b[pos] ^= (unsigned char)(1u << (tu_rand(seed) & 7));
        }
        if (fix)
            png_fix_crcs(b, sp->n);
        ps_image im;
        ps_status st = ps_img_load_mem(b, sp->n, sp->name, &im);
        if (st == PS_OK) {
            decoded++;
            size_t nv = (size_t)im.w * im.h * im.c;
            bad += im.w < 1 || im.h < 1 || im.w > PS_IMG_MAX_SIDE || (im.c != 3 && im.c != 4);
            for (size_t i = 0; i < nv; i++)
                bad += !(im.px[i] >= 0 && im.px[i] <= 1);
        } else {
            bad += st != PS_EINPUT;
        }
        ps_img_free(&im);
    }
    CHECK(bad == 0, "%s: %d bad outcomes", sp->name, bad);
    printf("  %s%s: %d of 300 flipped copies decoded\n", sp->name, fix ? " (resealed)" : "", decoded);
    free(b);
}

static void test_bit_flips(void)
{
    uint64_t seed = 12345;
    for (int s = 0; s < nsamples; s++)
        flip_round(&samples[s], 0, &seed);
    for (int s = 0; s < nsamples; s++)
        if (strstr(samples[s].name, ".png"))
            flip_round(&samples[s], 1, &seed);
}

int main(void)
{
    test_not_images();
    test_too_large();
    test_scan_bomb();
    test_zlib_bomb();
    make_samples();
    test_truncated();
    test_bit_flips();
    for (int s = 0; s < nsamples; s++)
        free(samples[s].b);
    return check_done("test_img_hostile");
}
