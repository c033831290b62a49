/* Table and differentiable forms of the sRGB curve (the exact ones are in img.c). */
#include "src/img/srgb.h"
#include <math.h>
#include <pthread.h>

#define LUT_N 4096
static float s2l_tab[LUT_N + 2], l2s_tab[LUT_N + 2];
static pthread_once_t lut_once = PTHREAD_ONCE_INIT;

static void lut_init(void)
{
    for (int i = 0; i <= LUT_N + 1; i++) {
        float x = i >= LUT_N ? 1.0f : (float)i / LUT_N;
        s2l_tab[i] = ps_srgb_to_linear(x);
        l2s_tab[i] = ps_linear_to_srgb(x * x);
    }
}

static inline float lut(const float *tab, float x)
{
    x = x > 0 ? (x < 1 ? x : 1) : 0; /* NaN -> 0 */
    float f = x * LUT_N;
    int i = (int)f;
    return tab[i] + (f - i) * (tab[i + 1] - tab[i]);
}

float ps_srgb_to_linear_fast(float v)
{
    pthread_once(&lut_once, lut_init);
    return lut(s2l_tab, v);
}

float ps_linear_to_srgb_fast(float v)
{
    pthread_once(&lut_once, lut_init);
    return lut(l2s_tab, sqrtf(v > 0 ? v : 0));
}

void ps_srgb_to_linear_n(float *dst, const float *src, size_t n)
{
    pthread_once(&lut_once, lut_init);
#pragma omp parallel for schedule(static) if (n > 1 << 18)
    for (size_t i = 0; i < n; i++)
        dst[i] = lut(s2l_tab, src[i]);
}

void ps_linear_to_srgb_n(float *dst, const float *src, size_t n)
{
    pthread_once(&lut_once, lut_init);
#pragma omp parallel for schedule(static) if (n > 1 << 18)
    for (size_t i = 0; i < n; i++)
        dst[i] = lut(l2s_tab, sqrtf(src[i] > 0 ? src[i] : 0));
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
