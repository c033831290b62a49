/* Private to the synthesizer (meta/synth*.c): the op context, the family tables, and the
 * image-processing helpers the families share (blurs, noise, flow field, LIC). */
#ifndef PS_SYNTH_IMPL_H
#define PS_SYNTH_IMPL_H
#include "meta/synth.h"

/* Ops run on display-encoded planes (v = sqrt(linear)), where tone operations are perceptually
 * even and cheap; ps_synth_render converts once on the way in and once on the way out. */
#define SYNTH_NTMP 10

typedef struct synth_ctx {
    int w, h;
    float S;                  /* short side in pixels: every length is a fraction of it */
    float *tmp[SYNTH_NTMP];   /* scratch planes of w*h (+ one spare row, for ps_synth__box), free for
                                 the running op to use */
} synth_ctx;

/* An op reads in[3] planes and writes out[3] planes (never aliased) at full effect; the caller
 * blends with the input by the intensity. */
typedef void (*synth_fn)(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3]);

typedef struct synth_family {
    const char *name;
    synth_fn fn;
} synth_family;

extern const synth_family ps_synth__color[];
extern const int ps_synth__ncolor;
extern const synth_family ps_synth__texture[];
extern const int ps_synth__ntexture;
extern const synth_family ps_synth__stroke[];
extern const int ps_synth__nstroke;

/* ---- helpers (synth_util.c) ---- */
static inline float synth_clamp01(float v) { return v < 0.f ? 0.f : v > 1.f ? 1.f : v; }
/* fmaxf/fminf are library calls without -ffast-math (NaN rules); these inline */
static inline float synth_max(float a, float b) { return a > b ? a : b; }
static inline float synth_min(float a, float b) { return a < b ? a : b; }
static inline float synth_lerp(float a, float b, float t) { return a + (b - a) * t; }
static inline float synth_smooth(float e0, float e1, float x)
{
    float t = synth_clamp01((x - e0) / (e1 - e0));
    return t * t * (3.f - 2.f * t);
}
static inline float synth_luma(float r, float g, float b) { return 0.2126f * r + 0.7152f * g + 0.0722f * b; }
/* Integer hash -> uniform [0,1): lattice noise, dab positions, palettes. */
static inline uint32_t synth_hash3(uint32_t x, uint32_t y, uint32_t s)
{
    uint32_t h = x * 0x8da6b343u ^ y * 0xd8163841u ^ s * 0xcb1ab31fu;
    h ^= h >> 16; h *= 0x7feb352du; h ^= h >> 15; h *= 0x846ca68bu; h ^= h >> 16;
    return h;
}
static inline float synth_hashf(int x, int y, uint32_t s) { return (float)(synth_hash3((uint32_t)x, (uint32_t)y, s) >> 8) * (1.f / 16777216.f); }

/* Smooth value noise in [0,1] at continuous lattice coordinates. */
float ps_synth__vnoise(float x, float y, uint32_t seed);
/* Sum of `oct` octaves (gain 1/2), normalized to [0,1]. */
float ps_synth__fbm(float x, float y, int oct, uint32_t seed);
/* Separable box blur of radius r (clamped edges); dst may equal src; tmp is one w*h plane. */
void ps_synth__box(float *dst, const float *src, int w, int h, int r, float *tmp);
/* Gaussian of std sigma (pixels) as three box passes; sigma < 0.5 copies. */
void ps_synth__gauss(float *dst, const float *src, int w, int h, float sigma, float *tmp);
void ps_synth__luma_plane(float *dst, float *const in[3], int n);
static inline int synth_floor(float v)
{
    int i = (int)v;
    return i - (v < (float)i);
}
/* Bilinear sample with clamped edges. */
static inline float synth_sample(const float *pl, int w, int h, float x, float y)
{
    x = x < 0.f ? 0.f : x > (float)(w - 1) ? (float)(w - 1) : x;
    y = y < 0.f ? 0.f : y > (float)(h - 1) ? (float)(h - 1) : y;
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + (x0 < w - 1), y1 = y0 + (y0 < h - 1);
    float u = x - (float)x0, v = y - (float)y0;
    const float *r0 = pl + (size_t)y0 * w, *r1 = pl + (size_t)y1 * w;
    return synth_lerp(synth_lerp(r0[x0], r0[x1], u), synth_lerp(r1[x0], r1[x1], u), v);
}
/* Edge tangent field of the luminance: unit (tx, ty) along edges and coherence in [0,1] from the
 * structure tensor smoothed at sigma px. Uses tmp[6..9] of the context. */
void ps_synth__flow(const synth_ctx *cx, const float *lum, float sigma, float *tx, float *ty, float *coh);
/* Line-integral convolution of n planes along the (tx, ty) field over +-len pixels. */
void ps_synth__lic(const synth_ctx *cx, float *const *dst, float *const *src, int n, const float *tx, const float *ty,
               float len);
void ps_synth__hsv2rgb(float h, float s, float v, float *rgb);
void ps_synth__rgb2hsv(const float *rgb, float *h, float *s, float *v);

/* Photo sets (episode.c, data.c): build set->half once set->img is filled. */
ps_status ps_photos__pyramid(ps_photo_set *set);

#endif
