/* Models through the public API. ps_model_open(NULL) is the model the build embedded
 * (models/default.psm, linked in as bytes by default_model.S), so a program linked with
 * libpstyle needs no file at run time. */
#include "src/api/api.h"
#include <stdlib.h>

extern const unsigned char ps_api_default_model[];
extern const unsigned char ps_api_default_model_end[];

ps_status ps_model_open(ps_model **out, const char *path)
{
    *out = malloc(sizeof **out);
    if (!*out)
        return ps_fail(PS_EINTERNAL, "model: out of memory");
    ps_status st = path ? ps_model_load(*out, path)
                        : ps_model_load_mem(*out, "the built-in model", ps_api_default_model,
                                            (size_t)(ps_api_default_model_end -
                                                     ps_api_default_model));
    if (st) {
        free(*out);
        *out = NULL;
    }
    return st;
}

void ps_model_close(ps_model *m)
{
    if (!m)
        return;
    ps_model_free(m);
    free(m);
}

const char *ps_model_hash(const ps_model *m) { return m ? m->hash : ""; }
