/* The ground floor: small pieces every other module uses, each in one place. It depends on
 * nothing but libc (and pstyle.h for the status codes); nothing here knows about images, models
 * or styles. Each file is its own small module with its own prefix:
 *   err.c    ps_fail / ps_last_error (pstyle.h): the returned-status half of the error model
 *   clock.c  ps_clock_   monotonic time
 *   buf.c    ps_buf_     growable byte buffer
 *   file.c   ps_file_    atomic file writes (temp file, fsync, rename, fsync the folder)
 *   json.c   ps_json_    streaming JSON writer */
#ifndef PS_BASE_H
#define PS_BASE_H
#include "pstyle.h"
#include <stdio.h>
/* OpenMP's thread queries; one thread where it is built without OpenMP (the fuzz build, whose
 * pragmas then do nothing). */
#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline int omp_get_max_threads(void) { return 1; }
#endif

/* Seconds on the monotonic clock (for durations only). */
double ps_clock_s(void);

/* One group's dial by index (sweeps over the groups). */
static inline void ps_dials_set(ps_dials *d, ps_group g, float v)
{
    if (g == PS_COLOR)
        d->color = v;
    else if (g == PS_TEXTURE)
        d->texture = v;
    else
        d->stroke = v;
}

/* A growable byte buffer. A failed allocation sets oom and makes later puts no-ops, so a writer
 * checks once at the end. Zero-initialise ({0}) to start; ps_buf_free leaves it zeroed. */
typedef struct ps_buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} ps_buf;
/* Append n bytes of src; src NULL only reserves the room (the caller fills p + len - n). */
void ps_buf_put(ps_buf *b, const void *src, size_t n);
/* Append v as `bytes` (1..8) little-endian bytes. */
void ps_buf_put_le(ps_buf *b, uint64_t v, int bytes);
void ps_buf_free(ps_buf *b);

/* Write a whole file atomically: a fresh temp file beside path (created 0666 & ~umask, named so
 * that any file name up to NAME_MAX works), filled by fill(fd, ctx), fsynced, renamed over path,
 * then the folder fsynced. Readers see the old file or the new one, never a mix, whatever
 * happens; on any failure the temp file is removed and path is untouched. SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT wait while the temp file exists (the default action would leave it behind).
 * fill returns 0 or an errno value (ENOSPC when a write stops short). Failures are reported as
 * `fail` (PS_EINPUT for an output the user named, PS_ESTORE for the store's files), with
 * "<path>: cannot write: disk full" for ENOSPC, EFBIG and EDQUOT, "<path>: cannot create a file in
 * <dir>: <why>", "<path>: cannot write: <why>"; ENOMEM is PS_EINTERNAL. */
typedef int (*ps_file_fill)(int fd, void *ctx);
ps_status ps_file_write_atomic(const char *path, ps_status fail, ps_file_fill fill, void *ctx);
/* The same with the bytes at hand. */
ps_status ps_file_write_bytes(const char *path, ps_status fail, const void *p, size_t n);
/* write(2) all of p, retrying short writes and EINTR: 0 or an errno value (ENOSPC when the
 * kernel accepts nothing more). */
int ps_file_write_all(int fd, const void *p, size_t n);

/* A streaming JSON writer: objects and arrays nest, commas and indentation are automatic; a key
 * is NULL inside arrays. Non-finite numbers are written as null. Strings are escaped per RFC 8259
 * (bytes that are not valid UTF-8 become U+FFFD, so the output always parses). */
#define PS_JSON_DEPTH 16
typedef struct ps_json {
    FILE *f;
    int depth;
    int count[PS_JSON_DEPTH]; /* members written so far at each level */
} ps_json;
void ps_json_init(ps_json *j, FILE *f);
void ps_json_begin(ps_json *j, const char *key, int array);
void ps_json_end(ps_json *j, int array);
void ps_json_num(ps_json *j, const char *key, double v);
void ps_json_int(ps_json *j, const char *key, long long v);
void ps_json_bool(ps_json *j, const char *key, int v);
void ps_json_str(ps_json *j, const char *key, const char *s); /* s NULL: null */
/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
 * 0 if there is none; a NUL ends p (it is no continuation byte). */
int ps_json_utf8_len(const unsigned char *p);
/* Start a member (its separator and key) whose value the caller writes to j->f itself. */
void ps_json_key(ps_json *j, const char *key);
/* s as a JSON string literal, on its own. */
void ps_json_str_lit(FILE *f, const char *s);

#endif
