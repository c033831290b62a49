/* The feature graph: opponent color -> avgpool pyramid -> color, texture and stroke statistics,
 * built from engine ops (conv2d with fixed filters, avgpool, chan_mean, gram, view) and the
 * feature space's own ops (ops.c). Every statistic is a smooth function of the image, so the same
 * vector is a loss for learning and a measurement for the bench. */
#include "src/feat/feat_impl.h"
#include <math.h>

#define LEVELS 4
#define GABOR_K 5
#define NORIENT 4

static const int group_dim[PS_NGROUPS] = {PS_FEAT_COLOR_DIM, PS_FEAT_TEXTURE_DIM,
                                              PS_FEAT_STROKE_DIM};

int ps_feat_group_dim(int group) { return group_dim[group]; }

int ps_feat_group_offset(int group)
{
    int off = 0;
    for (int i = 0; i < group; i++)
        off += group_dim[i];
    return off;
}

const char *ps_feat_group_name(int group)
{
    static const char *const names[PS_NGROUPS] = {"color", "texture", "stroke"};
    return names[group];
}

/* Each group holds two kinds of statistics of very different counts: color has 9 moments and 24
 * histogram bins, texture 32 energies and 184 correlations, stroke 30 orientation moments and 7
 * edge-strength numbers. The calibration divides each statistic by its spread times
 * sqrt(2 n_kind / D_group), so that both kinds weigh equally in a group's distance while two
 * unrelated images still lie about 2 apart per group. */
static int stat_kind(int j)
{
    if (j < PS_FEAT_COLOR_DIM)
        return j < 9;
    j -= PS_FEAT_COLOR_DIM;
    if (j < PS_FEAT_TEXTURE_DIM)
        return j >= 50 * LEVELS || j % 50 < NORIENT; /* per level: 4 energies, 46 correlations */
    return j - PS_FEAT_TEXTURE_DIM >= 30;
}

float ps_feat__balance(int j)
{
    int grp = j < PS_FEAT_COLOR_DIM ? 0 : j < PS_FEAT_COLOR_DIM + PS_FEAT_TEXTURE_DIM ? 1 : 2;
    int off = ps_feat_group_offset(grp), n = 0;
    for (int i = off; i < off + group_dim[grp]; i++)
        n += stat_kind(i) == stat_kind(j);
    return sqrtf(2.0f * n / group_dim[grp]);
}

/* ---- fixed filters ------------------------------------------------------------------------- */
/* Quadrature Gabor pairs at 4 orientations: (8,1,5,5), channels [even 0..3, odd 0..3] so that
 * ps_feat__mag pairs channel k with k+4. sigma 1 and 0.25 cycles/px give about one octave of
 * bandwidth, so the avgpool pyramid's octaves tile the spectrum (the "2 frequencies" of a
 * single-scale bank come from the pyramid instead). Even filters are made zero-mean (no response
 * to flat light), all have unit L2 norm. */
static ps_tensor *gabor_bank(ps_graph *g)
{
    ps_tensor *w = ps_tensor_const(g, 2 * NORIENT, 1, GABOR_K, GABOR_K);
    if (!w)
        return NULL;
    const double sigma = 1.0, freq = 0.25, r = GABOR_K / 2;
    for (int o = 0; o < NORIENT; o++) {
        double th = o * M_PI / NORIENT, ct = cos(th), st = sin(th);
        double ev[GABOR_K * GABOR_K], od[GABOR_K * GABOR_K], mean = 0.0, ne = 0.0, no = 0.0;
        for (int y = 0; y < GABOR_K; y++)
            for (int x = 0; x < GABOR_K; x++) {
                double u = x - r, v = y - r, p = u * ct + v * st;
                double env = exp(-(u * u + v * v) / (2 * sigma * sigma));
                ev[y * GABOR_K + x] = env * cos(2 * M_PI * freq * p);
                od[y * GABOR_K + x] = env * sin(2 * M_PI * freq * p);
                mean += ev[y * GABOR_K + x] / (GABOR_K * GABOR_K);
            }
        for (int i = 0; i < GABOR_K * GABOR_K; i++) {
            ev[i] -= mean;
            ne += ev[i] * ev[i];
            no += od[i] * od[i];
        }
        for (int i = 0; i < GABOR_K * GABOR_K; i++) {
            w->data[o * GABOR_K * GABOR_K + i] = (float)(ev[i] / sqrt(ne));
            w->data[(NORIENT + o) * GABOR_K * GABOR_K + i] = (float)(od[i] / sqrt(no));
        }
    }
    return w;
}

/* Sobel x/y divided by 8, so a unit-slope ramp has gradient 1 per pixel: (2,1,3,3). */
static ps_tensor *grad_filters(ps_graph *g)
{
    static const float sobel[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
    ps_tensor *w = ps_tensor_const(g, 2, 1, 3, 3);
    if (!w)
        return NULL;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) {
            w->data[y * 3 + x] = sobel[y * 3 + x] / 8.0f;
            w->data[9 + y * 3 + x] = sobel[x * 3 + y] / 8.0f;
        }
    return w;
}

/* Indices of the upper triangle (diagonal included) of a CxC matrix stored row-major. */
static int upper_idx(int *idx, int C)
{
    int k = 0;
    for (int i = 0; i < C; i++)
        for (int j = i; j < C; j++)
            idx[k++] = i * C + j;
    return k;
}

/* ---- shared front end ---------------------------------------------------------------------- */
typedef struct {
    ps_tensor *lev[LEVELS]; /* opponent image and its 2x average pools */
} pyramid;

static int check_img(const ps_tensor *img, const char *what)
{
    if (!img)
        return 0;
    if (img->c != 3 || img->h < PS_FEAT_MIN_SIDE || img->w < PS_FEAT_MIN_SIDE) {
        ps_fail(PS_EUSAGE, "%s features: need (N,3,H,W) with H,W >= %d, got (%d,%d,%d,%d)", what,
                PS_FEAT_MIN_SIDE, img->n, img->c, img->h, img->w);
        return 0;
    }
    return 1;
}

static void build_pyramid(ps_graph *g, ps_tensor *img, pyramid *p)
{
    p->lev[0] = ps_feat__opp(g, img);
    for (int l = 1; l < LEVELS; l++)
        p->lev[l] = p->lev[l - 1] ? ps_avgpool(g, p->lev[l - 1], 2) : NULL;
}

/* ---- color: opponent mean (3), covariance (6), soft histogram (3 x 8) ---------------------- */
/* Histogram ranges in the opponent space: L covers [0,1]; chroma of natural images rarely leaves
 * +-0.3 (a fully saturated primary reaches 0.5 and lands in the end bin). */
static const float hist_lo[3] = {0.0f, -0.3f, -0.3f}, hist_hi[3] = {1.0f, 0.3f, 0.3f};

static ps_tensor *color_stats(ps_graph *g, const pyramid *p)
{
    ps_tensor *x = p->lev[0];
    if (!x)
        return NULL;
    int up3[6];
    upper_idx(up3, 3);
    ps_feat__src src[3] = {{ps_chan_mean(g, x), NULL, 0},
                           {ps_gram(g, x), up3, 6},
                           {ps_feat__hist(g, x, hist_lo, hist_hi), NULL, 0}};
    return ps_feat__pack(g, x->n, src, 3, NULL, NULL);
}

/* Scales of the log-like compression (ps_feat__asinh) of energy-type statistics: the Gabor energy
 * and the |gradient| of faint grain (a few 1e-3 in compressed luminance), and its square for
 * covariances. Below them a statistic is linear, above it logarithmic. */
#define ENERGY_S0 2e-3f
#define COV_S0 (ENERGY_S0 * ENERGY_S0)

/* ---- texture: oriented energy statistics per pyramid level --------------------------------- */
/* Per level on luminance: mean Gabor energy per orientation (4), covariance of the energies
 * (10: how orientations co-occur, Portilla-Simoncelli's magnitude correlations) and covariance of
 * the 8 raw responses (36: phase structure, Gatys/Ustyuzhaninov-style Gram). On the two coarse
 * levels the chroma channels' energies too (8 each): colored texture lives at low frequency.
 * Coarse levels fold the 3 channels into the batch with a view, so one conv serves all three.
 * Energies and variances are log-compressed (asinh: texture energy matters in ratios, so faint
 * grain on a smooth photo counts), covariances become correlations (contrast-free shape). */
static ps_tensor *texture_stats(ps_graph *g, const pyramid *p)
{
    int N = p->lev[0] ? p->lev[0]->n : 0;
    ps_tensor *bank = gabor_bank(g);
    static const int first4[4] = {0, 1, 2, 3}, chroma[8] = {4, 5, 6, 7, 8, 9, 10, 11};
    static const float energy_s0[3 * NORIENT] = {ENERGY_S0, ENERGY_S0, ENERGY_S0, ENERGY_S0,
                                                 ENERGY_S0, ENERGY_S0, ENERGY_S0, ENERGY_S0,
                                                 ENERGY_S0, ENERGY_S0, ENERGY_S0, ENERGY_S0};
    int up4[10], up8[36];
    upper_idx(up4, 4);
    upper_idx(up8, 8);
    ps_feat__src src[3 * LEVELS + 2];
    int s = 0;
    for (int l = 0; l < LEVELS; l++) {
        ps_tensor *lv = p->lev[l];
        if (!lv)
            return NULL;
        ps_tensor *x = l < 2 ? ps_feat__slice(g, lv, 0, 1) : ps_view(g, lv, 3 * N, 1, lv->h, lv->w);
        ps_tensor *r = x ? ps_conv2d(g, x, bank, NULL, 1, 0) : NULL;
        ps_tensor *m = ps_feat__mag(g, r);
        ps_tensor *mm = m ? ps_feat__asinh(g, ps_chan_mean(g, m), energy_s0) : NULL;
        src[s++] = (ps_feat__src){mm, first4, 4};
        src[s++] = (ps_feat__src){m ? ps_feat__corr(g, ps_gram(g, m), COV_S0) : NULL, up4, 10};
        src[s++] = (ps_feat__src){r ? ps_feat__corr(g, ps_gram(g, r), COV_S0) : NULL, up8, 36};
        if (l >= 2)
            src[3 * LEVELS + l - 2] = (ps_feat__src){mm, chroma, 8};
    }
    return ps_feat__pack(g, N, src, 3 * LEVELS + 2, NULL, NULL);
}

/* ---- stroke: structure tensor, orientation coherence, edge strength and scale --------------- */
/* Gradients of luminance give the structure tensor J; box-smoothing it over 4px and 16px windows
 * (avgpool) gives local orientation, whose coherence c = (l1-l2)/(l1+l2) and c-weighted doubled/
 * quadrupled angles are summarized by mean, std and power mean (15 per window size). Edge
 * strength |grad| at full and half resolution gets the same moments (3 + 3, log-compressed like
 * texture energies), and their mean ratio fine/(fine+coarse) says whether strokes are crisp (1)
 * or broad (small) independent of contrast. */
static ps_tensor *stroke_stats(ps_graph *g, const pyramid *p)
{
    if (!p->lev[0] || !p->lev[1])
        return NULL;
    int N = p->lev[0]->n;
    ps_tensor *gf = grad_filters(g);
    ps_tensor *g0 = ps_conv2d(g, ps_feat__slice(g, p->lev[0], 0, 1), gf, NULL, 1, 0);
    ps_tensor *g1 = ps_conv2d(g, ps_feat__slice(g, p->lev[1], 0, 1), gf, NULL, 1, 0);
    ps_tensor *s1 = ps_avgpool(g, ps_feat__stprod(g, g0), 4);
    ps_tensor *s2 = ps_avgpool(g, s1, 4);
    ps_tensor *e0 = ps_feat__moments(g, ps_feat__mag(g, g0), PS_FEAT_EDGE_DELTA);
    ps_tensor *e1 = ps_feat__moments(g, ps_feat__mag(g, g1), PS_FEAT_EDGE_DELTA);
    static const float s0[3] = {ENERGY_S0, ENERGY_S0, ENERGY_S0};
    ps_tensor *o1 = ps_feat__moments(g, ps_feat__orient(g, s1), PS_FEAT_ORIENT_DELTA);
    ps_tensor *o2 = ps_feat__moments(g, ps_feat__orient(g, s2), PS_FEAT_ORIENT_DELTA);
    ps_feat__src src[5] = {{o1, NULL, 0},
                           {o2, NULL, 0},
                           {ps_feat__asinh(g, e0, s0), NULL, 0},
                           {ps_feat__asinh(g, e1, s0), NULL, 0},
                           {ps_feat__ratio(g, e0, 0, e1, 0), NULL, 0}};
    return ps_feat__pack(g, N, src, 5, NULL, NULL);
}

/* ---- public -------------------------------------------------------------------------------- */
typedef ps_tensor *(*group_fn)(ps_graph *, const pyramid *);

static ps_tensor *one_group(ps_graph *g, ps_tensor *img, group_fn fn, const char *what)
{
    if (!check_img(img, what))
        return NULL;
    pyramid p;
    build_pyramid(g, img, &p);
    return fn(g, &p);
}

ps_tensor *ps_feat_color(ps_graph *g, ps_tensor *img)
{
    return one_group(g, img, color_stats, "color");
}

ps_tensor *ps_feat_texture(ps_graph *g, ps_tensor *img)
{
    return one_group(g, img, texture_stats, "texture");
}

ps_tensor *ps_feat_stroke(ps_graph *g, ps_tensor *img)
{
    return one_group(g, img, stroke_stats, "stroke");
}

ps_tensor *ps_feat_normalize(ps_graph *g, ps_tensor *color, ps_tensor *texture, ps_tensor *stroke)
{
    if (!color || !texture || !stroke)
        return NULL;
    ps_feat__src src[3] = {{color, NULL, 0}, {texture, NULL, 0}, {stroke, NULL, 0}};
    return ps_feat__pack(g, color->n, src, 3, ps_feat_calib_mean(), ps_feat_calib_scale());
}

ps_tensor *ps_feat_all(ps_graph *g, ps_tensor *img)
{
    if (!check_img(img, "all"))
        return NULL;
    pyramid p;
    build_pyramid(g, img, &p);
    return ps_feat_normalize(g, color_stats(g, &p), texture_stats(g, &p), stroke_stats(g, &p));
}

/* ---- distance ------------------------------------------------------------------------------ */
typedef struct {
    ps_tensor *a, *b, *y;
    float w[PS_NGROUPS];
} dist_ctx;

/* Weight of dimension j's squared difference: w[group] / (D_group * N). */
static float dist_coef(const float *w, int j, int N)
{
    int gr = j < PS_FEAT_COLOR_DIM ? PS_COLOR
             : j < PS_FEAT_COLOR_DIM + PS_FEAT_TEXTURE_DIM ? PS_TEXTURE
                                                            : PS_STROKE;
    return w[gr] / (float)(group_dim[gr] * N);
}

static void dist_bwd(void *p)
{
    dist_ctx *k = p;
    int N = k->a->n, bs = k->b->n == 1 ? 0 : PS_FEAT_DIM;
    float gy = k->y->grad[0];
    for (int n = 0; n < N; n++)
        for (int j = 0; j < PS_FEAT_DIM; j++) {
            float d = k->a->data[n * PS_FEAT_DIM + j] - k->b->data[n * bs + j];
            float gd = 2.0f * dist_coef(k->w, j, N) * d * gy;
            if (k->a->grad)
                k->a->grad[n * PS_FEAT_DIM + j] += gd;
            if (k->b->grad)
                k->b->grad[n * bs + j] -= gd;
        }
}

ps_tensor *ps_feat_distance(ps_graph *g, ps_tensor *fa, ps_tensor *fb,
                            const float w[PS_NGROUPS])
{
    if (!fa || !fb || ps_graph_status(g) != PS_OK)
        return NULL;
    if (ps_tensor_numel(fa) != (size_t)fa->n * PS_FEAT_DIM ||
        ps_tensor_numel(fb) != (size_t)fb->n * PS_FEAT_DIM || (fb->n != fa->n && fb->n != 1)) {
        ps_fail(PS_EUSAGE, "feature distance: need (N,1,1,%d) and (N|1,1,1,%d) vectors",
                PS_FEAT_DIM, PS_FEAT_DIM);
        return NULL;
    }
    int need = ps_graph_grad_on(g) && (fa->grad || fb->grad);
    ps_tensor *y = need ? ps_tensor_new(g, 1, 1, 1, 1) : ps_tensor_const(g, 1, 1, 1, 1);
    dist_ctx *k = ps_graph_ctx(g, sizeof *k);
    if (!y || !k)
        return NULL;
    int N = fa->n, bs = fb->n == 1 ? 0 : PS_FEAT_DIM;
    double s = 0.0;
    for (int n = 0; n < N; n++)
        for (int j = 0; j < PS_FEAT_DIM; j++) {
            double d = fa->data[n * PS_FEAT_DIM + j] - fb->data[n * bs + j];
            s += dist_coef(w, j, N) * d * d;
        }
    y->data[0] = (float)s;
    if (need) {
        *k = (dist_ctx){fa, fb, y, {w[0], w[1], w[2]}};
        ps_graph_push(g, dist_bwd, k);
    }
    return y;
}
