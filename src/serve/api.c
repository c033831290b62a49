/* pstyle serve, the handlers: the store's styles and samples, photos decoded once and kept in
 * memory (full size and a preview copy), the program painted per slider move, and learn as a
 * child `pstyle learn` on the spooled uploads. Every answer is JSON or an image. */
#include "src/serve/serve.h"
#include "src/api/api.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct ps_serve_photo {
    char id[24];
    char name[PS_SERVE_NAME_MAX]; /* the client's file name, sanitized */
    ps_image full, prev; /* linear RGB[A]; prev's long side <= PS_SERVE_PREVIEW_PX */
    int refs;            /* requests using it; evicted ones are freed when the last one ends */
    int dead;
    unsigned long long used;
};

/* ---- photos ------------------------------------------------------------------------------ */
static void photo_free(ps_serve_photo *p)
{
    ps_img_free(&p->full);
    ps_img_free(&p->prev);
    free(p);
}

static long long photo_px(const ps_serve_photo *p)
{
    return (long long)p->full.w * p->full.h;
}

/* The photo with that id, held until photo_put; NULL if unknown (or evicted). */
static ps_serve_photo *photo_get(ps_serve *s, const char *id)
{
    ps_serve_photo *p = NULL;
    pthread_mutex_lock(&s->photo_lock);
    for (int i = 0; i < PS_SERVE_PHOTOS && id; i++)
        if (s->photos[i] && !strcmp(s->photos[i]->id, id)) {
            p = s->photos[i];
            p->refs++;
            p->used = ++s->seq;
        }
    pthread_mutex_unlock(&s->photo_lock);
    return p;
}

static void photo_put(ps_serve *s, ps_serve_photo *p)
{
    pthread_mutex_lock(&s->photo_lock);
    int gone = --p->refs == 0 && p->dead;
    pthread_mutex_unlock(&s->photo_lock);
    if (gone)
        photo_free(p);
}

/* Keep p, evicting the least recently used photos until it fits the table and the pixel budget
 * (so held photos never take more than one photo at the cap would). */
static void photo_add(ps_serve *s, ps_serve_photo *p)
{
    pthread_mutex_lock(&s->photo_lock);
    snprintf(p->id, sizeof p->id, "p%llu", ++s->seq);
    p->used = s->seq;
    for (;;) {
        long long px = photo_px(p);
        int n = 0, lru = -1, free_slot = -1;
        for (int i = 0; i < PS_SERVE_PHOTOS; i++) {
            if (!s->photos[i]) {
                free_slot = i;
                continue;
            }
            n++;
            px += photo_px(s->photos[i]);
            if (lru < 0 || s->photos[i]->used < s->photos[lru]->used)
                lru = i;
        }
        if (free_slot >= 0 && (px <= PS_SERVE_HELD_PIXELS || n == 0)) {
            s->photos[free_slot] = p;
            break;
        }
        ps_serve_photo *old = s->photos[lru];
        s->photos[lru] = NULL;
        old->dead = 1;
        if (old->refs == 0)
            photo_free(old);
    }
    pthread_mutex_unlock(&s->photo_lock);
}

void ps_serve_photos_free(ps_serve *s)
{
    for (int i = 0; i < PS_SERVE_PHOTOS; i++)
        if (s->photos[i]) {
            photo_free(s->photos[i]);
            s->photos[i] = NULL;
        }
}

/* ---- encoders ---------------------------------------------------------------------------- */
typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr ci)
{
    longjmp(((jerr *)ci->err)->jb, 1); /* libjpeg's own error_exit would exit() */
}

/* img (alpha dropped) as a JPEG of quality q in a malloc'd buffer. */
static ps_status encode_jpeg(const ps_image *img, int q, unsigned char **out, size_t *len)
{
    unsigned char *rgb = malloc((size_t)img->w * img->h * 3);
    if (!rgb)
        return ps_fail(PS_EINTERNAL, "out of memory for a %dx%d image", img->w, img->h);
    ps_img_to_rgba8(img, rgb, 3);
    struct jpeg_compress_struct ci;
    jerr je;
    unsigned char *volatile buf = NULL;
    unsigned long n = 0;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    if (setjmp(je.jb)) {
        jpeg_destroy_compress(&ci);
        free(rgb);
        free(buf);
        return ps_fail(PS_EINTERNAL, "JPEG encoder failed");
    }
    jpeg_create_compress(&ci);
    unsigned char *b = NULL;
    jpeg_mem_dest(&ci, &b, &n);
    ci.image_width = (JDIMENSION)img->w;
    ci.image_height = (JDIMENSION)img->h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, q, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = rgb + (size_t)ci.next_scanline * img->w * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    buf = b;
    jpeg_destroy_compress(&ci);
    free(rgb);
    *out = buf;
    *len = n;
    return PS_OK;
}

/* The answer is the image: JPEG (quality 90) or PNG (alpha kept). */
static void answer_image(ps_serve_req *r, const ps_image *img, int png)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    ps_status st = png ? ps_img_encode_png(img, &buf, &len) : encode_jpeg(img, 90, &buf, &len);
    if (st) {
        ps_serve_error(r, 500, "%s", ps_last_error());
        return;
    }
    r->body = buf;
    r->len = len;
    r->status = 200;
    r->type = png ? "image/png" : "image/jpeg";
}

/* ---- arguments --------------------------------------------------------------------------- */
/* A name argument (user, style) that the store accepts; the style defaults to "default". 0 ok,
 * else the answer is the error. */
static int arg_name(ps_serve_req *r, const char *key, const char *val, ps_store_name_kind kind)
{
    if (!val || !*val) {
        if (kind == PS_NAME_STYLE)
            return 0;
        ps_serve_error(r, 400, "'%s' is required", key);
        return -1;
    }
    if (ps_store_check_name(kind, val)) {
        ps_serve_error(r, 400, "%s", ps_last_error());
        return -1;
    }
    return 0;
}

static int arg_real(ps_serve_req *r, const char *key, double lo, double hi, double dflt,
                    double *out)
{
    const char *v = ps_serve_arg(r, key);
    char *end;
    *out = dflt;
    if (!v)
        return 0;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < lo || x > hi) {
        ps_serve_error(r, 400, "'%s' wants a number in [%g, %g], not '%s'", key, lo, hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* A store that does not exist yet (before the first learn) reads as empty. */
static int store_missing(const ps_serve *s)
{
    struct stat sb;
    return stat(s->db, &sb) != 0 && errno == ENOENT;
}

static int store_status(ps_status st)
{
    return st == PS_EINPUT ? 404 : st == PS_EUSAGE ? 400 : 500;
}

/* The style the request names (user, style, version: 0 or none = latest), with its samples
 * when samples is not NULL. 0 ok, else the answer is the error. */
static int load_style(ps_serve_req *r, ps_style_rec *rec, ps_sample_rec **samples, int *n)
{
    const char *user = ps_serve_arg(r, "user"), *style = ps_serve_arg(r, "style");
    double version;
    if (arg_name(r, "user", user, PS_NAME_USER) || arg_name(r, "style", style, PS_NAME_STYLE) ||
        arg_real(r, "version", 0, 1e9, 0, &version))
        return -1;
    if (version != floor(version)) {
        ps_serve_error(r, 400, "'version' wants a whole number");
        return -1;
    }
    if (store_missing(r->s)) {
        ps_serve_error(r, 404, "unknown user '%s' (the store has no styles yet)", user);
        return -1;
    }
    ps_store *db = NULL;
    ps_status st = ps_store_open(&db, r->s->db, PS_STORE_READONLY);
    if (!st)
        st = ps_store_get_style(db, user, style, (int)version, rec, samples, n);
    ps_store_close(db);
    if (st) {
        ps_serve_error(r, store_status(st), "%s", ps_last_error());
        return -1;
    }
    return 0;
}

/* ---- handlers ---------------------------------------------------------------------------- */
void ps_serve_api_styles(ps_serve_req *r)
{
    ps_store_row *rows = NULL;
    int n = 0;
    char db[8400];
    if (!store_missing(r->s)) {
        ps_store *h = NULL;
        ps_status st = ps_store_open(&h, r->s->db, PS_STORE_READONLY);
        if (!st)
            st = ps_store_list(h, NULL, NULL, 1, &rows, &n);
        ps_store_close(h);
        if (st) {
            ps_serve_error(r, 500, "%s", ps_last_error());
            return;
        }
    }
    size_t cap = 256 + (size_t)n * 400 + sizeof db, o = 0;
    char *out = malloc(cap);
    if (!out) {
        free(rows);
        ps_serve_error(r, 500, "out of memory");
        return;
    }
    o += (size_t)snprintf(out + o, cap - o,
                          "{\"db\":%s,\"preview_px\":%d,\"max_upload\":%lld,\"max_files\":%d,"
                          "\"styles\":[", ps_serve_jstr(db, sizeof db, r->s->db),
                          PS_SERVE_PREVIEW_PX, r->s->max_upload, PS_SERVE_MAX_FILES);
    for (int i = 0; i < n; i++) /* names are [A-Za-z0-9._-]: no escaping needed */
        o += (size_t)snprintf(out + o, cap - o,
                              "%s{\"user\":\"%s\",\"style\":\"%s\",\"version\":%d,\"versions\":%d,"
                              "\"shots\":%d,\"samples\":%d,\"thumbnails\":%d,\"created_at\":%lld,"
                              "\"program\":%s}", i ? "," : "", rows[i].user, rows[i].style,
                              rows[i].version, rows[i].n_versions, rows[i].shots,
                              rows[i].n_samples, rows[i].n_thumbs, (long long)rows[i].created_at,
                              rows[i].has_program ? "true" : "false");
    snprintf(out + o, cap - o, "]}");
    free(rows);
    r->body = (unsigned char *)out;
    r->len = strlen(out);
    r->status = 200;
    r->type = "application/json";
}

void ps_serve_api_samples(ps_serve_req *r)
{
    ps_style_rec rec = {0};
    ps_sample_rec *sm = NULL;
    int n = 0;
    if (load_style(r, &rec, &sm, &n))
        return;
    char desc[2048] = "learned before style programs: painted by the network", esc[4200];
    ps_prog prog;
    if (rec.n_program && ps_prog_unpack(&prog, rec.program, rec.n_program) == PS_OK)
        ps_prog_describe(&prog, desc, sizeof desc);
    char nesc[6 * PS_STORE_SAMPLE_NAME_MAX + 3];
    size_t cap = 4600 + (size_t)n * (160 + sizeof nesc), o = 0;
    char *out = malloc(cap);
    if (out) {
        o += (size_t)snprintf(out + o, cap - o,
                              "{\"user\":\"%s\",\"style\":\"%s\",\"version\":%d,\"program\":%s,"
                              "\"samples\":[", rec.user, rec.style, rec.version,
                              ps_serve_jstr(esc, sizeof esc, desc));
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(out + o, cap - o,
                                  "%s{\"i\":%d,\"name\":%s,\"width\":%d,\"height\":%d,"
                                  "\"bytes\":%lld,\"thumbnail\":%s}", i ? "," : "", i,
                                  sm[i].name[0] ? ps_serve_jstr(nesc, sizeof nesc, sm[i].name)
                                                : "null",
                                  sm[i].width, sm[i].height, (long long)sm[i].size,
                                  sm[i].thumb_len ? "true" : "false");
        snprintf(out + o, cap - o, "]}");
        r->body = (unsigned char *)out;
        r->len = strlen(out);
        r->status = 200;
        r->type = "application/json";
    } else {
        ps_serve_error(r, 500, "out of memory");
    }
    ps_store_samples_free(sm, n);
    ps_store_style_free(&rec);
}

void ps_serve_api_thumb(ps_serve_req *r)
{
    ps_style_rec rec = {0};
    ps_sample_rec *sm = NULL;
    int n = 0;
    double i;
    if (arg_real(r, "i", 0, PS_SERVE_MAX_FILES - 1, 0, &i) || load_style(r, &rec, &sm, &n))
        return;
    int k = (int)i;
    if (k != i || k >= n || !sm[k].thumb_len) {
        ps_serve_error(r, 404, "%s/%s v%d has no thumbnail %s", rec.user, rec.style, rec.version,
                       ps_serve_arg(r, "i") ? ps_serve_arg(r, "i") : "0");
    } else if ((r->body = malloc(sm[k].thumb_len))) {
        memcpy(r->body, sm[k].thumb, sm[k].thumb_len);
        r->len = sm[k].thumb_len;
        r->status = 200;
        r->type = "image/png"; /* learn encodes thumbnails as PNG */
    } else {
        ps_serve_error(r, 500, "out of memory");
    }
    ps_store_samples_free(sm, n);
    ps_store_style_free(&rec);
}

void ps_serve_api_photo(ps_serve_req *r)
{
    if (r->nfiles != 1) {
        ps_serve_error(r, 400, "send one image file (multipart field 'photo'), not %d", r->nfiles);
        return;
    }
    ps_serve_photo *p = calloc(1, sizeof *p);
    unsigned char *bytes = NULL;
    size_t len = 0;
    ps_status st = p ? PS_OK : ps_fail(PS_EINTERNAL, "out of memory");
    /* decoded under the client's name, so that errors name its file, not ours; the image
     * module's caps (file bytes, pixels, sides) apply before anything large is allocated */
    if (!st && !(st = ps_img_read_file(r->files[0], &bytes, &len)))
        st = ps_img_load_mem(bytes, len, r->names[0], &p->full);
    free(bytes);
    ps_serve_spool_remove(r->files[0]); /* decoded: the spooled copy is not needed any more */
    if (!st)
        st = ps_img_fit(&p->full, &p->prev, PS_SERVE_PREVIEW_PX);
    if (st) {
        ps_serve_error(r, st == PS_EINPUT ? 400 : 500, "%s", ps_last_error());
        if (p)
            photo_free(p);
        return;
    }
    snprintf(p->name, sizeof p->name, "%s", r->names[0]);
    int w = p->full.w, h = p->full.h, pw = p->prev.w, ph = p->prev.h;
    photo_add(r->s, p);
    char esc[6 * PS_SERVE_NAME_MAX + 3];
    ps_serve_json(r, "{\"photo\":\"%s\",\"name\":%s,\"width\":%d,\"height\":%d,"
                     "\"preview_width\":%d,\"preview_height\":%d}", p->id,
                  ps_serve_jstr(esc, sizeof esc, r->names[0]), w, h, pw, ph);
}

/* A download's Content-Disposition: <stem>.<user>.png, as apply names it. The name is UTF-8
 * (clean_name), which a header's quoted filename cannot carry: that one gets '_' for every byte
 * outside printable ASCII and for '"' and '\\', and filename* (RFC 6266, RFC 8187) the name
 * itself, percent-encoded. */
static void download_name(ps_serve_req *r, const char *name, const char *user)
{
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char ascii[PS_SERVE_NAME_MAX], pct[3 * PS_SERVE_NAME_MAX + 1];
    size_t a = 0, o = 0;
    for (size_t i = 0; i < stem; i++) {
        unsigned char c = (unsigned char)name[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
        ascii[a++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '_';
        o += (size_t)snprintf(pct + o, sizeof pct - o, plain ? "%c" : "%%%02X", c);
    }
    ascii[a] = 0;
    snprintf(r->disposition, sizeof r->disposition,
             "attachment; filename=\"%s.%s.png\"; filename*=UTF-8''%s.%s.png", ascii, user, pct,
             user);
}

/* The photo the request names and which of its copies ("preview", the default, or "full"). */
static ps_serve_photo *arg_photo(ps_serve_req *r, int *full)
{
    const char *size = ps_serve_arg(r, "size");
    if (size && strcmp(size, "preview") && strcmp(size, "full")) {
        ps_serve_error(r, 400, "'size' is 'preview' or 'full', not '%s'", size);
        return NULL;
    }
    *full = size && !strcmp(size, "full");
    ps_serve_photo *p = photo_get(r->s, ps_serve_arg(r, "photo"));
    if (!p)
        ps_serve_error(r, 404, "unknown photo (send it again: the server keeps the last %d)",
                       PS_SERVE_PHOTOS);
    return p;
}

void ps_serve_api_original(ps_serve_req *r)
{
    int full;
    ps_serve_photo *p = arg_photo(r, &full);
    if (!p)
        return;
    if (full)
        pthread_mutex_lock(&r->s->big_lock);
    answer_image(r, full ? &p->full : &p->prev, 0);
    if (full)
        pthread_mutex_unlock(&r->s->big_lock);
    photo_put(r->s, p);
}

void ps_serve_api_apply(ps_serve_req *r)
{
    double t0 = 1e3 * ps_clock_s(), wgt[3], strength;
    const char *fmt = ps_serve_arg(r, "format");
    if (arg_real(r, "color", 0, 2, 1, &wgt[0]) || arg_real(r, "texture", 0, 2, 1, &wgt[1]) ||
        arg_real(r, "stroke", 0, 2, 1, &wgt[2]) || arg_real(r, "strength", 0, 2, 1, &strength))
        return;
    if (fmt && strcmp(fmt, "jpg") && strcmp(fmt, "png")) {
        ps_serve_error(r, 400, "'format' is 'jpg' or 'png', not '%s'", fmt);
        return;
    }
    int png = fmt && !strcmp(fmt, "png"), full = 0;
    ps_style_rec rec = {0};
    if (load_style(r, &rec, NULL, NULL))
        return;
    ps_prog prog;
    const ps_style sty = {.rec = rec}; /* borrowed: rec is freed below */
    ps_status st = ps_style_ready(&r->s->model, &sty, &prog);
    if (st)
        ps_serve_error(r, 409, "%s", ps_last_error());
    ps_serve_photo *p = st ? NULL : arg_photo(r, &full);
    if (!p) {
        ps_store_style_free(&rec);
        return;
    }
    const ps_dials dials = {(float)(wgt[PS_COLOR] * strength), (float)(wgt[PS_TEXTURE] * strength),
                            (float)(wgt[PS_STROKE] * strength)};
    ps_image out = {0};
    if (full)
        pthread_mutex_lock(&r->s->big_lock);
    double t1 = 1e3 * ps_clock_s();
    if (rec.n_program) {
        st = ps_prog_apply(&prog, full ? &p->full : &p->prev, &dials, &out);
    } else { /* the network shares the model and BLAS's threads: one at a time */
        pthread_mutex_lock(&r->s->net_lock);
        st = ps_model_apply(&r->s->model, rec.tokens, NULL, full ? &p->full : &p->prev, &dials,
                            &out);
        pthread_mutex_unlock(&r->s->net_lock);
    }
    double t2 = 1e3 * ps_clock_s();
    if (st)
        ps_serve_error(r, 500, "%s", ps_last_error());
    else
        answer_image(r, &out, png);
    if (full)
        pthread_mutex_unlock(&r->s->big_lock);
    if (!st && png)
        download_name(r, p->name, rec.user);
    fprintf(stderr, "apply %s/%s v%d %dx%d %s: paint %.1f ms, all %.1f ms\n", rec.user, rec.style,
            rec.version, out.w, out.h, png ? "png" : "jpg", t2 - t1, 1e3 * ps_clock_s() - t0);
    ps_img_free(&out);
    photo_put(r->s, p);
    ps_store_style_free(&rec);
}

/* ---- learn ------------------------------------------------------------------------------- */
/* msg with every temporary path replaced by the client's file name. */
static void unspool(const ps_serve_req *r, const char *msg, char *out, size_t n)
{
    size_t o = 0;
    while (*msg && o + 1 < n) {
        int hit = -1;
        for (int i = 0; i < r->nfiles && hit < 0; i++) /* no path is the start of another's */
            if (!strncmp(msg, r->files[i], strlen(r->files[i])))
                hit = i;
        if (hit >= 0) {
            o += (size_t)snprintf(out + o, n - o, "%s", r->names[hit]);
            msg += strlen(r->files[hit]);
        } else {
            out[o++] = *msg++;
        }
    }
    out[o < n ? o : n - 1] = 0;
}

void ps_serve_api_learn(ps_serve_req *r)
{
    const char *user = r->fields_user, *style = r->fields_style;
    if (arg_name(r, "user", user, PS_NAME_USER) || arg_name(r, "style", style, PS_NAME_STYLE))
        return;
    if (!style || !*style)
        style = PS_STORE_DEFAULT_STYLE;
    if (r->nfiles < 1) {
        ps_serve_error(r, 400, "send 1 to %d sample images (multipart field 'images')",
                       PS_SERVE_MAX_FILES);
        return;
    }
    char *argv[12 + PS_SERVE_MAX_FILES];
    int a = 0;
    argv[a++] = (char *)r->s->exe;
    argv[a++] = "learn";
    argv[a++] = "--user", argv[a++] = (char *)user;
    argv[a++] = "--style", argv[a++] = (char *)style;
    argv[a++] = "--db", argv[a++] = (char *)r->s->db;
    argv[a++] = "--model", argv[a++] = (char *)r->s->model_path;
    for (int i = 0; i < r->nfiles; i++)
        argv[a++] = r->files[i];
    argv[a] = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC)) {
        ps_serve_error(r, 500, "pipe: %s", strerror(errno));
        return;
    }
    /* the child gets the default signal mask: the server blocks SIGINT/SIGTERM in all threads
     * (cmd_serve.c waits for them), and a learn must stay interruptible */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none;
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    double t0 = 1e3 * ps_clock_s();
    int e = posix_spawn(&pid, r->s->exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(fds[1]);
    if (e) {
        close(fds[0]);
        ps_serve_error(r, 500, "%s: %s", r->s->exe, strerror(e));
        return;
    }
    char out[8192];
    size_t n = 0;
    for (;;) { /* all of its output, the last 8 KB kept */
        char buf[1024];
        ssize_t k = read(fds[0], buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        if (n + (size_t)k >= sizeof out) {
            size_t drop = n + (size_t)k - (sizeof out - 1);
            drop = drop > n ? n : drop;
            memmove(out, out + drop, n - drop);
            n -= drop;
        }
        size_t take = (size_t)k < sizeof out - 1 - n ? (size_t)k : sizeof out - 1 - n;
        memcpy(out + n, buf, take);
        n += take;
    }
    out[n] = 0;
    close(fds[0]);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
        ;
    while (n && out[n - 1] == '\n')
        out[--n] = 0;
    /* its last line says what happened; messages start "pstyle: " */
    const char *last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    if (!strncmp(last, "pstyle: ", 8))
        last += 8;
    char msg[2048], esc[4200];
    unspool(r, last, msg, sizeof msg);
    int code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + (WIFSIGNALED(wst) ? WTERMSIG(wst) : 0);
    if (code == 0)
        ps_serve_json(r, "{\"user\":\"%s\",\"style\":\"%s\",\"images\":%d,\"seconds\":%.2f,"
                         "\"message\":%s}", user, style, r->nfiles, (1e3 * ps_clock_s() - t0) / 1e3,
                      ps_serve_jstr(esc, sizeof esc, msg));
    else
        ps_serve_error(r, code == 1 || code == 2 ? 400 : code == 3 ? 503 : 500, "learn: %s",
                       code > 128 ? "stopped by a signal" : msg);
}
