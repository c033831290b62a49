/* pstyle train: not built yet (see the issues). */
#include "cli.h"
#include <string.h>

int ps_cmd_train(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: pstyle train ...\n(not built yet)\n");
        return 0;
    }
    return ps_cli_error(1, "train: not built yet");
}
