/* Composition of the generator's heads at any output resolution:
 *   z = x + ws * up(dS) + wt * up(dT)          (bilinear, align_corners = 0)
 *   y = z + wc * (A [z; 1])                    (A: residual 3x4 affine, trilinear slice of the
 *                                               bilateral grid at (x, y, luma(x)))
 * The same forward kernel runs training crops and 12-megapixel photos, row by row, in O(1) extra
 * memory, so full-resolution output never needs the heavy network at full resolution. */
#include "gen.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Linear interpolation taps for output index o of n_out onto n_in samples (align_corners = 0,
 * border clamped) — the same convention as ps_upsample_bilinear. */
static inline void taps(int o, int n_out, int n_in, int *i0, int *i1, float *f)
{
    float s = ((float)o + 0.5f) * (float)n_in / (float)n_out - 0.5f;
    if (s < 0)
        s = 0;
    int a = (int)s;
    if (a > n_in - 1)
        a = n_in - 1;
    *i0 = a;
    *i1 = a + 1 < n_in ? a + 1 : n_in - 1;
    *f = s - (float)a;
}

/* Trilinear position in the grid for luma v: bins are cell-centred like the spatial axes. */
static inline void ztaps(float v, int bins, int *z0, int *z1, float *f)
{
    float s = v * (float)bins - 0.5f;
    if (s < 0)
        s = 0;
    if (s > (float)(bins - 1))
        s = (float)(bins - 1);
    int a = (int)s;
    *z0 = a;
    *z1 = a + 1 < bins ? a + 1 : bins - 1;
    *f = s - (float)a;
}

static inline float luma(float r, float g, float b)
{
    float v = 0.299f * r + 0.587f * g + 0.114f * b;
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* Per-pixel context shared by forward and backward: the 8 grid corners and their weights, the
 * 4 work-res taps and weights. */
typedef struct {
    size_t gcell[8];
    float gwt[8];
    size_t dcell[4];
    float dwt[4];
} px_ctx;

static inline void px_setup(px_ctx *c, const float *x, size_t HW, size_t pix, int gy0, int gy1,
                            float gfy, int gx0, int gx1, float gfx, int bins, int gh, int gw,
                            int dy0, int dy1, float dfy, int dx0, int dx1, float dfx, int w)
{
    int z0, z1;
    float fz;
    ztaps(luma(x[pix], x[HW + pix], x[2 * HW + pix]), bins, &z0, &z1, &fz);
    const int ys[2] = {gy0, gy1}, xs[2] = {gx0, gx1}, zs[2] = {z0, z1};
    const float wy[2] = {1 - gfy, gfy}, wx[2] = {1 - gfx, gfx}, wz[2] = {1 - fz, fz};
    int k = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int d = 0; d < 2; d++, k++) {
                /* offset of coefficient 0 at bin z; coefficient j adds j*bins*gh*gw */
                c->gcell[k] = ((size_t)zs[d] * gh + ys[a]) * gw + xs[b];
                c->gwt[k] = wy[a] * wx[b] * wz[d];
            }
    c->dcell[0] = (size_t)dy0 * w + dx0;
    c->dcell[1] = (size_t)dy0 * w + dx1;
    c->dcell[2] = (size_t)dy1 * w + dx0;
    c->dcell[3] = (size_t)dy1 * w + dx1;
    c->dwt[0] = (1 - dfy) * (1 - dfx);
    c->dwt[1] = (1 - dfy) * dfx;
    c->dwt[2] = dfy * (1 - dfx);
    c->dwt[3] = dfy * dfx;
}

static inline void px_z(float z[3], const px_ctx *c, const float *x, size_t HW, size_t pix,
                        const float *ds, const float *dt, size_t hw, const float wgt[3])
{
    for (int ch = 0; ch < 3; ch++) {
        float s = 0, t = 0;
        for (int k = 0; k < 4; k++) {
            s += c->dwt[k] * ds[ch * hw + c->dcell[k]];
            t += c->dwt[k] * dt[ch * hw + c->dcell[k]];
        }
        z[ch] = x[ch * HW + pix] + wgt[2] * s + wgt[1] * t;
    }
}

static inline void px_coef(float A[12], const px_ctx *c, const float *grid, size_t gstride)
{
    for (int j = 0; j < 12; j++) {
        float v = 0;
        for (int k = 0; k < 8; k++)
            v += c->gwt[k] * grid[j * gstride + c->gcell[k]];
        A[j] = v;
    }
}

static void compose_one_naive(float *out, const float *x, int H, int W, const float *ds,
                              const float *dt, int h, int w, const float *grid, int bins, int gh,
                              int gw, const float wgt[3])
{
    size_t HW = (size_t)H * W, hw = (size_t)h * w, gstride = (size_t)bins * gh * gw;
    for (int Y = 0; Y < H; Y++) {
        int gy0, gy1, dy0, dy1;
        float gfy, dfy;
        taps(Y, H, gh, &gy0, &gy1, &gfy);
        taps(Y, H, h, &dy0, &dy1, &dfy);
        for (int X = 0; X < W; X++) {
            int gx0, gx1, dx0, dx1;
            float gfx, dfx, z[3], A[12];
            taps(X, W, gw, &gx0, &gx1, &gfx);
            taps(X, W, w, &dx0, &dx1, &dfx);
            size_t pix = (size_t)Y * W + X;
            px_ctx c;
            px_setup(&c, x, HW, pix, gy0, gy1, gfy, gx0, gx1, gfx, bins, gh, gw, dy0, dy1, dfy,
                     dx0, dx1, dfx, w);
            px_z(z, &c, x, HW, pix, ds, dt, hw, wgt);
            px_coef(A, &c, grid, gstride);
            for (int ch = 0; ch < 3; ch++)
                out[ch * HW + pix] = z[ch] + wgt[0] * (A[ch * 4] * z[0] + A[ch * 4 + 1] * z[1] +
                                                       A[ch * 4 + 2] * z[2] + A[ch * 4 + 3]);
        }
    }
}

/* The fast path: the grid and the residuals are interpolated along y once per output row, so
 * each pixel only blends 4 grid corners (x, luma) and 2 residual taps (x). Same function as the
 * naive per-pixel version, evaluated in another order; the backward walks the same way. */
typedef struct {
    int H, W, h, w, bins, gh, gw;
    const float *x, *ds, *dt, *grid;
    const float *wgt;
    int *cg;   /* per output column: grid x taps, residual x taps */
    float *cf; /* per output column: grid x fraction, residual x fraction */
} compose_geom;

static int geom_init(compose_geom *G)
{
    G->cg = malloc(sizeof(int) * 4 * G->W);
    G->cf = malloc(sizeof(float) * 2 * G->W);
    if (!G->cg || !G->cf) {
        free(G->cg);
        free(G->cf);
        return -1;
    }
    for (int X = 0; X < G->W; X++) {
        taps(X, G->W, G->gw, &G->cg[4 * X], &G->cg[4 * X + 1], &G->cf[2 * X]);
        taps(X, G->W, G->w, &G->cg[4 * X + 2], &G->cg[4 * X + 3], &G->cf[2 * X + 1]);
    }
    return 0;
}

static void geom_free(compose_geom *G)
{
    free(G->cg);
    free(G->cf);
}

/* Row Y's y-interpolated grid rg [gx][bin][12] and residuals rd [6][w] (dS then dT). */
static void row_prep(const compose_geom *G, int Y, float *rg, float *rd, int tap[4], float f[2])
{
    size_t gplane = (size_t)G->gh * G->gw, hw = (size_t)G->h * G->w;
    taps(Y, G->H, G->gh, &tap[0], &tap[1], &f[0]);
    taps(Y, G->H, G->h, &tap[2], &tap[3], &f[1]);
    for (int j = 0; j < 12; j++)
        for (int z = 0; z < G->bins; z++) {
            const float *g = G->grid + ((size_t)j * G->bins + z) * gplane;
            for (int gx = 0; gx < G->gw; gx++)
                rg[((size_t)gx * G->bins + z) * 12 + j] =
                    (1 - f[0]) * g[tap[0] * G->gw + gx] + f[0] * g[tap[1] * G->gw + gx];
        }
    for (int c = 0; c < 6; c++) {
        const float *src = (c < 3 ? G->ds : G->dt) + (c % 3) * hw;
        for (int i = 0; i < G->w; i++)
            rd[c * G->w + i] = (1 - f[1]) * src[(size_t)tap[2] * G->w + i] +
                               f[1] * src[(size_t)tap[3] * G->w + i];
    }
}

/* One pixel: z (photo + residuals), the 4 grid corners' offsets in rg and their weights, A. */
static inline void px_eval(const compose_geom *G, const float *rg, const float *rd, int Y, int X,
                           float z[3], float A[12], size_t corner[4], float cw[4])
{
    size_t HW = (size_t)G->H * G->W, pix = (size_t)Y * G->W + X;
    const int *t = &G->cg[4 * X];
    float gfx = G->cf[2 * X], dfx = G->cf[2 * X + 1];
    for (int c = 0; c < 3; c++) {
        const float *s = rd + c * G->w, *u = rd + (3 + c) * G->w;
        float sv = s[t[2]] + dfx * (s[t[3]] - s[t[2]]);
        float tv = u[t[2]] + dfx * (u[t[3]] - u[t[2]]);
        z[c] = G->x[c * HW + pix] + G->wgt[2] * sv + G->wgt[1] * tv;
    }
    int z0, z1;
    float fz;
    ztaps(luma(G->x[pix], G->x[HW + pix], G->x[2 * HW + pix]), G->bins, &z0, &z1, &fz);
    corner[0] = ((size_t)t[0] * G->bins + z0) * 12;
    corner[1] = ((size_t)t[1] * G->bins + z0) * 12;
    corner[2] = ((size_t)t[0] * G->bins + z1) * 12;
    corner[3] = ((size_t)t[1] * G->bins + z1) * 12;
    cw[0] = (1 - gfx) * (1 - fz), cw[1] = gfx * (1 - fz), cw[2] = (1 - gfx) * fz, cw[3] = gfx * fz;
    const float *a = rg + corner[0], *b = rg + corner[1], *c = rg + corner[2], *d = rg + corner[3];
    for (int j = 0; j < 12; j++)
        A[j] = cw[0] * a[j] + cw[1] * b[j] + cw[2] * c[j] + cw[3] * d[j];
}

static void compose_one(float *out, const float *x, int H, int W, const float *ds,
                        const float *dt, int h, int w, const float *grid, int bins, int gh, int gw,
                        const float wgt[3])
{
    compose_geom G = {H, W, h, w, bins, gh, gw, x, ds, dt, grid, wgt, NULL, NULL};
    size_t HW = (size_t)H * W;
    int fail = geom_init(&G) != 0;
#pragma omp parallel reduction(| : fail) if (HW > 65536 && !fail)
    {
        float *rg = malloc(sizeof(float) * 12 * bins * gw), *rd = malloc(sizeof(float) * 6 * w);
        fail = fail || !rg || !rd;
#pragma omp for schedule(static)
        for (int Y = 0; Y < H; Y++) {
            if (fail)
                continue;
            int tap[4];
            float f[2];
            row_prep(&G, Y, rg, rd, tap, f);
            float *orow = out + (size_t)Y * W;
            for (int X = 0; X < W; X++) {
                float z[3], A[12], cw[4];
                size_t corner[4];
                px_eval(&G, rg, rd, Y, X, z, A, corner, cw);
                for (int ch = 0; ch < 3; ch++)
                    orow[ch * HW + X] = z[ch] + wgt[0] * (A[ch * 4] * z[0] + A[ch * 4 + 1] * z[1] +
                                                          A[ch * 4 + 2] * z[2] + A[ch * 4 + 3]);
            }
        }
        free(rg);
        free(rd);
    }
    geom_free(&G);
    if (fail) /* no memory for the row tables: the per-pixel version needs none */
        compose_one_naive(out, x, H, W, ds, dt, h, w, grid, bins, gh, gw, wgt);
}

/* Every image of the batch through one of the kernels above. */
typedef void (*compose_fn)(float *, const float *, int, int, const float *, const float *, int,
                           int, const float *, int, int, int, const float *);

static void compose_batch(compose_fn fn, float *out, const float *x, int H, int W,
                          const ps_gen_heads *hd, const ps_dials *d)
{
    const ps_tensor *ds = hd->ds, *dt = hd->dt, *gr = hd->grid;
    const float wgt[PS_NGROUPS] = {d->color, d->texture, d->stroke};
    size_t HW = (size_t)H * W, hw = (size_t)ds->h * ds->w, gn = (size_t)gr->c * gr->h * gr->w;
    for (int n = 0; n < ds->n; n++)
        fn(out + n * 3 * HW, x + n * 3 * HW, H, W, ds->data + n * 3 * hw, dt->data + n * 3 * hw,
           ds->h, ds->w, gr->data + n * gn, gr->c / 12, gr->h, gr->w, wgt);
}

void ps_gen_compose_forward(float *out, const float *x, int H, int W, const ps_gen_heads *hd,
                            const ps_dials *d)
{
    compose_batch(compose_one, out, x, H, W, hd, d);
}

void ps_gen_compose_forward_naive(float *out, const float *x, int H, int W,
                                  const ps_gen_heads *hd, const ps_dials *d)
{
    compose_batch(compose_one_naive, out, x, H, W, hd, d);
}

/* Gradients w.r.t. ds, dt and grid (accumulated; NULL = not wanted); x is a constant (the
 * photo). Row by row: scatter into the row's tables, then spread them over the two source rows. */
static ps_status compose_backward_one(float *dds, float *ddt, float *dgrid, const float *dy,
                                      const compose_geom *G)
{
    const float *wgt = G->wgt;
    if (wgt[0] == 0)
        dgrid = NULL; /* a zero weight cuts its path: nothing to accumulate */
    if (wgt[2] == 0)
        dds = NULL;
    if (wgt[1] == 0)
        ddt = NULL;
    size_t HW = (size_t)G->H * G->W, hw = (size_t)G->h * G->w, gplane = (size_t)G->gh * G->gw;
    size_t nrg = (size_t)12 * G->bins * G->gw;
    float *rg = malloc(sizeof(float) * nrg), *rd = malloc(sizeof(float) * 6 * G->w);
    float *drg = calloc(nrg, sizeof(float)), *drd = calloc((size_t)6 * G->w, sizeof(float));
    if (!rg || !rd || !drg || !drd) {
        free(rg), free(rd), free(drg), free(drd);
        return ps_fail(PS_EINTERNAL, "compose backward: out of memory");
    }
    for (int Y = 0; Y < G->H; Y++) {
        int tap[4];
        float f[2];
        row_prep(G, Y, rg, rd, tap, f);
        for (int X = 0; X < G->W; X++) {
            float z[3], A[12], cw[4], g[3], dz[3];
            size_t corner[4], pix = (size_t)Y * G->W + X;
            px_eval(G, rg, rd, Y, X, z, A, corner, cw);
            for (int ch = 0; ch < 3; ch++)
                g[ch] = dy[ch * HW + pix];
            for (int j = 0; j < 3; j++)
                dz[j] = g[j] + wgt[0] * (A[j] * g[0] + A[4 + j] * g[1] + A[8 + j] * g[2]);
            if (dgrid) {
                float dA[12];
                for (int ch = 0; ch < 3; ch++) {
                    float gc = wgt[0] * g[ch];
                    dA[ch * 4] = gc * z[0], dA[ch * 4 + 1] = gc * z[1];
                    dA[ch * 4 + 2] = gc * z[2], dA[ch * 4 + 3] = gc;
                }
                for (int k = 0; k < 4; k++)
                    for (int j = 0; j < 12; j++)
                        drg[corner[k] + j] += cw[k] * dA[j];
            }
            const int *t = &G->cg[4 * X];
            float dfx = G->cf[2 * X + 1];
            for (int ch = 0; ch < 3; ch++) {
                if (dds) {
                    drd[ch * G->w + t[2]] += (1 - dfx) * wgt[2] * dz[ch];
                    drd[ch * G->w + t[3]] += dfx * wgt[2] * dz[ch];
                }
                if (ddt) {
                    drd[(3 + ch) * G->w + t[2]] += (1 - dfx) * wgt[1] * dz[ch];
                    drd[(3 + ch) * G->w + t[3]] += dfx * wgt[1] * dz[ch];
                }
            }
        }
        if (dgrid) {
            for (int j = 0; j < 12; j++)
                for (int zb = 0; zb < G->bins; zb++) {
                    float *d = dgrid + ((size_t)j * G->bins + zb) * gplane;
                    for (int gx = 0; gx < G->gw; gx++) {
                        float v = drg[((size_t)gx * G->bins + zb) * 12 + j];
                        d[tap[0] * G->gw + gx] += (1 - f[0]) * v;
                        d[tap[1] * G->gw + gx] += f[0] * v;
                    }
                }
            memset(drg, 0, sizeof(float) * nrg);
        }
        for (int c = 0; c < 6; c++) {
            float *dst = c < 3 ? dds : ddt;
            if (!dst)
                continue;
            dst += (c % 3) * hw;
            for (int i = 0; i < G->w; i++) {
                float v = drd[c * G->w + i];
                dst[(size_t)tap[2] * G->w + i] += (1 - f[1]) * v;
                dst[(size_t)tap[3] * G->w + i] += f[1] * v;
                drd[c * G->w + i] = 0;
            }
        }
    }
    free(rg), free(rd), free(drg), free(drd);
    return PS_OK;
}

typedef struct {
    ps_tensor *y, *x, *ds, *dt, *grid;
    int bins;
    float wgt[3];
} compose_ctx;

static void compose_backward(void *vctx)
{
    compose_ctx *c = vctx;
    const ps_tensor *x = c->x, *ds = c->ds, *gr = c->grid;
    size_t HW = (size_t)x->h * x->w, hw = (size_t)ds->h * ds->w, gn = (size_t)gr->c * gr->h * gr->w;
#pragma omp parallel for schedule(static) if (x->n > 1)
    for (int n = 0; n < x->n; n++) {
        compose_geom G = {x->h, x->w, ds->h, ds->w, c->bins, gr->h, gr->w, x->data + n * 3 * HW,
                          ds->data + n * 3 * hw, c->dt->data + n * 3 * hw, gr->data + n * gn,
                          c->wgt, NULL, NULL};
        /* out of memory here has nowhere to go but a zero gradient for this image; the tables
         * are a few KB, so it does not happen in practice */
        if (geom_init(&G))
            continue;
        compose_backward_one(c->ds->grad ? c->ds->grad + n * 3 * hw : NULL,
                             c->dt->grad ? c->dt->grad + n * 3 * hw : NULL,
                             gr->grad ? gr->grad + n * gn : NULL, c->y->grad + n * 3 * HW, &G);
        geom_free(&G);
    }
}

ps_tensor *ps_gen_compose(ps_graph *g, ps_tensor *x, const ps_gen_heads *hd, const ps_dials *d)
{
    ps_tensor *ds = hd->ds, *dt = hd->dt, *gr = hd->grid;
    if (!x || !ds || !dt || !gr || ps_graph_status(g))
        return NULL;
    int bins = gr->c / 12;
    if (x->c != 3 || ds->c != 3 || dt->c != 3 || gr->c != 12 * bins || ds->n != x->n ||
        dt->n != x->n || gr->n != x->n || dt->h != ds->h || dt->w != ds->w) {
        ps_fail(PS_EINTERNAL, "compose: shape mismatch");
        return NULL;
    }
    ps_tensor *y = ps_tensor_new(g, x->n, 3, x->h, x->w);
    if (!y)
        return NULL;
    ps_gen_compose_forward(y->data, x->data, x->h, x->w, hd, d);
    if (ps_graph_grad_on(g) && y->grad && (ds->grad || dt->grad || gr->grad)) {
        compose_ctx *c = ps_graph_ctx(g, sizeof *c);
        if (!c)
            return NULL;
        *c = (compose_ctx){.y = y, .x = x, .ds = ds, .dt = dt, .grid = gr, .bins = bins};
        c->wgt[PS_COLOR] = d->color, c->wgt[PS_TEXTURE] = d->texture, c->wgt[PS_STROKE] = d->stroke;
        ps_graph_push(g, compose_backward, c);
    }
    return y;
}
