/* The generator's network: content path, per-group cross-attention, heads. See gen.h for the
 * composition that turns the heads into the output image (compose.c). */
#include "gen.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

void ps_gen_cfg_default(ps_gen_cfg *cfg)
{
    *cfg = (ps_gen_cfg){.tok = 8, .dim = 64, .c1 = 16, .c2 = 32, .c3 = 64, .heads = 4,
                        .bins = 8, .grid_div = 8};
}

void ps_gen_cfg_to_hparams(const ps_gen_cfg *cfg, ps_hparams *hp)
{
    ps_hparams_set(hp, "gen.tok", cfg->tok);
    ps_hparams_set(hp, "gen.dim", cfg->dim);
    ps_hparams_set(hp, "gen.c1", cfg->c1);
    ps_hparams_set(hp, "gen.c2", cfg->c2);
    ps_hparams_set(hp, "gen.c3", cfg->c3);
    ps_hparams_set(hp, "gen.heads", cfg->heads);
    ps_hparams_set(hp, "gen.bins", cfg->bins);
    ps_hparams_set(hp, "gen.grid_div", cfg->grid_div);
}

ps_status ps_gen_cfg_from_hparams(ps_gen_cfg *cfg, const ps_hparams *hp)
{
    cfg->tok = (int)ps_hparams_get(hp, "gen.tok", -1);
    cfg->dim = (int)ps_hparams_get(hp, "gen.dim", -1);
    cfg->c1 = (int)ps_hparams_get(hp, "gen.c1", -1);
    cfg->c2 = (int)ps_hparams_get(hp, "gen.c2", -1);
    cfg->c3 = (int)ps_hparams_get(hp, "gen.c3", -1);
    cfg->heads = (int)ps_hparams_get(hp, "gen.heads", -1);
    cfg->bins = (int)ps_hparams_get(hp, "gen.bins", -1);
    cfg->grid_div = (int)ps_hparams_get(hp, "gen.grid_div", -1);
    /* bounds keep a hostile model file from asking for absurd allocations */
    if (cfg->tok < 1 || cfg->tok > 64 || cfg->dim < 4 || cfg->dim > 512 || cfg->c1 < 1 ||
        cfg->c1 > 512 || cfg->c2 < 1 || cfg->c2 > 512 || cfg->c3 < 1 || cfg->c3 > 512 ||
        cfg->heads < 1 || cfg->dim % cfg->heads || cfg->c3 % cfg->heads || cfg->bins < 1 ||
        cfg->bins > 64 || cfg->grid_div < 4 || cfg->grid_div > 64 || cfg->grid_div % 4)
        return ps_fail(PS_EINPUT, "model: generator hyper-parameters missing or out of range");
    return PS_OK;
}

void ps_gen_declare(ps_gen *gen, const ps_gen_cfg *cfg, ps_params *p)
{
    gen->cfg = *cfg;
    int c1 = cfg->c1, c2 = cfg->c2, c3 = cfg->c3, D = cfg->dim;
    gen->e1w = ps_params_add(p, "gen.e1.w", c1, 3, 3, 3);
    gen->e1b = ps_params_add(p, "gen.e1.b", 1, 1, 1, c1);
    gen->e2w = ps_params_add(p, "gen.e2.w", c2, c1, 3, 3);
    gen->e2b = ps_params_add(p, "gen.e2.b", 1, 1, 1, c2);
    gen->e3w = ps_params_add(p, "gen.e3.w", c3, c2, 3, 3);
    gen->e3b = ps_params_add(p, "gen.e3.b", 1, 1, 1, c3);
    gen->mw = ps_params_add(p, "gen.mid.w", c3, c3, 3, 3);
    gen->mb = ps_params_add(p, "gen.mid.b", 1, 1, 1, c3);
    for (int k = 0; k < PS_NGROUPS; k++) {
        gen->aq[k] = ps_params_addf(p, 1, 1, c3, D, "gen.attn%d.q", k);
        gen->ak[k] = ps_params_addf(p, 1, 1, D, D, "gen.attn%d.k", k);
        gen->av[k] = ps_params_addf(p, 1, 1, D, D, "gen.attn%d.v", k);
        gen->ao[k] = ps_params_addf(p, 1, 1, D, c3, "gen.attn%d.o", k);
    }
    gen->cw = ps_params_add(p, "gen.color.w", c3, c3, 3, 3);
    gen->cb = ps_params_add(p, "gen.color.b", 1, 1, 1, c3);
    gen->gw = ps_params_add(p, "gen.grid.w", 12 * cfg->bins, c3, 1, 1);
    gen->gb = ps_params_add(p, "gen.grid.b", 1, 1, 1, 12 * cfg->bins);
    gen->gg = ps_params_add(p, "gen.grid.global", 1, 1, D, 12 * cfg->bins);
    for (int k = 0; k < 2; k++) {
        int extra = k == 0; /* the texture decoder gets a noise channel */
        gen->fw[k] = ps_params_addf(p, 1, 1, D, c2, "gen.dec%d.film_s", k);
        gen->fb[k] = ps_params_addf(p, 1, 1, D, c2, "gen.dec%d.film_b", k);
        gen->d2w[k] = ps_params_addf(p, c2, c3 + c2, 3, 3, "gen.dec%d.d2.w", k);
        gen->d2b[k] = ps_params_addf(p, 1, 1, 1, c2, "gen.dec%d.d2.b", k);
        gen->d1w[k] = ps_params_addf(p, c1, c2 + c1 + extra, 3, 3, "gen.dec%d.d1.w", k);
        gen->d1b[k] = ps_params_addf(p, 1, 1, 1, c1, "gen.dec%d.d1.b", k);
        gen->ow[k] = ps_params_addf(p, 3, c1, 3, 3, "gen.dec%d.out.w", k);
        gen->ob[k] = ps_params_addf(p, 1, 1, 1, 3, "gen.dec%d.out.b", k);
    }
}

void ps_gen_init(const ps_gen *gen, ps_params *p, uint64_t seed)
{
    /* lrelu gain ~ sqrt(2); heads start near zero so a fresh model is close to the identity */
    const int convs[] = {gen->e1w, gen->e2w, gen->e3w, gen->cw, gen->d2w[0], gen->d2w[1],
                         gen->d1w[0], gen->d1w[1]};
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++)
        ps_params_init_he(p, convs[i], 1.41f, seed);
    ps_params_init_he(p, gen->mw, 0.5f, seed);
    for (int k = 0; k < PS_NGROUPS; k++) {
        ps_params_init_he(p, gen->aq[k], 1.0f, seed);
        ps_params_init_he(p, gen->ak[k], 1.0f, seed);
        ps_params_init_he(p, gen->av[k], 1.0f, seed);
        ps_params_init_he(p, gen->ao[k], 0.5f, seed);
    }
    for (int k = 0; k < 2; k++) {
        ps_params_init_he(p, gen->fw[k], 0.1f, seed);
        ps_params_init_he(p, gen->fb[k], 0.1f, seed);
        ps_params_init_he(p, gen->ow[k], 0.01f, seed);
    }
    ps_params_init_he(p, gen->gw, 0.01f, seed);
    ps_params_init_he(p, gen->gg, 0.01f, seed);
}

void ps_gen_work_size(const ps_gen *gen, int W, int H, int work, int *ow, int *oh)
{
    int unit = gen->cfg.grid_div;
    double s = (double)work / (W > H ? W : H);
    int w = (int)lround(W * s / unit) * unit, h = (int)lround(H * s / unit) * unit;
    *ow = w < unit ? unit : w;
    *oh = h < unit ? unit : h;
}

/* Deterministic per-pixel noise in [-1, 1] for the texture decoder: a hash of the position, so
 * the same photo always gets the same grain. */
static ps_tensor *noise_map(ps_graph *g, int n, int h, int w)
{
    ps_tensor *t = ps_tensor_new(g, n, 1, h, w);
    if (!t)
        return NULL;
    for (int i = 0; i < n * h * w; i++) {
        uint32_t x = (uint32_t)(i % (h * w)) * 2654435761u + 0x9E3779B9u;
        x ^= x >> 15;
        x *= 0x2C1B3C6Du;
        x ^= x >> 12;
        x *= 0x297A2D39u;
        x ^= x >> 15;
        t->data[i] = (float)(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    return t;
}

#define P(i) (&p->t[(i)])

/* b * tanh(x / b): the identity near 0, never beyond +-b */
static ps_tensor *bound(ps_graph *g, ps_tensor *x, float b)
{
    return ps_scale(g, ps_tanh(g, ps_scale(g, x, 1.0f / b)), b);
}

ps_status ps_gen_heads_forward(ps_graph *g, const ps_gen *gen, ps_params *p, ps_tensor *x,
                               ps_tensor *tok, ps_gen_heads *out)
{
    const ps_gen_cfg *c = &gen->cfg;
    int N = x->n, h = x->h, w = x->w, T = c->tok;
    if (h % c->grid_div || w % c->grid_div)
        return ps_fail(PS_EINTERNAL, "generator: work size %dx%d not a multiple of %d", w, h,
                       c->grid_div);
    ps_tensor *e1 = ps_lrelu(g, ps_conv2d(g, x, P(gen->e1w), P(gen->e1b), 1, 1), 0.2f);
    ps_tensor *e2 = ps_lrelu(g, ps_conv2d(g, e1, P(gen->e2w), P(gen->e2b), 2, 1), 0.2f);
    ps_tensor *e3 = ps_lrelu(g, ps_conv2d(g, e2, P(gen->e3w), P(gen->e3b), 2, 1), 0.2f);
    e3 = ps_add(g, e3, ps_lrelu(g, ps_conv2d(g, e3, P(gen->mw), P(gen->mb), 1, 1), 0.2f));
    ps_tensor *q = ps_map_to_tokens(g, e3);
    ps_tensor *h3[PS_NGROUPS], *pooled[PS_NGROUPS];
    for (int k = 0; k < PS_NGROUPS; k++) {
        ps_tensor *tk = ps_slice_rows(g, tok, k * T, T); /* (1,1,T,D) */
        ps_tensor *a = ps_attention(g, q, tk, P(gen->aq[k]), P(gen->ak[k]), P(gen->av[k]),
                                    P(gen->ao[k]), c->heads);
        h3[k] = ps_add(g, e3, ps_tokens_to_map(g, a, h / 4, w / 4));
        pooled[k] = ps_chan_mean(g, ps_tokens_to_map(g, tk, T, 1)); /* (1,1,1,D) */
    }
    /* color: bilateral grid of residual affine transforms, one cell per grid_div pixels */
    ps_tensor *hc = ps_lrelu(g, ps_conv2d(g, h3[PS_COLOR], P(gen->cw), P(gen->cb), 1, 1),
                             0.2f);
    hc = ps_avgpool(g, hc, c->grid_div / 4);
    /* a grade that is the same everywhere (toning, gradient maps, curves) is most of what color
     * styles do: the pooled color tokens set it directly; the cells add what depends on content */
    ps_tensor *global = ps_linear(g, pooled[PS_COLOR], P(gen->gg), NULL);
    out->grid = bound(g, ps_modulate(g, ps_conv2d(g, hc, P(gen->gw), P(gen->gb), 1, 0), NULL,
                                     global), 2.0f);
    /* texture [0] and stroke [1] decoders: resize-then-conv, skips from the content path */
    for (int k = 0; k < 2; k++) {
        int grp = k == 0 ? PS_TEXTURE : PS_STROKE;
        ps_tensor *u = ps_upsample_bilinear(g, h3[grp], h / 2, w / 2);
        ps_tensor *d2 = ps_lrelu(g, ps_conv2d(g, ps_concat(g, u, e2), P(gen->d2w[k]),
                                              P(gen->d2b[k]), 1, 1), 0.2f);
        ps_tensor *fs = ps_linear(g, pooled[grp], P(gen->fw[k]), NULL);
        ps_tensor *fb = ps_linear(g, pooled[grp], P(gen->fb[k]), NULL);
        d2 = ps_modulate(g, d2, fs, fb);
        ps_tensor *u1 = ps_concat(g, ps_upsample_bilinear(g, d2, h, w), e1);
        if (k == 0)
            u1 = ps_concat(g, u1, noise_map(g, N, h, w));
        ps_tensor *d1 = ps_lrelu(g, ps_conv2d(g, u1, P(gen->d1w[k]), P(gen->d1b[k]), 1, 1), 0.2f);
        ps_tensor *o = bound(g, ps_conv2d(g, d1, P(gen->ow[k]), P(gen->ob[k]), 1, 1), 1.0f);
        if (k == 0)
            out->dt = o;
        else
            out->ds = o;
    }
    return ps_graph_status(g);
}
