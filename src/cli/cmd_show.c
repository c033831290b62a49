/* pstyle show: one user's styles, every version with its shots, model, date and sample hashes. */
#include "bench/bench.h"
#include "cli.h"
#include "store/store.h"
#include <stdlib.h>
#include <string.h>

static const char ps_show_usage[] =
    "usage: pstyle show USER [--style NAME] [--json] [--db PATH]\n"
    "Show USER's styles: each version's date, model hash, shots, token shape, learn settings,\n"
    "quality figures and samples (sha256, bytes, size, thumbnail).\n"
    "  --style NAME   only this style\n"
    "  --json         one JSON object {user, styles: [{style, versions: [...]}]}\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

static void show_text(const ps_style_rec *r, const ps_sample_rec *smp, int n, int first_of_style,
                      int n_versions)
{
    char when[32];
    if (first_of_style)
        printf("%s/%s: %d version%s\n", r->user, r->style, n_versions, n_versions == 1 ? "" : "s");
    printf("  v%d  %s  model %s  %d shot%s  tokens %dx%dx%d\n", r->version,
           ps_cli_utc(r->created_at, when, sizeof when), r->model_hash, r->shots, r->shots == 1 ? "" : "s",
           r->groups, r->tokens_per_group, r->dim);
    if (r->settings)
        printf("      settings %s\n", r->settings);
    if (r->quality)
        printf("      quality  %s\n", r->quality);
    for (int k = 0; k < n; k++)
        printf("      sample %s  %lld bytes  %dx%d  %s\n", smp[k].sha256, (long long)smp[k].size,
               smp[k].width, smp[k].height, smp[k].thumb_len ? "thumbnail" : "no thumbnail");
}

/* Text fields (settings, quality) go out as JSON strings: the store does not vouch for them. */
static void show_json(const ps_style_rec *r, const ps_sample_rec *smp, int n)
{
    char when[32];
    printf("{\"version\": %d, \"created_at\": \"%s\", \"model_hash\": ", r->version,
           ps_cli_utc(r->created_at, when, sizeof when));
    ps_bench_json_str_lit(stdout, r->model_hash);
    printf(", \"shots\": %d, \"tokens\": [%d, %d, %d]", r->shots, r->groups, r->tokens_per_group, r->dim);
    printf(", \"settings\": ");
    if (r->settings)
        ps_bench_json_str_lit(stdout, r->settings);
    else
        printf("null");
    printf(", \"quality\": ");
    if (r->quality)
        ps_bench_json_str_lit(stdout, r->quality);
    else
        printf("null");
    printf(", \"samples\": [");
    for (int k = 0; k < n; k++) {
        printf("%s{\"sha256\": ", k ? ", " : "");
        ps_bench_json_str_lit(stdout, smp[k].sha256);
        printf(", \"bytes\": %lld, \"width\": %d, \"height\": %d, \"thumbnail_bytes\": %zu}",
               (long long)smp[k].size, smp[k].width, smp[k].height, smp[k].thumb_len);
    }
    printf("]}");
}

int ps_cmd_show(int argc, char **argv)
{
    ps_cli_user_args a;
    int rc = ps_cli_user_args_parse(argc, argv, ps_show_usage, 1, 1, &a);
    if (rc >= 0)
        return rc;
    const char *user = a.user, *style = a.style;
    int json = a.json;
    ps_status st;
    ps_store *db;
    ps_store_row *rows = NULL;
    int n = 0;
    st = ps_store_open(&db, a.db, PS_STORE_READONLY);
    if (!st)
        st = ps_store_list(db, user, style, 0, &rows, &n);
    /* collect every version first, so a failure half-way prints nothing (JSON stays whole) */
    ps_style_rec *recs = st ? NULL : calloc((size_t)n + 1, sizeof *recs);
    ps_sample_rec **smp = st ? NULL : calloc((size_t)n + 1, sizeof *smp);
    int *ns = st ? NULL : calloc((size_t)n + 1, sizeof *ns);
    if (!st && (!recs || !smp || !ns))
        st = ps_fail(PS_EINTERNAL, "out of memory");
    int got = 0;
    for (; !st && got < n; got++)
        st = ps_store_get_style(db, user, rows[got].style, rows[got].version, &recs[got], &smp[got], &ns[got]);
    ps_store_close(db);
    if (!st) {
        if (json) {
            printf("{\"user\": ");
            ps_bench_json_str_lit(stdout, user);
            printf(", \"styles\": [");
        }
        for (int i = 0; i < n; i++) {
            int first = i == 0 || strcmp(rows[i].style, rows[i - 1].style);
            int last = i == n - 1 || strcmp(rows[i].style, rows[i + 1].style);
            if (!json) {
                show_text(&recs[i], smp[i], ns[i], first, rows[i].n_versions);
                continue;
            }
            if (first) {
                printf("%s\n  {\"style\": ", i ? "," : "");
                ps_bench_json_str_lit(stdout, rows[i].style);
                printf(", \"versions\": [");
            }
            printf("\n    ");
            show_json(&recs[i], smp[i], ns[i]);
            printf("%s", last ? "]}" : ",");
        }
        if (json)
            printf("]}\n");
    }
    for (int i = 0; i < got; i++) {
        ps_store_style_free(&recs[i]);
        ps_store_samples_free(smp[i], ns[i]);
    }
    free(recs);
    free(smp);
    free(ns);
    free(rows);
    return st ? ps_cli_fail(st) : 0;
}
