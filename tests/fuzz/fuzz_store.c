/* Fuzz target: a store file with arbitrary bytes (damaged, foreign, crafted SQLite files). It is
 * opened read-only, listed and every listed version read back with its samples; then opened
 * read-write (which may migrate it) and listed again. The store must answer errors, never crash. */
#include "tests/fuzz/fuzz.h"
#include "store/store.h"

static void read_all(ps_store *db, int get)
{
    ps_store_row *rows = NULL;
    int n = 0;
    if (ps_store_list(db, NULL, NULL, 0, &rows, &n) != PS_OK)
        return;
    for (int i = 0; get && i < n && i < 16; i++) {
        ps_style_rec rec;
        ps_sample_rec *smp = NULL;
        int ns = 0;
        if (ps_store_get_style(db, rows[i].user, rows[i].style, rows[i].version, &rec, &smp, &ns) ==
            PS_OK) {
            ps_store_style_free(&rec);
            ps_store_samples_free(smp, ns);
        }
    }
    free(rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    fuzz_temp_file(path, data, size);
    ps_store *db;
    if (ps_store_open(&db, path, PS_STORE_READONLY) == PS_OK) {
        read_all(db, 1);
        ps_store_close(db);
    }
    if (ps_store_open(&db, path, 0) == PS_OK) {
        read_all(db, 0);
        ps_store_close(db);
    }
    fuzz_unlink_store(path);
    return 0;
}
