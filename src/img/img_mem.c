/* Images as bytes in memory: reading a file whole (to hash it and decode it from one buffer) and
 * encoding a PNG into memory (the store's thumbnails). */
#include "img_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <stb_image_write.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ps_status ps_img_read_file(const char *path, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ps_fail(PS_EINPUT, "%s: %s", path,
                       e == ENOENT || e == ENOTDIR ? "no such file"
                       : e == EACCES                ? "permission denied"
                                                    : strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: is a directory", path);
    }
    /* reads at most the cap + 1 bytes, so a huge or endless file is refused cheaply */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
    const size_t limit = (size_t)PS_IMG_MAX_FILE_BYTES + 1;
    if (cap > limit) {
        close(fd);
        return ps_fail(PS_EINPUT, "%s: file too large: %lld bytes (limit %lld MiB)", path,
                       (long long)st.st_size, PS_IMG_MAX_FILE_BYTES >> 20);
    }
    unsigned char *buf = malloc(cap);
    ps_status rc = PS_OK;
    while (buf) {
        if (n == cap) {
            if (cap == limit)
                break;
            cap = cap * 2 < limit ? cap * 2 : limit;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf), buf = NULL;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ps_fail(PS_EINPUT, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", path);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return PS_OK;
}

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    int oom;
} mem_sink;

static void mem_write(void *ctx, void *data, int size)
{
    mem_sink *s = ctx;
    if (s->oom || size <= 0)
        return;
    if (s->len + (size_t)size > s->cap) {
        size_t cap = (s->cap ? 2 * s->cap : 4096) + (size_t)size;
        unsigned char *nb = realloc(s->buf, cap);
        if (!nb) {
            s->oom = 1;
            return;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, (size_t)size);
    s->len += (size_t)size;
}

ps_status ps_img_encode_png(const ps_image *img, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int ch = img->c == 4 ? 4 : 3;
    unsigned char *px = malloc((size_t)img->w * img->h * ch);
    if (!px)
        return ps_fail(PS_EINTERNAL, "png encode: out of memory");
    ps_img_to_rgba8(img, px, ch);
    mem_sink s = {0};
    int ok = stbi_write_png_to_func(mem_write, &s, img->w, img->h, ch, px, img->w * ch);
    free(px);
    if (!ok || s.oom) {
        free(s.buf);
        return ps_fail(PS_EINTERNAL, "png encode: out of memory");
    }
    *out = s.buf;
    *len = s.len;
    return PS_OK;
}
