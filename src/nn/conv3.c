/* 3x3 convolutions with a border of one, stride 1 or 2 (every 3x3 conv of the model), by direct
 * vector kernels: im2col + sgemm copies each input element 9 times and OpenBLAS then repacks
 * the copy, while the model's skinny channel counts (16, 32 outputs) leave sgemm little work
 * per packed element. Here the input is copied once into zero-bordered planes and the kernels
 * read it in place. The kernels (conv3_kern.h) are written once and built twice, for AVX-512
 * (16-float vectors, 32 registers) and for AVX2 + FMA (8-float vectors, 16 registers: smaller
 * tiles), and the best the CPU has is picked at run time; CPUs with neither (and other
 * architectures) keep conv.c's im2col path. ps_conv2d_is_direct says which; ps_conv2d_direct
 * and the environment variable PSTYLE_CONV3 force one.
 *
 * Layout trick: with the input zero-padded to planes of W+2 columns, output pixel (y, x) at flat
 * index p = y*(W+2) + x is sum_{c,ky,kx} w * in_pad[c][p + ky*(W+2) + kx], one contiguous run of
 * p for the whole image; the two extra columns per row are computed and dropped. */
#include "nn_impl.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The loops over a tile's output channels must unroll, or the accumulators live in memory. */
#define PS_C3_UNROLL _Pragma("GCC unroll 8")

#define PS_C3_PX 48      /* the most output pixels per forward tile (of any kernel set) */
#define PS_C3_OCB_MAX 8  /* the most output channels per tile (of any kernel set) */
#define PS_C3_LANES 16   /* the most partial sums per weight of the weight gradient */
#define PS_C3_SLACK 64   /* zeros after each padded plane: tiles run up to 48 floats past it */
/* Input channels per pass over a band's tiles, the passes adding onto the tiles: a block's
 * weights for 32 channels (9 KB at 8 outputs) and the rows its tiles read stay in L1, where 96
 * channels' (27 KB) would not (d2 96->32 @128 forward ~4% faster, AVX2 and AVX-512). */
#define PS_C3_CIN 32
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

/* Where a conv's taps sit in its padded source: output pixel p (flat, in rows of wf) reads
 * src[c*xs + off[ky*3 + kx] + p]. */
typedef struct {
    int wf;
    size_t xs;
    int off[9];
} ps_c3_geom;

/* One set of kernels (conv3_kern.h) and its tile sizes. */
typedef struct {
    int px;    /* output pixels per forward tile, dividing PS_C3_PX */
    int ocb;   /* the most output channels per forward tile, <= PS_C3_OCB_MAX */
    int dwb;   /* the most output channels per weight-gradient block, <= PS_C3_OCB_MAX */
    int lanes; /* partial sums per weight of the weight gradient, <= PS_C3_LANES */
    /* t[o*ts + i*px + 0..px-1] (add: +=) for ntiles tiles and ocb <= .ocb output channels */
    void (*tiles)(float *t, size_t ts, const float *x, const ps_c3_geom *g, const float *wp,
                  int Ci, int ntiles, int ocb, int add);
    /* the weight gradient's partial sums of one chunk of np pixels, ocb <= .dwb channels */
    void (*dw)(float *pv, const float *dz, size_t zs, const float *x, const ps_c3_geom *g,
               int Ci, int np, int ocb);
    float (*sum)(const float *v, size_t stride, int n); /* n vectors of .lanes sums, added */
    void (*split)(float *d0, float *d1, const float *s, int n, int wf); /* see ps_c3_phase */
} ps_c3_kern;

/* AVX-512: 8 channels x 3 vectors of 16 = 24 of 32 registers accumulate, forward and weight
 * gradient. */
#define PS_C3_ISA avx512
#define PS_C3_TGT "avx512f"
#define PS_C3_NV 3
#define PS_C3_OCB 8
#define PS_C3_DWB 8
#define PS_C3_VW 16
#define PS_C3_VREG(d) "+v"(d)
#define ps_c3_v __m512
#define ps_c3_zero() _mm512_setzero_ps()
#define ps_c3_ld(p) _mm512_loadu_ps(p)
#define ps_c3_lda(p) _mm512_load_ps(p)
#define ps_c3_st(p, v) _mm512_storeu_ps(p, v)
#define ps_c3_set1(f) _mm512_set1_ps(f)
#define ps_c3_fma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ps_c3_add(a, b) _mm512_add_ps(a, b)
#define ps_c3_hsum(v) _mm512_reduce_add_ps(v)
#define ps_c3_deint(lo, hi, ev, od) ps_c3_deint16(lo, hi, &(ev), &(od))
__attribute__((target("avx512f"))) static inline void ps_c3_deint16(__m512 lo, __m512 hi,
                                                                    __m512 *ev, __m512 *od)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    *ev = _mm512_permutex2var_ps(lo, even, hi);
    *od = _mm512_permutex2var_ps(lo, _mm512_add_epi32(even, _mm512_set1_epi32(1)), hi);
}
#include "conv3_kern.h"

/* AVX2: 16 registers, so 4 channels x 3 vectors of 8 (12 accumulators, 3 input vectors and a
 * broadcast weight) forward, and 4 x 3 taps (12, 3 inputs, one dout) for the weight gradient. */
#define PS_C3_ISA avx2
#define PS_C3_TGT "avx2,fma"
#define PS_C3_NV 3
#define PS_C3_OCB 4
#define PS_C3_DWB 4
#define PS_C3_VW 8
#define PS_C3_VREG(d) "+x"(d)
#define ps_c3_v __m256
#define ps_c3_zero() _mm256_setzero_ps()
#define ps_c3_ld(p) _mm256_loadu_ps(p)
#define ps_c3_lda(p) _mm256_load_ps(p)
#define ps_c3_st(p, v) _mm256_storeu_ps(p, v)
#define ps_c3_set1(f) _mm256_set1_ps(f)
#define ps_c3_fma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ps_c3_add(a, b) _mm256_add_ps(a, b)
#define ps_c3_hsum(v) ps_c3_hsum8(v)
#define ps_c3_deint(lo, hi, ev, od) ps_c3_deint8(lo, hi, &(ev), &(od))
__attribute__((target("avx2,fma"))) static inline float ps_c3_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
/* shuffle_ps takes the even (odd) floats of each 128-bit half of lo and hi, interleaved by half;
 * permute4x64 puts the halves in order */
__attribute__((target("avx2,fma"))) static inline void ps_c3_deint8(__m256 lo, __m256 hi,
                                                                   __m256 *ev, __m256 *od)
{
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)),
                                                 0xd8));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xdd)),
                                                 0xd8));
}
#include "conv3_kern.h"

/* Stride 1: one zero-bordered plane of W+2 columns per channel (ps_c3_pad). */
static ps_c3_geom ps_c3_geom_s1(int H, int W)
{
    ps_c3_geom g = {W + 2, ps_c3_plane(H, W), {0}};
    for (int k = 0; k < 9; k++)
        g.off[k] = k / 3 * g.wf + k % 3;
    return g;
}

/* Stride 2: the padded input split into its four (row, column) parity planes (ps_c3_phase), so
 * tap (ky, kx) of output (y, x) is pixel (y + ky/2, x + kx/2) of plane (ky&1, kx&1): a stride-1
 * read again, and 9 taps in all (not 16 as one 2x2 conv over the four planes would be). */
static size_t ps_c3_phase_plane(int OH, int OW)
{
    return ((size_t)(OH + 1) * (OW + 1) + PS_C3_SLACK + 15) & ~(size_t)15;
}

static ps_c3_geom ps_c3_geom_s2(int OH, int OW)
{
    size_t pp = ps_c3_phase_plane(OH, OW);
    ps_c3_geom g = {OW + 1, 4 * pp, {0}};
    for (int k = 0; k < 9; k++) {
        int ky = k / 3, kx = k % 3;
        g.off[k] = (int)(((ky & 1) * 2 + (kx & 1)) * pp) + (ky >> 1) * g.wf + (kx >> 1);
    }
    return g;
}

static const ps_c3_kern *ps_c3_sel(void);

/* Output rows per band: the band's output tiles for Co channels fit PS_C3_BAND floats. */
static int ps_c3_band_rows(int Co, int OH, int wf)
{
    int r = PS_C3_BAND / (Co * wf) - 1; /* - 1: the tile count rounds up by < one row */
    return r < 1 ? 1 : r > OH ? OH : r;
}

static size_t ps_c3_band_floats(int Co, int OH, int wf)
{
    size_t px = (size_t)ps_c3_band_rows(Co, OH, wf) * wf;
    return (size_t)Co * ((px + PS_C3_PX - 1) / PS_C3_PX * PS_C3_PX);
}

/* Co output channels in the fewest blocks of <= max, of near-equal sizes (49 channels in blocks
 * of 8: 7 of 7, not 6 of 8 and a lone 1 whose tile would wait on FMA latency; 32 in blocks of 6:
 * 5, 5, 6, 5, 5, 6, not five of 6 and a 2). Block b is channels [o0, o0 + *n). */
static int ps_c3_nblocks(int Co, int max)
{
    return (Co + max - 1) / max;
}

static int ps_c3_block(int Co, int nb, int b, int *n)
{
    int o0 = (int)((long)b * Co / nb);
    *n = (int)((long)(b + 1) * Co / nb) - o0;
    return o0;
}

static int ps_c3_out(int n, int stride)
{
    return (n - 1) / stride + 1;
}

static ps_c3_geom ps_c3_geom_for(int H, int W, int stride)
{
    return stride == 1 ? ps_c3_geom_s1(H, W)
                       : ps_c3_geom_s2(ps_c3_out(H, 2), ps_c3_out(W, 2));
}

size_t ps_conv3_fwd_scratch(int C, int H, int W, int OC, int stride)
{
    ps_c3_geom g = ps_c3_geom_for(H, W, stride);
    return (size_t)C * g.xs + (size_t)OC * C * 9 +
           (size_t)omp_get_max_threads() * ps_c3_band_floats(OC, ps_c3_out(H, stride), g.wf);
}

/* dout laid out flat for the weight gradient (stride 2; stride 1 reads it from the padded
 * dout the input gradient uses) */
static size_t ps_c3_flat_plane(int OH, int OW)
{
    return ((size_t)OH * (OW + 1) + PS_C3_SLACK + 15) & ~(size_t)15;
}

size_t ps_conv3_bwd_scratch(int C, int H, int W, int OC, int stride)
{
    size_t nth = (size_t)omp_get_max_threads(), nw = (size_t)OC * C * 9;
    size_t dw = nth * nw * PS_C3_LANES + 32; /* + 32: ps_c3_align, twice */
    if (stride == 2)
        return (size_t)C * ps_c3_geom_s2(ps_c3_out(H, 2), ps_c3_out(W, 2)).xs +
               (size_t)OC * ps_c3_flat_plane(ps_c3_out(H, 2), ps_c3_out(W, 2)) + dw;
    size_t din = nw + nth * ps_c3_band_floats(C, H, W + 2) + 32;
    return (size_t)(C + OC) * ps_c3_plane(H, W) + (din > dw ? din : dw);
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

/* dst (C x 4 parity planes of ps_c3_phase_plane) from src (C,H,W): plane (a, b) pixel (i, j) is
 * the padded input's (2i + a, 2j + b), zero outside the input and in the slack. Each float is
 * written once: at the model's sizes this copy costs about a third of the conv. */
static void ps_c3_phase(const ps_c3_kern *k, float *dst, const float *src, int C, int H,
                        int W)
{
    int OH = ps_c3_out(H, 2), OW = ps_c3_out(W, 2), wf = OW + 1;
    size_t pp = ps_c3_phase_plane(OH, OW), used = (size_t)(OH + 1) * wf;
    for (int c = 0; c < C; c++)
        for (int a = 0; a < 2; a++) {
            float *d = dst + (size_t)(c * 4 + a * 2) * pp;
            for (int i = 0; i <= OH; i++) {
                int u = 2 * i + a - 1; /* the input row of padded row 2i + a */
                float *r = d + (size_t)i * wf;
                if (u >= 0 && u < H)
                    k->split(r, r + pp, src + ((size_t)c * H + u) * W, W, wf);
                else
                    memset(r, 0, wf * sizeof(float)), memset(r + pp, 0, wf * sizeof(float));
            }
            memset(d + used, 0, (pp - used) * sizeof(float));
            memset(d + pp + used, 0, (pp - used) * sizeof(float));
        }
}

/* dst (C planes of ps_c3_flat_plane) = src (C,OH,OW) in rows of OW+1, zero in the extra
 * column and the slack */
static void ps_c3_flat(float *dst, const float *src, int C, int OH, int OW)
{
    size_t plane = ps_c3_flat_plane(OH, OW), used = (size_t)OH * (OW + 1);
    for (int c = 0; c < C; c++) {
        float *d = dst + c * plane;
        for (int y = 0; y < OH; y++) {
            memcpy(d + (size_t)y * (OW + 1), src + ((size_t)c * OH + y) * OW,
                   (size_t)OW * sizeof(float));
            d[(size_t)y * (OW + 1) + OW] = 0.0f;
        }
        memset(d + used, 0, (plane - used) * sizeof(float));
    }
}

/* Weights as the tiles read them: per block of ocb output channels, [c][tap][ocb], so a tile's
 * broadcasts walk one contiguous run. flip: the (Ci,Co) weight of the input gradient, w(o,c,k)
 * = w[c][o][8-k] (the transposed conv is the conv with flipped, transposed kernels). */
static void ps_c3_pack(const ps_c3_kern *ks, float *dst, const float *w, int Co, int Ci,
                       int flip)
{
    for (int b = 0, nb = ps_c3_nblocks(Co, ks->ocb); b < nb; b++) {
        int ocb, o0 = ps_c3_block(Co, nb, b, &ocb);
        float *d = dst + (size_t)o0 * Ci * 9;
        for (int c = 0; c < Ci; c++)
            for (int k = 0; k < 9; k++)
                for (int o = 0; o < ocb; o++)
                    d[((size_t)c * 9 + k) * ocb + o] =
                        flip ? w[((size_t)c * Co + o0 + o) * 9 + 8 - k]
                             : w[((size_t)(o0 + o) * Ci + c) * 9 + k];
    }
}

/* One band of output rows [y0, y0+rows): dst (Co,OH,OW) = bias + (or +=) the conv of the
 * padded src (Ci channels laid out as g says) with packed weights wp, through the thread's tile
 * buffer t. */
static void ps_c3_band(const ps_c3_kern *k, float *dst, int acc, const float *bias,
                       const float *src, const ps_c3_geom *g, int Ci, int OH, int OW, int Co,
                       const float *wp, float *t, int y0, int rows)
{
    int ntiles = (rows * g->wf + k->px - 1) / k->px;
    size_t ts = (size_t)ntiles * k->px;
    for (int c0 = 0; c0 < Ci; c0 += PS_C3_CIN) {
        int cn = Ci - c0 < PS_C3_CIN ? Ci - c0 : PS_C3_CIN;
        for (int b = 0, nb = ps_c3_nblocks(Co, k->ocb); b < nb; b++) {
            int ocb, o0 = ps_c3_block(Co, nb, b, &ocb);
            k->tiles(t + o0 * ts, ts, src + c0 * g->xs + (size_t)y0 * g->wf, g,
                     wp + ((size_t)o0 * Ci + (size_t)c0 * ocb) * 9, cn, ntiles, ocb, c0 > 0);
        }
    }
    for (int o = 0; o < Co; o++)
        for (int r = 0; r < rows; r++) {
            float *d = dst + ((size_t)o * OH + y0 + r) * OW;
            const float *s = t + o * ts + (size_t)r * g->wf;
            float bv = bias ? bias[o] : 0.0f;
            if (acc)
                for (int x = 0; x < OW; x++)
                    d[x] += s[x];
            else
                for (int x = 0; x < OW; x++)
                    d[x] = s[x] + bv;
        }
}

/* dst (Co,OH,OW) = bias + (acc: +=) the conv of the padded src, bands of rows over threads. */
static void ps_c3_conv(const ps_c3_kern *k, float *dst, int acc, const float *bias,
                       const float *src, const ps_c3_geom *g, int Ci, int OH, int OW, int Co,
                       const float *wp, float *tiles)
{
    int R = ps_c3_band_rows(Co, OH, g->wf), nb = (OH + R - 1) / R;
    size_t tf = ps_c3_band_floats(Co, OH, g->wf);
#pragma omp parallel for schedule(static) if (9.0 * Ci * Co * OH * OW >= PS_C3_OMP_MACS)
    for (int b = 0; b < nb; b++)
        ps_c3_band(k, dst, acc, bias, src, g, Ci, OH, OW, Co, wp,
                   tiles + omp_get_thread_num() * tf, b * R, OH - b * R < R ? OH - b * R : R);
}

void ps_conv3_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                      int H, int W, int OC, int stride, float *scratch)
{
    ps_c3_geom g = ps_c3_geom_for(H, W, stride);
    int OH = ps_c3_out(H, stride), OW = ps_c3_out(W, stride);
    float *xp = scratch, *wp = xp + C * g.xs, *tiles = wp + (size_t)OC * C * 9;
    const ps_c3_kern *k = ps_c3_sel();
    ps_c3_pack(k, wp, w, OC, C, 0);
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C * H * W;
        if (stride == 1)
            ps_c3_pad(xp, x, C, H, W);
        else
            ps_c3_phase(k, xp, x, C, H, W);
        ps_c3_conv(k, out + (size_t)n * OC * OH * OW, 0, b, xp, &g, C, OH, OW, OC, wp, tiles);
    }
}

/* dw (OC,C,3,3) += sum over output pixels of dout x the taps' inputs. dz is dout at the flat
 * output indices (planes zs apart, 64-byte aligned), zero in each row's dropped columns, so
 * every chunk is a plain run. Threads take chunks of pixels, each into its own partial sums,
 * added in thread order: deterministic for a thread count. */
static void ps_c3_weight_grad(const ps_c3_kern *k, float *dw, const float *dz, size_t zs,
                              const float *xp, const ps_c3_geom *g, int C, int OH, int OW, int OC,
                              float *pv)
{
    int nb = ps_c3_nblocks(OC, k->dwb), nth = omp_get_max_threads(), L = k->lanes;
    size_t nw = (size_t)OC * C * 9;
    int np = (OH * g->wf + 15) / 16 * 16, nc = (np + PS_C3_CHUNK - 1) / PS_C3_CHUNK;
    double macs = 9.0 * C * OC * OH * OW;
    int team = macs >= PS_C3_OMP_MACS ? nth : 1;
    memset(pv, 0, nw * L * team * sizeof(float));
#pragma omp parallel for schedule(static) num_threads(team)
    for (int ch = 0; ch < nc; ch++) {
        float *mine = pv + nw * L * omp_get_thread_num();
        int p0 = ch * PS_C3_CHUNK, len = np - p0 < PS_C3_CHUNK ? np - p0 : PS_C3_CHUNK;
        for (int b = 0; b < nb; b++) {
            int ocb, o0 = ps_c3_block(OC, nb, b, &ocb);
            k->dw(mine + (size_t)o0 * C * 9 * L, dz + (size_t)o0 * zs + p0, zs, xp + p0, g, C, len,
                  ocb);
        }
    }
    for (size_t i = 0; i < nw; i++)
        dw[i] += k->sum(pv + i * L, nw * L, team);
}

/* Stride 2: the weight gradient only (conv.c keeps the input gradient on im2col). */
static void ps_c3_backward_s2(const ps_c3_kern *k, float *dw, const float *dout, const float *in,
                              int N, int C, int H, int W, int OC, float *scratch)
{
    int OH = ps_c3_out(H, 2), OW = ps_c3_out(W, 2);
    ps_c3_geom g = ps_c3_geom_s2(OH, OW);
    size_t zs = ps_c3_flat_plane(OH, OW);
    float *xp = scratch, *dz = ps_c3_align(xp + C * g.xs, 0), *pv = dz + OC * zs;
    for (int n = 0; n < N; n++) {
        ps_c3_flat(dz, dout + (size_t)n * OC * OH * OW, OC, OH, OW);
        ps_c3_phase(k, xp, in + (size_t)n * C * H * W, C, H, W);
        ps_c3_weight_grad(k, dw, dz, zs, xp, &g, C, OH, OW, OC, pv);
    }
}

void ps_conv3_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                       int N, int C, int H, int W, int OC, int stride, float *scratch)
{
    const ps_c3_kern *k = ps_c3_sel();
    if (stride == 2) {
        if (dw)
            ps_c3_backward_s2(k, dw, dout, in, N, C, H, W, OC, scratch);
        return;
    }
    ps_c3_geom g = ps_c3_geom_s1(H, W);
    size_t plane = g.xs;
    /* dz = dp + W+3 is dout at the input's flat indices, its dropped columns dp's zero border;
     * aligned, as the weight gradient's 8 dout loads per step can be (its 3 input loads not) */
    float *xp = scratch, *dp = ps_c3_align(xp + C * plane, (size_t)W + 3);
    float *rest = ps_c3_align(dp + OC * plane, 0), *wp = rest, *tiles = wp + (size_t)OC * C * 9;
    for (int n = 0; n < N; n++) {
        ps_c3_pad(dp, dout + (size_t)n * OC * H * W, OC, H, W);
        if (din) { /* the conv of dout with the flipped kernels; packed per image, as the
                    * weight gradient's partial sums below share the memory */
            ps_c3_pack(k, wp, w, C, OC, 1);
            ps_c3_conv(k, din + (size_t)n * C * H * W, 1, NULL, dp, &g, OC, H, W, C, wp, tiles);
        }
        if (dw) {
            ps_c3_pad(xp, in + (size_t)n * C * H * W, C, H, W);
            ps_c3_weight_grad(k, dw, dp + W + 3, plane, xp, &g, C, H, W, OC, rest);
        }
    }
}
/* The kernel set of a mode (PS_CONV3_*), NULL where this CPU lacks it or for im2col. */
static const ps_c3_kern *ps_c3_kern_for(int mode)
{
    int avx512 = __builtin_cpu_supports("avx512f");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (mode == PS_CONV3_AVX512 || (mode == PS_CONV3_AUTO && avx512))
        return avx512 ? &ps_c3_kern_avx512 : NULL;
    if (mode == PS_CONV3_AVX2 || mode == PS_CONV3_AUTO)
        return avx2 ? &ps_c3_kern_avx2 : NULL;
    return NULL;
}
#else /* not x86-64 GCC/Clang: no kernels, ps_conv2d_is_direct is 0, conv.c never calls them */
typedef struct ps_c3_kern ps_c3_kern;

static const ps_c3_kern *ps_c3_kern_for(int mode)
{
    (void)mode;
    return NULL;
}

size_t ps_conv3_fwd_scratch(int C, int H, int W, int OC, int stride)
{
    (void)C, (void)H, (void)W, (void)OC, (void)stride;
    return 0;
}

size_t ps_conv3_bwd_scratch(int C, int H, int W, int OC, int stride)
{
    (void)C, (void)H, (void)W, (void)OC, (void)stride;
    return 0;
}

void ps_conv3_forward(float *out, const float *in, const float *w, const float *b, int N, int C,
                      int H, int W, int OC, int stride, float *scratch)
{
    (void)out, (void)in, (void)w, (void)b, (void)N, (void)C, (void)H, (void)W, (void)OC;
    (void)stride, (void)scratch;
}

void ps_conv3_backward(float *din, float *dw, const float *dout, const float *in, const float *w,
                       int N, int C, int H, int W, int OC, int stride, float *scratch)
{
    (void)din, (void)dw, (void)dout, (void)in, (void)w, (void)N, (void)C, (void)H, (void)W;
    (void)OC, (void)stride, (void)scratch;
}
#endif

/* The mode: PSTYLE_CONV3 (im2col, avx2, avx512; else auto) read once, then ps_conv2d_direct. */
static int ps_c3_mode = PS_CONV3_AUTO;
static pthread_once_t ps_c3_once = PTHREAD_ONCE_INIT;

static void ps_c3_env(void)
{
    const char *e = getenv("PSTYLE_CONV3");
    if (!e)
        return;
    if (!strcmp(e, "im2col"))
        ps_c3_mode = PS_CONV3_IM2COL;
    else if (!strcmp(e, "avx2"))
        ps_c3_mode = PS_CONV3_AVX2;
    else if (!strcmp(e, "avx512"))
        ps_c3_mode = PS_CONV3_AVX512;
}

static const ps_c3_kern *ps_c3_sel(void)
{
    pthread_once(&ps_c3_once, ps_c3_env);
    return ps_c3_kern_for(ps_c3_mode);
}

int ps_conv2d_direct(int mode)
{
    pthread_once(&ps_c3_once, ps_c3_env);
    int was = ps_c3_mode;
    if (mode >= PS_CONV3_IM2COL && mode <= PS_CONV3_AVX512)
        ps_c3_mode = mode;
    return was;
}

int ps_conv2d_is_direct(int K, int stride, int pad)
{
    const ps_c3_kern *k = K == 3 && (stride == 1 || stride == 2) && pad == 1 ? ps_c3_sel() : NULL;
#if defined(__x86_64__) && defined(__GNUC__)
    return k == &ps_c3_kern_avx512 ? PS_CONV3_AVX512 : k ? PS_CONV3_AVX2 : 0;
#else
    return k ? 1 : 0;
#endif
}
