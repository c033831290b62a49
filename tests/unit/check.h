/* Minimal test harness: CHECK records a failure and goes on; the test's main returns
 * check_done(), which is non-zero if anything failed, so `make test` fails loudly. */
#ifndef PS_CHECK_H
#define PS_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failed, check_count;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        check_count++;                                                                        \
        if (!(cond)) {                                                                        \
            check_failed++;                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                   \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
        }                                                                                     \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_NEAR(a, b, atol, rtol)                                                          \
    CHECK(fabs((double)(a) - (double)(b)) <= (atol) + (rtol)*fabs((double)(b)),               \
          "%s=%.9g %s=%.9g", #a, (double)(a), #b, (double)(b))

static inline int check_done(const char *name)
{
    if (check_failed)
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, check_failed, check_count);
    else
        printf("%s: %d checks ok\n", name, check_count);
    return check_failed ? 1 : 0;
}
#endif
