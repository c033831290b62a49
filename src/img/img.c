/* Image memory and color: allocation, the sRGB transfer functions, and conversion between
 * interleaved 8/16-bit sRGB (what decoders and encoders speak: a ps_img_raw, unpacked band by
 * band with its orientation) and planar linear float (what the rest of pstyle computes on).
 * Decoding uses lookup tables; encoding rounds exactly. */
#include "img_impl.h"
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
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

/* ---- unpacking: stored samples -> planar floats ---- */

/* Each code's linear value (lut[0]) and display value code / max (lut[1], also alpha's), made
 * once a process: the 16-bit linear table takes 65536 pow calls, too many for every band. */
static float lut8[2][256], lut16[2][65536];
static pthread_once_t once8 = PTHREAD_ONCE_INIT, once16 = PTHREAD_ONCE_INIT;

static void luts_fill(float *lin, float *dsp, int n)
{
    for (int i = 0; i < n; i++) {
        lin[i] = (float)srgb_to_linear_d((double)i / (n - 1));
        dsp[i] = (float)i / (float)(n - 1);
    }
}

static void luts8_init(void) { luts_fill(lut8[0], lut8[1], 256); }
static void luts16_init(void) { luts_fill(lut16[0], lut16[1], 65536); }

static const float *sample_lut(int depth, int srgb)
{
    if (depth == 16)
        return pthread_once(&once16, luts16_init), lut16[srgb != 0];
    return pthread_once(&once8, luts8_init), lut8[srgb != 0];
}

/* Where display row y of r starts among the stored pixels (base) and how far one display pixel
 * to the right moves there (step), for EXIF orientation o (EXIF 2.3, tag 0x0112: e.g. 6 means
 * "row 0 is the visual right side, column 0 the visual top", i.e. rotate 90 deg clockwise;
 * 5..8 swap the sides, so a display row walks a stored column). */
static void display_row(const ps_img_raw *r, int y, ptrdiff_t *base, ptrdiff_t *step)
{
    const ptrdiff_t sw = r->sw, sh = r->sh;
    switch (r->orient) {
    case 2: *base = y * sw + sw - 1, *step = -1; break;            /* mirror left-right */
    case 3: *base = (sh - 1 - y) * sw + sw - 1, *step = -1; break; /* rotate 180 */
    case 4: *base = (sh - 1 - y) * sw, *step = 1; break;           /* mirror top-bottom */
    case 5: *base = y, *step = sw; break;                          /* transpose */
    case 6: *base = (sh - 1) * sw + y, *step = -sw; break;         /* rotate 90 cw */
    case 7: *base = (sh - 1) * sw + sw - 1 - y, *step = -sw; break; /* transverse */
    case 8: *base = sw - 1 - y, *step = sw; break;                 /* rotate 90 ccw */
    default: *base = y * sw, *step = 1; break;
    }
}

/* One run of n display pixels from samples s (of type T, ch a pixel, sstep samples apart):
 * gray is spread over the three colour planes, alpha (plane 3 when four) is 1 without one. */
#define UNPACK_RUN(T)                                                                               \
    static inline void unpack_run_##T(float *d, size_t plane, const T *s, ptrdiff_t sstep, int n,  \
                                      int ch, int four, const float *lut, const float *alut)       \
    {                                                                                               \
        const int col = ch >= 3, has_alpha = !(ch & 1);                                             \
        for (int j = 0; j < n; j++, s += sstep) {                                                   \
            for (int k = 0; k < 3; k++)                                                             \
                d[k * plane + j] = lut[s[col ? k : 0]];                                             \
            if (four)                                                                               \
                d[3 * plane + j] = has_alpha ? alut[s[ch - 1]] : 1.0f;                              \
        }                                                                                           \
    }
typedef unsigned char u8;
typedef unsigned short u16;
UNPACK_RUN(u8)
UNPACK_RUN(u16)

void ps_img_raw_rows(const ps_img_raw *r, int y0, int n, int srgb, ps_image *band)
{
    assert(r->px && band->w == r->w && band->h >= n && band->c == r->c && (r->c == 3 || r->c == 4));
    assert(y0 >= 0 && n >= 0 && y0 + n <= r->h && r->ch >= 1 && r->ch <= 4);
    assert(r->depth == 8 || r->depth == 16);
    const float *lut = sample_lut(r->depth, srgb), *alut = sample_lut(r->depth, 1);
    const size_t plane = (size_t)band->w * band->h;
    const int ch = r->ch, four = r->c == 4, w = r->w;
    /* rows split into blocks, so a thin band still spreads over the threads */
    enum { BLOCK = 1024 };
    const int nb = (w + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if ((size_t)n * w > 1 << 16)
    for (long t = 0; t < (long)n * nb; t++) {
        const int y = (int)(t / nb), x0 = (int)(t % nb) * BLOCK, m = w - x0 < BLOCK ? w - x0 : BLOCK;
        ptrdiff_t base, step;
        display_row(r, y0 + y, &base, &step);
        const ptrdiff_t at = (base + x0 * step) * ch, sstep = step * ch;
        float *d = band->px + (size_t)y * w + x0;
        if (r->depth == 16)
            unpack_run_u16(d, plane, (const u16 *)r->px + at, sstep, m, ch, four, lut, alut);
        else if (ch == 3 && !four) /* the common case, specialised */
            unpack_run_u8(d, plane, (const u8 *)r->px + at, sstep, m, 3, 0, lut, alut);
        else
            unpack_run_u8(d, plane, (const u8 *)r->px + at, sstep, m, ch, four, lut, alut);
    }
}

ps_status ps_img__raw_init(ps_img_raw *r, int sw, int sh, int ch, int depth, int orient, void *px,
                           const char *name)
{
    assert(ch >= 1 && ch <= 4 && (depth == 8 || depth == 16) && orient >= 1 && orient <= 8);
    memset(r, 0, sizeof *r);
    r->px = px ? px : malloc((size_t)sw * sh * ch * (depth / 8));
    if (!r->px)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    r->sw = sw, r->sh = sh, r->ch = ch, r->depth = depth, r->orient = orient;
    r->w = orient >= 5 ? sh : sw, r->h = orient >= 5 ? sw : sh, r->c = ch == 2 || ch == 4 ? 4 : 3;
    return PS_OK;
}

void ps_img_raw_free(ps_img_raw *r)
{
    if (!r)
        return;
    free(r->px); /* stb_image's buffers too: it allocates with malloc (no STBI_MALLOC is set) */
    memset(r, 0, sizeof *r);
}

void ps_img_from_rgba8(ps_image *dst, const unsigned char *src, int channels)
{
    const ps_img_raw r = {dst->w, dst->h, dst->c, dst->w, dst->h, channels, 8, 1, (void *)src};
    ps_img_raw_rows(&r, 0, dst->h, 0, dst);
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
