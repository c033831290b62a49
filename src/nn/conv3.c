/* 3x3 stride-1 "same" convolutions (every 3x3 conv of the model but the two stride-2 ones) by
 * direct AVX-512 kernels: im2col + sgemm copies each input element 9 times and OpenBLAS then
 * repacks the copy, while the model's skinny channel counts (16, 32 outputs) leave sgemm little
 * work per packed element. Here the input is copied once into zero-bordered planes and the
 * kernels read it in place. CPUs without AVX-512 (and other architectures) keep conv.c's im2col
 * path: ps_conv2d_is_direct says which.
 *
 * Layout trick: with the input zero-padded to planes of W+2 columns, output pixel (y, x) at flat
 * index p = y*(W+2) + x is sum_{c,ky,kx} w * in_pad[c][p + ky*(W+2) + kx], one contiguous run of
 * p for the whole image; the two extra columns per row are computed and dropped. */
#include "nn_impl.h"
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_thread_num(void) { return 0; }
static int omp_get_max_threads(void) { return 1; }
#endif

#define PS_C3_PX 48      /* output pixels per forward tile: three 16-float vectors */
#define PS_C3_OCB 8      /* output channels per tile: 8 x 3 accumulators = 24 of 32 registers */
#define PS_C3_SLACK 64   /* zeros after each padded plane: tiles run up to 48 floats past it */
#define PS_C3_BAND 65536 /* floats of per-thread output tile buffer (256 KB, inside L2) */
#define PS_C3_CHUNK 1024 /* pixels per weight-gradient chunk: 8 dout rows of it fill ~L1 */

/* Threads only for layers of ~10 ms or more serial: a smaller OpenMP region costs more in
 * libgomp's spinning team (which takes a core from the next sgemm) than it saves. */
#define PS_C3_OMP_MACS (16 * PS_NN_OMP_MIN)

/* Planes are whole 64-byte lines, so a row of dout at the same place in every plane is aligned
 * in all of them (see ps_conv3_backward). */
static size_t ps_c3_plane(int H, int W)
{
    return ((size_t)(H + 2) * (W + 2) + PS_C3_SLACK + 15) & ~(size_t)15;
}

/* p + skip rounded up so that p + skip is on a 64-byte line, minus skip. */
static float *ps_c3_align(float *p, size_t skip)
{
    uintptr_t a = (uintptr_t)(p + skip);
    return (float *)((a + 63) & ~(uintptr_t)63) - skip;
}

/* Output rows per band: the band's output tiles for Co channels fit PS_C3_BAND floats. */
static int ps_c3_band_rows(int Co, int H, int W)
{
    int r = PS_C3_BAND / (Co * (W + 2)) - 1; /* - 1: the tile count rounds up by < one row */
    return r < 1 ? 1 : r > H ? H : r;
}

static size_t ps_c3_band_floats(int Co, int H, int W)
{
    size_t px = (size_t)ps_c3_band_rows(Co, H, W) * (W + 2);
    return (size_t)Co * ((px + PS_C3_PX - 1) / PS_C3_PX * PS_C3_PX);
}

/* Output channel blocks of near-equal size <= PS_C3_OCB (49 channels: 7 blocks of 7, not 6 of 8
 * and a lone 1 whose tile would wait on FMA latency). */
static int ps_c3_block(int Co)
{
    int nb = (Co + PS_C3_OCB - 1) / PS_C3_OCB;
    return (Co + nb - 1) / nb;
}

size_t ps_conv3_fwd_scratch(int C, int H, int W, int OC)
{
    return (size_t)C * ps_c3_plane(H, W) + (size_t)OC * C * 9 +
           (size_t)omp_get_max_threads() * ps_c3_band_floats(OC, H, W);
}

size_t ps_conv3_bwd_scratch(int C, int H, int W, int OC)
{
    size_t nth = (size_t)omp_get_max_threads(), plane = ps_c3_plane(H, W);
    size_t din = (size_t)OC * C * 9 + nth * ps_c3_band_floats(C, H, W);
    size_t dw = nth * (size_t)OC * C * 9 * 16;
    return (size_t)(C + OC) * plane + (din > dw ? din : dw) + 32; /* + 32: ps_c3_align */
}

/* dst (C planes of ps_c3_plane) = src (C,H,W) with a zero border of one and zero slack */
static void ps_c3_pad(float *dst, const float *src, int C, int H, int W)
{
    int Wp = W + 2;
    size_t plane = ps_c3_plane(H, W);
    for (int c = 0; c < C; c++) {
        float *d = dst + c * plane;
        const float *s = src + (size_t)c * H * W;
        memset(d, 0, (size_t)Wp * sizeof(float));
        for (int y = 0; y < H; y++) {
            float *r = d + (size_t)(y + 1) * Wp;
            r[0] = r[W + 1] = 0.0f;
            memcpy(r + 1, s + (size_t)y * W, (size_t)W * sizeof(float));
        }
        memset(d + (size_t)(H + 1) * Wp, 0, (plane - (size_t)(H + 1) * Wp) * sizeof(float));
    }
}

/* Weights as the tiles read them: per block of ocb output channels, [c][tap][ocb], so a tile's
 * broadcasts walk one contiguous run. flip: the (Ci,Co) weight of the input gradient, w(o,c,k)
 * = w[c][o][8-k] (the transposed conv is the conv with flipped, transposed kernels). */
static void ps_c3_pack(float *dst, const float *w, int Co, int Ci, int flip)
{
    int per = ps_c3_block(Co);
    for (int o0 = 0; o0 < Co; o0 += per) {
        int ocb = Co - o0 < per ? Co - o0 : per;
        float *d = dst + (size_t)o0 * Ci * 9;
        for (int c = 0; c < Ci; c++)
            for (int k = 0; k < 9; k++)
                for (int o = 0; o < ocb; o++)
                    d[((size_t)c * 9 + k) * ocb + o] =
                        flip ? w[((size_t)c * Co + o0 + o) * 9 + 8 - k]
                             : w[((size_t)(o0 + o) * Ci + c) * 9 + k];
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PS_C3_TARGET __attribute__((target("avx512f")))
#define PS_C3_INLINE static inline __attribute__((always_inline)) PS_C3_TARGET
/* The loops over a tile's output channels must unroll, or the accumulators live in memory. */
#define PS_C3_UNROLL _Pragma("GCC unroll 8")

static int ps_c3_cpu(void)
{
    return __builtin_cpu_supports("avx512f");
}

/* t[o*ts + 0..47] = sum over Ci channels and 9 taps of wp * x[tap offset + 0..47], for ocb
 * (a constant after inlining) output channels. */
PS_C3_INLINE void ps_c3_tile(float *t, size_t ts, const float *x, size_t xs, int Wp,
                             const float *wp, int Ci, int ocb)
{
    __m512 acc[PS_C3_OCB][3];
    PS_C3_UNROLL
    for (int o = 0; o < ocb; o++)
        acc[o][0] = acc[o][1] = acc[o][2] = _mm512_setzero_ps();
    for (int c = 0; c < Ci; c++, x += xs)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++, wp += ocb) {
                const float *r = x + ky * Wp + kx;
                __m512 a0 = _mm512_loadu_ps(r), a1 = _mm512_loadu_ps(r + 16);
                __m512 a2 = _mm512_loadu_ps(r + 32);
                PS_C3_UNROLL
                for (int o = 0; o < ocb; o++) {
                    __m512 wv = _mm512_set1_ps(wp[o]);
                    acc[o][0] = _mm512_fmadd_ps(wv, a0, acc[o][0]);
                    acc[o][1] = _mm512_fmadd_ps(wv, a1, acc[o][1]);
                    acc[o][2] = _mm512_fmadd_ps(wv, a2, acc[o][2]);
                }
            }
    PS_C3_UNROLL
    for (int o = 0; o < ocb; o++) {
        _mm512_storeu_ps(t + o * ts, acc[o][0]);
        _mm512_storeu_ps(t + o * ts + 16, acc[o][1]);
        _mm512_storeu_ps(t + o * ts + 32, acc[o][2]);
    }
}

PS_C3_INLINE void ps_c3_tiles_n(float *t, size_t ts, const float *x, size_t xs, int Wp,
                                const float *wp, int Ci, int ntiles, int ocb)
{
    for (int i = 0; i < ntiles; i++)
        ps_c3_tile(t + (size_t)i * PS_C3_PX, ts, x + (size_t)i * PS_C3_PX, xs, Wp, wp, Ci, ocb);
}

/* One kernel per block size, so the accumulators are registers. */
PS_C3_TARGET static void ps_c3_tiles(float *t, size_t ts, const float *x, size_t xs, int Wp,
                                     const float *wp, int Ci, int ntiles, int ocb)
{
    switch (ocb) {
#define PS_C3_CASE(n) case n: ps_c3_tiles_n(t, ts, x, xs, Wp, wp, Ci, ntiles, n); break;
        PS_C3_CASE(1) PS_C3_CASE(2) PS_C3_CASE(3) PS_C3_CASE(4)
        PS_C3_CASE(5) PS_C3_CASE(6) PS_C3_CASE(7) PS_C3_CASE(8)
#undef PS_C3_CASE
    }
}

/* pv[((o*Ci + c)*9 + ky*3 + kx)*16 + 0..15] (16 partial sums each) += sum over the chunk's pixels p of
 * dz[o*zs + p] * x[c*xs + ky*Wp + kx + p], for ocb output channels and every c, ky. */
PS_C3_INLINE void ps_c3_dw_n(float *pv, const float *dz, size_t zs, const float *x, size_t xs,
                             int Wp, int Ci, int np, int ocb)
{
    for (int c = 0; c < Ci; c++)
        for (int ky = 0; ky < 3; ky++) {
            const float *r = x + c * xs + ky * Wp;
            __m512 acc[PS_C3_OCB][3];
            PS_C3_UNROLL
            for (int o = 0; o < ocb; o++)
                acc[o][0] = acc[o][1] = acc[o][2] = _mm512_setzero_ps();
            for (int p = 0; p < np; p += 16) {
                __m512 x0 = _mm512_loadu_ps(r + p), x1 = _mm512_loadu_ps(r + p + 1);
                __m512 x2 = _mm512_loadu_ps(r + p + 2);
                PS_C3_UNROLL
                for (int o = 0; o < ocb; o++) {
                    __m512 d = _mm512_load_ps(dz + o * zs + p);
                    /* one load for three FMAs: GCC would fold it into each of them, and 24 loads
                     * + 3 per 24 FMAs would make the loop wait on the load ports */
                    __asm__("" : "+v"(d));
                    acc[o][0] = _mm512_fmadd_ps(d, x0, acc[o][0]);
                    acc[o][1] = _mm512_fmadd_ps(d, x1, acc[o][1]);
                    acc[o][2] = _mm512_fmadd_ps(d, x2, acc[o][2]);
                }
            }
            PS_C3_UNROLL
            for (int o = 0; o < ocb; o++)
                for (int kx = 0; kx < 3; kx++) {
                    float *v = pv + (((size_t)o * Ci + c) * 9 + ky * 3 + kx) * 16;
                    _mm512_storeu_ps(v, _mm512_add_ps(_mm512_loadu_ps(v), acc[o][kx]));
                }
        }
}

PS_C3_TARGET static void ps_c3_dw(float *pv, const float *dz, size_t zs, const float *x,
                                  size_t xs, int Wp, int Ci, int np, int ocb)
{
    switch (ocb) {
#define PS_C3_CASE(n) case n: ps_c3_dw_n(pv, dz, zs, x, xs, Wp, Ci, np, n); break;
        PS_C3_CASE(1) PS_C3_CASE(2) PS_C3_CASE(3) PS_C3_CASE(4)
        PS_C3_CASE(5) PS_C3_CASE(6) PS_C3_CASE(7) PS_C3_CASE(8)
#undef PS_C3_CASE
    }
}

/* the sum of n vectors of 16 partial sums, stride floats apart */
PS_C3_TARGET static float ps_c3_sum(const float *v, size_t stride, int n)
{
    __m512 s = _mm512_loadu_ps(v);
    for (int t = 1; t < n; t++)
        s = _mm512_add_ps(s, _mm512_loadu_ps(v + t * stride));
    return _mm512_reduce_add_ps(s);
}

/* One band of output rows [y0, y0+rows): dst (Co,H,W) = bias + (or +=) the conv of the padded
 * src (Ci planes) with packed weights wp, through the thread's tile buffer t. */
static void ps_c3_band(float *dst, int acc, const float *bias, const float *src, int Ci, int H,
                       int W, int Co, const float *wp, float *t, int y0, int rows)
{
    int Wp = W + 2, per = ps_c3_block(Co);
    size_t plane = ps_c3_plane(H, W);
    int ntiles = (rows * Wp + PS_C3_PX - 1) / PS_C3_PX;
    size_t ts = (size_t)ntiles * PS_C3_PX;
    for (int o0 = 0; o0 < Co; o0 += per)
        ps_c3_tiles(t + o0 * ts, ts, src + (size_t)y0 * Wp, plane, Wp, wp + (size_t)o0 * Ci * 9,
                    Ci, ntiles, Co - o0 < per ? Co - o0 : per);
    for (int o = 0; o < Co; o++)
        for (int r = 0; r < rows; r++) {
            float *d = dst + ((size_t)o * H + y0 + r) * W;
            const float *s = t + o * ts + (size_t)r * Wp;
            float bv = bias ? bias[o] : 0.0f;
            if (acc)
                for (int x = 0; x < W; x++)
                    d[x] += s[x];
            else
                for (int x = 0; x < W; x++)
                    d[x] = s[x] + bv;
        }
}

/* dst (Co,H,W) = bias + (acc: +=) conv3x3 of the padded src (Ci planes), bands over threads. */
static void ps_c3_conv(float *dst, int acc, const float *bias, const float *src, int Ci, int H,
                       int W, int Co, const float *wp, float *tiles)
{
    int R = ps_c3_band_rows(Co, H, W), nb = (H + R - 1) / R;
    size_t tf = ps_c3_band_floats(Co, H, W);
    double macs = 9.0 * Ci * Co * H * W;
#pragma omp parallel for schedule(static) if (macs >= PS_C3_OMP_MACS)
    for (int b = 0; b < nb; b++)
        ps_c3_band(dst, acc, bias, src, Ci, H, W, Co, wp, tiles + omp_get_thread_num() * tf,
                   b * R, H - b * R < R ? H - b * R : R);
}

void ps_conv3_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                      int H, int W, int OC, float *scratch)
{
    size_t plane = ps_c3_plane(H, W);
    float *xp = scratch, *wp = xp + C * plane, *tiles = wp + (size_t)OC * C * 9;
    ps_c3_pack(wp, w, OC, C, 0);
    for (int n = 0; n < N; n++) {
        ps_c3_pad(xp, in + (size_t)n * C * H * W, C, H, W);
        ps_c3_conv(out + (size_t)n * OC * H * W, 0, b, xp, C, H, W, OC, wp, tiles);
    }
}

/* dw (OC,C,3,3) += sum over pixels of dout x in, from the padded planes: dz = dp + W+3 is dout
 * laid out at the input's flat indices, zero in the two dropped columns of each row (they are
 * the padding of dp), so every chunk is a plain run. Threads take chunks of pixels, each into
 * its own partial sums, added in thread order: deterministic for a thread count. */
static void ps_c3_weight_grad(float *dw, const float *dp, const float *xp, int C, int H, int W,
                              int OC, float *pv)
{
    int Wp = W + 2, per = ps_c3_block(OC), nth = omp_get_max_threads();
    size_t plane = ps_c3_plane(H, W), nw = (size_t)OC * C * 9;
    const float *dz = dp + Wp + 1;
    int np = (H * Wp + 15) / 16 * 16, nc = (np + PS_C3_CHUNK - 1) / PS_C3_CHUNK;
    double macs = 9.0 * C * OC * H * W;
    int team = macs >= PS_C3_OMP_MACS ? nth : 1;
    memset(pv, 0, nw * 16 * team * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(team)
    for (int k = 0; k < nc; k++) {
        float *mine = pv + nw * 16 * omp_get_thread_num();
        int p0 = k * PS_C3_CHUNK, len = np - p0 < PS_C3_CHUNK ? np - p0 : PS_C3_CHUNK;
        for (int o0 = 0; o0 < OC; o0 += per)
            ps_c3_dw(mine + (size_t)o0 * C * 9 * 16, dz + (size_t)o0 * plane + p0, plane, xp + p0,
                     plane, Wp, C, len, OC - o0 < per ? OC - o0 : per);
    }
    for (size_t i = 0; i < nw; i++)
        dw[i] += ps_c3_sum(pv + i * 16, nw * 16, team);
}

void ps_conv3_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                       int N, int C, int H, int W, int OC, float *scratch)
{
    size_t plane = ps_c3_plane(H, W);
    /* the weight gradient's 8 dout loads per step are aligned, its 3 input loads cannot be */
    float *xp = scratch, *dp = ps_c3_align(xp + C * plane, (size_t)W + 3);
    float *rest = ps_c3_align(dp + OC * plane, 0), *wp = rest, *tiles = wp + (size_t)OC * C * 9;
    for (int n = 0; n < N; n++) {
        ps_c3_pad(dp, dout + (size_t)n * OC * H * W, OC, H, W);
        if (din) { /* the conv of dout with the flipped kernels; packed per image, as the
                    * weight gradient's partial sums below share the memory */
            ps_c3_pack(wp, w, C, OC, 1);
            ps_c3_conv(din + (size_t)n * C * H * W, 1, NULL, dp, OC, H, W, C, wp, tiles);
        }
        if (dw) {
            ps_c3_pad(xp, in + (size_t)n * C * H * W, C, H, W);
            ps_c3_weight_grad(dw, dp, xp, C, H, W, OC, rest);
        }
    }
}
#else /* no AVX-512 build: ps_conv2d_is_direct is 0, so conv.c never calls the kernels */
static int ps_c3_cpu(void)
{
    return 0;
}

void ps_conv3_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                      int H, int W, int OC, float *scratch)
{
    (void)out, (void)in, (void)w, (void)b, (void)N, (void)C, (void)H, (void)W, (void)OC;
    (void)scratch;
}

void ps_conv3_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                       int N, int C, int H, int W, int OC, float *scratch)
{
    (void)din, (void)dw, (void)dout, (void)in, (void)w, (void)N, (void)C, (void)H, (void)W;
    (void)OC, (void)scratch;
}
#endif

static int ps_c3_enabled = 1;

int ps_conv2d_direct(int on)
{
    int was = ps_c3_enabled;
    if (on >= 0)
        ps_c3_enabled = on;
    return was;
}

int ps_conv2d_is_direct(int K, int stride, int pad)
{
    return K == 3 && stride == 1 && pad == 1 && ps_c3_enabled && ps_c3_cpu();
}
