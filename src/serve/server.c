/* pstyle serve, the HTTP side: every request must name this launch's token and the loopback host;
 * then a fixed table of routes (no file is ever served from disk, so there is no path to
 * traverse). Multipart uploads are parsed by libmicrohttpd's post processor and spooled, file by
 * file, into the temporary folder (a folder each, the file under the client's name), capped at
 * s->max_upload bytes a request. */
#include "src/serve/serve.h"
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD_MAX 80 /* a text field (user, style name) longer than this is refused */

typedef struct route {
    const char *method, *path;
    void (*fn)(ps_serve_req *);
    int upload; /* takes a multipart body */
} route;

static void page(ps_serve_req *r);

static const route routes[] = {
    {"GET", "/", page, 0},
    {"GET", "/api/styles", ps_serve_api_styles, 0},
    {"GET", "/api/samples", ps_serve_api_samples, 0},
    {"GET", "/api/thumb", ps_serve_api_thumb, 0},
    {"GET", "/api/original", ps_serve_api_original, 0},
    {"GET", "/api/apply", ps_serve_api_apply, 0},
    {"POST", "/api/photo", ps_serve_api_photo, 1},
    {"POST", "/api/learn", ps_serve_api_learn, 1},
};
#define NROUTES (int)(sizeof routes / sizeof routes[0])

/* One request's state across libmicrohttpd's calls (its con_cls). */
typedef struct rq {
    ps_serve_req r;
    const route *rt;
    struct MHD_PostProcessor *pp;
    long long got;       /* body bytes so far */
    int fd;              /* the file part being written, or -1 */
    int err;             /* an HTTP status once the upload is refused */
    char msg[256];
    char user[FIELD_MAX + 1], style[FIELD_MAX + 1];
    size_t nuser, nstyle;
    int has_user, has_style;
    int set_cookie;      /* the token came in the URL: hand it over as a cookie */
} rq;

const char *ps_serve_arg(const ps_serve_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *ps_serve_jstr(char *buf, size_t n, const char *s)
{
    size_t o = 0;
    if (n < 3) {
        if (n)
            *buf = 0;
        return buf;
    }
    buf[o++] = '"';
    /* bytes that are not UTF-8 (a file name's) become U+FFFD, so that the answer parses */
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 8 < n;) {
        int k = ps_json_utf8_len(p);
        if (!k) {
            o += (size_t)snprintf(buf + o, n - o, "\\ufffd");
            p++;
        } else if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p++;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(buf + o, n - o, "\\u%04x", *p++);
        } else {
            memcpy(buf + o, p, (size_t)k);
            o += (size_t)k, p += k;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

static void answer_text(ps_serve_req *r, int status, const char *type, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    free(r->body);
    r->body = malloc((size_t)n + 1);
    r->len = 0;
    if (r->body) {
        vsnprintf((char *)r->body, (size_t)n + 1, fmt, ap);
        r->len = (size_t)n;
    }
    r->status = status;
    r->type = type;
}

void ps_serve_error(ps_serve_req *r, int status, const char *fmt, ...)
{
    char msg[1024], esc[2100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps_serve_json(r, "{\"error\":%s}", ps_serve_jstr(esc, sizeof esc, msg));
    r->status = status;
}

void ps_serve_json(ps_serve_req *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer_text(r, 200, "application/json", fmt, ap);
    va_end(ap);
}

static void page(ps_serve_req *r)
{
    r->body = malloc(ps_serve_page_len);
    if (!r->body) {
        ps_serve_error(r, 500, "out of memory");
        return;
    }
    memcpy(r->body, ps_serve_page, ps_serve_page_len);
    r->len = ps_serve_page_len;
    r->status = 200;
    r->type = "text/html; charset=utf-8";
}

/* Equal without an early exit, so the time taken says nothing about how much of a guess was right. */
static int token_eq(const char *a, const char *b)
{
    if (!a || strlen(a) != PS_SERVE_TOKEN_HEX)
        return 0;
    unsigned diff = 0;
    for (int i = 0; i < PS_SERVE_TOKEN_HEX; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

/* The Host header must be the loopback address we listen on: a page elsewhere that rebinds its
 * own name to 127.0.0.1 (DNS rebinding) still sends its own name here. */
static int host_ok(const ps_serve *s, const char *host)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "127.0.0.1:%d", s->port);
    snprintf(b, sizeof b, "localhost:%d", s->port);
    return host && (!strcmp(host, a) || !strcmp(host, b));
}

static enum MHD_Result send_answer(rq *q)
{
    ps_serve_req *r = &q->r;
    if (!r->body && r->status == 0)
        ps_serve_error(r, 500, "no answer");
    struct MHD_Response *res =
        MHD_create_response_from_buffer(r->len, r->body ? r->body : (void *)"", r->body ?
                                        MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!res)
        return MHD_NO;
    r->body = NULL; /* the response owns it now */
    MHD_add_response_header(res, "Content-Type", r->type ? r->type : "application/octet-stream");
    MHD_add_response_header(res, "Cache-Control", "no-store");
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(res, "X-Frame-Options", "DENY");
    MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(res, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' blob: data:; "
                            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                            "connect-src 'self'; frame-ancestors 'none'; form-action 'none'");
    if (r->disposition[0])
        MHD_add_response_header(res, "Content-Disposition", r->disposition);
    if (q->set_cookie) {
        char c[160];
        snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Strict", r->s->cookie,
                 r->s->token);
        MHD_add_response_header(res, "Set-Cookie", c);
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, res);
    MHD_destroy_response(res);
    return ok;
}

/* Answer at once (before or instead of reading a body). */
static enum MHD_Result refuse(rq *q, int status, const char *msg)
{
    ps_serve_error(&q->r, status, "%s", msg);
    return send_answer(q);
}

static void refuse_upload(rq *q, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse_upload(rq *q, int status, const char *fmt, ...)
{
    if (q->err)
        return; /* the first reason stands */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->msg, sizeof q->msg, fmt, ap);
    va_end(ap);
    q->err = status;
}

/* One character at s copied to out (4 bytes of room): a UTF-8 sequence that is valid and not a
 * control character (C0, DEL, C1) as it is, a control character dropped, any other byte as '?'.
 * Returns the bytes it took from s, and sets *w to the bytes written. */
static size_t name_char(const unsigned char *s, char *out, size_t *w)
{
    int k = ps_json_utf8_len(s);
    if (!k) {
        out[0] = '?', *w = 1;
        return 1;
    }
    int control = (k == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (k == 2 && s[0] == 0xc2 && s[1] < 0xa0);
    *w = control ? 0 : (size_t)k;
    memcpy(out, s, *w);
    return (size_t)k;
}

/* The len bytes at s, cleaned by name_char, into out: whole characters while they fit in n
 * bytes, then a NUL (out has n + 1). Returns the bytes written. */
static size_t name_clean(char *out, size_t n, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char c[4];
        size_t w;
        i += name_char((const unsigned char *)s + i, c, &w);
        if (o + w > n)
            break;
        memcpy(out + o, c, w);
        o += w;
    }
    out[o] = 0;
    return o;
}

/* The client's file name, as the sample's name in the store, in messages and in the download's
 * name: its base name (browsers on Windows have sent the whole path), cleaned by name_char, and
 * at most n - 1 bytes, cut in its stem so that the extension (up to 16 bytes) stays; "upload"
 * when that leaves nothing, "." or "..". Headers and JSON escape it where it goes. */
static void clean_name(char *out, size_t n, const char *name)
{
    const char *base = name ? name : "";
    for (const char *c = base; *c; c++)
        if (*c == '/' || *c == '\\')
            base = c + 1;
    const char *dot = strrchr(base, '.');
    size_t len = strlen(base), elen = dot && dot != base ? len - (size_t)(dot - base) : 0;
    if (elen > 16)
        elen = 0;
    char ext[17];
    size_t e = name_clean(ext, sizeof ext - 1, base + len - elen, elen);
    size_t o = name_clean(out, n - 1 - e, base, len - elen);
    memcpy(out + o, ext, e + 1);
    if (!strcmp(out, "") || !strcmp(out, ".") || !strcmp(out, ".."))
        snprintf(out, n, "upload");
}

void ps_serve_spool_remove(const char *path)
{
    unlink(path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        rmdir(dir);
    }
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind, (void)content_type, (void)transfer_encoding;
    rq *q = cls;
    ps_serve_req *r = &q->r;
    if (q->err)
        return MHD_NO;
    if (filename) {
        if (off == 0) { /* a new file part */
            if (q->fd >= 0)
                close(q->fd);
            q->fd = -1;
            if (r->nfiles == PS_SERVE_MAX_FILES) {
                refuse_upload(q, 400, "at most %d files in one upload", PS_SERVE_MAX_FILES);
                return MHD_NO;
            }
            unsigned long long id;
            pthread_mutex_lock(&r->s->photo_lock);
            id = ++r->s->seq;
            pthread_mutex_unlock(&r->s->photo_lock);
            char *path = r->files[r->nfiles], *name = r->names[r->nfiles];
            clean_name(name, sizeof r->names[0], filename);
            int dl = snprintf(path, sizeof r->files[0], "%s/up%llu", r->s->tmpdir, id);
            if (dl < 0 || (size_t)dl + 1 + strlen(name) >= sizeof r->files[0]) {
                refuse_upload(q, 500, "temporary folder: path too long");
                return MHD_NO;
            }
            if (mkdir(path, 0700)) {
                refuse_upload(q, 500, "temporary folder: %s", strerror(errno));
                return MHD_NO;
            }
            path[dl] = '/';
            memcpy(path + dl + 1, name, strlen(name) + 1); /* it fits: checked above */
            r->nfiles++; /* from here on_completed removes it, folder and all */
            q->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (q->fd < 0) {
                refuse_upload(q, 500, "temporary folder: %s", strerror(errno));
                return MHD_NO;
            }
        }
        while (size > 0) {
            ssize_t w = write(q->fd, data, size);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                refuse_upload(q, 507, "temporary folder: %s", strerror(errno));
                return MHD_NO;
            }
            data += w;
            size -= (size_t)w;
        }
        return MHD_YES;
    }
    char *buf = NULL;
    size_t *len = NULL;
    if (key && !strcmp(key, "user"))
        buf = q->user, len = &q->nuser, q->has_user = 1;
    else if (key && !strcmp(key, "style"))
        buf = q->style, len = &q->nstyle, q->has_style = 1;
    if (!buf)
        return MHD_YES; /* a field we do not use */
    if (*len + size > FIELD_MAX) {
        refuse_upload(q, 400, "field '%s' is longer than %d characters", key, FIELD_MAX);
        return MHD_NO;
    }
    memcpy(buf + *len, data, size);
    *len += size;
    buf[*len] = 0;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    ps_serve *s = cls;
    rq *q = *con_cls;
    if (!q) { /* the headers are in: judge the request before any of its body is read */
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        q->fd = -1;
        q->r.s = s;
        q->r.conn = conn;
        *con_cls = q;
        if (!host_ok(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host")))
            return refuse(q, 403, "wrong Host: pstyle serve answers only 127.0.0.1 and localhost");
        const char *tq = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "t");
        const char *th = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Pstyle-Token");
        const char *tc = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, s->cookie);
        if (!token_eq(tq, s->token) && !token_eq(th, s->token) && !token_eq(tc, s->token))
            return refuse(q, 403, "missing or wrong token: open the URL that 'pstyle serve' "
                                  "printed (it carries the token)");
        q->set_cookie = token_eq(tq, s->token);
        int known = 0;
        for (int i = 0; i < NROUTES && !q->rt; i++)
            if (!strcmp(url, routes[i].path)) {
                known = 1;
                if (!strcmp(method, routes[i].method))
                    q->rt = &routes[i];
            }
        if (!q->rt)
            return refuse(q, known ? 405 : 404, known ? "method not allowed" : "not found");
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoll(cl, NULL, 10) > s->max_upload) {
            char m[128];
            snprintf(m, sizeof m, "upload too large: %s bytes, at most %lld", cl, s->max_upload);
            return refuse(q, 413, m);
        }
        if (q->rt->upload) {
            q->pp = MHD_create_post_processor(conn, 64 * 1024, on_part, q);
            if (!q->pp)
                return refuse(q, 400, "expected a multipart/form-data body");
        }
        return MHD_YES;
    }
    if (q->r.status) { /* answered in the first call: its body is not ours to read */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) { /* a piece of the body */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        q->got += (long long)n;
        if (q->got > s->max_upload) {
            refuse_upload(q, 413, "upload too large: more than %lld bytes", s->max_upload);
            /* a body without a Content-Length that goes on past the cap: drop the connection
             * rather than read it all */
            if (q->got > 2 * s->max_upload + (1 << 20))
                return MHD_NO;
        } else if (q->pp && !q->err && MHD_post_process(q->pp, upload_data, n) != MHD_YES) {
            refuse_upload(q, 400, "malformed multipart body");
        }
        return MHD_YES;
    }
    /* the whole request is in */
    if (q->fd >= 0) {
        close(q->fd);
        q->fd = -1;
    }
    if (q->pp) {
        /* it says MHD_NO when the body stopped inside a part (no closing boundary) */
        if (MHD_destroy_post_processor(q->pp) != MHD_YES)
            refuse_upload(q, 400, "malformed multipart body (incomplete)");
        q->pp = NULL;
    }
    if (q->err)
        return refuse(q, q->err, q->msg);
    q->r.fields_user = q->has_user ? q->user : NULL;
    q->r.fields_style = q->has_style ? q->style : NULL;
    q->rt->fn(&q->r);
    return send_answer(q);
}

/* After the answer went out (or the connection dropped): the request's files go. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    rq *q = *con_cls;
    if (!q)
        return;
    if (q->pp)
        MHD_destroy_post_processor(q->pp);
    if (q->fd >= 0)
        close(q->fd);
    for (int i = 0; i < q->r.nfiles; i++)
        ps_serve_spool_remove(q->r.files[i]);
    free(q->r.body);
    free(q);
    *con_cls = NULL;
}

struct MHD_Daemon *ps_serve_start(ps_serve *s, int listen_fd)
{
    /* one thread per connection: a learn or a full-size render blocks only its own request */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)PS_SERVE_MAX_CONN,
        MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    if (!d)
        fprintf(stderr, "pstyle: serve: libmicrohttpd did not start\n");
    return d;
}

void ps_serve_stop(struct MHD_Daemon *d)
{
    if (d)
        MHD_stop_daemon(d);
}
