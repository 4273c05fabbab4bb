#!/usr/bin/env bash
# What a user's commands cost end to end (issue 25), beside `cat` and `zstd` on the same file: a
# 64 MiB float32 .npy (16 Mi Laplace values) in the page cache; each command timed RUNS times in
# turns (cat, zstd, encode, ...), the median wall time printed with its ratio to the reference
# the issue names, and the peak RSS of a step with an existing residue. It reports; it asserts
# nothing. Needs the zstd program and /usr/bin/time (Debian packages zstd and time) and Debian's
# python3-numpy; writes about 400 MiB under $TMPDIR.
#
#   bench/end_to_end.sh [build/src/adacomp] [RUNS] [RESIDUE_EXTENSION]   (npz or safetensors)
set -euo pipefail
adacomp=$(realpath "${1:-build/src/adacomp}")
runs=${2:-5}
extension=${3:-npz}
for tool in zstd /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "end_to_end.sh: skipped: $tool is not installed" >&2; exit 0; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

mkdir next  # the next step's gradient, under the same tensor name
/usr/bin/python3 - g.npy next/g.npy <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(1)
for path in sys.argv[1:]:
    np.save(path, rng.laplace(scale=1e-3, size=1 << 24).astype(np.float32))
PY
"$adacomp" encode g.npy --residue "start.$extension" -o /dev/null  # the residue a first step leaves
"$adacomp" encode g.npy -o g.adc
zstd -q -1 -T1 -f g.npy -o g.npy.zst

# name|command (run by bash -c in $dir); the residue is put back before each step, untimed
commands=(
  "cat|cat g.npy > /dev/null"
  "zstd -1 -T1|zstd -q -1 -T1 -c g.npy > /dev/null"
  "encode|$adacomp encode g.npy -o /dev/null"
  "encode --residue|$adacomp encode next/g.npy --residue r.$extension -o /dev/null"
  "decode|$adacomp decode g.adc -f -o /dev/null"
  "zstd -d|zstd -q -d -c g.npy.zst > /dev/null"
)
declare -A times
for _ in $(seq "$runs"); do
  for entry in "${commands[@]}"; do
    name=${entry%%|*}
    cp "start.$extension" "r.$extension"
    start=$(date +%s%N)
    bash -c "${entry#*|}"
    times[$name]+="$((($(date +%s%N) - start) / 1000)) "
  done
done
median_ms() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {printf "%.1f", v[int((NR + 1) / 2)] / 1000}'; }
declare -A ms
for entry in "${commands[@]}"; do
  name=${entry%%|*}
  ms[$name]=$(median_ms "${times[$name]}")
done
cp "start.$extension" "r.$extension"
/usr/bin/time -v "$adacomp" encode next/g.npy --residue "r.$extension" -o /dev/null 2>time.txt
rss_kib=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' time.txt)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "end to end on a 64 MiB float32 .npy, residue .$extension, median of $runs runs in turns ($(date -u +%F))"
echo "| command | wall ms | ratio | issue 25 target |"
echo "| --- | --- | --- | --- |"
echo "| cat g.npy | ${ms[cat]} | | |"
echo "| zstd -1 -T1 g.npy | ${ms[zstd -1 -T1]} | | |"
echo "| adacomp encode g.npy | ${ms[encode]} | $(ratio "${ms[encode]}" "${ms[zstd -1 -T1]}") x zstd -1 | <= 0.4 |"
echo "| adacomp encode --residue (existing residue) | ${ms[encode --residue]} | $(ratio "${ms[encode --residue]}" "${ms[encode]}") x encode | <= 2.5 |"
echo "| adacomp decode g.adc | ${ms[decode]} | $(ratio "${ms[decode]}" "${ms[zstd -d]}") x zstd -d | <= 1.0 |"
echo "| zstd -d | ${ms[zstd -d]} | | |"
echo "peak RSS of encode --residue: $((rss_kib / 1024)) MiB, $(ratio "$rss_kib" 65536) x the input (target <= 2.5)"
