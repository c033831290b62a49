/* Table and differentiable forms of the sRGB curve (the exact ones are in img.c). */
#include "src/img/srgb.h"
#include <math.h>

float ps_srgb__s2l[PS_SRGB_LUT_N + 2], ps_srgb__l2s[PS_SRGB_LUT_N + 2];

/* Before main (and before any thread), so the inline lookups need no once-check. */
__attribute__((constructor)) static void lut_init(void)
{
    for (int i = 0; i <= PS_SRGB_LUT_N + 1; i++) {
        float x = i >= PS_SRGB_LUT_N ? 1.0f : (float)i / PS_SRGB_LUT_N;
        ps_srgb__s2l[i] = ps_srgb_to_linear(x);
        ps_srgb__l2s[i] = ps_linear_to_srgb(x * x);
    }
}

void ps_srgb_to_linear_n(float *dst, const float *src, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 1 << 18)
    for (size_t i = 0; i < n; i++)
        dst[i] = ps_srgb_to_linear_fast(src[i]);
}

void ps_linear_to_srgb_n(float *dst, const float *src, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 1 << 18)
    for (size_t i = 0; i < n; i++)
        dst[i] = ps_linear_to_srgb_fast(src[i]);
}

float ps_srgb_to_linear_ext(float v, float *d)
{
    if (v <= 0.04045f) {
        *d = 1.0f / 12.92f;
        return v / 12.92f;
    }
    float b = (v + 0.055f) / 1.055f;
    *d = 2.4f / 1.055f * powf(b, 1.4f);
    return powf(b, 2.4f);
}

float ps_linear_to_srgb_clamped(float x, float *d)
{
    if (!(x > 0.0f) || x >= 1.0f) {
        *d = 0.0f;
        return x >= 1.0f ? 1.0f : 0.0f;
    }
    if (x <= 0.0031308f) {
        *d = 12.92f;
        return 12.92f * x;
    }
    float p = powf(x, 1.0f / 2.4f);
    *d = 1.055f / 2.4f * p / x;
    return 1.055f * p - 0.055f;
}
