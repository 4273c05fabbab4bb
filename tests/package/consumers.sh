#!/usr/bin/env bash
# Installs the build into a fresh prefix and builds tests/package/consumer against it twice: with
# find_package(adacomp) and with pkg-config. Each consumer must build, link (every transitive
# library comes from the package files) and run.
# usage: consumers.sh BUILD_DIR WORK_DIR CXX
set -u
build=$1 work=$2 cxx=$3
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
if cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1; then ok; else bad "install: $(tail -3 "$work/install.log")"; fi

if cmake -S "$here/consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
  >"$work/cmake.log" 2>&1 && cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1; then
  ok
  if "$work/cmake/consumer" >"$work/cmake.out"; then ok; else bad "find_package consumer run: $(cat "$work/cmake.out")"; fi
else
  bad "find_package consumer build: $(tail -5 "$work/cmake.log")"
fi

pc_dir=$(dirname "$(find "$prefix" -name adacomp.pc | head -1)")
flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs adacomp 2>"$work/pc.err")
if [ -n "$flags" ] && "$cxx" -std=c++20 "$here/consumer/consumer.cpp" -o "$work/pc-consumer" $flags \
  >"$work/pc.log" 2>&1; then
  ok
  if "$work/pc-consumer" >"$work/pc.out"; then ok; else bad "pkg-config consumer run: $(cat "$work/pc.out")"; fi
else
  bad "pkg-config consumer build (flags: $flags): $(cat "$work/pc.err") $(tail -5 "$work/pc.log")"
fi
# The Python package, when built: the installed copy imports and round-trips a tensor.
if [ -d "$build/python/adacomp" ]; then
  site=$(find "$prefix" -type d -name adacomp -path "*dist-packages*" | head -1)
  if [ -n "$site" ] && PYTHONPATH=$(dirname "$site") /usr/bin/python3 -c "
import numpy as np, adacomp, adacomp.torch
assert adacomp.__file__.startswith('$prefix'), adacomp.__file__
g = np.linspace(-1, 1, 5000, dtype=np.float32)
d = adacomp.decode(adacomp.Encoder().encode({'g': g}))['g']
assert d.shape == g.shape and 0 < np.count_nonzero(d) < g.size
print('python package: imported from', adacomp.__file__)" >"$work/python.out" 2>&1; then
    ok
  else
    bad "installed Python package: $(cat "$work/python.out")"
  fi
fi
cat "$work"/*.out 2>/dev/null
echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
