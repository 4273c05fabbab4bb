#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for SECONDS (default 600),
# two at a time, starting from the seeds in tests/fuzz/seeds, the golden vectors and the sample
# dump, copied into build-fuzz/corpus/TARGET (libFuzzer adds its finds to that copy; a source
# directory is never a corpus). libFuzzer stops at the first crash. Crashes land in build-fuzz/crashes/TARGET/; copy each into tests/fuzz/regressions/TARGET/
# once fixed, so that the fuzz_corpus_* tests keep it fixed. Prints executions per target.
#   tools/run_fuzzers.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=${*:-"wire_stream coded_entries layout npy npz safetensors residue roundtrip codec_payloads"}
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DADACOMP_FUZZ=ON >/dev/null
cmake --build build-fuzz -j2 >/dev/null
declare -A seeds=(
  [wire_stream]="format_spec/golden/* format_spec/golden/invalid/*"
  [coded_entries]="tests/fuzz/seeds/coded_entries/*"
  [layout]="format_spec/golden/*.adl format_spec/golden/coded-layout-*.adc format_spec/golden/invalid/coded-layout-*.adc"
  [npy]="tests/fuzz/seeds/npy/*"
  [npz]="samples/digits-cnn-tiny/step-00000/*.npz"
  [safetensors]="tests/fuzz/seeds/safetensors/*"
  [residue]="tests/fuzz/seeds/safetensors/* samples/digits-cnn-tiny/step-00001/*.npz"
  [roundtrip]="tests/fuzz/seeds/roundtrip/*"
  [codec_payloads]="tests/fuzz/seeds/codec_payloads/*"
)
run_one() {
  local target=$1
  local corpus=build-fuzz/corpus/$target crashes=build-fuzz/crashes/$target
  mkdir -p "$corpus" "$crashes"
  for seed in ${seeds[$target]}; do [ -f "$seed" ] && cp -n "$seed" "$corpus"/; done
  local start=$SECONDS
  build-fuzz/tests/fuzz/fuzz_$target "$corpus" -max_total_time="$seconds" -malloc_limit_mb=2048 \
    -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 \
    >"build-fuzz/$target.log" 2>&1 || true
  local execs
  execs=$(grep -m1 'stat::number_of_executed_units' "build-fuzz/$target.log" | awk '{print $2}')
  echo "$target: ${execs:-?} executions in $((SECONDS - start))s, $(ls "$crashes" | wc -l) crash files, corpus $(ls "$corpus" | wc -l)"
}
pids=()
for target in $targets; do
  run_one "$target" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
