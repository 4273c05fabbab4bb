#!/usr/bin/env python3
"""Cross-checks the adacomp CLI against the independent Python reference (tools/adacomp_ref.py).

For the shipped sample dump and the shared real dumps (skipped when ../shared is absent): a loop of
`adacomp encode --residue` calls over learner 0's steps (one learner, as a user would run it) must
produce streams that the reference reader decodes to exactly the reference algorithm's values, a
residue file equal to the reference residue, and `adacomp decode` output equal to both. Options
(--bin-size globs, --exclude, --scale-factor, --zstd, f16 and bf16 sources) are checked on the
frames the reference reader sees.

usage: reference_crosscheck.py ADACOMP_BINARY REPO_ROOT
"""
import glob
import os
import sys
import tempfile

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
ROOT = T.root
import adacomp_ref as ref  # noqa: E402

check, run = T.check, T.run_ok


def same_bits(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def default_bin_size(shape):
    return ref.default_bin_size(len(shape))


def replay_learner(run_dir, tmp, extra_args=(), bin_size_of=None, scale_factor=2.0, excluded=lambda n: False):
    steps = sorted(glob.glob(os.path.join(run_dir, "step-*", "learner-0.npz")))
    check(len(steps) > 0, "no steps in " + run_dir)
    residue_file = os.path.join(tmp, "residue.npz")
    if os.path.exists(residue_file):
        os.remove(residue_file)
    residues = {}
    for step in steps:
        stream = os.path.join(tmp, "s.adc")
        decoded_file = os.path.join(tmp, "d.npz")
        run("encode", step, "--residue", residue_file, "-o", stream, "-f", *extra_args)
        run("decode", stream, "-o", decoded_file, "-f", "--dtype", "f32")
        grads = np.load(step)
        frames = list(ref.read_stream(open(stream, "rb").read()))
        decoded_cli = np.load(decoded_file)
        check([f["name"] for f in frames] == list(grads.files), "frame order follows file order in " + step)
        for frame in frames:
            name = frame["name"]
            g = grads[name].astype(np.float32)
            if excluded(name):
                check(frame["kind"] == ref.KIND_PASSTHROUGH, name + " is passthrough")
                check(same_bits(frame["values"], g), name + " passthrough exact")
                continue
            T = bin_size_of(name, g.shape) if bin_size_of else default_bin_size(g.shape)
            check(frame["bin_size"] == T, "%s bin size %d, expected %d" % (name, frame["bin_size"], T))
            r = residues.get(name, np.zeros(g.size, np.float32))
            counts, entries, scale, decoded, residues[name] = ref.compress(g, r, T, scale_factor)
            check(frame["bin_counts"] == counts and frame["entries"] == entries, name + " entries in " + step)
            check(np.float32(frame["scale"]) == scale, name + " scale in " + step)
            check(same_bits(frame["values"].ravel(), decoded), name + " reference reader values in " + step)
            check(same_bits(decoded_cli[name].ravel(), decoded), name + " adacomp decode values in " + step)
        stored = np.load(residue_file)
        check(sorted(stored.files) == sorted(residues), "residue file holds the compressed tensors")
        for name, r in residues.items():
            check(same_bits(stored[name].ravel(), r), "residue of %s after %s" % (name, step))
    return residues


def check_wide_frames(tmp):
    """Frames of 2^15 entries or more are coded on 32 rANS lanes by the vector coder: the CLI's
    stream must be the reference encoder's byte for byte, on one thread and two, for one row and
    for many (the signs' new-row contexts)."""
    rng = np.random.default_rng(7)
    for shape, T in (((400000,), 8), ((600, 500), 4)):
        g = rng.laplace(0.0, 1e-3, size=shape).astype(np.float32)
        source = os.path.join(tmp, "wide.npy")
        np.save(source, g)
        counts, entries, scale, decoded, _ = ref.compress(g.ravel(), np.zeros(g.size, np.float32), T, 2.0)
        check(len(entries) >= 1 << 15, "%s: %d entries, enough for 32 lanes" % (shape, len(entries)))
        label = "wide frame %s, T = %d" % (shape, T)
        for threads in ("1", "2"):
            stream = os.path.join(tmp, "wide.adc")
            run("encode", source, "--bin-size", str(T), "--threads", threads, "-o", stream, "-f")
            data = open(stream, "rb").read()
            frame = next(ref.read_stream(data))
            check(frame.get("interleave") == 32, "%s: 32 rANS lanes (%s)" % (label, frame.get("interleave")))
            expected = ref.coded_stream([ref.coded_frame(frame["name"], "f32", list(shape), T, counts, entries, scale)])
            check(data == expected, "%s, %s threads: the reference encoder's bytes" % (label, threads))
            check(same_bits(frame["values"].ravel(), decoded), "%s: the reference reader's values" % label)


def main():
    runs = [os.path.join(ROOT, "samples", "digits-cnn-tiny")]
    shared = T.shared
    if os.path.isdir(shared):
        runs += [os.path.join(shared, n) for n in ("cnn-digits", "mlp-digits", "cnn-digits-fp16")]
    else:
        T.skip("cross-check of the shared real dumps: %s not present" % shared)
    with tempfile.TemporaryDirectory() as tmp:
        for run_dir in runs:
            replay_learner(run_dir, tmp)
        check_wide_frames(tmp)
        sample = runs[0]
        # options: globs (last match wins, globs before the plain N), exclusion, k, zstd
        rules = lambda name, shape: 64 if name.startswith("fc") else 100  # noqa: E731
        replay_learner(sample, tmp, ("--bin-size", "7", "--bin-size", "fc*=64", "--bin-size", "100",
                                     "--exclude", "*.bias", "--scale-factor", "3", "--zstd=5"),
                       bin_size_of=rules, scale_factor=3.0, excluded=lambda n: n.endswith(".bias"))
        # f16 and bf16 sources: decoded output in the source dtype by default
        g = np.load(os.path.join(sample, "step-00000", "learner-1.npz"))["fc1.weight"]
        np.save(os.path.join(tmp, "h.npy"), g.astype(np.float16))
        bits = ref.bf16_bits(g.astype(np.float32))
        np.save(os.path.join(tmp, "b.npy"), bits.view(np.dtype("V2")))
        run("encode", os.path.join(tmp, "h.npy"), "-o", os.path.join(tmp, "h.adc"))
        run("decode", os.path.join(tmp, "h.adc"), "-o", os.path.join(tmp, "h_out.npy"))
        h_frame = next(ref.read_stream(open(os.path.join(tmp, "h.adc"), "rb").read()))
        h_out = np.load(os.path.join(tmp, "h_out.npy"))
        check(h_frame["dtype"] == "f16" and h_out.dtype == np.float16, "f16 source stays f16")
        check(np.array_equal(h_out, h_frame["values"].astype(np.float16)), "f16 decoded values")
        run("encode", os.path.join(tmp, "b.npy"), "--dtype", "bf16", "-o", os.path.join(tmp, "b.adc"))
        run("decode", os.path.join(tmp, "b.adc"), "-o", os.path.join(tmp, "b_out.safetensors"))
        b_frame = next(ref.read_stream(open(os.path.join(tmp, "b.adc"), "rb").read()))
        check(b_frame["dtype"] == "bf16", "bf16 source recorded")
        raw = open(os.path.join(tmp, "b_out.safetensors"), "rb").read()
        check(b'"dtype":"BF16"' in raw, "bf16 written back as BF16 in safetensors")
        expected_bits = ref.bf16_bits(b_frame["values"].astype(np.float32).ravel())
        check(raw.endswith(expected_bits.astype("<u2").tobytes()), "bf16 decoded values")
    return T.finish("reference")


if __name__ == "__main__":
    sys.exit(main())
