/* Internals shared by the outer step (train.c) and the run around it (run.c). */
#ifndef PS_META_TRAIN_IMPL_H
#define PS_META_TRAIN_IMPL_H
#include "train.h"

struct ps_meta_trainer {
    ps_model *m;
    ps_meta_cfg cfg;
    ps_graph *ge, *gi, *gq;
    ps_adam adam;
    int nt, work;
    float *sup_w, *sup_d, *photo_w; /* work-res support, its destyled version, work-res photos */
    float *traj, *grads, *v, *u, *hp, *hm, *fx, *clip;
    double gnorm_avg; /* running average of the outer gradient's norm, for clipping */
};

/* 2x2 box downsampling of n planar RGB images px x px -> px/2: the working scale. */
void ps_meta_half(float *dst, const float *src, int n, int px);

#endif
