/* Synthesizer, photo sets and episodes: determinism, identity at zero intensity, partial renders,
 * resolution independence, sampler coverage, value ranges, episode disjointness, no data/ needed. */
#include "check.h"
#include "meta/synth.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static ps_image img(int w, int h)
{
    ps_image im;
    if (ps_img_alloc(&im, w, h, 3)) {
        fprintf(stderr, "alloc failed\n");
        exit(1);
    }
    return im;
}

static double mad(const ps_image *a, const ps_image *b)
{
    double s = 0;
    size_t n = (size_t)a->w * a->h * 3;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)a->px[i] - (double)b->px[i]);
    return s / (double)n;
}

/* f x f box average (w and h divisible by f). */
static ps_image shrink(const ps_image *a, int f)
{
    ps_image o = img(a->w / f, a->h / f);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < o.h; y++)
            for (int x = 0; x < o.w; x++) {
                double s = 0;
                for (int j = 0; j < f; j++)
                    for (int i = 0; i < f; i++)
                        s += a->px[((size_t)c * a->h + (size_t)(y * f + j)) * a->w + (size_t)(x * f + i)];
                o.px[((size_t)c * o.h + y) * o.w + x] = (float)(s / (f * f));
            }
    return o;
}

/* A style with only group g active, family f, at intensity t. */
static ps_synth_style only(ps_group g, int f, float t, uint64_t seed)
{
    ps_synth_style st;
    ps_synth_sample(seed, &st);
    for (int k = 0; k < PS_NGROUPS; k++)
        st.op[k].intensity = 0.f;
    st.op[g].family = f;
    st.op[g].intensity = t;
    return st;
}

static void test_determinism(const ps_image *photo)
{
    ps_image a = img(photo->w, photo->h), b = img(photo->w, photo->h);
    for (uint64_t seed = 1; seed <= 6; seed++) {
        ps_synth_style s1, s2;
        ps_synth_sample(seed, &s1);
        ps_synth_sample(seed, &s2);
        CHECK(!memcmp(&s1, &s2, sizeof s1), "same seed, same style");
        CHECK(!ps_synth_render(&s1, photo, &a, NULL, NULL, NULL), "%s", ps_last_error());
        CHECK(!ps_synth_render(&s2, photo, &b, NULL, NULL, NULL), "%s", ps_last_error());
        CHECK(!memcmp(a.px, b.px, sizeof(float) * (size_t)a.w * a.h * 3), "seed %llu: same bytes",
              (unsigned long long)seed);
    }
    ps_synth_style s1, s2;
    ps_synth_sample(1, &s1);
    ps_synth_sample(2, &s2);
    CHECK(memcmp(&s1.op, &s2.op, sizeof s1.op) != 0, "different seeds, different styles");
    ps_img_free(&a);
    ps_img_free(&b);
}

/* Every family: identity at intensity 0, a visible change at 1, values finite and in [0,1]. */
static void test_families(const ps_image *photo)
{
    ps_image out = img(photo->w, photo->h);
    size_t n = (size_t)photo->w * photo->h * 3;
    for (int g = 0; g < PS_NGROUPS; g++)
        for (int f = 0; f < ps_synth_family_count((ps_group)g); f++) {
            const char *name = ps_synth_family_name((ps_group)g, f);
            ps_synth_style st = only((ps_group)g, f, 0.f, 100 + (uint64_t)f);
            CHECK(!ps_synth_render(&st, photo, &out, NULL, NULL, NULL), "%s", ps_last_error());
            /* the only change allowed at 0 is the sqrt/square round trip of the display encoding */
            CHECK(mad(&out, photo) < 1e-6, "%s at intensity 0 is the identity (mad %g)", name, mad(&out, photo));
            for (uint64_t seed = 0; seed < 3; seed++) {
                st = only((ps_group)g, f, 1.f, 200 + seed * 31 + (uint64_t)f);
                CHECK(!ps_synth_render(&st, photo, &out, NULL, NULL, NULL), "%s", ps_last_error());
                CHECK(mad(&out, photo) > 0.004, "%s (seed %d) changes the photo (mad %g)", name, (int)seed,
                      mad(&out, photo));
                int bad = 0;
                for (size_t i = 0; i < n; i++)
                    bad += !(out.px[i] >= 0.f && out.px[i] <= 1.f);
                CHECK(!bad, "%s: %d values NaN or outside [0,1]", name, bad);
            }
        }
    CHECK(ps_synth_family_count(PS_COLOR) >= 8, "color families");
    CHECK(ps_synth_family_count(PS_TEXTURE) >= 6, "texture families");
    CHECK(ps_synth_family_count(PS_STROKE) >= 6, "stroke families");
    CHECK(ps_synth_family_name(PS_COLOR, -1) == NULL && ps_synth_family_name(PS_NGROUPS, 0) == NULL,
          "names out of range");
    ps_img_free(&out);
}

/* Random styles: partials are the single ops, full differs from each of them, ranges hold. */
static void test_partials(const ps_image *photo)
{
    ps_image full = img(photo->w, photo->h), part[3], solo = img(photo->w, photo->h);
    for (int g = 0; g < 3; g++)
        part[g] = img(photo->w, photo->h);
    int tested = 0;
    for (uint64_t seed = 1000; tested < 12; seed++) {
        ps_synth_style st;
        ps_synth_sample(seed, &st);
        if (st.op[0].intensity == 0.f || st.op[1].intensity == 0.f || st.op[2].intensity == 0.f)
            continue;
        tested++;
        CHECK(!ps_synth_render(&st, photo, &full, &part[0], &part[1], &part[2]), "%s", ps_last_error());
        for (int g = 0; g < 3; g++) {
            CHECK(mad(&part[g], photo) > 0.004, "seed %llu: %s partial differs from the photo",
                  (unsigned long long)seed, ps_synth_group_name((ps_group)g));
            CHECK(mad(&part[g], &full) > 0.002, "seed %llu: %s partial differs from the full render",
                  (unsigned long long)seed, ps_synth_group_name((ps_group)g));
            ps_synth_style one = st;
            for (int k = 0; k < 3; k++)
                if (k != g)
                    one.op[k].intensity = 0.f;
            CHECK(!ps_synth_render(&one, photo, &solo, NULL, NULL, NULL), "%s", ps_last_error());
            CHECK(mad(&solo, &part[g]) < 1e-7, "the %s partial is that op alone", ps_synth_group_name((ps_group)g));
        }
        CHECK(mad(&part[0], &part[1]) > 0.002 && mad(&part[0], &part[2]) > 0.002 && mad(&part[1], &part[2]) > 0.002,
              "seed %llu: partials differ from each other", (unsigned long long)seed);
    }
    ps_synth_style st;
    ps_synth_sample(1, &st);
    ps_image wrong = img(photo->w + 1, photo->h);
    CHECK(ps_synth_render(&st, photo, &wrong, NULL, NULL, NULL) == PS_EUSAGE, "mismatched output size refused");
    ps_img_free(&wrong);
    for (int g = 0; g < 3; g++)
        ps_img_free(&part[g]);
    ps_img_free(&full);
    ps_img_free(&solo);
}

/* Lengths are fractions of the image: a family at 128 and 256 px, both box-averaged to 32 px,
 * must agree much better than the family agrees with the photo it changed. */
static void test_scale(void)
{
    ps_photo_set set;
    CHECK(!ps_photos_procedural(1, 256, PS_PHOTOS_TRAIN, &set), "%s", ps_last_error());
    ps_image big = img(256, 256), out_big = img(256, 256), out_small = img(128, 128);
    /* a square 256 crop of the 256x170 procedural image is not needed: tile it into 256x256 */
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 256; y++)
            memcpy(&big.px[((size_t)c * 256 + y) * 256],
                   &set.img[0].px[((size_t)c * set.img[0].h + (size_t)(y % set.img[0].h)) * 256], 256 * sizeof(float));
    ps_image small = shrink(&big, 2), ref = shrink(&big, 8);
    for (int g = 0; g < PS_NGROUPS; g++)
        for (int f = 0; f < ps_synth_family_count((ps_group)g); f++) {
            ps_synth_style st = only((ps_group)g, f, 1.f, 77 + (uint64_t)f);
            CHECK(!ps_synth_render(&st, &big, &out_big, NULL, NULL, NULL), "%s", ps_last_error());
            CHECK(!ps_synth_render(&st, &small, &out_small, NULL, NULL, NULL), "%s", ps_last_error());
            ps_image a = shrink(&out_big, 8), b = shrink(&out_small, 4);
            double d = mad(&a, &b), effect = mad(&a, &ref);
            CHECK(d < 0.03 || d < 0.5 * effect, "%s: 128 vs 256 px differ by %.4f at 32 px (effect %.4f)",
                  ps_synth_family_name((ps_group)g, f), d, effect);
            ps_img_free(&a);
            ps_img_free(&b);
        }
    ps_img_free(&big);
    ps_img_free(&small);
    ps_img_free(&ref);
    ps_img_free(&out_big);
    ps_img_free(&out_small);
    ps_photos_free(&set);
}

/* Draws n styles from training (val = 0) or validation seeds: family reach, parameter range,
 * and how often a group, or the whole style, is identity. */
static void sampler_counts(int val, int n)
{
    int hits[PS_NGROUPS][16] = {{0}}, identity = 0, all_off = 0;
    for (int i = 0; i < n; i++) {
        ps_synth_style st;
        ps_synth_sample(val ? ps_synth_val_seed(i) : (uint64_t)i, &st);
        int off = 0;
        for (int g = 0; g < PS_NGROUPS; g++) {
            CHECK(st.op[g].family >= 0 && st.op[g].family < ps_synth_family_count((ps_group)g), "family range");
            if (st.op[g].intensity > 0.f)
                hits[g][st.op[g].family]++;
            else
                off++;
            for (int k = 0; k < PS_SYNTH_NPARAM; k++)
                CHECK(st.op[g].p[k] >= 0.f && st.op[g].p[k] < 1.f, "param in [0,1)");
        }
        identity += off;
        all_off += off == 3;
    }
    for (int g = 0; g < PS_NGROUPS; g++)
        for (int f = 0; f < ps_synth_family_count((ps_group)g); f++)
            CHECK(hits[g][f] > n / 40, "%s reachable (%d hits)", ps_synth_family_name((ps_group)g, f), hits[g][f]);
    if (val) {
        CHECK(all_off == 0, "validation: never all three identity");
        CHECK(identity > n * 3 / 16 && identity < n * 3 * 3 / 16,
              "validation: identity about 1 in 8 groups (%d of %d)", identity, 3 * n);
    } else {
        /* 1/16 all off, else 1/4 per group (all-off draws then revived): ~0.27 of the groups */
        CHECK(all_off > n / 24 && all_off < n / 10, "training: about 1 in 16 styles without any "
              "aspect (%d of %d)", all_off, n);
        CHECK(identity > n * 3 / 5 && identity < n * 3 * 2 / 5,
              "training: identity about 1 in 4 groups (%d of %d)", identity, 3 * n);
    }
}

static void test_sampler(void)
{
    sampler_counts(0, 4000);
    sampler_counts(1, 4000);
    for (int i = 0; i < 100; i++) {
        CHECK(ps_synth_is_val_seed(ps_synth_val_seed(i)), "val seed");
        CHECK(ps_synth_val_seed(i) != ps_synth_val_seed(i + 1), "val seeds distinct");
        CHECK(!ps_synth_is_val_seed(((uint64_t)i * 0x9e3779b97f4a7c15ULL) >> 1), "training seeds (< 2^63) are not val seeds");
    }
}

static void test_episodes(void)
{
    ps_photo_set set;
    CHECK(ps_photos_load("no-such-dir", PS_PHOTOS_TRAIN, 256, &set) == PS_EINPUT, "missing data/ is an input error");
    CHECK(strstr(ps_last_error(), "no-such-dir/train") != NULL, "message names the folder: %s", ps_last_error());
    CHECK(!ps_photos_procedural(12, 96, PS_PHOTOS_TRAIN, &set), "%s", ps_last_error());
    ps_episode ep = {0}, ep2 = {0};
    for (uint64_t seed = 0; seed < 6; seed++) {
        CHECK(!ps_episode_sample(&set, seed, 5, 4, 32, &ep), "%s", ps_last_error());
        int used[12] = {0}, dup = 0;
        for (int i = 0; i < 5; i++)
            dup += used[ep.support_src[i]]++;
        for (int i = 0; i < 4; i++)
            dup += used[ep.query_src[i]]++;
        CHECK(!dup, "seed %llu: support and query photos are disjoint", (unsigned long long)seed);
        CHECK(ep.support[0].w == 32 && ep.query_stroke[3].h == 32, "crop size");
        ps_synth_style st;
        ps_synth_sample(seed, &st);
        CHECK(!memcmp(&st, &ep.style, sizeof st), "episode style is ps_synth_sample(seed)");
    }
    CHECK(!ps_episode_sample(&set, 42, 5, 4, 32, &ep), "%s", ps_last_error());
    CHECK(!ps_episode_sample(&set, 42, 5, 4, 32, &ep2), "%s", ps_last_error());
    size_t bytes = sizeof(float) * 32 * 32 * 3;
    CHECK(!memcmp(ep.support[2].px, ep2.support[2].px, bytes) && !memcmp(ep.query_color[1].px, ep2.query_color[1].px, bytes),
          "episodes are reproducible");
    CHECK(memcmp(ep.query[0].px, ep.query_full[0].px, bytes) != 0, "query ground truth is a render");
    /* a new shape reallocates */
    CHECK(!ps_episode_sample(&set, 43, 2, 3, 24, &ep), "%s", ps_last_error());
    CHECK(ep.k == 2 && ep.q == 3 && ep.query_full[2].w == 24, "buffers follow K, Q, size");
    CHECK(ps_episode_sample(&set, 1, 8, 8, 32, &ep) == PS_EUSAGE, "K+Q beyond the set is refused");
    ps_episode_free(&ep);
    ps_episode_free(&ep2);
    ps_photo_set val;
    CHECK(!ps_photos_procedural(12, 96, PS_PHOTOS_VAL, &val), "%s", ps_last_error());
    CHECK(mad(&set.img[0], &val.img[0]) > 0.01, "train and val procedural images differ");
    ps_photos_free(&val);
    ps_photos_free(&set);
}

/* A real folder of real files: PNG and JPEG written by ps_img_save, fitted on load, sorted. */
static void test_photo_folder(void)
{
    CHECK(!mkdir("ph", 0755) && !mkdir("ph/val", 0755), "mkdir");
    ps_image a = img(300, 200), b = img(64, 80);
    for (size_t i = 0; i < (size_t)300 * 200 * 3; i++)
        a.px[i] = (float)(i % 300) / 300.f;
    CHECK(!ps_img_save("ph/val/b.png", &a, 90), "%s", ps_last_error());
    CHECK(!ps_img_save("ph/val/a.jpg", &b, 90), "%s", ps_last_error());
    FILE *f = fopen("ph/val/notes.txt", "w");
    if (f) {
        fputs("not an image\n", f);
        fclose(f);
    }
    ps_photo_set set;
    CHECK(!ps_photos_load("ph", PS_PHOTOS_VAL, 150, &set), "%s", ps_last_error());
    CHECK(set.n == 2, "two photos, the .txt skipped (n=%d)", set.n);
    if (set.n == 2) {
        CHECK(!strcmp(set.name[0], "a.jpg") && !strcmp(set.name[1], "b.png"), "sorted by name");
        CHECK(set.img[1].w == 150 && set.img[1].h == 100 && set.img[1].c == 3, "fitted to 150 (%dx%d)", set.img[1].w,
              set.img[1].h);
        CHECK(set.img[0].w == 64 && set.img[0].h == 80, "small ones kept as they are");
    }
    ps_photos_free(&set);
    CHECK(ps_photos_load("ph", PS_PHOTOS_TRAIN, 150, &set) == PS_EINPUT, "missing split is an input error");
    ps_img_free(&a);
    ps_img_free(&b);
}

int main(void)
{
    ps_photo_set set;
    if (ps_photos_procedural(1, 72, PS_PHOTOS_TRAIN, &set))
        return 1;
    ps_image photo = set.img[0]; /* 72 x 48 */
    test_determinism(&photo);
    test_families(&photo);
    test_partials(&photo);
    ps_photos_free(&set);
    test_scale();
    test_sampler();
    test_episodes();
    test_photo_folder();
    return check_done("test_synth");
}
