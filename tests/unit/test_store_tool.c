/* Store test helper for the integration scripts (until `pstyle learn` exists): writes style
 * versions whose whole content (tokens, samples, thumbnails, embeddings) follows from a seed kept
 * in their settings, so any reader can check every byte it gets back.
 *
 *   test_store_tool put DB USER [--style S] [--count N | --loop] [--also USER2] [--kb K] [--marker M]
 *                   [--model-hash H]      one "USER vN" line on stdout after each commit
 *   test_store_tool get DB USER [--count N]      read the newest version N times, checking it
 *   test_store_tool verify DB                    every version: content, and versions 1..n
 *   test_store_tool model PATH SEED              write a tiny valid .psm model, print its hash
 *   test_store_tool                              (no arguments) a short self-test, run by make test
 * Exit: 0 ok, the store's status on a store error, 9 on wrong content. */
#include "check.h"
#include "src/nn/nn.h"
#include "src/prog/prog.h"
#include "store/store.h"
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOOL_BAD_CONTENT 9

static int tool_quiet; /* the self-test keeps make test's output short */

static uint64_t rnd_next(uint64_t *s)
{
    /* splitmix64: cheap, and any seed gives a full-period stream */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t seed;
    int kb;              /* thumbnail size in KiB */
    char marker[64];     /* written at the start of each thumbnail (forget looks for it) */
    char model[PS_STORE_HASH_LEN + 1];
} gen_params;

static float tokens_buf[3 * 8 * 64];
static float program_buf[PS_PROG_MAXFLOATS];

/* Fill rec + samples from p. Sample buffers are malloc'ed: free with ps_store_samples_free. */
static int make_style(const gen_params *p, const char *user, const char *style, ps_style_rec *r,
                      ps_sample_rec **smp, char *settings, size_t settings_n)
{
    uint64_t s = p->seed;
    memset(r, 0, sizeof *r);
    snprintf(r->user, sizeof r->user, "%s", user);
    snprintf(r->style, sizeof r->style, "%s", style);
    snprintf(r->model_hash, sizeof r->model_hash, "%s", p->model);
    r->groups = 3;
    r->tokens_per_group = 8;
    r->dim = 64;
    for (int i = 0; i < 3 * 8 * 64; i++)
        tokens_buf[i] = (float)((int64_t)(rnd_next(&s) % 2000001) - 1000000) / 1e5f;
    r->tokens = tokens_buf;
    ps_prog id; /* the identity program: a style of today's pstyle has one */
    ps_prog_identity(&id);
    r->n_program = (int)ps_prog_pack(&id, program_buf);
    r->program = program_buf;
    int n = 1 + (int)(rnd_next(&s) % 4);
    r->shots = n;
    snprintf(settings, settings_n, "{\"seed\": %llu, \"kb\": %d, \"marker\": \"%s\"}",
             (unsigned long long)p->seed, p->kb, p->marker);
    r->settings = settings;
    *smp = calloc((size_t)n, sizeof **smp);
    for (int k = 0; k < n; k++) {
        ps_sample_rec *m = &(*smp)[k];
        m->thumb_len = (size_t)p->kb * 1024;
        m->thumb = m->thumb_len ? malloc(m->thumb_len) : NULL;
        for (size_t i = 0; i < m->thumb_len; i++)
            m->thumb[i] = (unsigned char)rnd_next(&s);
        size_t ml = strlen(p->marker);
        for (size_t at = 0; ml && at + ml <= m->thumb_len && at < 8 * ml; at += ml)
            memcpy(m->thumb + at, p->marker, ml);
        ps_store_sha256_hex(m->thumb, m->thumb_len, m->sha256);
        m->size = 100000 + (int64_t)(rnd_next(&s) % 1000000);
        m->width = 640 + k;
        m->height = 480;
        m->n_embedding = 32;
        m->embedding = malloc(32 * sizeof(float));
        for (int i = 0; i < 32; i++)
            m->embedding[i] = (float)(rnd_next(&s) % 1000) / 999.0f;
    }
    return n;
}

/* 0 if r and its samples are exactly what their settings' seed generates. */
static int check_style(const ps_style_rec *r, const ps_sample_rec *smp, int n)
{
    gen_params p = {0};
    unsigned long long seed;
    if (!r->settings || sscanf(r->settings, "{\"seed\": %llu, \"kb\": %d, \"marker\": \"%63[^\"]", &seed,
                               &p.kb, p.marker) < 2)
        return fprintf(stderr, "%s/%s v%d: settings lost\n", r->user, r->style, r->version), 1;
    p.seed = seed;
    snprintf(p.model, sizeof p.model, "%s", r->model_hash);
    ps_style_rec want;
    ps_sample_rec *ws;
    char settings[256];
    int wn = make_style(&p, r->user, r->style, &want, &ws, settings, sizeof settings), bad = 0;
    if (r->groups * r->tokens_per_group * r->dim != 3 * 8 * 64 ||
        memcmp(r->tokens, want.tokens, sizeof tokens_buf) || r->shots != want.shots || n != wn)
        bad = 1;
    for (int k = 0; !bad && k < n; k++)
        bad = strcmp(smp[k].sha256, ws[k].sha256) || smp[k].size != ws[k].size ||
              smp[k].width != ws[k].width || smp[k].thumb_len != ws[k].thumb_len ||
              (ws[k].thumb_len && memcmp(smp[k].thumb, ws[k].thumb, ws[k].thumb_len)) || smp[k].n_embedding != 32 ||
              memcmp(smp[k].embedding, ws[k].embedding, 32 * sizeof(float));
    if (bad)
        fprintf(stderr, "%s/%s v%d: content differs from what was written\n", r->user, r->style, r->version);
    ps_store_samples_free(ws, wn);
    return bad;
}

static int put_one(ps_store *db, const gen_params *p, const char *user, const char *style)
{
    ps_style_rec r;
    ps_sample_rec *smp;
    char settings[256];
    int n = make_style(p, user, style, &r, &smp, settings, sizeof settings), v;
    ps_status st = ps_store_put_style(db, &r, smp, n, &v);
    ps_store_samples_free(smp, n);
    if (st)
        return fprintf(stderr, "test_store_tool: %s\n", ps_last_error()), (int)st;
    if (!tool_quiet) {
        printf("%s v%d\n", user, v);
        fflush(stdout);
    }
    return 0;
}

static int tool_put(const char *path, const char *user, int argc, char **argv)
{
    gen_params p = {.kb = 2};
    const char *style = "default", *also = NULL;
    long count = 1;
    snprintf(p.model, sizeof p.model, "0123456789abcdef");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--loop"))
            count = -1;
        else if (!strcmp(a, "--count") && ++i)
            count = atol(v);
        else if (!strcmp(a, "--style") && ++i)
            style = v;
        else if (!strcmp(a, "--also") && ++i)
            also = v;
        else if (!strcmp(a, "--kb") && ++i)
            p.kb = atoi(v);
        else if (!strcmp(a, "--marker") && ++i)
            snprintf(p.marker, sizeof p.marker, "%s", v);
        else if (!strcmp(a, "--model-hash") && ++i)
            snprintf(p.model, sizeof p.model, "%s", v);
        else
            return fprintf(stderr, "test_store_tool: bad argument '%s'\n", a), 1;
    }
    uint64_t s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    ps_store *db;
    ps_status st = ps_store_open(&db, path, PS_STORE_CREATE);
    if (st)
        return fprintf(stderr, "test_store_tool: %s\n", ps_last_error()), (int)st;
    int rc = 0;
    for (long i = 0; !rc && (count < 0 || i < count); i++) {
        p.seed = rnd_next(&s);
        rc = put_one(db, &p, user, style);
        p.seed = rnd_next(&s);
        if (!rc && also)
            rc = put_one(db, &p, also, style);
    }
    ps_store_close(db);
    return rc;
}

static int tool_get(const char *path, const char *user, long count)
{
    ps_store *db;
    ps_status st = ps_store_open(&db, path, PS_STORE_READONLY);
    for (long i = 0; !st && i < count; i++) {
        ps_style_rec r;
        ps_sample_rec *smp;
        int n;
        st = ps_store_get_style(db, user, NULL, 0, &r, &smp, &n);
        if (st)
            break;
        int bad = check_style(&r, smp, n);
        ps_store_style_free(&r);
        ps_store_samples_free(smp, n);
        if (bad) {
            ps_store_close(db);
            return TOOL_BAD_CONTENT;
        }
    }
    ps_store_close(db);
    if (st)
        fprintf(stderr, "test_store_tool: %s\n", ps_last_error());
    return (int)st;
}

/* Every version of every style: right content, and numbered 1..n without gaps or repeats. */
static int tool_verify(const char *path)
{
    ps_store *db;
    ps_store_row *rows = NULL;
    int n = 0, bad = 0;
    ps_status st = ps_store_open(&db, path, PS_STORE_READONLY);
    if (!st)
        st = ps_store_list(db, NULL, NULL, 0, &rows, &n);
    for (int i = 0; !st && i < n; i++) {
        int first = i == 0 || strcmp(rows[i].user, rows[i - 1].user) || strcmp(rows[i].style, rows[i - 1].style);
        int expect = first ? 1 : rows[i - 1].version + 1;
        if (rows[i].version != expect) {
            fprintf(stderr, "%s/%s: version %d where %d was due\n", rows[i].user, rows[i].style,
                    rows[i].version, expect);
            bad = 1;
        }
        ps_style_rec r;
        ps_sample_rec *smp;
        int ns;
        st = ps_store_get_style(db, rows[i].user, rows[i].style, rows[i].version, &r, &smp, &ns);
        if (!st) {
            bad |= check_style(&r, smp, ns);
            ps_store_style_free(&r);
            ps_store_samples_free(smp, ns);
        }
        int last = i == n - 1 || strcmp(rows[i].user, rows[i + 1].user) || strcmp(rows[i].style, rows[i + 1].style);
        if (!st && last && !tool_quiet)
            printf("%s/%s %d\n", rows[i].user, rows[i].style, rows[i].version);
    }
    free(rows);
    ps_store_close(db);
    if (st)
        return fprintf(stderr, "test_store_tool: %s\n", ps_last_error()), (int)st;
    return bad ? TOOL_BAD_CONTENT : 0;
}

/* A tiny but valid model file (one tensor filled with seed), so that import and relearn see a
 * real model and its real hash; prints the hash ps_psm_load reports. */
static int tool_model(const char *path, float seed)
{
    ps_params p;
    ps_hparams hp = {0};
    char hash[PS_STORE_HASH_LEN + 1];
    ps_params_init(&p);
    ps_status st = ps_params_add(&p, "w", 1, 1, 1, 8) < 0 ? PS_EINTERNAL : ps_params_alloc(&p);
    if (!st) {
        ps_params_fill(&p, 0, seed);
        st = ps_hparams_set(&hp, "test", 1);
    }
    if (!st)
        st = ps_psm_save(path, &hp, &p);
    if (!st)
        st = ps_psm_load(path, NULL, NULL, hash);
    ps_params_free(&p);
    if (st)
        return fprintf(stderr, "test_store_tool: %s\n", ps_last_error()), (int)st;
    printf("%s\n", hash);
    return 0;
}

/* Without arguments (make test): write, read back and verify a few versions in the temp dir. */
static int self_test(void)
{
    tool_quiet = 1;
    CHECK(tool_put("self.db", "alice", 4, (char *[]){"--count", "3", "--also", "bob"}) == 0, "put");
    CHECK(tool_get("self.db", "alice", 2) == 0, "get");
    CHECK(tool_verify("self.db") == 0, "verify");
    CHECK(tool_get("self.db", "carol", 1) == PS_EINPUT, "unknown user is bad input");
    return check_done("test_store_tool");
}

int main(int argc, char **argv)
{
    signal(SIGXFSZ, SIG_IGN); /* as pstyle does: a file-size limit must surface as "disk full" */
    if (argc == 1)
        return self_test();
    if (argc >= 4 && !strcmp(argv[1], "put"))
        return tool_put(argv[2], argv[3], argc - 4, argv + 4);
    if ((argc == 4 || argc == 6) && !strcmp(argv[1], "get"))
        return tool_get(argv[2], argv[3], argc == 6 ? atol(argv[5]) : 1);
    if (argc == 3 && !strcmp(argv[1], "verify"))
        return tool_verify(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "model"))
        return tool_model(argv[2], (float)atof(argv[3]));
    fprintf(stderr, "usage: see the top of tests/unit/test_store_tool.c\n");
    return 1;
}
