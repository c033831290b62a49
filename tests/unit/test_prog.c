/* The style program on real photos (bench/demo, found through $PSTYLE_ROOT): natural samples
 * give the identity bit for bit; each operator's style, made here with a known recipe on three
 * photos (palette, levels, sepia, lifted black, cells, screen, tiles, grain, flattening, ink,
 * hue shift, sketch, pencil, oil), is found again and reproduces the recipe on the fourth; dials
 * scale their group and 0 is exact; sizes follow the photo's size; hostile packed programs are
 * refused. */
#include "check.h"
#include "src/feat/feat.h"
#include "src/prog/prog.h"
#include <stdlib.h>
#include <string.h>

#define NPHOTO 4
static ps_image photo[NPHOTO];

static void load_photos(void)
{
    const char *root = getenv("PSTYLE_ROOT"), *name[NPHOTO] = {"astronaut", "chelsea", "coffee",
                                                                "rocket"};
    for (int i = 0; i < NPHOTO; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/bench/demo/%s.jpg", root ? root : ".", name[i]);
        if (ps_img_load(path, &photo[i])) {
            fprintf(stderr, "test_prog: %s (set PSTYLE_ROOT to the repository)\n", ps_last_error());
            exit(1);
        }
        photo[i].c = 3;
    }
}

/* A styled copy of src: recipe applied to its sRGB values. */
typedef void (*recipe_fn)(float *srgb, int h, int w);

static void styled(ps_image *dst, const ps_image *src, recipe_fn f)
{
    size_t n = (size_t)3 * src->w * src->h;
    ps_img_alloc(dst, src->w, src->h, 3);
    for (size_t i = 0; i < n; i++)
        dst->px[i] = ps_linear_to_srgb(src->px[i]);
    f(dst->px, src->h, src->w);
    for (size_t i = 0; i < n; i++)
        dst->px[i] = ps_srgb_to_linear(dst->px[i] < 0 ? 0 : dst->px[i] > 1 ? 1 : dst->px[i]);
}

/* Fit on three styled photos, apply to the fourth at weight 1: *p and the output. */
static void fit_and_apply(recipe_fn f, ps_prog *p, ps_image *out, ps_image *truth)
{
    ps_image s[3];
    for (int i = 0; i < 3; i++)
        styled(&s[i], &photo[i], f);
    CHECK(ps_prog_fit(p, s, 3) == PS_OK, "%s", ps_last_error());
    const ps_dials w1 = {1, 1, 1};
    CHECK(ps_prog_apply(p, &photo[3], &w1, out) == PS_OK, "%s", ps_last_error());
    styled(truth, &photo[3], f);
    for (int i = 0; i < 3; i++)
        ps_img_free(&s[i]);
}

static double max_abs(const ps_image *a, const ps_image *b)
{
    double m = 0;
    for (size_t i = 0; i < (size_t)3 * a->w * a->h; i++)
        m = fmax(m, fabs(ps_linear_to_srgb(a->px[i]) - ps_linear_to_srgb(b->px[i])));
    return m;
}

static double mean_abs(const ps_image *a, const ps_image *b)
{
    double m = 0;
    size_t n = (size_t)3 * a->w * a->h;
    for (size_t i = 0; i < n; i++)
        m += fabs(ps_linear_to_srgb(a->px[i]) - ps_linear_to_srgb(b->px[i])) / n;
    return m;
}

static void test_natural(void)
{
    ps_prog p;
    CHECK(ps_prog_fit(&p, photo, NPHOTO) == PS_OK, "%s", ps_last_error());
    for (int g = 0; g < 3; g++)
        CHECK(!ps_prog_group_on(&p, g), "natural photos open group %d", g);
    for (int i = 0; i < NPHOTO; i++) { /* and one photo alone */
        ps_prog q;
        ps_prog_fit(&q, &photo[i], 1);
        CHECK(!ps_prog_group_on(&q, 0) && !ps_prog_group_on(&q, 1) && !ps_prog_group_on(&q, 2),
              "photo %d alone opens a group", i);
    }
    ps_image out = {0};
    const ps_dials w = {2, 2, 2};
    CHECK(ps_prog_apply(&p, &photo[0], &w, &out) == PS_OK &&
              !memcmp(out.px, photo[0].px, sizeof(float) * 3 * out.w * out.h), "identity, bit for bit");
    ps_img_free(&out);
}

static void sepia(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++) {
        float r = s[i], g = s[hw + i], b = s[2 * hw + i];
        s[i] = 0.393f * r + 0.769f * g + 0.189f * b;
        s[hw + i] = 0.349f * r + 0.686f * g + 0.168f * b;
        s[2 * hw + i] = 0.272f * r + 0.534f * g + 0.131f * b;
    }
}

static void test_sepia(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(sepia, &p, &out, &truth);
    double before = ps_feat_delta_e(photo[3].px, truth.px, truth.h, truth.w);
    double after = ps_feat_delta_e(out.px, truth.px, truth.h, truth.w);
    CHECK(ps_prog_group_on(&p, 0) && !ps_prog_group_on(&p, 1) && !ps_prog_group_on(&p, 2),
          "sepia is colour only");
    CHECK(p.beta_g > 0.9f && p.beta < 0.2f, "the photo's chroma goes: beta %.3f at %.2f", p.beta,
          p.beta_g);
    CHECK(after < 0.35 * before, "dE00 to the true sepia %.2f, photo's %.2f", after, before);
    /* the colour dial: 0 exact, 0.5 between, 2 past */
    const ps_dials w0 = {0, 1, 1}, wh = {0.5f, 1, 1};
    ps_image o0 = {0}, oh = {0};
    ps_prog_apply(&p, &photo[3], &w0, &o0);
    ps_prog_apply(&p, &photo[3], &wh, &oh);
    CHECK(!memcmp(o0.px, photo[3].px, sizeof(float) * 3 * o0.w * o0.h), "colour 0 is the photo");
    double half = ps_feat_delta_e(oh.px, photo[3].px, oh.h, oh.w),
           full = ps_feat_delta_e(out.px, photo[3].px, oh.h, oh.w);
    CHECK(half > 0.2 * full && half < 0.8 * full, "colour 0.5 moves %.2f of 1's %.2f", half, full);
    ps_img_free(&o0);
    ps_img_free(&oh);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* Six colours, nearest in Lab. */
static const float six[6][3] = {{0.1f, 0.1f, 0.15f}, {0.95f, 0.93f, 0.85f}, {0.8f, 0.25f, 0.2f},
                                {0.25f, 0.5f, 0.3f}, {0.2f, 0.3f, 0.65f}, {0.9f, 0.75f, 0.3f}};
static void six_colours(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    double pal[6][3];
    for (int j = 0; j < 6; j++) {
        float lin[3];
        for (int c = 0; c < 3; c++)
            lin[c] = ps_srgb_to_linear(six[j][c]);
        ps_feat_rgb_to_lab(lin, pal[j]);
    }
    for (size_t i = 0; i < hw; i++) {
        float lin[3] = {ps_srgb_to_linear(s[i]), ps_srgb_to_linear(s[hw + i]),
                        ps_srgb_to_linear(s[2 * hw + i])};
        double lab[3], bd = 1e30;
        int best = 0;
        ps_feat_rgb_to_lab(lin, lab);
        for (int j = 0; j < 6; j++) {
            double d = 0;
            for (int c = 0; c < 3; c++)
                d += (lab[c] - pal[j][c]) * (lab[c] - pal[j][c]);
            if (d < bd) {
                bd = d;
                best = j;
            }
        }
        for (int c = 0; c < 3; c++) /* exactly representable in 8 bits, as a PNG would be */
            s[c * hw + i] = roundf(six[best][c] * 255) / 255;
    }
}

static void test_palette(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(six_colours, &p, &out, &truth);
    CHECK(p.pal_g == 1 && p.npal == 6 && !p.dither, "palette of %d (dither %g)", p.npal, p.dither);
    size_t hw = (size_t)out.w * out.h, same = 0;
    for (size_t i = 0; i < hw; i++) {
        int eq = 1;
        for (int c = 0; c < 3; c++)
            eq &= fabsf(ps_linear_to_srgb(out.px[c * hw + i]) - ps_linear_to_srgb(truth.px[c * hw + i])) <
                  1.5f / 255;
        same += eq;
    }
    CHECK(same > 0.97 * hw, "%.1f %% of pixels take the recipe's colour", 100.0 * same / hw);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* Posterize: 4 levels per channel, each channel by itself. */
static void levels4(float *s, int h, int w)
{
    for (size_t i = 0; i < (size_t)3 * h * w; i++)
        s[i] = roundf(roundf(s[i] * 3) / 3 * 255) / 255;
}

static void test_levels(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(levels4, &p, &out, &truth);
    CHECK(p.pal_g == 1 && p.nlev[0] == 4 && p.nlev[1] == 4 && p.nlev[2] == 4,
          "levels %d x %d x %d (palette %d)", p.nlev[0], p.nlev[1], p.nlev[2], p.npal);
    size_t n = (size_t)3 * out.w * out.h, same = 0;
    for (size_t i = 0; i < n; i++)
        same += fabsf(ps_linear_to_srgb(out.px[i]) - ps_linear_to_srgb(truth.px[i])) < 1.5f / 255;
    CHECK(same > 0.97 * n, "%.1f %% of values take the recipe's level", 100.0 * same / n);
    ps_img_free(&out);
    ps_img_free(&truth);
}

static void pixelize8(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (int by = 0; by < h; by += 8)
            for (int bx = 0; bx < w; bx += 8) {
                double m = 0;
                int n = 0;
                for (int y = by; y < by + 8 && y < h; y++)
                    for (int x = bx; x < bx + 8 && x < w; x++, n++)
                        m += s[c * hw + (size_t)y * w + x];
                for (int y = by; y < by + 8 && y < h; y++)
                    for (int x = bx; x < bx + 8 && x < w; x++)
                        s[c * hw + (size_t)y * w + x] = roundf((float)(m / n) * 255) / 255;
            }
}

static void test_cells(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0}, big = {0}, bout = {0};
    fit_and_apply(pixelize8, &p, &out, &truth);
    CHECK(p.cell_g == 1 && p.cell == 8, "cells %g at %g", p.cell, p.cell_g);
    CHECK(!ps_prog_group_on(&p, 0) && !ps_prog_group_on(&p, 2), "cells are texture only");
    CHECK(max_abs(&out, &truth) < 1.5 / 255, "the recipe's blocks, to %.4f", max_abs(&out, &truth));
    /* twice the photo's size: blocks twice as big (the same share of the picture) */
    ps_img_resize(&photo[3], &big, photo[3].w * 2, photo[3].h * 2);
    const ps_dials w1 = {1, 1, 1};
    p.fit_px = (float)(photo[3].w > photo[3].h ? photo[3].w : photo[3].h);
    ps_prog_apply(&p, &big, &w1, &bout);
    int constant = 1;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++)
            constant &= bout.px[(size_t)y * bout.w + x] == bout.px[0];
    CHECK(constant && bout.px[16] != bout.px[15], "16-pixel blocks at twice the size");
    ps_img_free(&out);
    ps_img_free(&truth);
    ps_img_free(&big);
    ps_img_free(&bout);
}

static const float period4[4][4] = {{0.06f, -0.02f, 0.06f, -0.02f}, {-0.04f, -0.04f, 0.0f, 0.0f},
                                    {0.02f, 0.06f, -0.06f, 0.0f}, {-0.04f, 0.0f, 0.02f, 0.0f}};
static void screen4(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float *v = &s[c * hw + (size_t)y * w + x];
                *v = roundf((*v * 0.8f + 0.1f + period4[y % 4][x % 4]) * 255) / 255;
            }
}

static void test_screen(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(screen4, &p, &out, &truth);
    CHECK(p.screen_g == 1 && p.screen_w == 4 && p.screen_h == 4, "screen period %dx%d at %g",
          p.screen_w, p.screen_h, p.screen_g);
    double e = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) /* the pattern has mean 0 over its period */
            e = fmax(e, fabs(p.screen[1][y][x] - (period4[y][x] - 0.0f + 0.0f)));
    CHECK(e < 0.012, "pattern within %.4f", e);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* A canvas as GEGL's texturize-canvas makes one: a fixed grey relief of period 128 added to
 * every channel (here hashed noise, +-0.15). */
static float canvas_at(int y, int x)
{
    uint32_t z = (uint32_t)(y % 128) * 2654435761u ^ (uint32_t)(x % 128) * 40503u;
    z ^= z >> 15;
    z *= 2246822519u;
    z ^= z >> 13;
    return ((z & 1023) / 1023.0f - 0.5f) * 0.3f;
}

static void canvas128(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                s[c * hw + (size_t)y * w + x] += canvas_at(y, x);
}

static void test_canvas(void)
{
    ps_prog p, q;
    ps_image out = {0}, truth = {0};
    fit_and_apply(canvas128, &p, &out, &truth);
    CHECK(p.screen_g == 1 && p.screen_w == 128 && p.screen_h == 128, "canvas period %dx%d at %g",
          p.screen_w, p.screen_h, p.screen_g);
    double sxy = 0, sxx = 0, syy = 0, m = 0;
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 128; x++)
            m += canvas_at(y, x) / (128 * 128);
    for (int y = 0; y < 128 && p.screen_w == 128 && p.screen_h == 128; y++)
        for (int x = 0; x < 128; x++) {
            double a = p.screen[1][y][x], b = canvas_at(y, x) - m;
            sxy += a * b;
            sxx += a * a;
            syy += b * b;
        }
    CHECK(sxy > 0.95 * sqrt(sxx * syy), "pattern correlation %.3f", sxy / sqrt(sxx * syy + 1e-30));
    /* on a photo of the samples' size the pattern lands where the recipe puts it */
    const ps_dials w1 = {1, 1, 1};
    ps_image o0 = {0}, t0 = {0};
    CHECK(ps_prog_apply(&p, &photo[0], &w1, &o0) == PS_OK, "%s", ps_last_error());
    styled(&t0, &photo[0], canvas128);
    double before = mean_abs(&photo[0], &t0), after = mean_abs(&o0, &t0);
    CHECK(after < 0.25 * before, "mean error %.4f, the photo's %.4f", after, before);
    /* the pattern travels after the fields, and a wrong length or period is refused */
    static float v[PS_PROG_MAXFLOATS];
    long n = ps_prog_pack(&p, v);
    CHECK(n == PS_PROG_NFLOATS + 3 * 128 * 128, "packed length %ld", n);
    CHECK(ps_prog_unpack(&q, v, n) == PS_OK && q.screen_w == 128 && q.screen_h == 128 &&
              !memcmp(q.screen[2][127], p.screen[2][127], sizeof(float) * 128),
          "unpacked pattern: %s", ps_last_error());
    CHECK(ps_prog_unpack(&q, v, n - 1) == PS_EINPUT && ps_prog_unpack(&q, v, PS_PROG_NFLOATS) ==
          PS_EINPUT, "a short pattern accepted");
    int at = -1;
    for (int i = 1; i < PS_PROG_NFLOATS - 1 && at < 0; i++)
        at = v[i] == 128 && v[i + 1] == 128 ? i : -1;
    CHECK(at > 0, "period fields found");
    float bad[] = {129, 0.5f, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0] && at > 0; i++) {
        v[at] = bad[i];
        CHECK(ps_prog_unpack(&q, v, n) == PS_EINPUT, "screen width %g accepted", bad[i]);
        v[at] = 128;
    }
    ps_img_free(&o0);
    ps_img_free(&t0);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* A black-ink halftone written out by brute force: dots on a lattice of period 7 at 20 degrees,
 * each pixel black when its centre lies within the disc of its nearest lattice point whose area
 * is the pixel's grey-component coverage, 1 - its largest linear channel (no anti-aliasing). */
static void halftone7(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    const double P = 7, th = 20 * M_PI / 180, c = cos(th), sn = sin(th);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double k = 1 - ps_srgb_to_linear(fmaxf(fmaxf(s[i], s[hw + i]), s[2 * hw + i]));
            double u = ((x + 0.5) * c + (y + 0.5) * sn) / P, v = ((y + 0.5) * c - (x + 0.5) * sn) / P;
            double du = u - floor(u + 0.5), dv = v - floor(v + 0.5);
            int ink = du * du + dv * dv < k / M_PI || k > 0.9;
            for (int ch = 0; ch < 3; ch++)
                s[ch * hw + i] = ink ? 0 : 1;
        }
}

static void test_halftone(void)
{
    ps_prog p, q;
    ps_image out = {0}, truth = {0};
    fit_and_apply(halftone7, &p, &out, &truth);
    double a = fmod(p.ht_angle[3] - 20 + 720, 90); /* a square lattice: its angle mod 90 */
    CHECK(p.ht_g == 1 && fabs(p.ht_period[3] - 7) < 0.15 && fmin(a, 90 - a) < 1.5 &&
              p.ht_dot[3] == 1,
          "black screen %.2f px at %.1f deg, dots %g", p.ht_period[3], p.ht_angle[3], p.ht_dot[3]);
    CHECK(!p.pal_g && !p.screen_g && !p.grain_g && !p.ink_g && !p.flat_g, "a halftone alone");
    /* the recipe's dots sit on whole cycles of both lattice axes */
    for (int j = 0; j < 2; j++)
        CHECK(fmin(p.ht_phase[3][j], 1 - p.ht_phase[3][j]) < 0.08, "phase %d at %.3f", j,
              p.ht_phase[3][j]);
    /* printed: ink or paper but for the dots' anti-aliased rims, and cell by cell as dark as
     * the recipe (linear green, over 7x7) */
    size_t hw = (size_t)out.w * out.h;
    float *g = malloc(sizeof(float) * hw * 5);
    double mid = 0, mid_photo = 0, e = 0;
    for (size_t i = 0; i < hw; i++) {
        g[i] = out.px[hw + i];
        g[hw + i] = truth.px[hw + i];
        float o = ps_linear_to_srgb(g[i]), ph = ps_linear_to_srgb(photo[3].px[hw + i]);
        mid += o > 0.15f && o < 0.85f ? 1.0 / hw : 0;
        mid_photo += ph > 0.15f && ph < 0.85f ? 1.0 / hw : 0;
    }
    ps_prog_box(g + 2 * hw, g, out.h, out.w, 3, g + 4 * hw);
    ps_prog_box(g + 3 * hw, g + hw, out.h, out.w, 3, g + 4 * hw);
    for (size_t i = 0; i < hw; i++)
        e += fabs(g[2 * hw + i] - g[3 * hw + i]) / hw;
    free(g);
    CHECK(mid < 0.4 * mid_photo && e < 0.06,
          "%.2f of pixels neither ink nor paper (the photo's %.2f); cell error %.3f", mid,
          mid_photo, e);
    static float v[PS_PROG_MAXFLOATS];
    long n = ps_prog_pack(&p, v);
    CHECK(ps_prog_unpack(&q, v, n) == PS_OK && q.ht_g == 1 && q.ht_period[3] == p.ht_period[3] &&
              q.ht_angle[3] == p.ht_angle[3] && q.ht_dot[3] == 1,
          "unpacked screens: %s", ps_last_error());
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* A mosaic written out by brute force: squares of side 10, each its mean colour, between
 * black joints one pixel wide (each square's last row and column), its top and left two pixels
 * lit and its bottom and right two shaded, in 8 bits. */
static void tiles10(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (int by = 0; by < h; by += 10)
        for (int bx = 0; bx < w; bx += 10) {
            int ey = by + 10 < h ? by + 10 : h, ex = bx + 10 < w ? bx + 10 : w;
            for (int c = 0; c < 3; c++) {
                double m = 0;
                for (int y = by; y < ey; y++)
                    for (int x = bx; x < ex; x++)
                        m += s[c * hw + (size_t)y * w + x] / ((ey - by) * (ex - bx));
                for (int y = by; y < ey; y++)
                    for (int x = bx; x < ex; x++) {
                        int u = x - bx, v = y - by;
                        float o = (float)m;
                        if (u == 9 || v == 9)
                            o = 0;
                        else if (u < 2 || v < 2)
                            o += 0.1f * (1 - o);
                        else if (u > 6 || v > 6)
                            o *= 0.9f;
                        s[c * hw + (size_t)y * w + x] = roundf(o * 255) / 255;
                    }
            }
        }
}

static void test_tiles(void)
{
    ps_prog p, q;
    ps_image out = {0}, truth = {0}, big = {0}, bout = {0};
    CHECK(ps_prog_fit(&q, photo, NPHOTO) == PS_OK && q.tile_g == 0, "natural photos tiled");
    fit_and_apply(tiles10, &p, &out, &truth);
    CHECK(p.tile_g == 1 && fabsf(p.tile_size - 10) < 1 && fabsf(p.tile_joint - 1) < 0.5f &&
              p.tile_dark < 0.1f && p.tile_bevel > 0.3f,
          "tiles %.2f px, joints %.2f px at %.2f, bevel %.2f, at %.2f", p.tile_size, p.tile_joint,
          p.tile_dark, p.tile_bevel, p.tile_g);
    CHECK(!ps_prog_group_on(&p, 0) && !ps_prog_group_on(&p, 2) && !p.grain_g && !p.cell_g &&
              !p.screen_g,
          "tiles alone");
    /* tiles of another shape, the recipe's colours: alike over a few tiles */
    size_t hw = (size_t)out.w * out.h;
    float *b = malloc(sizeof(float) * hw * 3);
    double e = 0;
    for (int c = 0; c < 3; c++) {
        ps_prog_box(b, out.px + c * hw, out.h, out.w, 15, b + 2 * hw);
        ps_prog_box(b + hw, truth.px + c * hw, out.h, out.w, 15, b + 2 * hw);
        for (size_t i = 0; i < hw; i++)
            e += fabs(ps_linear_to_srgb(b[i]) - ps_linear_to_srgb(b[hw + i])) / (3.0 * hw);
    }
    CHECK(e < 0.03, "the tiles' colours off the recipe's by %.4f", e);
    /* deterministic, and at twice the photo's size tiles twice as big: as big at the fit size */
    const ps_dials w1 = {1, 1, 1};
    ps_prog_apply(&p, &photo[3], &w1, &bout);
    CHECK(!memcmp(out.px, bout.px, sizeof(float) * 3 * hw), "the same tiles twice");
    ps_img_free(&bout);
    ps_img_resize(&photo[3], &big, photo[3].w * 2, photo[3].h * 2);
    p.fit_px = (float)(photo[3].w > photo[3].h ? photo[3].w : photo[3].h);
    ps_prog_apply(&p, &big, &w1, &bout);
    ps_img_free(&big);
    ps_img_resize(&bout, &big, photo[3].w, photo[3].h); /* back to the fit size to fit it */
    float *srgb = malloc(sizeof(float) * 3 * hw);
    for (size_t i = 0; i < 3 * hw; i++)
        srgb[i] = ps_linear_to_srgb(big.px[i]);
    ps_prog_identity(&q);
    CHECK(ps_prog_tile_fit(&q, &srgb, &big.h, &big.w, 1) &&
              fabsf(q.tile_size / p.tile_size - 1) < 0.1f,
          "at twice the size: tiles of %.2f fit px for %.2f", q.tile_size, p.tile_size);
    /* the dial: 0 is the photo bit for bit, 2 goes past the tiles */
    const ps_dials w0 = {1, 0, 1}, w2 = {1, 2, 1};
    ps_img_free(&bout);
    ps_prog_apply(&p, &photo[3], &w0, &bout);
    CHECK(!memcmp(bout.px, photo[3].px, sizeof(float) * 3 * hw), "texture 0 is the photo");
    ps_img_free(&bout);
    ps_prog_apply(&p, &photo[3], &w2, &bout);
    double d1 = mean_abs(&out, &photo[3]), d2 = mean_abs(&bout, &photo[3]);
    CHECK(d2 > 1.3 * d1, "dial 2 moves %.4f, 1 moves %.4f", d2, d1);
    free(b);
    free(srgb);
    ps_img_free(&out);
    ps_img_free(&truth);
    ps_img_free(&big);
    ps_img_free(&bout);
}

static uint64_t rng = 88172645463325252ull;
static double normal(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    double u1 = ((rng >> 11) + 0.5) / 9007199254740992.0;
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    double u2 = ((rng >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void grain6(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    for (size_t i = 0; i < hw; i++) {
        double n = normal();
        for (int c = 0; c < 3; c++)
            s[c * hw + i] = s[c * hw + i] * 0.8f + 0.1f + (float)(0.06 * n);
    }
}

static void test_grain(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(grain6, &p, &out, &truth);
    CHECK(p.grain_g > 0.9f && p.grain_mono > 0.9f, "mono grain at %.2f (mono %.2f)", p.grain_g,
          p.grain_mono);
    for (int c = 0; c < 3; c++)
        CHECK(fabs(p.grain_sigma[c] - 0.06) < 0.015, "sigma %d %.4f", c, p.grain_sigma[c]);
    /* deterministic: the same call gives the same grain */
    ps_image again = {0};
    const ps_dials w1 = {1, 1, 1};
    ps_prog_apply(&p, &photo[3], &w1, &again);
    CHECK(!memcmp(again.px, out.px, sizeof(float) * 3 * out.w * out.h), "same grain twice");
    ps_img_free(&again);
    ps_img_free(&out);
    ps_img_free(&truth);
}

static void flat3(float *s, int h, int w)
{
    for (int i = 0; i < 3; i++)
        ps_prog_flatten(s, h, w, 5);
}

static void test_flatten(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(flat3, &p, &out, &truth);
    /* the guided filter or paint's recursive one: either is a flattening */
    CHECK(fmaxf(p.flat_g, p.paint_g) > 0.5f && !ps_prog_group_on(&p, 1),
          "flattening at %.2f (radius %.0f) or paint at %.2f (%.0f px), no texture", p.flat_g,
          p.flat_r, p.paint_g, p.paint_ss);
    double d_out = mean_abs(&out, &truth), d_photo = mean_abs(&photo[3], &truth);
    CHECK(d_out < 0.8 * d_photo, "closer to the recipe (mean |sRGB| %.4f) than the photo (%.4f)",
          d_out, d_photo);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* A pixel's oil histogram bin and 12-bit colour, as oil.c reads them. */
static int oil_bin(const float *s, size_t hw, size_t i, int nbins, int q[3])
{
    float l = 0.299f * s[i] + 0.587f * s[hw + i] + 0.114f * s[2 * hw + i];
    int b = (int)(l * nbins);
    for (int c = 0; c < 3 && q; c++)
        q[c] = (int)(fminf(fmaxf(s[c * hw + i], 0), 1) * 4095 + 0.5f);
    return b < 0 ? 0 : b >= nbins ? nbins - 1 : b;
}

/* The oil filter pixel by pixel, each window's histogram counted afresh, in double: the
 * bins' colour means weighted by their count^16, bins under an eighth of the largest dropped. */
static void oil_naive(const float *s, int h, int w, int r, float *out)
{
    size_t hw = (size_t)h * w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            long cnt[32] = {0}, sum[32][3] = {{0}}, top = 1;
            for (int v = y - r; v <= y + r; v++)
                for (int u = x - r; u <= x + r; u++) {
                    if (v < 0 || v >= h || u < 0 || u >= w)
                        continue;
                    int q[3], b = oil_bin(s, hw, (size_t)v * w + u, 32, q);
                    cnt[b]++;
                    for (int c = 0; c < 3; c++)
                        sum[b][c] += q[c];
                }
            for (int b = 0; b < 32; b++)
                top = cnt[b] > top ? cnt[b] : top;
            double num[3] = {0}, den = 0;
            for (int b = 0; b < 32; b++) {
                double u = cnt[b] * 8 >= top ? pow((double)cnt[b] / top, 15) : 0;
                den += u * cnt[b];
                for (int c = 0; c < 3; c++)
                    num[c] += u * sum[b][c];
            }
            for (int c = 0; c < 3; c++)
                out[c * hw + (size_t)y * w + x] = (float)(num[c] / den / 4095);
        }
}

/* The sliding histograms against each window counted afresh, on a photo's crop and on a field
 * of one colour with strays, whose colour the mode keeps exactly (a mean would not). */
static void test_oil_reference(void)
{
    const int h = 61, w = 83, hw = h * w;
    float *s = malloc(sizeof(float) * 3 * hw), *ref = malloc(sizeof(float) * 3 * hw);
    float *out = malloc(sizeof(float) * 3 * hw);
    const ps_image *a = &photo[1];
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                s[(c * h + y) * w + x] =
                    ps_linear_to_srgb(a->px[((size_t)c * a->h + 100 + y) * a->w + 150 + x]);
    for (int r = 1; r <= 9; r += 4) {
        oil_naive(s, h, w, r, ref);
        CHECK(ps_prog_oil(s, out, h, w, r) == PS_OK, "%s", ps_last_error());
        double e = 0;
        for (int i = 0; i < 3 * hw; i++)
            e = fmax(e, fabs(out[i] - ref[i]));
        CHECK(e < 1e-5, "radius %d: off the reference by %.2e", r, e);
        memcpy(s, ref, sizeof(float) * 3 * hw); /* the next radius on an oiled image */
    }
    const float field[3] = {0.3f, 0.5f, 0.7f};
    for (int i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) /* one pixel in 16 a stray, darker than the field (0.46) */
            s[c * hw + i] = (i * 2654435761u) % 16 ? field[c] : 0.35f * ((i * 40503u) % 97) / 96;
    CHECK(ps_prog_oil(s, out, h, w, 3) == PS_OK, "%s", ps_last_error());
    double e = 0;
    for (int i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++)
            e = fmax(e, fabs(out[c * hw + i] - field[c]));
    CHECK(e < 0.501 / 4095, "the strays go, the field keeps its colour to its 12-bit sum, %.2e", e);
    free(s);
    free(ref);
    free(out);
}

/* OpenCV's oilPainting: the mean colour of the window's most common grey (64 bins, radius 4) */
static void oil_hard4(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    float *out = malloc(sizeof(float) * 3 * hw);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int cnt[64] = {0}, best = 0;
            double sum[64][3] = {{0}};
            for (int v = y - 4; v <= y + 4; v++)
                for (int u = x - 4; u <= x + 4; u++) {
                    if (v < 0 || v >= h || u < 0 || u >= w)
                        continue;
                    size_t j = (size_t)v * w + u;
                    int b = oil_bin(s, hw, j, 64, NULL);
                    cnt[b]++;
                    for (int c = 0; c < 3; c++)
                        sum[b][c] += s[c * hw + j];
                }
            for (int b = 1; b < 64; b++)
                best = cnt[b] > cnt[best] ? b : best;
            for (int c = 0; c < 3; c++)
                out[c * hw + (size_t)y * w + x] = (float)(sum[best][c] / cnt[best]);
        }
    memcpy(s, out, sizeof(float) * 3 * hw);
    free(out);
}

static void test_oil(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(oil_hard4, &p, &out, &truth);
    /* a hard mode flattens more than the soft one at its radius: at least as wide a window */
    CHECK(p.oil_g > 0.5f && p.oil_r >= 4 && !p.paint_g && !p.flat_g &&
              !ps_prog_group_on(&p, 0) && !ps_prog_group_on(&p, 1),
          "oil at %.2f (radius %.0f) alone; paint %.2f, flattening %.2f", p.oil_g, p.oil_r,
          p.paint_g, p.flat_g);
    double d_out = mean_abs(&out, &truth), d_photo = mean_abs(&photo[3], &truth);
    CHECK(d_out < 0.8 * d_photo, "closer to the recipe (mean |sRGB| %.4f) than the photo (%.4f)",
          d_out, d_photo);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* How much darker than its 9x9 mean (in luma, sRGB 0..1) each pixel of s is; caller frees. */
static float *darkness9(const float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    float *y = calloc(hw * 3, sizeof(float));
    if (!y)
        abort();
    float *m = y + hw, *tmp = y + 2 * hw;
    for (size_t i = 0; i < hw; i++)
        y[i] = 0.299f * s[i] + 0.587f * s[hw + i] + 0.114f * s[2 * hw + i];
    ps_prog_box(m, y, h, w, 4, tmp);
    for (size_t i = 0; i < hw; i++)
        y[i] = m[i] - y[i];
    return y;
}

/* Ink on paper: the photo lightened, and its pixels well below their 9x9 mean (in luma) made
 * near-black, as photocopy and sketch filters do. */
static void inked(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    float *d = darkness9(s, h, w);
    for (size_t i = 0; i < 3 * hw; i++)
        s[i] = 0.6f + 0.4f * s[i];
    for (size_t i = 0; i < hw; i++)
        if (d[i] > 0.05f)
            for (int c = 0; c < 3; c++)
                s[c * hw + i] = 0.06f;
    free(d);
}

static void test_ink(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(inked, &p, &out, &truth);
    CHECK(p.ink_g > 0.5f && p.grain_g == 0 && !ps_prog_group_on(&p, 1), "ink at %.2f, grain %.2f",
          p.ink_g, p.grain_g);
    CHECK(p.ink_L < 20, "dark ink: L %.1f", p.ink_L);
    /* the ink goes where the recipe's does: the stroke dial alone, against the recipe's marks */
    const ps_dials ws = {0, 0, 1};
    ps_image o1 = {0};
    ps_prog_apply(&p, &photo[3], &ws, &o1);
    size_t hw = (size_t)o1.w * o1.h, marked = 0, hit = 0, stray = 0, lit = 0;
    for (size_t i = 0; i < hw; i++) { /* where the photo is light enough to darken by 0.1 */
        if (ps_linear_to_srgb(photo[3].px[i]) < 0.3f)
            continue;
        lit++;
        int ink = ps_linear_to_srgb(truth.px[i]) < 0.1f;
        int dark = ps_linear_to_srgb(o1.px[i]) < ps_linear_to_srgb(photo[3].px[i]) - 0.1f;
        marked += ink;
        hit += ink && dark;
        stray += !ink && dark;
    }
    CHECK(marked && hit > 0.5 * marked && stray < 0.1 * (lit - marked),
          "ink on %.0f %% of the recipe's marks, %.1f %% elsewhere", 100.0 * hit / marked,
          100.0 * stray / (lit - marked));
    ps_img_free(&o1);
    const ps_dials w0 = {0, 1, 0};
    ps_image o0 = {0};
    ps_prog_apply(&p, &photo[3], &w0, &o0);
    CHECK(!memcmp(o0.px, photo[3].px, sizeof(float) * 3 * o0.w * o0.h), "colour and stroke 0: the photo");
    ps_img_free(&o0);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* Hue shift: every colour's Lab hue turned by 60 degrees, lightness and chroma kept. */
static void hue60(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    double c = cos(M_PI / 3), sn = sin(M_PI / 3);
    for (size_t i = 0; i < hw; i++) {
        float lin[3];
        double lab[3];
        for (int k = 0; k < 3; k++)
            lin[k] = ps_srgb_to_linear(s[k * hw + i]);
        ps_feat_rgb_to_lab(lin, lab);
        double a = lab[1];
        lab[1] = c * a - sn * lab[2];
        lab[2] = sn * a + c * lab[2];
        ps_feat_lab_to_rgb(lab, lin);
        for (int k = 0; k < 3; k++)
            s[k * hw + i] = ps_linear_to_srgb(lin[k] < 0 ? 0 : lin[k] > 1 ? 1 : lin[k]);
    }
}

/* Hue: found from statistics whose histogram is the natural one turned by 60 degrees (from
 * photos it needs varied hues: the demo photos are nearly all orange, which turned by 60 looks
 * like natural green), and painted as the recipe paints. */
static void test_hue(void)
{
    static ps_prog_imstat st[5];
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < PS_PROG_NHUE; b++)
            st[i].hue[b] = ps_prog_nat.hue[(b + PS_PROG_NHUE - 6) % PS_PROG_NHUE];
    ps_prog_dist d;
    ps_prog_distances(st, 5, &ps_prog_nat, &d);
    CHECK(fabs(d.hue_deg - 60) < 3 && d.hue > 2 * ps_prog_nat.d_hue[4],
          "turned histogram: %+.1f deg, gain %.3f (natural spread %.3f)", d.hue_deg, d.hue,
          ps_prog_nat.d_hue[4]);
    ps_prog p;
    ps_prog_identity(&p);
    p.hue_g = 1;
    p.hue_deg = (float)d.hue_deg;
    ps_image out = {0}, truth = {0};
    const ps_dials w1 = {1, 1, 1};
    CHECK(ps_prog_apply(&p, &photo[3], &w1, &out) == PS_OK, "%s", ps_last_error());
    styled(&truth, &photo[3], hue60);
    double e = mean_abs(&out, &truth), e0 = mean_abs(&photo[3], &truth);
    CHECK(e < 0.2 * e0, "hue shift: mean error %.4f (the photo's %.4f)", e, e0);
    ps_image o2 = {0};
    const ps_dials w2 = {2, 1, 1};
    ps_prog_apply(&p, &photo[3], &w2, &o2);
    CHECK(mean_abs(&o2, &truth) > 2 * e, "colour 2 turns twice as far");
    ps_img_free(&o2);
    ps_image o0 = {0};
    const ps_dials w0 = {0, 1, 1};
    ps_prog_apply(&p, &photo[3], &w0, &o0);
    CHECK(!memcmp(o0.px, photo[3].px, sizeof(float) * 3 * o0.w * o0.h), "colour 0: the photo");
    ps_img_free(&o0);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* A large photo reads the colour grade from a table, a small one computes it per pixel: the
 * same pixels of a strong grade (hue, tone, band colour, chroma) come out within 2 of 255 both
 * ways, and on average within 0.02, but not bit for bit (so the table was used). The large one
 * is the fourth photo tiled 3 x 3 (1.4 MP), so its top left ninth is the photo itself, which is
 * small enough for the exact path. */
static void test_grade_table(void)
{
    const ps_image *ph = &photo[3];
    ps_image big = {0}, ob = {0}, os = {0};
    int w = ph->w, h = ph->h;
    ps_img_alloc(&big, 3 * w, 3 * h, 3);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 3 * h; y++)
            for (int x = 0; x < 3 * w; x++)
                big.px[((size_t)c * 3 * h + y) * 3 * w + x] =
                    ph->px[((size_t)c * h + y % h) * w + x % w];
    ps_prog p;
    ps_prog_identity(&p);
    p.hue_g = p.tone_g = p.chroma_g = p.beta_g = 1;
    p.hue_deg = 40;
    p.beta = 0.5f;
    for (int q = 0; q < PS_PROG_NQ; q++)
        p.tone_q[q] = 15 + 0.8f * ps_prog_nat.lq[q];
    for (int b = 0; b < PS_PROG_NB; b++) {
        p.cab[b][0] = 25 - 4.0f * b;
        p.cab[b][1] = 35 - 3.0f * b;
    }
    const ps_dials w1 = {1, 1, 1};
    CHECK(ps_prog_apply(&p, &big, &w1, &ob) == PS_OK, "%s", ps_last_error());
    CHECK(ps_prog_apply(&p, ph, &w1, &os) == PS_OK, "%s", ps_last_error());
    double mx = 0, mean = 0, moved = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double a = ps_linear_to_srgb(ob.px[((size_t)c * 3 * h + y) * 3 * w + x]);
                double e = ps_linear_to_srgb(os.px[((size_t)c * h + y) * w + x]);
                double o = ps_linear_to_srgb(ph->px[((size_t)c * h + y) * w + x]);
                mx = fmax(mx, fabs(a - e));
                mean += fabs(a - e) / (3.0 * w * h);
                moved += fabs(o - e) / (3.0 * w * h);
            }
    CHECK(moved > 0.05, "the grade moves the photo by %.4f on average", moved);
    CHECK(mx > 0 && mx <= 2.0 / 255 && mean <= 0.02 / 255,
          "table against per pixel: max %.2f/255, mean %.3f/255", 255 * mx, 255 * mean);
    ps_img_free(&big);
    ps_img_free(&ob);
    ps_img_free(&os);
}

/* Levels with a lifted black (a faded print): every value to 0.35 + 0.65 v. */
static void lifted(float *s, int h, int w)
{
    for (size_t i = 0; i < (size_t)3 * h * w; i++)
        s[i] = 0.35f + 0.65f * s[i];
}

static void test_black(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(lifted, &p, &out, &truth);
    CHECK(p.tone_g > 0.5f && p.pal_g == 0 && p.sketch_g == 0, "tone at %.2f", p.tone_g);
    double e = mean_abs(&out, &truth), e0 = mean_abs(&photo[3], &truth);
    CHECK(e < 0.5 * e0, "lifted black: mean error %.4f (the photo's %.4f)", e, e0);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* Pencil on paper: grey marks as dark as the pixel is below its 9x9 mean, white elsewhere. */
static void sketched(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    float *d = darkness9(s, h, w);
    for (size_t i = 0; i < hw; i++) {
        float v = 1 - 8 * (d[i] - 0.01f);
        for (int c = 0; c < 3; c++)
            s[c * hw + i] = v < 0.1f ? 0.1f : v > 1 ? 1 : v;
    }
    free(d);
}

static double white_share(const ps_image *a)
{
    size_t hw = (size_t)a->w * a->h, n = 0;
    for (size_t i = 0; i < hw; i++)
        n += ps_linear_to_srgb(a->px[i]) > 0.95f && ps_linear_to_srgb(a->px[hw + i]) > 0.95f;
    return (double)n / hw;
}

static void test_sketch(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(sketched, &p, &out, &truth);
    CHECK(p.sketch_g > 0.5f && p.pal_g == 0 && p.tone_g == 0 && p.ink_g == 0,
          "sketch at %.2f (palette %.2f, tone %.2f, ink %.2f)", p.sketch_g, p.pal_g, p.tone_g,
          p.ink_g);
    double ws = white_share(&out), wt = white_share(&truth);
    CHECK(fabs(ws - wt) < 0.2, "paper: %.0f %% white, the recipe %.0f %%", 100 * ws, 100 * wt);
    double e = mean_abs(&out, &truth), e0 = mean_abs(&photo[3], &truth);
    CHECK(e < 0.5 * e0, "sketch: mean error %.4f (the photo's %.4f)", e, e0);
    ps_image o0 = {0};
    const ps_dials w0 = {1, 1, 0};
    ps_prog_apply(&p, &photo[3], &w0, &o0);
    CHECK(white_share(&o0) < wt / 2, "stroke 0: no paper (%.0f %% white)", 100 * white_share(&o0));
    ps_img_free(&o0);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* ---- the domain-transform operators (paint.c) ---------------------------------------------- */
/* ps_prog_pencil against its definition: for each pixel, the pixels of its row and of its
 * column whose summed domain steps from it stay within R, counted one by one. */
static void test_pencil_reference(void)
{
    enum { H = 23, W = 37 };
    static float s[3 * H * W], cnt[H * W];
    uint64_t x = 12345;
    for (int i = 0; i < 3 * H * W; i++) { /* flat patches with a few hard edges and noise */
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int y = i % (H * W) / W, c = i % W;
        s[i] = (y > 9 ? 0.7f : 0.2f) + (c > 20 ? 0.1f : 0) + (float)(x >> 40) / (1 << 24) * 0.02f;
    }
    const float R = 6, k = 40;
    const double scales[] = {1, 2.5};
    for (int t = 0; t < 2; t++) {
        double sc = scales[t];
        CHECK(ps_prog_pencil(s, H, W, R, k, sc, cnt) == PS_OK, "%s", ps_last_error());
        double worst = 0;
        for (int y = 0; y < H; y++)
            for (int c = 0; c < W; c++) {
                int n = 1;
                for (int dir = 0; dir < 4; dir++) { /* left, right, up, down */
                    int dx = dir == 0 ? -1 : dir == 1 ? 1 : 0, dy = dir == 2 ? -1 : dir == 3;
                    double dist = 0;
                    for (int py = y, px = c;;) {
                        int qy = py + dy, qx = px + dx;
                        if (qy < 0 || qy >= H || qx < 0 || qx >= W)
                            break;
                        double step = 1 / sc;
                        for (int ch = 0; ch < 3; ch++)
                            step += k * fabs(s[(ch * H + qy) * W + qx] - s[(ch * H + py) * W + px]);
                        if ((dist += step) > R + 1e-4) /* float sums: a hair of slack */
                            break;
                        n++;
                        py = qy, px = qx;
                    }
                }
                /* the pixel itself is counted along its row and along its column */
                worst = fmax(worst, fabs(cnt[y * W + c] - (n + 1) / sc));
            }
        CHECK(worst < 1e-3, "pencil runs at scale %.1f off the reference by %.4f", sc, worst);
    }
    for (int i = 0; i < H * W; i++) /* flat ground: about 4 R; an edge: shorter */
        CHECK(cnt[i] <= 4 * R + 2.0f / 2.5, "run %.2f past 4 R", cnt[i]);
}

/* A pencil drawing (the operator's own definition, at a run and weight off the table's grid)
 * is found as a graphite pencil and drawn again closer to the recipe than the photo is. */
static void pencil_recipe(float *s, int h, int w)
{
    size_t hw = (size_t)h * w;
    int ls = h > w ? h : w;
    double sc = (double)ls / PS_PROG_FIT_PX;
    float *cnt = malloc(sizeof(float) * hw);
    if (!cnt || ps_prog_pencil(s, h, w, 70, 400, sc < 1 ? 1 : sc, cnt))
        abort();
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++)
            s[c * hw + i] = fminf(0.05f * cnt[i], 1);
    free(cnt);
}

static void test_pencil(void)
{
    ps_prog p;
    ps_image out = {0}, truth = {0};
    fit_and_apply(pencil_recipe, &p, &out, &truth);
    CHECK(p.pencil_g == 1 && p.pencil_keep == 0 && p.sketch_g == 0 && p.ink_g == 0 &&
              !ps_prog_group_on(&p, 1),
          "graphite pencil at %.2f (keep %.0f, sketch %.2f, ink %.2f)", p.pencil_g,
          p.pencil_keep, p.sketch_g, p.ink_g);
    double e = mean_abs(&out, &truth), e0 = mean_abs(&photo[3], &truth);
    CHECK(e < 0.5 * e0, "pencil: mean error %.4f (the photo's %.4f)", e, e0);
    ps_image o0 = {0};
    const ps_dials w0 = {1, 1, 0};
    CHECK(ps_prog_apply(&p, &photo[3], &w0, &o0) == PS_OK && white_share(&o0) < white_share(&out) / 2,
          "stroke 0: no paper (%.0f %% white)", 100 * white_share(&o0));
    ps_img_free(&o0);
    ps_img_free(&out);
    ps_img_free(&truth);
}

/* The recursive filter keeps a flat image and a hard edge, and smooths noise on either side. */
static void test_paint_smooth(void)
{
    enum { H = 40, W = 60 };
    static float s[3 * H * W], f[3 * H * W];
    uint64_t x = 99;
    double noise0 = 0, noise1 = 0;
    for (int i = 0; i < 3 * H * W; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s[i] = (i % W < W / 2 ? 0.2f : 0.8f) + ((float)(x >> 40) / (1 << 24) - 0.5f) * 0.04f;
    }
    memcpy(f, s, sizeof s);
    CHECK(ps_prog_paint_smooth(f, H, W, 20, 0.3f, 1) == PS_OK, "%s", ps_last_error());
    for (int i = 0; i < 3 * H * W; i++) {
        double base = i % W < W / 2 ? 0.2 : 0.8;
        noise0 += fabs(s[i] - base) / (3 * H * W);
        noise1 += fabs(f[i] - base) / (3 * H * W);
    }
    CHECK(noise1 < 0.3 * noise0, "noise %.4f after smoothing, %.4f before", noise1, noise0);
    CHECK(fabsf(f[W / 2 - 1] - 0.2f) < 0.03f && fabsf(f[W / 2] - 0.8f) < 0.03f,
          "the edge is kept: %.3f | %.3f", f[W / 2 - 1], f[W / 2]);
    for (int i = 0; i < 3 * H * W; i++)
        s[i] = 0.37f;
    CHECK(ps_prog_paint_smooth(s, H, W, 20, 0.3f, 3) == PS_OK && fabsf(s[H * W + 7] - 0.37f) < 1e-5f,
          "flat stays flat: %.6f", s[H * W + 7]);
    CHECK(ps_prog_paint_edges(f, H, W, 1, 1) == PS_OK && f[W / 2 - 1] < 0.2f * 0.5f &&
              fabsf(f[3] - 0.2f) < 0.05f,
          "edges darkened (%.3f), flat ground kept (%.3f)", f[W / 2 - 1], f[3]);
    /* restoring the spread: at 1 each channel takes the reference's values rank for rank, at 0
     * it is unchanged */
    enum { N = 5000 };
    static float a[3 * N], b[3 * N], a0[3 * N];
    for (int i = 0; i < 3 * N; i++) {
        a[i] = 0.4f + 0.2f * (float)((i * 7919) % N) / N;  /* a narrow spread, shuffled */
        b[i] = (float)((i * 104729) % N) / N;              /* the whole range, another order */
    }
    memcpy(a0, a, sizeof a);
    CHECK(ps_prog_paint_restore(a, b, N, 0) == PS_OK && !memcmp(a, a0, sizeof a), "share 0 moves");
    CHECK(ps_prog_paint_restore(a, b, N, 1) == PS_OK, "%s", ps_last_error());
    double worst = 0;
    for (int i = 0; i < 3 * N; i++) /* a0's rank r / N maps to b's value r / N */
        worst = fmax(worst, fabs(a[i] - (a0[i] - 0.4) / 0.2));
    /* the levels quantise both: a 4096th of b, and half a 4096th of a, which is 0.2 of b wide */
    CHECK(worst < 1.0 / 4096 + 0.5 / 4096 / 0.2, "matched to the reference within %.5f", worst);
}

static void test_pack(void)
{
    ps_prog p, q;
    ps_image out = {0}, truth = {0}, o2 = {0};
    fit_and_apply(sepia, &p, &out, &truth);
    p.grain_g = 0.5f; /* a program with two groups */
    p.grain_sigma[0] = p.grain_sigma[1] = p.grain_sigma[2] = 0.05f;
    static float v[PS_PROG_MAXFLOATS];
    CHECK(ps_prog_pack(&p, v) == PS_PROG_NFLOATS, "no screen, no pattern after the fields");
    CHECK(ps_prog_unpack(&q, v, PS_PROG_NFLOATS) == PS_OK, "%s", ps_last_error());
    const ps_dials w = {1, 0, 0};
    ps_img_free(&out);
    ps_prog_apply(&p, &photo[3], &w, &out);
    ps_prog_apply(&q, &photo[3], &w, &o2);
    CHECK(!memcmp(out.px, o2.px, sizeof(float) * 3 * out.w * out.h), "unpacked paints the same");
    p.grain_g = 0; /* texture dial 0 = the program without its texture */
    ps_img_free(&o2);
    const ps_dials w1 = {1, 1, 1};
    ps_prog_apply(&p, &photo[3], &w1, &o2);
    CHECK(!memcmp(out.px, o2.px, sizeof(float) * 3 * out.w * out.h), "texture 0 is exact");
    struct { int at; float val; const char *what; } bad[] = {
        {0, 2.0f, "version"}, {1, NAN, "NaN"}, {1, 1.5f, "gate"}, {32, 65, "palette size"},
        {228, 9, "screen period"}};
    CHECK(v[32] == (float)q.npal && v[227] == q.screen_g, "layout the hostile cases assume");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        float keep = v[bad[i].at];
        v[bad[i].at] = bad[i].val;
        if (bad[i].at == 228)
            v[227] = 1; /* a screen that is on */
        CHECK(ps_prog_unpack(&q, v, PS_PROG_NFLOATS) == PS_EINPUT, "%s accepted", bad[i].what);
        v[bad[i].at] = keep;
        v[227] = 0;
    }
    CHECK(ps_prog_unpack(&q, v, 12) == PS_EINPUT, "short vector accepted");
    /* a vector from before the screen's own period fields: its square pattern in the fields */
    v[227] = 1;
    v[228] = 4;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                v[229 + (c * 8 + y) * 8 + x] = period4[y][x];
    CHECK(ps_prog_unpack(&q, v, PS_PROG_NFLOATS) == PS_OK && q.screen_w == 4 && q.screen_h == 4 &&
              q.screen[2][3][2] == period4[3][2] && q.screen[0][0][1] == period4[0][1],
          "an older screen: %s", ps_last_error());
    v[227] = v[228] = 0;
    /* the later fields (hue, sketch, levels, paint, pencil, halftone, tiles, oil), found by marker
     * values */
    ps_prog mk;
    ps_prog_identity(&mk);
    mk.paint_g = 0.375f, mk.paint_ss = 21, mk.paint_sr = 0.5f, mk.paint_e = 0.75f;
    mk.pencil_g = 0.625f, mk.pencil_r = 19, mk.pencil_k = 700, mk.pencil_shade = 0.0625f;
    mk.pencil_keep = 1;
    mk.hue_g = 0.25f;
    mk.hue_deg = 33;
    mk.ht_g = 0.4375f;
    mk.ht_period[2] = 13.5f, mk.ht_angle[2] = -33.25f, mk.ht_dot[2] = 1, mk.ht_use[2] = 1;
    mk.tile_g = 0.6875f, mk.tile_size = 23.5f, mk.tile_joint = 1.75f, mk.tile_dark = 0.5625f;
    mk.tile_bevel = 2.5f;
    mk.oil_g = 0.8125f, mk.oil_r = 6.5f;
    for (int j = 0; j < PS_PROG_NSK; j++)
        mk.sketch_q[j] = 50.0f + j;
    for (int c = 0; c < 3; c++) {
        mk.nlev[c] = 3;
        for (int j = 0; j < 3; j++)
            mk.lev[c][j] = (j + 1) / 16.0f + c / 128.0f; /* exact in float */
    }
    ps_prog_pack(&mk, v);
    CHECK(ps_prog_unpack(&q, v, PS_PROG_NFLOATS) == PS_OK && q.hue_deg == 33 && q.nlev[2] == 3 &&
              !memcmp(&q.paint_g, &mk.paint_g, sizeof(float) * 9) && q.ht_g == mk.ht_g &&
              q.ht_angle[2] == mk.ht_angle[2] && q.ht_use[2] == 1 &&
              !memcmp(&q.tile_g, &mk.tile_g, sizeof(float) * 5) && q.oil_g == mk.oil_g &&
              q.oil_r == mk.oil_r,
          "the marker program unpacks: %s", ps_last_error());
    int at_hg = -1, at_hd = -1, at_sq = -1, at_nl = -1, at_lv = -1, at_pg = -1, at_pr = -1;
    int at_tg = -1, at_tp = -1, at_ti = -1, at_og = -1;
    for (int i = PS_PROG_NFLOATS - 1; i > 0; i--) {
        at_tg = v[i] == 0.4375f ? i : at_tg;
        at_ti = v[i] == 0.6875f ? i : at_ti;
        at_og = v[i] == 0.8125f ? i : at_og;
        at_tp = v[i] == 13.5f ? i : at_tp;
        at_pg = v[i] == 0.375f ? i : at_pg;
        at_pr = v[i] == 19.0f ? i : at_pr;
        at_hg = v[i] == 0.25f ? i : at_hg;
        at_hd = v[i] == 33.0f ? i : at_hd;
        at_sq = v[i] == 53.0f ? i : at_sq;
        at_nl = v[i] == 3.0f ? i : at_nl;
        at_lv = v[i] == 0.125f ? i : at_lv;
    }
    struct { int at; float val; const char *what; } later[] = {
        {at_hg, 1.5f, "hue gate"},
        {at_hd, 200, "hue angle"},
        {at_sq, 10, "a sketch lightness below the one before"},
        {at_sq, 101, "sketch lightness"},
        {at_nl, 17, "level count"},
        {at_nl + 1 + PS_PROG_MAXLEV, 0, "one channel without levels"},
        {at_lv, 1.5f, "level value"},
        {at_pg, 1.5f, "paint gate"},
        {at_pg + 1, 0, "paint sigma"},
        {at_pg + 2, 0, "paint range"},
        {at_pg + 3, -1, "edge darkening"},
        {at_pr, 300, "pencil run"},
        {at_pr + 1, 0, "pencil weight"},
        {at_pr + 2, 2, "pencil lightness"},
        {at_pr + 3, 1.5f, "pencil chroma"},
        {at_tg, 1.5f, "halftone gate"},
        {at_tp, 1.5f, "halftone period"},
        {at_tp + 1, 181, "halftone angle"},
        {at_tp + 2, 0.5f, "halftone dots"},
        {at_tp + 3, 2, "halftone ink use"},
        {at_tp + 4, -0.5f, "halftone phase"},
        {at_ti, 1.5f, "tile gate"},
        {at_ti + 1, 1, "tile size"},
        {at_ti + 1, 65, "tile size"},
        {at_ti + 2, 9, "joint width"},
        {at_ti + 3, 1.5f, "joint darkness"},
        {at_ti + 4, -1, "bevel"},
        {at_og, 1.5f, "oil gate"},
        {at_og + 1, 0.5f, "oil radius"},
        {at_og + 1, 33, "oil radius"}};
    CHECK(at_hg > 0 && at_hd > 0 && at_sq > 0 && at_nl > at_sq && at_lv > at_nl && at_pg > at_lv &&
              at_pr == at_pg + 5 && at_tg > at_pr && at_tp == at_tg + 1 + 2 * 6 &&
              at_ti == at_tg + 1 + 4 * 6 && at_og == at_ti + 5,
          "markers found");
    for (size_t i = 0; i < sizeof later / sizeof later[0] && at_lv > 0; i++) {
        float keep = v[later[i].at];
        v[later[i].at] = later[i].val;
        CHECK(ps_prog_unpack(&q, v, PS_PROG_NFLOATS) == PS_EINPUT, "%s accepted", later[i].what);
        v[later[i].at] = keep;
    }
    ps_img_free(&out);
    ps_img_free(&o2);
    ps_img_free(&truth);
}

/* The operators' table-driven sRGB curves against the exact ones. */
static void test_curves(void)
{
    double e1 = 0, e2 = 0;
    for (int i = 0; i <= 100000; i++) {
        float x = i / 100000.0f;
        e1 = fmax(e1, fabs(ps_srgb_to_linear_fast(x) - ps_srgb_to_linear(x)));
        e2 = fmax(e2, fabs(ps_linear_to_srgb_fast(x) - ps_linear_to_srgb(x)));
    }
    CHECK(e1 < 2e-6 && e2 < 2e-6, "table curves off by %.2g (to linear), %.2g (to sRGB)", e1, e2);
    CHECK(ps_srgb_to_linear_fast(-1) == 0 && ps_linear_to_srgb_fast(2) == 1, "inputs clamped");
}

/* ---- band by band ------------------------------------------------------------------------ */
typedef struct {
    const ps_image *lin;
    int calls;
} stream_src;

static void stream_rows(void *ctx, int y0, int n, ps_image *band)
{
    stream_src *s = ctx;
    const ps_image *im = s->lin;
    size_t hw = (size_t)im->w * im->h, bw = (size_t)band->w * band->h;
    s->calls++;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < (size_t)n * im->w; i++)
            band->px[c * bw + i] = ps_linear_to_srgb_fast(im->px[c * hw + (size_t)y0 * im->w + i]);
}

/* The stream's 16-bit rows against ps_prog_apply's pixels; windows of band_px pixels; *bands:
 * how many windows painted the photo. */
static double stream_vs_apply(const ps_prog *p, const ps_image *im, long band_px, int *bands,
                              int *reach)
{
    const ps_dials one = {1, 1, 1};
    ps_image ref = {0};
    CHECK(ps_prog_apply(p, im, &one, &ref) == PS_OK, "%s", ps_last_error());
    stream_src src = {im, 0};
    const ps_prog_input in = {im->w, im->h, 3, stream_rows, &src};
    ps_prog_stream *st = NULL;
    CHECK(ps_prog_stream_open(p, &one, &in, band_px, &st) == PS_OK, "%s", ps_last_error());
    double worst = 1;
    if (st && ref.px) {
        int band;
        ps_prog_stream_shape(st, &band, reach);
        *bands = (im->h + band - 1) / band;
        size_t hw = (size_t)im->w * im->h;
        unsigned short *row = malloc(sizeof *row * 3 * im->w * 7);
        worst = 0;
        for (int y = 0; y < im->h; y += 7) { /* an encoder's pace, across the bands */
            int n = im->h - y < 7 ? im->h - y : 7;
            CHECK(ps_prog_stream_rows(st, y, n, row, 3, 16) == PS_OK, "%s", ps_last_error());
            for (int k = 0; k < n * im->w; k++)
                for (int c = 0; c < 3; c++) {
                    double want = ps_linear_to_srgb(ref.px[c * hw + (size_t)y * im->w + k]);
                    worst = fmax(worst, fabs(row[3 * k + c] / 65535.0 - want));
                }
        }
        free(row);
    }
    ps_prog_stream_free(st);
    ps_img_free(&ref);
    return worst;
}

static void test_stream(void)
{
    /* the astronaut above the coffee, twice side by side: 0.77 MP, so the grade is read from
     * its table (made once for every band) */
    const ps_image *a = &photo[0], *b = &photo[2];
    ps_image tall;
    CHECK(ps_img_alloc(&tall, 2 * a->w, a->h + b->h, 3) == PS_OK, "%s", ps_last_error());
    size_t ta = (size_t)a->w * a->h, tb = (size_t)b->w * b->h, tt = (size_t)tall.w * tall.h;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < tall.h; y++)
            for (int x = 0; x < tall.w; x++) {
                int u = x % a->w;
                tall.px[c * tt + (size_t)y * tall.w + x] =
                    y < a->h ? a->px[c * ta + (size_t)y * a->w + u]
                             : b->px[c * tb + (size_t)(y - a->h) * b->w + (u < b->w ? u : b->w - 1)];
            }
    ps_prog all, ink, paint, tiles, dith, lev, oil;
    ps_prog_identity(&all);
    all.fit_px = 160; /* sizes three times the fit's: wide reaches */
    all.flat_g = 0.8f, all.flat_r = 2;
    all.oil_g = 0.6f, all.oil_r = 1;
    all.sketch_g = 0.5f, all.sketch_marks = 0.3f;
    for (int j = 0; j < PS_PROG_NSK; j++)
        all.sketch_q[j] = 20 + 5.0f * j;
    all.ink_g = 1, all.ink_share = 0.06f, all.ink_L = 15;
    all.cell_g = 0.5f, all.cell = 3;
    all.hue_g = 1, all.hue_deg = 40, all.tone_g = 1;
    for (int q = 0; q < PS_PROG_NQ; q++)
        all.tone_q[q] = (float)ps_prog_nat.lq[q] * 0.8f + 15;
    all.tile_g = 0.7f, all.tile_size = 9, all.tile_joint = 1.5f, all.tile_dark = 0.3f;
    all.tile_bevel = 1.4f;
    all.grain_g = 1, all.grain_sigma[0] = all.grain_sigma[1] = all.grain_sigma[2] = 0.04f;
    all.grain_mono = 0.5f;
    all.ht_g = 0.6f, all.ht_period[3] = 4.5f, all.ht_angle[3] = 45, all.ht_dot[3] = 1;
    all.ht_use[3] = 1, all.ht_use[0] = all.ht_use[1] = all.ht_use[2] = 1;
    ps_prog_identity(&ink); /* the bench's style */
    ink.fit_px = 160, ink.hue_g = 1, ink.hue_deg = -60;
    ink.ink_g = 1, ink.ink_share = 0.08f, ink.ink_L = 10;
    ps_prog_identity(&tiles); /* alone, each reach is needed whole */
    tiles.fit_px = 160, tiles.tile_g = 1, tiles.tile_size = 9, tiles.tile_joint = 1.5f;
    tiles.tile_bevel = 1.4f;
    ps_prog_identity(&dith); /* the error goes on from band to band */
    dith.fit_px = 160, dith.pal_g = 1, dith.dither = 1, dith.npal = 4;
    dith.grain_g = 1, dith.grain_sigma[0] = dith.grain_sigma[1] = dith.grain_sigma[2] = 0.03f;
    const float pal4[4][3] = {{15, 0, 0}, {50, 30, 20}, {75, -20, 40}, {95, 0, -5}};
    memcpy(dith.pal, pal4, sizeof pal4);
    ps_prog_identity(&lev);
    lev.fit_px = 160, lev.pal_g = 0.8f, lev.dither = 1;
    for (int c = 0; c < 3; c++) {
        lev.nlev[c] = 3;
        for (int j = 0; j < 3; j++)
            lev.lev[c][j] = j / 2.0f;
    }
    ps_prog_identity(&oil); /* alone, its window's reach is needed whole */
    oil.fit_px = 160, oil.oil_g = 1, oil.oil_r = 3;
    ps_prog_identity(&paint);
    paint.fit_px = 160, paint.paint_g = 1, paint.paint_ss = 8, paint.paint_sr = 0.4f;
    paint.paint_e = 1;
    const struct {
        const char *name;
        const ps_prog *p;
        int min_bands;
    } cases[] = {{"every banded operator", &all, 2}, {"hue and ink", &ink, 8},
                 {"tiles", &tiles, 3}, {"a dithered palette and grain", &dith, 8},
                 {"dithered levels", &lev, 8}, {"oil", &oil, 8},
                 {"paint (one window)", &paint, 1}};
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        int bands = 0, reach = 0;
        double e = stream_vs_apply(cases[i].p, &tall, 40L * tall.w, &bands, &reach);
        /* 1/32 of an 8-bit step: the tables' round trip and the sums' order, no seam */
        CHECK(e < 1.0 / 32 / 255, "%s: %d bands (reach %d rows) off the whole photo's by %.2e",
              cases[i].name, bands, reach, e);
        CHECK(bands >= cases[i].min_bands && (cases[i].p != &paint || bands == 1),
              "%s in %d bands", cases[i].name, bands);
    }
    /* all dials 0 and the identity hand back the photo's codes exactly */
    ps_image codes;
    CHECK(ps_img_alloc(&codes, 37, 23, 3) == PS_OK, "%s", ps_last_error());
    for (size_t i = 0; i < (size_t)3 * 37 * 23; i++)
        codes.px[i] = ps_srgb_to_linear((float)((i * 7919) % 256) / 255);
    stream_src src = {&codes, 0};
    const ps_prog_input in = {37, 23, 3, stream_rows, &src};
    const ps_dials zero = {0, 0, 0};
    ps_prog_stream *st = NULL;
    unsigned char out[3 * 37 * 23];
    CHECK(ps_prog_stream_open(&all, &zero, &in, 0, &st) == PS_OK &&
              ps_prog_stream_rows(st, 0, 23, out, 3, 8) == PS_OK,
          "%s", ps_last_error());
    int same = 1;
    for (int k = 0; k < 37 * 23; k++)
        for (int c = 0; c < 3; c++)
            same = same && out[3 * k + c] == (unsigned char)((((size_t)c * 37 * 23 + k) * 7919) % 256);
    CHECK(same && src.calls == 1, "dials 0: the photo's codes (%d windows read)", src.calls);
    ps_prog_stream_free(st);
    ps_img_free(&codes);
    ps_img_free(&tall);
}

int main(void)
{
    load_photos();
    test_curves();
    test_natural();
    test_sepia();
    test_palette();
    test_levels();
    test_cells();
    test_screen();
    test_canvas();
    test_halftone();
    test_tiles();
    test_grain();
    test_flatten();
    test_oil_reference();
    test_oil();
    test_ink();
    test_hue();
    test_grade_table();
    test_black();
    test_sketch();
    test_pencil_reference();
    test_pencil();
    test_paint_smooth();
    test_pack();
    test_stream();
    for (int i = 0; i < NPHOTO; i++)
        ps_img_free(&photo[i]);
    return check_done("test_prog");
}
