#!/usr/bin/env bash
# Peak resident memory of `adacomp encode` and `adacomp decode` on a 1 GiB float32 .npy, against
# the target of at most 1.2x the tensor size plus a small constant. Needs /usr/bin/time (Debian
# package `time`) and Debian's python3-numpy; writes about 1.1 GiB under $TMPDIR.
#
#   bench/peak_memory.sh [build/src/adacomp] [elements]
set -euo pipefail
adacomp=$(realpath "${1:-build/src/adacomp}")
elements=${2:-268435456}  # 2^28 float32 = 1 GiB
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

/usr/bin/python3 - "$dir/g.npy" "$elements" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
with open(path, "wb") as f:
    np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (n,)})
    step = 1 << 24
    for start in range(0, n, step):
        rng.laplace(scale=1e-3, size=min(step, n - start)).astype(np.float32).tofile(f)
PY

tensor_kib=$((elements * 4 / 1024))
peak_kib() { awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$1"; }
report() {
  local kib
  kib=$(peak_kib "$dir/time")
  awk -v op="$1" -v kib="$kib" -v t="$tensor_kib" \
    'BEGIN { printf "%-28s peak RSS %8.1f MiB  = %.3f x the tensor (%.1f MiB)\n", op, kib / 1024, kib / t, t / 1024 }'
}

/usr/bin/time -v "$adacomp" encode "$dir/g.npy" -o "$dir/g.ac" 2> "$dir/time"
report "encode file"
/usr/bin/time -v "$adacomp" encode --threads 2 < "$dir/g.npy" > "$dir/g2.ac" 2> "$dir/time"
report "encode stdin, 2 threads"
/usr/bin/time -v "$adacomp" decode "$dir/g.ac" -o "$dir/d.npy" 2> "$dir/time"
report "decode to file"
rm -f "$dir/d.npy"
/usr/bin/time -v "$adacomp" decode < "$dir/g.ac" > "$dir/d.npy" 2> "$dir/time"
report "decode stdin to stdout"
