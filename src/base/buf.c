/* Growable byte buffer for the file formats pstyle writes (.psm models, style exports). */
#include "src/base/base.h"
#include <stdlib.h>
#include <string.h>

void ps_buf_put(ps_buf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (src && n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

void ps_buf_put_le(ps_buf *b, uint64_t v, int bytes)
{
    unsigned char t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    ps_buf_put(b, t, (size_t)bytes);
}

void ps_buf_free(ps_buf *b)
{
    free(b->p);
    *b = (ps_buf){0};
}
