/* .psm model files. Layout (all integers little-endian):
 *   "PSM1"  u32 version  u32 n_hparams  u32 n_tensors
 *   n_hparams x { u8 key_len, key bytes, i64 value (within int: every reader keeps an int) }
 *   n_tensors x { u8 name_len, name bytes, i32 n c h w, u64 raw_bytes, u64 zbytes,
 *                 u32 crc32(raw data), zbytes of zlib data }
 *   u32 crc32 of every byte before it
 * The trailing CRC makes any flipped bit or cut a clear error before anything is parsed; the
 * per-tensor CRC checks each inflated tensor; loading stages into a copy, so a failed load
 * never leaves a half-written model behind. */
#include "nn_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PS_PSM_MAGIC "PSM1"
#define PS_PSM_MAX_FILE ((size_t)1 << 31) /* 2 GiB: far above any pstyle model */
#define PS_PSM_MAX_TENSORS 65536

/* ---- hyper-parameters ---------------------------------------------------------------------- */
int64_t ps_hparams_get(const ps_hparams *hp, const char *key, int64_t dflt)
{
    for (int i = 0; i < hp->count; i++)
        if (!strcmp(hp->key[i], key))
            return hp->val[i];
    return dflt;
}

ps_status ps_hparams_set(ps_hparams *hp, const char *key, int64_t val)
{
    for (int i = 0; i < hp->count; i++)
        if (!strcmp(hp->key[i], key)) {
            hp->val[i] = val;
            return PS_OK;
        }
    if (!*key || strlen(key) >= sizeof hp->key[0] || hp->count >= PS_PSM_MAX_HP)
        return ps_fail(PS_EUSAGE, "hyper-parameter '%s': empty or too long key, or table full",
                       key);
    snprintf(hp->key[hp->count], sizeof hp->key[0], "%s", key);
    hp->val[hp->count++] = val;
    return PS_OK;
}

static int ps_psm_host_le(void)
{
    const uint32_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* floats as little-endian IEEE bytes, in place (a no-op on little-endian hosts) */
static void ps_psm_swap_floats(float *x, size_t n)
{
    if (ps_psm_host_le())
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        u = __builtin_bswap32(u);
        memcpy(&x[i], &u, 4);
    }
}

/* ---- save ---------------------------------------------------------------------------------- */
static ps_status ps_psm_encode(ps_buf *b, const ps_hparams *hp, const ps_params *p)
{
    int nhp = hp ? hp->count : 0;
    if (nhp < 0 || nhp > PS_PSM_MAX_HP)
        return ps_fail(PS_EUSAGE, "model save: %d hyper-parameters (max %d)", nhp, PS_PSM_MAX_HP);
    ps_buf_put(b, PS_PSM_MAGIC, 4);
    ps_buf_put_le(b, PS_PSM_VERSION, 4);
    ps_buf_put_le(b, (uint64_t)nhp, 4);
    ps_buf_put_le(b, (uint64_t)p->count, 4);
    for (int i = 0; i < nhp; i++) {
        size_t kl = strnlen(hp->key[i], sizeof hp->key[i]);
        if (kl == 0 || kl >= sizeof hp->key[i])
            return ps_fail(PS_EUSAGE, "model save: bad hyper-parameter key #%d", i);
        if (hp->val[i] < INT_MIN || hp->val[i] > INT_MAX)
            return ps_fail(PS_EUSAGE, "model save: hyper-parameter '%s' = %lld is out of range",
                           hp->key[i], (long long)hp->val[i]);
        ps_buf_put_le(b, kl, 1);
        ps_buf_put(b, hp->key[i], kl);
        ps_buf_put_le(b, (uint64_t)hp->val[i], 8);
    }
    for (int i = 0; i < p->count; i++) {
        const ps_tensor *t = &p->t[i];
        size_t nl = strlen(p->name[i]), raw = ps_tensor_numel(t) * sizeof(float);
        uLongf zlen = compressBound((uLong)raw);
        unsigned char *z = malloc(zlen);
        float *le = malloc(raw);
        if (!z || !le) {
            free(z), free(le);
            return ps_fail(PS_EINTERNAL, "model save: out of memory");
        }
        memcpy(le, t->data, raw);
        ps_psm_swap_floats(le, ps_tensor_numel(t));
        int zr = compress2(z, &zlen, (const Bytef *)le, (uLong)raw, Z_DEFAULT_COMPRESSION);
        uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)le, (uInt)raw);
        free(le);
        if (zr != Z_OK) {
            free(z);
            return ps_fail(PS_EINTERNAL, "model save: zlib error %d on '%s'", zr, p->name[i]);
        }
        ps_buf_put_le(b, nl, 1);
        ps_buf_put(b, p->name[i], nl);
        ps_buf_put_le(b, (uint32_t)t->n, 4), ps_buf_put_le(b, (uint32_t)t->c, 4);
        ps_buf_put_le(b, (uint32_t)t->h, 4), ps_buf_put_le(b, (uint32_t)t->w, 4);
        ps_buf_put_le(b, raw, 8);
        ps_buf_put_le(b, zlen, 8);
        ps_buf_put_le(b, crc, 4);
        ps_buf_put(b, z, zlen);
        free(z);
    }
    if (!b->oom)
        ps_buf_put_le(b, (uint32_t)crc32(0L, b->p, (uInt)b->len), 4);
    return b->oom ? ps_fail(PS_EINTERNAL, "model save: out of memory") : PS_OK;
}

ps_status ps_psm_save(const char *path, const ps_hparams *hp, const ps_params *p)
{
    if (!p->data)
        return ps_fail(PS_EUSAGE, "%s: parameters not allocated", path);
    ps_buf b = {0};
    ps_status st = ps_psm_encode(&b, hp, p);
    if (!st)
        st = ps_file_write_bytes(path, PS_EINPUT, b.p, b.len);
    ps_buf_free(&b);
    return st;
}

/* ---- load ---------------------------------------------------------------------------------- */
typedef struct {
    const char *path;
    const unsigned char *p;
    size_t len, off;
} ps_psm_cur;

static int ps_psm_get(ps_psm_cur *c, void *dst, size_t n)
{
    if (c->len - c->off < n)
        return -1;
    memcpy(dst, c->p + c->off, n);
    c->off += n;
    return 0;
}

static int ps_psm_get_u(ps_psm_cur *c, uint64_t *v, int bytes)
{
    unsigned char t[8];
    if (ps_psm_get(c, t, (size_t)bytes))
        return -1;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v |= (uint64_t)t[i] << (8 * i);
    return 0;
}

static ps_status ps_psm_truncated(const ps_psm_cur *c, const char *where)
{
    return ps_fail(PS_EINPUT, "%s: truncated model file (%s at byte %zu)", c->path, where, c->off);
}

/* Whole file into memory, refusing non-regular files, empty files and absurd sizes. O_NONBLOCK:
 * a FIFO with no writer is opened and refused rather than blocking the open. */
ps_status ps_psm_read_file(const char *path, unsigned char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return ps_fail(PS_EINPUT, "%s: cannot open model: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: empty model file", path);
    }
    if ((uint64_t)st.st_size > PS_PSM_MAX_FILE) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: model file too large (%lld bytes)", path,
                       (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(n);
    if (!buf) {
        close(fd);
        return ps_fail(PS_EINTERNAL, "%s: out of memory", path);
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        return ps_fail(PS_EINPUT, "%s: read failed", path);
    }
    *out = buf;
    *len = n;
    return PS_OK;
}

/* 64-bit FNV-1a of the file bytes, as the model's identity for stored style vectors. */
static void ps_psm_hash(const unsigned char *p, size_t n, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static ps_status ps_psm_parse_header(ps_psm_cur *c, ps_hparams *hp, uint64_t *ntensors)
{
    char magic[4];
    uint64_t ver, nhp;
    if (c->len < 4 || ps_psm_get(c, magic, 4) || memcmp(magic, PS_PSM_MAGIC, 4))
        return ps_fail(PS_EINPUT, "%s: not a pstyle model file (bad magic)", c->path);
    if (ps_psm_get_u(c, &ver, 4))
        return ps_psm_truncated(c, "header");
    if (ver != PS_PSM_VERSION)
        return ps_fail(PS_EINPUT, "%s: model format version %llu is %s than this pstyle's (%d)",
                       c->path, (unsigned long long)ver, ver > PS_PSM_VERSION ? "newer" : "older",
                       PS_PSM_VERSION);
    /* from here on the trailing CRC vouches for every byte */
    if (c->len < 20)
        return ps_psm_truncated(c, "header");
    uint32_t want = (uint32_t)c->p[c->len - 4] | (uint32_t)c->p[c->len - 3] << 8 |
                    (uint32_t)c->p[c->len - 2] << 16 | (uint32_t)c->p[c->len - 1] << 24;
    if ((uint32_t)crc32(0L, c->p, (uInt)(c->len - 4)) != want)
        return ps_fail(PS_EINPUT, "%s: corrupt or truncated model file (checksum mismatch)",
                       c->path);
    c->len -= 4;
    if (ps_psm_get_u(c, &nhp, 4) || ps_psm_get_u(c, ntensors, 4))
        return ps_psm_truncated(c, "header");
    if (nhp > PS_PSM_MAX_HP || *ntensors > PS_PSM_MAX_TENSORS)
        return ps_fail(PS_EINPUT, "%s: bad model file (%llu hyper-parameters, %llu tensors)",
                       c->path, (unsigned long long)nhp, (unsigned long long)*ntensors);
    memset(hp, 0, sizeof *hp);
    for (uint64_t i = 0; i < nhp; i++) {
        uint64_t kl, v;
        char key[32];
        if (ps_psm_get_u(c, &kl, 1) || kl == 0 || kl >= sizeof key)
            return ps_fail(PS_EINPUT, "%s: bad hyper-parameter key", c->path);
        if (ps_psm_get(c, key, kl) || ps_psm_get_u(c, &v, 8))
            return ps_psm_truncated(c, "hyper-parameters");
        key[kl] = 0;
        if (strlen(key) != kl || ps_hparams_get(hp, key, INT64_MIN) != INT64_MIN)
            return ps_fail(PS_EINPUT, "%s: bad or repeated hyper-parameter key", c->path);
        if ((int64_t)v < INT_MIN || (int64_t)v > INT_MAX) /* 2^32 + 8 must not read as 8 */
            return ps_fail(PS_EINPUT, "%s: hyper-parameter '%s' = %lld is out of range",
                           c->path, key, (long long)(int64_t)v);
        ps_hparams_set(hp, key, (int64_t)v);
    }
    return PS_OK;
}

/* Parse, check and (when p) stage every tensor; p is written only when all of it is good. */
ps_status ps_psm_load_mem(const char *path, const unsigned char *file, size_t len, ps_hparams *hp,
                          ps_params *p, char hash_out[17])
{
    if (p && !p->data)
        return ps_fail(PS_EUSAGE, "%s: parameters not allocated before loading", path);
    ps_hparams local;
    if (!hp)
        hp = &local;
    ps_psm_cur c = {path, file, len, 0};
    ps_status st = PS_OK;
    uint64_t nt = 0;
    st = ps_psm_parse_header(&c, hp, &nt);
    float *stage = NULL;
    unsigned char *seen = NULL;
    if (!st && p) {
        stage = malloc((p->total ? p->total : 1) * sizeof(float));
        seen = calloc((size_t)p->count + 1, 1);
        if (!stage || !seen)
            st = ps_fail(PS_EINTERNAL, "%s: out of memory", path);
    }
    for (uint64_t i = 0; !st && p && i < nt; i++) {
        uint64_t nl, dims[4], raw, zb, crc;
        char name[64];
        if (ps_psm_get_u(&c, &nl, 1) || nl == 0 || nl >= sizeof name || ps_psm_get(&c, name, nl)) {
            st = ps_fail(PS_EINPUT, "%s: bad tensor name in model file", path);
            break;
        }
        name[nl] = 0;
        int bad = 0;
        for (int k = 0; k < 4; k++)
            bad |= ps_psm_get_u(&c, &dims[k], 4);
        if (bad || ps_psm_get_u(&c, &raw, 8) || ps_psm_get_u(&c, &zb, 8) ||
            ps_psm_get_u(&c, &crc, 4)) {
            st = ps_psm_truncated(&c, "tensor header");
            break;
        }
        int idx = ps_params_find(p, name);
        if (idx < 0 || seen[idx]) {
            st = ps_fail(PS_EINPUT, "%s: tensor '%s' is %s", path, name,
                         idx < 0 ? "not part of this architecture" : "repeated");
            break;
        }
        const ps_tensor *t = &p->t[idx];
        if (dims[0] != (uint64_t)t->n || dims[1] != (uint64_t)t->c || dims[2] != (uint64_t)t->h ||
            dims[3] != (uint64_t)t->w) {
            st = ps_fail(PS_EINPUT, "%s: tensor '%s' has shape (%llu,%llu,%llu,%llu), the "
                                    "architecture wants (%d,%d,%d,%d)", path, name,
                         (unsigned long long)dims[0], (unsigned long long)dims[1],
                         (unsigned long long)dims[2], (unsigned long long)dims[3], t->n, t->c,
                         t->h, t->w);
            break;
        }
        size_t want = ps_tensor_numel(t) * sizeof(float);
        if (raw != want || zb > c.len - c.off) {
            st = ps_fail(PS_EINPUT, "%s: tensor '%s' claims %llu bytes (%llu compressed), "
                                    "expected %zu with %zu left", path, name,
                         (unsigned long long)raw, (unsigned long long)zb, want, c.len - c.off);
            break;
        }
        float *dst = stage + p->off[idx];
        uLongf dl = (uLongf)want;
        int zr = uncompress((Bytef *)dst, &dl, c.p + c.off, (uLong)zb);
        c.off += zb;
        if (zr != Z_OK || dl != want || (uint32_t)crc32(0L, (Bytef *)dst, (uInt)want) != crc) {
            st = ps_fail(PS_EINPUT, "%s: tensor '%s' is corrupt (%s)", path, name,
                         zr != Z_OK ? "zlib error" : "CRC mismatch");
            break;
        }
        ps_psm_swap_floats(dst, ps_tensor_numel(t));
        seen[idx] = 1;
    }
    for (int i = 0; !st && p && i < p->count; i++)
        if (!seen[i])
            st = ps_fail(PS_EINPUT, "%s: model file lacks tensor '%s'", path, p->name[i]);
    if (!st && p && c.off != c.len)
        st = ps_fail(PS_EINPUT, "%s: %zu stray bytes after the last tensor", path, c.len - c.off);
    if (!st && p)
        memcpy(p->data, stage, p->total * sizeof(float));
    if (!st && hash_out)
        ps_psm_hash(file, len, hash_out);
    free(stage);
    free(seen);
    return st;
}

ps_status ps_psm_load(const char *path, ps_hparams *hp, ps_params *p, char hash_out[17])
{
    unsigned char *file = NULL;
    size_t len = 0;
    ps_status st = ps_psm_read_file(path, &file, &len);
    if (!st)
        st = ps_psm_load_mem(path, file, len, hp, p, hash_out);
    free(file);
    return st;
}
