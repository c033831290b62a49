/* Images: decode (stb_image, EXIF orientation, size caps), sRGB <-> linear, resize, encode.
 * In memory an image is planar float (C planes of H*W), color in LINEAR RGB in [0,1], so that it
 * is directly an NCHW tensor with N=1. Alpha, when present, is plane 3 and is not linearized. */
#ifndef PS_IMG_H
#define PS_IMG_H
#include "pstyle.h"

typedef struct ps_image {
    int w, h, c;   /* c = 3 (RGB) or 4 (RGBA); grayscale input is expanded to RGB */
    float *px;     /* c * h * w floats, planar */
} ps_image;

#define PS_IMG_MAX_PIXELS 100000000LL /* refuse headers claiming more, before allocating */
#define PS_IMG_MAX_SIDE 32768

/* Load any of JPEG, PNG (8/16 bit), BMP, TGA, grayscale, alpha. JPEG EXIF orientation applied.
 * Errors (PS_EINPUT): "<path>: <reason>" for missing, empty, directory, truncated, corrupt,
 * non-image, too large. */
ps_status ps_img_load(const char *path, ps_image *out);
/* Same from memory (name is used in messages). */
ps_status ps_img_load_mem(const unsigned char *buf, size_t len, const char *name, ps_image *out);
/* Write by extension: .png (8-bit, keeps alpha) or .jpg/.jpeg (quality 1..100, alpha dropped).
 * Writes to a temp file in the same folder then renames, so a crash never leaves half a file. */
ps_status ps_img_save(const char *path, const ps_image *img, int jpeg_quality);
ps_status ps_img_alloc(ps_image *img, int w, int h, int c);   /* zeroed */
void ps_img_free(ps_image *img);
/* High-quality resize (separable Lanczos-3 / area when shrinking) of every plane. */
ps_status ps_img_resize(const ps_image *src, ps_image *dst, int w, int h);
/* Fit inside max_side (long side), keeping aspect; copy if already small enough. */
ps_status ps_img_fit(const ps_image *src, ps_image *dst, int max_side);
float ps_srgb_to_linear(float v);
float ps_linear_to_srgb(float v);
/* 8-bit sRGB interleaved <-> planar linear helpers (used by load/save and the tests). */
void ps_img_from_rgba8(ps_image *dst, const unsigned char *src, int channels);
void ps_img_to_rgba8(const ps_image *src, unsigned char *dst, int channels);

#endif
