/* Helpers for the image tests: whole-file I/O, a hand-made PNG writer (stb_image_write has no
 * 16-bit PNG, and the hostile tests need headers that lie), and a deterministic RNG. */
#ifndef PS_IMG_UTIL_H
#define PS_IMG_UTIL_H
#include "src/img/img.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static inline uint32_t tu_rand(uint64_t *s) /* xorshift64* */
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return (uint32_t)((*s * 2685821657736338717ULL) >> 32);
}

static inline int tu_write(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(buf, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Whole file into a malloc'd buffer (caller frees); NULL on failure. */
static inline unsigned char *tu_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz > 0 ? (size_t)sz : 1);
    *n = b ? fread(b, 1, (size_t)sz, f) : 0;
    fclose(f);
    return b;
}

static inline unsigned char *tu_be32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = (unsigned char)v;
    return p + 4;
}

/* Appends one chunk (length, type, data, CRC-32 over type+data) at p; returns the end. */
static inline unsigned char *tu_png_chunk(unsigned char *p, const char *type, const void *data, uint32_t n)
{
    tu_be32(p, n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    tu_be32(p + 8 + n, (uint32_t)crc32(0, p + 4, n + 4));
    return p + 12 + n;
}

/* A PNG of w x h, ch channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), 8 or 16 bits, samples
 * interleaved (16-bit as host integers). pixels may be NULL to write just the header claiming
 * w x h (for the "too large" tests). Returns the number of bytes written to path, 0 on failure. */
static inline size_t tu_write_png(const char *path, int w, int h, int ch, int depth, const void *pixels)
{
    static const unsigned char color_type[5] = {0, 0, 4, 2, 6};
    unsigned char ihdr[13];
    tu_be32(ihdr, (uint32_t)w), tu_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = (unsigned char)depth, ihdr[9] = color_type[ch], ihdr[10] = ihdr[11] = ihdr[12] = 0;
    size_t bps = (size_t)depth / 8, row = 1 + (size_t)w * ch * bps, raw_n = pixels ? row * h : 0;
    unsigned char *raw = malloc(raw_n + 1);
    for (size_t y = 0; pixels && y < (size_t)h; y++) {
        unsigned char *r = raw + y * row;
        r[0] = 0; /* filter: none */
        for (size_t i = 0; i < (size_t)w * ch; i++) {
            if (depth == 8) {
                r[1 + i] = ((const unsigned char *)pixels)[y * w * ch + i];
            } else {
                uint16_t v = ((const uint16_t *)pixels)[y * w * ch + i];
                r[1 + 2 * i] = v >> 8, r[2 + 2 * i] = v & 255;
            }
        }
    }
    uLongf zn = compressBound(raw_n);
    unsigned char *z = malloc(zn), *file = malloc(zn + 64), *p = file;
    size_t total = 0;
    if (raw && z && file && compress(z, &zn, raw, raw_n) == Z_OK) {
        memcpy(p, "\x89PNG\r\n\x1a\n", 8);
        p = tu_png_chunk(p + 8, "IHDR", ihdr, 13);
        if (pixels)
            p = tu_png_chunk(p, "IDAT", z, (uint32_t)zn);
        p = tu_png_chunk(p, "IEND", NULL, 0);
        total = tu_write(path, file, (size_t)(p - file)) ? 0 : (size_t)(p - file);
    }
    free(raw), free(z), free(file);
    return total;
}

/* PSNR in dB between two images' 8-bit sRGB renderings (color planes only). */
static inline double tu_psnr8(const ps_image *a, const ps_image *b)
{
    size_t n = (size_t)a->w * a->h * 3;
    unsigned char *x = malloc(n), *y = malloc(n);
    ps_img_to_rgba8(a, x, 3);
    ps_img_to_rgba8(b, y, 3);
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += (double)(x[i] - y[i]) * (x[i] - y[i]);
    free(x), free(y);
    return se == 0 ? 99.0 : 10 * log10(255.0 * 255.0 * n / se);
}

/* How ps_img_load_raw of buf, unpacked by ps_img_raw_rows in bands of 7 rows (into planes taller
 * than the band), differs from ps_img_load_mem_meta: 0 when every sample is the same float, the
 * metadata agrees, and srgb=1 gives code / 255 (or / 65535) of each linear value's code; else the
 * number of differences, the first of them printed. */
static inline int tu_raw_differs(const unsigned char *buf, size_t len, const char *name)
{
    ps_image im, band;
    ps_img_meta m, rm;
    ps_img_raw r;
    if (ps_img_load_mem_meta(buf, len, name, &im, &m) != PS_OK) {
        fprintf(stderr, "%s: %s\n", name, ps_last_error());
        return 1;
    }
    int bad = 0;
    if (ps_img_load_raw(buf, len, name, &r, &rm) != PS_OK || r.w != im.w || r.h != im.h || r.c != im.c ||
        rm.depth != m.depth || rm.icc_len != m.icc_len || rm.exif_len != m.exif_len || rm.xmp_len != m.xmp_len ||
        rm.n_comments != m.n_comments || (m.exif_len && memcmp(rm.exif, m.exif, m.exif_len)) ||
        (m.icc_len && memcmp(rm.icc, m.icc, m.icc_len))) {
        fprintf(stderr, "%s: raw %dx%dx%d, image %dx%dx%d: %s\n", name, r.w, r.h, r.c, im.w, im.h, im.c,
                ps_last_error());
        bad = 1;
    }
    enum { BAND = 7 };
    const size_t plane = (size_t)im.w * im.h, bplane = (size_t)im.w * (BAND + 2);
    const double max = r.depth == 16 ? 65535 : 255;
    if (!bad && ps_img_alloc(&band, r.w, BAND + 2, r.c) == PS_OK) {
        ps_image disp = band;
        disp.px = malloc(sizeof *disp.px * bplane * r.c);
        for (int y0 = 0; disp.px && y0 < r.h; y0 += BAND) {
            const int n = r.h - y0 < BAND ? r.h - y0 : BAND;
            ps_img_raw_rows(&r, y0, n, 0, &band);
            ps_img_raw_rows(&r, y0, n, 1, &disp);
            for (int k = 0; k < r.c; k++)
                for (int y = 0; y < n; y++)
                    for (int x = 0; x < r.w; x++) {
                        const float lin = band.px[k * bplane + (size_t)y * r.w + x];
                        const float want = im.px[k * plane + (size_t)(y0 + y) * r.w + x];
                        const float d = disp.px[k * bplane + (size_t)y * r.w + x];
                        const long code = lrint(d * max);
                        /* the display value is a code / max, and that code's linear value is lin */
                        const int ok = !memcmp(&lin, &want, sizeof lin) && d == (float)code / (float)max &&
                                       (k == 3 ? d == lin : fabs(ps_srgb_to_linear(d) - lin) <= 1e-6 * lin + 1e-9);
                        if (!ok && bad++ == 0)
                            fprintf(stderr, "%s: plane %d (%d, %d): band %.9g, load %.9g, display %.9g\n", name,
                                    k, x, y0 + y, lin, want, d);
                    }
        }
        bad += !disp.px;
        free(disp.px);
        ps_img_free(&band);
    }
    ps_img_raw_free(&r);
    ps_img_raw_free(&r); /* safe twice */
    ps_img_meta_free(&rm), ps_img_meta_free(&m), ps_img_free(&im);
    return bad;
}

#endif
