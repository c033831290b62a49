/* Stroke families: how the picture is drawn or painted (oil, ink, pencil, watercolor, dabs,
 * cartoon, impasto). Most follow the image's own edge-tangent flow (structure tensor), so strokes
 * run along forms as a painter's would. Scratch planes: see each function's comment. */
#include "meta/synth_impl.h"
#include <math.h>

#define FOR_PIXELS(cx) for (int y = 0; y < (cx)->h; y++) for (int x = 0; x < (cx)->w; x++)
#define IDX(cx) ((size_t)y * (size_t)(cx)->w + (size_t)x)

/* Anisotropic Kuwahara (Kyprianidis et al. 2009), sampled: 4 sectors of an ellipse stretched along
 * the flow by the coherence, each summarized by mean and variance from 4 nearest-pixel samples
 * and the center;
 * sectors are blended with weights 1/(eps+var)^2, so the flattest side of an edge wins.
 * Uses tmp[0..3] (and tmp[6..9] through ps_synth__flow). */
static void kuwahara(const synth_ctx *cx, float *const in[3], float *const out[3], float radius)
{
    /* 2 radii x 2 angles a sector, staggered so the 16 samples cover the ellipse evenly */
    static const float rho[4] = {0.45f, 0.45f, 0.9f, 0.9f}, phi[4] = {-0.45f, 0.35f, -0.25f, 0.5f};
    int w = cx->w, h = cx->h;
    float *lum = cx->tmp[0], *tx = cx->tmp[1], *ty = cx->tmp[2], *coh = cx->tmp[3];
    ps_synth__luma_plane(lum, in, w * h);
    ps_synth__flow(cx, lum, synth_max(1.f, 0.5f * radius), tx, ty, coh);
    float unit[4][4][2];
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < 4; k++) {
            float a = 1.5707963f * (float)s + phi[k];
            unit[s][k][0] = rho[k] * cosf(a);
            unit[s][k][1] = rho[k] * sinf(a);
        }
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float an = 0.8f * coh[i];
        float ra = radius * (1.f + an), rb = radius / (1.f + an);
        float t0 = tx[i], t1 = ty[i];
        const float *R = in[0], *G = in[1], *B = in[2];
        float c0 = R[i], c1 = G[i], c2 = B[i], acc[3] = {0.f, 0.f, 0.f}, wsum = 0.f;
        for (int s = 0; s < 4; s++) {
            /* scalars, not arrays: keeps the sums in registers */
            float m0 = c0, m1 = c1, m2 = c2, q = c0 * c0 + c1 * c1 + c2 * c2;
            for (int k = 0; k < 4; k++) {
                float a = unit[s][k][0] * ra, b = unit[s][k][1] * rb;
                int px = synth_floor((float)x + a * t0 - b * t1 + 0.5f), py = synth_floor((float)y + a * t1 + b * t0 + 0.5f);
                px = px < 0 ? 0 : px >= w ? w - 1 : px;
                py = py < 0 ? 0 : py >= h ? h - 1 : py;
                size_t j = (size_t)py * w + px;
                float r = R[j], g = G[j], bl = B[j];
                m0 += r;
                m1 += g;
                m2 += bl;
                q += r * r + g * g + bl * bl;
            }
            m0 *= 0.2f;
            m1 *= 0.2f;
            m2 *= 0.2f;
            float v = q * 0.2f - (m0 * m0 + m1 * m1 + m2 * m2);
            float wt = 1.f / (1e-3f + synth_max(v, 0.f));
            wt *= wt;
            acc[0] += wt * m0;
            acc[1] += wt * m1;
            acc[2] += wt * m2;
            wsum += wt;
        }
        for (int c = 0; c < 3; c++)
            out[c][i] = acc[c] / wsum;
    }
}

/* Difference-of-Gaussians lines of a luminance plane: 1 away from edges, toward 0 on the dark side
 * of an edge wider than sigma (XDoG's soft threshold). Writes dst; uses tmp[7..9]. */
static void dog_lines(const synth_ctx *cx, const float *lum, float sigma, float thr, float sharp, float *dst)
{
    int w = cx->w, h = cx->h;
    float *g1 = cx->tmp[7], *g2 = cx->tmp[8];
    ps_synth__gauss(g1, lum, w, h, sigma, cx->tmp[9]);
    ps_synth__gauss(g2, lum, w, h, 1.6f * sigma, cx->tmp[9]);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        float d = 25.f * (g1[i] - g2[i]) + thr;
        dst[i] = d >= 0.f ? 1.f : 1.f + tanhf(sharp * d);
    }
}

static void stroke_oil(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    kuwahara(cx, in, out, cx->S * (0.015f + 0.03f * p[0]));
    /* a touch of extra saturation and contrast: oil paint is denser than a photo */
    float sat = 1.f + 0.3f * p[1];
    for (size_t i = 0; i < (size_t)cx->w * cx->h; i++) {
        float l = synth_luma(out[0][i], out[1][i], out[2][i]);
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_clamp01(l + sat * (out[c][i] - l));
    }
}

/* XDoG ink (Winnemöller 2012): black-and-white ink with tone fill, or ink lines over flattened color. */
static void stroke_xdog(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    float sigma = cx->S * (0.0025f + 0.004f * p[0]);
    float *lum = cx->tmp[0], *e = cx->tmp[1];
    ps_synth__luma_plane(lum, in, w * h);
    float ink[3], paper[3] = {0.97f, 0.96f, 0.93f};
    ps_synth__hsv2rgb(p[3], p[4] > 0.7f ? 0.6f : 0.1f, 0.06f + 0.1f * p[4], ink);
    if (p[2] < 0.5f) {
        /* XDoG proper: S = (1+tau) G_s - tau G_ks against a tone threshold eps; lower eps, less fill */
        float tau = 15.f + 20.f * p[5], eps = 0.25f + 0.45f * p[1], phi = 8.f + 20.f * p[6];
        float *g1 = cx->tmp[2], *g2 = cx->tmp[3];
        ps_synth__gauss(g1, lum, w, h, sigma, cx->tmp[4]);
        ps_synth__gauss(g2, lum, w, h, 1.6f * sigma, cx->tmp[4]);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            float s = (1.f + tau) * g1[i] - tau * g2[i];
            float v = s >= eps ? 1.f : 1.f + tanhf(phi * (s - eps));
            for (int c = 0; c < 3; c++)
                out[c][i] = synth_lerp(ink[c], paper[c], v);
        }
        return;
    }
    dog_lines(cx, lum, sigma, 0.02f + 0.05f * p[1], 6.f + 10.f * p[6], e);
    for (int c = 0; c < 3; c++)
        ps_synth__gauss(out[c], in[c], w, h, sigma, cx->tmp[2]);
    for (size_t i = 0; i < (size_t)w * h; i++)
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_lerp(ink[c], out[c][i], e[i]);
}

/* Pencil: noise smeared along the edge tangents (hatching that follows the forms), laid where the
 * picture is dark, plus contour lines; graphite gray or colored pencil. */
static void stroke_pencil(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    float *lum = cx->tmp[0], *tx = cx->tmp[1], *ty = cx->tmp[2], *nz = cx->tmp[3], *hatch = cx->tmp[4],
          *lines = cx->tmp[5];
    ps_synth__luma_plane(lum, in, w * h);
    ps_synth__flow(cx, lum, cx->S * 0.01f, tx, ty, hatch);
    /* where there is no clear edge direction, hatch along one fixed diagonal, as an artist would */
    float ha = 0.5f + 1.5f * p[6], hx = cosf(ha), hy = sinf(ha);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        float c = synth_smooth(0.05f, 0.4f, hatch[i]), sgn = tx[i] * hx + ty[i] * hy < 0.f ? -1.f : 1.f;
        float ux = c * tx[i] * sgn + (1.f - c) * hx, uy = c * ty[i] * sgn + (1.f - c) * hy;
        float n = 1.f / sqrtf(ux * ux + uy * uy + 1e-12f);
        tx[i] = ux * n;
        ty[i] = uy * n;
    }
    float cell = cx->S * (0.006f + 0.004f * p[1]); /* >= ~1 px at 128: sub-pixel noise would not scale */
    FOR_PIXELS(cx) nz[IDX(cx)] = ps_synth__vnoise(((float)x + 0.5f) / cell, ((float)y + 0.5f) / cell, op->seed);
    ps_synth__lic(cx, &hatch, &nz, 1, tx, ty, cx->S * (0.015f + 0.035f * p[0]));
    dog_lines(cx, lum, cx->S * (0.002f + 0.003f * p[2]), 0.01f, 10.f, lines);
    float gam = 0.7f + 0.8f * p[3], contrast = 5.f + 5.f * p[4];
    int colored = p[5] > 0.6f;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        float dark = 1.f - powf(synth_clamp01(lum[i]), gam);
        float stroke = synth_clamp01(0.5f + contrast * (hatch[i] - 0.5f));
        /* graphite never reaches black, and most of the page stays paper */
        float v = synth_clamp01(1.f - 0.8f * dark * (0.3f + 0.9f * stroke)) * synth_lerp(1.f, lines[i], 0.75f);
        for (int c = 0; c < 3; c++) {
            float paper = c == 0 ? 0.98f : c == 1 ? 0.97f : 0.93f;
            /* colored pencil: a channel stronger than the luminance darkens less, which tints the stroke */
            float tintc = colored ? synth_min(1.5f, in[c][i] / synth_max(lum[i], 0.05f)) : 1.f;
            out[c][i] = colored ? synth_clamp01(paper - (1.f - v) * (1.2f - 0.6f * tintc)) : paper * v;
        }
    }
}

/* Watercolor (after Bousseau et al. 2006): abstraction by blur and a soft luminance quantization
 * (flat washes), wet bleeding by a noise displacement, then pigment density from edge darkening,
 * granulation and turbulence, applied with C' = C - (C - C^2)(d - 1); lighter overall, as washes are. */
static void stroke_watercolor(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    float sa = cx->S * (0.006f + 0.012f * p[0]), bleed = cx->S * (0.004f + 0.014f * p[1]);
    float *a[3] = {cx->tmp[0], cx->tmp[1], cx->tmp[2]}, *big = cx->tmp[3], *la = cx->tmp[4];
    for (int c = 0; c < 3; c++)
        ps_synth__gauss(a[c], in[c], w, h, sa, cx->tmp[9]);
    float levels = (float)(4 + (int)(p[7] * 4.f));
    for (size_t i = 0; i < (size_t)w * h; i++) { /* washes: soft steps of luminance, hue kept */
        float l = synth_luma(a[0][i], a[1][i], a[2][i]);
        float near = floorf(l * levels + 0.5f) / levels;
        float gain = (near + (0.5f / levels) * tanhf(3.f * levels * (l - near))) / synth_max(l, 1e-3f);
        for (int c = 0; c < 3; c++)
            a[c][i] = synth_clamp01(a[c][i] * gain);
    }
    float turb_cell = cx->S * 0.06f, gran_cell = cx->S * (0.004f + 0.005f * p[2]);
    /* bleed: resample the washes through a smooth random displacement */
    FOR_PIXELS(cx) {
        float u = ((float)x + 0.5f) / turb_cell, v = ((float)y + 0.5f) / turb_cell;
        float dx = bleed * (ps_synth__vnoise(u, v, op->seed) - 0.5f) * 2.f;
        float dy = bleed * (ps_synth__vnoise(u, v, op->seed + 17u) - 0.5f) * 2.f;
        for (int c = 0; c < 3; c++)
            out[c][IDX(cx)] = synth_sample(a[c], w, h, (float)x + dx, (float)y + dy);
    }
    ps_synth__luma_plane(la, out, w * h);
    ps_synth__gauss(big, la, w, h, 1.5f * sa + 1.f, cx->tmp[9]);
    float k_edge = 4.f + 8.f * p[3], k_gran = 0.1f + 0.25f * p[4], k_turb = 0.3f * p[5], light = 0.12f + 0.18f * p[6];
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        float fx = ((float)x + 0.5f), fy = ((float)y + 0.5f);
        float gran = ps_synth__vnoise(fx / gran_cell, fy / gran_cell, op->seed + 5u) - 0.5f;
        float turb = ps_synth__vnoise(fx / turb_cell, fy / turb_cell, op->seed + 9u) - 0.5f;
        /* pigment pools on the darker side of wash boundaries */
        float edge = synth_max(0.f, big[i] - la[i]) * k_edge;
        float d = 1.f + edge + k_gran * gran + k_turb * turb;
        for (int c = 0; c < 3; c++) {
            float cc = synth_lerp(out[c][i], 1.f, light);
            out[c][i] = synth_clamp01(cc - (cc - cc * cc) * (d - 1.f) * 2.f);
        }
    }
}

/* Brush dabs along the flow, painted over a blurred underpainting: each jittered grid cell holds
 * an elliptic dab colored from its center, splatted with a random priority (the highest on top),
 * with bristle streaks; or round pointillist dots with vivid color jitter. Uses tmp[0..6]. */
static void stroke_dabs(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    int pointil = p[3] > 0.7f;
    float cell = cx->S * (pointil ? 0.012f + 0.01f * p[0] : 0.02f + 0.03f * p[0]);
    float len = pointil ? 0.65f : 1.3f + 1.7f * p[1], wid = pointil ? 0.65f : 0.45f + 0.5f * p[2];
    float cjit = pointil ? 0.25f : 0.06f * p[4], ajit = 0.4f * p[5];
    float *b[3] = {cx->tmp[0], cx->tmp[1], cx->tmp[2]}, *tx = cx->tmp[3], *ty = cx->tmp[4], *lum = cx->tmp[5];
    float *z = cx->tmp[6];
    ps_synth__luma_plane(lum, in, w * h);
    ps_synth__flow(cx, lum, cx->S * 0.02f, tx, ty, out[2]); /* coherence unused: out[2] is free scratch */
    for (int c = 0; c < 3; c++)
        ps_synth__gauss(b[c], in[c], w, h, 0.35f * cell, cx->tmp[9]);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        z[i] = -1.f;
        for (int c = 0; c < 3; c++)
            out[c][i] = b[c][i];
    }
    int reach = (int)ceilf(0.5f * synth_max(len, wid)) + 1;
    int gw = (int)ceilf((float)w / cell), gh = (int)ceilf((float)h / cell);
    float hl = 0.5f * len * cell, hw = 0.5f * wid * cell;
    for (int j = -reach; j <= gh + reach; j++)
        for (int k = -reach; k <= gw + reach; k++) {
            float sx = ((float)k + 0.5f + 0.9f * (synth_hashf(k, j, op->seed) - 0.5f)) * cell;
            float sy = ((float)j + 0.5f + 0.9f * (synth_hashf(k, j, op->seed + 1u) - 0.5f)) * cell;
            int qx = synth_floor(sx), qy = synth_floor(sy);
            qx = qx < 0 ? 0 : qx >= w ? w - 1 : qx;
            qy = qy < 0 ? 0 : qy >= h ? h - 1 : qy;
            float t0 = tx[(size_t)qy * w + qx], t1 = ty[(size_t)qy * w + qx];
            float ja = ajit * (synth_hashf(k, j, op->seed + 2u) - 0.5f), cj = cosf(ja), sj = sinf(ja);
            float d0 = t0 * cj - t1 * sj, d1 = t0 * sj + t1 * cj;
            float pri = synth_hashf(k, j, op->seed + 3u), col[3];
            for (int c = 0; c < 3; c++)
                col[c] = synth_sample(b[c], w, h, sx - 0.5f, sy - 0.5f) +
                         cjit * (synth_hashf(k, j, op->seed + 10u + (uint32_t)c) - 0.5f) * 2.f;
            int x0 = synth_floor(sx - hl), x1 = synth_floor(sx + hl), y0 = synth_floor(sy - hl), y1 = synth_floor(sy + hl);
            for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h; y++)
                for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++) {
                    size_t i = (size_t)y * w + x;
                    if (pri <= z[i])
                        continue;
                    float dx = (float)x + 0.5f - sx, dy = (float)y + 0.5f - sy;
                    float a = (dx * d0 + dy * d1) / hl, bb = (-dx * d1 + dy * d0) / hw;
                    if (a * a + bb * bb > 1.f)
                        continue;
                    z[i] = pri;
                    /* bristles: a few parallel streaks across the dab's width */
                    float br = pointil ? 1.f : 1.f + 0.12f * (synth_hashf(synth_floor((bb + 1.f) * 3.f), k * 7 + j, op->seed) - 0.5f);
                    for (int c = 0; c < 3; c++)
                        out[c][i] = synth_clamp01(col[c] * br);
                }
        }
}

/* Cartoon: edge-preserving flattening (Kuwahara), soft luminance quantization (Winnemöller 2006)
 * keeping the hue, and dark outlines. */
static void stroke_cartoon(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    kuwahara(cx, in, out, cx->S * (0.006f + 0.01f * p[0]));
    float *lum = cx->tmp[4], *lines = cx->tmp[5];
    ps_synth__luma_plane(lum, in, w * h);
    dog_lines(cx, lum, cx->S * (0.002f + 0.003f * p[2]), 0.005f + 0.02f * p[3], 12.f, lines);
    float n = (float)(3 + (int)(p[1] * 6.f)), sharp = 4.f + 8.f * p[4];
    for (size_t i = 0; i < (size_t)w * h; i++) {
        float l = synth_luma(out[0][i], out[1][i], out[2][i]);
        float near = floorf(l * n + 0.5f) / n;
        float lq = near + (0.5f / n) * tanhf(sharp * (l - near));
        float gain = lq / synth_max(l, 1e-3f);
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_clamp01(out[c][i] * gain) * lines[i];
    }
}

/* Impasto: colors smeared by line-integral convolution along the flow, plus the relief of thick
 * paint (LIC of noise, shaded as a height field). */
static void stroke_impasto(const ps_synth_op *op, const synth_ctx *cx, float *const in[3], float *const out[3])
{
    const float *p = op->p;
    int w = cx->w, h = cx->h;
    float *lum = cx->tmp[0], *tx = cx->tmp[1], *ty = cx->tmp[2], *nz = cx->tmp[3], *relief = cx->tmp[4];
    ps_synth__luma_plane(lum, in, w * h);
    ps_synth__flow(cx, lum, cx->S * (0.006f + 0.012f * p[2]), tx, ty, relief);
    float len = cx->S * (0.01f + 0.03f * p[0]);
    ps_synth__lic(cx, out, in, 3, tx, ty, len);
    float cell = cx->S * 0.012f; /* >= 1.5 px at 128: finer relief would alias and not scale */
    FOR_PIXELS(cx) nz[IDX(cx)] = ps_synth__vnoise(((float)x + 0.5f) / cell, ((float)y + 0.5f) / cell, op->seed);
    ps_synth__lic(cx, &relief, &nz, 1, tx, ty, 0.8f * len);
    float bump = (0.3f + 0.9f * p[1]) * cell;
    FOR_PIXELS(cx) {
        size_t i = IDX(cx);
        int xl = x > 0 ? x - 1 : 0, xr = x < w - 1 ? x + 1 : w - 1;
        int yu = y > 0 ? y - 1 : 0, yd = y < h - 1 ? y + 1 : h - 1;
        float gx = relief[(size_t)y * w + xr] - relief[(size_t)y * w + xl];
        float gy = relief[(size_t)yd * w + x] - relief[(size_t)yu * w + x];
        float s = -(gx + gy) * bump;
        for (int c = 0; c < 3; c++)
            out[c][i] = synth_clamp01(out[c][i] * (1.f + s) + 0.5f * s);
    }
}

const synth_family ps_synth__stroke[] = {
    {"oil_kuwahara", stroke_oil}, {"xdog_ink", stroke_xdog},   {"pencil", stroke_pencil},
    {"watercolor", stroke_watercolor}, {"brush_dabs", stroke_dabs}, {"cartoon", stroke_cartoon},
    {"impasto_lic", stroke_impasto},
};
const int ps_synth__nstroke = (int)(sizeof ps_synth__stroke / sizeof ps_synth__stroke[0]);
