/* pstyle synth: a contact sheet of synthesized training styles, to look at what meta-training
 * learns from: one row per style, columns photo | color only | texture only | stroke only | full. */
#include "cli.h"
#include "meta/synth.h"
#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: pstyle synth --seed N [--count M] [--size PX] [--data DIR] [--val] --sheet OUT.png\n"
    "       pstyle synth --seed N [--val] --render IMG... --out-dir DIR\n"
    "Render M styles (seeds N..N+M-1; with --val, validation styles N..N+M-1) on photos from\n"
    "DIR/train or DIR/val (default data/photos; procedural images when missing) and write a\n"
    "contact sheet: photo | color only | texture only | stroke only | full, PX pixels a cell\n"
    "(default 256). Each row's style is printed on stdout.\n"
    "With --render, paint style N on each IMG at its own size and write DIR/<stem>.png: stand-in\n"
    "style samples for demos and tests (a user would bring their own).\n";

/* The synthesizer's seed of style n of the command line (--seed N, plus the row). Output names
 * a style by n ("style 3", "validation style 3"), never by this seed: a validation style's has
 * bit 63 set (9223372036854775811 for 3), which means nothing to a reader. */
static uint64_t synth_seed(long n, int val)
{
    return val ? ps_synth_val_seed((int)n) : (uint64_t)n;
}

/* --render: the style's full render of each image, written as DIR/<stem>.png. */
static int render_files(long seed, int val, char **imgs, int n, const char *dir)
{
    ps_synth_style style;
    ps_synth_sample(synth_seed(seed, val), &style);
    char desc[256];
    ps_synth_describe(&style, desc, sizeof desc);
    printf("%s %ld: %s\n", val ? "validation style" : "style", seed, desc);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        ps_image in = {0}, out = {0};
        ps_status st = ps_img_load(imgs[i], &in);
        if (!st)
            st = ps_img_alloc(&out, in.w, in.h, 3);
        if (!st)
            st = ps_synth_render(&style, &in, &out, NULL, NULL, NULL);
        if (!st) {
            const char *base = strrchr(imgs[i], '/');
            base = base ? base + 1 : imgs[i];
            const char *dot = strrchr(base, '.');
            int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
            char path[4096];
            snprintf(path, sizeof path, "%s/%.*s.png", dir, stem, base);
            if (!(st = ps_img_save(path, &out, 0)))
                printf("%s\n", path);
        }
        if (st)
            rc = ps_cli_fail(st);
        ps_img_free(&in);
        ps_img_free(&out);
    }
    return rc;
}

/* Center square of src, resized to side x side. */
static ps_status square(const ps_image *src, int side, ps_image *dst)
{
    int s = src->w < src->h ? src->w : src->h, ox = (src->w - s) / 2, oy = (src->h - s) / 2;
    ps_image sq;
    ps_status st = ps_img_alloc(&sq, s, s, 3);
    if (st)
        return st;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < s; y++)
            memcpy(sq.px + ((size_t)c * s + y) * s, src->px + ((size_t)c * src->h + oy + y) * src->w + ox,
                   sizeof(float) * (size_t)s);
    st = ps_img_resize(&sq, dst, side, side);
    ps_img_free(&sq);
    return st;
}

static void blit(ps_image *sheet, const ps_image *cell, int col, int row)
{
    int side = cell->w;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < side; y++)
            memcpy(sheet->px + ((size_t)c * sheet->h + (size_t)row * side + y) * sheet->w + (size_t)col * side,
                   cell->px + ((size_t)c * side + y) * side, sizeof(float) * (size_t)side);
}

int ps_cmd_synth(int argc, char **argv)
{
    long seed = -1, count = 6, size = 256;
    const char *sheet_path = NULL, *data = "data/photos", *out_dir = NULL;
    int val = 0, render = 0, nimg = 0;
    char **imgs = argv; /* positional arguments (--render's images), compacted in place */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--val"))
            val = 1;
        else if (!strcmp(a, "--seed") && has) {
            if (ps_cli_parse_int(argv[++i], 0, 0x7fffffffL, &seed))
                return ps_cli_usage("synth", "--seed: want an integer in [0, 2^31), got '%s'", argv[i]);
        } else if (!strcmp(a, "--count") && has) {
            if (ps_cli_parse_int(argv[++i], 1, 64, &count))
                return ps_cli_usage("synth", "--count: want an integer in [1, 64], got '%s'", argv[i]);
        } else if (!strcmp(a, "--size") && has) {
            if (ps_cli_parse_int(argv[++i], 32, 1024, &size))
                return ps_cli_usage("synth", "--size: want an integer in [32, 1024], got '%s'", argv[i]);
        } else if (!strcmp(a, "--sheet") && has)
            sheet_path = argv[++i];
        else if (!strcmp(a, "--data") && has)
            data = argv[++i];
        else if (!strcmp(a, "--out-dir") && has)
            out_dir = argv[++i];
        else if (!strcmp(a, "--render"))
            render = 1;
        else if (a[0] != '-')
            imgs[nimg++] = argv[i];
        else
            return ps_cli_usage("synth", "unknown option or missing value: '%s'", a);
    }
    if (render || nimg)
        return seed < 0 || !out_dir || !nimg || !render
                   ? ps_cli_usage("synth", "--render needs --seed N, images and --out-dir DIR")
                   : render_files(seed, val, imgs, nimg, out_dir);
    if (seed < 0 || !sheet_path)
        return ps_cli_usage("synth", "--seed and --sheet are required");

    ps_photo_split split = val ? PS_PHOTOS_VAL : PS_PHOTOS_TRAIN;
    ps_photo_set set;
    ps_status st = ps_photos_load(data, split, (int)size * 2, &set);
    if (st == PS_EINPUT) {
        fprintf(stderr, "pstyle synth: %s; using procedural images\n", ps_last_error());
        st = ps_photos_procedural(8, (int)size, split, &set);
    }
    if (st)
        return ps_cli_fail(st);

    int side = (int)size, rows = (int)count;
    ps_image sheet = {0}, photo = {0}, part[4] = {{0}};
    st = ps_img_alloc(&sheet, 5 * side, rows * side, 3);
    for (int k = 0; k < 4 && !st; k++)
        st = ps_img_alloc(&part[k], side, side, 3);
    for (int r = 0; r < rows && !st; r++) {
        ps_synth_style style;
        ps_synth_sample(synth_seed(seed + r, val), &style);
        char desc[256];
        ps_synth_describe(&style, desc, sizeof desc);
        int pi = (int)(((uint64_t)seed + (uint64_t)r) % (uint64_t)set.n);
        printf("row %d: %s %ld on %s: %s\n", r, val ? "validation style" : "seed", seed + r,
               set.name[pi], desc);
        ps_img_free(&photo);
        st = square(&set.img[pi], side, &photo);
        if (!st)
            st = ps_synth_render(&style, &photo, &part[3], &part[0], &part[1], &part[2]);
        if (!st) {
            blit(&sheet, &photo, 0, r);
            for (int k = 0; k < 4; k++)
                blit(&sheet, &part[k], k + 1, r);
        }
    }
    if (!st)
        st = ps_img_save(sheet_path, &sheet, 92);
    ps_img_free(&sheet);
    ps_img_free(&photo);
    for (int k = 0; k < 4; k++)
        ps_img_free(&part[k]);
    ps_photos_free(&set);
    return st ? ps_cli_fail(st) : 0;
}
