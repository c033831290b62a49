/* Shared by the fuzz targets (fuzz_*.c) and the replay runner (replay.c): libFuzzer's entry point,
 * and temp files for the loaders that only take a path. Temp files go to $TMPDIR (default /tmp);
 * `make fuzz` points it at /dev/shm, since the store targets make SQLite fsync on every commit. */
#ifndef PS_FUZZ_H
#define PS_FUZZ_H
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fresh file holding data (empty when data is NULL); path gets its name. The harness cannot go
 * on without one, so failing to make it aborts rather than passing the input silently. */
static inline void fuzz_temp_file(char path[PATH_MAX], const uint8_t *data, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, PATH_MAX, "%s/pstyle-fuzz-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    size_t done = 0;
    while (fd >= 0 && done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (fd < 0 || done < size || close(fd) != 0) {
        fprintf(stderr, "fuzz: cannot write a temp file %s: %s\n", path, strerror(errno));
        abort();
    }
}

/* Remove a store file and whatever SQLite kept beside it. */
static inline void fuzz_unlink_store(const char *path)
{
    static const char *const ext[] = {"", "-wal", "-shm", "-journal", "-reserve"};
    char p[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        unlink(p);
    }
}

#endif
