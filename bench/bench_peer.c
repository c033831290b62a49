#include "bench/bench_impl.h"
void ps_bench_sec_peer(ps_bench_ctx *c) { (void)c; }
