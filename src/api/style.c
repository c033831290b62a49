/* Styles: learn (from files, decoded images or pixels), describe, apply. The one place where a
 * style record is assembled, for the library and for `pstyle learn` / `relearn`. */
#include "src/api/api.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void samples_clear(ps_sample_rec *smp, int k)
{
    for (int i = 0; i < k; i++) {
        free(smp[i].thumb);
        free(smp[i].embedding);
        memset(&smp[i], 0, sizeof smp[i]);
    }
}

static ps_status sample_of_image(const ps_image *img, const void *bytes, size_t len,
                                 ps_sample_rec *smp)
{
    memset(smp, 0, sizeof *smp);
    ps_store_sha256_hex(bytes, len, smp->sha256);
    smp->size = (int64_t)len;
    smp->width = img->w;
    smp->height = img->h;
    ps_image th = {0};
    ps_status st = ps_img_fit(img, &th, PS_API_THUMB_PX);
    if (!st)
        st = ps_img_encode_png(&th, &smp->thumb, &smp->thumb_len);
    ps_img_free(&th);
    if (st)
        samples_clear(smp, 1);
    return st;
}

/* The base name of path into a sample's name field: control bytes become '?' (the store takes
 * no control bytes; a file may be named with them). */
static void sample_name(ps_sample_rec *smp, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(smp->name, sizeof smp->name, "%s", base);
    for (char *c = smp->name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

ps_status ps_style_read_sample(const char *path, ps_image *img, ps_sample_rec *smp)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    memset(smp, 0, sizeof *smp);
    ps_status st = ps_img_read_file(path, &bytes, &len);
    if (!st)
        st = ps_img_load_mem(bytes, len, path, img);
    if (!st && (st = sample_of_image(img, bytes, len, smp)))
        ps_img_free(img);
    if (!st)
        sample_name(smp, path);
    free(bytes);
    return st;
}

void ps_style_free(ps_style *s)
{
    if (!s)
        return;
    ps_store_style_free(&s->rec);
    ps_store_samples_free(s->samples, s->n_samples);
    free(s);
}

ps_status ps_style_wrap(ps_style_rec *rec, ps_sample_rec *smp, int n, ps_style **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) {
        ps_store_style_free(rec);
        ps_store_samples_free(smp, n);
        return ps_fail(PS_EINTERNAL, "style: out of memory");
    }
    (*out)->rec = *rec;
    (*out)->samples = smp;
    (*out)->n_samples = smp ? n : 0;
    return PS_OK;
}

ps_status ps_style_learn_images(ps_model *m, const ps_image *imgs, ps_sample_rec *smp, int k,
                                int steps, const char *from, ps_style **out,
                                ps_learn_stats *stats, const ps_learn_progress *progress)
{
    *out = NULL;
    if (k < 1 || k > PS_STYLE_MAX_SAMPLES)
        return ps_fail(PS_EUSAGE, "learn: %d images given, 1 to %d are needed", k,
                       PS_STYLE_MAX_SAMPLES);
    int nt = ps_model_ntokens(m);
    ps_style *s = calloc(1, sizeof *s);
    float *embed = malloc(sizeof(float) * nt * k);
    if (s) {
        s->samples = calloc((size_t)k, sizeof *s->samples);
        s->rec.tokens = malloc(sizeof(float) * nt);
        s->rec.program = malloc(sizeof(float) * PS_PROG_MAXFLOATS);
    }
    ps_status st = s && embed && s->samples && s->rec.tokens && s->rec.program
                       ? PS_OK : ps_fail(PS_EINTERNAL, "learn: out of memory");
    if (!st) {
        s->n_samples = k;
        if (smp) {
            memcpy(s->samples, smp, sizeof *smp * k);
            memset(smp, 0, sizeof *smp * k);
        }
        for (int i = 0; i < k && !st && !smp; i++) /* pixels: hash what was given */
            st = sample_of_image(&imgs[i], imgs[i].px,
                                 sizeof(float) * imgs[i].c * imgs[i].w * imgs[i].h, &s->samples[i]);
    }
    ps_learn_stats ls = {0};
    ps_prog prog;
    if (!st)
        st = ps_model_learn(m, imgs, k, steps, s->rec.tokens, &prog, embed, &ls, progress);
    for (int i = 0; i < k && !st; i++) {
        if (!(s->samples[i].embedding = malloc(sizeof(float) * nt))) {
            st = ps_fail(PS_EINTERNAL, "learn: out of memory");
            break;
        }
        memcpy(s->samples[i].embedding, embed + (size_t)i * nt, sizeof(float) * nt);
        s->samples[i].n_embedding = nt;
    }
    if (!st) {
        ps_style_rec *r = &s->rec;
        r->n_program = (int)ps_prog_pack(&prog, r->program);
        r->groups = PS_NGROUPS;
        r->tokens_per_group = m->gen.cfg.tok;
        r->dim = m->gen.cfg.dim;
        r->shots = k;
        memcpy(r->model_hash, m->hash, sizeof r->model_hash);
        char buf[256];
        snprintf(buf, sizeof buf, "{\"steps\":%d,\"work_px\":%d,\"shots\":%d,\"from\":\"%s\"}",
                 steps < 0 ? m->inner_steps : steps, m->work_px, k, from);
        r->settings = strdup(buf);
        snprintf(buf, sizeof buf,
                 "{\"inner_loss_before\":%.6f,\"inner_loss_after\":%.6f,\"seconds\":%.3f}",
                 ls.loss_before, ls.loss_after, ls.seconds);
        r->quality = strdup(buf);
        if (!r->settings || !r->quality)
            st = ps_fail(PS_EINTERNAL, "learn: out of memory");
    }
    free(embed);
    if (st) {
        if (smp && s && s->samples) /* hand the caller's samples back untouched */
            for (int i = 0; i < k; i++) {
                free(s->samples[i].embedding);
                s->samples[i].embedding = NULL, s->samples[i].n_embedding = 0;
                smp[i] = s->samples[i];
                memset(&s->samples[i], 0, sizeof s->samples[i]);
            }
        ps_style_free(s);
        return st;
    }
    if (stats)
        *stats = ls;
    *out = s;
    return PS_OK;
}

ps_status ps_style_learn(ps_model *m, const ps_image *const *samples, int k, int steps,
                         ps_style **out)
{
    *out = NULL;
    if (!m || !samples || k < 1 || k > PS_STYLE_MAX_SAMPLES)
        return ps_fail(PS_EUSAGE, "learn: give 1 to %d sample images", PS_STYLE_MAX_SAMPLES);
    ps_image imgs[PS_STYLE_MAX_SAMPLES];
    for (int i = 0; i < k; i++) {
        if (!samples[i])
            return ps_fail(PS_EUSAGE, "learn: sample %d is NULL", i + 1);
        imgs[i] = *samples[i];
    }
    return ps_style_learn_images(m, imgs, NULL, k, steps, "pixels", out, NULL, NULL);
}

ps_status ps_style_learn_files(ps_model *m, const char *const *paths, int k, int steps,
                               ps_style **out)
{
    *out = NULL;
    if (!m || !paths || k < 1 || k > PS_STYLE_MAX_SAMPLES)
        return ps_fail(PS_EUSAGE, "learn: give 1 to %d sample files", PS_STYLE_MAX_SAMPLES);
    ps_image imgs[PS_STYLE_MAX_SAMPLES] = {{0}};
    ps_sample_rec smp[PS_STYLE_MAX_SAMPLES];
    memset(smp, 0, sizeof smp);
    ps_status st = PS_OK;
    for (int i = 0; i < k && !st; i++)
        st = paths[i] ? ps_style_read_sample(paths[i], &imgs[i], &smp[i])
                      : ps_fail(PS_EUSAGE, "learn: path %d is NULL", i + 1);
    if (!st)
        st = ps_style_learn_images(m, imgs, smp, k, steps, "files", out, NULL, NULL);
    for (int i = 0; i < k; i++)
        ps_img_free(&imgs[i]);
    samples_clear(smp, k);
    return st;
}

const char *ps_style_model_hash(const ps_style *s) { return s->rec.model_hash; }

/* "alice's style 'default' v3" for a stored style, "the style" for a fresh one. */
static void style_name(const ps_style *s, char *buf, size_t n)
{
    if (s->rec.user[0])
        snprintf(buf, n, "%s's style '%s' v%d", s->rec.user, s->rec.style, s->rec.version);
    else
        snprintf(buf, n, "the style");
}

size_t ps_style_describe(const ps_style *s, char *buf, size_t n)
{
    char tmp[1024];
    ps_prog p;
    if (!s->rec.n_program)
        snprintf(tmp, sizeof tmp, "none (learned before style programs: relearn it)");
    else if (ps_prog_unpack(&p, s->rec.program, s->rec.n_program))
        snprintf(tmp, sizeof tmp, "unreadable: %s", ps_last_error());
    else
        ps_prog_describe(&p, tmp, sizeof tmp);
    return (size_t)snprintf(buf, n, "%s", tmp);
}

ps_status ps_style_ready(const ps_model *m, const ps_style *s, ps_prog *prog)
{
    char who[200];
    style_name(s, who, sizeof who);
    const char *user = s->rec.user[0] ? s->rec.user : "USER";
    if (s->rec.n_program && ps_prog_unpack(prog, s->rec.program, s->rec.n_program)) {
        char why[512];
        snprintf(why, sizeof why, "%s", ps_last_error());
        return ps_fail(PS_EINPUT, "%s: %s; run 'pstyle relearn %s'", who, why, user);
    }
    /* a program does not depend on the model; tokens alone (styles learned before programs)
     * need the model they were made with */
    if (!s->rec.n_program && !m)
        return ps_fail(PS_EUSAGE, "%s is tokens alone, without a program: painting it needs "
                       "the model it was learned with", who);
    if (!s->rec.n_program && (strcmp(s->rec.model_hash, m->hash) ||
        s->rec.groups * s->rec.tokens_per_group * s->rec.dim != ps_model_ntokens(m)))
        return ps_fail(PS_EINPUT, "%s was learned with model %s, but this is model %s; run "
                       "'pstyle relearn %s' or learn it again", who, s->rec.model_hash, m->hash,
                       user);
    return PS_OK;
}

static ps_status dials_check(const ps_dials *d)
{
    if (!(d->color >= 0 && d->color <= PS_DIAL_MAX && d->texture >= 0 &&
          d->texture <= PS_DIAL_MAX && d->stroke >= 0 && d->stroke <= PS_DIAL_MAX))
        return ps_fail(PS_EUSAGE, "apply: dials must be within 0 and %g", PS_DIAL_MAX);
    return PS_OK;
}

static const ps_dials ones = {1, 1, 1};

ps_status ps_apply(ps_model *m, const ps_style *s, const ps_image *in, const ps_dials *d,
                   ps_image **out)
{
    *out = NULL;
    if (!s || !in)
        return ps_fail(PS_EUSAGE, "apply: a style and an image are needed");
    d = d ? d : &ones;
    ps_status st = dials_check(d);
    if (st)
        return st;
    ps_prog prog;
    if ((st = ps_style_ready(m, s, &prog)))
        return st;
    ps_image *o = calloc(1, sizeof *o);
    if (!o)
        return ps_fail(PS_EINTERNAL, "apply: out of memory");
    st = ps_model_apply(m, s->rec.tokens, s->rec.n_program ? &prog : NULL, in, d, o);
    if (st) {
        free(o);
        return st;
    }
    *out = o;
    return PS_OK;
}

ps_status ps_apply_raw(ps_model *m, const ps_style *s, const ps_img_raw *raw, const ps_dials *d,
                       const char *path, int jpeg_quality, const ps_img_meta *meta)
{
    ps_prog prog;
    ps_status st = ps_style_ready(m, s, &prog);
    if (st)
        return st;
    if (!s->rec.n_program) { /* the network paints a whole image */
        ps_image im = {0}, out = {0};
        if (!(st = ps_img_alloc(&im, raw->w, raw->h, raw->c))) {
            ps_img_raw_rows(raw, 0, raw->h, 0, &im);
            st = ps_model_apply(m, s->rec.tokens, NULL, &im, d, &out);
        }
        ps_img_free(&im);
        if (!st)
            st = ps_img_save_meta(path, &out, jpeg_quality, meta);
        ps_img_free(&out);
        return st;
    }
    const ps_prog_input in = ps_prog_input_raw(raw);
    ps_prog_stream *ps = NULL;
    if ((st = ps_prog_stream_open(&prog, d, &in, 0, &ps)))
        return st;
    const ps_img_src src = {raw->w, raw->h, raw->c, ps_prog_stream_rows, ps};
    st = ps_img_save_src(path, &src, jpeg_quality, meta);
    ps_prog_stream_free(ps);
    return st;
}

ps_status ps_apply_file(ps_model *m, const ps_style *s, const char *in, const char *out,
                        const ps_dials *d, int jpeg_quality)
{
    if (!s || !in || !out)
        return ps_fail(PS_EUSAGE, "apply: a style, an input and an output are needed");
    d = d ? d : &ones;
    ps_status st = dials_check(d);
    if (!st)
        st = ps_img_out_format(out, NULL); /* before the work */
    if (st)
        return st;
    unsigned char *buf = NULL;
    size_t len = 0;
    ps_img_raw raw = {0};
    ps_img_meta meta;
    memset(&meta, 0, sizeof meta);
    if (!(st = ps_img_read_file(in, &buf, &len)))
        st = ps_img_load_raw(buf, len, in, &raw, &meta);
    free(buf); /* the file is not needed once decoded */
    if (!st)
        st = ps_apply_raw(m, s, &raw, d, out, jpeg_quality, &meta);
    ps_img_raw_free(&raw);
    ps_img_meta_free(&meta);
    return st;
}

ps_status ps_apply_in_place(ps_model *m, const ps_style *s, ps_image *im, const ps_dials *d)
{
    ps_prog prog;
    ps_status st = ps_style_ready(m, s, &prog);
    if (st)
        return st;
    if (s->rec.n_program)
        return ps_prog_apply(&prog, im, d, im);
    ps_image out = {0};
    if ((st = ps_model_apply(m, s->rec.tokens, NULL, im, d, &out)))
        return st;
    ps_img_free(im);
    *im = out;
    return PS_OK;
}
