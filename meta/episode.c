/* Episode sampler: one style, K support renders and Q query photos with their full and partial
 * ground truths, from random crops of disjoint photos. Also the photo-set plumbing shared with
 * data.c (half-size pyramid, free) and procedural content images for runs without data/. */
#include "meta/synth_impl.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static float rng_unit(uint64_t *s) { return (float)(rng_next(s) >> 40) * (1.f / 16777216.f); }

/* 2x2 box halving of the three color planes (odd last row/column dropped). */
static int halve(const ps_image *src, ps_image *dst)
{
    int w = src->w / 2, h = src->h / 2;
    if (w < 8 || h < 8 || ps_img_alloc(dst, w, h, 3))
        return 0;
    size_t sn = (size_t)src->w * src->h, dn = (size_t)w * h;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const float *s = src->px + c * sn + (size_t)(2 * y) * src->w + 2 * x;
                dst->px[c * dn + (size_t)y * w + x] = 0.25f * (s[0] + s[1] + s[src->w] + s[src->w + 1]);
            }
    return 1;
}

ps_status ps_photos__pyramid(ps_photo_set *set)
{
    set->half = calloc((size_t)set->n, sizeof *set->half);
    if (!set->half)
        return ps_fail(PS_EINTERNAL, "photos: out of memory");
    for (int i = 0; i < set->n; i++) {
        const ps_image *prev = &set->img[i];
        for (int l = 0; l < PS_PHOTOS_LEVELS && halve(prev, &set->half[i][l]); l++)
            prev = &set->half[i][l];
    }
    return PS_OK;
}

void ps_photos_free(ps_photo_set *set)
{
    for (int i = 0; i < set->n; i++) {
        if (set->img)
            ps_img_free(&set->img[i]);
        if (set->name)
            free(set->name[i]);
        if (set->half)
            for (int l = 0; l < PS_PHOTOS_LEVELS; l++)
                ps_img_free(&set->half[i][l]);
    }
    free(set->img);
    free(set->name);
    free(set->half);
    memset(set, 0, sizeof *set);
}

/* One procedural "photo": a smooth two-color background, soft-edged shapes (discs, boxes), a
 * striped and a noisy patch, so strokes, edges and flat areas all occur. */
static void paint_procedural(ps_image *im, uint64_t seed)
{
    uint64_t s = seed;
    int w = im->w, h = im->h;
    size_t n = (size_t)w * h;
    float c0[3], c1[3];
    for (int c = 0; c < 3; c++) {
        c0[c] = rng_unit(&s);
        c1[c] = rng_unit(&s);
    }
    float gx = rng_unit(&s) - 0.5f, gy = rng_unit(&s) - 0.5f;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float t = 0.5f + gx * ((float)x / (float)w - 0.5f) * 2.f + gy * ((float)y / (float)h - 0.5f) * 2.f;
            t = t < 0.f ? 0.f : t > 1.f ? 1.f : t;
            for (int c = 0; c < 3; c++)
                im->px[c * n + (size_t)y * w + x] = c0[c] + (c1[c] - c0[c]) * t;
        }
    int shapes = 4 + (int)(rng_next(&s) % 6);
    for (int k = 0; k < shapes; k++) {
        float col[3] = {rng_unit(&s), rng_unit(&s), rng_unit(&s)};
        float cx = rng_unit(&s) * (float)w, cy = rng_unit(&s) * (float)h;
        float r = (0.05f + 0.25f * rng_unit(&s)) * (float)(w < h ? w : h);
        int kind = (int)(rng_next(&s) % 4); /* disc, box, stripes, noise */
        float freq = 0.05f + 0.2f * rng_unit(&s), ang = 3.14159f * rng_unit(&s);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float dx = (float)x - cx, dy = (float)y - cy, d;
                d = kind == 0 ? sqrtf(dx * dx + dy * dy) : fmaxf(fabsf(dx), fabsf(dy));
                float a = 1.f - fminf(1.f, fmaxf(0.f, d - r + 1.f)); /* 1-px soft edge */
                if (a <= 0.f)
                    continue;
                float m = 1.f;
                if (kind == 2)
                    m = 0.5f + 0.5f * sinf(freq * (cosf(ang) * dx + sinf(ang) * dy));
                else if (kind == 3)
                    m = 0.6f + 0.4f * (float)((((unsigned)x * 73856093u) ^ ((unsigned)y * 19349663u) ^ (unsigned)k) % 1000u) / 1000.f;
                for (int c = 0; c < 3; c++) {
                    float *p = &im->px[c * n + (size_t)y * w + x];
                    *p += a * (col[c] * m - *p);
                }
            }
    }
    for (size_t i = 0; i < 3 * n; i++) /* to linear */
        im->px[i] *= im->px[i];
}

ps_status ps_photos_procedural(int n, int side, ps_photo_split split, ps_photo_set *set)
{
    memset(set, 0, sizeof *set);
    if (n < 1 || side < 16)
        return ps_fail(PS_EUSAGE, "photos: need n >= 1 and side >= 16 (got %d, %d)", n, side);
    set->img = calloc((size_t)n, sizeof *set->img);
    set->name = calloc((size_t)n, sizeof *set->name);
    if (!set->img || !set->name) {
        ps_photos_free(set);
        return ps_fail(PS_EINTERNAL, "photos: out of memory");
    }
    set->n = n;
    for (int i = 0; i < n; i++) {
        /* aspect varies like real photos: 3:2, square, 2:3 */
        int w = side, h = side;
        if (i % 3 == 0) h = side * 2 / 3;
        if (i % 3 == 2) w = side * 2 / 3;
        char nm[32];
        snprintf(nm, sizeof nm, "procedural-%d", i);
        if (ps_img_alloc(&set->img[i], w, h, 3) || !(set->name[i] = strdup(nm))) {
            ps_photos_free(set);
            return ps_fail(PS_EINTERNAL, "photos: out of memory");
        }
        paint_procedural(&set->img[i], 0x5eed0000ULL + (uint64_t)i * 2 + (split == PS_PHOTOS_VAL));
    }
    ps_status st = ps_photos__pyramid(set);
    if (st)
        ps_photos_free(set);
    return st;
}

/* Crop a square of `side` source pixels at (x0, y0) of photo `i`, optionally mirrored, scaled by
 * `gain`, into dst (size x size), bilinear from the pyramid level at most twice dst's size. */
static void crop(const ps_photo_set *ps, int i, float x0, float y0, float side, int flip, float gain, ps_image *dst)
{
    const ps_image *src = &ps->img[i];
    float scale = 1.f;
    for (int l = 0; l < PS_PHOTOS_LEVELS && side * scale > 2.f * (float)dst->w && ps->half[i][l].w; l++) {
        src = &ps->half[i][l];
        scale *= 0.5f;
    }
    float step = side * scale / (float)dst->w, ox = x0 * scale, oy = y0 * scale;
    size_t sn = (size_t)src->w * src->h, dn = (size_t)dst->w * dst->h;
    for (int y = 0; y < dst->h; y++)
        for (int x = 0; x < dst->w; x++) {
            int xx = flip ? dst->w - 1 - x : x;
            float sx = ox + ((float)xx + 0.5f) * step - 0.5f, sy = oy + ((float)y + 0.5f) * step - 0.5f;
            sx = sx < 0.f ? 0.f : sx > (float)(src->w - 1) ? (float)(src->w - 1) : sx;
            sy = sy < 0.f ? 0.f : sy > (float)(src->h - 1) ? (float)(src->h - 1) : sy;
            int ix = (int)sx, iy = (int)sy;
            int jx = ix + (ix < src->w - 1), jy = iy + (iy < src->h - 1);
            float u = sx - (float)ix, v = sy - (float)iy;
            for (int c = 0; c < 3; c++) {
                const float *p = src->px + c * sn;
                float a = p[(size_t)iy * src->w + ix] + u * (p[(size_t)iy * src->w + jx] - p[(size_t)iy * src->w + ix]);
                float b = p[(size_t)jy * src->w + ix] + u * (p[(size_t)jy * src->w + jx] - p[(size_t)jy * src->w + ix]);
                float o = gain * (a + v * (b - a));
                dst->px[c * dn + (size_t)y * dst->w + x] = o > 1.f ? 1.f : o;
            }
        }
}

static void random_crop(const ps_photo_set *ps, int i, uint64_t *s, ps_image *dst)
{
    const ps_image *im = &ps->img[i];
    float short_side = (float)(im->w < im->h ? im->w : im->h);
    float side = short_side * (0.35f + 0.65f * rng_unit(s));
    if (side < (float)dst->w * 0.5f) /* never blow a tiny photo up more than 2x */
        side = fminf(short_side, (float)dst->w * 0.5f);
    float x0 = rng_unit(s) * ((float)im->w - side), y0 = rng_unit(s) * ((float)im->h - side);
    int flip = (int)(rng_next(s) & 1);
    float gain = 0.8f + 0.4f * rng_unit(s);
    crop(ps, i, x0, y0, side, flip, gain, dst);
}

void ps_episode_free(ps_episode *ep)
{
    ps_image *arr[7] = {ep->support_photo, ep->support,       ep->query,       ep->query_full,
                        ep->query_color,   ep->query_texture, ep->query_stroke};
    for (int a = 0; a < 7; a++)
        if (arr[a]) {
            for (int j = 0; j < (a < 2 ? ep->k : ep->q); j++)
                ps_img_free(&arr[a][j]);
            free(arr[a]);
        }
    free(ep->support_src);
    free(ep->query_src);
    memset(ep, 0, sizeof *ep);
}

static ps_image *img_array(int count, int side)
{
    ps_image *a = calloc((size_t)count, sizeof *a);
    if (!a)
        return NULL;
    for (int j = 0; j < count; j++)
        if (ps_img_alloc(&a[j], side, side, 3)) {
            for (int t = 0; t < j; t++)
                ps_img_free(&a[t]);
            free(a);
            return NULL;
        }
    return a;
}

static ps_status episode_alloc(ps_episode *ep, int k, int q, int side)
{
    float scale = ep->length_scale; /* the caller's setting survives reallocation */
    ps_episode_free(ep);
    ep->length_scale = scale;
    ep->k = k;
    ep->q = q;
    ep->size = side;
    ep->support_photo = img_array(k, side);
    ep->support = img_array(k, side);
    ep->query = img_array(q, side);
    ep->query_full = img_array(q, side);
    ep->query_color = img_array(q, side);
    ep->query_texture = img_array(q, side);
    ep->query_stroke = img_array(q, side);
    ep->support_src = calloc((size_t)k, sizeof(int));
    ep->query_src = calloc((size_t)q, sizeof(int));
    if (!ep->support_photo || !ep->support || !ep->query || !ep->query_full || !ep->query_color ||
        !ep->query_texture || !ep->query_stroke || !ep->support_src || !ep->query_src) {
        /* a failed img_array left its pointer NULL; ps_episode_free frees the rest */
        ps_episode_free(ep);
        return ps_fail(PS_EINTERNAL, "episode: out of memory for %d+%d images of %d px", k, q, side);
    }
    return PS_OK;
}

ps_status ps_episode_sample(const ps_photo_set *photos, uint64_t seed, int k, int q, int crop_px, ps_episode *ep)
{
    if (!photos || !photos->half || k < 1 || q < 1 || crop_px < 16 || crop_px > 4096)
        return ps_fail(PS_EUSAGE, "episode: need a loaded photo set, K >= 1, Q >= 1, 16 <= crop <= 4096");
    if (k + q > photos->n)
        return ps_fail(PS_EUSAGE, "episode: K+Q = %d photos needed, the set has %d", k + q, photos->n);
    ps_status st;
    if ((ep->k != k || ep->q != q || ep->size != crop_px || !ep->support) && (st = episode_alloc(ep, k, q, crop_px)))
        return st;
    ps_synth_sample(seed, &ep->style);
    ep->style.scale = ep->length_scale;
    /* the crop stream is decorrelated from the style stream, which consumed `seed` directly */
    uint64_t s = seed ^ 0xa0761d6478bd642fULL;
    /* partial Fisher-Yates over photo indices: the first K+Q are distinct, so support and query
     * never share a photo */
    int *idx = malloc(sizeof(int) * (size_t)photos->n);
    if (!idx)
        return ps_fail(PS_EINTERNAL, "episode: out of memory");
    for (int i = 0; i < photos->n; i++)
        idx[i] = i;
    for (int i = 0; i < k + q; i++) {
        int j = i + (int)(rng_next(&s) % (uint64_t)(photos->n - i));
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    st = PS_OK;
    for (int i = 0; i < k && !st; i++) {
        ep->support_src[i] = idx[i];
        random_crop(photos, idx[i], &s, &ep->support_photo[i]);
        st = ps_synth_render(&ep->style, &ep->support_photo[i], &ep->support[i], NULL, NULL, NULL);
    }
    for (int i = 0; i < q && !st; i++) {
        ep->query_src[i] = idx[k + i];
        random_crop(photos, idx[k + i], &s, &ep->query[i]);
        st = ps_synth_render(&ep->style, &ep->query[i], &ep->query_full[i], &ep->query_color[i], &ep->query_texture[i],
                             &ep->query_stroke[i]);
    }
    free(idx);
    return st;
}
