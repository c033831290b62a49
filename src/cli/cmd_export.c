/* pstyle export: one user's styles (all versions, samples, thumbnails) to a portable file. */
#include "cli.h"
#include "store/store.h"
#include <getopt.h>

static const char ps_export_usage[] =
    "usage: pstyle export USER [--style NAME] FILE [--db PATH]\n"
    "Write every version of USER's styles (or of one style), with sample hashes, thumbnails and\n"
    "embeddings, to FILE: a versioned, CRC-checked file that 'pstyle import' reads elsewhere.\n"
    "  --style NAME   export only this style\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

int ps_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"style", required_argument, NULL, 's'}, {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *dbopt = NULL, *style = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            style = optarg;
        else if (c == 'd')
            dbopt = optarg;
        else if (c == 'h')
            return printf("%s", ps_export_usage), 0;
        else
            return ps_cli_usage("export", "bad option");
    }
    if (argc - optind != 2)
        return ps_cli_usage("export", "give USER and FILE");
    const char *user = argv[optind], *file = argv[optind + 1];
    char path[4096];
    int rc = ps_cli_target(user, style, dbopt, path, sizeof path);
    if (rc)
        return rc;
    ps_status st;
    ps_store *db;
    st = ps_store_open(&db, path, PS_STORE_READONLY);
    if (!st)
        st = ps_store_export(db, user, style, file);
    ps_store_close(db);
    if (st)
        return ps_cli_fail(st);
    printf("exported %s%s%s to %s\n", user, style ? "/" : "", style ? style : "", file);
    return 0;
}
