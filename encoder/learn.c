/* learn on a loaded model: encoder per image -> attention pooling over the shots -> Meta-SGD
 * steps on the tokens -> the style program fitted to the samples (src/prog). */
#include "enc.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEARN_CROP 64            /* inner-loop crop at the working scale, as in meta-training */
#define ARENA_CHUNK (64u << 20)

/* Image at the working scale in display space, at least LEARN_CROP on each side. */
static ps_status work_image(const ps_model *m, const ps_image *in, ps_image *out)
{
    int ww, wh;
    ps_gen_work_size(&m->gen, in->w, in->h, m->work_px, &ww, &wh);
    if (ww < LEARN_CROP || wh < LEARN_CROP) { /* very elongated: grow the short side */
        double s = (double)LEARN_CROP / (ww < wh ? ww : wh);
        ww = (int)(ww * s + 0.999);
        wh = (int)(wh * s + 0.999);
    }
    ps_image rgb = *in;
    rgb.c = 3; /* planar: the first three planes are the color */
    ps_status st = ps_img_resize(&rgb, out, ww, wh);
    if (st)
        return st;
    ps_linear_to_srgb_n(out->px, out->px, (size_t)3 * ww * wh);
    return PS_OK;
}

/* progress of one phase, when somebody listens */
static void tell(const ps_learn_progress *pr, ps_learn_phase phase, int done, int total)
{
    if (pr)
        pr->fn(pr->user, phase, done, total);
}

ps_status ps_model_learn(ps_model *m, const ps_image *imgs, int k, int steps, float *tok,
                         ps_prog *prog, float *embed, ps_learn_stats *stats,
                         const ps_learn_progress *progress)
{
    double t0 = ps_clock_s();
    if (k < 1 || k > PS_LEARN_MAX_SHOTS)
        return ps_fail(PS_EUSAGE, "learn: %d images given, 1 to %d are needed", k,
                       PS_LEARN_MAX_SHOTS);
    if (steps < 0)
        steps = m->inner_steps;
    int nt = ps_model_ntokens(m), R = nt / m->gen.cfg.dim, D = m->gen.cfg.dim;
    size_t crop = (size_t)3 * LEARN_CROP * LEARN_CROP;
    float *xs = malloc(sizeof(float) * crop * k), *pxs = malloc(sizeof(float) * crop * k);
    ps_graph *g = ps_graph_new(ARENA_CHUNK);
    ps_status st = (xs && pxs && g) ? PS_OK : ps_fail(PS_EINTERNAL, "learn: out of memory");
    ps_tensor *all = NULL;
    if (!st) {
        ps_graph_set_grad(g, 0);
        all = ps_tensor_new(g, k, 1, R, D);
        st = all ? PS_OK : ps_graph_status(g);
    }
    if (!st)
        tell(progress, PS_LEARN_ENCODE, 0, k);
    for (int i = 0; i < k && !st; i++) {
        ps_image w = {0};
        if ((st = work_image(m, &imgs[i], &w)))
            break;
        ps_tensor x = {1, 3, w.h, w.w, w.px, NULL};
        ps_tensor *t = ps_enc_tokens(g, &m->enc, &m->p, &x);
        if (!t) {
            st = ps_graph_status(g);
        } else {
            memcpy(all->data + (size_t)i * nt, t->data, sizeof(float) * nt);
            /* the inner loop sees one centred crop per sample, at the scale it was trained on */
            int ox = (w.w - LEARN_CROP) / 2, oy = (w.h - LEARN_CROP) / 2;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < LEARN_CROP; y++)
                    memcpy(xs + i * crop + ((size_t)c * LEARN_CROP + y) * LEARN_CROP,
                           w.px + ((size_t)c * w.h + oy + y) * w.w + ox,
                           sizeof(float) * LEARN_CROP);
            ps_enc_destyle(pxs + i * crop, xs + i * crop, LEARN_CROP, LEARN_CROP);
        }
        ps_img_free(&w);
        if (!st)
            tell(progress, PS_LEARN_ENCODE, i + 1, k);
    }
    if (!st) {
        if (embed)
            memcpy(embed, all->data, sizeof(float) * nt * k);
        ps_tensor *s0 = ps_enc_pool(g, all, &m->p.t[m->enc.score]);
        if (!s0)
            st = ps_graph_status(g);
        else
            memcpy(tok, s0->data, sizeof(float) * nt);
    }
    float losses[101] = {0};
    if (!st && steps > 0) {
        ps_tensor x = {k, 3, LEARN_CROP, LEARN_CROP, xs, NULL};
        ps_tensor px = {k, 3, LEARN_CROP, LEARN_CROP, pxs, NULL};
        if (steps > 100)
            steps = 100;
        ps_params_freeze(&m->p, 1); /* only the tokens move: skip the weights' gradients */
        tell(progress, PS_LEARN_STEPS, 0, steps);
        st = ps_enc_adapt(g, m, &x, &px, tok, steps, NULL, NULL, NULL, losses, progress);
        ps_params_freeze(&m->p, 0);
    }
    if (!st && prog) {
        tell(progress, PS_LEARN_FIT, 0, 1);
        if (!(st = ps_prog_fit(prog, imgs, k)))
            tell(progress, PS_LEARN_FIT, 1, 1);
    }
    if (stats) {
        stats->loss_before = losses[0];
        stats->loss_after = losses[steps > 0 ? steps : 0];
        stats->seconds = ps_clock_s() - t0;
    }
    ps_graph_free(g);
    free(xs);
    free(pxs);
    return st;
}
