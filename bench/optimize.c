/* The slow quality reference of the bench: Gatys-style optimization, but in pstyle's own fixed
 * feature space instead of VGG. The photo's pixels are the parameters; Adam minimizes the
 * distance between their feature statistics and the samples' mean statistics, plus an L1 term
 * that keeps the content. No learning, no model: what the feature space alone can do given time. */
#include "bench/bench_impl.h"
#include "src/feat/feat.h"
#include <string.h>

#define OPT_ARENA (64u << 20)

/* Mean ps_feat_all vector of the samples (each at its own size), PS_FEAT_DIM floats. */
static ps_status sample_features(ps_graph *g, const ps_image *samples, int k, float *f)
{
    memset(f, 0, sizeof(float) * PS_FEAT_DIM);
    for (int i = 0; i < k; i++) {
        ps_graph_reset(g);
        ps_tensor *x = ps_tensor_wrap(g, samples[i].px, 1, 3, samples[i].h, samples[i].w);
        ps_tensor *fx = ps_feat_all(g, x);
        if (!fx)
            return ps_graph_status(g);
        for (int j = 0; j < PS_FEAT_DIM; j++)
            f[j] += fx->data[j] / (float)k;
    }
    return PS_OK;
}

ps_status ps_bench_optimize(const ps_image *samples, int k, const ps_image *photo, int steps,
                            float content_w, ps_image *out)
{
    int h = photo->h, w = photo->w;
    size_t n = (size_t)3 * h * w;
    ps_params p;
    ps_params_init(&p);
    int ix = ps_params_add(&p, "pixels", 1, 3, h, w);
    ps_graph *g = ps_graph_new(OPT_ARENA);
    float target[PS_FEAT_DIM];
    ps_status st = (ix >= 0 && g) ? ps_params_alloc(&p)
                                  : ps_fail(PS_EINTERNAL, "optimize: out of memory");
    if (!st) {
        ps_graph_set_grad(g, 0);
        st = sample_features(g, samples, k, target);
    }
    if (!st)
        st = ps_img_alloc(out, w, h, 3);
    if (!st) {
        memcpy(p.t[ix].data, photo->px, sizeof(float) * n); /* start from the photo */
        ps_graph_set_grad(g, 1);
        /* small steps: at 0.01 the texture statistics pull in pixel noise faster than the
         * content term holds it (SSIM falls by a third in 40 steps); 0.002 keeps it an image */
        const ps_adam opt = {.lr = 0.002f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
        const float gw[PS_NGROUPS] = {1, 1, 1}, lw[2] = {1, content_w};
        for (int s = 0; s < steps && !st; s++) {
            ps_graph_reset(g);
            ps_tensor *fb = ps_tensor_wrap(g, target, 1, 1, 1, PS_FEAT_DIM);
            ps_tensor *ph = ps_tensor_wrap(g, photo->px, 1, 3, h, w);
            ps_tensor *x = &p.t[ix];
            ps_tensor *terms[2] = {ps_feat_distance(g, ps_feat_all(g, x), fb, gw),
                                   ps_l1_loss(g, x, ph)};
            ps_tensor *loss = ps_sum_scaled(g, terms, lw, 2);
            if ((st = ps_graph_status(g)))
                break;
            ps_params_zero_grad(&p);
            ps_graph_backward(g, loss);
            ps_adam_step(&p, &opt);
            for (size_t i = 0; i < n; i++) /* stay a valid image */
                p.t[ix].data[i] = p.t[ix].data[i] < 0 ? 0 : p.t[ix].data[i] > 1 ? 1 : p.t[ix].data[i];
        }
        if (!st)
            memcpy(out->px, p.t[ix].data, sizeof(float) * n);
        else
            ps_img_free(out);
    }
    ps_graph_free(g);
    ps_params_free(&p);
    return st;
}
