/* The whole meta-training step against finite differences, on a tiny model and episode:
 *  - no inner loop: the gradient of the query loss w.r.t. encoder and generator weights is exact,
 *    so this checks every op of the pipeline in place (encoder, pooling, generator, composition,
 *    feature space, SSIM) as the trainer wires them;
 *  - two inner steps, second order: the gradients w.r.t. the encoder weights and the Meta-SGD
 *    step sizes go through the inner loop (finite-difference Hessian-vector products), so they
 *    must match finite differences of the post-adaptation query loss too.
 * Also: a few Adam steps on one episode lower its loss, and the same seed gives the same loss. */
#include "meta/train.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

#define T_PX 96
#define T_K 2
#define T_Q 1

static void smooth_field(float *dst, int px, unsigned seed)
{
    ps_rng r;
    ps_rng_seed(&r, seed);
    float a[3][4];
    for (int c = 0; c < 3; c++)
        for (int j = 0; j < 4; j++)
            a[c][j] = ps_rng_uniform(&r);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < px; y++)
            for (int x = 0; x < px; x++) {
                float v = 0.2f + 0.6f * (0.5f + 0.25f * sinf(a[c][0] * 20 * x / px + a[c][1] * 6) +
                                         0.25f * cosf(a[c][2] * 20 * y / px + a[c][3] * 6));
                v += 0.05f * (ps_rng_uniform(&r) - 0.5f); /* a little texture */
                dst[((size_t)c * px + y) * px + x] = v;
            }
}

/* A fixed episode: support and ground truths are the photos with a channel swap + darkening. */
static void make_episode(ps_meta_episode *ep)
{
    size_t img = (size_t)3 * T_PX * T_PX;
    for (int k = 0; k < T_K; k++) {
        float tmp[3 * T_PX * T_PX];
        smooth_field(tmp, T_PX, 10 + k);
        for (size_t i = 0; i < img; i++)
            ep->support[k * img + i] = 0.8f * tmp[(i + img / 3) % img];
    }
    smooth_field(ep->photo, T_PX, 99);
    /* texture-only ground truth: the photo with stripes, far from it (an L1 kink at y == gt
     * would make finite differences meaningless) */
    for (int g = 0; g < 4; g++)
        for (size_t i = 0; i < img; i++)
            ep->gt[g][i] = g == 2 ? ep->photo[i] + 0.1f + 0.1f * (float)((i / 3) % 2)
                                  : 0.8f * ep->photo[(i + img / 3) % img];
}

static double loss_at(ps_meta_trainer *t, ps_meta_episode *ep, const ps_meta_episode *orig)
{
    size_t img = (size_t)3 * T_PX * T_PX;
    memcpy(ep->support, orig->support, sizeof(float) * img * T_K);
    memcpy(ep->photo, orig->photo, sizeof(float) * img * T_Q);
    for (int g = 0; g < 4; g++)
        memcpy(ep->gt[g], orig->gt[g], sizeof(float) * img * T_Q);
    ps_meta_stats st;
    ps_status rc = ps_meta_loss(t, ep, &st);
    CHECK(rc == PS_OK, "meta loss: %s", ps_last_error());
    return st.loss;
}

/* The loss's own rounding: the forward pass runs in float through sgemm, whose summation order
 * (and so its last bits) differs between OpenBLAS kernels. Probing the loss at offsets far below
 * any effect of the parameter (h * |grad| is ~1e-3 of one finite-difference step) shows how far
 * one evaluation strays from the exact value on this kernel; the finite difference inherits
 * twice that, divided by 2 eps. */
static double loss_noise(ps_meta_trainer *t, ps_meta_episode *ep, const ps_meta_episode *orig,
                         float *p, double l0, double eps)
{
    static const double off[4] = {1e-3, -1e-3, 2e-3, -2e-3};
    float keep = *p;
    double spread = 0;
    for (int j = 0; j < 4; j++) {
        *p = keep + (float)(off[j] * eps);
        spread = fmax(spread, fabs(loss_at(t, ep, orig) - l0));
    }
    *p = keep;
    return spread;
}

/* Central differences on `count` elements of parameter idx against the analytic gradient. */
static int fd_check(ps_meta_trainer *t, ps_model *m, ps_meta_episode *ep,
                    const ps_meta_episode *orig, int idx, int count, double eps)
{
    ps_tensor *p = &m->p.t[idx];
    size_t n = ps_tensor_numel(p);
    loss_at(t, ep, orig);
    float *grad = malloc(sizeof(float) * n);
    memcpy(grad, p->grad, sizeof(float) * n);
    int checked = 0;
    for (int j = 0; j < count; j++) {
        size_t i = (size_t)j * 7919 % n;
        float keep = p->data[i];
        p->data[i] = keep + (float)eps;
        double lp = loss_at(t, ep, orig);
        p->data[i] = keep - (float)eps;
        double lm = loss_at(t, ep, orig);
        p->data[i] = keep;
        double l0 = loss_at(t, ep, orig);
        double fd = (lp - lm) / (2 * eps), left = (l0 - lm) / eps, right = (lp - l0) / eps;
        double noise = 2 * loss_noise(t, ep, orig, &p->data[i], l0, eps) / eps;
        /* a kink (leaky ReLU, L1) between the probes makes the one-sided slopes disagree
         * by more than the rounding can */
        if (fabs(left - right) > 0.2 * (fabs(left) + fabs(right)) + 1e-4 + 2 * noise)
            continue;
        checked++;
        CHECK(fabs(fd - grad[i]) <= 2e-4 + 0.05 * fabs(fd) + noise,
              "%s[%zu]: analytic %.6g vs fd %.6g (rounding of the loss: %.2g)", m->p.name[idx], i,
              grad[i], fd, noise);
    }
    free(grad);
    return checked;
}

int main(void)
{
    ps_threads_init(1);
    ps_gen_cfg arch = {.tok = 2, .dim = 8, .c1 = 4, .c2 = 4, .c3 = 8, .heads = 2, .bins = 2,
                       .grid_div = 8};
    ps_model m;
    CHECK(ps_model_create(&m, &arch, 7) == PS_OK, "create: %s", ps_last_error());
    /* non-trivial heads, so every gradient path carries signal */
    for (int k = 0; k < 2; k++)
        ps_params_init_normal(&m.p, m.gen.ow[k], 0.05f, 3 + k);
    ps_params_init_normal(&m.p, m.gen.gw, 0.05f, 5);
    ps_params_init_normal(&m.p, m.gen.gg, 0.05f, 6);
    /* inner steps of 0.1 here: with the shipped start (100), or even 1, the tiny model's tokens
     * move so far that the kinks of L1 and leaky ReLU spoil the finite-difference Hessian-vector
     * products (and the central differences of this check) by 5-25% */
    ps_params_fill(&m.p, m.alpha, logf(0.1f));

    ps_meta_episode orig, ep;
    ps_meta_episode_alloc(&orig, T_K, T_Q, T_PX);
    ps_meta_episode_alloc(&ep, T_K, T_Q, T_PX);
    make_episode(&orig);

    /* the test's own configuration: the product's training defaults may change freely */
    ps_meta_cfg cfg = {.K = T_K, .Q = T_Q, .crop = T_PX, .inner_steps = 0, .learn_steps = 0,
                       .order = PS_META_FIRST, .lr = 1e-3f, .w_ssim = 1.0f, .w_feat = 0.003f,
                       .seed = 1};
    ps_meta_trainer *t;
    CHECK(ps_meta_trainer_new(&t, &m, &cfg) == PS_OK, "trainer");
    int checked = 0;
    const int first_order[] = {m.enc.c1w, m.enc.qe[0], m.enc.aq[1], m.enc.score, m.enc.fw,
                               m.gen.e1w, m.gen.aq[0], m.gen.av[2], m.gen.gw, m.gen.ow[0],
                               m.gen.d2w[1], m.gen.fw[0], m.gen.ow[1], m.gen.fw[1], m.gen.d1w[0],
                               m.gen.gg};
    for (size_t i = 0; i < sizeof first_order / sizeof first_order[0]; i++)
        checked += fd_check(t, &m, &ep, &orig, first_order[i], 3, 3e-3);
    ps_meta_trainer_free(t);

    cfg.inner_steps = 2;
    cfg.order = PS_META_SECOND;
    CHECK(ps_meta_trainer_new(&t, &m, &cfg) == PS_OK, "trainer");
    const int second_order[] = {m.enc.c4w, m.enc.qw[2], m.enc.m2w[0], m.alpha};
    for (size_t i = 0; i < sizeof second_order / sizeof second_order[0]; i++)
        checked += fd_check(t, &m, &ep, &orig, second_order[i], 4, 1e-2);
    printf("test_meta: %d parameter elements checked against finite differences\n", checked);
    CHECK(checked >= 40, "too few elements checked (%d): kinks everywhere?", checked);

    /* determinism and descent */
    double l0 = loss_at(t, &ep, &orig), l0b = loss_at(t, &ep, &orig);
    CHECK(l0 == l0b, "same inputs, different loss: %.9g vs %.9g", l0, l0b);
    ps_adam adam = {.lr = 3e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int s = 0; s < 15; s++) {
        loss_at(t, &ep, &orig); /* fresh gradients */
        ps_adam_step(&m.p, &adam);
    }
    double l1 = loss_at(t, &ep, &orig);
    CHECK(l1 < 0.9 * l0, "15 Adam steps on one episode: loss %.5f -> %.5f", l0, l1);
    ps_meta_trainer_free(t);
    ps_meta_episode_free(&orig);
    ps_meta_episode_free(&ep);
    ps_model_free(&m);
    return check_done("test_meta");
}
