/* pstyle bench: the speed + quality report (bench/REPORT.md, results.json, PNG plots). The
 * harness itself lives in bench/; this file parses options and resolves paths. */
#include "cli.h"
#include "bench/bench.h"
#include "src/nn/nn.h"
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: pstyle bench [--quick] [--model PATH] [--ablation PATH] [--data DIR]\n"
               "                    [--extval DIR] [--only SECTIONS] [--out DIR] [--threads N]\n\n"
               "Measure pstyle on this machine and write DIR/REPORT.md, DIR/results.json and PNG\n"
               "plots: machine and engine GFLOP/s, a PyTorch peer on the same network (if\n"
               "python3-torch is installed), apply/learn speed, and quality on the synthesizer's\n"
               "validation styles and on the external styles (GEGL and OpenCV filters, never\n"
               "trained on) against baselines, all measured in the same run.\n\n"
               "  --quick          fewer sizes, styles and runs (about a minute)\n"
               "  --model PATH     model file (default $PSTYLE_MODEL or the shipped model)\n"
               "  --ablation PATH  model trained without the inner loop (default\n"
               "                   models/ablation-noinner.psm; its rows are skipped if missing)\n"
               "  --data DIR       photos with train/ and val/ (default data/photos; procedural\n"
               "                   photos when missing)\n"
               "  --extval DIR     external validation set (default data/extval; `make extval`)\n"
               "  --only SECTIONS  run only these, comma-separated: engine, peer, speed, quality,\n"
               "                   external (the report then has only those)\n"
               "  --out DIR        output folder (default bench)\n"
               PS_CLI_THREADS_HELP);
}

int ps_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"quick", no_argument, 0, 'q'},         {"model", required_argument, 0, 'm'},
        {"ablation", required_argument, 0, 'a'}, {"data", required_argument, 0, 'D'},
        {"out", required_argument, 0, 'o'},     {"help", no_argument, 0, 'h'},
        {"extval", required_argument, 0, 'E'},  {"only", required_argument, 0, 'O'},
        {"threads", required_argument, 0, 't'}, {0, 0, 0, 0}};
    ps_bench_opts o = {.ablation = "models/ablation-noinner.psm", .out = "bench",
                       .data = "data/photos", .extval = "data/extval"};
    const char *mopt = NULL;
    long threads = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'q': o.quick = 1; break;
        case 'm': mopt = optarg; break;
        case 'a': o.ablation = optarg; break;
        case 'D': o.data = optarg; break;
        case 'o': o.out = optarg; break;
        case 'E': o.extval = optarg; break;
        case 'O': o.only = optarg; break;
        case 't':
            if (ps_cli_parse_threads("bench", optarg, &threads))
                return 1;
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("bench", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ps_cli_usage("bench", "unexpected argument '%s'", argv[optind]);
    char mbuf[PATH_MAX], exe[PATH_MAX];
    o.model = ps_cli_model_path(mopt, mbuf, sizeof mbuf); /* NULL: sections that need it skip */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        o.exe = exe;
    }
    ps_cli_threads(threads); /* the apply and learn processes it times inherit the cap */
    ps_status st = ps_bench_run(&o);
    if (st)
        return ps_cli_fail(st);
    printf("bench: wrote %s/REPORT.md, %s/results.json and plots\n", o.out, o.out);
    return 0;
}
