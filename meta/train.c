/* The MAML (Meta-SGD) outer step. Per episode:
 *   s0 = pool(E(support))                            graph E, kept until the end of the step
 *   s_{k+1} = s_k - alpha * grad_s Linner(s_k)         n inner steps, weights frozen (graph I),
 *                                                      alpha = exp(log_alpha) per dimension
 *   L = sum over weight settings of query losses of G(photo, s_n)          graph Q
 *   dL/dlog_alpha = -alpha * sum_k g_k * dL/ds_{k+1}
 *   dL/ds_k = dL/ds_{k+1} - H_k (alpha * dL/ds_{k+1})  (second order: finite-difference HVP;
 *                                                      first order: the H term is dropped)
 *   backward through E from dL/ds_0, then AdamW on everything.
 * The weight settings (1,1,1), (1,0,0), (0,1,0), (0,0,1) against the full and the three partial
 * ground truths are what make the color / texture / stroke dials mean what they say. */
#include "train_impl.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Loss weights (cfg->w_ssim, cfg->w_feat; the defaults won a 2,000-episode comparison against
 * SSIM 0.2 / features 0.01, 2 and 0.01 on validation L1): pixel L1 on every weight setting carries most of the
 * signal; SSIM keeps the full render's structure; feature statistics are the only term that can
 * teach stochastic textures (grain) that a pixel loss cannot, so they go on the full and
 * texture-only renders (on all four they cost 40% more time per episode for no visible gain). */
static const ps_dials combo_w[4] = {{1, 1, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
static const float combo_loss_w[4] = {1.0f, 0.5f, 0.5f, 0.5f};
static const int combo_ssim[4] = {1, 0, 0, 1}, combo_feat[4] = {1, 0, 1, 0};
#define HVP_EPS 1e-2f
#define ARENA_CHUNK (64u << 20)


void ps_meta_cfg_default(ps_meta_cfg *cfg)
{
    *cfg = (ps_meta_cfg){.out = "models/default.psm", .dir = "runs/default", .data = "data/photos",
                         .K = 4, .Q = 2, .crop = 96, .inner_steps = 1, .order = PS_META_FIRST,
                         .lr = 1e-3f, .w_ssim = 1.0f, .w_feat = 0.003f, .seed = 1,
                         .val_every = 250, .ckpt_every = 100,
                         .log_every = 10, .val_styles = 16, .minutes = 60};
}

ps_status ps_meta_trainer_new(ps_meta_trainer **out, ps_model *m, const ps_meta_cfg *cfg)
{
    ps_meta_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return ps_fail(PS_EINTERNAL, "train: out of memory");
    t->m = m;
    t->cfg = *cfg;
    t->nt = ps_model_ntokens(m);
    t->work = cfg->crop / 2;
    t->adam = (ps_adam){.lr = cfg->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                        .weight_decay = 1e-4f};
    size_t wimg = (size_t)3 * t->work * t->work;
    int n = cfg->inner_steps;
    t->ge = ps_graph_new(ARENA_CHUNK);
    t->gi = ps_graph_new(ARENA_CHUNK);
    t->gq = ps_graph_new(ARENA_CHUNK);
    t->sup_w = malloc(sizeof(float) * wimg * cfg->K);
    t->sup_d = malloc(sizeof(float) * wimg * cfg->K);
    t->photo_w = malloc(sizeof(float) * wimg * cfg->Q);
    t->traj = malloc(sizeof(float) * t->nt * (n + 1));
    t->grads = malloc(sizeof(float) * t->nt * (n + 1));
    t->v = malloc(sizeof(float) * t->nt);
    t->u = malloc(sizeof(float) * t->nt);
    t->hp = malloc(sizeof(float) * t->nt);
    t->hm = malloc(sizeof(float) * t->nt);
    t->fx = malloc(sizeof(float) * PS_FEAT_DIM * cfg->K);
    t->clip = malloc(sizeof(float) * (n + 1));
    if (!t->ge || !t->gi || !t->gq || !t->sup_w || !t->sup_d || !t->photo_w || !t->traj ||
        !t->grads || !t->v || !t->u || !t->hp || !t->hm || !t->fx || !t->clip) {
        ps_meta_trainer_free(t);
        return ps_fail(PS_EINTERNAL, "train: out of memory");
    }
    *out = t;
    return PS_OK;
}

void ps_meta_trainer_free(ps_meta_trainer *t)
{
    if (!t)
        return;
    ps_graph_free(t->ge);
    ps_graph_free(t->gi);
    ps_graph_free(t->gq);
    free(t->sup_w);
    free(t->sup_d);
    free(t->photo_w);
    free(t->traj);
    free(t->grads);
    free(t->v);
    free(t->u);
    free(t->hp);
    free(t->hm);
    free(t->fx);
    free(t->clip);
    free(t);
}

void ps_meta_half(float *dst, const float *src, int n, int px)
{
    int h = px / 2;
    for (int p = 0; p < 3 * n; p++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < h; x++) {
                const float *s = src + ((size_t)p * px + 2 * y) * px + 2 * x;
                dst[((size_t)p * h + y) * h + x] = 0.25f * (s[0] + s[1] + s[px] + s[px + 1]);
            }
}

static void episode_to_display(ps_meta_episode *ep)
{
    size_t img = (size_t)3 * ep->px * ep->px;
    ps_linear_to_srgb_n(ep->support, ep->support, img * ep->K);
    ps_linear_to_srgb_n(ep->photo, ep->photo, img * ep->Q);
    for (int i = 0; i < 4; i++)
        ps_linear_to_srgb_n(ep->gt[i], ep->gt[i], img * ep->Q);
}

/* Query loss of the four weight settings for tokens s (a leaf of gq). */
static ps_tensor *query_loss(ps_meta_trainer *t, ps_meta_episode *ep, ps_tensor *s,
                             ps_meta_stats *st)
{
    ps_graph *g = t->gq;
    ps_model *m = t->m;
    ps_tensor *xw = ps_tensor_wrap(g, t->photo_w, ep->Q, 3, t->work, t->work);
    ps_tensor *xf = ps_tensor_wrap(g, ep->photo, ep->Q, 3, ep->px, ep->px);
    ps_gen_heads hd;
    if (!xw || !xf || ps_gen_heads_forward(g, &m->gen, &m->p, xw, s, &hd))
        return NULL;
    ps_tensor *parts[12];
    float wts[12];
    int np = 0;
    const float fw[PS_NGROUPS] = {1, 1, 1};
    st->ssim = st->feat = 0;
    for (int c = 0; c < 4; c++) {
        ps_tensor *gt = ps_tensor_wrap(g, ep->gt[c], ep->Q, 3, ep->px, ep->px);
        ps_tensor *y = ps_gen_compose(g, xf, &hd, &combo_w[c]);
        ps_tensor *l1 = ps_l1_loss(g, y, gt);
        if (!l1)
            return NULL;
        st->l1[c] = l1->data[0];
        parts[np] = l1, wts[np++] = combo_loss_w[c];
        if (!combo_ssim[c] && !combo_feat[c])
            continue;
        ps_tensor *yl = ps_gen_linearize(g, y), *gl = ps_gen_linearize(g, gt);
        if (combo_ssim[c]) {
            ps_tensor *ss = ps_feat_ssim_loss(g, yl, gl);
            if (!ss)
                return NULL;
            st->ssim += combo_loss_w[c] * ss->data[0];
            parts[np] = ss, wts[np++] = combo_loss_w[c] * t->cfg.w_ssim;
        }
        if (combo_feat[c]) {
            ps_tensor *fd = ps_feat_distance(g, ps_feat_all(g, yl), ps_feat_all(g, gl), fw);
            if (!fd)
                return NULL;
            st->feat += combo_loss_w[c] * fd->data[0];
            parts[np] = fd, wts[np++] = combo_loss_w[c] * t->cfg.w_feat;
        }
    }
    ps_tensor *loss = ps_sum_scaled(g, parts, wts, np);
    if (loss)
        st->loss = loss->data[0];
    return loss;
}

ps_status ps_meta_loss(ps_meta_trainer *t, ps_meta_episode *ep, ps_meta_stats *st)
{
    ps_model *m = t->m;
    int K = ep->K, n = t->cfg.inner_steps, nt = t->nt, w = t->work;
    if (K != t->cfg.K || ep->Q != t->cfg.Q || ep->px != t->cfg.crop)
        return ps_fail(PS_EINTERNAL, "train: episode shape does not match the configuration");
    memset(st, 0, sizeof *st);
    episode_to_display(ep);
    ps_meta_half(t->sup_w, ep->support, K, ep->px);
    ps_meta_half(t->photo_w, ep->photo, ep->Q, ep->px);
    ps_params_zero_grad(&m->p);

    /* encoder */
    ps_graph_reset(t->ge);
    ps_tensor xs = {K, 3, w, w, t->sup_w, NULL};
    ps_tensor *s0 = ps_enc_pool(t->ge, ps_enc_tokens(t->ge, &m->enc, &m->p, &xs),
                                &m->p.t[m->enc.score]);
    if (!s0)
        return ps_graph_status(t->ge);
    float *tok = t->traj; /* s_0 .. s_n */
    memcpy(tok, s0->data, sizeof(float) * nt);

    /* inner loop on the support alone, weights frozen */
    ps_tensor xd = {K, 3, w, w, t->sup_d, NULL};
    ps_status rc = PS_OK;
    if (n > 0) {
        size_t img = (size_t)3 * w * w;
        for (int k = 0; k < K; k++)
            ps_enc_destyle(t->sup_d + k * img, t->sup_w + k * img, w, w);
        float *cur = t->u;
        memcpy(cur, tok, sizeof(float) * nt);
        ps_params_freeze(&m->p, 1);
        /* no loss record: its last entry would cost one more forward pass per episode; the
         * validation runs report the inner loss before and after */
        rc = ps_enc_adapt(t->gi, m, &xs, &xd, cur, n, t->traj, t->grads, t->clip, NULL, NULL);
        ps_params_freeze(&m->p, 0);
        if (rc)
            return rc;
    }

    /* query */
    ps_graph_reset(t->gq);
    ps_tensor *s = ps_tensor_leaf(t->gq, 1, 1, nt / m->gen.cfg.dim, m->gen.cfg.dim);
    if (!s)
        return ps_graph_status(t->gq);
    memcpy(s->data, t->traj + (size_t)n * nt, sizeof(float) * nt);
    ps_tensor *loss = query_loss(t, ep, s, st);
    if (!loss)
        return ps_graph_status(t->gq) ? ps_graph_status(t->gq) : PS_EINTERNAL;
    ps_graph_backward(t->gq, loss);
    memcpy(t->v, s->grad, sizeof(float) * nt);

    /* back through the inner steps: step sizes, then (second order) the Hessian term */
    const float *log_alpha = m->p.t[m->alpha].data;
    float *dlog_alpha = m->p.t[m->alpha].grad;
    for (int k = n - 1; k >= 0; k--) {
        const float *gk = t->grads + (size_t)k * nt;
        for (int i = 0; i < nt; i++)
            dlog_alpha[i] -= t->clip[k] * expf(log_alpha[i]) * gk[i] * t->v[i];
        if (t->cfg.order != PS_META_SECOND)
            continue;
        /* H u by central differences of the inner gradient: two extra backward passes */
        double un = 0;
        for (int i = 0; i < nt; i++) {
            t->u[i] = t->clip[k] * expf(log_alpha[i]) * t->v[i];
            un += (double)t->u[i] * t->u[i];
        }
        if (un <= 0)
            continue;
        float eps = HVP_EPS / (float)sqrt(un / nt), *sk = t->traj + (size_t)k * nt;
        float *probe = malloc(sizeof(float) * nt);
        if (!probe)
            return ps_fail(PS_EINTERNAL, "train: out of memory");
        ps_params_freeze(&m->p, 1);
        for (int i = 0; i < nt; i++)
            probe[i] = sk[i] + eps * t->u[i];
        rc = ps_enc_inner_target(t->gi, &xs, t->fx);
        if (!rc)
            rc = ps_enc_inner_grad(t->gi, m, &xs, &xd, t->fx, probe, t->hp, NULL);
        for (int i = 0; i < nt && !rc; i++)
            probe[i] = sk[i] - eps * t->u[i];
        if (!rc)
            rc = ps_enc_inner_grad(t->gi, m, &xs, &xd, t->fx, probe, t->hm, NULL);
        ps_params_freeze(&m->p, 0);
        free(probe);
        if (rc)
            return rc;
        for (int i = 0; i < nt; i++)
            t->v[i] -= (t->hp[i] - t->hm[i]) / (2 * eps);
    }
    ps_graph_backward_seed(t->ge, s0, t->v);
    return ps_graph_status(t->ge);
}

ps_status ps_meta_step(ps_meta_trainer *t, ps_meta_episode *ep, ps_meta_stats *st)
{
    ps_status rc = ps_meta_loss(t, ep, st);
    if (rc)
        return rc;
    ps_params *p = &t->m->p;
    double ss = 0;
    for (size_t i = 0; i < p->total; i++)
        ss += (double)p->grad[i] * p->grad[i];
    double norm = sqrt(ss);
    if (!isfinite(st->loss) || !isfinite(norm)) {
        st->skipped = 1; /* an episode that overflows teaches nothing: drop it, keep going */
        return PS_OK;
    }
    /* Spikes (a style the model cannot yet follow) would dominate Adam's moments for hundreds of
     * steps: clip the gradient's norm to 3x its running average. */
    if (t->gnorm_avg > 0 && norm > 3 * t->gnorm_avg) {
        float c = (float)(3 * t->gnorm_avg / norm);
        for (size_t i = 0; i < p->total; i++)
            p->grad[i] *= c;
        st->clipped = 1;
    }
    t->gnorm_avg = t->gnorm_avg > 0 ? 0.99 * t->gnorm_avg + 0.01 * norm : norm;
    ps_adam_step(p, &t->adam);
    return PS_OK;
}

double ps_meta_eta(const ps_meta_cfg *cfg, long done, long ep0, double elapsed_s,
                   int *time_limited)
{
    double by_eps = -1, by_time = -1;
    if (cfg->episodes > 0 && done > ep0)
        by_eps = (double)(cfg->episodes > done ? cfg->episodes - done : 0) * elapsed_s /
                 (double)(done - ep0);
    if (cfg->minutes > 0)
        by_time = cfg->minutes * 60 > elapsed_s ? cfg->minutes * 60 - elapsed_s : 0;
    /* an episode limit whose rate is not known yet may still come first: say nothing */
    if (cfg->episodes > 0 && by_eps < 0)
        by_time = -1;
    int t = by_time >= 0 && (by_eps < 0 || by_time < by_eps);
    if (time_limited)
        *time_limited = t;
    return t ? by_time : by_eps;
}
