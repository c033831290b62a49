/* pstyle apply: paint photos in a user's learned style, with per-group weights. */
#include "cli.h"
#include "src/api/api.h"
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pstyle apply --user NAME [--style NAME] [--version N] [--color W]\n"
            "                    [--texture W] [--stroke W] [--strength W] [--size PX]\n"
            "                    [--quality Q] [--strip] [--db PATH] [--model PATH]\n"
            "                    IN... [-o OUT | --out-dir DIR]\n\n"
            "Paint each IN in NAME's learned style. Weights are reals in [0, 2]: 0 keeps the\n"
            "photo's own color/texture/stroke, 1 is the learned style, above 1 exaggerates.\n\n"
            "  --color W, --texture W, --stroke W   per-group weights (default 1)\n"
            "  --strength W     scales all three (default 1)\n"
            "  --version N      use an older version of the style (default: latest)\n"
            "  --size PX        resize the output so its long side is PX (default: keep size)\n"
            "  --quality Q      JPEG quality 1-100 (default 92)\n"
            "  --strip          drop the input's EXIF, ICC profile, XMP and comment (kept by\n"
            "                   default; the orientation is reset, a non-sRGB profile becomes sRGB)\n"
            "  -o OUT           output file for a single input (.png or .jpg)\n"
            "  --out-dir DIR    folder for outputs named <stem>.<user>.png (default: .);\n"
            "                   made, with the folders above it, if missing\n");
}

static void out_name(char *buf, size_t n, const char *dir, const char *in, const char *user)
{
    const char *base = strrchr(in, '/');
    base = base ? base + 1 : in;
    const char *dot = strrchr(base, '.');
    int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, n, "%s/%.*s.%s.png", dir ? dir : ".", stem, base, user);
}

/* The output of input i: -o's name, else <outdir>/<stem>.<user>.png. */
static const char *output_of(char *buf, size_t n, char **in, int i, const char *out,
                             const char *outdir, const char *user)
{
    if (out)
        return out;
    out_name(buf, n, outdir, in[i], user);
    return buf;
}

/* Every output is judged before any work. One that is the store or the model would destroy what
 * the run reads: returns 1 and nothing runs. One that would replace an input, or the output of
 * an earlier input with the same stem (x.png, x.jpg, a/x.png), is reported and gets skip[i]: it
 * fails (exit 2) while the others are still painted. */
static int plan_outputs(char **in, int nin, const char *out, const char *outdir, const char *user,
                        const char *db, const char *model, unsigned char *skip)
{
    for (int i = 0; i < nin; i++) {
        char buf[PATH_MAX], prev[PATH_MAX];
        const char *op = output_of(buf, sizeof buf, in, i, out, outdir, user);
        int rc = ps_cli_check_output("apply", op, db, model);
        if (rc)
            return rc;
        int clash = 0, first = -1;
        for (int j = 0; j < nin; j++)
            clash |= ps_cli_same_file(op, in[j]);
        for (int j = 0; j < i && !out && first < 0; j++)
            if (!strcmp(output_of(prev, sizeof prev, in, j, out, outdir, user), op))
                first = j;
        if (clash)
            ps_cli_error(2, "%s: refusing to overwrite an input image", op);
        else if (first >= 0)
            ps_cli_error(2, "%s: is the output of %s too; not overwriting it with %s's "
                         "(apply that one alone with -o)", op, in[first], in[i]);
        skip[i] = clash || first >= 0;
    }
    return 0;
}

int ps_cmd_apply(int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, 0, 'u'},    {"style", required_argument, 0, 's'},
        {"version", required_argument, 0, 'V'}, {"color", required_argument, 0, 'C'},
        {"texture", required_argument, 0, 'T'}, {"stroke", required_argument, 0, 'S'},
        {"strength", required_argument, 0, 'W'}, {"size", required_argument, 0, 'z'},
        {"quality", required_argument, 0, 'q'}, {"out-dir", required_argument, 0, 'O'},
        {"db", required_argument, 0, 'd'},      {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},          {"strip", no_argument, 0, 'X'},
        {0, 0, 0, 0}};
    const char *user = NULL, *style = PS_STORE_DEFAULT_STYLE, *dbopt = NULL, *mopt = NULL;
    const char *out = NULL, *outdir = NULL;
    double wgt[3] = {1, 1, 1}, strength = 1;
    long version = 0, size = 0, quality = 92;
    int c, strip = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS "o:", opts, NULL)) != -1) {
        double *wp = NULL;
        switch (c) {
        case 'u': user = optarg; break;
        case 's': style = optarg; break;
        case 'd': dbopt = optarg; break;
        case 'm': mopt = optarg; break;
        case 'o': out = optarg; break;
        case 'O': outdir = optarg; break;
        case 'C': wp = &wgt[0]; break;
        case 'T': wp = &wgt[1]; break;
        case 'S': wp = &wgt[2]; break;
        case 'W': wp = &strength; break;
        case 'V':
            if (ps_cli_parse_int(optarg, 1, INT_MAX, &version))
                return ps_cli_usage("apply", "--version wants a version number, not '%s'", optarg);
            break;
        case 'z':
            if (ps_cli_parse_int(optarg, 16, PS_IMG_MAX_SIDE, &size))
                return ps_cli_usage("apply", "--size wants 16 to %d pixels, not '%s'",
                                    PS_IMG_MAX_SIDE, optarg);
            break;
        case 'q':
            if (ps_cli_parse_int(optarg, 1, 100, &quality))
                return ps_cli_usage("apply", "--quality wants 1 to 100, not '%s'", optarg);
            break;
        case 'X': strip = 1; break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("apply", "unknown option '%s'", argv[optind - 1]);
        }
        if (wp && ps_cli_parse_real(optarg, 0, 2, wp))
            return ps_cli_usage("apply", "%s wants a weight in [0, 2], not '%s'",
                                argv[optind - 2], optarg);
    }
    int nin = argc - optind;
    if (!user)
        return ps_cli_usage("apply", "--user NAME is required");
    if (nin < 1)
        return ps_cli_usage("apply", "give at least one input image");
    if (out && nin > 1)
        return ps_cli_usage("apply", "-o names one output; use --out-dir DIR for %d inputs", nin);
    if (out && outdir)
        return ps_cli_usage("apply", "give -o or --out-dir, not both");
    ps_status st;
    char dbpath[PATH_MAX], mbuf[PATH_MAX];
    int rc = ps_cli_target(user, style, dbopt, dbpath, sizeof dbpath);
    if (rc)
        return rc;
    if (out && (st = ps_img_out_format(out, NULL)))
        return ps_cli_fail(st);
    if (outdir) { /* one that is missing is made once the style and the model have loaded */
        struct stat sd;
        if (!*outdir)
            return ps_cli_usage("apply", "--out-dir: empty path");
        if (stat(outdir, &sd) == 0 && !S_ISDIR(sd.st_mode))
            return ps_cli_error(2, "%s: not a directory", outdir);
    }
    const char *mpath = ps_cli_model_path(mopt, mbuf, sizeof mbuf);
    if (!mpath)
        return ps_cli_fail(PS_EINPUT);
    char **in = argv + optind;
    unsigned char *skip = calloc((size_t)nin, 1);
    if (!skip)
        return ps_cli_error(PS_EINTERNAL, "out of memory");
    if ((rc = plan_outputs(in, nin, out, outdir, user, dbpath, mpath, skip))) {
        free(skip);
        return rc;
    }
    ps_store *db = NULL;
    if ((st = ps_store_open(&db, dbpath, PS_STORE_READONLY))) {
        free(skip);
        return ps_cli_fail(st);
    }
    ps_style *learned = NULL;
    st = ps_store_get(db, user, style, (int)version, &learned);
    ps_store_close(db);
    ps_model m;
    if (st || (st = ps_model_load(&m, mpath))) {
        ps_style_free(learned);
        free(skip);
        return ps_cli_fail(st);
    }
    ps_prog prog;
    rc = (st = ps_style_ready(&m, learned, &prog)) ? ps_cli_fail(st) : 0;
    if (!rc && outdir)
        rc = ps_cli_mkdirs(outdir);
    ps_threads_init(0);
    const ps_dials dials = {(float)(wgt[PS_COLOR] * strength), (float)(wgt[PS_TEXTURE] * strength),
                            (float)(wgt[PS_STROKE] * strength)};
    int bad = rc; /* a failed input does not stop the others; the exit code remembers it */
    for (int i = 0; i < nin && !rc; i++) {
        char obuf[PATH_MAX];
        const char *ip = in[i], *op = output_of(obuf, sizeof obuf, in, i, out, outdir, user);
        if (skip[i]) { /* said why in plan_outputs */
            bad = 2;
            continue;
        }
        ps_image img = {0}, sized = {0};
        ps_img_meta meta; /* EXIF, ICC, XMP, comment, bit depth: from the input to its output */
        if ((st = ps_img_load_meta(ip, &img, &meta))) {
            bad = ps_cli_fail(st);
            continue;
        }
        if (strip)
            ps_img_meta_strip(&meta);
        if (size > 0) {
            double s = (double)size / (img.w > img.h ? img.w : img.h);
            int sw = (int)(img.w * s + 0.5), sh = (int)(img.h * s + 0.5);
            if ((st = ps_img_resize(&img, &sized, sw < 1 ? 1 : sw, sh < 1 ? 1 : sh))) {
                bad = ps_cli_fail(st);
                ps_img_free(&img);
                ps_img_meta_free(&meta);
                continue;
            }
            ps_img_free(&img); /* only the resized copy is painted */
        }
        ps_image *src = size > 0 ? &sized : &img;
        if ((st = ps_apply_in_place(&m, learned, src, &dials)) ||
            (st = ps_img_save_meta(op, src, (int)quality, &meta)))
            bad = ps_cli_fail(st);
        else
            printf("%s\n", op);
        ps_img_free(&img);
        ps_img_free(&sized);
        ps_img_meta_free(&meta);
    }
    ps_model_free(&m);
    ps_style_free(learned);
    free(skip);
    return bad;
}
