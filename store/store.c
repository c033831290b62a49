/* The style store on SQLite: opening (checks before any write, so a foreign or newer file is
 * never touched), migrations through PRAGMA user_version, and the style rows themselves. Every
 * statement is a constant prepared with bound parameters; writers use BEGIN IMMEDIATE so that
 * concurrent pstyle processes queue on busy_timeout instead of failing half-way. */
#include "store/store_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PS_STORE_APP_ID 0x70537479 /* 'pSty' in PRAGMA application_id marks our files */
#define PS_STORE_BUSY_MS 30000     /* how long a writer waits for another one */
/* Room kept beside the store in "<db>-reserve" for forget on a full disk: the -shm (32 KiB), the
 * WAL frames of the DELETE (b-tree, freelist and pointer-map pages, not the freed pages: see
 * ps_store_forget) and of one incremental-vacuum step. Measured need on a full 2 MB disk is
 * ~100 KiB; the rest is margin. */
#define PS_STORE_RESERVE (256 * 1024)
#define PS_STORE_VACUUM_STEP 8     /* free pages given back per incremental vacuum + checkpoint */
#define PS_STR_(x) #x
#define PS_STR(x) PS_STR_(x)

struct ps_store {
    sqlite3 *db;
    char *path;
    int readonly;
    int full;     /* the last error store_err reported was a full disk */
    int schema;   /* user_version at open (after migrating); READONLY may read older ones */
};

/* ---- schema ------------------------------------------------------------------------------ */

/* migrations[i] takes user_version i to i+1. Never edit a shipped step: add one. */
static const char *const ps_store_migrations[PS_STORE_SCHEMA] = {
    /* 0 -> 1: users, models, style versions with their zlib+CRC token blob, sample hashes */
    "CREATE TABLE users("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE models("
    "  hash TEXT PRIMARY KEY,"
    "  first_used INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE styles("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  model_hash TEXT NOT NULL REFERENCES models(hash),"
    "  groups INTEGER NOT NULL,"
    "  tokens_per_group INTEGER NOT NULL,"
    "  dim INTEGER NOT NULL,"
    "  tokens BLOB NOT NULL,"            /* zlib(float32 LE) */
    "  tokens_crc INTEGER NOT NULL,"     /* CRC-32 of the uncompressed bytes */
    "  shots INTEGER NOT NULL,"
    "  settings TEXT,"
    "  quality TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE(user_id, name, version));"
    "CREATE TABLE samples("
    "  id INTEGER PRIMARY KEY,"
    "  style_id INTEGER NOT NULL REFERENCES styles(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  embedding BLOB,"                  /* float32 LE */
    "  UNIQUE(style_id, idx));"
    "PRAGMA application_id=1884517497;"  /* PS_STORE_APP_ID */
    "PRAGMA user_version=1;",
    /* 1 -> 2: thumbnails and image sizes, so relearn can rebuild styles after a model upgrade */
    "ALTER TABLE samples ADD COLUMN width INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE samples ADD COLUMN height INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE samples ADD COLUMN thumb BLOB;"
    "PRAGMA user_version=2;",
    /* 2 -> 3: the style program beside the tokens, zlib(float32 LE) + CRC-32; NULL for older
     * styles, which relearn refits from their thumbnails */
    "ALTER TABLE styles ADD COLUMN program BLOB;"
    "ALTER TABLE styles ADD COLUMN program_crc INTEGER;"
    "PRAGMA user_version=3;",
    /* 3 -> 4: each sample's file name (base name), so show can say which image it was; NULL for
     * older samples and for styles learned from pixels */
    "ALTER TABLE samples ADD COLUMN name TEXT;"
    "PRAGMA user_version=4;",
};

/* ---- errors -------------------------------------------------------------------------------- */

/* Turn an SQLite failure into "<path>: <why>" with the status a user should see. */
static ps_status store_err(ps_store *s, int rc, const char *what)
{
    const char *p = s->path;
    s->full = 0;
    /* SQLite does not keep the errno of a failed write (sqlite3_system_errno is 0 for
     * SQLITE_IOERR_WRITE), but errno still holds it when we get here right after the call */
    int err = sqlite3_system_errno(s->db);
    if (!err && (rc & 0xff) == SQLITE_IOERR)
        err = errno;
    const char *ctx_sep = what ? " (" : "", *ctx = what ? what : "", *ctx_end = what ? ")" : "";
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ps_fail(PS_ESTORE, "%s: database is locked (another process held it for %d s)%s%s%s",
                       p, PS_STORE_BUSY_MS / 1000, ctx_sep, ctx, ctx_end);
    case SQLITE_NOTADB:
        return ps_fail(PS_ESTORE, "%s: not a pstyle database (not an SQLite file)", p);
    case SQLITE_CORRUPT:
        return ps_fail(PS_ESTORE, "%s: database is corrupt (%s)", p, sqlite3_errmsg(s->db));
    case SQLITE_FULL:
        s->full = 1;
        return ps_fail(PS_ESTORE, "%s: disk full%s%s%s", p, ctx_sep, ctx, ctx_end);
    case SQLITE_READONLY:
        return ps_fail(PS_ESTORE, "%s: database is read-only%s%s%s", p, ctx_sep, ctx, ctx_end);
    case SQLITE_NOMEM:
        return ps_fail(PS_EINTERNAL, "%s: out of memory", p);
    case SQLITE_IOERR:
        /* a short or refused write: ENOSPC/EDQUOT from the disk, EFBIG from RLIMIT_FSIZE */
        if (err == ENOSPC || err == EFBIG || err == EDQUOT) {
            s->full = 1;
            return ps_fail(PS_ESTORE, "%s: disk full%s%s%s", p, ctx_sep, ctx, ctx_end);
        }
        return ps_fail(PS_ESTORE, "%s: I/O error (%s)", p, err ? strerror(err) : sqlite3_errmsg(s->db));
    case SQLITE_CANTOPEN:
        return ps_fail(PS_ESTORE, "%s: cannot open (%s)", p, err ? strerror(err) : sqlite3_errmsg(s->db));
    default:
        return ps_fail(PS_ESTORE, "%s: %s%s%s%s", p, sqlite3_errmsg(s->db), ctx_sep, ctx, ctx_end);
    }
}

/* ---- statements ---------------------------------------------------------------------------- */

/* Prepare sql and bind parameters from fmt: 't' text (NULL binds NULL), 'i' int64,
 * 'b' blob (pointer, size_t; NULL or empty binds NULL, so count(thumb) counts real ones). */
static int stmt_prep(ps_store *s, sqlite3_stmt **st, const char *sql, const char *fmt, ...)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 1; rc == SQLITE_OK && fmt[i - 1]; i++) {
        switch (fmt[i - 1]) {
        case 't': {
            const char *t = va_arg(ap, const char *);
            rc = t ? sqlite3_bind_text(*st, i, t, -1, SQLITE_STATIC) : sqlite3_bind_null(*st, i);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int64(*st, i, va_arg(ap, int64_t));
            break;
        case 'b': {
            const void *b = va_arg(ap, const void *);
            size_t n = va_arg(ap, size_t);
            rc = b && n ? sqlite3_bind_blob64(*st, i, b, n, SQLITE_STATIC) : sqlite3_bind_null(*st, i);
            break;
        }
        default:
            rc = SQLITE_MISUSE;
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
    }
    return rc;
}

/* Run a statement that returns nothing (or whose rows we ignore); finalizes it. */
static int stmt_exec(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Loop condition over a statement's rows: 1 per row; then 0 with *rc SQLITE_OK at the end or
 * the error. Does nothing if *rc is already an error (e.g. from preparing). */
static int stmt_row(sqlite3_stmt *st, int *rc)
{
    if (*rc != SQLITE_OK)
        return 0;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        return 1;
    *rc = r == SQLITE_DONE ? SQLITE_OK : r;
    return 0;
}

/* One integer from a one-row query; *found = 0 when there is no row. Finalizes. */
static int stmt_int(sqlite3_stmt *st, int64_t *out, int *found)
{
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int exec_const(ps_store *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static int pragma_int(ps_store *s, const char *sql, int64_t *v)
{
    sqlite3_stmt *st;
    int found, rc = stmt_prep(s, &st, sql, "");
    if (rc == SQLITE_OK)
        rc = stmt_int(st, v, &found);
    return rc;
}

/* ---- open, migrate, close ------------------------------------------------------------------ */

/* mkdir -p of path's folder, 0700 for folders we create (they hold private images). */
static ps_status make_parent_dirs(const char *path)
{
    char *d = strdup(path);
    if (!d)
        return ps_fail(PS_EINTERNAL, "out of memory");
    char *slash = strrchr(d, '/');
    ps_status st = PS_OK;
    if (slash && slash != d) {
        *slash = 0;
        for (char *p = d + 1; ; p++) {
            if (*p == '/' || !*p) {
                char c = *p;
                *p = 0;
                if (mkdir(d, 0700) != 0 && errno != EEXIST) {
                    st = ps_fail(PS_ESTORE, "%s: cannot create folder %s (%s)", path, d, strerror(errno));
                    break;
                }
                *p = c;
                if (!c)
                    break;
            }
        }
    }
    free(d);
    return st;
}

/* The header's three facts, read in ONE transaction: read one by one, another process could
 * commit the first migration between them (application_id still 0, then user_version 1 and four
 * tables), and a fresh file would look like another program's. */
typedef struct {
    int64_t app, version, ntables;
} store_header;

static int header_read(ps_store *s, store_header *h)
{
    int rc = pragma_int(s, "PRAGMA application_id", &h->app);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "PRAGMA user_version", &h->version);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &h->ntables);
    return rc;
}

/* Whether we may use (and write) a file with this header: ours at a schema we know, or a new,
 * empty one (application_id 0, user_version 0, no tables), which the first migration claims. */
static ps_status header_judge(const ps_store *s, const store_header *h)
{
    if (h->app == 0 && h->version == 0 && h->ntables == 0)
        return PS_OK;
    if (h->app != PS_STORE_APP_ID)
        return ps_fail(PS_ESTORE, "%s: not a pstyle database (an SQLite file of another program)", s->path);
    if (h->version > PS_STORE_SCHEMA)
        return ps_fail(PS_ESTORE, "%s: database is from a newer pstyle (schema %lld > %d); upgrade pstyle",
                       s->path, (long long)h->version, PS_STORE_SCHEMA);
    if (h->version < 0)
        return ps_fail(PS_ESTORE, "%s: database is corrupt (schema version %lld)", s->path,
                       (long long)h->version);
    return PS_OK;
}

/* Bring a writable store to PS_STORE_SCHEMA, one step per transaction. The header is read and
 * judged again inside BEGIN IMMEDIATE: of several processes creating the same file at once, the
 * first to take the lock initialises it, the others then see it initialised and go on. */
static ps_status store_migrate(ps_store *s)
{
    for (;;) {
        store_header h = {0};
        int rc = exec_const(s, "BEGIN IMMEDIATE");
        if (rc == SQLITE_OK)
            rc = header_read(s, &h);
        if (rc == SQLITE_OK) {
            ps_status st = header_judge(s, &h);
            if (st) {
                exec_const(s, "ROLLBACK");
                return st;
            }
        }
        int done = rc == SQLITE_OK && h.version >= PS_STORE_SCHEMA;
        if (rc == SQLITE_OK && !done)
            rc = exec_const(s, ps_store_migrations[h.version]);
        if (rc == SQLITE_OK)
            rc = exec_const(s, "COMMIT");
        if (rc == SQLITE_OK && done)
            return PS_OK;
        if (rc != SQLITE_OK) {
            ps_status st = store_err(s, rc, "upgrading the schema");
            exec_const(s, "ROLLBACK");
            return st;
        }
    }
}

/* Read-only checks that decide whether we may use (and write) the file at all, on one snapshot. */
static ps_status store_check_header(ps_store *s, int64_t *version)
{
    store_header h = {0};
    int rc = exec_const(s, "BEGIN");
    if (rc == SQLITE_OK)
        rc = header_read(s, &h);
    exec_const(s, "COMMIT");
    if (rc != SQLITE_OK)
        return store_err(s, rc, "opening");
    *version = h.version;
    return header_judge(s, &h);
}

/* PRAGMA journal_mode=WAL on a file still in rollback mode needs a moment alone with it, and
 * SQLite answers SQLITE_BUSY at once instead of calling the busy handler when another process
 * holds any lock (several processes creating one new store at once): retry for the same time a
 * writer would wait. *wal = whether the file is in WAL mode now. */
static int store_set_wal(ps_store *s, int *wal)
{
    int rc;
    for (int waited = 0;; waited += 10) {
        sqlite3_stmt *q;
        rc = stmt_prep(s, &q, "PRAGMA journal_mode=WAL", "");
        if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(q, 0);
            *wal = mode && !strcmp(mode, "wal");
            rc = SQLITE_OK;
        }
        sqlite3_finalize(q);
        if ((rc & 0xff) != SQLITE_BUSY || waited >= PS_STORE_BUSY_MS)
            return rc;
        sqlite3_sleep(10);
    }
}

/* ---- the reserve -------------------------------------------------------------------------- */

/* On a full disk SQLite cannot even open a WAL store (the -shm needs room), let alone delete: the
 * journal must hold the pages a DELETE changes. So writable opens keep PS_STORE_RESERVE bytes
 * allocated in "<db>-reserve", and only forget may give them up (ps_store_forget, and
 * ps_store_open with PS_STORE_FORGET); learn and import on a full disk fail as before. */
static char *reserve_path(const char *db)
{
    size_t n = strlen(db) + sizeof "-reserve";
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%s-reserve", db);
    return r;
}

/* Best effort: a reserve that cannot be made now (no room) is made by a later writable open. */
static void reserve_make(const char *db)
{
    char *r = reserve_path(db);
    int fd = r ? open(r, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    struct stat sb;
    /* posix_fallocate allocates blocks for real (a sparse ftruncate would reserve nothing) */
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < PS_STORE_RESERVE &&
        posix_fallocate(fd, 0, PS_STORE_RESERVE) != 0) {
        if (ftruncate(fd, 0) == 0) /* a half-made reserve would hold space for nothing */
            unlink(r);
    }
    if (fd >= 0)
        close(fd);
    free(r);
}

/* Delete the reserve; 1 if there was one to give back. */
static int reserve_release(const char *db)
{
    char *r = reserve_path(db);
    struct stat sb;
    int had = r && lstat(r, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && unlink(r) == 0;
    free(r);
    return had;
}

/* Whether a step that failed with st should run again: it failed for lack of space and the
 * reserve was still there to free. */
static int full_retry(ps_store *s, ps_status st)
{
    int again = st && s->full && reserve_release(s->path);
    s->full = 0;
    return again;
}

/* auto_vacuum=INCREMENTAL lets forget give space back a few pages at a time, where VACUUM needs
 * room for a whole copy of the store, which a full disk lacks. A new file gets it before its first
 * table; an older store is converted by one VACUUM on the first writable open with room (a
 * failure changes nothing and is tried again next time). */
static void store_set_incremental(ps_store *s)
{
    int64_t mode = 0, ntables = 0;
    if (pragma_int(s, "PRAGMA auto_vacuum", &mode) != SQLITE_OK || mode == 2)
        return;
    if (exec_const(s, "PRAGMA auto_vacuum=INCREMENTAL") == SQLITE_OK &&
        pragma_int(s, "SELECT count(*) FROM sqlite_master", &ntables) == SQLITE_OK && ntables)
        exec_const(s, "VACUUM");
}

static ps_status store_open_once(ps_store **out, const char *path, int flags, int *full)
{
    *out = NULL;
    if (!path || !*path)
        return ps_fail(PS_EUSAGE, "store: no database path");
    int ro = (flags & PS_STORE_READONLY) != 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return ps_fail(PS_ESTORE, "%s: %s", path, strerror(errno));
        if (ro || !(flags & PS_STORE_CREATE))
            return ps_fail(PS_ESTORE, "%s: no style database here yet ('pstyle learn' creates it)", path);
        ps_status st = make_parent_dirs(path);
        if (st)
            return st;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return ps_fail(PS_ESTORE, "%s: cannot create (%s)", path, strerror(errno));
        close(fd);
        if (stat(path, &sb) != 0)
            return ps_fail(PS_ESTORE, "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return ps_fail(PS_ESTORE, "%s: not a pstyle database (not a regular file)", path);
    /* chmod a-w means read-only to us even for root, who would otherwise write anyway */
    if (!ro && ((sb.st_mode & 0222) == 0 || access(path, W_OK) != 0))
        return ps_fail(PS_ESTORE, "%s: database is read-only", path);

    ps_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return ps_fail(PS_EINTERNAL, "out of memory");
    }
    s->readonly = ro;
    int rc = sqlite3_open_v2(path, &s->db,
                             (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX,
                             NULL);
    ps_status st = PS_OK;
    int64_t version = 0;
    if (rc != SQLITE_OK) {
        st = s->db ? store_err(s, rc, NULL) : ps_fail(PS_EINTERNAL, "%s: out of memory", path);
    } else {
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, PS_STORE_BUSY_MS);
        st = store_check_header(s, &version);
    }
    if (!st && !ro && sqlite3_db_readonly(s->db, "main") == 1)
        st = ps_fail(PS_ESTORE, "%s: database is read-only", path);
    if (!st && ro && version == 0)
        st = ps_fail(PS_ESTORE, "%s: empty database (no styles yet)", path);
    if (!st && ro && version < PS_STORE_SCHEMA_READ)
        st = ps_fail(PS_ESTORE, "%s: database is from an older pstyle (schema %lld < %d) and needs an "
                                "upgrade; run a writing command (learn, relearn) once", path,
                     (long long)version, PS_STORE_SCHEMA_READ);
    if (!st) {
        /* secure_delete zeroes freed content, so forget leaves nothing behind in free pages;
         * temp_store=MEMORY keeps VACUUM's copy of users' data out of temp files */
        rc = exec_const(s, "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;"
                           " PRAGMA journal_size_limit=65536");
        int wal = 1;
        if (rc == SQLITE_OK && !ro) {
            store_set_incremental(s); /* first: a new file in WAL mode can no longer take it */
            rc = store_set_wal(s, &wal);
        }
        if (rc != SQLITE_OK)
            st = store_err(s, rc, "switching to WAL");
        else if (!wal) /* readers must never block the writer: without WAL they would */
            st = ps_fail(PS_ESTORE, "%s: cannot switch the database to WAL mode", path);
    }
    if (!st && !ro && version < PS_STORE_SCHEMA)
        st = store_migrate(s);
    s->schema = ro ? (int)version : PS_STORE_SCHEMA;
    if (st) {
        *full = s->full;
        ps_store_close(s);
        return st;
    }
    *out = s;
    return PS_OK;
}

ps_status ps_store_open(ps_store **out, const char *path, int flags)
{
    char dflt[PATH_MAX];
    *out = NULL;
    if (!path) {
        ps_status st = ps_store_default_path(dflt, sizeof dflt);
        if (st)
            return st;
        path = dflt;
    }
    int full = 0;
    ps_status st = store_open_once(out, path, flags, &full);
    if (st && full && (flags & PS_STORE_FORGET) && reserve_release(path))
        st = store_open_once(out, path, flags, &full);
    /* forget remakes the reserve itself, once it has given space back */
    if (!st && !(flags & (PS_STORE_READONLY | PS_STORE_FORGET)))
        reserve_make(path);
    return st;
}

void ps_store_close(ps_store *s)
{
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

const char *ps_store_path(const ps_store *s) { return s->path; }
int ps_store_readonly(const ps_store *s) { return s->readonly; }

/* ---- validation and encoding --------------------------------------------------------------- */

ps_status ps_store_check_name(ps_store_name_kind kind, const char *name)
{
    const char *what = kind == PS_NAME_USER ? "user" : "style";
    if (!name || !*name)
        return ps_fail(PS_EINPUT, "bad %s name '': must be 1-%d characters of A-Z a-z 0-9 . _ -",
                       what, PS_STORE_NAME_MAX);
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (n >= PS_STORE_NAME_MAX)
            return ps_fail(PS_EINPUT, "bad %s name '%.20s...': longer than %d characters", what, name,
                           PS_STORE_NAME_MAX);
        if (!ok)
            /* print the offending byte, not the name: it may not be valid text */
            return ps_fail(PS_EINPUT, "bad %s name: character %zu (byte 0x%02x) is not one of "
                                      "A-Z a-z 0-9 . _ -", what, n + 1, c);
    }
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return ps_fail(PS_EINPUT, "bad %s name '%s'", what, name);
    return PS_OK;
}

void ps_store_f32_to_le(unsigned char *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        for (int b = 0; b < 4; b++)
            dst[4 * i + b] = (unsigned char)(u >> (8 * b));
    }
}

void ps_store_f32_from_le(float *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

void *ps_store_memdup(const void *src, size_t n)
{
    if (!src || !n)
        return NULL;
    void *p = malloc(n);
    if (p)
        memcpy(p, src, n);
    return p;
}

long ps_store_n_tokens(const ps_style_rec *r)
{
    if (r->groups <= 0 || r->tokens_per_group <= 0 || r->dim <= 0)
        return -1;
    long long n = (long long)r->groups * r->tokens_per_group * r->dim;
    return n > PS_STORE_MAX_FLOATS ? -1 : (long)n;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == 0;
}

ps_status ps_store_check_rec(const ps_style_rec *r, const ps_sample_rec *smp, int n)
{
    ps_status st = ps_store_check_name(PS_NAME_USER, r->user);
    if (!st && r->style[0])
        st = ps_store_check_name(PS_NAME_STYLE, r->style);
    if (st)
        return st;
    if (!is_hex(r->model_hash, PS_STORE_HASH_LEN))
        return ps_fail(PS_EINPUT, "style %s/%s: model hash '%.20s' is not %d lowercase hex digits",
                       r->user, r->style, r->model_hash, PS_STORE_HASH_LEN);
    if (ps_store_n_tokens(r) < 0 || !r->tokens)
        return ps_fail(PS_EINPUT, "style %s/%s: bad token shape %d x %d x %d", r->user, r->style,
                       r->groups, r->tokens_per_group, r->dim);
    if (r->shots < 0 || n < 0)
        return ps_fail(PS_EINPUT, "style %s/%s: negative shot count", r->user, r->style);
    if (r->n_program < 0 || r->n_program > PS_STORE_MAX_PROGRAM || (r->n_program && !r->program))
        return ps_fail(PS_EINPUT, "style %s/%s: bad program (%d floats)", r->user, r->style,
                       r->n_program);
    for (int i = 0; i < n; i++) {
        if (!is_hex(smp[i].sha256, 64))
            return ps_fail(PS_EINPUT, "style %s/%s: sample %d: sha256 is not 64 lowercase hex digits",
                           r->user, r->style, i + 1);
        if (smp[i].n_embedding < 0 || smp[i].n_embedding > PS_STORE_MAX_FLOATS ||
            (smp[i].n_embedding && !smp[i].embedding) || (smp[i].thumb_len && !smp[i].thumb))
            return ps_fail(PS_EINPUT, "style %s/%s: sample %d: bad embedding or thumbnail", r->user,
                           r->style, i + 1);
        size_t len = strnlen(smp[i].name, sizeof smp[i].name);
        int bad = len == sizeof smp[i].name;
        for (size_t k = 0; k < len && !bad; k++)
            bad = smp[i].name[k] == '/' || (unsigned char)smp[i].name[k] < 0x20 ||
                  smp[i].name[k] == 0x7f;
        if (bad)
            return ps_fail(PS_EINPUT, "style %s/%s: sample %d: a file name is a base name of at most "
                           "%d bytes, without '/' or control characters", r->user, r->style, i + 1,
                           PS_STORE_SAMPLE_NAME_MAX);
    }
    return PS_OK;
}

static const char *style_or_default(const char *style)
{
    return style && *style ? style : PS_STORE_DEFAULT_STYLE;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* The body of put_style, inside the caller's write transaction: also used by import. */
/* zlib(float32 LE) of n floats and the CRC-32 of the uncompressed bytes; *z malloc'd. */
static int pack_floats(const float *f, size_t n, unsigned char **z, uLongf *zlen, uint32_t *crc)
{
    size_t raw_len = n * 4;
    unsigned char *raw = malloc(raw_len ? raw_len : 1);
    *zlen = compressBound(raw_len);
    *z = malloc(*zlen);
    int rc = raw && *z ? SQLITE_OK : SQLITE_NOMEM;
    if (rc == SQLITE_OK) {
        ps_store_f32_to_le(raw, f, n);
        if (compress2(*z, zlen, raw, raw_len, Z_BEST_COMPRESSION) != Z_OK)
            rc = SQLITE_NOMEM;
        *crc = (uint32_t)crc32(0L, raw, (uInt)raw_len);
    }
    free(raw);
    return rc;
}

/* The body of put_style, inside the caller's write transaction: also used by import. */
static int put_locked(ps_store *s, const ps_style_rec *r, const ps_sample_rec *smp, int n, int *version)
{
    const char *style = style_or_default(r->style);
    int64_t now = (int64_t)time(NULL), created = r->created_at ? r->created_at : now;
    unsigned char *z = NULL, *pz = NULL;
    uLongf zlen = 0, pzlen = 0;
    uint32_t crc = 0, pcrc = 0;
    unsigned char *emb = NULL;
    sqlite3_stmt *st = NULL;
    int64_t uid = 0, v = 0, sid;
    int found, rc = pack_floats(r->tokens, (size_t)ps_store_n_tokens(r), &z, &zlen, &crc);
    if (rc == SQLITE_OK && r->n_program)
        rc = pack_floats(r->program, (size_t)r->n_program, &pz, &pzlen, &pcrc);
    if (rc != SQLITE_OK)
        goto out;

    rc = stmt_prep(s, &st, "INSERT INTO users(name, created_at) VALUES(?,?) ON CONFLICT(name) DO NOTHING",
                   "ti", r->user, created);
    if (rc == SQLITE_OK && (rc = stmt_exec(st)) == SQLITE_OK)
        rc = stmt_prep(s, &st, "SELECT id FROM users WHERE name=?", "t", r->user);
    if (rc == SQLITE_OK)
        rc = stmt_int(st, &uid, &found);
    if (rc == SQLITE_OK)
        rc = stmt_prep(s, &st, "INSERT INTO models(hash, first_used) VALUES(?,?) ON CONFLICT DO NOTHING",
                       "ti", r->model_hash, now);
    if (rc == SQLITE_OK && (rc = stmt_exec(st)) == SQLITE_OK)
        rc = stmt_prep(s, &st, "SELECT coalesce(max(version), 0) + 1 FROM styles WHERE user_id=? AND name=?",
                       "it", uid, style);
    if (rc == SQLITE_OK)
        rc = stmt_int(st, &v, &found);
    if (rc == SQLITE_OK)
        rc = stmt_prep(s, &st,
                       "INSERT INTO styles(user_id, name, version, model_hash, groups, tokens_per_group,"
                       " dim, tokens, tokens_crc, shots, settings, quality, created_at, program,"
                       " program_crc) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       "ititiiibiittibi", uid, style, v, r->model_hash, (int64_t)r->groups,
                       (int64_t)r->tokens_per_group, (int64_t)r->dim, (const void *)z, (size_t)zlen,
                       (int64_t)crc, (int64_t)r->shots, r->settings, r->quality, created,
                       (const void *)pz, (size_t)pzlen, (int64_t)pcrc);
    if (rc == SQLITE_OK && (rc = stmt_exec(st)) == SQLITE_OK) {
        sid = sqlite3_last_insert_rowid(s->db);
        for (int i = 0; i < n && rc == SQLITE_OK; i++) {
            size_t elen = (size_t)smp[i].n_embedding * 4;
            free(emb);
            emb = elen ? malloc(elen) : NULL;
            if (elen && !emb) {
                rc = SQLITE_NOMEM;
                break;
            }
            if (emb)
                ps_store_f32_to_le(emb, smp[i].embedding, (size_t)smp[i].n_embedding);
            rc = stmt_prep(s, &st,
                           "INSERT INTO samples(style_id, idx, sha256, size, width, height, thumb, embedding,"
                           " name) VALUES(?,?,?,?,?,?,?,?,?)",
                           "iitiiibbt", sid, (int64_t)i, smp[i].sha256, smp[i].size,
                           (int64_t)smp[i].width, (int64_t)smp[i].height, (const void *)smp[i].thumb,
                           smp[i].thumb_len, (const void *)emb, elen,
                           smp[i].name[0] ? smp[i].name : NULL);
            if (rc == SQLITE_OK)
                rc = stmt_exec(st);
        }
    }
    if (rc == SQLITE_OK && version)
        *version = (int)v;
out:
    free(pz);
    free(z);
    free(emb);
    return rc;
}

/* BEGIN IMMEDIATE; on failure report and roll back, so nothing half-written is ever visible. */
static ps_status txn_end(ps_store *s, int rc, const char *what)
{
    if (rc == SQLITE_OK)
        rc = exec_const(s, "COMMIT");
    if (rc == SQLITE_OK) {
        /* Copy the commit into the file now (PASSIVE: never waits for readers; a failure leaves
         * it safe in the WAL), so the WAL, cut back to journal_size_limit when it restarts, does
         * not keep megabytes that a checkpoint on a full disk would need room to copy. */
        sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return PS_OK;
    }
    ps_status st = store_err(s, rc, what);
    if (!sqlite3_get_autocommit(s->db))
        exec_const(s, "ROLLBACK");
    return st;
}

static ps_status writable(const ps_store *s)
{
    return s->readonly ? ps_fail(PS_ESTORE, "%s: database is read-only (opened for reading)", s->path)
                       : PS_OK;
}

ps_status ps_store_put_style(ps_store *s, const ps_style_rec *r, const ps_sample_rec *smp, int n,
                             int *version)
{
    ps_status st = writable(s);
    if (!st)
        st = ps_store_check_rec(r, smp, n);
    if (st)
        return st;
    char what[2 * PS_STORE_NAME_MAX + 32];
    snprintf(what, sizeof what, "saving style %s/%s", r->user, style_or_default(r->style));
    int rc = exec_const(s, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = put_locked(s, r, smp, n, version);
    return txn_end(s, rc, what);
}

/* Whether r (with its n samples) is the latest stored version of r->user's style: the same
 * model, token shape, token bytes, shots and sample hashes, in order (settings, quality and
 * dates are about how and when it was made, not what it is). *version gets that version's
 * number, 0 when the style has none. Inside the caller's transaction; an SQLite result code. */
static int same_as_latest(ps_store *s, const ps_style_rec *r, const ps_sample_rec *smp, int n,
                          int *same, int *version)
{
    sqlite3_stmt *q;
    *same = *version = 0;
    int rc = stmt_prep(s, &q,
                       "SELECT s.id, s.version, s.model_hash, s.groups, s.tokens_per_group, s.dim,"
                       " s.tokens, s.tokens_crc, s.shots, s.program, s.program_crc"
                       " FROM styles s JOIN users u ON u.id=s.user_id"
                       " WHERE u.name=? AND s.name=? ORDER BY s.version DESC LIMIT 1",
                       "tt", r->user, style_or_default(r->style));
    if (rc != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
        sqlite3_finalize(q);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    int64_t sid = sqlite3_column_int64(q, 0);
    *version = sqlite3_column_int(q, 1);
    const char *mh = (const char *)sqlite3_column_text(q, 2);
    size_t len = (size_t)ps_store_n_tokens(r) * 4; /* checked by ps_store_check_rec */
    unsigned char *raw = NULL, *got = NULL;
    rc = SQLITE_OK;
    if (mh && !strcmp(mh, r->model_hash) && sqlite3_column_int(q, 3) == r->groups &&
        sqlite3_column_int(q, 4) == r->tokens_per_group && sqlite3_column_int(q, 5) == r->dim &&
        sqlite3_column_int(q, 8) == r->shots) {
        raw = malloc(len);
        got = malloc(len);
        if (!raw || !got) {
            rc = SQLITE_NOMEM;
        } else {
            ps_store_f32_to_le(raw, r->tokens, len / 4);
            const void *z = sqlite3_column_blob(q, 6);
            uLongf glen = (uLongf)len;
            *same = (uint32_t)crc32(0L, raw, (uInt)len) == (uint32_t)sqlite3_column_int64(q, 7) &&
                    z && uncompress(got, &glen, z, (uLong)sqlite3_column_bytes(q, 6)) == Z_OK &&
                    glen == len && !memcmp(raw, got, len);
        }
        if (rc == SQLITE_OK && *same) { /* the same program too: none, or the same bytes */
            int has = sqlite3_column_type(q, 9) != SQLITE_NULL;
            *same = has == (r->n_program > 0);
            if (*same && has) {
                unsigned char *z = NULL;
                uLongf zl;
                uint32_t pcrc = 0;
                rc = pack_floats(r->program, (size_t)r->n_program, &z, &zl, &pcrc);
                *same = rc == SQLITE_OK && pcrc == (uint32_t)sqlite3_column_int64(q, 10);
                free(z);
            }
        }
    }
    sqlite3_finalize(q);
    free(raw);
    free(got);
    if (rc != SQLITE_OK || !*same)
        return rc;
    rc = stmt_prep(s, &q, "SELECT sha256 FROM samples WHERE style_id=? ORDER BY idx", "i", sid);
    int k = 0;
    while (stmt_row(q, &rc)) {
        const char *h = (const char *)sqlite3_column_text(q, 0);
        *same &= k < n && h && !strcmp(h, smp[k].sha256);
        k++;
    }
    sqlite3_finalize(q);
    *same &= k == n;
    return rc;
}

ps_status ps_store_import(ps_store *s, const ps_store_bundle *b, const char *as_user)
{
    return ps_store_import_report(s, b, as_user, NULL);
}

ps_status ps_store_import_report(ps_store *s, const ps_store_bundle *b, const char *as_user,
                                 ps_store_import_rec *out)
{
    const char *user = as_user ? as_user : b->user;
    ps_status st = writable(s);
    if (!st)
        st = ps_store_check_name(PS_NAME_USER, user);
    for (int i = 0; !st && i < b->n; i++) {
        ps_style_rec r = b->styles[i];
        snprintf(r.user, sizeof r.user, "%s", user);
        st = ps_store_check_rec(&r, b->samples[i], b->n_samples[i]);
    }
    if (st)
        return st;
    size_t nb = b->n > 0 ? (size_t)b->n : 1;
    int *match = calloc(nb, sizeof *match), *hits = calloc(nb, sizeof *hits), nhits = 0;
    if (!match || !hits) {
        free(match);
        free(hits);
        return ps_fail(PS_EINTERNAL, "out of memory");
    }
    /* first the versions the store has already, judged against the store as it was: one that is
     * identical to its style's latest version is there, and so are the file's versions of that
     * style before it (the file holds a style's versions oldest first) */
    int rc = exec_const(s, "BEGIN IMMEDIATE");
    for (int i = 0; rc == SQLITE_OK && i < b->n; i++) {
        ps_style_rec r = b->styles[i];
        snprintf(r.user, sizeof r.user, "%s", user);
        int same, v;
        rc = same_as_latest(s, &r, b->samples[i], b->n_samples[i], &same, &v);
        if (rc == SQLITE_OK && same) {
            match[i] = v;
            hits[nhits++] = i;
        }
    }
    for (int i = 0; rc == SQLITE_OK && i < b->n; i++) {
        const char *style = style_or_default(b->styles[i].style);
        int there = 0;
        for (int h = 0; h < nhits && !there; h++)
            there = hits[h] >= i && !strcmp(style, style_or_default(b->styles[hits[h]].style));
        ps_style_rec r = b->styles[i];
        snprintf(r.user, sizeof r.user, "%s", user);
        int v = match[i];
        if (!there)
            rc = put_locked(s, &r, b->samples[i], b->n_samples[i], &v);
        if (out)
            out[i] = (ps_store_import_rec){.version = v, .added = !there};
    }
    free(match);
    free(hits);
    return txn_end(s, rc, "importing");
}

/* ---- reading ------------------------------------------------------------------------------- */

/* PS_EINPUT for a user or style that is not there; uid gets the user's id. Inside a txn. */
static ps_status find_user_style(ps_store *s, const char *user, const char *style, int64_t *uid)
{
    sqlite3_stmt *st;
    int64_t any;
    int found, rc = stmt_prep(s, &st, "SELECT id FROM users WHERE name=?", "t", user);
    if (rc == SQLITE_OK)
        rc = stmt_int(st, uid, &found);
    if (rc != SQLITE_OK)
        return store_err(s, rc, NULL);
    if (!found)
        return ps_fail(PS_EINPUT, "unknown user '%s'", user);
    if (!style)
        return PS_OK;
    rc = stmt_prep(s, &st, "SELECT 1 FROM styles WHERE user_id=? AND name=? LIMIT 1", "it", *uid, style);
    if (rc == SQLITE_OK)
        rc = stmt_int(st, &any, &found);
    if (rc != SQLITE_OK)
        return store_err(s, rc, NULL);
    return found ? PS_OK : ps_fail(PS_EINPUT, "user '%s' has no style '%s'", user, style);
}

static char *col_text_dup(sqlite3_stmt *st, int c)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? strdup((const char *)t) : NULL;
}

static void col_text_copy(sqlite3_stmt *st, int c, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, c);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* Decode the zlib+CRC float blob of column c: exactly want floats, or (want < 0) any count up
 * to PS_STORE_MAX_PROGRAM. *out malloc'd, *n its count. */
static ps_status decode_floats(ps_store *s, sqlite3_stmt *st, int c, uint32_t crc, long want,
                               const ps_style_rec *r, const char *what, float **out, int *n)
{
    const void *z = sqlite3_column_blob(st, c);
    uLongf len = (uLongf)(want >= 0 ? want : PS_STORE_MAX_PROGRAM) * 4, got = len;
    *out = NULL;
    *n = 0;
    if (!z || !len)
        return ps_fail(PS_ESTORE, "%s: style %s/%s v%d: bad %s shape", s->path, r->user, r->style,
                       r->version, what);
    unsigned char *raw = malloc(len);
    if (!raw)
        return ps_fail(PS_EINTERNAL, "out of memory");
    int zr = uncompress(raw, &got, z, (uLong)sqlite3_column_bytes(st, c));
    int bad_len = want >= 0 ? got != len : got % 4 != 0 || got == 0;
    if (zr != Z_OK || bad_len || (uint32_t)crc32(0L, raw, (uInt)got) != crc) {
        free(raw);
        return ps_fail(PS_ESTORE, "%s: style %s/%s v%d: %s blob is corrupt (%s)", s->path, r->user,
                       r->style, r->version, what,
                       zr != Z_OK || bad_len ? "bad zlib data" : "CRC mismatch");
    }
    if (!(*out = malloc(got))) {
        free(raw);
        return ps_fail(PS_EINTERNAL, "out of memory");
    }
    ps_store_f32_from_le(*out, raw, got / 4);
    *n = (int)(got / 4);
    free(raw);
    return PS_OK;
}

static ps_status load_samples(ps_store *s, int64_t sid, const ps_style_rec *r, ps_sample_rec **out, int *n)
{
    sqlite3_stmt *st;
    /* a schema-3 store read as it is has no names */
    int cap = 0, rc = stmt_prep(s, &st, s->schema >= 4 ?
                                "SELECT sha256, size, width, height, thumb, embedding, name FROM samples"
                                " WHERE style_id=? ORDER BY idx" :
                                "SELECT sha256, size, width, height, thumb, embedding, NULL FROM samples"
                                " WHERE style_id=? ORDER BY idx", "i", sid);
    ps_status err = PS_OK;
    *out = NULL;
    *n = 0;
    while (stmt_row(st, &rc)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            ps_sample_rec *p = realloc(*out, (size_t)cap * sizeof **out);
            if (!p) {
                err = ps_fail(PS_EINTERNAL, "out of memory");
                break;
            }
            *out = p;
        }
        ps_sample_rec *m = &(*out)[(*n)++];
        memset(m, 0, sizeof *m);
        col_text_copy(st, 0, m->sha256, sizeof m->sha256);
        col_text_copy(st, 6, m->name, sizeof m->name);
        m->size = sqlite3_column_int64(st, 1);
        m->width = sqlite3_column_int(st, 2);
        m->height = sqlite3_column_int(st, 3);
        m->thumb_len = (size_t)sqlite3_column_bytes(st, 4);
        m->thumb = ps_store_memdup(sqlite3_column_blob(st, 4), m->thumb_len);
        int eb = sqlite3_column_bytes(st, 5);
        if (eb % 4 || eb / 4 > PS_STORE_MAX_FLOATS) {
            err = ps_fail(PS_ESTORE, "%s: style %s/%s v%d: sample embedding is corrupt", s->path, r->user,
                          r->style, r->version);
            break;
        }
        m->n_embedding = eb / 4;
        if (eb && (m->embedding = malloc((size_t)eb)))
            ps_store_f32_from_le(m->embedding, sqlite3_column_blob(st, 5), (size_t)m->n_embedding);
        if ((m->thumb_len && !m->thumb) || (eb && !m->embedding)) {
            err = ps_fail(PS_EINTERNAL, "out of memory");
            break;
        }
    }
    sqlite3_finalize(st);
    if (!err && rc != SQLITE_OK)
        err = store_err(s, rc, NULL);
    if (err) {
        ps_store_samples_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return err;
}

/* End a read transaction, keeping the first error. */
static ps_status read_end(ps_store *s, ps_status st)
{
    exec_const(s, "COMMIT");
    return st;
}

ps_status ps_store_get_style(ps_store *s, const char *user, const char *style, int version,
                             ps_style_rec *r, ps_sample_rec **samples, int *n_samples)
{
    memset(r, 0, sizeof *r);
    if (samples) {
        *samples = NULL;
        *n_samples = 0;
    }
    style = style_or_default(style);
    ps_status st = ps_store_check_name(PS_NAME_USER, user);
    if (!st)
        st = ps_store_check_name(PS_NAME_STYLE, style);
    if (st)
        return st;
    int64_t uid;
    sqlite3_stmt *q = NULL;
    int rc = exec_const(s, "BEGIN"); /* one snapshot for the style row and its samples */
    if (rc != SQLITE_OK)
        return store_err(s, rc, NULL);
    if ((st = find_user_style(s, user, style, &uid)))
        return read_end(s, st);
    rc = stmt_prep(s, &q,
                   "SELECT id, version, model_hash, groups, tokens_per_group, dim, tokens, tokens_crc,"
                   " shots, settings, quality, created_at, program, program_crc FROM styles"
                   " WHERE user_id=? AND name=?"
                   " AND (?3=0 OR version=?3) ORDER BY version DESC LIMIT 1",
                   "iti", uid, style, (int64_t)version);
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t sid = sqlite3_column_int64(q, 0);
        snprintf(r->user, sizeof r->user, "%s", user);
        snprintf(r->style, sizeof r->style, "%s", style);
        r->version = sqlite3_column_int(q, 1);
        col_text_copy(q, 2, r->model_hash, sizeof r->model_hash);
        r->groups = sqlite3_column_int(q, 3);
        r->tokens_per_group = sqlite3_column_int(q, 4);
        r->dim = sqlite3_column_int(q, 5);
        r->shots = sqlite3_column_int(q, 8);
        r->settings = col_text_dup(q, 9);
        r->quality = col_text_dup(q, 10);
        r->created_at = sqlite3_column_int64(q, 11);
        long nt = ps_store_n_tokens(r);
        int got;
        st = nt < 0 ? ps_fail(PS_ESTORE, "%s: style %s/%s v%d: bad token shape", s->path, user,
                              style, r->version)
                    : decode_floats(s, q, 6, (uint32_t)sqlite3_column_int64(q, 7), nt, r, "token",
                                    &r->tokens, &got);
        if (!st && sqlite3_column_type(q, 12) != SQLITE_NULL)
            st = decode_floats(s, q, 12, (uint32_t)sqlite3_column_int64(q, 13), -1, r, "program",
                               &r->program, &r->n_program);
        if (!st && samples)
            st = load_samples(s, sid, r, samples, n_samples);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        st = ps_fail(PS_EINPUT, "user '%s' style '%s' has no version %d", user, style, version);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    if (!st && rc != SQLITE_OK)
        st = store_err(s, rc, NULL);
    if (st)
        ps_store_style_free(r);
    return read_end(s, st);
}

void ps_store_style_free(ps_style_rec *r)
{
    free(r->tokens);
    free(r->program);
    free(r->settings);
    free(r->quality);
    r->program = NULL;
    r->n_program = 0;
    r->tokens = NULL;
    r->settings = r->quality = NULL;
}

void ps_store_samples_free(ps_sample_rec *smp, int n)
{
    for (int i = 0; smp && i < n; i++) {
        free(smp[i].thumb);
        free(smp[i].embedding);
    }
    free(smp);
}

ps_status ps_store_list(ps_store *s, const char *user, const char *style, int latest_only,
                        ps_store_row **rows, int *n)
{
    *rows = NULL;
    *n = 0;
    ps_status st = user ? ps_store_check_name(PS_NAME_USER, user) : PS_OK;
    if (!st && style)
        st = ps_store_check_name(PS_NAME_STYLE, style);
    if (st)
        return st;
    int64_t uid;
    int rc = exec_const(s, "BEGIN");
    if (rc != SQLITE_OK)
        return store_err(s, rc, NULL);
    if (user && (st = find_user_style(s, user, style, &uid)))
        return read_end(s, st);
    sqlite3_stmt *q;
    rc = stmt_prep(s, &q,
                   "SELECT u.name, s.name, s.version,"
                   " (SELECT count(*) FROM styles s2 WHERE s2.user_id=s.user_id AND s2.name=s.name),"
                   " s.model_hash, s.shots,"
                   " (SELECT count(*) FROM samples WHERE style_id=s.id),"
                   " (SELECT count(thumb) FROM samples WHERE style_id=s.id), s.created_at,"
                   " s.program IS NOT NULL"
                   " FROM styles s JOIN users u ON u.id=s.user_id"
                   " WHERE (?1 IS NULL OR u.name=?1) AND (?2 IS NULL OR s.name=?2) AND (?3=0 OR"
                   "  s.version=(SELECT max(version) FROM styles s3 WHERE s3.user_id=s.user_id AND s3.name=s.name))"
                   " ORDER BY u.name, s.name, s.version",
                   "tti", user, style, (int64_t)(latest_only != 0));
    int cap = 0;
    while (stmt_row(q, &rc)) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            ps_store_row *p = realloc(*rows, (size_t)cap * sizeof **rows);
            if (!p) {
                st = ps_fail(PS_EINTERNAL, "out of memory");
                break;
            }
            *rows = p;
        }
        ps_store_row *w = &(*rows)[(*n)++];
        col_text_copy(q, 0, w->user, sizeof w->user);
        col_text_copy(q, 1, w->style, sizeof w->style);
        w->version = sqlite3_column_int(q, 2);
        w->n_versions = sqlite3_column_int(q, 3);
        col_text_copy(q, 4, w->model_hash, sizeof w->model_hash);
        w->shots = sqlite3_column_int(q, 5);
        w->n_samples = sqlite3_column_int(q, 6);
        w->n_thumbs = sqlite3_column_int(q, 7);
        w->created_at = sqlite3_column_int64(q, 8);
        w->has_program = sqlite3_column_int(q, 9);
    }
    sqlite3_finalize(q);
    if (!st && rc != SQLITE_OK)
        st = store_err(s, rc, NULL);
    if (st) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return read_end(s, st);
}

/* ---- forgetting ---------------------------------------------------------------------------- */

/* The DELETE of ps_store_forget, in one transaction. */
static ps_status forget_rows(ps_store *s, const char *user, const char *style)
{
    int64_t uid;
    sqlite3_stmt *q;
    ps_status st;
    int rc = exec_const(s, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return store_err(s, rc, "forgetting");
    if ((st = find_user_style(s, user, style, &uid))) {
        exec_const(s, "ROLLBACK");
        return st;
    }
    /* samples go with their styles and styles with their user (ON DELETE CASCADE) */
    if (style) {
        rc = stmt_prep(s, &q, "DELETE FROM styles WHERE user_id=? AND name=?", "it", uid, style);
        if (rc == SQLITE_OK && (rc = stmt_exec(q)) == SQLITE_OK)
            rc = stmt_prep(s, &q, "DELETE FROM users WHERE id=?1 AND NOT EXISTS"
                                  " (SELECT 1 FROM styles WHERE user_id=?1)", "i", uid);
    } else {
        rc = stmt_prep(s, &q, "DELETE FROM users WHERE id=?", "i", uid);
    }
    if (rc == SQLITE_OK)
        rc = stmt_exec(q);
    return txn_end(s, rc, "forgetting");
}

/* PRAGMA wal_checkpoint(TRUNCATE): copy the WAL into the file, cut the file to its page count and
 * empty the WAL. *busy = a reader kept it from finishing. */
static int checkpoint(ps_store *s, int *busy)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &q, NULL);
    *busy = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        *busy = sqlite3_column_int(q, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return rc;
}

/* Give the free pages back to the disk and leave no copy of freed bytes in the file or its WAL.
 * Incremental stores: PS_STORE_VACUUM_STEP pages at a time, each step checkpointed, so the WAL
 * never holds more than a step and every step leaves the disk more room than it took; when the
 * freelist is empty every freed page was either cut off the file's end or overwritten by a page
 * moved down from it. Older stores: VACUUM, which also converts them to incremental. */
static ps_status forget_compact(ps_store *s, int *busy)
{
    int64_t mode = 0, nfree = 0;
    int rc = checkpoint(s, busy);
    if (rc == SQLITE_OK)
        rc = pragma_int(s, "PRAGMA auto_vacuum", &mode);
    if (rc == SQLITE_OK && mode != 2) {
        rc = exec_const(s, "PRAGMA auto_vacuum=INCREMENTAL");
        if (rc == SQLITE_OK)
            rc = exec_const(s, "VACUUM");
        if (rc == SQLITE_OK)
            rc = checkpoint(s, busy);
    }
    while (rc == SQLITE_OK && mode == 2 && !*busy &&
           (rc = pragma_int(s, "PRAGMA freelist_count", &nfree)) == SQLITE_OK && nfree > 0) {
        /* sqlite3_exec steps the pragma to its end, which is what frees the pages */
        rc = exec_const(s, "PRAGMA incremental_vacuum(" PS_STR(PS_STORE_VACUUM_STEP) ")");
        if (rc == SQLITE_OK)
            rc = checkpoint(s, busy);
    }
    return rc == SQLITE_OK ? PS_OK : store_err(s, rc, "cleaning up after forget");
}

ps_status ps_store_forget(ps_store *s, const char *user, const char *style)
{
    ps_status st = writable(s);
    if (!st)
        st = ps_store_check_name(PS_NAME_USER, user);
    if (!st && style)
        st = ps_store_check_name(PS_NAME_STYLE, style);
    if (st)
        return st;
    /* secure_delete=FAST zeroes deleted cells on the pages the DELETE writes anyway, but not whole
     * freed pages: those would go through the WAL too, as much room as the data deleted, which a
     * full disk does not have. forget_compact removes the freed pages from the file instead. */
    int64_t mode = 0;
    int rc = pragma_int(s, "PRAGMA auto_vacuum", &mode);
    if (rc == SQLITE_OK && mode == 2)
        rc = exec_const(s, "PRAGMA secure_delete=FAST");
    if (rc != SQLITE_OK)
        return store_err(s, rc, "forgetting");
    /* Each step runs again once if it failed for lack of room and the reserve could give some.
     * A checkpoint first: commits left in the WAL (its checkpoint failed on the full disk) are
     * copied into the file, so the DELETE starts the WAL afresh instead of growing it. */
    int busy = 0;
    do {
        rc = checkpoint(s, &busy);
        st = rc == SQLITE_OK ? PS_OK : store_err(s, rc, "forgetting");
    } while (full_retry(s, st));
    if (!st)
        do
            st = forget_rows(s, user, style);
        while (full_retry(s, st));
    exec_const(s, "PRAGMA secure_delete=ON");
    if (st)
        return st;
    /* The rows are gone; now make the bytes go and give their room back */
    do
        st = forget_compact(s, &busy);
    while (full_retry(s, st));
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", ps_last_error());
        return ps_fail(PS_ESTORE, "%s; the data is deleted, but the file keeps its room (and, until "
                                  "a later forget compacts it, freed pages)", why);
    }
    reserve_make(s->path); /* the room forget spent, taken back from the room it gave */
    if (busy)
        return ps_fail(PS_ESTORE, "%s: deleted, but another pstyle process kept reading, so old copies "
                                  "remain in %s-wal until it ends and pstyle writes again", s->path, s->path);
    return PS_OK;
}
