/* pstyle relearn: after a model upgrade, rebuild styles from the thumbnails the store kept, so
 * users need not find their images again. The store part (which styles, their samples, saving
 * the new version) is here; running the model is the learning core's, in relearn_style(). */
#include "cli.h"
#include "encoder/enc.h"
#include "store/store.h"
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

/* The learning core's part: learn old's style again from its samples' thumbnails (PNG bytes in
 * smp[k].thumb) with the model at model_path, filling out's tokens, shape, model_hash, shots,
 * settings and quality (malloc'ed; the caller frees them with ps_store_style_free). */
static ps_status relearn_style(const char *model_path, const ps_style_rec *old, const ps_sample_rec *smp,
                               int n, ps_style_rec *out)
{
    if (n < 1 || n > PS_LEARN_MAX_SHOTS)
        return ps_fail(PS_EINPUT, "%s/%s: %d samples stored; 1 to %d can be relearned", old->user,
                       old->style, n, PS_LEARN_MAX_SHOTS);
    ps_model m;
    ps_status st = ps_model_load(&m, model_path);
    if (st)
        return st;
    ps_image imgs[PS_LEARN_MAX_SHOTS];
    memset(imgs, 0, sizeof imgs);
    for (int i = 0; i < n && !st; i++)
        st = ps_img_load_mem(smp[i].thumb, smp[i].thumb_len, "stored thumbnail", &imgs[i]);
    int nt = ps_model_ntokens(&m);
    ps_learn_stats ls = {0};
    if (!st && !(out->tokens = malloc(sizeof(float) * nt)))
        st = ps_fail(PS_EINTERNAL, "relearn: out of memory");
    ps_prog prog;
    if (!st && !(out->program = malloc(sizeof(float) * PS_PROG_NFLOATS)))
        st = ps_fail(PS_EINTERNAL, "relearn: out of memory");
    if (!st)
        st = ps_model_learn(&m, imgs, n, -1, out->tokens, &prog, NULL, &ls);
    if (!st) {
        ps_prog_pack(&prog, out->program);
        out->n_program = PS_PROG_NFLOATS;
    }
    if (!st) {
        char buf[256];
        out->groups = PS_NGROUPS;
        out->tokens_per_group = m.gen.cfg.tok;
        out->dim = m.gen.cfg.dim;
        out->shots = n;
        memcpy(out->model_hash, m.hash, sizeof out->model_hash);
        snprintf(buf, sizeof buf, "{\"steps\":%d,\"work_px\":%d,\"shots\":%d,\"from\":\"thumbnails\"}",
                 m.inner_steps, m.work_px, n);
        out->settings = strdup(buf);
        snprintf(buf, sizeof buf, "{\"inner_loss_before\":%.6f,\"inner_loss_after\":%.6f,\"seconds\":%.3f}",
                 ls.loss_before, ls.loss_after, ls.seconds);
        out->quality = strdup(buf);
        if (!out->settings || !out->quality)
            st = ps_fail(PS_EINTERNAL, "relearn: out of memory");
    }
    for (int i = 0; i < n; i++)
        ps_img_free(&imgs[i]);
    ps_model_free(&m);
    return st;
}

/* Relearn one style's newest version; PS_EINPUT (and go on with others) if it has no thumbnails. */
static ps_status relearn_one(ps_store *db, const ps_store_row *row, const char *model_path)
{
    if (row->n_samples == 0 || row->n_thumbs < row->n_samples)
        return ps_fail(PS_EINPUT, "%s/%s v%d: no thumbnails stored (learned by an older pstyle); "
                                  "learn it again from its images", row->user, row->style, row->version);
    ps_style_rec old, out;
    ps_sample_rec *smp;
    int n, v;
    ps_status st = ps_store_get_style(db, row->user, row->style, row->version, &old, &smp, &n);
    if (st)
        return st;
    memset(&out, 0, sizeof out);
    st = relearn_style(model_path, &old, smp, n, &out);
    if (!st) {
        memcpy(out.user, old.user, sizeof out.user);
        memcpy(out.style, old.style, sizeof out.style);
        out.created_at = 0;
        st = ps_store_put_style(db, &out, smp, n, &v);
    }
    if (!st)
        printf("%s/%s: v%d relearned as v%d with model %s\n", row->user, row->style, row->version, v,
               out.model_hash);
    ps_store_style_free(&old);
    ps_store_style_free(&out);
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
