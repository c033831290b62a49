/* pstyle import: add the styles of a file written by 'pstyle export' as new versions. */
#include "cli.h"
#include "src/nn/nn.h"
#include "store/store.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char ps_import_usage[] =
    "usage: pstyle import FILE [--as NAME] [--json] [--model PATH] [--db PATH]\n"
    "Add every style version in FILE (from 'pstyle export') as new versions of its user.\n"
    "A version identical to the user's latest version of that style (same model, tokens and\n"
    "samples), and the file's versions of that style before it, are there already and are\n"
    "not added again. The file is checked whole (format, CRCs) before anything is written,\n"
    "and it is imported in one transaction. A style learned with\n"
    "another model is accepted only if the file carries its thumbnails, so that\n"
    "'pstyle relearn' can rebuild it with this model.\n"
    "  --as NAME      import under another user name\n"
    "  --json         print one JSON object {file, user, added, versions: [{style,\n"
    "                 file_version, added, version}]}: each of FILE's versions, whether it\n"
    "                 was added, and its number in the store (null: an earlier version of the\n"
    "                 file that the store has, not added)\n"
    "  --model PATH   model to check against (default $PSTYLE_MODEL, else the shipped one)\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

/* PS_EINPUT if a version learned with another model cannot be relearned (no thumbnails). */
static ps_status check_models(const ps_store_bundle *b, const char *file, const char *model)
{
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
    }
    return PS_OK;
}

/* What the import did: each style the store had already, then how many versions were added. */
static void report(const ps_store_bundle *b, const ps_store_import_rec *got, const char *user,
                   const char *model)
{
    int added = 0, foreign = 0;
    for (int i = 0; i < b->n; i++) {
        const ps_style_rec *r = &b->styles[i];
        added += got[i].added;
        foreign += got[i].added && strcmp(r->model_hash, model);
        int last = i == b->n - 1 || strcmp(r->style, b->styles[i + 1].style);
        if (!last || got[i].added)
            continue;
        /* the style's last version in the file was not added: it is the stored latest version,
         * or (a file whose styles interleave) one after it is */
        int v = 0;
        for (int k = i; k < b->n && !v; k++)
            if (!strcmp(b->styles[k].style, r->style) && !got[k].added)
                v = got[k].version;
        printf("already up to date: %s style '%s' v%d\n", user,
               r->style[0] ? r->style : PS_STORE_DEFAULT_STYLE, v);
    }
    if (added)
        printf("imported %d style version%s as user '%s'\n", added, added == 1 ? "" : "s", user);
    if (foreign)
        printf("note: %d of them were learned with another model; 'pstyle relearn %s' rebuilds them "
               "from their thumbnails\n", foreign, user);
}

/* The same as one JSON object. */
static void report_json(const ps_store_bundle *b, const ps_store_import_rec *got, const char *file,
                        const char *user, const char *model)
{
    ps_json j;
    int added = 0, foreign = 0;
    for (int i = 0; i < b->n; i++) {
        added += got[i].added;
        foreign += got[i].added && strcmp(b->styles[i].model_hash, model);
    }
    ps_json_init(&j, stdout);
    ps_json_begin(&j, NULL, 0);
    ps_json_str(&j, "file", file);
    ps_json_str(&j, "user", user);
    ps_json_int(&j, "added", added);
    ps_json_int(&j, "to_relearn", foreign);
    ps_json_begin(&j, "versions", 1);
    for (int i = 0; i < b->n; i++) {
        const ps_style_rec *r = &b->styles[i];
        ps_json_begin(&j, NULL, 0);
        ps_json_str(&j, "style", r->style[0] ? r->style : PS_STORE_DEFAULT_STYLE);
        ps_json_int(&j, "file_version", r->version);
        ps_json_bool(&j, "added", got[i].added);
        if (got[i].version)
            ps_json_int(&j, "version", got[i].version);
        else
            ps_json_str(&j, "version", NULL);
        ps_json_end(&j, 0);
    }
    ps_json_end(&j, 1);
    ps_json_end(&j, 0);
}

int ps_cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'a'},  {"model", required_argument, NULL, 'm'},
        {"db", required_argument, NULL, 'd'},  {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},      {0, 0, 0, 0}};
    const char *dbopt = NULL, *as = NULL, *modelopt = NULL;
    int c, json = 0;
    optind = 1;
    opterr = 0; /* our own message, in our own format */
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        if (c == 'a')
            as = optarg;
        else if (c == 'm')
            modelopt = optarg;
        else if (c == 'd')
            dbopt = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h')
            return printf("%s", ps_import_usage), 0;
        else
            return ps_cli_usage("import", "unknown option '%s'", argv[optind - 1]);
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
    if ((st = ps_store_bundle_read(file, &b)))
        return ps_cli_fail(st);
    const char *user = as ? as : b.user;
    st = check_models(&b, file, mhash);
    ps_store_import_rec *got = st ? NULL : calloc(b.n > 0 ? (size_t)b.n : 1, sizeof *got);
    if (!st && !got)
        st = ps_fail(PS_EINTERNAL, "out of memory");
    ps_store *db = NULL;
    if (!st)
        st = ps_store_open(&db, path, PS_STORE_CREATE);
    if (!st)
        st = ps_store_import_report(db, &b, as, got);
    ps_store_close(db);
    if (!st && json)
        report_json(&b, got, file, user, mhash);
    else if (!st)
        report(&b, got, user, mhash);
    free(got);
    ps_store_bundle_free(&b);
    return st ? ps_cli_fail(st) : 0;
}
