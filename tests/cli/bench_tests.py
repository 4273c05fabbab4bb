#!/usr/bin/env python3
"""Tests of `adacomp bench`: the JSON fields scripts rely on, internal consistency, and the entry
counts checked against the reference codec on the same data. No timing assertions: speed is
measured by running bench, never judged by a test.

usage: bench_tests.py ADACOMP_BINARY REPO_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
import adacomp_ref as ref  # noqa: E402


def main():
    result = T.run("bench", "--elements", "200000", "--repeat", "1", "--threads", "1,2", "--bin-size", "64", "--json")
    T.check(result.returncode == 0, "synthetic bench runs: " + result.stderr)
    report = json.loads(result.stdout)
    combos = {(r["op"], r["bin_size"], r["threads"]) for r in report["results"]}
    T.check(combos == {(op, t, n) for op in ("encode", "decode") for t in (50, 500, 64) for n in (1, 2)},
            "every op x bin size x thread count is measured")
    for r in report["results"]:
        for key in ("op", "bin_size", "threads", "elements", "gbps", "reference_gbps", "fraction"):
            T.check(key in r, "result field " + key)
        if r["op"] == "encode":
            T.check(r["one_shot_seconds"] > 0 and abs(r["one_shot_fraction"] - r["one_shot_gbps"] / r["reference_gbps"])
                    <= 1e-9 * r["one_shot_fraction"], "encode rows carry the one-shot compress() figures")
        else:
            T.check("one_shot_fraction" not in r, "decode rows have no one-shot figures")
        T.check(r["elements"] == 200000, "elements")
        T.check(abs(r["fraction"] - r["gbps"] / r["reference_gbps"]) <= 1e-12 * r["fraction"], "fraction = gbps / ref")
        T.check(r["gbps"] > 0 and r["reference_gbps"] > 0, "positive speeds")
    T.check([z["level"] for z in report["zstd"]] == [1, 3] and all(z["ratio"] > 0 for z in report["zstd"]), "zstd rows")
    # speed-ups: against the same op and bin size's one-thread median, from the same rounds
    # and what the machine allows: the reference loop's speed-up, and the op's at its reference's rate
    seconds = {(r["op"], r["bin_size"], r["threads"]): r["seconds"] for r in report["results"]}
    reference = {(r["op"], r["bin_size"], r["threads"]): r["reference_seconds"] for r in report["results"]}
    for r in report["results"]:
        key = (r["op"], r["bin_size"], 1)
        T.check(abs(r["speedup"] - seconds[key] / r["seconds"]) <= 1e-12 * r["speedup"],
                "speedup = one-thread seconds / seconds")
        T.check(abs(r["reference_speedup"] - reference[key] / r["reference_seconds"]) <= 1e-12 * r["reference_speedup"],
                "reference_speedup = one-thread reference seconds / reference seconds")
        T.check(abs(r["speedup_bound"] - seconds[key] / r["reference_seconds"]) <= 1e-12 * r["speedup_bound"],
                "speedup_bound = one-thread seconds / reference seconds")
        if r["op"] == "encode":
            T.check(r["tensor_split_seconds"] > 0 and abs(r["tensor_split_speedup"] - seconds[key] / r["tensor_split_seconds"])
                    <= 1e-12 * r["tensor_split_speedup"], "tensor_split_speedup = one-thread seconds / tensor split seconds")
            if r["threads"] == 1:
                T.check(r["tensor_split_seconds"] == r["seconds"], "one thread's tensor split is the step itself")
        else:
            T.check("tensor_split_seconds" not in r, "decode rows have no tensor split")
    no_one = json.loads(T.run("bench", "--elements", "1000", "--repeat", "1", "--threads", "2", "--json").stdout)
    T.check(all("speedup" not in r and "speedup_bound" not in r and "reference_speedup" not in r
                and "tensor_split_speedup" not in r for r in no_one["results"]), "no speed-ups without a one-thread run")
    tiny = T.run("bench", "--elements", "100", "--repeat", "1", "--threads", "1,3", "--json")
    T.check(tiny.returncode == 0 and all(r["tensor_split_seconds"] > 0 for r in json.loads(tiny.stdout)["results"]
                                         if r["op"] == "encode"), "fewer bins than threads: the tensor split has empty parts")
    text = T.run("bench", "--elements", "1000", "--repeat", "1", "--threads", "1,2")
    T.check(text.returncode == 0 and "tensors" in text.stdout.splitlines()[1] and "bound" in text.stdout.splitlines()[1],
            "the table has the tensors and bound columns")
    # threads do not change what is selected
    by = {(r["op"], r["bin_size"], r["threads"]): r["entries"] for r in report["results"]}
    T.check(all(by[("encode", t, 1)] == by[("encode", t, 2)] for t in (50, 500, 64)), "threads keep entries")

    # a tensor file: all tensors one after the other, from a zero residue; the timed encode is the
    # second step on the same gradient (the first leaves its correction pending), so its entries
    # are those of the reference's second step
    sample = os.path.join(T.sample, "step-00000", "learner-0.npz")
    report = json.loads(T.run("bench", sample, "--repeat", "1", "--threads", "1", "--json").stdout)
    arrays = np.load(sample)
    flat = np.concatenate([arrays[k].astype(np.float32).ravel() for k in arrays.files])
    for r in report["results"]:
        if r["op"] == "encode":
            _, _, _, _, residue = ref.compress(flat, np.zeros_like(flat), r["bin_size"])
            _, entries, _, _, _ = ref.compress(flat, residue, r["bin_size"])
            T.check(r["entries"] == len(entries), "bin size %d: entries match the reference" % r["bin_size"])
    T.check(T.run("bench", "--threads", "0").returncode == 2, "bad --threads is a usage error")
    check_summarize_runs(report)
    check_end_to_end()
    check_codecs()
    return T.finish("bench")


def check_codecs():
    """bench --codec: one row per codec with its real payload size, on synthetic and on file input."""
    result = T.run("bench", "--codec", "all", "--elements", "65536", "--repeat", "1", "--json")
    T.check(result.returncode == 0, "bench --codec all runs: " + result.stderr)
    if result.returncode:
        return
    rows = json.loads(result.stdout)["codecs"]
    names = [r["codec"].split(":")[0] for r in rows]
    for name in ("adacomp", "adacomp-hipress", "adacomp-gradcomp", "topk", "randomk", "dgc", "powersgd", "onebit",
                 "signsgd", "efsignsgd", "terngrad", "qsgd", "sbc", "threelc", "natural", "fp8", "fp4", "gennorm-huffman"):
        T.check(name in names, "bench --codec all measures " + name)
    by_name = {r["codec"]: r for r in rows}
    T.check(all(r["elements"] == 65536 and r["encode_seconds"] > 0 and r["decode_seconds"] > 0 for r in rows),
            "every codec is timed on every element")
    # payload sizes from the rules: fp8 one byte per element + scale, fp4 half a byte, signsgd one bit
    T.check(by_name["fp8:format=e5m2,ef=0"]["payload_bytes"] == 4 + 65536, "fp8 payload size")
    T.check(by_name["fp4:ef=0"]["payload_bytes"] == 4 + 65536 // 2, "fp4 payload size")
    T.check(by_name["signsgd"]["payload_bytes"] == 65536 // 8, "signsgd payload size")
    T.check(by_name["topk:ratio=0.01,ef=1"]["payload_bytes"] == 8 * 655, "top-k payload size")
    # the synthetic tensor is a matrix of 1024 rows: PowerSGD at rank 2 sends P and Q
    T.check(by_name["powersgd:rank=2"]["payload_bytes"] == 4 * 2 * (1024 + 64), "powersgd payload size")
    T.check("dgc:ratio=0.001,momentum=0.9,warmup=0" in by_name, "dgc runs with momentum 0.9 outside a replay")
    sample = os.path.join(T.root, "samples", "digits-cnn-tiny", "step-00000", "learner-0.npz")
    result = T.run("bench", sample, "--codec", "qsgd", "--codec", "powersgd:rank=1", "--repeat", "1")
    T.check(result.returncode == 0 and "qsgd:levels=4,bucket=512,ef=0" in result.stdout and
            "powersgd:rank=1" in result.stdout, "bench FILE --codec prints a row per codec: " + result.stderr)
    bad = T.run("bench", "--codec", "topk:ratio=2")
    T.check(bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "ratio" in bad.stderr,
            "a bad --codec is a one-line usage error")


def check_end_to_end():
    """bench/end_to_end.sh, once per command: it runs, and prints every row with a number."""
    script = os.path.join(T.root, "bench", "end_to_end.sh")
    result = subprocess.run(["bash", script, T.adacomp_binary, "1", "safetensors"], capture_output=True, text=True)
    if "skipped" in result.stderr:
        T.skip("bench/end_to_end.sh: " + result.stderr.strip())
        return
    T.check(result.returncode == 0, "end_to_end.sh runs: " + result.stderr)
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    T.check(len(rows) == 7, "end_to_end.sh prints a row per command: %r" % result.stdout)
    T.check(all(any(ch.isdigit() for ch in row.split("|")[2]) for row in rows[1:]), "every row has a wall time")
    T.check("peak RSS of encode --residue" in result.stdout, "end_to_end.sh reports the peak RSS")


def check_summarize_runs(real_report):
    """bench/summarize_runs.py: medians over runs of figures taken within each run, and its targets."""
    script = os.path.join(T.root, "bench", "summarize_runs.py")

    def summarize(*reports):
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for i, report in enumerate(reports):
                paths.append(os.path.join(folder, "run-%d.json" % i))
                with open(paths[-1], "w", encoding="utf-8") as f:
                    f.write(report if isinstance(report, str) else json.dumps(report))
            return subprocess.run([sys.executable, script, "--targets", *paths], capture_output=True, text=True)

    def encode_row(threads, fraction, speedup):
        return {"op": "encode", "bin_size": 50, "threads": threads, "gbps": 2 * fraction, "reference_gbps": 2.0,
                "fraction": fraction, "speedup": speedup}

    # three runs: the median is the middle value of each figure, not the mean (0.6 / 1.8 here)
    fractions, speedups = [0.4, 0.6, 0.95], [1.2, 1.8, 1.9]
    reports = [{"results": [encode_row(1, f, 1.0), encode_row(2, f, s)], "zstd": []} for f, s in zip(fractions, speedups)]
    result = summarize(*reports)
    T.check(result.returncode == 0, "summarize_runs.py runs: " + result.stderr)
    rows = {tuple(cells[1:4]): cells for cells in
            ([c.strip() for c in line.split("|")] for line in result.stdout.splitlines() if line.startswith("| encode"))}

    def column(threads, index):  # cells: "", op, T, threads, GB/s, reference GB/s, fraction, speed-up, ...
        cells = rows.get(("encode", "50", str(threads)), [])
        return cells[index] if index < len(cells) else None

    T.check(column(1, 6) == "0.600 [0.400-0.950]", "fraction: median [range] over the runs")
    T.check(column(2, 7) == "1.80 [1.20-1.90]", "speed-up: median [range] over the runs")
    T.check(column(1, 7) == "", "a one-thread speed-up is left blank")
    T.check("encode T=50 1 thread: fraction 0.600 (target >= 0.5): met" in result.stdout, "a met target")
    T.check("encode T=50 2 threads: speed-up 1.800 (target >= 1.7): met" in result.stdout, "the 2-thread target")
    low = summarize({"results": [encode_row(1, 0.45, 1.0), encode_row(2, 0.45, 1.5)], "zstd": []})
    T.check("fraction 0.450 (target >= 0.5): NOT met" in low.stdout and "speed-up 1.500 (target >= 1.7): NOT met"
            in low.stdout, "unmet targets are reported as such")
    # a real report parses, every row of it
    real = summarize(real_report)
    T.check(real.returncode == 0 and sum(line.startswith("| ") for line in real.stdout.splitlines())
            == 2 + len(real_report["results"]), "a real bench report gives a row per result")
    bad = summarize("{\"not\": \"bench\"}")
    T.check(bad.returncode != 0 and "run-0.json" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1,
            "a file that is no bench report is named in a one-line error")


if __name__ == "__main__":
    sys.exit(main())
