/* pstyle forget: delete a user's data (or one style) for real, leaving no trace in the file. */
#include "cli.h"
#include "store/store.h"

static const char ps_forget_usage[] =
    "usage: pstyle forget USER [--style NAME] [--db PATH]\n"
    "Delete USER (or only one style of USER): every version, sample hash, thumbnail and\n"
    "embedding. The freed pages then leave the file (incremental vacuum, WAL truncated), so\n"
    "it keeps no copy of the deleted data and shrinks. Works on a full disk too.\n"
    "  --style NAME   forget only this style (the user goes too when it was the last one)\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

int ps_cmd_forget(int argc, char **argv)
{
    ps_cli_user_args a;
    int rc = ps_cli_user_args_parse(argc, argv, ps_forget_usage, 1, 0, &a);
    if (rc >= 0)
        return rc;
    const char *user = a.user, *style = a.style;
    ps_store *db;
    ps_status st = ps_store_open(&db, a.db, PS_STORE_FORGET);
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
