/* Procedural style synthesizer, photo sets and episode sampler: the training tasks of pstyle.
 *
 * A style is the composition color ∘ texture ∘ stroke of three ops, each a family with continuous
 * parameters, an intensity in [0,1] (0 = identity) and a seed. The full render applies stroke to
 * the photo first, then texture, then color (paint, then the surface it lies on, then the grade
 * of the whole picture); each partial render applies one op alone to the photo. Those partials
 * are the ground truth that teaches the color / texture / stroke token groups their meaning.
 *
 *   ps_synth_style st;  ps_image full, col, tex, str;   (allocated w x h x 3 by the caller)
 *   ps_synth_sample(seed, &st);
 *   ps_synth_render(&st, &photo, &full, &col, &tex, &str);
 *
 * Images are planar linear RGB in [0,1] (src/img/img.h). Every length a family uses is a fraction
 * of the image's short side, so a style looks the same at any resolution. Same inputs, same bytes.
 */
#ifndef PS_SYNTH_H
#define PS_SYNTH_H
#include "src/img/img.h"
#include <stdint.h>


#define PS_SYNTH_NPARAM 8

typedef struct ps_synth_op {
    int family;                 /* index inside the group, < ps_synth_family_count(group) */
    float intensity;            /* 0 = identity, 1 = full effect */
    float p[PS_SYNTH_NPARAM];   /* family parameters, each in [0,1]; the family maps them to ranges */
    uint32_t seed;              /* for the op's own noise, palettes, dab positions */
} ps_synth_op;

typedef struct ps_synth_style {
    ps_synth_op op[PS_NGROUPS]; /* indexed by ps_group */
    uint64_t seed;                    /* the seed it was sampled from */
    float scale;                      /* lengths are fractions of scale x the short side: a crop
                                       * rendered as part of a larger picture (0 or 1: itself) */
} ps_synth_style;

int ps_synth_family_count(ps_group g);
/* Short name ("tone_curves", "halftone", "kuwahara"...); NULL when out of range. */
const char *ps_synth_family_name(ps_group g, int family);
const char *ps_synth_group_name(ps_group g);

/* Draw a style: each group is identity (intensity 0) with probability 1/8, else a uniform family
 * with uniform parameters; never all three identity. Training seeds (< 2^63) draw identity more
 * often: 1/4 per group, and all three in 1 style of 16. */
void ps_synth_sample(uint64_t seed, ps_synth_style *st);
/* The i-th style seed of the fixed validation set (bench): never a training seed. */
uint64_t ps_synth_val_seed(int i);
int ps_synth_is_val_seed(uint64_t seed);

/* Render the style on `in` (3 or 4 channels; alpha ignored). Each non-NULL output must be allocated
 * by the caller with in's width and height and 3 channels. out_full = color(texture(stroke(in))),
 * the others apply one op alone. Fails only on bad arguments or out of memory. */
ps_status ps_synth_render(const ps_synth_style *st, const ps_image *in, ps_image *out_full,
                          ps_image *out_color, ps_image *out_texture, ps_image *out_stroke);
/* One line describing the style, e.g. "color=split_toning(0.83) texture=none stroke=xdog(0.92)". */
void ps_synth_describe(const ps_synth_style *st, char *buf, size_t n);

/* ---- photo sets ---- */
typedef enum ps_photo_split { PS_PHOTOS_TRAIN, PS_PHOTOS_VAL } ps_photo_split;

#define PS_PHOTOS_LEVELS 4

typedef struct ps_photo_set {
    int n;
    ps_image *img;   /* [n], linear RGB, long side <= max_side */
    char **name;     /* [n], file name (or "procedural-<i>") */
    /* [n][PS_PHOTOS_LEVELS]: img box-halved 1..4 times, so that a crop is resampled from a level
     * at most twice its output size (cheap bilinear, no aliasing); w == 0 past the smallest */
    ps_image (*half)[PS_PHOTOS_LEVELS];
} ps_photo_set;

/* Load every image of <dir>/train or <dir>/val (dir is usually "data/photos"), fitted to max_side,
 * sorted by name. PS_EINPUT when the folder is missing or holds no readable image. */
ps_status ps_photos_load(const char *dir, ps_photo_split split, int max_side, ps_photo_set *set);
/* n procedural content images (gradients, shapes, noise, stripes) of side x side, for tests and
 * quick benches that run without `make data`; the two splits use different seeds. */
ps_status ps_photos_procedural(int n, int side, ps_photo_split split, ps_photo_set *set);
void ps_photos_free(ps_photo_set *set);

/* ---- episodes ---- */
typedef struct ps_episode {
    ps_synth_style style;
    int k, q, size;            /* support count, query count, side of every (square) image */
    float length_scale;        /* set before sampling: the style's scale (ps_synth_style.scale),
                                * so crops look like parts of a larger styled picture */
    ps_image *support_photo;   /* [k] the crops the support renders come from */
    ps_image *support;         /* [k] full renders: what a user would show pstyle */
    ps_image *query;           /* [q] photo crops */
    ps_image *query_full, *query_color, *query_texture, *query_stroke; /* [q] ground truths */
    int *support_src, *query_src; /* [k], [q] photo indices in the set (support and query disjoint) */
} ps_episode;

/* Fill ep with one episode for style seed `seed`: K support and Q query photos drawn without
 * replacement (so disjoint; needs K+Q <= photos->n), random crops of 35-100% of the short side,
 * flips and a small exposure jitter, resampled to crop_px x crop_px. Zero-initialize ep before the
 * first call; later calls reuse its buffers. Reproducible: same set, seed, K, Q, size -> same bytes. */
ps_status ps_episode_sample(const ps_photo_set *photos, uint64_t seed, int k, int q, int crop_px,
                            ps_episode *ep);
void ps_episode_free(ps_episode *ep);

#endif
