/* Texture families: the surface and the screen the picture is printed on (paper, canvas, grain,
 * halftone, hatching, tiles, stipple). Patterns live in coordinates scaled by the short side, so
 * they keep their size relative to the picture at every resolution. */
#include "meta/synth_impl.h"
#include <math.h>

#define FOR_PIXELS(cx) for (int y = 0; y < (cx)->h; y++) for (int x = 0; x < (cx)->w; x++)
#define IDX(cx) ((size_t)y * (size_t)(cx)->w + (size_t)x)

/* Relief shading of a height plane h (one unit of h per `cell` pixels): light from the top left. */
static float relief(const synth_ctx *cx, const float *h, int x, int y, float cell)
{
    int w = cx->w;
    int xl = x > 0 ? x - 1 : 0, xr = x < w - 1 ? x + 1 : w - 1;
    int yu = y > 0 ? y - 1 : 0, yd = y < cx->h - 1 ? y + 1 : cx->h - 1;
    float gx = h[(size_t)y * w + xr] - h[(size_t)y * w + xl], gy = h[(size_t)yd * w + x] - h[(size_t)yu * w + x];
    return -(gx + gy) * 0.5f * cell;
}

/* Apply a height field as the surface: darken its valleys and shade its slopes. */
static void surface(const synth_ctx *cx, float *const in[3], float *const out[3], const float *h, float cell,
                    float depth, float emboss)
{
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float m = 1.f - depth * (1.f - h[i]), s = emboss * relief(cx, h, x, y, cell);
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_clamp01(in[c][i] * m + s);
    }
}

/* Paper: multi-octave noise, stretched along a fiber direction. */
static void tex_paper(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float cell = cx->S * (0.006f + 0.04f * p[0]), stretch = 1.f + 3.f * p[1] * p[1], ang = 3.14159265f * p[2];
    float ca = cosf(ang), sa = sinf(ang);
    float *h = cx->tmp[0];
    FOR_PIXELS(cx) {
        float fx = ((float)x + 0.5f) / cell, fy = ((float)y + 0.5f) / cell;
        float u = (ca * fx + sa * fy) / stretch, v = -sa * fx + ca * fy;
        h[IDX(cx)] = ps_synth__fbm(u, v, 3, op->seed);
    }
    surface(cx, in, out, h, 1.f, 0.15f + 0.35f * p[3], 0.6f * p[4]);
}

/* Canvas: two perpendicular thread families woven over-under, with irregular thread thickness. */
static void tex_canvas(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float period = cx->S * (0.008f + 0.02f * p[0]), ang = (p[1] - 0.5f) * 0.5f;
    float ca = cosf(ang), sa = sinf(ang), irr = 0.4f * p[2];
    float *h = cx->tmp[0];
    FOR_PIXELS(cx) {
        float fx = ((float)x + 0.5f) / period, fy = ((float)y + 0.5f) / period;
        float u = ca * fx + sa * fy, v = -sa * fx + ca * fy;
        float iu = floorf(u), iv = floorf(v), fu = u - iu, fv = v - iv;
        int top = ((int)iu + (int)iv) & 1;
        float a = sinf(3.14159265f * fu), b = sinf(3.14159265f * fv);
        /* the thread on top arches along its length; irregular thickness from noise per thread */
        float warp = a * (0.6f + 0.4f * b), weft = b * (0.6f + 0.4f * a);
        float jit = irr * (ps_synth__vnoise(iu * 0.5f, v * 0.15f, op->seed) - 0.5f);
        h[IDX(cx)] = synth_clamp01((top ? warp : weft) + jit);
    }
    surface(cx, in, out, h, period * 0.15f, 0.2f + 0.35f * p[3], 0.3f * p[4]);
}

/* Film grain: fine noise, strongest in the mid-tones, monochrome or per channel. */
static void tex_grain(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float cell = cx->S * (0.0015f + 0.004f * p[0]), amp = 0.06f + 0.16f * p[1];
    int chroma = p[2] > 0.6f;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float fx = ((float)x + 0.5f) / cell, fy = ((float)y + 0.5f) / cell;
        float l = synth_luma(in[0][i], in[1][i], in[2][i]);
        float wgt = 0.35f + 2.6f * l * (1.f - l);
        float n0 = ps_synth__vnoise(fx, fy, op->seed) - 0.5f;
        for (int c = 0; c < 3; c++) {
            float n = chroma ? ps_synth__vnoise(fx, fy, op->seed + 101u * (uint32_t)(c + 1)) - 0.5f : n0;
            out[c][i] = synth_clamp01(in[c][i] + 2.f * amp * wgt * n);
        }
    }
}

/* Coverage of an antialiased disk or line screen cell at (u,v) in cell units for ink amount d. */
static float screen(float u, float v, float d, int lines, float aa)
{
    float fu = u - floorf(u) - 0.5f, fv = v - floorf(v) - 0.5f;
    if (lines) {
        float half = 0.5f * d;
        return synth_smooth(half + aa, half - aa, fabsf(fv));
    }
    float r = 0.7071f * sqrtf(d); /* dot area proportional to ink */
    return synth_smooth(r + aa, r - aa, sqrtf(fu * fu + fv * fv));
}

/* Halftone: dot or line screens at an angle; one black screen, or C, M, Y screens at three angles. */
static void tex_halftone(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float cell = cx->S * (0.01f + 0.025f * p[0]), ang0 = 1.5708f * p[1];
    int lines = p[2] > 0.65f, cmy = p[3] > 0.5f;
    float aa = 0.7f / cell;
    float *b[3] = {cx->tmp[0], cx->tmp[1], cx->tmp[2]};
    /* prefilter at the screen's frequency so the screen carries the tone instead of aliasing it */
    for (int c = 0; c < 3; c++)
        ps_synth__gauss(b[c], in[c], cx->w, cx->h, 0.3f * cell, cx->tmp[3]);
    float ink[3], paper[3] = {0.97f, 0.96f, 0.92f}, ca[3], sa[3];
    for (int c = 0; c < 3; c++) { /* C, M, Y screens 30 degrees apart; the mono screen uses the first */
        ca[c] = cosf(ang0 + 0.5236f * (float)c);
        sa[c] = sinf(ang0 + 0.5236f * (float)c);
    }
    ps_synth__hsv2rgb(p[4], p[5] > 0.7f ? 0.7f : 0.2f, p[5] > 0.7f ? 0.35f : 0.08f, ink);
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float fx = ((float)x + 0.5f) / cell, fy = ((float)y + 0.5f) / cell;
        if (cmy) {
            for (int c = 0; c < 3; c++) {
                float cov = screen(ca[c] * fx + sa[c] * fy, -sa[c] * fx + ca[c] * fy, synth_clamp01(1.f - b[c][i]), lines, aa);
                out[c][i] = synth_clamp01(paper[c] * (1.f - cov));
            }
        } else {
            float l = synth_luma(b[0][i], b[1][i], b[2][i]);
            float cov = screen(ca[0] * fx + sa[0] * fy, -sa[0] * fx + ca[0] * fy, synth_clamp01(1.f - l), lines, aa);
            for (int c = 0; c < 3; c++)
                out[c][i] = synth_lerp(paper[c], ink[c], cov);
        }
    }
}

/* Cross-hatching laid over the picture: more line layers (at other angles) where it is darker. */
static void tex_hatch(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float spacing = cx->S * (0.008f + 0.018f * p[0]), ang0 = 3.14159265f * p[1];
    int layers = 2 + (int)(p[2] * 3.f);
    if (layers > 4) layers = 4;
    float width = 0.12f + 0.15f * p[3], strength = 0.55f + 0.4f * p[4], wob = 0.3f * p[5];
    float *l = cx->tmp[0];
    ps_synth__luma_plane(l, in, cx->w * cx->h);
    ps_synth__gauss(l, l, cx->w, cx->h, 0.5f * spacing, cx->tmp[1]);
    float ca[4], sa[4];
    for (int k = 0; k < layers; k++) {
        float a = ang0 + 3.14159265f * (float)k / (float)layers;
        ca[k] = cosf(a);
        sa[k] = sinf(a);
    }
    float aa = 0.6f / spacing;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float fx = ((float)x + 0.5f) / spacing, fy = ((float)y + 0.5f) / spacing;
        float dark = 1.f - l[i], inkv = 0.f;
        for (int k = 0; k < layers; k++) {
            float t = (float)(k + 1) / (float)(layers + 1) * 0.9f;
            if (dark < t - 0.08f) /* layers only appear past their threshold */
                continue;
            float u = ca[k] * fx + sa[k] * fy, v = -sa[k] * fx + ca[k] * fy;
            v += wob * (ps_synth__vnoise(u * 0.3f, v * 0.05f, op->seed + (uint32_t)k) - 0.5f);
            float d = fabsf(v - floorf(v) - 0.5f);
            float line = synth_smooth(width * 0.5f + aa, width * 0.5f - aa, d) * synth_smooth(t - 0.08f, t + 0.08f, dark);
            inkv = synth_max(inkv, line);
        }
        for (int c = 0; c < 3; c++)
            out[c][i] = in[c][i] * (1.f - strength * inkv);
    }
}

/* Mosaic: Voronoi tiles on a jittered grid (square tiles when jitter is small), each filled with
 * the color at its site, separated by grout. */
static void tex_mosaic(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float cell = cx->S * (0.02f + 0.045f * p[0]), jit = p[1] < 0.3f ? 0.f : 0.9f * p[1];
    float grout = 0.03f + 0.08f * p[2], gv = p[3] > 0.5f ? 0.85f : 0.12f, var = 0.15f * p[4];
    float *b[3] = {cx->tmp[0], cx->tmp[1], cx->tmp[2]};
    for (int c = 0; c < 3; c++)
        ps_synth__gauss(b[c], in[c], cx->w, cx->h, 0.25f * cell, cx->tmp[3]);
    /* cell by cell: the 9 candidate sites are hashed once per cell, not once per pixel */
    int gw = (int)ceilf((float)cx->w / cell), gh = (int)ceilf((float)cx->h / cell);
    for (int iy = 0; iy < gh; iy++)
        for (int ix = 0; ix < gw; ix++) {
            float site[9][2];
            for (int n = 0; n < 9; n++) {
                int k = ix - 1 + n % 3, j = iy - 1 + n / 3;
                site[n][0] = (float)k + 0.5f + jit * (synth_hashf(k, j, op->seed) - 0.5f);
                site[n][1] = (float)j + 0.5f + jit * (synth_hashf(k, j, op->seed + 1u) - 0.5f);
            }
            /* pixels whose centers fall in this cell */
            int x0 = (int)ceilf((float)ix * cell - 0.5f), x1 = (int)ceilf((float)(ix + 1) * cell - 0.5f);
            int y0 = (int)ceilf((float)iy * cell - 0.5f), y1 = (int)ceilf((float)(iy + 1) * cell - 0.5f);
            for (int y = y0 < 0 ? 0 : y0; y < y1 && y < cx->h; y++)
                for (int x = x0 < 0 ? 0 : x0; x < x1 && x < cx->w; x++) {
                    size_t i = IDX(cx);
                    float fx = ((float)x + 0.5f) / cell, fy = ((float)y + 0.5f) / cell;
                    float d1 = 1e9f, d2 = 1e9f;
                    int best = 4;
                    for (int n = 0; n < 9; n++) {
                        /* Chebyshev distance for square tiles, Euclidean for irregular ones */
                        float dx = fabsf(fx - site[n][0]), dy = fabsf(fy - site[n][1]);
                        float d = jit == 0.f ? synth_max(dx, dy) : sqrtf(dx * dx + dy * dy);
                        if (d < d1) {
                            d2 = d1;
                            d1 = d;
                            best = n;
                        } else if (d < d2)
                            d2 = d;
                    }
                    int bk = ix - 1 + best % 3, bj = iy - 1 + best / 3;
                    float g = synth_smooth(grout + 0.5f / cell, grout - 0.5f / cell, 0.5f * (d2 - d1));
                    float shade = 1.f + var * (synth_hashf(bk, bj, op->seed + 2u) - 0.5f) * 2.f;
                    for (int c = 0; c < 3; c++) {
                        float t = synth_sample(b[c], cx->w, cx->h, site[best][0] * cell - 0.5f, site[best][1] * cell - 0.5f);
                        out[c][i] = synth_clamp01(synth_lerp(t * shade, gv, g));
                    }
                }
        }
}

/* Stippling: dots on a jittered grid, bigger where darker; black ink, or the picture's colors on
 * white paper. Dots are splatted cell by cell (the darkest-covering dot wins), O(pixels). */
static void tex_stipple(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    float cell = cx->S * (0.01f + 0.015f * p[0]), size = 0.55f + 0.35f * p[1];
    int colored = p[2] > 0.5f;
    float *b[3] = {cx->tmp[0], cx->tmp[1], cx->tmp[2]}, *cov = cx->tmp[4];
    for (int c = 0; c < 3; c++)
        ps_synth__gauss(b[c], in[c], w, h, 0.4f * cell, cx->tmp[3]);
    float aa = 0.7f / cell, paper[3] = {0.96f, 0.95f, 0.91f}, ink[3] = {0.06f, 0.05f, 0.05f};
    for (size_t i = 0; i < (size_t)w * h; i++)
        cov[i] = 0.f;
    int gw = (int)ceilf((float)w / cell), gh = (int)ceilf((float)h / cell);
    for (int j = -1; j <= gh; j++)
        for (int k = -1; k <= gw; k++) {
            float px = (float)k + 0.5f + 0.8f * (synth_hashf(k, j, op->seed) - 0.5f);
            float py = (float)j + 0.5f + 0.8f * (synth_hashf(k, j, op->seed + 1u) - 0.5f);
            float s[3];
            for (int c = 0; c < 3; c++)
                s[c] = synth_sample(b[c], w, h, px * cell - 0.5f, py * cell - 0.5f);
            float dark = synth_clamp01(1.f - synth_luma(s[0], s[1], s[2]) * (colored ? 0.8f : 1.f));
            float r = size * sqrtf(dark) * (0.8f + 0.4f * synth_hashf(k, j, op->seed + 2u));
            if (r <= 0.f)
                continue;
            float rp = (r + aa) * cell;
            int x0 = synth_floor(px * cell - rp), x1 = synth_floor(px * cell + rp);
            int y0 = synth_floor(py * cell - rp), y1 = synth_floor(py * cell + rp);
            for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h; y++)
                for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++) {
                    float dx = ((float)x + 0.5f) / cell - px, dy = ((float)y + 0.5f) / cell - py;
                    float cv = synth_smooth(r + aa, r - aa, sqrtf(dx * dx + dy * dy));
                    size_t i = (size_t)y * w + x;
                    if (cv > cov[i]) {
                        cov[i] = cv;
                        for (int c = 0; c < 3; c++)
                            out[c][i] = colored ? 0.85f * s[c] : ink[c];
                    }
                }
        }
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < 3; c++)
            out[c][i] = cov[i] > 0.f ? synth_lerp(paper[c], out[c][i], cov[i]) : paper[c];
}

const synth_family ps_synth__texture[] = {
    {"paper", tex_paper},   {"canvas", tex_canvas}, {"film_grain", tex_grain}, {"halftone", tex_halftone},
    {"crosshatch", tex_hatch}, {"mosaic", tex_mosaic}, {"stipple", tex_stipple},
};
const int ps_synth__ntexture = (int)(sizeof ps_synth__texture / sizeof ps_synth__texture[0]);
