/* Resampling: separable Lanczos-3 on linear values. When shrinking by s the kernel is stretched
 * by s (support 3s), which makes it a low-pass at the new Nyquist rate: detail finer than the
 * output grid averages out instead of aliasing. Kernels are cut at the image border and
 * renormalised (as Pillow does), so edges need no padding and constants stay constant. */
#include "img_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHRINK_GAP 3 /* ps_img_shrink's box leaves this much shrinking to the Lanczos kernel */

/* Weights of one axis: output i reads in[start[i] .. start[i] + count[i]) with weights
 * w[i*taps ..]; taps is the widest count, the row pitch of w. */
typedef struct {
    int taps, *start, *count;
    float *w;
} axis_kernel;

static double lanczos3(double x)
{
    x = fabs(x);
    if (x < 1e-8)
        return 1.0;
    if (x >= 3.0)
        return 0.0;
    double px = M_PI * x;
    return 3.0 * sin(px) * sin(px / 3.0) / (px * px);
}

static int axis_kernel_make(axis_kernel *k, int nin, int nout)
{
    const double scale = (double)nin / nout, fs = scale > 1 ? scale : 1, support = 3.0 * fs;
    k->taps = (int)ceil(support) * 2 + 2; /* >= hi - lo below */
    k->start = malloc(nout * sizeof *k->start);
    k->count = malloc(nout * sizeof *k->count);
    k->w = malloc((size_t)nout * k->taps * sizeof *k->w);
    if (!k->start || !k->count || !k->w)
        return -1;
    for (int i = 0; i < nout; i++) {
        const double center = (i + 0.5) * scale; /* in input pixels, pixel j spans [j, j+1) */
        int lo = (int)floor(center - support), hi = (int)ceil(center + support);
        lo = lo < 0 ? 0 : lo;
        hi = hi > nin ? nin : hi;
        double wsum = 0;
        float *w = k->w + (size_t)i * k->taps;
        for (int j = lo; j < hi; j++)
            wsum += w[j - lo] = (float)lanczos3((j + 0.5 - center) / fs);
        for (int j = lo; j < hi; j++)
            w[j - lo] = (float)(w[j - lo] / wsum);
        k->start[i] = lo, k->count[i] = hi - lo;
    }
    return 0;
}

static void axis_kernel_free(axis_kernel *k)
{
    free(k->start);
    free(k->count);
    free(k->w);
}

/* out (nout x rows) <- in (nin x rows) along x */
static void resize_rows(float *out, const float *in, int nin, int nout, int rows, const axis_kernel *k)
{
    for (int y = 0; y < rows; y++) {
        const float *r = in + (size_t)y * nin;
        float *o = out + (size_t)y * nout;
        for (int i = 0; i < nout; i++) {
            const float *w = k->w + (size_t)i * k->taps, *s = r + k->start[i];
            float acc = 0;
            for (int t = 0; t < k->count[i]; t++)
                acc += w[t] * s[t];
            o[i] = acc;
        }
    }
}

/* out (cols x nout) <- in (cols x rows) along y, accumulating whole rows so the inner loop is
 * contiguous and vectorises */
static void resize_cols(float *out, const float *in, int nout, int cols, const axis_kernel *k)
{
    for (int i = 0; i < nout; i++) {
        float *o = out + (size_t)i * cols;
        memset(o, 0, cols * sizeof *o);
        const float *w = k->w + (size_t)i * k->taps;
        for (int t = 0; t < k->count[i]; t++) {
            const float *s = in + (size_t)(k->start[i] + t) * cols;
            for (int x = 0; x < cols; x++)
                o[x] += w[t] * s[x];
        }
    }
}

ps_status ps_img_resize(const ps_image *src, ps_image *dst, int w, int h)
{
    if (dst == src)
        return ps_fail(PS_EUSAGE, "resize: the output must be another image than the input");
    if (!src->px || src->w <= 0 || src->h <= 0 || src->c <= 0) {
        memset(dst, 0, sizeof *dst);
        return ps_fail(PS_EUSAGE, "resize: empty source image");
    }
    if ((long long)w * h > PS_IMG_MAX_PIXELS) { /* e.g. apply --size upscaling past the budget */
        memset(dst, 0, sizeof *dst);
        return ps_fail(PS_EINPUT, "resize: %d x %d = %.1f MP is more than the %lld MP pstyle can process "
                       "within its memory budget", w, h, (double)w * h / 1e6, PS_IMG_MAX_PIXELS / 1000000);
    }
    ps_status st = ps_img_alloc(dst, w, h, src->c);
    if (st)
        return st;
    axis_kernel kx = {0}, ky = {0};
    float *tmp = malloc((size_t)w * src->h * sizeof *tmp);
    if (!tmp || axis_kernel_make(&kx, src->w, w) || axis_kernel_make(&ky, src->h, h)) {
        free(tmp);
        axis_kernel_free(&kx);
        axis_kernel_free(&ky);
        ps_img_free(dst);
        return ps_fail(PS_EINTERNAL, "resize: out of memory");
    }
    const size_t pin = (size_t)src->w * src->h, pout = (size_t)w * h;
    for (int c = 0; c < src->c; c++) {
        const float *in = src->px + c * pin;
        float *out = dst->px + c * pout;
        float lo = in[0], hi = in[0];
        for (size_t i = 1; i < pin; i++)
            lo = in[i] < lo ? in[i] : lo, hi = in[i] > hi ? in[i] : hi;
        resize_rows(tmp, in, src->w, w, src->h, &kx);
        resize_cols(out, tmp, h, w, &ky);
        for (size_t i = 0; i < pout; i++) /* Lanczos rings; keep within the plane's range */
            out[i] = out[i] < lo ? lo : out[i] > hi ? hi : out[i];
    }
    free(tmp);
    axis_kernel_free(&kx);
    axis_kernel_free(&ky);
    return PS_OK;
}

/* Box means over k x k blocks of every plane (the last row and column of blocks over what is
 * left of the image): dst is ceil(w / k) x ceil(h / k). */
static ps_status box_reduce(const ps_image *src, ps_image *dst, int k)
{
    int w = (src->w + k - 1) / k, h = (src->h + k - 1) / k;
    ps_status st = ps_img_alloc(dst, w, h, src->c);
    if (st)
        return st;
    const size_t pin = (size_t)src->w * src->h, pout = (size_t)w * h;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < src->c; c++)
        for (int y = 0; y < h; y++) {
            int y0 = y * k, y1 = y0 + k < src->h ? y0 + k : src->h;
            float *o = dst->px + c * pout + (size_t)y * w;
            for (int v = y0; v < y1; v++) { /* whole rows: the inner loop runs along memory */
                const float *r = src->px + c * pin + (size_t)v * src->w;
                for (int x = 0; x < src->w; x++)
                    o[x / k] += r[x];
            }
            for (int x = 0; x < w; x++) {
                int cols = (x + 1) * k < src->w ? k : src->w - x * k;
                o[x] /= (float)(cols * (y1 - y0));
            }
        }
    return PS_OK;
}

ps_status ps_img_shrink(const ps_image *src, ps_image *dst, int w, int h)
{
    int k = src->w > 0 && src->h > 0 && w > 0 && h > 0
                ? (int)fmin((double)src->w / w, (double)src->h / h) / SHRINK_GAP
                : 0;
    if (k < 2 || dst == src)
        return ps_img_resize(src, dst, w, h);
    ps_image mid = {0};
    ps_status st = box_reduce(src, &mid, k);
    if (!st)
        st = ps_img_resize(&mid, dst, w, h);
    ps_img_free(&mid);
    return st;
}

ps_status ps_img_fit(const ps_image *src, ps_image *dst, int max_side)
{
    if (dst == src)
        return ps_fail(PS_EUSAGE, "fit: the output must be another image than the input");
    if (max_side <= 0) {
        memset(dst, 0, sizeof *dst);
        return ps_fail(PS_EUSAGE, "fit: bad size %d", max_side);
    }
    int lng = src->w > src->h ? src->w : src->h;
    if (lng <= max_side) {
        ps_status st = ps_img_alloc(dst, src->w, src->h, src->c);
        if (st == PS_OK)
            memcpy(dst->px, src->px, (size_t)src->w * src->h * src->c * sizeof *src->px);
        return st;
    }
    double s = (double)max_side / lng;
    int w = src->w >= src->h ? max_side : (int)lround(src->w * s);
    int h = src->h > src->w ? max_side : (int)lround(src->h * s);
    return ps_img_resize(src, dst, w < 1 ? 1 : w, h < 1 ? 1 : h);
}
