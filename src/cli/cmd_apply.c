/* pstyle apply: not built yet (see the issues). */
#include "cli.h"
#include <string.h>

int ps_cmd_apply(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: pstyle apply ...\n(not built yet)\n");
        return 0;
    }
    return ps_cli_error(1, "apply: not built yet");
}
