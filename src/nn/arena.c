/* Arena for per-step memory (activations, gradients, op contexts): bump allocation from chunks,
 * reset once per step. After a step that needed several chunks, reset merges them into one of
 * the high-water size, so steady-state steps allocate from a single block and never malloc. */
#include "nn_impl.h"
#include <stdlib.h>
#include <string.h>

#define PS_ARENA_ALIGN 64

typedef struct ps_arena_chunk {
    struct ps_arena_chunk *next;
    size_t cap, used;
    unsigned char *mem;
} ps_arena_chunk;

struct ps_arena {
    size_t chunk_bytes;
    ps_arena_chunk *head, *cur; /* cur: the chunk allocations currently come from */
};

static ps_arena_chunk *ps_arena_chunk_new(size_t cap)
{
    ps_arena_chunk *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->mem = aligned_alloc(PS_ARENA_ALIGN, cap);
    if (!c->mem) {
        free(c);
        return NULL;
    }
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

ps_arena *ps_arena_new(size_t chunk_bytes)
{
    ps_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (chunk_bytes < 4096)
        chunk_bytes = 4096;
    a->chunk_bytes = (chunk_bytes + PS_ARENA_ALIGN - 1) & ~(size_t)(PS_ARENA_ALIGN - 1);
    a->head = a->cur = ps_arena_chunk_new(a->chunk_bytes);
    if (!a->head) {
        free(a);
        return NULL;
    }
    return a;
}

void *ps_nn_arena_alloc_raw(ps_arena *a, size_t bytes)
{
    if (bytes > SIZE_MAX - PS_ARENA_ALIGN)
        return NULL;
    size_t need = (bytes + PS_ARENA_ALIGN - 1) & ~(size_t)(PS_ARENA_ALIGN - 1);
    if (need == 0)
        need = PS_ARENA_ALIGN;
    /* Try the current chunk and the later ones kept from earlier steps. */
    for (ps_arena_chunk *c = a->cur; c; c = c->next) {
        if (c->cap - c->used >= need) {
            void *p = c->mem + c->used;
            c->used += need;
            a->cur = c;
            return p;
        }
    }
    ps_arena_chunk *c = ps_arena_chunk_new(need > a->chunk_bytes ? need : a->chunk_bytes);
    if (!c)
        return NULL;
    ps_arena_chunk *last = a->cur;
    while (last->next)
        last = last->next;
    last->next = c;
    c->used = need;
    a->cur = c;
    return c->mem;
}

void *ps_arena_alloc(ps_arena *a, size_t bytes)
{
    void *p = ps_nn_arena_alloc_raw(a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void ps_arena_reset(ps_arena *a)
{
    if (a->head->next) {
        size_t total = 0;
        for (ps_arena_chunk *c = a->head; c; c = c->next)
            total += c->cap;
        ps_arena_chunk *big = ps_arena_chunk_new(total);
        if (big) { /* if the merge fails we simply keep the old chunks */
            ps_arena_chunk *c = a->head;
            while (c) {
                ps_arena_chunk *next = c->next;
                free(c->mem);
                free(c);
                c = next;
            }
            a->head = big;
        }
    }
    for (ps_arena_chunk *c = a->head; c; c = c->next)
        c->used = 0;
    a->cur = a->head;
}

size_t ps_arena_used(const ps_arena *a)
{
    size_t u = 0;
    for (const ps_arena_chunk *c = a->head; c; c = c->next)
        u += c->used;
    return u;
}

void ps_arena_free(ps_arena *a)
{
    if (!a)
        return;
    ps_arena_chunk *c = a->head;
    while (c) {
        ps_arena_chunk *next = c->next;
        free(c->mem);
        free(c);
        c = next;
    }
    free(a);
}
