/* pstyle show: one user's styles, every version with its shots, model, date and samples (file
 * name, hash, size, thumbnail). */
#include "src/base/base.h"
#include "cli.h"
#include "src/prog/prog.h"
#include "store/store.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char ps_show_usage[] =
    "usage: pstyle show USER [--style NAME] [--json] [--db PATH]\n"
    "Show USER's styles: each version's date, model hash, shots, token shape, learn settings,\n"
    "quality figures and samples (file name, sha256, bytes, size, thumbnail).\n"
    "  --style NAME   only this style\n"
    "  --json         one JSON object {user, styles: [{style, versions: [{version,\n"
    "                 created_at, model_hash, shots, tokens, settings, quality, program,\n"
    "                 samples: [{name, sha256, bytes, width, height, thumbnail_bytes}]}]}]};\n"
    "                 settings and quality are JSON objects; name is null when unknown\n"
    "  --db PATH      style database (default $PSTYLE_DB, else $XDG_DATA_HOME/pstyle/styles.db)\n";

/* The learned program in words, "none (learned before style programs; relearn)" without one,
 * or why it cannot be read. */
static void describe(const ps_style_rec *r, char *buf, size_t n)
{
    ps_prog p;
    if (!r->n_program)
        snprintf(buf, n, "none (learned before style programs: pstyle relearn %s)", r->user);
    else if (ps_prog_unpack(&p, r->program, r->n_program))
        snprintf(buf, n, "unreadable: %s", ps_last_error());
    else
        ps_prog_describe(&p, buf, n);
}

/* A sample's file name for a terminal: control bytes (a stored name has none, but the file is
 * the user's to edit) as '?'; "" for samples stored before names were. */
static const char *printable(const char *name, char buf[PS_STORE_SAMPLE_NAME_MAX + 1])
{
    size_t i = 0;
    for (; name[i] && i < PS_STORE_SAMPLE_NAME_MAX; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    buf[i] = 0;
    return buf;
}

static void show_text(const ps_style_rec *r, const ps_sample_rec *smp, int n, int first_of_style,
                      int n_versions)
{
    char prog[512];
    describe(r, prog, sizeof prog);
    char when[32];
    if (first_of_style)
        printf("%s/%s: %d version%s\n", r->user, r->style, n_versions, n_versions == 1 ? "" : "s");
    printf("  v%d  %s  model %s  %d shot%s  tokens %dx%dx%d\n", r->version,
           ps_cli_utc(r->created_at, when, sizeof when), r->model_hash, r->shots, r->shots == 1 ? "" : "s",
           r->groups, r->tokens_per_group, r->dim);
    printf("      program  %s\n", prog);
    if (r->settings)
        printf("      settings %s\n", r->settings);
    if (r->quality)
        printf("      quality  %s\n", r->quality);
    for (int k = 0; k < n; k++) {
        char name[sizeof smp[k].name];
        printf("      sample %s  %lld bytes  %dx%d  %s%s%s\n", smp[k].sha256,
               (long long)smp[k].size, smp[k].width, smp[k].height,
               smp[k].thumb_len ? "thumbnail" : "no thumbnail", smp[k].name[0] ? "  " : "",
               printable(smp[k].name, name));
    }
}

/* ---- settings and quality: JSON objects that pstyle wrote, inlined only if they are ---------- */

/* A strict JSON syntax check (RFC 8259, ASCII only: pstyle writes nothing else). Each json_*
 * reads one item at *p and the whitespace after it, and advances *p past them: 0 ok, -1 not
 * JSON (or nested too deep); on -1, *p may point anywhere up to one past the terminating NUL
 * and is not read again. */
static int json_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
    return 0;
}

static int json_value(const char **p, int depth);

static int json_string(const char **p)
{
    if (*(*p)++ != '"')
        return -1;
    for (;;) {
        unsigned char c = (unsigned char)*(*p)++;
        if (c == '"')
            return json_ws(p);
        if (c < 0x20 || c >= 0x80)
            return -1;
        if (c != '\\')
            continue;
        c = (unsigned char)*(*p)++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, (*p)++)
                if (!isxdigit((unsigned char)**p))
                    return -1;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return -1;
        }
    }
}

static int json_number(const char **p)
{
    const char *s = *p;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (isdigit((unsigned char)*s))
            s++;
    else
        return -1;
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s))
            return -1;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return -1;
        while (isdigit((unsigned char)*s))
            s++;
    }
    *p = s;
    return json_ws(p);
}

/* An object or array: open, then value (or key: value) items separated by commas, then close. */
static int json_items(const char **p, int depth, char close)
{
    (*p)++;
    json_ws(p);
    if (**p == close)
        return (*p)++, json_ws(p);
    for (;;) {
        if (close == '}' && (json_string(p) || *(*p)++ != ':' || json_ws(p)))
            return -1;
        if (json_value(p, depth + 1))
            return -1;
        char c = *(*p)++;
        if (c == close)
            return json_ws(p);
        if (c != ',')
            return -1;
        json_ws(p);
    }
}

static int json_value(const char **p, int depth)
{
    static const char *const words[] = {"true", "false", "null"};
    if (depth > 32)
        return -1;
    if (**p == '{' || **p == '[')
        return json_items(p, depth, **p == '{' ? '}' : ']');
    if (**p == '"')
        return json_string(p);
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (!strncmp(*p, words[i], strlen(words[i]))) {
            *p += strlen(words[i]);
            return json_ws(p);
        }
    return json_number(p);
}

/* Whether s is one JSON object and nothing else. */
static int json_is_object(const char *s)
{
    json_ws(&s);
    return *s == '{' && json_value(&s, 0) == 0 && *s == 0;
}

/* A learn setting or quality record: the object itself, so that readers need not decode JSON
 * inside JSON; text that is not one JSON object (from an older or another writer, through an
 * import) goes out as a string, so the output is valid JSON whatever the store holds. */
static void json_field(ps_json *j, const char *key, const char *text)
{
    if (text && json_is_object(text)) {
        ps_json_key(j, key);
        fputs(text, j->f);
    } else {
        ps_json_str(j, key, text);
    }
}

static void show_json(ps_json *j, const ps_style_rec *r, const ps_sample_rec *smp, int n)
{
    char when[32], prog[512];
    ps_json_begin(j, NULL, 0);
    ps_json_int(j, "version", r->version);
    ps_json_str(j, "created_at", ps_cli_utc(r->created_at, when, sizeof when));
    ps_json_str(j, "model_hash", r->model_hash);
    ps_json_int(j, "shots", r->shots);
    ps_json_begin(j, "tokens", 1);
    ps_json_int(j, NULL, r->groups);
    ps_json_int(j, NULL, r->tokens_per_group);
    ps_json_int(j, NULL, r->dim);
    ps_json_end(j, 1);
    json_field(j, "settings", r->settings);
    json_field(j, "quality", r->quality);
    describe(r, prog, sizeof prog);
    ps_json_str(j, "program", prog);
    ps_json_begin(j, "samples", 1);
    for (int k = 0; k < n; k++) {
        ps_json_begin(j, NULL, 0);
        ps_json_str(j, "name", smp[k].name[0] ? smp[k].name : NULL);
        ps_json_str(j, "sha256", smp[k].sha256);
        ps_json_int(j, "bytes", (long long)smp[k].size);
        ps_json_int(j, "width", smp[k].width);
        ps_json_int(j, "height", smp[k].height);
        ps_json_int(j, "thumbnail_bytes", (long long)smp[k].thumb_len);
        ps_json_end(j, 0);
    }
    ps_json_end(j, 1);
    ps_json_end(j, 0);
}

int ps_cmd_show(int argc, char **argv)
{
    ps_cli_user_args a;
    int rc = ps_cli_user_args_parse(argc, argv, ps_show_usage, 1, PS_CLI_JSON, &a);
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
        ps_json j;
        ps_json_init(&j, stdout);
        if (json) {
            ps_json_begin(&j, NULL, 0);
            ps_json_str(&j, "user", user);
            ps_json_begin(&j, "styles", 1);
        }
        for (int i = 0; i < n; i++) {
            int first = i == 0 || strcmp(rows[i].style, rows[i - 1].style);
            int last = i == n - 1 || strcmp(rows[i].style, rows[i + 1].style);
            if (!json) {
                show_text(&recs[i], smp[i], ns[i], first, rows[i].n_versions);
                continue;
            }
            if (first) {
                ps_json_begin(&j, NULL, 0);
                ps_json_str(&j, "style", rows[i].style);
                ps_json_begin(&j, "versions", 1);
            }
            show_json(&j, &recs[i], smp[i], ns[i]);
            if (last) {
                ps_json_end(&j, 1);
                ps_json_end(&j, 0);
            }
        }
        if (json) {
            ps_json_end(&j, 1);
            ps_json_end(&j, 0);
        }
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
