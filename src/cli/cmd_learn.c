/* pstyle learn: 1..10 sample images -> a new version of the user's style in the store. */
#include "cli.h"
#include "src/api/api.h"
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: pstyle learn --user NAME [--style NAME] [--shots-max N] [--steps N]\n"
               "                    [--json] [--threads N] [--quiet] [--db PATH]\n"
               "                    [--model PATH] IMG...\n\n"
               "Learn NAME's style from 1 to 10 sample images (JPEG, PNG, BMP, TGA) and store it\n"
               "as a new version in the style database.\n\n"
               "  --user NAME      whose style (1-64 chars of A-Z a-z 0-9 . _ -)\n"
               "  --style NAME     style name (default 'default')\n"
               "  --shots-max N    use at most the first N images (1-10, default 10)\n"
               "  --steps N        inner adaptation steps (default: the model's)\n"
               "  --json           print one JSON object {user, style, version, seconds,\n"
               "                   inner_loss_before, inner_loss_after, program, samples:\n"
               "                   [{name, width, height, bytes, sha256}]} instead of text\n"
               PS_CLI_THREADS_HELP
               "  -q, --quiet      no progress on stderr (a terminal gets one line redrawn;\n"
               "                   a log one line per image read and per phase)\n"
               "  --db PATH        style database (default $PSTYLE_DB or\n"
               "                   $XDG_DATA_HOME/pstyle/styles.db)\n"
               "  --model PATH     model file (default $PSTYLE_MODEL or the shipped model)\n");
}

/* The learning phase on a terminal: one line, redrawn as learn reports (its thread, through
 * on_progress) and 5 times a second by a thread of its own, so that the time ticks through the
 * parts that report nothing between their start and end (the program's fit). Both draw under
 * lock: the progress line is not thread-safe. */
typedef struct ticker {
    pthread_mutex_t lock;
    pthread_cond_t stop_cv;
    int stop, n;
    ps_learn_phase phase;     /* where learn is: PS_LEARN_ENCODE (0) until it reports */
    int done, total;
    double t0, steps_t0, step_t; /* when the phase began, the steps began, the last step ended */
} ticker;

/* The line for where learn is (t->lock held). */
static void tick_draw(const ticker *t)
{
    char d[32], eta[32];
    double now = ps_clock_s();
    ps_cli_duration(now - t->t0, d, sizeof d);
    if (t->phase == PS_LEARN_ENCODE)
        ps_cli_progress_note("learn", "learning from %d image%s, %s", t->n, t->n > 1 ? "s" : "", d);
    else if (t->phase == PS_LEARN_STEPS && (t->done == 0 || t->done == t->total))
        ps_cli_progress_item("learn", t->done, t->total, "steps, %s", d);
    else if (t->phase == PS_LEARN_STEPS) /* the ETA is the steps' (the fit after them is short),
                                          * counting down between them */
        ps_cli_progress_item("learn", t->done, t->total, "steps, %s, ETA %s", d,
                             ps_cli_duration((t->step_t - t->steps_t0) / t->done * t->total -
                                                 (now - t->steps_t0), eta, sizeof eta));
    else
        ps_cli_progress_note("learn", "fitting the style program, %s", d);
}

static void on_progress(void *user, ps_learn_phase phase, int done, int total)
{
    ticker *t = user;
    pthread_mutex_lock(&t->lock);
    if (phase == PS_LEARN_STEPS)
        t->step_t = ps_clock_s();
    if (phase == PS_LEARN_STEPS && done == 0)
        t->steps_t0 = t->step_t;
    t->phase = phase, t->done = done, t->total = total;
    tick_draw(t);
    pthread_mutex_unlock(&t->lock);
}

static void *tick(void *arg)
{
    ticker *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        tick_draw(t);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&t->stop_cv, &t->lock, &ts);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* What learn did, as JSON (see usage). */
static void learn_json(const char *user, const char *style, int version, const ps_style *s,
                       const ps_learn_stats *ls)
{
    char prog[1024];
    ps_style_describe(s, prog, sizeof prog);
    ps_json j;
    ps_json_init(&j, stdout);
    ps_json_begin(&j, NULL, 0);
    ps_json_str(&j, "user", user);
    ps_json_str(&j, "style", style);
    ps_json_int(&j, "version", version);
    ps_json_num(&j, "seconds", ls->seconds);
    ps_json_num(&j, "inner_loss_before", ls->loss_before);
    ps_json_num(&j, "inner_loss_after", ls->loss_after);
    ps_json_str(&j, "program", prog);
    ps_json_begin(&j, "samples", 1);
    for (int i = 0; i < s->n_samples; i++) {
        const ps_sample_rec *m = &s->samples[i];
        ps_json_begin(&j, NULL, 0);
        ps_json_str(&j, "name", m->name[0] ? m->name : NULL);
        ps_json_int(&j, "width", m->width);
        ps_json_int(&j, "height", m->height);
        ps_json_int(&j, "bytes", (long long)m->size);
        ps_json_str(&j, "sha256", m->sha256);
        ps_json_end(&j, 0);
    }
    ps_json_end(&j, 1);
    ps_json_end(&j, 0);
}

int ps_cmd_learn(int argc, char **argv)
{
    static const struct option opts[] = {
        {"user", required_argument, 0, 'u'},  {"style", required_argument, 0, 's'},
        {"shots-max", required_argument, 0, 'k'}, {"steps", required_argument, 0, 'n'},
        {"db", required_argument, 0, 'd'},    {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},        {"json", no_argument, 0, 'j'},
        {"threads", required_argument, 0, 't'}, {"quiet", no_argument, 0, 'q'},
        {0, 0, 0, 0}};
    const char *user = NULL, *style = PS_STORE_DEFAULT_STYLE, *dbopt = NULL, *mopt = NULL;
    long shots_max = PS_LEARN_MAX_SHOTS, steps = -1, threads = 0;
    int c, json = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS "q", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'q': ps_cli_quiet = 1; break;
        case 't':
            if (ps_cli_parse_threads("learn", optarg, &threads))
                return 1;
            break;
        case 'u': user = optarg; break;
        case 's': style = optarg; break;
        case 'd': dbopt = optarg; break;
        case 'm': mopt = optarg; break;
        case 'k':
            if (ps_cli_parse_int(optarg, 1, PS_LEARN_MAX_SHOTS, &shots_max))
                return ps_cli_usage("learn", "--shots-max wants 1 to %d, not '%s'",
                                    PS_LEARN_MAX_SHOTS, optarg);
            break;
        case 'n':
            if (ps_cli_parse_int(optarg, 0, 100, &steps))
                return ps_cli_usage("learn", "--steps wants 0 to 100, not '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("learn", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!user)
        return ps_cli_usage("learn", "--user NAME is required");
    int nimg = argc - optind;
    if (nimg < 1)
        return ps_cli_usage("learn", "give 1 to %d sample images", PS_LEARN_MAX_SHOTS);
    if (nimg > PS_LEARN_MAX_SHOTS && shots_max == PS_LEARN_MAX_SHOTS)
        return ps_cli_usage("learn", "%d images given; at most %d (or use --shots-max N)", nimg,
                            PS_LEARN_MAX_SHOTS);
    if (nimg > shots_max)
        nimg = (int)shots_max;
    ps_status st;
    char dbpath[PATH_MAX], mbuf[PATH_MAX];
    int bad = ps_cli_target(user, style, dbopt, dbpath, sizeof dbpath);
    if (bad)
        return bad;
    const char *mpath = ps_cli_model_path(mopt, mbuf, sizeof mbuf);
    if (!mpath)
        return ps_cli_fail(PS_EINPUT);
    /* Open the store first: a locked, corrupt or read-only database fails before any work. */
    ps_store *db = NULL;
    if ((st = ps_store_open(&db, dbpath, PS_STORE_CREATE)))
        return ps_cli_fail(st);
    if (ps_store_readonly(db)) {
        ps_store_close(db);
        return ps_cli_error(3, "%s: database is read-only; cannot store a new style", dbpath);
    }
    ps_model m;
    if ((st = ps_model_load(&m, mpath))) {
        ps_store_close(db);
        return ps_cli_fail(st);
    }
    ps_cli_threads(threads);
    ps_image imgs[PS_LEARN_MAX_SHOTS] = {{0}};
    ps_sample_rec samples[PS_LEARN_MAX_SHOTS];
    memset(samples, 0, sizeof samples);
    int rc = 0;
    double t0 = ps_clock_s();
    for (int i = 0; i < nimg && !rc; i++) {
        const char *path = argv[optind + i];
        char d[32];
        if ((st = ps_style_read_sample(path, &imgs[i], &samples[i]))) {
            rc = ps_cli_fail(st);
            break;
        }
        ps_cli_progress_item("learn", i + 1, nimg, "%s %dx%d, %s", samples[i].name, imgs[i].w,
                             imgs[i].h, ps_cli_duration(ps_clock_s() - t0, d, sizeof d));
    }
    ps_learn_stats ls = {0};
    ps_style *learned = NULL;
    if (!rc) {
        /* On a terminal the phase shows each inner step and its time ticks. In a log it is a
         * line as it starts (with the work it has ahead) and one as it ends: a step takes a
         * fraction of a second, so a line each would bury the log's other lines. */
        ticker tk = {.n = nimg, .t0 = ps_clock_s()};
        pthread_t th;
        int live = ps_cli_progress_live();
        if (live) {
            pthread_mutex_init(&tk.lock, NULL);
            pthread_cond_init(&tk.stop_cv, NULL);
            live = pthread_create(&th, NULL, tick, &tk) == 0;
            if (!live) {
                pthread_cond_destroy(&tk.stop_cv);
                pthread_mutex_destroy(&tk.lock);
            }
        } else {
            int n = steps < 0 ? m.inner_steps : (int)steps;
            ps_cli_progress_note("learn", "learning from %d image%s, %d inner step%s", nimg,
                                 nimg > 1 ? "s" : "", n, n == 1 ? "" : "s");
        }
        const ps_learn_progress pr = {on_progress, &tk};
        st = ps_style_learn_images(&m, imgs, samples, nimg, (int)steps, "files", &learned, &ls,
                                   live ? &pr : NULL);
        if (live) {
            pthread_mutex_lock(&tk.lock);
            tk.stop = 1;
            pthread_cond_signal(&tk.stop_cv);
            pthread_mutex_unlock(&tk.lock);
            pthread_join(th, NULL);
            pthread_cond_destroy(&tk.stop_cv);
            pthread_mutex_destroy(&tk.lock);
        } else if (!st) {
            char d[32];
            ps_cli_progress_note("learn", "learned in %s",
                                 ps_cli_duration(ps_clock_s() - tk.t0, d, sizeof d));
        }
        ps_cli_progress_done();
        if (st)
            rc = ps_cli_fail(st);
    }
    int version = 0;
    if (!rc && (st = ps_store_put(db, user, style, learned, &version)))
        rc = ps_cli_fail(st);
    else if (!rc && json)
        learn_json(user, style, version, learned, &ls);
    else if (!rc)
        printf("learned %s's style '%s' v%d from %d image%s in %.2f s (inner loss %.4f -> "
               "%.4f)\n", user, style, version, nimg, nimg > 1 ? "s" : "", ls.seconds,
               ls.loss_before, ls.loss_after);
    for (int i = 0; i < nimg; i++) {
        ps_img_free(&imgs[i]);
        free(samples[i].thumb);
    }
    ps_style_free(learned);
    ps_model_free(&m);
    ps_store_close(db);
    return rc;
}
