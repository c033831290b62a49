/* pstyle learn: 1..10 sample images -> a new version of the user's style in the store. */
#include "cli.h"
#include "src/api/api.h"
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: pstyle learn --user NAME [--style NAME] [--shots-max N] [--steps N]\n"
               "                    [--db PATH] [--model PATH] IMG...\n\n"
               "Learn NAME's style from 1 to 10 sample images (JPEG, PNG, BMP, TGA) and store it\n"
               "as a new version in the style database.\n\n"
               "  --user NAME      whose style (1-64 chars of A-Z a-z 0-9 . _ -)\n"
               "  --style NAME     style name (default 'default')\n"
               "  --shots-max N    use at most the first N images (1-10, default 10)\n"
               "  --steps N        inner adaptation steps (default: the model's)\n"
               "  --db PATH        style database (default $PSTYLE_DB or\n"
               "                   $XDG_DATA_HOME/pstyle/styles.db)\n"
               "  --model PATH     model file (default $PSTYLE_MODEL or the shipped model)\n");
}

int ps_cmd_learn(int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, 0, 'u'},  {"style", required_argument, 0, 's'},
        {"shots-max", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'n'},
        {"db", required_argument, 0, 'd'},    {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *user = NULL, *style = PS_STORE_DEFAULT_STYLE, *dbopt = NULL, *mopt = NULL;
    long shots_max = PS_LEARN_MAX_SHOTS, steps = -1;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'u': user = optarg; break;
        case 's': style = optarg; break;
        case 'd': dbopt = optarg; break;
        case 'm': mopt = optarg; break;
        case 'k':
            if (ps_cli_parse_int(optarg, 1, PS_LEARN_MAX_SHOTS, &shots_max))
                return ps_cli_usage("learn", "--shots-max wants 1 to %d, not '%s'",
                                    PS_LEARN_MAX_SHOTS, optarg);
            break;
        case 'n':
            if (ps_cli_parse_int(optarg, 0, 100, &steps))
                return ps_cli_usage("learn", "--steps wants 0 to 100, not '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("learn", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!user)
        return ps_cli_usage("learn", "--user NAME is required");
    int nimg = argc - optind;
    if (nimg < 1)
        return ps_cli_usage("learn", "give 1 to %d sample images", PS_LEARN_MAX_SHOTS);
    if (nimg > PS_LEARN_MAX_SHOTS && shots_max == PS_LEARN_MAX_SHOTS)
        return ps_cli_usage("learn", "%d images given; at most %d (or use --shots-max N)", nimg,
                            PS_LEARN_MAX_SHOTS);
    if (nimg > shots_max)
        nimg = (int)shots_max;
    ps_status st;
    char dbpath[PATH_MAX], mbuf[PATH_MAX];
    int bad = ps_cli_target(user, style, dbopt, dbpath, sizeof dbpath);
    if (bad)
        return bad;
    const char *mpath = ps_cli_model_path(mopt, mbuf, sizeof mbuf);
    if (!mpath)
        return ps_cli_fail(PS_EINPUT);
    /* Open the store first: a locked, corrupt or read-only database fails before any work. */
    ps_store *db = NULL;
    if ((st = ps_store_open(&db, dbpath, PS_STORE_CREATE)))
        return ps_cli_fail(st);
    if (ps_store_readonly(db)) {
        ps_store_close(db);
        return ps_cli_error(3, "%s: database is read-only; cannot store a new style", dbpath);
    }
    ps_model m;
    if ((st = ps_model_load(&m, mpath))) {
        ps_store_close(db);
        return ps_cli_fail(st);
    }
    ps_threads_init(0);
    ps_image imgs[PS_LEARN_MAX_SHOTS] = {{0}};
    ps_sample_rec samples[PS_LEARN_MAX_SHOTS];
    memset(samples, 0, sizeof samples);
    int rc = 0;
    for (int i = 0; i < nimg && !rc; i++) {
        if ((st = ps_style_read_sample(argv[optind + i], &imgs[i], &samples[i])))
            rc = ps_cli_fail(st);
        else if (isatty(2))
            ps_cli_progress("reading", (i + 1.0) / nimg, 0);
    }
    ps_learn_stats ls = {0};
    ps_style *learned = NULL;
    if (!rc) {
        ps_cli_progress_done();
        if (isatty(2))
            fprintf(stderr, "learning from %d image%s...\r", nimg, nimg > 1 ? "s" : "");
        if ((st = ps_style_learn_images(&m, imgs, samples, nimg, (int)steps, "files", &learned,
                                        &ls)))
            rc = ps_cli_fail(st);
        ps_cli_progress_done();
    }
    int version = 0;
    if (!rc && (st = ps_store_put(db, user, style, learned, &version)))
        rc = ps_cli_fail(st);
    else if (!rc)
        printf("learned %s's style '%s' v%d from %d image%s in %.2f s (inner loss %.4f -> "
               "%.4f)\n", user, style, version, nimg, nimg > 1 ? "s" : "", ls.seconds,
               ls.loss_before, ls.loss_after);
    for (int i = 0; i < nimg; i++) {
        ps_img_free(&imgs[i]);
        free(samples[i].thumb);
    }
    ps_style_free(learned);
    ps_model_free(&m);
    ps_store_close(db);
    return rc;
}
