/* The public API through pstyle.h alone: the built-in model opens; images from pixels in memory
 * round-trip (strides, gray, alpha); a style learned from pixels of a strongly graded sample set
 * changes a photo while dials at 0 give it back bit for bit; a style survives a store round
 * trip and paints the same pixels; misuse and bad input give a status and a message, never a
 * crash. */
#include "check.h"
#include "pstyle.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { W = 96, H = 72 };

/* A photo-like test card: gradients, an edge and a texture, in RGB. */
static void card(uint8_t *px, int w, int h, int seed, int sepia)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            int r = (x * 255 / w + seed * 40) % 256, g = (y * 255 / h + seed * 70) % 256;
            int b = ((x / 8 + y / 8 + seed) % 2) * 180 + 40;
            if (x > w / 2 && y > h / 3)
                r = 255 - r, b = 255 - b;
            if (sepia) { /* the samples' style: a warm monochrome */
                int l = (r * 3 + g * 6 + b) / 10;
                r = l * 255 / 255, g = l * 200 / 255, b = l * 140 / 255;
            }
            p[0] = (uint8_t)r, p[1] = (uint8_t)g, p[2] = (uint8_t)b;
        }
}

static void test_images(void)
{
    ps_image *im = NULL;
    uint8_t px[W * H * 3], back[W * H * 4];
    card(px, W, H, 1, 0);
    CHECK(ps_image_from_pixels(&im, px, W, H, 3, 0) == PS_OK, "%s", ps_last_error());
    CHECK(ps_image_width(im) == W && ps_image_height(im) == H && !ps_image_has_alpha(im), "size");
    CHECK(ps_image_pixels(im, back, 3, 0) == PS_OK && !memcmp(back, px, sizeof px),
          "8-bit round trip");
    /* a padded stride in and out */
    size_t stride = W * 3 + 13;
    uint8_t *padded = calloc(stride * H, 1), *out = calloc(stride * H, 1);
    for (int y = 0; y < H; y++)
        memcpy(padded + stride * y, px + (size_t)W * 3 * y, W * 3);
    ps_image *im2 = NULL;
    CHECK(padded && out && ps_image_from_pixels(&im2, padded, W, H, 3, stride) == PS_OK, "stride");
    CHECK(ps_image_pixels(im2, out, 3, stride) == PS_OK, "stride out");
    int same = 1;
    for (int y = 0; y < H && out; y++)
        same &= !memcmp(out + stride * y, px + (size_t)W * 3 * y, W * 3);
    CHECK(same, "strided round trip");
    /* RGBA out of an RGB image has alpha 255 */
    CHECK(ps_image_pixels(im, back, 4, 0) == PS_OK && back[3] == 255 && back[4 * (W * H) - 1] == 255,
          "alpha filled");
    /* gray + alpha in */
    uint8_t ga[8] = {10, 255, 200, 0, 60, 128, 255, 7};
    ps_image *g = NULL;
    CHECK(ps_image_from_pixels(&g, ga, 2, 2, 2, 0) == PS_OK && ps_image_has_alpha(g), "gray+alpha");
    uint8_t rgba[16];
    CHECK(ps_image_pixels(g, rgba, 4, 0) == PS_OK && rgba[0] == 10 && rgba[1] == 10 &&
              rgba[3] == 255 && rgba[7] == 0 && rgba[15] == 7,
          "gray+alpha round trip");
    ps_image_free(g);
    /* misuse */
    ps_image *bad = (ps_image *)1;
    CHECK(ps_image_from_pixels(&bad, px, 0, H, 3, 0) == PS_EUSAGE && !bad, "zero width");
    CHECK(ps_image_from_pixels(&bad, px, W, H, 5, 0) == PS_EUSAGE, "5 channels");
    CHECK(ps_image_from_pixels(&bad, px, W, H, 3, W * 3 - 1) == PS_EUSAGE &&
              strstr(ps_last_error(), "stride"),
          "short stride: %s", ps_last_error());
    CHECK(ps_image_from_pixels(&bad, px, 40000, 40000, 3, 0) == PS_EINPUT, "too large");
    CHECK(ps_image_from_pixels(&bad, NULL, W, H, 3, 0) == PS_EUSAGE, "NULL pixels");
    CHECK(ps_image_pixels(im, back, 2, 0) == PS_EUSAGE, "2 channels out");
    CHECK(ps_image_load("/nonexistent/x.png", &bad) == PS_EINPUT && !bad &&
              strstr(ps_last_error(), "/nonexistent/x.png"),
          "missing file: %s", ps_last_error());
    CHECK(ps_image_save(im, "/tmp/x.gif", 0) == PS_EUSAGE, "unsupported format");
    ps_image_free(NULL);
    ps_image_free(im);
    ps_image_free(im2);
    free(padded);
    free(out);
}

static void test_learn_apply_store(void)
{
    ps_model *m = NULL;
    CHECK(ps_model_open(&m, NULL) == PS_OK, "built-in model: %s", ps_last_error());
    if (!m)
        return;
    CHECK(strlen(ps_model_hash(m)) == 16, "hash %s", ps_model_hash(m));
    uint8_t px[3][W * H * 3], photo[W * H * 3];
    ps_image *smp[3] = {NULL}, *in = NULL;
    for (int i = 0; i < 3; i++) {
        card(px[i], W, H, 2 + i, 1);
        CHECK(ps_image_from_pixels(&smp[i], px[i], W, H, 3, 0) == PS_OK, "sample %d", i);
    }
    card(photo, W, H, 9, 0);
    CHECK(ps_image_from_pixels(&in, photo, W, H, 3, 0) == PS_OK, "photo");
    ps_style *s = NULL;
    CHECK(ps_style_learn(m, (const ps_image *const *)smp, 3, 0, &s) == PS_OK, "learn: %s",
          ps_last_error());
    ps_image *o1 = NULL, *o0 = NULL;
    uint8_t a[W * H * 3], b[W * H * 3];
    if (s) {
        char text[512];
        size_t need = ps_style_describe(s, text, sizeof text);
        CHECK(need > 0 && strstr(text, "colour:"), "describe: %s", text);
        CHECK(ps_style_describe(s, text, 4) == need && strlen(text) == 3, "describe cut");
        CHECK(ps_apply(m, s, in, NULL, &o1) == PS_OK && o1, "apply: %s", ps_last_error());
        CHECK(ps_apply(m, s, in, &(ps_dials){0, 0, 0}, &o0) == PS_OK, "apply at 0");
        CHECK(o0 && ps_image_pixels(o0, a, 3, 0) == PS_OK && !memcmp(a, photo, sizeof a),
              "dials at 0 give the photo back");
        long diff = 0;
        if (o1 && ps_image_pixels(o1, b, 3, 0) == PS_OK)
            for (size_t i = 0; i < sizeof b; i += 3)
                diff += abs(b[i + 2] - b[i]) < abs(photo[i + 2] - photo[i]); /* warmer, flatter */
        CHECK(diff > W * H / 2, "the sepia style changed %ld of %d pixels toward it: %s", diff,
              W * H, text);
        ps_image *on = NULL; /* a program paints without the network: no model needed */
        uint8_t n[W * H * 3];
        CHECK(ps_apply(NULL, s, in, NULL, &on) == PS_OK && ps_image_pixels(on, n, 3, 0) == 0 &&
                  o1 && !memcmp(n, b, sizeof n),
              "apply without a model paints the same pixels: %s", ps_last_error());
        ps_image_free(on);
        ps_image *bad = NULL;
        CHECK(ps_apply(m, s, in, &(ps_dials){5, 1, 1}, &bad) == PS_EUSAGE && !bad, "dial 5");
        CHECK(ps_apply(m, NULL, in, NULL, &bad) == PS_EUSAGE, "NULL style");
    }

    /* a store round trip paints the same pixels */
    char dir[] = "/tmp/pstyle-test-api.XXXXXX", db_path[256];
    ps_store *db = NULL;
    if (s && mkdtemp(dir)) {
        snprintf(db_path, sizeof db_path, "%s/sub/styles.db", dir);
        CHECK(ps_store_open(&db, db_path, 0) == PS_ESTORE && !db, "missing store without CREATE");
        CHECK(ps_store_open(&db, db_path, PS_STORE_CREATE) == PS_OK, "%s", ps_last_error());
        int v = 0;
        CHECK(ps_store_put(db, "ann", "warm", s, &v) == PS_OK && v == 1, "put: %s", ps_last_error());
        CHECK(ps_store_put(db, "ann", "warm", s, &v) == PS_OK && v == 2, "second version %d", v);
        CHECK(ps_store_put(db, "bad/name", NULL, s, NULL) == PS_EINPUT, "bad user name");
        ps_style *got = NULL;
        CHECK(ps_store_get(db, "ann", "warm", 1, &got) == PS_OK, "get: %s", ps_last_error());
        ps_image *o2 = NULL;
        uint8_t c[W * H * 3];
        CHECK(got && ps_apply(m, got, in, NULL, &o2) == PS_OK && ps_image_pixels(o2, c, 3, 0) == 0 &&
                  !memcmp(b, c, sizeof c),
              "the stored style paints the same pixels");
        ps_store_row *rows = NULL;
        int n = 0;
        CHECK(ps_store_list(db, "ann", NULL, 0, &rows, &n) == PS_OK && n == 2 &&
                  !strcmp(rows[1].style, "warm") && rows[1].version == 2 && rows[1].n_samples == 3 &&
                  rows[1].has_program,
              "list: %d rows", n);
        free(rows);
        ps_style *none = (ps_style *)1;
        CHECK(ps_store_get(db, "bob", NULL, 0, &none) == PS_EINPUT && !none &&
                  strstr(ps_last_error(), "bob"),
              "unknown user: %s", ps_last_error());
        CHECK(ps_store_forget(db, "ann", NULL) == PS_OK, "forget");
        CHECK(ps_store_get(db, "ann", "warm", 0, &none) == PS_EINPUT, "forgotten");
        ps_image_free(o2);
        ps_style_free(got);
        ps_store_close(db);

        /* file to file, band by band: ps_apply's pixels */
        char fin[300], fout[300], fbad[300];
        snprintf(fin, sizeof fin, "%s/in.png", dir);
        snprintf(fout, sizeof fout, "%s/out.png", dir);
        snprintf(fbad, sizeof fbad, "%s/out.gif", dir);
        ps_image *o3 = NULL, *o4 = NULL;
        uint8_t d3[W * H * 3];
        CHECK(ps_image_save(in, fin, 0) == PS_OK, "%s", ps_last_error());
        CHECK(ps_apply_file(m, s, fin, fout, NULL, 0) == PS_OK && ps_image_load(fout, &o3) == 0 &&
                  ps_image_pixels(o3, d3, 3, 0) == 0,
              "apply_file: %s", ps_last_error());
        int off = 0;
        for (size_t i = 0; o3 && i < sizeof d3; i++)
            off = abs(d3[i] - b[i]) > off ? abs(d3[i] - b[i]) : off;
        CHECK(o3 && off <= 1, "apply_file off ps_apply by %d codes", off);
        ps_image *o5 = NULL;
        uint8_t d5[W * H * 3];
        CHECK(ps_apply_file(NULL, s, fin, fout, NULL, 0) == PS_OK && ps_image_load(fout, &o5) == 0 &&
                  ps_image_pixels(o5, d5, 3, 0) == 0 && o3 && !memcmp(d5, d3, sizeof d5),
              "apply_file without a model writes the same pixels: %s", ps_last_error());
        ps_image_free(o5);
        CHECK(ps_apply_file(m, s, fin, fout, &(ps_dials){0, 0, 0}, 0) == PS_OK &&
                  ps_image_load(fout, &o4) == 0 && ps_image_pixels(o4, d3, 3, 0) == 0 &&
                  !memcmp(d3, photo, sizeof d3),
              "apply_file at 0 gives the photo back: %s", ps_last_error());
        CHECK(ps_apply_file(m, s, fin, fbad, NULL, 0) == PS_EUSAGE && access(fbad, F_OK) != 0,
              "apply_file to a .gif: %s", ps_last_error());
        CHECK(ps_apply_file(m, s, "/nonexistent/x.png", fout, NULL, 0) == PS_EINPUT &&
                  strstr(ps_last_error(), "/nonexistent/x.png"),
              "apply_file from a missing file: %s", ps_last_error());
        CHECK(ps_apply_file(m, s, fin, fout, &(ps_dials){5, 1, 1}, 0) == PS_EUSAGE, "dial 5");
        ps_image_free(o3);
        ps_image_free(o4);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0, "cleanup");
    }

    /* learning from nothing, or from too many */
    ps_style *x = (ps_style *)1;
    CHECK(ps_style_learn(m, (const ps_image *const *)smp, 0, -1, &x) == PS_EUSAGE && !x, "k = 0");
    CHECK(ps_style_learn(m, (const ps_image *const *)smp, PS_STYLE_MAX_SAMPLES + 1, -1, &x) ==
              PS_EUSAGE, "k too large");
    const char *paths[] = {"/nonexistent.jpg"};
    CHECK(ps_style_learn_files(m, paths, 1, -1, &x) == PS_EINPUT && !x &&
              strstr(ps_last_error(), "/nonexistent.jpg"),
          "missing sample: %s", ps_last_error());

    ps_image_free(o0);
    ps_image_free(o1);
    ps_style_free(s);
    ps_image_free(in);
    for (int i = 0; i < 3; i++)
        ps_image_free(smp[i]);
    ps_model_close(m);
}

static void test_bad_model(void)
{
    char path[] = "/tmp/pstyle-test-api-model.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "PSM1 not really", 15) == 15, "temp model");
    if (fd >= 0)
        close(fd);
    ps_model *m = (ps_model *)1;
    CHECK(ps_model_open(&m, path) == PS_EINPUT && !m && strstr(ps_last_error(), path),
          "bad model: %s", ps_last_error());
    CHECK(ps_model_open(&m, "/nonexistent.psm") == PS_EINPUT && !m, "missing model");
    unlink(path);
    ps_model_close(NULL);
    ps_style_free(NULL);
    ps_store_close(NULL);
}

int main(void)
{
    test_images();
    test_learn_apply_store();
    test_bad_model();
    return check_done("test_api");
}
