/* Fuzz target: one raw HTTP request to pstyle serve, as a browser (or an attacker on the machine)
 * would send it: request line, Host, token in the query/cookie/header, Content-Length, multipart
 * bodies with text fields and files. The real daemon (server.c routing, token and Host checks,
 * the post processor's callbacks, api.c's argument parsing) answers it over a loopback TCP
 * connection that we accept ourselves and hand to libmicrohttpd with MHD_add_connection (a
 * socketpair works too, but MHD then logs TCP_NODELAY failures on every request). The store does not exist (every
 * store route answers an error) and learn's child is a path that does not exist. */
#include "tests/fuzz/fuzz.h"
#include "src/serve/serve.h"
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* Seeds use this token and port: GET /api/styles?t=0123456789abcdef0123456789abcdef, Host
 * 127.0.0.1:8321. */
static ps_serve srv;
static struct MHD_Daemon *daemon_;
static int lfd = -1; /* our listening socket; MHD is given another that never gets a connection */

static void start(void)
{
    const char *dir = getenv("TMPDIR");
    static char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir && *dir ? dir : "/tmp");
    snprintf(srv.token, sizeof srv.token, "0123456789abcdef0123456789abcdef");
    srv.port = 8321;
    snprintf(srv.cookie, sizeof srv.cookie, "pstyle_%d", srv.port);
    srv.max_upload = 1 << 20;
    srv.db = "/nonexistent/pstyle-fuzz/styles.db";
    srv.model_path = "/nonexistent/pstyle-fuzz/model.psm";
    srv.exe = "/nonexistent/pstyle-fuzz/pstyle";
    srv.tmpdir = tmp;
    pthread_mutex_init(&srv.net_lock, NULL);
    pthread_mutex_init(&srv.big_lock, NULL);
    pthread_mutex_init(&srv.photo_lock, NULL);
    int mfd = socket(AF_INET, SOCK_STREAM, 0);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (mfd < 0 || bind(mfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(mfd, 1) != 0 ||
        lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 8) != 0 ||
        !(daemon_ = ps_serve_start(&srv, mfd))) {
        fprintf(stderr, "fuzz_serve: cannot start the daemon: %s\n", strerror(errno));
        abort();
    }
}

/* sv[1]: a client connected to our listening socket; sv[0]: its accepted end, whose peer
 * address is *a. A signal (a request's child process ending, libFuzzer's own timers) may
 * interrupt connect, whose connection then goes on by itself, or accept: neither is a failure.
 * Returns 0, or -1 with errno set. */
static int loopback(int sv[2], struct sockaddr_in *a, socklen_t *alen)
{
    *alen = sizeof *a;
    sv[1] = socket(AF_INET, SOCK_STREAM, 0);
    if (sv[1] < 0 || getsockname(lfd, (struct sockaddr *)a, alen) != 0)
        return -1;
    if (connect(sv[1], (struct sockaddr *)a, *alen) != 0) {
        if (errno != EINTR)
            return -1;
        struct pollfd p = {.fd = sv[1], .events = POLLOUT};
        int e = 0;
        socklen_t el = sizeof e;
        while (poll(&p, 1, -1) < 0)
            if (errno != EINTR)
                return -1;
        if (getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e) {
            errno = e ? e : errno;
            return -1;
        }
    }
    do
        *alen = sizeof *a;
    while ((sv[0] = accept(lfd, (struct sockaddr *)a, alen)) < 0 && errno == EINTR);
    return sv[0] < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!daemon_)
        start();
    int sv[2];
    struct sockaddr_in a;
    socklen_t alen;
    if (loopback(sv, &a, &alen) != 0) {
        fprintf(stderr, "fuzz_serve: loopback connection: %s\n", strerror(errno));
        abort();
    }
    if (MHD_add_connection(daemon_, sv[0], (struct sockaddr *)&a, alen) != MHD_YES) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    /* write the request, then half-close so an incomplete one ends; read the answer to EOF */
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    char buf[65536];
    struct pollfd p = {.fd = sv[1], .events = POLLIN};
    ssize_t got;
    while (poll(&p, 1, 5000) > 0 && (got = recv(sv[1], buf, sizeof buf, 0)) > 0)
        if (getenv("FUZZ_SERVE_ECHO")) /* to see what a seed gets back */
            fwrite(buf, 1, (size_t)got, stdout);
    close(sv[1]);
    return 0;
}
