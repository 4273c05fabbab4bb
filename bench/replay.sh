#!/usr/bin/env bash
# What a replay's phases cost on real dumps (issue 25): every dump given (default: the sample dump
# and, when ../shared is present, the shared dumps) replayed RUNS times per thread count, in turns,
# and the median of each phase printed from the reports' time split (read, encode, decode,
# average, update; each summed over the steps, the learners' phases also over the learners) with
# the whole replay's wall time, average / encode and wall / read. It reports; it asserts nothing.
#
#   bench/replay.sh [build/src/adacomp] [RUNS] [DUMP...]
set -euo pipefail
adacomp=$(realpath "${1:-build/src/adacomp}")
runs=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
root=$(cd "$(dirname "$0")/.." && pwd)
dumps=("$@")
if [ ${#dumps[@]} -eq 0 ]; then
  dumps=("$root/samples/digits-cnn-tiny")
  shared="$root/../shared/data/gradients"
  if [ -d "$shared" ]; then
    for d in "$shared"/*/; do [ -f "$d/meta.json" ] && dumps+=("${d%/}"); done
  else
    echo "replay.sh: shared dumps skipped: $shared is absent" >&2
  fi
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for run in $(seq "$runs"); do
  for dump in "${dumps[@]}"; do
    for threads in 1 2; do
      "$adacomp" replay "$dump" --threads "$threads" -q --no-progress \
        --report "$dir/$(basename "$dump")-t$threads-$run.json" >/dev/null
    done
  done
done

/usr/bin/python3 - "$dir" "$runs" "${dumps[@]}" <<'PY'
import json, statistics, sys
from pathlib import Path
directory, runs, dumps = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
phases = ["read", "encode", "decode", "average", "update", "wall"]
print(f"median of {runs} runs, ms (phases summed over steps; read, encode, decode also over learners)")
print("| dump | threads | " + " | ".join(phases) + " | average / encode | wall / read |")
print("| --- | --- |" + " --- |" * (len(phases) + 2))
for dump in dumps:
    name = Path(dump).name
    for threads in (1, 2):
        totals = []
        for run in range(1, runs + 1):
            report = json.loads((directory / f"{name}-t{threads}-{run}.json").read_text())
            totals.append({p: 1000 * sum(s["times"][p + "_s"] for s in report["steps"]) for p in phases})
        median = {p: statistics.median(t[p] for t in totals) for p in phases}
        # ratios of medians of one run of this script
        cells = " | ".join(f"{median[p]:.2f}" for p in phases)
        print(f"| {name} | {threads} | {cells} | {median['average'] / median['encode']:.2f} | "
              f"{median['wall'] / median['read']:.2f} |")
PY
