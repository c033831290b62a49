/* .psm model files: round trip, and every kind of bad file (truncated at many lengths, bits
 * flipped at many positions, wrong magic, newer version, missing/extra/misshapen tensors, empty
 * file, directory, absurd sizes or a hyper-parameter beyond int with a valid checksum) gives
 * PS_EINPUT and leaves the model untouched; any valid file name saves (the temp name fits).
 * Works in the current directory (run_unit.sh gives each test a fresh one). */
#include "src/nn/nn.h"
#include "check.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SENTINEL 12345.0f

/* The test architecture; tok_w changes the shape of one tensor, with_tok drops it. */
static void declare(ps_params *p, int tok_w, int with_tok, int extra)
{
    ps_params_init(p);
    ps_params_add(p, "enc.conv0.w", 8, 3, 3, 3);
    ps_params_add(p, "enc.conv0.b", 1, 1, 1, 8);
    if (with_tok)
        ps_params_add(p, "style.tokens", 1, 1, 24, tok_w);
    if (extra)
        ps_params_add(p, "gen.extra", 1, 1, 1, 5);
    ps_params_alloc(p);
}

static void randomize(ps_params *p, uint64_t seed)
{
    for (int i = 0; i < p->count; i++)
        ps_params_init_normal(p, i, 0.5f, seed);
}

static void set_all(ps_params *p, float v)
{
    for (size_t i = 0; i < p->total; i++)
        p->data[i] = v;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != *len)
        *len = 0;
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
}

/* Recompute the trailing whole-file CRC, so a test reaches the checks behind it. */
static void fix_crc(unsigned char *b, size_t len)
{
    uint32_t c = (uint32_t)crc32(0L, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++)
        b[len - 4 + i] = (unsigned char)(c >> (8 * i));
}

static void put_le(unsigned char *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* Load must fail with PS_EINPUT, mention `want` (if given) and not touch the parameters. */
static int expect_bad(const char *path, const char *want, const char *what)
{
    ps_params p;
    declare(&p, 64, 1, 0);
    set_all(&p, SENTINEL);
    ps_hparams hp;
    char hash[17];
    ps_status st = ps_psm_load(path, &hp, &p, hash);
    int untouched = 1;
    for (size_t i = 0; i < p.total; i++)
        untouched &= p.data[i] == SENTINEL;
    int ok = st == PS_EINPUT && untouched && (!want || strstr(ps_last_error(), want));
    CHECK(ok, "%s: status %d untouched %d message '%s' (want '%s')", what, (int)st, untouched,
          ps_last_error(), want ? want : "");
    ps_params_free(&p);
    return ok;
}

/* Offset of the first tensor record: 16-byte header, then the hyper-parameters. */
static size_t first_tensor(const ps_hparams *hp)
{
    size_t off = 16;
    for (int i = 0; i < hp->count; i++)
        off += 1 + strlen(hp->key[i]) + 8;
    return off;
}

int main(void)
{
    ps_params a, b;
    ps_hparams hp = {0}, hp2;
    CHECK(ps_hparams_set(&hp, "width", 32) == PS_OK, "set");
    ps_hparams_set(&hp, "heads", 4);
    ps_hparams_set(&hp, "tokens", -24);
    ps_hparams_set(&hp, "width", 48); /* overwrite */
    CHECK(ps_hparams_set(&hp, "a_key_that_is_much_too_long_to_fit", 1) == PS_EUSAGE, "long key");
    CHECK(hp.count == 3 && ps_hparams_get(&hp, "width", 0) == 48, "hparams table");
    declare(&a, 64, 1, 0);
    randomize(&a, 3);

    /* round trip: bitwise equal tensors, same hyper-parameters, stable hash */
    CHECK(ps_psm_save("m.psm", &hp, &a) == PS_OK, "save: %s", ps_last_error());
    declare(&b, 64, 1, 0);
    char h1[17] = "", h2[17] = "";
    CHECK(ps_psm_load("m.psm", &hp2, &b, h1) == PS_OK, "load: %s", ps_last_error());
    CHECK(!memcmp(a.data, b.data, a.total * sizeof(float)), "tensors round trip");
    CHECK(hp2.count == 3 && ps_hparams_get(&hp2, "width", 0) == 48 &&
          ps_hparams_get(&hp2, "tokens", 0) == -24, "hparams round trip");
    CHECK(strlen(h1) == 16 && strspn(h1, "0123456789abcdef") == 16, "hash '%s'", h1);
    ps_hparams hp3;
    CHECK(ps_psm_load("m.psm", &hp3, NULL, NULL) == PS_OK && ps_hparams_get(&hp3, "heads", 0) == 4,
          "read_hparams");
    CHECK(ps_psm_save("m2.psm", &hp, &b) == PS_OK && ps_psm_load("m2.psm", NULL, &b, h2) == PS_OK,
          "resave");
    CHECK(!strcmp(h1, h2), "same content, same hash: %s %s", h1, h2);
    randomize(&b, 4);
    ps_psm_save("m3.psm", &hp, &b);
    ps_psm_load("m3.psm", NULL, &b, h2);
    CHECK(strcmp(h1, h2) != 0, "other weights, other hash");
    ps_params_free(&b);

    /* a model file is readable like any other file (mkstemp alone would make it 0600) */
    mode_t old = umask(022);
    struct stat sb = {0};
    CHECK(ps_psm_save("perm.psm", &hp, &a) == PS_OK && stat("perm.psm", &sb) == 0 &&
              (sb.st_mode & 0777) == 0644, "mode %o", (unsigned)(sb.st_mode & 0777));
    umask(old);

    /* the longest name a folder holds (NAME_MAX 255): the temp name must not be longer */
    char name[260];
    memset(name, 'm', 250);
    memcpy(name + 250, ".psm", 5);
    mkdir("sub", 0755);
    char sub[300];
    snprintf(sub, sizeof sub, "sub/%s", name);
    CHECK(ps_psm_save(name, &hp, &a) == PS_OK && ps_psm_load(name, &hp3, NULL, NULL) == PS_OK &&
              ps_psm_save(sub, &hp, &a) == PS_OK && ps_psm_load(sub, &hp3, NULL, NULL) == PS_OK,
          "save with a 254-byte name: %s", ps_last_error());
    remove(name);

    /* no temp files left behind; saving into a missing directory fails cleanly */
    DIR *d = opendir(".");
    struct dirent *e;
    int tmp = 0;
    while ((e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    d = opendir("sub");
    while ((e = readdir(d)))
        tmp += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    CHECK(tmp == 0, "temp files left: %d", tmp);
    CHECK(ps_psm_save("no/such/dir/m.psm", &hp, &a) == PS_EINPUT, "save into missing dir");

    size_t len = 0;
    unsigned char *good = slurp("m.psm", &len), *buf = malloc(len);
    CHECK(len > 1000, "model file size %zu", len);

    /* truncated at many lengths (all of the last 64 bytes, a spread over the rest) */
    int bad = 0, n = 0;
    for (size_t cut = 0; cut < len; cut += cut + 64 >= len ? 1 : 37) {
        spit("t.psm", good, cut);
        bad += !expect_bad("t.psm", NULL, "truncated");
        n++;
    }
    printf("test_psm: %d truncations rejected\n", n);

    /* one flipped bit at many positions */
    n = 0;
    for (size_t pos = 0; pos < len; pos += pos < 64 || pos + 64 > len ? 1 : 29) {
        memcpy(buf, good, len);
        buf[pos] ^= (unsigned char)(1u << (pos % 8));
        spit("f.psm", buf, len);
        bad += !expect_bad("f.psm", NULL, "bit flip");
        n++;
    }
    printf("test_psm: %d bit flips rejected\n", n);
    CHECK(bad == 0, "%d bad files accepted or mis-reported", bad);

    memcpy(buf, good, len);
    memcpy(buf, "PNG1", 4);
    spit("x.psm", buf, len);
    expect_bad("x.psm", "bad magic", "wrong magic");

    memcpy(buf, good, len);
    put_le(buf + 4, PS_PSM_VERSION + 1, 4);
    fix_crc(buf, len);
    spit("x.psm", buf, len);
    expect_bad("x.psm", "newer", "newer version");

    /* absurd sizes behind a valid checksum: tensor count, raw bytes, compressed bytes, shape */
    size_t t0 = first_tensor(&hp) + 1 + strlen("enc.conv0.w");
    struct {
        size_t off;
        uint64_t val;
        int bytes;
        const char *want, *what;
    } lies[] = {
        {12, 0xFFFFFFFFull, 4, "tensors", "huge tensor count"},
        {t0 + 16, 1ull << 62, 8, "claims", "huge raw size"},
        {t0 + 24, 1ull << 62, 8, "claims", "huge compressed size"},
        {t0, 0x7FFFFFFF, 4, "shape", "huge shape"},
        {t0 + 24, 3, 8, "corrupt", "short compressed size"},
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        memcpy(buf, good, len);
        put_le(buf + lies[i].off, lies[i].val, lies[i].bytes);
        fix_crc(buf, len);
        spit("x.psm", buf, len);
        expect_bad("x.psm", lies[i].want, lies[i].what);
    }
    /* a hyper-parameter beyond int behind a valid checksum: 2^32 + 48 must not load as 48 */
    memcpy(buf, good, len);
    put_le(buf + 16 + 1 + strlen("width"), (1ull << 32) + 48, 8);
    fix_crc(buf, len);
    spit("x.psm", buf, len);
    expect_bad("x.psm", "hyper-parameter 'width' = 4294967344 is out of range", "int64 hparam");
    CHECK(ps_psm_load("x.psm", &hp3, NULL, NULL) == PS_EINPUT, "read_hparams on an int64 hparam");
    put_le(buf + 16 + 1 + strlen("width"), (uint64_t)INT64_MIN, 8);
    fix_crc(buf, len);
    spit("x.psm", buf, len);
    expect_bad("x.psm", "out of range", "negative int64 hparam");
    ps_hparams wide = hp;
    ps_hparams_set(&wide, "heads", (1ll << 32) + 4);
    CHECK(ps_psm_save("wide.psm", &wide, &a) == PS_EUSAGE && access("wide.psm", F_OK) != 0,
          "save of an int64 hparam: %s", ps_last_error());

    /* corrupt zlib stream behind a valid file checksum */
    memcpy(buf, good, len);
    buf[t0 + 40] ^= 0x55;
    fix_crc(buf, len);
    spit("x.psm", buf, len);
    expect_bad("x.psm", "corrupt", "corrupt tensor data");

    /* architecture mismatches */
    ps_params c;
    declare(&c, 64, 0, 0);
    ps_psm_save("missing.psm", &hp, &c);
    expect_bad("missing.psm", "lacks tensor 'style.tokens'", "missing tensor");
    ps_params_free(&c);
    declare(&c, 32, 1, 0);
    ps_psm_save("shape.psm", &hp, &c);
    expect_bad("shape.psm", "shape", "wrong shape");
    ps_params_free(&c);
    declare(&c, 64, 1, 1);
    ps_psm_save("extra.psm", &hp, &c);
    expect_bad("extra.psm", "not part of this architecture", "extra tensor");
    ps_params_free(&c);

    /* not model files at all */
    spit("empty.psm", good, 0);
    expect_bad("empty.psm", "empty", "empty file");
    mkdir("dir.psm", 0755);
    expect_bad("dir.psm", "not a regular file", "directory");
    expect_bad("absent.psm", "cannot open", "missing file");
    CHECK(ps_psm_load("empty.psm", &hp3, NULL, NULL) == PS_EINPUT, "read_hparams on bad file");

    free(good);
    free(buf);
    ps_params_free(&a);
    return check_done("test_psm");
}
