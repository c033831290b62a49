/* pstyle list: every user's styles, newest version of each, as text or JSON. */
#include "src/base/base.h"
#include "cli.h"
#include "store/store.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char ps_list_usage[] =
    "usage: pstyle list [--json] [--db PATH]\n"
    "List users and their styles: newest version, number of versions, shots, model, date.\n"
    "  --json      one JSON array of {user, style, version, versions, shots, samples,\n"
    "              thumbnails, model_hash, created_at}\n"
    "  --db PATH   style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n"
    "A default store that was never created lists nothing; a --db PATH that does not exist or\n"
    "is not a pstyle database is an error (exit 3).\n";

int ps_cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *dbopt = NULL;
    int json = 0, c;
    optind = 1;
    opterr = 0; /* our own message, in our own format */
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'd')
            dbopt = optarg;
        else if (c == 'h')
            return printf("%s", ps_list_usage), 0;
        else
            return ps_cli_usage("list", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return ps_cli_usage("list", "unexpected argument '%s'", argv[optind]);
    char path[4096];
    int rc = ps_cli_db_path(dbopt, path, sizeof path);
    if (rc)
        return rc;

    ps_store_row *rows = NULL;
    int n = 0;
    struct stat sb;
    int found = stat(path, &sb) == 0, missing = !found && errno == ENOENT;
    /* The default store before the first learn is an empty list, not an error (and list must
     * not create it). An explicit --db names a store that should be there: a typo must not
     * look like an empty store, so ps_store_open says it is missing (exit 3). A file of 0 bytes
     * is an empty SQLite database: a store that learn was creating when it was stopped. */
    int empty = (missing && !dbopt) || (found && S_ISREG(sb.st_mode) && sb.st_size == 0);
    if (!empty) {
        ps_store *db;
        ps_status st = ps_store_open(&db, path, PS_STORE_READONLY);
        if (!st)
            st = ps_store_list(db, NULL, NULL, 1, &rows, &n);
        ps_store_close(db);
        if (st)
            return ps_cli_fail(st);
    }
    char when[32];
    ps_json j;
    ps_json_init(&j, stdout);
    if (json)
        ps_json_begin(&j, NULL, 1);
    for (int i = 0; i < n; i++) {
        const ps_store_row *r = &rows[i];
        ps_cli_utc(r->created_at, when, sizeof when);
        if (!json) {
            printf("%s/%s  v%d (%d version%s)  %d shot%s  model %s  %s\n", r->user, r->style, r->version,
                   r->n_versions, r->n_versions == 1 ? "" : "s", r->shots, r->shots == 1 ? "" : "s",
                   r->model_hash, when);
            continue;
        }
        ps_json_begin(&j, NULL, 0);
        ps_json_str(&j, "user", r->user);
        ps_json_str(&j, "style", r->style);
        ps_json_int(&j, "version", r->version);
        ps_json_int(&j, "versions", r->n_versions);
        ps_json_int(&j, "shots", r->shots);
        ps_json_int(&j, "samples", r->n_samples);
        ps_json_int(&j, "thumbnails", r->n_thumbs);
        ps_json_str(&j, "model_hash", r->model_hash);
        ps_json_str(&j, "created_at", when);
        ps_json_end(&j, 0);
    }
    if (json)
        ps_json_end(&j, 1);
    else if (!n)
        fprintf(stderr, "pstyle: no styles in %s yet\n", path);
    free(rows);
    return 0;
}
