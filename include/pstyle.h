/* pstyle — learn a visual style from a few images and paint new photos in it.
 *
 * The public C API: link with `pkg-config --cflags --libs pstyle`.
 *
 *   ps_model *m; ps_style *s; ps_image *in, *out;
 *   const char *samples[] = {"a.jpg", "b.jpg"};
 *   if (ps_model_open(&m, NULL) ||                       // NULL: the shipped model, built in
 *       ps_style_learn_files(m, samples, 2, -1, &s) ||   // -1: the model's own inner steps
 *       ps_image_load("photo.jpg", &in) ||
 *       ps_apply(m, s, in, &(ps_dials){1, 1, 1}, &out) || // colour, texture, stroke
 *       ps_image_save(out, "styled.png", 0))
 *       fprintf(stderr, "%s\n", ps_last_error());
 *   ps_image_free(in); ps_image_free(out); ps_style_free(s); ps_model_close(m);
 *
 * A complete program is examples/learn_apply.c.
 *
 * Errors: every call that input can make fail returns a ps_status and leaves a message for
 * ps_last_error() ("<what>: <why>", per thread). The library never exits and never prints. The
 * status values are also the pstyle command's exit codes.
 *
 * Threads: all handles are plain data with no hidden global state, so different handles may be
 * used from different threads at once. One ps_model may be shared by any number of threads
 * calling ps_apply; ps_style_learn* briefly changes the model's gradient bookkeeping, so calls
 * that learn must not overlap other calls on the same model (give each learning thread its own
 * model, or serialise). A ps_store is one connection: use it from one thread at a time (open one
 * per thread; SQLite's own locking makes concurrent processes and handles safe). Images and
 * styles are read-only once made and may be shared. Computation uses OpenMP and OpenBLAS
 * threads; PSTYLE_THREADS (or OMP_NUM_THREADS) caps them. */
#ifndef PSTYLE_H
#define PSTYLE_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PS_API __attribute__((visibility("default")))
#else
#define PS_API
#endif

typedef enum ps_status {
    PS_OK = 0,
    PS_EUSAGE = 1,    /* bad command line or API misuse */
    PS_EINPUT = 2,    /* bad image, unknown user, bad or mismatched model file */
    PS_ESTORE = 3,    /* database missing, locked, corrupt, read-only, full */
    PS_EINTERNAL = 4, /* out of memory, bug */
} ps_status;

/* Message of the last failure on this thread ("<what>: <why>"); never NULL. */
PS_API const char *ps_last_error(void);
/* Record a failure (printf-style) and return st, so callers can `return ps_fail(PS_EINPUT, ...)`. */
PS_API ps_status ps_fail(ps_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Library version string, e.g. "0.1.0". */
PS_API const char *ps_version(void);

/* ---- the three groups a style is made of, and the dial of each ---------------------------- */
typedef enum ps_group { PS_COLOR = 0, PS_TEXTURE = 1, PS_STROKE = 2, PS_NGROUPS = 3 } ps_group;
/* Each dial is a real in [0, 2]: 0 keeps the photo's own colour / texture / stroke exactly,
 * 1 is the learned style, above 1 exaggerates it. All three at 0 give back the photo bit for bit.
 * Up to PS_DIAL_MAX is accepted (the pstyle command's dial at --strength 2). */
typedef struct ps_dials {
    float color, texture, stroke;
} ps_dials;
#define PS_DIAL_MAX 4.0

/* ---- images --------------------------------------------------------------------------------- */
typedef struct ps_image ps_image; /* opaque: decoded pixels (RGB or RGBA), any size */

/* Decode a JPEG, PNG (8 or 16 bit), BMP or TGA file; EXIF orientation applied. Hostile files
 * are refused with PS_EINPUT (corrupt, truncated, decompression bombs, more than 50 MP). */
PS_API ps_status ps_image_load(const char *path, ps_image **out);
/* From 8-bit sRGB pixels in memory: w x h pixels of `channels` bytes (1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA), rows `stride` bytes apart (0: w * channels). The pixels are copied. */
PS_API ps_status ps_image_from_pixels(ps_image **out, const uint8_t *px, int w, int h,
                                      int channels, size_t stride);
PS_API int ps_image_width(const ps_image *im);
PS_API int ps_image_height(const ps_image *im);
PS_API int ps_image_has_alpha(const ps_image *im);
/* Copy out as 8-bit sRGB, `channels` 3 (RGB) or 4 (RGBA; alpha 255 where there is none), rows
 * `stride` bytes apart (0: w * channels); dst holds at least stride * h bytes. */
PS_API ps_status ps_image_pixels(const ps_image *im, uint8_t *dst, int channels, size_t stride);
/* Write by extension: .png (keeps alpha) or .jpg / .jpeg (quality 1..100, 0 = 92). Atomic: a
 * crash or a full disk never leaves half a file. */
PS_API ps_status ps_image_save(const ps_image *im, const char *path, int jpeg_quality);
PS_API void ps_image_free(ps_image *im); /* NULL is fine */

/* ---- the model ------------------------------------------------------------------------------ */
typedef struct ps_model ps_model; /* opaque: the trained encoder + generator */

/* Open a model file (.psm); path NULL is the model shipped inside the library. A bad, truncated
 * or foreign file is PS_EINPUT and never crashes. */
PS_API ps_status ps_model_open(ps_model **out, const char *path);
PS_API void ps_model_close(ps_model *m); /* NULL is fine */
/* The 16-hex-digit hash of the model file, recorded in the styles it learns. */
PS_API const char *ps_model_hash(const ps_model *m);

/* ---- styles --------------------------------------------------------------------------------- */
typedef struct ps_style ps_style; /* opaque: what learn finds; stored per user in a ps_store */
#define PS_STYLE_MAX_SAMPLES 10

/* Learn a style from k (1..PS_STYLE_MAX_SAMPLES) sample images with `steps` learn-time
 * refinement steps (-1: the model's default). */
PS_API ps_status ps_style_learn(ps_model *m, const ps_image *const *samples, int k, int steps,
                                ps_style **out);
/* The same from files; the style also records each file's name, size, SHA-256 and a thumbnail,
 * so that ps_store_put keeps them and a later model can relearn it. */
PS_API ps_status ps_style_learn_files(ps_model *m, const char *const *paths, int k, int steps,
                                      ps_style **out);
/* The style in words and numbers, one line per group ("colour: ..."), NUL-terminated and cut
 * to fit n bytes; returns the length it needed (as snprintf). */
PS_API size_t ps_style_describe(const ps_style *s, char *buf, size_t n);
PS_API void ps_style_free(ps_style *s); /* NULL is fine */

/* Paint `in` in style s at dials d (NULL: all 1) into a new image of the same size and alpha.
 * A style learned by this library is painted by its program alone, so m may be NULL (loading a
 * model costs about 18 ms); a style of tokens alone (learned before programs) needs the model it
 * was learned with: with NULL it is refused with PS_EUSAGE, with another model's with
 * PS_EINPUT. */
PS_API ps_status ps_apply(ps_model *m, const ps_style *s, const ps_image *in, const ps_dials *d,
                          ps_image **out);
/* ps_image_load, ps_apply and ps_image_save in one, from the file at `in` to the file at `out`
 * (by its extension, as ps_image_save), keeping what `pstyle apply` keeps of the input: EXIF
 * (orientation reset, thumbnail dropped), the ICC profile, XMP, comments, a PNG's 16 bits. A
 * style's program paints the photo a band of rows at a time, so memory stays near 3 bytes a
 * pixel (the decoded file) instead of the 12 a ps_image holds. */
PS_API ps_status ps_apply_file(ps_model *m, const ps_style *s, const char *in, const char *out,
                               const ps_dials *d, int jpeg_quality);

/* ---- the style store (SQLite) ------------------------------------------------------------- */
typedef struct ps_store ps_store; /* opaque: one connection; one thread at a time */
#define PS_STORE_NAME_MAX 64      /* users and styles: 1..64 characters of [A-Za-z0-9._-] */
#define PS_STORE_HASH_LEN 16
#define PS_STORE_DEFAULT_STYLE "default"
enum {
    PS_STORE_READONLY = 1, /* never writes; works on a read-only file */
    PS_STORE_CREATE = 2,   /* create the file (0600) and its folders (0700) if missing */
};
/* Open the store at path; NULL is $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db (else
 * ~/.local/share/pstyle/styles.db). A file that is not SQLite, not pstyle's, from a newer
 * pstyle, locked beyond the busy timeout, or missing (without PS_STORE_CREATE) is PS_ESTORE and
 * is left untouched. Older schemas are migrated (unless READONLY). */
PS_API ps_status ps_store_open(ps_store **out, const char *path, int flags);
PS_API void ps_store_close(ps_store *db); /* NULL is fine */
/* Store s as the next version of user's style `name` (NULL: "default"), samples and
 * thumbnails included, in one transaction; *version (may be NULL) gets its number. */
PS_API ps_status ps_store_put(ps_store *db, const char *user, const char *name, const ps_style *s,
                              int *version);
/* Load one version (0: the newest) of user's style `name` (NULL: "default"). Unknown users,
 * styles or versions are PS_EINPUT. */
PS_API ps_status ps_store_get(ps_store *db, const char *user, const char *name, int version,
                              ps_style **out);
/* One row of ps_store_list: a version of a style. */
typedef struct ps_store_row {
    char user[PS_STORE_NAME_MAX + 1];
    char style[PS_STORE_NAME_MAX + 1];
    int version;
    int n_versions;                     /* versions of this style */
    char model_hash[PS_STORE_HASH_LEN + 1];
    int shots;
    int n_samples, n_thumbs;            /* samples stored, and how many have a thumbnail */
    int64_t created_at;                 /* unix seconds */
    int has_program;                    /* 0: learned before style programs */
} ps_store_row;
/* Rows ordered by user, style, version into a malloc'ed array (free() it). user NULL: everyone;
 * style NULL: all styles; latest_only keeps each style's newest version. An unknown user or
 * style is PS_EINPUT. */
PS_API ps_status ps_store_list(ps_store *db, const char *user, const char *style, int latest_only,
                               ps_store_row **rows, int *n);
/* Delete a user (style NULL) or one style, every version, sample and thumbnail, and give the
 * space back to the disk (the file keeps no trace); works on a full disk. */
PS_API ps_status ps_store_forget(ps_store *db, const char *user, const char *style);

#ifdef __cplusplus
}
#endif
#endif
