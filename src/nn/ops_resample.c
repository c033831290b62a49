/* Resampling: nearest upsampling by an integer factor, bilinear resize (align_corners=0, the
 * PyTorch convention) and average pooling (floor(H/f)). Backward scatters with the same weights. */
#include "nn_impl.h"

typedef struct {
    ps_tensor *x, *y;
    int f;
    int *iy, *ix;       /* bilinear: top/left source index per output row/column */
    float *wy, *wx;     /* bilinear: weight of the bottom/right neighbour */
} ps_resample_ctx;

/* ---- nearest ------------------------------------------------------------------------------- */
static void ps_upsample_nearest_bwd(void *p)
{
    ps_resample_ctx *c = p;
    const ps_tensor *x = c->x, *y = c->y;
    int f = c->f;
    for (size_t nc = 0; nc < (size_t)x->n * x->c; nc++)
        for (int oy = 0; oy < y->h; oy++) {
            const float *dy = y->grad + (nc * y->h + oy) * y->w;
            float *dx = x->grad + (nc * x->h + oy / f) * x->w;
            for (int ox = 0; ox < y->w; ox++)
                dx[ox / f] += dy[ox];
        }
}

ps_tensor *ps_upsample_nearest(ps_graph *g, ps_tensor *x, int f)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if (f < 1)
        return ps_nn_bad(g, "upsample_nearest: factor %d < 1", f);
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, x->c, x->h * f, x->w * f);
    if (!y)
        return NULL;
    for (long nc = 0; nc < (long)x->n * x->c; nc++)
        for (int oy = 0; oy < y->h; oy++) {
            float *d = y->data + ((size_t)nc * y->h + oy) * y->w;
            const float *s = x->data + ((size_t)nc * x->h + oy / f) * x->w;
            for (int ox = 0; ox < y->w; ox++)
                d[ox] = s[ox / f];
        }
    if (y->grad) {
        ps_resample_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_resample_ctx){x, y, f, NULL, NULL, NULL, NULL};
        ps_graph_push(g, ps_upsample_nearest_bwd, c);
    }
    return y;
}

/* ---- bilinear ------------------------------------------------------------------------------ */
/* Source taps for out -> in resize along one axis, half-pixel centers, clamped at the borders. */
static void ps_bilinear_taps(int *i0, float *w1, int out, int in)
{
    float scale = (float)in / (float)out;
    for (int o = 0; o < out; o++) {
        float s = ((float)o + 0.5f) * scale - 0.5f;
        if (s < 0.0f)
            s = 0.0f;
        int i = (int)s;
        if (i > in - 1)
            i = in - 1;
        i0[o] = i;
        w1[o] = i < in - 1 ? s - (float)i : 0.0f;
    }
}

static void ps_upsample_bilinear_bwd(void *p)
{
    ps_resample_ctx *c = p;
    const ps_tensor *x = c->x, *y = c->y;
    int W = x->w;
#pragma omp parallel for if (ps_tensor_numel(y) > PS_NN_OMP_MIN) schedule(static)
    for (long nc = 0; nc < (long)x->n * x->c; nc++) {
        float *dx = x->grad + (size_t)nc * x->h * W;
        for (int oy = 0; oy < y->h; oy++) {
            const float *dy = y->grad + ((size_t)nc * y->h + oy) * y->w;
            int y0 = c->iy[oy], y1 = y0 + (c->wy[oy] > 0.0f);
            float b = c->wy[oy], t = 1.0f - b;
            for (int ox = 0; ox < y->w; ox++) {
                int x0 = c->ix[ox], x1 = x0 + (c->wx[ox] > 0.0f);
                float r = c->wx[ox], l = 1.0f - r, d = dy[ox];
                dx[y0 * W + x0] += t * l * d;
                dx[y0 * W + x1] += t * r * d;
                dx[y1 * W + x0] += b * l * d;
                dx[y1 * W + x1] += b * r * d;
            }
        }
    }
}

ps_tensor *ps_upsample_bilinear(ps_graph *g, ps_tensor *x, int oh, int ow)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if (oh < 1 || ow < 1)
        return ps_nn_bad(g, "upsample_bilinear: bad output size %dx%d", oh, ow);
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, x->c, oh, ow);
    int *iy = ps_nn_alloc(g, (size_t)oh * sizeof(int));
    int *ix = ps_nn_alloc(g, (size_t)ow * sizeof(int));
    float *wy = ps_nn_alloc(g, (size_t)oh * sizeof(float));
    float *wx = ps_nn_alloc(g, (size_t)ow * sizeof(float));
    if (!y || !iy || !ix || !wy || !wx)
        return NULL;
    ps_bilinear_taps(iy, wy, oh, x->h);
    ps_bilinear_taps(ix, wx, ow, x->w);
    int W = x->w;
#pragma omp parallel for if (ps_tensor_numel(y) > PS_NN_OMP_MIN) schedule(static)
    for (long nc = 0; nc < (long)x->n * x->c; nc++) {
        const float *s = x->data + (size_t)nc * x->h * W;
        for (int oy = 0; oy < oh; oy++) {
            float *d = y->data + ((size_t)nc * oh + oy) * ow;
            int y0 = iy[oy], y1 = y0 + (wy[oy] > 0.0f);
            float b = wy[oy], t = 1.0f - b;
            const float *r0 = s + (size_t)y0 * W, *r1 = s + (size_t)y1 * W;
            for (int ox = 0; ox < ow; ox++) {
                int x0 = ix[ox], x1 = x0 + (wx[ox] > 0.0f);
                float r = wx[ox], l = 1.0f - r;
                d[ox] = t * (l * r0[x0] + r * r0[x1]) + b * (l * r1[x0] + r * r1[x1]);
            }
        }
    }
    if (y->grad) {
        ps_resample_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_resample_ctx){x, y, 0, iy, ix, wy, wx};
        ps_graph_push(g, ps_upsample_bilinear_bwd, c);
    }
    return y;
}

/* ---- average pooling ----------------------------------------------------------------------- */
static void ps_avgpool_bwd(void *p)
{
    ps_resample_ctx *c = p;
    const ps_tensor *x = c->x, *y = c->y;
    int f = c->f;
    float inv = 1.0f / (float)(f * f);
    for (size_t nc = 0; nc < (size_t)x->n * x->c; nc++)
        for (int oy = 0; oy < y->h; oy++)
            for (int ox = 0; ox < y->w; ox++) {
                float d = y->grad[(nc * y->h + oy) * y->w + ox] * inv;
                for (int ky = 0; ky < f; ky++)
                    for (int kx = 0; kx < f; kx++)
                        x->grad[(nc * x->h + oy * f + ky) * x->w + ox * f + kx] += d;
            }
}

ps_tensor *ps_avgpool(ps_graph *g, ps_tensor *x, int f)
{
    if (!ps_nn_live(g, x, x))
        return NULL;
    if (f < 1 || x->h < f || x->w < f)
        return ps_nn_bad(g, "avgpool: factor %d does not fit %dx%d", f, x->h, x->w);
    ps_tensor *y = ps_nn_out(g, x->grad != NULL, x->n, x->c, x->h / f, x->w / f);
    if (!y)
        return NULL;
    float inv = 1.0f / (float)(f * f);
    for (long nc = 0; nc < (long)x->n * x->c; nc++)
        for (int oy = 0; oy < y->h; oy++)
            for (int ox = 0; ox < y->w; ox++) {
                float s = 0.0f;
                for (int ky = 0; ky < f; ky++)
                    for (int kx = 0; kx < f; kx++)
                        s += x->data[((size_t)nc * x->h + oy * f + ky) * x->w + ox * f + kx];
                y->data[((size_t)nc * y->h + oy) * y->w + ox] = s * inv;
            }
    if (y->grad) {
        ps_resample_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (ps_resample_ctx){x, y, f, NULL, NULL, NULL, NULL};
        ps_graph_push(g, ps_avgpool_bwd, c);
    }
    return y;
}
