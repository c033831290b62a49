/* The style program a band of rows at a time (prog.h, "band by band"): each window holds a band
 * and the rows its operators reach above and below it, is painted by the same ps_prog__run as a
 * whole photo, and gives the encoder the band's rows. Memory is the window's, whatever the
 * photo's size. */
#include "prog.h"
#include <stdlib.h>
#include <string.h>

#define BAND_MIN 16 /* rows: fewer, and each window would be mostly the rows around its band */

struct ps_prog_stream {
    const ps_prog *p;
    const ps_dials *d;
    const ps_prog_input *in;
    int noop;        /* the program leaves the photo as it is: rows pass through */
    int band, reach; /* rows kept a window, rows painted above and below them */
    double ink_t;    /* ink's threshold over the whole photo (-1: a window is the whole photo) */
    ps_image win;    /* the window: in->c planes, win.h rows (at most band + 2 reach) */
    float *lut;      /* the colour grade's table, made once for every window */
    double *err;     /* a dither's error, carried from band to band */
    int wy0, k0, k1; /* its first row in the photo; the rows it keeps, in the photo */
};

/* Paint the window of the rows k0 .. k0 + band (those of the photo), with hist: only count
 * ink's darkness there. */
static ps_status window(ps_prog_stream *s, int k0, double *hist)
{
    const ps_prog_input *in = s->in;
    int k1 = k0 + s->band < in->h ? k0 + s->band : in->h;
    int wy0 = k0 - s->reach > 0 ? k0 - s->reach : 0;
    int wy1 = k1 + s->reach < in->h ? k1 + s->reach : in->h;
    s->win.h = wy1 - wy0; /* the planes lie this many rows apart */
    in->rows(in->ctx, wy0, s->win.h, &s->win);
    s->wy0 = wy0, s->k0 = k0, s->k1 = k1;
    if (s->noop)
        return PS_OK;
    const ps_prog_win w = {wy0,    in->h,  in->w,  k0 - wy0, k1 - wy0,
                           s->ink_t, hist, s->lut, s->err};
    ps_status st = ps_prog__run(s->p, s->d, s->win.px, s->win.h, in->w, &w);
    if (st || hist)
        s->k0 = s->k1 = 0; /* nothing painted to hand out */
    return st;
}

ps_status ps_prog_stream_open(const ps_prog *p, const ps_dials *d, const ps_prog_input *in,
                              long band_px, ps_prog_stream **out)
{
    *out = NULL;
    if (in->w <= 0 || in->h <= 0 || (in->c != 3 && in->c != 4))
        return ps_fail(PS_EUSAGE, "apply: cannot paint a %dx%d image with %d planes", in->w,
                       in->h, in->c);
    ps_prog_stream *s = calloc(1, sizeof *s);
    if (!s)
        return ps_fail(PS_EINTERNAL, "apply: out of memory");
    s->p = p, s->d = d, s->in = in, s->ink_t = -1;
    s->noop = ps_prog__noop(p, d);
    int reach = s->noop ? 0 : ps_prog__reach(p, d, in->h, in->w);
    long rows = (band_px > 0 ? band_px : PS_PROG_BAND_PX) / in->w - 2L * reach;
    /* at least twice the reach, so no window paints more than twice its band's pixels */
    rows = rows > 2L * reach ? rows : 2L * reach;
    rows = rows > BAND_MIN ? rows : BAND_MIN;
    if (reach < 0 || rows >= in->h)
        s->band = in->h, s->reach = 0;
    else
        s->band = (int)rows, s->reach = reach;
    int cap = s->band + 2 * s->reach < in->h ? s->band + 2 * s->reach : in->h;
    ps_status st = ps_img_alloc(&s->win, in->w, cap, in->c);
    if (!st && !s->noop)
        s->lut = ps_prog__grade_lut(p, d, (size_t)in->h * in->w, &st);
    if (!st && !s->noop && p->dither &&
        !(s->err = calloc(PS_PROG_DITHER_ERR(in->w), sizeof *s->err)))
        st = ps_fail(PS_EINTERNAL, "apply: out of memory");
    /* ink marks a share of the whole photo's pixels: a first pass counts them band by band */
    if (!st && !s->noop && s->band < in->h && d->stroke > 0 && p->ink_g > 0 &&
        ps_prog_group_on(p, PS_STROKE)) {
        double *hist = calloc(PS_PROG_INK_BINS, sizeof *hist);
        st = hist ? PS_OK : ps_fail(PS_EINTERNAL, "apply: out of memory");
        for (int k0 = 0; k0 < in->h && !st; k0 += s->band)
            st = window(s, k0, hist);
        if (!st)
            s->ink_t = ps_prog__ink_threshold(hist, p->ink_share, (double)in->h * in->w);
        free(hist);
    }
    if (st) {
        ps_prog_stream_free(s);
        return st;
    }
    *out = s;
    return PS_OK;
}

/* v in [0, 1] to a code of max + 1 levels, rounded to nearest (a photo left as it is keeps its
 * codes: code / max comes back as code). */
static inline unsigned code(float v, float max)
{
    return v > 0 ? (v < 1 ? (unsigned)(v * max + 0.5f) : (unsigned)max) : 0;
}

ps_status ps_prog_stream_rows(void *stream, int y0, int n, void *dst, int ch, int depth)
{
    ps_prog_stream *s = stream;
    const int w = s->in->w;
    const float max = depth == 16 ? 65535.0f : 255.0f;
    while (n > 0) {
        if (y0 < s->k0 || y0 >= s->k1) {
            ps_status st = window(s, y0, NULL);
            if (st)
                return st;
        }
        int m = s->k1 - y0 < n ? s->k1 - y0 : n;
        const size_t plane = (size_t)w * s->win.h;
        const float *a = s->win.c == 4 ? s->win.px + 3 * plane : NULL;
#pragma omp parallel for schedule(static)
        for (int r = 0; r < m; r++) {
            size_t i0 = (size_t)(y0 - s->wy0 + r) * w, o = (size_t)r * w * ch;
            unsigned char *d8 = (unsigned char *)dst + o;
            unsigned short *d16 = (unsigned short *)dst + o;
            for (int x = 0; x < w; x++)
                for (int k = 0; k < ch; k++) {
                    float v = k < 3 ? s->win.px[k * plane + i0 + x] : a ? a[i0 + x] : 1;
                    if (depth == 16)
                        d16[(size_t)x * ch + k] = (unsigned short)code(v, max);
                    else
                        d8[(size_t)x * ch + k] = (unsigned char)code(v, max);
                }
        }
        dst = (unsigned char *)dst + (size_t)m * w * ch * (depth / 8);
        y0 += m, n -= m;
    }
    return PS_OK;
}

static void raw_rows(void *ctx, int y0, int n, ps_image *band)
{
    ps_img_raw_rows(ctx, y0, n, 1, band);
}

ps_prog_input ps_prog_input_raw(const ps_img_raw *raw)
{
    return (ps_prog_input){raw->w, raw->h, raw->c, raw_rows, (void *)raw};
}

void ps_prog_stream_shape(const ps_prog_stream *s, int *band, int *reach)
{
    *band = s->band, *reach = s->reach;
}

void ps_prog_stream_free(ps_prog_stream *s)
{
    if (s)
        ps_img_free(&s->win), free(s->lut), free(s->err);
    free(s);
}
