/* The fixed feature space that replaces a pretrained VGG: color, texture and stroke statistics of
 * linear-RGB images, differentiable on the engine's tape, plus the image-quality metrics and the
 * color-transfer baselines of the bench. Learn-time adaptation, training losses and the bench all
 * measure style with these same numbers.
 *
 *   ps_tensor *fa = ps_feat_all(g, out);            // (N,1,1,PS_FEAT_DIM), calibrated units
 *   ps_tensor *fb = ps_feat_all(g, target);         // or a constant (1,1,1,PS_FEAT_DIM) target
 *   float w[PS_NGROUPS] = {1, 1, 1};            // color, texture, stroke
 *   ps_tensor *loss = ps_feat_distance(g, fa, fb, w);
 *
 * Images are NCHW (N,3,H,W) linear RGB in [0,1] with H,W >= PS_FEAT_MIN_SIDE. On a bad shape the
 * graph functions return NULL with ps_last_error() set. */
#ifndef PS_FEAT_H
#define PS_FEAT_H
#include "src/nn/nn.h"


/* Layout of the statistics vectors (see feat.c for the meaning of every entry). */
#define PS_FEAT_COLOR_DIM 33    /* opponent mean 3, covariance 6, soft histogram 3x8 */
#define PS_FEAT_TEXTURE_DIM 216 /* 4 levels x (4 energies + 10 energy cov + 36 response cov)
                                 * + 2 coarse levels x 2 chroma x 4 energies */
#define PS_FEAT_STROKE_DIM 37   /* 2 windows x 5 orientation maps x 3 moments, 2 x 3 edge
                                 * strength moments, 1 edge-scale ratio */
#define PS_FEAT_DIM (PS_FEAT_COLOR_DIM + PS_FEAT_TEXTURE_DIM + PS_FEAT_STROKE_DIM)
#define PS_FEAT_MIN_SIDE 48     /* 4 pyramid levels, 5x5 valid filters at the coarsest */

int ps_feat_group_dim(int group);    /* PS_FEAT_*_DIM of a group */
int ps_feat_group_offset(int group); /* where a group starts in ps_feat_all's vector */
const char *ps_feat_group_name(int group); /* "color", "texture", "stroke" */

/* Raw statistics of one group: img (N,3,H,W) -> (N,1,1,D_group), differentiable w.r.t. img. */
ps_tensor *ps_feat_color(ps_graph *g, ps_tensor *img);
ps_tensor *ps_feat_texture(ps_graph *g, ps_tensor *img);
ps_tensor *ps_feat_stroke(ps_graph *g, ps_tensor *img);
/* All three groups, each statistic shifted and divided by its calibrated scale (calib.c: its
 * spread over natural-ish images, weighted so a group's two kinds of statistics count equally),
 * so two unrelated images lie about 2 apart in every group's ps_feat_distance. */
ps_tensor *ps_feat_all(ps_graph *g, ps_tensor *img);
/* Put raw group vectors (N,1,1,D_group each) in ps_feat_all's calibrated units. */
ps_tensor *ps_feat_normalize(ps_graph *g, ps_tensor *color, ps_tensor *texture, ps_tensor *stroke);
/* Scalar loss: mean over the batch of sum_g w[g] * mean_{j in g} (fa_j - fb_j)^2 on ps_feat_all
 * vectors. fb is (N,...) or (1,...) broadcast over fa's batch; either may be a constant. */
ps_tensor *ps_feat_distance(ps_graph *g, ps_tensor *fa, ps_tensor *fb,
                            const float w[PS_NGROUPS]);
/* Calibration constants, PS_FEAT_DIM each (read-only; used by ps_feat_normalize). */
const float *ps_feat_calib_mean(void);
const float *ps_feat_calib_scale(void);

/* ---- image quality ------------------------------------------------------------------------- */
/* SSIM compares what a viewer sees: linear RGB is sRGB-encoded, clamped to [0,1] and reduced to
 * Rec.601 luma Y'; windows are 7x7 Gaussian (sigma 1.5), valid positions only; C1 = 0.01^2,
 * C2 = 0.03^2 (Wang et al. 2004 with L = 1). A 1-channel image is taken as linear luminance. */
#define PS_FEAT_SSIM_WIN 7
/* 1 - mean SSIM over the batch: a,b (N,3,H,W), H,W >= 7; gradients flow to both when present. */
ps_tensor *ps_feat_ssim_loss(ps_graph *g, ps_tensor *a, ps_tensor *b);
/* Mean SSIM of two planar images (c = 1 or 3 planes of h*w, linear); NAN if too small. */
double ps_feat_ssim(const float *a, const float *b, int c, int h, int w);
/* PSNR in dB of the sRGB-encoded, clamped images (peak 1); INFINITY when identical. */
double ps_feat_psnr(const float *a, const float *b, int c, int h, int w);

/* ---- color science ------------------------------------------------------------------------- */
/* Linear sRGB (D65) -> CIE XYZ -> CIELAB (D65 white), one pixel. */
void ps_feat_rgb_to_lab(const float rgb[3], double lab[3]);
void ps_feat_lab_to_rgb(const double lab[3], float rgb[3]);
/* CIE L* alone (ps_feat_rgb_to_lab's lab[0], the same bits), one cube root instead of three. */
double ps_feat_lightness(const float rgb[3]);
/* The same by a table over sqrt(Y), within 5e-5 of it (test_feat_metrics), for operators that
 * read every pixel's lightness (the style program's ink and sketch). Input clamped to [0, 1]. */
float ps_feat_lightness_fast(const float rgb[3]);
/* CIEDE2000 (kL = kC = kH = 1) exactly as in Sharma, Wu, Dalal, Color Res. Appl. 30(1), 2005. */
double ps_feat_ciede2000(const double lab1[3], const double lab2[3]);
/* Mean CIEDE2000 over pixels of two planar linear-RGB images of the same size. */
double ps_feat_delta_e(const float *a, const float *b, int h, int w);
/* Chi-square distance in [0,1] between 8x8x8 CIELAB histograms of two planar linear-RGB images
 * (sizes may differ): 0.5 * sum (p-q)^2 / (p+q). */
double ps_feat_hist_distance(const float *a, int ah, int aw, const float *b, int bh, int bw);

/* ---- color-transfer baselines (bench) ----------------------------------------------------- */
/* Reinhard et al. 2001: match per-channel mean and standard deviation in CIELAB.
 * out may equal src; all planar linear RGB; result clamped to [0,1]. */
void ps_feat_reinhard_transfer(float *out, const float *src, int sh, int sw, const float *ref,
                               int rh, int rw);
/* Linear Monge-Kantorovich transfer (Pitie & Kokaram 2007): the affine map that sends the source's
 * CIELAB Gaussian (mean, covariance) onto the reference's with least displacement. */
void ps_feat_linear_transfer(float *out, const float *src, int sh, int sw, const float *ref,
                             int rh, int rw);

/* ---- the reference metrics (shared/metrics/pstyle_metrics.py) ----------------------------- */
/* The bench's six scores of an output against its ground truth, as the reference script defines
 * them (scikit-image 0.19 PSNR, SSIM, rgb2lab and CIEDE2000; sliced Wasserstein distances of Lab
 * colours, Sobel magnitudes and Laplacian-band patches on its fixed random directions). */
enum { PS_SCORE_PSNR, PS_SCORE_SSIM, PS_SCORE_DE00, PS_SCORE_SWD, PS_SCORE_GRADW1,
       PS_SCORE_LAPSWD, PS_SCORE_N };
#define PS_FEAT_SCORE_MIN_SIDE 56 /* LapSWD's coarsest band (1/8 size) must hold a 7x7 patch */
const char *ps_feat_score_name(int i); /* "PSNR", "SSIM", "dE00", "SWD", "GradW1", "LapSWD"; NULL
                                        * out of range */
int ps_feat_score_higher_better(int i); /* 1 for PSNR and SSIM, 0 for the distances */
/* out, gt: interleaved 8-bit sRGB, h*w*3 bytes each, h, w >= PS_FEAT_SCORE_MIN_SIDE. Fills
 * m[PS_SCORE_*]. PS_EUSAGE on NULL, PS_EINPUT when too small, PS_EINTERNAL out of memory. */
ps_status ps_feat_score(const unsigned char *out, const unsigned char *gt, int h, int w,
                        double m[PS_SCORE_N]);

#endif
