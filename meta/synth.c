/* Style sampling and rendering: draws a (color, texture, stroke) triple from a seed and applies it,
 * producing the full render and the three one-op partial renders used as ground truth. */
#include "meta/synth_impl.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const synth_family *group_table(ps_group g, int *n)
{
    switch (g) {
    case PS_COLOR: *n = ps_synth__ncolor; return ps_synth__color;
    case PS_TEXTURE: *n = ps_synth__ntexture; return ps_synth__texture;
    case PS_STROKE: *n = ps_synth__nstroke; return ps_synth__stroke;
    default: *n = 0; return NULL;
    }
}

int ps_synth_family_count(ps_group g)
{
    int n;
    group_table(g, &n);
    return n;
}

const char *ps_synth_family_name(ps_group g, int family)
{
    int n;
    const synth_family *t = group_table(g, &n);
    return t && family >= 0 && family < n ? t[family].name : NULL;
}

const char *ps_synth_group_name(ps_group g)
{
    static const char *names[PS_NGROUPS] = {"color", "texture", "stroke"};
    return (unsigned)g < PS_NGROUPS ? names[g] : NULL;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static float unit(uint64_t *s) { return (float)(splitmix64(s) >> 40) * (1.f / 16777216.f); }

void ps_synth_sample(uint64_t seed, ps_synth_style *st)
{
    uint64_t s = seed;
    memset(st, 0, sizeof *st);
    st->seed = seed;
    /* Training draws leave a group untouched 1 time in 4 and, 1 style in 16, all three: samples
     * with no style exist, and a model that always grades shifts a natural photo's colours (the
     * external set's control). The validation styles keep the draw they were fixed with. */
    int train = !ps_synth_is_val_seed(seed), active = 0;
    for (int g = 0; g < PS_NGROUPS; g++) {
        ps_synth_op *op = &st->op[g];
        op->family = (int)(splitmix64(&s) % (uint64_t)ps_synth_family_count((ps_group)g));
        /* styles without one of the three aspects exist, and the model must learn that a group
         * can be empty */
        int identity = splitmix64(&s) % (train ? 4 : 8) == 0;
        float t = 0.65f + 0.35f * unit(&s);
        op->intensity = identity ? 0.f : t;
        for (int i = 0; i < PS_SYNTH_NPARAM; i++)
            op->p[i] = unit(&s);
        op->seed = (uint32_t)splitmix64(&s);
        active += !identity;
    }
    if (train && splitmix64(&s) % 16 == 0)
        for (int g = 0; g < PS_NGROUPS; g++)
            st->op[g].intensity = 0.f;
    else if (!active)
        st->op[splitmix64(&s) % PS_NGROUPS].intensity = 0.65f + 0.35f * unit(&s);
}

/* Validation styles live in the upper half of the seed space, training seeds in the lower. */
uint64_t ps_synth_val_seed(int i) { return (1ULL << 63) | (uint64_t)(uint32_t)i; }
int ps_synth_is_val_seed(uint64_t seed) { return (int)(seed >> 63); }

void ps_synth_describe(const ps_synth_style *st, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (int g = 0; g < PS_NGROUPS && off < n; g++) {
        const ps_synth_op *op = &st->op[g];
        int r;
        if (op->intensity <= 0.f)
            r = snprintf(buf + off, n - off, "%s%s=none", g ? " " : "", ps_synth_group_name((ps_group)g));
        else
            r = snprintf(buf + off, n - off, "%s%s=%s(%.2f)", g ? " " : "", ps_synth_group_name((ps_group)g),
                         ps_synth_family_name((ps_group)g, op->family), (double)op->intensity);
        if (r < 0)
            return;
        off += (size_t)r;
    }
}

/* Run one op from src to dst planes, blended with src by its intensity (identity at 0). */
static void apply_op(ps_group g, const ps_synth_op *op, const synth_ctx *cx, float *const src[3],
                     float *const dst[3])
{
    size_t n = (size_t)cx->w * cx->h;
    int nf;
    const synth_family *t = group_table(g, &nf);
    if (op->intensity <= 0.f || op->family < 0 || op->family >= nf) {
        for (int c = 0; c < 3; c++)
            memcpy(dst[c], src[c], n * sizeof(float));
        return;
    }
    t[op->family].fn(op, cx, src, dst);
    float a = op->intensity > 1.f ? 1.f : op->intensity;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++)
            dst[c][i] = synth_clamp01(src[c][i] + a * (dst[c][i] - src[c][i]));
}

static void to_linear(ps_image *out, float *const src[3])
{
    size_t n = (size_t)out->w * out->h;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++)
            out->px[c * n + i] = src[c][i] * src[c][i];
}

static ps_status check_out(const ps_image *o, const ps_image *in, const char *what)
{
    if (o && (!o->px || o->w != in->w || o->h != in->h || o->c != 3))
        return ps_fail(PS_EUSAGE, "synth render: %s output must be %dx%d with 3 channels", what, in->w, in->h);
    return PS_OK;
}

ps_status ps_synth_render(const ps_synth_style *st, const ps_image *in, ps_image *out_full, ps_image *out_color,
                          ps_image *out_texture, ps_image *out_stroke)
{
    if (!st || !in || !in->px || in->w < 1 || in->h < 1 || in->c < 3)
        return ps_fail(PS_EUSAGE, "synth render: need an RGB input image");
    ps_status s;
    if ((s = check_out(out_full, in, "full")) || (s = check_out(out_color, in, "color")) ||
        (s = check_out(out_texture, in, "texture")) || (s = check_out(out_stroke, in, "stroke")))
        return s;
    size_t n = (size_t)in->w * in->h, pl = n + (size_t)in->w; /* planes get a spare row */
    float *mem = malloc(sizeof(float) * pl * (9 + SYNTH_NTMP));
    if (!mem)
        return ps_fail(PS_EINTERNAL, "synth render: out of memory for %dx%d", in->w, in->h);
    float S = (float)(in->w < in->h ? in->w : in->h);
    synth_ctx cx = {.w = in->w, .h = in->h, .S = st->scale > 0 ? st->scale * S : S};
    float *disp[3], *a[3], *b[3];
    for (int c = 0; c < 3; c++) {
        disp[c] = mem + (size_t)c * pl;
        a[c] = mem + (size_t)(3 + c) * pl;
        b[c] = mem + (size_t)(6 + c) * pl;
    }
    for (int k = 0; k < SYNTH_NTMP; k++)
        cx.tmp[k] = mem + (size_t)(9 + k) * pl;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++)
            disp[c][i] = sqrtf(synth_clamp01(in->px[c * n + i]));
    /* stroke comes first in the full render, so the stroke partial is its first stage */
    if (out_full || out_stroke)
        apply_op(PS_STROKE, &st->op[PS_STROKE], &cx, disp, a);
    if (out_stroke)
        to_linear(out_stroke, a);
    if (out_full) {
        apply_op(PS_TEXTURE, &st->op[PS_TEXTURE], &cx, a, b);
        apply_op(PS_COLOR, &st->op[PS_COLOR], &cx, b, a);
        to_linear(out_full, a);
    }
    ps_image *partial[2] = {out_color, out_texture};
    for (int g = 0; g < 2; g++)
        if (partial[g]) {
            apply_op((ps_group)g, &st->op[g], &cx, disp, a);
            to_linear(partial[g], a);
        }
    free(mem);
    return PS_OK;
}
