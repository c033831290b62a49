/* Replays fuzz inputs without libFuzzer: `replay_<target> FILE...` feeds each file to the target's
 * LLVMFuzzerTestOneInput, built with the normal compiler and flags (SAN=1 for ASan/UBSan), so that
 * `make test` re-checks every seed (tests/fuzz/corpus/) and every crash once found
 * (tests/fuzz/regress/). A crash or an abort is the failure; there is nothing else to compare. */
#include "tests/fuzz/fuzz.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        size_t len = 0;
        uint8_t *data = slurp(argv[i], &len);
        if (!data) {
            fprintf(stderr, "%s: %s: cannot read: %s\n", argv[0], argv[i], strerror(errno));
            return 1;
        }
        LLVMFuzzerTestOneInput(data, len);
        free(data);
    }
    printf("%s: %d inputs replayed\n", argv[0], argc - 1);
    return 0;
}
