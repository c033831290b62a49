/* Image-processing helpers shared by the synthesizer's families: every one is O(pixels) with a
 * small constant (running-sum boxes, lattice noise, a structure-tensor flow field, LIC), which is
 * what keeps the episode sampler ahead of training. */
#include "meta/synth_impl.h"
#include <math.h>
#include <string.h>

float ps_synth__vnoise(float x, float y, uint32_t seed)
{
    int ix = synth_floor(x), iy = synth_floor(y);
    float u = x - (float)ix, v = y - (float)iy;
    u = u * u * (3.f - 2.f * u);
    v = v * v * (3.f - 2.f * v);
    float a = synth_hashf(ix, iy, seed), b = synth_hashf(ix + 1, iy, seed);
    float c = synth_hashf(ix, iy + 1, seed), d = synth_hashf(ix + 1, iy + 1, seed);
    return synth_lerp(synth_lerp(a, b, u), synth_lerp(c, d, u), v);
}

float ps_synth__fbm(float x, float y, int oct, uint32_t seed)
{
    float sum = 0.f, amp = 1.f, norm = 0.f;
    for (int o = 0; o < oct; o++) {
        /* the 0.37 offset keeps lattice points of successive octaves from lining up */
        sum += amp * ps_synth__vnoise(x + 0.37f * (float)o, y - 0.37f * (float)o, seed + 7919u * (uint32_t)o);
        norm += amp;
        amp *= 0.5f;
        x *= 2.f;
        y *= 2.f;
    }
    return sum / norm;
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Running-sum box along a row of n samples; clamped reads only near the
 * ends, so the interior loop is two loads and two adds. */
static void box_line(float *dst, const float *src, int n, int r)
{
    float inv = 1.f / (float)(2 * r + 1), sum = 0.f;
    for (int i = -r; i <= r; i++)
        sum += src[clampi(i, 0, n - 1)];
    int lo = r < n ? r : n, hi = n - r - 1; /* interior: i - r >= 0 and i + r + 1 <= n - 1 */
    int i = 0;
    for (; i < lo && i < n; i++) {
        dst[i] = sum * inv;
        sum += src[clampi(i + r + 1, 0, n - 1)] - src[clampi(i - r, 0, n - 1)];
    }
    for (; i < hi; i++) {
        dst[i] = sum * inv;
        sum += src[i + r + 1] - src[i - r];
    }
    for (; i < n; i++) {
        dst[i] = sum * inv;
        sum += src[clampi(i + r + 1, 0, n - 1)] - src[clampi(i - r, 0, n - 1)];
    }
}

void ps_synth__box(float *dst, const float *src, int w, int h, int r, float *tmp)
{
    if (r <= 0) {
        if (dst != src)
            memcpy(dst, src, sizeof(float) * (size_t)w * (size_t)h);
        return;
    }
    for (int y = 0; y < h; y++)
        box_line(tmp + (size_t)y * w, src + (size_t)y * w, w, r);
    /* column pass row by row (cache friendly): a running sum per column; reads tmp, writes dst, so
     * dst == src is fine */
    float inv = 1.f / (float)(2 * r + 1);
    float *sum = tmp + (size_t)w * h; /* tmp has a spare row (see synth_ctx) */
    for (int x = 0; x < w; x++)
        sum[x] = 0.f;
    for (int i = -r; i <= r; i++) {
        const float *row = tmp + clampi(i, 0, h - 1) * w;
        for (int x = 0; x < w; x++)
            sum[x] += row[x];
    }
    for (int y = 0; y < h; y++) {
        float *d = dst + (size_t)y * w;
        const float *add = tmp + clampi(y + r + 1, 0, h - 1) * w, *sub = tmp + clampi(y - r, 0, h - 1) * w;
        for (int x = 0; x < w; x++) {
            d[x] = sum[x] * inv;
            sum[x] += add[x] - sub[x];
        }
    }
}

/* 3-tap [a, 1-2a, a] twice (x then y): variance 2a per axis, for sigmas a box cannot reach. */
static void tap3(float *dst, const float *src, int w, int h, float a, float *tmp)
{
    for (int y = 0; y < h; y++) {
        const float *s = src + (size_t)y * w;
        float *t = tmp + (size_t)y * w;
        for (int x = 0; x < w; x++)
            t[x] = (1.f - 2.f * a) * s[x] + a * (s[x > 0 ? x - 1 : 0] + s[x < w - 1 ? x + 1 : w - 1]);
    }
    for (int y = 0; y < h; y++) {
        const float *up = tmp + (size_t)(y > 0 ? y - 1 : 0) * w, *mid = tmp + (size_t)y * w;
        const float *dn = tmp + (size_t)(y < h - 1 ? y + 1 : h - 1) * w;
        float *d = dst + (size_t)y * w;
        for (int x = 0; x < w; x++)
            d[x] = (1.f - 2.f * a) * mid[x] + a * (up[x] + dn[x]);
    }
}

void ps_synth__gauss(float *dst, const float *src, int w, int h, float sigma, float *tmp)
{
    if (sigma < 0.8f) {
        if (sigma < 0.05f) {
            if (dst != src)
                memcpy(dst, src, sizeof(float) * (size_t)w * (size_t)h);
            return;
        }
        tap3(dst, src, w, h, 0.5f * sigma * sigma, tmp);
        return;
    }
    /* three boxes of radius r have variance r(r+1) */
    int r = (int)lrintf((-1.f + sqrtf(1.f + 4.f * sigma * sigma)) * 0.5f);
    ps_synth__box(dst, src, w, h, r, tmp);
    ps_synth__box(dst, dst, w, h, r, tmp);
    ps_synth__box(dst, dst, w, h, r, tmp);
}

void ps_synth__luma_plane(float *dst, float *const in[3], int n)
{
    for (int i = 0; i < n; i++)
        dst[i] = synth_luma(in[0][i], in[1][i], in[2][i]);
}

void ps_synth__flow(const synth_ctx *cx, const float *lum, float sigma, float *tx, float *ty, float *coh)
{
    int w = cx->w, h = cx->h;
    float *exx = cx->tmp[6], *eyy = cx->tmp[7], *exy = cx->tmp[8], *t = cx->tmp[9];
    for (int y = 0; y < h; y++) {
        const float *u = lum + (size_t)(y > 0 ? y - 1 : 0) * w, *m = lum + (size_t)y * w;
        const float *d = lum + (size_t)(y < h - 1 ? y + 1 : h - 1) * w;
        for (int x = 0; x < w; x++) {
            int xl = x > 0 ? x - 1 : 0, xr = x < w - 1 ? x + 1 : w - 1;
            float gx = (u[xr] + 2.f * m[xr] + d[xr]) - (u[xl] + 2.f * m[xl] + d[xl]);
            float gy = (d[xl] + 2.f * d[x] + d[xr]) - (u[xl] + 2.f * u[x] + u[xr]);
            size_t i = (size_t)y * w + x;
            exx[i] = gx * gx;
            eyy[i] = gy * gy;
            exy[i] = gx * gy;
        }
    }
    ps_synth__gauss(exx, exx, w, h, sigma, t);
    ps_synth__gauss(eyy, eyy, w, h, sigma, t);
    ps_synth__gauss(exy, exy, w, h, sigma, t);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        float a = exx[i], b = eyy[i], c = exy[i];
        float half = 0.5f * (a - b), root = sqrtf(half * half + c * c);
        /* major eigenvector (c, root - half) is the gradient direction; the tangent is normal to it */
        float gx = c, gy = root - half, len = gx * gx + gy * gy;
        if (len < 1e-12f) { /* c == 0 and a >= b: the gradient is along x (or the patch is flat) */
            gx = 1.f;
            gy = 0.f;
        } else {
            len = 1.f / sqrtf(len);
            gx *= len;
            gy *= len;
        }
        tx[i] = -gy;
        ty[i] = gx;
        float c0 = (2.f * root) / (a + b + 1e-6f);
        coh[i] = c0 * c0;
    }
}

void ps_synth__lic(const synth_ctx *cx, float *const *dst, float *const *src, int n, const float *tx, const float *ty,
               float len)
{
    int w = cx->w, h = cx->h;
    /* at most 4 samples a side whatever the length: the kernel is a box, so a coarser step only
     * loses a little accuracy, while the cost stays O(pixels) */
    float step = len / 4.f < 1.f ? 1.f : len / 4.f;
    int steps = (int)(len / step);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float acc[4] = {0}, cnt = 1.f;
            for (int c = 0; c < n; c++)
                acc[c] = src[c][i];
            for (int dir = -1; dir <= 1; dir += 2) {
                float px = (float)x, py = (float)y;
                float dx = tx[i] * (float)dir, dy = ty[i] * (float)dir;
                for (int s = 0; s < steps; s++) {
                    px += dx * step;
                    py += dy * step;
                    if (px < 0.f || py < 0.f || px > (float)(w - 1) || py > (float)(h - 1))
                        break;
                    size_t j = (size_t)(int)(py + 0.5f) * w + (size_t)(int)(px + 0.5f);
                    float nx = tx[j], ny = ty[j];
                    if (nx * dx + ny * dy < 0.f) { /* the field is a line field: keep going forward */
                        nx = -nx;
                        ny = -ny;
                    }
                    dx = nx;
                    dy = ny;
                    for (int c = 0; c < n; c++)
                        acc[c] += synth_sample(src[c], w, h, px, py);
                    cnt += 1.f;
                }
            }
            for (int c = 0; c < n; c++)
                dst[c][i] = acc[c] / cnt;
        }
}

void ps_synth__hsv2rgb(float hh, float s, float v, float *rgb)
{
    hh = hh - floorf(hh);
    float h6 = hh * 6.f;
    int k = (int)h6;
    float f = h6 - (float)k, p = v * (1.f - s), q = v * (1.f - s * f), t = v * (1.f - s * (1.f - f));
    switch (k % 6) {
    case 0: rgb[0] = v; rgb[1] = t; rgb[2] = p; break;
    case 1: rgb[0] = q; rgb[1] = v; rgb[2] = p; break;
    case 2: rgb[0] = p; rgb[1] = v; rgb[2] = t; break;
    case 3: rgb[0] = p; rgb[1] = q; rgb[2] = v; break;
    case 4: rgb[0] = t; rgb[1] = p; rgb[2] = v; break;
    default: rgb[0] = v; rgb[1] = p; rgb[2] = q; break;
    }
}

void ps_synth__rgb2hsv(const float *rgb, float *h, float *s, float *v)
{
    float r = rgb[0], g = rgb[1], b = rgb[2];
    float mx = synth_max(r, synth_max(g, b)), mn = synth_min(r, synth_min(g, b)), d = mx - mn;
    *v = mx;
    *s = mx > 1e-6f ? d / mx : 0.f;
    if (d < 1e-6f) {
        *h = 0.f;
        return;
    }
    float hh;
    if (mx == r)
        hh = (g - b) / d;
    else if (mx == g)
        hh = 2.f + (b - r) / d;
    else
        hh = 4.f + (r - g) / d;
    hh /= 6.f;
    *h = hh < 0.f ? hh + 1.f : hh;
}
