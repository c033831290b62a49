/* pstyle serve: the three dials live in a local web page (src/serve/). This file owns the
 * process: options, the loopback socket, the launch's token, the temporary folder, and a clean
 * stop on SIGINT/SIGTERM (the folder removed, exit 0). */
#include "cli.h"
#include "src/serve/serve.h"
#include "store/store.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pstyle serve [--port N] [--max-upload-mb N] [--threads N] [--db PATH]\n"
            "                    [--model PATH]\n\n"
            "A local web page with the three dials, live: pick a style from the store, drop a\n"
            "photo, drag colour / texture / stroke / strength, download the result, learn a new\n"
            "style from dropped images. Listens on 127.0.0.1 only and prints its URL, which\n"
            "carries a random token that every request needs. Ctrl-C stops it.\n\n"
            "  --port N           TCP port (default 8765; 0 picks a free one)\n"
            "  --max-upload-mb N  largest request body, in MB (1-512, default 512: the image\n"
            "                     module's file cap)\n"
            "  --threads N        at most N threads (default: PSTYLE_THREADS if set and\n"
            "                     lower, else one per CPU core; --threads overrides it)\n"
            "  --db PATH          style database (default $PSTYLE_DB or\n"
            "                     $XDG_DATA_HOME/pstyle/styles.db)\n"
            "  --model PATH       model file (default $PSTYLE_MODEL or the shipped model)\n");
}

/* 128 bits from the kernel's generator as hex: getrandom, else /dev/urandom. */
static int make_token(char out[PS_SERVE_TOKEN_HEX + 1])
{
    unsigned char b[PS_SERVE_TOKEN_HEX / 2];
    ssize_t got = getrandom(b, sizeof b, 0);
    if (got != (ssize_t)sizeof b) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        got = fd < 0 ? -1 : read(fd, b, sizeof b);
        if (fd >= 0)
            close(fd);
        if (got != (ssize_t)sizeof b)
            return -1;
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* A listening TCP socket on 127.0.0.1:port (0: any free port, written back). -1 after a message. */
static int listen_loopback(long *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ps_cli_error(-1, "serve: socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        ps_cli_error(-1, "serve: 127.0.0.1:%ld: %s", *port, strerror(errno));
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* What is in dir, at most depth folders down (files only below that). */
static void remove_inside(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) && errno == EISDIR && depth > 0) {
                remove_inside(p, depth - 1);
                rmdir(p);
            }
        }
    closedir(d);
}

/* The temporary folder and whatever an interrupted request left in it: uploads, each a folder
 * with one file. */
static void remove_tmpdir(const char *dir)
{
    remove_inside(dir, 1);
    if (rmdir(dir))
        ps_cli_error(0, "serve: %s: %s", dir, strerror(errno));
}

int ps_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, 0, 'p'}, {"max-upload-mb", required_argument, 0, 'U'},
        {"db", required_argument, 0, 'd'},   {"model", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},       {"threads", required_argument, 0, 't'},
        {0, 0, 0, 0}};
    const char *dbopt = NULL, *mopt = NULL;
    long port = 8765, max_mb = PS_IMG_MAX_FILE_BYTES >> 20, threads = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, PS_CLI_SHORTOPTS, opts, NULL)) != -1) {
        switch (c) {
        case 'd': dbopt = optarg; break;
        case 'm': mopt = optarg; break;
        case 't':
            if (ps_cli_parse_threads("serve", optarg, &threads))
                return 1;
            break;
        case 'p':
            if (ps_cli_parse_int(optarg, 0, 65535, &port))
                return ps_cli_usage("serve", "--port wants 0 to 65535, not '%s'", optarg);
            break;
        case 'U':
            if (ps_cli_parse_int(optarg, 1, PS_IMG_MAX_FILE_BYTES >> 20, &max_mb))
                return ps_cli_usage("serve", "--max-upload-mb wants 1 to %lld, not '%s'",
                                    PS_IMG_MAX_FILE_BYTES >> 20, optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ps_cli_usage("serve", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ps_cli_usage("serve", "unexpected argument '%s'", argv[optind]);
    static ps_serve s; /* static: the model and the photo table are large-ish and live long */
    char db[PATH_MAX], mbuf[PATH_MAX], exe[PATH_MAX], tmp[PATH_MAX];
    int rc = ps_cli_db_path(dbopt, db, sizeof db);
    if (rc)
        return rc;
    const char *mpath = ps_cli_model_path(mopt, mbuf, sizeof mbuf);
    if (!mpath)
        return ps_cli_fail(PS_EINPUT);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return ps_cli_error(4, "serve: /proc/self/exe: %s", strerror(errno));
    exe[n] = 0;
    ps_status st = ps_model_load(&s.model, mpath);
    if (st)
        return ps_cli_fail(st);
    if (make_token(s.token)) {
        ps_model_free(&s.model);
        return ps_cli_error(4, "serve: no random bytes for the token: %s", strerror(errno));
    }
    const char *td = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/pstyle-serve.XXXXXX", td && *td == '/' ? td : "/tmp");
    if (!mkdtemp(tmp)) {
        ps_model_free(&s.model);
        return ps_cli_error(3, "serve: temporary folder %s: %s", tmp, strerror(errno));
    }
    int fd = listen_loopback(&port);
    if (fd < 0) {
        remove_tmpdir(tmp);
        ps_model_free(&s.model);
        return 2;
    }
    s.port = (int)port;
    snprintf(s.cookie, sizeof s.cookie, "pstyle_%d", s.port);
    s.max_upload = (long long)max_mb << 20;
    s.db = db;
    s.model_path = mpath;
    s.exe = exe;
    s.tmpdir = tmp;
    pthread_mutex_init(&s.net_lock, NULL);
    pthread_mutex_init(&s.big_lock, NULL);
    pthread_mutex_init(&s.photo_lock, NULL);
    ps_cli_threads(threads);
    /* blocked here, so in every thread libmicrohttpd starts: only sigwait below takes them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct MHD_Daemon *d = ps_serve_start(&s, fd);
    if (!d) {
        close(fd);
        remove_tmpdir(tmp);
        ps_model_free(&s.model);
        return 4;
    }
    printf("pstyle serve: http://127.0.0.1:%d/?t=%s\n", s.port, s.token);
    fflush(stdout);
    fprintf(stderr, "pstyle serve: store %s, model %s; Ctrl-C stops\n", db, mpath);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "pstyle serve: %s, stopping\n", strsignal(sig));
    ps_serve_stop(d); /* waits for the requests in flight */
    ps_serve_photos_free(&s);
    remove_tmpdir(tmp);
    ps_model_free(&s.model);
    return 0;
}
