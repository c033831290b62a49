/* src/base: the JSON writer's output parses (nesting, escapes, invalid UTF-8, non-finite
 * numbers), the byte buffer's little-endian layout and its out-of-memory flag, and atomic file
 * writes (content, permissions under the umask, every failure leaves the old file and no
 * temporary file behind, the messages and statuses callers rely on). */
#include "check.h"
#include "src/base/base.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 16);
    *n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    if (buf)
        buf[*n] = 0;
    fclose(f);
    return buf;
}

/* entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void test_json(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ps_json j;
    ps_json_init(&j, f);
    ps_json_begin(&j, NULL, 0);
    ps_json_str(&j, "plain", "a\"b\\c\n\x01");
    ps_json_str(&j, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    ps_json_str(&j, "bad", "x\xff\xc3y\xed\xa0\x80z\xc0\xaf");
    ps_json_str(&j, "none", NULL);
    ps_json_num(&j, "pi", 3.25);
    ps_json_num(&j, "inf", 1.0 / 0.0);
    ps_json_int(&j, "big", 9007199254740993LL);
    ps_json_bool(&j, "yes", 1);
    ps_json_begin(&j, "list", 1);
    ps_json_int(&j, NULL, 1);
    ps_json_begin(&j, NULL, 0);
    ps_json_end(&j, 0);
    ps_json_begin(&j, NULL, 1);
    ps_json_end(&j, 1);
    ps_json_end(&j, 1);
    ps_json_end(&j, 0);
    fclose(f);
    const char *want = "{\n"
                       "  \"plain\": \"a\\\"b\\\\c\\u000a\\u0001\",\n"
                       "  \"utf8\": \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\n"
                       "  \"bad\": \"x\\ufffd\\ufffdy\\ufffd\\ufffd\\ufffdz\\ufffd\\ufffd\",\n"
                       "  \"none\": null,\n"
                       "  \"pi\": 3.25,\n"
                       "  \"inf\": null,\n"
                       "  \"big\": 9007199254740993,\n"
                       "  \"yes\": true,\n"
                       "  \"list\": [\n"
                       "    1,\n"
                       "    {},\n"
                       "    []\n"
                       "  ]\n"
                       "}\n";
    CHECK(text && !strcmp(text, want), "JSON:\n%s", text ? text : "(none)");
    free(text);

    /* nesting past PS_JSON_DEPTH is refused without breaking the brackets */
    f = open_memstream(&text, &len);
    ps_json_init(&j, f);
    for (int i = 0; i < PS_JSON_DEPTH + 4; i++)
        ps_json_begin(&j, NULL, 1);
    for (int i = 0; i < PS_JSON_DEPTH + 4; i++)
        ps_json_end(&j, 1);
    fclose(f);
    int open = 0, close = 0;
    for (const char *p = text; p && *p; p++)
        open += *p == '[', close += *p == ']';
    CHECK(open == close && open == PS_JSON_DEPTH, "too deep: %d [ and %d ]", open, close);
    free(text);
}

static void test_buf(void)
{
    ps_buf b = {0};
    ps_buf_put_le(&b, 0x0102030405060708ULL, 8);
    ps_buf_put_le(&b, 0xA1B2, 2);
    ps_buf_put(&b, "xyz", 3);
    ps_buf_put(&b, NULL, 4); /* reserved room */
    static const unsigned char want[] = {8, 7, 6, 5, 4, 3, 2, 1, 0xB2, 0xA1, 'x', 'y', 'z'};
    CHECK(!b.oom && b.len == sizeof want + 4 && !memcmp(b.p, want, sizeof want), "layout");
    for (int i = 0; i < 5000; i++) /* growth across several reallocations */
        ps_buf_put(&b, "0123456789", 10);
    CHECK(!b.oom && b.len == sizeof want + 4 + 50000 && !memcmp(b.p + b.len - 10, "0123456789", 10),
          "growth: %zu", b.len);
    ps_buf_put(&b, "x", SIZE_MAX - 8); /* a size that cannot be allocated sets the flag */
    CHECK(b.oom, "oom flag");
    size_t len = b.len;
    ps_buf_put(&b, "x", 1);
    CHECK(b.len == len, "puts after oom are no-ops");
    ps_buf_free(&b);
    CHECK(!b.p && !b.len && !b.cap && !b.oom, "free zeroes");
}

static int fill_hello(int fd, void *ctx)
{
    (void)ctx;
    return ps_file_write_all(fd, "hello\n", 6);
}

static int fill_half_then(int fd, void *ctx)
{
    int err = ps_file_write_all(fd, "half", 4);
    return err ? err : *(int *)ctx;
}

static void test_file(void)
{
    char dir[] = "/tmp/pstyle-test-base.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    char path[512], sub[512], bad[600];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    mode_t old = umask(027);
    CHECK(ps_file_write_atomic(path, PS_EINPUT, fill_hello, NULL) == PS_OK, "%s", ps_last_error());
    umask(old);
    size_t n;
    char *got = slurp(path, &n);
    CHECK(got && n == 6 && !memcmp(got, "hello\n", 6), "content");
    free(got);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~027), "mode %o", st.st_mode & 0777);

    /* a failing fill: the old file stays whole, no temp file is left, the message says why */
    int errs[] = {ENOSPC, EFBIG, EIO};
    for (int i = 0; i < 3; i++) {
        ps_status s = ps_file_write_atomic(path, PS_ESTORE, fill_half_then, &errs[i]);
        const char *msg = ps_last_error();
        CHECK(s == PS_ESTORE, "status %d for errno %d", s, errs[i]);
        CHECK(strstr(msg, "out.txt: cannot write: ") &&
                  (errs[i] == EIO ? strstr(msg, strerror(EIO)) != NULL : strstr(msg, "disk full") != NULL),
              "message for errno %d: %s", errs[i], msg);
        got = slurp(path, &n);
        CHECK(got && n == 6 && !memcmp(got, "hello\n", 6), "old content kept after errno %d", errs[i]);
        free(got);
        CHECK(count_entries(dir) == 1, "temp files left after errno %d", errs[i]);
    }
    int enomem = ENOMEM;
    CHECK(ps_file_write_atomic(path, PS_EINPUT, fill_half_then, &enomem) == PS_EINTERNAL,
          "ENOMEM is internal: %s", ps_last_error());

    /* bytes; a missing folder; a name that is a folder; a path with no slash */
    snprintf(sub, sizeof sub, "%s/none/x.bin", dir);
    CHECK(ps_file_write_bytes(sub, PS_EINPUT, "ab", 2) == PS_EINPUT &&
              strstr(ps_last_error(), "cannot create a file in"),
          "missing folder: %s", ps_last_error());
    snprintf(bad, sizeof bad, "%s/d", dir);
    mkdir(bad, 0700);
    CHECK(ps_file_write_bytes(bad, PS_EINPUT, "ab", 2) == PS_EINPUT, "over a folder");
    rmdir(bad);
    CHECK(count_entries(dir) == 1, "temp files left after failed byte writes");
    char cwd[512];
    if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
        CHECK(ps_file_write_bytes("plain.bin", PS_EINPUT, "abc", 3) == PS_OK, "%s", ps_last_error());
        got = slurp("plain.bin", &n);
        CHECK(got && n == 3 && !memcmp(got, "abc", 3), "relative path content");
        free(got);
        unlink("plain.bin");
        CHECK(chdir(cwd) == 0, "chdir back");
    }
    /* the longest name a folder takes works: the temp name is not derived from it */
    char name[256];
    memset(name, 'n', 255);
    name[255] = 0;
    snprintf(bad, sizeof bad, "%s/%s", dir, name);
    CHECK(ps_file_write_bytes(bad, PS_EINPUT, "z", 1) == PS_OK, "NAME_MAX name: %s", ps_last_error());
    unlink(bad);
    unlink(path);
    CHECK(rmdir(dir) == 0, "the folder is empty again: %s", strerror(errno));
}

static void test_clock_err(void)
{
    double a = ps_clock_s(), b = ps_clock_s();
    CHECK(a > 0 && b >= a, "monotonic: %f %f", a, b);
    CHECK(ps_fail(PS_ESTORE, "x %d", 7) == PS_ESTORE && !strcmp(ps_last_error(), "x 7"), "ps_fail");
    char longmsg[3000];
    memset(longmsg, 'm', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = 0;
    ps_fail(PS_EINPUT, "%s", longmsg);
    CHECK(strlen(ps_last_error()) < sizeof longmsg - 1 && ps_last_error()[0] == 'm', "truncated");
    CHECK(strlen(ps_version()) >= 5, "version %s", ps_version());
}

int main(void)
{
    test_json();
    test_buf();
    test_file();
    test_clock_err();
    return check_done("test_base");
}
