/* pstyle serve: the three dials live in a local web page. An HTTP server (libmicrohttpd) on
 * 127.0.0.1 only, one thread per connection, every request carrying the launch's random token.
 * cmd_serve.c parses the command line and owns the process (signals, the temporary folder);
 * server.c is the HTTP side (token, routing, uploads spooled to the temporary folder); api.c the
 * handlers (styles, samples, photos, apply, learn); page.html the page, embedded at build time.
 *
 * Threads: photo uploads, previews and style reads run concurrently (the store opens one
 * read-only handle per request; ps_prog_apply keeps no state). Styles without a program run the
 * network, whose model and OpenBLAS/OpenMP threads are shared: those calls are serialized by a
 * mutex, and so are full-size renders (each may need 36 bytes a pixel of a 50 MP photo). Learn
 * runs `pstyle learn` as a child process on the spooled files, so its memory and threads are its
 * own and its code path is the command's. */
#ifndef PS_SERVE_H
#define PS_SERVE_H
#include "encoder/enc.h"
#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#define PS_SERVE_TOKEN_HEX 32     /* 128 random bits, as hex */
#define PS_SERVE_PREVIEW_PX 512   /* long side of the copy the sliders paint while dragging */
#define PS_SERVE_PHOTOS 4         /* decoded photos kept at once ... */
#define PS_SERVE_HELD_PIXELS PS_IMG_MAX_PIXELS /* ... and their pixels at most, together */
#define PS_SERVE_MAX_CONN 32      /* connections (threads) at once */

typedef struct ps_serve_photo ps_serve_photo;

typedef struct ps_serve {
    char token[PS_SERVE_TOKEN_HEX + 1];
    char cookie[32];              /* the cookie's name: per port, as cookies ignore ports */
    int port;
    long long max_upload;         /* bytes of one request body */
    const char *db, *model_path, *exe, *tmpdir;
    ps_model model;               /* loaded once, for styles without a program */
    pthread_mutex_t net_lock;     /* the network (shared model, BLAS threads) */
    pthread_mutex_t big_lock;     /* full-size renders, one at a time */
    pthread_mutex_t photo_lock;   /* the photo table and the upload counter */
    ps_serve_photo *photos[PS_SERVE_PHOTOS];
    unsigned long long seq;       /* upload and photo counter */
} ps_serve;

/* ---- server.c ---------------------------------------------------------------------------- */
struct MHD_Daemon;
/* Start serving on listen_fd (bound to 127.0.0.1 and listening). NULL with a message on stderr. */
struct MHD_Daemon *ps_serve_start(ps_serve *s, int listen_fd);
void ps_serve_stop(struct MHD_Daemon *d);

/* A request as the handlers see it: the query (and multipart text fields) by name, the uploaded
 * files spooled into the temporary folder, and what the handler answers. Each upload is spooled
 * as tmpdir/upN/NAME, under the client's own (sanitized) name, so that `pstyle learn` on it
 * records that name for the sample and names it in its messages. */
#define PS_SERVE_MAX_FILES 10     /* PS_LEARN_MAX_SHOTS */
#define PS_SERVE_NAME_MAX 128     /* bytes of an upload's name, its NUL included */
typedef struct ps_serve_req {
    ps_serve *s;
    struct MHD_Connection *conn;
    const char *fields_user, *fields_style;   /* multipart text fields (or NULL) */
    int nfiles;
    char files[PS_SERVE_MAX_FILES][PATH_MAX]; /* paths in the temporary folder */
    /* the client's file names, sanitized: the base name (after any '/' or '\\'), valid UTF-8 with
     * no control characters, cut to fit at a character boundary with the extension kept */
    char names[PS_SERVE_MAX_FILES][PS_SERVE_NAME_MAX];
    /* the answer */
    int status;
    const char *type;                         /* Content-Type */
    unsigned char *body;                      /* malloc'd */
    size_t len;
    char disposition[4 * PS_SERVE_NAME_MAX + 2 * PS_STORE_NAME_MAX + 96]; /* Content-Disposition, or "" */
} ps_serve_req;
/* Remove a spooled upload, the file and its folder (nothing when they are gone already). */
void ps_serve_spool_remove(const char *path);
const char *ps_serve_arg(const ps_serve_req *r, const char *key); /* query value or NULL */
/* JSON answers: {"error": msg} with status, or body as given (printf-style, 200). */
void ps_serve_error(ps_serve_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ps_serve_json(ps_serve_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s JSON-escaped (with its quotes) into buf. */
const char *ps_serve_jstr(char *buf, size_t n, const char *s);

/* ---- api.c ------------------------------------------------------------------------------- */
void ps_serve_api_styles(ps_serve_req *r);   /* GET  /api/styles */
void ps_serve_api_samples(ps_serve_req *r);  /* GET  /api/samples?user&style&version */
void ps_serve_api_thumb(ps_serve_req *r);    /* GET  /api/thumb?user&style&version&i (PNG) */
void ps_serve_api_photo(ps_serve_req *r);    /* POST /api/photo (multipart: one image) */
void ps_serve_api_original(ps_serve_req *r); /* GET  /api/original?photo&size (JPEG) */
void ps_serve_api_apply(ps_serve_req *r);    /* GET  /api/apply?photo&user&style&version&color&
                                                texture&stroke&strength&size&format */
void ps_serve_api_learn(ps_serve_req *r);    /* POST /api/learn (multipart: user, style, images) */
void ps_serve_photos_free(ps_serve *s);

/* ---- page.html, embedded by the Makefile -------------------------------------------------- */
extern const unsigned char ps_serve_page[];
extern const unsigned long ps_serve_page_len;

#endif
