/* Fuzz target: image decoding from memory (JPEG through libjpeg-turbo, PNG through libpng, BMP
 * and TGA through stb_image; EXIF orientation, ICC conversion, size caps) with the metadata
 * apply keeps; any input must give an image or an error. A small image that loads is then saved
 * as PNG and as JPEG with its metadata and read back: the writers must take whatever the
 * readers accepted (hostile EXIF, XMP, comments, profiles), and the round trip keep the size. */
#include "tests/fuzz/fuzz.h"
#include "src/img/img.h"

static void round_trip(const ps_image *im, const ps_img_meta *meta, const char *ext)
{
    char path[PATH_MAX + 8];
    fuzz_temp_file(path, NULL, 0);
    unlink(path);
    strcat(path, ext);
    if (ps_img_save_meta(path, im, 90, meta) != PS_OK)
        abort(); /* a decoded image with the metadata it came with must be writable */
    ps_image back;
    ps_img_meta m2;
    if (ps_img_load_meta(path, &back, &m2) != PS_OK || back.w != im->w || back.h != im->h)
        abort();
    ps_img_free(&back);
    ps_img_meta_free(&m2);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ps_image im;
    ps_img_meta meta;
    ps_status st = ps_img_load_mem_meta(data, size, "fuzz", &im, &meta);
    if (st == PS_OK && (im.w < 1 || im.h < 1 || (im.c != 3 && im.c != 4) || !im.px))
        abort(); /* a success must be a real image */
    if (st == PS_OK && (long)im.w * im.h <= 4096) {
        round_trip(&im, &meta, ".png");
        round_trip(&im, &meta, ".jpg");
    }
    ps_img_free(&im);
    ps_img_meta_free(&meta);
    /* the plain loader agrees on what is an image */
    ps_image plain;
    if ((ps_img_load_mem(data, size, "fuzz", &plain) == PS_OK) != (st == PS_OK))
        abort();
    ps_img_free(&plain);
    return 0;
}
