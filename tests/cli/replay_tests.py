#!/usr/bin/env python3
"""Tests of `adacomp replay` against an independent replay written here with NumPy and the Python
reference codec (tools/adacomp_ref.py), on the shipped sample dump and the shared real dumps
(skipped when ../shared is absent), plus every bad-dump case.

usage: replay_tests.py ADACOMP_BINARY REPO_ROOT
"""
import csv
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
import adacomp_ref as ref  # noqa: E402

SAMPLE, SHARED = T.sample, T.shared
check, adacomp = T.check, T.run


def rel(a, b):
    a = np.concatenate([np.ravel(x).astype(np.float64) for x in a])
    b = np.concatenate([np.ravel(x).astype(np.float64) for x in b])
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def reference_replay(dump, learners=None, steps=None, warmup=0, exclude=lambda n: False, scale_factor=2.0,
                     entries="coded", layout=False):
    """layout: frames refer to the dump's agreed layout (replay --layout)."""
    """Straightforward replay: reference codec per learner, float64 average, float32 SGD."""
    meta = json.load(open(os.path.join(dump, "meta.json")))
    lr, momentum = np.float32(meta["lr"]), np.float32(meta.get("momentum", 0.0))
    step_dirs = sorted(glob.glob(os.path.join(dump, "step-*")))
    if steps:
        step_dirs = [d for d in step_dirs if steps[0] <= int(d[-5:]) < steps[1]]
    L = learners or len(glob.glob(os.path.join(step_dirs[0], "learner-*.npz")))
    init = np.load(os.path.join(dump, "init.npz"))
    names = list(np.load(os.path.join(step_dirs[0], "learner-0.npz")).files)
    w_c = {n: init[n].astype(np.float32).ravel() for n in names}
    w_b = {n: v.copy() for n, v in w_c.items()}
    v_c = {n: np.zeros_like(v) for n, v in w_c.items()}
    v_b = {n: np.zeros_like(v) for n, v in w_c.items()}
    residues = [{} for _ in range(L)]
    per_step = []
    first = np.load(os.path.join(step_dirs[0], "learner-0.npz"))
    tensors = [(ref.KIND_PASSTHROUGH, "f32", n, list(first[n].shape), None) if exclude(n) else
               (ref.KIND_COMPRESSED, {"float32": "f32", "float16": "f16"}[str(first[n].dtype)], n,
                list(first[n].shape), ref.default_bin_size(first[n].ndim)) for n in names]
    skip = 0 if layout else None
    for s, d in enumerate(step_dirs):
        sums_c = {n: np.zeros(w_c[n].size) for n in names}
        sums_b = {n: np.zeros(w_c[n].size) for n in names}
        wire = {n: 0 for n in names}
        streams = []
        for learner in range(L):
            grads = np.load(os.path.join(d, "learner-%d.npz" % learner))
            frames = []
            for n in names:
                g = grads[n]
                dtype = {"float32": "f32", "float16": "f16"}[str(g.dtype)]
                g32 = g.astype(np.float32).ravel()
                if s < warmup or exclude(n):
                    if entries == "coded":
                        frame = ref.compact_passthrough_frame(n, dtype, g.astype(np.float32), index_skip=skip)
                    else:
                        frame = ref.passthrough_frame(n, dtype, g.astype(np.float32))
                    decoded = g32
                else:
                    T = ref.default_bin_size(g.ndim)
                    r = residues[learner].get(n, np.zeros(g32.size, np.float32))
                    counts, selected, scale, decoded, residues[learner][n] = ref.compress(g32, r, T, scale_factor)
                    if entries == "coded":
                        frame = ref.coded_frame(n, dtype, list(g.shape), T, counts, selected, scale, skip)
                    else:
                        frame = ref.compressed_frame(n, dtype, list(g.shape), T, counts, selected, scale)
                frames.append(frame)
                wire[n] += len(frame)
                sums_c[n] += decoded
                sums_b[n] += g32
            reference_record = ref.layout_record(tensors, reference=True) if layout else b""
            streams.append(ref.coded_stream(frames, reference_record) if entries == "coded" else ref.stream(frames))
        for n in names:
            a_c = (sums_c[n] / L).astype(np.float32)
            a_b = (sums_b[n] / L).astype(np.float32)
            v_c[n] = (momentum * v_c[n] + a_c).astype(np.float32)
            w_c[n] = (w_c[n] + (-lr) * v_c[n]).astype(np.float32)
            v_b[n] = (momentum * v_b[n] + a_b).astype(np.float32)
            w_b[n] = (w_b[n] + (-lr) * v_b[n]).astype(np.float32)
        per_step.append({"step": int(d[-5:]), "wire": wire, "streams": streams})
    return names, w_c, w_b, per_step, tensors


def check_replay(dump, tmp, label, args=(), **reference_args):
    report_json = os.path.join(tmp, "r.json")
    weights = os.path.join(tmp, "w.npz")
    baseline = os.path.join(tmp, "b.safetensors")
    streams = os.path.join(tmp, "streams")
    result = adacomp("replay", dump, "--report", report_json, "--save-weights", weights, "--save-baseline", baseline,
                     "--save-stream", streams, "-f", "-q", *args)
    check(result.returncode == 0, "%s: replay exit %d: %s" % (label, result.returncode, result.stderr))
    if result.returncode:
        return None
    report = json.load(open(report_json))
    names, w_c, w_b, per_step, tensors = reference_replay(dump, **reference_args)
    if reference_args.get("layout"):
        layout_file = args[list(args).index("--layout") + 1]
        check(open(layout_file, "rb").read() == ref.coded_stream([], ref.layout_record(tensors)),
              "%s: the layout file replay wrote is the reference's" % label)
    got_c = np.load(weights)
    got_b = read_safetensors(baseline)
    # The reference sums the dense decoded tensors; replay scatters the entries (same float64 sums
    # in learner order) and applies the same float32 SGD: the weights must agree bit for bit.
    check(all(np.array_equal(got_c[n].ravel(), w_c[n]) for n in names),
          "%s: compressed weights bit-identical to the independent dense replay" % label)
    check(all(np.array_equal(got_b[n].ravel(), w_b[n]) for n in names),
          "%s: baseline weights bit-identical to the independent replay" % label)
    check(rel([got_b[n] for n in names], [w_b[n] for n in names]) <= 1e-5,
          "%s: baseline weights vs independent replay" % label)
    final = np.load(os.path.join(dump, "final.npz"))
    if not reference_args.get("steps") and not reference_args.get("learners"):
        check(rel([got_b[n] for n in names], [final[n] for n in names]) <= 1e-5, "%s: baseline vs final.npz" % label)
        check(report["total"]["baseline_vs_final"] <= 1e-5, "%s: reported baseline_vs_final" % label)
    check([s["step"] for s in report["steps"]] == [s["step"] for s in per_step], "%s: steps replayed" % label)
    for got, want in zip(report["steps"], per_step):
        check([t["wire_bytes"] for t in got["tensors"]] == [want["wire"][n] for n in names],
              "%s: step %d wire bytes per tensor" % (label, want["step"]))
        for learner, stream in enumerate(want["streams"]):
            path = os.path.join(streams, "step-%05d" % want["step"], "learner-%d.adc" % learner)
            check(open(path, "rb").read() == stream, "%s: exchanged stream %s byte-identical" % (label, path))
    return report


def read_safetensors(path):
    data = open(path, "rb").read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype="<f4").reshape(info["shape"])
    return out


def expect_failure(dump, tmp, code, needle, label, *args):
    report = os.path.join(tmp, "bad-report.json")
    weights = os.path.join(tmp, "bad-weights.npz")
    result = adacomp("replay", dump, "--report", report, "--save-weights", weights, "--save-stream",
                     os.path.join(tmp, "bad-streams"), *args)
    lines = result.stderr.strip().splitlines()
    check(result.returncode == code, "%s: exit %d (expected %d): %s" % (label, result.returncode, code, result.stderr))
    check(len(lines) == 1 and needle in lines[0], "%s: one-line error with %r, got %r" % (label, needle, result.stderr))
    check(not os.path.exists(report) and not os.path.exists(weights) and not os.path.exists(os.path.join(tmp, "bad-streams")),
          "%s: no report, weights or stream directory left" % label)
    check(not [f for f in os.listdir(tmp) if "adacomp-" in f], "%s: no temporary files left" % label)


def bad_dump_cases(tmp):
    def fresh(name):
        path = os.path.join(tmp, name)
        shutil.copytree(SAMPLE, path)
        return path

    d = fresh("missing-learner")
    os.remove(os.path.join(d, "step-00003", "learner-1.npz"))
    expect_failure(d, tmp, 3, "step-00003: 1 learners, but step-00000 has 2", "missing learner file")

    d = fresh("missing-tensor")
    f = os.path.join(d, "step-00002", "learner-1.npz")
    arrays = dict(np.load(f))
    del arrays["fc1.bias"]
    np.savez(f, **arrays)
    expect_failure(d, tmp, 3, "step-00002/learner-1.npz: tensor 'fc1.bias' is missing", "missing tensor")

    d = fresh("wrong-shape")
    f = os.path.join(d, "step-00004", "learner-0.npz")
    arrays = dict(np.load(f))
    arrays["fc1.weight"] = arrays["fc1.weight"].T.copy()
    np.savez(f, **arrays)
    expect_failure(d, tmp, 3, "step-00004/learner-0.npz: tensor 'fc1.weight' has shape [128,32] but [32,128]",
                   "wrong shape")

    d = fresh("wrong-dtype")
    f = os.path.join(d, "step-00001", "learner-1.npz")
    arrays = dict(np.load(f))
    arrays["fc2.weight"] = arrays["fc2.weight"].astype(np.float16)
    np.savez(f, **arrays)
    expect_failure(d, tmp, 3, "step-00001/learner-1.npz: tensor 'fc2.weight' is f16 but f32", "wrong dtype")

    d = fresh("nan")
    f = os.path.join(d, "step-00005", "learner-1.npz")
    arrays = dict(np.load(f))
    arrays["fc2.bias"][4] = np.inf
    np.savez(f, **arrays)
    expect_failure(d, tmp, 3, "step-00005/learner-1.npz: tensor 'fc2.bias' element 4: gradient value is infinite",
                   "non-finite gradient")

    d = fresh("garbage")
    with open(os.path.join(d, "step-00002", "learner-0.npz"), "wb") as out:
        out.write(b"PK\x03\x04 this is not a zip archive")
    expect_failure(d, tmp, 3, "step-00002/learner-0.npz: not a valid .npz (ZIP) archive", "unreadable file")

    d = fresh("no-lr")
    meta = json.load(open(os.path.join(d, "meta.json")))
    del meta["lr"]
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"))
    expect_failure(d, tmp, 2, "the learning rate is unknown", "missing lr")
    check(adacomp("replay", d, "--lr", "0.05", "-q").returncode == 0, "--lr supplies a missing lr")

    d = fresh("init-mismatch")
    arrays = dict(np.load(os.path.join(d, "init.npz")))
    arrays["conv1.weight"] = arrays["conv1.weight"][:4]
    np.savez(os.path.join(d, "init.npz"), **arrays)
    expect_failure(d, tmp, 3, "init.npz: tensor 'conv1.weight' has shape [4,1,3,3] but the gradients have [8,1,3,3]",
                   "init shape")

    d = fresh("no-steps")
    for s in glob.glob(os.path.join(d, "step-*")):
        shutil.rmtree(s)
    expect_failure(d, tmp, 3, "no step-NNNNN directories", "no steps")
    expect_failure(os.path.join(tmp, "does-not-exist"), tmp, 4, "not a directory", "missing dump")
    expect_failure(SAMPLE, tmp, 2, "--learners 3: the dump has 2 learners", "too many learners", "--learners", "3")

    # a learner file removed while the replay runs: step 3 is a FIFO, so the replay waits there
    # while the test removes a file of step 4, then feeds the FIFO
    d = fresh("removed-mid-run")
    step3 = os.path.join(d, "step-00003", "learner-0.npz")
    content = open(step3, "rb").read()
    os.remove(step3)
    os.mkfifo(step3)
    report = os.path.join(tmp, "mid-run.json")
    proc = subprocess.Popen([T.adacomp_binary, "replay", d, "--report", report], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # a non-blocking open for writing succeeds only once the replay has opened the FIFO for reading
    deadline = time.time() + 60
    while True:
        try:
            fd = os.open(step3, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                fd = None
                break
            time.sleep(0.01)
    if fd is not None:
        os.remove(os.path.join(d, "step-00004", "learner-1.npz"))
        os.set_blocking(fd, True)
        os.write(fd, content)
        os.close(fd)
    _, err = proc.communicate(timeout=60)
    check(proc.returncode == 4 and "step-00004/learner-1.npz: cannot open" in err and err.count("\n") == 1,
          "input removed mid-run: exit 4 naming the file, got %d %r" % (proc.returncode, err))
    check(not os.path.exists(report), "input removed mid-run: no report left")

    # a full disk: the report cannot be written, the existing weights file keeps its content
    keep_weights = os.path.join(tmp, "keep-weights.npz")
    open(keep_weights, "wb").write(b"previous weights")
    result = adacomp("replay", SAMPLE, "--report", "/dev/full", "--save-weights", keep_weights, "-f")
    check(result.returncode == 4 and "write error" in result.stderr, "report to /dev/full exits 4")
    check(open(keep_weights, "rb").read() == b"previous weights", "weights file untouched after a write error")

    # an existing report stays as it was when the replay fails
    d = fresh("keep-report")
    os.remove(os.path.join(d, "step-00003", "learner-0.npz"))
    keep = os.path.join(tmp, "keep.json")
    open(keep, "w").write("previous")
    result = adacomp("replay", d, "--report", keep, "-f")
    check(result.returncode == 3 and open(keep).read() == "previous", "failed replay keeps an existing report")


def codec_cases(tmp):
    """replay --codec: the comparison block, its payload bytes from the codecs' rules, its ranking."""
    out = os.path.join(tmp, "codecs.json")
    plain = os.path.join(tmp, "plain.json")
    weights = os.path.join(tmp, "codecs-w.npz")
    result = adacomp("replay", SAMPLE, "--codec", "all", "--codec", "topk:ratio=0.1,ef=0", "--report", out,
                     "--save-weights", weights, "-f")
    check(result.returncode == 0, "--codec all: exit %d: %s" % (result.returncode, result.stderr))
    if result.returncode:
        return
    check("codecs side by side" in result.stdout, "--codec prints the side-by-side table")
    adacomp("replay", SAMPLE, "--report", plain, "--save-weights", os.path.join(tmp, "plain-w.npz"), "-q", "-f")
    report, base = json.load(open(out)), json.load(open(plain))
    check(open(weights, "rb").read() == open(os.path.join(tmp, "plain-w.npz"), "rb").read(),
          "--codec leaves the AdaComp run's weights as they are")
    codecs = {c["codec"]: c for c in report["codecs"]}
    sizes = [int(np.prod(t["shape"])) for t in base["tensors"]]
    momentum = "%.9g" % base["momentum"]
    check(set(codecs) == {"adacomp", "adacomp-hipress:T=64", "adacomp-gradcomp:c=3", "topk:ratio=0.01,ef=1",
                          "randomk:ratio=0.01,ef=1", "dgc:ratio=0.001,momentum=%s,warmup=0" % momentum,
                          "powersgd:rank=2", "efsignsgd:ef=1", "onebit:ef=1", "terngrad:ef=0", "natural:ef=0",
                          "qsgd:levels=4,bucket=512,ef=0", "sbc:ratio=0.01,ef=1", "threelc:s=1.0,ef=1",
                          "fp8:format=e5m2,ef=0", "fp8:format=e4m3,ef=0", "fp4:ef=0",
                          "gennorm-huffman:bits=8,table=gennorm,ef=0", "gennorm-huffman:bits=8,table=empirical,ef=0",
                          "signsgd", "topk:ratio=0.1,ef=0"},
          "one block per codec: %s" % sorted(codecs))
    dgc = codecs.get("dgc:ratio=0.001,momentum=%s,warmup=0" % momentum, {})
    check("without momentum" in dgc.get("note", ""), "the report says DGC's tensors ran without the SGD's momentum")
    for t, shape in zip(dgc.get("tensors", []), [t["shape"] for t in base["tensors"]]):
        n = int(np.prod(shape))
        bound = 4 * n if len(shape) < 2 else 8 * math.ceil(n * 0.001)
        check(t["payload_bytes"] <= len(base["steps"]) * base["learners"] * bound and
              (len(shape) >= 2 or t["payload_bytes"] == len(base["steps"]) * base["learners"] * bound),
              "dgc %s: f32 for rank 1, at most ceil(n ratio) entries of 8 bytes else" % t["name"])
    check(all(c["note"] == "" for c in report["codecs"] if not c["codec"].startswith("dgc")), "no note elsewhere")
    # 1 bit per element (+ one f32 per tensor, or two per column of [shape0, -1]); TernGrad 2 bits
    bits = lambda n, w: (n * w + 7) // 8  # noqa: E731
    columns = [int(np.prod(t["shape"][1:])) if len(t["shape"]) >= 2 else 1 for t in base["tensors"]]
    per_step = {"efsignsgd:ef=1": sum(4 + bits(n, 1) for n in sizes),
                "onebit:ef=1": sum(8 * c + bits(n, 1) for n, c in zip(sizes, columns)),
                "terngrad:ef=0": sum(4 + bits(n, 2) for n in sizes),
                "natural:ef=0": sum(bits(n, 9) for n in sizes),
                "signsgd": sum(bits(n, 1) for n in sizes),
                "fp8:format=e5m2,ef=0": sum(4 + n for n in sizes),
                "fp8:format=e4m3,ef=0": sum(4 + n for n in sizes),
                "fp4:ef=0": sum(4 + bits(n, 4) for n in sizes)}
    shapes = [t["shape"] for t in base["tensors"]]
    # PowerSGD: P and Q of rank r = min(rows, columns, 2) for matrices, the f32 tensor otherwise
    power = lambda shape: (4 * min(shape[0], int(np.prod(shape[1:])), 2) * (shape[0] + int(np.prod(shape[1:])))  # noqa: E731
                           if len(shape) >= 2 else 4 * int(np.prod(shape)))
    per_step["powersgd:rank=2"] = sum(power(shape) for shape in shapes)
    for name, size in per_step.items():
        check(codecs[name]["payload_bytes"] == len(base["steps"]) * base["learners"] * size,
              "%s payload bytes from its rule" % name)
    check(codecs["adacomp"]["payload_bytes"] == base["total"]["wire_bytes"], "adacomp's bytes are the wire's")
    steps, learners = len(base["steps"]), base["learners"]
    k = lambda n, ratio: min(n, max(1, math.floor(n * ratio)))  # noqa: E731
    check(codecs["topk:ratio=0.1,ef=0"]["payload_bytes"] == steps * learners * sum(8 * k(n, 0.1) for n in sizes),
          "top-k payload: 8 bytes per selected element, k = max(1, floor(n ratio))")
    check(codecs["randomk:ratio=0.01,ef=1"]["payload_bytes"] == steps * learners * sum(4 * k(n, 0.01) for n in sizes),
          "random-k payload: 4 bytes per selected element")
    check(all(c["f32_bytes"] == steps * learners * 4 * sum(sizes) for c in report["codecs"]), "f32 bytes")
    ratios = [c["ratio_source"] for c in report["codecs"]]
    check(ratios == sorted(ratios, reverse=True), "codecs ordered by ratio")
    check(any(c["pareto"] for c in report["codecs"]), "a Pareto front is marked")
    check(all(c["weight_drift"] is not None and c["weight_drift"] > 0 for c in report["codecs"]), "drift per codec")
    check(all(len(c["step_bytes"]) == steps and len(c["tensors"]) == len(sizes) for c in report["codecs"]),
          "bytes per step and per tensor")
    check(report["codecs"] == json.load(open(out))["codecs"], "report readable")
    again = os.path.join(tmp, "codecs-again.json")
    adacomp("replay", SAMPLE, "--codec", "randomk", "--report", again, "-q", "-f")
    first = [c for c in report["codecs"] if c["codec"] == "randomk:ratio=0.01,ef=1"][0]
    second = json.load(open(again))["codecs"][0]
    check(first["weight_drift"] == second["weight_drift"], "a seeded replay is reproducible")
    seeded = os.path.join(tmp, "codecs-seed.json")
    adacomp("replay", SAMPLE, "--codec", "randomk", "--seed", "5", "--report", seeded, "-q", "-f")
    check(json.load(open(seeded))["codecs"][0]["weight_drift"] != first["weight_drift"], "--seed changes the draw")
    # Warm-up steps go uncompressed and averaged for every codec, the vote of signsgd included.
    warm = os.path.join(tmp, "codecs-warm.json")
    result = adacomp("replay", SAMPLE, "--codec", "signsgd", "--codec", "topk", "--warmup-steps", "6", "--report",
                     warm, "-q", "-f")
    check(result.returncode == 0, "--codec with warm-up: exit %d: %s" % (result.returncode, result.stderr))
    if result.returncode == 0:
        warm_codecs = json.load(open(warm))["codecs"]
        check(all(c["weight_drift"] == 0 and c["payload_bytes"] == c["f32_bytes"] for c in warm_codecs),
              "warm-up steps: float32 bytes and the baseline's weights for every codec")
    for spec, needle in (("nosuch", "--codec nosuch: no such codec"), ("topk:ratio=2", "ratio must be"),
                         ("topk:k=3", "no parameter 'k'")):
        result = adacomp("replay", SAMPLE, "--codec", spec, "-q")
        lines = result.stderr.strip().splitlines()
        check(result.returncode == 2 and len(lines) == 1 and needle in lines[0],
              "--codec %s: exit 2, one line with %r: %r" % (spec, needle, result.stderr))
    # Every codec on the shared real dumps: the table, finite figures, a drift for each.
    for name in ("cnn-digits", "mlp-digits", "cnn-digits-fp16"):
        dump = os.path.join(SHARED, name)
        if not os.path.isdir(dump):
            T.skip("--codec all on %s: %s not present" % (name, SHARED))
            continue
        shared = os.path.join(tmp, "codecs-%s.json" % name)
        result = adacomp("replay", dump, "--codec", "all", "--report", shared, "-q", "-f")
        check(result.returncode == 0, "--codec all on %s: exit %d: %s" % (name, result.returncode, result.stderr))
        if result.returncode == 0:
            blocks = json.load(open(shared))["codecs"]
            check(len(blocks) == len(codecs) - 1 and all(
                math.isfinite(c["ratio_source"]) and c["ratio_source"] > 1 and c["weight_drift"] is not None and
                math.isfinite(c["weight_drift"]) and math.isfinite(c["mean_update_rel_l2"]) for c in blocks),
                "--codec all on %s: every codec with a ratio above 1 and finite figures" % name)
    listing = adacomp("codecs")
    names = ("adacomp", "adacomp-hipress", "adacomp-gradcomp", "topk", "randomk", "dgc", "powersgd", "onebit", "signsgd",
             "efsignsgd", "terngrad", "qsgd", "sbc", "threelc", "natural", "fp8", "fp4", "gennorm-huffman")
    check(listing.returncode == 0 and all(name + ":" in listing.stdout for name in names),
          "adacomp codecs lists the codecs")


def network_cases(tmp):
    """replay --network: the what-if's times recomputed here from the report's own measured figures."""
    out = os.path.join(tmp, "network.json")
    result = adacomp("replay", SAMPLE, "--network", "10Gbit,5us", "--network", "1GB", "--project-learners", "8,64",
                     "--warmup-steps", "1", "--report", out, "-f")
    check(result.returncode == 0, "--network: exit %d: %s" % (result.returncode, result.stderr))
    if result.returncode:
        return
    check("network what-if" in result.stdout, "--network prints its table")
    report = json.load(open(out))
    rows = report["network"]
    check([(r["network"], r["learners"], r["measured"]) for r in rows] ==
          [(n, w, w == report["learners"]) for n in ("10Gbit,5us", "1GB") for w in (report["learners"], 8, 64)],
          "one row per setting: the dump's learners, then each projected count")
    steps = [s for s in report["steps"] if not s["warmup"]]
    learners = report["learners"]
    sizes = [int(np.prod(t["shape"])) for t in report["tensors"]]
    per_learner = [sum(s["learner_stream_bytes"][l] for s in steps) / len(steps) for l in range(learners)]
    encode = sum(s["times"]["encode_s"] for s in steps) / (len(steps) * learners)
    decode = sum(s["times"]["decode_s"] for s in steps) / (len(steps) * learners)
    compressed = [any(s["tensors"][t]["compressed"] for s in steps) for t in range(len(sizes))]
    density = [sum(s["tensors"][t]["density"] for s in steps) / len(steps) for t in range(len(sizes))]
    nonzeros = [sum(s["tensors"][t]["update_nonzeros"] for s in steps) / len(steps) for t in range(len(sizes))]
    close = lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-30)  # noqa: E731
    for r in rows:
        w, alpha, beta = r["learners"], r["latency_s"], 1.0 / r["bandwidth_bytes_per_s"]
        if r["measured"]:
            total, smallest = sum(per_learner), min(per_learner)
            nz = nonzeros
        else:
            smallest = sum(per_learner) / learners
            total = w * smallest
            nz = [n * (1 - (1 - d) ** w) for n, d in zip(sizes, density)]
        model = 4 * sum(sizes)
        update = sum(min(8 * z, 4 * n) if c else 4 * n for n, z, c in zip(sizes, nz, compressed))
        expected = {"dense_allreduce_s": 2 * (w - 1) * alpha + 2 * (w - 1) / w * model * beta,
                    "ring_allgather_s": (w - 1) * alpha + (total - smallest) * beta,
                    "parameter_server_s": 2 * alpha + (total + w * update) * beta,
                    "encode_s": encode, "decode_s": w * decode, "update_bytes": update, "payload_bytes": total}
        expected["compressed_step_s"] = expected["ring_allgather_s"] + encode + w * decode
        expected["speedup"] = expected["dense_allreduce_s"] / expected["compressed_step_s"]
        for key, value in expected.items():
            check(close(r[key], value), "%s W=%d %s: %r, recomputed %r" % (r["network"], w, key, r[key], value))
        saved = 2 * (w - 1) / w * model - (total - smallest)
        cost = encode + w * decode - (w - 1) * alpha
        if r["pays"] in ("below", "above"):
            check(close(r["breakeven_bandwidth_bytes_per_s"], saved / cost), "break-even bandwidth")
        check(r["pays"] == ("always" if saved > 0 and cost <= 0 else "below" if saved > 0 else
                            "never" if cost >= 0 else "above"), "%s W=%d: pays %s" % (r["network"], w, r["pays"]))
    for args, needle in ((("--network", "10Gbps"), "--network 10Gbps"), (("--network", "10Gbit,5"), "latency"),
                         (("--project-learners", "8"), "--network"), (("--network", "1GB", "--project-learners", "1"),
                                                                      "project-learners")):
        result = adacomp("replay", SAMPLE, *args, "-q")
        lines = result.stderr.strip().splitlines()
        check(result.returncode == 2 and len(lines) == 1 and needle in lines[0],
              "%s: exit 2, one line with %r: %r" % (" ".join(args), needle, result.stderr))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        runs = [SAMPLE]
        if os.path.isdir(SHARED):
            runs += [os.path.join(SHARED, n) for n in ("cnn-digits", "mlp-digits", "cnn-digits-fp16")]
        else:
            T.skip("replay of the shared real dumps: %s not present" % SHARED)
        for dump in runs:
            check_replay(dump, tmp, os.path.basename(dump))
            check_replay(dump, tmp, os.path.basename(dump) + " fixed entries", ("--entries", "fixed"), entries="fixed")
            layout_file = os.path.join(tmp, os.path.basename(dump) + ".adl")
            check_replay(dump, tmp, os.path.basename(dump) + " agreed layout", ("--layout", layout_file), layout=True)
            check(os.path.exists(layout_file), "replay --layout writes a missing layout file")
            check_replay(dump, tmp, os.path.basename(dump) + " existing layout", ("--layout", layout_file), layout=True)

        report = check_replay(SAMPLE, tmp, "warm-up 2", ("--warmup-steps", "2"), warmup=2)
        if report:
            check([s["warmup"] for s in report["steps"]] == [True, True, False, False, False, False], "warm-up flags")
            check(all(t["update_rel_l2"] == 0 and not t["compressed"] for s in report["steps"][:2] for t in s["tensors"]),
                  "warm-up steps are exact")
            check(all(t["residue_l2"] == 0 for t in report["steps"][1]["tensors"]), "warm-up leaves residues at zero")
        check_replay(SAMPLE, tmp, "1 learner", ("--learners", "1"), learners=1)
        report = check_replay(SAMPLE, tmp, "exclude biases", ("--exclude", "*.bias"),
                              exclude=lambda n: n.endswith(".bias"))
        if report:
            biases = [t for s in report["steps"] for t in s["tensors"] if t["name"].endswith(".bias")]
            check(all(not t["compressed"] and t["update_rel_l2"] == 0 for t in biases), "excluded tensors are exact")
            check(all(t["bin_size"] == 0 for t in report["tensors"] if t["name"].endswith(".bias")),
                  "excluded tensors report no bin size")
        check_replay(SAMPLE, tmp, "steps 1:4", ("--steps", "1:4"), steps=(1, 4))

        # threads: identical figures and weights
        one = os.path.join(tmp, "t1.json")
        two = os.path.join(tmp, "t2.json")
        adacomp("replay", SAMPLE, "--report", one, "--save-weights", os.path.join(tmp, "t1.npz"), "-q", "-f")
        adacomp("replay", SAMPLE, "--report", two, "--save-weights", os.path.join(tmp, "t2.npz"), "-q", "-f",
                "--threads", "2")
        strip = lambda r: [[{k: v for k, v in t.items()} for t in s["tensors"]] for s in r["steps"]]  # noqa: E731
        r1, r2 = json.load(open(one)), json.load(open(two))
        check(strip(r1) == strip(r2) and r1["tensors"] == r2["tensors"], "--threads 2 gives identical figures")
        check(open(os.path.join(tmp, "t1.npz"), "rb").read() == open(os.path.join(tmp, "t2.npz"), "rb").read(),
              "--threads 2 gives identical weights")
        for key in ("read_s", "encode_s", "decode_s", "average_s", "update_s", "wall_s"):
            check(all(key in s["times"] for s in r1["steps"]), "report has time " + key)

        codec_cases(tmp)
        network_cases(tmp)

        # CSV report: one row per step and tensor, one per tensor and a total row
        out_csv = os.path.join(tmp, "r.csv")
        check(adacomp("replay", SAMPLE, "--report", out_csv, "-q").returncode == 0, "csv report")
        rows = list(csv.DictReader(open(out_csv)))
        check(len(rows) == 6 * 6 + 6 + 1, "csv row count %d" % len(rows))
        check(rows[-1]["step"] == "all" and rows[-1]["tensor"] == "total", "csv total row")
        check(abs(float(rows[-1]["ratio"]) - r1["total"]["ratio"]) < 1e-6 * r1["total"]["ratio"], "csv total ratio")
        check(all(r["codec"] == "" for r in rows), "csv without --codec has no codec rows")
        codec_csv = os.path.join(tmp, "codecs.csv")
        check(adacomp("replay", SAMPLE, "--codec", "topk", "--codec", "adacomp", "--report", codec_csv,
                      "-q").returncode == 0, "csv report with --codec")
        codec_rows = [r for r in csv.DictReader(open(codec_csv)) if r["codec"]]
        check(len(codec_rows) == 2 * (6 + 1), "csv: a row per tensor and a total per codec (%d)" % len(codec_rows))
        totals = {r["codec"]: r for r in codec_rows if r["tensor"] == "total"}
        check(int(totals["adacomp"]["wire_bytes"]) == r1["total"]["wire_bytes"], "csv: adacomp's payload bytes")
        check(set(totals) == {"adacomp", "topk:ratio=0.01,ef=1"}, "csv: codecs by spec")
        check(adacomp("replay", SAMPLE, "--report", os.path.join(tmp, "r.txt")).returncode == 2, "report extension")

        # summary table on stdout
        result = adacomp("replay", SAMPLE)
        check(result.returncode == 0 and "total" in result.stdout and "baseline replay vs final" in result.stdout,
              "summary table")
        check(result.stderr == "", "no progress bar when stderr is not a terminal")
        times = re.search(r"time over all steps: read ([0-9.]+) ms, encode ([0-9.]+) ms, exchange/decode ([0-9.]+) ms, "
                          r"average ([0-9.]+) ms, update ([0-9.]+) ms, wall ([0-9.]+) ms", result.stdout)
        check(times is not None, "summary has the time split")
        if times:
            parts = [float(x) for x in times.groups()]
            check(parts[1] > 0 and parts[5] > 0 and sum(parts[:5]) <= parts[5] * 1.01 + 0.2,
                  "time split: the phases fit in the wall time %s" % parts)
        bad_dump_cases(tmp)
    return T.finish("replay")


if __name__ == "__main__":
    sys.exit(main())
