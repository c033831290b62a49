/* Color families: global grades of the picture (tone, palette, toning, film looks). They work
 * pixel by pixel (vignette and dithering also look at the position) on display-encoded values. */
#include "meta/synth_impl.h"
#include <math.h>

#define FOR_PIXELS(cx) for (int y = 0; y < (cx)->h; y++) for (int x = 0; x < (cx)->w; x++)
#define IDX(cx) ((size_t)y * (size_t)(cx)->w + (size_t)x)

/* A color from three unit parameters, for tints: hue, saturation in [smin, smax], value. */
static void tint(float hue, float sat, float val, float smin, float smax, float *rgb)
{
    ps_synth__hsv2rgb(hue, synth_lerp(smin, smax, sat), val, rgb);
}

/* lift / gamma / gain per channel and a contrast S-curve (the colorist's primary grade) */
static void color_curves(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float lift[3], gam[3], gain[3];
    float base_l = (p[0] - 0.4f) * 0.2f, base_g = exp2f((p[1] - 0.5f) * 1.2f), base_k = 0.8f + 0.4f * p[2];
    for (int c = 0; c < 3; c++) { /* per-channel deviations from the op's seed: a color cast */
        float j = synth_hashf(c, 1, op->seed) - 0.5f;
        lift[c] = base_l + j * 0.12f * p[3];
        gam[c] = base_g * exp2f((synth_hashf(c, 2, op->seed) - 0.5f) * 0.6f * p[3]);
        gain[c] = base_k * (1.f + (synth_hashf(c, 3, op->seed) - 0.5f) * 0.3f * p[3]);
    }
    float contrast = (p[4] - 0.3f) * 1.4f;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        for (int c = 0; c < 3; c++) {
            float v = in[c][i];
            v = synth_clamp01(gain[c] * (v + lift[c] * (1.f - v)));
            v = powf(v, 1.f / gam[c]);
            float s = v * v * (3.f - 2.f * v);
            out[c][i] = synth_clamp01(v + contrast * (s - v));
        }
    }
}

/* Palette of k colors spread in value, hues around a base; ordered (Bayer) dithering optional. */
static void color_palette(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    static const float bayer[16] = {0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5};
    const float *p = op->p;
    int k = 2 + (int)(p[0] * 7.f); /* 2..8 */
    if (k > 8) k = 8;
    float pal[8][3], pl[8];
    for (int j = 0; j < k; j++) {
        float t = (float)j / (float)(k - 1);
        float hue = p[1] + p[2] * 0.6f * (synth_hashf(j, 0, op->seed) - 0.5f) + 0.15f * t * (p[5] - 0.5f);
        float sat = p[3] * (0.3f + 0.7f * synth_hashf(j, 1, op->seed)) * (1.f - 0.6f * t * t);
        float val = synth_lerp(0.08f, 0.97f, synth_clamp01(t + 0.25f * (synth_hashf(j, 2, op->seed) - 0.5f) / (float)k));
        tint(hue, sat, val, 0.f, 0.9f, pal[j]);
        pl[j] = synth_luma(pal[j][0], pal[j][1], pal[j][2]);
    }
    int dither = p[4] > 0.5f;
    float cell = synth_max(1.f, cx->S * (0.002f + 0.006f * p[6]));
    float spread = 1.f / (float)k;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float r = in[0][i], g = in[1][i], b = in[2][i];
        if (dither) {
            int bx = (int)((float)x / cell) & 3, by = (int)((float)y / cell) & 3;
            float d = (bayer[by * 4 + bx] + 0.5f) / 16.f - 0.5f;
            r += d * spread; g += d * spread; b += d * spread;
        }
        float l = synth_luma(r, g, b);
        /* luminance weighs double: palettes read as light-to-dark ramps first, hues second */
        int best = 0;
        float bd = 1e30f;
        for (int j = 0; j < k; j++) {
            float dr = r - pal[j][0], dg = g - pal[j][1], db = b - pal[j][2], dl = l - pl[j];
            float dd = 0.5f * (dr * dr + dg * dg + db * db) + 2.f * dl * dl;
            if (dd < bd) { bd = dd; best = j; }
        }
        out[0][i] = pal[best][0];
        out[1][i] = pal[best][1];
        out[2][i] = pal[best][2];
    }
}

/* Luminance through a 2- or 3-color ramp (duotone / tritone). */
static void color_gradmap(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float c0[3], c1[3], c2[3];
    tint(p[0], p[1], 0.05f + 0.25f * p[2], 0.3f, 1.f, c0);
    tint(p[3], p[4], 0.9f + 0.1f * p[2], 0.f, 0.35f, c2);
    tint(p[5], p[6], 0.5f, 0.3f, 0.9f, c1);
    int tri = p[7] > 0.5f;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float l = synth_clamp01(synth_luma(in[0][i], in[1][i], in[2][i]));
        for (int c = 0; c < 3; c++) {
            float v;
            if (!tri)
                v = synth_lerp(c0[c], c2[c], l);
            else if (l < 0.5f)
                v = synth_lerp(c0[c], c1[c], 2.f * l);
            else
                v = synth_lerp(c1[c], c2[c], 2.f * l - 1.f);
            out[c][i] = v;
        }
    }
}

/* Photographic toning: sepia, cyanotype, selenium, gold, platinum, a free tint; keeps a little of
 * the original color when p[1] says so. */
static void color_toning(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    static const float shadow[6][3] = {{0.20f, 0.10f, 0.04f}, {0.02f, 0.10f, 0.30f}, {0.18f, 0.08f, 0.16f},
                                       {0.16f, 0.12f, 0.05f}, {0.10f, 0.09f, 0.08f}, {0, 0, 0}};
    static const float light[6][3] = {{1.00f, 0.93f, 0.78f}, {0.85f, 0.95f, 1.00f}, {0.98f, 0.92f, 0.93f},
                                      {1.00f, 0.95f, 0.75f}, {0.97f, 0.96f, 0.92f}, {0, 0, 0}};
    const float *p = op->p;
    int kind = (int)(p[0] * 6.f);
    if (kind > 5) kind = 5;
    float sh[3], li[3];
    if (kind == 5) { /* free tint */
        tint(p[2], 0.7f, 0.25f, 0.f, 1.f, sh);
        tint(p[2] + 0.05f, 0.15f, 1.f, 0.f, 1.f, li);
    } else
        for (int c = 0; c < 3; c++) {
            sh[c] = shadow[kind][c];
            li[c] = light[kind][c];
        }
    float keep = 0.35f * p[1], gamma = 0.75f + 0.5f * p[3];
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float l = powf(synth_clamp01(synth_luma(in[0][i], in[1][i], in[2][i])), gamma);
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_lerp(synth_lerp(sh[c], li[c], l), in[c][i], keep);
    }
}

/* Hue rotation, a hue-dependent hue shift (bend one hue family toward another) and saturation
 * that depends on luminance (muted shadows, vivid mids, or the reverse). */
static void color_huesat(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float rot = (p[0] - 0.5f) * 0.4f, bend = (p[1] - 0.5f) * 0.25f, phase = p[2];
    float sat = p[3] < 0.3f ? 0.1f + p[3] * 2.f : 0.7f + 1.3f * (p[3] - 0.3f) / 0.7f * 1.3f;
    float sat_slope = (p[4] - 0.5f) * 1.5f;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float rgb[3] = {in[0][i], in[1][i], in[2][i]}, hh, s, v;
        ps_synth__rgb2hsv(rgb, &hh, &s, &v);
        hh += rot + bend * sinf(6.2831853f * (hh - phase));
        s = synth_clamp01(s * sat * (1.f + sat_slope * (v - 0.5f)));
        ps_synth__hsv2rgb(hh, s, v, rgb);
        for (int c = 0; c < 3; c++)
            out[c][i] = rgb[c];
    }
}

/* Split toning: one tint in the shadows, another in the highlights, with a balance point. */
static void color_split(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float sc[3], hc[3];
    float hs = p[0], hl = p[4] < 0.6f ? hs + 0.5f + (p[1] - 0.5f) * 0.2f : p[1]; /* mostly complementary */
    tint(hs, 1.f, 1.f, 0.5f, 1.f, sc);
    tint(hl, 1.f, 1.f, 0.5f, 1.f, hc);
    float amt = 0.12f + 0.25f * p[2], bal = 0.3f + 0.4f * p[3];
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float l = synth_luma(in[0][i], in[1][i], in[2][i]);
        float wl = synth_smooth(bal - 0.3f, bal + 0.3f, l);
        for (int c = 0; c < 3; c++) {
            float shift = amt * ((1.f - wl) * (sc[c] - 0.5f) * (1.f - l) + wl * (hc[c] - 0.5f) * l) * 2.f;
            out[c][i] = synth_clamp01(in[c][i] + shift);
        }
    }
}

/* Channel mixer: identity blended toward a random matrix whose rows sum to one. */
static void color_mixer(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float m[3][3];
    for (int r = 0; r < 3; r++) {
        float row[3], sum = 0.f;
        for (int c = 0; c < 3; c++) {
            row[c] = synth_hashf(r, c, op->seed) * 1.6f - 0.3f + (r == c ? p[1] : 0.f);
            sum += row[c];
        }
        for (int c = 0; c < 3; c++)
            m[r][c] = synth_lerp(r == c ? 1.f : 0.f, row[c] / sum, 0.3f + 0.7f * p[0]);
    }
    float bright = 0.9f + 0.2f * p[2];
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float r = in[0][i], g = in[1][i], b = in[2][i];
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_clamp01(bright * (m[c][0] * r + m[c][1] * g + m[c][2] * b));
    }
}

/* Posterization: n levels per channel, or of luminance with the chroma kept. */
static void color_posterize(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float n = (float)(2 + (int)(p[0] * 5.f)); /* 2..6 levels */
    int lum_only = p[1] > 0.6f;
    float boost = 1.f + p[2];
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float l = synth_luma(in[0][i], in[1][i], in[2][i]);
        if (lum_only) {
            float q = synth_min(floorf(l * n), n - 1.f) / (n - 1.f);
            for (int c = 0; c < 3; c++)
                out[c][i] = synth_clamp01(q + boost * (in[c][i] - l));
        } else
            for (int c = 0; c < 3; c++) {
                float v = synth_clamp01(l + boost * (in[c][i] - l));
                out[c][i] = synth_min(floorf(v * n), n - 1.f) / (n - 1.f);
            }
    }
}

/* Faded film: lifted blacks, dimmed whites, a soft S, desaturation and a color cast. */
static void color_film(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float black = 0.05f + 0.22f * p[0], white = 0.97f - 0.17f * p[1], desat = 0.6f * p[2];
    float cast[3];
    tint(p[3], 1.f, 1.f, 0.6f, 1.f, cast);
    float cast_amt = 0.1f * p[4];
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float l = synth_luma(in[0][i], in[1][i], in[2][i]);
        for (int c = 0; c < 3; c++) {
            float v = synth_lerp(in[c][i], l, desat);
            v = synth_clamp01(v);
            v = synth_lerp(v, v * v * (3.f - 2.f * v), 0.5f);
            v = black + (white - black) * v + cast_amt * (cast[c] - 0.5f) * (1.f - 0.5f * v);
            out[c][i] = synth_clamp01(v);
        }
    }
}

/* Vignette: darkening (or, rarely, a white halo) toward the corners around an off-center point. */
static void color_vignette(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    float cxp = 0.5f + 0.2f * (p[0] - 0.5f), cyp = 0.5f + 0.2f * (p[1] - 0.5f);
    float radius = 0.35f + 0.4f * p[2], soft = 0.2f + 0.5f * p[3], strength = 0.5f + 0.5f * p[4];
    float edge[3] = {0.f, 0.f, 0.f};
    if (p[5] > 0.85f)
        edge[0] = edge[1] = edge[2] = 1.f;
    else
        tint(p[6], 0.6f, 0.08f, 0.f, 1.f, edge);
    float expo = 0.95f + 0.15f * p[7];
    float inv_d = 1.f / (float)(cx->w > cx->h ? cx->w : cx->h);
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float dx = ((float)x - cxp * (float)cx->w) * inv_d, dy = ((float)y - cyp * (float)cx->h) * inv_d;
        float d = sqrtf(dx * dx + dy * dy) / 0.7071f;
        float v = strength * synth_smooth(radius, radius + soft, d);
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_clamp01(synth_lerp(expo * in[c][i], edge[c], v));
    }
}

const synth_family ps_synth__color[] = {
    {"tone_curves", color_curves}, {"palette", color_palette}, {"gradient_map", color_gradmap},
    {"toning", color_toning},      {"hue_sat", color_huesat},  {"split_toning", color_split},
    {"channel_mix", color_mixer},  {"posterize", color_posterize}, {"faded_film", color_film},
    {"vignette", color_vignette},
};
const int ps_synth__ncolor = (int)(sizeof ps_synth__color / sizeof ps_synth__color[0]);
