/* The training run around ps_meta_step: episodes, validation on fixed styles, checkpoints
 * (model + optimizer state, written atomically), resume, and CSV logs. */
#include "train_impl.h"
#include "src/feat/feat.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

ps_status ps_meta_episode_alloc(ps_meta_episode *ep, int K, int Q, int px)
{
    memset(ep, 0, sizeof *ep);
    size_t img = (size_t)3 * px * px;
    ep->K = K, ep->Q = Q, ep->px = px;
    ep->support = malloc(sizeof(float) * img * K);
    ep->photo = malloc(sizeof(float) * img * Q);
    int ok = ep->support && ep->photo;
    for (int i = 0; i < 4; i++)
        ok &= (ep->gt[i] = malloc(sizeof(float) * img * Q)) != NULL;
    if (!ok) {
        ps_meta_episode_free(ep);
        return ps_fail(PS_EINTERNAL, "train: out of memory for an episode");
    }
    return PS_OK;
}

void ps_meta_episode_free(ps_meta_episode *ep)
{
    free(ep->support);
    free(ep->photo);
    for (int i = 0; i < 4; i++)
        free(ep->gt[i]);
    memset(ep, 0, sizeof *ep);
}

ps_status ps_meta_validate(ps_meta_trainer *t, ps_meta_sample_fn sample, void *ctx, int n,
                           int steps, ps_meta_val *out)
{
    ps_model *m = t->m;
    const ps_meta_cfg *cfg = &t->cfg;
    ps_meta_episode ep;
    ps_status rc = ps_meta_episode_alloc(&ep, cfg->K, 1, cfg->crop);
    if (rc)
        return rc;
    int w = t->work, px = cfg->crop, nt = t->nt;
    size_t img = (size_t)3 * px * px, wimg = (size_t)3 * w * w;
    float *tok = malloc(sizeof(float) * nt), *y = malloc(sizeof(float) * img),
          *gtl = malloc(sizeof(float) * img), *inner = malloc(sizeof(float) * (steps + 1));
    memset(out, 0, sizeof *out);
    if (!tok || !y || !gtl || !inner)
        rc = ps_fail(PS_EINTERNAL, "validate: out of memory");
    for (int i = 0; i < n && !rc; i++) {
        if ((rc = sample(ctx, (uint64_t)i, 1, &ep)))
            break;
        memcpy(gtl, ep.gt[0], sizeof(float) * img); /* linear ground truth for the metrics */
        ps_linear_to_srgb_n(ep.support, ep.support, img * ep.K);
        ps_linear_to_srgb_n(ep.photo, ep.photo, img);
        ps_meta_half(t->sup_w, ep.support, ep.K, px);
        ps_meta_half(t->photo_w, ep.photo, 1, px);
        ps_graph *g = t->ge;
        ps_graph_reset(g);
        ps_graph_set_grad(g, 0);
        ps_tensor xs = {ep.K, 3, w, w, t->sup_w, NULL};
        ps_tensor *s0 = ps_enc_pool(g, ps_enc_tokens(g, &m->enc, &m->p, &xs),
                                    &m->p.t[m->enc.score]);
        if (!s0) {
            rc = ps_graph_status(g);
            break;
        }
        memcpy(tok, s0->data, sizeof(float) * nt);
        if (steps > 0) {
            for (int k = 0; k < ep.K; k++)
                ps_enc_destyle(t->sup_d + k * wimg, t->sup_w + k * wimg, w, w);
            ps_tensor xd = {ep.K, 3, w, w, t->sup_d, NULL};
            ps_params_freeze(&m->p, 1);
            rc = ps_enc_adapt(t->gi, m, &xs, &xd, tok, steps, NULL, NULL, NULL, inner, NULL);
            ps_params_freeze(&m->p, 0);
            if (rc)
                break;
            out->inner_before += inner[0] / n;
            out->inner_after += inner[steps] / n;
        }
        ps_graph_reset(g);
        ps_tensor xw = {1, 3, w, w, t->photo_w, NULL};
        ps_tensor s = {1, 1, nt / m->gen.cfg.dim, m->gen.cfg.dim, tok, NULL};
        ps_gen_heads hd;
        if ((rc = ps_gen_heads_forward(g, &m->gen, &m->p, &xw, &s, &hd)))
            break;
        static const ps_dials ones = {1, 1, 1};
        ps_gen_compose_forward(y, ep.photo, px, px, &hd, &ones);
        ps_srgb_to_linear_n(y, y, img);
        double l1 = 0;
        for (size_t j = 0; j < img; j++)
            l1 += fabs(y[j] - gtl[j]);
        out->l1 += l1 / img / n;
        double p = ps_feat_psnr(y, gtl, 3, px, px);
        out->psnr += (isfinite(p) ? p : 99.0) / n;
        out->ssim += ps_feat_ssim(y, gtl, 3, px, px) / n;
        out->n++;
    }
    ps_graph_set_grad(t->ge, 1);
    free(tok);
    free(y);
    free(gtl);
    free(inner);
    ps_meta_episode_free(&ep);
    return rc;
}

/* ---- optimizer state beside the checkpoint: "PSAD", version, step, episode, m, v, CRC ------ */
#define ADAM_MAGIC "PSAD"

typedef struct {
    const ps_params *p;
    long episode;
} adam_ctx;

static int adam_fill(int fd, void *ctx)
{
    const adam_ctx *a = ctx;
    const ps_params *p = a->p;
    int64_t hdr[3] = {1, p->step, a->episode};
    uint64_t total = p->total;
    uLong crc = crc32(0, (const Bytef *)hdr, sizeof hdr);
    crc = crc32(crc, (const Bytef *)p->m, sizeof(float) * p->total);
    crc = crc32(crc, (const Bytef *)p->v, sizeof(float) * p->total);
    uint32_t c32 = (uint32_t)crc;
    int err = ps_file_write_all(fd, ADAM_MAGIC, 4);
    if (!err)
        err = ps_file_write_all(fd, hdr, sizeof hdr);
    if (!err)
        err = ps_file_write_all(fd, &total, sizeof total);
    if (!err)
        err = ps_file_write_all(fd, p->m, sizeof(float) * p->total);
    if (!err)
        err = ps_file_write_all(fd, p->v, sizeof(float) * p->total);
    if (!err)
        err = ps_file_write_all(fd, &c32, sizeof c32);
    return err;
}

static ps_status adam_save(const char *path, const ps_params *p, long episode)
{
    adam_ctx a = {p, episode};
    return ps_file_write_atomic(path, PS_EINPUT, adam_fill, &a);
}

static ps_status adam_load(const char *path, ps_params *p, long *episode)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_fail(PS_EINPUT, "%s: %s", path, strerror(errno));
    char magic[4];
    int64_t hdr[3];
    uint64_t total;
    uint32_t c32;
    int ok = fread(magic, 4, 1, f) == 1 && !memcmp(magic, ADAM_MAGIC, 4) &&
             fread(hdr, sizeof hdr, 1, f) == 1 && hdr[0] == 1 &&
             fread(&total, sizeof total, 1, f) == 1 && total == p->total &&
             fread(p->m, sizeof(float), p->total, f) == p->total &&
             fread(p->v, sizeof(float), p->total, f) == p->total &&
             fread(&c32, sizeof c32, 1, f) == 1;
    fclose(f);
    if (ok) {
        uLong crc = crc32(0, (const Bytef *)hdr, sizeof hdr);
        crc = crc32(crc, (const Bytef *)p->m, sizeof(float) * p->total);
        crc = crc32(crc, (const Bytef *)p->v, sizeof(float) * p->total);
        ok = (uint32_t)crc == c32;
    }
    if (!ok)
        return ps_fail(PS_EINPUT, "%s: optimizer state is corrupt or from another model", path);
    p->step = hdr[1];
    *episode = (long)hdr[2];
    return PS_OK;
}

static ps_status mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(buf, 0755);
            *s = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return ps_fail(PS_EINPUT, "%s: cannot create: %s", dir, strerror(errno));
    return PS_OK;
}

/* Learning rate at episode e: a linear warm-up (Adam's first moments are noise until they have
 * seen a few hundred episodes), then, when the run's length is known, a cosine decay to 5%: the
 * constant rate's runs plateaued within 2,000 episodes and later diverged. */
static float lr_at(const ps_meta_cfg *cfg, long e)
{
    const long warm = 300;
    if (e < warm)
        return cfg->lr * (0.1f + 0.9f * (float)e / warm);
    if (cfg->episodes <= warm)
        return cfg->lr;
    double f = (double)(e - warm) / (double)(cfg->episodes - warm);
    return cfg->lr * (float)(0.05 + 0.95 * 0.5 * (1 + cos(M_PI * (f < 1 ? f : 1))));
}

ps_status ps_meta_train(const ps_meta_cfg *cfg, ps_meta_sample_fn sample, void *ctx,
                        ps_meta_progress_fn progress, void *pctx)
{
    char ckpt[4096], adam[4096], logp[4096], valp[4096];
    ps_status rc = mkdir_p(cfg->dir);
    if (rc)
        return rc;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.psm", cfg->dir);
    snprintf(adam, sizeof adam, "%s/checkpoint.adam", cfg->dir);
    snprintf(logp, sizeof logp, "%s/log.csv", cfg->dir);
    snprintf(valp, sizeof valp, "%s/val.csv", cfg->dir);
    ps_model m;
    long ep0 = 0;
    int resumed = cfg->resume && access(ckpt, R_OK) == 0;
    if (resumed) {
        if (!(rc = ps_model_load(&m, ckpt)) && (rc = adam_load(adam, &m.p, &ep0)))
            ps_model_free(&m);
    } else if (cfg->init) {
        rc = ps_model_load(&m, cfg->init);
    } else {
        rc = ps_model_create(&m, NULL, cfg->seed);
    }
    if (rc)
        return rc;
    /* what learn does by default: the training setting, or more steps when validation says
     * they help (the Meta-SGD steps keep improving past the one step they were trained with) */
    int learn_steps = cfg->learn_steps > 0 ? cfg->learn_steps : cfg->inner_steps;
    if (learn_steps > 0) {
        m.inner_steps = learn_steps;
        ps_hparams_set(&m.hp, "model.inner_steps", learn_steps);
    }
    ps_meta_trainer *t = NULL;
    ps_meta_episode ep = {0};
    if ((rc = ps_meta_trainer_new(&t, &m, cfg)) ||
        (rc = ps_meta_episode_alloc(&ep, cfg->K, cfg->Q, cfg->crop))) {
        ps_meta_trainer_free(t);
        ps_model_free(&m);
        return rc;
    }
    FILE *log = fopen(logp, resumed ? "a" : "w"), *val = fopen(valp, resumed ? "a" : "w");
    if (!log || !val) {
        rc = ps_fail(PS_EINPUT, "%s: cannot write the logs", cfg->dir);
        goto done;
    }
    if (!resumed) {
        fprintf(log, "episode,seconds,loss,l1_full,l1_color,l1_texture,l1_stroke,ssim,feat\n");
        fprintf(val, "episode,seconds,l1,psnr,ssim,inner_before,inner_after\n");
    }
    /* the bar to beat: the model already at cfg->out, on the same validation episodes */
    double best = INFINITY;
    ps_model cur;
    ps_meta_val v0 = {.l1 = INFINITY};
    ps_meta_progress pr = {.event = PS_META_EV_START, .done = ep0, .total = cfg->episodes,
                           .eta_s = -1};
    if (access(cfg->out, R_OK) == 0 && !ps_model_load(&cur, cfg->out)) {
        ps_meta_trainer *tc = NULL;
        if (!ps_meta_trainer_new(&tc, &cur, cfg) &&
            !ps_meta_validate(tc, sample, ctx, cfg->val_styles, cur.inner_steps, &v0))
            best = v0.l1;
        ps_meta_trainer_free(tc);
        ps_model_free(&cur);
        pr.val = &v0;
    }
    if (progress)
        progress(pctx, &pr);
    double t0 = ps_clock_s();
    long nskip = 0, nclip = 0;
    ps_meta_stats avg = {0};
    int navg = 0;
    for (long e = ep0;; e++) {
        double el = ps_clock_s() - t0;
        int last = (cfg->episodes && e >= cfg->episodes) || (cfg->minutes > 0 &&
                                                              el > cfg->minutes * 60);
        if ((e > ep0 && e % cfg->val_every == 0) || last) {
            ps_meta_val v;
            if ((rc = ps_meta_validate(t, sample, ctx, cfg->val_styles, cfg->inner_steps, &v)))
                break;
            fprintf(val, "%ld,%.1f,%.6f,%.4f,%.5f,%.6f,%.6f\n", e, el, v.l1, v.psnr, v.ssim,
                    v.inner_before, v.inner_after);
            fflush(val);
            pr.saved = v.l1 < best;
            if (v.l1 < best) {
                best = v.l1;
                if ((rc = ps_model_save(&m, cfg->out)))
                    break;
            }
            if (progress) {
                pr.event = PS_META_EV_VAL, pr.done = e, pr.elapsed_s = el, pr.val = &v;
                progress(pctx, &pr);
                pr.val = NULL;
            }
        }
        if (last)
            break;
        if ((rc = sample(ctx, cfg->seed * 1000003u + (uint64_t)e, 0, &ep)))
            break;
        ps_meta_stats st;
        t->adam.lr = lr_at(cfg, e);
        if ((rc = ps_meta_step(t, &ep, &st)))
            break;
        nskip += st.skipped;
        nclip += st.clipped;
        pr.logged = 0;
        if (!st.skipped) {
            avg.loss += st.loss, avg.ssim += st.ssim, avg.feat += st.feat;
            for (int i = 0; i < 4; i++)
                avg.l1[i] += st.l1[i];
            navg++;
        }
        if (!st.skipped && (e + 1) % cfg->log_every == 0) {
            fprintf(log, "%ld,%.1f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f\n", e + 1, ps_clock_s() - t0,
                    avg.loss / navg, avg.l1[0] / navg, avg.l1[1] / navg, avg.l1[2] / navg,
                    avg.l1[3] / navg, avg.ssim / navg, avg.feat / navg);
            fflush(log);
            pr.logged = 1, pr.loss = avg.loss / navg, pr.l1_full = avg.l1[0] / navg;
            memset(&avg, 0, sizeof avg);
            navg = 0;
        }
        if (progress) {
            pr.event = PS_META_EV_EPISODE, pr.done = e + 1, pr.elapsed_s = ps_clock_s() - t0;
            pr.s_per_episode = pr.elapsed_s / (double)(e + 1 - ep0);
            pr.eta_s = ps_meta_eta(cfg, e + 1, ep0, pr.elapsed_s, &pr.time_limited);
            pr.clipped = nclip, pr.skipped = nskip;
            progress(pctx, &pr);
        }
        if (st.skipped)
            continue;
        if ((e + 1) % cfg->ckpt_every == 0 &&
            ((rc = ps_model_save(&m, ckpt)) || (rc = adam_save(adam, &m.p, e + 1))))
            break;
    }
done:
    if (log)
        fclose(log);
    if (val)
        fclose(val);
    ps_meta_episode_free(&ep);
    ps_meta_trainer_free(t);
    ps_model_free(&m);
    return rc;
}
