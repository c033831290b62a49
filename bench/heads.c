/* The generator as the bench drives it: the heavy network once per (style, photo), then the
 * composition for any number of weight sets. The same calls as ps_model_apply (the bench checks
 * that they agree), so a weight sweep or a peer comparison needs one network pass. */
#include "bench/bench_impl.h"
#include <stdlib.h>
#include <string.h>

ps_status ps_bench_heads_forward(ps_model *m, ps_graph *g, const float *tok,
                                 const ps_image *photo, ps_bench_heads *r)
{
    int ww, wh;
    memset(r, 0, sizeof *r);
    r->g = g;
    r->W = photo->w, r->H = photo->h;
    ps_gen_work_size(&m->gen, photo->w, photo->h, m->work_px, &ww, &wh);
    ps_image rgb = *photo;
    rgb.c = 3;
    ps_status st = ps_img_resize(&rgb, &r->work, ww, wh);
    if (st)
        return st;
    ps_gen_to_display(r->work.px, r->work.px, (size_t)3 * ww * wh);
    r->xd = malloc(sizeof(float) * 3 * photo->w * photo->h);
    if (!r->xd)
        return ps_fail(PS_EINTERNAL, "bench: out of memory");
    ps_gen_to_display(r->xd, photo->px, (size_t)3 * photo->w * photo->h);
    return ps_bench_heads_network(m, tok, r);
}

ps_status ps_bench_heads_network(ps_model *m, const float *tok, ps_bench_heads *r)
{
    ps_graph *g = r->g;
    ps_graph_reset(g);
    ps_graph_set_grad(g, 0);
    int T3 = ps_model_ntokens(m) / m->gen.cfg.dim;
    ps_tensor *x = ps_tensor_wrap(g, r->work.px, 1, 3, r->work.h, r->work.w);
    ps_tensor *s = ps_tensor_wrap(g, (float *)tok, 1, 1, T3, m->gen.cfg.dim);
    if (!x || !s)
        return ps_graph_status(g);
    return ps_gen_heads_forward(g, &m->gen, &m->p, x, s, &r->hd);
}

ps_status ps_bench_heads_compose(const ps_bench_heads *r, const float w[3], int linear,
                                 ps_image *out)
{
    ps_status st = ps_img_alloc(out, r->W, r->H, 3);
    if (st)
        return st;
    const ps_gen_heads *h = &r->hd;
    ps_gen_compose_forward(out->px, r->xd, r->H, r->W, h->ds->data, h->dt->data, r->work.h,
                           r->work.w, h->grid->data, h->grid->c / 12, h->grid->h, h->grid->w, w);
    if (linear)
        ps_gen_to_linear(out->px, out->px, (size_t)3 * r->W * r->H);
    return PS_OK;
}

void ps_bench_heads_free(ps_bench_heads *r)
{
    ps_img_free(&r->work);
    free(r->xd);
    r->xd = NULL;
}

