/* Benchmark harness entry points (the `pstyle bench` command prints what these write). */
#ifndef PS_BENCH_H
#define PS_BENCH_H
#include <stdio.h>

/* Engine speed: raw sgemm GFLOP/s (the roof), conv2d at generator-like shapes and attention at
 * 65536 queries x 24 tokens, each as GFLOP/s (median of several runs after a warm-up, with
 * min-max) and as a fraction of the roof. quick: fewer runs and a smaller roof GEMM. */
void ps_bench_engine(FILE *out, int quick);

#endif
