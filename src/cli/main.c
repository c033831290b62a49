/* pstyle entry point: dispatches to subcommands. The only place that turns statuses into exits. */
#include "cli.h"
#include <cblas.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} ps_cli_cmd;

static const ps_cli_cmd ps_cli_cmds[] = {
    {"learn", ps_cmd_learn, "learn a user's style from 1-10 sample images"},
    {"apply", ps_cmd_apply, "paint photos in a learned style"},
    {"preview", ps_cmd_preview, "one contact sheet of a style on a photo at a grid of dials"},
    {"list", ps_cmd_list, "list users and their styles"},
    {"show", ps_cmd_show, "show one user's styles, versions and samples"},
    {"forget", ps_cmd_forget, "delete a user's (or one style's) data for real"},
    {"export", ps_cmd_export, "write one user's style to a self-describing file"},
    {"import", ps_cmd_import, "read a style file written by export"},
    {"relearn", ps_cmd_relearn, "rebuild styles from stored thumbnails after a model upgrade"},
    {"train", ps_cmd_train, "meta-train the model from Debian photos (make data first)"},
    {"bench", ps_cmd_bench, "speed and quality report (bench/REPORT.md)"},
    {"synth", ps_cmd_synth, "render procedural training styles as a contact sheet"},
    {"serve", ps_cmd_serve, "the dials, live, in a local web page (127.0.0.1)"},
};
#define PS_CLI_NCMDS (int)(sizeof ps_cli_cmds / sizeof ps_cli_cmds[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: pstyle [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (int i = 0; i < PS_CLI_NCMDS; i++)
        fprintf(f, "  %-8s %s\n", ps_cli_cmds[i].name, ps_cli_cmds[i].summary);
    fprintf(f, "\n'pstyle COMMAND --help' for a command's options.\n"
               "exit codes: 0 ok, 1 usage, 2 bad input (image, user, model), 3 store error, "
               "4 internal error\n\n"
               "environment:\n"
               "  PSTYLE_DB       style database (else $XDG_DATA_HOME/pstyle/styles.db)\n"
               "  PSTYLE_MODEL    model file (else the shipped model)\n"
               "  PSTYLE_THREADS  most threads learn, apply, preview, train, bench and serve\n"
               "                  use (default: one per CPU core; it can only lower that; their\n"
               "                  --threads N overrides it). They set OpenBLAS's and OpenMP's\n"
               "                  thread counts themselves, so OMP_NUM_THREADS and\n"
               "                  OPENBLAS_NUM_THREADS do not change them.\n");
}

/* OpenBLAS picks its kernels at load from the CPU's family and model. 0.3.21 (Debian 12) does
 * not know every CPU and then falls back to its SSE3 kernels ("Prescott"): on a 2-core Xeon with
 * AVX-512 sgemm ran at 24-31 GFLOP/s where its SkylakeX kernels give 130. Where it fell back to
 * kernels older than the CPU's AVX-512 (or AVX2 and FMA), name the ones it can run. */
static int blas_kernels(void)
{
    static const char *old[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom"};
    const char *core = openblas_get_corename(), *want = NULL;
    if (getenv("OPENBLAS_CORETYPE") || !core)
        return 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
#endif
    for (size_t i = 0; want && i < sizeof old / sizeof old[0]; i++)
        if (!strcasecmp(core, old[i]))
            return !setenv("OPENBLAS_CORETYPE", want, 1);
    return 0;
}

int main(int argc, char **argv)
{
    /* libgomp reads its wait policy once, at load: its default spinning steals the cores from
     * OpenBLAS's threads between our parallel loops (3x slower apply on 2 cores, measured), so
     * ask for passive waits, unless the user chose a policy. OpenBLAS's pool spins the other
     * way: its threads start at load and spin 2^28 cycles (0.1 s) after each job, so half the
     * 1 MP applies on 2 cores ran at 0.138 s instead of 0.100 (12 runs each) and learn K=5 took
     * 0.92 s instead of 0.88; 2^4 cycles (OpenBLAS's least) lets them sleep at once. OpenBLAS
     * reads its kernels' name at load too. Any change starts the program over, once. */
    int again = blas_kernels();
    if (!getenv("OMP_WAIT_POLICY"))
        again |= !setenv("OMP_WAIT_POLICY", "passive", 1);
    if (!getenv("OPENBLAS_THREAD_TIMEOUT"))
        again |= !setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
    if (again)
        execv("/proc/self/exe", argv);
    ps_cli_argv0 = argv[0];
    signal(SIGPIPE, SIG_IGN);
    /* past a file-size limit a write then fails with EFBIG, reported as "disk full" (exit 3) */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("pstyle %s\n", ps_version());
        return 0;
    }
    for (int i = 0; i < PS_CLI_NCMDS; i++)
        if (!strcmp(argv[1], ps_cli_cmds[i].name))
            return ps_cli_cmds[i].fn(argc - 1, argv + 1);
    if (argv[1][0] == '-')
        ps_cli_error(1, "unknown option '%s'", argv[1]);
    else
        ps_cli_error(1, "unknown command '%s'", argv[1]);
    fprintf(stderr, "try 'pstyle --help'\n");
    return 1;
}
