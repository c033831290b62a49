/* Training and validation episodes from the synthesizer (meta/synth.h) in the trainer's layout. */
#ifndef PS_META_SAMPLER_H
#define PS_META_SAMPLER_H
#include "meta/synth.h"
#include "meta/train.h"

typedef struct ps_meta_sampler ps_meta_sampler;
/* Photos from data (data/photos: train/ and val/), fitted to max_side; data NULL: procedural
 * content images (tests, quick benches). */
ps_status ps_meta_sampler_open(ps_meta_sampler **s, const char *data, int max_side);
void ps_meta_sampler_close(ps_meta_sampler *s);
int ps_meta_sampler_photos(const ps_meta_sampler *s, int val);
/* A ps_meta_sample_fn: ctx is the ps_meta_sampler. */
ps_status ps_meta_sample(void *ctx, uint64_t seed, int val, ps_meta_episode *out);

#endif
