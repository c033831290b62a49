/* Losses (mean over all elements -> a (1,1,1,1) scalar) and the weighted sum of scalar losses.
 * Sums run in double: a 1 MP image has ~3M terms, too many for a float accumulator. */
#include "nn_impl.h"
#include <math.h>

typedef enum { PS_LOSS_L1, PS_LOSS_MSE, PS_LOSS_CHARB } ps_loss_kind;

typedef struct {
    ps_tensor *a, *b, *y;
    ps_loss_kind kind;
    float eps;
} ps_loss_ctx;

static void ps_loss_bwd(void *p)
{
    ps_loss_ctx *c = p;
    long n = (long)ps_tensor_numel(c->a);
    const float *a = c->a->data, *b = c->b->data;
    float *da = c->a->grad, *db = c->b->grad, g = c->y->grad[0] / (float)n, e2 = c->eps * c->eps;
#pragma omp parallel for if (n > PS_NN_OMP_MIN) schedule(static)
    for (long i = 0; i < n; i++) {
        float d = a[i] - b[i], gi;
        switch (c->kind) {
        case PS_LOSS_L1:
            gi = d > 0.0f ? g : (d < 0.0f ? -g : 0.0f);
            break;
        case PS_LOSS_MSE:
            gi = 2.0f * d * g;
            break;
        default:
            gi = g * d / sqrtf(d * d + e2);
            break;
        }
        if (da)
            da[i] += gi;
        if (db)
            db[i] -= gi;
    }
}

static ps_tensor *ps_loss(ps_graph *g, ps_tensor *a, ps_tensor *b, ps_loss_kind kind, float eps)
{
    if (!ps_nn_live(g, a, b))
        return NULL;
    if (!ps_nn_same_shape(a, b))
        return ps_nn_bad(g, "loss: shapes (%d,%d,%d,%d) and (%d,%d,%d,%d) differ", a->n, a->c,
                         a->h, a->w, b->n, b->c, b->h, b->w);
    ps_tensor *y = ps_nn_out(g, a->grad || b->grad, 1, 1, 1, 1);
    if (!y)
        return NULL;
    long n = (long)ps_tensor_numel(a);
    double s = 0.0, e2 = (double)eps * eps;
    switch (kind) {
    case PS_LOSS_L1:
#pragma omp parallel for reduction(+ : s) if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++)
            s += fabs((double)a->data[i] - b->data[i]);
        break;
    case PS_LOSS_MSE:
#pragma omp parallel for reduction(+ : s) if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++) {
            double d = (double)a->data[i] - b->data[i];
            s += d * d;
        }
        break;
    case PS_LOSS_CHARB:
#pragma omp parallel for reduction(+ : s) if (n > PS_NN_OMP_MIN) schedule(static)
        for (long i = 0; i < n; i++) {
            double d = (double)a->data[i] - b->data[i];
            s += sqrt(d * d + e2);
        }
        break;
    }
    y->data[0] = (float)(s / n);
    if (y->grad) {
        ps_loss_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_loss_ctx){a, b, y, kind, eps};
        ps_graph_push(g, ps_loss_bwd, c);
    }
    return y;
}

ps_tensor *ps_l1_loss(ps_graph *g, ps_tensor *a, ps_tensor *b)
{
    return ps_loss(g, a, b, PS_LOSS_L1, 0.0f);
}

ps_tensor *ps_mse_loss(ps_graph *g, ps_tensor *a, ps_tensor *b)
{
    return ps_loss(g, a, b, PS_LOSS_MSE, 0.0f);
}

ps_tensor *ps_charbonnier_loss(ps_graph *g, ps_tensor *a, ps_tensor *b, float eps)
{
    return ps_loss(g, a, b, PS_LOSS_CHARB, eps);
}

/* ---- weighted sum of scalars --------------------------------------------------------------- */
typedef struct {
    ps_tensor **xs, *y;
    float *ws;
    int n;
} ps_sum_ctx;

static void ps_sum_scaled_bwd(void *p)
{
    ps_sum_ctx *c = p;
    for (int i = 0; i < c->n; i++)
        if (c->xs[i]->grad)
            c->xs[i]->grad[0] += c->ws[i] * c->y->grad[0];
}

ps_tensor *ps_sum_scaled(ps_graph *g, ps_tensor *const *xs, const float *ws, int n)
{
    if (ps_graph_status(g) != PS_OK)
        return NULL;
    if (n < 1)
        return ps_nn_bad(g, "sum_scaled: no terms");
    int need = 0;
    for (int i = 0; i < n; i++) {
        if (!ps_nn_live(g, xs[i], xs[i]))
            return NULL;
        if (ps_tensor_numel(xs[i]) != 1)
            return ps_nn_bad(g, "sum_scaled: term %d is not a scalar", i);
        need |= xs[i]->grad != NULL;
    }
    ps_tensor *y = ps_nn_out(g, need, 1, 1, 1, 1);
    if (!y)
        return NULL;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += (double)ws[i] * xs[i]->data[0];
    y->data[0] = (float)s;
    if (y->grad) {
        ps_sum_ctx *c = ps_graph_ctx(g, sizeof *c);
        ps_tensor **cx = ps_nn_alloc(g, (size_t)n * sizeof *cx);
        float *cw = ps_nn_alloc(g, (size_t)n * sizeof *cw);
        if (!c || !cx || !cw)
            return NULL;
        for (int i = 0; i < n; i++)
            cx[i] = xs[i], cw[i] = ws[i];
        *c = (ps_sum_ctx){cx, y, cw, n};
        ps_graph_push(g, ps_sum_scaled_bwd, c);
    }
    return y;
}
