/* Learn-time adaptation: Meta-SGD steps on the style tokens. The inner loss needs only the
 * user's samples: each sample is reduced to a structure-only version (blur + half desaturation)
 * and restyling that back into the sample must match it in pixels and in feature statistics.
 * Meta-training (meta/) shapes the encoder, generator and step sizes so these few steps help. */
#include "enc.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Weight of the feature-statistics term against L1 in the inner loss. */
#define INNER_FEAT_W 0.02f

/* [1 2 1]/4 blur along one axis (dx, dy = 1, 0 or 0, 1), edges clamped. */
static void blur_axis(float *dst, const float *src, int h, int w, int dx, int dy)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int xa = x - dx < 0 ? 0 : x - dx, xb = x + dx >= w ? w - 1 : x + dx;
            int ya = y - dy < 0 ? 0 : y - dy, yb = y + dy >= h ? h - 1 : y + dy;
            dst[y * w + x] = 0.25f * src[ya * w + xa] + 0.5f * src[y * w + x] +
                             0.25f * src[yb * w + xb];
        }
}

void ps_enc_destyle(float *out, const float *in, int h, int w)
{
    size_t hw = (size_t)h * w;
    float *tmp = malloc(sizeof(float) * hw);
    if (!tmp) { /* degrade to a plain copy rather than fail: the loss stays defined */
        memmove(out, in, sizeof(float) * 3 * hw);
        return;
    }
    for (int c = 0; c < 3; c++) {
        /* two [1 2 1] passes per axis: a 5-tap binomial, enough to wipe grain and fine strokes */
        blur_axis(tmp, in + c * hw, h, w, 1, 0);
        blur_axis(out + c * hw, tmp, h, w, 1, 0);
        blur_axis(tmp, out + c * hw, h, w, 0, 1);
        blur_axis(out + c * hw, tmp, h, w, 0, 1);
    }
    free(tmp);
    for (size_t i = 0; i < hw; i++) {
        float y = 0.299f * out[i] + 0.587f * out[hw + i] + 0.114f * out[2 * hw + i];
        for (int c = 0; c < 3; c++)
            out[c * hw + i] = 0.5f * (out[c * hw + i] + y);
    }
}

ps_tensor *ps_enc_inner_loss(ps_graph *g, const ps_model *m, ps_params *p, ps_tensor *x,
                             ps_tensor *px, ps_tensor *fx, ps_tensor *tok)
{
    ps_gen_heads hd;
    if (ps_gen_heads_forward(g, &m->gen, p, px, tok, &hd))
        return NULL;
    const float fw[PS_NGROUPS] = {1, 1, 1};
    const ps_dials ones = {1, 1, 1};
    ps_tensor *y = ps_gen_compose(g, px, &hd, &ones);
    ps_tensor *l1 = ps_l1_loss(g, y, x);
    ps_tensor *fd = ps_feat_distance(g, ps_feat_all(g, ps_gen_linearize(g, y)), fx, fw);
    ps_tensor *parts[2] = {l1, fd};
    const float wts[2] = {1.0f, INNER_FEAT_W};
    return ps_sum_scaled(g, parts, wts, 2);
}

ps_status ps_enc_inner_target(ps_graph *g, ps_tensor *x, float *fx)
{
    ps_graph_reset(g);
    ps_graph_set_grad(g, 0);
    ps_tensor *f = ps_feat_all(g, ps_gen_linearize(g, x));
    if (f)
        memcpy(fx, f->data, sizeof(float) * ps_tensor_numel(f));
    ps_graph_set_grad(g, 1);
    return f ? PS_OK : ps_graph_status(g);
}

ps_status ps_enc_inner_grad(ps_graph *g, ps_model *m, ps_tensor *x, ps_tensor *px,
                           const float *fx, const float *tok, float *grad, float *loss)
{
    int nt = ps_model_ntokens(m);
    ps_graph_reset(g);
    ps_graph_set_grad(g, grad != NULL);
    ps_tensor *s = ps_tensor_leaf(g, 1, 1, nt / m->gen.cfg.dim, m->gen.cfg.dim);
    if (!s)
        return ps_graph_status(g);
    memcpy(s->data, tok, sizeof(float) * nt);
    ps_tensor *f = ps_tensor_wrap(g, (float *)fx, x->n, 1, 1, PS_FEAT_DIM);
    ps_tensor *l = f ? ps_enc_inner_loss(g, m, &m->p, x, px, f, s) : NULL;
    ps_status st = l ? PS_OK : ps_graph_status(g) ? ps_graph_status(g) : PS_EINTERNAL;
    if (!st && loss)
        *loss = l->data[0];
    if (!st && grad) {
        ps_graph_backward(g, l);
        memcpy(grad, s->grad, sizeof(float) * nt);
    }
    ps_graph_set_grad(g, 1);
    return st;
}

ps_status ps_enc_adapt(ps_graph *g, ps_model *m, ps_tensor *x, ps_tensor *px, float *tok, int n,
                       float *traj, float *grads, float *clip, float *loss,
                       const ps_learn_progress *pr)
{
    int nt = ps_model_ntokens(m);
    const float *log_alpha = m->p.t[m->alpha].data;
    float *gk = malloc(sizeof(float) * nt), *fx = malloc(sizeof(float) * PS_FEAT_DIM * x->n);
    ps_status st = gk && fx ? ps_enc_inner_target(g, x, fx)
                            : ps_fail(PS_EINTERNAL, "adapt: out of memory");
    for (int k = 0; k < n && !st; k++) {
        if (traj)
            memcpy(traj + (size_t)k * nt, tok, sizeof(float) * nt);
        if ((st = ps_enc_inner_grad(g, m, x, px, fx, tok, gk, loss ? &loss[k] : NULL)))
            break;
        /* a trust region on each step: tokens are O(1), and one unlucky sample with a huge
         * gradient must not throw them (and the outer loss) out of range */
        double ss = 0;
        for (int i = 0; i < nt; i++) {
            double d = expf(log_alpha[i]) * gk[i];
            ss += d * d;
        }
        double rms = sqrt(ss / nt);
        float c = rms > PS_ENC_MAX_STEP ? (float)(PS_ENC_MAX_STEP / rms) : 1.0f;
        for (int i = 0; i < nt; i++)
            tok[i] -= c * expf(log_alpha[i]) * gk[i];
        if (grads)
            memcpy(grads + (size_t)k * nt, gk, sizeof(float) * nt);
        if (clip)
            clip[k] = c;
        if (pr)
            pr->fn(pr->user, PS_LEARN_STEPS, k + 1, n);
    }
    if (!st && traj)
        memcpy(traj + (size_t)n * nt, tok, sizeof(float) * nt);
    if (!st && loss)
        st = ps_enc_inner_grad(g, m, x, px, fx, tok, NULL, &loss[n]);
    free(gk);
    free(fx);
    return st;
}
