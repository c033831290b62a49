/* pstyle export: one user's styles (all versions, samples, thumbnails) to a portable file. */
#include "cli.h"
#include "store/store.h"
#include <sys/stat.h>

static const char ps_export_usage[] =
    "usage: pstyle export USER [--style NAME] FILE [--force] [--db PATH]\n"
    "Write every version of USER's styles (or of one style), with sample hashes, thumbnails and\n"
    "embeddings, to FILE: a versioned, CRC-checked file that 'pstyle import' reads elsewhere.\n"
    "An existing FILE is kept unless --force; it is replaced whole or not at all.\n"
    "  --style NAME   export only this style\n"
    "  --force        replace FILE if it exists\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

int ps_cmd_export(int argc, char **argv)
{
    ps_cli_user_args a;
    int rc = ps_cli_user_args_parse(argc, argv, ps_export_usage, 2, PS_CLI_FORCE, &a);
    if (rc >= 0)
        return rc;
    const char *user = a.user, *style = a.style, *file = a.arg;
    if ((rc = ps_cli_check_output("export", file, a.db, NULL)))
        return rc;
    /* lstat: a symbolic link, even a dangling one, is a name the rename would replace */
    struct stat sb;
    if (lstat(file, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return ps_cli_error(PS_EUSAGE, "export: %s is a folder; give a file name", file);
        if (!a.force)
            return ps_cli_error(PS_EUSAGE, "export: %s exists; use --force to replace it", file);
    }
    ps_store *db;
    ps_status st = ps_store_open(&db, a.db, PS_STORE_READONLY);
    if (!st)
        st = ps_store_export(db, user, style, file);
    ps_store_close(db);
    if (st)
        return ps_cli_fail(st);
    printf("exported %s%s%s to %s\n", user, style ? "/" : "", style ? style : "", file);
    return 0;
}
