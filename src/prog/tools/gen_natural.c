/* Generates src/prog/natural.c, the style program's idea of a natural photo, from the training
 * photos (never the validation ones):   make prog-natural   (= build/gen_natural PHOTO... >
 * src/prog/natural.c). The spreads are the 99th percentile, over DRAWS random sets of K distinct
 * photos, of each distance the fit's gates use: K natural samples open no gate 99 % of the time.
 * Deterministic: a fixed-seed generator, photos in the order given. */
#include "src/prog/prog.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAWS 4000
#define MAXPHOTOS 512
#define GRAY_RMS 2.0 /* Lab chroma rms under which a photo is black and white */
#define SK_BINS 25600 /* darkness histogram over +-SK_RANGE Lab L */
#define SK_RANGE 64.0
#define PEN_BINS 3000 /* pencil run over 4 R, in [0, PEN_RANGE) */
#define PEN_RANGE 1.5

static uint64_t rng = 0x243f6a8885a308d3ull;
static unsigned next(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double p99(double *v, int n)
{
    qsort(v, n, sizeof *v, dcmp);
    return v[(int)(0.99 * (n - 1))];
}

static void row(const char *name, const double *v, int n)
{
    printf("    .%s = {", name);
    for (int i = 0; i < n; i++)
        printf("%s%.9g", i ? ", " : "", v[i]);
    printf("},\n");
}

int main(int argc, char **argv)
{
    int n = argc - 1;
    if (n < PS_PROG_MAXK || n > MAXPHOTOS) {
        fprintf(stderr, "usage: gen_natural PHOTO... (%d to %d training photos)\n", PS_PROG_MAXK,
                MAXPHOTOS);
        return 1;
    }
    static ps_prog_imstat st[MAXPHOTOS];
    static ps_prog_natural nat;
    double fr[PS_PROG_NDET][6] = {{0}};
    static double pr[PS_PROG_PAINT_NS][PS_PROG_PAINT_NR][PS_PROG_PAINT_NE][PS_PROG_NDET];
    static double orat[PS_PROG_OIL_NR][PS_PROG_NDET];
    static double dhist[SK_BINS], phist[PS_PROG_PEN_NR][PS_PROG_PEN_NK][PEN_BINS];
    for (int i = 0; i < n; i++) {
        ps_image im = {0};
        if (ps_img_load(argv[i + 1], &im)) {
            fprintf(stderr, "gen_natural: %s\n", ps_last_error());
            return 2;
        }
        int h, w;
        float *s = ps_prog_fit_image(&im, &h, &w), *f = malloc(sizeof(float) * 3 * h * w);
        if (!s || !f)
            return 4;
        ps_prog_imstat_compute(s, h, w, &st[i]);
        double n_all = 0, s2 = 0;
        for (int b = 0; b < PS_PROG_NB; b++)
            n_all += st[i].n[b], s2 += st[i].s2[b];
        if (sqrt(s2 / n_all) < GRAY_RMS) { /* black and white is a style, not natural colour */
            fprintf(stderr, "gen_natural: %s: grey, left out\n", argv[i + 1]);
            free(s);
            free(f);
            ps_img_free(&im);
            n--;
            memmove(argv + i + 1, argv + i + 2, sizeof(char *) * (size_t)(n - i));
            i--;
            continue;
        }
        if (ps_prog_darkness(s, h, w, 4, f))
            return 4;
        for (size_t j = 0; j < (size_t)h * w; j++) { /* each photo weighs the same */
            double b = (f[j] + SK_RANGE) / (2 * SK_RANGE) * SK_BINS;
            dhist[b < 0 ? 0 : b >= SK_BINS ? SK_BINS - 1 : (int)b] += 1.0 / ((double)h * w);
        }
        for (int r = 0; r < PS_PROG_PEN_NR; r++)
            for (int k = 0; k < PS_PROG_PEN_NK; k++) {
                if (ps_prog_pencil(s, h, w, ps_prog_pen_r[r], ps_prog_pen_k[k], 1, f))
                    return 4;
                for (size_t j = 0; j < (size_t)h * w; j++) {
                    double b = f[j] / (4 * ps_prog_pen_r[r]) / PEN_RANGE * PEN_BINS;
                    phist[r][k][b >= PEN_BINS ? PEN_BINS - 1 : (int)b] += 1.0 / ((double)h * w);
                }
            }
        for (int r = 0; r < 6; r++) {
            ps_prog_imstat fs;
            memcpy(f, s, sizeof(float) * 3 * h * w);
            ps_prog_flatten(f, h, w, (int)ps_prog_flat_radii[r]);
            ps_prog_imstat_compute(f, h, w, &fs);
            for (int q = 0; q < PS_PROG_NDET; q++) /* summed; divided by n below */
                fr[q][r] += fs.detail[q] / st[i].detail[q];
        }
        for (int a = 0; a < PS_PROG_PAINT_NS; a++)
            for (int b = 0; b < PS_PROG_PAINT_NR; b++)
                for (int e = 0; e < PS_PROG_PAINT_NE; e++) {
                    ps_prog_imstat fs;
                    memcpy(f, s, sizeof(float) * 3 * h * w);
                    if (ps_prog_paint_smooth(f, h, w, ps_prog_paint_ss[a], ps_prog_paint_sr[b], 1) ||
                        (ps_prog_paint_e[e] > 0 && ps_prog_paint_edges(f, h, w, ps_prog_paint_e[e], 1)))
                        return 4;
                    ps_prog_imstat_compute(f, h, w, &fs);
                    for (int q = 0; q < PS_PROG_NDET; q++)
                        pr[a][b][e][q] += fs.detail[q] / st[i].detail[q];
                }
        for (int r = 0; r < PS_PROG_OIL_NR; r++) {
            ps_prog_imstat fs;
            if (ps_prog_oil(s, f, h, w, (int)ps_prog_oil_r[r]))
                return 4;
            ps_prog_imstat_compute(f, h, w, &fs);
            for (int q = 0; q < PS_PROG_NDET; q++)
                orat[r][q] += fs.detail[q] / st[i].detail[q];
        }
        free(s);
        free(f);
        ps_img_free(&im);
    }
    for (size_t j = 0; j < sizeof orat / sizeof orat[0][0]; j++)
        (&orat[0][0])[j] /= n;
    for (int r = 0; r < PS_PROG_NDET * 6; r++)
        fr[r / 6][r % 6] /= n;
    for (size_t j = 0; j < sizeof pr / sizeof pr[0][0][0][0]; j++)
        (&pr[0][0][0][0])[j] /= n;
    if (n < PS_PROG_MAXK) {
        fprintf(stderr, "gen_natural: only %d colour photos\n", n);
        return 1;
    }
    /* the pooled means over all photos (each photo weighs the same) */
    ps_prog_dist pooled;
    memset(&nat, 0, sizeof nat);
    for (int q = 0; q < PS_PROG_NQ; q++)
        for (int i = 0; i < n; i++)
            nat.lq[q] += st[i].lq[q] / n;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < n; i++)
            nat.noise[c] += st[i].noise[c] / n;
    for (int i = 0; i < n; i++) {
        for (int q = 0; q < PS_PROG_NDET; q++)
            nat.detail[q] += st[i].detail[q] / n;
        for (int q = 0; q < 2; q++)
            nat.ink[q] += st[i].ink[q] / n;
        for (int b = 0; b < PS_PROG_NHUE; b++)
            nat.hue[b] += st[i].hue[b] / n;
        nat.paper += st[i].paper / n;
    }
    for (int b = 0; b < PS_PROG_NB; b++) {
        double cnt = 0, sa = 0, sb = 0;
        for (int i = 0; i < n; i++) {
            double all = 0;
            for (int j = 0; j < PS_PROG_NB; j++)
                all += st[i].n[j];
            cnt += st[i].n[b] / all;
            sa += st[i].sa[b] / all;
            sb += st[i].sb[b] / all;
        }
        nat.cab[b][0] = cnt > 0 ? sa / cnt : 0;
        nat.cab[b][1] = cnt > 0 ? sb / cnt : 0;
    }
    double above = 0;
    for (int b = SK_BINS - 1, q = 0; b >= 0 && q < PS_PROG_NSK; b--) { /* from the darkest */
        above += dhist[b] / n;
        while (q < PS_PROG_NSK && above >= ps_prog_sketch_at[q])
            nat.sk_d[q++] = (b + 0.5) / SK_BINS * 2 * SK_RANGE - SK_RANGE;
    }
    for (int r = 0; r < PS_PROG_PEN_NR; r++) /* from the shortest run (the darkest) */
        for (int k = 0; k < PS_PROG_PEN_NK; k++) {
            double below = 0;
            for (int b = 0, q = 0; b < PEN_BINS && q < PS_PROG_NSK; b++) {
                below += phist[r][k][b] / n;
                while (q < PS_PROG_NSK && below >= ps_prog_sketch_at[q])
                    nat.pen_q[r][k][q++] = (b + 0.5) / PEN_BINS * PEN_RANGE;
            }
        }
    nat.rms = 1; /* the pooled chroma rms of all photos, measured against the band means */
    ps_prog_distances(st, n, &nat, &pooled);
    nat.rms = pooled.rms;
    for (int k = 1; k <= PS_PROG_MAXK; k++) {
        static double dt[DRAWS], di[DRAWS], db[DRAWS], dn[DRAWS], dd[DRAWS], dh[DRAWS], dp[DRAWS],
            dk[DRAWS], df[DRAWS];
        static int idx[DRAWS][PS_PROG_MAXK];
        for (int d = 0; d < DRAWS; d++)
            for (int j = 0; j < k; j++) {
                int ok;
                do {
                    idx[d][j] = (int)next((unsigned)n);
                    ok = 1;
                    for (int q = 0; q < j; q++)
                        ok &= idx[d][q] != idx[d][j];
                } while (!ok);
            }
        /* each lightness quantile's own spread first: the tone distance is measured in them */
        for (int q = 0; q < PS_PROG_NQ; q++) {
            for (int d = 0; d < DRAWS; d++) {
                double m = 0;
                for (int j = 0; j < k; j++)
                    m += st[idx[d][j]].lq[q] / k;
                dt[d] = fabs(m - nat.lq[q]);
            }
            nat.lq_s[k - 1][q] = p99(dt, DRAWS);
        }
        for (int d = 0; d < DRAWS; d++) {
            ps_prog_imstat pick[PS_PROG_MAXK];
            for (int j = 0; j < k; j++)
                pick[j] = st[idx[d][j]];
            ps_prog_dist x;
            ps_prog_distances(pick, k, &nat, &x);
            dt[d] = x.tone;
            db[d] = x.beta;
            di[d] = x.ink;
            dd[d] = fmax(x.detail[0], x.detail[1]);
            df[d] = x.detail[2];
            dn[d] = (x.noise[0] + x.noise[1] + x.noise[2]) / 3;
            dh[d] = x.hue;
            dp[d] = x.paper;
            dk[d] = x.black;
        }
        nat.d_tone[k - 1] = p99(dt, DRAWS);
        nat.d_beta[k - 1] = p99(db, DRAWS);
        nat.d_noise[k - 1] = p99(dn, DRAWS);
        nat.d_detail[k - 1] = p99(dd, DRAWS);
        nat.d_flat[k - 1] = p99(df, DRAWS);
        nat.d_ink[k - 1] = p99(di, DRAWS);
        nat.d_hue[k - 1] = p99(dh, DRAWS);
        nat.d_paper[k - 1] = p99(dp, DRAWS);
        nat.d_black[k - 1] = p99(dk, DRAWS);
    }
    printf("/* GENERATED by src/prog/tools/gen_natural.c from %d training photos (make "
           "prog-natural): do not edit. */\n#include \"src/prog/prog.h\"\n\n"
           "const ps_prog_natural ps_prog_nat = {\n", n);
    row("lq", nat.lq, PS_PROG_NQ);
    printf("    .cab = {");
    for (int b = 0; b < PS_PROG_NB; b++)
        printf("%s{%.9g, %.9g}", b ? ", " : "", nat.cab[b][0], nat.cab[b][1]);
    printf("},\n    .rms = %.9g,\n", nat.rms);
    row("noise", nat.noise, 3);
    row("detail", nat.detail, PS_PROG_NDET);
    row("ink", nat.ink, 2);
    row("hue", nat.hue, PS_PROG_NHUE);
    printf("    .paper = %.9g,\n", nat.paper);
    printf("    .lq_s = {");
    for (int k = 0; k < PS_PROG_MAXK; k++) {
        printf("%s{", k ? ", " : "");
        for (int q = 0; q < PS_PROG_NQ; q++)
            printf("%s%.9g", q ? ", " : "", nat.lq_s[k][q]);
        printf("}");
    }
    printf("},\n");
    row("d_tone", nat.d_tone, PS_PROG_MAXK);
    row("d_beta", nat.d_beta, PS_PROG_MAXK);
    row("d_noise", nat.d_noise, PS_PROG_MAXK);
    row("d_detail", nat.d_detail, PS_PROG_MAXK);
    row("d_flat", nat.d_flat, PS_PROG_MAXK);
    row("d_ink", nat.d_ink, PS_PROG_MAXK);
    row("d_hue", nat.d_hue, PS_PROG_MAXK);
    row("d_paper", nat.d_paper, PS_PROG_MAXK);
    row("d_black", nat.d_black, PS_PROG_MAXK);
    row("sk_d", nat.sk_d, PS_PROG_NSK);
    printf("    .flat_ratio = {");
    for (int q = 0; q < PS_PROG_NDET; q++) {
        printf("%s{", q ? ", " : "");
        for (int r = 0; r < 6; r++)
            printf("%s%.9g", r ? ", " : "", fr[q][r]);
        printf("}");
    }
    printf("},\n");
    printf("    .paint_ratio = {");
    for (int a = 0; a < PS_PROG_PAINT_NS; a++) {
        printf("%s{", a ? ",\n                    " : "");
        for (int b = 0; b < PS_PROG_PAINT_NR; b++) {
            printf("%s{", b ? ", " : "");
            for (int e = 0; e < PS_PROG_PAINT_NE; e++) {
                printf("%s{", e ? ", " : "");
                for (int q = 0; q < PS_PROG_NDET; q++)
                    printf("%s%.6g", q ? ", " : "", pr[a][b][e][q]);
                printf("}");
            }
            printf("}");
        }
        printf("}");
    }
    printf("},\n");
    printf("    .oil_ratio = {");
    for (int r = 0; r < PS_PROG_OIL_NR; r++) {
        printf("%s{", r ? ", " : "");
        for (int q = 0; q < PS_PROG_NDET; q++)
            printf("%s%.6g", q ? ", " : "", orat[r][q]);
        printf("}");
    }
    printf("},\n");
    printf("    .pen_q = {");
    for (int r = 0; r < PS_PROG_PEN_NR; r++) {
        printf("%s{", r ? ",\n              " : "");
        for (int k = 0; k < PS_PROG_PEN_NK; k++) {
            printf("%s{", k ? ", " : "");
            for (int q = 0; q < PS_PROG_NSK; q++)
                printf("%s%.6g", q ? ", " : "", nat.pen_q[r][k][q]);
            printf("}");
        }
        printf("}");
    }
    printf("},\n");
    printf("};\n");
    return 0;
}
