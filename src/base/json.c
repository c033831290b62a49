/* Streaming JSON writer: the bench's results.json and every --json of the CLI. */
#include "src/base/base.h"
#include <math.h>

void ps_json_init(ps_json *j, FILE *f)
{
    j->f = f;
    j->depth = -1;
}

void ps_json_key(ps_json *j, const char *key)
{
    if (j->depth < 0)
        return; /* the top-level value has no separator */
    if (j->count[j->depth]++)
        fputc(',', j->f);
    fprintf(j->f, "\n%*s", 2 * (j->depth + 1), "");
    if (key) {
        ps_json_str_lit(j->f, key);
        fputs(": ", j->f);
    }
}

int ps_json_utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
          : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xE0 && p[1] < 0xA0) || (n == 3 && p[0] == 0xED && p[1] >= 0xA0) ||
        (n == 4 && p[0] == 0xF0 && p[1] < 0x90) || (n == 4 && p[0] == 0xF4 && p[1] >= 0x90))
        return 0;
    return n;
}

void ps_json_str_lit(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = ps_json_utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
        } else if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p++);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p++);
        } else {
            fwrite(p, 1, (size_t)n, f);
            p += n;
        }
    }
    fputc('"', f);
}

void ps_json_begin(ps_json *j, const char *key, int array)
{
    if (j->depth + 1 >= PS_JSON_DEPTH)
        return; /* deeper than anything pstyle writes: a programming error, keep the file valid */
    ps_json_key(j, key);
    fputc(array ? '[' : '{', j->f);
    j->count[++j->depth] = 0;
}

void ps_json_end(ps_json *j, int array)
{
    if (j->depth < 0)
        return;
    if (j->count[j->depth])
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(array ? ']' : '}', j->f);
    if (--j->depth < 0)
        fputc('\n', j->f);
}

void ps_json_num(ps_json *j, const char *key, double v)
{
    ps_json_key(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.6g", v);
    else
        fputs("null", j->f);
}

void ps_json_int(ps_json *j, const char *key, long long v)
{
    ps_json_key(j, key);
    fprintf(j->f, "%lld", v);
}

void ps_json_bool(ps_json *j, const char *key, int v)
{
    ps_json_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

void ps_json_str(ps_json *j, const char *key, const char *s)
{
    ps_json_key(j, key);
    if (s)
        ps_json_str_lit(j->f, s);
    else
        fputs("null", j->f);
}
