/* pstyle train: meta-train the model on synthesizer episodes (reproduces models/default.psm). */
#include "cli.h"
#include "bench/bench.h"
#include "meta/sampler.h"
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    ps_meta_cfg d;
    ps_meta_cfg_default(&d);
    fprintf(f,
            "usage: pstyle train [--data DIR | --procedural] [--out MODEL] [--dir RUNDIR]\n"
            "                    [--minutes M] [--episodes N] [--shots K] [--queries Q]\n"
            "                    [--crop PX] [--inner-steps N] [--learn-steps N]\n"
            "                    [--order first|second] [--lr LR] [--w-ssim W] [--w-feat W]\n"
            "                    [--seed S] [--val-every N] [--init MODEL] [--resume]\n"
            "                    [--threads N] [--quiet]\n\n"
            "Meta-train the style encoder, generator and inner step sizes on procedural styles\n"
            "applied to the photos of `make data`. Checkpoints, log.csv and val.csv go to RUNDIR;\n"
            "MODEL is replaced only when the validation styles improve on it.\n\n"
            "  --data DIR        photos with train/ and val/ (default %s)\n"
            "  --procedural      procedural content images instead of photos (smoke tests)\n"
            "  --out MODEL       default %s\n  --dir RUNDIR      default %s\n"
            "  --minutes M       stop after M minutes (default %.0f; 0 = no limit)\n"
            "  --episodes N      stop after N episodes (default 0 = no limit); the run stops\n"
            "                    at whichever of the two limits comes first\n"
            "  --shots K --queries Q --crop PX   episode shape (default %d, %d, %d; K at most\n"
            "                    %d, PX a multiple of 16 from 96)\n"
            "  --inner-steps N   Meta-SGD steps in training, 0-20 (default %d; 0 = plain\n"
            "                    episodic)\n"
            "  --learn-steps N   steps the model takes in `pstyle learn`, 1-20 (default: as\n"
            "                    trained)\n"
            "  --order first|second   MAML order (default first)\n"
            "  --lr LR           peak Adam learning rate: warm-up, then cosine decay over\n"
            "                    --episodes (default %g)\n"
            "  --w-ssim W --w-feat W   query loss weights of SSIM and feature statistics\n"
            "                    (default %g, %g; L1 has weight 1)\n"
            "  --seed S          seed of the fresh model and of the episodes (default %llu)\n"
            "  --val-every N     validate every N episodes, and at the end (default %d)\n"
            "  --init MODEL      start from MODEL instead of a fresh model\n"
            "  --resume          continue from RUNDIR/checkpoint.psm (written every %d\n"
            "                    episodes) when there is one\n"
            "  --threads N       at most N threads (default: PSTYLE_THREADS if set and lower,\n"
            "                    else one per CPU core; --threads overrides it)\n"
            "  -q, --quiet       print only errors\n\n"
            "Progress goes to stderr: on a terminal, one line redrawn after each episode\n"
            "(episode N/total, s/episode, ETA to whichever limit comes first); otherwise one\n"
            "line every %d episodes. Each validation prints a line.\n",
            d.data, d.out, d.dir, d.minutes, d.K, d.Q, d.crop, PS_LEARN_MAX_SHOTS,
            d.inner_steps, d.lr, d.w_ssim, d.w_feat, (unsigned long long)d.seed, d.val_every,
            d.ckpt_every, d.log_every);
}

/* Progress of a run on stderr (see usage). */
typedef struct train_report {
    const ps_meta_cfg *cfg;
    int live;      /* stderr is a terminal: one line, redrawn */
    int shown;     /* the live line is on screen */
    double drawn;  /* when it was last drawn */
    float loss;    /* the last logged mean loss (< 0: none yet) */
} train_report;

/* 42s, 3m 05s, 1h 02m */
static const char *duration(double s, char *b, size_t n)
{
    long r = lround(s);
    if (r < 60)
        snprintf(b, n, "%lds", r);
    else if (r < 3600)
        snprintf(b, n, "%ldm %02lds", r / 60, r % 60);
    else
        snprintf(b, n, "%ldh %02ldm", (r + 30) / 3600, (r + 30) / 60 % 60);
    return b;
}

/* "episode 37/200" (or "episode 37" with no episode limit) */
static const char *episode_of(const ps_meta_progress *p, long done, char *b, size_t n)
{
    if (p->total > 0)
        snprintf(b, n, "episode %ld/%ld", done, p->total);
    else
        snprintf(b, n, "episode %ld", done);
    return b;
}

/* "ETA 3m 05s (episode limit)", or why there is none */
static const char *eta_of(const train_report *r, const ps_meta_progress *p, char *b, size_t n)
{
    char d[32];
    if (p->eta_s >= 0)
        snprintf(b, n, "ETA %s (%s limit)", duration(p->eta_s, d, sizeof d),
                 p->time_limited ? "time" : "episode");
    else if (r->cfg->episodes <= 0 && r->cfg->minutes <= 0)
        snprintf(b, n, "no limit");
    else
        snprintf(b, n, "ETA unknown");
    return b;
}

static void report_clear(train_report *r)
{
    ps_cli_progress_done();
    r->shown = 0;
}

static void report(void *ctx, const ps_meta_progress *p)
{
    train_report *r = ctx;
    char ep[64], eta[64];
    if (p->logged)
        r->loss = p->loss;
    switch (p->event) {
    case PS_META_EV_START:
        if (p->val)
            fprintf(stderr, "current %s: validation L1 %.5f\n", r->cfg->out, p->val->l1);
        break;
    case PS_META_EV_VAL:
        report_clear(r);
        fprintf(stderr, "%s: validation L1 %.5f PSNR %.2f SSIM %.4f%s\n",
                episode_of(p, p->done, ep, sizeof ep), p->val->l1, p->val->psnr, p->val->ssim,
                p->saved ? " (best: saved)" : "");
        break;
    case PS_META_EV_EPISODE:
        if (r->live) {
            double now = ps_clock_s();
            if (r->shown && now - r->drawn < 0.1 && p->done != p->total)
                break;
            double frac = -1;
            if (p->eta_s >= 0 && p->time_limited)
                frac = p->elapsed_s / (r->cfg->minutes * 60);
            else if (p->eta_s >= 0 && p->total > 0)
                frac = (double)p->done / (double)p->total;
            char pct[16] = "", loss[32] = "";
            if (frac >= 0)
                snprintf(pct, sizeof pct, " %3.0f%%", 100 * (frac < 1 ? frac : 1));
            if (r->loss >= 0)
                snprintf(loss, sizeof loss, ", loss %.4f", r->loss);
            ps_cli_progress_note("train", "%s%s, %.2f s/episode%s, %s",
                                 episode_of(p, p->done, ep, sizeof ep), pct, p->s_per_episode,
                                 loss, eta_of(r, p, eta, sizeof eta));
            r->shown = 1, r->drawn = now;
        } else if (p->logged) {
            fprintf(stderr, "%s: loss %.4f (L1 full %.4f), %.2f s/episode, %s, %ld clipped, "
                            "%ld skipped\n",
                    episode_of(p, p->done, ep, sizeof ep), p->loss, p->l1_full,
                    p->s_per_episode, eta_of(r, p, eta, sizeof eta), p->clipped, p->skipped);
        }
        break;
    }
}

/* Column col (0-based, after the episode column 0) of a run's CSV as (episode, value) pairs. */
static int read_csv(const char *path, int col, double **x, double **y)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, cap = 0;
    char line[1024];
    *x = *y = NULL;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        double ep = strtod(p, &end), v = 0;
        for (int c = 0; c < col && (p = strchr(p, ',')); c++)
            p++;
        if (!p || end == line)
            continue;
        v = strtod(p, NULL);
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            double *nx = realloc(*x, sizeof(double) * cap), *ny = realloc(*y, sizeof(double) * cap);
            if (nx)
                *x = nx;
            if (ny)
                *y = ny;
            if (!nx || !ny)
                break;
        }
        (*x)[n] = ep, (*y)[n] = v, n++;
    }
    fclose(f);
    return n;
}

/* <dir>/loss.png: training loss and L1 of the full render (log.csv), validation L1 (val.csv). */
static void plot_run(const char *dir, int quiet)
{
    char log[4096], val[4096];
    snprintf(log, sizeof log, "%s/log.csv", dir);
    snprintf(val, sizeof val, "%s/val.csv", dir);
    double *x[3] = {0}, *y[3] = {0};
    int n[3] = {read_csv(log, 2, &x[0], &y[0]), read_csv(log, 3, &x[1], &y[1]),
                read_csv(val, 2, &x[2], &y[2])};
    ps_bench_series s[3] = {{"train loss", n[0], x[0], y[0]},
                            {"train L1 full", n[1], x[1], y[1]},
                            {"validation L1 full", n[2], x[2], y[2]}};
    if (ps_bench_plot_png(dir, "loss.png", "meta-training", "episode", "loss", s, 3))
        fprintf(stderr, "pstyle train: %s\n", ps_last_error());
    else if (!quiet)
        fprintf(stderr, "loss curves: %s/loss.png\n", dir);
    for (int i = 0; i < 3; i++)
        free(x[i]), free(y[i]);
}

int ps_cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'D'},     {"procedural", no_argument, 0, 'P'},
        {"out", required_argument, 0, 'o'},      {"dir", required_argument, 0, 'r'},
        {"minutes", required_argument, 0, 'M'},  {"episodes", required_argument, 0, 'E'},
        {"shots", required_argument, 0, 'K'},    {"queries", required_argument, 0, 'Q'},
        {"crop", required_argument, 0, 'c'},     {"inner-steps", required_argument, 0, 'n'},
        {"order", required_argument, 0, 'O'},    {"lr", required_argument, 0, 'l'},
        {"seed", required_argument, 0, 's'},     {"init", required_argument, 0, 'i'},
        {"resume", no_argument, 0, 'R'},         {"val-every", required_argument, 0, 'V'},
        {"learn-steps", required_argument, 0, 'L'}, {"w-ssim", required_argument, 0, 'S'},
        {"w-feat", required_argument, 0, 'F'},  {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},           {"threads", required_argument, 0, 't'},
        {0, 0, 0, 0}};
    ps_meta_cfg cfg;
    ps_meta_cfg_default(&cfg);
    int c, quiet = 0;
    long v, threads = 0;
    double r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS "q", opts, NULL)) != -1) {
        switch (c) {
        case 'D': cfg.data = optarg; break;
        case 'P': cfg.data = NULL; break;
        case 'o': cfg.out = optarg; break;
        case 'r': cfg.dir = optarg; break;
        case 'i': cfg.init = optarg; break;
        case 'R': cfg.resume = 1; break;
        case 'q': quiet = ps_cli_quiet = 1; break;
        case 't':
            if (ps_cli_parse_threads("train", optarg, &threads))
                return 1;
            break;
        case 'M':
            if (ps_cli_parse_real(optarg, 0, 1e6, &r))
                return ps_cli_usage("train", "bad --minutes '%s'", optarg);
            cfg.minutes = r;
            break;
        case 'l': case 'S': case 'F':
            if (ps_cli_parse_real(optarg, c == 'l' ? 1e-7 : 0, c == 'l' ? 1 : 100, &r))
                return ps_cli_usage("train", "bad value '%s' for %s", optarg, argv[optind - 2]);
            *(c == 'l' ? &cfg.lr : c == 'S' ? &cfg.w_ssim : &cfg.w_feat) = (float)r;
            break;
        case 'O':
            if (!strcmp(optarg, "first"))
                cfg.order = PS_META_FIRST;
            else if (!strcmp(optarg, "second"))
                cfg.order = PS_META_SECOND;
            else
                return ps_cli_usage("train", "--order is 'first' or 'second', not '%s'", optarg);
            break;
        case 'E': case 'K': case 'Q': case 'c': case 'n': case 's': case 'V': case 'L':
            if (ps_cli_parse_int(optarg, c == 'n' || c == 'E' ? 0 : 1, 1L << 40, &v) ||
                (c == 'c' && (v < 96 || v % 16)) || (c == 'K' && v > PS_LEARN_MAX_SHOTS) ||
                ((c == 'n' || c == 'L') && v > 20))
                return ps_cli_usage("train", "bad value '%s' for %s", optarg, argv[optind - 2]);
            if (c == 'E') cfg.episodes = v;
            if (c == 'K') cfg.K = (int)v;
            if (c == 'Q') cfg.Q = (int)v;
            if (c == 'c') cfg.crop = (int)v;
            if (c == 'n') cfg.inner_steps = (int)v;
            if (c == 's') cfg.seed = (uint64_t)v;
            if (c == 'V') cfg.val_every = (int)v;
            if (c == 'L') cfg.learn_steps = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("train", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ps_cli_usage("train", "unexpected argument '%s'", argv[optind]);
    if (cfg.data && access(cfg.data, R_OK))
        return ps_cli_error(2, "%s: no photos; run 'make data' first (or --procedural)",
                            cfg.data);
    ps_cli_threads(threads);
    ps_meta_sampler *s;
    /* photos fitted to 512 px: crops of 35-100%% of the short side keep detail at crop size */
    ps_status st = ps_meta_sampler_open(&s, cfg.data, 512);
    if (st)
        return ps_cli_fail(st);
    if (!quiet)
        fprintf(stderr,
                "training on %d + %d photos (%s), K=%d Q=%d crop %d, %d inner steps (%s)\n",
                ps_meta_sampler_photos(s, 0), ps_meta_sampler_photos(s, 1),
                cfg.data ? cfg.data : "procedural", cfg.K, cfg.Q, cfg.crop, cfg.inner_steps,
                cfg.order == PS_META_SECOND ? "second order" : "first order");
    train_report rep = {.cfg = &cfg, .live = isatty(2), .loss = -1};
    st = ps_meta_train(&cfg, ps_meta_sample, s, quiet ? NULL : report, &rep);
    report_clear(&rep);
    ps_meta_sampler_close(s);
    if (st)
        return ps_cli_fail(st);
    plot_run(cfg.dir, quiet);
    return 0;
}
