/* Display space (sRGB-encoded) -> linear light, as a differentiable op: the generator and its
 * pixel losses work in display space, the feature space measures linear light. */
#include "gen.h"
#include "src/img/srgb.h"

typedef struct {
    ps_tensor *y, *x;
} lin_ctx;

static void linearize_backward(void *vc)
{
    lin_ctx *c = vc;
    size_t n = ps_tensor_numel(c->x);
    for (size_t i = 0; i < n; i++) {
        float d;
        ps_srgb_to_linear_ext(c->x->data[i], &d);
        c->x->grad[i] += c->y->grad[i] * d;
    }
}

ps_tensor *ps_gen_linearize(ps_graph *g, ps_tensor *x)
{
    if (!x || ps_graph_status(g))
        return NULL;
    ps_tensor *y = ps_tensor_new(g, x->n, x->c, x->h, x->w);
    if (!y)
        return NULL;
    size_t n = ps_tensor_numel(x);
    /* values below 0 (a residual can overshoot) continue the linear toe, above 1 the power law */
    for (size_t i = 0; i < n; i++) {
        float d;
        y->data[i] = ps_srgb_to_linear_ext(x->data[i], &d);
    }
    if (ps_graph_grad_on(g) && x->grad) {
        lin_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (lin_ctx){y, x};
        ps_graph_push(g, linearize_backward, c);
    }
    return y;
}
