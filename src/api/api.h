/* The public API's own internals (include/pstyle.h is the public face): what a ps_style holds,
 * and the learning core that the library, `pstyle learn` and `pstyle relearn` share, so that a
 * style record is assembled in one place. */
#ifndef PS_API_H
#define PS_API_H
#include "encoder/enc.h"
#include "store/store.h"

/* A style: the store's record (tokens, packed program, shape, model hash, settings and quality
 * as JSON text) and its samples (hash, size, thumbnail, embedding). user/style in rec are set
 * only for styles read from a store. */
struct ps_style {
    ps_style_rec rec;
    ps_sample_rec *samples;
    int n_samples;
};

/* The side of the thumbnail kept with each sample, so `relearn` can rebuild the style. */
#define PS_API_THUMB_PX 160

/* Read and decode one sample file into img, and describe it in smp (its base name, SHA-256 and
 * size of the file's bytes, image size, PNG thumbnail); on failure both are left empty. */
ps_status ps_style_read_sample(const char *path, ps_image *img, ps_sample_rec *smp);
/* Learn from k decoded images. smp (k records, or NULL) describe them: they are moved into the
 * style (the caller's array is zeroed), and each gets its image's embedding; with NULL the
 * style records the images' sizes and thumbnails itself. `from` is noted in the settings
 * ("files", "thumbnails", "pixels"). stats (may be NULL) gets learn's figures; progress (may be
 * NULL) hears of learn's phases and steps (ps_model_learn). */
ps_status ps_style_learn_images(ps_model *m, const ps_image *imgs, ps_sample_rec *smp, int k,
                                int steps, const char *from, ps_style **out,
                                ps_learn_stats *stats, const ps_learn_progress *progress);
/* Whether model m can paint s: its program unpacks (into prog), or its tokens are this model's;
 * PS_EINPUT saying what to do if not. ps_apply checks this on every call; a batch checks once. */
ps_status ps_style_ready(const ps_model *m, const ps_style *s, ps_prog *prog);
/* ps_apply that paints im itself (a program needs no second full-size image: 12 bytes a pixel
 * less at apply's peak); the network path replaces *im with its output. */
ps_status ps_apply_in_place(ps_model *m, const ps_style *s, ps_image *im, const ps_dials *d);
/* Paint the decoded photo raw with s at d (checked by the caller) into path (ps_img_save_src's
 * rules), keeping meta: a program band by band (ps_prog_stream), so no float copy of the photo
 * is made; the network on a whole image. */
ps_status ps_apply_raw(ps_model *m, const ps_style *s, const ps_img_raw *raw, const ps_dials *d,
                       const char *path, int jpeg_quality, const ps_img_meta *meta);
/* The hash of the model the style was learned with. */
const char *ps_style_model_hash(const ps_style *s);
/* A style around a record and samples read from a store (ownership moves; on failure both are
 * freed). */
ps_status ps_style_wrap(ps_style_rec *rec, ps_sample_rec *smp, int n, ps_style **out);
#endif
