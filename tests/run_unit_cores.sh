#!/usr/bin/env bash
# Runs the unit tests under each OpenBLAS kernel (OPENBLAS_CORETYPE) that this CPU can execute,
# other than the one OpenBLAS picks by itself (run_unit.sh already ran that one). Debian's
# OpenBLAS is built with DYNAMIC_ARCH, so one library holds all of them. $PSTYLE_BIN: the binary.
set -u
here=$(cd "$(dirname "$0")" && pwd)
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
cores=()
has avx512f avx512bw avx512vl avx512dq && cores+=(SkylakeX)
has avx2 fma && cores+=(Haswell) # Zen reuses most of Haswell's kernels: one of the two is enough
has avx && cores+=(Sandybridge)
has sse4_2 && cores+=(Nehalem)
# The kernel OpenBLAS takes: any program linked with it prints it with OPENBLAS_VERBOSE=2.
core() { OPENBLAS_VERBOSE=2 "$PSTYLE_BIN" --version 2>&1 | sed -n 's/^Core: //p' | head -1; }
native=$(core)
fail=0
for c in "${cores[@]}"; do
  [ "$c" = "$native" ] && continue
  got=$(OPENBLAS_CORETYPE=$c core)
  if [ "$got" != "$c" ]; then
    echo "unit-cores: OpenBLAS did not take OPENBLAS_CORETYPE=$c (got '${got:-nothing}'); skipping it"
    continue
  fi
  echo "unit-cores: OPENBLAS_CORETYPE=$c"
  OPENBLAS_CORETYPE=$c bash "$here/run_unit.sh" "$@" || fail=1
done
[ "$fail" = 0 ]
