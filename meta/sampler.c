/* Episodes for meta-training from the procedural style synthesizer and the photo sets. */
#include "sampler.h"
#include <stdlib.h>
#include <string.h>

struct ps_meta_sampler {
    ps_photo_set train, val;
    ps_episode ep;
};

ps_status ps_meta_sampler_open(ps_meta_sampler **out, const char *data, int max_side)
{
    ps_meta_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return ps_fail(PS_EINTERNAL, "sampler: out of memory");
    ps_status rc;
    if (data)
        rc = ps_photos_load(data, PS_PHOTOS_TRAIN, max_side, &s->train);
    else
        rc = ps_photos_procedural(48, max_side, PS_PHOTOS_TRAIN, &s->train);
    if (!rc)
        rc = data ? ps_photos_load(data, PS_PHOTOS_VAL, max_side, &s->val)
                  : ps_photos_procedural(16, max_side, PS_PHOTOS_VAL, &s->val);
    if (rc) {
        ps_meta_sampler_close(s);
        return rc;
    }
    *out = s;
    return PS_OK;
}

void ps_meta_sampler_close(ps_meta_sampler *s)
{
    if (!s)
        return;
    ps_photos_free(&s->train);
    ps_photos_free(&s->val);
    ps_episode_free(&s->ep);
    free(s);
}

int ps_meta_sampler_photos(const ps_meta_sampler *s, int val)
{
    return val ? s->val.n : s->train.n;
}

static void copy_rgb(float *dst, const ps_image *im)
{
    memcpy(dst, im->px, sizeof(float) * 3 * im->w * im->h);
}

ps_status ps_meta_sample(void *ctx, uint64_t seed, int val, ps_meta_episode *out)
{
    ps_meta_sampler *s = ctx;
    /* validation: the synthesizer's held-out style seeds on the held-out photos */
    uint64_t style = val ? ps_synth_val_seed((int)seed) : seed & ((1ull << 63) - 1);
    /* Crops are rendered as parts of a picture whose short side is 384 crop pixels: the trainer's
     * heavy network sees them at half size, so a stroke of 1% of that picture spans as many
     * pixels (1.9) as on a 4:3 photo at the 256-pixel working size of learn and apply. */
    s->ep.length_scale = 384.0f / (float)out->px;
    ps_status rc = ps_episode_sample(val ? &s->val : &s->train, style, out->K, out->Q, out->px,
                                     &s->ep);
    if (rc)
        return rc;
    size_t img = (size_t)3 * out->px * out->px;
    for (int k = 0; k < out->K; k++)
        copy_rgb(out->support + k * img, &s->ep.support[k]);
    for (int q = 0; q < out->Q; q++) {
        copy_rgb(out->photo + q * img, &s->ep.query[q]);
        copy_rgb(out->gt[0] + q * img, &s->ep.query_full[q]);
        copy_rgb(out->gt[1] + q * img, &s->ep.query_color[q]);
        copy_rgb(out->gt[2] + q * img, &s->ep.query_texture[q]);
        copy_rgb(out->gt[3] + q * img, &s->ep.query_stroke[q]);
    }
    return PS_OK;
}
