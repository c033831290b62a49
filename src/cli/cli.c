/* Shared CLI helpers: messages, paths of the store and the model, number parsing, progress. */
#include "cli.h"
#include <getopt.h>
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

int ps_cli_error(int code, const char *fmt, ...)
{
    va_list ap;
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

static int ps_cli_progress_shown;

void ps_cli_progress(const char *label, double frac, double elapsed_s)
{
    if (!isatty(2))
        return;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    int filled = (int)(frac * 30 + 0.5);
    char bar[31];
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : ' ';
    bar[30] = 0;
    double eta = frac > 0.01 ? elapsed_s * (1 - frac) / frac : 0;
    fprintf(stderr, "\r%s [%s] %3d%% ETA %.0fs ", label, bar, (int)(frac * 100 + 0.5), eta);
    ps_cli_progress_shown = 1;
}

void ps_cli_progress_done(void)
{
    if (ps_cli_progress_shown && isatty(2))
        fputs("\r\033[K", stderr);
    ps_cli_progress_shown = 0;
}

const char *ps_cli_utc(long long t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, n, "%lld", t);
    return buf;
}
