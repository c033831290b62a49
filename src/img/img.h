/* Images: decode (libjpeg-turbo for JPEG, stb_image for the rest; EXIF orientation, size caps),
 * sRGB <-> linear, resize, encode.
 * In memory an image is planar float (C planes of H*W), color in LINEAR RGB in [0,1], so that it
 * is directly an NCHW tensor with N=1. Alpha, when present, is plane 3 and is not linearized.
 *
 *   ps_image im, small;
 *   if (ps_img_load("in.jpg", &im)) return ps_last_error();     // PS_EINPUT "in.jpg: <why>"
 *   ps_img_fit(&im, &small, 512);                                  // long side <= 512
 *   ps_img_save("out.png", &small, 0);
 *   ps_img_free(&im); ps_img_free(&small);
 *
 * Every function that fills a ps_image (load, alloc, resize, fit) overwrites *out without freeing
 * what it held, and leaves it zeroed ({0, 0, 0, NULL}) on failure; ps_img_free is safe on that.
 * resize and fit need an output distinct from their input. */
#ifndef PS_IMG_H
#define PS_IMG_H
#include "src/base/base.h"

typedef struct ps_image {
    int w, h, c;   /* decoded: c = 3 (RGB) or 4 (RGBA), grayscale is expanded to RGB;
                      alloc/resize/fit accept any plane count c >= 1 */
    float *px;     /* c * h * w floats, planar: px[(k*h + y)*w + x] */
} ps_image;

/* The pixel budget: headers claiming more are refused before anything large is allocated
 * ("FILE: image is W x H = N MP, more than the M MP pstyle can process within its memory budget").
 * apply's peak RSS is ~150 MB (shipped model) plus 36 bytes a pixel (40 with alpha): the decoded
 * photo, the output and one working copy, as floats. At the cap it measured 1.92 GB (RGB JPEG)
 * and 2.12 GB (RGBA PNG), so any image inside the cap applies within 2.2 GB
 * (tests/integration/robust_memory.sh checks the rate). Decoding alone peaks lower: JPEG 12 bytes
 * a pixel plus the file (progressive: plus libjpeg's coefficients, 3 to 6), the others 15 to 24. */
#define PS_IMG_MAX_PIXELS 50000000LL
#define PS_IMG_MAX_SIDE 32768
#define PS_IMG_MAX_FILE_BYTES (512LL << 20) /* refuse bigger files before reading them */

/* Load any of JPEG, PNG (8/16 bit), BMP, TGA: color, grayscale, gray+alpha, RGBA, JPEG CMYK/YCCK
 * (converted naively, without a profile). JPEG EXIF orientation (1..8) is applied,
 * so the result is upright. Errors (PS_EINPUT): "<path>: <reason>" for missing, empty, directory,
 * not a regular file, truncated, corrupt (JPEG: "corrupt JPEG: <libjpeg's reason>", its warnings
 * about damaged data included), non-image, other image formats (GIF, PSD, PNM, HDR, PIC,
 * compressed BMP), too large; decompression bombs (a PNG stream inflating past its header's size,
 * a JPEG with over 100 scans) count as corrupt.
 * PS_EINTERNAL "<path>: out of memory". Thread-safe: no global state. */
ps_status ps_img_load(const char *path, ps_image *out);
/* Same from memory (name is used in messages). */
ps_status ps_img_load_mem(const unsigned char *buf, size_t len, const char *name, ps_image *out);
/* Same, for a caller that only needs a reduced working copy: the upright image at scale n/8,
 * ceil(W*n/8) x ceil(H*n/8), for the smallest n in 1..8 that keeps each side at least min_side
 * (or whole, where it is shorter); min_side <= 0 is full size (ps_img_load_mem). A JPEG decodes
 * at that scale directly (libjpeg-turbo's IDCT scaling: at 1/8, 1/64 of the memory and several
 * times faster); other formats decode whole and are then resized (ps_img_resize), so only the
 * copy is kept. The caps apply to the full size, which goes to *full_w, *full_h (either may be
 * NULL; 0 on failure). */
ps_status ps_img_load_mem_scaled(const unsigned char *buf, size_t len, const char *name, int min_side,
                                 ps_image *out, int *full_w, int *full_h);
/* Write by extension: .png (8-bit, keeps alpha) or .jpg/.jpeg (quality 1..100, alpha dropped;
 * 0 means 92), case-insensitive; anything else is PS_EUSAGE "<path>: unsupported output format".
 * c must be 1 (gray), 3 or 4. Writes to a temp file in the same folder, fsyncs, then renames, so
 * a crash or a full disk never leaves half a file; a write failure is PS_EINPUT "<path>: <why>". */
ps_status ps_img_save(const char *path, const ps_image *img, int jpeg_quality);
/* The rule ps_img_save picks the format by: PS_OK for .png (*png = 1) or .jpg/.jpeg (*png = 0),
 * case-insensitive, else PS_EUSAGE "<path>: unsupported output format"; png may be NULL. Lets a
 * caller refuse a bad output name before doing the work. */
ps_status ps_img_out_format(const char *path, int *png);
/* The whole file in a malloc'd buffer the caller frees (at most PS_IMG_MAX_FILE_BYTES; errors as
 * for ps_img_load: missing, directory, not a regular file (a device, a FIFO: refused before any
 * read), too large, unreadable). ps_img_load is this + load_mem. */
ps_status ps_img_read_file(const char *path, unsigned char **out, size_t *len);
/* The PNG ps_img_save would write (8-bit, alpha kept, c 1, 3 or 4), into a malloc'd buffer the
 * caller frees. */
ps_status ps_img_encode_png(const ps_image *img, unsigned char **out, size_t *len);
ps_status ps_img_alloc(ps_image *img, int w, int h, int c);   /* zeroed */
void ps_img_free(ps_image *img);
/* High-quality resize (separable Lanczos-3, widened to an area filter when shrinking, so fine
 * detail averages instead of aliasing) of every plane; output stays within each plane's input
 * range (no ringing past black or white). An output of more than PS_IMG_MAX_PIXELS is PS_EINPUT. */
ps_status ps_img_resize(const ps_image *src, ps_image *dst, int w, int h);
/* Fit inside max_side (long side), keeping aspect; copy if already small enough. */
ps_status ps_img_fit(const ps_image *src, ps_image *dst, int max_side);
/* Exact IEC 61966-2-1 transfer functions; input clamped to [0,1]. */
float ps_srgb_to_linear(float v);
float ps_linear_to_srgb(float v);
/* 8-bit sRGB interleaved <-> planar linear helpers (used by load/save and the tests).
 * from: dst is allocated (w, h, c set); src holds w*h*channels bytes, channels 1 (gray),
 * 2 (gray+alpha), 3 or 4; gray is expanded, missing alpha becomes 1, extra alpha is dropped.
 * to: dst receives w*h*channels bytes, channels 1, 3 or 4; linear -> sRGB rounded to nearest. */
void ps_img_from_rgba8(ps_image *dst, const unsigned char *src, int channels);
void ps_img_to_rgba8(const ps_image *src, unsigned char *dst, int channels);

#endif
