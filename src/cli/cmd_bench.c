/* pstyle bench: speed report. For now the engine part (sgemm roof, conv2d, attention). */
#include "cli.h"
#include "bench/bench.h"
#include "src/nn/nn.h"
#include <string.h>

int ps_cmd_bench(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: pstyle bench [--quick]\n\n"
                   "Measure the engine on this machine: raw sgemm GFLOP/s (the roof), conv2d at\n"
                   "generator shapes and attention over 65536 pixels x 24 style tokens.\n"
                   "  --quick   fewer runs (for CI)\n"
                   "Threads: all cores, or PSTYLE_THREADS if it is lower.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else
            return ps_cli_usage("bench", "unknown option '%s'", argv[i]);
    }
    ps_threads_init(0);
    ps_bench_engine(stdout, quick);
    return 0;
}
