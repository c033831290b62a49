# OpenBLAS's kernels (src/cli/main.c): where OpenBLAS falls back to kernels older than the CPU
# (0.3.21 takes SSE3's "Prescott" on CPUs it does not know), pstyle names the AVX-512 or AVX2
# ones the CPU runs; a kernel the user names is kept. Read back from the bench's machine table.
. "$TESTS_DIR/lib.sh"
config() { # OpenBLAS's configuration line as pstyle's bench reports it
  "$@" bench --quick --only engine --out "b$#" > /dev/null 2>&1 || fail "bench --only engine: $?"
  sed -n 's/^| OpenBLAS | \(.*\) |$/\1/p' "b$#/REPORT.md"
}
got=$(config "$P")
[ -n "$got" ] || fail "no OpenBLAS line in the bench's machine table"
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }
if has avx512f && has avx512bw && has avx512dq && has avx512vl || { has avx2 && has fma; }; then
  ! echo "$got" | grep -Eqi ' (prescott|core2|penryn|dunnington|nehalem|atom) ' ||
    fail "OpenBLAS kept kernels older than this CPU's: $got"
fi
kept=$(config env OPENBLAS_CORETYPE=Prescott "$P")
echo "$kept" | grep -q ' Prescott ' || fail "the user's OPENBLAS_CORETYPE=Prescott was not kept: $kept"
echo "OpenBLAS: $got"
