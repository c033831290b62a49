/* The tape: tensors come from the graph's arena, ops push backward closures, and backward replays
 * them in reverse. Gradients of graph-made tensors are zeroed at the start of every backward;
 * leaves (ps_tensor_leaf) and parameters accumulate, so backward twice doubles their gradients. */
#include "nn_impl.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    ps_backward_fn fn;
    void *ctx;
} ps_tape_entry;

struct ps_graph {
    ps_arena *arena;
    int grad_on;
    ps_status status;
    ps_tape_entry *tape;
    size_t ntape, cap_tape;
    ps_tensor **zero;   /* graph-made tensors whose grad is cleared before each backward */
    size_t nzero, cap_zero;
    float *scratch;
    size_t scratch_floats;
};

ps_graph *ps_graph_new(size_t arena_chunk_bytes)
{
    ps_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->arena = ps_arena_new(arena_chunk_bytes);
    if (!g->arena) {
        free(g);
        return NULL;
    }
    g->grad_on = 1;
    return g;
}

void ps_graph_free(ps_graph *g)
{
    if (!g)
        return;
    ps_arena_free(g->arena);
    free(g->tape);
    free(g->zero);
    free(g->scratch);
    free(g);
}

void ps_graph_reset(ps_graph *g)
{
    ps_arena_reset(g->arena);
    g->ntape = g->nzero = 0;
    g->status = PS_OK;
}

void ps_graph_set_grad(ps_graph *g, int on) { g->grad_on = on != 0; }
int ps_graph_grad_on(const ps_graph *g) { return g->grad_on; }
ps_arena *ps_graph_arena(ps_graph *g) { return g->arena; }
ps_status ps_graph_status(const ps_graph *g) { return g->status; }
size_t ps_graph_tape_size(const ps_graph *g) { return g->ntape; }

static void ps_graph_oom(ps_graph *g, const char *what, size_t bytes)
{
    if (g->status == PS_OK)
        g->status = ps_fail(PS_EINTERNAL, "%s: out of memory (%zu bytes)", what, bytes);
}

ps_tensor *ps_nn_bad(ps_graph *g, const char *fmt, ...)
{
    if (g->status == PS_OK) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        g->status = ps_fail(PS_EINTERNAL, "%s", msg);
    }
    return NULL;
}

int ps_nn_live(ps_graph *g, const ps_tensor *a, const ps_tensor *b)
{
    if (g->status != PS_OK)
        return 0;
    if (!a || !b) { /* only reachable without a status when a caller passed NULL itself */
        ps_nn_bad(g, "op: NULL input tensor");
        return 0;
    }
    return 1;
}

void *ps_nn_alloc(ps_graph *g, size_t bytes)
{
    void *p = ps_arena_alloc(g->arena, bytes);
    if (!p)
        ps_graph_oom(g, "graph arena", bytes);
    return p;
}

void *ps_graph_ctx(ps_graph *g, size_t bytes)
{
    return ps_nn_alloc(g, bytes);
}

static int ps_graph_track(ps_graph *g, ps_tensor *t)
{
    if (g->nzero == g->cap_zero) {
        size_t cap = g->cap_zero ? 2 * g->cap_zero : 256;
        ps_tensor **z = realloc(g->zero, cap * sizeof *z);
        if (!z) {
            ps_graph_oom(g, "graph tensor list", cap * sizeof *z);
            return -1;
        }
        g->zero = z;
        g->cap_zero = cap;
    }
    g->zero[g->nzero++] = t;
    return 0;
}

/* Shared by every way of making a tensor: zero_data for the public constructors, with_grad
 * when a gradient buffer is wanted, track when that gradient is cleared before each backward. */
static ps_tensor *ps_graph_make(ps_graph *g, int n, int c, int h, int w, int zero_data,
                                int with_grad, int track)
{
    if (g->status != PS_OK)
        return NULL;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return ps_nn_bad(g, "tensor: bad shape (%d,%d,%d,%d)", n, c, h, w);
    size_t numel = (size_t)n * (size_t)c;
    if (numel > SIZE_MAX / 4 / (size_t)h || numel * h > SIZE_MAX / 4 / (size_t)w)
        return ps_nn_bad(g, "tensor: shape (%d,%d,%d,%d) too large", n, c, h, w);
    numel = numel * h * w;
    ps_tensor *t = ps_nn_alloc(g, sizeof *t);
    if (!t)
        return NULL;
    *t = (ps_tensor){n, c, h, w, NULL, NULL};
    size_t bytes = numel * sizeof(float);
    t->data = zero_data ? ps_arena_alloc(g->arena, bytes) : ps_nn_arena_alloc_raw(g->arena, bytes);
    if (!t->data) {
        ps_graph_oom(g, "tensor", bytes);
        return NULL;
    }
    if (with_grad) {
        t->grad = ps_nn_alloc(g, bytes);
        if (!t->grad || (track && ps_graph_track(g, t)))
            return NULL;
    }
    return t;
}

ps_tensor *ps_tensor_new(ps_graph *g, int n, int c, int h, int w)
{
    return ps_graph_make(g, n, c, h, w, 1, g->grad_on, 1);
}

ps_tensor *ps_tensor_const(ps_graph *g, int n, int c, int h, int w)
{
    return ps_graph_make(g, n, c, h, w, 1, 0, 0);
}

ps_tensor *ps_tensor_wrap(ps_graph *g, float *data, int n, int c, int h, int w)
{
    if (g->status != PS_OK)
        return NULL;
    if (!data || n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return ps_nn_bad(g, "tensor_wrap: no data or bad shape (%d,%d,%d,%d)", n, c, h, w);
    ps_tensor *t = ps_nn_alloc(g, sizeof *t);
    if (t)
        *t = (ps_tensor){n, c, h, w, data, NULL};
    return t;
}

ps_tensor *ps_tensor_leaf(ps_graph *g, int n, int c, int h, int w)
{
    return ps_graph_make(g, n, c, h, w, 1, 1, 0);
}

ps_tensor *ps_nn_out(ps_graph *g, int need_grad, int n, int c, int h, int w)
{
    return ps_graph_make(g, n, c, h, w, 0, need_grad && g->grad_on, 1);
}

float *ps_nn_scratch(ps_graph *g, size_t floats)
{
    if (g->status != PS_OK)
        return NULL;
    if (floats > g->scratch_floats) {
        free(g->scratch);
        g->scratch = aligned_alloc(64, (floats * sizeof(float) + 63) & ~(size_t)63);
        g->scratch_floats = g->scratch ? floats : 0;
        if (!g->scratch) {
            ps_graph_oom(g, "op scratch", floats * sizeof(float));
            return NULL;
        }
    }
    return g->scratch;
}

void ps_graph_push(ps_graph *g, ps_backward_fn fn, void *ctx)
{
    if (g->status != PS_OK || !g->grad_on)
        return;
    if (g->ntape == g->cap_tape) {
        size_t cap = g->cap_tape ? 2 * g->cap_tape : 256;
        ps_tape_entry *t = realloc(g->tape, cap * sizeof *t);
        if (!t) {
            ps_graph_oom(g, "graph tape", cap * sizeof *t);
            return;
        }
        g->tape = t;
        g->cap_tape = cap;
    }
    g->tape[g->ntape++] = (ps_tape_entry){fn, ctx};
}

void ps_graph_backward_seed(ps_graph *g, ps_tensor *t, const float *seed)
{
    if (g->status != PS_OK || !t || !t->grad)
        return;
    for (size_t i = 0; i < g->nzero; i++)
        memset(g->zero[i]->grad, 0, ps_tensor_numel(g->zero[i]) * sizeof(float));
    size_t n = ps_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        t->grad[i] += seed ? seed[i] : 1.0f;
    for (size_t i = g->ntape; i-- > 0;)
        g->tape[i].fn(g->tape[i].ctx);
}

void ps_graph_backward(ps_graph *g, ps_tensor *loss)
{
    ps_graph_backward_seed(g, loss, NULL);
}

/* ---- threads ------------------------------------------------------------------------------- */
void ps_threads_init(int n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = cores > 0 ? (int)cores : 1;
    const char *e = getenv("PSTYLE_THREADS");
    if (e && atoi(e) > 0 && atoi(e) < n)
        n = atoi(e);
    /* GEMMs are called from the main thread only, never inside an OpenMP region, so OpenBLAS's
     * pool and OpenMP's never run at the same time and n of each does not oversubscribe. */
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}
