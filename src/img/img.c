/* Image memory and color: allocation, the sRGB transfer functions, and conversion between
 * interleaved 8/16-bit sRGB (what decoders and encoders speak) and planar linear float (what
 * the rest of pstyle computes on). Decoding uses lookup tables; encoding rounds exactly. */
#include "img_impl.h"
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

ps_status ps_img_alloc(ps_image *img, int w, int h, int c)
{
    memset(img, 0, sizeof *img);
    if (w <= 0 || h <= 0 || c <= 0 || w > PS_IMG_MAX_SIDE || h > PS_IMG_MAX_SIDE || c > 64)
        return ps_fail(PS_EUSAGE, "image: bad size %dx%dx%d", w, h, c);
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    img->px = calloc(n, sizeof(float));
    if (!img->px)
        return ps_fail(PS_EINTERNAL, "image: out of memory (%dx%dx%d)", w, h, c);
    img->w = w, img->h = h, img->c = c;
    return PS_OK;
}

void ps_img_free(ps_image *img)
{
    if (!img)
        return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

/* IEC 61966-2-1: linear segment below 0.04045 (sRGB) / 0.0031308 (linear), power 2.4 above. */
static double srgb_to_linear_d(double v)
{
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static double linear_to_srgb_d(double v)
{
    return v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

float ps_srgb_to_linear(float v) { return (float)srgb_to_linear_d(clamp01(v)); }
float ps_linear_to_srgb(float v) { return (float)linear_to_srgb_d(clamp01(v)); }

void ps_img__srgb_lut(float *lut, int n)
{
    for (int i = 0; i < n; i++)
        lut[i] = (float)srgb_to_linear_d((double)i / (n - 1));
}

/* Where stored pixel (sx, sy) of a sw x sh image lands for EXIF orientation o (see the EXIF 2.3
 * spec, tag 0x0112: e.g. 6 means "row 0 is the visual right side, column 0 the visual top", i.e.
 * rotate 90 deg clockwise; 5..8 swap the sides): display index base + sx * step in a plane of
 * display width dw. */
static void orient_row(int o, int sw, int sh, int sy, long dw, long *base, long *step)
{
    switch (o) {
    case 2: *base = sy * dw + sw - 1, *step = -1; break;              /* mirror left-right */
    case 3: *base = (sh - 1 - sy) * dw + sw - 1, *step = -1; break;   /* rotate 180 */
    case 4: *base = (sh - 1 - sy) * dw, *step = 1; break;             /* mirror top-bottom */
    case 5: *base = sy, *step = dw; break;                            /* transpose */
    case 6: *base = sh - 1 - sy, *step = dw; break;                   /* rotate 90 cw */
    case 7: *base = (sw - 1) * dw + sh - 1 - sy, *step = -dw; break;  /* transverse */
    case 8: *base = (sw - 1) * dw + sy, *step = -dw; break;           /* rotate 90 ccw */
    default: *base = sy * dw, *step = 1; break;
    }
}

/* One run of n pixels: source samples every sstep bytes or shorts, display pixels every dstep. */
static inline void unpack_run(float *d, size_t plane, long dstep, const unsigned char *s8,
                              const unsigned short *s16, size_t sstep, int n, int depth,
                              int channels, int four, const float *lut)
{
    const int ncol = channels >= 3 ? 3 : 1, has_alpha = !(channels & 1);
    const float amax = depth == 8 ? 255.0f : 65535.0f;
    for (int j = 0; j < n; j++, d += dstep) {
        const size_t b = (size_t)j * sstep;
        for (int k = 0; k < 3; k++) {
            size_t sk = b + (ncol == 3 ? k : 0);
            d[k * plane] = lut[depth == 8 ? s8[sk] : s16[sk]];
        }
        if (four) {
            size_t sa = b + channels - 1;
            d[3 * plane] = has_alpha ? (depth == 8 ? s8[sa] : s16[sa]) / amax : 1.0f;
        }
    }
}

void ps_img__unpack_rows(ps_image *dst, const void *src, int sy0, int n, int depth, int channels,
                         int orient, const float *lut)
{
    assert(channels >= 1 && channels <= 4 && dst->c >= 3 && (depth == 8 || depth == 16));
    const unsigned char *s8 = src;
    const unsigned short *s16 = src;
    const int four = dst->c == 4;
    const size_t plane = (size_t)dst->w * dst->h;
    const int sw = orient >= 5 ? dst->h : dst->w, sh = orient >= 5 ? dst->w : dst->h;
    long base, step, next, unused; /* pixel (sx, sy0 + r) goes to base + r * drow + sx * step */
    orient_row(orient, sw, sh, sy0, dst->w, &base, &step);
    orient_row(orient, sw, sh, sy0 + 1, dst->w, &next, &unused);
    const long drow = next - base;
    const size_t srow = (size_t)sw * channels;
    /* rows of a transposing orientation land in display columns: walk the band column by column
     * so that consecutive writes are neighbours */
    const int transposed = orient >= 5 && orient <= 8;
    const int outer = transposed ? sw : n, inner = transposed ? n : sw;
    const long dout = transposed ? step : drow, din = transposed ? drow : step;
    const size_t sout = transposed ? (size_t)channels : srow, sin = transposed ? srow : (size_t)channels;
#pragma omp parallel for schedule(static) if ((size_t)outer * inner > 1 << 16)
    for (int i = 0; i < outer; i++) {
        float *d = dst->px + base + i * dout;
        const size_t so = (size_t)i * sout;
        if (depth == 8 && channels == 3 && !four) /* the common case, specialised */
            unpack_run(d, plane, din, s8 + so, NULL, sin, inner, 8, 3, 0, lut);
        else
            unpack_run(d, plane, din, depth == 8 ? s8 + so : NULL, depth == 16 ? s16 + so : NULL, sin,
                       inner, depth, channels, four, lut);
    }
}

void ps_img_from_rgba8(ps_image *dst, const unsigned char *src, int channels)
{
    float lut[256];
    ps_img__srgb_lut(lut, 256);
    ps_img__unpack_rows(dst, src, 0, dst->h, 8, channels, 1, lut);
}

/* Exact rounding without a pow per pixel: code k is the number of half-code thresholds
 * thr[j] = linear((j - 0.5)/255), j = 1..255, at or below v. A 4096-bucket table on the linear
 * value gives the code at each bucket's start; within a bucket v moves up at most a code or two
 * (the steepest slope, 12.92 near black, spans 0.8 codes per bucket). */
enum { ENC_BUCKETS = 4096 };

typedef struct {
    float thr[257]; /* thr[256] = +inf stops the walk */
    unsigned char start[ENC_BUCKETS];
} encoder8;

static void encoder8_init(encoder8 *e)
{
    e->thr[0] = -INFINITY, e->thr[256] = INFINITY;
    for (int j = 1; j < 256; j++)
        e->thr[j] = (float)srgb_to_linear_d((j - 0.5) / 255.0);
    for (int b = 0, k = 0; b < ENC_BUCKETS; b++) {
        while ((float)b / ENC_BUCKETS >= e->thr[k + 1])
            k++;
        e->start[b] = (unsigned char)k;
    }
}

static unsigned char encode8(const encoder8 *e, float v)
{
    if (!(v > 0)) /* also NaN */
        return 0;
    if (v >= 1)
        return 255;
    int k = e->start[(int)(v * ENC_BUCKETS)];
    while (v >= e->thr[k + 1])
        k++;
    return (unsigned char)k;
}

/* 16-bit codes the same way, from 65536 buckets (a bucket spans at most 13 codes, near black). */
enum { ENC16_BUCKETS = 65536 };

struct ps_img__packer {
    int depth;
    encoder8 e8;
    float *thr16;           /* [65537], thr16[65536] = +inf */
    unsigned short *start16; /* [ENC16_BUCKETS] */
};

static unsigned short encode16(const ps_img__packer *p, float v)
{
    if (!(v > 0))
        return 0;
    if (v >= 1)
        return 65535;
    int k = p->start16[(int)(v * ENC16_BUCKETS)];
    while (v >= p->thr16[k + 1])
        k++;
    return (unsigned short)k;
}

static void packer_init8(ps_img__packer *p)
{
    memset(p, 0, sizeof *p);
    p->depth = 8;
    encoder8_init(&p->e8);
}

ps_img__packer *ps_img__packer_new(int depth)
{
    ps_img__packer *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    packer_init8(p);
    if (depth != 16)
        return p;
    p->depth = 16;
    p->thr16 = malloc(65537 * sizeof *p->thr16);
    p->start16 = malloc(ENC16_BUCKETS * sizeof *p->start16);
    if (!p->thr16 || !p->start16) {
        ps_img__packer_free(p);
        return NULL;
    }
    p->thr16[0] = -INFINITY, p->thr16[65536] = INFINITY;
    for (int j = 1; j < 65536; j++)
        p->thr16[j] = (float)srgb_to_linear_d((j - 0.5) / 65535.0);
    for (int b = 0, k = 0; b < ENC16_BUCKETS; b++) {
        while ((float)b / ENC16_BUCKETS >= p->thr16[k + 1])
            k++;
        p->start16[b] = (unsigned short)k;
    }
    return p;
}

void ps_img__packer_free(ps_img__packer *p)
{
    if (p)
        free(p->thr16), free(p->start16);
    free(p);
}

void ps_img__pack_rows(const ps_img__packer *p, const ps_image *src, int y0, int n, void *dst,
                       int channels)
{
    assert((channels == 1 && src->c == 1) || ((channels == 3 || channels == 4) && src->c >= 1));
    const size_t plane = (size_t)src->w * src->h, i0 = (size_t)y0 * src->w, i1 = i0 + (size_t)n * src->w;
    const int ncol = src->c >= 3 ? 3 : 1, alpha = src->c == 4 ? 3 : src->c == 2 ? 1 : -1;
    const int nk = channels == 1 ? 1 : 3;
    unsigned char *d8 = dst;
    unsigned short *d16 = dst;
    for (size_t i = i0; i < i1; i++) {
        const size_t o = (i - i0) * channels;
        for (int k = 0; k < nk; k++) {
            float v = src->px[(ncol == 3 ? k : 0) * plane + i];
            if (p->depth == 16)
                d16[o + k] = encode16(p, v);
            else
                d8[o + k] = encode8(&p->e8, v);
        }
        if (channels == 4) {
            double a = alpha < 0 ? 1.0 : clamp01(src->px[alpha * plane + i]);
            if (p->depth == 16)
                d16[o + 3] = (unsigned short)lrint(a * 65535.0);
            else
                d8[o + 3] = (unsigned char)lrint(a * 255.0);
        }
    }
}

void ps_img_to_rgba8(const ps_image *src, unsigned char *dst, int channels)
{
    ps_img__packer p;
    packer_init8(&p);
    ps_img__pack_rows(&p, src, 0, src->h, dst, channels);
}
