/* pstyle preview: one contact sheet of what a style does to a photo, to choose the dials before
 * a batch: the style's sample thumbnails, then the photo at a grid of dials, each cell labelled
 * with a 5x7 bitmap font. Painted at a reduced size (long side 384 by default), so it is quick. */
#include "cli.h"
#include "src/api/api.h"
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pstyle preview --user NAME [--style NAME] [--version N] [--size PX]\n"
            "                      [--quality Q] [--force] [--threads N] [--quiet]\n"
            "                      [--db PATH] [--model PATH] PHOTO [-o SHEET]\n\n"
            "One contact sheet (PNG, or JPEG for a .jpg name) of NAME's style on PHOTO,\n"
            "painted at a reduced size: a row of the style's sample thumbnails, then four\n"
            "rows of four:\n"
            "  PHOTO      STRENGTH 0.5  STRENGTH 1  STRENGTH 1.5\n"
            "  COLOR 0    COLOR 0.5     COLOR 1     COLOR 1.5     (texture and stroke at 0)\n"
            "  TEXTURE 0  TEXTURE 0.5   TEXTURE 1   TEXTURE 1.5   (color and stroke at 0)\n"
            "  STROKE 0   STROKE 0.5    STROKE 1    STROKE 1.5    (color and texture at 0)\n"
            "each cell labelled under it. The sheet's name is printed on stdout.\n\n"
            "  --style NAME     which of the user's styles (default 'default')\n"
            "  --version N      an older version of the style (default: latest)\n"
            "  --size PX        long side of each painted cell, 64-1024 (default 384)\n"
            "  --quality Q      JPEG quality 1-100 (default 92)\n"
            "  -o SHEET         the sheet (.png, .jpg or .jpeg; default: in the current\n"
            "                   folder, <stem>.<user>.preview.png, or\n"
            "                   <stem>.<user>.<style>.preview.png for another style)\n"
            "  --force          replace SHEET if it exists (else: exit 1, nothing written)\n"
            PS_CLI_THREADS_HELP
            "  -q, --quiet      no progress line (a terminal gets one; logs none)\n"
            "  --db PATH        style database (default $PSTYLE_DB or\n"
            "                   $XDG_DATA_HOME/pstyle/styles.db)\n"
            "  --model PATH     model file (default $PSTYLE_MODEL or the shipped model)\n");
}

/* ---- the sheet: a canvas in linear RGB, cells composited over its grey -------------------- */

enum { GAP = 8, SCALE = 2, GLYPH_W = 6 * SCALE, LABEL_H = 7 * SCALE + 6, THUMB = 128 };

typedef struct sheet {
    ps_image im;
    float bg[3], ink[3];
} sheet;

static void sheet_px(sheet *s, int x, int y, const float rgb[3])
{
    if (x < 0 || y < 0 || x >= s->im.w || y >= s->im.h)
        return;
    for (int k = 0; k < 3; k++)
        s->im.px[((size_t)k * s->im.h + y) * s->im.w + x] = rgb[k];
}

/* text at (x, y), cut to max_w pixels */
static void sheet_text(sheet *s, int x, int y, int max_w, const char *t)
{
    for (; *t && max_w >= 5 * SCALE; t++, x += GLYPH_W, max_w -= GLYPH_W) {
        const unsigned char *g = ps_img_glyph(toupper((unsigned char)*t)); /* upper case only */
        if (!g)
            continue;
        for (int r = 0; r < 7 * SCALE; r++)
            for (int b = 0; b < 5 * SCALE; b++)
                if (g[r / SCALE] >> (4 - b / SCALE) & 1)
                    sheet_px(s, x + b, y + r, s->ink);
    }
}

/* im (RGB or RGBA, linear) with its top-left at (x, y), alpha over the sheet's grey */
static void sheet_put(sheet *s, int x, int y, const ps_image *im)
{
    size_t plane = (size_t)im->w * im->h;
    for (int yy = 0; yy < im->h; yy++)
        for (int xx = 0; xx < im->w; xx++) {
            size_t i = (size_t)yy * im->w + xx;
            float a = im->c == 4 ? im->px[3 * plane + i] : 1, rgb[3];
            for (int k = 0; k < 3; k++)
                rgb[k] = a * im->px[(im->c >= 3 ? k : 0) * plane + i] + (1 - a) * s->bg[k];
            sheet_px(s, x + xx, y + yy, rgb);
        }
}

/* ---- the command --------------------------------------------------------------------------- */

/* The dials of grid cell (row, col), and its label. */
static ps_dials cell_dials(int row, int col, char *label, size_t n)
{
    static const float level[4] = {0, 0.5f, 1, 1.5f};
    static const char *const group[3] = {"color", "texture", "stroke"};
    ps_dials d = {0, 0, 0};
    if (row == 0) {
        float v = col ? level[col] : 0;
        d = (ps_dials){v, v, v};
        if (col)
            snprintf(label, n, "strength %g", v);
        else
            snprintf(label, n, "photo");
    } else {
        ps_dials_set(&d, (ps_group)(row - 1), level[col]);
        snprintf(label, n, "%s %g", group[row - 1], level[col]);
    }
    return d;
}

static void default_name(char *buf, size_t n, const char *in, const char *user, const char *style)
{
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    int dflt = !strcmp(style, PS_STORE_DEFAULT_STYLE);
    snprintf(buf, n, "%.*s.%s%s%s.preview.png", stem, base, user, dflt ? "" : ".",
             dflt ? "" : style);
}

/* The reduced photo: decoded at a JPEG scale that keeps each side at least size px, then fit. */
static ps_status load_small(const char *path, int size, ps_image *out)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    ps_image big = {0};
    ps_status st = ps_img_read_file(path, &bytes, &len);
    if (!st)
        st = ps_img_load_mem_scaled(bytes, len, path, size, &big, NULL, NULL);
    free(bytes);
    if (!st)
        st = ps_img_fit(&big, out, size);
    ps_img_free(&big);
    return st;
}

/* Paint the sheet: samples strip, then the 4 x 4 grid. */
static ps_status paint(ps_model *m, const ps_style *s, const ps_image *photo, const char *title,
                       sheet *sh)
{
    int cw = photo->w, ch = photo->h, cols = 4, rows = 4;
    int W = GAP + cols * (cw + GAP), tb = cw < THUMB ? cw : THUMB;
    int per_line = (W - GAP) / (tb + GAP), ns = s->n_samples;
    if (per_line < 1)
        per_line = 1;
    int lines = (ns + per_line - 1) / per_line;
    int top = GAP + LABEL_H, grid = top + lines * (tb + LABEL_H + GAP);
    int H = grid + rows * (ch + LABEL_H + GAP);
    ps_status st = ps_img_alloc(&sh->im, W, H, 3);
    if (st)
        return st;
    for (int k = 0; k < 3; k++) {
        sh->bg[k] = ps_srgb_to_linear(40 / 255.0f);
        sh->ink[k] = ps_srgb_to_linear(235 / 255.0f);
        for (size_t i = 0; i < (size_t)W * H; i++)
            sh->im.px[(size_t)k * W * H + i] = sh->bg[k];
    }
    sheet_text(sh, GAP, GAP / 2, W - 2 * GAP, title);
    for (int i = 0; i < ns; i++) {
        int x = GAP + (i % per_line) * (tb + GAP), y = top + (i / per_line) * (tb + LABEL_H + GAP);
        char label[32];
        snprintf(label, sizeof label, "sample %d", i + 1);
        ps_image th = {0}, fit = {0};
        const ps_sample_rec *smp = &s->samples[i];
        if (smp->thumb_len && !ps_img_load_mem(smp->thumb, smp->thumb_len, label, &th) &&
            !ps_img_fit(&th, &fit, tb))
            sheet_put(sh, x + (tb - fit.w) / 2, y + tb - fit.h, &fit); /* on the label */
        else
            snprintf(label, sizeof label, "sample %d: none", i + 1);
        sheet_text(sh, x, y + tb + 3, tb, label);
        ps_img_free(&th);
        ps_img_free(&fit);
    }
    double t0 = ps_clock_s();
    for (int r = 0; r < rows && !st; r++)
        for (int c = 0; c < cols && !st; c++) {
            char label[32];
            ps_dials d = cell_dials(r, c, label, sizeof label);
            ps_image cell = {0};
            size_t n = (size_t)photo->w * photo->h * photo->c;
            if (!(st = ps_img_alloc(&cell, photo->w, photo->h, photo->c))) {
                memcpy(cell.px, photo->px, n * sizeof *cell.px);
                st = ps_apply_in_place(m, s, &cell, &d);
            }
            int x = GAP + c * (cw + GAP), y = grid + r * (ch + LABEL_H + GAP);
            if (!st) {
                sheet_put(sh, x, y, &cell);
                sheet_text(sh, x, y + ch + 3, cw, label);
            }
            ps_img_free(&cell);
            ps_cli_progress("preview", (r * cols + c + 1.0) / (rows * cols), ps_clock_s() - t0);
        }
    ps_cli_progress_done();
    return st;
}

int ps_cmd_preview(int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, 0, 'u'},    {"style", required_argument, 0, 's'},
        {"version", required_argument, 0, 'V'}, {"size", required_argument, 0, 'z'},
        {"quality", required_argument, 0, 'K'}, {"force", no_argument, 0, 'f'},
        {"db", required_argument, 0, 'd'},      {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},          {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},         {0, 0, 0, 0}};
    const char *user = NULL, *style = PS_STORE_DEFAULT_STYLE, *dbopt = NULL, *mopt = NULL;
    const char *out = NULL;
    long version = 0, size = 384, quality = 92, threads = 0;
    int force = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS "o:q", opts, NULL)) != -1) {
        switch (c) {
        case 'u': user = optarg; break;
        case 's': style = optarg; break;
        case 'd': dbopt = optarg; break;
        case 'm': mopt = optarg; break;
        case 'o': out = optarg; break;
        case 'f': force = 1; break;
        case 'q': ps_cli_quiet = 1; break;
        case 't':
            if (ps_cli_parse_threads("preview", optarg, &threads))
                return 1;
            break;
        case 'V':
            if (ps_cli_parse_int(optarg, 1, INT_MAX, &version))
                return ps_cli_usage("preview", "--version wants a version number, not '%s'", optarg);
            break;
        case 'z':
            if (ps_cli_parse_int(optarg, 64, 1024, &size))
                return ps_cli_usage("preview", "--size wants 64 to 1024 pixels, not '%s'", optarg);
            break;
        case 'K':
            if (ps_cli_parse_int(optarg, 1, 100, &quality))
                return ps_cli_usage("preview", "--quality wants 1 to 100, not '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("preview", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!user)
        return ps_cli_usage("preview", "--user NAME is required");
    if (argc - optind != 1)
        return ps_cli_usage("preview", "give exactly one PHOTO");
    const char *photo_path = argv[optind];
    char dbpath[PATH_MAX], mbuf[PATH_MAX], obuf[PATH_MAX];
    int rc = ps_cli_target(user, style, dbopt, dbpath, sizeof dbpath);
    if (rc)
        return rc;
    if (!out) {
        default_name(obuf, sizeof obuf, photo_path, user, style);
        out = obuf;
    }
    ps_status st;
    if ((st = ps_img_out_format(out, NULL)))
        return ps_cli_fail(st);
    const char *mpath = ps_cli_model_path(mopt, mbuf, sizeof mbuf);
    if (!mpath)
        return ps_cli_fail(PS_EINPUT);
    if ((rc = ps_cli_check_output("preview", out, dbpath, mpath)))
        return rc;
    if (ps_cli_same_file(out, photo_path))
        return ps_cli_error(PS_EUSAGE, "preview: %s: refusing to overwrite the photo", out);
    struct stat sb;
    if (lstat(out, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return ps_cli_error(PS_EUSAGE, "preview: %s is a folder; give a file name", out);
        if (!force)
            return ps_cli_error(PS_EUSAGE, "preview: %s exists; use --force to replace it", out);
    }
    ps_store *db = NULL;
    if ((st = ps_store_open(&db, dbpath, PS_STORE_READONLY)))
        return ps_cli_fail(st);
    ps_style *learned = NULL;
    st = ps_store_get(db, user, style, (int)version, &learned);
    ps_store_close(db);
    ps_model m;
    if (st || (st = ps_model_load(&m, mpath))) {
        ps_style_free(learned);
        return ps_cli_fail(st);
    }
    ps_prog prog;
    ps_image photo = {0};
    sheet sh = {0};
    if (!(st = ps_style_ready(&m, learned, &prog)) &&
        !(st = load_small(photo_path, (int)size, &photo))) {
        ps_cli_threads(threads);
        const char *base = strrchr(photo_path, '/');
        char title[PS_STORE_NAME_MAX * 2 + 300];
        snprintf(title, sizeof title, "%s/%s v%d  %s", user, style, learned->rec.version,
                 base ? base + 1 : photo_path);
        st = paint(&m, learned, &photo, title, &sh);
    }
    if (!st)
        st = ps_img_save(out, &sh.im, (int)quality);
    if (!st)
        printf("%s\n", out);
    ps_img_free(&sh.im);
    ps_img_free(&photo);
    ps_model_free(&m);
    ps_style_free(learned);
    return st ? ps_cli_fail(st) : 0;
}
