/* conv3.c's vector kernels, written once over a few vector helpers and included once per
 * instruction set (see conv3.c): before each inclusion conv3.c defines
 *   PS_C3_ISA    the suffix of this set's names (avx512, avx2)
 *   PS_C3_TGT    its target attribute string ("avx512f", "avx2,fma")
 *   PS_C3_NV     pixel vectors per forward tile (the tile is PS_C3_NV * PS_C3_VW pixels)
 *   PS_C3_OCB    output channels per forward tile: PS_C3_OCB * PS_C3_NV accumulators
 *   PS_C3_DWB    output channels per weight-gradient block: PS_C3_DWB * 3 accumulators
 * and the vector helpers: ps_c3_v (the type), PS_C3_VW (floats per vector), ps_c3_zero, ps_c3_ld
 * (unaligned load), ps_c3_lda (aligned), ps_c3_st, ps_c3_set1, ps_c3_fma(a, b, c) = a*b + c,
 * ps_c3_add, ps_c3_hsum (sum of the lanes), ps_c3_deint(lo, hi, even, odd) (sets even and odd
 * to the even and odd floats of two consecutive vectors, in order) and PS_C3_VREG(v) (the asm
 * operand of v in a vector register). It defines the kernel table ps_c3_kern_<ISA> and
 * undefines all of these. */
#define PS_C3_CAT2(a, b) a##_##b
#define PS_C3_CAT(a, b) PS_C3_CAT2(a, b)
#define PS_C3_FN(name) PS_C3_CAT(name, PS_C3_ISA)
#define PS_C3_KT __attribute__((target(PS_C3_TGT)))
#define PS_C3_KI static inline __attribute__((always_inline)) PS_C3_KT
#define PS_C3_MIN(n, m) ((n) < (m) ? (n) : (m))
/* a switch on a block size (<= PS_C3_OCB_MAX) with CASE(n) for each */
#define PS_C3_SWITCH(ocb, CASE)                                                                  \
    switch (ocb) {                                                                               \
        CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)                          \
    }

/* One padded row split by column parity: d0[j] = s[2j - 1], d1[j] = s[2j] for j < wf, zero
 * where that is outside s[0, n); PS_C3_VW pairs per step while they are all inside */
PS_C3_KT static void PS_C3_FN(ps_c3_split)(float *d0, float *d1, const float *s, int n, int wf)
{
    int j = 0;
    d0[0] = 0.0f;
    for (; 2 * j + 2 * PS_C3_VW <= n && j + PS_C3_VW + 1 <= wf; j += PS_C3_VW) {
        ps_c3_v ev, od;
        ps_c3_deint(ps_c3_ld(s + 2 * j), ps_c3_ld(s + 2 * j + PS_C3_VW), ev, od);
        ps_c3_st(d1 + j, ev);
        ps_c3_st(d0 + j + 1, od);
    }
    for (; j < wf; j++) {
        d1[j] = 2 * j < n ? s[2 * j] : 0.0f;
        if (j + 1 < wf)
            d0[j + 1] = 2 * j + 1 < n ? s[2 * j + 1] : 0.0f;
    }
}

/* t[o*ts + 0..px-1] = (add: +=) sum over Ci channels and 9 taps of wp * x[c*xs + off[tap] +
 * 0..px-1], for ocb (a constant after inlining) output channels; px = PS_C3_NV * PS_C3_VW. */
PS_C3_KI void PS_C3_FN(ps_c3_tile)(float *t, size_t ts, const float *x, const ps_c3_geom *g,
                                   const float *wp, int Ci, int ocb, int add)
{
    ps_c3_v acc[PS_C3_OCB][PS_C3_NV];
    PS_C3_UNROLL
    for (int o = 0; o < ocb; o++)
        PS_C3_UNROLL
        for (int v = 0; v < PS_C3_NV; v++)
            acc[o][v] = add ? ps_c3_ld(t + o * ts + v * PS_C3_VW) : ps_c3_zero();
    for (int c = 0; c < Ci; c++, x += g->xs)
        for (int k = 0; k < 9; k++, wp += ocb) {
            const float *r = x + g->off[k];
            ps_c3_v a[PS_C3_NV];
            PS_C3_UNROLL
            for (int v = 0; v < PS_C3_NV; v++)
                a[v] = ps_c3_ld(r + v * PS_C3_VW);
            PS_C3_UNROLL
            for (int o = 0; o < ocb; o++) {
                ps_c3_v wv = ps_c3_set1(wp[o]);
                PS_C3_UNROLL
                for (int v = 0; v < PS_C3_NV; v++)
                    acc[o][v] = ps_c3_fma(wv, a[v], acc[o][v]);
            }
        }
    PS_C3_UNROLL
    for (int o = 0; o < ocb; o++)
        PS_C3_UNROLL
        for (int v = 0; v < PS_C3_NV; v++)
            ps_c3_st(t + o * ts + v * PS_C3_VW, acc[o][v]);
}

PS_C3_KI void PS_C3_FN(ps_c3_tiles_n)(float *t, size_t ts, const float *x, const ps_c3_geom *g,
                                      const float *wp, int Ci, int ntiles, int ocb, int add)
{
    for (int i = 0; i < ntiles; i++)
        PS_C3_FN(ps_c3_tile)(t + (size_t)i * PS_C3_NV * PS_C3_VW, ts,
                             x + (size_t)i * PS_C3_NV * PS_C3_VW, g, wp, Ci, ocb, add);
}

/* One kernel per block size, so the accumulators are registers (sizes over PS_C3_OCB never
 * come: ps_c3_nblocks makes enough blocks). */
PS_C3_KT static void PS_C3_FN(ps_c3_tiles)(float *t, size_t ts, const float *x,
                                           const ps_c3_geom *g, const float *wp, int Ci,
                                           int ntiles, int ocb, int add)
{
#define PS_C3_CASE(n)                                                                            \
    case n: PS_C3_FN(ps_c3_tiles_n)(t, ts, x, g, wp, Ci, ntiles, PS_C3_MIN(n, PS_C3_OCB), add); \
        break;
    PS_C3_SWITCH(ocb, PS_C3_CASE)
#undef PS_C3_CASE
}

/* pv[((o*Ci + c)*9 + k)*VW + 0..VW-1] (VW partial sums each) += sum over the chunk's pixels p
 * of dz[o*zs + p] * x[c*xs + off[k] + p], for ocb output channels and every c and tap k. */
PS_C3_KI void PS_C3_FN(ps_c3_dw_n)(float *pv, const float *dz, size_t zs, const float *x,
                                   const ps_c3_geom *g, int Ci, int np, int ocb)
{
    for (int c = 0; c < Ci; c++)
        for (int ky = 0; ky < 3; ky++) {
            const float *r = x + c * g->xs, *r0 = r + g->off[ky * 3], *r1 = r + g->off[ky * 3 + 1];
            const float *r2 = r + g->off[ky * 3 + 2];
            ps_c3_v acc[PS_C3_DWB][3];
            PS_C3_UNROLL
            for (int o = 0; o < ocb; o++)
                acc[o][0] = acc[o][1] = acc[o][2] = ps_c3_zero();
            for (int p = 0; p < np; p += PS_C3_VW) {
                ps_c3_v x0 = ps_c3_ld(r0 + p), x1 = ps_c3_ld(r1 + p), x2 = ps_c3_ld(r2 + p);
                __asm__("" : PS_C3_VREG(x0)); /* in a register, not a load per FMA (below) */
                PS_C3_UNROLL
                for (int o = 0; o < ocb; o++) {
                    ps_c3_v d = ps_c3_lda(dz + o * zs + p);
                    /* one load for three FMAs: GCC would fold it into each of them, and 3 loads
                     * per 3 FMAs would make the loop wait on the load ports */
                    __asm__("" : PS_C3_VREG(d));
                    acc[o][0] = ps_c3_fma(d, x0, acc[o][0]);
                    acc[o][1] = ps_c3_fma(d, x1, acc[o][1]);
                    acc[o][2] = ps_c3_fma(d, x2, acc[o][2]);
                }
            }
            PS_C3_UNROLL
            for (int o = 0; o < ocb; o++)
                for (int kx = 0; kx < 3; kx++) {
                    float *v = pv + (((size_t)o * Ci + c) * 9 + ky * 3 + kx) * PS_C3_VW;
                    ps_c3_st(v, ps_c3_add(ps_c3_ld(v), acc[o][kx]));
                }
        }
}

PS_C3_KT static void PS_C3_FN(ps_c3_dw)(float *pv, const float *dz, size_t zs, const float *x,
                                        const ps_c3_geom *g, int Ci, int np, int ocb)
{
#define PS_C3_CASE(n)                                                                            \
    case n: PS_C3_FN(ps_c3_dw_n)(pv, dz, zs, x, g, Ci, np, PS_C3_MIN(n, PS_C3_DWB)); break;
    PS_C3_SWITCH(ocb, PS_C3_CASE)
#undef PS_C3_CASE
}

/* the sum of n vectors of VW partial sums, stride floats apart */
PS_C3_KT static float PS_C3_FN(ps_c3_sum)(const float *v, size_t stride, int n)
{
    ps_c3_v s = ps_c3_ld(v);
    for (int t = 1; t < n; t++)
        s = ps_c3_add(s, ps_c3_ld(v + t * stride));
    return ps_c3_hsum(s);
}

static const ps_c3_kern PS_C3_FN(ps_c3_kern) = {
    PS_C3_NV * PS_C3_VW, PS_C3_OCB, PS_C3_DWB, PS_C3_VW,
    PS_C3_FN(ps_c3_tiles), PS_C3_FN(ps_c3_dw), PS_C3_FN(ps_c3_sum), PS_C3_FN(ps_c3_split),
};

#undef PS_C3_CAT2
#undef PS_C3_CAT
#undef PS_C3_FN
#undef PS_C3_KT
#undef PS_C3_KI
#undef PS_C3_MIN
#undef PS_C3_SWITCH
#undef PS_C3_ISA
#undef PS_C3_TGT
#undef PS_C3_NV
#undef PS_C3_OCB
#undef PS_C3_DWB
#undef PS_C3_VW
#undef PS_C3_VREG
#undef ps_c3_v
#undef ps_c3_zero
#undef ps_c3_ld
#undef ps_c3_lda
#undef ps_c3_st
#undef ps_c3_set1
#undef ps_c3_fma
#undef ps_c3_add
#undef ps_c3_hsum
#undef ps_c3_deint
