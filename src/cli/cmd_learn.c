/* pstyle learn: not built yet (see the issues). */
#include "cli.h"
#include <string.h>

int ps_cmd_learn(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: pstyle learn ...\n(not built yet)\n");
        return 0;
    }
    return ps_cli_error(1, "learn: not built yet");
}
