/* pstyle forget: delete a user's data (or one style) for real, leaving no trace in the file. */
#include "cli.h"
#include "store/store.h"
#include <getopt.h>

static const char ps_forget_usage[] =
    "usage: pstyle forget USER [--style NAME] [--db PATH]\n"
    "Delete USER (or only one style of USER): every version, sample hash, thumbnail and\n"
    "embedding. The database is then rewritten (VACUUM, WAL truncated), so the file keeps\n"
    "no copy of the deleted data.\n"
    "  --style NAME   forget only this style (the user goes too when it was the last one)\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

int ps_cmd_forget(int argc, char **argv)
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
            return printf("%s", ps_forget_usage), 0;
        else
            return ps_cli_usage("forget", "bad option");
    }
    if (argc - optind != 1)
        return ps_cli_usage("forget", "give exactly one USER");
    const char *user = argv[optind];
    char path[4096];
    int rc = ps_cli_target(user, style, dbopt, path, sizeof path);
    if (rc)
        return rc;
    ps_status st;
    ps_store *db;
    st = ps_store_open(&db, path, 0);
    if (!st)
        st = ps_store_forget(db, user, style);
    ps_store_close(db);
    if (st)
        return ps_cli_fail(st);
    if (style)
        printf("forgot style '%s' of user '%s'\n", style, user);
    else
        printf("forgot user '%s'\n", user);
    return 0;
}
