/* pstyle apply: paint photos in a user's learned style, with per-group weights. Batches as
 * ImageMagick users expect: outputs named after their inputs in their format, an --out-dir made
 * when missing, existing outputs kept unless --force, `-` for standard input and output. */
#include "cli.h"
#include "src/api/api.h"
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pstyle apply --user NAME [--style NAME] [--version N] [--color W]\n"
            "                    [--texture W] [--stroke W] [--strength W] [--size PX]\n"
            "                    [--quality Q] [--strip] [--format png|jpg] [--force]\n"
            "                    [--json] [--threads N] [--quiet] [--db PATH] [--model PATH]\n"
            "                    IN... [-o OUT | --out-dir DIR]\n\n"
            "Paint each IN in NAME's learned style. Weights are reals in [0, 2]: 0 keeps the\n"
            "photo's own color/texture/stroke, 1 is the learned style, above 1 exaggerates.\n\n"
            "  --color W, --texture W, --stroke W   per-group weights (default 1)\n"
            "  --strength W     scales all three (default 1)\n"
            "  --version N      use an older version of the style (default: latest)\n"
            "  --size PX        resize the output so its long side is PX (default: keep size)\n"
            "  --quality Q      JPEG quality 1-100 (default 92)\n"
            "  --strip          drop the input's EXIF, ICC profile, XMP and comments (kept by\n"
            "                   default; the orientation is reset, a non-sRGB profile becomes sRGB)\n"
            "  -o OUT           output file for a single input (.png, .jpg or .jpeg); '-' is\n"
            "                   standard output (PNG, or --format's)\n"
            "  --out-dir DIR    folder for the outputs (default: .); made, with the folders\n"
            "                   above it, if missing. Each is named <stem>.<user>.<ext>, or\n"
            "                   <stem>.<user>.<style>.<ext> for another style than default,\n"
            "                   in its input's format: .jpg/.jpeg/.png as the input's (PNG\n"
            "                   for other inputs)\n"
            "  --format FMT     png or jpg: the outputs' format, whatever the inputs'\n"
            "  --force          replace outputs that exist (else they are kept and skipped,\n"
            "                   said on stderr; skips alone exit 0)\n"
            "  --json           print a JSON array, one object per input: {input, output,\n"
            "                   status (written, skipped, failed), width, height, seconds,\n"
            "                   error}\n"
            PS_CLI_THREADS_HELP
            "  -q, --quiet      no progress on stderr (a terminal gets one line redrawn, a\n"
            "                   log one line per finished file)\n"
            "IN '-' is standard input (once; with -o OUT or -o -).\n");
}

/* What became of one input. */
enum { OUT_TODO, OUT_CLASH, OUT_EXISTS };

typedef struct plan {
    int png;              /* the output's format */
    int fate;             /* OUT_* decided before any work */
    const char *why;      /* why not OUT_TODO, for --json */
    char path[PATH_MAX];  /* the output, "-" for standard output */
} plan;

/* The output extension of input in: its own for .jpg, .jpeg and .png (case kept: IMG_1.JPG
 * gives .JPG), else .png; fmt (--format) wins. */
static const char *out_ext(const char *in, const char *fmt)
{
    if (fmt)
        return !strcmp(fmt, "png") ? ".png" : ".jpg";
    const char *base = strrchr(in, '/'), *dot = strrchr(base ? base + 1 : in, '.');
    if (dot && dot != (base ? base + 1 : in) &&
        (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png")))
        return dot;
    return ".png";
}

/* <dir>/<stem>.<user>[.<style>]<ext>; 0, or -1 if it does not fit. */
static int out_name(char *buf, size_t n, const char *dir, const char *in, const char *user,
                    const char *style, const char *fmt)
{
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    int dflt = !strcmp(style, PS_STORE_DEFAULT_STYLE);
    size_t len = (size_t)snprintf(buf, n, "%s/%.*s.%s%s%s%s", dir ? dir : ".", stem, base, user,
                                  dflt ? "" : ".", dflt ? "" : style, out_ext(in, fmt));
    return len < n ? 0 : -1;
}

typedef struct opts_t {
    const char *user, *style, *out, *outdir, *fmt, *db, *model;
    int force;
} opts_t;

/* Every output is judged before any work. One that is the store or the model would destroy what
 * the run reads: returns 1 and nothing runs; so does a name too long. One that would replace an
 * input, or the output of an earlier input (a/x.png, b/x.png), is reported and fails (exit 2)
 * while the others are still painted; one that exists is kept and skipped unless --force. */
static int plan_outputs(char **in, int nin, const opts_t *o, plan *pl)
{
    for (int i = 0; i < nin; i++) {
        plan *p = &pl[i];
        if (o->out) {
            snprintf(p->path, sizeof p->path, "%s", o->out);
        } else if (out_name(p->path, sizeof p->path, o->outdir, in[i], o->user, o->style, o->fmt)) {
            return ps_cli_error(PS_EUSAGE, "apply: %s: output name too long", in[i]);
        }
        if (!strcmp(p->path, "-")) {
            p->png = !o->fmt || !strcmp(o->fmt, "png");
            continue;
        }
        ps_status st = ps_img_out_format(p->path, &p->png);
        if (st)
            return ps_cli_fail(st);
        int rc = ps_cli_check_output("apply", p->path, o->db, o->model);
        if (rc)
            return rc;
        int clash = 0, first = -1;
        for (int j = 0; j < nin; j++)
            clash |= strcmp(in[j], "-") && ps_cli_same_file(p->path, in[j]);
        for (int j = 0; j < i && first < 0; j++)
            if (!strcmp(pl[j].path, p->path))
                first = j;
        struct stat sb;
        int there = lstat(p->path, &sb) == 0; /* lstat: a link is a name the rename replaces */
        p->fate = OUT_CLASH;
        if (clash) {
            ps_cli_error(2, "%s: refusing to overwrite an input image", p->path);
            p->why = "the output is an input";
        } else if (first >= 0) {
            ps_cli_error(2, "%s: is the output of %s too; not overwriting it with %s's "
                         "(apply that one alone with -o)", p->path, in[first], in[i]);
            p->why = "the output is another input's";
        } else if (there && S_ISDIR(sb.st_mode)) {
            ps_cli_error(2, "%s: is a folder", p->path);
            p->why = "the output is a folder";
        } else if (there && !o->force) {
            ps_cli_error(0, "apply: %s exists; skipped (--force replaces it)", p->path);
            p->fate = OUT_EXISTS;
            p->why = "exists";
        } else {
            p->fate = OUT_TODO;
        }
    }
    return 0;
}

/* Standard input, whole, into a buffer (at most the image module's file cap). */
static ps_status read_stdin(unsigned char **out, size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (!b)
            return ps_fail(PS_EINTERNAL, "standard input: out of memory");
        ssize_t got = read(0, b + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(b);
            return ps_fail(PS_EINPUT, "standard input: %s", strerror(errno));
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > (size_t)PS_IMG_MAX_FILE_BYTES) {
            free(b);
            return ps_fail(PS_EINPUT, "standard input: more than %lld MB",
                           PS_IMG_MAX_FILE_BYTES >> 20);
        }
        if (n == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    *out = b;
    *len = n;
    return PS_OK;
}

/* The input file's bytes, or standard input's. */
static ps_status read_input(const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL, *len = 0;
    return strcmp(path, "-") ? ps_img_read_file(path, buf, len) : read_stdin(buf, len);
}

/* One output: the photo painted band by band from its decoded file (raw), or an image painted
 * already (img), with what it keeps of its input (EXIF, ICC, XMP, comment, bit depth). */
typedef struct {
    ps_model *m;
    const ps_style *s;
    const ps_dials *d;
    const ps_img_raw *raw;
    const ps_image *img;
    int quality;
    const ps_img_meta *meta;
} out_job;

static ps_status write_out(const char *path, const out_job *j)
{
    return j->raw ? ps_apply_raw(j->m, j->s, j->raw, j->d, path, j->quality, j->meta)
                  : ps_img_save_meta(path, j->img, j->quality, j->meta);
}

/* What an output leaves out of its input's metadata, which the library does without a word: a
 * JPEG input's ExtendedXMP (img.h says why), and what a JPEG output cannot hold. A line each,
 * so that nobody learns of it from a missing tag months later. */
static void warn_unfit(const char *out, const ps_img_meta *meta, int png)
{
    if (meta->xmp_ext_left)
        ps_cli_error(0, "warning: %s: the input's ExtendedXMP (%zu bytes; on phones the depth map "
                        "and the unstyled original) is left out", out, meta->xmp_ext_left);
    unsigned lost = png ? 0 : ps_img_meta_jpeg_unfit(meta);
    if (lost & PS_IMG_LOST_EXIF)
        ps_cli_error(0, "warning: %s: the input's EXIF is %zu bytes, over the %d of a JPEG "
                        "segment: left out (a PNG output keeps it)", out, meta->exif_len,
                     PS_IMG_JPEG_EXIF_MAX);
    if (lost & PS_IMG_LOST_XMP)
        ps_cli_error(0, "warning: %s: the input's XMP is %zu bytes, over the %d of a JPEG "
                        "segment, and has no x:xmpmeta or rdf:RDF element to store as "
                        "ExtendedXMP: left out (a PNG output keeps it)", out, meta->xmp_len,
                     PS_IMG_JPEG_XMP_MAX);
    for (int i = 0; (lost & PS_IMG_LOST_COMMENT) && i < meta->n_comments; i++)
        if (meta->comment_len[i] > PS_IMG_JPEG_COMMENT_MAX)
            ps_cli_error(0, "warning: %s: the input's comment %d is %zu bytes, over the %d of a "
                            "JPEG segment: left out (a PNG output keeps it)", out, i + 1,
                         meta->comment_len[i], PS_IMG_JPEG_COMMENT_MAX);
}

/* Standard output gets the file the job writes into a private temporary folder, so both
 * formats (and whatever the saver puts in them) come out as they would in a file. */
static ps_status save_stdout(const out_job *j, int png)
{
    const char *td = getenv("TMPDIR");
    char dir[PATH_MAX], file[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/pstyle-apply.XXXXXX", td && *td == '/' ? td : "/tmp");
    if (!mkdtemp(dir))
        return ps_fail(PS_EINPUT, "standard output: temporary folder %s: %s", dir, strerror(errno));
    snprintf(file, sizeof file, "%s/out.%s", dir, png ? "png" : "jpg");
    ps_status st = write_out(file, j);
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (!st)
        st = ps_img_read_file(file, &bytes, &len);
    int err = st ? 0 : ps_file_write_all(1, bytes, len);
    if (err)
        st = ps_fail(PS_EINPUT, "standard output: %s", strerror(err));
    free(bytes);
    unlink(file);
    rmdir(dir);
    return st;
}

static void json_item(ps_json *j, const char *in, const plan *p, const char *status, int w,
                      int h, double secs, const char *error)
{
    ps_json_begin(j, NULL, 0);
    ps_json_str(j, "input", in);
    ps_json_str(j, "output", p->path);
    ps_json_str(j, "status", status);
    if (w > 0) {
        ps_json_int(j, "width", w);
        ps_json_int(j, "height", h);
        ps_json_num(j, "seconds", secs);
    }
    if (error)
        ps_json_str(j, "error", error);
    ps_json_end(j, 0);
}

/* Images from this many pixels on get a line of their own as they start: seconds of work. */
#define PS_APPLY_BIG_PIXELS 12000000LL

int ps_cmd_apply(int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, 0, 'u'},    {"style", required_argument, 0, 's'},
        {"version", required_argument, 0, 'V'}, {"color", required_argument, 0, 'C'},
        {"texture", required_argument, 0, 'T'}, {"stroke", required_argument, 0, 'S'},
        {"strength", required_argument, 0, 'W'}, {"size", required_argument, 0, 'z'},
        {"quality", required_argument, 0, 'K'}, {"out-dir", required_argument, 0, 'O'},
        {"db", required_argument, 0, 'd'},      {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},          {"format", required_argument, 0, 'F'},
        {"force", no_argument, 0, 'f'},         {"json", no_argument, 0, 'j'},
        {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'},
        {"strip", no_argument, 0, 'X'},         {0, 0, 0, 0}};
    opts_t o = {.style = PS_STORE_DEFAULT_STYLE};
    const char *dbopt = NULL, *mopt = NULL;
    double wgt[3] = {1, 1, 1}, strength = 1;
    long version = 0, size = 0, quality = 92, threads = 0;
    int c, json = 0, strip = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS "o:q", opts, NULL)) != -1) {
        double *wp = NULL;
        switch (c) {
        case 'u': o.user = optarg; break;
        case 's': o.style = optarg; break;
        case 'd': dbopt = optarg; break;
        case 'm': mopt = optarg; break;
        case 'o': o.out = optarg; break;
        case 'O': o.outdir = optarg; break;
        case 'f': o.force = 1; break;
        case 'j': json = 1; break;
        case 'X': strip = 1; break;
        case 'q': ps_cli_quiet = 1; break;
        case 'C': wp = &wgt[0]; break;
        case 'T': wp = &wgt[1]; break;
        case 'S': wp = &wgt[2]; break;
        case 'W': wp = &strength; break;
        case 'F':
            if (strcmp(optarg, "png") && strcmp(optarg, "jpg") && strcmp(optarg, "jpeg"))
                return ps_cli_usage("apply", "--format is png or jpg, not '%s'", optarg);
            o.fmt = strcmp(optarg, "png") ? "jpg" : "png";
            break;
        case 't':
            if (ps_cli_parse_threads("apply", optarg, &threads))
                return 1;
            break;
        case 'V':
            if (ps_cli_parse_int(optarg, 1, INT_MAX, &version))
                return ps_cli_usage("apply", "--version wants a version number, not '%s'", optarg);
            break;
        case 'z':
            if (ps_cli_parse_int(optarg, 16, PS_IMG_MAX_SIDE, &size))
                return ps_cli_usage("apply", "--size wants 16 to %d pixels, not '%s'",
                                    PS_IMG_MAX_SIDE, optarg);
            break;
        case 'K':
            if (ps_cli_parse_int(optarg, 1, 100, &quality))
                return ps_cli_usage("apply", "--quality wants 1 to 100, not '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("apply", "unknown option '%s'", argv[optind - 1]);
        }
        if (wp && ps_cli_parse_real(optarg, 0, 2, wp))
            return ps_cli_usage("apply", "%s wants a weight in [0, 2], not '%s'",
                                argv[optind - 2], optarg);
    }
    int nin = argc - optind, nstdin = 0;
    char **in = argv + optind;
    for (int i = 0; i < nin; i++)
        nstdin += !strcmp(in[i], "-");
    if (!o.user)
        return ps_cli_usage("apply", "--user NAME is required");
    if (nin < 1)
        return ps_cli_usage("apply", "give at least one input image");
    if (o.out && nin > 1)
        return ps_cli_usage("apply", "-o names one output; use --out-dir DIR for %d inputs", nin);
    if (o.out && o.outdir)
        return ps_cli_usage("apply", "give -o or --out-dir, not both");
    if (nstdin && !o.out)
        return ps_cli_usage("apply", "standard input ('-') needs -o OUT, or -o - for standard "
                            "output");
    int to_stdout = o.out && !strcmp(o.out, "-");
    if (to_stdout && json)
        return ps_cli_usage("apply", "-o - writes the image to standard output: no --json");
    if (to_stdout && isatty(1))
        return ps_cli_usage("apply", "-o -: standard output is a terminal; redirect it or pipe it");
    if (o.out && !to_stdout && o.fmt) {
        int png = 0;
        if (!ps_img_out_format(o.out, &png) && png != !strcmp(o.fmt, "png"))
            return ps_cli_usage("apply", "-o %s is not --format %s", o.out, o.fmt);
    }
    ps_status st;
    char dbpath[PATH_MAX], mbuf[PATH_MAX];
    int rc = ps_cli_target(o.user, o.style, dbopt, dbpath, sizeof dbpath);
    if (rc)
        return rc;
    if (o.outdir) { /* one that is missing is made once the style and the model have loaded */
        struct stat sd;
        if (!*o.outdir)
            return ps_cli_usage("apply", "--out-dir: empty path");
        if (stat(o.outdir, &sd) == 0 && !S_ISDIR(sd.st_mode))
            return ps_cli_error(2, "%s: not a directory", o.outdir);
    }
    const char *mpath = ps_cli_model_path(mopt, mbuf, sizeof mbuf);
    if (!mpath)
        return ps_cli_fail(PS_EINPUT);
    o.db = dbpath;
    o.model = mpath;
    plan *pl = calloc((size_t)nin, sizeof *pl);
    if (!pl)
        return ps_cli_error(PS_EINTERNAL, "out of memory");
    if ((rc = plan_outputs(in, nin, &o, pl))) {
        free(pl);
        return rc;
    }
    ps_store *db = NULL;
    if ((st = ps_store_open(&db, dbpath, PS_STORE_READONLY))) {
        free(pl);
        return ps_cli_fail(st);
    }
    ps_style *learned = NULL;
    st = ps_store_get(db, o.user, o.style, (int)version, &learned);
    ps_store_close(db);
    /* a program paints without the network: the model is loaded (18 ms) only for a style of
     * tokens alone, or to check one the user named */
    ps_model m = {0};
    const char *named = getenv("PSTYLE_MODEL");
    int need_model = !st && (!learned->rec.n_program || (mopt && *mopt) || (named && *named));
    if (st || (need_model && (st = ps_model_load(&m, mpath)))) {
        ps_style_free(learned);
        free(pl);
        return ps_cli_fail(st);
    }
    ps_model *mp = need_model ? &m : NULL;
    ps_prog prog;
    rc = (st = ps_style_ready(mp, learned, &prog)) ? ps_cli_fail(st) : 0;
    int todo = 0;
    for (int i = 0; i < nin; i++)
        todo += pl[i].fate == OUT_TODO;
    if (!rc && o.outdir && todo)
        rc = ps_cli_mkdirs(o.outdir);
    ps_cli_threads(threads);
    const ps_dials dials = {(float)(wgt[PS_COLOR] * strength), (float)(wgt[PS_TEXTURE] * strength),
                            (float)(wgt[PS_STROKE] * strength)};
    ps_json j;
    ps_json_init(&j, stdout);
    if (json && !rc)
        ps_json_begin(&j, NULL, 1);
    /* a failed input does not stop the others; the exit code remembers it. pos counts the
     * inputs tried (painted or failed), which the progress line counts against todo */
    int bad = rc, pos = 0;
    double t0 = ps_clock_s();
    for (int i = 0; i < nin && !rc; i++) {
        const char *ip = in[i], *name = strcmp(ip, "-") ? ip : "standard input";
        plan *p = &pl[i];
        if (p->fate != OUT_TODO) { /* said why in plan_outputs */
            if (p->fate == OUT_CLASH)
                bad = 2;
            if (json)
                json_item(&j, ip, p, p->fate == OUT_EXISTS ? "skipped" : "failed", 0, 0, 0,
                          p->why);
            continue;
        }
        double ts = ps_clock_s();
        pos++;
        /* decoded as stored (3 bytes a pixel for 8-bit RGB): a program paints it band by band,
         * so the photo is never held in floats; --size resizes a whole image first */
        ps_img_raw raw = {0};
        ps_image img = {0}, sized = {0};
        ps_img_meta meta; /* EXIF, ICC, XMP, comment, bit depth: from the input to its output */
        memset(&meta, 0, sizeof meta);
        unsigned char *buf;
        size_t len;
        if (!(st = read_input(ip, &buf, &len)))
            st = size > 0 ? ps_img_load_mem_meta(buf, len, name, &img, &meta)
                          : ps_img_load_raw(buf, len, name, &raw, &meta);
        free(buf); /* decoded: the file's bytes are not needed */
        if (st) {
            bad = ps_cli_fail(st);
            if (json)
                json_item(&j, ip, p, "failed", 0, 0, 0, ps_last_error());
            continue;
        }
        if (strip)
            ps_img_meta_strip(&meta);
        warn_unfit(to_stdout ? "standard output" : p->path, &meta, p->png);
        int w = size > 0 ? img.w : raw.w, h = size > 0 ? img.h : raw.h;
        if ((long long)w * h >= PS_APPLY_BIG_PIXELS)
            ps_cli_progress_note("apply", "%d/%d %s: %dx%d, %.1f MP", pos, todo, name, w, h,
                                 (double)w * h / 1e6);
        if (size > 0) {
            double s = (double)size / (w > h ? w : h);
            int sw = (int)(w * s + 0.5), sh = (int)(h * s + 0.5);
            st = ps_img_resize(&img, &sized, sw < 1 ? 1 : sw, sh < 1 ? 1 : sh);
            ps_img_free(&img); /* only the resized copy is painted */
            if (!st)
                st = ps_apply_in_place(mp, learned, &sized, &dials);
            w = sized.w, h = sized.h;
        }
        const out_job job = {mp, learned, &dials, size > 0 ? NULL : &raw, &sized, (int)quality,
                             &meta};
        if (!st)
            st = to_stdout ? save_stdout(&job, p->png) : write_out(p->path, &job);
        double secs = ps_clock_s() - ts;
        if (st) {
            bad = ps_cli_fail(st);
            if (json)
                json_item(&j, ip, p, "failed", 0, 0, 0, ps_last_error());
        } else {
            char d[32], eta[48];
            if (json) {
                json_item(&j, ip, p, "written", w, h, secs, NULL);
            } else if (!to_stdout) {
                ps_cli_progress_done(); /* the name, then the line again under it */
                printf("%s\n", p->path);
                fflush(stdout);
            }
            ps_cli_eta(ps_clock_s() - t0, pos, todo, eta, sizeof eta);
            ps_cli_progress_item("apply", pos, todo, "%s %s%s%s", name,
                                 ps_cli_duration(secs, d, sizeof d), pos < todo ? ", " : "",
                                 pos < todo ? eta : "");
        }
        ps_img_raw_free(&raw);
        ps_img_free(&img);
        ps_img_free(&sized);
        ps_img_meta_free(&meta);
    }
    ps_cli_progress_done();
    if (json && !rc)
        ps_json_end(&j, 1);
    ps_model_free(&m);
    ps_style_free(learned);
    free(pl);
    return bad;
}
