/* Monotonic time, for durations (progress, bench, learn statistics). */
#include "src/base/base.h"
#include <time.h>

double ps_clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
