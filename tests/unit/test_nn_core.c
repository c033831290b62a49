/* Engine plumbing: arena alignment/zeroing/reuse, the flat parameter table, RNG determinism,
 * graph status on bad shapes, leaf vs const tensors, and bitwise-deterministic Adam training. */
#include "src/nn/nn.h"
#include "check.h"
#include <stdint.h>
#include <string.h>

static void test_arena(void)
{
    ps_arena *a = ps_arena_new(4096);
    CHECK(a != NULL, "arena");
    unsigned char *p = ps_arena_alloc(a, 100);
    CHECK(((uintptr_t)p & 63) == 0, "aligned");
    memset(p, 0xAB, 100);
    unsigned char *big = ps_arena_alloc(a, 100000); /* bigger than a chunk */
    CHECK(big && ((uintptr_t)big & 63) == 0, "big alloc");
    CHECK(ps_arena_used(a) >= 100100, "used %zu", ps_arena_used(a));
    ps_arena_reset(a);
    CHECK(ps_arena_used(a) == 0, "reset");
    unsigned char *q = ps_arena_alloc(a, 100);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= q[i] == 0;
    CHECK(zero, "memory zeroed after reuse");
    ps_arena_free(a);
}

static void test_params(void)
{
    ps_params p;
    ps_params_init(&p);
    int a = ps_params_add(&p, "conv.w", 4, 3, 3, 3), b = ps_params_add(&p, "conv.b", 1, 1, 1, 4);
    CHECK(a == 0 && b == 1, "indices");
    ps_params bad;
    ps_params_init(&bad);
    ps_params_add(&bad, "ok", 1, 1, 1, 2);
    CHECK(ps_params_add(&bad, "bad", 0, 1, 1, 1) == -1, "bad shape rejected");
    CHECK(ps_params_alloc(&bad) != PS_OK, "a failed declaration makes alloc fail");
    ps_params_free(&bad);
    CHECK(ps_params_addf(&p, 1, 1, 1, 2, "x%d", 7) == 2 && ps_params_find(&p, "x7") == 2, "addf");
    CHECK(ps_params_alloc(&p) == PS_OK, "alloc");
    CHECK(p.total == 108 + 4 + 2 && p.off[1] == 108, "layout");
    CHECK(p.t[1].data == p.data + 108 && p.t[1].grad == p.grad + 108, "pointers");
    CHECK(ps_params_find(&p, "conv.b") == 1 && ps_params_find(&p, "nope") == -1, "find");
    ps_params_init_he(&p, a, 1.0f, 3);
    double ss = 0;
    for (int i = 0; i < 108; i++)
        ss += (double)p.t[a].data[i] * p.t[a].data[i];
    /* std 1/sqrt(27): sample variance of 108 normals within a loose 2x band */
    CHECK(ss / 108 > 0.5 / 27 && ss / 108 < 2.0 / 27, "he variance %g", ss / 108);
    ps_params_fill(&p, b, 0.25f);
    CHECK(p.t[b].data[3] == 0.25f, "fill");
    ps_params_free(&p);
}

static void test_rng(void)
{
    ps_rng r1, r2, ru, rn;
    ps_rng_seed(&r1, 42), ps_rng_seed(&r2, 42), ps_rng_seed(&ru, 1), ps_rng_seed(&rn, 2);
    int same = 1, in_range = 1;
    double s = 0, ss = 0;
    for (int i = 0; i < 10000; i++) {
        same &= ps_rng_u64(&r1) == ps_rng_u64(&r2);
        float u = ps_rng_uniform(&ru);
        in_range &= u >= 0.0f && u < 1.0f;
        float z = ps_rng_normal(&rn);
        s += z, ss += (double)z * z;
    }
    CHECK(same, "same seed, same stream");
    CHECK(in_range, "uniform in [0, 1)");
    CHECK(fabs(s / 10000) < 0.05 && fabs(ss / 10000 - 1) < 0.05, "normal moments %g %g",
          s / 10000, ss / 10000);
}

static void test_graph_errors(void)
{
    ps_graph *g = ps_graph_new(1 << 16);
    ps_tensor *x = ps_tensor_const(g, 1, 3, 8, 8), *w = ps_tensor_leaf(g, 4, 2, 3, 3);
    CHECK(x->grad == NULL && w->grad != NULL, "const has no grad, leaf has one");
    ps_tensor *y = ps_conv2d(g, x, w, NULL, 1, 1); /* 3 vs 2 input channels */
    CHECK(y == NULL && ps_graph_status(g) == PS_EINTERNAL, "shape error recorded");
    CHECK(strstr(ps_last_error(), "conv2d") != NULL, "message names the op: %s", ps_last_error());
    CHECK(ps_relu(g, x) == NULL, "later ops return NULL");
    ps_graph_reset(g);
    CHECK(ps_graph_status(g) == PS_OK, "reset clears status");
    /* a shape whose size overflows is refused before any allocation */
    CHECK(ps_tensor_new(g, 1 << 30, 1 << 30, 1 << 30, 4) == NULL &&
              ps_graph_status(g) == PS_EINTERNAL, "overflowing shape");
    ps_graph_reset(g);
#ifndef __SANITIZE_ADDRESS__ /* ASan aborts on absurd malloc sizes instead of returning NULL */
    /* out of memory (4 TB) is a status, not a crash; later ops return NULL */
    ps_tensor *small = ps_tensor_const(g, 1, 1, 2, 2);
    ps_tensor *huge = ps_tensor_new(g, 1 << 20, 1 << 20, 1, 1);
    CHECK(huge == NULL && ps_graph_status(g) == PS_EINTERNAL, "OOM status");
    CHECK(strstr(ps_last_error(), "out of memory") != NULL, "OOM message: %s", ps_last_error());
    CHECK(small && ps_relu(g, small) == NULL, "ops after OOM return NULL");
    ps_graph_reset(g);
#endif
    /* const input: the op records nothing and its output has no gradient */
    ps_tensor *r = ps_relu(g, ps_tensor_const(g, 1, 1, 2, 2));
    CHECK(r && r->grad == NULL && ps_graph_tape_size(g) == 0, "no tape for const inputs");
    ps_graph_free(g);
}

/* Frozen parameters take no gradient; a seeded backward scales like its seed; wrap copies no
 * data. */
static void test_freeze_seed_wrap(void)
{
    ps_params p;
    ps_params_init(&p);
    int w = ps_params_add(&p, "w", 2, 3, 3, 3);
    ps_params_alloc(&p);
    ps_params_init_normal(&p, w, 0.5f, 1);
    ps_graph *g = ps_graph_new(1 << 16);
    float img[3 * 5 * 5];
    for (int i = 0; i < 75; i++)
        img[i] = (float)(i % 7) - 3.0f;
    ps_tensor *x = ps_tensor_wrap(g, img, 1, 3, 5, 5);
    CHECK(x && x->data == img && x->grad == NULL, "wrap views the caller's data");

    ps_params_freeze(&p, 1);
    ps_tensor *y = ps_conv2d(g, x, &p.t[w], NULL, 1, 1);
    CHECK(y && y->grad == NULL && ps_graph_tape_size(g) == 0, "frozen: nothing to record");
    ps_params_freeze(&p, 0);
    CHECK(p.t[w].grad == p.grad + p.off[w], "unfreeze points back into the flat buffer");

    ps_graph_reset(g);
    x = ps_tensor_wrap(g, img, 1, 3, 5, 5);
    y = ps_conv2d(g, x, &p.t[w], NULL, 1, 1);
    ps_graph_backward(g, y);
    float g1 = p.grad[5];
    float seed[2 * 5 * 5];
    for (int i = 0; i < 50; i++)
        seed[i] = 2.0f;
    ps_params_zero_grad(&p);
    ps_graph_backward_seed(g, y, seed);
    CHECK(g1 != 0.0f && p.grad[5] == 2.0f * g1, "seed 2 doubles: %g vs %g", p.grad[5], g1);

    CHECK(ps_tensor_wrap(g, NULL, 1, 1, 1, 1) == NULL && ps_graph_status(g) == PS_EINTERNAL,
          "wrap without data is an error");
    ps_graph_free(g);
    ps_params_free(&p);
}

/* A tiny conv net trained a few Adam steps from a seed; returns its parameters' checksum data. */
static void train(ps_params *p, uint64_t seed)
{
    ps_params_init(p);
    int w1 = ps_params_add(p, "w1", 8, 3, 3, 3), b1 = ps_params_add(p, "b1", 1, 1, 1, 8);
    int w2 = ps_params_add(p, "w2", 3, 8, 3, 3);
    ps_params_alloc(p);
    ps_params_init_he(p, w1, 1.41f, seed);
    ps_params_init_he(p, w2, 1.0f, seed);
    ps_params_fill(p, b1, 0.01f);
    ps_adam opt = {1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f};
    ps_graph *g = ps_graph_new(1 << 20);
    ps_rng r;
    ps_rng_seed(&r, seed);
    float first = 0, last = 0;
    for (int step = 0; step < 5; step++) {
        ps_graph_reset(g);
        ps_tensor *x = ps_tensor_const(g, 2, 3, 16, 16), *t = ps_tensor_const(g, 2, 3, 16, 16);
        for (size_t i = 0; i < ps_tensor_numel(x); i++) {
            x->data[i] = ps_rng_uniform(&r);
            t->data[i] = 1.0f - x->data[i];
        }
        ps_tensor *h = ps_gelu(g, ps_conv2d(g, x, &p->t[w1], &p->t[b1], 1, 1));
        ps_tensor *loss = ps_mse_loss(g, ps_conv2d(g, h, &p->t[w2], NULL, 1, 1), t);
        ps_params_zero_grad(p);
        ps_graph_backward(g, loss);
        ps_adam_step(p, &opt);
        if (step == 0)
            first = loss->data[0];
        last = loss->data[0];
    }
    CHECK(last < first, "training reduces the loss: %g -> %g", first, last);
    CHECK(p->step == 5, "adam step count");
    ps_graph_free(g);
}

static void test_determinism(void)
{
    ps_params a, b, c;
    train(&a, 11), train(&b, 11), train(&c, 12);
    CHECK(!memcmp(a.data, b.data, a.total * sizeof(float)), "same seed, bitwise same params");
    CHECK(memcmp(a.data, c.data, a.total * sizeof(float)) != 0, "other seed, other params");
    ps_params_free(&a), ps_params_free(&b), ps_params_free(&c);
}

int main(void)
{
    ps_threads_init(0);
    test_arena();
    test_params();
    test_rng();
    test_graph_errors();
    test_freeze_seed_wrap();
    test_determinism();
    return check_done("test_nn_core");
}
