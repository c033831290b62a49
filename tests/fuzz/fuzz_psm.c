/* Fuzz target: loading a .psm model (header, hyper-parameters, building the architecture they
 * describe, tensors). The loader reads a path, so each input goes through a temp file. A mutated
 * input almost never matches the trailing CRC-32, which guards the whole file, so each input is
 * loaded as given and then again with that CRC recomputed: mutations reach the parser behind it. */
#include "tests/fuzz/fuzz.h"
#include "encoder/enc.h"
#include <zlib.h>

static void load(const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    fuzz_temp_file(path, data, size);
    ps_model m;
    if (ps_model_load(&m, path) == PS_OK)
        ps_model_free(&m);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);
    if (size < 20) /* the loader checks the CRC only from here on */
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    uint32_t crc = (uint32_t)crc32(0L, fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    if (memcmp(fixed, data, size))
        load(fixed, size);
    free(fixed);
    return 0;
}
