/* Parameters in one flat buffer plus a pointer table (llm.c style): grad, Adam m and v share the
 * layout, so the optimizer is one loop, a checkpoint one write and MAML fast weights one memcpy.
 * Also the deterministic RNG (xoroshiro128+ seeded by splitmix64) and AdamW. */
#include "nn_impl.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rng ------------------------------------------------------------------------------------ */
static uint64_t ps_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ps_rng_seed(ps_rng *r, uint64_t seed)
{
    r->s[0] = ps_splitmix64(&seed);
    r->s[1] = ps_splitmix64(&seed);
}

uint64_t ps_rng_u64(ps_rng *r)
{
    uint64_t s0 = r->s[0], s1 = r->s[1], res = s0 + s1;
    s1 ^= s0;
    r->s[0] = ((s0 << 24) | (s0 >> 40)) ^ s1 ^ (s1 << 16);
    r->s[1] = (s1 << 37) | (s1 >> 27);
    return res;
}

float ps_rng_uniform(ps_rng *r)
{
    return (float)(ps_rng_u64(r) >> 40) * (1.0f / 16777216.0f); /* 24 bits: exact in float */
}

float ps_rng_normal(ps_rng *r)
{
    /* Box-Muller in double; u1 in (0, 1] so the log is finite. */
    double u1 = ((ps_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (ps_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---- params --------------------------------------------------------------------------------- */
void ps_params_init(ps_params *p)
{
    memset(p, 0, sizeof *p);
}

int ps_params_add(ps_params *p, const char *name, int n, int c, int h, int w)
{
    if (p->data || n <= 0 || c <= 0 || h <= 0 || w <= 0 || strlen(name) >= sizeof p->name[0]) {
        ps_fail(PS_EINTERNAL, "parameter '%s': bad shape or name, or added after alloc", name);
        p->failed = 1;
        return -1;
    }
    if (p->count == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        char(*nm)[64] = realloc(p->name, (size_t)cap * sizeof *nm);
        if (nm)
            p->name = nm;
        ps_tensor *t = realloc(p->t, (size_t)cap * sizeof *t);
        if (t)
            p->t = t;
        size_t *off = realloc(p->off, (size_t)cap * sizeof *off);
        if (off)
            p->off = off;
        if (!nm || !t || !off) {
            ps_fail(PS_EINTERNAL, "parameter '%s': out of memory", name);
            p->failed = 1;
            return -1;
        }
        p->cap = cap;
    }
    int i = p->count++;
    snprintf(p->name[i], sizeof p->name[i], "%s", name);
    p->t[i] = (ps_tensor){n, c, h, w, NULL, NULL};
    p->off[i] = p->total;
    p->total += ps_tensor_numel(&p->t[i]);
    return i;
}

int ps_params_addf(ps_params *p, int n, int c, int h, int w, const char *fmt, ...)
{
    char name[sizeof p->name[0] + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap); /* one byte over: too long is refused by add */
    va_end(ap);
    return ps_params_add(p, name, n, c, h, w);
}

ps_status ps_params_alloc(ps_params *p)
{
    if (p->failed)
        return ps_fail(PS_EINTERNAL, "parameters: a declaration failed (out of memory?)");
    if (p->data)
        return ps_fail(PS_EUSAGE, "parameters: already allocated");
    size_t bytes = (p->total ? p->total : 1) * sizeof(float);
    p->data = calloc(1, bytes);
    p->grad = calloc(1, bytes);
    p->m = calloc(1, bytes);
    p->v = calloc(1, bytes);
    if (!p->data || !p->grad || !p->m || !p->v) {
        free(p->data), free(p->grad), free(p->m), free(p->v);
        p->data = p->grad = p->m = p->v = NULL;
        return ps_fail(PS_EINTERNAL, "parameters: out of memory for %zu floats", p->total);
    }
    for (int i = 0; i < p->count; i++) {
        p->t[i].data = p->data + p->off[i];
        p->t[i].grad = p->grad + p->off[i];
    }
    p->step = 0;
    return PS_OK;
}

int ps_params_find(const ps_params *p, const char *name)
{
    for (int i = 0; i < p->count; i++)
        if (!strcmp(p->name[i], name))
            return i;
    return -1;
}

void ps_params_free(ps_params *p)
{
    free(p->name), free(p->t), free(p->off);
    free(p->data), free(p->grad), free(p->m), free(p->v);
    ps_params_init(p);
}

void ps_params_zero_grad(ps_params *p)
{
    if (p->grad)
        memset(p->grad, 0, p->total * sizeof(float));
}

void ps_params_freeze(ps_params *p, int frozen)
{
    for (int i = 0; i < p->count; i++)
        p->t[i].grad = frozen || !p->grad ? NULL : p->grad + p->off[i];
}

void ps_params_init_normal(ps_params *p, int idx, float std, uint64_t seed)
{
    ps_rng r;
    /* Mix the index in so one seed gives every tensor its own stream. */
    ps_rng_seed(&r, seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(idx + 1)));
    ps_tensor *t = &p->t[idx];
    size_t n = ps_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        t->data[i] = std * ps_rng_normal(&r);
}

void ps_params_init_he(ps_params *p, int idx, float gain, uint64_t seed)
{
    const ps_tensor *t = &p->t[idx];
    /* conv (OC,IC,K,K): fan_in = IC*K*K; linear (1,1,IN,OUT): fan_in = IN */
    int fan_in = (t->n == 1 && t->c == 1) ? t->h : t->c * t->h * t->w;
    ps_params_init_normal(p, idx, gain / sqrtf((float)fan_in), seed);
}

void ps_params_fill(ps_params *p, int idx, float value)
{
    ps_tensor *t = &p->t[idx];
    size_t n = ps_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        t->data[i] = value;
}

/* ---- AdamW ---------------------------------------------------------------------------------- */
void ps_adam_step(ps_params *p, const ps_adam *o)
{
    p->step++;
    float bc1 = 1.0f / (1.0f - powf(o->beta1, (float)p->step));
    float bc2 = 1.0f / (1.0f - powf(o->beta2, (float)p->step));
    for (int i = 0; i < p->count; i++) {
        const ps_tensor *t = &p->t[i];
        size_t n = ps_tensor_numel(t);
        /* decoupled decay only on matrices/kernels; vectors (biases, norm gains) are exempt */
        float decay = n <= (size_t)t->w ? 0.0f : o->lr * o->weight_decay;
        float *x = t->data, *gr = t->grad, *m = p->m + p->off[i], *v = p->v + p->off[i];
        for (size_t j = 0; j < n; j++) {
            float gj = gr[j];
            m[j] = o->beta1 * m[j] + (1.0f - o->beta1) * gj;
            v[j] = o->beta2 * v[j] + (1.0f - o->beta2) * gj * gj;
            float mh = m[j] * bc1, vh = v[j] * bc2;
            x[j] -= o->lr * mh / (sqrtf(vh) + o->eps) + decay * x[j];
        }
    }
}
