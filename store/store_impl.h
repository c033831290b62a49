/* Store internals shared by store.c (SQLite) and store_file.c (export files): the byte order of
 * float arrays on disk and record validation. Not part of the public API. */
#ifndef PS_STORE_IMPL_H
#define PS_STORE_IMPL_H
#include "store/store.h"
#include <stddef.h>

/* Floats travel as IEEE-754 float32 little-endian, whatever the host. */
void ps_store_f32_to_le(unsigned char *dst, const float *src, size_t n);
void ps_store_f32_from_le(float *dst, const unsigned char *src, size_t n);
/* PS_EINPUT unless rec/samples are storable: names, model hash, token dims, sample hashes. */
ps_status ps_store_check_rec(const ps_style_rec *rec, const ps_sample_rec *samples, int n);
/* Number of token floats of rec, or -1 if the dims are out of range. */
long ps_store_n_tokens(const ps_style_rec *rec);
/* Duplicate n bytes (NULL for n == 0 or src NULL); NULL with errno ENOMEM on failure. */
void *ps_store_memdup(const void *src, size_t n);

#endif
