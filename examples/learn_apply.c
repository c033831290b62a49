/* Learn a style from sample images and paint a photo in it, with the installed library only:
 *
 *   cc learn_apply.c $(pkg-config --cflags --libs pstyle) -o learn_apply
 *   ./learn_apply photo.jpg styled.png sample1.jpg [sample2.jpg ...]
 *
 * Then, through a store: the style is kept for user "example" in a database beside the output,
 * read back, and applied again at half the colour, from pixels in memory. */
#include <pstyle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "learn_apply: %s: %s\n", what, ps_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc - 3 > PS_STYLE_MAX_SAMPLES) {
        fprintf(stderr, "usage: %s PHOTO OUT SAMPLE... (1 to %d samples)\n", argv[0],
                PS_STYLE_MAX_SAMPLES);
        return 1;
    }
    const char *photo = argv[1], *out = argv[2];
    const char *const *samples = (const char *const *)argv + 3;
    int k = argc - 3;

    ps_model *m = NULL;
    ps_style *s = NULL, *again = NULL;
    ps_image *in = NULL, *res = NULL, *mem = NULL, *res2 = NULL;
    ps_store *db = NULL;
    int rc = 1, version = 0;
    char text[512], dbpath[4096];
    if (ps_model_open(&m, NULL)) /* the model built into the library */
        return fail("model");
    if (ps_style_learn_files(m, samples, k, -1, &s)) {
        fail("learn");
        goto done;
    }
    ps_style_describe(s, text, sizeof text);
    printf("learned from %d image%s with model %s:\n%s\n", k, k > 1 ? "s" : "", ps_model_hash(m),
           text);
    if (ps_image_load(photo, &in)) {
        fail(photo);
        goto done;
    }
    if (ps_apply(m, s, in, &(ps_dials){.color = 1, .texture = 1, .stroke = 1}, &res) ||
        ps_image_save(res, out, 0)) {
        fail(out);
        goto done;
    }
    printf("wrote %s (%dx%d)\n", out, ps_image_width(res), ps_image_height(res));

    /* the same style through a store, and an image from pixels in memory */
    snprintf(dbpath, sizeof dbpath, "%s.styles.db", out);
    if (ps_store_open(&db, dbpath, PS_STORE_CREATE) ||
        ps_store_put(db, "example", NULL, s, &version) ||
        ps_store_get(db, "example", NULL, 0, &again)) {
        fail(dbpath);
        goto done;
    }
    int w = ps_image_width(in), h = ps_image_height(in);
    uint8_t *px = malloc((size_t)w * h * 3);
    if (!px || ps_image_pixels(in, px, 3, 0) || ps_image_from_pixels(&mem, px, w, h, 3, 0) ||
        ps_apply(m, again, mem, &(ps_dials){.color = 0.5f, .texture = 1, .stroke = 1}, &res2)) {
        free(px);
        fail("apply from memory");
        goto done;
    }
    free(px);
    printf("stored as version %d in %s, read back and applied at colour 0.5\n", version, dbpath);
    rc = 0;
done:
    ps_image_free(res2);
    ps_image_free(mem);
    ps_image_free(res);
    ps_image_free(in);
    ps_style_free(again);
    ps_style_free(s);
    ps_store_close(db);
    ps_model_close(m);
    return rc;
}
