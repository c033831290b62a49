/* Section 9: the external styles (`make extval`: GEGL and OpenCV filters on the validation
 * photos, never trained on). For every style, pstyle learns from its 5 samples and paints each
 * query photo; the photo unchanged, Reinhard transfer and pstyle are scored against the ground
 * truth on the six reference metrics (shared/metrics/pstyle_metrics.py, src/feat/score.c), with
 * a verdict per style against doing nothing, and a contact sheet. */
#include "bench/bench_impl.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* E_NETWORK: the ablation, the attention network alone on the style's tokens (pstyle before
 * style programs; what styles without a program still get) */
enum { E_PHOTO, E_REINHARD, E_PSTYLE, E_NETWORK, E_NMETHODS };
static const char *const e_name[E_NMETHODS] = {"photo unchanged", "Reinhard", "pstyle",
                                               "network alone (ablation)"};
static const char *const e_key[E_NMETHODS] = {"photo", "reinhard", "pstyle", "network"};
static const char *const score_key[PS_SCORE_N] = {"psnr", "ssim", "delta_e2000", "swd",
                                                  "grad_w1", "lap_swd"};
static const char *const score_unit[PS_SCORE_N] = {"dB", "1", "dE00", "Lab", "L", "1"};

#define EXT_MAX_STYLES 48
#define EXT_MAX_SHOTS 10
#define EXT_MAX_Q 8
#define EXT_PATH 512
#define EXT_TW 128 /* contact sheet tile: 4:3, like the set's photos */
#define EXT_TH 96

typedef struct {
    char name[64], group[16];
    int quick, k, q;
    char sup[EXT_MAX_SHOTS][EXT_PATH];
    char photo[EXT_MAX_Q][EXT_PATH], gt[EXT_MAX_Q][EXT_PATH];
} ext_style;

typedef struct {
    double m[E_NMETHODS][PS_SCORE_N]; /* mean over the style's queries */
    double learn_sec;
    double big_sec;    /* the program on the 12 MP photo, in-process (NAN: not measured) */
    char program[320]; /* the learned program in words */
    int wins_photo;    /* metrics on which pstyle beats the photo unchanged */
    int dist_both;     /* pstyle beats both baselines on SWD, GradW1 and LapSWD */
} ext_result;

static ext_style *find_style(ext_style *s, int *n, const char *name, const char *group, int quick)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(s[i].name, name))
            return &s[i];
    if (*n == EXT_MAX_STYLES)
        return NULL;
    ext_style *e = &s[(*n)++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->group, sizeof e->group, "%s", group);
    e->quick = quick;
    return e;
}

/* manifest.tsv (written by bench/extval/make_extval.py): style, group, quick, role, photo,
 * image; paths relative to dir. */
static ps_status read_manifest(const char *dir, ext_style *s, int *n)
{
    char path[EXT_PATH], line[4 * EXT_PATH];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return ps_fail(PS_EINPUT, "%s: not found (run `make extval`)", path);
    *n = 0;
    ps_status st = PS_OK;
    for (int ln = 1; !st && fgets(line, sizeof line, f); ln++) {
        char *tab[6], *save = NULL;
        int nf = 0;
        line[strcspn(line, "\r\n")] = 0;
        for (char *t = strtok_r(line, "\t", &save); t && nf < 6; t = strtok_r(NULL, "\t", &save))
            tab[nf++] = t;
        if (ln == 1)
            continue; /* header */
        ext_style *e = nf == 6 ? find_style(s, n, tab[0], tab[1], atoi(tab[2])) : NULL;
        if (!e) {
            st = ps_fail(PS_EINPUT, "%s:%d: %s", path, ln,
                         nf == 6 ? "too many styles" : "expected 6 tab-separated fields");
        } else if (!strcmp(tab[3], "support") && e->k < EXT_MAX_SHOTS) {
            snprintf(e->sup[e->k++], EXT_PATH, "%s/%s", dir, tab[5]);
        } else if (!strcmp(tab[3], "query") && e->q < EXT_MAX_Q) {
            snprintf(e->photo[e->q], EXT_PATH, "%s/%s", dir, tab[4]);
            snprintf(e->gt[e->q++], EXT_PATH, "%s/%s", dir, tab[5]);
        } else {
            st = ps_fail(PS_EINPUT, "%s:%d: bad role '%s' or too many images", path, ln, tab[3]);
        }
    }
    fclose(f);
    for (int i = 0; i < *n && !st; i++)
        if (!s[i].k || !s[i].q)
            st = ps_fail(PS_EINPUT, "%s: style %s has no samples or no queries", path, s[i].name);
    return st;
}

/* The six metrics of a (linear RGB) result against the ground truth's 8-bit sRGB. */
static ps_status score(const ps_image *out, const unsigned char *gt8, unsigned char *buf,
                       double m[PS_SCORE_N])
{
    ps_image rgb = *out;
    rgb.c = 3;
    ps_img_to_rgba8(&rgb, buf, 3);
    return ps_feat_score(buf, gt8, out->h, out->w, m);
}

/* Reinhard's reference: the pixels of all K samples as one row, planar (it needs their
 * statistics only, so the samples may differ in size). */
static float *pool_pixels(const ps_image *im, int k, size_t *n)
{
    *n = 0;
    for (int i = 0; i < k; i++)
        *n += (size_t)im[i].w * im[i].h;
    float *px = malloc(sizeof(float) * 3 * *n);
    for (int c = 0; c < 3 && px; c++)
        for (size_t i = 0, at = 0; i < (size_t)k; at += (size_t)im[i].w * im[i].h, i++)
            memcpy(px + c * *n + at, im[i].px + (size_t)c * im[i].w * im[i].h,
                   sizeof(float) * im[i].w * im[i].h);
    return px;
}

/* One style: learn, paint every query, score all methods; per-query numbers into results.json;
 * the sheet row: samples | photo | pstyle | ground truth (first query). */
/* The style's program on big (a 12 MP photo), in place on a copy: the median of 3 after a
 * warm-up (what `pstyle apply` spends between decode and encode), in *sec. */
static ps_status time_big(const ps_prog *prog, const ps_image *big, double *sec)
{
    ps_image im = {0};
    ps_status st = ps_img_alloc(&im, big->w, big->h, 3);
    double t[3];
    const ps_dials w1 = {1, 1, 1};
    for (int i = -1; i < 3 && !st; i++) {
        memcpy(im.px, big->px, sizeof(float) * 3 * big->w * big->h);
        double t0 = ps_clock_s();
        st = ps_prog_apply(prog, &im, &w1, &im);
        if (i >= 0)
            t[i] = ps_clock_s() - t0;
    }
    ps_img_free(&im);
    *sec = st ? NAN : ps_bench_stats(t, 3).med;
    return st;
}

static ps_status run_style(ps_bench_ctx *c, const ext_style *e, int row, ps_bench_sheet *sheet,
                           const ps_image *big, ext_result *r)
{
    ps_model *m = &c->model;
    ps_image sup[EXT_MAX_SHOTS] = {{0}};
    float *ref = NULL;
    size_t nref = 0;
    float *tok = malloc(sizeof(float) * ps_model_ntokens(m));
    ps_status st = tok ? PS_OK : ps_fail(PS_EINTERNAL, "bench: out of memory");
    for (int i = 0; i < e->k && !st; i++)
        st = ps_img_load(e->sup[i], &sup[i]);
    ps_learn_stats ls = {0};
    ps_prog prog;
    if (!st && !(ref = pool_pixels(sup, e->k, &nref)))
        st = ps_fail(PS_EINTERNAL, "bench: out of memory");
    if (!st)
        st = ps_model_learn(m, sup, e->k, -1, tok, &prog, NULL, &ls, NULL);
    r->learn_sec = ls.seconds;
    if (!st)
        ps_prog_describe(&prog, r->program, sizeof r->program);
    r->big_sec = NAN;
    if (!st && big->px)
        st = time_big(&prog, big, &r->big_sec);
    memset(r->m, 0, sizeof r->m);
    ps_json_begin(&c->js, "queries", 1);
    for (int q = 0; q < e->q && !st; q++) {
        ps_image ph = {0}, gt = {0}, res[E_NMETHODS] = {{0}};
        unsigned char *gt8 = NULL, *buf = NULL;
        st = ps_img_load(e->photo[q], &ph);
        if (!st)
            st = ps_img_load(e->gt[q], &gt);
        if (!st && (gt.w != ph.w || gt.h != ph.h))
            st = ps_fail(PS_EINPUT, "%s: not the size of its photo", e->gt[q]);
        if (!st) {
            gt.c = 3;
            gt8 = malloc((size_t)3 * gt.w * gt.h);
            buf = malloc((size_t)3 * gt.w * gt.h);
            st = gt8 && buf ? ps_img_alloc(&res[E_REINHARD], ph.w, ph.h, 3)
                            : ps_fail(PS_EINTERNAL, "bench: out of memory");
        }
        const ps_dials w1 = {1, 1, 1};
        if (!st) {
            ps_img_to_rgba8(&gt, gt8, 3);
            ph.c = 3;
            res[E_PHOTO] = ph;
            ps_feat_reinhard_transfer(res[E_REINHARD].px, ph.px, ph.h, ph.w, ref, 1, (int)nref);
            st = ps_model_apply(m, tok, &prog, &ph, &w1, &res[E_PSTYLE]);
            if (!st)
                st = ps_model_apply(m, tok, NULL, &ph, &w1, &res[E_NETWORK]);
        }
        ps_json_begin(&c->js, NULL, 0);
        for (int k = 0; k < E_NMETHODS && !st; k++) {
            double s[PS_SCORE_N];
            st = score(&res[k], gt8, buf, s);
            ps_json_begin(&c->js, e_key[k], 0);
            for (int i = 0; i < PS_SCORE_N && !st; i++) {
                r->m[k][i] += s[i] / e->q;
                ps_json_num(&c->js, score_key[i], s[i]);
            }
            ps_json_end(&c->js, 0);
        }
        ps_json_end(&c->js, 0);
        if (!st && q == 0) {
            for (int i = 0; i < e->k; i++)
                ps_bench_sheet_put(sheet, row, i, &sup[i]);
            ps_bench_sheet_put(sheet, row, e->k, &ph);
            ps_bench_sheet_put(sheet, row, e->k + 1, &res[E_PSTYLE]);
            ps_bench_sheet_put(sheet, row, e->k + 2, &gt);
        }
        ps_img_free(&ph);
        ps_img_free(&gt);
        ps_img_free(&res[E_REINHARD]);
        ps_img_free(&res[E_PSTYLE]);
        ps_img_free(&res[E_NETWORK]);
        free(gt8);
        free(buf);
    }
    ps_json_end(&c->js, 1);
    for (int i = 0; i < e->k; i++)
        ps_img_free(&sup[i]);
    free(ref);
    free(tok);
    r->wins_photo = r->dist_both = 0;
    for (int i = 0; i < PS_SCORE_N; i++) {
        double sgn = ps_feat_score_higher_better(i) ? 1 : -1, p = sgn * r->m[E_PSTYLE][i];
        r->wins_photo += p > sgn * r->m[E_PHOTO][i];
        if (i >= PS_SCORE_SWD)
            r->dist_both += p > sgn * r->m[E_PHOTO][i] && p > sgn * r->m[E_REINHARD][i];
    }
    r->dist_both = r->dist_both == 3;
    return st;
}

static void table_head(FILE *md, const char *first)
{
    fprintf(md, "| %s | method |", first);
    for (int i = 0; i < PS_SCORE_N; i++)
        fprintf(md, " %s %s |", ps_feat_score_name(i), ps_feat_score_higher_better(i) ? "↑" : "↓");
    fputs("\n|---|---|", md);
    for (int i = 0; i < PS_SCORE_N; i++)
        fputs("---|", md);
    fputc('\n', md);
}

static void table_rows(FILE *md, const char *label, double m[E_NMETHODS][PS_SCORE_N])
{
    for (int k = 0; k < E_NMETHODS; k++) {
        fprintf(md, "| %s | %s%s%s |", k ? "" : label, k == E_PSTYLE ? "**" : "", e_name[k],
                k == E_PSTYLE ? "**" : "");
        for (int i = 0; i < PS_SCORE_N; i++)
            fprintf(md, i == PS_SCORE_SSIM ? " %.4f |" : " %.2f |", m[k][i]);
        fputc('\n', md);
    }
}

static void json_means(ps_json *js, const char *key, double m[E_NMETHODS][PS_SCORE_N])
{
    ps_json_begin(js, key, 0);
    for (int k = 0; k < E_NMETHODS; k++) {
        ps_json_begin(js, e_key[k], 0);
        for (int i = 0; i < PS_SCORE_N; i++)
            ps_bench_json_val(js, score_key[i], m[k][i], score_unit[i]);
        ps_json_end(js, 0);
    }
    ps_json_end(js, 0);
}

void ps_bench_sec_extval(ps_bench_ctx *c)
{
    fputs("## 9. External styles (never trained on)\n\n", c->md);
    ps_json_begin(&c->js, "external", 0);
    static ext_style styles[EXT_MAX_STYLES];
    static ext_result res[EXT_MAX_STYLES];
    int n = 0;
    ps_status st = c->have_model ? read_manifest(c->o->extval, styles, &n)
                                 : ps_fail(PS_EINPUT, "no model could be loaded");
    if (st) {
        fprintf(c->md, "Not measured: %s.\n\n", ps_last_error());
        ps_json_str(&c->js, "skipped", ps_last_error());
        ps_json_end(&c->js, 0);
        return;
    }
    int run[EXT_MAX_STYLES], nrun = 0, kmax = 0;
    for (int i = 0; i < n; i++)
        if (!c->quick || styles[i].quick) {
            run[nrun++] = i;
            kmax = styles[i].k > kmax ? styles[i].k : kmax;
        }
    ps_bench_sheet sheet;
    ps_bench_sheet_new(&sheet, nrun, kmax + 3, EXT_TW, EXT_TH);
    /* full runs also time each program at 12 MP: the first query photo, enlarged */
    ps_image big = {0};
    if (!c->quick) {
        ps_image ph = {0};
        if (ps_img_load(styles[run[0]].photo[0], &ph) || ps_img_resize(&ph, &big, 4000, 3000))
            ps_img_free(&big);
        ps_img_free(&ph);
        big.c = 3;
    }
    ps_json_begin(&c->js, "styles", 1);
    for (int j = 0; j < nrun && !st; j++) {
        const ext_style *e = &styles[run[j]];
        ps_bench_progress("external styles", j, nrun, e->name);
        ps_json_begin(&c->js, NULL, 0);
        ps_json_str(&c->js, "style", e->name);
        ps_json_str(&c->js, "group", e->group);
        ps_bench_json_val(&c->js, "samples", e->k, "images");
        st = run_style(c, e, j, &sheet, &big, &res[j]);
        if (!st) {
            ps_bench_json_val(&c->js, "learn_time", res[j].learn_sec, "s");
            if (!isnan(res[j].big_sec))
                ps_bench_json_val(&c->js, "program_time_12mp", res[j].big_sec, "s");
            json_means(&c->js, "mean", res[j].m);
            ps_bench_json_val(&c->js, "pstyle_beats_photo", res[j].wins_photo, "metrics of 6");
            ps_json_num(&c->js, "pstyle_beats_both_on_distributions", res[j].dist_both);
        }
        ps_json_end(&c->js, 0);
    }
    ps_json_end(&c->js, 1);
    ps_img_free(&big);
    if (st) {
        fprintf(c->md, "Failed: %s.\n\n", ps_last_error());
        ps_json_str(&c->js, "error", ps_last_error());
        ps_json_end(&c->js, 0);
        ps_bench_sheet_free(&sheet);
        return;
    }

    /* overall: the styles' means (the control apart), then per group */
    static const char *const groups[3] = {"color", "texture", "stroke"};
    double all[E_NMETHODS][PS_SCORE_N] = {{0}}, grp[3][E_NMETHODS][PS_SCORE_N] = {{{0}}};
    int nall = 0, ngrp[3] = {0}, dist_both = 0, de_ok = 0, ctl = -1;
    double learn = 0;
    for (int j = 0; j < nrun; j++) {
        const ext_style *e = &styles[run[j]];
        learn += res[j].learn_sec / nrun;
        if (!strcmp(e->group, "control")) {
            ctl = j;
            continue;
        }
        int g = 0;
        while (g < 3 && strcmp(e->group, groups[g]))
            g++;
        nall++;
        dist_both += res[j].dist_both;
        de_ok += res[j].m[E_PSTYLE][PS_SCORE_DE00] <= res[j].m[E_PHOTO][PS_SCORE_DE00];
        if (g < 3)
            ngrp[g]++;
        for (int k = 0; k < E_NMETHODS; k++)
            for (int i = 0; i < PS_SCORE_N; i++) {
                all[k][i] += res[j].m[k][i];
                if (g < 3)
                    grp[g][k][i] += res[j].m[k][i];
            }
    }
    for (int k = 0; k < E_NMETHODS; k++)
        for (int i = 0; i < PS_SCORE_N; i++) {
            all[k][i] /= nall ? nall : 1;
            for (int g = 0; g < 3; g++)
                grp[g][k][i] /= ngrp[g] ? ngrp[g] : 1;
        }
    int overall_wins = 0;
    for (int i = 0; i < PS_SCORE_N; i++) {
        double sgn = ps_feat_score_higher_better(i) ? 1 : -1;
        overall_wins += sgn * all[E_PSTYLE][i] > sgn * all[E_PHOTO][i] &&
                        sgn * all[E_PSTYLE][i] > sgn * all[E_REINHARD][i];
    }

    fprintf(c->md, "Styles made by GEGL and OpenCV filters that pstyle never trains on "
            "(`make extval`; the commands are in `bench/extval/styles.tsv`), applied to the "
            "validation photos at 512x384: for each style pstyle learns from %d samples and "
            "paints %d other photos, scored against the filter's own output. Metrics as "
            "`shared/metrics/pstyle_metrics.py` defines them (SWD: colour distribution; "
            "GradW1: edge-strength distribution; LapSWD: local structure such as dots, lines "
            "and grain, wherever they are). %s%d styles + control; learn %.2f s per style. "
            "pstyle paints with the style program it fits at learn time (src/prog); *network "
            "alone* is the ablation without it: the attention network on the style's tokens, "
            "which is how pstyle painted before programs.\n\n", kmax, styles[run[0]].q,
            c->quick ? "**Quick run: a subset**, " : "", nall, learn);
    fprintf(c->md, "**Overall** (mean over the %d styles): pstyle beats both the photo unchanged "
            "and Reinhard on %d of 6 metrics; it beats both on all three distribution metrics "
            "in **%d of %d styles**, and its ΔE2000 is at most the photo unchanged's in %d of "
            "%d.", nall, overall_wins, dist_both, nall, de_ok, nall);
    if (ctl >= 0)
        fprintf(c->md, " **Control** (5 unmodified photos as samples): pstyle changes the photo "
                "by ΔE2000 %.2f (doing nothing: 0).", res[ctl].m[E_PSTYLE][PS_SCORE_DE00]);
    fputs("\n\n", c->md);
    table_head(c->md, "styles");
    table_rows(c->md, "all", all);
    for (int g = 0; g < 3; g++)
        if (ngrp[g]) {
            char label[48];
            snprintf(label, sizeof label, "%s (%d)", groups[g], ngrp[g]);
            table_rows(c->md, label, grp[g]);
        }
    fputs("\nPer style: pstyle's six numbers, then how many of the six beat doing nothing (the "
          "photo unchanged) and whether it beats both baselines on all three distribution "
          "metrics. Baselines per style are in `results.json`. *12 MP s*: the learned program "
          "on a 4000x3000 photo in-process (median of 3 after a warm-up; `pstyle apply` adds "
          "decode and encode, section 4's floor).\n\n| style | group | PSNR | SSIM "
          "| ΔE2000 | SWD | GradW1 | LapSWD | beats doing nothing | distributions vs both | 12 MP s "
          "| learned program |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n", c->md);
    for (int j = 0; j < nrun; j++) {
        const ext_style *e = &styles[run[j]];
        const double *p = res[j].m[E_PSTYLE], *ph = res[j].m[E_PHOTO];
        fprintf(c->md, "| %s | %s |", e->name, e->group);
        for (int i = 0; i < PS_SCORE_N; i++) {
            int better = ps_feat_score_higher_better(i) ? p[i] > ph[i] : p[i] < ph[i];
            fprintf(c->md, i == PS_SCORE_SSIM ? " %s%.4f%s |" : " %s%.2f%s |",
                    better ? "" : "*", p[i], better ? "" : "*");
        }
        char big_s[16] = "-";
        if (!isnan(res[j].big_sec))
            snprintf(big_s, sizeof big_s, "%.2f", res[j].big_sec);
        fprintf(c->md, " %d of 6 | %s | %s | %s |\n", res[j].wins_photo,
                res[j].dist_both ? "yes" : "no", big_s, res[j].program);
    }
    fputs("\n(*starred*: worse than the photo unchanged.)\n\n", c->md);

    json_means(&c->js, "overall", all);
    for (int g = 0; g < 3; g++)
        if (ngrp[g])
            json_means(&c->js, groups[g], grp[g]);
    ps_bench_json_val(&c->js, "styles_measured", nall, "styles");
    ps_bench_json_val(&c->js, "overall_metrics_beating_both", overall_wins, "metrics of 6");
    ps_bench_json_val(&c->js, "styles_beating_both_on_distributions", dist_both, "styles");
    ps_bench_json_val(&c->js, "styles_delta_e_at_most_photo", de_ok, "styles");
    if (ctl >= 0)
        ps_bench_json_val(&c->js, "control_delta_e2000", res[ctl].m[E_PSTYLE][PS_SCORE_DE00],
                          "dE00");
    ps_bench_json_val(&c->js, "learn_time", learn, "s");

    char path[1100];
    snprintf(path, sizeof path, "%s/external_sheet.png", c->out);
    if (!ps_bench_sheet_save(&sheet, path))
        fprintf(c->md, "Contact sheet, one style per row (the first query): the %d samples | "
                "the photo | pstyle | ground truth. Rows in the order of the table above.\n\n"
                "![external styles](external_sheet.png)\n\n", kmax);
    else
        fprintf(c->md, "Contact sheet not written: %s.\n\n", ps_last_error());
    ps_bench_sheet_free(&sheet);
    ps_json_end(&c->js, 0);
}
