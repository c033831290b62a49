/* Internals shared by the image module's files (not part of the contract in img.h). */
#ifndef PS_IMG_IMPL_H
#define PS_IMG_IMPL_H
#include "img.h"

/* lut[i] = linear value of sRGB code i of n (n = 256 or 65536). */
void ps_img__srgb_lut(float *lut, int n);
/* Rows sy0 .. sy0+n-1 of a stored image, interleaved sRGB samples (depth 8 or 16 bits, 1..4
 * channels, src pointing at row sy0) -> their place in the planar linear dst (already allocated
 * with its display size, c 3 or 4), applying EXIF orientation 1..8 on the way: the stored image is
 * w x h for orientations 1..4 and h x w for 5..8. Alpha is scaled, not lut'd. Called on bands, a
 * decoder needs no full-size copy of the samples. */
void ps_img__unpack_rows(ps_image *dst, const void *src, int sy0, int n, int depth, int channels,
                         int orient, const float *lut);

#endif
