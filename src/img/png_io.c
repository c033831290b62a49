/* PNG through libpng: decoding (after img_io.c's structure, CRC and inflate-size checks) into the
 * samples as stored (a ps_img_raw) with the metadata chunks (eXIf, iCCP, text), and encoding a
 * row source at 8 or 16 bits with them.
 * libpng reports errors by longjmp: all state that outlives a setjmp lives in a heap struct.
 * The image data is filtered and compressed here, on every thread (libpng does it on one: a
 * 12 MP photo took a second): libpng writes the chunks around it. */
#include "img_impl.h"
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { PNG_BAND = 16 }; /* rows decoded at a time (non-interlaced files) */
enum { ENC_BAND = 64 };  /* rows a thread filters and compresses at a time */
enum { ENC_MAX_THREADS = 16 };

/* Ancillary chunk cap: libpng drops (benign error) a text or profile chunk that is bigger or
 * inflates bigger, so one blob costs at most this much memory. At most PNG_MAX_CACHED of them are
 * kept (libpng's cache limit), which bounds what many small zTXt bombs can inflate to. */
#define PNG_CHUNK_MAX ((png_alloc_size_t)PS_IMG_META_MAX_BYTES + 4096)
enum { PNG_MAX_CACHED = 64 };

typedef struct {
    png_structp png;
    png_infop info;
    const unsigned char *buf;
    size_t len, pos;
    char msg[160];
    int oom;
    unsigned char *rows;        /* converted by a profile: a band as stored (the whole image when
                                   interlaced); else NULL: libpng writes into raw */
    png_bytep *rowp;            /* row pointers into rows, or into raw */
    ps_img__cms cms;
    ps_img_raw raw;
    ps_img_meta meta;
    int orient;
} png_dec;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_dec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    d->oom = strstr(msg, "memory") != NULL;
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    png_dec *d = png_get_io_ptr(png);
    if (n > d->len - d->pos)
        png_error(png, "truncated");
    memcpy(out, d->buf + d->pos, n);
    d->pos += n;
}

/* ISO 8859-1 to UTF-8 (tEXt, zTXt), into a malloc'd buffer; NULL when out of memory. */
static unsigned char *latin1_to_utf8(const char *s, size_t n, size_t *out_n)
{
    unsigned char *o = malloc(2 * n + 1), *p = o;
    for (size_t i = 0; o && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80)
            *p++ = c;
        else
            *p++ = (unsigned char)(0xc0 | c >> 6), *p++ = (unsigned char)(0x80 | (c & 0x3f));
    }
    *out_n = o ? (size_t)(p - o) : 0;
    return o;
}

/* The text chunks libpng read (in file order, before and after the image data): the first XMP
 * and every comment. */
static int png_take_text(png_dec *d)
{
    png_textp t;
    int n = png_get_text(d->png, d->info, &t, NULL);
    for (int i = 0; i < n; i++) {
        size_t len = t[i].compression > 0 ? t[i].itxt_length : t[i].text_length;
        if (!strcmp(t[i].key, "XML:com.adobe.xmp") && t[i].compression > 0) {
            if (!ps_img__meta_keep(&d->meta.xmp, &d->meta.xmp_len, t[i].text, len))
                return 0;
        } else if (!strcmp(t[i].key, "Comment") && len && len <= PS_IMG_META_MAX_BYTES) {
            if (t[i].compression > 0) {
                if (!ps_img__meta_comment(&d->meta, t[i].text, len))
                    return 0;
            } else {
                size_t ulen;
                unsigned char *u = latin1_to_utf8(t[i].text, len, &ulen);
                int ok = u && ps_img__meta_comment(&d->meta, u, ulen);
                free(u);
                if (!ok)
                    return 0;
            }
        }
    }
    return 1;
}

/* Every libpng call but destroy; its errors longjmp out to ps_img__png_load. */
static ps_status png_decode(png_dec *d, const char *name, int want_meta)
{
    png_structp png = d->png;
    png_infop info = d->info;
    png_set_read_fn(png, d, png_read_mem);
    png_set_user_limits(png, PS_IMG_MAX_SIDE, PS_IMG_MAX_SIDE);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
    png_set_chunk_cache_max(png, PNG_MAX_CACHED);
    png_set_benign_errors(png, 1); /* a bad ancillary chunk is dropped, not fatal */
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    if (!want_meta) { /* text is only metadata: not even inflated then */
        static const png_byte text[] = "tEXt\0zTXt\0iTXt";
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, text, 3);
    }
    png_read_info(png, info);
    png_uint_32 w32, h32;
    int depth, type, interlace;
    png_get_IHDR(png, info, &w32, &h32, &depth, &type, &interlace, NULL, NULL);
    const int w = (int)w32, h = (int)h32;
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
    if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif_len) /* before IDAT: it applies */
        d->orient = ps_img__exif_orientation(exif, exif_len);
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16) {
        const uint16_t one = 1;
        if (*(const unsigned char *)&one) /* little-endian host: samples as host shorts */
            png_set_swap(png);
    }
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const int ch = png_get_channels(png, info), od = png_get_bit_depth(png, info);
    const size_t stride = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || (od != 8 && od != 16) || stride != (size_t)w * ch * (od / 8))
        return ps_fail(PS_EINPUT, "%s: truncated or corrupt image", name);
    d->meta.depth = od;

    png_charp icc_name;
    png_bytep icc = NULL;
    png_uint_32 icc_len = 0;
    int comp, cms = PS_CMS_IGNORED;
    if (png_get_iCCP(png, info, &icc_name, &comp, &icc, &icc_len) && icc_len)
        cms = ps_img__cms_open(&d->cms, icc, icc_len, ch <= 2 ? PS_CMS_GRAY : PS_CMS_RGB, ch, od);
    if (want_meta && cms == PS_CMS_SRGB && !ps_img__meta_keep(&d->meta.icc, &d->meta.icc_len, icc, icc_len))
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    if (want_meta && cms == PS_CMS_CONVERT && !ps_img__srgb_icc(&d->meta.icc, &d->meta.icc_len))
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);

    /* converted: 16-bit sRGB from a band (or, interlaced, the whole image) as stored; else the
     * samples as stored, read straight into raw */
    const int conv = d->cms.xform != NULL, band = passes > 1 ? h : PNG_BAND;
    ps_status st = ps_img__raw_init(&d->raw, w, h, conv ? d->cms.out_ch : ch, conv ? 16 : od, d->orient,
                                    NULL, name);
    if (st)
        return st;
    const size_t raw_stride = (size_t)w * d->raw.ch * (d->raw.depth / 8);
    d->rows = conv ? malloc(stride * band) : NULL;
    d->rowp = malloc(sizeof *d->rowp * (conv ? band : h));
    if ((conv && !d->rows) || !d->rowp)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    for (int i = 0; i < (conv ? band : h); i++)
        d->rowp[i] = conv ? d->rows + (size_t)i * stride : (unsigned char *)d->raw.px + (size_t)i * raw_stride;
    if (!conv || passes > 1) /* Adam7: every pass touches every row, so they are kept whole */
        png_read_image(png, d->rowp);
    for (int y = 0; conv && y < h; y += PNG_BAND) {
        const int n = PNG_BAND < h - y ? PNG_BAND : h - y;
        if (passes == 1)
            png_read_rows(png, d->rowp, NULL, (png_uint_32)n);
        unsigned short *to = (unsigned short *)d->raw.px + (size_t)y * w * d->raw.ch;
        ps_img__cms_run(&d->cms, d->rowp[passes > 1 ? y : 0], to, (size_t)n * w);
    }
    png_read_end(png, info); /* the chunks after the image data: text, a late eXIf */
    if (!want_meta)
        return PS_OK;
    /* a late eXIf's orientation was not applied: it is reset all the same, since the pixels are
     * output as stored */
    if (png_get_eXIf_1(png, info, &exif_len, &exif) && ps_img__exif_valid(exif, exif_len) &&
        !ps_img__meta_keep(&d->meta.exif, &d->meta.exif_len, exif, exif_len))
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    if (d->meta.exif)
        ps_img__exif_reset(d->meta.exif, d->meta.exif_len);
    if (!png_take_text(d))
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    return PS_OK;
}

ps_status ps_img__png_load(const unsigned char *buf, size_t len, const char *name, ps_img_raw *out,
                           ps_img_meta *meta)
{
    png_dec *d = calloc(1, sizeof *d);
    if (!d)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    d->buf = buf, d->len = len, d->orient = 1;
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_on_error, png_on_warning);
    d->info = d->png ? png_create_info_struct(d->png) : NULL;
    ps_status st;
    if (!d->info)
        st = ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    else if (!setjmp(png_jmpbuf(d->png)))
        st = png_decode(d, name, meta != NULL);
    else if (d->oom)
        st = ps_fail(PS_EINTERNAL, "%s: out of memory", name);
    else
        st = ps_fail(PS_EINPUT, "%s: corrupt PNG: %s", name, d->msg);
    png_destroy_read_struct(d->png ? &d->png : NULL, d->info ? &d->info : NULL, NULL);
    ps_img__cms_close(&d->cms);
    free(d->rows), free(d->rowp);
    if (st == PS_OK)
        *out = d->raw;
    else
        ps_img_raw_free(&d->raw);
    if (st == PS_OK && meta)
        *meta = d->meta;
    else
        ps_img_meta_free(&d->meta);
    free(d);
    return st;
}

/* ---- encoding ---- */

typedef struct {
    unsigned char *filt[5];              /* a row under each filter, type byte first */
    unsigned char *raw, *out;            /* the band's filtered bytes, compressed */
    size_t raw_len, out_len, out_cap;
    uLong adler;
    int ok;
} enc_band;

typedef struct {
    png_structp png;
    png_infop info;
    ps_img__write_fn *write;
    void *ctx;
    unsigned char *chunk, *last; /* the rows of nt bands from the source; the row before them */
    /* NUL-terminated copies: libpng takes text to its first NUL */
    char *comment[PS_IMG_META_MAX_COMMENTS], *xmp;
    png_text text[1 + PS_IMG_META_MAX_COMMENTS];
    enc_band band[ENC_MAX_THREADS]; /* here, not on the stack: libpng may longjmp past them */
} png_enc;

static void png_write_cb(png_structp png, png_bytep data, size_t n)
{
    png_enc *e = png_get_io_ptr(png);
    e->write(e->ctx, data, n);
}

static void png_flush_cb(png_structp png) { (void)png; }

static void png_enc_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static int is_ascii(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80)
            return 0;
    return 1;
}

/* Valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int is_utf8(const unsigned char *s, size_t n)
{
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    for (size_t i = 0; i < n;) {
        const unsigned c = s[i];
        const int k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (k < 0 || (size_t)k >= n - i)
            return 0;
        uint32_t cp = k ? c & (0x3fu >> k) : c;
        for (int j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

/* The chunks before IDAT: eXIf, iCCP (RGB images only: libpng refuses an RGB profile on gray),
 * XMP and comment text (e's NUL-terminated copies; libpng copies them in turn). */
static void png_put_meta(png_enc *e, const ps_img_meta *m, int ch)
{
    if (m->exif && m->exif_len <= PS_IMG_META_MAX_BYTES)
        png_set_eXIf_1(e->png, e->info, (png_uint_32)m->exif_len, m->exif);
    if (m->icc && m->icc_len >= 132 && m->icc_len <= PS_IMG_META_MAX_BYTES && ch >= 3)
        png_set_iCCP(e->png, e->info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, m->icc, (png_uint_32)m->icc_len);
    int n = 0;
    if (e->xmp && *e->xmp) {
        png_text *t = &e->text[n++];
        t->compression = PNG_ITXT_COMPRESSION_NONE; /* XMP readers want it uncompressed */
        t->key = "XML:com.adobe.xmp";
        t->text = e->xmp;
        t->itxt_length = strlen(e->xmp);
        t->lang = t->lang_key = "";
    }
    for (int i = 0; i < m->n_comments; i++) {
        char *comment = e->comment[i];
        if (!comment || !*comment)
            continue;
        png_text *t = &e->text[n++];
        const unsigned char *c = (const unsigned char *)comment;
        size_t len = strlen(comment);
        int itxt = !is_ascii(c, len) && is_utf8(c, len);
        t->compression = itxt ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE;
        t->key = "Comment";
        t->text = comment;
        t->text_length = itxt ? 0 : len;
        t->itxt_length = itxt ? len : 0;
        t->lang = t->lang_key = itxt ? "" : NULL;
    }
    if (n)
        png_set_text(e->png, e->info, e->text, n);
}

/* ---- image data: PNG filters and deflate in bands, one band per thread ------------------- */
/* Each band is its own raw deflate stream, ended by a sync flush (byte-aligned, not final) or,
 * the last, by the final block: their concatenation is one deflate stream, inside one zlib
 * wrapper whose Adler-32 is combined from the bands' (pigz's method). Z_RLE only matches the
 * previous byte, so a band loses nothing by not seeing the one before it; it was 6x faster than
 * the default strategy on a noisy 12 MP photo, and smaller. Each row takes the filter with the
 * smallest sum of |residuals| as signed bytes (libpng's heuristic). */

static inline int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    int bc = pb <= pc ? b : c; /* selects, not branches: SIMD lanes */
    return pa <= pb && pa <= pc ? a : bc;
}

/* One row of n bytes (bpp per pixel; prev: the row above, zeros on the first) to dst: type
 * byte + data. One loop per filter, no branch inside, in SIMD lanes. */
static void filter_row(enc_band *b, const unsigned char *row, const unsigned char *prev, size_t n,
                       int bpp, unsigned char *dst)
{
    unsigned char *o[5];
    for (int f = 0; f < 5; f++)
        o[f] = b->filt[f] + 1, b->filt[f][0] = (unsigned char)f;
    size_t k = (size_t)bpp < n ? (size_t)bpp : n;
    for (size_t i = 0; i < k; i++) { /* the first pixel has nothing to its left */
        o[0][i] = row[i];
        o[1][i] = row[i];
        o[2][i] = (unsigned char)(row[i] - prev[i]);
        o[3][i] = (unsigned char)(row[i] - prev[i] / 2);
        o[4][i] = (unsigned char)(row[i] - prev[i]); /* Paeth of (0, up, 0) is up */
    }
#pragma omp simd
    for (size_t i = k; i < n; i++)
        o[0][i] = row[i];
#pragma omp simd
    for (size_t i = k; i < n; i++)
        o[1][i] = (unsigned char)(row[i] - row[i - bpp]);
#pragma omp simd
    for (size_t i = k; i < n; i++)
        o[2][i] = (unsigned char)(row[i] - prev[i]);
#pragma omp simd
    for (size_t i = k; i < n; i++)
        o[3][i] = (unsigned char)(row[i] - ((row[i - bpp] + prev[i]) >> 1));
#pragma omp simd
    for (size_t i = k; i < n; i++)
        o[4][i] = (unsigned char)(row[i] - paeth(row[i - bpp], prev[i], prev[i - bpp]));
    unsigned long best = ~0ul;
    int bt = 0;
    for (int f = 0; f < 5; f++) {
        unsigned long sum = 0;
#pragma omp simd reduction(+ : sum)
        for (size_t i = 0; i < n; i++)
            sum += (unsigned long)abs((int)(signed char)o[f][i]);
        if (sum < best)
            best = sum, bt = f;
    }
    memcpy(dst, b->filt[bt], n + 1);
}

/* Rows [y0, y1) of the image, packed (n bytes each, big-endian samples) at rows, into band b:
 * filtered and compressed; prev is the row above y0 (zeros above row 0). last: the band ends
 * the image. */
static void enc_band_run(enc_band *b, const unsigned char *rows, const unsigned char *prev, int y0,
                         int y1, int last, size_t n, int bpp)
{
    b->raw_len = b->out_len = 0;
    b->ok = 0;
    for (int y = y0; y < y1; y++) {
        const unsigned char *cur = rows + (size_t)(y - y0) * n;
        filter_row(b, cur, y > y0 ? cur - n : prev, n, bpp, b->raw + b->raw_len);
        b->raw_len += n + 1;
    }
    b->adler = adler32(adler32(0L, Z_NULL, 0), b->raw, (uInt)b->raw_len);
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_RLE) != Z_OK)
        return;
    size_t head = y0 == 0 ? 2 : 0, need = head + deflateBound(&z, (uLong)b->raw_len) + 16 + 4;
    if (need > b->out_cap) {
        unsigned char *o = realloc(b->out, need);
        if (!o) {
            deflateEnd(&z);
            return;
        }
        b->out = o, b->out_cap = need;
    }
    if (head) /* the zlib header: deflate, 32K window, default level */
        b->out[0] = 0x78, b->out[1] = 0x9c;
    z.next_in = b->raw, z.avail_in = (uInt)b->raw_len;
    z.next_out = b->out + head, z.avail_out = (uInt)(b->out_cap - head - 4); /* 4: Adler-32 */
    int rc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
    b->ok = (last ? rc == Z_STREAM_END : rc == Z_OK) && z.avail_in == 0 && z.avail_out > 0;
    b->out_len = b->out_cap - 4 - z.avail_out;
    deflateEnd(&z);
}

/* The IDAT chunks of src's rows, one per band: the first starts with the zlib header, the last
 * ends with the Adler-32. The source fills a chunk of nt bands at a time, on this thread (it
 * may use every thread itself); then each thread filters and compresses one band of it. */
static int png_write_idat(png_enc *e, const ps_img_src *src, int ch, int depth)
{
    const size_t n = (size_t)src->w * ch * (depth / 8);
    const int h = src->h, bpp = ch * (depth / 8);
    int nt = omp_get_max_threads();
    nt = nt < 1 ? 1 : nt > ENC_MAX_THREADS ? ENC_MAX_THREADS : nt;
    enc_band *b = e->band;
    e->chunk = malloc(n * nt * ENC_BAND);
    e->last = calloc(n, 1);
    int ok = e->chunk && e->last;
    for (int t = 0; t < nt; t++) {
        b[t].raw = malloc((n + 1) * ENC_BAND);
        for (int f = 0; f < 5; f++)
            ok = ok && (b[t].filt[f] = malloc(n + 1));
        ok = ok && b[t].raw;
    }
    uLong adler = adler32(0L, Z_NULL, 0);
    for (int y0 = 0; y0 < h && ok; y0 += nt * ENC_BAND) {
        const int rows = h - y0 < nt * ENC_BAND ? h - y0 : nt * ENC_BAND;
        if (src->rows(src->ctx, y0, rows, e->chunk, ch, depth) != PS_OK)
            return 0;
        if (depth == 16) { /* PNG is big-endian */
#pragma omp parallel for num_threads(nt) schedule(static)
            for (int k = 0; k < rows; k++)
                for (unsigned char *p = e->chunk + (size_t)k * n, *end = p + n; p < end; p += 2) {
                    uint16_t v;
                    memcpy(&v, p, 2);
                    p[0] = (unsigned char)(v >> 8), p[1] = (unsigned char)v;
                }
        }
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (int t = 0; t < nt; t++) {
            int a = y0 + t * ENC_BAND, z = a + ENC_BAND < h ? a + ENC_BAND : h;
            if (a < h)
                enc_band_run(&b[t], e->chunk + (size_t)(a - y0) * n,
                             a > y0 ? e->chunk + (size_t)(a - y0 - 1) * n : e->last, a, z, z == h, n, bpp);
            else
                b[t].ok = 1, b[t].out_len = 0;
        }
        memcpy(e->last, e->chunk + (size_t)(rows - 1) * n, n); /* the next chunk's first row filters on it */
        for (int t = 0; t < nt && ok; t++) {
            ok = b[t].ok;
            if (!ok || !b[t].out_len)
                continue;
            adler = adler32_combine(adler, b[t].adler, (z_off_t)b[t].raw_len);
            if (y0 + (t + 1) * ENC_BAND >= h) { /* the last band */
                unsigned char *p = b[t].out + b[t].out_len;
                p[0] = (unsigned char)(adler >> 24), p[1] = (unsigned char)(adler >> 16);
                p[2] = (unsigned char)(adler >> 8), p[3] = (unsigned char)adler;
                b[t].out_len += 4;
            }
            png_write_chunk(e->png, (png_const_bytep) "IDAT", b[t].out, b[t].out_len);
        }
    }
    if (ok)
        png_write_chunk(e->png, (png_const_bytep) "IEND", NULL, 0);
    return ok;
}

static int png_encode_body(png_enc *e, const ps_img_src *src, int ch, int depth, const ps_img_meta *m)
{
    static const int color_type[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                      PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_structp png = e->png;
    png_set_write_fn(png, e, png_write_cb, png_flush_cb);
    png_set_benign_errors(png, 1); /* a profile libpng finds wrong is left out, not fatal */
    png_set_IHDR(png, e->info, (png_uint_32)src->w, (png_uint_32)src->h, depth, color_type[ch],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (m)
        png_put_meta(e, m, ch);
    png_write_info(png, e->info);
    /* every chunk went before the image data (given the info, libpng 1.6.39's png_write_end
     * wrote the eXIf again after it): IEND follows the data */
    return png_write_idat(e, src, ch, depth);
}

/* A NUL-terminated copy of n bytes; NULL for none (n = 0) or out of memory. */
static char *text_copy(const unsigned char *p, size_t n)
{
    char *c = p && n ? malloc(n + 1) : NULL;
    if (c)
        memcpy(c, p, n), c[n] = 0;
    return c;
}

int ps_img__png_encode(ps_img__write_fn *write, void *ctx, const ps_img_src *src, int ch, int depth,
                       const ps_img_meta *meta)
{
    png_enc *e = calloc(1, sizeof *e);
    if (!e)
        return 0;
    e->write = write, e->ctx = ctx;
    int copied = !meta || (e->xmp = text_copy(meta->xmp, meta->xmp_len)) || !meta->xmp_len;
    for (int i = 0; meta && i < meta->n_comments; i++)
        copied = copied && (e->comment[i] = text_copy(meta->comment[i], meta->comment_len[i]));
    e->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, e, png_enc_error, png_on_warning);
    e->info = e->png ? png_create_info_struct(e->png) : NULL;
    int ok = 0;
    if (e->info && copied && !setjmp(png_jmpbuf(e->png)))
        ok = png_encode_body(e, src, ch, depth, meta);
    png_destroy_write_struct(e->png ? &e->png : NULL, e->info ? &e->info : NULL);
    free(e->chunk), free(e->last);
    for (int t = 0; t < ENC_MAX_THREADS; t++) {
        enc_band *b = &e->band[t];
        free(b->raw), free(b->out);
        for (int f = 0; f < 5; f++)
            free(b->filt[f]);
    }
    for (int i = 0; i < PS_IMG_META_MAX_COMMENTS; i++)
        free(e->comment[i]);
    free(e->xmp), free(e);
    return ok;
}
