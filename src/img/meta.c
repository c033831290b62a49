/* Image metadata that apply carries from input to output: the EXIF orientation tag (read, then
 * reset once the pixels are upright), the size cap on every blob, and the ICC profile honoured on
 * input through lcms2 (convert to sRGB, or recognise a profile that already is sRGB). */
#include "img_impl.h"
#include <lcms2.h>
#include <lcms2_plugin.h> /* cmsMD5alloc and friends */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rd16(const unsigned char *p, int be) { return be ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0]; }
static uint32_t rd32(const unsigned char *p, int be)
{
    return be ? rd16(p, 1) << 16 | rd16(p + 2, 1) : rd16(p + 2, 0) << 16 | rd16(p, 0);
}

/* IFD0 of a TIFF stream: its offset and byte order, or 0 if the header or the entry count does
 * not fit in n. */
static size_t exif_ifd0(const unsigned char *p, size_t n, int *be)
{
    if (n < 8)
        return 0;
    if (!memcmp(p, "II*\0", 4))
        *be = 0;
    else if (!memcmp(p, "MM\0*", 4))
        *be = 1;
    else
        return 0;
    size_t ifd = rd32(p + 4, *be);
    return ifd >= 8 && ifd <= n - 2 ? ifd : 0;
}

/* The orientation entry of IFD0 (12 bytes), NULL if there is none that fits. */
static unsigned char *exif_orient_entry(unsigned char *p, size_t n, int *be)
{
    size_t ifd = exif_ifd0(p, n, be);
    if (!ifd)
        return NULL;
    size_t count = rd16(p + ifd, *be);
    for (size_t i = 0; i < count && ifd + 2 + 12 * (i + 1) <= n; i++) {
        unsigned char *e = p + ifd + 2 + 12 * i;
        if (rd16(e, *be) == 0x0112)
            return e;
    }
    return NULL;
}

int ps_img__exif_valid(const unsigned char *tiff, size_t n)
{
    return n >= 8 && (!memcmp(tiff, "II*\0", 4) || !memcmp(tiff, "MM\0*", 4));
}

int ps_img__exif_orientation(const unsigned char *tiff, size_t n)
{
    int be;
    const unsigned char *e = exif_orient_entry((unsigned char *)tiff, n, &be);
    if (!e)
        return 1;
    uint32_t v = rd16(e + 8, be);
    return rd16(e + 2, be) == 3 && rd32(e + 4, be) >= 1 && v >= 1 && v <= 8 ? (int)v : 1;
}

void ps_img__exif_reset(unsigned char *tiff, size_t n)
{
    int be;
    unsigned char *e = exif_orient_entry(tiff, n, &be);
    if (e && rd16(e + 2, be) == 3 && rd32(e + 4, be) >= 1) /* SHORT: the value sits in the entry */
        e[8] = be ? 0 : 1, e[9] = be ? 1 : 0;
    size_t ifd = exif_ifd0(tiff, n, &be), next;
    if (ifd && (next = ifd + 2 + 12 * (size_t)rd16(tiff + ifd, be)) + 4 <= n)
        memset(tiff + next, 0, 4); /* IFD0's link to IFD1 */
}

int ps_img__meta_keep(unsigned char **dst, size_t *dst_len, const void *src, size_t n)
{
    if (*dst || n == 0 || n > PS_IMG_META_MAX_BYTES)
        return 1;
    if (!(*dst = malloc(n)))
        return 0;
    memcpy(*dst, src, n);
    *dst_len = n;
    return 1;
}

int ps_img__meta_comment(ps_img_meta *m, const void *src, size_t n)
{
    size_t total = n;
    for (int i = 0; i < m->n_comments; i++)
        total += m->comment_len[i];
    if (n == 0 || m->n_comments == PS_IMG_META_MAX_COMMENTS || total > PS_IMG_META_MAX_BYTES)
        return 1;
    int k = m->n_comments;
    if (!ps_img__meta_keep(&m->comment[k], &m->comment_len[k], src, n))
        return 0;
    m->n_comments++;
    return 1;
}

/* The element from "<" tag to its closing tag in x, NULL if there is none. */
static const unsigned char *xmp_element(const unsigned char *x, size_t n, const char *open,
                                        const char *close, size_t *len)
{
    const unsigned char *a = memmem(x, n, open, strlen(open));
    const unsigned char *b = a ? memmem(a, n - (size_t)(a - x), close, strlen(close)) : NULL;
    if (!b)
        return NULL;
    *len = (size_t)(b - a) + strlen(close);
    return a;
}

const unsigned char *ps_img__xmp_body(const unsigned char *x, size_t n, size_t *len)
{
    const unsigned char *b = xmp_element(x, n, "<x:xmpmeta", "</x:xmpmeta>", len);
    return b ? b : xmp_element(x, n, "<rdf:RDF", "</rdf:RDF>", len);
}

int ps_img__md5(const void *p, size_t n, unsigned char md5[16])
{
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    cmsHANDLE h = ctx ? cmsMD5alloc(ctx) : NULL;
    if (h) {
        cmsProfileID id;
        for (size_t done = 0; done < n;) { /* cmsMD5add counts in 32 bits */
            size_t k = n - done < ((size_t)1 << 30) ? n - done : ((size_t)1 << 30);
            cmsMD5add(h, (const cmsUInt8Number *)p + done, (cmsUInt32Number)k);
            done += k;
        }
        cmsMD5finish(&id, h); /* frees h */
        memcpy(md5, id.ID8, 16);
    }
    if (ctx)
        cmsDeleteContext(ctx);
    return h != NULL;
}

unsigned ps_img_meta_jpeg_unfit(const ps_img_meta *m)
{
    size_t len;
    unsigned lost = 0;
    if (m->exif_len > PS_IMG_JPEG_EXIF_MAX)
        lost |= PS_IMG_LOST_EXIF;
    if (m->xmp_len > PS_IMG_JPEG_XMP_MAX && !ps_img__xmp_body(m->xmp, m->xmp_len, &len))
        lost |= PS_IMG_LOST_XMP;
    for (int i = 0; i < m->n_comments; i++)
        if (m->comment_len[i] > PS_IMG_JPEG_COMMENT_MAX)
            lost |= PS_IMG_LOST_COMMENT;
    return lost;
}

void ps_img_meta_strip(ps_img_meta *m)
{
    if (!m)
        return;
    free(m->exif), free(m->icc), free(m->xmp);
    m->exif = m->icc = m->xmp = NULL;
    m->exif_len = m->icc_len = m->xmp_len = 0;
    for (int i = 0; i < m->n_comments; i++)
        free(m->comment[i]), m->comment[i] = NULL, m->comment_len[i] = 0;
    m->n_comments = 0;
    m->xmp_ext_left = 0;
}

void ps_img_meta_free(ps_img_meta *m)
{
    if (!m)
        return;
    ps_img_meta_strip(m);
    memset(m, 0, sizeof *m);
}

/* ---- ICC ---- */

/* lcms2 formatter of a pixel layout (host-order 16-bit samples; gray/RGB may carry an alpha). */
static cmsUInt32Number cms_format(int kind, int channels, int depth)
{
    cmsUInt32Number b = BYTES_SH(depth == 16 ? 2 : 1);
    switch (kind) {
    case PS_CMS_GRAY:
        return COLORSPACE_SH(PT_GRAY) | CHANNELS_SH(1) | EXTRA_SH(channels - 1) | b;
    case PS_CMS_RGB:
        return COLORSPACE_SH(PT_RGB) | CHANNELS_SH(3) | EXTRA_SH(channels - 3) | b;
    case PS_CMS_CMYK:
        return COLORSPACE_SH(PT_CMYK) | CHANNELS_SH(4) | b;
    default:
        return COLORSPACE_SH(PT_CMYK) | CHANNELS_SH(4) | FLAVOR_SH(1) | b;
    }
}

void ps_img__cms_close(ps_img__cms *c)
{
    if (c->xform)
        cmsDeleteTransform(c->xform);
    if (c->ctx)
        cmsDeleteContext(c->ctx);
    c->xform = c->ctx = NULL;
}

/* Does xform (16-bit RGB to 16-bit sRGB) leave a 9^3 grid of colours within half an 8-bit code? */
static int cms_is_srgb(cmsHTRANSFORM xform)
{
    enum { L = 9, N = L * L * L };
    unsigned short in[N * 3], out[N * 3];
    for (int i = 0; i < N; i++)
        for (int k = 0, v = i; k < 3; k++, v /= L)
            in[3 * i + k] = (unsigned short)(v % L * 65535 / (L - 1));
    cmsDoTransform(xform, in, out, N);
    for (int i = 0; i < 3 * N; i++)
        if (abs((int)in[i] - (int)out[i]) > 128) /* 65535 / 255 / 2 */
            return 0;
    return 1;
}

/* The context has no logger, so lcms2 stays silent on a bad profile; and it is this call's own,
 * so nothing is shared between threads. */
int ps_img__cms_open(ps_img__cms *c, const unsigned char *icc, size_t n, int kind, int channels,
                     int depth)
{
    memset(c, 0, sizeof *c);
    static const cmsColorSpaceSignature want[] = {cmsSigGrayData, cmsSigRgbData, cmsSigCmykData,
                                                  cmsSigCmykData};
    if (!icc || n < 132 || n > PS_IMG_META_MAX_BYTES || !(c->ctx = cmsCreateContext(NULL, NULL)))
        return PS_CMS_IGNORED;
    cmsSetLogErrorHandlerTHR(c->ctx, NULL);
    cmsHPROFILE in = cmsOpenProfileFromMemTHR(c->ctx, icc, (cmsUInt32Number)n);
    cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(c->ctx);
    int st = PS_CMS_IGNORED;
    const int alpha = kind <= PS_CMS_RGB && !(channels & 1);
    c->out_ch = alpha ? 4 : 3;
    c->in_bpp = channels * (depth == 16 ? 2 : 1);
    if (in && srgb && cmsGetColorSpace(in) == want[kind]) {
        if (kind == PS_CMS_RGB) { /* first: is it sRGB already? */
            cmsHTRANSFORM t = cmsCreateTransformTHR(c->ctx, in, TYPE_RGB_16, srgb, TYPE_RGB_16,
                                                    INTENT_PERCEPTUAL, 0);
            if (t && cms_is_srgb(t))
                st = PS_CMS_SRGB;
            if (t)
                cmsDeleteTransform(t);
        }
        if (st != PS_CMS_SRGB) {
            /* 16-bit input goes through lcms2's precalculated grid: at its default size colours
             * near the gamut's edge came out over an 8-bit step off (P3 to sRGB), at the high
             * resolution 0.15 step, for 25 % more time (no grid at all: 8x slower) */
            c->xform = cmsCreateTransformTHR(c->ctx, in, cms_format(kind, channels, depth), srgb,
                                             alpha ? TYPE_RGBA_16 : TYPE_RGB_16, INTENT_PERCEPTUAL,
                                             (alpha ? cmsFLAGS_COPY_ALPHA : 0) |
                                                 (depth == 16 ? cmsFLAGS_HIGHRESPRECALC : 0));
            st = c->xform ? PS_CMS_CONVERT : PS_CMS_IGNORED;
        }
    }
    if (in)
        cmsCloseProfile(in);
    if (srgb)
        cmsCloseProfile(srgb);
    if (st != PS_CMS_CONVERT)
        ps_img__cms_close(c);
    return st;
}

void ps_img__cms_run(const ps_img__cms *c, const void *in, unsigned short *out, size_t npx)
{
    const unsigned char *p = in;
    for (size_t done = 0; done < npx;) { /* cmsDoTransform counts in 32 bits */
        size_t k = npx - done < ((size_t)1 << 24) ? npx - done : ((size_t)1 << 24);
        cmsDoTransform(c->xform, p + done * c->in_bpp, out + done * c->out_ch, (cmsUInt32Number)k);
        done += k;
    }
}

int ps_img__srgb_icc(unsigned char **out, size_t *len)
{
    *out = NULL, *len = 0;
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    cmsHPROFILE p = ctx ? cmsCreate_sRGBProfileTHR(ctx) : NULL;
    cmsUInt32Number n = 0;
    int ok = p && cmsSaveProfileToMem(p, NULL, &n) && n >= 128 && (*out = malloc(n)) &&
             cmsSaveProfileToMem(p, *out, &n);
    if (ok) { /* lcms2 dates the header now: a fixed date (2000-01-01) keeps outputs reproducible */
        static const unsigned char date[12] = {0x07, 0xd0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
        memcpy(*out + 24, date, sizeof date); /* the profile ID (MD5) is 0: nothing to redo */
        *len = n;
    }
    else
        free(*out), *out = NULL;
    if (p)
        cmsCloseProfile(p);
    if (ctx)
        cmsDeleteContext(ctx);
    return ok;
}
