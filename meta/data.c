/* Photo sets from disk: data/photos/{train,val}/ as built by `make data` (meta/make_data.sh),
 * decoded once, fitted to a working size and kept in memory for the episode sampler. */
#include "meta/synth_impl.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_image_name(const char *n)
{
    const char *dot = strrchr(n, '.');
    return n[0] != '.' && dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

ps_status ps_photos_load(const char *dir, ps_photo_split split, int max_side, ps_photo_set *set)
{
    memset(set, 0, sizeof *set);
    if (max_side < 16)
        return ps_fail(PS_EUSAGE, "photos: max_side must be >= 16 (got %d)", max_side);
    char path[4096];
    const char *sub = split == PS_PHOTOS_VAL ? "val" : "train";
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return ps_fail(PS_EINPUT, "%s: cannot open photo folder (run 'make data')", path);
    int cap = 0, n = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_image_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, sizeof *names * (size_t)cap);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (e) { /* the loop stopped early: out of memory */
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return ps_fail(PS_EINTERNAL, "photos: out of memory");
    }
    if (!n) {
        free(names);
        return ps_fail(PS_EINPUT, "%s: no .jpg or .png photos (run 'make data')", path);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str); /* a stable order makes episodes reproducible */
    set->img = calloc((size_t)n, sizeof *set->img);
    if (!set->img) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return ps_fail(PS_EINTERNAL, "photos: out of memory");
    }
    set->name = names;
    set->n = n;
    ps_status st = PS_OK;
    for (int i = 0; i < n && !st; i++) {
        ps_image full = {0};
        snprintf(path, sizeof path, "%s/%s/%s", dir, sub, names[i]);
        st = ps_img_load(path, &full);
        if (!st)
            st = ps_img_fit(&full, &set->img[i], max_side);
        ps_img_free(&full);
        if (!st && set->img[i].c != 3) /* drop alpha: photos are opaque, the ops read 3 planes */
            set->img[i].c = 3;
    }
    if (!st)
        st = ps_photos__pyramid(set);
    if (st)
        ps_photos_free(set);
    return st;
}
