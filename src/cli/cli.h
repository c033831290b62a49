/* The pstyle command: shared helpers for the subcommands. Only code in src/cli/ exits; each
 * subcommand returns its exit code (0 ok, 1 usage, 2 bad input, 3 store error, 4 internal). */
#ifndef PS_CLI_H
#define PS_CLI_H
#include "src/base/base.h"
#include <stdio.h>

/* Subcommands: argv[0] is the subcommand name. */
int ps_cmd_learn(int argc, char **argv);
int ps_cmd_apply(int argc, char **argv);
int ps_cmd_list(int argc, char **argv);
int ps_cmd_show(int argc, char **argv);
int ps_cmd_forget(int argc, char **argv);
int ps_cmd_export(int argc, char **argv);
int ps_cmd_import(int argc, char **argv);
int ps_cmd_relearn(int argc, char **argv);
int ps_cmd_train(int argc, char **argv);
int ps_cmd_bench(int argc, char **argv);
int ps_cmd_synth(int argc, char **argv);
int ps_cmd_serve(int argc, char **argv);
int ps_cmd_preview(int argc, char **argv);

/* The short options every subcommand takes, first in its getopt_long string: -h is --help
 * (every command's {"help", no_argument, 0, 'h'}). */
#define PS_CLI_SHORTOPTS "h"

/* "pstyle: <msg>" on stderr; returns code. */
int ps_cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report the library's last error with the status as exit code. */
int ps_cli_fail(ps_status st);
/* Usage error for a subcommand: "pstyle CMD: <msg>" + "try 'pstyle CMD --help'"; returns 1. */
int ps_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Database path: --db value if given (empty is a usage error), else $PSTYLE_DB, else
 * $XDG_DATA_HOME/pstyle/styles.db when that is absolute (the XDG spec says to ignore relative
 * ones), else $HOME/.local/share/pstyle/styles.db. Writes into buf; returns 0, or the exit code
 * after printing why: 1 for an empty --db or a path too long, 3 when HOME is unset or empty. */
int ps_cli_db_path(const char *opt, char *buf, size_t n);
/* The target of a store command: checks the user's and the style's names (each may be NULL) and
 * resolves the database path (see ps_cli_db_path) into path. 0, or the exit code after printing
 * why (2 for a bad name, else as ps_cli_db_path). */
int ps_cli_target(const char *user, const char *style, const char *dbopt, char *path, size_t n);
/* The command line of the per-user store commands (show, forget, export):
 *   pstyle CMD USER [ARG] [--style NAME] [--db PATH] [--json] [--force]
 * nargs positionals (1 or 2: USER and ARG); --json only with PS_CLI_JSON in flags, --force only
 * with PS_CLI_FORCE. Checks the names and resolves the store path. Returns -1 to go on, else the
 * exit code to return (after printing the usage text for --help or -h, or why the line is wrong). */
enum { PS_CLI_JSON = 1, PS_CLI_FORCE = 2 };
typedef struct ps_cli_user_args {
    const char *user, *arg, *style;
    int json, force;
    char db[4096];
} ps_cli_user_args;
int ps_cli_user_args_parse(int argc, char **argv, const char *usage, int nargs, int flags,
                           ps_cli_user_args *out);
/* Whether a and b are one file: the same device and inode (so symlinks, "./x" and hard links
 * count), or, when neither exists yet, the same name in the same folder. */
int ps_cli_same_file(const char *a, const char *b);
/* An output must not destroy what the command reads: 0 if out is neither the store at db (nor
 * its -wal, -shm or -journal) nor the model file (model may be NULL); else 1 after
 * "pstyle: CMD: output 'OUT' is the style store". Call it before any work starts. */
int ps_cli_check_output(const char *cmd, const char *out, const char *db, const char *model);
/* mkdir -p: create dir and the folders above it that are missing, mode 0777 less the umask.
 * 0, or 2 after "pstyle: DIR: ..." when a part of the path is not a folder or cannot be made. */
int ps_cli_mkdirs(const char *dir);
/* Model path: --model, else $PSTYLE_MODEL, else models/default.psm next to the binary (or one
 * level up, for the build tree), else PS_DATADIR/default.psm. NULL with a message if none. */
const char *ps_cli_model_path(const char *opt, char *buf, size_t n);
/* Parse a real in [lo, hi]; 0 ok, -1 bad. */
int ps_cli_parse_real(const char *s, double lo, double hi, double *out);
int ps_cli_parse_int(const char *s, long lo, long hi, long *out);
/* Progress on stderr. On a terminal, one line redrawn in place; elsewhere (a log, a pipe) one
 * line per finished item; with ps_cli_quiet (--quiet) nothing at all. Errors are not progress:
 * ps_cli_error clears the line first, so they are never drawn over.
 *   ps_cli_progress       terminal only: "LABEL [#####     ]  42% ETA 3s" (preview's cells)
 *   ps_cli_progress_item  item done of n (learn's images, apply's files): on a terminal
 *                         "LABEL [#####     ] 3/25 TEXT" redrawn, else "LABEL: 3/25 TEXT"
 *   ps_cli_progress_note  a phase or a slow item starting ("learning from 5 images",
 *                         "photo.jpg: 48.0 MP"): on a terminal the line shows "LABEL: TEXT",
 *                         else it is a line of its own
 *   ps_cli_progress_done  clear the terminal line (before the command's own output) */
extern int ps_cli_quiet;
void ps_cli_progress(const char *label, double frac, double elapsed_s);
void ps_cli_progress_item(const char *label, int done, int n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ps_cli_progress_note(const char *label, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ps_cli_progress_done(void);
/* Whether progress draws a redrawn line (stderr is a terminal and not --quiet). */
int ps_cli_progress_live(void);
/* A duration for people: "0.4 s", "9 s", "3 min 05 s", "1 h 02 min". */
const char *ps_cli_duration(double s, char *buf, size_t n);
/* "ETA 9 s" from the time the first done of n items took; "" before the first. */
const char *ps_cli_eta(double elapsed_s, int done, int n, char *buf, size_t size);
/* --threads N of learn, apply, preview, train, bench and serve: at most N threads, as
 * PSTYLE_THREADS=N (which it overrides, for the processes the command starts too); then sets
 * OpenBLAS's and OpenMP's counts (ps_threads_init). n 0: PSTYLE_THREADS, else one per core. */
void ps_cli_threads(long n);
/* Parse --threads' value (1 to 4096) into *n: 0, or 1 after the usage message. */
int ps_cli_parse_threads(const char *cmd, const char *arg, long *n);
#define PS_CLI_THREADS_HELP \
    "  --threads N      at most N threads (default: PSTYLE_THREADS if set and lower,\n" \
    "                   else one per CPU core; --threads overrides PSTYLE_THREADS)\n"
/* Unix seconds as "2026-11-22T14:05:00Z" into buf (at least 24 bytes); returns buf. */
const char *ps_cli_utc(long long t, char *buf, size_t n);
extern const char *ps_cli_argv0;

#endif
