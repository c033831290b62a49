/* Fuzz target: image decoding from memory (JPEG through libjpeg-turbo, PNG/BMP/TGA through
 * stb_image, EXIF orientation, size caps). Any input must give an image or an error. */
#include "tests/fuzz/fuzz.h"
#include "src/img/img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ps_image im;
    if (ps_img_load_mem(data, size, "fuzz", &im) == PS_OK &&
        (im.w < 1 || im.h < 1 || (im.c != 3 && im.c != 4) || !im.px))
        abort(); /* a success must be a real image */
    ps_img_free(&im);
    return 0;
}
