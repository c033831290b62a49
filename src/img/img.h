/* Images: decode (libjpeg-turbo for JPEG, libpng for PNG, stb_image for BMP/TGA; EXIF
 * orientation, ICC profiles through lcms2, size caps), metadata, sRGB <-> linear, resize, encode
 * (libjpeg-turbo, libpng).
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
 * apply's peak RSS is at most ~150 MB (shipped model) plus 36 bytes a pixel (40 with alpha),
 * where a style takes the photo whole (paint, pencil): the decoded file, the photo in
 * floats and the operators' working copies. At the cap it measured 1.92 GB (RGB JPEG) and 2.12
 * GB (RGBA PNG), so any image inside the cap applies within 2.2 GB
 * (tests/integration/robust_memory.sh checks the rate); other styles paint band by band
 * (ps_prog_stream) from the raw, about 4 bytes a pixel. Decoding alone peaks lower, at 15 bytes
 * a pixel for 8-bit RGB (a 12 MP JPEG: 180 MB measured) up to 24 for 16-bit RGBA: every format
 * first decodes to its stored samples (ps_img_load_raw: 3 bytes a pixel for 8-bit RGB, 1 gray,
 * 4 RGBA, twice that at 16 bits or after an ICC conversion) while the file is held (progressive
 * JPEG: plus libjpeg's coefficients, 3 to 6 bytes a pixel; interlaced PNG with a profile to
 * convert: plus its samples, 1 to 8; BMP and TGA: stb_image's samples are the raw); ps_img_load
 * then frees the file it read (the _mem calls leave the caller's) and fills the float planes, 12
 * bytes a pixel (16 with alpha), beside the raw, which it frees. apply's peak comes later, so
 * holding the raw did not raise it. Encoders pull rows a band at a time (ps_img_save_src).
 * Metadata kept is at most PS_IMG_META_MAX_BYTES a kind (while reading, libpng may hold up to 64
 * text chunks of that size). */
#define PS_IMG_MAX_PIXELS 50000000LL
#define PS_IMG_MAX_SIDE 32768
#define PS_IMG_MAX_FILE_BYTES (512LL << 20) /* refuse bigger files before reading them */

/* Load any of JPEG, PNG (8/16 bit), BMP, TGA: color, grayscale, gray+alpha, RGBA, JPEG CMYK/YCCK.
 * EXIF orientation (1..8, JPEG APP1 or a PNG eXIf before the image data) is applied, so the result
 * is upright. An embedded ICC profile (JPEG APP2, PNG iCCP) is honoured: unless it renders a test
 * grid within half an 8-bit step of sRGB, lcms2 converts the pixels (gray, RGB or CMYK, perceptual
 * intent, clipped to the sRGB gamut, through 16 bits) to sRGB before they are linearized. A
 * profile lcms2 cannot read, or one for another kind of pixel (an RGB profile on a gray JPEG), is
 * ignored without a word: the pixels are taken as sRGB, as if it were absent, and no load fails
 * for it. CMYK/YCCK without a profile is converted naively. Errors (PS_EINPUT): "<path>: <reason>"
 * for missing, empty, directory, not a regular file, truncated, corrupt (JPEG: "corrupt JPEG:
 * <libjpeg's reason>", its warnings about damaged data included; PNG: "corrupt PNG: <libpng's>"),
 * non-image, other image formats (GIF, PSD, PNM, HDR, PIC, compressed BMP), too large;
 * decompression bombs (a PNG stream inflating past its header's size, a JPEG with over 100 scans)
 * count as corrupt.
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

/* What an output keeps of its input besides the pixels (pstyle apply), as raw bytes; NULL/0 when
 * absent. Each blob is at most PS_IMG_META_MAX_BYTES: a bigger one is dropped at load (the image
 * still loads), and only the first of each kind counts, except comments: all of them are kept.
 *   exif     a TIFF stream (starting "II*\0" or "MM\0*", else dropped; JPEG's "Exif\0\0" prefix
 *            removed), with the orientation tag reset to 1, since the pixels are upright, and the
 *            IFD1 thumbnail unlinked, since it shows the unstyled photo; the other tags are kept
 *            byte for byte
 *   icc      the profile the output's pixels are in: the input's own when it counts as sRGB,
 *            lcms2's sRGB profile when the pixels were converted from another one, none when
 *            there was none or it was ignored (see ps_img_load)
 *   xmp      the XMP packet (JPEG APP1 "http://ns.adobe.com/xap/1.0/", PNG iTXt
 *            "XML:com.adobe.xmp"); not edited, so an orientation inside it is left as it was.
 *            A JPEG's ExtendedXMP is not kept (its bytes are counted in xmp_ext_left): on
 *            phones it holds the depth map and the unstyled original (GDepth, GImage), which
 *            would show the photo unstyled, as an EXIF thumbnail would
 *   comment  every JPEG COM, or every PNG text chunk keyed "Comment" (tEXt/zTXt in Latin-1 come
 *            out as UTF-8; iTXt is UTF-8 already), in file order: tools add one each (a camera,
 *            GIMP's "Created with GIMP", the photographer's own), and each is somebody's. Up to
 *            PS_IMG_META_MAX_COMMENTS non-empty ones, PS_IMG_META_MAX_BYTES together; later ones
 *            are dropped
 *   depth    8, or 16 for a 16-bit PNG: a PNG output is then written with 16 bits */
#define PS_IMG_META_MAX_BYTES (1 << 20)
#define PS_IMG_META_MAX_COMMENTS 32
typedef struct ps_img_meta {
    unsigned char *exif, *icc, *xmp;
    size_t exif_len, icc_len, xmp_len;
    unsigned char *comment[PS_IMG_META_MAX_COMMENTS];
    size_t comment_len[PS_IMG_META_MAX_COMMENTS];
    int n_comments;
    size_t xmp_ext_left;
    int depth;
} ps_img_meta;
/* ps_img_load / ps_img_load_mem that also fill *meta (zeroed on failure; ps_img_meta_free it). */
ps_status ps_img_load_meta(const char *path, ps_image *out, ps_img_meta *meta);
ps_status ps_img_load_mem_meta(const unsigned char *buf, size_t len, const char *name, ps_image *out,
                               ps_img_meta *meta);
/* Frees the blobs and zeroes *meta; strip frees the blobs but keeps depth (apply --strip). Both
 * accept NULL and an already freed meta. */
void ps_img_meta_free(ps_img_meta *meta);
void ps_img_meta_strip(ps_img_meta *meta);

/* A decoded image kept as its file stored it (interleaved 8- or 16-bit samples, before
 * orientation): 3 bytes a pixel for 8-bit RGB instead of ps_image's 12. */
typedef struct ps_img_raw {
    int w, h, c;        /* the upright image a band gets: display size after orientation; c 3, or 4 with alpha */
    int sw, sh, ch, depth, orient; /* as stored: size, samples a pixel (1..4), 8 or 16, EXIF orientation 1..8 */
    void *px;           /* sw * sh * ch samples */
} ps_img_raw;
/* Decode buf (any format ps_img_load takes, same checks, caps, errors, ICC/CMYK handling and
 * metadata as ps_img_load_mem_meta; meta may be NULL) without unpacking it. Where the decoder
 * converts (lcms2's ICC conversion to 16-bit sRGB, CMYK to RGB), px holds the converted samples,
 * so depth may be 16 for an 8-bit JPEG with a converted profile; a gray JPEG keeps 1 sample a
 * pixel. *out is zeroed on failure (and *meta, when not NULL). ps_img_load and the others are
 * this, ps_img_raw_rows over all rows, then ps_img_raw_free. */
ps_status ps_img_load_raw(const unsigned char *buf, size_t len, const char *name, ps_img_raw *out,
                          ps_img_meta *meta);
/* Rows [y0, y0 + n) of the upright image into rows [0, n) of band's planes (band->w == r->w,
 * band->h >= n, band->c == r->c; plane stride is band->w * band->h as in any ps_image): linear RGB
 * as ps_img_load gives (srgb 0), or the sRGB display values code / 255 (or / 65535) (srgb 1).
 * Gray is expanded to RGB; alpha as ps_img_load (code / 255 or / 65535; 1 where the file has
 * none). Any orientation. Threads (OpenMP) when large. Reads r only: threads may call it on
 * disjoint bands at once. */
void ps_img_raw_rows(const ps_img_raw *r, int y0, int n, int srgb, ps_image *band);
void ps_img_raw_free(ps_img_raw *r); /* safe on a zeroed or freed one */

/* Write by extension: .png (keeps alpha) or .jpg/.jpeg (quality 1..100, alpha dropped;
 * 0 means 92; chroma at full resolution above 90, halved at 90 and below), case-insensitive;
 * anything else is PS_EUSAGE "<path>: unsupported output format".
 * c must be 1 (gray), 3 or 4. Writes to a temp file in the same folder, fsyncs, then renames, so
 * a crash or a full disk never leaves half a file; a write failure is PS_EINPUT "<path>: <why>".
 * ps_img_save writes 8 bits and no metadata. */
ps_status ps_img_save(const char *path, const ps_image *img, int jpeg_quality);
/* Same with meta (NULL: as ps_img_save): a PNG gets 16 bits when meta->depth is 16, and eXIf,
 * iCCP, iTXt "XML:com.adobe.xmp" and one "Comment" per comment (tEXt when ASCII, else iTXt when
 * valid UTF-8, else tEXt) chunks before its image data; a JPEG gets APP1 Exif (no JFIF APP0
 * then), APP1 XMP (over PS_IMG_JPEG_XMP_MAX bytes as ExtendedXMP, XMP specification part 3),
 * APP2 ICC (split over as many markers as it needs) and one COM per comment. What a JPEG cannot
 * hold is left out of it (see ps_img_meta_unfit); XMP and a comment end at their first NUL in a
 * PNG; an RGB profile is left out of a gray (c = 1) image. */
ps_status ps_img_save_meta(const char *path, const ps_image *img, int jpeg_quality,
                           const ps_img_meta *meta);
/* Rows for an encoder, asked for in order (y0 = 0, then each call continuing where the last
 * ended), as interleaved samples in host byte order: ch per pixel (1 gray, 3 RGB, 4 RGBA) at
 * depth 8 or 16. A status other than PS_OK stops the encoding; nothing is written and the save
 * returns that status (its message kept). */
typedef struct ps_img_src {
    int w, h, c; /* c as a ps_image's: 1, 3 or 4 (decides the channels written, as ps_img_save_meta does) */
    ps_status (*rows)(void *ctx, int y0, int n, void *dst, int ch, int depth);
    void *ctx;
} ps_img_src;
/* ps_img_save_meta with the pixels from src. The JPEG encoder asks for 64 rows at a time, the PNG
 * encoder for 64 a thread (its threads filter and compress them), so a source needs no full-size
 * image. When src stops the encoding, the temporary file is removed: nothing is left at path,
 * and a file that was there is untouched. */
ps_status ps_img_save_src(const char *path, const ps_img_src *src, int jpeg_quality,
                          const ps_img_meta *meta);
/* What one JPEG marker segment holds of each: EXIF (after "Exif\0\0"), an XMP packet in one
 * piece (after its namespace), a comment. */
#define PS_IMG_JPEG_EXIF_MAX 65527
#define PS_IMG_JPEG_XMP_MAX 65504
#define PS_IMG_JPEG_COMMENT_MAX 65533
/* What of meta ps_img_save_meta leaves out of a JPEG, as PS_IMG_LOST_* bits (0: nothing): EXIF
 * over PS_IMG_JPEG_EXIF_MAX, XMP over PS_IMG_JPEG_XMP_MAX with neither an x:xmpmeta nor an
 * rdf:RDF element to store as ExtendedXMP, a comment over PS_IMG_JPEG_COMMENT_MAX. For the
 * caller to tell the user: the library prints nothing. */
enum { PS_IMG_LOST_EXIF = 1, PS_IMG_LOST_XMP = 2, PS_IMG_LOST_COMMENT = 4 };
unsigned ps_img_meta_jpeg_unfit(const ps_img_meta *meta);
/* The rule ps_img_save picks the format by: PS_OK for .png (*png = 1) or .jpg/.jpeg (*png = 0),
 * case-insensitive, else PS_EUSAGE "<path>: unsupported output format"; png may be NULL. Lets a
 * caller refuse a bad output name before doing the work. */
ps_status ps_img_out_format(const char *path, int *png);
/* The whole file in a malloc'd buffer the caller frees (at most PS_IMG_MAX_FILE_BYTES; errors as
 * for ps_img_load: missing, directory, not a regular file (a device, a FIFO: refused before any
 * read), too large, unreadable). ps_img_load is this + load_mem. */
ps_status ps_img_read_file(const char *path, unsigned char **out, size_t *len);
/* The PNG ps_img_save would write (8-bit, alpha kept, c 1, 3 or 4, no metadata), into a malloc'd
 * buffer the caller frees. */
ps_status ps_img_encode_png(const ps_image *img, unsigned char **out, size_t *len);
ps_status ps_img_alloc(ps_image *img, int w, int h, int c);   /* zeroed */
void ps_img_free(ps_image *img);
/* High-quality resize (separable Lanczos-3, widened to an area filter when shrinking, so fine
 * detail averages instead of aliasing) of every plane; output stays within each plane's input
 * range (no ringing past black or white). An output of more than PS_IMG_MAX_PIXELS is PS_EINPUT. */
ps_status ps_img_resize(const ps_image *src, ps_image *dst, int w, int h);
/* The same for a large shrink at a fraction of the cost (the network's working size from a
 * 12 MP photo): box means over k x k blocks first, k the largest whole factor that leaves at
 * least 3x of the shrink to Lanczos (Pillow's reducing_gap 3: as the kernel's result, to within
 * a fraction of an 8-bit step on photos; test_img). Otherwise ps_img_resize. */
ps_status ps_img_shrink(const ps_image *src, ps_image *dst, int w, int h);
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

/* The 5x7 glyph of character c (7 rows, the low 5 bits of each, MSB left) for labels pstyle
 * draws itself: digits, . - + e % / ( ) = : _ and A-Z (lower case 'e' is an exponent's; callers
 * choose their own case rule); NULL for anything else (a space: leave the cell blank). */
const unsigned char *ps_img_glyph(int c);

#endif
