/* The style store: users' learned styles in one SQLite file (WAL, busy_timeout, foreign keys,
 * PRAGMA user_version migrations, only prepared statements). It keeps bytes and never runs a
 * model: learn/apply/relearn hand it finished token vectors, sample hashes and thumbnails.
 *
 *   ps_store *db;
 *   if (ps_store_open(&db, path, PS_STORE_CREATE)) return ps_last_error();
 *   ps_style_rec rec = {.user = "alice", .style = "default", ...};     // tokens, model hash, ...
 *   int v;
 *   ps_store_put_style(db, &rec, samples, n, &v);                      // one transaction -> v
 *   ps_store_get_style(db, "alice", "default", 0, &rec, NULL, NULL);   // 0 = latest version
 *   ps_store_style_free(&rec);
 *   ps_store_close(db);
 *
 * Errors: PS_ESTORE "<db path>: <why>" (locked, not a pstyle database, corrupt, read-only,
 * disk full, from a newer pstyle); PS_EINPUT for bad names and unknown users/styles/versions. */
#ifndef PS_STORE_H
#define PS_STORE_H
#include "src/base/base.h"
#include <stdint.h>

/* ps_store, its open/close/list/forget, ps_store_row and the name limits are public: pstyle.h. */

#define PS_STORE_SCHEMA 4        /* PRAGMA user_version this pstyle writes */
#define PS_STORE_SCHEMA_READ 3   /* the oldest schema a READONLY open reads without migrating */
#define PS_STORE_SAMPLE_NAME_MAX 255 /* bytes of a sample's file name (NAME_MAX) */
#define PS_STORE_MAX_FLOATS (1 << 22) /* cap on tokens / embedding floats read back */
#define PS_STORE_MAX_PROGRAM 65536    /* cap on a style program's floats */

/* Open flags beyond pstyle.h's READONLY and CREATE. */
enum { PS_STORE_FORGET = 4 /* for ps_store_forget: on a full disk, may spend the reserve */ };

/* ps_store_open (pstyle.h): open (and migrate to PS_STORE_SCHEMA unless READONLY). A file that is not SQLite, not pstyle's,
 * from a newer schema, or missing (without CREATE) is refused with PS_ESTORE and left untouched.
 * READONLY reads stores from PS_STORE_SCHEMA_READ on as they are (a schema-3 store's samples
 * have no names), so that apply, list and show work on a store no writer has migrated yet.
 * Without READONLY, a file with no write permission bit (chmod a-w) is refused as "read-only"
 * even for root. Writable opens also make the reserve (see ps_store_forget) when there is room.
 * learn opens with CREATE before its heavy work, so such stores fail fast;
 * apply opens READONLY, so it works on read-only stores. */
const char *ps_store_path(const ps_store *db);
/* The store a NULL path means: $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db when that is
 * absolute (the XDG spec ignores relative ones), else ~/.local/share/pstyle/styles.db; PS_ESTORE
 * without HOME, PS_EUSAGE when it does not fit n. */
ps_status ps_store_default_path(char *buf, size_t n);
int ps_store_readonly(const ps_store *db);

typedef enum { PS_NAME_USER, PS_NAME_STYLE } ps_store_name_kind;
/* PS_EINPUT "bad user name '...': ..." unless 1..64 chars of [A-Za-z0-9._-] (and not "." or ".."). */
ps_status ps_store_check_name(ps_store_name_kind kind, const char *name);

/* One version of one style. The caller owns tokens/settings/quality it passes in; records filled
 * by the store are released with ps_store_style_free. */
typedef struct ps_style_rec {
    char user[PS_STORE_NAME_MAX + 1];
    char style[PS_STORE_NAME_MAX + 1];  /* "" means PS_STORE_DEFAULT_STYLE on put */
    int version;                        /* filled by the store */
    char model_hash[PS_STORE_HASH_LEN + 1];
    int groups, tokens_per_group, dim;  /* e.g. 3 x 8 x 64; n floats = product */
    float *tokens;
    float *program;                     /* the style program's floats, as the model packs them;
                                           NULL/0: none (styles learned before schema 3) */
    int n_program;
    int shots;
    char *settings;                     /* learn settings, JSON text (may be NULL) */
    char *quality;                      /* quality figures from learn, JSON text (may be NULL) */
    int64_t created_at;                 /* unix seconds; 0 on put means now */
} ps_style_rec;

/* One sample image of a style. The caller hashes the original file's bytes (ps_store_sha256_hex)
 * and encodes the thumbnail (PNG, ~128 px long side); the store keeps both as given. */
typedef struct ps_sample_rec {
    char sha256[65];
    char name[PS_STORE_SAMPLE_NAME_MAX + 1]; /* the file's base name, no '/' and no control
                                                bytes; "" if unknown (before schema 4, pixels) */
    int64_t size;                       /* bytes of the original file */
    int width, height;                  /* of the original image */
    unsigned char *thumb;               /* encoded thumbnail; NULL/0 if none (older schema) */
    size_t thumb_len;
    float *embedding;                   /* per-image embedding (may be NULL/0) */
    int n_embedding;
} ps_sample_rec;

/* Store rec (and its samples) as the next version of rec->user/rec->style in ONE transaction
 * (BEGIN IMMEDIATE: concurrent writers queue on busy_timeout). *version gets the new number. */
ps_status ps_store_put_style(ps_store *db, const ps_style_rec *rec, const ps_sample_rec *samples,
                             int n_samples, int *version);
/* Load one version (0 = latest). style NULL/"" = "default". samples/n_samples may be NULL.
 * PS_EINPUT: "unknown user 'x'", "user 'x' has no style 'y'", "user 'x' style 'y' has no version N".
 * PS_ESTORE when the token blob fails its CRC. */
ps_status ps_store_get_style(ps_store *db, const char *user, const char *style, int version,
                             ps_style_rec *rec, ps_sample_rec **samples, int *n_samples);
void ps_store_style_free(ps_style_rec *rec);
void ps_store_samples_free(ps_sample_rec *samples, int n);

/* Metadata of one stored version, for list/show/relearn (no tokens decoded). */
/* ps_store_list and ps_store_row: pstyle.h. */

/* ps_store_forget (pstyle.h): delete a user (style NULL) or one style with all versions, samples, thumbnails and blobs, then
 * give the freed pages back to the disk (incremental vacuum, or VACUUM for stores made before
 * auto_vacuum) and truncate the WAL, so the file keeps no trace of them and shrinks.
 * Works on a full disk: writable opens keep a small "<db>-reserve" file beside the store (made
 * when there is room), which forget deletes when a write fails for lack of space, retries, and
 * makes again once it has given space back. Other writers never spend it. */

/* Export file: self-describing, versioned, CRC-checked (format in store_file.c). A bundle is
 * the in-memory form: every version of one user's styles with samples. */
typedef struct ps_store_bundle {
    char user[PS_STORE_NAME_MAX + 1];
    int n;                              /* style versions, oldest first per style */
    ps_style_rec *styles;
    ps_sample_rec **samples;            /* samples[i] has n_samples[i] entries */
    int *n_samples;
} ps_store_bundle;
/* Write user's styles (style NULL = all) to file (temp file + rename). */
ps_status ps_store_export(ps_store *db, const char *user, const char *style, const char *file);
/* Read and verify a file (magic, format version, every chunk's CRC, names): PS_EINPUT if bad. */
ps_status ps_store_bundle_read(const char *file, ps_store_bundle *b);
/* Add the versions of b as new versions (as_user NULL = b->user), in one transaction, keeping
 * their order, settings and created_at. A version identical to its style's latest stored
 * version (same model, tokens, shots and sample hashes), and the versions of that style before
 * it in b, are there already and are not added again: importing one file twice adds nothing. */
ps_status ps_store_import(ps_store *db, const ps_store_bundle *b, const char *as_user);
/* What ps_store_import did with b->styles[i]. */
typedef struct ps_store_import_rec {
    int added;   /* 1: stored as a new version; 0: the store had it */
    int version; /* the new version's number; when not added, the number of the stored version it
                    is identical to, or 0 for an earlier version of the file */
} ps_store_import_rec;
/* ps_store_import, filling out[0..b->n-1] (out may be NULL) when it succeeds. */
ps_status ps_store_import_report(ps_store *db, const ps_store_bundle *b, const char *as_user,
                                 ps_store_import_rec *out);
void ps_store_bundle_free(ps_store_bundle *b);

/* SHA-256 (FIPS 180-4) of bytes, as 64 lowercase hex chars + NUL: a sample's identity is the
 * hash of its original file's bytes. */
void ps_store_sha256_hex(const void *data, size_t len, char out[65]);

#endif
