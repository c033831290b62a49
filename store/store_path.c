/* Where the style store lives when nobody says: the XDG base-directory rule, shared by the
 * library (ps_store_open(NULL)) and the CLI (--db). */
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>

ps_status ps_store_default_path(char *buf, size_t n)
{
    const char *e;
    int r;
    if ((e = getenv("PSTYLE_DB")) && *e)
        r = snprintf(buf, n, "%s", e);
    else if ((e = getenv("XDG_DATA_HOME")) && *e == '/') /* the spec: relative ones are invalid */
        r = snprintf(buf, n, "%s/pstyle/styles.db", e);
    else if ((e = getenv("HOME")) && *e)
        r = snprintf(buf, n, "%s/.local/share/pstyle/styles.db", e);
    else /* a store in whatever folder we happen to run in would be found by no later run */
        return ps_fail(PS_ESTORE, "no style store: HOME is not set; give --db PATH, or set "
                                  "PSTYLE_DB or an absolute XDG_DATA_HOME");
    if (r < 0 || (size_t)r >= n)
        return ps_fail(PS_EUSAGE, "database path too long");
    return PS_OK;
}
