/* Atomic file writes: every file pstyle writes (images, models, exports, checkpoints) goes
 * through here, so that a crash, a kill, Ctrl-C or a full disk never leaves half a file. */
#include "src/base/base.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ps_file_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return ENOSPC;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static ps_status fail_errno(const char *path, ps_status fail, int err)
{
    if (err == ENOMEM)
        return ps_fail(PS_EINTERNAL, "%s: out of memory", path);
    if (err == ENOSPC || err == EFBIG || err == EDQUOT)
        return ps_fail(fail, "%s: cannot write: disk full", path);
    return ps_fail(fail, "%s: cannot write: %s", path, strerror(err));
}

static ps_status write_body(const char *path, ps_status fail, ps_file_fill fill, void *ctx)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], tmp[PATH_MAX];
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        memcpy(dir, path, (size_t)(slash - path)), dir[slash - path] = 0;
    else
        return ps_fail(fail, "%s: path too long", path);
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        /* not named after path: any name up to NAME_MAX must work, and a longer one would not */
        if (snprintf(tmp, sizeof tmp, "%s/.pstyle.%ld.%d.tmp", dir, (long)getpid(), attempt) >=
            (int)sizeof tmp)
            return ps_fail(fail, "%s: path too long", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            return ps_fail(fail, "%s: cannot create a file in %s: %s", path, dir, strerror(errno));
    }
    if (fd < 0)
        return ps_fail(fail, "%s: cannot create a temp file in %s", path, dir);
    int err = fill(fd, ctx);
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        return fail_errno(path, fail, err);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* make the rename itself durable */
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse fsync on a folder */
        close(dfd);
    }
    return PS_OK;
}

ps_status ps_file_write_atomic(const char *path, ps_status fail, ps_file_fill fill, void *ctx)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    ps_status st = write_body(path, fail, fill, ctx);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

typedef struct {
    const void *p;
    size_t n;
} bytes_ctx;

static int fill_bytes(int fd, void *ctx)
{
    const bytes_ctx *b = ctx;
    return ps_file_write_all(fd, b->p, b->n);
}

ps_status ps_file_write_bytes(const char *path, ps_status fail, const void *p, size_t n)
{
    bytes_ctx b = {p, n};
    return ps_file_write_atomic(path, fail, fill_bytes, &b);
}
