/* pstyle import: add the styles of a file written by 'pstyle export' as new versions. */
#include "cli.h"
#include "src/nn/nn.h"
#include "store/store.h"
#include <getopt.h>
#include <string.h>

static const char ps_import_usage[] =
    "usage: pstyle import FILE [--as NAME] [--model PATH] [--db PATH]\n"
    "Add every style version in FILE (from 'pstyle export') as new versions of its user.\n"
    "The file is checked whole (format, CRCs) before anything is written. A style learned with\n"
    "another model is accepted only if the file carries its thumbnails, so that\n"
    "'pstyle relearn' can rebuild it with this model.\n"
    "  --as NAME      import under another user name\n"
    "  --model PATH   model to check against (default $PSTYLE_MODEL, else the shipped one)\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

/* Count versions learned with another model; PS_EINPUT if one of them cannot be relearned. */
static ps_status check_models(const ps_store_bundle *b, const char *file, const char *model, int *foreign)
{
    *foreign = 0;
    for (int i = 0; i < b->n; i++) {
        const ps_style_rec *r = &b->styles[i];
        if (!strcmp(r->model_hash, model))
            continue;
        int thumbs = b->n_samples[i] > 0;
        for (int k = 0; k < b->n_samples[i]; k++)
            thumbs &= b->samples[i][k].thumb_len > 0;
        if (!thumbs)
            return ps_fail(PS_EINPUT, "%s: style '%s' v%d was learned with model %s, this pstyle uses %s, "
                                      "and the file has no thumbnails to relearn it from", file, r->style,
                           r->version, r->model_hash, model);
        (*foreign)++;
    }
    return PS_OK;
}

int ps_cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'a'},  {"model", required_argument, NULL, 'm'},
        {"db", required_argument, NULL, 'd'},  {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0}};
    const char *dbopt = NULL, *as = NULL, *modelopt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'a')
            as = optarg;
        else if (c == 'm')
            modelopt = optarg;
        else if (c == 'd')
            dbopt = optarg;
        else if (c == 'h')
            return printf("%s", ps_import_usage), 0;
        else
            return ps_cli_usage("import", "bad option");
    }
    if (argc - optind != 1)
        return ps_cli_usage("import", "give exactly one FILE");
    const char *file = argv[optind];
    char path[4096], mpath[4096], mhash[PS_STORE_HASH_LEN + 1];
    int rc = ps_cli_target(as, NULL, dbopt, path, sizeof path);
    if (rc)
        return rc;
    ps_status st;
    if (!ps_cli_model_path(modelopt, mpath, sizeof mpath))
        return ps_cli_fail(PS_EINPUT);
    if ((st = ps_psm_load(mpath, NULL, NULL, mhash))) /* checks the file, reads no tensors */
        return ps_cli_fail(st);

    ps_store_bundle b;
    int foreign = 0;
    if ((st = ps_store_bundle_read(file, &b)))
        return ps_cli_fail(st);
    const char *user = as ? as : b.user;
    st = check_models(&b, file, mhash, &foreign);
    ps_store *db = NULL;
    if (!st)
        st = ps_store_open(&db, path, PS_STORE_CREATE);
    if (!st)
        st = ps_store_import(db, &b, as);
    ps_store_close(db);
    if (!st) {
        printf("imported %d style version%s as user '%s'\n", b.n, b.n == 1 ? "" : "s", user);
        if (foreign)
            printf("note: %d of them were learned with another model; 'pstyle relearn %s' rebuilds them "
                   "from their thumbnails\n", foreign, user);
    }
    ps_store_bundle_free(&b);
    return st ? ps_cli_fail(st) : 0;
}
