/* Shared CLI helpers: messages, paths of the store and the model, number parsing, progress. */
#include "cli.h"
#include <getopt.h>
#include "src/nn/nn.h"
#include "store/store.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *ps_cli_argv0 = "pstyle";
int ps_cli_quiet;

int ps_cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    ps_cli_progress_done(); /* an error is never drawn over, nor over a half line */
    va_start(ap, fmt);
    fputs("pstyle: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int ps_cli_fail(ps_status st)
{
    return ps_cli_error((int)st, "%s", ps_last_error());
}

int ps_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pstyle %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry 'pstyle %s --help'\n", cmd);
    va_end(ap);
    return 1;
}

int ps_cli_db_path(const char *opt, char *buf, size_t n)
{
    if (opt && !*opt) /* an empty --db is a slip (an unset variable), not "use the default" */
        return ps_cli_error(PS_EUSAGE, "--db: empty path");
    if (!opt) {
        ps_status st = ps_store_default_path(buf, n);
        return st ? ps_cli_fail(st) : 0;
    }
    if ((size_t)snprintf(buf, n, "%s", opt) >= n)
        return ps_cli_error(PS_EUSAGE, "database path too long");
    return 0;
}

int ps_cli_target(const char *user, const char *style, const char *dbopt, char *path, size_t n)
{
    ps_status st = user ? ps_store_check_name(PS_NAME_USER, user) : PS_OK;
    if (!st && style)
        st = ps_store_check_name(PS_NAME_STYLE, style);
    return st ? ps_cli_fail(st) : ps_cli_db_path(dbopt, path, n);
}

int ps_cli_user_args_parse(int argc, char **argv, const char *usage, int nargs, int flags,
                           ps_cli_user_args *out)
{
    static const struct option opts[] = {
        {"style", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
        {"db", required_argument, NULL, 'd'},    {"help", no_argument, NULL, 'h'},
        {"force", no_argument, NULL, 'f'},       {0, 0, 0, 0}};
    const char *cmd = argv[0], *dbopt = NULL;
    *out = (ps_cli_user_args){0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        if (c == 's')
            out->style = optarg;
        else if (c == 'j' && (flags & PS_CLI_JSON))
            out->json = 1;
        else if (c == 'f' && (flags & PS_CLI_FORCE))
            out->force = 1;
        else if (c == 'd')
            dbopt = optarg;
        else if (c == 'h')
            return printf("%s", usage), 0;
        else
            return ps_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != nargs)
        return ps_cli_usage(cmd, nargs == 1 ? "give exactly one USER" : "give USER and FILE");
    out->user = argv[optind];
    out->arg = nargs > 1 ? argv[optind + 1] : NULL;
    int rc = ps_cli_target(out->user, out->style, dbopt, out->db, sizeof out->db);
    return rc ? rc : -1;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder part of path ("." for a bare name) into buf; NULL if too long. */
static const char *dir_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t len = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (len >= n)
        return NULL;
    if (!slash)
        return strcpy(buf, ".");
    memcpy(buf, path, len);
    buf[len] = 0;
    return buf;
}

int ps_cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* neither exists yet: one name in one folder (however that folder is spelled) is one file,
     * which matters for the store's -wal and -shm, that SQLite creates and deletes as it goes */
    const char *na = strrchr(a, '/'), *nb = strrchr(b, '/');
    char da[PATH_MAX], db[PATH_MAX];
    return !strcmp(na ? na + 1 : a, nb ? nb + 1 : b) && dir_of(a, da, sizeof da) &&
           dir_of(b, db, sizeof db) && stat(da, &sa) == 0 && stat(db, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int ps_cli_check_output(const char *cmd, const char *out, const char *db, const char *model)
{
    /* -journal too: SQLite uses one while it creates a store, before switching it to WAL;
     * -reserve: the room forget keeps for a full disk */
    static const struct {
        const char *suffix, *what;
    } store[] = {{"", "the style store"},
                 {"-wal", "the style store's -wal file"},
                 {"-shm", "the style store's -shm file"},
                 {"-journal", "the style store's -journal file"},
                 {"-reserve", "the style store's -reserve file"}};
    char p[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof store / sizeof store[0]; i++)
        if ((size_t)snprintf(p, sizeof p, "%s%s", db, store[i].suffix) < sizeof p &&
            ps_cli_same_file(out, p))
            return ps_cli_error(PS_EUSAGE, "%s: output '%s' is %s", cmd, out, store[i].what);
    if (model && ps_cli_same_file(out, model))
        return ps_cli_error(PS_EUSAGE, "%s: output '%s' is the model file", cmd, out);
    return 0;
}

int ps_cli_mkdirs(const char *dir)
{
    char p[PATH_MAX];
    struct stat sb;
    if (!*dir)
        return ps_cli_error(PS_EINPUT, "empty folder name");
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return ps_cli_error(PS_EINPUT, "%.40s...: folder name too long", dir);
    /* each prefix that ends before a '/' (and the whole path), the root and "//" runs skipped */
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/')
            continue;
        char c = *s;
        *s = 0;
        if (s[-1] != '/' && mkdir(p, 0777) != 0 && errno != EEXIST) {
            int err = errno; /* EACCES or EROFS on a folder that is there is no reason to stop */
            if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                return ps_cli_error(PS_EINPUT, "%s: cannot create folder %s (%s)", dir, p,
                                    strerror(err));
        }
        *s = c;
        if (!c)
            break;
    }
    if (stat(dir, &sb) != 0)
        return ps_cli_error(PS_EINPUT, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return ps_cli_error(PS_EINPUT, "%s: not a directory", dir);
    return 0;
}

const char *ps_cli_model_path(const char *opt, char *buf, size_t n)
{
    const char *e;
    if (opt && *opt) {
        snprintf(buf, n, "%s", opt);
        return buf;
    }
    if ((e = getenv("PSTYLE_MODEL")) && *e) {
        snprintf(buf, n, "%s", e);
        return buf;
    }
    /* next to the binary: <bindir>/models/default.psm, or <bindir>/../models (build tree) */
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *rel[] = {"models/default.psm", "../models/default.psm",
                                 "../../models/default.psm", "../share/pstyle/default.psm"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(buf, n, "%s/%s", exe, rel[i]);
                if (file_exists(buf))
                    return buf;
            }
        }
    }
    snprintf(buf, n, "%s/default.psm", PS_DATADIR);
    if (file_exists(buf))
        return buf;
    ps_fail(PS_EINPUT, "no model: the default model was not found next to the binary or in %s; "
                       "give --model PATH or set PSTYLE_MODEL", PS_DATADIR);
    return NULL;
}

int ps_cli_parse_real(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int ps_cli_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* ---- progress ----------------------------------------------------------------------------- */

static int ps_cli_progress_shown;   /* a redrawn line is on the terminal */
static double ps_cli_progress_drawn; /* when it was drawn */

int ps_cli_progress_live(void)
{
    return !ps_cli_quiet && isatty(2);
}

/* "[#####     ]" for frac in [0, 1] */
static const char *bar_of(double frac, char *bar)
{
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    int filled = (int)(frac * 30 + 0.5);
    bar[0] = '[';
    for (int i = 0; i < 30; i++)
        bar[1 + i] = i < filled ? '#' : ' ';
    bar[31] = ']';
    bar[32] = 0;
    return bar;
}

/* Redraw the terminal line (at most 10 times a second, except the last item's). */
static void draw(const char *line, int force)
{
    double now = ps_clock_s();
    if (ps_cli_progress_shown && !force && now - ps_cli_progress_drawn < 0.1)
        return;
    fprintf(stderr, "\r%s\033[K", line); /* the line, then clear what an older one left */
    fflush(stderr);
    ps_cli_progress_shown = 1;
    ps_cli_progress_drawn = now;
}

void ps_cli_progress(const char *label, double frac, double elapsed_s)
{
    if (!ps_cli_progress_live())
        return;
    char bar[33], eta[32], line[256];
    double f = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    snprintf(line, sizeof line, "%s %s %3d%% ETA %s", label, bar_of(f, bar), (int)(f * 100 + 0.5),
             ps_cli_duration(f > 0.01 ? elapsed_s * (1 - f) / f : 0, eta, sizeof eta));
    draw(line, f >= 1);
}

void ps_cli_progress_item(const char *label, int done, int n, const char *fmt, ...)
{
    if (ps_cli_quiet)
        return;
    char text[512], bar[33], line[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!isatty(2)) {
        fprintf(stderr, "%s: %d/%d %s\n", label, done, n, text);
        return;
    }
    snprintf(line, sizeof line, "%s %s %d/%d %s", label, bar_of(n > 0 ? (double)done / n : 1, bar),
             done, n, text);
    draw(line, done >= n);
}

void ps_cli_progress_note(const char *label, const char *fmt, ...)
{
    if (ps_cli_quiet)
        return;
    char text[512], line[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!isatty(2)) {
        fprintf(stderr, "%s: %s\n", label, text);
        return;
    }
    snprintf(line, sizeof line, "%s: %s", label, text);
    draw(line, 1);
}

void ps_cli_progress_done(void)
{
    if (ps_cli_progress_shown && isatty(2))
        fputs("\r\033[K", stderr);
    ps_cli_progress_shown = 0;
}

const char *ps_cli_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0))
        s = 0;
    long r = lround(s);
    if (s < 9.95)
        snprintf(buf, n, "%.1f s", s);
    else if (r < 60)
        snprintf(buf, n, "%ld s", r);
    else if (r < 3600)
        snprintf(buf, n, "%ld min %02ld s", r / 60, r % 60);
    else
        snprintf(buf, n, "%ld h %02ld min", (r + 30) / 3600, (r + 30) / 60 % 60);
    return buf;
}

const char *ps_cli_eta(double elapsed_s, int done, int n, char *buf, size_t size)
{
    char d[32];
    if (done <= 0 || n <= 0)
        snprintf(buf, size, "%s", "");
    else
        snprintf(buf, size, "ETA %s", ps_cli_duration(elapsed_s / done * (n - done), d, sizeof d));
    return buf;
}

/* ---- threads ------------------------------------------------------------------------------ */

void ps_cli_threads(long n)
{
    if (n > 0) {
        char b[24];
        snprintf(b, sizeof b, "%ld", n);
        setenv("PSTYLE_THREADS", b, 1);
    }
    ps_threads_init(0);
}

int ps_cli_parse_threads(const char *cmd, const char *arg, long *n)
{
    if (ps_cli_parse_int(arg, 1, 4096, n))
        return ps_cli_usage(cmd, "--threads wants 1 to 4096, not '%s'", arg);
    return 0;
}

const char *ps_cli_utc(long long t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, n, "%lld", t);
    return buf;
}
