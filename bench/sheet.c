/* Contact sheets: a white canvas of rows x cols tiles with gutters, each image resized into its
 * tile (any aspect is stretched to the tile's: the sheets hold images of one aspect each). */
#include "bench/bench_impl.h"
#include <string.h>

#define SHEET_GAP 4

void ps_bench_sheet_new(ps_bench_sheet *s, int rows, int cols, int tw, int th)
{
    *s = (ps_bench_sheet){.rows = rows, .cols = cols, .tw = tw, .th = th};
    if (rows < 1 || cols < 1 ||
        ps_img_alloc(&s->im, cols * (tw + SHEET_GAP) - SHEET_GAP, rows * (th + SHEET_GAP) - SHEET_GAP, 3))
        return; /* s->im stays empty: puts are ignored, the save reports it */
    for (size_t i = 0; i < (size_t)3 * s->im.w * s->im.h; i++)
        s->im.px[i] = 1;
}

void ps_bench_sheet_put(ps_bench_sheet *s, int row, int col, const ps_image *im)
{
    ps_image t = {0}, rgb = *im;
    rgb.c = 3;
    if (!s->im.px || row >= s->rows || col >= s->cols || ps_img_resize(&rgb, &t, s->tw, s->th))
        return;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < s->th; y++)
            memcpy(s->im.px + ((size_t)c * s->im.h + row * (s->th + SHEET_GAP) + y) * s->im.w +
                       col * (s->tw + SHEET_GAP),
                   t.px + ((size_t)c * s->th + y) * s->tw, sizeof(float) * s->tw);
    ps_img_free(&t);
}

ps_status ps_bench_sheet_save(const ps_bench_sheet *s, const char *path)
{
    if (!s->im.px)
        return ps_fail(PS_EINTERNAL, "%s: out of memory for the sheet", path);
    return ps_img_save(path, &s->im, 0);
}

void ps_bench_sheet_free(ps_bench_sheet *s)
{
    ps_img_free(&s->im);
}

void ps_bench_progress(const char *section, int i, int n, const char *what)
{
    fprintf(stderr, "bench: %s %d/%d: %s\n", section, i + 1, n, what);
}
