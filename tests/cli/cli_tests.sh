#!/usr/bin/env bash
# CLI tests: the real adacomp binary on real files, pipes, devices and FIFOs. Each case checks the
# exit code, that errors are one line naming the file, and that nothing is lost or left behind.
# usage: cli_tests.sh ADACOMP_BINARY REPO_ROOT
set -u
ADACOMP=$1
ROOT=$2
SAMPLE=$ROOT/samples/digits-cnn-tiny
GOLDEN=$ROOT/format_spec/golden
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

passed=0
failed=0
skipped=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# run CODE NEEDLE CMD...: expect exit CODE; when NEEDLE is not empty, stderr is one line holding it
run() {
  local code=$1 needle=$2
  shift 2
  "$@" >"$WORK/out.stdout" 2>"$WORK/out.stderr"
  local got=$?
  if [ "$got" != "$code" ]; then
    bad "'$*' exited $got, expected $code; stderr: $(cat "$WORK/out.stderr")"
    return
  fi
  if [ -n "$needle" ]; then
    if [ "$(wc -l <"$WORK/out.stderr")" != 1 ] || ! grep -qF -- "$needle" "$WORK/out.stderr"; then
      bad "'$*': stderr should be one line with '$needle', got: $(cat "$WORK/out.stderr")"
      return
    fi
  fi
  ok
}

check() { # check DESCRIPTION TEST-COMMAND...
  local what=$1
  shift
  if "$@"; then ok; else bad "$what"; fi
}

no_temp_files() { ! ls -a "$1" | grep -q 'adacomp-'; }
differs() { ! cmp -s "$1" "$2"; }

G0=$SAMPLE/step-00000/learner-0.npz
G1=$SAMPLE/step-00001/learner-0.npz

# --- help, version, usage errors -------------------------------------------------------------
for sub in "" encode decode inspect diff verify replay bench layout; do
  run 0 "" "$ADACOMP" $sub --help
  check "--help of '$sub' prints usage" grep -q "Usage" out.stdout
done
run 0 "" "$ADACOMP" --version
check "--version names the wire format versions" grep -q "wire formats 1.0, 1.1, 2.0 and 2.1" out.stdout
run 2 "usage error" "$ADACOMP"
run 2 "usage error" "$ADACOMP" encode --no-such-option
run 2 "usage error" "$ADACOMP" frobnicate
run 2 "--scale-factor must be between 1 and 4" "$ADACOMP" encode "$G0" -o s.adc --scale-factor 5
run 2 "bin size must be an integer from 1 to 16384" "$ADACOMP" encode "$G0" -o s.adc --bin-size 0
run 2 "bin size must be an integer from 1 to 16384" "$ADACOMP" encode "$G0" -o s.adc --bin-size 'fc*=16385'
run 2 "usage error" "$ADACOMP" encode "$G0" -o s.adc --zstd=25
run 2 "must end in .npz or .safetensors" "$ADACOMP" encode "$G0" -o s.adc --residue r.txt
check "usage errors leave no output" test ! -e s.adc

# --- encode / decode on files and pipes -----------------------------------------------------
run 0 "" "$ADACOMP" encode "$G0" -o s0.adc
run 0 "" "$ADACOMP" decode s0.adc -o d0.npz
"$ADACOMP" encode <"$G0" | "$ADACOMP" decode >piped.npz
check "pipeline exit status" test "${PIPESTATUS[0]}${PIPESTATUS[1]}" = 00
check "pipeline decodes to the same bytes as files" cmp -s piped.npz d0.npz
"$ADACOMP" encode - <"$G0" >dash.adc
check "'-' means stdin/stdout" cmp -s dash.adc s0.adc
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
check "the default stream is format 2.0 (coded entries)" test "$(byte_at s0.adc 4)" = 2
run 0 "" "$ADACOMP" encode --entries fixed "$G0" -o f0.adc
check "--entries fixed writes format 1.0" test "$(byte_at f0.adc 4)" = 1
check "coded entries make the stream smaller than fixed ones" test "$(stat -c %s s0.adc)" -lt "$(stat -c %s f0.adc)"
run 0 "" "$ADACOMP" decode f0.adc -o df.npz
check "fixed and coded entries decode to the same values" cmp -s df.npz d0.npz
run 2 "usage error" "$ADACOMP" encode --entries dense "$G0" -o x.adc
run 0 "" "$ADACOMP" encode --zstd --entries fixed "$G0" -o z.adc
run 0 "" "$ADACOMP" encode --zstd=19 --entries fixed "$G0" -o z19.adc
check "--zstd makes a fixed-entry stream smaller" test "$(stat -c %s z.adc)" -lt "$(stat -c %s f0.adc)"
run 0 "" "$ADACOMP" decode z.adc -o dz.npz
check "zstd stream decodes to the same values" cmp -s dz.npz d0.npz
run 0 "" "$ADACOMP" encode --zstd "$G0" -o zc.adc
check "--zstd leaves coded frames as they are (it is for passthrough frames)" cmp -s zc.adc s0.adc

# --- layouts: agreed once, then streams carry only the hash ---------------------------------------
run 0 "" "$ADACOMP" layout "$G0" -o run.adl
run 0 "" "$ADACOMP" layout "$SAMPLE" -o dump.adl
check "a dump's layout is its first gradients' layout" cmp -s run.adl dump.adl
run 0 "" "$ADACOMP" encode "$G0" --layout run.adl -o l0.adc
check "a stream with an agreed layout is smaller" test "$(stat -c %s l0.adc)" -lt "$(stat -c %s s0.adc)"
run 3 "give its layout file with --layout FILE" "$ADACOMP" decode l0.adc -o dl.npz
check "a failed decode leaves no output" test ! -e dl.npz
run 0 "" "$ADACOMP" decode l0.adc --layout run.adl -o dl.npz
check "a stream with an agreed layout decodes to the same values" cmp -s dl.npz d0.npz
run 0 "" "$ADACOMP" verify l0.adc --layout run.adl
run 0 "" "$ADACOMP" inspect l0.adc --layout run.adl
run 0 "" "$ADACOMP" diff l0.adc s0.adc --layout run.adl -q
run 3 "give its layout file with --layout FILE" "$ADACOMP" diff l0.adc s0.adc
run 0 "" "$ADACOMP" encode "$G0" --layout new.adl -o l1.adc
check "encode --layout writes a missing layout file" cmp -s new.adl run.adl
check "and then uses it" cmp -s l1.adc l0.adc
run 3 "in the layout" "$ADACOMP" encode "$G0" --layout run.adl --bin-size 7 -o x.adc
run 3 "in the layout" "$ADACOMP" encode "$G0" --layout run.adl --exclude '*bias' -o x.adc
run 2 "--layout needs --entries coded" "$ADACOMP" encode "$G0" --layout run.adl --entries fixed -o x.adc
run 0 "" "$ADACOMP" layout "$G0" --bin-size 7 -o other.adl
run 3 "but the layout given has hash" "$ADACOMP" decode l0.adc --layout other.adl -o x.npz
run 3 "not a layout file" "$ADACOMP" decode l0.adc --layout s0.adc -o x.npz
check "layout errors leave no output" test ! -e x.adc -a ! -e x.npz
run 3 "is not a dump" "$ADACOMP" layout "$WORK" -o x.adl
printf 'not a tensor file' > junk.npy
run 3 "" "$ADACOMP" encode junk.npy --layout fresh.adl -o x.adc
check "a failed encode writes no new layout file and no stream" test ! -e fresh.adl -a ! -e x.adc
check "and leaves no temporary file" no_temp_files .
run 2 "--layout cannot be combined with --warmup-steps" "$ADACOMP" replay "$SAMPLE" --layout x.adl --warmup-steps 1
check "a refused replay writes no layout file" test ! -e x.adl
run 0 "" "$ADACOMP" replay "$SAMPLE" -q --layout x.adl
check "replay --layout writes a missing layout file, the dump's" cmp -s x.adl dump.adl
run 0 "" "$ADACOMP" decode s0.adc -o d0.safetensors
run 0 "" "$ADACOMP" decode s0.adc --format raw -o d0.raw
check "raw output is 4 bytes per element" test "$(stat -c %s d0.raw)" = "$((4 * $("$PY" -c "import numpy as n; d=n.load('$G0'); print(sum(d[k].size for k in d.files))")))"
run 2 "a .npy file holds exactly one tensor" "$ADACOMP" decode s0.adc -o many.npy
check "failed decode leaves no output" test ! -e many.npy
run 2 "cannot tell the output format" "$ADACOMP" decode s0.adc -o out.dat
cat s0.adc z.adc >both.adc
run 2 "tensor name appears twice" "$ADACOMP" decode both.adc -o both.npz
run 0 "" "$ADACOMP" decode both.adc --format raw -o both.raw
check "concatenated streams decode to both parts" test "$(stat -c %s both.raw)" = "$((2 * $(stat -c %s d0.raw)))"

# encode -v names frame kinds as inspect does
"$ADACOMP" encode -v --exclude 'fc2.*' "$G0" -o verbose.adc 2>verbose.err
check "encode -v names compressed frames as inspect does" grep -q "^conv1.weight  *compressed " verbose.err
check "encode -v names passthrough frames as inspect does" grep -q "^fc2.bias  *passthrough " verbose.err

# repeatable options take one value each and never swallow the input argument
run 0 "" "$ADACOMP" encode --bin-size 64 --exclude 'fc2.*' "$G0" -o opt.adc
check "options before the input leave the input alone" test -s opt.adc

# single tensors: .npy in, .npy out; raw with --shape
"$PY" -c "import numpy as n; n.save('g.npy', n.load('$G0')['fc1.weight'])"
run 0 "" "$ADACOMP" encode g.npy -o g.adc
"$ADACOMP" decode <g.adc >g_out.npy
check "single tensor decodes to .npy on stdout" "$PY" -c "import numpy as n; a=n.load('g_out.npy'); assert a.shape==(32,128) and a.dtype==n.float32"
"$PY" -c "import numpy as n; n.load('g.npy').tofile('g.raw')"
run 0 "" "$ADACOMP" encode g.raw --shape 32,128 --name g -o graw.adc
check "raw input with --shape encodes like the .npy" cmp -s graw.adc g.adc
run 3 "g.raw: raw input holds 16384 bytes but --shape [32,100]" "$ADACOMP" encode g.raw --shape 32,100 -o x.adc
run 3 "not a .npy, .npz or .safetensors file" "$ADACOMP" encode g.raw -o x.adc
check "failed encode leaves no output" test ! -e x.adc

# FP8 single tensors: 1-byte 'V1' .npy as ml_dtypes saves them, versions 1.1 and 2.1, written back as V1
"$PY" -c "
import numpy as n
codes = n.random.default_rng(3).integers(0, 256, size=(16, 40)).astype(n.uint8)
codes[((codes & 0x7f) == 0x7f) | (codes == 0x80)] = 0x11  # no NaN in f8e4m3 or f8e4m3b11
n.save('g8.npy', codes.view('V1'))"
run 3 "g8.npy: untyped 1-byte elements ('|V1'); if they are FP8" "$ADACOMP" encode g8.npy -o x.adc
run 0 "" "$ADACOMP" encode g8.npy --dtype f8e4m3 -o g8.adc
run 0 "" "$ADACOMP" inspect --json g8.adc
check "an FP8 stream is format 2.1 and names its dtype" "$PY" -c "
import json; f = json.load(open('out.stdout'))['frames'][0]; assert f['format'] == '2.1' and f['dtype'] == 'f8e4m3', f"
run 0 "" "$ADACOMP" encode g8.npy --dtype f8e4m3 --entries fixed --exclude '*' -o g8fixed.adc
run 0 "" "$ADACOMP" inspect --json g8fixed.adc
check "fixed entries with an FP8 tensor are format 1.1" "$PY" -c "
import json; f = json.load(open('out.stdout'))['frames'][0]; assert f['format'] == '1.1', f"
check "the reference reads the C++ FP8 streams" "$PY" "$ROOT/tools/adacomp_ref.py" check g8.adc
run 0 "" "$ADACOMP" decode g8fixed.adc -o d8.npy
check "an FP8 passthrough decodes to the same V1 bytes" "$PY" -c "
import numpy as n; a, b = n.load('g8.npy'), n.load('d8.npy'); assert b.dtype == a.dtype and a.tobytes() == b.tobytes()"
run 0 "" "$ADACOMP" diff g8fixed.adc g8.npy --dtype f8e4m3
run 3 "g8.npy: untyped 1-byte elements" "$ADACOMP" diff g8fixed.adc g8.npy
run 0 "" "$ADACOMP" decode g8.adc -o d8c.safetensors
check "FP8 decodes to safetensors as F8_E4M3" grep -q F8_E4M3 d8c.safetensors
run 0 "" "$ADACOMP" encode g8.npy --dtype f8e4m3b11 -o g8b.adc
run 2 "is f8e4m3b11, which safetensors has no dtype for" "$ADACOMP" decode g8b.adc -o d8b.safetensors
check "a refused decode leaves no output" test ! -e d8b.safetensors

# --- output file policy -----------------------------------------------------------------------
cp s0.adc keep.adc
run 2 "keep.adc: already exists; use -f to overwrite" "$ADACOMP" encode "$G1" -o keep.adc
check "existing output untouched without -f" cmp -s keep.adc s0.adc
run 0 "" "$ADACOMP" encode "$G1" -o keep.adc -f
check "-f overwrites" differs keep.adc s0.adc
run 0 "" "$ADACOMP" encode "$G0" -o /dev/null
run 4 "write error" "$ADACOMP" encode "$G0" -o /dev/full
run 4 "write error" "$ADACOMP" decode s0.adc -o /dev/full --format npz
mkfifo fifo
cat fifo >from_fifo.adc &
run 0 "" "$ADACOMP" encode "$G0" -o fifo
wait
check "a FIFO output is written in place and stays a FIFO" test -p fifo
check "FIFO reader got the stream" cmp -s from_fifo.adc s0.adc
mkdir ro && chmod 555 ro
# Root writes anywhere, whatever the permission bits: as root (CI), the unwritable directory is
# tried as the user nobody, who needs to reach the binary, the input and this directory.
if [ "$(id -u)" != 0 ]; then
  run 4 "cannot create a file in ro" "$ADACOMP" encode "$G0" -o ro/x.adc
elif command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$ADACOMP" &&
  setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$G0" && chmod 755 "$WORK"; then
  run 4 "cannot create a file in ro" setpriv --reuid=65534 --regid=65534 --clear-groups "$ADACOMP" encode "$G0" -o ro/x.adc
  check "nothing was written into the unwritable directory" test -z "$(ls -A ro)"
else
  skipped=$((skipped + 1))
  echo "skipped: unwritable directory (root, and the user nobody cannot reach $ADACOMP or $G0)"
fi
run 2 "is a directory" "$ADACOMP" encode "$G0" -o ro
run 4 "cannot create a file in s0.adc" "$ADACOMP" encode "$G0" -o s0.adc/x.adc
check "an unwritable location leaves the input untouched" cmp -s s0.adc dash.adc
check "no temporary files left behind" no_temp_files .
# a closed stdout pipe is an I/O error, not a crash (output larger than a pipe buffer)
"$PY" -c "import numpy as n; n.save('big.npy', n.random.default_rng(1).laplace(size=1<<20).astype(n.float32))"
"$ADACOMP" encode big.npy -o big.adc
"$ADACOMP" decode big.adc --format raw 2>pipe.err | head -c 1 >/dev/null
check "closed pipe exits 4" test "${PIPESTATUS[0]}" = 4
check "closed pipe message" grep -q "write error" pipe.err
# interrupted: decode blocked on a FIFO input is killed; its temporary output must vanish
mkfifo slow_in
"$ADACOMP" decode slow_in -o interrupted.npz &
pid=$!
sleep 0.5
check "temporary output exists while running" bash -c "ls -a | grep -q 'interrupted.npz.adacomp-'"
kill -TERM $pid
wait $pid 2>/dev/null
check "SIGTERM removes the temporary output" no_temp_files .
check "SIGTERM leaves no output" test ! -e interrupted.npz

# --- terminals --------------------------------------------------------------------------------
if command -v script >/dev/null; then
  script -qec "$ADACOMP encode $G0" /dev/null >tty.out 2>&1
  check "refuses to write binary to a terminal" grep -q "refusing to write binary data to a terminal" tty.out
  script -qec "$ADACOMP decode -o x.npz" /dev/null >tty.out 2>&1
  check "refuses to read binary from a terminal" grep -q "refusing to read binary data from a terminal" tty.out
  script -qec "$ADACOMP replay $SAMPLE" /dev/null >tty.out 2>&1
  check "replay shows a progress bar on a terminal" grep -q "step 6/6" tty.out
  "$ADACOMP" replay "$SAMPLE" >replay.out 2>replay.err
  check "no progress bar when stderr is not a terminal" test ! -s replay.err
fi

# --- corrupt input: exit 3, nothing written ----------------------------------------------------
for bad_stream in "$GOLDEN"/invalid/*.adc; do
  name=$(basename "$bad_stream")
  run 3 "$name" "$ADACOMP" decode "$bad_stream" -o out.npz
  check "$name leaves no output" test ! -e out.npz
done
run 4 "missing.adc: cannot open" "$ADACOMP" decode missing.adc -o out.npz
"$PY" -c "
import numpy as n
d = dict(n.load('$G0')); d['fc1.weight'][3, 7] = n.nan
n.savez('nan.npz', **d)"
run 3 "tensor 'fc1.weight' element 391: gradient value is NaN" "$ADACOMP" encode nan.npz -o nan.adc
check "NaN input leaves no output" test ! -e nan.adc

# forged inputs cannot make adacomp allocate what the input does not justify: under a 400 MB
# address-space cap every forged file is a clean error (exit 3), never out of memory (exit 5).
# Sanitizer builds reserve terabytes of address space, so the cap only applies to plain builds.
if ! nm "$ADACOMP" 2>/dev/null | grep -q __asan_init; then
  "$PY" - <<'PYEOF'
import numpy as n, struct
open('forged-shape.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', 118) +
    b"{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }".ljust(117) + b'\n' + b'\0' * 64)
header = b'{"w":{"dtype":"F32","shape":[4000000000],"data_offsets":[0,16000000000]}}'
open('forged.safetensors', 'wb').write(struct.pack('<Q', len(header)) + header + b'\0' * 16)
PYEOF
  for forged in forged-shape.npy forged.safetensors "$GOLDEN"/invalid/*.adc; do
    (ulimit -v 400000; "$ADACOMP" decode "$forged" -o forged.npz >/dev/null 2>&1 ||
      "$ADACOMP" encode "$forged" -o forged.adc >/dev/null 2>&1)
    code=$?
    check "$(basename "$forged") under a memory cap: exit 3 (got $code)" test "$code" = 3
  done
fi

# --- residue file ------------------------------------------------------------------------------
run 0 "" "$ADACOMP" encode "$G0" --residue r.npz -o r0.adc
check "first encode creates the residue" test -f r.npz
cp r.npz r_after0.npz
run 0 "" "$ADACOMP" encode "$G1" --residue r.npz -o r1.adc
check "the residue changes over steps" differs r.npz r_after0.npz
check "the residue is a NumPy-readable float32 .npz" "$PY" -c "
import numpy as n; r=n.load('r.npz'); assert r['fc1.weight'].dtype==n.float32 and r['fc1.weight'].shape==(32,128)"
cp r.npz r_before.npz
"$PY" -c "
import numpy as n
d = dict(n.load('r.npz')); d['fc1.weight'] = d['fc1.weight'].T.copy(); n.savez('r_wrong.npz', **d)"
cp r_wrong.npz r_wrong_before.npz
run 3 "r_wrong.npz: residue of tensor 'fc1.weight' has shape [128,32], the tensor [32,128]" \
  "$ADACOMP" encode "$G1" --residue r_wrong.npz -o bad.adc
check "a failed encode keeps the residue file unchanged" cmp -s r_wrong.npz r_wrong_before.npz
check "and leaves no output" test ! -e bad.adc
run 3 "r.npz: residue holds tensor 'fc1.bias', which the input does not compress" \
  "$ADACOMP" encode "$G1" --residue r.npz --exclude 'fc1.bias' -o bad.adc
check "residue unchanged after a mismatch" cmp -s r.npz r_before.npz
run 4 "write error" "$ADACOMP" encode "$G1" --residue r.npz -o /dev/full
check "residue unchanged after an output write error" cmp -s r.npz r_before.npz
run 0 "" "$ADACOMP" encode "$G1" --residue r.safetensors -o rs.adc
check "safetensors residue is written" test -f r.safetensors
check "no temporary files left behind at the end" no_temp_files .

echo "cli: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
