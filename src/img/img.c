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

/* Source pixel of display pixel (x, y) is o0 + x*ax + y*ay (in pixels) for EXIF orientation o
 * of a stored sw x sh image; 5..8 swap the sides. See the EXIF 2.3 spec, tag 0x0112: e.g. 6
 * means "row 0 is the visual right side, column 0 the visual top", i.e. rotate 90 deg clockwise. */
static void orient_walk(int o, int sw, int sh, long *o0, long *ax, long *ay)
{
    long w = sw, h = sh;
    switch (o) {
    case 2: *o0 = w - 1, *ax = -1, *ay = w; break;                 /* mirror left-right */
    case 3: *o0 = (h - 1) * w + w - 1, *ax = -1, *ay = -w; break;  /* rotate 180 */
    case 4: *o0 = (h - 1) * w, *ax = 1, *ay = -w; break;           /* mirror top-bottom */
    case 5: *o0 = 0, *ax = w, *ay = 1; break;                      /* transpose */
    case 6: *o0 = (h - 1) * w, *ax = -w, *ay = 1; break;           /* rotate 90 cw */
    case 7: *o0 = (h - 1) * w + w - 1, *ax = -w, *ay = -1; break;  /* transverse */
    case 8: *o0 = w - 1, *ax = w, *ay = -1; break;                 /* rotate 90 ccw */
    default: *o0 = 0, *ax = 1, *ay = w; break;
    }
}

void ps_img__unpack(ps_image *dst, const void *src, int depth, int channels, int orient,
                    const float *lut)
{
    assert(channels >= 1 && channels <= 4 && dst->c >= 3 && (depth == 8 || depth == 16));
    const unsigned char *s8 = src;
    const unsigned short *s16 = src;
    const float amax = depth == 8 ? 255.0f : 65535.0f;
    const int ncol = channels >= 3 ? 3 : 1, has_alpha = !(channels & 1);
    const size_t plane = (size_t)dst->w * dst->h;
    int sw = orient >= 5 ? dst->h : dst->w, sh = orient >= 5 ? dst->w : dst->h;
    long o0, ax, ay;
    orient_walk(orient, sw, sh, &o0, &ax, &ay);
    for (int y = 0; y < dst->h; y++) {
        float *r = dst->px + (size_t)y * dst->w;
        long si = o0 + y * ay;
        for (int x = 0; x < dst->w; x++, si += ax) {
            const size_t b = (size_t)si * channels;
            for (int k = 0; k < 3; k++) {
                size_t sk = b + (ncol == 3 ? k : 0);
                r[k * plane + x] = lut[depth == 8 ? s8[sk] : s16[sk]];
            }
            if (dst->c == 4) {
                size_t sa = b + channels - 1;
                r[3 * plane + x] = has_alpha ? (depth == 8 ? s8[sa] : s16[sa]) / amax : 1.0f;
            }
        }
    }
}

void ps_img_from_rgba8(ps_image *dst, const unsigned char *src, int channels)
{
    float lut[256];
    ps_img__srgb_lut(lut, 256);
    ps_img__unpack(dst, src, 8, channels, 1, lut);
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

void ps_img_to_rgba8(const ps_image *src, unsigned char *dst, int channels)
{
    assert((channels == 1 && src->c == 1) || ((channels == 3 || channels == 4) && src->c >= 1));
    encoder8 enc;
    encoder8_init(&enc);
    const size_t plane = (size_t)src->w * src->h;
    const int ncol = src->c >= 3 ? 3 : 1, alpha = src->c == 4 ? 3 : src->c == 2 ? 1 : -1;
    for (size_t i = 0; i < plane; i++) {
        unsigned char *d = dst + i * channels;
        for (int k = 0; k < (channels == 1 ? 1 : 3); k++)
            d[k] = encode8(&enc, src->px[(ncol == 3 ? k : 0) * plane + i]);
        if (channels == 4) {
            double a = alpha < 0 ? 1.0 : clamp01(src->px[alpha * plane + i]);
            d[3] = (unsigned char)lrint(a * 255.0);
        }
    }
}
