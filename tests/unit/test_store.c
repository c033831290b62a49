/* Store unit tests on real SQLite files in the temp dir: SHA-256 vectors, names, round trips,
 * versions, error messages, CRC-checked blobs, migration from a schema-1 file and from a
 * schema-3 one (sample file names), files that are not ours or are newer, read-only files,
 * export/import (corrupt, truncated, crafted files), forget. */
#include "check.h"
#include "store/store.h"
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define NT (3 * 8 * 64)

static float toks[NT];

static void make_rec(ps_style_rec *r, const char *user, const char *style, float base)
{
    memset(r, 0, sizeof *r);
    snprintf(r->user, sizeof r->user, "%s", user);
    snprintf(r->style, sizeof r->style, "%s", style);
    snprintf(r->model_hash, sizeof r->model_hash, "00112233aabbccdd");
    r->groups = 3;
    r->tokens_per_group = 8;
    r->dim = 64;
    for (int i = 0; i < NT; i++)
        toks[i] = base + (float)i * 0.001f - (i % 7 ? 0.f : 3.5f);
    r->tokens = toks;
    r->shots = 2;
    r->settings = "{\"steps\": 10}";
    r->quality = "{\"loss\": 0.25}";
}

static unsigned char thumb_a[300], thumb_b[500];
static float emb[16];

static void make_samples(ps_sample_rec *s, const char *marker)
{
    memset(s, 0, 2 * sizeof *s);
    for (size_t i = 0; i < sizeof thumb_a; i++)
        thumb_a[i] = (unsigned char)(i * 7 + 1);
    for (size_t i = 0; i < sizeof thumb_b; i++)
        thumb_b[i] = (unsigned char)(i * 13 + 5);
    if (marker) {
        memcpy(thumb_a + 10, marker, strlen(marker));
        memcpy(thumb_b + 10, marker, strlen(marker));
    }
    for (int i = 0; i < 16; i++)
        emb[i] = (float)i / 3.0f;
    ps_store_sha256_hex(thumb_a, sizeof thumb_a, s[0].sha256);
    ps_store_sha256_hex(thumb_b, sizeof thumb_b, s[1].sha256);
    s[0].size = 12345;
    s[0].width = 800;
    s[0].height = 600;
    s[0].thumb = thumb_a;
    s[0].thumb_len = sizeof thumb_a;
    s[0].embedding = emb;
    s[0].n_embedding = 16;
    s[1].size = 54321;
    s[1].width = 1024;
    s[1].height = 768;
    s[1].thumb = thumb_b;
    s[1].thumb_len = sizeof thumb_b;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static int file_has(const char *path, const void *needle, size_t nlen)
{
    size_t n;
    unsigned char *p = slurp(path, &n);
    int found = p && memmem(p, n, needle, nlen) != NULL;
    free(p);
    return found;
}

static void file_sha(const char *path, char out[65])
{
    size_t n;
    unsigned char *p = slurp(path, &n);
    ps_store_sha256_hex(p ? p : (unsigned char *)"", n, out);
    free(p);
}

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

static void test_sha256(void)
{
    char h[65];
    ps_store_sha256_hex("", 0, h);
    CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "%s", h);
    ps_store_sha256_hex("abc", 3, h);
    CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "%s", h);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 2 blocks of padding */
    ps_store_sha256_hex(two, strlen(two), h);
    CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "%s", h);
    char *m = malloc(1000000);
    memset(m, 'a', 1000000);
    ps_store_sha256_hex(m, 1000000, h);
    CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "%s", h);
    free(m);
}

static void test_names(void)
{
    const char *good[] = {"alice", "A.b_c-1", "x", "0123456789012345678901234567890123456789012345678901234567890123"};
    const char *bad[] = {"", "a'b", "a\"b", "a;b", "../x", "a/b", "a b", ".", "..", "\xff\xfe", "caf\xc3\xa9",
                         "a\nb", "a%s", "01234567890123456789012345678901234567890123456789012345678901234"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(ps_store_check_name(PS_NAME_USER, good[i]) == PS_OK, "'%s' should be fine", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(ps_store_check_name(PS_NAME_STYLE, bad[i]) == PS_EINPUT && has(ps_last_error(), "bad style name"),
              "bad name #%zu accepted: %s", i, ps_last_error());
}

static void test_roundtrip(void)
{
    ps_store *db;
    ps_style_rec r, got;
    ps_sample_rec smp[2], *gs;
    int v = 0, n;
    mkdir("deep", 0755);
    CHECK(ps_store_open(&db, "deep/a/b/styles.db", 0) == PS_ESTORE && has(ps_last_error(), "no style database"),
          "missing without CREATE: %s", ps_last_error());
    CHECK(ps_store_open(&db, "deep/a/b/styles.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    struct stat sb;
    CHECK(stat("deep/a/b/styles.db", &sb) == 0 && (sb.st_mode & 0777) == 0600, "db mode %o", sb.st_mode & 0777);
    CHECK(stat("deep/a/b", &sb) == 0 && (sb.st_mode & 0777) == 0700, "folder mode %o", sb.st_mode & 0777);
    make_rec(&r, "alice", "", 1.0f);
    make_samples(smp, NULL);
    CHECK(ps_store_put_style(db, &r, smp, 2, &v) == PS_OK && v == 1, "put v%d: %s", v, ps_last_error());
    make_rec(&r, "alice", "", 2.0f);
    r.created_at = 1700000000;
    CHECK(ps_store_put_style(db, &r, smp, 1, &v) == PS_OK && v == 2, "put v%d", v);
    make_rec(&r, "alice", "ink", 3.0f);
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_OK && v == 1, "other style starts at 1: v%d", v);

    CHECK(ps_store_get_style(db, "alice", NULL, 0, &got, &gs, &n) == PS_OK, "%s", ps_last_error());
    make_rec(&r, "alice", "", 2.0f);
    CHECK(got.version == 2 && !strcmp(got.style, "default") && n == 1, "latest v%d n%d", got.version, n);
    CHECK(!memcmp(got.tokens, toks, sizeof toks), "tokens round trip exactly");
    CHECK(got.created_at == 1700000000 && !strcmp(got.settings, r.settings) && !strcmp(got.quality, r.quality),
          "metadata");
    CHECK(n == 1 && !strcmp(gs[0].sha256, smp[0].sha256) && gs[0].thumb_len == sizeof thumb_a &&
              !memcmp(gs[0].thumb, thumb_a, sizeof thumb_a) && gs[0].n_embedding == 16 &&
              !memcmp(gs[0].embedding, emb, sizeof emb) && gs[0].width == 800 && gs[0].size == 12345,
          "sample round trip");
    ps_store_style_free(&got);
    ps_store_samples_free(gs, n);
    CHECK(ps_store_get_style(db, "alice", "default", 1, &got, &gs, &n) == PS_OK && got.version == 1 && n == 2 &&
              gs[1].thumb_len == sizeof thumb_b && gs[1].n_embedding == 0 && got.created_at > 1700000000,
          "older version");
    ps_store_style_free(&got);
    ps_store_samples_free(gs, n);

    CHECK(ps_store_get_style(db, "bob", NULL, 0, &got, NULL, NULL) == PS_EINPUT &&
              !strcmp(ps_last_error(), "unknown user 'bob'"), "%s", ps_last_error());
    CHECK(ps_store_get_style(db, "alice", "oil", 0, &got, NULL, NULL) == PS_EINPUT &&
              !strcmp(ps_last_error(), "user 'alice' has no style 'oil'"), "%s", ps_last_error());
    CHECK(ps_store_get_style(db, "alice", NULL, 5, &got, NULL, NULL) == PS_EINPUT &&
              has(ps_last_error(), "has no version 5"), "%s", ps_last_error());
    CHECK(ps_store_get_style(db, "al;ice", NULL, 0, &got, NULL, NULL) == PS_EINPUT, "bad name on get");

    make_rec(&r, "bad'name", "", 0);
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_EINPUT, "bad user refused on put");
    make_rec(&r, "alice", "", 0);
    snprintf(r.model_hash, sizeof r.model_hash, "XYZ");
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_EINPUT && has(ps_last_error(), "model hash"), "hash");
    make_rec(&r, "alice", "", 0);
    r.dim = 0;
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_EINPUT && has(ps_last_error(), "token shape"), "shape");

    ps_store_row *rows;
    int nr;
    CHECK(ps_store_list(db, NULL, NULL, 1, &rows, &nr) == PS_OK && nr == 2, "latest rows %d", nr);
    CHECK(nr == 2 && !strcmp(rows[0].style, "default") && rows[0].version == 2 && rows[0].n_versions == 2 &&
              rows[0].n_samples == 1 && rows[0].n_thumbs == 1 && !strcmp(rows[1].style, "ink"),
          "list content");
    free(rows);
    CHECK(ps_store_list(db, "alice", "default", 0, &rows, &nr) == PS_OK && nr == 2 && rows[0].version == 1 &&
              rows[0].n_samples == 2, "all versions");
    free(rows);
    CHECK(ps_store_list(db, "zoe", NULL, 0, &rows, &nr) == PS_EINPUT, "list unknown user");
    ps_store_close(db);
}

/* A token blob that fails its CRC, or is not zlib at all, is a store error, never garbage. */
static void test_corrupt_blob(void)
{
    ps_store *db;
    ps_style_rec r;
    int v;
    CHECK(ps_store_open(&db, "blob.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    make_rec(&r, "alice", "", 1.0f);
    ps_store_put_style(db, &r, NULL, 0, &v);
    ps_store_put_style(db, &r, NULL, 0, &v);
    ps_store_close(db);
    CHECK(raw_exec("blob.db", "UPDATE styles SET tokens_crc = tokens_crc + 1 WHERE version=1;"
                              "UPDATE styles SET tokens = x'00112233' WHERE version=2") == SQLITE_OK, "tamper");
    CHECK(ps_store_open(&db, "blob.db", PS_STORE_READONLY) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_get_style(db, "alice", NULL, 1, &r, NULL, NULL) == PS_ESTORE &&
              has(ps_last_error(), "CRC mismatch") && has(ps_last_error(), "blob.db"), "%s", ps_last_error());
    CHECK(ps_store_get_style(db, "alice", NULL, 2, &r, NULL, NULL) == PS_ESTORE &&
              has(ps_last_error(), "token blob is corrupt"), "%s", ps_last_error());
    ps_store_close(db);
}

/* Schema 1 as the first pstyle wrote it (no thumbnails): frozen here on purpose. */
static const char v1_sql[] =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE models(hash TEXT PRIMARY KEY, first_used INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE styles(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, version INTEGER NOT NULL, model_hash TEXT NOT NULL REFERENCES models(hash),"
    " groups INTEGER NOT NULL, tokens_per_group INTEGER NOT NULL, dim INTEGER NOT NULL, tokens BLOB NOT NULL,"
    " tokens_crc INTEGER NOT NULL, shots INTEGER NOT NULL, settings TEXT, quality TEXT,"
    " created_at INTEGER NOT NULL, UNIQUE(user_id, name, version));"
    "CREATE TABLE samples(id INTEGER PRIMARY KEY, style_id INTEGER NOT NULL REFERENCES styles(id) ON DELETE"
    " CASCADE, idx INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, embedding BLOB,"
    " UNIQUE(style_id, idx));"
    "PRAGMA application_id=1884517497; PRAGMA user_version=1;"
    "INSERT INTO users VALUES(1, 'olduser', 1600000000);"
    "INSERT INTO models VALUES('aaaaaaaaaaaaaaaa', 1600000000);";

static void make_v1(const char *path)
{
    /* tokens: 1 x 1 x 4 floats 1, 2, 3, 4 as float32 LE, zlib'ed, CRC of the raw bytes */
    unsigned char raw[16], z[64];
    float f[4] = {1, 2, 3, 4};
    memcpy(raw, f, 16); /* the test hosts are little-endian, as the format is */
    uLongf zl = sizeof z;
    compress(z, &zl, raw, 16);
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open(path, &db);
    CHECK(sqlite3_exec(db, v1_sql, NULL, NULL, NULL) == SQLITE_OK, "v1 schema: %s", sqlite3_errmsg(db));
    sqlite3_prepare_v2(db, "INSERT INTO styles VALUES(1, 1, 'default', 1, 'aaaaaaaaaaaaaaaa', 1, 1, 4, ?, ?, 1,"
                           " NULL, NULL, 1600000000)", -1, &st, NULL);
    sqlite3_bind_blob(st, 1, z, (int)zl, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)crc32(0, raw, 16));
    CHECK(sqlite3_step(st) == SQLITE_DONE, "v1 style row");
    sqlite3_finalize(st);
    CHECK(sqlite3_exec(db, "INSERT INTO samples VALUES(1, 1, 0, '" /* sha256 of "abc" */
                           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 999, NULL)",
                       NULL, NULL, NULL) == SQLITE_OK, "v1 sample row");
    sqlite3_close(db);
}

static void test_migrations(void)
{
    ps_store *db;
    ps_style_rec r;
    ps_sample_rec *smp;
    int n, v;
    make_v1("v1.db");
    CHECK(ps_store_open(&db, "v1.db", PS_STORE_READONLY) == PS_ESTORE && has(ps_last_error(), "older pstyle"),
          "read-only open cannot migrate: %s", ps_last_error());
    CHECK(ps_store_open(&db, "v1.db", 0) == PS_OK, "migrate v1: %s", ps_last_error());
    CHECK(ps_store_get_style(db, "olduser", NULL, 0, &r, &smp, &n) == PS_OK, "%s", ps_last_error());
    CHECK(r.version == 1 && r.dim == 4 && r.tokens[3] == 4.0f && n == 1 && smp[0].thumb_len == 0 &&
              smp[0].width == 0 && smp[0].size == 999, "v1 data survives");
    ps_store_style_free(&r);
    ps_store_samples_free(smp, n);
    make_rec(&r, "olduser", "", 0);
    ps_sample_rec s2[2];
    make_samples(s2, NULL);
    CHECK(ps_store_put_style(db, &r, s2, 2, &v) == PS_OK && v == 2, "write after migration v%d", v);
    ps_store_close(db);
    sqlite3 *raw;
    sqlite3_stmt *st;
    sqlite3_open("v1.db", &raw);
    sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == PS_STORE_SCHEMA, "now schema %d", PS_STORE_SCHEMA);
    sqlite3_finalize(st);
    sqlite3_close(raw);

    /* schema 0: an empty file (e.g. made by touch) becomes a store */
    spit("v0.db", "", 0);
    CHECK(ps_store_open(&db, "v0.db", 0) == PS_OK, "v0: %s", ps_last_error());
    ps_store_close(db);
}

/* Schema 3 (programs, no sample names), as pstyle wrote it before sample file names: frozen. */
static const char v1_to_v3_sql[] =
    "ALTER TABLE samples ADD COLUMN width INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE samples ADD COLUMN height INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE samples ADD COLUMN thumb BLOB;"
    "ALTER TABLE styles ADD COLUMN program BLOB;"
    "ALTER TABLE styles ADD COLUMN program_crc INTEGER;"
    "PRAGMA user_version=3;";

/* Sample file names: stored as given (base names), "" when unknown; a schema-3 store reads
 * without them read-only (apply, list and show need no migration) and migrates on a write. */
static void test_sample_names(void)
{
    ps_store *db;
    ps_style_rec r, got;
    ps_sample_rec smp[2], *gs;
    int v = 0, n;
    make_v1("v3.db");
    CHECK(raw_exec("v3.db", v1_to_v3_sql) == SQLITE_OK, "v3 schema");
    CHECK(ps_store_open(&db, "v3.db", PS_STORE_READONLY) == PS_OK, "read-only open of schema 3: %s",
          ps_last_error());
    CHECK(ps_store_get_style(db, "olduser", NULL, 0, &got, &gs, &n) == PS_OK && n == 1 &&
              gs[0].name[0] == 0 && gs[0].size == 999, "schema-3 sample read as it is: %s", ps_last_error());
    ps_store_style_free(&got);
    ps_store_samples_free(gs, n);
    ps_store_close(db);
    sqlite3 *raw;
    sqlite3_stmt *st;
    sqlite3_open("v3.db", &raw);
    sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 3, "a read-only open migrates nothing");
    sqlite3_finalize(st);
    sqlite3_close(raw);

    CHECK(ps_store_open(&db, "v3.db", 0) == PS_OK, "migrate v3: %s", ps_last_error());
    make_rec(&r, "olduser", "", 0);
    make_samples(smp, NULL);
    snprintf(smp[0].name, sizeof smp[0].name, "IMG_0042 caf\xc3\xa9.JPG");
    CHECK(ps_store_put_style(db, &r, smp, 2, &v) == PS_OK && v == 2, "put with names v%d: %s", v, ps_last_error());
    CHECK(ps_store_get_style(db, "olduser", NULL, 0, &got, &gs, &n) == PS_OK && n == 2 &&
              !strcmp(gs[0].name, "IMG_0042 caf\xc3\xa9.JPG") && gs[1].name[0] == 0,
          "names round trip (%s)", n ? gs[0].name : "none");
    ps_store_style_free(&got);
    ps_store_samples_free(gs, n);
    CHECK(ps_store_get_style(db, "olduser", NULL, 1, &got, &gs, &n) == PS_OK && n == 1 && gs[0].name[0] == 0,
          "the migrated sample has no name");
    ps_store_style_free(&got);
    ps_store_samples_free(gs, n);
    const char *bad[] = {"a/b.jpg", "line\nbreak.png", "tab\t.png", "del\x7f.png"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(smp[1].name, sizeof smp[1].name, "%s", bad[i]);
        CHECK(ps_store_put_style(db, &r, smp, 2, &v) == PS_EINPUT && has(ps_last_error(), "sample 2") &&
                  has(ps_last_error(), "base name"), "name %zu refused: %s", i, ps_last_error());
    }
    memset(smp[1].name, 'x', sizeof smp[1].name); /* not terminated within the field */
    CHECK(ps_store_put_style(db, &r, smp, 2, &v) == PS_EINPUT, "an unterminated name is refused");
    memset(smp[1].name, 'x', PS_STORE_SAMPLE_NAME_MAX);
    smp[1].name[PS_STORE_SAMPLE_NAME_MAX] = 0;
    CHECK(ps_store_put_style(db, &r, smp, 2, &v) == PS_OK && v == 3, "a name of %d bytes: %s",
          PS_STORE_SAMPLE_NAME_MAX, ps_last_error());
    ps_store_close(db);
    sqlite3_open("v3.db", &raw);
    sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == PS_STORE_SCHEMA, "now schema %d",
          PS_STORE_SCHEMA);
    sqlite3_finalize(st);
    sqlite3_close(raw);
}

/* Files that are not ours or are newer: refused with exit 3, and their bytes stay as they were. */
static void test_foreign_files(void)
{
    ps_store *db;
    char before[65], after[65];
    const char *cases[] = {"junk.db", "other.db", "newer.db"};
    char newer[64];
    snprintf(newer, sizeof newer, "newer pstyle (schema 7 > %d); upgrade pstyle", PS_STORE_SCHEMA);
    const char *why[] = {"not an SQLite file", "another program", newer};
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 31 + 7);
    spit("junk.db", junk, sizeof junk);
    raw_exec("other.db", "CREATE TABLE t(a); INSERT INTO t VALUES('x')");
    CHECK(ps_store_open(&db, "newer.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    ps_store_close(db);
    raw_exec("newer.db", "PRAGMA user_version=7");
    for (int i = 0; i < 3; i++) {
        file_sha(cases[i], before);
        for (int ro = 0; ro < 2; ro++) {
            CHECK(ps_store_open(&db, cases[i], ro ? PS_STORE_READONLY : PS_STORE_CREATE) == PS_ESTORE &&
                      has(ps_last_error(), why[i]) && has(ps_last_error(), cases[i]),
                  "%s ro=%d: %s", cases[i], ro, ps_last_error());
        }
        file_sha(cases[i], after);
        CHECK(!strcmp(before, after), "%s untouched", cases[i]);
    }
    mkdir("adir.db", 0700);
    CHECK(ps_store_open(&db, "adir.db", 0) == PS_ESTORE && has(ps_last_error(), "not a regular file"), "dir");
}

/* chmod a-w: even root, who could write anyway, gets a read-only store; reading still works. */
static void test_readonly(void)
{
    ps_store *db;
    ps_style_rec r;
    int v;
    CHECK(ps_store_open(&db, "ro.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    make_rec(&r, "alice", "", 1.0f);
    ps_store_put_style(db, &r, NULL, 0, &v);
    ps_store_close(db);
    chmod("ro.db", 0400);
    char before[65], after[65];
    file_sha("ro.db", before);
    CHECK(ps_store_open(&db, "ro.db", PS_STORE_CREATE) == PS_ESTORE && has(ps_last_error(), "read-only"),
          "%s", ps_last_error());
    CHECK(ps_store_open(&db, "ro.db", PS_STORE_READONLY) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_get_style(db, "alice", NULL, 0, &r, NULL, NULL) == PS_OK && r.version == 1, "read");
    ps_store_style_free(&r);
    make_rec(&r, "alice", "", 1.0f);
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_ESTORE && has(ps_last_error(), "read-only"), "put");
    CHECK(ps_store_forget(db, "alice", NULL) == PS_ESTORE && has(ps_last_error(), "read-only"), "forget");
    ps_store_close(db);
    file_sha("ro.db", after);
    CHECK(!strcmp(before, after), "read-only file untouched");
}

/* Overwrite the value of field `name` (text) in the HEAD chunk of an export and fix its CRC:
 * a well-formed file carrying a hostile value. */
static void craft_head_user(const char *src, const char *dst, const char *user, size_t ulen)
{
    size_t n;
    unsigned char *p = slurp(src, &n);
    unsigned char *at = memmem(p, n, "\x04user" "S", 6);
    CHECK(at != NULL, "user field in HEAD");
    if (!at)
        return;
    uint32_t old = (uint32_t)at[6] | (uint32_t)at[7] << 8;
    CHECK(old == ulen, "crafted name must keep the length (%u vs %zu)", old, ulen);
    memcpy(at + 10, user, ulen);
    uint32_t clen = (uint32_t)p[16] | (uint32_t)p[17] << 8 | (uint32_t)p[18] << 16 | (uint32_t)p[19] << 24;
    uint32_t crc = (uint32_t)crc32(crc32(0, p + 12, 4), p + 20, clen);
    for (int i = 0; i < 4; i++)
        p[20 + clen + i] = (unsigned char)(crc >> (8 * i));
    spit(dst, p, n);
    free(p);
}

static void test_export_import(void)
{
    ps_store *db, *db2;
    ps_style_rec r, got;
    ps_sample_rec smp[2], *gs;
    ps_store_bundle b;
    int v, n;
    CHECK(ps_store_open(&db, "exp.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    make_samples(smp, NULL);
    make_rec(&r, "alice", "", 1.0f);
    ps_store_put_style(db, &r, smp, 2, &v);
    make_rec(&r, "alice", "", 2.0f);
    ps_store_put_style(db, &r, smp, 1, &v);
    make_rec(&r, "alice", "ink", 3.0f);
    r.settings = r.quality = NULL;
    ps_store_put_style(db, &r, NULL, 0, &v);
    make_rec(&r, "bob", "", 9.0f);
    ps_store_put_style(db, &r, NULL, 0, &v);
    CHECK(ps_store_export(db, "alice", NULL, "alice.pst") == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_export(db, "alice", "ink", "ink.pst") == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_export(db, "nobody", NULL, "x.pst") == PS_EINPUT && access("x.pst", F_OK) != 0, "unknown");
    ps_store_close(db);

    CHECK(ps_store_bundle_read("alice.pst", &b) == PS_OK && b.n == 3 && !strcmp(b.user, "alice"), "read");
    CHECK(ps_store_open(&db2, "imp.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_import(db2, &b, NULL) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_import(db2, &b, "carol") == PS_OK, "%s", ps_last_error());
    ps_store_bundle_free(&b);
    CHECK(ps_store_get_style(db2, "alice", NULL, 1, &got, &gs, &n) == PS_OK && n == 2 &&
              gs[1].thumb_len == sizeof thumb_b && !memcmp(gs[1].thumb, thumb_b, sizeof thumb_b) &&
              gs[0].n_embedding == 16 && !memcmp(gs[0].embedding, emb, sizeof emb), "samples travel");
    make_rec(&r, "alice", "", 1.0f);
    CHECK(!memcmp(got.tokens, toks, sizeof toks) && !strcmp(got.quality, "{\"loss\": 0.25}"), "tokens travel");
    ps_store_style_free(&got);
    ps_store_samples_free(gs, n);
    CHECK(ps_store_get_style(db2, "carol", "ink", 0, &got, NULL, NULL) == PS_OK && !got.settings, "as carol");
    ps_store_style_free(&got);
    CHECK(ps_store_get_style(db2, "bob", NULL, 0, &got, NULL, NULL) == PS_EINPUT, "bob was not exported");
    CHECK(ps_store_bundle_read("ink.pst", &b) == PS_OK && b.n == 1, "one style");
    ps_store_bundle_free(&b);

    /* damage: one flipped byte anywhere past the header, a cut, wrong magic, a newer format */
    size_t len;
    unsigned char *p = slurp("alice.pst", &len);
    size_t spots[] = {30, len / 3, len / 2, len - 20, len - 3};
    for (size_t i = 0; i < sizeof spots / sizeof *spots; i++) {
        p[spots[i]] ^= 0x40;
        spit("bad.pst", p, len);
        p[spots[i]] ^= 0x40;
        CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT &&
                  (has(ps_last_error(), "corrupt") || has(ps_last_error(), "truncated") ||
                   has(ps_last_error(), "not a valid")), "flip at %zu: %s", spots[i], ps_last_error());
    }
    for (size_t cut = 4; cut < len; cut += len / 7) {
        spit("bad.pst", p, cut);
        CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT, "cut at %zu accepted", cut);
    }
    spit("bad.pst", p, len - 1);
    CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT && has(ps_last_error(), "truncated"), "%s",
          ps_last_error());
    p[0] = 'Q';
    spit("bad.pst", p, len);
    CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT && has(ps_last_error(), "bad magic"), "magic");
    p[0] = 'P';
    p[8] = 99;
    spit("bad.pst", p, len);
    CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT && has(ps_last_error(), "newer pstyle"), "format");
    free(p);
    CHECK(ps_store_bundle_read("nonexistent.pst", &b) == PS_EINPUT, "missing file");
    CHECK(ps_store_bundle_read("junk.db", &b) == PS_EINPUT && has(ps_last_error(), "bad magic"), "junk");

    /* well-formed files with hostile names: NUL inside, path traversal, quotes */
    craft_head_user("alice.pst", "bad.pst", "al\0ce", 5);
    CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT && has(ps_last_error(), "binary"), "%s",
          ps_last_error());
    craft_head_user("alice.pst", "bad.pst", "../al", 5);
    CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT && has(ps_last_error(), "bad user name"), "%s",
          ps_last_error());
    craft_head_user("alice.pst", "bad.pst", "a';--", 5);
    CHECK(ps_store_bundle_read("bad.pst", &b) == PS_EINPUT && has(ps_last_error(), "bad user name"), "%s",
          ps_last_error());
    craft_head_user("alice.pst", "ok.pst", "dave1", 5);
    CHECK(ps_store_bundle_read("ok.pst", &b) == PS_OK && !strcmp(b.user, "dave1"), "crafting itself is sound");
    CHECK(ps_store_import(db2, &b, "x/y") == PS_EINPUT, "bad --as name");
    ps_store_bundle_free(&b);
    ps_store_close(db2);
}

/* forget: the name and the thumbnails must be gone from every byte of the db and its -wal. */
static void test_forget(void)
{
    ps_store *db;
    ps_style_rec r;
    ps_sample_rec smp[2];
    int v;
    const char *secret = "zed-secret-user", *marker = "THUMB-MARKER-7f3a";
    CHECK(ps_store_open(&db, "fg.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    make_samples(smp, marker);
    for (int i = 0; i < 3; i++) {
        make_rec(&r, secret, i == 2 ? "second" : "", (float)i);
        ps_store_put_style(db, &r, smp, 2, &v);
    }
    make_samples(smp, NULL);
    make_rec(&r, "keeper", "", 5.0f);
    ps_store_put_style(db, &r, smp, 2, &v);
    /* the test can fail: before forget both are in the files */
    CHECK(file_has("fg.db", secret, strlen(secret)) || file_has("fg.db-wal", secret, strlen(secret)), "name");
    CHECK(file_has("fg.db", marker, strlen(marker)) || file_has("fg.db-wal", marker, strlen(marker)), "thumb");

    CHECK(ps_store_forget(db, secret, "nostyle") == PS_EINPUT && has(ps_last_error(), "has no style"), "style");
    CHECK(ps_store_forget(db, "nobody", NULL) == PS_EINPUT && has(ps_last_error(), "unknown user"), "user");
    CHECK(ps_store_forget(db, secret, "second") == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_get_style(db, secret, "second", 0, &r, NULL, NULL) == PS_EINPUT, "style gone");
    CHECK(ps_store_get_style(db, secret, NULL, 0, &r, NULL, NULL) == PS_OK && r.version == 2, "others stay");
    ps_store_style_free(&r);
    CHECK(ps_store_forget(db, secret, NULL) == PS_OK, "%s", ps_last_error());
    /* checked while the store is still open: the -wal must be clean too, not just deleted on close */
    CHECK(!file_has("fg.db", secret, strlen(secret)) && !file_has("fg.db-wal", secret, strlen(secret)),
          "name left in the file");
    CHECK(!file_has("fg.db", marker, strlen(marker)) && !file_has("fg.db-wal", marker, strlen(marker)),
          "thumbnail left in the file");
    CHECK(ps_store_get_style(db, secret, NULL, 0, &r, NULL, NULL) == PS_EINPUT, "user gone");
    CHECK(ps_store_get_style(db, "keeper", NULL, 0, &r, NULL, NULL) == PS_OK, "keeper stays");
    ps_store_style_free(&r);

    /* forgetting the last style of a user removes the user row (and the name) as well */
    make_rec(&r, "solo-user-name", "only", 1.0f);
    ps_store_put_style(db, &r, NULL, 0, &v);
    CHECK(ps_store_forget(db, "solo-user-name", "only") == PS_OK, "%s", ps_last_error());
    CHECK(!file_has("fg.db", "solo-user-name", 14) && !file_has("fg.db-wal", "solo-user-name", 14), "solo");
    ps_store_close(db);
}

/* The style program travels with its version: stored exactly, compared by "already up to
 * date", exported and imported; a style without one reads back without one. */
static void test_program(void)
{
    ps_store *db, *db2;
    ps_style_rec r, got;
    float prog[300];
    int v = 0;
    for (int i = 0; i < 300; i++)
        prog[i] = (float)i * 0.37f - 20.0f;
    CHECK(ps_store_open(&db, "prog.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    make_rec(&r, "pat", "", 1.0f);
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_OK && v == 1, "no program: %s", ps_last_error());
    r.program = prog;
    r.n_program = 300;
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_OK && v == 2, "program: %s", ps_last_error());
    CHECK(ps_store_get_style(db, "pat", NULL, 1, &got, NULL, NULL) == PS_OK && !got.program &&
              got.n_program == 0, "v1 has none");
    ps_store_style_free(&got);
    CHECK(ps_store_get_style(db, "pat", NULL, 2, &got, NULL, NULL) == PS_OK && got.n_program == 300 &&
              !memcmp(got.program, prog, sizeof prog), "v2's program round trips exactly");
    ps_store_style_free(&got);
    ps_store_row *rows;
    int nr;
    CHECK(ps_store_list(db, "pat", NULL, 0, &rows, &nr) == PS_OK && nr == 2 && !rows[0].has_program &&
              rows[1].has_program, "list says which versions have a program");
    free(rows);
    r.n_program = -1;
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_EINPUT, "negative program length");
    r.n_program = PS_STORE_MAX_PROGRAM + 1;
    CHECK(ps_store_put_style(db, &r, NULL, 0, &v) == PS_EINPUT, "oversized program");
    r.n_program = 300;
    CHECK(ps_store_export(db, "pat", NULL, "pat.pst") == PS_OK, "%s", ps_last_error());
    ps_store_bundle b;
    CHECK(ps_store_bundle_read("pat.pst", &b) == PS_OK && b.n == 2 && b.styles[0].n_program == 0 &&
              b.styles[1].n_program == 300 && !memcmp(b.styles[1].program, prog, sizeof prog),
          "export carries the program: %s", ps_last_error());
    size_t plen;
    unsigned char *pf = slurp("pat.pst", &plen);
    CHECK(pf && plen > 12 && pf[8] == 2, "written as format 2");
    if (pf && plen > 12) { /* format 1 (before programs) still reads: its styles have none */
        ps_store_bundle b1;
        pf[8] = 1;
        spit("pat1.pst", pf, plen);
        CHECK(ps_store_bundle_read("pat1.pst", &b1) == PS_OK && b1.n == 2, "format 1: %s",
              ps_last_error());
        ps_store_bundle_free(&b1);
    }
    free(pf);
    CHECK(ps_store_open(&db2, "prog2.db", PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_import(db2, &b, NULL) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_get_style(db2, "pat", NULL, 0, &got, NULL, NULL) == PS_OK && got.version == 2 &&
              got.n_program == 300 && !memcmp(got.program, prog, sizeof prog), "imported program");
    ps_store_style_free(&got);
    ps_store_import_rec rep[2];
    CHECK(ps_store_import_report(db2, &b, NULL, rep) == PS_OK && !rep[0].added && !rep[1].added,
          "reimport: %s", ps_last_error());
    CHECK(ps_store_get_style(db2, "pat", NULL, 0, &got, NULL, NULL) == PS_OK && got.version == 2,
          "the same program again adds nothing (v%d)", got.version);
    ps_store_style_free(&got);
    prog[7] += 1.0f; /* same tokens, another program: a new version */
    CHECK(ps_store_put_style(db2, &r, NULL, 0, &v) == PS_OK && v == 3, "changed program v%d", v);
    ps_store_bundle_free(&b);
    /* a corrupt program blob is an error, not a silent identity */
    ps_store_close(db2);
    CHECK(raw_exec("prog2.db", "UPDATE styles SET program_crc = program_crc + 1 WHERE version = 3") ==
              SQLITE_OK, "corrupt");
    CHECK(ps_store_open(&db2, "prog2.db", PS_STORE_READONLY) == PS_OK, "%s", ps_last_error());
    CHECK(ps_store_get_style(db2, "pat", NULL, 3, &got, NULL, NULL) == PS_ESTORE &&
              has(ps_last_error(), "program blob is corrupt"), "%s", ps_last_error());
    ps_store_close(db2);
    ps_store_close(db);
}

int main(void)
{
    test_sha256();
    test_names();
    test_roundtrip();
    test_corrupt_blob();
    test_migrations();
    test_sample_names();
    test_foreign_files();
    test_readonly();
    test_export_import();
    test_forget();
    test_program();
    return check_done("test_store");
}
