/* Row slices along H: how one group of style tokens (rows of a (1,1,3T,D) token set) is taken
 * out of the whole vector. Forward copies, backward accumulates into the slice's rows. */
#include "nn_impl.h"
#include <string.h>

typedef struct {
    ps_tensor *x, *y;
    int r0;
} ps_slice_ctx;

static void ps_slice_rows_forward(float *y, const float *x, int planes, int H, int W, int r0,
                                  int rows)
{
    for (int p = 0; p < planes; p++)
        memcpy(y + (size_t)p * rows * W, x + ((size_t)p * H + r0) * W,
               sizeof(float) * (size_t)rows * W);
}

static void ps_slice_rows_backward(void *vc)
{
    ps_slice_ctx *c = vc;
    int planes = c->x->n * c->x->c, H = c->x->h, W = c->x->w, rows = c->y->h;
    for (int p = 0; p < planes; p++) {
        float *dx = c->x->grad + ((size_t)p * H + c->r0) * W;
        const float *dy = c->y->grad + (size_t)p * rows * W;
        for (size_t i = 0; i < (size_t)rows * W; i++)
            dx[i] += dy[i];
    }
}

ps_tensor *ps_slice_rows(ps_graph *g, ps_tensor *x, int r0, int rows)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if (r0 < 0 || rows <= 0 || r0 + rows > x->h)
        return ps_nn_bad(g, "slice_rows: rows [%d, %d) outside H=%d", r0, r0 + rows, x->h);
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, x->c, rows, x->w);
    if (!y)
        return NULL;
    ps_slice_rows_forward(y->data, x->data, x->n * x->c, x->h, x->w, r0, rows);
    if (y->grad) {
        ps_slice_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_slice_ctx){x, y, r0};
        ps_graph_push(g, ps_slice_rows_backward, c);
    }
    return y;
}
