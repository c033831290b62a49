/* Style encoder and the model that bundles it with the generator.
 *
 * Each sample image (at the working scale) goes through a small CNN and the fixed feature space;
 * per group (color, texture, stroke) learned queries, seeded by the sample's feature statistics,
 * attend to the CNN's map and become T tokens. Attention pooling over the K shots (a learned
 * score per token slot, softmax over shots: permutation-invariant, any K) gives the style vector
 * s0 (3*T tokens of D). At learn time a few Meta-SGD steps on an unsupervised loss computed from
 * the samples alone adapt s0 to s* (adapt.c). */
#ifndef PS_ENC_H
#define PS_ENC_H
#include "src/gen/gen.h"
#include "src/img/img.h"
#include "src/prog/prog.h"

typedef struct ps_enc {
    int tok, dim;
    int c1w, c1b, c2w, c2b, c3w, c3b, c4w, c4b;
    int fw, fb;                 /* shared projection of the feature statistics */
    int qw[PS_NGROUPS], qb[PS_NGROUPS], qe[PS_NGROUPS];  /* per-group query seeds + embedding */
    int aq[PS_NGROUPS], ak[PS_NGROUPS], av[PS_NGROUPS], ao[PS_NGROUPS];
    int m1w[PS_NGROUPS], m2w[PS_NGROUPS];                /* token MLP */
    int score;                  /* (1,1,D,1) pooling score */
} ps_enc;

void ps_enc_declare(ps_enc *e, int tok, int dim, ps_params *p); /* alloc reports failures */
void ps_enc_init(const ps_enc *e, ps_params *p, uint64_t seed);
/* x: (K,3,h,w) samples in display space at the working scale (h, w >= 48) -> per-image tokens
 * (K,1,3T,D). Images of other sizes go through one call each; their tokens concatenate. */
ps_tensor *ps_enc_tokens(ps_graph *g, const ps_enc *e, ps_params *p, ps_tensor *x);
/* Attention pooling over shots: tok (K,1,R,D), score (1,1,D,1) -> the style vector (1,1,R,D). */
ps_tensor *ps_enc_pool(ps_graph *g, ps_tensor *tok, ps_tensor *score);

/* ---- the model: encoder + generator + inner-loop step sizes, one .psm file ---------------- */
typedef struct ps_model {
    ps_params p;
    ps_hparams hp;
    ps_gen gen;
    ps_enc enc;
    int alpha;          /* (1,1,3T,D) log of the Meta-SGD per-dimension inner step sizes */
    int work_px;        /* long side of the working resolution */
    int inner_steps;    /* default learn-time steps */
    char hash[17];      /* of the model file, recorded in style vectors */
} ps_model;

/* A fresh model of architecture arch (NULL: the default), initialised from seed. */
ps_status ps_model_create(ps_model *m, const ps_gen_cfg *arch, uint64_t seed);
ps_status ps_model_load(ps_model *m, const char *path);     /* PS_EINPUT on a bad file */
/* The same from a model file's bytes (path names it in messages). */
ps_status ps_model_load_mem(ps_model *m, const char *path, const unsigned char *file, size_t len);
ps_status ps_model_save(const ps_model *m, const char *path);
void ps_model_free(ps_model *m);
int ps_model_ntokens(const ps_model *m);                    /* 3*T*D floats */

/* ---- progress of a learn, for a display (the library never prints) ----------------------- */
/* Learn's three phases, in order: the encoder on each sample (total k), the inner steps (total
 * the steps asked for; skipped when 0), the style program's fit (total 1). */
typedef enum ps_learn_phase { PS_LEARN_ENCODE, PS_LEARN_STEPS, PS_LEARN_FIT } ps_learn_phase;
/* fn is called on learn's own thread as each phase starts (done 0) and as each unit of it ends
 * (done 1..total); it must return quickly and not call into the model. */
typedef struct ps_learn_progress {
    void (*fn)(void *user, ps_learn_phase phase, int done, int total);
    void *user;
} ps_learn_progress;

/* ---- learn-time adaptation (Meta-SGD inner loop) ------------------------------------------ */
/* Structure-only version of a sample: blurred and half desaturated, so that restyling it back
 * into the sample is a loss that needs the style but no ground truth. (3,h,w) planar. */
void ps_enc_destyle(float *out, const float *in, int h, int w);
/* The inner loss on one batch of samples x (K,3,h,w), their destyled versions px and the
 * samples' feature statistics fx (K,1,1,PS_FEAT_DIM): restyle px with tokens tok, compare to x
 * (L1 + feature statistics). */
ps_tensor *ps_enc_inner_loss(ps_graph *g, const ps_model *m, ps_params *p, ps_tensor *x,
                             ps_tensor *px, ps_tensor *fx, ps_tensor *tok);
/* fx = the samples' feature statistics (K * PS_FEAT_DIM floats): the inner loss's target,
 * computed once per adaptation. Resets g. */
ps_status ps_enc_inner_target(ps_graph *g, ps_tensor *x, float *fx);
/* Inner-loss gradient w.r.t. the tokens at tok (grad may be NULL: loss only). Parameter
 * gradients are touched unless the caller froze them (ps_params_freeze). */
ps_status ps_enc_inner_grad(ps_graph *g, ps_model *m, ps_tensor *x, ps_tensor *px,
                            const float *fx, const float *tok, float *grad, float *loss);
/* n Meta-SGD steps: tok <- tok - c * exp(log_alpha) * grad(inner loss), in place, where
 * c <= 1 keeps each step's RMS under PS_ENC_MAX_STEP. Optional records for meta-training: traj
 * ((n+1) * ntokens) the tokens before each step and after the last, grads (n * ntokens) each
 * step's gradient, clip (n) each step's c, loss[0..n] the inner loss before each step and after
 * the last. pr (may be NULL) hears of each step as PS_LEARN_STEPS. */
#define PS_ENC_MAX_STEP 0.5
ps_status ps_enc_adapt(ps_graph *g, ps_model *m, ps_tensor *x, ps_tensor *px, float *tok, int n,
                       float *traj, float *grads, float *clip, float *loss,
                       const ps_learn_progress *pr);

/* ---- the product's two operations on a loaded model (learn.c, apply.c) -------------------- */
typedef struct ps_learn_stats {
    float loss_before, loss_after; /* inner loss before the first and after the last step */
    double seconds;
} ps_learn_stats;
/* Learn a style from k images (linear RGB, any sizes; k 1..PS_LEARN_MAX_SHOTS) with `steps`
 * inner steps (-1: the model's default): the tokens tok (ps_model_ntokens floats) and the style
 * program prog (may be NULL: tokens only). embed (may be NULL): k * ps_model_ntokens per-image
 * tokens. progress (may be NULL) hears of each phase and step. */
#define PS_LEARN_MAX_SHOTS 10
ps_status ps_model_learn(ps_model *m, const ps_image *imgs, int k, int steps, float *tok,
                         ps_prog *prog, float *embed, ps_learn_stats *stats,
                         const ps_learn_progress *progress);
/* Paint `in` (linear RGB[A], any size) at dials d with a style: its program when it has one
 * (prog != NULL: the network is not run), else the network with the tokens tok (styles learned
 * before programs, and the bench's ablation). out gets the same size and alpha (apply.c). */
ps_status ps_model_apply(ps_model *m, const float *tok, const ps_prog *prog, const ps_image *in,
                         const ps_dials *d, ps_image *out);

/* The network half of apply for one photo, kept so that the composition can run for any number
 * of dial settings with one network pass (the bench's sweeps and its peer comparison). */
typedef struct ps_model_heads {
    ps_graph *g;
    ps_gen_heads hd; /* in g's arena */
    ps_image work;   /* the photo at the working resolution, display space */
    float *xd;       /* the photo in display space, full resolution */
    int W, H;
} ps_model_heads;
/* Network pass for photo (linear RGB) with style tokens tok; resets g. */
ps_status ps_model_heads_forward(ps_model *m, ps_graph *g, const float *tok, const ps_image *photo,
                                 ps_model_heads *r);
/* The network pass alone again on the inputs ps_model_heads_forward prepared. */
ps_status ps_model_heads_network(ps_model *m, const float *tok, ps_model_heads *r);
/* The composition at dials d (3 planes, the photo's size): linear RGB, or with linear = 0 the
 * display-space values before the conversion. */
ps_status ps_model_heads_compose(const ps_model_heads *r, const ps_dials *d, int linear,
                                 ps_image *out);
void ps_model_heads_free(ps_model_heads *r);

#endif
