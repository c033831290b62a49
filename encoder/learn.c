/* learn and apply on a loaded model: the product's two operations, shared by the CLI and the
 * bench. learn = encoder per image -> attention pooling -> Meta-SGD steps; apply = heavy network
 * at the working resolution -> composition at full resolution. */
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
    ps_gen_to_display(out->px, out->px, (size_t)3 * ww * wh);
    return PS_OK;
}

ps_status ps_model_learn(ps_model *m, const ps_image *imgs, int k, int steps, float *tok,
                         ps_prog *prog, float *embed, ps_learn_stats *stats)
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
        st = ps_enc_adapt(g, m, &x, &px, tok, steps, NULL, NULL, NULL, losses);
        ps_params_freeze(&m->p, 0);
    }
    if (!st && prog)
        st = ps_prog_fit(prog, imgs, k);
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

ps_status ps_model_apply(ps_model *m, const float *tok, const ps_prog *prog, const ps_image *in,
                         const float w[3], ps_image *out)
{
    /* A style with a program is painted by it alone. On the external styles (means of 24, PSNR
     * / dE00) the program alone scored 19.70 / 11.70; with the network's residuals added in the
     * groups the program fits, 19.30 / 12.08; in the groups it leaves off, 18.55 / 12.79 and
     * the control's dE00 went from 0 to 4.04. */
    if (prog)
        return ps_prog_apply(prog, in, w, out);
    int W = in->w, H = in->h, ww, wh;
    size_t HW = (size_t)W * H;
    ps_gen_work_size(&m->gen, W, H, m->work_px, &ww, &wh);
    ps_image rgb = *in, work = {0};
    rgb.c = 3;
    ps_status st = ps_img_resize(&rgb, &work, ww, wh);
    if (st)
        return st;
    ps_gen_to_display(work.px, work.px, (size_t)3 * ww * wh);
    if ((st = ps_img_alloc(out, W, H, in->c))) {
        ps_img_free(&work);
        return st;
    }
    ps_graph *g = ps_graph_new(ARENA_CHUNK);
    if (!g) {
        ps_img_free(&work);
        ps_img_free(out);
        return ps_fail(PS_EINTERNAL, "apply: out of memory");
    }
    ps_graph_set_grad(g, 0);
    int T3 = ps_model_ntokens(m) / m->gen.cfg.dim;
    ps_tensor x = {1, 3, wh, ww, work.px, NULL};
    ps_tensor s = {1, 1, T3, m->gen.cfg.dim, (float *)tok, NULL};
    ps_gen_heads hd;
    st = ps_gen_heads_forward(g, &m->gen, &m->p, &x, &s, &hd);
    if (!st) {
        /* the photo in display space goes into out's color planes, composed in place row-safe:
         * compose reads x and writes out, so use a separate buffer for x */
        float *xd = malloc(sizeof(float) * 3 * HW);
        if (!xd) {
            st = ps_fail(PS_EINTERNAL, "apply: out of memory for a %dx%d image", W, H);
        } else {
            ps_gen_to_display(xd, in->px, 3 * HW);
            ps_gen_compose_forward(out->px, xd, H, W, hd.ds->data, hd.dt->data, wh, ww,
                                   hd.grid->data, hd.grid->c / 12, hd.grid->h, hd.grid->w, w);
            free(xd);
            ps_gen_to_linear(out->px, out->px, 3 * HW);
            if (in->c == 4)
                memcpy(out->px + 3 * HW, in->px + 3 * HW, sizeof(float) * HW);
        }
    }
    ps_graph_free(g);
    ps_img_free(&work);
    if (st)
        ps_img_free(out);
    return st;
}
