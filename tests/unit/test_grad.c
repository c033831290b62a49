/* One table-driven finite-difference gradient check over every op of the engine (nn.h) and the
 * differentiable ops the generator and encoder add on top (gen.h, enc.h): central differences in double around the float forward, per-op eps and abs+rel tolerance, kinks
 * skipped, a capped number of elements per tensor, every input checked (weights, biases and
 * tokens included). Also: gradients accumulate over two backward calls; grad-off records
 * nothing. */
#include "encoder/enc.h"
#include "src/nn/nn.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

#define MAXIN 6
#define CAP 20 /* elements checked per tensor */

typedef ps_tensor *(*build_fn)(ps_graph *g, ps_tensor **x);

typedef struct {
    const char *op;
    int nin;
    int shape[MAXIN][4];
    float std[MAXIN]; /* init scale per input (0 = 1) */
    build_fn build;
    double eps, atol, rtol;
    int kinks; /* forward has kinks: skip elements where one-sided slopes disagree */
} grad_case;

/* Each case builds its op (or a tiny chain around it) from the inputs x[]. */
#define BUILD(name, expr)                                                                     \
    static ps_tensor *name(ps_graph *g, ps_tensor **x)                                        \
    {                                                                                         \
        return expr;                                                                          \
    }
BUILD(b_conv_3s1, ps_conv2d(g, x[0], x[1], x[2], 1, 1))
BUILD(b_conv_3s2, ps_conv2d(g, x[0], x[1], x[2], 2, 1))
BUILD(b_conv_1, ps_conv2d(g, x[0], x[1], x[2], 1, 0))
BUILD(b_conv_5s2, ps_conv2d(g, x[0], x[1], NULL, 2, 2))
BUILD(b_linear, ps_linear(g, x[0], x[1], x[2]))
BUILD(b_relu, ps_relu(g, x[0]))
BUILD(b_lrelu, ps_lrelu(g, x[0], 0.1f))
BUILD(b_gelu, ps_gelu(g, x[0]))
BUILD(b_sigmoid, ps_sigmoid(g, x[0]))
BUILD(b_tanh, ps_tanh(g, x[0]))
BUILD(b_instnorm, ps_instnorm(g, x[0], 1e-5f))
BUILD(b_layernorm, ps_layernorm(g, x[0], x[1], x[2], 1e-5f))
BUILD(b_modulate, ps_modulate(g, x[0], x[1], x[2]))
BUILD(b_up_near, ps_upsample_nearest(g, x[0], 2))
BUILD(b_up_bil, ps_upsample_bilinear(g, x[0], 9, 7))
BUILD(b_down_bil, ps_upsample_bilinear(g, x[0], 3, 2))
BUILD(b_avgpool, ps_avgpool(g, x[0], 2))
BUILD(b_attn, ps_attention(g, x[0], x[1], x[2], x[3], x[4], x[5], 2))
BUILD(b_m2t, ps_map_to_tokens(g, x[0]))
BUILD(b_t2m, ps_tokens_to_map(g, x[0], 3, 4))
BUILD(b_concat, ps_concat(g, x[0], x[1]))
BUILD(b_add, ps_add(g, x[0], x[1]))
BUILD(b_mul, ps_mul(g, x[0], x[1]))
BUILD(b_scale, ps_scale(g, x[0], -1.7f))
BUILD(b_axpy, ps_axpy(g, x[0], 0.6f, x[1]))
/* the view's shared gradient must reach x through a later op */
BUILD(b_view, ps_mul(g, ps_view(g, x[0], 1, 6, 4, 5), x[1]))
BUILD(b_slice, ps_slice_rows(g, x[0], 1, 3))
BUILD(b_chan_mean, ps_chan_mean(g, x[0]))
BUILD(b_gram, ps_gram(g, x[0]))
BUILD(b_l1, ps_l1_loss(g, x[0], x[1]))
BUILD(b_mse, ps_mse_loss(g, x[0], x[1]))
BUILD(b_charb, ps_charbonnier_loss(g, x[0], x[1], 0.1f))
static const float sum_w[3] = {0.5f, -2.0f, 1.5f};
BUILD(b_sum, ps_sum_scaled(g, x, sum_w, 3))
/* composition of heads at 7x9 from 3x4 residuals and a 2x3 grid of 2 luma bins; the photo is a
 * constant (gradients flow to the heads only), smooth and within [0,1] so every bin is used */
static ps_tensor *b_compose(ps_graph *g, ps_tensor **x)
{
    static const ps_dials w = {0.7f, 1.3f, 0.9f};
    ps_tensor *photo = ps_tensor_const(g, 2, 3, 7, 9);
    if (!photo)
        return NULL;
    for (size_t i = 0; i < ps_tensor_numel(photo); i++)
        photo->data[i] = 0.5f + 0.45f * sinf(0.37f * (float)i);
    ps_gen_heads h = {x[0], x[1], x[2]};
    return ps_gen_compose(g, photo, &h, &w);
}
BUILD(b_linearize, ps_gen_linearize(g, x[0]))
BUILD(b_pool, ps_enc_pool(g, x[0], x[1]))

#define S(n, c, h, w) {n, c, h, w}
#define X4 S(2, 3, 4, 5) /* the usual small activation */
#define W_ATT {1, 1, 0.5f, 0.5f, 0.5f, 0.5f}
/* op, inputs, shapes, init std, build, eps, atol, rtol, kinks */
static const grad_case cases[] = {
    {"conv2d", 3, {S(2, 3, 7, 6), S(4, 3, 3, 3), S(1, 1, 1, 4)}, {0}, b_conv_3s1,
     1e-2, 2e-3, 1e-2, 0},
    {"conv2d", 3, {S(2, 3, 8, 7), S(5, 3, 3, 3), S(1, 1, 1, 5)}, {0}, b_conv_3s2,
     1e-2, 2e-3, 1e-2, 0},
    {"conv2d", 3, {S(2, 4, 5, 6), S(3, 4, 1, 1), S(1, 1, 1, 3)}, {0}, b_conv_1,
     1e-2, 2e-3, 1e-2, 0},
    {"conv2d", 2, {S(1, 2, 9, 8), S(3, 2, 5, 5)}, {0}, b_conv_5s2, 1e-2, 2e-3, 1e-2, 0},
    {"linear", 3, {S(2, 1, 5, 6), S(1, 1, 6, 4), S(1, 1, 1, 4)}, {0}, b_linear,
     1e-2, 2e-3, 1e-2, 0},
    {"relu", 1, {X4}, {0}, b_relu, 1e-3, 1e-3, 1e-2, 1},
    {"lrelu", 1, {X4}, {0}, b_lrelu, 1e-3, 1e-3, 1e-2, 1},
    {"gelu", 1, {X4}, {0}, b_gelu, 1e-2, 1e-3, 1e-2, 0},
    {"sigmoid", 1, {X4}, {0}, b_sigmoid, 1e-2, 1e-3, 1e-2, 0},
    {"tanh", 1, {X4}, {0}, b_tanh, 1e-2, 1e-3, 1e-2, 0},
    {"instnorm", 1, {S(2, 3, 5, 4)}, {0}, b_instnorm, 1e-2, 2e-3, 2e-2, 0},
    {"layernorm", 3, {S(2, 1, 5, 8), S(1, 1, 1, 8), S(1, 1, 1, 8)}, {0}, b_layernorm,
     1e-2, 2e-3, 2e-2, 0},
    {"modulate", 3, {S(2, 3, 4, 4), S(2, 1, 1, 3), S(1, 1, 1, 3)}, {1, 0.5f, 1}, b_modulate,
     1e-2, 2e-3, 1e-2, 0},
    {"upsample_nearest", 1, {S(1, 2, 3, 4)}, {0}, b_up_near, 1e-2, 1e-3, 1e-2, 0},
    {"upsample_bilinear", 1, {S(2, 2, 5, 4)}, {0}, b_up_bil, 1e-2, 1e-3, 1e-2, 0},
    {"upsample_bilinear", 1, {S(1, 2, 7, 5)}, {0}, b_down_bil, 1e-2, 1e-3, 1e-2, 0},
    {"avgpool", 1, {S(1, 2, 5, 7)}, {0}, b_avgpool, 1e-2, 1e-3, 1e-2, 0},
    {"attention", 6,
     {S(2, 1, 7, 5), S(2, 1, 4, 6), S(1, 1, 5, 8), S(1, 1, 6, 8), S(1, 1, 6, 8), S(1, 1, 8, 3)},
     W_ATT, b_attn, 1e-2, 2e-3, 2e-2, 0},
    {"attention", 6, /* one kv set shared by 3 samples */
     {S(3, 1, 5, 4), S(1, 1, 6, 3), S(1, 1, 4, 8), S(1, 1, 3, 8), S(1, 1, 3, 8), S(1, 1, 8, 2)},
     W_ATT, b_attn, 1e-2, 2e-3, 2e-2, 0},
    {"map_to_tokens", 1, {X4}, {0}, b_m2t, 1e-2, 1e-3, 1e-2, 0},
    {"tokens_to_map", 1, {S(2, 1, 12, 3)}, {0}, b_t2m, 1e-2, 1e-3, 1e-2, 0},
    {"concat", 2, {S(2, 2, 3, 4), S(2, 3, 3, 4)}, {0}, b_concat, 1e-2, 1e-3, 1e-2, 0},
    {"add", 2, {X4, X4}, {0}, b_add, 1e-2, 1e-3, 1e-2, 0},
    {"mul", 2, {X4, X4}, {0}, b_mul, 1e-2, 1e-3, 1e-2, 0},
    {"scale", 1, {X4}, {0}, b_scale, 1e-2, 1e-3, 1e-2, 0},
    {"axpy", 2, {S(3, 2, 4, 5), S(1, 2, 4, 5)}, {0}, b_axpy, 1e-2, 1e-3, 1e-2, 0},
    {"view", 2, {X4, S(1, 6, 4, 5)}, {0}, b_view, 1e-2, 1e-3, 1e-2, 0},
    {"slice_rows", 1, {S(2, 2, 6, 3)}, {0}, b_slice, 1e-2, 1e-3, 1e-2, 0},
    {"chan_mean", 1, {X4}, {0}, b_chan_mean, 1e-2, 1e-3, 1e-2, 0},
    {"gram", 1, {X4}, {0}, b_gram, 1e-2, 1e-3, 1e-2, 0},
    {"l1_loss", 2, {X4, X4}, {0}, b_l1, 1e-3, 1e-3, 1e-2, 1},
    {"mse_loss", 2, {X4, X4}, {0}, b_mse, 1e-2, 1e-3, 1e-2, 0},
    {"charbonnier_loss", 2, {X4, X4}, {0}, b_charb, 1e-2, 1e-3, 1e-2, 0},
    {"sum_scaled", 3, {S(1, 1, 1, 1), S(1, 1, 1, 1), S(1, 1, 1, 1)}, {0}, b_sum,
     1e-2, 1e-3, 1e-2, 0},
    {"gen_compose", 3, {S(2, 3, 3, 4), S(2, 3, 3, 4), S(2, 24, 2, 3)}, {0.3f, 0.3f, 0.5f},
     b_compose, 1e-2, 2e-3, 1e-2, 0},
    /* sRGB's linear toe meets the power law at 0.04045 with a small slope jump */
    {"gen_linearize", 1, {X4}, {0.5f}, b_linearize, 1e-3, 1e-3, 1e-2, 1},
    {"enc_pool", 2, {S(3, 1, 4, 5), S(1, 1, 5, 1)}, {0}, b_pool, 1e-2, 1e-3, 1e-2, 0},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* Every differentiable op declared in nn.h, gen.h and enc.h: the table must cover each one. */
static const char *const all_ops[] = {
    "conv2d", "upsample_nearest", "upsample_bilinear", "avgpool", "linear", "relu", "lrelu",
    "gelu", "sigmoid", "tanh", "instnorm", "layernorm", "modulate", "attention",
    "map_to_tokens", "tokens_to_map", "concat", "add", "mul", "scale", "axpy", "view", "slice_rows",
    "chan_mean", "gram", "l1_loss", "mse_loss", "charbonnier_loss", "sum_scaled", "gen_compose",
    "gen_linearize", "enc_pool"};
#define NOPS (int)(sizeof all_ops / sizeof all_ops[0])

/* loss = sum (out - target)^2 with a fixed random target; returns it in double from out's data
 * and leaves the same loss on the tape in *tape_loss (when grad is on). */
static double forward(ps_graph *g, const grad_case *gc, ps_params *p, ps_tensor **out,
                      ps_tensor **tape_loss)
{
    ps_graph_reset(g);
    ps_tensor *x[MAXIN];
    for (int i = 0; i < gc->nin; i++)
        x[i] = &p->t[i];
    ps_tensor *y = gc->build(g, x);
    if (!y)
        return NAN;
    ps_tensor *t = ps_tensor_const(g, y->n, y->c, y->h, y->w);
    ps_rng r;
    ps_rng_seed(&r, 99);
    size_t n = ps_tensor_numel(y);
    double L = 0.0;
    for (size_t i = 0; i < n; i++) {
        t->data[i] = ps_rng_normal(&r);
        double d = (double)y->data[i] - t->data[i];
        L += d * d;
    }
    *out = y;
    if (tape_loss)
        *tape_loss = ps_scale(g, ps_mse_loss(g, y, t), (float)n);
    return L;
}

static int check_case(ps_graph *g, const grad_case *gc, int ci)
{
    ps_params p;
    ps_params_init(&p);
    for (int i = 0; i < gc->nin; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        ps_params_add(&p, name, gc->shape[i][0], gc->shape[i][1], gc->shape[i][2], gc->shape[i][3]);
    }
    CHECK(ps_params_alloc(&p) == PS_OK, "alloc");
    for (int i = 0; i < gc->nin; i++)
        ps_params_init_normal(&p, i, gc->std[i] > 0 ? gc->std[i] : 1.0f, 1000 + ci);

    /* analytic gradient, then a second backward must exactly double it */
    ps_graph_set_grad(g, 1);
    ps_tensor *y, *loss;
    forward(g, gc, &p, &y, &loss);
    CHECK(ps_graph_status(g) == PS_OK && loss, "%s: forward failed: %s", gc->op, ps_last_error());
    if (!loss) {
        ps_params_free(&p);
        return 0;
    }
    ps_params_zero_grad(&p);
    ps_graph_backward(g, loss);
    float *g1 = malloc(p.total * sizeof(float));
    memcpy(g1, p.grad, p.total * sizeof(float));
    ps_graph_backward(g, loss);
    size_t bad = 0;
    for (size_t i = 0; i < p.total; i++)
        bad += fabsf(p.grad[i] - 2.0f * g1[i]) > 1e-5f * (1.0f + fabsf(g1[i]));
    CHECK(bad == 0, "%s (case %d): second backward does not double %zu gradients", gc->op, ci, bad);

    /* grad off: same output, nothing recorded, no gradient anywhere */
    float *yon = malloc(ps_tensor_numel(y) * sizeof(float));
    size_t ny = ps_tensor_numel(y);
    memcpy(yon, y->data, ny * sizeof(float));
    ps_graph_set_grad(g, 0);
    ps_params_zero_grad(&p);
    ps_tensor *yoff;
    forward(g, gc, &p, &yoff, NULL);
    CHECK(ps_graph_tape_size(g) == 0 && yoff->grad == NULL, "%s: grad-off recorded", gc->op);
    CHECK(!memcmp(yon, yoff->data, ny * sizeof(float)), "%s: grad-off output differs", gc->op);
    free(yon);

    /* central differences on up to CAP elements of every input */
    ps_rng r;
    ps_rng_seed(&r, 7 + ci);
    int checked = 0, skipped = 0;
    for (int i = 0; i < gc->nin; i++) {
        ps_tensor *t = &p.t[i];
        size_t n = ps_tensor_numel(t), step = n > CAP ? n / CAP : 1;
        for (size_t j = ps_rng_u64(&r) % step; j < n; j += step) {
            float x0 = t->data[j];
            ps_tensor *dummy;
            t->data[j] = x0 + (float)gc->eps;
            double hp = (double)t->data[j] - x0, Lp = forward(g, gc, &p, &dummy, NULL);
            t->data[j] = x0 - (float)gc->eps;
            double hm = x0 - (double)t->data[j], Lm = forward(g, gc, &p, &dummy, NULL);
            t->data[j] = x0;
            double num = (Lp - Lm) / (hp + hm), ana = g1[p.off[i] + j];
            if (gc->kinks) {
                double L0 = forward(g, gc, &p, &dummy, NULL);
                double sp = (Lp - L0) / hp, sm = (L0 - Lm) / hm;
                if (fabs(sp - sm) > gc->atol + 0.1 * fmax(fabs(sp), fabs(sm))) {
                    skipped++;
                    continue;
                }
            }
            checked++;
            CHECK(fabs(ana - num) <= gc->atol + gc->rtol * fmax(fabs(ana), fabs(num)),
                  "%s (case %d) input %d elem %zu: analytic %.6g numeric %.6g", gc->op, ci, i, j,
                  ana, num);
        }
    }
    CHECK(checked > 3 * skipped, "%s: %d kinks skipped of %d", gc->op, skipped, checked + skipped);
    free(g1);
    ps_params_free(&p);
    return checked;
}

int main(void)
{
    ps_threads_init(1);
    ps_graph *g = ps_graph_new(1 << 20);
    int total = 0, covered = 0;
    for (int ci = 0; ci < NCASES; ci++)
        total += check_case(g, &cases[ci], ci);
    for (int k = 0; k < NOPS; k++) {
        int found = 0;
        for (int ci = 0; ci < NCASES; ci++)
            found |= !strcmp(cases[ci].op, all_ops[k]);
        CHECK(found, "op %s has no gradient check", all_ops[k]);
        covered += found;
    }
    printf("test_grad: %d ops gradient-checked in %d cases, %d elements compared\n", covered,
           NCASES, total);
    ps_graph_free(g);
    return check_done("test_grad");
}
