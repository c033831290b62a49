/* pstyle relearn: after a model upgrade, rebuild styles from the thumbnails the store kept, so
 * users need not find their images again. The store part (which styles, their samples, saving
 * the new version) is here; running the model is the learning core's, in relearn_style(). */
#include "cli.h"
#include "src/api/api.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char ps_relearn_usage[] =
    "usage: pstyle relearn (USER | --all) [--style NAME] [--force] [--model PATH] [--db PATH]\n"
    "Rebuild styles whose newest version was learned with another model or before style\n"
    "programs, from the sample thumbnails stored with them; each becomes a new version.\n"
    "  --all          every user\n"
    "  --style NAME   only this style\n"
    "  --force        relearn even styles already learned with this model (and a program)\n"
    "  --model PATH   model to use (default $PSTYLE_MODEL, else the shipped one)\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

/* Learn old's style again from its samples' thumbnails (PNG bytes in smp[k].thumb) with the
 * model at model_path; the samples' records are copied into the new style. */
static ps_status relearn_style(const char *model_path, const ps_style_rec *old, const ps_sample_rec *smp,
                               int n, ps_style **out)
{
    if (n < 1 || n > PS_LEARN_MAX_SHOTS)
        return ps_fail(PS_EINPUT, "%s/%s: %d samples stored; 1 to %d can be relearned", old->user,
                       old->style, n, PS_LEARN_MAX_SHOTS);
    ps_model m;
    ps_status st = ps_model_load(&m, model_path);
    if (st)
        return st;
    ps_image imgs[PS_LEARN_MAX_SHOTS];
    ps_sample_rec copy[PS_LEARN_MAX_SHOTS];
    memset(imgs, 0, sizeof imgs);
    memset(copy, 0, sizeof copy);
    for (int i = 0; i < n && !st; i++) {
        st = ps_img_load_mem(smp[i].thumb, smp[i].thumb_len, "stored thumbnail", &imgs[i]);
        copy[i] = smp[i];
        copy[i].embedding = NULL, copy[i].n_embedding = 0;
        if (!st && !(copy[i].thumb = malloc(smp[i].thumb_len)))
            st = ps_fail(PS_EINTERNAL, "relearn: out of memory");
        else if (!st)
            memcpy(copy[i].thumb, smp[i].thumb, smp[i].thumb_len);
        else
            copy[i].thumb = NULL;
    }
    if (!st)
        st = ps_style_learn_images(&m, imgs, copy, n, -1, "thumbnails", out, NULL, NULL);
    for (int i = 0; i < n; i++) {
        ps_img_free(&imgs[i]);
        free(copy[i].thumb);
    }
    ps_model_free(&m);
    return st;
}

/* Relearn one style's newest version; PS_EINPUT (and go on with others) if it has no thumbnails. */
static ps_status relearn_one(ps_store *db, const ps_store_row *row, const char *model_path)
{
    if (row->n_samples == 0 || row->n_thumbs < row->n_samples)
        return ps_fail(PS_EINPUT, "%s/%s v%d: no thumbnails stored (learned by an older pstyle); "
                                  "learn it again from its images", row->user, row->style, row->version);
    ps_style_rec old;
    ps_sample_rec *smp;
    int n, v;
    ps_status st = ps_store_get_style(db, row->user, row->style, row->version, &old, &smp, &n);
    if (st)
        return st;
    ps_style *out = NULL;
    st = relearn_style(model_path, &old, smp, n, &out);
    if (!st)
        st = ps_store_put(db, old.user, old.style, out, &v);
    if (!st)
        printf("%s/%s: v%d relearned as v%d with model %s\n", row->user, row->style, row->version, v,
               ps_style_model_hash(out));
    ps_store_style_free(&old);
    ps_style_free(out);
    ps_store_samples_free(smp, n);
    return st;
}

int ps_cmd_relearn(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'A'},         {"style", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},       {"model", required_argument, NULL, 'm'},
        {"db", required_argument, NULL, 'd'},    {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0}};
    const char *dbopt = NULL, *style = NULL, *modelopt = NULL, *user = NULL;
    int all = 0, force = 0, c;
    optind = 1;
    opterr = 0; /* our own message, in our own format */
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        if (c == 'A')
            all = 1;
        else if (c == 's')
            style = optarg;
        else if (c == 'f')
            force = 1;
        else if (c == 'm')
            modelopt = optarg;
        else if (c == 'd')
            dbopt = optarg;
        else if (c == 'h')
            return printf("%s", ps_relearn_usage), 0;
        else
            return ps_cli_usage("relearn", "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != !all)
        return ps_cli_usage("relearn", "give one USER, or --all");
    if (!all)
        user = argv[optind];
    char path[4096], mpath[4096], mhash[PS_STORE_HASH_LEN + 1];
    int bad = ps_cli_target(user, style, dbopt, path, sizeof path);
    if (bad)
        return bad;
    ps_status st;
    if (!ps_cli_model_path(modelopt, mpath, sizeof mpath))
        return ps_cli_fail(PS_EINPUT);
    if ((st = ps_psm_load(mpath, NULL, NULL, mhash))) /* checks the file, reads no tensors */
        return ps_cli_fail(st);

    ps_store *db;
    ps_store_row *rows = NULL;
    int n = 0, done = 0, current = 0, rc = 0;
    st = ps_store_open(&db, path, 0);
    if (!st)
        st = ps_store_list(db, user, style, 1, &rows, &n);
    for (int i = 0; !st && i < n; i++) {
        if (!force && !strcmp(rows[i].model_hash, mhash) && rows[i].has_program) {
            current++;
            continue;
        }
        ps_status one = relearn_one(db, &rows[i], mpath);
        if (one == PS_EINPUT) {
            rc = ps_cli_fail(one); /* this style cannot be rebuilt; the others still can */
        } else if (one) {
            st = one;
        } else {
            done++;
        }
    }
    ps_store_close(db);
    free(rows);
    if (st)
        return ps_cli_fail(st);
    printf("relearned %d style%s; %d already learned with model %s\n", done, done == 1 ? "" : "s", current,
           mhash);
    return rc;
}
