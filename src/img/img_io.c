/* Image files: hostile-input-safe decoding (file size cap, header-only size check before any large
 * allocation, per-format completeness checks so truncation is an error rather than a gray
 * bottom) into the samples as stored (ps_img_raw) and, through them, the float planes, JPEG
 * metadata (EXIF orientation, ICC, XMP, COM), and atomic PNG/JPEG writing of a row source (temp
 * file + fsync + rename). JPEG is decoded and encoded by libjpeg-turbo, PNG by libpng (png_io.c),
 * BMP and TGA by stb_image, which never sees JPEG or PNG bytes. */
#include "img_impl.h"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <jerror.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <stb_image.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- format sniffing and completeness checks ---- */

typedef enum { FMT_UNKNOWN, FMT_PNG, FMT_JPEG, FMT_BMP, FMT_OTHER } img_format;

static int has_magic(const unsigned char *b, size_t n, const char *m, size_t mlen)
{
    return n >= mlen && !memcmp(b, m, mlen);
}

/* By magic bytes; TGA has none, so it is only known once stb_image accepts the header. The other
 * formats stb_image reads are named so they can be refused before it sees them: it decodes
 * truncated GIF/PSD/PNM files as if complete, and spins for minutes on some truncated PNM/HDR. */
static img_format sniff(const unsigned char *b, size_t n, const char **other)
{
    static const struct {
        const char *magic, *name;
    } others[] = {{"GIF87a", "GIF"}, {"GIF89a", "GIF"}, {"8BPS", "PSD"}, {"#?RADIANCE", "HDR"},
                  {"#?RGBE", "HDR"}, {"\x53\x80\xf6\x34", "PIC"}, {"P5", "PNM"}, {"P6", "PNM"}};
    if (has_magic(b, n, "\x89PNG\r\n\x1a\n", 8))
        return FMT_PNG;
    /* stb_image takes any run of FF bytes then D8 for a JPEG SOI: all of those go to libjpeg
     * (which wants FF D8 exactly), so stb_image's JPEG decoder is never reached */
    size_t ff = 0;
    while (ff < n && b[ff] == 0xff)
        ff++;
    if (ff > 0 && ff < n && b[ff] == 0xd8)
        return FMT_JPEG;
    if (has_magic(b, n, "BM", 2))
        return FMT_BMP;
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (has_magic(b, n, others[i].magic, strlen(others[i].magic)))
            return *other = others[i].name, FMT_OTHER;
    return FMT_UNKNOWN;
}

static uint32_t rd16(const unsigned char *p, int be) { return be ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0]; }
static uint32_t rd32(const unsigned char *p, int be)
{
    return be ? rd16(p, 1) << 16 | rd16(p + 2, 1) : rd16(p + 2, 0) << 16 | rd16(p, 0);
}

/* Bytes of filtered scanlines a PNG header implies: rows of 1 filter byte + packed samples, over
 * the 7 Adam7 passes when interlaced. 0 for a header no PNG may have. */
static uint64_t png_raw_size(const unsigned char *ihdr)
{
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1},
                     dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    static const int chans[7] = {1, 0, 3, 1, 2, 0, 4}; /* by color type */
    uint64_t w = rd32(ihdr, 1), h = rd32(ihdr + 4, 1), depth = ihdr[8], type = ihdr[9], size = 0;
    if (type > 6 || !chans[type] || !depth || depth > 16 || (depth & (depth - 1)) || ihdr[12] > 1)
        return 0;
    uint64_t bits = depth * chans[type];
    if (!ihdr[12])
        return h * (1 + (w * bits + 7) / 8);
    for (int p = 0; p < 7; p++) {
        uint64_t pw = w > (uint64_t)x0[p] ? (w - x0[p] + dx[p] - 1) / dx[p] : 0;
        uint64_t ph = h > (uint64_t)y0[p] ? (h - y0[p] + dy[p] - 1) / dy[p] : 0;
        size += pw && ph ? ph * (1 + (pw * bits + 7) / 8) : 0;
    }
    return size;
}

/* Every chunk present through IEND, critical chunks' CRCs right (as libpng requires), and the
 * IDAT stream inflating to exactly the size the header implies. The inflate runs into a small
 * scratch buffer and stops at the first byte too many: stb_image would grow its buffer for a
 * zlib bomb up to 4 GiB, and read zeros for a cut stream. */
static int png_check(const unsigned char *b, size_t n)
{
    if (n < 33 || memcmp(b + 8, "\0\0\0\x0dIHDR", 8))
        return 0;
    const uint64_t want = png_raw_size(b + 16);
    uint64_t got = 0;
    unsigned char scratch[1 << 14];
    z_stream z = {0};
    if (!want || inflateInit(&z) != Z_OK)
        return 0;
    int ok = 0, zst = Z_OK;
    for (size_t i = 8; i + 12 <= n;) {
        size_t len = rd32(b + i, 1);
        const unsigned char *type = b + i + 4;
        if (len > n - i - 12 ||
            (!(type[0] & 0x20) && crc32(crc32(0, NULL, 0), type, (uInt)len + 4) != rd32(type + 4 + len, 1)))
            break;
        if (!memcmp(type, "IEND", 4)) {
            ok = got == want;
            break;
        }
        if (!memcmp(type, "IDAT", 4) && zst == Z_OK) {
            z.next_in = (unsigned char *)type + 4, z.avail_in = (uInt)len;
            do {
                z.next_out = scratch, z.avail_out = sizeof scratch;
                zst = inflate(&z, Z_NO_FLUSH);
                got += sizeof scratch - z.avail_out;
            } while (zst == Z_OK && z.avail_out == 0 && got <= want);
            if (got > want || (zst != Z_OK && zst != Z_STREAM_END && zst != Z_BUF_ERROR))
                break;
            zst = zst == Z_BUF_ERROR ? Z_OK : zst; /* needs the next IDAT */
        }
        i += 12 + len;
    }
    inflateEnd(&z);
    return ok;
}

/* Compressed BMPs (RLE, embedded JPEG/PNG) are the kind stb_image cannot read: all but BI_RGB,
 * BI_BITFIELDS and BI_ALPHABITFIELDS, in headers that have the field (not OS/2's 12 bytes). */
static int bmp_compressed(const unsigned char *b, size_t n)
{
    uint32_t comp = n >= 34 && rd32(b + 14, 0) > 12 ? rd32(b + 30, 0) : 0;
    return comp != 0 && comp != 3 && comp != 6;
}

/* BMP: the pixel rows must fit in the file (stb_image would read zeros). */
static int bmp_check(const unsigned char *b, size_t n)
{
    if (n < 30)
        return 0;
    uint64_t off = rd32(b + 10, 0), hsz = rd32(b + 14, 0), w, h, bpp;
    if (hsz == 12) {
        w = rd16(b + 18, 0), h = rd16(b + 20, 0), bpp = rd16(b + 24, 0);
    } else {
        w = rd32(b + 18, 0), bpp = rd16(b + 28, 0);
        int32_t sh = (int32_t)rd32(b + 22, 0);
        h = sh < 0 ? -(int64_t)sh : sh;
    }
    uint64_t stride = (w * bpp + 31) / 32 * 4;
    return off + stride * h <= n;
}

/* TGA: raw pixels must fit; RLE packets are walked until they cover every pixel. */
static int tga_check(const unsigned char *b, size_t n)
{
    if (n < 18)
        return 0;
    uint64_t type = b[2], w = rd16(b + 12, 0), h = rd16(b + 14, 0), bpp = (b[16] + 7u) / 8;
    uint64_t pos = 18 + (uint64_t)b[0] + (b[1] ? rd16(b + 5, 0) * (uint64_t)((b[7] + 7) / 8) : 0);
    uint64_t left = w * h;
    if (type < 9)
        return pos + left * bpp <= n;
    while (left > 0) {
        if (pos >= n)
            return 0;
        uint64_t hdr = b[pos++], run = (hdr & 0x7f) + 1;
        pos += hdr & 0x80 ? bpp : run * bpp;
        left -= run < left ? run : left;
    }
    return pos <= n;
}

/* ---- decoding ---- */

/* The caps, from the header's size alone: the pixel count is what apply's memory grows with. */
static ps_status check_size(const char *name, long long w, long long h)
{
    /* A header may claim 2^32 - 1 per side: the product is taken in double, which cannot overflow. */
    if ((double)w * (double)h > (double)PS_IMG_MAX_PIXELS)
        return ps_fail(PS_EINPUT, "%s: image is %lld x %lld = %.1f MP, more than the %lld MP pstyle can "
                       "process within its memory budget", name, w, h, (double)w * h / 1e6,
                       PS_IMG_MAX_PIXELS / 1000000);
    if (w > PS_IMG_MAX_SIDE || h > PS_IMG_MAX_SIDE)
        return ps_fail(PS_EINPUT, "%s: image is %lld x %lld, more than the %d px per side pstyle can "
                       "process", name, w, h, PS_IMG_MAX_SIDE);
    return PS_OK;
}

/* The reduced scale n/8 for ps_img_load_mem_scaled: the smallest n that keeps each side of a
 * w x h image at least min_side (or whole, when it is smaller); 8 (full size) for min_side <= 0. */
static int scale_eighths(long long w, long long h, int min_side)
{
    if (min_side <= 0)
        return 8;
    for (int n = 1; n < 8; n++)
        if ((w * n + 7) / 8 >= (w < min_side ? w : min_side) && (h * n + 7) / 8 >= (h < min_side ? h : min_side))
            return n;
    return 8;
}

/* JPEG goes to libjpeg-turbo: stb_image 2.27 decodes some progressive files with a Huffman table
 * never defined (reading uninitialised memory), and overruns an array on a DHT with more than 256
 * codes. libjpeg-turbo errors on both, and on truncation, which stb_image padded with zeros. */

/* Every scan costs a pass over the whole image even when its data is a few bytes, so a small file
 * with thousands of scans is a CPU bomb; encoders write about 10 (progressive), never hundreds. */
enum { JPEG_MAX_SCANS = 100, JPEG_BAND = 16 /* rows decoded at a time */ };

typedef struct {
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jmp;                 /* where every libjpeg error and warning lands */
    char msg[JMSG_LENGTH_MAX];
    int msg_code;                /* libjpeg's J_MESSAGE_CODE of msg, 0 for our own */
    unsigned char *band;         /* JPEG_BAND rows as decoded, when they are converted (CMYK, ICC) */
    ps_img_raw raw;              /* the result, filled band by band */
    int orient, full_w, full_h;  /* full_*: upright size at full scale */
    int eighths;                 /* the scale decoded at, n/8 */
    int quiet;                   /* set while libjpeg reads the ICC chunks: their warnings are not fatal */
    ps_img__cms cms;             /* the embedded profile's transform to sRGB, if any */
    JOCTET *icc;                 /* the profile as libjpeg reassembled it (malloc'd) */
    ps_img_meta meta;
} jpeg_dec;

/* libjpeg's error_exit would exit(). Its warnings (emit_message level -1) are all about corrupt
 * data (a bad Huffman code, a premature end, a bogus progression), after which it carries on with
 * made-up samples: those are errors too. Trace messages (level >= 0) are ignored. */
static void jpeg_fail(j_common_ptr c)
{
    jpeg_dec *d = c->client_data;
    c->err->format_message(c, d->msg);
    d->msg_code = c->err->msg_code;
    longjmp(d->jmp, 1);
}

static void jpeg_message(j_common_ptr c, int level)
{
    jpeg_dec *d = c->client_data;
    if (level < 0 && !d->quiet)
        jpeg_fail(c);
}

/* The metadata markers before the first scan: the first Exif APP1 (its orientation applies) and
 * XMP APP1, every COM, the ICC profile from APP2 (decides d->cms), and the size of the
 * ExtendedXMP, which is not kept (img.h says why). Returns PS_CMS_*. */
#define XMP_NS "http://ns.adobe.com/xap/1.0/"
/* ExtendedXMP's APP1 segments: this namespace, a GUID of 32 hex digits, the full length and the
 * part's offset (32 bits each), then the part */
#define XMP_EXT_NS "http://ns.adobe.com/xmp/extension/"
#define XMP_EXT_HEAD (sizeof XMP_EXT_NS + 32 + 4 + 4)
static int jpeg_markers(jpeg_dec *d, int want_meta, const char *name, ps_status *st)
{
    struct jpeg_decompress_struct *ci = &d->ci;
    ps_img_meta *m = &d->meta;
    int ok = 1, seen_exif = 0;
    for (jpeg_saved_marker_ptr k = ci->marker_list; k; k = k->next) {
        const unsigned char *p = k->data;
        size_t n = k->data_length;
        if (k->marker == JPEG_APP0 + 1 && n >= 6 && !memcmp(p, "Exif\0\0", 6) && !seen_exif) {
            seen_exif = 1; /* the first Exif block is the one cameras write */
            d->orient = ps_img__exif_orientation(p + 6, n - 6);
            if (want_meta && ps_img__exif_valid(p + 6, n - 6))
                ok &= ps_img__meta_keep(&m->exif, &m->exif_len, p + 6, n - 6);
        } else if (k->marker == JPEG_APP0 + 1 && n >= sizeof XMP_NS && !memcmp(p, XMP_NS, sizeof XMP_NS)) {
            ok &= !want_meta || ps_img__meta_keep(&m->xmp, &m->xmp_len, p + sizeof XMP_NS, n - sizeof XMP_NS);
        } else if (k->marker == JPEG_COM && want_meta) {
            ok &= ps_img__meta_comment(m, p, n);
        } else if (k->marker == JPEG_APP0 + 1 && want_meta && n >= XMP_EXT_HEAD &&
                   !memcmp(p, XMP_EXT_NS, sizeof XMP_EXT_NS)) {
            m->xmp_ext_left += n - XMP_EXT_HEAD;
        }
    }
    if (m->exif)
        ps_img__exif_reset(m->exif, m->exif_len);
    unsigned int icc_len = 0;
    d->quiet = 1; /* a bogus chunk sequence is a warning: the profile is then ignored */
    if (!jpeg_read_icc_profile(ci, &d->icc, &icc_len))
        icc_len = 0;
    d->quiet = 0;
    J_COLOR_SPACE cs = ci->jpeg_color_space;
    int kind = cs == JCS_GRAYSCALE ? PS_CMS_GRAY
             : cs == JCS_CMYK || cs == JCS_YCCK ? (ci->saw_Adobe_marker ? PS_CMS_CMYK_INVERTED : PS_CMS_CMYK)
                                                 : PS_CMS_RGB;
    int cms = icc_len ? ps_img__cms_open(&d->cms, d->icc, icc_len, kind, kind == PS_CMS_GRAY ? 1 : kind == PS_CMS_RGB ? 3 : 4, 8)
                      : PS_CMS_IGNORED;
    if (want_meta && cms == PS_CMS_SRGB)
        ok &= ps_img__meta_keep(&m->icc, &m->icc_len, d->icc, icc_len);
    if (want_meta && cms == PS_CMS_CONVERT)
        ok &= ps_img__srgb_icc(&m->icc, &m->icc_len);
    m->depth = 8;
    *st = ok ? PS_OK : ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    return cms;
}

/* libjpeg calls this before each iMCU row or marker it consumes, so a scan past the cap is
 * stopped as soon as its SOS has been read. */
static void jpeg_scan_cap(j_common_ptr c)
{
    jpeg_dec *d = c->client_data;
    if (d->ci.input_scan_number > JPEG_MAX_SCANS) {
        snprintf(d->msg, sizeof d->msg, "over %d scans", JPEG_MAX_SCANS);
        d->msg_code = 0;
        longjmp(d->jmp, 1);
    }
}

/* Adobe's CMYK and YCCK JPEGs (with its APP14 marker: Photoshop's) store inverted inks, 255 = none;
 * others plain ones. The naive conversion R = (1-C)(1-K) (stb_image's for Adobe files), from 4
 * bytes a pixel (src) to 3 (dst). */
static void cmyk_to_rgb(unsigned char *dst, const unsigned char *src, size_t n, int inverted)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = src + 4 * i;
        unsigned k = inverted ? s[3] : 255u - s[3];
        for (int j = 0; j < 3; j++)
            dst[3 * i + j] = (unsigned char)(((inverted ? s[j] : 255u - s[j]) * k + 127) / 255);
    }
}

/* Every libjpeg call but destroy; its errors longjmp out to jpeg_load. The samples go straight
 * into the raw (through a band of JPEG_BAND rows when they are converted), so the only
 * full-size buffer is the result (and, for a progressive file, libjpeg's own coefficients). */
static ps_status jpeg_decode(jpeg_dec *d, const unsigned char *buf, size_t len, const char *name,
                             int min_side, int want_meta)
{
    struct jpeg_decompress_struct *ci = &d->ci;
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, buf, (unsigned long)len);
    /* what libjpeg saves is bounded by the file, which is in memory already */
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    jpeg_save_markers(ci, JPEG_APP0 + 2, 0xffff);
    if (want_meta)
        jpeg_save_markers(ci, JPEG_COM, 0xffff);
    jpeg_read_header(ci, TRUE); /* markers up to the first SOS; allocates little */
    ps_status st = check_size(name, ci->image_width, ci->image_height);
    if (st)
        return st;
    J_COLOR_SPACE cs = ci->jpeg_color_space;
    int cmyk = cs == JCS_CMYK || cs == JCS_YCCK;
    if (!cmyk && cs != JCS_GRAYSCALE && cs != JCS_YCbCr && cs != JCS_RGB)
        return ps_fail(PS_EINPUT, "%s: unsupported JPEG color space (%d components)", name, ci->num_components);
    const int conv = jpeg_markers(d, want_meta, name, &st) == PS_CMS_CONVERT;
    if (st)
        return st;
    /* libjpeg converts YCCK to CMYK; gray stays gray (ps_img_raw_rows spreads it) */
    ci->out_color_space = cmyk ? JCS_CMYK : cs == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    int n8 = scale_eighths(ci->image_width, ci->image_height, min_side);
    if (n8 < 8) /* IDCT scaling: each 8x8 block decodes straight to n x n samples */
        ci->scale_num = (unsigned)n8, ci->scale_denom = 8;
    d->eighths = n8;
    ci->progress = &d->progress;
    d->full_w = (int)(d->orient >= 5 ? ci->image_height : ci->image_width);
    d->full_h = (int)(d->orient >= 5 ? ci->image_width : ci->image_height);
    jpeg_start_decompress(ci); /* a multi-scan file is decoded whole in here */
    const int w = (int)ci->output_width, h = (int)ci->output_height;
    const size_t stride = (size_t)w * ci->output_components;
    const int via_band = conv || cmyk;
    if ((st = ps_img__raw_init(&d->raw, w, h, via_band ? 3 : ci->output_components, conv ? 16 : 8, d->orient,
                               NULL, name)))
        return st;
    if (via_band && !(d->band = malloc(stride * JPEG_BAND)))
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    while (ci->output_scanline < ci->output_height) {
        const int y = (int)ci->output_scanline, n = JPEG_BAND < h - y ? JPEG_BAND : h - y;
        unsigned char *at = via_band ? d->band : (unsigned char *)d->raw.px + (size_t)y * stride;
        JSAMPROW rows[JPEG_BAND];
        for (int i = 0; i < n; i++)
            rows[i] = at + i * stride;
        for (int got = 0; got < n;) { /* libjpeg hands out a row or two per call */
            int r = (int)jpeg_read_scanlines(ci, rows + got, (JDIMENSION)(n - got));
            if (r < 1)
                return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
            got += r;
        }
        if (conv)
            ps_img__cms_run(&d->cms, d->band, (unsigned short *)d->raw.px + (size_t)y * w * 3, (size_t)n * w);
        else if (cmyk)
            cmyk_to_rgb((unsigned char *)d->raw.px + (size_t)y * w * 3, d->band, (size_t)n * w,
                        ci->saw_Adobe_marker);
    }
    jpeg_finish_decompress(ci); /* reads on to the EOI, so a cut or damaged tail is caught too */
    return PS_OK;
}

/* The decoder state lives on the heap: locals changed between setjmp and longjmp would be
 * indeterminate after it (C11 7.13.2.1). */
static ps_status jpeg_load(const unsigned char *buf, size_t len, const char *name, int min_side,
                           ps_img_raw *out, ps_img_meta *meta, int *full_w, int *full_h, int *eighths)
{
    jpeg_dec *d = calloc(1, sizeof *d);
    if (!d)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    d->orient = 1;
    d->ci.err = jpeg_std_error(&d->err);
    d->err.error_exit = jpeg_fail;
    d->err.emit_message = jpeg_message;
    d->ci.client_data = d;
    d->progress.progress_monitor = jpeg_scan_cap;
    ps_status st;
    if (!setjmp(d->jmp))
        st = jpeg_decode(d, buf, len, name, min_side, meta != NULL);
    else if (d->msg_code == JERR_OUT_OF_MEMORY)
        st = ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    else if (d->msg_code == JWRN_JPEG_EOF) /* the data ended before the EOI */
        st = ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
    else /* "corrupt JPEG: Corrupt JPEG data: bad Huffman code" would say it twice */
        st = ps_fail(PS_EINPUT, "%s: corrupt JPEG: %s", name,
                     d->msg + (strncmp(d->msg, "Corrupt JPEG data: ", 19) ? 0 : 19));
    jpeg_destroy_decompress(&d->ci);
    ps_img__cms_close(&d->cms);
    free(d->band), free(d->icc);
    if (st == PS_OK)
        *out = d->raw, *full_w = d->full_w, *full_h = d->full_h, *eighths = d->eighths;
    else
        ps_img_raw_free(&d->raw);
    if (st == PS_OK && meta)
        *meta = d->meta;
    else
        ps_img_meta_free(&d->meta);
    free(d);
    return st;
}

/* The size a header claims, read without stb_image, which refuses some huge headers with no
 * size to report; 0 x 0 if unknown. */
static void header_dims(img_format fmt, const unsigned char *b, size_t n, long long *w, long long *h)
{
    *w = *h = 0;
    if (fmt == FMT_PNG && n >= 24 && !memcmp(b + 12, "IHDR", 4))
        *w = rd32(b + 16, 1), *h = rd32(b + 20, 1);
    else if (fmt == FMT_BMP && n >= 26)
        *w = (int32_t)rd32(b + 18, 0), *h = llabs((int32_t)rd32(b + 22, 0));
}

/* Every format's samples through here, at the scale min_side asks for where the decoder has one
 * (JPEG; the others decode whole): *eighths is the scale decoded at, n/8. own, when not NULL,
 * holds buf, which is malloc'd: stb_image's path frees it (and clears *own) as soon as the
 * samples are decoded. *full_w, *full_h: the upright size at full scale. */
static ps_status load_raw(const unsigned char *buf, size_t len, unsigned char **own, const char *name,
                          int min_side, ps_img_raw *out, ps_img_meta *meta, int *full_w, int *full_h,
                          int *eighths)
{
    memset(out, 0, sizeof *out);
    if (meta)
        memset(meta, 0, sizeof *meta);
    *full_w = *full_h = 0, *eighths = 8;
    if (len == 0)
        return ps_fail(PS_EINPUT, "%s: empty file", name);
    if ((long long)len > PS_IMG_MAX_FILE_BYTES || len > INT_MAX)
        return ps_fail(PS_EINPUT, "%s: file too large: %zu bytes (limit %lld MiB)", name, len,
                       PS_IMG_MAX_FILE_BYTES >> 20);
    const char *other = NULL;
    img_format fmt = sniff(buf, len, &other);
    if (fmt == FMT_BMP && bmp_compressed(buf, len))
        fmt = FMT_OTHER, other = "compressed BMP";
    if (fmt == FMT_OTHER)
        return ps_fail(PS_EINPUT, "%s: unsupported image format (%s); use JPEG, PNG, BMP or TGA", name, other);
    if (fmt == FMT_JPEG)
        return jpeg_load(buf, len, name, min_side, out, meta, full_w, full_h, eighths);
    if (fmt == FMT_PNG) { /* libpng; the checks first, so it never sees a bomb or a cut file */
        long long pw, ph;
        header_dims(fmt, buf, len, &pw, &ph);
        ps_status pst = check_size(name, pw, ph);
        if (pst)
            return pst;
        if (pw <= 0 || ph <= 0 || !png_check(buf, len))
            return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
        if ((pst = ps_img__png_load(buf, len, name, out, meta)) == PS_OK)
            *full_w = out->w, *full_h = out->h;
        return pst;
    }
    int iw, ih, comp, known = stbi_info_from_memory(buf, (int)len, &iw, &ih, &comp);
    long long w = iw, h = llabs(ih); /* stb_image reports top-down BMPs with negative height */
    if (!known)
        header_dims(fmt, buf, len, &w, &h);
    ps_status st = check_size(name, w, h);
    if (st)
        return st;
    if (!known || w <= 0 || h <= 0)
        return ps_fail(PS_EINPUT, fmt == FMT_UNKNOWN ? "%s: not an image (unknown format)"
                                                     : "%s: truncated or corrupt image", name);
    int complete;
    switch (fmt) {
    case FMT_BMP: complete = bmp_check(buf, len); break;
    default: complete = tga_check(buf, len); break; /* no magic, yet stb_image took it: TGA */
    }
    if (!complete)
        return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);

    int depth = stbi_is_16_bit_from_memory(buf, (int)len) ? 16 : 8, dw, dh, ch;
    void *px = depth == 16 ? (void *)stbi_load_16_from_memory(buf, (int)len, &dw, &dh, &ch, 0)
                           : (void *)stbi_load_from_memory(buf, (int)len, &dw, &dh, &ch, 0);
    if (own)
        free(*own), *own = NULL;
    if (!px) {
        const char *why = stbi_failure_reason();
        if (why && !strcmp(why, "outofmem"))
            return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
        return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
    }
    if (dw != w || dh != h || ch < 1 || ch > 4) {
        stbi_image_free(px);
        return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
    }
    ps_img__raw_init(out, dw, dh, ch, depth, 1, px, name); /* adopts px: cannot fail */
    *full_w = dw, *full_h = dh;
    if (meta)
        meta->depth = 8;
    return PS_OK;
}

/* load_raw, then the planes: whole, or at the scale min_side asks for (what was decoded whole is
 * resized to it, even to its own size), so that only the copy is kept. */
static ps_status load_buf(const unsigned char *buf, size_t len, unsigned char **own, const char *name,
                          int min_side, ps_image *out, ps_img_meta *meta, int *full_w, int *full_h)
{
    int fw_, fh_;
    full_w = full_w ? full_w : &fw_, full_h = full_h ? full_h : &fh_;
    memset(out, 0, sizeof *out);
    ps_img_raw r;
    int eighths;
    ps_status st = load_raw(buf, len, own, name, min_side, &r, meta, full_w, full_h, &eighths);
    if (own) /* before the planes are allocated */
        free(*own), *own = NULL;
    if (st == PS_OK && (st = ps_img_alloc(out, r.w, r.h, r.c)) == PS_OK)
        ps_img_raw_rows(&r, 0, r.h, 0, out);
    ps_img_raw_free(&r);
    const int n = scale_eighths(*full_w, *full_h, min_side);
    const int sw = (int)((*full_w * (long long)n + 7) / 8), sh = (int)((*full_h * (long long)n + 7) / 8);
    if (st == PS_OK && n < eighths) {
        ps_image full = *out;
        st = ps_img_resize(&full, out, sw, sh);
        ps_img_free(&full);
    }
    if (st != PS_OK) {
        ps_img_free(out);
        ps_img_meta_free(meta);
        *full_w = *full_h = 0;
    }
    return st;
}

ps_status ps_img_load_raw(const unsigned char *buf, size_t len, const char *name, ps_img_raw *out,
                          ps_img_meta *meta)
{
    int fw, fh, eighths;
    return load_raw(buf, len, NULL, name, 0, out, meta, &fw, &fh, &eighths);
}

ps_status ps_img_load_mem(const unsigned char *buf, size_t len, const char *name, ps_image *out)
{
    return load_buf(buf, len, NULL, name, 0, out, NULL, NULL, NULL);
}

ps_status ps_img_load_mem_meta(const unsigned char *buf, size_t len, const char *name, ps_image *out,
                               ps_img_meta *meta)
{
    return load_buf(buf, len, NULL, name, 0, out, meta, NULL, NULL);
}

ps_status ps_img_load_mem_scaled(const unsigned char *buf, size_t len, const char *name, int min_side,
                                 ps_image *out, int *full_w, int *full_h)
{
    return load_buf(buf, len, NULL, name, min_side, out, NULL, full_w, full_h);
}

/* Reads at most PS_IMG_MAX_FILE_BYTES + 1 bytes, so a huge file is refused cheaply. Only regular
 * files: a device can be endless (/dev/zero would be read to the cap), and O_NONBLOCK lets a FIFO
 * with no writer be opened and refused instead of blocking the open. */
ps_status ps_img_read_file(const char *path, unsigned char **out, size_t *len)
{
    *out = NULL, *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return ps_fail(PS_EINPUT, "%s: %s", path,
                       e == ENOENT || e == ENOTDIR ? "no such file"
                       : e == EACCES                ? "permission denied"
                                                    : strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ps_fail(PS_EINPUT, "%s: cannot read: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: %s", path,
                       S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    /* size 0 may still hold bytes (/proc files): read those in growing steps */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
    const size_t limit = (size_t)PS_IMG_MAX_FILE_BYTES + 1;
    if (cap > limit) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: file too large: %lld bytes (limit %lld MiB)", path,
                       (long long)st.st_size, PS_IMG_MAX_FILE_BYTES >> 20);
    }
    unsigned char *buf = malloc(cap);
    ps_status rc = PS_OK;
    while (buf) {
        if (n == cap) {
            if (cap == limit)
                break;
            cap = cap * 2 < limit ? cap * 2 : limit;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf), buf = NULL;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ps_fail(PS_EINPUT, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", path);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf, *len = n;
    return PS_OK;
}

ps_status ps_img_load_meta(const char *path, ps_image *out, ps_img_meta *meta)
{
    unsigned char *buf;
    size_t n;
    memset(out, 0, sizeof *out);
    if (meta)
        memset(meta, 0, sizeof *meta);
    ps_status rc = ps_img_read_file(path, &buf, &n);
    if (rc == PS_OK)
        rc = load_buf(buf, n, &buf, path, 0, out, meta, NULL, NULL); /* frees buf early */
    free(buf);
    return rc;
}

ps_status ps_img_load(const char *path, ps_image *out)
{
    return ps_img_load_meta(path, out, NULL);
}

/* ---- encoding ---- */

/* Buffered output, to a file descriptor or (fd < 0) a growing malloc'd buffer: the encoders hand
 * over a few bytes at a time. */
typedef struct {
    int fd, err;         /* err: first errno of a failed write */
    unsigned char *mem;  /* fd < 0: everything flushed so far */
    size_t mem_len, mem_cap, n;
    unsigned char buf[1 << 16];
} sink;

static void sink_flush(sink *s)
{
    if (s->fd < 0 && !s->err && s->mem_len + s->n > s->mem_cap) {
        size_t cap = 2 * s->mem_cap + s->n;
        unsigned char *nb = realloc(s->mem, cap);
        if (nb)
            s->mem = nb, s->mem_cap = cap;
        else
            s->err = ENOMEM;
    }
    if (s->fd < 0 && !s->err)
        memcpy(s->mem + s->mem_len, s->buf, s->n), s->mem_len += s->n, s->n = 0;
    const unsigned char *p = s->buf;
    while (s->n > 0 && !s->err) {
        ssize_t r = write(s->fd, p, s->n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            s->err = r < 0 ? errno : EIO;
        else
            p += r, s->n -= (size_t)r;
    }
    s->n = 0;
}

static void sink_write(void *ctx, void *data, int size)
{
    sink *s = ctx;
    const unsigned char *p = data;
    while (size > 0 && !s->err) {
        size_t k = sizeof s->buf - s->n < (size_t)size ? sizeof s->buf - s->n : (size_t)size;
        memcpy(s->buf + s->n, p, k);
        s->n += k, p += k, size -= (int)k;
        if (s->n == sizeof s->buf)
            sink_flush(s);
    }
}

/* ps_img__write_fn for a sink. */
static void sink_put(void *ctx, const void *data, size_t n)
{
    while (n > 0) {
        int k = n > INT_MAX ? INT_MAX : (int)n;
        sink_write(ctx, (void *)data, k);
        data = (const unsigned char *)data + k, n -= (size_t)k;
    }
}

/* ---- JPEG encoding (libjpeg-turbo) ---- */
enum { JPEG_ENC_BAND = 64 }; /* rows packed at a time */

typedef struct {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    struct jpeg_destination_mgr dest;
    jmp_buf jmp;
    sink *s;
    unsigned char *row, out[1 << 16];
} jpeg_enc;

static void jpeg_enc_init_dest(j_compress_ptr c)
{
    jpeg_enc *e = c->client_data;
    e->dest.next_output_byte = e->out, e->dest.free_in_buffer = sizeof e->out;
}

static boolean jpeg_enc_empty(j_compress_ptr c)
{
    jpeg_enc *e = c->client_data;
    sink_write(e->s, e->out, (int)sizeof e->out); /* libjpeg hands over a full buffer here */
    jpeg_enc_init_dest(c);
    return TRUE;
}

static void jpeg_enc_term(j_compress_ptr c)
{
    jpeg_enc *e = c->client_data;
    sink_write(e->s, e->out, (int)(sizeof e->out - e->dest.free_in_buffer));
}

static void jpeg_enc_fail(j_common_ptr c)
{
    jpeg_enc *e = c->client_data;
    longjmp(e->jmp, 1);
}

static void jpeg_enc_message(j_common_ptr c, int level) { (void)c, (void)level; }

/* Markers that fit one segment (65533 bytes with the 2 of the length): what does not is left out
 * (ps_img_meta_jpeg_unfit tells which). */
static void jpeg_put_marker(j_compress_ptr c, int marker, const char *prefix, size_t plen,
                            const unsigned char *data, size_t n)
{
    if (!data || !n || n > 65533 - plen)
        return;
    jpeg_write_m_header(c, marker, (unsigned)(plen + n));
    for (size_t i = 0; i < plen; i++)
        jpeg_write_m_byte(c, (unsigned char)prefix[i]);
    for (size_t i = 0; i < n; i++)
        jpeg_write_m_byte(c, data[i]);
}

/* XMP over one APP1 segment's 65504 bytes, as the XMP specification (part 3, 1.1.3.1) stores
 * it: a StandardXMP packet in the usual APP1 holding only xmpNote:HasExtendedXMP, the GUID (the
 * MD5 of the ExtendedXMP, upper-case hex), and the ExtendedXMP, the input's whole serialization
 * (its x:xmpmeta, else its rdf:RDF, without the packet wrapper), cut into XMP_EXT_NS segments. Readers that know ExtendedXMP (exiftool, Adobe's XMP toolkit) merge
 * the two and see every property; the others see none, as when it was left out. Moving some
 * properties into the StandardXMP, as Adobe's toolkit does, would need an RDF parser here for
 * hostile input, for the few readers in between. Packets with neither element are left out
 * (ps_img_meta_unfit says so). */
#define XMP_EXT_PART (65533 - XMP_EXT_HEAD)
static void jpeg_put_xmp(jpeg_enc *e, const unsigned char *x, size_t n)
{
    j_compress_ptr c = &e->ci;
    if (n <= PS_IMG_JPEG_XMP_MAX) {
        jpeg_put_marker(c, JPEG_APP0 + 1, XMP_NS, sizeof XMP_NS, x, n);
        return;
    }
    size_t len;
    const unsigned char *ext = ps_img__xmp_body(x, n, &len);
    unsigned char md5[16];
    if (!ext)
        return;
    if (!ps_img__md5(ext, len, md5))
        longjmp(e->jmp, 1); /* out of memory */
    char guid[33], std[512];
    for (int i = 0; i < 16; i++)
        snprintf(guid + 2 * i, 3, "%02X", md5[i]);
    int sn = snprintf(std, sizeof std,
                      "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"
                      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf="
                      "\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "
                      "xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\" xmpNote:HasExtendedXMP=\"%s\"/>"
                      "</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>", guid);
    jpeg_put_marker(c, JPEG_APP0 + 1, XMP_NS, sizeof XMP_NS, (const unsigned char *)std, (size_t)sn);
    for (size_t off = 0; off < len; off += XMP_EXT_PART) {
        size_t part = len - off < XMP_EXT_PART ? len - off : XMP_EXT_PART;
        unsigned char head[XMP_EXT_HEAD];
        memcpy(head, XMP_EXT_NS, sizeof XMP_EXT_NS);
        memcpy(head + sizeof XMP_EXT_NS, guid, 32);
        for (int i = 0; i < 4; i++) {
            head[sizeof XMP_EXT_NS + 32 + i] = (unsigned char)(len >> (24 - 8 * i));
            head[sizeof XMP_EXT_NS + 36 + i] = (unsigned char)(off >> (24 - 8 * i));
        }
        jpeg_put_marker(c, JPEG_APP0 + 1, (const char *)head, sizeof head, ext + off, part);
    }
}

/* Every libjpeg call but destroy; errors (out of memory: the destination never fails) and a
 * source that stops longjmp out to jpeg_encode. Above quality 90 chroma keeps its full
 * resolution, as stb_image_write did. */
static void jpeg_encode_body(jpeg_enc *e, const ps_img_src *src, int ch, int quality, const ps_img_meta *m)
{
    struct jpeg_compress_struct *c = &e->ci;
    jpeg_create_compress(c);
    c->dest = &e->dest;
    e->dest.init_destination = jpeg_enc_init_dest;
    e->dest.empty_output_buffer = jpeg_enc_empty;
    e->dest.term_destination = jpeg_enc_term;
    c->image_width = (JDIMENSION)src->w, c->image_height = (JDIMENSION)src->h;
    c->input_components = ch;
    c->in_color_space = ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, quality, TRUE);
    if (quality > 90)
        for (int k = 0; k < c->num_components; k++)
            c->comp_info[k].h_samp_factor = c->comp_info[k].v_samp_factor = 1;
    if (m && m->exif && m->exif_len)
        c->write_JFIF_header = FALSE; /* Exif wants its APP1 first */
    jpeg_start_compress(c, TRUE);
    if (m) {
        jpeg_put_marker(c, JPEG_APP0 + 1, "Exif\0\0", 6, m->exif, m->exif_len);
        jpeg_put_xmp(e, m->xmp, m->xmp_len);
        if (m->icc && m->icc_len >= 132 && m->icc_len <= PS_IMG_META_MAX_BYTES && ch == 3)
            jpeg_write_icc_profile(c, m->icc, (unsigned)m->icc_len);
        for (int i = 0; i < m->n_comments; i++)
            jpeg_put_marker(c, JPEG_COM, "", 0, m->comment[i], m->comment_len[i]);
    }
    /* the source gives 8-bit rows a band at a time; libjpeg codes them */
    while (c->next_scanline < c->image_height) {
        int y0 = (int)c->next_scanline, n = src->h - y0 < JPEG_ENC_BAND ? src->h - y0 : JPEG_ENC_BAND;
        size_t stride = (size_t)src->w * ch;
        if (src->rows(src->ctx, y0, n, e->row, ch, 8) != PS_OK)
            longjmp(e->jmp, 1);
        JSAMPROW rows[JPEG_ENC_BAND];
        for (int k = 0; k < n; k++)
            rows[k] = e->row + k * stride;
        for (int done = 0; done < n;)
            done += (int)jpeg_write_scanlines(c, rows + done, (JDIMENSION)(n - done));
    }
    jpeg_finish_compress(c);
}

/* 0 when libjpeg fails (out of memory) or src stops it; write errors stay in s->err. */
static int jpeg_encode(sink *s, const ps_img_src *src, int ch, int quality, const ps_img_meta *m)
{
    jpeg_enc *e = calloc(1, sizeof *e);
    if (!e)
        return 0;
    e->s = s;
    e->row = malloc((size_t)src->w * ch * JPEG_ENC_BAND);
    e->ci.err = jpeg_std_error(&e->err);
    e->err.error_exit = jpeg_enc_fail;
    e->err.emit_message = jpeg_enc_message;
    e->ci.client_data = e;
    int ok = 0;
    if (e->row) {
        if (!setjmp(e->jmp)) {
            jpeg_encode_body(e, src, ch, quality, m);
            ok = 1;
        }
        jpeg_destroy_compress(&e->ci);
    }
    free(e->row), free(e);
    return ok;
}

/* What an encoder writes: src's rows as PNG (depth 8 or 16) or JPEG, with ch samples a pixel.
 * The encoders pull through pull, which keeps the status and message of a source that stops
 * them: ps_file_write_atomic's message would replace it. */
typedef struct {
    const ps_img_src *src;
    ps_img_src pull;
    const ps_img_meta *meta;
    int png, ch, depth, quality;
    ps_status st;
    char msg[1024];
} enc_job;

static ps_status pull_rows(void *ctx, int y0, int n, void *dst, int ch, int depth)
{
    enc_job *j = ctx;
    ps_status st = j->src->rows(j->src->ctx, y0, n, dst, ch, depth);
    if (st != PS_OK && j->st == PS_OK)
        j->st = st, snprintf(j->msg, sizeof j->msg, "%s", ps_last_error());
    return st;
}

static void enc_job_init(enc_job *j, const ps_img_src *src, const ps_img_meta *meta, int png, int ch,
                         int depth, int quality)
{
    *j = (enc_job){src, {src->w, src->h, src->c, pull_rows, j}, meta, png, ch, depth, quality, PS_OK, ""};
}

static int encode(sink *s, enc_job *j)
{
    return j->png ? ps_img__png_encode(sink_put, s, &j->pull, j->ch, j->depth, j->meta)
                  : jpeg_encode(s, &j->pull, j->ch, j->quality, j->meta);
}

/* ps_file_fill for ps_file_write_atomic: the encoded job into fd. An encoder that fails with
 * no write error ran out of memory, or its source stopped it (ECANCELED: the temp file goes). */
static int encode_to_fd(int fd, void *ctx)
{
    enc_job *j = ctx;
    sink *s = calloc(1, sizeof *s);
    if (!s)
        return ENOMEM;
    s->fd = fd;
    int ok = encode(s, j);
    sink_flush(s);
    int err = j->st ? ECANCELED : s->err ? s->err : ok ? 0 : ENOMEM;
    free(s);
    return err;
}

/* The samples a pixel of src in a PNG (alpha kept) or JPEG (alpha dropped). */
static ps_status out_channels(const char *what, const ps_img_src *src, int png, int *ch)
{
    if (!src->rows || src->w <= 0 || src->h <= 0 || (src->c != 1 && src->c != 3 && src->c != 4))
        return ps_fail(PS_EUSAGE, "%s: cannot encode a %dx%d image with %d planes", what, src->w,
                       src->h, src->c);
    *ch = src->c == 1 ? 1 : png && src->c == 4 ? 4 : 3;
    return PS_OK;
}

/* A source over a ps_image: its planes packed to codes (exactly rounded, ps_img__pack_rows), the
 * rows of a call on every thread. No rows() for an image without pixels, which out_channels
 * then refuses. */
typedef struct {
    const ps_image *img;
    const char *name; /* for "<name>: out of memory" */
    ps_img__packer *pk;
    int depth;
} img_src;

static ps_status img_src_rows(void *ctx, int y0, int n, void *dst, int ch, int depth)
{
    img_src *s = ctx;
    if (!s->pk) /* the calls come one at a time, all at one depth */
        s->pk = ps_img__packer_new(s->depth = depth);
    if (!s->pk)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", s->name);
    assert(depth == s->depth);
    const size_t stride = (size_t)s->img->w * ch * (depth / 8);
#pragma omp parallel for schedule(static) if (stride * n > 1 << 16)
    for (int k = 0; k < n; k++)
        ps_img__pack_rows(s->pk, s->img, y0 + k, 1, (unsigned char *)dst + k * stride, ch);
    return PS_OK;
}

static ps_img_src img_src_of(const ps_image *img, const char *name, img_src *ctx)
{
    *ctx = (img_src){img, name, NULL, 0};
    return (ps_img_src){img->w, img->h, img->c, img->px ? img_src_rows : NULL, ctx};
}

ps_status ps_img_out_format(const char *path, int *png)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(slash ? slash : path, '.');
    int is_png = dot && !strcasecmp(dot, ".png");
    int jpg = dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
    if (!is_png && !jpg)
        return ps_fail(PS_EUSAGE, "%s: unsupported output format (use .png, .jpg or .jpeg)", path);
    if (png)
        *png = is_png;
    return PS_OK;
}

ps_status ps_img_save_src(const char *path, const ps_img_src *src, int jpeg_quality,
                          const ps_img_meta *meta)
{
    int png, ch;
    ps_status st = ps_img_out_format(path, &png);
    if (st)
        return st;
    if (jpeg_quality == 0)
        jpeg_quality = 92;
    if (jpeg_quality < 1 || jpeg_quality > 100)
        return ps_fail(PS_EUSAGE, "%s: JPEG quality %d is not in 1..100", path, jpeg_quality);
    if ((st = out_channels(path, src, png, &ch)))
        return st;
    enc_job job;
    enc_job_init(&job, src, meta, png, ch, png && meta && meta->depth == 16 ? 16 : 8, jpeg_quality);
    st = ps_file_write_atomic(path, PS_EINPUT, encode_to_fd, &job);
    return job.st ? ps_fail(job.st, "%s", job.msg) : st;
}

ps_status ps_img_save_meta(const char *path, const ps_image *img, int jpeg_quality,
                           const ps_img_meta *meta)
{
    img_src ctx;
    const ps_img_src src = img_src_of(img, path, &ctx);
    ps_status st = ps_img_save_src(path, &src, jpeg_quality, meta);
    ps_img__packer_free(ctx.pk);
    return st;
}

ps_status ps_img_save(const char *path, const ps_image *img, int jpeg_quality)
{
    return ps_img_save_meta(path, img, jpeg_quality, NULL);
}

ps_status ps_img_encode_png(const ps_image *img, unsigned char **out, size_t *len)
{
    *out = NULL, *len = 0;
    int ch;
    img_src ctx;
    const ps_img_src src = img_src_of(img, "png encode", &ctx);
    ps_status st = out_channels("png encode", &src, 1, &ch);
    sink *s = st ? NULL : calloc(1, sizeof *s);
    enc_job job;
    if (st == PS_OK && s) {
        s->fd = -1;
        enc_job_init(&job, &src, NULL, 1, ch, 8, 0);
        int ok = encode(s, &job);
        sink_flush(s);
        if (ok && !s->err)
            *out = s->mem, *len = s->mem_len, s->mem = NULL;
        free(s->mem);
        if (job.st)
            st = ps_fail(job.st, "%s", job.msg);
    }
    if (st == PS_OK && !*out)
        st = ps_fail(PS_EINTERNAL, "png encode: out of memory");
    free(s);
    ps_img__packer_free(ctx.pk);
    return st;
}
