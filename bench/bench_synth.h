/* Synthesizer throughput for the bench report. */
#ifndef PS_BENCH_SYNTH_H
#define PS_BENCH_SYNTH_H
#include <stdio.h>

/* Episodes per second per core (K=5, Q=4, thread CPU time) at 128 and 256 px: median and min-max over runs,
 * on data/photos/val when present, else on procedural images. quick: fewer, shorter runs. */
void ps_bench_synth(FILE *out, int quick);

#endif
