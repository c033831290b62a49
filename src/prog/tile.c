/* Tiles: the photo laid in flat-coloured tiles between dark joints, their edges bevelled by a
 * light from the upper left (GEGL's mosaic).
 *   render  seeds on a hexagonal lattice of one seed per size^2, each moved by up to JITTER of
 *           the lattice step (hashed from its place on the lattice); a pixel belongs to its
 *           nearest seed's tile (Voronoi) and takes the tile's mean colour; its distance to the
 *           tile's edges (the bisectors with the tiles it touches) puts the joint there, the tile's
 *           colour times `dark`, half its width on either side, and within BEVEL of the size of
 *           each edge the light brightens the edges that face it and darkens the others
 *   fit     a joint pixel is much darker, for its lightness, than the pixels two away on both
 *           sides along its row or column; a tile is a 4-connected region between joints.
 *           Natural photos have almost no regions of a tile's size enclosed by such thin dark
 *           lines; the size, the joints' width and darkness and the bevel are read from the
 *           samples' regions and joint crossings against the same statistics of tiles rendered
 *           on each sample blurred (a stand-in for its photo), so every bias of the statistics
 *           (joints leaking, anti-aliasing, the bevel's own darkening) cancels.
 * Sizes are in fit pixels. */
#include "prog.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JITTER 0.3       /* seeds move by up to this share of the lattice step each way */
#define MAXNB 16         /* neighbours a tile keeps (these tiles touch about 6) */
#define BEVEL 0.3        /* bevel width, share of the size (GEGL: tile height 4 at size 14) */
#define JOINT_REL 0.3    /* a joint is this much darker than both sides, relative to (L + 10)
                            (0.4 missed GEGL's anti-aliased joints that fall between pixels) */
#define FLAT_L 0.5       /* neighbours closer in Lab L are flat (a tile's colour) */
#define JOINT_RUN 4      /* joint crossings at most this wide (px); wider is a dark area */
#define TILE_MIN_A 16    /* regions of tile size: from 4x4 fit px ... */
#define TILE_MAX_A 1024  /* ... to 32x32 */
#define SYNTH_PX 192     /* the tiles the fit renders: on the samples' central 192 squares (256
                            moved its figures on GEGL's mosaic by under 0.5 %) */
#define TILE_CELLS 0.02  /* the samples' mean share of flat pixels in tile-sized regions (of the
                            non-joint pixels) that opens the gate, full at twice it: 116
                            training photos show at most 0.0008, the external set's other
                            styles' samples 0.007 (a canvas), GEGL's mosaic 0.09 to 0.23 */

typedef struct {
    double cells;                 /* share of non-joint pixels in regions of TILE_MIN_A..MAX_A
                                     whose right neighbour is in the region and flat */
    double n, width, lit, dark;   /* joint crossings: count; sums of their width (the light
                                     they take from their sides, px: anti-aliasing keeps it),
                                     lightness after minus before (along x or y), darkest over
                                     the lighter side */
    double area[TILE_MAX_A + 1];  /* regions of each area */
} tile_stat;

/* Luminance (relative) of Lab lightness L. */
static double lum(float L)
{
    double f = (L + 16) / 116.0;
    return f * f * f + 1e-4;
}

/* The crossings of the joints of mask bit b along one line of n pixels at stride st; the next
 * line is nx ahead (0: none). A crossing's width counts across the joint: its run along the
 * line times the sine of the joint's angle to it, read from where the joint crosses the next
 * line (a square's joints and a hexagon's have the same width). */
static void crossings(const float *L, const unsigned char *V, int n, size_t st, ptrdiff_t nx,
                      int b, tile_stat *t)
{
    for (int q = 0; q < n; q++) {
        if (!(V[q * st] & b))
            continue;
        int q1 = q;
        float lo = L[q * st];
        while (q1 + 1 < n && V[(q1 + 1) * st] & b)
            lo = fminf(lo, L[++q1 * st]);
        int off = JOINT_RUN; /* the joint's shift to the next line, px */
        for (int d = 0; nx && d < JOINT_RUN && off == JOINT_RUN; d++)
            for (int sg = -1; sg <= 1; sg += 2)
                if (q + sg * d >= 0 && q1 + sg * d < n && V[nx + (q + sg * d) * st] & b)
                    off = d;
        if (q >= 2 && q1 + 2 < n && q1 - q < JOINT_RUN && off < JOINT_RUN) {
            float a = L[(q - 2) * st], c = L[(q1 + 2) * st], side = fmaxf(fmaxf(a, c), 1);
            double ref = (lum(a) + lum(c)) / 2, m = 0;
            for (int j = q - 1; j <= q1 + 1; j++) /* the light it takes from its sides' mean: */
                m += 1 - lum(L[j * st]) / ref;    /* the bevel's lit and shaded sides cancel */
            t->n += 1;
            t->width += m / sqrt(1.0 + off * off);
            t->lit += c - a;
            t->dark += lo / side;
        }
        q = q1;
    }
}

/* The statistics of sRGB planes s; -1 when out of memory. */
static int tile_stats(const float *s, int h, int w, tile_stat *t)
{
    size_t hw = (size_t)h * w;
    float *L = malloc(sizeof(float) * hw);
    unsigned char *V = calloc(hw, 1);
    int *qu = malloc(sizeof(int) * hw), *ar = calloc(hw, sizeof(int));
    memset(t, 0, sizeof *t);
    if (!L || !V || !qu || !ar) {
        free(L), free(V), free(qu), free(ar);
        return -1;
    }
    for (size_t i = 0; i < hw; i++) { /* Lab L of the luminance */
        double Y = 0.2126 * ps_srgb_to_linear_fast(s[i]) +
                   0.7152 * ps_srgb_to_linear_fast(s[hw + i]) +
                   0.0722 * ps_srgb_to_linear_fast(s[2 * hw + i]);
        L[i] = (float)(Y > 216.0 / 24389 ? 116 * cbrt(Y) - 16 : Y * 24389.0 / 27);
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float lx = x >= 2 && x + 2 < w ? fminf(L[i - 2], L[i + 2]) : 0;
            float ly = y >= 2 && y + 2 < h ? fminf(L[i - 2 * (size_t)w], L[i + 2 * (size_t)w]) : 0;
            V[i] = ((lx - L[i]) / (lx + 10) > JOINT_REL) |
                   ((ly - L[i]) / (ly + 10) > JOINT_REL) << 1;
        }
    for (int y = 0; y < h; y++)
        crossings(L + (size_t)y * w, V + (size_t)y * w, w, 1, y + 1 < h ? w : 0, 1, t);
    for (int x = 0; x < w; x++)
        crossings(L + x, V + x, h, (size_t)w, x + 1 < w ? 1 : 0, 2, t);
    /* the regions, by flood fill: ar[i] = 0 unseen, -1 queued, then its region's area */
    double free_px = 0, flat = 0;
    for (size_t i = 0; i < hw; i++) {
        if (V[i] || ar[i])
            continue;
        size_t head = 0, tail = 0;
        qu[tail++] = (int)i;
        ar[i] = -1;
        while (head < tail) {
            int c = qu[head++], x = c % w, y = c / w;
            int nb[4] = {x > 0 ? c - 1 : -1, x + 1 < w ? c + 1 : -1, y > 0 ? c - w : -1,
                         y + 1 < h ? c + w : -1};
            for (int d = 0; d < 4; d++)
                if (nb[d] >= 0 && !V[nb[d]] && !ar[nb[d]]) {
                    ar[nb[d]] = -1;
                    qu[tail++] = nb[d];
                }
        }
        for (size_t q = 0; q < tail; q++)
            ar[qu[q]] = (int)tail;
        free_px += (double)tail;
        if (tail >= TILE_MIN_A && tail <= TILE_MAX_A)
            t->area[tail] += 1;
    }
    for (size_t i = 0; i < hw; i++) /* a non-joint right neighbour is in the same region */
        if (!V[i] && ar[i] >= TILE_MIN_A && ar[i] <= TILE_MAX_A)
            flat += (i + 1) % w && !V[i + 1] && fabsf(L[i + 1] - L[i]) < FLAT_L;
    t->cells = free_px > 0 ? flat / free_px : 0;
    free(L), free(V), free(qu), free(ar);
    return 0;
}

/* The median area of the regions counted in t (0 when none). */
static double median_area(const tile_stat *t)
{
    double n = 0, c = 0;
    for (int a = TILE_MIN_A; a <= TILE_MAX_A; a++)
        n += t->area[a];
    for (int a = TILE_MIN_A; a <= TILE_MAX_A; a++)
        if ((c += t->area[a]) >= n / 2 && n > 0)
            return a;
    return 0;
}

static void add_stat(tile_stat *sum, const tile_stat *t, int k)
{
    sum->cells += t->cells / k;
    sum->n += t->n;
    sum->width += t->width;
    sum->lit += t->lit;
    sum->dark += t->dark;
    for (int a = 0; a <= TILE_MAX_A; a++)
        sum->area[a] += t->area[a];
}

/* The statistics of tiles q rendered on the central SYNTH_PX square of each sample, blurred over
 * half a tile; -1 when out of memory. */
static int rendered_stats(const ps_prog *q, float *const *im, const int *hs, const int *ws, int k,
                          tile_stat *sum)
{
    memset(sum, 0, sizeof *sum);
    int r = (int)ceilf(q->tile_size / 2);
    for (int i = 0; i < k; i++) {
        int h = hs[i] < SYNTH_PX ? hs[i] : SYNTH_PX, w = ws[i] < SYNTH_PX ? ws[i] : SYNTH_PX;
        int y0 = (hs[i] - h) / 2, x0 = (ws[i] - w) / 2;
        size_t hw = (size_t)h * w;
        float *b = malloc(sizeof(float) * hw * 5); /* the blurred crop, its plane, scratch */
        tile_stat t;
        if (!b)
            return -1;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++)
                memcpy(b + 3 * hw + (size_t)y * w,
                       im[i] + ((size_t)c * hs[i] + y0 + y) * ws[i] + x0, sizeof(float) * w);
            ps_prog_box(b + c * hw, b + 3 * hw, h, w, r, b + 4 * hw);
        }
        int bad = ps_prog_tile(q, b, h, w, 0, 1, 1) || tile_stats(b, h, w, &t);
        free(b);
        if (bad)
            return -1;
        add_stat(sum, &t, k);
    }
    return 0;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int ps_prog_tile_fit(ps_prog *p, float *const *im, const int *hs, const int *ws, int k)
{
    tile_stat s = {0}, t, r;
    for (int i = 0; i < k; i++) {
        if (tile_stats(im[i], hs[i], ws[i], &t))
            return 0; /* out of memory: tiles stay off, as optional operators do */
        add_stat(&s, &t, k);
    }
    double a_s = median_area(&s);
    if (s.cells <= TILE_CELLS || s.n < 1 || a_s <= 0)
        return 0;
    /* a first guess (the regions' side, thin black joints, GEGL's bevel); the bevel from the
     * lightness across joints against the guess's, then the rest against the guess with that
     * bevel, whose shading at the joints adds to their width (on GEGL's mosaic, more rounds
     * moved the size and the bevel by under 3 %, back and forth) */
    ps_prog q = *p;
    q.tile_g = 1;
    q.tile_size = (float)sqrt(a_s);
    q.tile_joint = 1;
    q.tile_dark = 0;
    q.tile_bevel = 1;
    if (rendered_stats(&q, im, hs, ws, k, &r))
        return 0;
    double lit_r = r.n > 0 ? r.lit / r.n : 0;
    if (fabs(lit_r) < 1e-3)
        return 0;
    q.tile_bevel = (float)clampd((s.lit / s.n) / lit_r, 0, 4);
    if (rendered_stats(&q, im, hs, ws, k, &r))
        return 0;
    double a_r = median_area(&r);
    if (a_r <= 0 || r.n < 1)
        return 0;
    p->tile_size = (float)clampd(q.tile_size * sqrt(a_s / a_r), 2, 64);
    p->tile_bevel = q.tile_bevel;
    /* the joint's lightness over its sides' grows from the anti-aliased black one's to 1, and
     * a lighter joint takes less light for its width */
    p->tile_dark = (float)clampd((s.dark / s.n - r.dark / r.n) / (1 - r.dark / r.n), 0, 1);
    p->tile_joint = (float)clampd(1 + (s.width / s.n - r.width / r.n) / (1 - p->tile_dark),
                                  1, 8); /* a thinner joint would not show (nor be found) */
    p->tile_g = (float)clampd((s.cells - TILE_CELLS) / TILE_CELLS, 0, 1);
    return 1;
}

/* ---- render ------------------------------------------------------------------------------- */
typedef struct {
    int nr, nc;       /* lattice rows and columns, from row i0 - 2 and column -2 */
    int i0;           /* the photo's lattice row at the top of s (s is rows y0.. of the photo) */
    double a, rs;     /* column step and row step, photo px */
    double inv_a, inv_rs;
    double *sx, *sy;  /* seeds, [nr][nc] */
} lattice;

/* The photo's lattice over rows y0 .. y0 + h, in coordinates of those rows: a band's seeds are
 * the whole photo's, so bands tile it seamlessly. */
static int lattice_make(lattice *g, double size, int h, int w, int y0)
{
    g->a = size * sqrt(2 / sqrt(3.0)); /* a hexagonal lattice of one seed per size^2 */
    g->rs = g->a * sqrt(3.0) / 2;
    g->inv_a = 1 / g->a;
    g->inv_rs = 1 / g->rs;
    g->i0 = (int)(y0 / g->rs);
    g->nr = (int)(h / g->rs) + 7;
    g->nc = (int)(w / g->a) + 6;
    size_t n = (size_t)g->nr * g->nc;
    g->sx = malloc(sizeof(double) * n * 2);
    if (!g->sx)
        return -1;
    g->sy = g->sx + n;
    for (int i = 0; i < g->nr; i++)
        for (int j = 0; j < g->nc; j++) {
            int li = g->i0 + i - 2, lj = j - 2;
            uint64_t z = ps_prog_splitmix((uint64_t)(uint32_t)li << 32 | (uint32_t)lj);
            double u = (double)(z >> 40) / (1 << 24) - 0.5;
            double v = (double)(z >> 8 & 0xffffff) / (1 << 24) - 0.5;
            g->sx[(size_t)i * g->nc + j] = (lj + 0.5 * (li & 1) + 2 * JITTER * u) * g->a;
            g->sy[(size_t)i * g->nc + j] = (li + 2 * JITTER * v) * g->rs - y0;
        }
    return 0;
}

/* The array index of the seed nearest (x, y): among the 3x3 around the lattice point nearest
 * it (a seed lies at most 0.98 steps from any point; those outside the 3x3 at least 1.04). */
static int nearest(const lattice *g, double x, double y, int y0)
{
    /* (int): rounds, all are positive */
    int ic = (int)((y + y0) * g->inv_rs + 0.5) - g->i0 + 2, best = 0;
    double bd = 1e300;
    for (int i = ic - 1; i <= ic + 1; i++) {
        int jc = (int)(x * g->inv_a + 0.5 - 0.5 * ((g->i0 + i - 2) & 1)) + 2;
        for (int j = jc - 1; j <= jc + 1; j++) {
            size_t s = (size_t)i * g->nc + j;
            double dx = x - g->sx[s], dy = y - g->sy[s], d = dx * dx + dy * dy;
            if (d < bd)
                bd = d, best = (int)s;
        }
    }
    return best;
}

/* Seed b among seed a's neighbours (nb[a][...], n[a] of them, at most MAXNB). */
static void neighbour(int *nb, unsigned char *n, int a, int b)
{
    int *l = nb + (size_t)a * MAXNB;
    for (int k = 0; k < n[a]; k++)
        if (l[k] == b)
            return;
    if (n[a] < MAXNB)
        l[n[a]++] = b;
}

/* A tile lies within 0.98 lattice steps of its seed (nearest), so across under two steps; its
 * colour and its neighbours come from its own pixels and theirs' borders. */
int ps_prog_tile_reach(const ps_prog *p, double scale)
{
    return (int)ceil(2 * p->tile_size * scale * sqrt(2 / sqrt(3.0))) + 2;
}

ps_status ps_prog_tile(const ps_prog *p, float *s, int h, int w, int y0, double scale, float t)
{
    size_t hw = (size_t)h * w;
    lattice g;
    if (lattice_make(&g, p->tile_size * scale, h, w, y0))
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    size_t nseed = (size_t)g.nr * g.nc;
    int *id = malloc(sizeof(int) * hw), *nb = malloc(sizeof(int) * nseed * MAXNB);
    unsigned char *nn = calloc(nseed, 1);
    double *mean = calloc(nseed * 4, sizeof *mean);
    if (!id || !nb || !nn || !mean) {
        free(g.sx), free(id), free(nb), free(nn), free(mean);
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    }
#pragma omp parallel for schedule(static) /* each pixel by itself */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            id[(size_t)y * w + x] = nearest(&g, x + 0.5, y + 0.5, y0);
    /* each tile's mean colour (light adds up in linear), and its neighbours: the tiles it
     * touches, whose bisectors with it are its edges */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int a = id[i], r = x + 1 < w ? id[i + 1] : a, d = y + 1 < h ? id[i + w] : a;
            double *m = mean + 4 * (size_t)a;
            for (int c = 0; c < 3; c++)
                m[c] += ps_srgb_to_linear_fast(s[c * hw + i]);
            m[3] += 1;
            if (r != a)
                neighbour(nb, nn, a, r), neighbour(nb, nn, r, a);
            if (d != a)
                neighbour(nb, nn, a, d), neighbour(nb, nn, d, a);
        }
    for (size_t j = 0; j < nseed; j++)
        for (int c = 0; c < 3 && mean[4 * j + 3] > 0; c++)
            mean[4 * j + c] = ps_linear_to_srgb_fast((float)(mean[4 * j + c] / mean[4 * j + 3]));
    /* per edge: 1 / (2 |ab|), and how much its outward normal faces the light (upper left) */
    double *half_inv = malloc(sizeof(double) * nseed * MAXNB * 2), *facing;
    if (!half_inv) {
        free(g.sx), free(id), free(nb), free(nn), free(mean);
        return ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", w, h);
    }
    facing = half_inv + nseed * MAXNB;
    for (size_t a = 0; a < nseed; a++)
        for (int k = 0; k < nn[a]; k++) {
            size_t b = (size_t)nb[a * MAXNB + k];
            double nx = g.sx[b] - g.sx[a], ny = g.sy[b] - g.sy[a], ab = sqrt(nx * nx + ny * ny);
            half_inv[a * MAXNB + k] = 0.5 / ab;
            facing[a * MAXNB + k] = -(nx + ny) * M_SQRT1_2 / ab;
        }
    double hj = 0.5 * p->tile_joint * scale, bw = BEVEL * p->tile_size * scale;
    float bevel = p->tile_bevel / 4, dark = p->tile_dark;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x, a = (size_t)id[i];
            double px = x + 0.5, py = y + 0.5, ax = g.sx[a], ay = g.sy[a];
            double da2 = (px - ax) * (px - ax) + (py - ay) * (py - ay), edge = hj + 1, light = 0;
            for (int k = 0; k < nn[a]; k++) {
                size_t b = (size_t)nb[a * MAXNB + k];
                double bx = g.sx[b] - px, by = g.sy[b] - py;
                double e = (bx * bx + by * by - da2) * half_inv[a * MAXNB + k]; /* to the
                                                                    bisector of a and b */
                edge = e < edge ? e : edge;
                if (e < bw)
                    light += facing[a * MAXNB + k] * (1 - e / bw);
            }
            float cover = (float)clampd(edge - hj + 0.5, 0, 1), c = bevel * (float)light;
            for (int ch = 0; ch < 3; ch++) {
                float m = (float)mean[4 * a + ch], v = c < 0 ? m * (1 + c) : m + (1 - m) * c;
                v = cover * v + (1 - cover) * dark * m;
                float *o = s + ch * hw + i;
                *o += t * (v - *o);
                *o = *o < 0 ? 0 : *o > 1 ? 1 : *o;
            }
        }
    free(g.sx), free(id), free(nb), free(nn), free(mean), free(half_inv);
    return PS_OK;
}
