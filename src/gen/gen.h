/* The attention-conditioned generator. A U-Net-like content path runs at the working resolution;
 * per-group cross-attention to the style tokens drives three heads:
 *   stroke  -> residual image dS   (work res, bilinear to full res)
 *   texture -> residual image dT   (work res, with a deterministic noise input)
 *   color   -> bilateral grid of residual affine color transforms (sliced at full res, guided by
 *              the photo's luma, so edges stay sharp at any output size)
 * and the output is   y = z + wc * (A_res(x) [z;1]),   z = x + ws * up(dS) + wt * up(dT),
 * so weights (0,0,0) give back the photo exactly and each weight scales one group only.
 * The heads are bounded (b*tanh(x/b): residuals within +-1, affine coefficients within +-2), so
 * a bad episode cannot push the outputs, and with them the losses, beyond any bound.
 * Everything works in display space (sRGB-encoded floats in [0,1]). */
#ifndef PS_GEN_H
#define PS_GEN_H
#include "src/nn/nn.h"
#include "src/img/srgb.h"


typedef struct ps_gen_cfg {
    int tok;      /* tokens per group */
    int dim;      /* token dim D */
    int c1, c2, c3;   /* content channels at work res, /2, /4 */
    int heads;    /* attention heads */
    int bins;     /* luma bins of the bilateral grid */
    int grid_div; /* grid cell = grid_div work-res pixels */
} ps_gen_cfg;

void ps_gen_cfg_default(ps_gen_cfg *cfg);
void ps_gen_cfg_to_hparams(const ps_gen_cfg *cfg, ps_hparams *hp);
ps_status ps_gen_cfg_from_hparams(ps_gen_cfg *cfg, const ps_hparams *hp);

/* Parameter indices into a ps_params shared with the encoder. */
typedef struct ps_gen {
    ps_gen_cfg cfg;
    int e1w, e1b, e2w, e2b, e3w, e3b, mw, mb;
    int aq[PS_NGROUPS], ak[PS_NGROUPS], av[PS_NGROUPS], ao[PS_NGROUPS];
    int cw, cb, gw, gb;                      /* color head: conv3x3 then 1x1 to the grid */
    int gg;                                  /* pooled color tokens -> grid-wide coefficients */
    int fw[2], fb[2];                        /* FiLM from pooled tokens, texture/stroke decoders */
    int d2w[2], d2b[2], d1w[2], d1b[2], ow[2], ob[2]; /* decoders: [0] texture, [1] stroke */
} ps_gen;

/* Declare the generator's tensors in p (before ps_params_alloc, which reports any failure). */
void ps_gen_declare(ps_gen *gen, const ps_gen_cfg *cfg, ps_params *p);
/* Initialise declared tensors deterministically (after ps_params_alloc). */
void ps_gen_init(const ps_gen *gen, ps_params *p, uint64_t seed);

/* The heavy network's outputs at the working resolution, before composition. */
typedef struct ps_gen_heads {
    ps_tensor *ds;   /* (N,3,h,w) stroke residual */
    ps_tensor *dt;   /* (N,3,h,w) texture residual */
    ps_tensor *grid; /* (N,12*bins,gh,gw) residual affine coefficients */
} ps_gen_heads;

/* x: (N,3,h,w) photo at working res (h, w multiples of 4*grid_div); tok: (1,1,3*tok,dim). */
ps_status ps_gen_heads_forward(ps_graph *g, const ps_gen *gen, ps_params *p, ps_tensor *x,
                               ps_tensor *tok, ps_gen_heads *out);
/* Compose at any output resolution H x W (the photo x_full, (N,3,H,W)) at dials d, each group
 * scaled by its dial. Differentiable w.r.t. the heads. */
ps_tensor *ps_gen_compose(ps_graph *g, ps_tensor *x_full, const ps_gen_heads *h, const ps_dials *d);

/* The composition kernel, used by ps_gen_compose and by full-resolution inference: every image
 * of the batch h (ds, dt (N,3,h,w), grid (N,12*bins,gh,gw)) on the photos x, writing out; x and
 * out are (N,3,H,W) planar. */
void ps_gen_compose_forward(float *out, const float *x, int H, int W, const ps_gen_heads *h,
                            const ps_dials *d);

/* Display space -> linear light (differentiable), for feature-space losses. */
ps_tensor *ps_gen_linearize(ps_graph *g, ps_tensor *x);


/* The same composition pixel by pixel: the reference the fast kernel is tested against. */
void ps_gen_compose_forward_naive(float *out, const float *x, int H, int W,
                                  const ps_gen_heads *h, const ps_dials *d);

/* Working-resolution size for an image of W x H with long side `work` (multiples of the unit). */
void ps_gen_work_size(const ps_gen *gen, int W, int H, int work, int *ow, int *oh);

#endif
