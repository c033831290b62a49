/* Fitting the style program from the samples: per-image statistics, their distance from the
 * natural table, gates that open only beyond the spread of K natural photos, and the operators'
 * parameters read from the samples themselves. */
#include "prog.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LBINS 1000            /* lightness histogram for the quantiles */
#define PAL_COVER 0.97        /* the top PS_PROG_MAXPAL colours cover this much: a palette */
#define PAL_MIN_SHARE 0.0005  /* palette colours rarer than this are JPEG-ish strays */
#define DITHER_DIFF 0.45      /* share of neighbours of another colour that says "dithered" */
#define LEVELS_USED 0.25      /* share of the channels' combinations seen that says "levels" */
#define CELL_SCORE 0.5        /* within-block minus across-block equality that says "cells" */
#define SAME_L 0.05          /* neighbours closer in Lab L are one value (a step of 8-bit sRGB
                                is 0.2 to 0.5 L in the mid-tones; float noise 1e-5) */
#define INK_DARK 12.0        /* Lab L below the 9x9 mean that makes a dark mark */
#define INK_LIGHT 60.0       /* a 9x9 mean above this is light ground (paper) */
#define GRAIN_OVER_INK (13.0 / 255) /* noise sigma past which dark marks are grain, not ink */
#define TONE_MARGIN 2.0      /* the tone gate opens at 2x the natural spread: K photos of one
                                scene type (snow, night) shift every quantile together (on the
                                external set 1.5 opened it for a hue shift, 1.0 for more) */
#define BLACK_MARGIN 1.5     /* and for the darkest sample's black at 1.5x (hue-shift's
                                samples reach 0.13 of the gate at 1x) */
#define HUE_MIN_CHROMA 4.0   /* Lab chroma under which a pixel's hue is noise */
#define HUE_MIN_DEG 20.0     /* smaller best rotations are what natural sets differ by */
#define PAPER_L 95.0         /* blank paper: this light and this grey */
#define PAPER_CHROMA 12.0
#define GRADED_TONE_MARGIN 0.7 /* the tone gate, x the p99, once band colours are on */
#define OIL_FALLBACK 0.3     /* flat_err past which no smoothing explains the samples: about
                                a third off on each detail ratio */
#define SKETCH_PAPER 0.2     /* a sketch is mostly paper: its gate opens past 20 % more blank
                                paper than natural photos show (canvas's bright weave: 4 %) */

const float ps_prog_sketch_at[PS_PROG_NSK] = {0.002f, 0.005f, 0.01f, 0.02f, 0.04f, 0.07f, 0.1f,
                                              0.15f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f,
                                              0.9f};

static const double lq_at[PS_PROG_NQ] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

float *ps_prog_fit_image(const ps_image *img, int *fh, int *fw)
{
    ps_image rgb = *img, f = {0};
    rgb.c = 3;
    int ls = img->w > img->h ? img->w : img->h;
    if (ps_img_fit(&rgb, &f, ls > PS_PROG_FIT_PX ? PS_PROG_FIT_PX : ls))
        return NULL;
    size_t n = (size_t)3 * f.w * f.h;
    for (size_t i = 0; i < n; i++)
        f.px[i] = ps_linear_to_srgb_fast(f.px[i]);
    *fh = f.h;
    *fw = f.w;
    return f.px;
}

/* Immerkaer's (1996) noise operator [1 -2 1; -2 4 -2; 1 -2 1] at r (an interior pixel). */
static inline double immerkaer(const float *r, int w)
{
    return r[-w - 1] - 2 * r[-w] + r[-w + 1] - 2 * r[-1] + 4 * r[0] - 2 * r[1] + r[w - 1] -
           2 * r[w] + r[w + 1];
}

static int band_of(double L)
{
    int b = (int)(L / 100.0 * PS_PROG_NB);
    return b < 0 ? 0 : b >= PS_PROG_NB ? PS_PROG_NB - 1 : b;
}

void ps_prog_imstat_compute(const float *srgb, int h, int w, ps_prog_imstat *s)
{
    memset(s, 0, sizeof *s);
    size_t hw = (size_t)h * w;
    float *L = malloc(sizeof(float) * hw);
    double hist[LBINS] = {0}, hue_w = 0;
    if (!L)
        return;
    for (size_t i = 0; i < hw; i++) {
        double lab[3];
        ps_prog_lab(srgb, hw, i, lab);
        L[i] = (float)lab[0];
        int hb = (int)(lab[0] / 100.0 * LBINS);
        hist[hb < 0 ? 0 : hb >= LBINS ? LBINS - 1 : hb] += 1;
        int b = band_of(lab[0]);
        double c = hypot(lab[1], lab[2]);
        int lb = (int)lab[0];
        s->lhist[lb < 0 ? 0 : lb > 99 ? 99 : lb] += 1.0 / hw;
        s->paper += lab[0] >= PAPER_L && c < PAPER_CHROMA ? 1.0 / hw : 0;
        if (c > HUE_MIN_CHROMA) { /* linear between bin centres, weighted by chroma */
            double f = fmod(atan2(lab[2], lab[1]) * (180 / M_PI) + 360, 360) / 10 - 0.5;
            int b0 = (int)floor(f);
            f -= b0;
            s->hue[(b0 + PS_PROG_NHUE) % PS_PROG_NHUE] += c * (1 - f);
            s->hue[(b0 + 1) % PS_PROG_NHUE] += c * f;
            hue_w += c;
        }
        s->n[b] += 1;
        s->sa[b] += lab[1];
        s->sb[b] += lab[2];
        s->s2[b] += lab[1] * lab[1] + lab[2] * lab[2];
    }
    for (int b = 0; b < PS_PROG_NHUE && hue_w > 0; b++)
        s->hue[b] /= hue_w;
    double cum = 0;
    int q = 0;
    for (int hb = 0; hb < LBINS && q < PS_PROG_NQ; hb++) {
        double next = cum + hist[hb];
        while (q < PS_PROG_NQ && next >= lq_at[q] * hw) { /* linear inside the bin */
            double f = hist[hb] > 0 ? (lq_at[q] * hw - cum) / hist[hb] : 0;
            s->lq[q++] = (hb + f) * 100.0 / LBINS;
        }
        cum = next;
    }
    /* Immerkaer's (1996) operator [1 -2 1; -2 4 -2; 1 -2 1] has a response of std 6 sigma on
     * Gaussian noise; its median absolute response (0.6745 std) ignores the few pixels on
     * edges and lines, which the mean would count as noise. */
    enum { NBIN = 4096 };
    double *nh = calloc(NBIN, sizeof *nh), det = 0;
    for (int c = 0; c < 3 && nh; c++) {
        const float *p = srgb + c * hw;
        memset(nh, 0, sizeof(double) * NBIN);
        double cnt = 0;
        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++) {
                double v = immerkaer(p + (size_t)y * w + x, w);
                int b = (int)(fabs(v) / 2.0 * NBIN); /* |v| <= 16; past 2 is an edge anyway */
                nh[b < NBIN ? b : NBIN - 1] += 1;
                cnt++;
            }
        double acc = 0;
        int b = 0;
        while (b < NBIN - 1 && acc + nh[b] < cnt / 2)
            acc += nh[b++];
        double med = (b + (nh[b] > 0 ? (cnt / 2 - acc) / nh[b] : 0)) * 2.0 / NBIN;
        s->noise[c] = med / (0.6745 * 6.0);
    }
    free(nh);
    /* Flattening removes the fine scale and keeps edges, which live at every scale: the ratio
     * of the two is steadier across natural photos than either alone (foggy skies, foliage). */
    float *m3 = malloc(sizeof(float) * hw * 4);
    if (m3) {
        float *m9 = m3 + hw, *m27 = m3 + 2 * hw, *tmp = m3 + 3 * hw;
        ps_prog_box(m3, L, h, w, 1, tmp);
        ps_prog_box(m9, L, h, w, 4, tmp);
        ps_prog_box(m27, L, h, w, 13, tmp);
        double mid = 0, coarse = 0;
        for (size_t i = 0; i < hw; i++) {
            det += fabs(L[i] - m3[i]);
            mid += fabs(m3[i] - m9[i]);
            coarse += fabs(m9[i] - m27[i]);
        }
        s->detail[0] = det / fmax(mid, 1e-9);
        s->detail[1] = mid / fmax(coarse, 1e-9);
        /* the share of neighbours (along rows) that differ at all: paint leaves whole
         * regions of one value, which photos, whose noise survives any resizing, never have
         * (oil paint 0.29, watercolour 0.57, the external set's photos 0.82) */
        double moved = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x + 1 < w; x++)
                moved += fabsf(L[(size_t)y * w + x + 1] - L[(size_t)y * w + x]) >= SAME_L;
        s->detail[2] = fmax(moved / ((double)h * (w > 1 ? w - 1 : 1)), 1e-3);
        for (size_t i = 0; i < hw; i++) /* m9: dark marks against their surroundings */
            if (m9[i] - L[i] > INK_DARK) {
                s->ink[0] += 1.0 / hw;
                s->ink[1] += m9[i] > INK_LIGHT ? 1.0 / hw : 0;
                s->ink_L += L[i] / hw;
            }
    }
    free(m3);
    free(L);
}

/* The pooled band means of k statistics; bands nearly empty in the samples take the natural. */
static void pooled_cab(const ps_prog_imstat *s, int k, const ps_prog_natural *nat,
                       double cab[PS_PROG_NB][2], double wt[PS_PROG_NB], double *rms)
{
    double tot = 0, res = 0;
    for (int b = 0; b < PS_PROG_NB; b++) {
        double n = 0, sa = 0, sb = 0, s2 = 0;
        for (int i = 0; i < k; i++) {
            /* every image counts equally, whatever its size */
            double all = 0;
            for (int j = 0; j < PS_PROG_NB; j++)
                all += s[i].n[j];
            double u = all > 0 ? 1.0 / all : 0;
            n += s[i].n[b] * u;
            sa += s[i].sa[b] * u;
            sb += s[i].sb[b] * u;
            s2 += s[i].s2[b] * u;
        }
        wt[b] = n / k;
        tot += n;
        if (n * 500 < k) { /* under 0.2 % of the pixels */
            cab[b][0] = nat->cab[b][0];
            cab[b][1] = nat->cab[b][1];
        } else {
            cab[b][0] = sa / n;
            cab[b][1] = sb / n;
        }
        if (n > 0)
            res += s2 - (sa * sa + sb * sb) / n;
    }
    *rms = tot > 0 ? sqrt(fmax(res, 0) / tot) : 0;
}

/* Cosine similarity of histogram h turned by bins steps (h[b + steps] against n[b]) with n. */
static double hue_match(const double *h, const double *n, int steps)
{
    double hn = 0, hh = 0, nn = 0;
    for (int b = 0; b < PS_PROG_NHUE; b++) {
        double v = h[(b + steps + PS_PROG_NHUE) % PS_PROG_NHUE];
        hn += v * n[b];
        hh += v * v;
        nn += n[b] * n[b];
    }
    return hh > 0 && nn > 0 ? hn / sqrt(hh * nn) : 0;
}

void ps_prog_distances(const ps_prog_imstat *s, int k, const ps_prog_natural *nat, ps_prog_dist *d)
{
    memset(d, 0, sizeof *d);
    for (int q = 0; q < PS_PROG_NQ; q++) {
        double m = 0;
        for (int i = 0; i < k; i++)
            m += s[i].lq[q] / k;
        double sp = nat->lq_s[(k > PS_PROG_MAXK ? PS_PROG_MAXK : k) - 1][q];
        d->tone = fmax(d->tone, fabs(m - nat->lq[q]) / fmax(sp, 0.5));
    }
    double cab[PS_PROG_NB][2], wt[PS_PROG_NB];
    pooled_cab(s, k, nat, cab, wt, &d->rms);
    d->beta = fabs(log((d->rms + 1e-3) / (nat->rms + 1e-3)));
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < k; i++)
            d->noise[c] += s[i].noise[c] / k;
        d->noise[c] -= nat->noise[c];
    }
    d->ink = -nat->ink[1];
    for (int i = 0; i < k; i++)
        d->ink += s[i].ink[1] / k;
    for (int j = 0; j < PS_PROG_NDET; j++) {
        double det = 0;
        for (int i = 0; i < k; i++)
            det += s[i].detail[j] / k;
        d->detail[j] = log(nat->detail[j] / fmax(det, 1e-6));
    }
    /* hue: the rotation of the pooled histogram that best matches the natural one, refined
     * between bins by the parabola through its neighbours */
    double h[PS_PROG_NHUE] = {0}, m[PS_PROG_NHUE];
    for (int i = 0; i < k; i++)
        for (int b = 0; b < PS_PROG_NHUE; b++)
            h[b] += s[i].hue[b] / k;
    int best = 0;
    for (int t = 0; t < PS_PROG_NHUE; t++)
        if ((m[t] = hue_match(h, nat->hue, t)) > m[best])
            best = t;
    double lo = m[(best + PS_PROG_NHUE - 1) % PS_PROG_NHUE], hi = m[(best + 1) % PS_PROG_NHUE];
    double den = lo - 2 * m[best] + hi, off = den < 0 ? 0.5 * (lo - hi) / den : 0;
    double deg = 10 * (best + off);
    d->hue_deg = deg > 180 ? deg - 360 : deg;
    d->hue = m[best] - m[0];
    d->black = 100;
    for (int i = 0; i < k; i++)
        d->black = fmin(d->black, s[i].lq[0]);
    d->paper = -nat->paper;
    for (int i = 0; i < k; i++)
        d->paper += s[i].paper / k;
}

/* 0 below the natural spread t, 1 at twice it. */
static float gate(double d, double t)
{
    double g = (d - t) / t;
    return (float)(g < 0 ? 0 : g > 1 ? 1 : g);
}

void ps_prog_identity(ps_prog *p)
{
    memset(p, 0, sizeof *p);
    p->fit_px = PS_PROG_FIT_PX;
    p->beta = 1;
    p->cell = 1;
    p->flat_r = 1;
    p->paint_ss = p->paint_sr = 1;
    p->pencil_r = p->pencil_k = 1;
}

/* ---- sketch: the samples' lightness distribution, pooled (each image weighs the same) ----- */
static void fit_sketch(ps_prog *p, const ps_prog_imstat *st, int k)
{
    double h[100] = {0}, cum = 0;
    for (int i = 0; i < k; i++)
        for (int b = 0; b < 100; b++)
            h[b] += st[i].lhist[b] / k;
    int q = 0;
    for (int b = 0; b < 100 && q < PS_PROG_NSK; b++) {
        double next = cum + h[b];
        while (q < PS_PROG_NSK && next >= ps_prog_sketch_at[q]) { /* linear inside the unit */
            p->sketch_q[q] = (float)(b + (h[b] > 0 ? (ps_prog_sketch_at[q] - cum) / h[b] : 0));
            q++;
        }
        cum = next;
    }
    while (q < PS_PROG_NSK)
        p->sketch_q[q++] = 100;
    p->sketch_marks = 0;
    for (int i = 0; i < k; i++)
        p->sketch_marks += (float)((1 - st[i].paper) / k);
}

/* ---- pencil: the samples' luma quantiles against the tabled runs of natural photos -------- */
#define PEN_YBINS 1000
#define PEN_FIT 0.04 /* rms luma error under which the samples are a pencil drawing */
#define PEN_CHROMA 0.25 /* chroma rms over natural past which the pencil is coloured */

static void fit_pencil(ps_prog *p, float *const *im, const int *hs, const int *ws, int k,
                       const ps_prog_dist *d)
{
    double h[PEN_YBINS] = {0}, y[PS_PROG_NSK], cum = 0;
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i];
        for (size_t j = 0; j < hw; j++) {
            float v = 0.299f * im[i][j] + 0.587f * im[i][hw + j] + 0.114f * im[i][2 * hw + j];
            int b = (int)(v * PEN_YBINS);
            h[b < 0 ? 0 : b >= PEN_YBINS ? PEN_YBINS - 1 : b] += 1.0 / ((double)hw * k);
        }
    }
    for (int b = 0, q = 0; b < PEN_YBINS && q < PS_PROG_NSK; b++) {
        cum += h[b];
        while (q < PS_PROG_NSK && cum >= ps_prog_sketch_at[q])
            y[q++] = (b + 0.5) / PEN_YBINS;
    }
    double best = 1e30, bu = 1;
    int br = 0, bk = 0;
    for (int r = 0; r < PS_PROG_PEN_NR; r++)
        for (int kk = 0; kk < PS_PROG_PEN_NK; kk++)
            for (int j = 0; j < 300; j++) { /* u: the paper's share of a flat run, 0.3 to 30 */
                double u = 0.3 * pow(100.0, j / 299.0), e = 0;
                for (int q = 0; q < PS_PROG_NSK; q++) {
                    double v = fmin(1, u * ps_prog_nat.pen_q[r][kk][q]) - y[q];
                    e += v * v / PS_PROG_NSK;
                }
                if (e < best)
                    best = e, bu = u, br = r, bk = kk;
            }
    if (sqrt(best) > PEN_FIT)
        return;
    p->pencil_g = 1;
    p->pencil_r = ps_prog_pen_r[br];
    p->pencil_k = ps_prog_pen_k[bk];
    p->pencil_shade = (float)(bu / (4 * ps_prog_pen_r[br]));
    /* coloured pencil keeps the photo's chroma; the colour group scales it to the samples' */
    p->pencil_keep = d->rms > PEN_CHROMA * ps_prog_nat.rms;
}

/* ---- palette: the samples' own colours ---------------------------------------------------- */
typedef struct { uint32_t rgb; uint32_t n; } pal_ent;

static int ent_cmp(const void *a, const void *b)
{
    const pal_ent *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : (x->rgb > y->rgb) - (x->rgb < y->rgb);
}

static uint32_t rgb8(const float *srgb, size_t hw, size_t i)
{
    uint32_t v = 0;
    for (int c = 0; c < 3; c++) {
        float f = srgb[c * hw + i] * 255.0f + 0.5f;
        v = v << 8 | (uint32_t)(f < 0 ? 0 : f > 255 ? 255 : f);
    }
    return v;
}

/* Levels per channel (posterize): when the colours are each channel's few values combined
 * freely, as many of the combinations occurring as a palette of levels would make (a fixed
 * palette uses few of its channels' combinations), each channel is quantised by itself, so
 * that combinations the samples lack still come out right. tab: the m colours by count. */
static void fit_levels(ps_prog *p, const pal_ent *tab, size_t m, size_t total, int np)
{
    double share[3][256] = {{0}};
    for (size_t j = 0; j < m; j++)
        for (int c = 0; c < 3; c++)
            share[c][tab[j].rgb >> (16 - 8 * c) & 255] += (double)tab[j].n / total;
    int nl[3], combos = 1;
    float lev[3][PS_PROG_MAXLEV];
    for (int c = 0; c < 3; c++) {
        nl[c] = 0;
        for (int v = 0; v < 256; v++)
            if (share[c][v] >= PAL_MIN_SHARE) {
                if (nl[c] == PS_PROG_MAXLEV)
                    return;
                lev[c][nl[c]++] = v / 255.0f;
            }
        combos *= nl[c];
    }
    size_t cover = 0; /* the pixels whose every channel is on a level */
    for (size_t j = 0; j < m; j++) {
        int on = 1;
        for (int c = 0; c < 3; c++)
            on &= share[c][tab[j].rgb >> (16 - 8 * c) & 255] >= PAL_MIN_SHARE;
        cover += on ? tab[j].n : 0;
    }
    if (cover < PAL_COVER * total || np < LEVELS_USED * combos)
        return;
    for (int c = 0; c < 3; c++) {
        p->nlev[c] = nl[c];
        memcpy(p->lev[c], lev[c], sizeof(float) * nl[c]);
    }
}

/* Open-addressing count of the exact 8-bit colours of all samples; gives up (returns 0) once
 * there are more distinct colours than any palette style would have. */
static void fit_palette(ps_prog *p, float *const *im, const int *hs, const int *ws, int k)
{
    enum { CAP = 1 << 14, MAXDISTINCT = 4096 };
    pal_ent *tab = calloc(CAP, sizeof *tab);
    unsigned char *used = calloc(CAP, 1);
    if (!tab || !used)
        goto out;
    size_t total = 0, distinct = 0, diff = 0, pairs = 0;
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i];
        for (size_t j = 0; j < hw; j++) {
            uint32_t v = rgb8(im[i], hw, j);
            uint32_t hsh = (v * 2654435761u) & (CAP - 1);
            while (used[hsh] && tab[hsh].rgb != v)
                hsh = (hsh + 1) & (CAP - 1);
            if (!used[hsh]) {
                if (++distinct > MAXDISTINCT)
                    goto out;
                used[hsh] = 1;
                tab[hsh].rgb = v;
            }
            tab[hsh].n++;
            total++;
            if ((j + 1) % ws[i]) {
                pairs++;
                diff += rgb8(im[i], hw, j + 1) != v;
            }
        }
    }
    size_t m = 0;
    for (size_t h = 0; h < CAP; h++)
        if (used[h])
            tab[m++] = tab[h];
    qsort(tab, m, sizeof *tab, ent_cmp);
    size_t cover = 0;
    int np = 0;
    for (size_t j = 0; j < m && np < PS_PROG_MAXPAL; j++) {
        if (tab[j].n < PAL_MIN_SHARE * total)
            break;
        cover += tab[j].n;
        float rgb[3];
        for (int c = 0; c < 3; c++)
            rgb[c] = ps_srgb_to_linear((float)(tab[j].rgb >> (16 - 8 * c) & 255) / 255.0f);
        double lab[3];
        ps_feat_rgb_to_lab(rgb, lab);
        for (int c = 0; c < 3; c++)
            p->pal[np][c] = (float)lab[c];
        np++;
    }
    if (np >= 2 && cover >= PAL_COVER * total) {
        p->npal = np;
        p->pal_g = 1;
        p->dither = pairs && (double)diff / pairs > DITHER_DIFF;
        fit_levels(p, tab, m, total, np);
    }
out:
    free(tab);
    free(used);
}

/* ---- cells: equal neighbours inside blocks of side b, unequal across their borders --------- */
static double cell_score(float *const *im, const int *hs, const int *ws, int k, int b, int dx)
{
    double in = 0, nin = 0, across = 0, nacross = 0;
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i], step = dx ? 1 : (size_t)ws[i];
        for (int y = 0; y + !dx < hs[i]; y += 3) /* a third of the rows is plenty */
            for (int x = 0; x + dx < ws[i]; x++) {
                size_t j = (size_t)y * ws[i] + x;
                int eq = 1, pos = dx ? x : y;
                for (int c = 0; c < 3; c++)
                    eq &= fabsf(im[i][c * hw + j] - im[i][c * hw + j + step]) < 2.0f / 255;
                if ((pos + 1) % b) {
                    in += eq;
                    nin++;
                } else {
                    across += eq;
                    nacross++;
                }
            }
    }
    return (nin ? in / nin : 0) - (nacross ? across / nacross : 0);
}

/* Cells: neighbours equal inside blocks of side b, unequal across their borders, both ways. */
static void fit_cells(ps_prog *p, float *const *im, const int *hs, const int *ws, int k)
{
    double best = 0;
    int bb = 0;
    for (int b = 2; b <= 32; b++) {
        double sc = fmin(cell_score(im, hs, ws, k, b, 1), cell_score(im, hs, ws, k, b, 0));
        if (sc > best + 0.02) { /* the smallest block that explains it: 16 also fits 8 */
            best = sc;
            bb = b;
        }
    }
    if (best > CELL_SCORE) {
        p->cell_g = 1;
        p->cell = (float)bb;
    }
}

/* ---- screen: an additive pattern fixed to the image grid (scanlines, a canvas's weave) ----
 * Only a pattern every sample carries at the same place makes their fine detail agree pixel for
 * pixel: natural photos' high-pass residuals correlate 0.003 at most from one photo to the next. The mean residual is then mostly the pattern, and its autocorrelation gives
 * the period along each axis (the shortest lag that repeats nearly all of it); the pattern is
 * the residual (to a box mean over SCREEN_R) averaged over every period of every sample. */
#define SCREEN_CORR 0.05 /* samples' mean pairwise residual correlation that says "screen"
                            (natural 0.000 to 0.003; scanlines 0.11, a canvas 0.94) */
#define SCREEN_R 8       /* box radius of the residual the pattern is read from: on GEGL's
                            canvas pattern added to 5 photos, radii 4 to 16 gave correlation
                            0.99+ with the truth and the least error at 8; 1 lost a quarter of
                            its amplitude, 64 took in content */

/* The autocorrelation of planes m (3, h, w) at lag L along x (dx) or y: the shortest lag whose
 * correlation is 0.9 of the best one's, 0 when no lag repeats more than half of it. */
static int screen_period(const float *m, int h, int w, int dx)
{
    int n = dx ? w : h, lmax = n / 2 < PS_PROG_MAXP ? n / 2 : PS_PROG_MAXP;
    size_t hw = (size_t)h * w, off = dx ? 1 : (size_t)w;
    double ac[PS_PROG_MAXP + 1] = {0}, best = 0;
    for (int L = 1; L <= lmax; L++) {
        double sxy = 0, sxx = 0, syy = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y + (dx ? 0 : L) < h; y++)
                for (int x = 0; x + (dx ? L : 0) < w; x++) {
                    const float *a = m + c * hw + (size_t)y * w + x;
                    sxy += (double)a[0] * a[L * off];
                    sxx += (double)a[0] * a[0];
                    syy += (double)a[L * off] * a[L * off];
                }
        ac[L] = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
        best = fmax(best, ac[L]);
    }
    if (best < 0.5)
        return 0;
    int L = 1;
    while (ac[L] < 0.9 * best)
        L++;
    return L;
}

static void fit_screen(ps_prog *p, float *const *im, const int *hs, const int *ws, int k)
{
    if (k < 2)
        return; /* one sample cannot tell its pattern from its content */
    int ch = hs[0], cw = ws[0], mh = hs[0], mw = ws[0]; /* the common region; the largest */
    for (int i = 1; i < k; i++) {
        ch = hs[i] < ch ? hs[i] : ch;
        cw = ws[i] < cw ? ws[i] : cw;
        mh = hs[i] > mh ? hs[i] : mh;
        mw = ws[i] > mw ? ws[i] : mw;
    }
    size_t cn = (size_t)3 * ch * cw, mn = (size_t)mh * mw;
    float *res = malloc(sizeof(float) * cn * k), *g = malloc(sizeof(float) * mn * 2);
    double *acc = calloc((size_t)3 * PS_PROG_MAXP * PS_PROG_MAXP * 2, sizeof *acc);
    if (!res || !g || !acc)
        goto out; /* the screen stays off: fitting never fails but for memory, and this is an
                     optional operator */
    /* each sample's residual per channel on the common (top-left) region: per channel, for a
     * screen of coloured stripes (video scanlines) is nearly grey-free */
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i];
        for (int c = 0; c < 3; c++) {
            const float *s = im[i] + c * hw;
            ps_prog_box(g, s, hs[i], ws[i], 2, g + mn);
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++) {
                    size_t j = (size_t)y * ws[i] + x;
                    res[i * cn + ((size_t)c * ch + y) * cw + x] = s[j] - g[j];
                }
        }
    }
    double corr = 0;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++) {
            double sxy = 0, sxx = 0, syy = 0;
            for (size_t q = 0; q < cn; q++) {
                double a = res[i * cn + q], b = res[j * cn + q];
                sxy += a * b;
                sxx += a * a;
                syy += b * b;
            }
            corr += (sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0) / (k * (k - 1) / 2);
        }
    if (corr < SCREEN_CORR)
        goto out;
    for (size_t q = 0; q < cn; q++) { /* the mean residual: the pattern, content averaged out */
        double m = 0;
        for (int i = 0; i < k; i++)
            m += res[i * cn + q];
        res[q] = (float)(m / k);
    }
    int pw = screen_period(res, ch, cw, 1), ph = screen_period(res, ch, cw, 0);
    if (!pw || !ph || pw * ph < 2)
        goto out;
    /* the pattern per channel: residuals to a box mean, averaged over every period, leaving out
     * clipped pixels (where the pattern could not show) */
    double *sum = acc, *cnt = acc + (size_t)3 * PS_PROG_MAXP * PS_PROG_MAXP;
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i];
        for (int c = 0; c < 3; c++) {
            const float *s = im[i] + c * hw;
            ps_prog_box(g, s, hs[i], ws[i], SCREEN_R, g + mn);
            for (int y = 0; y < hs[i]; y++)
                for (int x = 0; x < ws[i]; x++) {
                    size_t j = (size_t)y * ws[i] + x;
                    if (s[j] <= 0.5f / 255 || s[j] >= 254.5f / 255)
                        continue;
                    size_t a = ((size_t)c * PS_PROG_MAXP + y % ph) * PS_PROG_MAXP + x % pw;
                    sum[a] += s[j] - g[j];
                    cnt[a] += 1;
                }
        }
    }
    for (int c = 0; c < 3; c++) {
        double mean = 0;
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++) {
                size_t a = ((size_t)c * PS_PROG_MAXP + y) * PS_PROG_MAXP + x;
                sum[a] = cnt[a] > 0 ? sum[a] / cnt[a] : 0;
                mean += sum[a] / (ph * pw);
            }
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < pw; x++)
                p->screen[c][y][x] =
                    (float)(sum[((size_t)c * PS_PROG_MAXP + y) * PS_PROG_MAXP + x] - mean);
    }
    p->screen_g = 1;
    p->screen_w = pw;
    p->screen_h = ph;
out:
    free(res);
    free(g);
    free(acc);
}

/* e: how far blending an operator by t with natural detail ratios ratio[] lands from the
 * samples' ratios (d: log natural over samples), summed over the statistics in log. */
static double flat_err(const double *ratio, int t, const double *d)
{
    double e = 0;
    for (int q = 0; q < PS_PROG_NDET; q++) {
        double l = log(1 - 0.25 * t * (1 - ratio[q])) + d[q];
        e += l * l;
    }
    return e;
}

/* The flattening whose detail ratios on natural photos are the samples': the guided filter at
 * its radii, paint at its tabled settings or (oil) the oil filter at its radii, each blended by
 * a quarter to all of it. */
static void fit_flat(ps_prog *p, const ps_prog_dist *d, const ps_prog_natural *nat, float g,
                     int oil)
{
    double best = 1e30, bt = 1;
    int kind = 0, bi = 0;
    for (int t = 1; t <= 4; t++) {
        for (int r = 0; r < 6; r++) {
            double rat[PS_PROG_NDET], e;
            for (int q = 0; q < PS_PROG_NDET; q++)
                rat[q] = nat->flat_ratio[q][r];
            if ((e = flat_err(rat, t, d->detail)) < best)
                best = e, bt = 0.25 * t, kind = 0, bi = r;
        }
        for (int j = 0; j < PS_PROG_PAINT_NS * PS_PROG_PAINT_NR * PS_PROG_PAINT_NE; j++) {
            double e = flat_err(&nat->paint_ratio[0][0][0][0] + (size_t)j * PS_PROG_NDET, t,
                                d->detail);
            if (e < best)
                best = e, bt = 0.25 * t, kind = 1, bi = j;
        }
    }
    /* the oil filter only where no smoothing explains the samples: by these ratios its patches
     * also matched flat paint better than paint did (ΔE2000 2.9 -> 4.1 there); a paint setting
     * came within 0.15 of flat paint and of oilify, and 0.92 of oil paint */
    for (int t = 1; t <= 4 && oil && best > OIL_FALLBACK; t++)
        for (int r = 0; r < PS_PROG_OIL_NR; r++) {
            double e = flat_err(nat->oil_ratio[r], t, d->detail);
            if (e < best)
                best = e, bt = 0.25 * t, kind = 2, bi = r;
        }
    if (kind == 0) {
        p->flat_g = g * (float)bt;
        p->flat_r = ps_prog_flat_radii[bi];
    } else if (kind == 2) {
        p->oil_g = g * (float)bt;
        p->oil_r = ps_prog_oil_r[bi];
    } else {
        p->paint_g = g * (float)bt;
        p->paint_ss = ps_prog_paint_ss[bi / (PS_PROG_PAINT_NR * PS_PROG_PAINT_NE)];
        p->paint_sr = ps_prog_paint_sr[bi / PS_PROG_PAINT_NE % PS_PROG_PAINT_NR];
        p->paint_e = ps_prog_paint_e[bi % PS_PROG_PAINT_NE];
    }
}

/* The tone curve to the samples' mean lightness quantiles; returns its gate: the quantiles past
 * natural, or a black that every sample lifts (levels, duotones). */
static float fit_tone(ps_prog *p, const ps_prog_imstat *st, int k, const ps_prog_dist *d)
{
    const ps_prog_natural *nat = &ps_prog_nat;
    for (int q = 0; q < PS_PROG_NQ; q++) {
        double m = 0;
        for (int i = 0; i < k; i++)
            m += st[i].lq[q] / k;
        p->tone_q[q] = (float)m;
    }
    return fmaxf(gate(d->tone, TONE_MARGIN * nat->d_tone[k - 1]),
                 gate(d->black, BLACK_MARGIN * nat->d_black[k - 1]));
}

/* A halftone's tone is its cells' mean lightness, not its pixels' (ink or paper): the tone
 * curve to the samples' lightness quantiles once each is averaged over its largest cell, gated
 * as any tone curve is, so the screens, which cover each cell as much as its ink asks, print
 * the samples' tone. */
static ps_status fit_halftone_tone(ps_prog *p, float *const *im, const int *hs, const int *ws,
                                   int k)
{
    float cell = 0;
    for (int c = 0; c < 4; c++)
        cell = fmaxf(cell, p->ht_period[c]);
    int r = (int)ceilf(cell / 2);
    ps_prog_imstat st[PS_PROG_MAXK];
    for (int i = 0; i < k; i++) {
        size_t hw = (size_t)hs[i] * ws[i];
        float *b = malloc(sizeof(float) * hw * 4);
        if (!b)
            return ps_fail(PS_EINTERNAL, "program fit: out of memory");
        for (size_t j = 0; j < 3 * hw; j++) /* light adds up in linear reflectance */
            b[j] = ps_srgb_to_linear_fast(im[i][j]);
        for (int c = 0; c < 3; c++)
            ps_prog_box(b + c * hw, b + c * hw, hs[i], ws[i], r, b + 3 * hw);
        for (size_t j = 0; j < 3 * hw; j++)
            b[j] = ps_linear_to_srgb_fast(b[j]);
        ps_prog_imstat_compute(b, hs[i], ws[i], &st[i]);
        free(b);
    }
    ps_prog_dist d;
    ps_prog_distances(st, k, &ps_prog_nat, &d);
    p->tone_g = fit_tone(p, st, k, &d);
    return PS_OK;
}

/* Cross-channel correlation of the noise operator's response: 1 for mono grain. */
static double noise_corr(float *const *im, const int *hs, const int *ws, int k)
{
    double sxy[3] = {0}, sxx[3] = {0};
    for (int i = 0; i < k; i++) {
        int h = hs[i], w = ws[i];
        size_t hw = (size_t)h * w;
        for (int y = 1; y < h - 1; y += 2)
            for (int x = 1; x < w - 1; x++) {
                double v[3];
                for (int c = 0; c < 3; c++)
                    v[c] = immerkaer(im[i] + c * hw + (size_t)y * w + x, w);
                for (int c = 0; c < 3; c++) {
                    sxy[c] += v[c] * v[(c + 1) % 3];
                    sxx[c] += v[c] * v[c];
                }
            }
    }
    double r = 0;
    for (int c = 0; c < 3; c++)
        r += sxy[c] / sqrt(fmax(sxx[c] * sxx[(c + 1) % 3], 1e-30)) / 3;
    return r;
}

ps_status ps_prog_fit(ps_prog *p, const ps_image *imgs, int k)
{
    ps_prog_identity(p);
    if (k < 1)
        return ps_fail(PS_EUSAGE, "program fit: no samples");
    float *im[PS_PROG_MAXK] = {0};
    int hs[PS_PROG_MAXK], ws[PS_PROG_MAXK], fit_long = 0;
    ps_prog_imstat st[PS_PROG_MAXK];
    ps_status rc = PS_OK;
    if (k > PS_PROG_MAXK)
        return ps_fail(PS_EUSAGE, "program fit: %d samples, at most %d", k, PS_PROG_MAXK);
    for (int i = 0; i < k && !rc; i++) {
        if (!(im[i] = ps_prog_fit_image(&imgs[i], &hs[i], &ws[i]))) {
            rc = ps_fail(PS_EINTERNAL, "program fit: out of memory");
            break;
        }
        ps_prog_imstat_compute(im[i], hs[i], ws[i], &st[i]);
        int ls = hs[i] > ws[i] ? hs[i] : ws[i];
        fit_long = ls > fit_long ? ls : fit_long;
    }
    if (rc)
        goto out;
    p->fit_px = (float)fit_long;
    if (ps_prog_halftone_fit(p, im, hs, ws, k)) {
        rc = fit_halftone_tone(p, im, hs, ws, k);
        goto out; /* printed in inks: the screens decide every colour */
    }
    if (ps_prog_tile_fit(p, im, hs, ws, k))
        goto out; /* laid in tiles: their mean colours, joints and bevels make every colour */
    const ps_prog_natural *nat = &ps_prog_nat;
    int kk = k > PS_PROG_MAXK ? PS_PROG_MAXK : k;
    ps_prog_dist d;
    ps_prog_distances(st, k, nat, &d);

    /* marks on blank paper: a sketch, whose few greys are no palette and whose lightness the
     * sketch sets, not a tone curve */
    p->sketch_g = fminf(gate(d.paper, fmax(nat->d_paper[kk - 1], SKETCH_PAPER)),
                        gate(d.ink, nat->d_ink[kk - 1]));
    if (p->sketch_g > 0) {
        fit_sketch(p, st, k);
        fit_pencil(p, im, hs, ws, k, &d);
        if (p->pencil_g > 0)
            p->sketch_g = 0;
    } else
        fit_palette(p, im, hs, ws, k);
    float drawn = fmaxf(p->sketch_g, p->pencil_g); /* a drawing sets its own lightness */
    int pen = p->pencil_g > 0; /* and a pencil's strokes are its texture: no grain, no screen */
    if (!p->npal && !pen)
        fit_cells(p, im, hs, ws, k);
    if (!p->npal && !p->cell_g && !pen)
        fit_screen(p, im, hs, ws, k);
    if (!p->npal) { /* a palette decides every colour by itself */
        float tone = fit_tone(p, st, k, &d);
        p->tone_g = drawn > 0 ? 0 : tone;
        double cab[PS_PROG_NB][2], wt[PS_PROG_NB], rms;
        pooled_cab(st, k, nat, cab, wt, &rms);
        for (int b = 0; b < PS_PROG_NB; b++) {
            p->cab[b][0] = (float)cab[b][0];
            p->cab[b][1] = (float)cab[b][1];
        }
        p->beta_g = gate(d.beta, nat->d_beta[kk - 1]);
        p->beta = (float)fmin(rms / nat->rms, 2.0);
        /* the samples' band colours say the style, not their content, only once their own
         * chroma has gone past natural (the beta gate: a gradient map such as sepia or a
         * duotone, a faded or split-toned grade); natural sets of K photos differ by more than
         * any grade in band colour. The blend toward them grows as the residual chroma falls:
         * on the external set, weights 1 - c * beta for c = 2, 1.5, 1.2, 1, 0.5, 0 won 12, 13,
         * 14, 14, 14, 13 styles (sepia's GradW1 lost at 0) with LapSWD 26.5 -> 25.1 */
        p->chroma_g = p->beta_g * (float)fmin(fmax(1 - 0.5 * p->beta, 0), 1);
        /* a grade that replaced the colours set lightness too: past natural is enough for the
         * tone curve then (colormap-pink dE 7.05 -> 4.99; at 1.5x the p99 nothing opened) */
        if (p->chroma_g > 0 && drawn <= 0)
            p->tone_g = fmaxf(p->tone_g, p->chroma_g * gate(d.tone, GRADED_TONE_MARGIN *
                                                                       nat->d_tone[kk - 1]));
        /* a hue rotation needs colours to turn: none once a gradient map replaced them */
        if (fabs(d.hue_deg) >= HUE_MIN_DEG && p->chroma_g < 0.5f) {
            p->hue_g = gate(d.hue, nat->d_hue[kk - 1]) * (1 - p->chroma_g);
            p->hue_deg = (float)d.hue_deg;
        }
    }
    if (!p->npal && !p->cell_g && !p->screen_g && !pen) {
        double dn = (d.noise[0] + d.noise[1] + d.noise[2]) / 3;
        p->grain_g = gate(dn, nat->d_noise[kk - 1]);
        if (p->grain_g > 0) {
            for (int c = 0; c < 3; c++) {
                double m = d.noise[c] + nat->noise[c];
                p->grain_sigma[c] = (float)sqrt(fmax(m * m - nat->noise[c] * nat->noise[c], 0));
            }
            p->grain_mono = (float)fmin(fmax((noise_corr(im, hs, ws, k) - 0.5) / 0.4, 0), 1);
        }
        /* flat ground: the mean detail ratios past natural, or the median one (a painting
         * whose dark edges keep the means up) */
        float g = fmaxf(gate(fmax(d.detail[0], d.detail[1]), nat->d_detail[kk - 1]),
                        gate(d.detail[2], nat->d_flat[kk - 1]));
        /* the oil filter keeps a painting's colours; a drawing replaces them, and its marks
         * fell where oil's patches meet (photocopy's GradW1 7.1 -> 12.0 against paint) */
        if (g > 0)
            fit_flat(p, &d, nat, g, drawn <= 0);
    }
    if (!p->npal && !p->cell_g && !p->screen_g) {
        /* ink on light ground, past what natural photos show (a palette's dark marks are its
         * quantisation edges, and it decides every colour by itself) */
        p->ink_g = drawn > 0 ? 0 : gate(d.ink, nat->d_ink[kk - 1]); /* a drawing: its marks */
        double share = 0, sum_l = 0;
        for (int i = 0; i < k; i++) {
            share += st[i].ink[0] / k;
            sum_l += st[i].ink_L / k;
        }
        p->ink_share = (float)fmin(share, 0.25);
        p->ink_L = share > 0 ? (float)(sum_l / share) : 0;
        /* Ink lines raise the 3x3 noise estimate too (cartoon's by 6.7/255 at the fit size), and
         * grain makes dark marks: the clearer signal wins; when both are clear, strong noise is
         * grain and weaker noise beside ink is the ink. */
        double sig = (p->grain_sigma[0] + p->grain_sigma[1] + p->grain_sigma[2]) / 3;
        if (p->ink_g > 0 && p->grain_g > 0) {
            if (p->grain_g > p->ink_g || (p->grain_g == p->ink_g && sig >= GRAIN_OVER_INK))
                p->ink_g = 0;
            else
                p->grain_g = 0;
        }
    }
out:
    for (int i = 0; i < k; i++)
        free(im[i]);
    return rc;
}
