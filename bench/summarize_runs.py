#!/usr/bin/env python3
"""Summarizes several `adacomp bench --json` runs as the README's performance table: per op, bin
size and thread count, the median over the runs with the range in brackets. Each figure is first
taken within its run (fractions and speed-ups compare an op with its reference and its one-thread
time from the same interleaved rounds), then its median is taken over the runs: runs minutes apart
on a shared machine differ far more than the repetitions within one.

With --targets it also prints, from those medians, the performance targets of the project's
issue 5 (16M-element tensor): encode and decode at one thread >= 0.5 of their reference, encode
at two threads >= 1.7x one thread. It reports; it asserts nothing (no test judges a time).

usage: summarize_runs.py [--targets] RUN.json...
  e.g. for i in $(seq 10); do build/src/adacomp bench --json --repeat 7 > run-$i.json; done
       bench/summarize_runs.py --targets run-*.json
"""
import argparse
import json
import statistics
import sys

# (JSON field, column heading, digits); one column each, in the README's order
COLUMNS = [
    ("gbps", "GB/s", 2),
    ("reference_gbps", "reference GB/s", 2),
    ("fraction", "fraction of reference", 3),
    ("speedup", "speed-up", 2),
    ("reference_speedup", "reference speed-up", 2),
    ("tensor_split_speedup", "tensors speed-up", 2),
    ("one_shot_fraction", "one-shot fraction", 3),
]
# Fields shown as a median alone: their range adds nothing a reader acts on.
MEDIAN_ONLY = {"reference_gbps"}


def load_runs(paths):
    runs = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
            runs.append((report["results"], report.get("zstd", [])))
        except (OSError, ValueError, KeyError) as error:
            sys.exit(f"summarize_runs.py: {path}: not an `adacomp bench --json` report ({error})")
    return runs


def gather(runs):
    """{(op, bin_size, threads): {field: [value of each run that has it]}}."""
    rows = {}
    for results, _ in runs:
        for result in results:
            key = (result["op"], result["bin_size"], result["threads"])
            fields = rows.setdefault(key, {})
            for field, _, _ in COLUMNS:
                # one-thread speed-ups are 1 by definition: left blank, as in the README
                if field in result and not (field.endswith("speedup") and result["threads"] == 1):
                    fields.setdefault(field, []).append(result[field])
    return rows


def cell(values, digits, median_only):
    if not values:
        return ""
    text = f"{statistics.median(values):.{digits}f}"
    if len(values) > 1 and not median_only:
        text += f" [{min(values):.{digits}f}-{max(values):.{digits}f}]"
    return text


def table(rows):
    lines = ["| op | T | threads | " + " | ".join(heading for _, heading, _ in COLUMNS) + " |",
             "| --- " * (3 + len(COLUMNS)) + "|"]
    order = sorted(rows, key=lambda key: (key[0] != "encode", key[1], key[2]))
    for key in order:
        cells = [cell(rows[key].get(field, []), digits, field in MEDIAN_ONLY) for field, _, digits in COLUMNS]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows):
    """Lines 'met'/'NOT met' for each target whose rows are present."""
    checks = []
    for (op, bin_size, threads), fields in sorted(rows.items()):
        if threads == 1 and fields.get("fraction"):
            checks.append((f"{op} T={bin_size} 1 thread: fraction", statistics.median(fields["fraction"]), 0.5))
        if op == "encode" and threads == 2 and fields.get("speedup"):
            checks.append((f"encode T={bin_size} 2 threads: speed-up", statistics.median(fields["speedup"]), 1.7))
    return [f"{name} {value:.3f} (target >= {goal}): {'met' if value >= goal else 'NOT met'}"
            for name, value, goal in checks]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", action="store_true", help="also print issue 5's targets from the medians")
    parser.add_argument("runs", nargs="+", help="files written by `adacomp bench --json`")
    arguments = parser.parse_args()
    runs = load_runs(arguments.runs)
    rows = gather(runs)
    print(f"{len(runs)} runs; each figure the median over the runs, range in brackets")
    print(table(rows))
    for z in runs[0][1]:
        print(f"zstd -{z['level']} (first run): ratio {z['ratio']:.3f} at {z['compress_gbps']:.2f} GB/s")
    if arguments.targets:
        for line in targets(rows):
            print(line)


if __name__ == "__main__":
    main()
