/* Image files: hostile-input-safe decoding (file size cap, header-only size check before any large
 * allocation, per-format completeness checks so truncation is an error rather than a gray
 * bottom), JPEG EXIF orientation, and atomic PNG/JPEG writing (temp file + fsync + rename).
 * JPEG is decoded by libjpeg-turbo, everything else by stb_image, which never sees JPEG bytes. */
#include "img_impl.h"
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
#include <stb_image_write.h>
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

/* Orientation tag (0x0112) of an Exif APP1 payload ("Exif\0\0" + TIFF); 1 if absent or malformed.
 * Every offset is checked against n before it is read: the block comes from the file. */
static int exif_orientation(const unsigned char *p, size_t n)
{
    if (n < 6 + 8 || memcmp(p, "Exif\0\0", 6))
        return 1;
    p += 6, n -= 6;
    int be;
    if (!memcmp(p, "II*\0", 4))
        be = 0;
    else if (!memcmp(p, "MM\0*", 4))
        be = 1;
    else
        return 1;
    size_t ifd = rd32(p + 4, be);
    if (ifd > n - 2)
        return 1;
    size_t count = rd16(p + ifd, be);
    for (size_t i = 0; i < count && ifd + 2 + 12 * (i + 1) <= n; i++) {
        const unsigned char *e = p + ifd + 2 + 12 * i;
        if (rd16(e, be) == 0x0112) {
            uint32_t v = rd16(e + 8, be);
            return rd16(e + 2, be) == 3 && rd32(e + 4, be) >= 1 && v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
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

/* out, upright, from the w x h interleaved sRGB samples (ch 1..4, depth 8 or 16) as stored. */
static ps_status unpack(ps_image *out, const void *px, int w, int h, int depth, int ch, int orient,
                        const char *name)
{
    ps_status st = ps_img_alloc(out, orient >= 5 ? h : w, orient >= 5 ? w : h, ch == 2 || ch == 4 ? 4 : 3);
    if (st)
        return st;
    int nlut = depth == 16 ? 65536 : 256;
    float *lut = malloc(nlut * sizeof *lut);
    if (!lut) {
        ps_img_free(out);
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    }
    ps_img__srgb_lut(lut, nlut);
    ps_img__unpack_rows(out, px, 0, h, depth, ch, orient, lut);
    free(lut);
    return PS_OK;
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
    unsigned char *band;         /* JPEG_BAND rows of samples as decoded */
    ps_image img;                /* the result, filled band by band */
    int orient, full_w, full_h;  /* full_*: upright size at full scale */
    float lut[256];
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
    if (level < 0)
        jpeg_fail(c);
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
 * others plain ones. The naive conversion R = (1-C)(1-K) (stb_image's for Adobe files), in place
 * from 4 to 3 bytes a pixel. */
static void cmyk_to_rgb(unsigned char *px, size_t n, int inverted)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = px + 4 * i;
        unsigned k = inverted ? s[3] : 255u - s[3];
        for (int j = 0; j < 3; j++)
            px[3 * i + j] = (unsigned char)(((inverted ? s[j] : 255u - s[j]) * k + 127) / 255);
    }
}

/* Every libjpeg call but destroy; its errors longjmp out to jpeg_load. The samples go from a
 * band of JPEG_BAND rows straight into the float planes, so the only full-size buffer is the
 * result (and, for a progressive file, libjpeg's own coefficients). */
static ps_status jpeg_decode(jpeg_dec *d, const unsigned char *buf, size_t len, const char *name,
                             int min_side)
{
    struct jpeg_decompress_struct *ci = &d->ci;
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, buf, (unsigned long)len);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(ci, TRUE); /* markers up to the first SOS; allocates little */
    ps_status st = check_size(name, ci->image_width, ci->image_height);
    if (st)
        return st;
    /* the first Exif APP1 before the first scan, the one cameras write */
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 4 && !memcmp(m->data, "Exif", 4)) {
            d->orient = exif_orientation(m->data, m->data_length);
            break;
        }
    J_COLOR_SPACE cs = ci->jpeg_color_space;
    int cmyk = cs == JCS_CMYK || cs == JCS_YCCK;
    if (!cmyk && cs != JCS_GRAYSCALE && cs != JCS_YCbCr && cs != JCS_RGB)
        return ps_fail(PS_EINPUT, "%s: unsupported JPEG color space (%d components)", name, ci->num_components);
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* libjpeg converts YCCK to CMYK, gray to RGB */
    int n8 = scale_eighths(ci->image_width, ci->image_height, min_side);
    if (n8 < 8) /* IDCT scaling: each 8x8 block decodes straight to n x n samples */
        ci->scale_num = (unsigned)n8, ci->scale_denom = 8;
    ci->progress = &d->progress;
    d->full_w = (int)(d->orient >= 5 ? ci->image_height : ci->image_width);
    d->full_h = (int)(d->orient >= 5 ? ci->image_width : ci->image_height);
    jpeg_start_decompress(ci); /* a multi-scan file is decoded whole in here */
    const int w = (int)ci->output_width, h = (int)ci->output_height;
    const size_t stride = (size_t)w * ci->output_components;
    if ((st = ps_img_alloc(&d->img, d->orient >= 5 ? h : w, d->orient >= 5 ? w : h, 3)))
        return st;
    d->band = malloc(stride * JPEG_BAND);
    if (!d->band)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    ps_img__srgb_lut(d->lut, 256);
    while (ci->output_scanline < ci->output_height) {
        const int y = (int)ci->output_scanline, n = JPEG_BAND < h - y ? JPEG_BAND : h - y;
        JSAMPROW rows[JPEG_BAND];
        for (int i = 0; i < n; i++)
            rows[i] = d->band + i * stride;
        for (int got = 0; got < n;) { /* libjpeg hands out a row or two per call */
            int r = (int)jpeg_read_scanlines(ci, rows + got, (JDIMENSION)(n - got));
            if (r < 1)
                return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
            got += r;
        }
        if (cmyk)
            cmyk_to_rgb(d->band, (size_t)n * w, ci->saw_Adobe_marker);
        ps_img__unpack_rows(&d->img, d->band, y, n, 8, 3, d->orient, d->lut);
    }
    jpeg_finish_decompress(ci); /* reads on to the EOI, so a cut or damaged tail is caught too */
    return PS_OK;
}

/* The decoder state lives on the heap: locals changed between setjmp and longjmp would be
 * indeterminate after it (C11 7.13.2.1). */
static ps_status jpeg_load(const unsigned char *buf, size_t len, const char *name, int min_side,
                           ps_image *out, int *full_w, int *full_h)
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
        st = jpeg_decode(d, buf, len, name, min_side);
    else if (d->msg_code == JERR_OUT_OF_MEMORY)
        st = ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    else if (d->msg_code == JWRN_JPEG_EOF) /* the data ended before the EOI */
        st = ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
    else /* "corrupt JPEG: Corrupt JPEG data: bad Huffman code" would say it twice */
        st = ps_fail(PS_EINPUT, "%s: corrupt JPEG: %s", name,
                     d->msg + (strncmp(d->msg, "Corrupt JPEG data: ", 19) ? 0 : 19));
    jpeg_destroy_decompress(&d->ci);
    free(d->band);
    if (st == PS_OK)
        *out = d->img, *full_w = d->full_w, *full_h = d->full_h;
    else
        ps_img_free(&d->img);
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

/* Every format through here. own, when not NULL, holds buf, which is malloc'd: it is freed (and
 * *own cleared) as soon as the samples are decoded, before the float planes are allocated. */
static ps_status load_buf(const unsigned char *buf, size_t len, unsigned char **own, const char *name,
                          int min_side, ps_image *out, int *full_w, int *full_h)
{
    int fw_, fh_;
    full_w = full_w ? full_w : &fw_, full_h = full_h ? full_h : &fh_;
    memset(out, 0, sizeof *out);
    *full_w = *full_h = 0;
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
        return jpeg_load(buf, len, name, min_side, out, full_w, full_h);
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
    case FMT_PNG: complete = png_check(buf, len); break;
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
    if (dw != w || dh != h || ch < 1 || ch > 4)
        st = ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
    else
        st = unpack(out, px, dw, dh, depth, ch, 1, name);
    stbi_image_free(px);
    int n = scale_eighths(dw, dh, min_side);
    if (st == PS_OK && n < 8) {
        ps_image full = *out;
        st = ps_img_resize(&full, out, (int)((dw * (long long)n + 7) / 8), (int)((dh * (long long)n + 7) / 8));
        ps_img_free(&full);
    }
    if (st == PS_OK)
        *full_w = dw, *full_h = dh;
    return st;
}

ps_status ps_img_load_mem(const unsigned char *buf, size_t len, const char *name, ps_image *out)
{
    return load_buf(buf, len, NULL, name, 0, out, NULL, NULL);
}

ps_status ps_img_load_mem_scaled(const unsigned char *buf, size_t len, const char *name, int min_side,
                                 ps_image *out, int *full_w, int *full_h)
{
    return load_buf(buf, len, NULL, name, min_side, out, full_w, full_h);
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

ps_status ps_img_load(const char *path, ps_image *out)
{
    unsigned char *buf;
    size_t n;
    memset(out, 0, sizeof *out);
    ps_status rc = ps_img_read_file(path, &buf, &n);
    if (rc == PS_OK)
        rc = load_buf(buf, n, &buf, path, 0, out, NULL, NULL); /* frees buf early */
    free(buf);
    return rc;
}

/* ---- encoding ---- */

/* Buffered output, to a file descriptor or (fd < 0) a growing malloc'd buffer: stb_image_write
 * hands over a few bytes at a time. */
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

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

static void png_chunk(sink *s, const char *type, const unsigned char *data, uint32_t n)
{
    unsigned char hdr[8], crc[4];
    be32(hdr, n);
    memcpy(hdr + 4, type, 4);
    uLong c = crc32(crc32(0, NULL, 0), hdr + 4, 4);
    be32(crc, (uint32_t)(n ? crc32(c, data, n) : c)); /* crc32(c, NULL, 0) would reset c */
    sink_write(s, hdr, 8);
    sink_write(s, (void *)data, (int)n);
    sink_write(s, crc, 4);
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Residuals r of row x against predictor f (0 none, 1 left, 2 up, 3 average, 4 Paeth), PNG spec
 * section 9; one loop per filter keeps the branch out of the inner loop. */
static void png_filter(int f, unsigned char *r, const unsigned char *x, const unsigned char *up,
                       size_t n, int bpp)
{
    size_t i = 0;
    switch (f) {
    case 0: memcpy(r, x, n); break;
    case 1:
        for (; i < (size_t)bpp; i++)
            r[i] = x[i];
        for (; i < n; i++)
            r[i] = (unsigned char)(x[i] - x[i - bpp]);
        break;
    case 2:
        for (; i < n; i++)
            r[i] = (unsigned char)(x[i] - up[i]);
        break;
    case 3:
        for (; i < (size_t)bpp; i++)
            r[i] = (unsigned char)(x[i] - up[i] / 2);
        for (; i < n; i++)
            r[i] = (unsigned char)(x[i] - (x[i - bpp] + up[i]) / 2);
        break;
    default:
        for (; i < (size_t)bpp; i++)
            r[i] = (unsigned char)(x[i] - up[i]); /* Paeth with a = c = 0 picks b */
        for (; i < n; i++)
            r[i] = (unsigned char)(x[i] - paeth(x[i - bpp], up[i], up[i - bpp]));
        break;
    }
}

/* PNG on zlib rather than stb_image_write's own deflate. Each row takes the filter with the
 * smallest sum of |signed residuals| (libpng's heuristic); deflate runs with Z_RLE, which on a
 * noisy 12 MP photo-like image was 6x faster than the default strategy and even smaller (13.7
 * vs 15.5 MB; on smooth synthetic art it is ~25% bigger). Returns 0 if zlib fails (out of
 * memory); write errors are left in s->err. */
static int png_encode(sink *s, const unsigned char *px, int w, int h, int ch)
{
    enum { OUT = 1 << 16 };
    static const unsigned char color_type[5] = {0, 0, 4, 2, 6};
    const size_t stride = (size_t)w * ch;
    unsigned char ihdr[13] = {0}, *rows = malloc(5 * (stride + 1)), *zero = calloc(stride, 1),
                  *out = malloc(OUT);
    z_stream z = {0};
    if (!rows || !zero || !out || deflateInit2(&z, 6, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) {
        free(rows), free(zero), free(out);
        return 0;
    }
    be32(ihdr, (uint32_t)w), be32(ihdr + 4, (uint32_t)h), ihdr[8] = 8, ihdr[9] = color_type[ch];
    sink_write(s, "\x89PNG\r\n\x1a\n", 8);
    png_chunk(s, "IHDR", ihdr, 13);
    int zst = Z_OK;
    z.next_out = out, z.avail_out = OUT;
    for (int y = 0; y <= h && zst == Z_OK && !s->err; y++) {
        unsigned char *best = NULL;
        if (y < h) {
            const unsigned char *x = px + y * stride, *up = y ? x - stride : zero;
            unsigned long best_cost = ~0UL;
            for (int f = 0; f < 5; f++) {
                unsigned char *r = rows + f * (stride + 1);
                r[0] = (unsigned char)f;
                png_filter(f, r + 1, x, up, stride, ch);
                unsigned long cost = 0;
                for (size_t i = 1; i <= stride; i++)
                    cost += (unsigned long)abs((signed char)r[i]);
                if (cost < best_cost)
                    best_cost = cost, best = r;
            }
            z.next_in = best, z.avail_in = (uInt)(stride + 1);
        }
        do { /* y == h: flush everything */
            zst = deflate(&z, y < h ? Z_NO_FLUSH : Z_FINISH);
            if (z.avail_out == 0 || (zst == Z_STREAM_END && z.avail_out < OUT)) {
                png_chunk(s, "IDAT", out, OUT - z.avail_out);
                z.next_out = out, z.avail_out = OUT;
            }
        } while (zst == Z_OK && (z.avail_in > 0 || (y == h && !s->err)));
    }
    png_chunk(s, "IEND", NULL, 0);
    deflateEnd(&z);
    free(rows), free(zero), free(out);
    return zst == Z_STREAM_END || s->err;
}

/* Encodes 8-bit pixels into a fresh temp file beside path, fsyncs and renames it over path.
 * The temp file is created with O_EXCL and mode 0666 so the umask applies as for any output. */
static ps_status write_atomic_body(const char *path, int png, const unsigned char *px, int w,
                                   int h, int ch, int quality)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], tmp[PATH_MAX];
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        memcpy(dir, path, (size_t)(slash - path)), dir[slash - path] = 0;
    else
        return ps_fail(PS_EINPUT, "%s: path too long", path);
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        /* not named after path: any name up to NAME_MAX must work, and a longer one would not */
        if (snprintf(tmp, sizeof tmp, "%s/.pstyle.%ld.%d.tmp", dir, (long)getpid(), attempt) >=
            (int)sizeof tmp)
            return ps_fail(PS_EINPUT, "%s: path too long", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            return ps_fail(PS_EINPUT, "%s: cannot create a file in %s: %s", path, dir, strerror(errno));
    }
    if (fd < 0)
        return ps_fail(PS_EINPUT, "%s: cannot create a temp file in %s", path, dir);
    sink *s = calloc(1, sizeof *s);
    int ok = 0, err = ENOMEM;
    if (s) {
        s->fd = fd;
        ok = png ? png_encode(s, px, w, h, ch) : stbi_write_jpg_to_func(sink_write, s, w, h, ch, px, quality);
        sink_flush(s);
        err = s->err;
        free(s);
    }
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && ok && rename(tmp, path) != 0)
        err = errno;
    if (err || !ok) {
        unlink(tmp);
        return err ? ps_fail(err == ENOMEM ? PS_EINTERNAL : PS_EINPUT, "%s: cannot write: %s", path, strerror(err))
                   : ps_fail(PS_EINTERNAL, "%s: encoder failed (out of memory?)", path);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* make the rename itself durable */
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return PS_OK;
}

/* Ctrl-C (or a TERM/HUP/QUIT) while the temp file exists would leave it behind: those signals
 * wait until it is renamed into place or removed, then take effect as usual. */
static ps_status write_atomic(const char *path, int png, const unsigned char *px, int w, int h,
                              int ch, int quality)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    ps_status st = write_atomic_body(path, png, px, w, h, ch, quality);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

/* The 8-bit sRGB samples a PNG (alpha kept) or JPEG (alpha dropped) of img is made of. */
static ps_status pack8(const char *what, const ps_image *img, int png, unsigned char **px, int *ch)
{
    *px = NULL;
    if (!img->px || img->w <= 0 || img->h <= 0 || (img->c != 1 && img->c != 3 && img->c != 4))
        return ps_fail(PS_EUSAGE, "%s: cannot encode a %dx%d image with %d planes", what, img->w,
                       img->h, img->c);
    *ch = img->c == 1 ? 1 : png && img->c == 4 ? 4 : 3;
    *px = malloc((size_t)img->w * img->h * *ch);
    if (!*px)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", what);
    ps_img_to_rgba8(img, *px, *ch);
    return PS_OK;
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

ps_status ps_img_save(const char *path, const ps_image *img, int jpeg_quality)
{
    int png;
    ps_status fst = ps_img_out_format(path, &png);
    if (fst)
        return fst;
    if (jpeg_quality == 0)
        jpeg_quality = 92;
    if (jpeg_quality < 1 || jpeg_quality > 100)
        return ps_fail(PS_EUSAGE, "%s: JPEG quality %d is not in 1..100", path, jpeg_quality);
    unsigned char *px;
    int ch;
    ps_status st = pack8(path, img, png, &px, &ch);
    if (st == PS_OK)
        st = write_atomic(path, png, px, img->w, img->h, ch, jpeg_quality);
    free(px);
    return st;
}

ps_status ps_img_encode_png(const ps_image *img, unsigned char **out, size_t *len)
{
    *out = NULL, *len = 0;
    unsigned char *px;
    int ch;
    ps_status st = pack8("png encode", img, 1, &px, &ch);
    sink *s = st ? NULL : calloc(1, sizeof *s);
    if (st == PS_OK && s) {
        s->fd = -1;
        int ok = png_encode(s, px, img->w, img->h, ch);
        sink_flush(s);
        if (ok && !s->err)
            *out = s->mem, *len = s->mem_len, s->mem = NULL;
        free(s->mem);
    }
    if (st == PS_OK && !*out)
        st = ps_fail(PS_EINTERNAL, "png encode: out of memory");
    free(s);
    free(px);
    return st;
}
