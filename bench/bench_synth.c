/* Synthesizer throughput: training must never wait on the episode sampler (target >= 20
 * episodes/s at 128 px with K=5, Q=4 on one core). */
#include "bench/bench_synth.h"
#include "meta/synth.h"
#include <stdlib.h>
#include <time.h>

/* CPU time of this thread: "episodes/s on one core" even when the machine is shared (the sampler
 * is single-threaded, so on an idle core wall time equals this). */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ps_bench_synth(FILE *out, int quick)
{
    enum { K = 5, Q = 4, MAXRUNS = 7 };
    ps_photo_set set;
    const char *source = "data/photos/val";
    if (ps_photos_load("data/photos", PS_PHOTOS_VAL, 512, &set) || set.n < K + Q) {
        if (set.n)
            ps_photos_free(&set);
        source = "procedural images (no data/photos)";
        if (ps_photos_procedural(24, 384, PS_PHOTOS_VAL, &set)) {
            fprintf(out, "synth: cannot make photos: %s\n", ps_last_error());
            return;
        }
    }
    fprintf(out, "synth: episodes/s per core (thread CPU time), K=%d Q=%d, on %s (%d photos)\n", K, Q, source, set.n);
    static const int sizes[2] = {128, 256};
    int runs = quick ? 3 : MAXRUNS;
    for (int si = 0; si < 2; si++) {
        int per_run = (quick ? 8 : 24) / (si + 1);
        double rate[MAXRUNS];
        ps_episode ep = {0};
        uint64_t seed = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = cpu_s();
            for (int e = 0; e < per_run; e++)
                if (ps_episode_sample(&set, ps_synth_val_seed((int)seed++), K, Q, sizes[si], &ep)) {
                    fprintf(out, "synth: episode failed: %s\n", ps_last_error());
                    ps_episode_free(&ep);
                    ps_photos_free(&set);
                    return;
                }
            rate[r] = (double)per_run / (cpu_s() - t0);
        }
        ps_episode_free(&ep);
        qsort(rate, (size_t)runs, sizeof rate[0], cmp_double);
        fprintf(out, "synth: %3d px: %6.1f episodes/s (median of %d runs of %d; min %.1f, max %.1f)\n", sizes[si],
                rate[runs / 2], runs, per_run, rate[0], rate[runs - 1]);
    }
    ps_photos_free(&set);
}
