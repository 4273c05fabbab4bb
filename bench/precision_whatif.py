#!/usr/bin/env python3
"""The precision what-if of `adacomp replay` over a dump: residue, reduction and weights formats
side by side, as one markdown table (format_spec/dump_layout.md, "Precision what-if").

    /usr/bin/python3 bench/precision_whatif.py [--dump DIR] [--adacomp BIN] [--seeds 3] [--out FILE.json]

Each row is one replay with AdaComp at its defaults; stochastic rows are run with seeds 0..N-1 and
show the mean and spread. drift: ||w - w_baseline|| / ||w_baseline|| after the last step (the
baseline uncompressed, float32 with exact sums): AdaComp's own drift and the format's together;
vs AdaComp f32: ||w - w_f32|| / ||w_f32||, against AdaComp's replay in float32 with exact sums and
the same learners (the format's cost alone); VRR: variance retention of the reduction's sums;
reduce err: relative L2 of the reduced average; residue err: relative L2 of the stored residue
against a float32 shadow; swamped: share of gradient mass below half the residue's spacing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ROWS = [
    ("residue", "f32 (today)", []),
    ("residue", "bf16 nearest", ["--residue-dtype", "bf16"]),
    ("residue", "bf16 stochastic", ["--residue-dtype", "bf16", "--residue-rounding", "stochastic"]),
    ("residue", "f16 nearest", ["--residue-dtype", "f16"]),
    ("residue", "f16 stochastic", ["--residue-dtype", "f16", "--residue-rounding", "stochastic"]),
]
for learners in (4, 256):
    for fmt in ("f32", "f16", "bf16", "f8e5m2"):
        ROWS.append(("reduce", "%s, %d learners" % (fmt, learners),
                     ["--reduce-dtype", fmt] + (["--learners-scale", str(learners)] if learners != 4 else [])))
ROWS += [
    ("weights", "f32 (today)", []),
    ("weights", "bf16 nearest", ["--weights-dtype", "bf16"]),
    ("weights", "bf16 stochastic", ["--weights-dtype", "bf16", "--weights-rounding", "stochastic"]),
    ("weights", "fixed:4.12 stochastic", ["--weights-dtype", "fixed:4.12", "--weights-rounding", "stochastic"]),
]


def replay(binary, dump, args, seed, tmp):
    """The report's totals and the compressed run's final weights (flattened, float64)."""
    out, weights = os.path.join(tmp, "r.json"), os.path.join(tmp, "w.npz")
    subprocess.run([binary, "replay", dump, "--report", out, "--save-weights", weights, "-f", "-q", "--seed",
                    str(seed), *args], check=True)
    w = np.load(weights)
    return json.load(open(out))["total"], np.concatenate([w[n].ravel().astype(np.float64) for n in w.files])


def scale_of(args):
    return args[args.index("--learners-scale") + 1] if "--learners-scale" in args else None


def cell(values, digits=3):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return "%.*e" % (digits, values[0])
    return "%.*e ± %.1e" % (digits, statistics.mean(values), statistics.stdev(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", default=os.path.join(ROOT, "..", "shared", "data", "gradients", "cnn-digits"))
    parser.add_argument("--adacomp", default=os.path.join(ROOT, "build", "src", "adacomp"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", help="write every row's figures as JSON")
    options = parser.parse_args()
    rows = []
    references = {}  # AdaComp in float32 with exact sums, per learner count
    with tempfile.TemporaryDirectory() as tmp:
        for what, label, args in ROWS:
            scale = scale_of(args)
            if scale not in references:
                extra = ["--learners-scale", scale] if scale else []
                references[scale] = replay(options.adacomp, options.dump, extra, 0, tmp)[1]
            stochastic = "stochastic" in args
            runs = [replay(options.adacomp, options.dump, args, seed, tmp)
                    for seed in range(options.seeds if stochastic else 1)]
            reference = references[scale]
            rows.append({"what": what, "setting": label, "args": args, "totals": [t for t, _ in runs],
                         "vs_f32": [float(np.linalg.norm(w - reference) / np.linalg.norm(reference))
                                    for _, w in runs]})
            print("%-8s %-24s done" % (what, label), file=sys.stderr)
    print("| what | setting | drift | vs AdaComp f32 | VRR | reduce err | residue err | swamped |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        t = row["totals"]
        vrr = [x["reduce_variance_retention"] for x in t]
        vs = row["vs_f32"]
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["what"], row["setting"], cell([x["weight_drift"] for x in t]),
            "0" if all(v == 0 for v in vs) else cell(vs),
            "-" if vrr[0] is None else "%.6f" % statistics.mean(vrr), cell([x["reduce_rel_error"] for x in t]),
            cell([x["residue_rel_l2"] for x in t]),
            "-" if t[0]["residue_swamped_share"] is None else
            "%.4f" % statistics.mean(x["residue_swamped_share"] for x in t)))
    if options.out:
        with open(options.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
