/* Meta-training: episodes from the procedural style synthesizer -> MAML (Meta-SGD) outer loop
 * over the encoder, the generator and the inner step sizes. Checkpoints, resume, a CSV log. */
#ifndef PS_META_TRAIN_H
#define PS_META_TRAIN_H
#include "encoder/enc.h"
#include <stdio.h>

typedef enum { PS_META_NONE = 0, PS_META_FIRST = 1, PS_META_SECOND = 2 } ps_meta_order;

typedef struct ps_meta_cfg {
    const char *out;        /* final model (written when validation improves) */
    const char *dir;        /* run folder: checkpoint, log.csv, val.csv */
    const char *data;       /* photo folder (data/photos) or NULL for procedural content */
    const char *init;       /* start from this model instead of a fresh one (may be NULL) */
    long episodes;          /* stop after this many (0 = only the time limit) */
    double minutes;         /* stop after this long (0 = only the episode count) */
    int K, Q, crop;         /* shots, queries, crop size at full resolution (work = crop/2) */
    int inner_steps;        /* inner steps during training (0 = no inner loop: ablation (b)) */
    int learn_steps;        /* steps `pstyle learn` takes with the model (0 = inner_steps) */
    ps_meta_order order;    /* first-order or finite-difference second-order MAML */
    float lr;               /* peak Adam learning rate (networks and inner step sizes) */
    float w_ssim, w_feat;   /* query loss weights of SSIM and feature statistics (L1: 1) */
    uint64_t seed;
    int resume;             /* continue from dir/checkpoint.psm if present */
    int val_every, ckpt_every, log_every;
    int val_styles;         /* validation episodes */
} ps_meta_cfg;

void ps_meta_cfg_default(ps_meta_cfg *cfg);

/* One training task in linear RGB, planar, all crops px x px: K support renders of one style and
 * Q query photos with their full and partial (color / texture / stroke only) ground truths. */
typedef struct ps_meta_episode {
    int K, Q, px;
    float *support;           /* K * 3 * px * px */
    float *photo;             /* Q * 3 * px * px */
    float *gt[4];             /* full, color only, texture only, stroke only: Q * 3 * px * px */
} ps_meta_episode;

/* Losses of one outer step (query loss after the inner steps). */
typedef struct ps_meta_stats {
    float loss, l1[4], ssim, feat;
    int skipped, clipped; /* not finite: no update; gradient norm clipped */
} ps_meta_stats;

/* The state of a run: model, optimizer, graphs and buffers. */
typedef struct ps_meta_trainer ps_meta_trainer;
ps_status ps_meta_trainer_new(ps_meta_trainer **t, ps_model *m, const ps_meta_cfg *cfg);
void ps_meta_trainer_free(ps_meta_trainer *t);
/* One outer step on ep (converted to display space in place); Adam updates the model. */
ps_status ps_meta_step(ps_meta_trainer *t, ps_meta_episode *ep, ps_meta_stats *st);
/* The query loss and all gradients of one step without updating (for the golden test). */
ps_status ps_meta_loss(ps_meta_trainer *t, ps_meta_episode *ep, ps_meta_stats *st);

/* Where episodes come from: fills ep (buffers allocated for K, Q, px) for a seed, from the
 * training split (val = 0) or the fixed validation styles and photos (val = 1). */
typedef ps_status (*ps_meta_sample_fn)(void *ctx, uint64_t seed, int val, ps_meta_episode *ep);
ps_status ps_meta_episode_alloc(ps_meta_episode *ep, int K, int Q, int px);
void ps_meta_episode_free(ps_meta_episode *ep);

/* Validation on the fixed validation episodes (never trained on): mean L1 / PSNR / SSIM of the
 * full render vs its ground truth after `steps` inner steps. */
typedef struct ps_meta_val {
    double l1, psnr, ssim, inner_before, inner_after;
    int n;
} ps_meta_val;
ps_status ps_meta_validate(ps_meta_trainer *t, ps_meta_sample_fn sample, void *ctx, int n,
                           int steps, ps_meta_val *out);

/* What a run tells its caller as it goes (ps_meta_train's progress callback). */
typedef enum {
    PS_META_EV_START,   /* before the first episode; val: cfg->out's score (NULL: no such model) */
    PS_META_EV_EPISODE, /* after every episode */
    PS_META_EV_VAL,     /* after every validation; val, saved */
} ps_meta_event;
typedef struct ps_meta_progress {
    ps_meta_event event;
    long done;             /* episodes done, those before a resume included */
    long total;            /* the episode limit, cfg->episodes (0: none) */
    double elapsed_s;      /* seconds since this process began training */
    double s_per_episode;  /* mean over this process's episodes (0 before the first) */
    double eta_s;          /* seconds left to whichever limit comes first (< 0: not known) */
    int time_limited;      /* the time limit (cfg->minutes) comes first */
    int logged;            /* EPISODE: log.csv got a line (every log_every episodes); loss and
                            * l1_full are then the means since the one before */
    float loss, l1_full;   /* means of the last logged interval (0 before the first) */
    long clipped, skipped; /* episodes so far with a clipped gradient, dropped as not finite */
    const ps_meta_val *val;
    int saved;             /* VAL: it beat the best so far, so cfg->out was replaced */
} ps_meta_progress;
typedef void (*ps_meta_progress_fn)(void *ctx, const ps_meta_progress *p);

/* Seconds left to whichever of cfg's limits (cfg->episodes, cfg->minutes) comes first, `done`
 * episodes in, ep0 of them from before a resume, elapsed_s seconds into this process; the rate
 * is this process's. *time_limited (may be NULL) is 1 when the time limit comes first. -1 when
 * there is no limit, or only an episode limit and no episode of this process to time yet. */
double ps_meta_eta(const ps_meta_cfg *cfg, long done, long ep0, double elapsed_s,
                   int *time_limited);

/* The whole run: fresh model (or cfg->init, or resume), episodes until cfg->episodes or
 * cfg->minutes, checkpoints + CSV log in cfg->dir, cfg->out replaced when validation improves.
 * progress (may be NULL) is called with pctx at each event above; it prints nothing itself. */
ps_status ps_meta_train(const ps_meta_cfg *cfg, ps_meta_sample_fn sample, void *ctx,
                        ps_meta_progress_fn progress, void *pctx);

#endif
