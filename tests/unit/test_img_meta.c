/* Image metadata through load and save (what `pstyle apply` carries): EXIF kept with its
 * orientation reset to 1 and the thumbnail unlinked, ICC profiles honoured (a Display P3,
 * AdobeRGB or gray profile converts the pixels to what lcms2 computes, an sRGB one leaves them and
 * is kept), XMP and comments, 16-bit PNG values within one 16-bit unit, strip, and hostile
 * metadata (oversized, corrupt, cut, bombs) that must never fail or crash a load. Input files are
 * made here byte by byte (PNG chunks, libjpeg markers); outputs are read back by walking their
 * chunks and markers and with stb_image, not only with the loader under test. */
#include "check.h"
#include "img_util.h"
#include "src/img/img_impl.h" /* ps_img__md5 */
#include <stdio.h> /* before jpeglib.h */
#include <jpeglib.h>
#include <lcms2.h>
#include <stb_image.h>
#include <time.h>

typedef struct {
    unsigned char *b;
    size_t n;
} mem;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* ---- building inputs ---- */

enum { W = 8, H = 4 };

/* The test colours, 8-bit sRGB-coded in the file's own space: saturated, mid and gray. */
static const unsigned char colors[W][3] = {{255, 0, 0},   {0, 255, 0},    {0, 0, 255},   {200, 100, 50},
                                           {60, 180, 220}, {128, 128, 128}, {250, 240, 10}, {20, 30, 40}};

static void put16(unsigned char *p, unsigned v, int be)
{
    p[be ? 0 : 1] = (unsigned char)(v >> 8), p[be ? 1 : 0] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v, int be)
{
    put16(p + (be ? 0 : 2), v >> 16, be), put16(p + (be ? 2 : 0), v & 0xffff, be);
}

static uint32_t get16(const unsigned char *p, int be) { return be ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0]; }
static uint32_t get32(const unsigned char *p, int be)
{
    return be ? get16(p, 1) << 16 | get16(p + 2, 1) : get16(p + 2, 0) << 16 | get16(p, 0);
}

/* A TIFF stream like a camera's: IFD0 with Make "pstyl" and Orientation, linked to an IFD1 at
 * offset 64 (a thumbnail's); 84 bytes. */
static size_t make_exif(unsigned char *t, int be, int orient)
{
    memset(t, 0, 84);
    memcpy(t, be ? "MM\0*" : "II*\0", 4);
    put32(t + 4, 8, be);
    put16(t + 8, 2, be);
    unsigned char *e = t + 10;
    put16(e, 0x010f, be), put16(e + 2, 2, be), put32(e + 4, 6, be), put32(e + 8, 40, be); /* Make */
    put16(e + 12, 0x0112, be), put16(e + 14, 3, be), put32(e + 16, 1, be);
    put16(e + 20, (unsigned)orient, be);
    put32(t + 34, 64, be); /* next IFD */
    memcpy(t + 40, "pstyl", 6);
    put16(t + 64, 1, be); /* IFD1: one entry, Compression = 6 */
    put16(t + 66, 0x0103, be), put16(t + 68, 3, be), put32(t + 70, 1, be), put16(t + 74, 6, be);
    return 84;
}

/* Orientation and IFD1 link of a TIFF stream made by make_exif (or kept from it). */
static int exif_orient(const unsigned char *t, size_t n, uint32_t *next)
{
    int be = t[0] == 'M';
    *next = n >= 38 ? get32(t + 34, be) : 0xffffffff;
    return n >= 34 && get16(t + 22, be) == 0x0112 ? (int)get16(t + 30, be) : -1;
}

static mem zdeflate(const void *p, size_t n)
{
    uLongf zn = compressBound(n);
    mem m = {malloc(zn), 0};
    compress2(m.b, &zn, p, n, 9);
    m.n = zn;
    return m;
}

/* Extra chunk for a PNG: type and raw data (placed before IDAT unless late). */
typedef struct {
    const char *type;
    const void *data;
    size_t n;
    int late;
} chunk;

/* A PNG of w x h, ch channels (1..4), depth 8/16, samples interleaved (16-bit as host shorts),
 * with extra chunks. */
static mem make_png(int w, int h, int ch, int depth, const void *px, const chunk *extra, int nextra)
{
    static const unsigned char ctype[5] = {0, 0, 4, 2, 6};
    size_t bps = (size_t)depth / 8, row = 1 + (size_t)w * ch * bps, total = 64;
    unsigned char *raw = malloc(row * h), ihdr[13] = {0};
    for (int y = 0; y < h; y++) {
        raw[y * row] = 0;
        for (size_t i = 0; i < (size_t)w * ch; i++) {
            size_t s = (size_t)y * w * ch + i;
            if (depth == 8)
                raw[y * row + 1 + i] = ((const unsigned char *)px)[s];
            else
                raw[y * row + 1 + 2 * i] = ((const uint16_t *)px)[s] >> 8,
                raw[y * row + 2 + 2 * i] = ((const uint16_t *)px)[s] & 255;
        }
    }
    mem z = zdeflate(raw, row * h);
    for (int i = 0; i < nextra; i++)
        total += 12 + extra[i].n;
    mem m = {malloc(total + z.n + 64), 0};
    tu_be32(ihdr, (uint32_t)w), tu_be32(ihdr + 4, (uint32_t)h), ihdr[8] = (unsigned char)depth, ihdr[9] = ctype[ch];
    unsigned char *p = m.b;
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p = tu_png_chunk(p + 8, "IHDR", ihdr, 13);
    for (int i = 0; i < nextra; i++)
        if (!extra[i].late)
            p = tu_png_chunk(p, extra[i].type, extra[i].data, (uint32_t)extra[i].n);
    p = tu_png_chunk(p, "IDAT", z.b, (uint32_t)z.n);
    for (int i = 0; i < nextra; i++)
        if (extra[i].late)
            p = tu_png_chunk(p, extra[i].type, extra[i].data, (uint32_t)extra[i].n);
    p = tu_png_chunk(p, "IEND", NULL, 0);
    m.n = (size_t)(p - m.b);
    free(raw), free(z.b);
    return m;
}

/* iCCP chunk data for a profile: name, NUL, method 0, zlib stream. */
static mem iccp_data(const mem *icc)
{
    mem z = zdeflate(icc->b, icc->n), d = {malloc(z.n + 16), 0};
    memcpy(d.b, "ICC Profile\0\0", 13);
    memcpy(d.b + 13, z.b, z.n);
    d.n = 13 + z.n;
    free(z.b);
    return d;
}

/* The W x H test picture: column x is colors[x]; RGB or (ch 1) the red channel as gray. */
static unsigned char *picture(int ch)
{
    unsigned char *px = malloc((size_t)W * H * ch);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int k = 0; k < ch; k++)
                px[(y * W + x) * ch + k] = ch == 1 ? colors[x][0] : colors[x][k];
    return px;
}

typedef struct {
    int marker;
    const void *data;
    size_t n;
} marker;

/* A JPEG of px (comps 1 or 3) at quality 100, 4:4:4, with markers written after the header. */
static mem make_jpeg(int w, int h, const unsigned char *px, int comps, const marker *mk, int nmk,
                     const mem *icc)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h, c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    for (int k = 0; k < c.num_components; k++)
        c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    for (int i = 0; i < nmk; i++)
        jpeg_write_marker(&c, mk[i].marker, mk[i].data, (unsigned)mk[i].n);
    if (icc)
        jpeg_write_icc_profile(&c, icc->b, (unsigned)icc->n);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)px + (size_t)c.next_scanline * w * comps;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return (mem){buf, size};
}

/* The samples libjpeg itself decodes from a JPEG (comps 1 gray or 3 RGB; no color management). */
static unsigned char *jpeg_raw(const mem *j, int comps, int *w, int *h)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, j->b, j->n);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d);
    *w = (int)d.output_width, *h = (int)d.output_height;
    unsigned char *px = malloc((size_t)*w * *h * comps);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = px + (size_t)d.output_scanline * *w * comps;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return px;
}

/* ---- reading outputs back ---- */

/* The data of the first PNG chunk of this type (and whether it came before IDAT), NULL if none. */
static const unsigned char *png_find(const mem *m, const char *type, size_t *n, int *early)
{
    int idat = 0;
    for (size_t i = 8; i + 12 <= m->n;) {
        size_t len = (size_t)m->b[i] << 24 | m->b[i + 1] << 16 | m->b[i + 2] << 8 | m->b[i + 3];
        if (!memcmp(m->b + i + 4, type, 4)) {
            *n = len;
            if (early)
                *early = !idat;
            return m->b + i + 8;
        }
        idat |= !memcmp(m->b + i + 4, "IDAT", 4);
        i += 12 + len;
    }
    return NULL;
}

/* The nth (0-based) JPEG marker m before SOS whose payload starts with prefix (plen bytes): its
 * payload after the prefix. */
static const unsigned char *jpeg_find(const mem *j, int m, const char *prefix, size_t plen, int nth,
                                      size_t *n)
{
    for (size_t i = 2; i + 4 <= j->n && j->b[i] == 0xff && j->b[i + 1] != 0xda;) {
        size_t len = (size_t)j->b[i + 2] << 8 | j->b[i + 3];
        if (j->b[i + 1] == m && len - 2 >= plen && !memcmp(j->b + i + 4, prefix, plen) && nth-- == 0) {
            *n = len - 2 - plen;
            return j->b + i + 4 + plen;
        }
        i += 2 + len;
    }
    return NULL;
}

static mem slurp(const char *path)
{
    mem m;
    m.b = tu_read(path, &m.n);
    return m;
}

/* ---- ICC helpers ---- */

static mem save_profile(cmsHPROFILE p)
{
    cmsUInt32Number n = 0;
    cmsSaveProfileToMem(p, NULL, &n);
    mem m = {malloc(n), n};
    cmsSaveProfileToMem(p, m.b, &n);
    cmsCloseProfile(p);
    return m;
}

static cmsHPROFILE rgb_profile(double rx, double ry, double gx, double gy, double bx, double by, double gamma)
{
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {{rx, ry, 1.0}, {gx, gy, 1.0}, {bx, by, 1.0}};
    cmsToneCurve *t;
    if (gamma > 0) {
        t = cmsBuildGamma(NULL, gamma);
    } else { /* the sRGB curve, as Display P3 has */
        const double par[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
        t = cmsBuildParametricToneCurve(NULL, 4, par);
    }
    cmsToneCurve *trc[3] = {t, t, t};
    cmsHPROFILE p = cmsCreateRGBProfile(&white, &prim, trc);
    cmsFreeToneCurve(t);
    return p;
}

static mem p3_profile(void) { return save_profile(rgb_profile(0.680, 0.320, 0.265, 0.690, 0.150, 0.060, 0)); }
static mem adobe_profile(void) { return save_profile(rgb_profile(0.64, 0.33, 0.21, 0.71, 0.15, 0.06, 563.0 / 256)); }
/* lcms2's sRGB profile as the loader carries it: dated 2000-01-01, not now */
static mem srgb_profile(void)
{
    mem m = save_profile(cmsCreate_sRGBProfile());
    static const unsigned char date[12] = {0x07, 0xd0, 0, 1, 0, 1};
    memcpy(m.b + 24, date, sizeof date);
    return m;
}
static mem gray_profile(void)
{
    cmsToneCurve *t = cmsBuildGamma(NULL, 1.8);
    mem m = save_profile(cmsCreateGrayProfile(cmsD50_xyY(), t));
    cmsFreeToneCurve(t);
    return m;
}

/* A CMYK printer profile (AToB0 only: CMYK -> Lab), its CLUT sampled from the naive
 * R = (1-C)(1-K) with the ink a little warm, so that converting by it differs from the naive. */
static cmsInt32Number cmyk_sample(const cmsUInt16Number in[], cmsUInt16Number out[], void *cargo)
{
    double rgb[3], k = 1 - in[3] / 65535.0;
    static const double warm[3] = {1.0, 0.93, 0.8};
    for (int j = 0; j < 3; j++)
        rgb[j] = (1 - in[j] / 65535.0) * k * warm[j];
    cmsCIELab lab;
    cmsDoTransform(cargo, rgb, &lab, 1);
    cmsFloat2LabEncoded(out, &lab);
    return TRUE;
}

static mem cmyk_profile(void)
{
    cmsHPROFILE p = cmsCreateProfilePlaceholder(NULL), srgb = cmsCreate_sRGBProfile(), lab = cmsCreateLab4Profile(NULL);
    cmsHTRANSFORM to_lab = cmsCreateTransform(srgb, TYPE_RGB_DBL, lab, TYPE_Lab_DBL, INTENT_RELATIVE_COLORIMETRIC, 0);
    cmsSetProfileVersion(p, 4.3);
    cmsSetDeviceClass(p, cmsSigOutputClass);
    cmsSetColorSpace(p, cmsSigCmykData);
    cmsSetPCS(p, cmsSigLabData);
    cmsPipeline *pipe = cmsPipelineAlloc(NULL, 4, 3);
    cmsStage *clut = cmsStageAllocCLut16bit(NULL, 9, 4, 3, NULL);
    cmsStageSampleCLut16bit(clut, cmyk_sample, to_lab, 0);
    /* lutAtoBType wants curves on both sides of the CLUT: identities */
    cmsPipelineInsertStage(pipe, cmsAT_END, cmsStageAllocToneCurves(NULL, 4, NULL));
    cmsPipelineInsertStage(pipe, cmsAT_END, clut);
    cmsPipelineInsertStage(pipe, cmsAT_END, cmsStageAllocToneCurves(NULL, 3, NULL));
    cmsWriteTag(p, cmsSigAToB0Tag, pipe);
    cmsMLU *d = cmsMLUalloc(NULL, 1);
    cmsMLUsetASCII(d, "en", "US", "warm CMYK test");
    cmsWriteTag(p, cmsSigProfileDescriptionTag, d);
    cmsWriteTag(p, cmsSigMediaWhitePointTag, cmsD50_XYZ());
    cmsMLUfree(d);
    cmsPipelineFree(pipe);
    cmsDeleteTransform(to_lab);
    cmsCloseProfile(srgb), cmsCloseProfile(lab);
    return save_profile(p);
}

/* What lcms2 makes of 8-bit samples (comps 1 or 3) in profile icc, in double precision: sRGB
 * clipped to [0, 1], then linear. */
static void expect_linear(const mem *icc, int comps, const unsigned char *in, double out[3])
{
    cmsHPROFILE p = cmsOpenProfileFromMem(icc->b, (cmsUInt32Number)icc->n), s = cmsCreate_sRGBProfile();
    cmsHTRANSFORM t = cmsCreateTransform(p, comps == 1 ? TYPE_GRAY_8 : TYPE_RGB_8, s, TYPE_RGB_DBL,
                                         INTENT_PERCEPTUAL, 0);
    cmsDoTransform(t, in, out, 1);
    for (int k = 0; k < 3; k++)
        out[k] = ps_srgb_to_linear((float)(out[k] < 0 ? 0 : out[k] > 1 ? 1 : out[k]));
    cmsDeleteTransform(t);
    cmsCloseProfile(p), cmsCloseProfile(s);
}

static float px_at(const ps_image *im, int k, int x, int y) { return im->px[((size_t)k * im->h + y) * im->w + x]; }

/* The largest |decoded - expected| in sRGB units over the picture's colours, and the smallest
 * |decoded - naive| (how far from the unconverted value the converted colours moved). */
static void compare_colors(const ps_image *im, const mem *icc, int comps, const unsigned char *stored,
                           double *worst, double *moved)
{
    *worst = 0, *moved = 0;
    for (int x = 0; x < W; x++) {
        double want[3];
        const unsigned char *s = stored + (size_t)x * comps;
        expect_linear(icc, comps, s, want);
        for (int k = 0; k < 3; k++) {
            double got = ps_linear_to_srgb(px_at(im, k, x, 1));
            *worst = fmax(*worst, fabs(got - ps_linear_to_srgb((float)want[k])));
            *moved = fmax(*moved, fabs(got - s[comps == 1 ? 0 : k] / 255.0));
        }
    }
}

/* ---- tests ---- */

static void test_exif(void)
{
    unsigned char tiff[84], app1[90];
    for (int be = 0; be <= 1; be++) {
        size_t tn = make_exif(tiff, be, 6);
        memcpy(app1, "Exif\0\0", 6), memcpy(app1 + 6, tiff, tn);
        unsigned char *px = picture(3);
        marker mk = {JPEG_APP0 + 1, app1, 6 + tn};
        mem j = make_jpeg(W, H, px, 3, &mk, 1, NULL);
        ps_image im;
        ps_img_meta m;
        CHECK(ps_img_load_mem_meta(j.b, j.n, "exif.jpg", &im, &m) == PS_OK, "%s", ps_last_error());
        CHECK(im.w == H && im.h == W, "orientation 6 applied: %dx%d", im.w, im.h);
        CHECK(m.exif && m.exif_len == tn && m.depth == 8, "exif kept: %zu bytes", m.exif_len);
        uint32_t next = 1;
        if (m.exif) {
            CHECK(exif_orient(m.exif, m.exif_len, &next) == 1 && next == 0, "orientation reset, IFD1 unlinked");
            CHECK(!memcmp(m.exif + 40, "pstyl", 6) && !memcmp(m.exif + 64, tiff + 64, 16),
                  "other bytes kept");
        }
        /* JPEG out: an APP1 Exif with exactly those bytes, no JFIF; loading it rotates nothing */
        CHECK(ps_img_save_meta("exif_out.jpg", &im, 90, &m) == PS_OK, "%s", ps_last_error());
        mem o = slurp("exif_out.jpg");
        size_t n = 0;
        const unsigned char *e = jpeg_find(&o, JPEG_APP0 + 1, "Exif\0\0", 6, 0, &n);
        CHECK(e && m.exif && n == m.exif_len && !memcmp(e, m.exif, n), "JPEG out carries the EXIF");
        CHECK(o.n > 4 && o.b[2] == 0xff && o.b[3] == 0xe1, "APP1 right after SOI");
        ps_image back;
        ps_img_meta bm;
        CHECK(ps_img_load_meta("exif_out.jpg", &back, &bm) == PS_OK && back.w == im.w && back.h == im.h,
              "reloaded upright as is: %dx%d", back.w, back.h);
        CHECK(bm.exif && bm.exif_len == m.exif_len, "EXIF survives a second round");
        ps_img_free(&back), ps_img_meta_free(&bm), free(o.b);
        /* PNG out: eXIf before IDAT */
        CHECK(ps_img_save_meta("exif_out.png", &im, 0, &m) == PS_OK, "%s", ps_last_error());
        o = slurp("exif_out.png");
        int early = 0;
        e = png_find(&o, "eXIf", &n, &early);
        CHECK(e && early && m.exif && n == m.exif_len && !memcmp(e, m.exif, n), "PNG out carries the EXIF");
        CHECK(ps_img_load_meta("exif_out.png", &back, &bm) == PS_OK && back.w == im.w && bm.exif &&
                  bm.exif_len == m.exif_len && exif_orient(bm.exif, bm.exif_len, &next) == 1,
              "PNG reloaded: %s", ps_last_error());
        ps_img_free(&back), ps_img_meta_free(&bm), free(o.b);
        /* PNG in with orientation 8: applied, reset */
        make_exif(tiff, be, 8);
        chunk ex = {"eXIf", tiff, tn, 0};
        mem p = make_png(W, H, 3, 8, px, &ex, 1);
        CHECK(ps_img_load_mem_meta(p.b, p.n, "exif.png", &back, &bm) == PS_OK && back.w == H && back.h == W,
              "PNG eXIf orientation applied: %dx%d %s", back.w, back.h, ps_last_error());
        CHECK(bm.exif && exif_orient(bm.exif, bm.exif_len, &next) == 1, "PNG eXIf reset");
        /* the same stored pixel lands where orientation 8 puts it: stored (0,0) -> display bottom-left */
        if (back.px)
            CHECK_NEAR(ps_linear_to_srgb(px_at(&back, 0, 0, W - 1)), colors[0][0] / 255.0, 1e-6, 0);
        ps_img_free(&back), ps_img_meta_free(&bm), free(p.b);
        /* after IDAT: kept, not applied */
        ex.late = 1;
        p = make_png(W, H, 3, 8, px, &ex, 1);
        CHECK(ps_img_load_mem_meta(p.b, p.n, "late.png", &back, &bm) == PS_OK && back.w == W && bm.exif &&
                  exif_orient(bm.exif, bm.exif_len, &next) == 1, "late eXIf: kept, not applied");
        ps_img_free(&back), ps_img_meta_free(&bm), free(p.b);
        ps_img_free(&im), ps_img_meta_free(&m), free(j.b), free(px);
    }
}

static void test_icc_png(void)
{
    unsigned char *px = picture(3), *g = picture(1);
    const struct {
        const char *name;
        mem icc;
        int gray;
    } cases[] = {{"p3", p3_profile(), 0}, {"adobe", adobe_profile(), 0}, {"gray18", gray_profile(), 1}};
    mem srgb_bytes = srgb_profile();
    for (int c = 0; c < 3; c++) {
        mem d = iccp_data(&cases[c].icc);
        chunk ck = {"iCCP", d.b, d.n, 0};
        mem p = make_png(W, H, cases[c].gray ? 1 : 3, 8, cases[c].gray ? g : px, &ck, 1);
        ps_image im;
        ps_img_meta m;
        CHECK(ps_img_load_mem_meta(p.b, p.n, cases[c].name, &im, &m) == PS_OK, "%s: %s", cases[c].name, ps_last_error());
        double worst, moved;
        compare_colors(&im, &cases[c].icc, cases[c].gray ? 1 : 3, cases[c].gray ? g : px, &worst, &moved);
        /* through 16 bits and lcms2's optimized pipeline: within a 1/4 of an 8-bit step of lcms2 in
         * double precision, while the conversion moved some colour by over 10 steps */
        CHECK(worst < 0.25 / 255, "%s: %.5f from lcms2's colours", cases[c].name, worst);
        CHECK(moved > 10 / 255.0, "%s: conversion moved colours by only %.4f", cases[c].name, moved);
        CHECK(tu_raw_differs(p.b, p.n, cases[c].name) == 0, "%s: raw rows differ from the load", cases[c].name);
        CHECK(m.icc && m.icc_len == srgb_bytes.n && !memcmp(m.icc, srgb_bytes.b, m.icc_len),
              "%s: carries lcms2's sRGB profile (%zu bytes)", cases[c].name, m.icc_len);
        /* the saved PNG has that profile in iCCP */
        CHECK(ps_img_save_meta("icc_out.png", &im, 0, &m) == PS_OK, "%s", ps_last_error());
        mem o = slurp("icc_out.png");
        size_t n;
        CHECK(png_find(&o, "iCCP", &n, NULL) != NULL, "%s: iCCP written", cases[c].name);
        ps_image back;
        ps_img_meta bm;
        CHECK(ps_img_load_meta("icc_out.png", &back, &bm) == PS_OK && bm.icc && bm.icc_len == srgb_bytes.n &&
                  tu_psnr8(&back, &im) == 99.0, "%s: sRGB profile read back, pixels unchanged", cases[c].name);
        ps_img_free(&back), ps_img_meta_free(&bm), free(o.b);
        ps_img_free(&im), ps_img_meta_free(&m), free(p.b), free(d.b);
    }
    /* an RGBA image: the profile converts the colour, alpha stays */
    unsigned char rgba[W * H * 4];
    for (int i = 0; i < W * H; i++)
        memcpy(rgba + 4 * i, px + 3 * i, 3), rgba[4 * i + 3] = (unsigned char)(i * 7);
    mem d = iccp_data(&cases[0].icc);
    chunk ck = {"iCCP", d.b, d.n, 0};
    mem p = make_png(W, H, 4, 8, rgba, &ck, 1);
    ps_image im;
    CHECK(ps_img_load_mem(p.b, p.n, "p3a.png", &im) == PS_OK && im.c == 4, "%s", ps_last_error());
    if (im.px) {
        double worst, moved;
        compare_colors(&im, &cases[0].icc, 3, px, &worst, &moved);
        CHECK(worst < 0.25 / 255 && moved > 10 / 255.0, "RGBA P3: %.5f off, moved %.4f", worst, moved);
        int alpha_ok = 1;
        for (int i = 0; i < W * H; i++)
            alpha_ok &= fabs(im.px[3 * W * H + i] - rgba[4 * i + 3] / 255.0) < 1e-6;
        CHECK(alpha_ok, "alpha kept through the transform");
    }
    CHECK(tu_raw_differs(p.b, p.n, "p3a.png") == 0, "RGBA P3: raw rows differ from the load");
    ps_img_free(&im), free(p.b), free(d.b);
    /* an sRGB profile: pixels exactly as without it, the profile's own bytes kept */
    d = iccp_data(&srgb_bytes);
    ck = (chunk){"iCCP", d.b, d.n, 0};
    p = make_png(W, H, 3, 8, px, &ck, 1);
    mem plain = make_png(W, H, 3, 8, px, NULL, 0);
    ps_image a, b;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(p.b, p.n, "srgb.png", &a, &m) == PS_OK && ps_img_load_mem(plain.b, plain.n, "plain", &b) == PS_OK,
          "%s", ps_last_error());
    CHECK(a.px && b.px && !memcmp(a.px, b.px, sizeof(float) * 3 * W * H), "sRGB profile: pixels untouched");
    CHECK(m.icc && m.icc_len == srgb_bytes.n && !memcmp(m.icc, srgb_bytes.b, m.icc_len), "sRGB profile kept");
    ps_img_free(&a), ps_img_free(&b), ps_img_meta_free(&m), free(p.b), free(d.b), free(plain.b);
    for (int c = 0; c < 3; c++)
        free(cases[c].icc.b);
    free(srgb_bytes.b), free(px), free(g);
}

/* ps_img_raw_rows in bands against the load, for every EXIF orientation of odd-size PNGs: 16-bit
 * RGBA, 8-bit gray+alpha, 16-bit gray, and 8-bit RGB converted by a P3 profile (16-bit raw). */
static void test_raw_orientations(void)
{
    enum { RW = 37, RH = 23 };
    static const struct {
        int ch, depth, p3;
    } kinds[] = {{4, 16, 0}, {2, 8, 0}, {1, 16, 0}, {3, 8, 1}};
    uint64_t seed = 5;
    mem p3 = p3_profile(), d = iccp_data(&p3);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const int ch = kinds[i].ch, depth = kinds[i].depth;
        void *px = malloc((size_t)RW * RH * ch * 2);
        for (int s = 0; s < RW * RH * ch; s++)
            if (depth == 8)
                ((unsigned char *)px)[s] = (unsigned char)tu_rand(&seed);
            else
                ((uint16_t *)px)[s] = (uint16_t)tu_rand(&seed);
        for (int o = 1; o <= 8; o++) {
            unsigned char tiff[84];
            make_exif(tiff, o & 1, o);
            chunk ck[2] = {{"eXIf", tiff, 84, 0}, {"iCCP", d.b, d.n, 0}};
            mem p = make_png(RW, RH, ch, depth, px, ck, kinds[i].p3 ? 2 : 1);
            char name[48];
            snprintf(name, sizeof name, "raw_%d_%d%s_o%d.png", ch, depth, kinds[i].p3 ? "_p3" : "", o);
            ps_img_raw r;
            CHECK(ps_img_load_raw(p.b, p.n, name, &r, NULL) == PS_OK && r.orient == o && r.sw == RW && r.sh == RH &&
                      r.w == (o >= 5 ? RH : RW) && r.h == (o >= 5 ? RW : RH) && r.c == (ch % 2 ? 3 : 4) &&
                      r.depth == (kinds[i].p3 ? 16 : depth) && r.ch == ch,
                  "%s: raw %dx%d (stored %dx%d, %d at %d bits, orientation %d): %s", name, r.w, r.h, r.sw, r.sh,
                  r.ch, r.depth, r.orient, ps_last_error());
            ps_img_raw_free(&r);
            CHECK(tu_raw_differs(p.b, p.n, name) == 0, "%s: raw rows differ from the load", name);
            free(p.b);
        }
        free(px);
    }
    free(d.b), free(p3.b);
}

static void test_icc_jpeg(void)
{
    unsigned char *px = picture(3);
    mem icc = adobe_profile(), srgb_bytes = srgb_profile();
    mem j = make_jpeg(W, H, px, 3, NULL, 0, &icc);
    int w, h;
    unsigned char *raw = jpeg_raw(&j, 3, &w, &h);
    unsigned char stored[W * 3];
    memcpy(stored, raw + (size_t)W * 3, sizeof stored); /* row 1, as libjpeg decodes it */
    ps_image im;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(j.b, j.n, "adobe.jpg", &im, &m) == PS_OK, "%s", ps_last_error());
    double worst, moved;
    compare_colors(&im, &icc, 3, stored, &worst, &moved);
    CHECK(worst < 0.25 / 255 && moved > 10 / 255.0, "AdobeRGB JPEG: %.5f off, moved %.4f", worst, moved);
    ps_img_raw r;
    CHECK(ps_img_load_raw(j.b, j.n, "adobe.jpg", &r, NULL) == PS_OK && r.depth == 16 && r.ch == 3,
          "converted JPEG: raw of %d samples at %d bits, want 3 at 16", r.ch, r.depth);
    ps_img_raw_free(&r);
    CHECK(tu_raw_differs(j.b, j.n, "adobe.jpg") == 0, "AdobeRGB JPEG: raw rows differ from the load");
    CHECK(m.icc && m.icc_len == srgb_bytes.n && !memcmp(m.icc, srgb_bytes.b, m.icc_len), "JPEG: sRGB profile");
    /* JPEG out carries it in APP2 as libjpeg reads it back */
    CHECK(ps_img_save_meta("icc_out.jpg", &im, 95, &m) == PS_OK, "%s", ps_last_error());
    mem o = slurp("icc_out.jpg");
    size_t n;
    CHECK(jpeg_find(&o, JPEG_APP0 + 2, "ICC_PROFILE\0", 12, 0, &n) != NULL, "APP2 ICC written");
    ps_image back;
    ps_img_meta bm;
    CHECK(ps_img_load_meta("icc_out.jpg", &back, &bm) == PS_OK && bm.icc && bm.icc_len == srgb_bytes.n &&
              !memcmp(bm.icc, srgb_bytes.b, bm.icc_len), "JPEG: sRGB profile read back: %s", ps_last_error());
    ps_img_free(&back), ps_img_meta_free(&bm), free(o.b);
    /* a profile over several APP2 markers (a 150 KB one) is reassembled: P3 with 70,000 bytes of
     * padding after its tags still converts */
    mem p3 = p3_profile(), big = {calloc(1, p3.n + 150000), p3.n + 150000};
    memcpy(big.b, p3.b, p3.n);
    tu_be32(big.b, (uint32_t)big.n); /* the header's size field */
    mem j2 = make_jpeg(W, H, px, 3, NULL, 0, &big);
    ps_image im2;
    ps_img_meta m2;
    CHECK(ps_img_load_mem_meta(j2.b, j2.n, "big.jpg", &im2, &m2) == PS_OK && m2.icc && m2.icc_len == srgb_bytes.n,
          "3-marker profile honoured: %s", ps_last_error());
    if (im2.px) {
        free(raw), raw = jpeg_raw(&j2, 3, &w, &h);
        memcpy(stored, raw + (size_t)W * 3, sizeof stored);
        compare_colors(&im2, &p3, 3, stored, &worst, &moved);
        CHECK(worst < 0.25 / 255 && moved > 10 / 255.0, "P3 over 3 markers: %.5f off, moved %.4f", worst, moved);
    }
    ps_img_free(&im2), ps_img_meta_free(&m2), free(j2.b), free(big.b), free(p3.b);
    /* gray JPEG with a gray profile */
    mem gp = gray_profile();
    unsigned char *g = picture(1);
    mem jg = make_jpeg(W, H, g, 1, NULL, 0, &gp);
    CHECK(ps_img_load_mem_meta(jg.b, jg.n, "gray.jpg", &im2, &m2) == PS_OK && m2.icc, "gray JPEG: %s", ps_last_error());
    if (im2.px) {
        unsigned char *graw = jpeg_raw(&jg, 1, &w, &h);
        compare_colors(&im2, &gp, 1, graw + W, &worst, &moved);
        CHECK(worst < 0.25 / 255 && moved > 10 / 255.0, "gray profile JPEG: %.5f off, moved %.4f", worst, moved);
        CHECK(tu_raw_differs(jg.b, jg.n, "gray.jpg") == 0, "gray profile JPEG: raw rows differ from the load");
        free(graw);
    }
    ps_img_free(&im2), ps_img_meta_free(&m2), free(jg.b), free(gp.b), free(g);
    ps_img_free(&im), ps_img_meta_free(&m), free(j.b), free(raw), free(icc.b), free(srgb_bytes.b), free(px);
}

/* An Adobe CMYK JPEG (inverted inks, as Photoshop writes them) with a CMYK profile: converted by
 * it, not naively; without the profile, naively as before. */
static void test_icc_cmyk(void)
{
    mem icc = cmyk_profile();
    unsigned char px[W * H * 4];
    for (int i = 0; i < W * H; i++) /* column x: colors[x] as inverted C, M, Y and a little K */
        for (int k = 0; k < 4; k++)
            px[4 * i + k] = k < 3 ? colors[i % W][k] : (unsigned char)(255 - 20 * (i % W));
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = W, c.image_height = H, c.input_components = 4, c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    for (int k = 0; k < c.num_components; k++)
        c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE); /* CMYK: libjpeg writes the Adobe marker */
    jpeg_write_icc_profile(&c, icc.b, (unsigned)icc.n);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = px + (size_t)c.next_scanline * W * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    /* the samples as stored, decoded by libjpeg alone */
    struct jpeg_decompress_struct d;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, size);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_CMYK;
    jpeg_start_decompress(&d);
    unsigned char stored[W * H * 4];
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = stored + (size_t)d.output_scanline * W * 4;
        jpeg_read_scanlines(&d, &row, 1);
    }
    int adobe = d.saw_Adobe_marker;
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    CHECK(adobe, "libjpeg wrote the Adobe marker");
    ps_image im;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(buf, size, "cmyk.jpg", &im, &m) == PS_OK && m.icc, "%s", ps_last_error());
    cmsHPROFILE p = cmsOpenProfileFromMem(icc.b, (cmsUInt32Number)icc.n), s = cmsCreate_sRGBProfile();
    /* lcms2 has no 8-bit CMYK to double: 16 bits out */
    cmsHTRANSFORM t = cmsCreateTransform(p, TYPE_CMYK_8_REV, s, TYPE_RGB_16, INTENT_PERCEPTUAL, 0);
    double worst = 0, naive = 0;
    for (int x = 0; t && im.px && x < W; x++) {
        unsigned short want[3];
        const unsigned char *q = stored + (size_t)(W + x) * 4; /* row 1 */
        cmsDoTransform(t, q, want, 1);
        for (int k = 0; k < 3; k++) {
            double got = ps_linear_to_srgb(px_at(&im, k, x, 1)), w = want[k] / 65535.0;
            worst = fmax(worst, fabs(got - w));
            naive = fmax(naive, fabs(got - q[k] * q[3] / 255.0 / 255.0));
        }
    }
    CHECK(t && worst < 0.5 / 255, "CMYK by its profile: %.5f from lcms2", worst);
    CHECK(naive > 10 / 255.0, "CMYK: the profile changed colours by only %.4f from naive", naive);
    CHECK(tu_raw_differs(buf, size, "cmyk.jpg") == 0, "CMYK by its profile: raw rows differ from the load");
    if (t)
        cmsDeleteTransform(t);
    cmsCloseProfile(p), cmsCloseProfile(s);
    ps_img_free(&im), ps_img_meta_free(&m), free(buf), free(icc.b);
}

static void test_xmp_comment(void)
{
    static const char xmp[] = "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
                              "<rdf:RDF/></x:xmpmeta><?xpacket end='w'?>";
    static const char com[] = "shot on a tuesday \xc3\xa9t\xc3\xa9"; /* UTF-8 */
    static const char com2[] = "Created with GIMP";
    unsigned char *px = picture(3), app1[256];
    memcpy(app1, "http://ns.adobe.com/xap/1.0/", 29);
    memcpy(app1 + 29, xmp, sizeof xmp - 1);
    /* every COM, in order; the empty one is nobody's comment */
    marker mk[4] = {{JPEG_APP0 + 1, app1, 29 + sizeof xmp - 1}, {JPEG_COM, com, sizeof com - 1},
                    {JPEG_COM, "", 0}, {JPEG_COM, com2, sizeof com2 - 1}};
    mem j = make_jpeg(W, H, px, 3, mk, 4, NULL);
    ps_image im;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(j.b, j.n, "xmp.jpg", &im, &m) == PS_OK, "%s", ps_last_error());
    CHECK(m.xmp && m.xmp_len == sizeof xmp - 1 && !memcmp(m.xmp, xmp, m.xmp_len), "JPEG XMP read");
    CHECK(m.n_comments == 2 && m.comment_len[0] == sizeof com - 1 && !memcmp(m.comment[0], com, m.comment_len[0]) &&
              m.comment_len[1] == sizeof com2 - 1 && !memcmp(m.comment[1], com2, m.comment_len[1]),
          "JPEG COMs read: %d", m.n_comments);
    /* to PNG: iTXt XML:com.adobe.xmp, uncompressed; the UTF-8 comment as iTXt Comment, the
     * ASCII one as tEXt, in their order */
    CHECK(ps_img_save_meta("xmp.png", &im, 0, &m) == PS_OK, "%s", ps_last_error());
    mem o = slurp("xmp.png");
    size_t n;
    const unsigned char *t = png_find(&o, "iTXt", &n, NULL);
    CHECK(t && n > 18 && !memcmp(t, "XML:com.adobe.xmp\0\0", 19) && n == 22 + sizeof xmp - 1 &&
              !memcmp(t + 22, xmp, sizeof xmp - 1), "iTXt XMP written");
    ps_image back;
    ps_img_meta bm;
    CHECK(ps_img_load_meta("xmp.png", &back, &bm) == PS_OK, "%s", ps_last_error());
    CHECK(bm.xmp && bm.xmp_len == m.xmp_len && !memcmp(bm.xmp, xmp, bm.xmp_len), "PNG XMP read back");
    CHECK(bm.n_comments == 2 && bm.comment_len[0] == m.comment_len[0] && !memcmp(bm.comment[0], com, bm.comment_len[0]) &&
              bm.comment_len[1] == m.comment_len[1] && !memcmp(bm.comment[1], com2, bm.comment_len[1]),
          "PNG comments read back: %d", bm.n_comments);
    /* and to JPEG again */
    CHECK(ps_img_save_meta("xmp2.jpg", &back, 90, &bm) == PS_OK, "%s", ps_last_error());
    mem o2 = slurp("xmp2.jpg");
    const unsigned char *x = jpeg_find(&o2, JPEG_APP0 + 1, "http://ns.adobe.com/xap/1.0/", 29, 0, &n);
    CHECK(x && n == sizeof xmp - 1 && !memcmp(x, xmp, n), "JPEG XMP written");
    x = jpeg_find(&o2, JPEG_COM, "", 0, 0, &n);
    CHECK(x && n == sizeof com - 1 && !memcmp(x, com, n), "JPEG COM 1 written");
    x = jpeg_find(&o2, JPEG_COM, "", 0, 1, &n);
    CHECK(x && n == sizeof com2 - 1 && !memcmp(x, com2, n), "JPEG COM 2 written");
    CHECK(!jpeg_find(&o2, JPEG_COM, "", 0, 2, &n), "a third COM written");
    ps_img_free(&back), ps_img_meta_free(&bm), free(o.b), free(o2.b);
    /* a Latin-1 tEXt Comment comes out as UTF-8; one after the image data counts too, in its
     * place; an ASCII one is written as tEXt */
    chunk ck[3] = {{"tEXt", "Comment\0caf\xe9", 12, 0}, {"tEXt", "Title\0other", 11, 0},
                   {"tEXt", "Comment\0late", 12, 1}};
    mem p = make_png(W, H, 3, 8, px, ck, 3);
    CHECK(ps_img_load_mem_meta(p.b, p.n, "latin1.png", &back, &bm) == PS_OK && bm.n_comments == 2 &&
              bm.comment_len[0] == 5 && !memcmp(bm.comment[0], "caf\xc3\xa9", 5) &&
              bm.comment_len[1] == 4 && !memcmp(bm.comment[1], "late", 4), "Latin-1 and late comments");
    ps_img_meta_free(&bm);
    bm.comment[0] = (unsigned char *)"plain words", bm.comment_len[0] = 11, bm.n_comments = 1;
    CHECK(ps_img_save_meta("ascii.png", &back, 0, &bm) == PS_OK, "%s", ps_last_error());
    mem o3 = slurp("ascii.png");
    t = png_find(&o3, "tEXt", &n, NULL);
    CHECK(t && n == 19 && !memcmp(t, "Comment\0plain words", 19), "ASCII comment as tEXt");
    ps_img_free(&back), free(o3.b), free(p.b);
    /* the caps: PS_IMG_META_MAX_COMMENTS comments, the first ones kept */
    marker many[PS_IMG_META_MAX_COMMENTS + 3];
    char texts[PS_IMG_META_MAX_COMMENTS + 3][8];
    for (int i = 0; i < PS_IMG_META_MAX_COMMENTS + 3; i++)
        snprintf(texts[i], sizeof texts[i], "c%d", i), many[i] = (marker){JPEG_COM, texts[i], strlen(texts[i])};
    mem jm = make_jpeg(W, H, px, 3, many, PS_IMG_META_MAX_COMMENTS + 3, NULL);
    CHECK(ps_img_load_mem_meta(jm.b, jm.n, "many.jpg", &back, &bm) == PS_OK &&
              bm.n_comments == PS_IMG_META_MAX_COMMENTS && !memcmp(bm.comment[PS_IMG_META_MAX_COMMENTS - 1], texts[PS_IMG_META_MAX_COMMENTS - 1],
                      bm.comment_len[PS_IMG_META_MAX_COMMENTS - 1]), "comments past the cap: %d", bm.n_comments);
    ps_img_free(&back), ps_img_meta_free(&bm), free(jm.b);
    /* strip: none of it, on either format */
    ps_img_meta_strip(&m);
    CHECK(!m.exif && !m.icc && !m.xmp && !m.n_comments && !m.comment[0] && m.depth == 8,
          "strip empties all but depth");
    CHECK(ps_img_save_meta("strip.jpg", &im, 90, &m) == PS_OK && ps_img_save_meta("strip.png", &im, 0, &m) == PS_OK,
          "%s", ps_last_error());
    o = slurp("strip.jpg"), o2 = slurp("strip.png");
    CHECK(!jpeg_find(&o, JPEG_APP0 + 1, "", 0, 0, &n) && !jpeg_find(&o, JPEG_COM, "", 0, 0, &n) &&
              !jpeg_find(&o, JPEG_APP0 + 2, "", 0, 0, &n), "stripped JPEG has no APP1/APP2/COM");
    CHECK(!png_find(&o2, "iTXt", &n, NULL) && !png_find(&o2, "tEXt", &n, NULL) && !png_find(&o2, "eXIf", &n, NULL) &&
              !png_find(&o2, "iCCP", &n, NULL), "stripped PNG has no metadata chunks");
    free(o.b), free(o2.b);
    ps_img_free(&im), ps_img_meta_free(&m), free(j.b), free(px);
}

/* XMP over one segment into a JPEG: a StandardXMP with xmpNote:HasExtendedXMP = the MD5 of the
 * ExtendedXMP (the packet's x:xmpmeta), which follows in parts with the GUID, full length and
 * offset; without an x:xmpmeta or rdf:RDF it is left out, as EXIF and comments over a segment
 * are, and ps_img_meta_jpeg_unfit says so. */
static void test_xmp_extended(void)
{
    unsigned char md5[16];
    static const unsigned char abc[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                          0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
    CHECK(ps_img__md5("abc", 3, md5) && !memcmp(md5, abc, 16), "MD5 of 'abc' (RFC 1321)");
    static const char head[] = "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>";
    static const char open[] = "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf="
                               "'http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
                               "rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' dc:format='";
    static const char close[] = "'/></rdf:RDF></x:xmpmeta>";
    size_t fill = 150000, bn = sizeof open - 1 + fill + sizeof close - 1;
    size_t xn = 22 + sizeof head + bn + 2000 + 32;
    char *x = malloc(xn);
    size_t o = (size_t)sprintf(x, "XML:com.adobe.xmp%c%c%c%c%c%s%s", 0, 0, 0, 0, 0, head, open);
    const size_t body = 18 + 4 + sizeof head - 1; /* where x:xmpmeta starts */
    for (size_t i = 0; i < fill; i++)
        x[o++] = (char)('a' + i % 26);
    o += (size_t)sprintf(x + o, "%s", close);
    memset(x + o, ' ', 2000), o += 2000; /* the padding a packet has, not part of ExtendedXMP */
    o += (size_t)sprintf(x + o, "<?xpacket end='w'?>");
    unsigned char *px = picture(3);
    chunk ck = {"iTXt", x, o, 0};
    mem p = make_png(W, H, 3, 8, px, &ck, 1);
    ps_image im;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(p.b, p.n, "bigxmp.png", &im, &m) == PS_OK && m.xmp_len == o - 22, "big XMP read");
    CHECK(ps_img_meta_jpeg_unfit(&m) == 0, "a big XMP with an x:xmpmeta fits a JPEG");
    CHECK(ps_img_save_meta("bigxmp.jpg", &im, 90, &m) == PS_OK, "%s", ps_last_error());
    mem j = slurp("bigxmp.jpg");
    size_t n;
    const unsigned char *std = jpeg_find(&j, JPEG_APP0 + 1, "http://ns.adobe.com/xap/1.0/", 29, 0, &n);
    const char *g = std ? memmem(std, n, "xmpNote:HasExtendedXMP=\"", 24) : NULL;
    char guid[33] = "", want[33];
    if (g && (size_t)((const unsigned char *)g - std) + 24 + 33 <= n && g[24 + 32] == '"')
        memcpy(guid, g + 24, 32);
    CHECK(n < 1000 && guid[0], "StandardXMP with HasExtendedXMP: %zu bytes", n);
    const size_t std_n = n;
    CHECK(ps_img__md5(x + body, bn, md5), "MD5");
    for (int i = 0; i < 16; i++)
        snprintf(want + 2 * i, 3, "%02X", md5[i]);
    CHECK(!strcmp(guid, want), "GUID %s, the ExtendedXMP's MD5 is %s", guid, want);
    unsigned char *ext = calloc(bn, 1);
    size_t got = 0;
    int parts = 0, ok = 1;
    const unsigned char *e;
    while ((e = jpeg_find(&j, JPEG_APP0 + 1, "http://ns.adobe.com/xmp/extension/", 35, parts, &n))) {
        uint32_t full = (uint32_t)e[32] << 24 | e[33] << 16 | e[34] << 8 | e[35];
        uint32_t off = (uint32_t)e[36] << 24 | e[37] << 16 | e[38] << 8 | e[39];
        ok &= n > 40 && !memcmp(e, want, 32) && full == bn && off == got && off + n - 40 <= bn;
        if (ok)
            memcpy(ext + off, e + 40, n - 40), got += n - 40;
        parts++;
    }
    CHECK(ok && parts == 3 && got == bn && !memcmp(ext, x + body, bn),
          "ExtendedXMP: %d parts, %zu of %zu bytes", parts, got, bn);
    ps_img_free(&im), ps_img_meta_free(&m);
    /* read back, the ExtendedXMP is counted, not kept (img.h says why); strip forgets it */
    CHECK(ps_img_load_mem_meta(j.b, j.n, "bigxmp.jpg", &im, &m) == PS_OK && m.xmp_ext_left == bn &&
              m.xmp_len == std_n && !memcmp(m.xmp, std, std_n), "ExtendedXMP read: %zu bytes", m.xmp_ext_left);
    ps_img_meta_strip(&m);
    CHECK(m.xmp_ext_left == 0, "strip kept the ExtendedXMP's count");
    free(ext), free(j.b), ps_img_free(&im), ps_img_meta_free(&m), free(p.b);
    /* no element to store: left out, and said so; EXIF and a comment over a segment too */
    memset(x + body, 'z', bn);
    p = make_png(W, H, 3, 8, px, &ck, 1);
    CHECK(ps_img_load_mem_meta(p.b, p.n, "junkxmp.png", &im, &m) == PS_OK && m.xmp, "%s", ps_last_error());
    CHECK(ps_img_meta_jpeg_unfit(&m) == PS_IMG_LOST_XMP, "unfit XMP: %u", ps_img_meta_jpeg_unfit(&m));
    CHECK(ps_img_save_meta("junkxmp.jpg", &im, 90, &m) == PS_OK, "%s", ps_last_error());
    j = slurp("junkxmp.jpg");
    CHECK(!jpeg_find(&j, JPEG_APP0 + 1, "http://ns.adobe.com/xap/1.0/", 29, 0, &n) &&
              !jpeg_find(&j, JPEG_APP0 + 1, "http://ns.adobe.com/xmp/extension/", 35, 0, &n), "unfit XMP written");
    ps_img_meta_free(&m);
    m.exif_len = PS_IMG_JPEG_EXIF_MAX + 1, m.n_comments = 2;
    m.comment_len[0] = 10, m.comment_len[1] = PS_IMG_JPEG_COMMENT_MAX + 1;
    CHECK(ps_img_meta_jpeg_unfit(&m) == (PS_IMG_LOST_EXIF | PS_IMG_LOST_COMMENT), "unfit EXIF and comment: %u",
          ps_img_meta_jpeg_unfit(&m));
    m.exif_len = PS_IMG_JPEG_EXIF_MAX, m.comment_len[1] = PS_IMG_JPEG_COMMENT_MAX;
    CHECK(ps_img_meta_jpeg_unfit(&m) == 0, "EXIF and comment at the limits fit");
    free(j.b), ps_img_free(&im), free(p.b), free(px), free(x);
}

static void test_16bit(void)
{
    enum { w = 37, h = 23 };
    for (int ch = 1; ch <= 4; ch++) {
        uint16_t *v = malloc(sizeof *v * w * h * ch);
        uint64_t seed = 99 + ch;
        for (int i = 0; i < w * h * ch; i++)
            v[i] = (uint16_t)(i < 8 ? (i & 1 ? 65535 : 0) : tu_rand(&seed) >> 16);
        mem p = make_png(w, h, ch, 16, v, NULL, 0);
        ps_image im;
        ps_img_meta m;
        CHECK(ps_img_load_mem_meta(p.b, p.n, "16.png", &im, &m) == PS_OK && m.depth == 16, "%s", ps_last_error());
        CHECK(ps_img_save_meta("16.png", &im, 0, &m) == PS_OK, "%s", ps_last_error());
        mem o = slurp("16.png");
        CHECK(o.n > 26 && o.b[24] == 16, "written with 16 bits (IHDR depth %d)", o.n > 26 ? o.b[24] : -1);
        int ow, oh, oc;
        uint16_t *r = stbi_load_16_from_memory(o.b, (int)o.n, &ow, &oh, &oc, 0);
        const int want_c = ch == 2 ? 4 : ch == 1 ? 3 : ch; /* gray is expanded on load */
        int worst = r && ow == w && oh == h && oc == want_c ? 0 : 99999;
        for (int i = 0; worst < 99999 && i < w * h; i++)
            for (int k = 0; k < oc; k++) {
                int src = ch <= 2 ? (k < 3 ? v[i * ch] : v[i * ch + 1]) : v[i * ch + k];
                worst = abs(r[i * oc + k] - src) > worst ? abs(r[i * oc + k] - src) : worst;
            }
        CHECK(worst <= 1, "ch %d: 16-bit values off by %d (%dx%dx%d)", ch, worst, r ? ow : 0, r ? oh : 0, r ? oc : 0);
        stbi_image_free(r), free(o.b);
        /* 8-bit in stays 8-bit */
        ps_img_meta eight = {0};
        eight.depth = 8;
        CHECK(ps_img_save_meta("8.png", &im, 0, &eight) == PS_OK && ps_img_save_meta("8b.png", &im, 0, NULL) == PS_OK,
              "%s", ps_last_error());
        o = slurp("8.png");
        mem o2 = slurp("8b.png");
        CHECK(o.n > 26 && o.b[24] == 8 && o2.n > 26 && o2.b[24] == 8, "8-bit stays 8-bit");
        /* and a JPEG from 16-bit: 8-bit, fine */
        CHECK(ps_img_save_meta("16.jpg", &im, 90, &m) == PS_OK, "%s", ps_last_error());
        free(o.b), free(o2.b);
        ps_img_free(&im), ps_img_meta_free(&m), free(p.b), free(v);
    }
    /* 16-bit with a P3 profile: converted, still 16 bits out */
    mem icc = p3_profile(), d = iccp_data(&icc);
    uint16_t v[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        v[i] = (uint16_t)(colors[i / 3 % W][i % 3] * 257);
    chunk ck = {"iCCP", d.b, d.n, 0};
    mem p = make_png(W, H, 3, 16, v, &ck, 1);
    ps_image im;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(p.b, p.n, "p3_16.png", &im, &m) == PS_OK && m.depth == 16 && m.icc, "%s", ps_last_error());
    if (im.px) {
        unsigned char *px = picture(3);
        double worst, moved;
        compare_colors(&im, &icc, 3, px, &worst, &moved);
        CHECK(worst < 0.25 / 255 && moved > 10 / 255.0, "16-bit P3: %.5f off, moved %.4f", worst, moved);
        free(px);
    }
    ps_img_free(&im), ps_img_meta_free(&m), free(p.b), free(d.b), free(icc.b);
}

/* The same pixels as a plain load: what a load with ignored metadata must give. */
static int same_pixels(const ps_image *a, const ps_image *b)
{
    return a->px && b->px && a->w == b->w && a->h == b->h && a->c == b->c &&
           !memcmp(a->px, b->px, sizeof(float) * a->w * a->h * a->c);
}

/* A PNG with these chunks must load with the pixels it has without them; flip_crc breaks the
 * first chunk's CRC. */
static void expect_ignored_png(const char *what, const chunk *ck, int nck, int ch, int want_icc,
                               int want_exif, int flip_crc)
{
    unsigned char *px = picture(3);
    unsigned char *src = px;
    if (ch == 1)
        src = picture(1);
    mem p = make_png(W, H, ch, 8, src, ck, nck), plain = make_png(W, H, ch, 8, src, NULL, 0);
    if (flip_crc)
        p.b[33 + 8 + ck[0].n] ^= 1;
    ps_image a, b;
    ps_img_meta m;
    double t0 = now();
    ps_status st = ps_img_load_mem_meta(p.b, p.n, what, &a, &m);
    CHECK(st == PS_OK, "%s: load failed: %s", what, ps_last_error());
    CHECK(now() - t0 < 0.5, "%s: took %.2f s", what, now() - t0);
    CHECK(ps_img_load_mem(plain.b, plain.n, "plain", &b) == PS_OK && same_pixels(&a, &b), "%s: pixels as without it", what);
    CHECK(!m.icc == !want_icc, "%s: icc %zu bytes", what, m.icc_len);
    CHECK(!m.exif == !want_exif, "%s: exif %zu bytes", what, m.exif_len);
    size_t comments = 0;
    for (int i = 0; i < m.n_comments; i++)
        comments += m.comment_len[i];
    CHECK(m.xmp_len <= PS_IMG_META_MAX_BYTES && comments <= PS_IMG_META_MAX_BYTES, "%s: blob over the cap", what);
    CHECK(!flip_crc || (!m.n_comments && !m.xmp), "%s: the chunk with a bad CRC was kept", what);
    ps_img_free(&a), ps_img_free(&b), ps_img_meta_free(&m), free(p.b), free(plain.b);
    if (src != px)
        free(src);
    free(px);
}

/* Bombs: an iCCP "profile" of 64 MB of zeros in a 64 KB chunk, and 200 zTXt comments of as much:
 * libpng stops each at its chunk limit and looks at no more than its cache limit of them. */
static void test_hostile_bombs(const mem *icc)
{
    size_t big = 64u << 20;
    unsigned char *zeros = calloc(big, 1);
    memcpy(zeros, icc->b, 132);
    tu_be32(zeros, (uint32_t)big);
    mem z = zdeflate(zeros, big), dd = {malloc(z.n + 16), 0};
    memcpy(dd.b, "bomb\0\0", 6), memcpy(dd.b + 6, z.b, z.n), dd.n = 6 + z.n;
    chunk bomb = {"iCCP", dd.b, dd.n, 0};
    expect_ignored_png("iCCP bomb", &bomb, 1, 3, 0, 0, 0);
    unsigned char *zt = malloc(z.n + 16);
    memcpy(zt, "Comment\0\0", 9), memcpy(zt + 9, z.b, z.n);
    chunk many[200];
    for (int i = 0; i < 200; i++)
        many[i] = (chunk){"zTXt", zt, 9 + z.n, 0};
    expect_ignored_png("zTXt bombs", many, 200, 3, 0, 0, 0);
    free(zt), free(z.b), free(dd.b), free(zeros);
}

/* EXIF: over the cap (dropped), corrupt or cut (kept as bytes, nothing read outside them). */
static void test_hostile_exif(void)
{
    size_t big = PS_IMG_META_MAX_BYTES + 10;
    unsigned char *e = calloc(big, 1);
    make_exif(e, 0, 6);
    chunk ex = {"eXIf", e, big, 0};
    unsigned char *px = picture(3);
    mem p = make_png(W, H, 3, 8, px, &ex, 1);
    ps_image im;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(p.b, p.n, "big exif", &im, &m) == PS_OK && !m.exif, "EXIF over the cap dropped: %s",
          ps_last_error());
    ps_img_free(&im), ps_img_meta_free(&m), free(p.b);
    /* in JPEG: the same in an APP1 is limited by the marker, so corrupt ones instead */
    unsigned char tiff[84], app1[90];
    static const int lens[] = {6, 7, 14, 20, 33, 40, 70, 90};
    for (int v = 0; v < 5; v++) {
        make_exif(tiff, 1, 6);
        if (v == 0)
            put32(tiff + 4, 0xfffffff0u, 1); /* IFD0 far outside */
        if (v == 1)
            put16(tiff + 8, 0xffff, 1); /* 65535 entries */
        if (v == 2)
            put32(tiff + 34, 0xfffffff0u, 1); /* IFD1 outside: the link is cleared anyway */
        if (v == 3)
            put16(tiff + 24, 4, 1); /* orientation as a LONG: not ours to read */
        if (v == 4)
            tiff[1] = 0xb0; /* no TIFF header (libpng would drop it from a PNG): dropped */
        memcpy(app1, "Exif\0\0", 6), memcpy(app1 + 6, tiff, 84);
        for (int li = 0; li < 8; li++) { /* and cut short */
            const int len = lens[li];
            marker mk = {JPEG_APP0 + 1, app1, (size_t)len};
            mem j = make_jpeg(W, H, px, 3, &mk, 1, NULL);
            const int rotated = len >= 40 && (v == 1 || v == 2); /* its orientation 6 is readable */
            CHECK(ps_img_load_mem_meta(j.b, j.n, "bad exif", &im, &m) == PS_OK && im.w == (rotated ? H : W),
                  "corrupt EXIF %d/%d: %dx%d %s", v, len, im.w, im.h, ps_last_error());
            const int kept = len - 6 >= 8 && v != 4;
            CHECK(kept ? m.exif && m.exif_len == (size_t)len - 6 : !m.exif, "corrupt EXIF %d/%d: %zu bytes kept",
                  v, len, m.exif_len);
            if (kept) { /* and what is kept goes through a PNG and back */
                CHECK(ps_img_save_meta("bad_exif.png", &im, 0, &m) == PS_OK, "%s", ps_last_error());
                ps_image back;
                ps_img_meta bm;
                CHECK(ps_img_load_meta("bad_exif.png", &back, &bm) == PS_OK && bm.exif && bm.exif_len == m.exif_len &&
                          !memcmp(bm.exif, m.exif, m.exif_len), "corrupt EXIF %d/%d: PNG round trip", v, len);
                ps_img_free(&back), ps_img_meta_free(&bm);
            }
            ps_img_free(&im), ps_img_meta_free(&m), free(j.b);
        }
    }
    free(e), free(px);
}

/* Text: a chunk with no keyword separator, a cut iTXt, XMP over the cap, a tEXt over libpng's
 * chunk limit. */
static void test_hostile_text(void)
{
    chunk t1 = {"tEXt", "Comment", 7, 0}, t2 = {"iTXt", "XML:com.adobe.xmp\0\1\0", 20, 0};
    expect_ignored_png("tEXt without NUL", &t1, 1, 3, 0, 0, 0);
    expect_ignored_png("cut iTXt", &t2, 1, 3, 0, 0, 0);
    size_t big = PS_IMG_META_MAX_BYTES + 100;
    unsigned char *x = malloc(big);
    memset(x, 'x', big);
    memcpy(x, "XML:com.adobe.xmp\0\0\0\0", 22);
    chunk t3 = {"iTXt", x, big, 0};
    expect_ignored_png("XMP over the cap", &t3, 1, 3, 0, 0, 0);
    free(x);
    big = 3u << 20; /* past libpng's chunk limit too */
    x = malloc(big);
    memset(x, 'y', big);
    memcpy(x, "Comment\0", 8);
    chunk t4 = {"tEXt", x, big, 0};
    expect_ignored_png("3 MB tEXt", &t4, 1, 3, 0, 0, 0);
    free(x);
}

/* JPEG ICC: bogus sequence numbers, a profile over the cap split over 17 markers. */
static void test_hostile_jpeg_icc(const mem *icc)
{
    unsigned char *px = picture(3);
    unsigned char app2[200];
    memcpy(app2, "ICC_PROFILE\0\3\2", 14); /* marker 3 of 2 */
    memcpy(app2 + 14, icc->b, 150);
    marker mk = {JPEG_APP0 + 2, app2, 164};
    mem j = make_jpeg(W, H, px, 3, &mk, 1, NULL), plain = make_jpeg(W, H, px, 3, NULL, 0, NULL);
    ps_image a, b;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(j.b, j.n, "bogus icc seq", &a, &m) == PS_OK && !m.icc, "bogus APP2 ignored: %s",
          ps_last_error());
    CHECK(ps_img_load_mem(plain.b, plain.n, "plain", &b) == PS_OK && same_pixels(&a, &b), "bogus APP2: pixels as sRGB");
    ps_img_free(&a), ps_img_meta_free(&m), free(j.b);
    mem big = {calloc(1, PS_IMG_META_MAX_BYTES + 1000), PS_IMG_META_MAX_BYTES + 1000};
    memcpy(big.b, icc->b, icc->n);
    tu_be32(big.b, (uint32_t)big.n);
    j = make_jpeg(W, H, px, 3, NULL, 0, &big);
    CHECK(ps_img_load_mem_meta(j.b, j.n, "huge icc", &a, &m) == PS_OK && !m.icc && same_pixels(&a, &b),
          "ICC over the cap: ignored, pixels as sRGB: %s", ps_last_error());
    ps_img_free(&a), ps_img_free(&b), ps_img_meta_free(&m), free(j.b), free(plain.b), free(big.b), free(px);
}

/* A cut metadata chunk is a cut file: refused like any truncation. */
static void test_hostile_cut(void)
{
    unsigned char tiff[84];
    make_exif(tiff, 0, 1);
    chunk ex = {"eXIf", tiff, 84, 0};
    unsigned char *px = picture(3);
    mem p = make_png(W, H, 3, 8, px, &ex, 1);
    ps_image im;
    ps_img_meta m = {0};
    CHECK(ps_img_load_mem_meta(p.b, 33 + 40, "cut.png", &im, &m) == PS_EINPUT && !m.exif && !im.px,
          "cut eXIf: refused, meta zeroed");
    free(p.b), free(px);
}

/* ICC: garbage, cut, lying size, tags pointing outside, wrong kind (RGB profile on gray, gray on
 * RGB), bad CRC; in PNG (libpng checks some of it first) and in JPEG (lcms2 alone). */
static void test_hostile_icc(void)
{
    mem p3 = p3_profile(), gp = gray_profile();
    unsigned char junk[600];
    uint64_t seed = 5;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)tu_rand(&seed);
    memcpy(junk + 36, "acsp", 4);
    mem jm = {junk, sizeof junk}, cut = {p3.b, 200}, liar = {malloc(p3.n), p3.n}, far = {malloc(p3.n), p3.n};
    memcpy(liar.b, p3.b, p3.n), memcpy(far.b, p3.b, p3.n);
    tu_be32(liar.b, 0x7fffffff);
    uint32_t ntags = (uint32_t)far.b[128] << 24 | far.b[129] << 16 | far.b[130] << 8 | far.b[131];
    for (uint32_t k = 0; k < ntags && 132 + 12 * k + 12 <= far.n; k++)
        tu_be32(far.b + 132 + 12 * k + 4 + (k & 1) * 4, 0xfffffff0u); /* offset or size */
    const mem *bad[] = {&jm, &cut, &liar, &far};
    const char *names[] = {"junk icc", "cut icc", "lying icc", "far tags icc"};
    unsigned char *px = picture(3);
    mem plain = make_jpeg(W, H, px, 3, NULL, 0, NULL);
    ps_image b;
    CHECK(ps_img_load_mem(plain.b, plain.n, "plain", &b) == PS_OK, "%s", ps_last_error());
    for (int i = 0; i < 4; i++) {
        mem d = iccp_data(bad[i]);
        chunk ck = {"iCCP", d.b, d.n, 0};
        expect_ignored_png(names[i], &ck, 1, 3, 0, 0, 0);
        free(d.b);
        mem j = make_jpeg(W, H, px, 3, NULL, 0, bad[i]);
        ps_image a;
        ps_img_meta m;
        /* lcms2 takes a header size past the data as the data's size: that profile is usable */
        const int usable = bad[i] == &liar;
        CHECK(ps_img_load_mem_meta(j.b, j.n, names[i], &a, &m) == PS_OK && !m.icc == !usable &&
                  same_pixels(&a, &b) == !usable, "JPEG %s: %s: %s", names[i], usable ? "honoured" : "ignored",
              ps_last_error());
        ps_img_free(&a), ps_img_meta_free(&m), free(j.b);
    }
    /* a gray profile on an RGB JPEG, an RGB one on a gray JPEG */
    mem jw = make_jpeg(W, H, px, 3, NULL, 0, &gp);
    ps_image a;
    ps_img_meta m;
    CHECK(ps_img_load_mem_meta(jw.b, jw.n, "gray icc on RGB JPEG", &a, &m) == PS_OK && !m.icc && same_pixels(&a, &b),
          "gray profile on an RGB JPEG: ignored");
    ps_img_free(&a), ps_img_meta_free(&m), ps_img_free(&b), free(jw.b), free(plain.b);
    unsigned char *g = picture(1);
    jw = make_jpeg(W, H, g, 1, NULL, 0, &p3), plain = make_jpeg(W, H, g, 1, NULL, 0, NULL);
    CHECK(ps_img_load_mem_meta(jw.b, jw.n, "RGB icc on gray JPEG", &a, &m) == PS_OK && !m.icc &&
              ps_img_load_mem(plain.b, plain.n, "plain", &b) == PS_OK && same_pixels(&a, &b),
          "RGB profile on a gray JPEG: ignored");
    ps_img_free(&a), ps_img_meta_free(&m), ps_img_free(&b), free(jw.b), free(plain.b), free(g), free(px);
    mem d = iccp_data(&p3);
    chunk ck = {"iCCP", d.b, d.n, 0};
    expect_ignored_png("RGB icc on gray", &ck, 1, 1, 0, 0, 0);
    /* libpng keeps an iCCP whose CRC is wrong (it only warns), but drops a text chunk's */
    chunk crc = {"tEXt", "Comment\0hello", 13, 0};
    expect_ignored_png("tEXt with a bad CRC", &crc, 1, 3, 0, 0, 1);
    free(d.b);
    d = iccp_data(&gp);
    ck = (chunk){"iCCP", d.b, d.n, 0};
    expect_ignored_png("gray icc on RGB", &ck, 1, 3, 0, 0, 0);
    free(d.b);
    free(p3.b), free(gp.b), free(liar.b), free(far.b);
}

int main(void)
{
    test_exif();
    test_icc_png();
    test_raw_orientations();
    test_icc_jpeg();
    test_icc_cmyk();
    test_xmp_comment();
    test_xmp_extended();
    test_16bit();
    test_hostile_icc();
    mem p3 = p3_profile();
    test_hostile_bombs(&p3);
    test_hostile_jpeg_icc(&p3);
    free(p3.b);
    test_hostile_exif();
    test_hostile_text();
    test_hostile_cut();
    return check_done("test_img_meta");
}
