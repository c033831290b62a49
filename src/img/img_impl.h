/* Internals shared by the image module's files (not part of the contract in img.h). */
#ifndef PS_IMG_IMPL_H
#define PS_IMG_IMPL_H
#include "img.h"

/* Fills r's fields for sw x sh stored samples (ch 1..4, depth 8 or 16, EXIF orientation 1..8)
 * and its upright size; px is adopted, or allocated (uninitialised) when NULL. PS_EINTERNAL
 * "<name>: out of memory". */
ps_status ps_img__raw_init(ps_img_raw *r, int sw, int sh, int ch, int depth, int orient, void *px,
                           const char *name);

/* Linear planes -> interleaved sRGB codes, exactly rounded, 8 or 16 bits (host-order shorts),
 * a band at a time so that no encoder needs a full-size copy. The packer holds the tables
 * (16 bits: 384 KiB); NULL when out of memory. */
typedef struct ps_img__packer ps_img__packer;
ps_img__packer *ps_img__packer_new(int depth);
void ps_img__packer_free(ps_img__packer *p);
/* Rows y0 .. y0+n-1 of src into dst, channels 1 (src->c must be 1), 3 or 4 (alpha from plane 3,
 * else 1). */
void ps_img__pack_rows(const ps_img__packer *p, const ps_image *src, int y0, int n, void *dst,
                       int channels);

/* ---- metadata (meta.c) ---- */

/* Orientation tag (0x0112) of IFD0 of a TIFF stream ("II*\0" / "MM\0*", no "Exif\0\0"):
 * 1..8, or 1 if absent or malformed. Every offset is checked against n. */
int ps_img__exif_orientation(const unsigned char *tiff, size_t n);
/* Whether a TIFF stream starts with a TIFF header: only those are kept (libpng drops any other
 * eXIf, so a JPEG's would not survive a PNG round trip). */
int ps_img__exif_valid(const unsigned char *tiff, size_t n);
/* In place: the orientation tag (a SHORT in IFD0) set to 1, and IFD1 (the thumbnail, which
 * would show the unstyled photo) unlinked from IFD0. Malformed streams are left as they are. */
void ps_img__exif_reset(unsigned char *tiff, size_t n);
/* A malloc'd copy of n bytes into *dst (and *dst_len) unless n is 0, over PS_IMG_META_MAX_BYTES or
 * *dst already holds one (the first wins). Returns 0 only when out of memory. */
int ps_img__meta_keep(unsigned char **dst, size_t *dst_len, const void *src, size_t n);
/* A malloc'd copy of n bytes as m's next comment, unless n is 0 or it would pass the comments'
 * caps (PS_IMG_META_MAX_COMMENTS, PS_IMG_META_MAX_BYTES together). Returns 0 only when out of
 * memory. */
int ps_img__meta_comment(ps_img_meta *m, const void *src, size_t n);
/* The serialization inside an XMP packet (the x:xmpmeta element, else the rdf:RDF element,
 * found as text: no XML is parsed), without the packet wrapper and its padding; NULL if it has
 * neither. */
const unsigned char *ps_img__xmp_body(const unsigned char *x, size_t n, size_t *len);
/* The MD5 of n bytes (lcms2's, which profile IDs use); 0 when out of memory. */
int ps_img__md5(const void *p, size_t n, unsigned char md5[16]);

/* Color management of an embedded ICC profile, through lcms2. */
enum { PS_CMS_GRAY, PS_CMS_RGB, PS_CMS_CMYK, PS_CMS_CMYK_INVERTED /* Adobe's, 255 = no ink */ };
enum { PS_CMS_IGNORED, PS_CMS_SRGB, PS_CMS_CONVERT };
typedef struct {
    void *ctx, *xform;       /* lcms2 context and transform to 16-bit sRGB; NULL: none */
    int out_ch;              /* 3, or 4 when the input has alpha */
    size_t in_bpp;           /* bytes an input pixel */
} ps_img__cms;
/* What profile icc means for pixels of `kind` with `channels` samples (alpha included) of `depth`
 * bits: PS_CMS_IGNORED (lcms2 cannot read it, or it is not for this kind of pixel: use them as
 * sRGB and drop the profile), PS_CMS_SRGB (it renders every test colour within half an 8-bit step
 * of sRGB: use the pixels as they are, keep the profile) or PS_CMS_CONVERT (c->xform is ready:
 * ps_img__cms_run turns the pixels into 16-bit sRGB). Gray and CMYK never count as sRGB. */
int ps_img__cms_open(ps_img__cms *c, const unsigned char *icc, size_t n, int kind, int channels,
                     int depth);
/* npx pixels from in (as described to cms_open) to out (c->out_ch host-order shorts each). */
void ps_img__cms_run(const ps_img__cms *c, const void *in, unsigned short *out, size_t npx);
void ps_img__cms_close(ps_img__cms *c);
/* lcms2's sRGB profile, serialized into a malloc'd buffer: what a converted image carries.
 * Returns 0 when out of memory. */
int ps_img__srgb_icc(unsigned char **out, size_t *len);

/* ---- PNG (png_io.c, libpng) ---- */

/* Decodes a PNG whose structure, CRCs and inflated size load_raw has already checked. Fills out
 * (and meta when not NULL) like ps_img_load_raw. */
ps_status ps_img__png_load(const unsigned char *buf, size_t len, const char *name, ps_img_raw *out,
                           ps_img_meta *meta);
/* Buffered byte output shared by the encoders (img_io.c). */
typedef void ps_img__write_fn(void *ctx, const void *data, size_t n);
/* Encodes src's rows (ch = samples a pixel written: 1, 3 or 4) as a PNG of depth 8 or 16 with
 * meta's chunks (meta may be NULL). Returns 0 when libpng fails (out of memory) or src stops it;
 * write errors are the writer's to keep. */
int ps_img__png_encode(ps_img__write_fn *write, void *ctx, const ps_img_src *src, int ch, int depth,
                       const ps_img_meta *meta);

#endif
