#!/usr/bin/env python3
"""Tests of `mpirun -np P adacomp replay`: weights, baseline and report the same as the replay in
one process, bit for bit; each rank opens only its own learners' files; a bad file on one rank ends
every rank with one message and no output; a world larger than the learners is refused. Without
MPI (a build without ADACOMP_MPI, or no mpirun) the test exits 77, which CTest reports as skipped.

usage: mpi_replay_tests.py ADACOMP_BINARY REPO_ROOT
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
SKIPPED = 77
MPIRUN = shutil.which("mpirun")
# As root (CI), on shared memory only, more ranks than cores, no binding. Under LeakSanitizer (the
# sanitizer build) Open MPI's own allocations are suppressed, its plug-ins kept loaded so that
# their frames have names.
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_mca_base_component_disable_dlclose="1",
           LSAN_OPTIONS="suppressions=%s:fast_unwind_on_malloc=0" % os.path.join(T.root, "tests", "cli",
                                                                                "mpi_lsan.supp"))
MPI_ARGS = ["--oversubscribe", "--mca", "btl", "self,vader", "--bind-to", "none"]


def mpirun(np, *args, wrapper=None, timeout=300, env=None):
    command = [MPIRUN, "-np", str(np), *MPI_ARGS]
    command += wrapper(T.adacomp_binary, args) if wrapper else [T.adacomp_binary, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env or ENV, timeout=timeout)


def adacomp_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("adacomp:")]


def without_times(report):
    report = json.loads(json.dumps(report))
    for key in ("ranks", "world_size"):
        report.pop(key, None)
    for step in report["steps"]:
        step.pop("times", None)
    return report


def check_same_as_one_process(dump, np, tmp, label):
    alone = {k: os.path.join(tmp, "%s-1.%s" % (label, k)) for k in ("json", "w.npz", "b.npz")}
    spread = {k: os.path.join(tmp, "%s-%d.%s" % (label, np, k)) for k in ("json", "w.npz", "b.npz")}
    has_init = os.path.exists(os.path.join(dump, "init.npz"))
    def args(files):
        extra = ["--save-weights", files["w.npz"], "--save-baseline", files["b.npz"]] if has_init else []
        return ["replay", dump, "--report", files["json"], "-q", "-f", *extra]
    result = T.run(*args(alone))
    T.check(result.returncode == 0, "%s: the replay in one process: %s" % (label, result.stderr))
    result = mpirun(np, *args(spread))
    T.check(result.returncode == 0, "%s: mpirun -np %d: exit %d: %s" % (label, np, result.returncode, result.stderr))
    if result.returncode:
        return
    T.check(result.stdout == "" and adacomp_lines(result.stderr) == [], "%s -np %d: -q prints nothing" % (label, np))
    if has_init:
        for k in ("w.npz", "b.npz"):
            T.check(open(alone[k], "rb").read() == open(spread[k], "rb").read(),
                    "%s -np %d: %s bit-identical to the replay in one process" % (label, np, k))
    one, many = json.load(open(alone["json"])), json.load(open(spread["json"]))
    T.check(without_times(one) == without_times(many), "%s -np %d: the same report but for times" % (label, np))
    T.check(one["world_size"] == 1 and len(one["ranks"]) == 1, "%s: one process is a world of 1" % label)
    T.check(many["world_size"] == np and len(many["ranks"]) == np and
            sum(r["learners"] for r in many["ranks"]) == many["learners"] and
            all(r["learners"] >= 1 and r["peak_rss_bytes"] > 0 and r["wall_s"] > 0 for r in many["ranks"]),
            "%s -np %d: the report's ranks: their learners, times and peak RSS" % (label, np))


def check_own_files(dump, np, tmp):
    if not shutil.which("strace"):
        T.skip("which files each rank opens: no strace")
        return
    traces = os.path.join(tmp, "traces")
    os.makedirs(traces, exist_ok=True)
    wrapper = lambda binary, args: ["sh", "-c", 'exec strace -f -e trace=open,openat -o "$0/rank-$OMPI_COMM_WORLD_RANK" '  # noqa: E731
                                    '"$@"', traces, binary, *args]
    # LeakSanitizer cannot stop a traced process's threads: no leak check under strace.
    untraced_leaks = dict(ENV, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    result = mpirun(np, "replay", dump, "-q", wrapper=wrapper, env=untraced_leaks)
    T.check(result.returncode == 0, "replay under strace: %s" % result.stderr)
    for rank in range(np):
        path = os.path.join(traces, "rank-%d" % rank)
        if not os.path.exists(path):
            T.check(False, "rank %d left a trace" % rank)
            continue
        opened = set()
        for line in open(path):
            if "ENOENT" in line:
                continue
            for part in line.split('"'):
                name = os.path.basename(part)
                if name.startswith("learner-") and name.endswith((".npz", ".safetensors")):
                    opened.add(int(name.split("-")[1].split(".")[0]))
        T.check(opened == {rank}, "rank %d opened only its own learner's files: %s" % (rank, sorted(opened)))


SHARD_WRAPPER = """#!/bin/sh
# shard.sh SHARDS TARGET COMMAND...: COMMAND with SHARDS/shard-RANK mounted on TARGET, in a mount
# namespace of its own: every rank sees its own machine's disk at the same path.
shards=$1 target=$2
shift 2
exec unshare -m --propagation private sh -c 'mount --bind "$0/shard-$OMPI_COMM_WORLD_RANK" "$1" && shift && exec "$@"' \\
  "$shards" "$target" "$@"
"""


def check_sharded(tmp):
    """A dump sharded over machines: each rank's disk has only its own learners' files, same path."""
    shards, target = os.path.join(tmp, "shards"), os.path.join(tmp, "dump-on-every-machine")
    os.makedirs(target)
    for rank in (0, 1):
        shard = os.path.join(shards, "shard-%d" % rank)
        shutil.copytree(T.sample, shard)
        for step in os.listdir(shard):
            if step.startswith("step-"):
                os.remove(os.path.join(shard, step, "learner-%d.npz" % (1 - rank)))
    wrapper_file = os.path.join(tmp, "shard.sh")
    open(wrapper_file, "w").write(SHARD_WRAPPER)
    wrapper = lambda binary, args: ["sh", wrapper_file, shards, target, binary, *args]  # noqa: E731
    probe = mpirun(2, "--version", wrapper=wrapper, timeout=60)
    if probe.returncode != 0:
        T.skip("a dump sharded over machines: no mount namespace here (%s)" % probe.stderr.strip()[:200])
        return
    whole = os.path.join(tmp, "sharded-whole.npz")
    T.run_ok("replay", T.sample, "--save-weights", whole, "-q", "-f")
    sharded = os.path.join(tmp, "sharded.npz")
    result = mpirun(2, "replay", target, "--save-weights", sharded, "-q", "-f", wrapper=wrapper)
    T.check(result.returncode == 0, "sharded dump: exit %d: %s" % (result.returncode, result.stderr))
    T.check(result.returncode == 0 and open(whole, "rb").read() == open(sharded, "rb").read(),
            "a dump sharded over the ranks' disks gives the weights of the whole dump in one process")
    os.remove(os.path.join(shards, "shard-1", "step-00002", "learner-1.npz"))
    result = mpirun(2, "replay", target, "-q", wrapper=wrapper, timeout=120)
    lines = adacomp_lines(result.stderr)
    T.check(result.returncode == 3 and len(lines) == 1 and "step-00002: 1 learners, but step-00000 has 2" in lines[0],
            "a learner on no rank's disk: exit 3, one line: %d %r" % (result.returncode, lines))
    shutil.copy(os.path.join(shards, "shard-1", "step-00003", "learner-1.npz"),
                os.path.join(shards, "shard-0", "step-00002", "learner-1.npz"))
    result = mpirun(2, "replay", target, "-q", wrapper=wrapper, timeout=120)
    lines = adacomp_lines(result.stderr)
    T.check(result.returncode == 3 and len(lines) == 1 and "not on this rank's disk (rank 1" in lines[0],
            "a learner's file only on another rank's disk: exit 3, one line: %d %r" % (result.returncode, lines))


def check_faults(tmp):
    sample = T.sample
    bad = os.path.join(tmp, "bad-dump")
    shutil.copytree(sample, bad)
    broken = os.path.join(bad, "step-00003", "learner-1.npz")
    open(broken, "wb").write(b"garbage")
    outputs = os.path.join(tmp, "fault-outputs")
    os.makedirs(outputs)
    report, weights = os.path.join(outputs, "r.json"), os.path.join(outputs, "w.npz")
    result = mpirun(2, "replay", bad, "--report", report, "--save-weights", weights, "-q", timeout=120)
    lines = adacomp_lines(result.stderr)
    T.check(result.returncode == 3, "a bad file on rank 1: exit 3 (got %d)" % result.returncode)
    T.check(len(lines) == 1 and "rank 1" in lines[0] and broken in lines[0],
            "one message naming rank 1 and the file: %r" % lines)
    T.check(os.listdir(outputs) == [], "no output and no temporary left: %r" % os.listdir(outputs))
    result = mpirun(4, "replay", sample, "-q", timeout=120)
    lines = adacomp_lines(result.stderr)
    T.check(result.returncode == 2 and len(lines) == 1 and "4 ranks for 2 learners" in lines[0],
            "a world larger than the learners is refused: %d %r" % (result.returncode, lines))
    # --save-stream and --layout: rank 0 writes every learner's stream; the ranks share its layout.
    for extra in ((), ("--layout", "LAYOUT")):
        label = " ".join(extra) or "default"
        files = {}
        for np in (1, 2):
            streams = os.path.join(tmp, "streams-%s-%d" % (len(extra), np))
            weights = os.path.join(tmp, "weights-%s-%d.npz" % (len(extra), np))
            layout = os.path.join(tmp, "layout-%d.adl" % np)
            args = ["replay", sample, "--save-stream", streams, "--save-weights", weights, "-q"]
            args += [a.replace("LAYOUT", layout) for a in extra]
            result = T.run(*args) if np == 1 else mpirun(2, *args, timeout=120)
            T.check(result.returncode == 0, "%s --save-stream at %d: %s" % (label, np, result.stderr))
            files[np] = {os.path.relpath(os.path.join(d, f), streams): open(os.path.join(d, f), "rb").read()
                         for d, _, names in os.walk(streams) for f in names}
            files[np]["weights"] = open(weights, "rb").read() if os.path.exists(weights) else b""
            if extra:
                files[np]["layout"] = open(layout, "rb").read() if os.path.exists(layout) else b""
        T.check(len(files[1]) > 10 and files[1] == files[2],
                "%s: -np 2 writes the same streams (and weights, layout) as one process" % label)
    result = mpirun(2, "replay", sample, "--codec", "topk", "-q", timeout=120)
    T.check(result.returncode == 2 and len(adacomp_lines(result.stderr)) == 1 and "--codec" in result.stderr,
            "--codec under mpirun is refused in one line")
    # A rank killed by a signal: mpirun fails, and rank 0 (which holds the outputs) leaves nothing.
    kill = lambda binary, args: ["sh", "-c", '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && kill -9 $$; exec "$@"',  # noqa: E731
                                 binary, *args]
    result = mpirun(2, "replay", sample, "--report", report, "-q", wrapper=kill, timeout=120)
    T.check(result.returncode != 0, "a rank killed by a signal makes mpirun fail")
    T.check(os.listdir(outputs) == [], "no temporaries after a rank was killed: %r" % os.listdir(outputs))
    result = mpirun(2, "replay", sample, "--check-consistency", "-q", timeout=120)
    T.check(result.returncode == 0, "--check-consistency: the ranks agree after every step: %s" % result.stderr)


def main():
    version = T.run("--version").stdout
    if "replay over MPI ranks" not in version or not MPIRUN:
        T.skip("the replay over MPI: %s" % ("no mpirun" if not MPIRUN else "adacomp built without ADACOMP_MPI"))
        T.finish("mpi replay")
        return SKIPPED
    with tempfile.TemporaryDirectory() as tmp:
        check_same_as_one_process(T.sample, 2, tmp, "sample")
        shared = T.shared
        for name, ranks in (("cnn-digits", (2, 4)), ("mlp-digits", (4,)), ("cnn-digits-fp16", (2,))):
            dump = os.path.join(shared, name)
            if not os.path.isdir(dump):
                T.skip("mpirun on %s: %s not present" % (name, shared))
                continue
            for np in ranks:
                check_same_as_one_process(dump, np, tmp, name)
        check_own_files(T.sample, 2, tmp)
        check_sharded(tmp)
        check_faults(tmp)
    return T.finish("mpi replay")


if __name__ == "__main__":
    sys.exit(main())
