/* The model file: encoder + generator + Meta-SGD step sizes in one .psm, with the architecture in
 * its hyper-parameters so a file fully describes the network it holds. */
#include "enc.h"
#include "src/feat/feat.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_WORK_PX 256
#define MODEL_INNER_STEPS 3

static ps_status model_build(ps_model *m, const ps_gen_cfg *cfg)
{
    ps_params_init(&m->p);
    ps_gen_declare(&m->gen, cfg, &m->p);
    ps_enc_declare(&m->enc, cfg->tok, cfg->dim, &m->p);
    m->alpha = ps_params_add(&m->p, "meta.log_alpha", 1, 1, PS_NGROUPS * cfg->tok, cfg->dim);
    ps_status st = ps_params_alloc(&m->p);
    if (st)
        ps_params_free(&m->p);
    return st;
}

ps_status ps_model_create(ps_model *m, const ps_gen_cfg *arch, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    ps_gen_cfg cfg;
    ps_gen_cfg_default(&cfg);
    if (arch)
        cfg = *arch;
    ps_gen_cfg_to_hparams(&cfg, &m->hp);
    ps_hparams_set(&m->hp, "model.work_px", MODEL_WORK_PX);
    ps_hparams_set(&m->hp, "model.inner_steps", MODEL_INNER_STEPS);
    ps_hparams_set(&m->hp, "model.feat_dim", PS_FEAT_DIM);
    m->work_px = MODEL_WORK_PX;
    m->inner_steps = MODEL_INNER_STEPS;
    ps_status st = model_build(m, &cfg);
    if (st)
        return st;
    ps_gen_init(&m->gen, &m->p, seed);
    ps_enc_init(&m->enc, &m->p, seed ^ 0x5eed);
    /* Inner step sizes live in log space: the inner loss's gradient w.r.t. the tokens is ~1e-3
     * per dimension while tokens are O(1), so useful steps are 10-100x the gradient, and Adam's
     * fixed-size updates move a log step size by a factor, whatever its scale. (100 from the
     * start diverged within 260 episodes; 10 plus the step trust region does not.) */
    ps_params_fill(&m->p, m->alpha, logf(10.0f));
    memcpy(m->hash, "0000000000000000", 17);
    return PS_OK;
}

ps_status ps_model_load_mem(ps_model *m, const char *path, const unsigned char *file, size_t len)
{
    memset(m, 0, sizeof *m);
    ps_status st = ps_psm_load_mem(path, file, len, &m->hp, NULL, NULL);
    if (st)
        return st;
    ps_gen_cfg cfg;
    if ((st = ps_gen_cfg_from_hparams(&cfg, &m->hp))) {
        char why[256]; /* ps_fail formats into the buffer ps_last_error points at */
        snprintf(why, sizeof why, "%s", ps_last_error());
        return ps_fail(st, "%s: %s", path, why);
    }
    m->work_px = (int)ps_hparams_get(&m->hp, "model.work_px", -1);
    m->inner_steps = (int)ps_hparams_get(&m->hp, "model.inner_steps", -1);
    if (m->work_px < 64 || m->work_px > 2048 || m->inner_steps < 0 || m->inner_steps > 100)
        return ps_fail(PS_EINPUT, "%s: model settings missing or out of range", path);
    if (ps_hparams_get(&m->hp, "model.feat_dim", -1) != PS_FEAT_DIM)
        return ps_fail(PS_EINPUT, "%s: model was made for another feature space (%lld != %d); "
                       "this pstyle cannot use it", path,
                       (long long)ps_hparams_get(&m->hp, "model.feat_dim", -1), PS_FEAT_DIM);
    if ((st = model_build(m, &cfg)))
        return st;
    if ((st = ps_psm_load_mem(path, file, len, &m->hp, &m->p, m->hash))) {
        ps_params_free(&m->p);
        return st;
    }
    return PS_OK;
}

ps_status ps_model_load(ps_model *m, const char *path)
{
    memset(m, 0, sizeof *m);
    unsigned char *file = NULL;
    size_t len = 0;
    ps_status st = ps_psm_read_file(path, &file, &len);
    if (!st)
        st = ps_model_load_mem(m, path, file, len);
    free(file);
    return st;
}

ps_status ps_model_save(const ps_model *m, const char *path)
{
    return ps_psm_save(path, &m->hp, &m->p);
}

void ps_model_free(ps_model *m)
{
    ps_params_free(&m->p);
}

int ps_model_ntokens(const ps_model *m)
{
    return PS_NGROUPS * m->gen.cfg.tok * m->gen.cfg.dim;
}
