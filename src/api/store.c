/* The store's style-level calls of the public API, on top of store/'s records. */
#include "src/api/api.h"
#include <stdio.h>
#include <string.h>

ps_status ps_store_put(ps_store *db, const char *user, const char *name, const ps_style *s,
                       int *version)
{
    if (!db || !user || !s)
        return ps_fail(PS_EUSAGE, "store: a store, a user and a style are needed");
    ps_status st = ps_store_check_name(PS_NAME_USER, user);
    if (!st && name)
        st = ps_store_check_name(PS_NAME_STYLE, name);
    if (st)
        return st;
    ps_style_rec rec = s->rec;
    snprintf(rec.user, sizeof rec.user, "%s", user);
    snprintf(rec.style, sizeof rec.style, "%s", name ? name : PS_STORE_DEFAULT_STYLE);
    rec.created_at = 0;
    int v = 0;
    st = ps_store_put_style(db, &rec, s->samples, s->n_samples, &v);
    if (!st && version)
        *version = v;
    return st;
}

ps_status ps_store_get(ps_store *db, const char *user, const char *name, int version,
                       ps_style **out)
{
    *out = NULL;
    if (!db || !user)
        return ps_fail(PS_EUSAGE, "store: a store and a user are needed");
    ps_style_rec rec;
    ps_sample_rec *smp = NULL;
    int n = 0;
    memset(&rec, 0, sizeof rec);
    ps_status st = ps_store_get_style(db, user, name, version, &rec, &smp, &n);
    return st ? st : ps_style_wrap(&rec, smp, n, out);
}
