/* Sections 5-8: quality on the synthesizer's validation styles (never trained on) against
 * ground-truth renders, for the photo unchanged, Reinhard and linear color transfer, the
 * feature-space optimization baseline and pstyle; the group-weight controls; few-shot curves
 * (K and inner steps, with the encoder-only and no-inner-loop ablations); a contact sheet; and
 * an SSIM cross-check against scikit-image. */
#include "bench/bench_impl.h"
#include "meta/synth.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* M_PSTYLE is the attention network on the style's tokens (the sweeps, controls and few-shot
 * sections measure it); M_PROGRAM the style program, which is what pstyle applies */
enum { M_PHOTO, M_REINHARD, M_LINEAR, M_OPTIMIZE, M_PSTYLE, M_PROGRAM, NMETHODS };
static const char *const method_name[NMETHODS] = {"photo unchanged", "Reinhard transfer",
                                                  "linear (MK) transfer", "optimization",
                                                  "pstyle network", "pstyle program (applied)"};
static const char *const method_key[NMETHODS] = {"photo", "reinhard", "linear", "optimize",
                                                 "pstyle", "program"};
enum { Q_PSNR, Q_SSIM, Q_DE, Q_HIST, NMETRICS };
static const char *const metric_key[NMETRICS] = {"psnr", "ssim", "delta_e2000", "hist_distance"};
static const char *const metric_unit[NMETRICS] = {"dB", "1", "dE00", "1"};

#define MAX_FAMILIES 16
#define MAX_SWEEP 9
#define SHEET_TILE 128
#define SHEET_COLS 13
#define QUAL_ARENA (64u << 20)
#define KMAX 10

typedef struct {
    double sum[NMETRICS];
    int n;
} acc;

static void acc_add(acc *a, const double m[NMETRICS])
{
    for (int i = 0; i < NMETRICS; i++)
        a->sum[i] += m[i];
    a->n++;
}

static double acc_mean(const acc *a, int i)
{
    return a->n ? a->sum[i] / a->n : NAN;
}

/* All four metrics of a result against a ground truth (both linear, 3 planes, same size). */
static void measure(const ps_image *a, const ps_image *gt, double m[NMETRICS])
{
    m[Q_PSNR] = ps_feat_psnr(a->px, gt->px, 3, gt->h, gt->w);
    m[Q_SSIM] = ps_feat_ssim(a->px, gt->px, 3, gt->h, gt->w);
    m[Q_DE] = ps_feat_delta_e(a->px, gt->px, gt->h, gt->w);
    m[Q_HIST] = ps_feat_hist_distance(a->px, a->h, a->w, gt->px, gt->h, gt->w);
}

/* The K supports stacked vertically into one reference image for the color transfers. */
static ps_status stack(const ps_image *im, int k, ps_image *out)
{
    int w = im[0].w, h = im[0].h;
    ps_status st = ps_img_alloc(out, w, h * k, 3);
    for (int c = 0; c < 3 && !st; c++)
        for (int i = 0; i < k; i++)
            memcpy(out->px + ((size_t)c * h * k + (size_t)i * h) * w,
                   im[i].px + (size_t)c * h * w, sizeof(float) * h * w);
    return st;
}

/* Learn from the first k supports with `steps` inner steps, apply at (1,1,1) to every query,
 * add the metrics against the full ground truth to a; learn seconds into *sec. */
static ps_status eval_learn(ps_model *m, ps_graph *g, const ps_episode *ep, int k, int steps,
                            acc *a, double *sec)
{
    float *tok = malloc(sizeof(float) * ps_model_ntokens(m));
    if (!tok)
        return ps_fail(PS_EINTERNAL, "bench: out of memory");
    ps_learn_stats ls;
    ps_status st = ps_model_learn(m, ep->support, k, steps, tok, NULL, NULL, &ls, NULL);
    const ps_dials w1 = {1, 1, 1};
    for (int q = 0; q < ep->q && !st; q++) {
        ps_model_heads r;
        ps_image out = {0};
        st = ps_model_heads_forward(m, g, tok, &ep->query[q], &r);
        if (!st)
            st = ps_model_heads_compose(&r, &w1, 1, &out);
        if (!st) {
            double mm[NMETRICS];
            measure(&out, &ep->query_full[q], mm);
            acc_add(a, mm);
        }
        ps_img_free(&out);
        ps_model_heads_free(&r);
    }
    if (!st)
        *sec += ls.seconds;
    free(tok);
    return st;
}

typedef struct {
    int nstyles, q, size, k, opt_steps, nopt, nfew, nsweep, nssim;
    double sweep[MAX_SWEEP];
} qual_cfg;

/* Few-shot: K and inner steps (section 7). */
static const int few_k[4] = {1, 3, 5, 10};
static const int few_steps[6] = {0, 1, 2, 3, 5, 10};
enum { FEW_ENC, FEW_META, FEW_ABL, FEW_ROWS };

typedef struct {
    acc q[NMETHODS];                              /* vs full ground truth */
    acc sub[NMETHODS];                            /* the same on the optimization's subset */
    acc fam[PS_NGROUPS][MAX_FAMILIES + 1][NMETHODS]; /* last index: group is identity */
    double ctl[3][3];                             /* weight e_i: mean dE00 to partial j */
    double ctlp[3][3];                            /* the same for the style program */
    double ctlf[3][3];                            /* the same in pstyle's feature space */
    double sweep_gt[3][MAX_SWEEP], sweep_photo[3][MAX_SWEEP];
    int nctl;
    acc few[FEW_ROWS][4];                         /* [row][K] */
    double few_sec[FEW_ROWS][4];
    acc steps[6];
    double steps_sec[6];
    int nfew_done;
    double apply_check; /* max |sweep path - ps_model_apply| */
    double opt_sec, learn_sec;
} qual_acc;

/* The python3-skimage SSIM cross-check: (pstyle result, ground truth) pairs as 8-bit PNGs. */
static void ssim_crosscheck(ps_bench_ctx *c, int npairs)
{
    fputs("### SSIM cross-check (scikit-image)\n\n", c->md);
    ps_json_begin(&c->js, "ssim_crosscheck", 0);
    char cmd[2400], py[256], script[1024];
    int noscript = ps_bench_script(c, "ssim_check.py", script, sizeof script);
    if (npairs == 0 || noscript || ps_bench_python("skimage numpy", py, sizeof py)) {
        const char *why = npairs == 0 ? "no pairs were written"
                          : noscript ? "bench/ssim_check.py not found"
                                     : "python3-skimage is not installed";
        fprintf(c->md, "Not run: %s.\n\n", why);
        ps_json_str(&c->js, "skipped", why);
        ps_json_end(&c->js, 0);
        return;
    }
    snprintf(cmd, sizeof cmd, "'%s' '%s' %s %d > %s/ssim.txt 2>%s/ssim.err", py, script, c->tmp,
             npairs, c->tmp, c->tmp);
    char path[400];
    snprintf(path, sizeof path, "%s/ssim.txt", c->tmp);
    FILE *f = system(cmd) == 0 ? fopen(path, "r") : NULL;
    double maxdiff = 0;
    int n = 0;
    fprintf(c->md, "Both on the same 8-bit PNG pairs (pstyle result, ground truth), on sRGB luma "
            "Y'. scikit-image: `structural_similarity(gaussian_weights=True, sigma=1.5, "
            "use_sample_covariance=False, data_range=1)`, once with pstyle's 7x7 Gaussian "
            "window (the cross-check) and once with its default 11x11 (Wang et al.'s, for "
            "reference).\n\n| pair | pstyle SSIM | scikit-image 7x7 | difference | "
            "scikit-image 11x11 |\n|---|---|---|---|---|\n");
    ps_json_begin(&c->js, "pairs", 1);
    for (int i = 0; f && i < npairs; i++) {
        double sk, sk11;
        if (fscanf(f, "%lf %lf", &sk, &sk11) != 2)
            break;
        ps_image a = {0}, b = {0};
        char pa[400], pb[400];
        snprintf(pa, sizeof pa, "%s/ssim%d_a.png", c->tmp, i);
        snprintf(pb, sizeof pb, "%s/ssim%d_b.png", c->tmp, i);
        if (!ps_img_load(pa, &a) && !ps_img_load(pb, &b)) {
            double own = ps_feat_ssim(a.px, b.px, 3, a.h, a.w);
            fprintf(c->md, "| %d | %.5f | %.5f | %.1e | %.5f |\n", i, own, sk, fabs(own - sk),
                    sk11);
            maxdiff = fmax(maxdiff, fabs(own - sk));
            ps_json_begin(&c->js, NULL, 0);
            ps_bench_json_val(&c->js, "pstyle", own, "1");
            ps_bench_json_val(&c->js, "skimage_7x7", sk, "1");
            ps_bench_json_val(&c->js, "skimage_11x11", sk11, "1");
            ps_json_end(&c->js, 0);
            n++;
        }
        ps_img_free(&a);
        ps_img_free(&b);
    }
    ps_json_end(&c->js, 1);
    if (f)
        fclose(f);
    if (n) {
        fprintf(c->md, "\nLargest difference %.1e over %d pairs.\n\n", maxdiff, n);
        ps_bench_json_val(&c->js, "max_abs_difference", maxdiff, "1");
    } else {
        fputs("\nscikit-image failed; see nothing to compare.\n\n", c->md);
        ps_json_str(&c->js, "skipped", "the scikit-image script failed");
    }
    ps_json_end(&c->js, 0);
}

static void quality_table(ps_bench_ctx *c, const acc *q, const char *key, int with_opt)
{
    fputs("| method | PSNR dB | SSIM | ΔE2000 | hist. distance |\n|---|---|---|---|---|\n", c->md);
    ps_json_begin(&c->js, key, 0);
    for (int m = 0; m < NMETHODS; m++) {
        if (m == M_OPTIMIZE && !with_opt)
            continue;
        fprintf(c->md, "| %s%s%s | %.2f | %.4f | %.2f | %.4f |\n", m == M_PROGRAM ? "**" : "",
                method_name[m], m == M_PROGRAM ? "**" : "", acc_mean(&q[m], Q_PSNR),
                acc_mean(&q[m], Q_SSIM), acc_mean(&q[m], Q_DE), acc_mean(&q[m], Q_HIST));
        ps_json_begin(&c->js, method_key[m], 0);
        for (int i = 0; i < NMETRICS; i++)
            ps_bench_json_val(&c->js, metric_key[i], acc_mean(&q[m], i), metric_unit[i]);
        ps_bench_json_val(&c->js, "n", q[m].n, "images");
        ps_json_end(&c->js, 0);
    }
    ps_json_end(&c->js, 0);
}

static void write_quality(ps_bench_ctx *c, const qual_cfg *cf, const qual_acc *a)
{
    fprintf(c->md, "Against the full ground truth, mean over %d validation styles x %d queries "
            "(%dx%d crops), K = %d samples; pstyle learns in %.2f s per style.\n\n",
            cf->nstyles, cf->q, cf->size, cf->size, cf->k,
            a->learn_sec / (cf->nstyles ? cf->nstyles : 1));
    quality_table(c, a->q, "overall", 0);
    fprintf(c->md, "\nThe optimization baseline (%d Adam steps on the pixels, pstyle's feature "
            "statistics of the samples + L1 to the photo, %.1f s per image) is slow, so it runs on "
            "the first query of the first %d styles; every method on that same subset:\n\n",
            cf->opt_steps, a->sub[M_OPTIMIZE].n ? a->opt_sec / a->sub[M_OPTIMIZE].n : NAN,
            a->sub[M_OPTIMIZE].n);
    quality_table(c, a->sub, "optimization_subset", 1);
    fputs("\n(The optimization runs inside the bench, not as `pstyle apply --optimize`: the "
          "store keeps style tokens, not the samples' pixels it would need.)\n", c->md);
    fputs("\nPer style family (a style is one color, one texture and one stroke op, so each "
          "image counts once in each group): PSNR dB / ΔE2000.\n\n| group | family | n |", c->md);
    for (int m = 0; m < NMETHODS; m++)
        if (m != M_OPTIMIZE) /* it runs on a subset only */
            fprintf(c->md, " %s |", method_key[m]);
    fputs("\n|---|---|---|", c->md);
    for (int m = 0; m < NMETHODS - 1; m++)
        fputs("---|", c->md);
    fputc('\n', c->md);
    ps_json_begin(&c->js, "per_family", 1);
    for (int g = 0; g < PS_NGROUPS; g++) {
        int nf = ps_synth_family_count((ps_group)g);
        for (int f = 0; f <= MAX_FAMILIES; f++) {
            const acc *fa = a->fam[g][f];
            if (!fa[0].n)
                continue;
            const char *name = f < nf ? ps_synth_family_name((ps_group)g, f) : "none";
            fprintf(c->md, "| %s | %s | %d |", ps_synth_group_name((ps_group)g), name,
                    fa[0].n);
            ps_json_begin(&c->js, NULL, 0);
            ps_json_str(&c->js, "group", ps_synth_group_name((ps_group)g));
            ps_json_str(&c->js, "family", name);
            ps_bench_json_val(&c->js, "n", fa[0].n, "images");
            for (int m = 0; m < NMETHODS; m++) {
                if (m == M_OPTIMIZE)
                    continue;
                fprintf(c->md, " %.1f / %.1f |", acc_mean(&fa[m], Q_PSNR), acc_mean(&fa[m], Q_DE));
                ps_json_begin(&c->js, method_key[m], 0);
                for (int i = 0; i < NMETRICS; i++)
                    ps_bench_json_val(&c->js, metric_key[i], acc_mean(&fa[m], i), metric_unit[i]);
                ps_json_end(&c->js, 0);
            }
            ps_json_end(&c->js, 0);
            fputc('\n', c->md);
        }
    }
    ps_json_end(&c->js, 1);
    fputc('\n', c->md);
}

static int monotone(const double *v, int n, int from, int to, int up)
{
    for (int i = from; i < to && i + 1 < n; i++)
        if (up ? v[i + 1] < v[i] - 1e-9 : v[i + 1] > v[i] + 1e-9)
            return 0;
    return 1;
}

/* One controls table: d[i][j] = distance of the render at weights e_i to partial ground truth j. */
static void control_table(ps_bench_ctx *c, const char *key, const double d[3][3],
                          const char *fmt, const char *unit)
{
    static const char *const gname[3] = {"color", "texture", "stroke"};
    fputs("| weights | to color-only GT | to texture-only GT | to stroke-only GT | closest to its "
          "own |\n|---|---|---|---|---|\n", c->md);
    ps_json_begin(&c->js, key, 1);
    for (int i = 0; i < 3; i++) {
        int own = d[i][i] <= d[i][(i + 1) % 3] && d[i][i] <= d[i][(i + 2) % 3];
        fprintf(c->md, "| (%d,%d,%d) |", i == 0, i == 1, i == 2);
        for (int j = 0; j < 3; j++) {
            fputc(' ', c->md);
            fprintf(c->md, fmt, d[i][j]);
            fputs(" |", c->md);
        }
        fprintf(c->md, " %s |\n", own ? "yes" : "**no**");
        ps_json_begin(&c->js, NULL, 0);
        ps_json_str(&c->js, "group", gname[i]);
        for (int j = 0; j < 3; j++) {
            char k[32];
            snprintf(k, sizeof k, "to_%s_gt", gname[j]);
            ps_bench_json_val(&c->js, k, d[i][j], unit);
        }
        ps_json_num(&c->js, "closest_to_own", own);
        ps_json_end(&c->js, 0);
    }
    ps_json_end(&c->js, 1);
}

static void write_controls(ps_bench_ctx *c, const qual_cfg *cf, const qual_acc *a)
{
    static const char *const gname[3] = {"color", "texture", "stroke"};
    fprintf(c->md, "## 6. Controls\n\nOne group at a time (the other two weights 0). Mean ΔE2000 "
            "over %d queries; the weight path (network once, composition per weight) matches "
            "`ps_model_apply` to %.1e.\n\n", a->nctl, a->apply_check);
    ps_json_begin(&c->js, "controls", 0);
    ps_bench_json_val(&c->js, "apply_path_max_difference", a->apply_check, "1");
    control_table(c, "table", a->ctl, "%.2f", "dE00");
    fputs("\nThe same in pstyle's feature space (ps_feat_distance: mean squared difference of "
          "the color, texture and stroke statistics in calibrated units, summed over the three "
          "groups), which also sees texture and strokes that are not aligned pixel for pixel "
          "with the ground truth:\n\n", c->md);
    control_table(c, "table_features", a->ctlf, "%.3f", "1");
    fputs("\nThe style program's dials (what `pstyle apply` uses), one group at a time, ΔE2000. "
          "A group the program leaves off returns the photo exactly, so its row is the photo's "
          "distance to each partial ground truth:\n\n", c->md);
    control_table(c, "table_program", a->ctlp, "%.2f", "dE00");
    int i1 = 0; /* index of weight 1 in the sweep */
    for (int s = 0; s < cf->nsweep; s++)
        if (fabs(cf->sweep[s] - 1) < 1e-9)
            i1 = s;
    fputs("\nSweep 0 → 2: the distance to the photo must grow with the weight, the distance to "
          "the group's partial ground truth must shrink from 0 to 1.\n\n| group | to photo "
          "grows | to partial GT shrinks on 0..1 | best weight |\n|---|---|---|---|\n", c->md);
    ps_json_begin(&c->js, "sweep", 1);
    ps_bench_series sr[6];
    char names[6][48];
    for (int g = 0; g < 3; g++) {
        int up = monotone(a->sweep_photo[g], cf->nsweep, 0, cf->nsweep, 1);
        int down = monotone(a->sweep_gt[g], cf->nsweep, 0, i1, 0);
        int best = 0;
        for (int s = 1; s < cf->nsweep; s++)
            if (a->sweep_gt[g][s] < a->sweep_gt[g][best])
                best = s;
        fprintf(c->md, "| %s | %s | %s | %.2f |\n", gname[g], up ? "yes" : "**no**",
                down ? "yes" : "**no**", cf->sweep[best]);
        ps_json_begin(&c->js, NULL, 0);
        ps_json_str(&c->js, "group", gname[g]);
        ps_json_begin(&c->js, "weights", 1);
        for (int s = 0; s < cf->nsweep; s++)
            ps_json_num(&c->js, NULL, cf->sweep[s]);
        ps_json_end(&c->js, 1);
        ps_json_begin(&c->js, "to_partial_gt_dE00", 1);
        for (int s = 0; s < cf->nsweep; s++)
            ps_json_num(&c->js, NULL, a->sweep_gt[g][s]);
        ps_json_end(&c->js, 1);
        ps_json_begin(&c->js, "to_photo_dE00", 1);
        for (int s = 0; s < cf->nsweep; s++)
            ps_json_num(&c->js, NULL, a->sweep_photo[g][s]);
        ps_json_end(&c->js, 1);
        ps_json_num(&c->js, "photo_distance_monotone", up);
        ps_json_num(&c->js, "gt_distance_decreasing_to_1", down);
        ps_json_end(&c->js, 0);
        snprintf(names[2 * g], sizeof names[0], "%s: to %s-only GT", gname[g], gname[g]);
        snprintf(names[2 * g + 1], sizeof names[0], "%s: to photo", gname[g]);
        sr[2 * g] = (ps_bench_series){names[2 * g], cf->nsweep, cf->sweep, a->sweep_gt[g]};
        sr[2 * g + 1] = (ps_bench_series){names[2 * g + 1], cf->nsweep, cf->sweep,
                                          a->sweep_photo[g]};
    }
    ps_json_end(&c->js, 1);
    ps_json_end(&c->js, 0);
    if (!ps_bench_plot(c, "controls.png", "group weight sweep (others 0)", "weight",
                       "mean dE2000", sr, 6, 0))
        fputs("\n![controls sweep](controls.png)\n", c->md);
    fputc('\n', c->md);
}

static void write_fewshot(ps_bench_ctx *c, const qual_acc *a, int have_abl, const char *abl,
                          int nsteps, int default_steps, const char *photos)
{
    static const char *const row_name[FEW_ROWS] = {"(a) encoder only, 0 steps",
                                                   "(c) meta-trained, n steps",
                                                   "(b) trained without inner loop, n steps"};
    static const char *const row_key[FEW_ROWS] = {"encoder_only", "meta", "no_inner_loop"};
    fprintf(c->md, "## 7. Few-shot\n\nOn %d validation styles, photos: %s; n = %d (the "
            "model's default). PSNR dB / SSIM / ΔE2000 against the full ground truth, learn time "
            "per style in seconds.\n\n| method | K=1 | K=3 | K=5 | K=10 |\n|---|---|---|---|---|\n",
            a->nfew_done, photos, default_steps);
    ps_json_begin(&c->js, "fewshot", 0);
    ps_bench_json_val(&c->js, "styles", a->nfew_done, "count");
    ps_bench_json_val(&c->js, "inner_steps", default_steps, "steps");
    ps_bench_series sr[FEW_ROWS + 1];
    double kx[4], ky[FEW_ROWS][4];
    for (int r = 0; r < FEW_ROWS; r++) {
        if (r == FEW_ABL && !have_abl) {
            fprintf(c->md, "| %s | skipped: `%s` not found | | | |\n", row_name[r], abl);
            ps_json_str(&c->js, row_key[r], "skipped: ablation model not found");
            continue;
        }
        fprintf(c->md, "| %s |", row_name[r]);
        ps_json_begin(&c->js, row_key[r], 1);
        for (int k = 0; k < 4; k++) {
            const acc *q = &a->few[r][k];
            double sec = q->n ? a->few_sec[r][k] / a->nfew_done : NAN;
            if (q->n)
                fprintf(c->md, " %.2f / %.4f / %.2f (%.2f s) |", acc_mean(q, Q_PSNR),
                        acc_mean(q, Q_SSIM), acc_mean(q, Q_DE), sec);
            else
                fputs(" not run (quick) |", c->md);
            ps_json_begin(&c->js, NULL, 0);
            ps_bench_json_val(&c->js, "k", few_k[k], "images");
            for (int i = 0; i < NMETRICS; i++)
                ps_bench_json_val(&c->js, metric_key[i], acc_mean(q, i), metric_unit[i]);
            ps_bench_json_val(&c->js, "learn_time", sec, "s");
            ps_json_end(&c->js, 0);
            kx[k] = few_k[k];
            ky[r][k] = acc_mean(q, Q_PSNR);
        }
        ps_json_end(&c->js, 1);
        fputc('\n', c->md);
    }
    /* DESIGN's claim: meta-learned adaptation beats the encoder alone and the no-inner-loop
     * model at equal test-time steps. Say per K whether this run shows it (PSNR). */
    fputs("\nMeta-trained minus the others, PSNR dB (positive: the claim holds):", c->md);
    const char *sep = " ";
    for (int k = 0; k < 4; k++) {
        if (!a->few[FEW_META][k].n)
            continue;
        double meta = acc_mean(&a->few[FEW_META][k], Q_PSNR);
        fprintf(c->md, "%sK=%d: %+.2f vs encoder only", sep, few_k[k],
                meta - acc_mean(&a->few[FEW_ENC][k], Q_PSNR));
        if (have_abl)
            fprintf(c->md, ", %+.2f vs no inner loop", meta - acc_mean(&a->few[FEW_ABL][k], Q_PSNR));
        sep = "; ";
    }
    fputs(".\n", c->md);
    int ns = 0;
    for (int r = 0; r < FEW_ROWS; r++)
        if (r != FEW_ABL || have_abl)
            sr[ns++] = (ps_bench_series){row_name[r], 4, kx, ky[r]};
    if (!ps_bench_plot(c, "fewshot_k.png", "quality vs number of samples K", "K",
                       "PSNR dB vs ground truth", sr, ns, 1))
        fputs("\n![quality vs K](fewshot_k.png)\n", c->md);
    fputs("\nInner steps at K = 5 (meta-trained model):\n\n| steps | PSNR dB | SSIM | ΔE2000 | "
          "learn s |\n|---|---|---|---|---|\n", c->md);
    double sx[6], sy[6];
    ps_json_begin(&c->js, "steps", 1);
    for (int s = 0; s < nsteps; s++) {
        const acc *q = &a->steps[s];
        double sec = a->nfew_done ? a->steps_sec[s] / a->nfew_done : NAN;
        fprintf(c->md, "| %d | %.2f | %.4f | %.2f | %.2f |\n", few_steps[s], acc_mean(q, Q_PSNR),
                acc_mean(q, Q_SSIM), acc_mean(q, Q_DE), sec);
        ps_json_begin(&c->js, NULL, 0);
        ps_bench_json_val(&c->js, "steps", few_steps[s], "steps");
        for (int i = 0; i < NMETRICS; i++)
            ps_bench_json_val(&c->js, metric_key[i], acc_mean(q, i), metric_unit[i]);
        ps_bench_json_val(&c->js, "learn_time", sec, "s");
        ps_json_end(&c->js, 0);
        sx[s] = few_steps[s];
        sy[s] = acc_mean(q, Q_PSNR);
    }
    ps_json_end(&c->js, 1);
    ps_json_end(&c->js, 0);
    ps_bench_series ss = {"meta-trained, K=5", nsteps, sx, sy};
    if (!ps_bench_plot(c, "fewshot_steps.png", "quality vs inner steps (K=5)", "inner steps",
                       "PSNR dB vs ground truth", &ss, 1, 0))
        fputs("\n![quality vs inner steps](fewshot_steps.png)\n", c->md);
    fputc('\n', c->md);
}

/* An image's vector in pstyle's feature space (color + texture + stroke statistics in calibrated
 * units, PS_FEAT_DIM floats): unlike ΔE2000 it also sees texture and stroke that are not
 * pixel-aligned. */
static ps_status feat_vector(ps_graph *g, const ps_image *im, float *out)
{
    ps_graph_reset(g);
    ps_graph_set_grad(g, 0);
    ps_tensor *f = ps_feat_all(g, ps_tensor_wrap(g, im->px, 1, 3, im->h, im->w));
    if (!f)
        return ps_graph_status(g);
    memcpy(out, f->data, sizeof(float) * PS_FEAT_DIM);
    return PS_OK;
}

/* ps_feat_distance of two such vectors. */
static double feat_distance(ps_graph *g, float *a, float *b)
{
    static const float w[PS_NGROUPS] = {1, 1, 1};
    ps_graph_reset(g);
    ps_tensor *d = ps_feat_distance(g, ps_tensor_wrap(g, a, 1, 1, 1, PS_FEAT_DIM),
                                    ps_tensor_wrap(g, b, 1, 1, 1, PS_FEAT_DIM), w);
    return d ? d->data[0] : NAN;
}

/* One validation episode: every method on every query, controls, few-shot, sheet row. */
static ps_status run_episode(ps_bench_ctx *c, const qual_cfg *cf, int si, const ps_episode *ep,
                             ps_graph *g, qual_acc *a, ps_bench_sheet *sheet, int *npairs)
{
    ps_model *m = &c->model;
    int nt = ps_model_ntokens(m);
    float *tok = malloc(sizeof(float) * nt);
    ps_image ref = {0}, res[NMETHODS] = {{0}};
    ps_graph *gf = ps_graph_new(16u << 20); /* feature distances; g holds the heads meanwhile */
    ps_status st = tok && gf ? stack(ep->support, cf->k, &ref)
                             : ps_fail(PS_EINTERNAL, "bench: out of memory");
    ps_learn_stats ls = {0};
    ps_prog prog;
    if (!st)
        st = ps_model_learn(m, ep->support, cf->k, -1, tok, &prog, NULL, &ls, NULL);
    a->learn_sec += ls.seconds;
    const ps_image *partial[3] = {ep->query_color, ep->query_texture, ep->query_stroke};
    for (int q = 0; q < ep->q && !st; q++) {
        const ps_image *ph = &ep->query[q], *gt = &ep->query_full[q];
        int W = ph->w, H = ph->h;
        for (int mm = 0; mm < NMETHODS && !st; mm++)
            if (mm != M_PSTYLE && mm != M_OPTIMIZE && mm != M_PROGRAM)
                st = ps_img_alloc(&res[mm], W, H, 3);
        if (st)
            break;
        memcpy(res[M_PHOTO].px, ph->px, sizeof(float) * 3 * W * H);
        ps_feat_reinhard_transfer(res[M_REINHARD].px, ph->px, H, W, ref.px, ref.h, ref.w);
        ps_feat_linear_transfer(res[M_LINEAR].px, ph->px, H, W, ref.px, ref.h, ref.w);
        /* the optimization is slow: first query of the first nopt styles only */
        int do_opt = si < cf->nopt && q == 0;
        double t0 = ps_clock_s();
        if (do_opt &&
            (st = ps_bench_optimize(ep->support, cf->k, ph, cf->opt_steps, 1.0f, &res[M_OPTIMIZE])))
            break;
        a->opt_sec += ps_clock_s() - t0;
        ps_model_heads r;
        const ps_dials w1 = {1, 1, 1};
        if (!(st = ps_model_heads_forward(m, g, tok, ph, &r)))
            st = ps_model_heads_compose(&r, &w1, 1, &res[M_PSTYLE]);
        if (!st)
            st = ps_prog_apply(&prog, ph, &w1, &res[M_PROGRAM]);
        for (int gi = 0; gi < 3 && !st; gi++) { /* the program's dials one at a time */
            ps_dials w = {0, 0, 0};
            ps_image o = {0};
            ps_dials_set(&w, (ps_group)gi, 1);
            if (!(st = ps_prog_apply(&prog, ph, &w, &o)))
                for (int j = 0; j < 3; j++)
                    a->ctlp[gi][j] += ps_feat_delta_e(o.px, partial[j][q].px, H, W);
            ps_img_free(&o);
        }
        if (!st && si == 0 && q == 0) { /* the weight path must be ps_model_apply's */
            ps_image ref_out = {0};
            if (!(st = ps_model_apply(m, tok, NULL, ph, &w1, &ref_out)))
                for (size_t i = 0; i < (size_t)3 * W * H; i++)
                    a->apply_check = fmax(a->apply_check, fabs(ref_out.px[i] - res[M_PSTYLE].px[i]));
            ps_img_free(&ref_out);
            /* the weight-path composition left g's heads intact: ps_model_apply uses its own graph */
        }
        for (int mm = 0; mm < NMETHODS && !st; mm++) {
            double met[NMETRICS];
            if (!res[mm].px)
                continue;
            measure(&res[mm], gt, met);
            if (do_opt)
                acc_add(&a->sub[mm], met);
            if (mm == M_OPTIMIZE)
                continue;
            acc_add(&a->q[mm], met);
            for (int gi = 0; gi < PS_NGROUPS; gi++) {
                const ps_synth_op *op = &ep->style.op[gi];
                int f = op->intensity > 0 && op->family < MAX_FAMILIES ? op->family : MAX_FAMILIES;
                acc_add(&a->fam[gi][f][mm], met);
            }
        }
        /* controls: one group on, to each partial; sweep */
        float fp[3][PS_FEAT_DIM], fo[PS_FEAT_DIM]; /* feature vectors: partials, a render */
        for (int j = 0; j < 3 && !st; j++)
            st = feat_vector(gf, &partial[j][q], fp[j]);
        for (int gi = 0; gi < 3 && !st; gi++) {
            for (int s = 0; s < cf->nsweep && !st; s++) {
                ps_dials w = {0, 0, 0};
                ps_dials_set(&w, (ps_group)gi, (float)cf->sweep[s]);
                ps_image o = {0};
                if ((st = ps_model_heads_compose(&r, &w, 1, &o)))
                    break;
                a->sweep_gt[gi][s] += ps_feat_delta_e(o.px, partial[gi][q].px, H, W);
                a->sweep_photo[gi][s] += ps_feat_delta_e(o.px, ph->px, H, W);
                if (fabs(cf->sweep[s] - 1) < 1e-9 && !(st = feat_vector(gf, &o, fo)))
                    for (int j = 0; j < 3; j++) {
                        a->ctl[gi][j] += ps_feat_delta_e(o.px, partial[j][q].px, H, W);
                        a->ctlf[gi][j] += feat_distance(gf, fo, fp[j]);
                    }
                ps_img_free(&o);
            }
        }
        a->nctl++;
        /* contact sheet: samples | photo | Reinhard | pstyle at (1,1,1), then each group's dial
         * at 0.5 and 1.5 with the other two at 1 | ground truth */
        if (!st && q == 0 && si < sheet->rows) {
            for (int i = 0; i < 3; i++)
                ps_bench_sheet_put(sheet, si, i, &ep->support[i % ep->k]);
            ps_bench_sheet_put(sheet, si, 3, ph);
            ps_bench_sheet_put(sheet, si, 4, &res[M_REINHARD]);
            for (int i = 0; i < 7; i++) {
                ps_dials ws = {1, 1, 1};
                if (i > 0)
                    ps_dials_set(&ws, (ps_group)((i - 1) / 2), i % 2 ? 0.5f : 1.5f);
                ps_image o = {0};
                if (!ps_model_heads_compose(&r, &ws, 1, &o))
                    ps_bench_sheet_put(sheet, si, 5 + i, &o);
                ps_img_free(&o);
            }
            ps_bench_sheet_put(sheet, si, SHEET_COLS - 1, gt);
        }
        if (!st && *npairs < cf->nssim) {
            char pa[400], pb[400];
            snprintf(pa, sizeof pa, "%s/ssim%d_a.png", c->tmp, *npairs);
            snprintf(pb, sizeof pb, "%s/ssim%d_b.png", c->tmp, *npairs);
            if (!ps_img_save(pa, &res[M_PSTYLE], 0) && !ps_img_save(pb, gt, 0))
                (*npairs)++;
        }
        ps_model_heads_free(&r);
        for (int mm = 0; mm < NMETHODS; mm++)
            ps_img_free(&res[mm]);
    }
    ps_img_free(&ref);
    ps_graph_free(gf);
    free(tok);
    return st;
}

/* Few-shot (section 7) on one episode with KMAX supports: K and inner-step sweeps. */
static ps_status run_fewshot(ps_bench_ctx *c, const ps_episode *ep, ps_graph *g, ps_model *abl,
                             qual_acc *a)
{
    ps_model *m = &c->model;
    ps_status st = PS_OK;
    for (int k = 0; k < 4 && !st; k++) {
        if (c->quick && (k == 1 || k == 3)) /* quick: K = 1 and 5 only */
            continue;
        st = eval_learn(m, g, ep, few_k[k], 0, &a->few[FEW_ENC][k], &a->few_sec[FEW_ENC][k]);
        if (!st)
            st = eval_learn(m, g, ep, few_k[k], -1, &a->few[FEW_META][k],
                            &a->few_sec[FEW_META][k]);
        if (!st && abl)
            st = eval_learn(abl, g, ep, few_k[k], m->inner_steps, &a->few[FEW_ABL][k],
                            &a->few_sec[FEW_ABL][k]);
    }
    for (int s = 0; s < (c->quick ? 2 : 6) && !st; s++)
        st = eval_learn(m, g, ep, 5, few_steps[s], &a->steps[s], &a->steps_sec[s]);
    if (!st)
        a->nfew_done++;
    return st;
}

void ps_bench_sec_quality(ps_bench_ctx *c)
{
    fputs("## 5. Quality\n\n", c->md);
    ps_json_begin(&c->js, "quality", 0);
    if (!c->have_model) {
        fputs("Not measured: no model could be loaded.\n\n", c->md);
        ps_json_str(&c->js, "skipped", "no model");
        ps_json_end(&c->js, 0);
        return;
    }
    qual_cfg cf = {.nstyles = c->quick ? 2 : 16, .q = c->quick ? 1 : 2, .size = 256, .k = 5,
                   .opt_steps = c->quick ? 3 : 40, .nopt = c->quick ? 1 : 8,
                   .nfew = c->quick ? 1 : 4,
                   .nssim = c->quick ? 2 : 6};
    cf.nsweep = c->quick ? 3 : 9;
    for (int s = 0; s < cf.nsweep; s++)
        cf.sweep[s] = 2.0 * s / (cf.nsweep - 1);
    /* real validation photos when there are enough for K + Q disjoint ones; the few-shot
     * sweep needs KMAX + Q, which the shipped set (10 val photos) may not have: it then runs on
     * procedural photos, and says so */
    ps_photo_set real = {0}, proc = {0};
    char source[600], few_source[600];
    int have_real = !ps_photos_load(c->o->data, PS_PHOTOS_VAL, 512, &real) &&
                    real.n >= cf.k + cf.q;
    if (ps_photos_procedural(24, 384, PS_PHOTOS_VAL, &proc)) {
        fprintf(c->md, "Not measured: cannot make photos: %s\n\n", ps_last_error());
        ps_json_str(&c->js, "skipped", ps_last_error());
        ps_json_end(&c->js, 0);
        ps_photos_free(&real);
        return;
    }
    const ps_photo_set *set = have_real ? &real : &proc;
    const ps_photo_set *few_set = have_real && real.n >= KMAX + cf.q ? &real : &proc;
    if (have_real)
        snprintf(source, sizeof source, "the %d validation photos of `%s/val`", real.n,
                 c->o->data);
    else
        snprintf(source, sizeof source, "**%d procedural content images** (no `%s/val` with at "
                 "least %d photos: run `make data` for real photos)", proc.n, c->o->data,
                 cf.k + cf.q);
    if (few_set == set)
        snprintf(few_source, sizeof few_source, "the same photos");
    else
        snprintf(few_source, sizeof few_source, "**%d procedural content images** (K = %d + %d "
                 "queries needs %d disjoint photos; `%s/val` has %d)", proc.n, KMAX, cf.q,
                 KMAX + cf.q, c->o->data, real.n);
    fprintf(c->md, "Photos: %s. Styles: `ps_synth_val_seed(0..%d)`.\n\n", source,
            cf.nstyles - 1);
    ps_json_str(&c->js, "photos", source);
    ps_json_str(&c->js, "fewshot_photos", few_source);
    ps_bench_json_val(&c->js, "styles", cf.nstyles, "count");
    ps_bench_json_val(&c->js, "queries_per_style", cf.q, "count");
    ps_bench_json_val(&c->js, "size", cf.size, "px");
    ps_bench_json_val(&c->js, "k", cf.k, "images");
    ps_bench_json_val(&c->js, "optimize_steps", cf.opt_steps, "steps");

    ps_model abl;
    int have_abl = access(c->o->ablation, R_OK) == 0 && ps_model_load(&abl, c->o->ablation) == PS_OK;
    qual_acc *a = calloc(1, sizeof *a);
    ps_graph *g = ps_graph_new(QUAL_ARENA);
    int rows = cf.nstyles < 6 ? cf.nstyles : 6, npairs = 0;
    ps_bench_sheet sheet;
    ps_bench_sheet_new(&sheet, rows, SHEET_COLS, SHEET_TILE, SHEET_TILE);
    ps_episode ep = {0}, few = {0};
    ps_status st = a && g ? PS_OK : ps_fail(PS_EINTERNAL, "bench: out of memory");
    int done = 0;
    for (int si = 0; si < cf.nstyles && !st; si++) {
        uint64_t seed = ps_synth_val_seed(si);
        st = ps_episode_sample(set, seed, cf.k, cf.q, cf.size, &ep);
        if (!st)
            st = run_episode(c, &cf, si, &ep, g, a, &sheet, &npairs);
        if (!st && si < cf.nfew && !(st = ps_episode_sample(few_set, seed, KMAX, cf.q, cf.size, &few)))
            st = run_fewshot(c, &few, g, have_abl ? &abl : NULL, a);
        if (!st)
            done++;
    }
    if (st) {
        fprintf(c->md, "**Stopped after %d styles: %s**\n\n", done, ps_last_error());
        ps_json_str(&c->js, "error", ps_last_error());
    }
    if (a && done) {
        cf.nstyles = done;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                a->ctl[i][j] /= a->nctl, a->ctlf[i][j] /= a->nctl, a->ctlp[i][j] /= a->nctl;
        for (int gi = 0; gi < 3; gi++)
            for (int s = 0; s < cf.nsweep; s++)
                a->sweep_gt[gi][s] /= a->nctl, a->sweep_photo[gi][s] /= a->nctl;
        write_quality(c, &cf, a);
        ssim_crosscheck(c, npairs);
        ps_json_end(&c->js, 0); /* quality */
        write_controls(c, &cf, a);
        write_fewshot(c, a, have_abl, c->o->ablation, c->quick ? 2 : 6, c->model.inner_steps,
                      few_source);
        char path[1024];
        snprintf(path, sizeof path, "%s/contact_sheet.png", c->out);
        if (!ps_bench_sheet_save(&sheet, path))
            fprintf(c->md, "## 8. Contact sheet\n\nOne validation style per row: three of the "
                    "samples | the photo | Reinhard | pstyle at weights (1,1,1) | color at 0.5 "
                    "and 1.5 | texture at 0.5 and 1.5 | stroke at 0.5 and 1.5 (the other two "
                    "weights at 1) | ground truth.\n\n![contact sheet](contact_sheet.png)\n\n");
    } else {
        ps_json_end(&c->js, 0);
    }
    ps_episode_free(&ep);
    ps_episode_free(&few);
    ps_bench_sheet_free(&sheet);
    ps_graph_free(g);
    free(a);
    if (have_abl)
        ps_model_free(&abl);
    ps_photos_free(&proc);
    ps_photos_free(&real); /* safe on the zeroed set a failed load leaves */
}
