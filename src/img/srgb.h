/* The sRGB transfer curve (IEC 61966-2-1) in every form pstyle needs, in one place: exact (the
 * reference, and 8-bit decode/encode: img.c), by table (the operators and the composition, which
 * convert every pixel several times), extended with derivatives (the differentiable ops of the
 * generator and the SSIM metric). "srgb" is the display-encoded value, "linear" is light. */
#ifndef PS_SRGB_H
#define PS_SRGB_H
#include <math.h>
#include <stddef.h>

/* Exact curves in double precision, input clamped to [0,1] (img.c). */
float ps_srgb_to_linear(float v);
float ps_linear_to_srgb(float v);
/* By 4096-segment tables with linear interpolation (the display side tabled over sqrt(linear),
 * where it is smooth): within 1e-6 of the exact curves; input clamped to [0,1]. Inline, because
 * the colour grade converts every pixel of a 12 MP photo four times; the tables are filled
 * before main by a constructor in srgb.c, so no call pays for a once-check. */
#define PS_SRGB_LUT_N 4096
extern float ps_srgb__s2l[PS_SRGB_LUT_N + 2], ps_srgb__l2s[PS_SRGB_LUT_N + 2];

static inline float ps_srgb__lut(const float *tab, float x)
{
    x = x > 0 ? (x < 1 ? x : 1) : 0; /* NaN -> 0 */
    float f = x * PS_SRGB_LUT_N;
    int i = (int)f;
    return tab[i] + (f - i) * (tab[i + 1] - tab[i]);
}

static inline float ps_srgb_to_linear_fast(float v)
{
    return ps_srgb__lut(ps_srgb__s2l, v);
}

static inline float ps_linear_to_srgb_fast(float v)
{
    return ps_srgb__lut(ps_srgb__l2s, sqrtf(v > 0 ? v : 0));
}
/* The same over n values (dst may be src), in parallel for large n. */
void ps_srgb_to_linear_n(float *dst, const float *src, size_t n);
void ps_linear_to_srgb_n(float *dst, const float *src, size_t n);
/* Display -> linear continued outside [0,1] (the linear toe below 0, the power law above 1: a
 * residual can overshoot), and its derivative *d. */
float ps_srgb_to_linear_ext(float v, float *d);
/* Linear -> display clamped to [0,1], and its derivative *d (0 where clamped). */
float ps_linear_to_srgb_clamped(float x, float *d);

#endif
