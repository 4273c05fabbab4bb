#!/usr/bin/env python3
"""Tests of `adacomp inspect`, `diff` and `verify`. Every figure the tool prints is recomputed here
from the bytes with the independent reference reader (tools/adacomp_ref.py) and NumPy, never taken
from the tool itself. Streams: the golden vectors, streams made from the shipped sample and the
shared real dumps (when present), and corrupted / truncated copies.

usage: inspect_diff_tests.py ADACOMP_BINARY REPO_ROOT
"""
import glob
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
import adacomp_ref as ref  # noqa: E402

check, adacomp = T.check, T.run
GOLDEN = os.path.join(T.root, "format_spec", "golden")


def close(a, b, tol=1e-9):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def log2_bound(n, k):
    if k == 0:
        return 0.0
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2) + k


def layouts():
    """Golden stream -> the layout file it refers to."""
    manifest = json.load(open(os.path.join(GOLDEN, "vectors.json")))
    return {v["file"]: os.path.join(GOLDEN, v["layout"]) for v in manifest["valid"] if "layout" in v}


def expected_frames(data, layout=None):
    """Frame figures from the reference reader: offsets and the header/payload split it saw, ratios."""
    agreed = ref.read_layout(open(layout, "rb").read()) if layout else None
    out = list(ref.read_stream(data, agreed))
    for frame in out:
        frame["frame_bytes"] = frame["header"] + frame["stored"] + 4
        n = int(np.prod(frame["shape"])) if frame["shape"] else 1
        frame["elements"] = n
        size = ref.DTYPE_SIZE[frame["dtype"]]
        frame["ratio_source"] = n * size / frame["frame_bytes"]
        frame["ratio_f32"] = n * 4 / frame["frame_bytes"]
        frame["bits_per_element"] = 8 * frame["frame_bytes"] / n if n else None
    return out


def check_inspect(path, label, layout=None):
    data = open(path, "rb").read()
    expected = expected_frames(data, layout)
    result = adacomp("inspect", path, "--json", "--bins", *(["--layout", layout] if layout else []))
    check(result.returncode == 0, "%s: inspect exit %d %s" % (label, result.returncode, result.stderr))
    got = json.loads(result.stdout)
    check(len(got["frames"]) == len(expected), "%s: frame count" % label)
    for g, e in zip(got["frames"], expected):
        what = "%s frame %s" % (label, e["name"])
        check(g["name"] == e["name"] and g["dtype"] == e["dtype"] and g["shape"] == e["shape"], what + " identity")
        check(g["offset"] == e["offset"] and g["frame_bytes"] == e["frame_bytes"], what + " offset and size")
        check(g["bytes"]["header"] == e["header"] and g["bytes"]["payload_stored"] == e["stored"], what + " byte split")
        check(g["elements"] == e["elements"], what + " elements")
        check(close(g["ratio_source"], e["ratio_source"]) and close(g["ratio_f32"], e["ratio_f32"]), what + " ratios")
        check(close(g["bits_per_element"], e["bits_per_element"]), what + " bits per element")
        check(g["zstd"] == e["zstd"], what + " zstd flag")
        if e["kind"] == ref.KIND_COMPRESSED:
            coded = e.get("format") == ref.CODED_MAJOR
            w = ref.index_width(e["bin_size"])
            bins = len(e["bin_counts"])
            check(g["bin_size"] == e["bin_size"] and g["index_width"] == (None if coded else w), what + " T and W")
            check(g["entry_layout"] == ("coded" if coded else "fixed"), what + " entry layout")
            entry_bytes = e.get("entry_section", 0) if coded else (bins + len(e["entries"])) * w
            check(g["entry_coding"] == (e.get("entry_coding") if coded else None), what + " entry coding")
            check(g["entry_bits"] == 8 * entry_bytes, what + " entry bits")
            bound = log2_bound(e["elements"], len(e["entries"]))
            check(close(g["bound_bits"], bound, 1e-9) if bound else g["bound_bits"] in (0, None), what + " bound")
            check(g["framing_bytes"] == e["header"] + 4, what + " framing bytes")
            check(g["entries"] == len(e["entries"]) and g["bins"] == bins, what + " entries and bins")
            check(g["scale"] == float(e["scale"]), what + " scale")
            check(close(g["density"], len(e["entries"]) / e["elements"] if e["elements"] else 0.0), what + " density")
            if coded:
                check(g["bytes"]["bin_headers"] == 0 and g["bytes"]["entries"] == entry_bytes, what + " entry bytes")
            else:
                check(g["bytes"]["bin_headers"] == bins * w and g["bytes"]["entries"] == len(e["entries"]) * w,
                      what + " bin header and entry bytes")
            hist = {}
            for c in e["bin_counts"]:
                hist[str(c)] = hist.get(str(c), 0) + 1
            check(g["entries_per_bin"] == hist, what + " histogram")
            lengths = [min(e["bin_size"], e["elements"] - b * e["bin_size"]) for b in range(bins)]
            full = sum(1 for c, n in zip(e["bin_counts"], lengths) if c == n)
            empty = e["bin_counts"].count(0)
            if bins:
                check(close(g["empty_bin_share"], empty / bins) and close(g["full_bin_share"], full / bins),
                      what + " empty/full shares")
            if e["zstd"]:
                raw = (bins + len(e["entries"])) * w
                check(close(g["zstd_gain"], raw / e["stored"]), what + " zstd gain")
    total_bytes = sum(e["frame_bytes"] for e in expected)
    check(got["totals"]["frame_bytes"] == total_bytes and got["totals"]["bytes_read"] == len(data), label + " totals")
    check(got["error"] is None, label + " no error")
    return expected


def main():
    with tempfile.TemporaryDirectory() as tmp:
        # --- inspect ------------------------------------------------------------------------------
        agreed = layouts()
        for path in sorted(glob.glob(os.path.join(GOLDEN, "*.adc"))):
            check_inspect(path, os.path.basename(path), agreed.get(os.path.basename(path)))
        sources = [os.path.join(T.sample, "step-00000", "learner-0.npz")]
        if os.path.isdir(T.shared):
            sources += [os.path.join(T.shared, r, "step-00001", "learner-2.npz")
                        for r in ("cnn-digits", "mlp-digits", "cnn-digits-fp16")]
        else:
            T.skip("inspect of the shared real dumps: %s not present" % T.shared)
        streams = []
        for i, src in enumerate(sources):
            for args in ((), ("--zstd",)):
                out = os.path.join(tmp, "real-%d-%d.adc" % (i, len(args)))
                T.run_ok("encode", src, "-o", out, *args)
                check_inspect(out, os.path.basename(out))
                streams.append(out)
        text = adacomp("inspect", streams[0])
        check(text.returncode == 0 and "conv1.weight" in text.stdout and "total:" in text.stdout, "text inspect")
        piped = subprocess.run([T.adacomp_binary, "inspect", "--json"], stdin=open(streams[0], "rb"),
                               capture_output=True, text=True)
        check(piped.returncode == 0 and json.loads(piped.stdout)["source"] == "<stdin>", "inspect reads stdin")
        only = json.loads(adacomp("inspect", streams[0], "--json", "--frame", "fc*").stdout)
        check([f["name"] for f in only["frames"]] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
              "--frame glob filters frames")

        # truncated and corrupted: prints what it read, names the frame and offset, exits 3
        data = open(streams[0], "rb").read()
        frames = expected_frames(data)
        cut = frames[3]["offset"] + 20
        truncated = os.path.join(tmp, "truncated.adc")
        open(truncated, "wb").write(data[:cut])
        result = adacomp("inspect", truncated, "--json")
        got = json.loads(result.stdout)
        check(result.returncode == 3, "truncated stream exits 3")
        check(len(got["frames"]) == 3 and got["error"]["frame"] == 3, "truncated: the 3 whole frames are listed")
        check("frame 3 '%s' at byte %d" % (frames[3]["name"], frames[3]["offset"]) in got["error"]["message"],
              "truncated: error names frame 3 and its offset: %s" % got["error"]["message"])
        check(result.stderr.count("\n") == 1 and "truncated" in result.stderr, "truncated: one-line error on stderr")
        corrupt = bytearray(data)
        corrupt[frames[5]["offset"] + frames[5]["header"] + 1] ^= 0x04
        bad = os.path.join(tmp, "corrupt.adc")
        open(bad, "wb").write(bytes(corrupt))
        result = adacomp("inspect", bad)
        check(result.returncode == 3 and "checksum mismatch" in result.stderr
              and "frame 5 '%s' at byte %d" % (frames[5]["name"], frames[5]["offset"]) in result.stderr,
              "corrupt frame named: " + result.stderr)
        check(result.stdout.count("\n    4 %s " % frames[4]["name"]) == 1 and "\n    5 " not in result.stdout,
              "corrupt: frames before the bad one are printed, none after")

        # --- verify -------------------------------------------------------------------------------
        good = sorted(glob.glob(os.path.join(GOLDEN, "*.adc")))
        result = adacomp("verify", *good, *streams, "--layout", os.path.join(GOLDEN, "coded-layout.adl"))
        check(result.returncode == 0 and result.stdout.count(": OK") == len(good) + len(streams), "verify all good")
        result = adacomp("verify", os.path.join(GOLDEN, "coded-layout-reference.adc"))
        check(result.returncode == 3 and "give its layout file with --layout" in result.stderr,
              "verify names the missing layout")
        invalid = sorted(glob.glob(os.path.join(GOLDEN, "invalid", "*.adc")))
        for path in invalid:
            result = adacomp("verify", path)
            check(result.returncode == 3 and result.stderr.count("\n") == 1, "verify rejects " + path)
        result = adacomp("verify", good[0], bad, good[1], truncated)
        check(result.returncode == 3, "verify exits non-zero when one file fails")
        check(result.stdout.count(": OK") == 2 and result.stderr.count("\n") == 2, "verify: one line per file")
        check(adacomp("verify", os.path.join(tmp, "missing.adc")).returncode == 4, "verify: missing file exits 4")
        check(adacomp("verify", "-q", *good).stdout == "", "verify -q prints nothing for good files")

        # --- diff ---------------------------------------------------------------------------------
        src = sources[-1]
        a_path, b_path = os.path.join(tmp, "a.adc"), os.path.join(tmp, "b.adc")
        T.run_ok("encode", src, "-o", a_path)
        T.run_ok("encode", src, "-o", b_path, "--bin-size", "64", "--scale-factor", "3", "--exclude", "*2.bias")
        a_frames = {f["name"]: f for f in ref.read_stream(open(a_path, "rb").read())}
        b_frames = {f["name"]: f for f in ref.read_stream(open(b_path, "rb").read())}
        result = adacomp("diff", a_path, b_path, "--json")
        check(result.returncode == 1, "diff of different streams exits 1")
        got = json.loads(result.stdout)
        check(not got["same"] and got["only_in_a"] == [] and got["only_in_b"] == [], "diff summary")
        for t in got["tensors"]:
            fa, fb = a_frames[t["name"]], b_frames[t["name"]]
            va = fa["values"].astype(np.float64).ravel()
            vb = fb["values"].astype(np.float64).ravel()
            d = va - vb
            rmse = math.sqrt(np.mean(d * d))
            check(close(t["values"]["max_abs_error"], float(np.max(np.abs(d)))), t["name"] + " max abs error")
            check(close(t["values"]["rmse"], rmse, 1e-9), t["name"] + " rmse")
            check(close(t["values"]["rel_l2"], float(np.linalg.norm(d) / np.linalg.norm(vb)), 1e-9), t["name"] + " rel l2")
            cos = float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))
            check(close(t["values"]["cosine"], cos, 1e-9), t["name"] + " cosine")
            psnr = 20 * math.log10((vb.max() - vb.min()) / rmse) if rmse else None
            check(close(t["values"]["psnr_db"], psnr, 1e-9), t["name"] + " psnr")
            if fa["kind"] == ref.KIND_COMPRESSED and fb["kind"] == ref.KIND_COMPRESSED:
                def selected(frame):
                    out, e = {}, 0
                    for b, c in enumerate(frame["bin_counts"]):
                        for _ in range(c):
                            out[b * frame["bin_size"] + (frame["entries"][e] >> 2)] = frame["entries"][e] & 3
                            e += 1
                    return out
                sa, sb = selected(fa), selected(fb)
                common = set(sa) & set(sb)
                union = set(sa) | set(sb)
                sel = t["selection"]
                check(sel["common"] == len(common) and sel["only_in_a"] == len(set(sa) - set(sb))
                      and sel["only_in_b"] == len(set(sb) - set(sa)), t["name"] + " selection counts")
                check(close(sel["jaccard"], len(common) / len(union) if union else 1.0), t["name"] + " jaccard")
                check(sel["sign_disagreements"] == sum(1 for i in common if sa[i] != sb[i]), t["name"] + " signs")
                check(any(x.startswith("bin_size ") for x in t["differences"]), t["name"] + " bin size difference")
            else:
                check(t["selection"] is None and "kind compressed vs passthrough" in t["differences"],
                      t["name"] + " kind difference")
        # identical inputs, tolerance, stream vs tensor file, two tensor files, unmatched names
        check(adacomp("diff", a_path, a_path).returncode == 0, "a stream equals itself")
        check(adacomp("diff", "-q", a_path, b_path).stdout == "", "-q prints nothing")
        result = adacomp("diff", a_path, src, "--json")
        got = json.loads(result.stdout)
        errors = {t["name"]: t["values"]["rel_l2"] for t in got["tensors"]}
        grads = np.load(src)
        worst = max(float(np.linalg.norm(a_frames[n]["values"].astype(np.float64) - grads[n].astype(np.float64))
                          / np.linalg.norm(grads[n].astype(np.float64))) for n in grads.files)
        check(result.returncode == 1 and close(max(errors.values()), worst, 1e-9), "stream vs gradient errors")
        check(adacomp("diff", a_path, src, "--tolerance", str(worst * 1.0001)).returncode == 0, "within tolerance")
        check(adacomp("diff", a_path, src, "--tolerance", str(worst * 0.99)).returncode == 1, "above tolerance")
        check(adacomp("diff", src, src).returncode == 0, "a tensor file equals itself")
        partial = os.path.join(tmp, "partial.npz")
        arrays = dict(np.load(src))
        del arrays["fc1.bias"]
        arrays["extra"] = np.zeros(3, np.float32)
        np.savez(partial, **arrays)
        got = json.loads(adacomp("diff", src, partial, "--json").stdout)
        check(got["only_in_a"] == ["fc1.bias"] and got["only_in_b"] == ["extra"] and not got["same"], "unmatched names")
        check(adacomp("diff", src, partial, "--tolerance", "1").returncode == 1, "unmatched names differ at any tolerance")
        check(adacomp("diff", a_path, os.path.join(tmp, "missing")).returncode == 4, "diff: missing file exits 4")
        check(adacomp("diff", a_path, bad).returncode == 3, "diff: corrupt stream exits 3")
        check(adacomp("diff", a_path, b_path, "--tolerance", "-1").returncode == 2, "diff: usage error exits 2")
    return T.finish("inspect/diff/verify")


if __name__ == "__main__":
    sys.exit(main())
