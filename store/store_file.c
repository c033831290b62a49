/* Export files: one user's styles, every version with its samples, in a self-describing,
 * versioned, CRC-checked container that another machine's pstyle imports.
 *
 *   "PSTYLEX" 0x1a            magic (0x1a catches text-mode mangling, as PNG does)
 *   u32 format                PS_FILE_FORMAT; a newer one is refused with a clear message
 *   chunks                    [4-byte tag][u32 length][payload][u32 CRC-32 of tag + payload]
 *     HEAD                    format "pstyle-export", pstyle version, user, n styles, exported_at
 *     STYL                    one style version: name, version, model hash, token shape and
 *                             float32 tokens, shots, settings, quality, created_at, n samples,
 *                             and (format 2) the float32 style program when it has one
 *     SAMP                    one sample of the STYL before it: sha256, name (its file's base
 *                             name, when known), size, width, height, thumbnail, embedding
 *     END                     ("END " with a space) nothing may follow; its absence = truncated
 *   payload fields            [u8 name length][name][u8 type][u32 length][value], types
 *                             'I' int64, 'S' text, 'B' bytes, 'F' float32 array
 * All integers little-endian. Readers skip unknown fields, so later formats can add some.
 * Format 1 files (before style programs) import as styles without a program: relearn fits one. */
#include "store/store_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define PS_FILE_MAGIC "PSTYLEX\x1a"
#define PS_FILE_FORMAT 2
#define PS_FILE_MAX ((size_t)1 << 30)

/* ---- writing ------------------------------------------------------------------------------- */

static void field_head(ps_buf *b, const char *name, char type, size_t len)
{
    unsigned char nl = (unsigned char)strlen(name);
    ps_buf_put(b, &nl, 1);
    ps_buf_put(b, name, nl);
    ps_buf_put(b, &type, 1);
    ps_buf_put_le(b, (uint32_t)len, 4);
}

static void field_int(ps_buf *b, const char *name, int64_t v)
{
    field_head(b, name, 'I', 8);
    ps_buf_put_le(b, (uint64_t)v, 8);
}

static void field_bytes(ps_buf *b, const char *name, char type, const void *p, size_t n)
{
    field_head(b, name, type, n);
    ps_buf_put(b, p, n);
}

static void field_str(ps_buf *b, const char *name, const char *s)
{
    if (s)
        field_bytes(b, name, 'S', s, strlen(s));
}

static void field_f32(ps_buf *b, const char *name, const float *v, size_t n)
{
    field_head(b, name, 'F', n * 4);
    size_t at = b->len;
    ps_buf_put(b, NULL, n * 4);
    if (!b->oom)
        ps_store_f32_to_le(b->p + at, v, n);
}

/* Chunks are built in place: start writes the tag and a length placeholder, end fills the
 * length and appends the CRC of tag + payload. */
static size_t chunk_start(ps_buf *b, const char *tag)
{
    size_t at = b->len;
    ps_buf_put(b, tag, 4);
    ps_buf_put_le(b, 0, 4);
    return at;
}

static void chunk_end(ps_buf *b, size_t at)
{
    if (b->oom)
        return;
    uint32_t len = (uint32_t)(b->len - at - 8);
    for (int i = 0; i < 4; i++)
        b->p[at + 4 + i] = (unsigned char)(len >> (8 * i));
    uLong crc = crc32(0L, b->p + at, 4);
    crc = crc32(crc, b->p + at + 8, len);
    ps_buf_put_le(b, (uint32_t)crc, 4);
}

ps_status ps_store_export(ps_store *db, const char *user, const char *style, const char *file)
{
    ps_store_row *rows;
    int n;
    ps_status st = ps_store_list(db, user, style, 0, &rows, &n);
    if (st)
        return st;
    ps_buf b = {0};
    ps_buf_put(&b, PS_FILE_MAGIC, 8);
    ps_buf_put_le(&b, PS_FILE_FORMAT, 4);
    size_t c = chunk_start(&b, "HEAD");
    field_str(&b, "format", "pstyle-export");
    field_str(&b, "pstyle", ps_version());
    field_str(&b, "user", user);
    field_int(&b, "styles", n);
    field_int(&b, "exported_at", (int64_t)time(NULL));
    chunk_end(&b, c);
    for (int i = 0; !st && i < n; i++) {
        ps_style_rec r;
        ps_sample_rec *smp;
        int ns;
        st = ps_store_get_style(db, user, rows[i].style, rows[i].version, &r, &smp, &ns);
        if (st)
            break;
        c = chunk_start(&b, "STYL");
        field_str(&b, "style", r.style);
        field_int(&b, "version", r.version);
        field_str(&b, "model_hash", r.model_hash);
        field_int(&b, "groups", r.groups);
        field_int(&b, "tokens_per_group", r.tokens_per_group);
        field_int(&b, "dim", r.dim);
        field_f32(&b, "tokens", r.tokens, (size_t)ps_store_n_tokens(&r));
        if (r.n_program)
            field_f32(&b, "program", r.program, (size_t)r.n_program);
        field_int(&b, "shots", r.shots);
        field_str(&b, "settings", r.settings);
        field_str(&b, "quality", r.quality);
        field_int(&b, "created_at", r.created_at);
        field_int(&b, "samples", ns);
        chunk_end(&b, c);
        for (int k = 0; k < ns; k++) {
            c = chunk_start(&b, "SAMP");
            field_str(&b, "sha256", smp[k].sha256);
            if (smp[k].name[0])
                field_str(&b, "name", smp[k].name);
            field_int(&b, "size", smp[k].size);
            field_int(&b, "width", smp[k].width);
            field_int(&b, "height", smp[k].height);
            if (smp[k].thumb_len)
                field_bytes(&b, "thumb", 'B', smp[k].thumb, smp[k].thumb_len);
            field_f32(&b, "embedding", smp[k].embedding, (size_t)smp[k].n_embedding);
            chunk_end(&b, c);
        }
        ps_store_style_free(&r);
        ps_store_samples_free(smp, ns);
    }
    free(rows);
    chunk_end(&b, chunk_start(&b, "END "));
    if (!st && (b.oom || b.len > PS_FILE_MAX))
        st = ps_fail(PS_EINTERNAL, "%s: export too large for memory", file);
    if (!st)
        st = ps_file_write_bytes(file, PS_ESTORE, b.p, b.len);
    ps_buf_free(&b);
    return st;
}

/* ---- reading ------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    size_t n;
} span_t;

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Find field name in a chunk payload; 0 if absent or of another type. Payloads were already
 * walked once by chunk_fields_ok, so every length here is in bounds. */
static int field_find(span_t chunk, const char *name, char type, span_t *val)
{
    size_t at = 0, nl = strlen(name);
    while (at < chunk.n) {
        size_t klen = chunk.p[at];
        const unsigned char *key = chunk.p + at + 1;
        char t = (char)chunk.p[at + 1 + klen];
        uint32_t len = rd_u32(chunk.p + at + 2 + klen);
        const unsigned char *v = chunk.p + at + 6 + klen;
        if (klen == nl && !memcmp(key, name, nl) && t == type) {
            val->p = v;
            val->n = len;
            return 1;
        }
        at += 6 + klen + len;
    }
    return 0;
}

static int chunk_fields_ok(span_t chunk)
{
    size_t at = 0;
    while (at < chunk.n) {
        if (chunk.n - at < 6)
            return 0;
        size_t klen = chunk.p[at];
        if (chunk.n - at < 6 + klen)
            return 0;
        size_t len = rd_u32(chunk.p + at + 2 + klen);
        if (chunk.n - at - 6 - klen < len)
            return 0;
        at += 6 + klen + len;
    }
    return 1;
}

typedef struct {
    const char *file;
    const char *chunk;  /* tag, for messages */
    span_t c;
    ps_status st;       /* first failure; later lookups are no-ops */
} reader_t;

static void *rd_missing(reader_t *r, const char *name)
{
    if (!r->st)
        r->st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (%s chunk lacks field '%s')", r->file,
                        r->chunk, name);
    return NULL;
}

static int64_t rd_int(reader_t *r, const char *name, int64_t lo, int64_t hi)
{
    span_t v;
    if (r->st)
        return 0;
    if (!field_find(r->c, name, 'I', &v) || v.n != 8) {
        rd_missing(r, name);
        return 0;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)v.p[i] << (8 * i);
    int64_t x = (int64_t)u;
    if (x < lo || x > hi)
        r->st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (%s field '%s' = %lld out of range)",
                        r->file, r->chunk, name, (long long)x);
    return x;
}

/* Text field into dst (size n); optional ones may be absent. NUL bytes are refused. */
static void rd_str(reader_t *r, const char *name, char *dst, size_t n, int optional)
{
    span_t v;
    dst[0] = 0;
    if (r->st)
        return;
    if (!field_find(r->c, name, 'S', &v)) {
        if (!optional)
            rd_missing(r, name);
        return;
    }
    if (v.n >= n || memchr(v.p, 0, v.n)) {
        r->st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (%s field '%s' too long or binary)",
                        r->file, r->chunk, name);
        return;
    }
    memcpy(dst, v.p, v.n);
    dst[v.n] = 0;
}

static char *rd_str_dup(reader_t *r, const char *name)
{
    span_t v;
    if (r->st || !field_find(r->c, name, 'S', &v))
        return NULL;
    char *s = malloc(v.n + 1);
    if (!s) {
        r->st = ps_fail(PS_EINTERNAL, "out of memory");
        return NULL;
    }
    rd_str(r, name, s, v.n + 1, 1);
    return s;
}

static float *rd_f32(reader_t *r, const char *name, long want)
{
    span_t v;
    if (r->st)
        return NULL;
    if (!field_find(r->c, name, 'F', &v))
        return rd_missing(r, name);
    if (v.n % 4 || (want >= 0 && v.n != (size_t)want * 4) || v.n / 4 > PS_STORE_MAX_FLOATS) {
        r->st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (%s field '%s' has the wrong size)",
                        r->file, r->chunk, name);
        return NULL;
    }
    if (!v.n)
        return NULL;
    float *f = malloc(v.n);
    if (!f) {
        r->st = ps_fail(PS_EINTERNAL, "out of memory");
        return NULL;
    }
    ps_store_f32_from_le(f, v.p, v.n / 4);
    return f;
}

/* O_NONBLOCK: a FIFO with no writer is opened and refused below rather than blocking the open. */
static ps_status read_whole(const char *file, unsigned char **data, size_t *len)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    struct stat sb;
    if (!f) {
        int e = errno; /* of open or fdopen, before close can change it */
        if (fd >= 0)
            close(fd);
        return ps_fail(PS_EINPUT, "%s: %s", file, strerror(e));
    }
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || (size_t)sb.st_size > PS_FILE_MAX) {
        fclose(f);
        return ps_fail(PS_EINPUT, "%s: not a pstyle export (not a regular file, or over 1 GiB)", file);
    }
    *len = (size_t)sb.st_size;
    *data = malloc(*len ? *len : 1);
    if (!*data) {
        fclose(f);
        return ps_fail(PS_EINTERNAL, "out of memory");
    }
    size_t got = fread(*data, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*data);
        return ps_fail(PS_EINPUT, "%s: read error", file);
    }
    return PS_OK;
}

static ps_status bundle_grow(ps_store_bundle *b, int *cap)
{
    if (b->n < *cap)
        return PS_OK;
    int nc = *cap ? 2 * *cap : 8;
    ps_style_rec *s = realloc(b->styles, (size_t)nc * sizeof *s);
    if (s)
        b->styles = s;
    ps_sample_rec **m = realloc(b->samples, (size_t)nc * sizeof *m);
    if (m)
        b->samples = m;
    int *k = realloc(b->n_samples, (size_t)nc * sizeof *k);
    if (k)
        b->n_samples = k;
    if (!s || !m || !k)
        return ps_fail(PS_EINTERNAL, "out of memory");
    *cap = nc;
    return PS_OK;
}

/* One STYL chunk into the next bundle slot (with room for its samples). */
static void read_style(reader_t *r, ps_store_bundle *b, int *want_samples)
{
    ps_style_rec *s = &b->styles[b->n];
    memset(s, 0, sizeof *s);
    b->samples[b->n] = NULL;
    b->n_samples[b->n] = 0;
    b->n++; /* counted now so that bundle_free releases whatever is read below */
    snprintf(s->user, sizeof s->user, "%s", b->user);
    rd_str(r, "style", s->style, sizeof s->style, 0);
    s->version = (int)rd_int(r, "version", 1, INT32_MAX);
    rd_str(r, "model_hash", s->model_hash, sizeof s->model_hash, 0);
    s->groups = (int)rd_int(r, "groups", 1, PS_STORE_MAX_FLOATS);
    s->tokens_per_group = (int)rd_int(r, "tokens_per_group", 1, PS_STORE_MAX_FLOATS);
    s->dim = (int)rd_int(r, "dim", 1, PS_STORE_MAX_FLOATS);
    s->shots = (int)rd_int(r, "shots", 0, INT32_MAX);
    s->created_at = rd_int(r, "created_at", 0, INT64_MAX);
    *want_samples = (int)rd_int(r, "samples", 0, 1000);
    long nt = r->st ? 0 : ps_store_n_tokens(s);
    if (!r->st && nt < 0)
        r->st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (token shape %d x %d x %d)", r->file,
                        s->groups, s->tokens_per_group, s->dim);
    s->tokens = rd_f32(r, "tokens", nt);
    span_t v;
    if (!r->st && field_find(r->c, "program", 'F', &v)) {
        if (v.n / 4 > PS_STORE_MAX_PROGRAM || v.n == 0)
            r->st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (STYL field 'program' has "
                            "the wrong size)", r->file);
        else if ((s->program = rd_f32(r, "program", -1)))
            s->n_program = (int)(v.n / 4);
    }
    s->settings = rd_str_dup(r, "settings");
    s->quality = rd_str_dup(r, "quality");
    if (!r->st && *want_samples &&
        !(b->samples[b->n - 1] = calloc((size_t)*want_samples, sizeof(ps_sample_rec))))
        r->st = ps_fail(PS_EINTERNAL, "out of memory");
}

static void read_sample(reader_t *r, ps_sample_rec *m)
{
    span_t v;
    rd_str(r, "sha256", m->sha256, sizeof m->sha256, 0);
    rd_str(r, "name", m->name, sizeof m->name, 1); /* files before schema 4 have none */
    m->size = rd_int(r, "size", 0, INT64_MAX);
    m->width = (int)rd_int(r, "width", 0, INT32_MAX);
    m->height = (int)rd_int(r, "height", 0, INT32_MAX);
    if (!r->st && field_find(r->c, "thumb", 'B', &v) && v.n) {
        if (!(m->thumb = ps_store_memdup(v.p, v.n)))
            r->st = ps_fail(PS_EINTERNAL, "out of memory");
        m->thumb_len = v.n;
    }
    m->embedding = rd_f32(r, "embedding", -1);
    if (!r->st && field_find(r->c, "embedding", 'F', &v))
        m->n_embedding = (int)(v.n / 4);
}

ps_status ps_store_bundle_read(const char *file, ps_store_bundle *b)
{
    memset(b, 0, sizeof *b);
    unsigned char *data = NULL;
    size_t len = 0, at = 12;
    ps_status st = read_whole(file, &data, &len);
    if (st)
        return st;
    reader_t r = {.file = file};
    int cap = 0, want_samples = 0, head = 0, end = 0, declared = -1;
    if (len < 12 || memcmp(data, PS_FILE_MAGIC, 8))
        r.st = ps_fail(PS_EINPUT, "%s: not a pstyle export (bad magic)", file);
    else if (rd_u32(data + 8) > PS_FILE_FORMAT)
        r.st = ps_fail(PS_EINPUT, "%s: written by a newer pstyle (export format %u > %d); upgrade pstyle",
                       file, rd_u32(data + 8), PS_FILE_FORMAT);
    while (!r.st && !end) {
        if (len - at < 12) {
            r.st = ps_fail(PS_EINPUT, "%s: export file is truncated", file);
            break;
        }
        char tag[5] = {0};
        memcpy(tag, data + at, 4);
        uint32_t clen = rd_u32(data + at + 4);
        if (len - at - 12 < clen) {
            r.st = ps_fail(PS_EINPUT, "%s: export file is truncated", file);
            break;
        }
        uLong crc = crc32(crc32(0L, data + at, 4), data + at + 8, clen);
        if ((uint32_t)crc != rd_u32(data + at + 8 + clen)) {
            r.st = ps_fail(PS_EINPUT, "%s: export file is corrupt (CRC mismatch in a %s chunk at byte %zu)",
                           file, tag, at);
            break;
        }
        r.c = (span_t){data + at + 8, clen};
        r.chunk = tag;
        at += 12 + clen;
        if (!chunk_fields_ok(r.c)) {
            r.st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (bad fields in a %s chunk)", file, tag);
        } else if (!strcmp(tag, "HEAD")) {
            char fmt[32];
            rd_str(&r, "format", fmt, sizeof fmt, 0);
            rd_str(&r, "user", b->user, sizeof b->user, 0);
            declared = (int)rd_int(&r, "styles", 0, 1 << 20);
            if (!r.st && strcmp(fmt, "pstyle-export"))
                r.st = ps_fail(PS_EINPUT, "%s: not a pstyle export (format '%s')", file, fmt);
            if (!r.st)
                r.st = ps_store_check_name(PS_NAME_USER, b->user);
            head = 1;
        } else if (!head) {
            r.st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (no HEAD chunk first)", file);
        } else if (!strcmp(tag, "STYL")) {
            if (want_samples)
                r.st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (samples missing)", file);
            else if (!(r.st = bundle_grow(b, &cap)))
                read_style(&r, b, &want_samples);
        } else if (!strcmp(tag, "SAMP")) {
            if (!want_samples)
                r.st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (stray sample)", file);
            else
                read_sample(&r, &b->samples[b->n - 1][b->n_samples[b->n - 1]++]);
            want_samples--;
        } else if (!strcmp(tag, "END ")) {
            end = 1;
        } /* other chunks: from a later format, skipped */
    }
    if (!r.st && (want_samples || b->n != declared))
        r.st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (%d styles, header says %d)", file, b->n,
                       declared);
    if (!r.st && at != len)
        r.st = ps_fail(PS_EINPUT, "%s: not a valid pstyle export (data after the end)", file);
    for (int i = 0; !r.st && i < b->n; i++)
        if ((r.st = ps_store_check_rec(&b->styles[i], b->samples[i], b->n_samples[i]))) {
            char why[512];
            snprintf(why, sizeof why, "%s", ps_last_error());
            r.st = ps_fail(PS_EINPUT, "%s: %s", file, why);
        }
    free(data);
    if (r.st)
        ps_store_bundle_free(b);
    return r.st;
}

void ps_store_bundle_free(ps_store_bundle *b)
{
    for (int i = 0; i < b->n; i++) {
        ps_store_style_free(&b->styles[i]);
        ps_store_samples_free(b->samples[i], b->n_samples[i]);
    }
    free(b->styles);
    free(b->samples);
    free(b->n_samples);
    memset(b, 0, sizeof *b);
}
