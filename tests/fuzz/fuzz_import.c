/* Fuzz target: reading an export file (store/store_file.c) and importing what it holds into a
 * fresh store in a temp file. Every chunk carries a CRC-32, so each input is read as given and
 * then again with the CRC of every chunk whose length fits recomputed: mutations then reach the
 * field parser and the import rather than stopping at the first checksum. */
#include "tests/fuzz/fuzz.h"
#include "src/prog/prog.h"
#include "store/store.h"
#include <zlib.h>

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The layout of store_file.c: 12 bytes of magic + format, then [tag][u32 len][payload][u32 CRC
 * of tag + payload] chunks. */
static void fix_crcs(uint8_t *p, size_t size)
{
    for (size_t at = 12; size - at >= 12;) { /* at <= size: each step stays inside */
        uint32_t len = rd_u32(p + at + 4);
        if (size - at - 12 < len)
            break;
        uint32_t crc = (uint32_t)crc32(crc32(0L, p + at, 4), p + at + 8, len);
        for (int i = 0; i < 4; i++)
            p[at + 8 + len + i] = (uint8_t)(crc >> (8 * i));
        at += 12 + (size_t)len;
    }
}

/* A program that unpacks must describe itself and paint without reading out of its bounds
 * (its screen pattern, palette, levels and halftone fields are all indexed while painting). */
static void paint(const ps_style_rec *r)
{
    static ps_prog p;
    if (!r->n_program || ps_prog_unpack(&p, r->program, r->n_program) != PS_OK)
        return;
    char words[512];
    ps_prog_describe(&p, words, sizeof words);
    ps_image im = {0};
    if (ps_img_alloc(&im, 9, 7, 3) != PS_OK)
        return;
    for (size_t i = 0; i < (size_t)3 * 9 * 7; i++)
        im.px[i] = (float)(i % 17) / 16;
    const ps_dials d = {2, 2, 2};
    ps_prog_apply(&p, &im, &d, &im);
    ps_img_free(&im);
}

static void import(const uint8_t *data, size_t size)
{
    char file[PATH_MAX], db_path[PATH_MAX];
    fuzz_temp_file(file, data, size);
    ps_store_bundle b;
    if (ps_store_bundle_read(file, &b) == PS_OK) {
        for (int i = 0; i < b.n; i++)
            paint(&b.styles[i]);
        ps_store *db;
        fuzz_temp_file(db_path, NULL, 0); /* an empty file is a new store to ps_store_open */
        if (ps_store_open(&db, db_path, 0) == PS_OK) {
            ps_store_import(db, &b, NULL);
            ps_store_close(db);
        }
        fuzz_unlink_store(db_path);
        ps_store_bundle_free(&b);
    }
    unlink(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    import(data, size);
    if (size < 12)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    fix_crcs(fixed, size);
    if (memcmp(fixed, data, size))
        import(fixed, size);
    free(fixed);
    return 0;
}
