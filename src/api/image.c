/* Images through the public API: a ps_image handle is the library's own planar linear-light
 * image (src/img), so nothing is converted twice. */
#include "src/api/api.h"
#include <stdlib.h>
#include <string.h>

static ps_status wrap(ps_image *im, ps_image **out)
{
    *out = malloc(sizeof **out);
    if (!*out) {
        ps_img_free(im);
        return ps_fail(PS_EINTERNAL, "image: out of memory");
    }
    **out = *im;
    return PS_OK;
}

ps_status ps_image_load(const char *path, ps_image **out)
{
    *out = NULL;
    if (!path)
        return ps_fail(PS_EUSAGE, "image: NULL path");
    ps_image im = {0};
    ps_status st = ps_img_load(path, &im);
    return st ? st : wrap(&im, out);
}

ps_status ps_image_from_pixels(ps_image **out, const uint8_t *px, int w, int h, int channels,
                               size_t stride)
{
    *out = NULL;
    if (!px || w < 1 || h < 1 || channels < 1 || channels > 4)
        return ps_fail(PS_EUSAGE, "image: %dx%d pixels of %d channels: need w, h >= 1 and 1 to "
                       "4 channels", w, h, channels);
    if ((long long)w * h > PS_IMG_MAX_PIXELS || w > PS_IMG_MAX_SIDE || h > PS_IMG_MAX_SIDE)
        return ps_fail(PS_EINPUT, "image: %d x %d is more than pstyle can process", w, h);
    size_t row = (size_t)w * channels;
    if (stride == 0)
        stride = row;
    if (stride < row)
        return ps_fail(PS_EUSAGE, "image: stride %zu is less than a row (%zu bytes)", stride, row);
    unsigned char *packed = malloc(row * h);
    ps_image im = {0};
    ps_status st = packed ? ps_img_alloc(&im, w, h, channels == 2 || channels == 4 ? 4 : 3)
                          : ps_fail(PS_EINTERNAL, "image: out of memory");
    if (!st) {
        for (int y = 0; y < h; y++)
            memcpy(packed + row * y, px + stride * y, row);
        ps_img_from_rgba8(&im, packed, channels);
    }
    free(packed);
    return st ? st : wrap(&im, out);
}

int ps_image_width(const ps_image *im) { return im ? im->w : 0; }
int ps_image_height(const ps_image *im) { return im ? im->h : 0; }
int ps_image_has_alpha(const ps_image *im) { return im && im->c == 4; }

ps_status ps_image_pixels(const ps_image *im, uint8_t *dst, int channels, size_t stride)
{
    if (!im || !dst || (channels != 3 && channels != 4))
        return ps_fail(PS_EUSAGE, "image: pixels come out as 3 (RGB) or 4 (RGBA) channels");
    size_t row = (size_t)im->w * channels;
    if (stride == 0)
        stride = row;
    if (stride < row)
        return ps_fail(PS_EUSAGE, "image: stride %zu is less than a row (%zu bytes)", stride, row);
    unsigned char *packed = stride == row ? dst : malloc(row * im->h);
    if (!packed)
        return ps_fail(PS_EINTERNAL, "image: out of memory");
    ps_img_to_rgba8(im, packed, channels);
    if (packed != dst) {
        for (int y = im->h - 1; y >= 0; y--)
            memcpy(dst + stride * y, packed + row * y, row);
        free(packed);
    }
    return PS_OK;
}

ps_status ps_image_save(const ps_image *im, const char *path, int jpeg_quality)
{
    if (!im || !path)
        return ps_fail(PS_EUSAGE, "image: NULL image or path");
    return ps_img_save(path, im, jpeg_quality);
}

void ps_image_free(ps_image *im)
{
    if (!im)
        return;
    ps_img_free(im);
    free(im);
}
