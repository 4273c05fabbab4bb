#!/usr/bin/env python3
"""Data safety of the real binary: no output ever replaces or writes into an input, another output
or the dump; a directory output replaces only a directory adacomp wrote; a residue update is never
lost to a second encode, a failed output or a signal; every refusal is one line naming the paths,
with the documented exit code. Every case compares the bytes of the files involved (hashes of
whole trees) before and after.

usage: data_safety_tests.py ADACOMP_BINARY REPO_ROOT
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
check, adacomp = T.check, T.run
SAMPLE = T.sample
G0 = os.path.join(SAMPLE, "step-00000", "learner-0.npz")
G1 = os.path.join(SAMPLE, "step-00001", "learner-0.npz")
MARKER = ".adacomp-stream-directory"


def tree_hash(path):
    """Every name, kind and content under path (symlinks as their targets' names)."""
    digest = hashlib.sha256()
    if os.path.islink(path) or os.path.isfile(path):
        paths = [path]
    else:
        paths = [path] + sorted(os.path.join(d, n) for d, dirs, files in os.walk(path) for n in dirs + files)
    for p in paths:
        digest.update(os.path.relpath(p, path).encode() + b"\0")
        if os.path.islink(p):
            digest.update(b"link:" + os.readlink(p).encode())
        elif os.path.isfile(p):
            digest.update(b"file:" + open(p, "rb").read())
        elif os.path.isdir(p):
            digest.update(b"dir")
    return digest.hexdigest()


def no_temporaries(directory):
    return not [n for n in os.listdir(directory) if "adacomp-" in n]


def expect(code, needles, label, *args, cwd=None, stdin=None, stdout=None):
    """Runs adacomp; the exit code must be `code`, and for an error stderr one line holding every
    needle."""
    result = subprocess.run([T.adacomp_binary, *args], cwd=cwd, stdin=stdin,
                            stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = result.stderr.strip().splitlines()
    check(result.returncode == code, "%s: exit %d, expected %d: %s" % (label, result.returncode, code, result.stderr))
    if needles:
        check(len(lines) == 1 and all(n in lines[0] for n in needles),
              "%s: one line holding %r, got %r" % (label, needles, result.stderr))
    return result


def refused(label, protected, needles, *args, code=2, cwd=None, stdin=None, stdout=None):
    """A refusal: the exit code, the message, and every protected path exactly as it was."""
    before = {p: tree_hash(p) for p in protected}
    expect(code, needles, label, *args, cwd=cwd, stdin=stdin, stdout=stdout)
    for p in protected:
        check(tree_hash(p) == before[p], "%s: %s unchanged" % (label, p))


def same_file_cases(tmp):
    os.chdir(tmp)
    np.save("g.npy", np.load(G0)["fc1.weight"])
    shutil.copy(G0, "g.npz")
    T.run_ok("encode", "g.npz", "-o", "s.adc")
    refused("encode g.npy -o g.npy -f", ["g.npy"], ["-o 'g.npy'", "input 'g.npy'", "same file"],
            "encode", "g.npy", "-o", "g.npy", "-f")
    refused("encode g.npy -o ./g.npy -f (another spelling)", ["g.npy"], ["same file"],
            "encode", "g.npy", "-o", "./g.npy", "-f")
    refused("encode g.npz --residue g.npz", ["g.npz"], ["--residue 'g.npz'", "input 'g.npz'"],
            "encode", "g.npz", "--residue", "g.npz", "-o", "x.adc")
    check(not os.path.exists("x.adc") and not os.path.exists("g.npz.lock"), "refused encode writes nothing")
    refused("--residue r.npz -o r.npz (new)", ["."], ["-o 'r.npz'", "--residue 'r.npz'"],
            "encode", "g.npz", "--residue", "r.npz", "-o", "r.npz")
    T.run_ok("encode", "g.npz", "--residue", "r.npz", "-o", "first.adc")
    refused("--residue r.npz -o r.npz -f (existing)", ["r.npz"], ["-o 'r.npz'", "--residue 'r.npz'"],
            "encode", "g.npz", "--residue", "r.npz", "-o", "r.npz", "-f")
    os.mkfifo("fifo.npz")
    refused("--residue on a FIFO", ["."], ["--residue 'fifo.npz'", "not a regular file"],
            "encode", "g.npz", "--residue", "fifo.npz", "-o", "x.adc")
    os.remove("fifo.npz")
    refused("decode s.adc -o s.adc -f", ["s.adc"], ["-o 's.adc'", "input 's.adc'"],
            "decode", "s.adc", "-o", "s.adc", "-f", "--format", "npz")
    with open("g.npy", "rb") as stdin:
        refused("encode < g.npy -o g.npy -f", ["g.npy"], ["-o 'g.npy'", "<stdin>"],
                "encode", "-o", "g.npy", "-f", stdin=stdin)
    with open("g.npy", "ab") as stdout:
        refused("encode g.npy >> g.npy", ["g.npy"], ["<stdout>", "input 'g.npy'"], "encode", "g.npy", stdout=stdout)
    os.symlink("g.npy", "via-link.npy")
    refused("encode via-link.npy -o g.npy -f (the input's target)", ["g.npy"], ["same file"],
            "encode", "via-link.npy", "-o", "g.npy", "-f")
    # a symbolic link or an extra hard link of the input is a name of its own: replaced, input intact
    before = tree_hash("g.npy")
    os.symlink("g.npy", "out-link.npy")
    expect(0, [], "encode g.npy -o out-link.npy -f", "encode", "g.npy", "-o", "out-link.npy", "-f")
    check(not os.path.islink("out-link.npy") and open("out-link.npy", "rb").read()[:4] == b"\x89ADC",
          "the symbolic link name now holds the stream")
    os.link("g.npy", "hard.npy")
    expect(0, [], "encode g.npy -o hard.npy -f", "encode", "g.npy", "-o", "hard.npy", "-f")
    check(open("hard.npy", "rb").read()[:4] == b"\x89ADC", "the hard link name now holds the stream")
    check(tree_hash("g.npy") == before, "replacing a link name leaves the input intact")
    check(no_temporaries("."), "same-file cases leave no temporary files")


def replay_output_cases(tmp):
    dump = os.path.join(tmp, "dump")
    shutil.copytree(SAMPLE, dump)
    for option, name in (("--save-weights", "init.npz"), ("--report", "meta.json"), ("--save-baseline", "final.npz"),
                         ("--save-weights", "step-00001/learner-0.npz")):
        target = os.path.join(dump, name)
        refused("replay %s DUMP/%s -f" % (option, name), [dump], [option, "inside the dump"],
                "replay", dump, option, target, "-f")
    # a dump assembled from symbolic links: the files they point to are inputs too
    elsewhere = os.path.join(tmp, "shared-storage")
    os.makedirs(elsewhere)
    linked_dump = os.path.join(tmp, "linked-dump")
    shutil.copytree(SAMPLE, linked_dump)
    target = os.path.join(elsewhere, "g.npz")
    shutil.move(os.path.join(linked_dump, "step-00002", "learner-1.npz"), target)
    os.symlink(target, os.path.join(linked_dump, "step-00002", "learner-1.npz"))
    refused("--save-weights onto a file the dump links to", [elsewhere, linked_dump],
            ["--save-weights", "which a symbolic link in the dump"], "replay", linked_dump, "--save-weights", target, "-f")
    refused("--save-stream holding a file the dump links to", [elsewhere, linked_dump],
            ["--save-stream", "which a symbolic link in the dump"], "replay", linked_dump, "--save-stream", elsewhere, "-f")
    out = os.path.join(tmp, "same.npz")
    refused("--save-weights and --save-baseline the same file", [tmp], ["--save-baseline", "--save-weights", "same file"],
            "replay", dump, "--save-weights", out, "--save-baseline", out)
    streams = os.path.join(tmp, "streams")
    refused("--report inside --save-stream", [tmp], ["--report", "inside --save-stream"],
            "replay", dump, "--save-stream", streams, "--report", os.path.join(streams, "r.json"))


def stream_directory_cases(tmp):
    dump = os.path.join(tmp, "dump-for-streams")
    shutil.copytree(SAMPLE, dump)
    user = os.path.join(tmp, "user-dir")
    os.makedirs(os.path.join(user, "sub"))
    open(os.path.join(user, "precious.txt"), "w").write("mine")
    open(os.path.join(user, "sub", "more.txt"), "w").write("mine too")
    not_ours = ["not a stream directory written by adacomp"]
    refused("--save-stream on a user directory -f", [user], not_ours, "replay", dump, "--save-stream", user, "-f")
    refused("--save-stream on a user directory", [user], not_ours, "replay", dump, "--save-stream", user)
    a_file = os.path.join(tmp, "a-file")
    open(a_file, "w").write("data")
    refused("--save-stream on a file -f", [a_file], ["not a directory"], "replay", dump, "--save-stream", a_file, "-f")
    refused("--save-stream on the dump -f", [dump], ["inside the dump"], "replay", dump, "--save-stream", dump, "-f")
    refused("--save-stream on the dump's parent -f", [dump, user], ["would hold the dump"],
            "replay", dump, "--save-stream", tmp, "-f")
    refused("--save-stream . (holding the dump) -f", [dump], ["would hold the dump"],
            "replay", dump, "--save-stream", ".", "-f", cwd=tmp)
    refused("--save-stream / -f", [dump], ["would hold the dump"], "replay", dump, "--save-stream", "/", "-f")
    elsewhere = os.path.join(tmp, "cwd")
    os.makedirs(os.path.join(elsewhere, "inner"))
    open(os.path.join(elsewhere, MARKER), "w").write("adacomp stream directory\n")
    for target in (".", "..", elsewhere):
        refused("--save-stream %s (the working directory or above) -f" % target, [elsewhere],
                ["working directory or one of its ancestors"], "replay", dump, "--save-stream", target, "-f",
                cwd=os.path.join(elsewhere, "inner") if target == ".." else elsewhere)
    marked_link = os.path.join(tmp, "link-to-streams")
    ours = os.path.join(tmp, "ours")
    expect(0, [], "first --save-stream", "replay", dump, "--save-stream", ours, "-q")
    check(os.path.isfile(os.path.join(ours, MARKER)) and os.path.isfile(os.path.join(ours, "step-00005", "learner-1.adc")),
          "a stream directory holds its marker and the streams")
    os.symlink(ours, marked_link)
    refused("--save-stream on a symbolic link to a stream directory -f", [ours, marked_link], ["symbolic link"],
            "replay", dump, "--save-stream", marked_link, "-f")
    refused("--save-stream on a stream directory without -f", [ours], ["already exists; use -f"],
            "replay", dump, "--save-stream", ours)
    # ours, with -f: replaced whole by the new one (an old step the new replay does not write goes)
    os.makedirs(os.path.join(ours, "step-09999"))
    expect(0, [], "--save-stream on a stream directory -f", "replay", dump, "--save-stream", ours, "--steps", "0:2",
           "-q", "-f")
    check(sorted(n for n in os.listdir(ours)) == [MARKER, "step-00000", "step-00001"],
          "the stream directory was replaced whole: %s" % sorted(os.listdir(ours)))
    check(no_temporaries(tmp), "stream-directory cases leave no temporary directories")


def residue_lock_cases(tmp):
    os.chdir(tmp)
    fifo = "held-input"
    os.mkfifo(fifo)
    first = subprocess.Popen([T.adacomp_binary, "encode", fifo, "--residue", "r.npz", "-o", "a.adc"],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not os.path.exists("r.npz.lock") and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the first encode opened the lock file and holds it, waiting on its input
    expect(4, ["r.npz", "locked by another adacomp process", "--lock-timeout"], "second encode gives up",
           "encode", G1, "--residue", "r.npz", "-o", "gave-up.adc", "--lock-timeout", "0.3")
    check(not os.path.exists("gave-up.adc") and not os.path.exists("r.npz"), "the encode that gave up wrote nothing")
    second = subprocess.Popen([T.adacomp_binary, "encode", G1, "--residue", "r.npz", "-o", "b.adc"],
                              stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    check(second.poll() is None, "the second encode waits for the lock")
    with open(fifo, "wb") as feed:
        feed.write(open(G0, "rb").read())
    check(first.wait(60) == 0 and second.wait(60) == 0, "both encodes on one residue succeed")
    os.makedirs("sequential")
    T.run_ok("encode", G0, "--residue", "sequential/r.npz", "-o", "sequential/a.adc")
    T.run_ok("encode", G1, "--residue", "sequential/r.npz", "-o", "sequential/b.adc")
    check(tree_hash("r.npz") == tree_hash("sequential/r.npz") and tree_hash("b.adc") == tree_hash("sequential/b.adc"),
          "two concurrent encodes keep both updates, as if run one after the other")

    # the output cannot be put in place after the residue was: the residue is put back
    os.mkfifo("held-2")
    before = tree_hash("r.npz")
    proc = subprocess.Popen([T.adacomp_binary, "encode", "held-2", "--residue", "r.npz", "-o", "blocked.adc"],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    os.makedirs("blocked.adc/inside")  # rename(2) cannot replace a non-empty directory
    with open("held-2", "wb") as feed:
        feed.write(open(G0, "rb").read())
    _, err = proc.communicate(timeout=60)
    check(proc.returncode == 4 and "blocked.adc: cannot replace" in err, "failed output rename exits 4: %r" % err)
    check(tree_hash("r.npz") == before, "the residue is rolled back when the stream cannot be put in place")
    check(no_temporaries("."), "a rolled-back encode leaves no temporary or previous files")

    # a closed pipe on stdout (the end record cannot be written): exit 4, residue unchanged
    np.save("big.npy", np.random.default_rng(1).laplace(size=1 << 20).astype(np.float32))
    T.run_ok("encode", "big.npy", "--residue", "rb.npz", "-o", "big0.adc")
    before = tree_hash("rb.npz")
    proc = subprocess.Popen([T.adacomp_binary, "encode", "big.npy", "--residue", "rb.npz"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(60)
    check(proc.returncode == 4 and "write error" in err, "closed stdout pipe exits 4: %d %r" % (proc.returncode, err))
    check(tree_hash("rb.npz") == before, "closed stdout pipe: the residue keeps its content")

    # an interrupted encode: residue unchanged, lock released, no temporary file
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        os.mkfifo("held-3")
        before = tree_hash("r.npz")
        proc = subprocess.Popen([T.adacomp_binary, "encode", "held-3", "--residue", "r.npz", "-o", "int.adc"],
                                stderr=subprocess.PIPE)
        time.sleep(0.3)
        proc.send_signal(sig)
        proc.wait(60)
        check(proc.returncode == -sig, "encode killed by %s (got %d)" % (sig.name, proc.returncode))
        check(tree_hash("r.npz") == before and not os.path.exists("int.adc") and no_temporaries("."),
              "%s during encode --residue: residue unchanged, nothing left" % sig.name)
        os.remove("held-3")
    expect(0, [], "after the interrupts the lock is free", "encode", G1, "--residue", "r.npz", "-o", "after.adc",
           "--lock-timeout", "1")


def signal_cases(tmp):
    """replay interrupted while it reads a FIFO learner file: nothing of its own is left, and the
    previous outputs keep their content."""
    dump = os.path.join(tmp, "dump-signals")
    shutil.copytree(SAMPLE, dump)
    held = os.path.join(dump, "step-00003", "learner-0.npz")
    content = open(held, "rb").read()
    os.remove(held)
    os.mkfifo(held)
    work = os.path.join(tmp, "signal-outputs")
    os.makedirs(work)
    streams, report, weights = (os.path.join(work, n) for n in ("streams", "r.json", "w.npz"))
    T.run_ok("replay", SAMPLE, "--save-stream", streams, "--report", report, "--save-weights", weights, "-q")
    before = tree_hash(work)
    args = [T.adacomp_binary, "replay", dump, "--save-stream", streams, "--report", report, "--save-weights", weights,
            "-f", "-q"]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        check(len([n for n in os.listdir(work) if "adacomp-" in n]) == 3, "%s: temporaries exist while running" % sig.name)
        proc.send_signal(sig)
        if sig == signal.SIGPIPE:
            # ignored, as a closed pipe is an ordinary write error: the replay goes on and finishes
            fd = os.open(held, os.O_WRONLY)
            os.write(fd, content)
            os.close(fd)
            _, err = proc.communicate(timeout=60)
            check(proc.returncode == 0, "SIGPIPE is ignored: replay finishes (%d %r)" % (proc.returncode, err))
            check(no_temporaries(work) and os.path.isfile(os.path.join(streams, "step-00005", "learner-1.adc")),
                  "after SIGPIPE: the outputs are complete and nothing else is left")
            continue
        proc.wait(60)
        check(proc.returncode == -sig, "replay killed by %s (got %d)" % (sig.name, proc.returncode))
        check(no_temporaries(work), "%s: no temporary file or directory left: %s" % (sig.name, os.listdir(work)))
        check(tree_hash(work) == before, "%s: the previous outputs keep their content" % sig.name)


def number_cases(tmp):
    big = "9" * 25
    dump = os.path.join(tmp, "dump-big-step")
    shutil.copytree(SAMPLE, dump)
    os.makedirs(os.path.join(dump, "step-" + big))
    expect(3, ["step-" + big, "does not fit in 64 bits"], "step number beyond 64 bits", "replay", dump)
    shutil.rmtree(os.path.join(dump, "step-" + big))
    shutil.copy(G0, os.path.join(dump, "step-00002", "learner-%s.npz" % big))
    expect(3, ["learner-" + big, "does not fit in 64 bits"], "learner number beyond 64 bits", "replay", dump)
    os.remove(os.path.join(dump, "step-00002", "learner-%s.npz" % big))
    os.symlink("step-00077", os.path.join(dump, "step-00077"))  # a symbolic link loop: stat fails with ELOOP
    expect(4, ["step-00077", "cannot look at it"], "a step entry that cannot be looked at", "replay", dump)
    os.remove(os.path.join(dump, "step-00077"))
    # an unreadable dump directory: root reads any directory, so run as nobody where possible
    locked = os.path.join(tmp, "locked-dump")
    shutil.copytree(SAMPLE, locked)
    os.chmod(locked, 0o311)  # can be entered, not listed
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        expect(4, ["cannot read the directory"], "unreadable dump directory", "replay", locked)
    elif setpriv and os.access(T.adacomp_binary, os.X_OK):
        for d in (tmp, os.path.dirname(tmp)):  # nobody must reach the dump
            os.chmod(d, 0o711)
        result = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", T.adacomp_binary, "replay",
                                 locked], capture_output=True, text=True)
        if "cannot execute" in result.stderr or result.returncode == 126 or result.returncode == 127:
            T.skip("unreadable dump directory: nobody cannot run %s" % T.adacomp_binary)
        else:
            check(result.returncode == 4 and "cannot read the directory" in result.stderr
                  and result.stderr.count("\n") == 1, "unreadable dump directory (as nobody): exit 4, got %d %r"
                  % (result.returncode, result.stderr))
    else:
        T.skip("unreadable dump directory: running as root without setpriv")
    os.chmod(locked, 0o755)


def option_cases(tmp):
    bad = [
        (["replay", SAMPLE, "--warmup-steps", "-1"], "--warmup-steps"),
        (["replay", SAMPLE, "--lr", "nan"], "--lr"),
        (["replay", SAMPLE, "--lr", "inf"], "--lr"),
        (["replay", SAMPLE, "--lr", "-0.1"], "--lr"),
        (["replay", SAMPLE, "--lr", "0"], "--lr"),
        (["replay", SAMPLE, "--momentum", "nan"], "--momentum"),
        (["replay", SAMPLE, "--momentum", "1"], "--momentum"),
        (["replay", SAMPLE, "--momentum", "-0.5"], "--momentum"),
        (["replay", SAMPLE, "--learners", "0"], "--learners"),
        (["replay", SAMPLE, "--learners", "-1"], "--learners"),
        (["replay", SAMPLE, "--threads", "0"], "--threads"),
        (["replay", SAMPLE, "--threads", "-1"], "--threads"),
        (["replay", SAMPLE, "--threads", "100000"], "--threads"),
        (["replay", SAMPLE, "--steps", "3:3"], "--steps"),
        (["replay", SAMPLE, "--steps", "4:2"], "--steps"),
        (["replay", SAMPLE, "--steps", "-1:"], "--steps"),
        (["replay", SAMPLE, "--steps", "9" * 25 + ":"], "--steps"),
        (["encode", G0, "-o", os.path.join(tmp, "o.adc"), "--threads", "0"], "--threads"),
        (["encode", G0, "-o", os.path.join(tmp, "o.adc"), "--threads", "-1"], "--threads"),
        (["encode", G0, "-o", os.path.join(tmp, "o.adc"), "--scale-factor", "nan"], "--scale-factor"),
        (["encode", G0, "-o", os.path.join(tmp, "o.adc"), "--lock-timeout", "-1"], "--lock-timeout"),
        (["diff", G0, G0, "--tolerance", "nan"], "--tolerance"),
        (["bench", "--repeat", "-1"], "--repeat"),
        (["bench", "--repeat", "0"], "--repeat"),
        (["bench", "--elements", "0"], "--elements"),
        (["bench", "--elements", "-5"], "--elements"),
        (["bench", "--beta", "nan"], "--beta"),
        (["bench", "--seed", "-1"], "--seed"),
        (["bench", "--bin-size", "-1"], "--bin-size"),
    ]
    for args, option in bad:
        expect(2, [option], " ".join(args[:1] + args[2:]) if args[0] != "bench" else " ".join(args), *args)
    check(not os.path.exists(os.path.join(tmp, "o.adc")), "rejected options write nothing")
    for key, value, needle in (("lr", "fast", "'lr' is not a number"), ("lr", -1, "'lr' must be a number above 0"),
                               ("momentum", 1.5, "'momentum' must be from 0")):
        dump = os.path.join(tmp, "meta-%s-%s" % (key, value))
        shutil.copytree(SAMPLE, dump)
        meta = json.load(open(os.path.join(dump, "meta.json")))
        meta[key] = value
        json.dump(meta, open(os.path.join(dump, "meta.json"), "w"))
        expect(3, ["meta.json", needle], "meta.json %s = %r" % (key, value), "replay", dump)


def name_cases(tmp):
    os.chdir(tmp)
    np.save("g.npy", np.load(G0)["fc1.weight"])
    T.run_ok("encode", "g.npy", "-o", "g.adc")
    result = adacomp("diff", "g.adc", "g.npy", "--json")
    got = json.loads(result.stdout)
    check([t["name"] for t in got["tensors"]] == ["g"] and not got["only_in_a"] and not got["only_in_b"],
          "diff g.adc g.npy compares tensor g: %s" % result.stdout[:200])
    T.run_ok("decode", "g.adc", "-o", "decoded.npy")
    got = json.loads(adacomp("diff", "g.adc", "decoded.npy", "--json").stdout)
    check([t["name"] for t in got["tensors"]] == ["g"] and got["tensors"][0]["identical"],
          "diff g.adc decoded.npy: the stream's only tensor against the .npy, identical")
    got = json.loads(adacomp("diff", "decoded.npy", "g.npy", "--json").stdout)
    check(len(got["tensors"]) == 1, "two .npy files are compared whatever their stems")
    T.run_ok("encode", "decoded.npy", "-o", "again.adc")
    inspect = json.loads(adacomp("inspect", "again.adc", "--json").stdout)
    check([f["name"] for f in inspect["frames"]] == ["decoded"], "encode names a .npy's tensor after its stem")
    got = json.loads(adacomp("diff", "g.adc", G0, "--json").stdout)
    check(len(got["tensors"]) == 0 and "g" in got["only_in_a"], "an .npz keeps its names: g is not one of them")


def honest_figure_cases(tmp):
    def summary(*args):
        result = adacomp("replay", *args)
        line = [l for l in result.stdout.splitlines() if l.startswith("baseline replay vs final")]
        return result, line[0] if line else ""

    result, line = summary(SAMPLE)
    check(result.returncode == 0 and "(relative L2)" in line and result.stderr == "", "whole dump: figure shown")
    _, line = summary(SAMPLE, "--learners", "1")
    check("not compared, only 1 of the 2 learners were replayed" in line, "--learners 1: %r" % line)
    _, line = summary(SAMPLE, "--steps", "1:4")
    check("not compared, only steps 1-3 of the dump's 0-5 were replayed" in line, "--steps 1:4: %r" % line)
    _, line = summary(SAMPLE, "--steps", "0:")
    check("(relative L2)" in line, "--steps covering the whole dump: figure shown")
    gap = os.path.join(tmp, "gap")
    shutil.copytree(SAMPLE, gap)
    shutil.rmtree(os.path.join(gap, "step-00003"))
    report = os.path.join(tmp, "gap.json")
    _, line = summary(gap, "--report", report)
    check("not compared, the dump has no step 3" in line, "a gap in the steps: %r" % line)
    got = json.load(open(report))
    check(got["total"]["baseline_vs_final"] is None and got["final_comparison_skipped"] == "the dump has no step 3",
          "the report says why baseline_vs_final is null")
    result, line = summary(SAMPLE, "--lr", "0.01")
    warning = result.stderr.strip().splitlines()
    check(result.returncode == 0 and len(warning) == 1 and "warning" in warning[0] and "final.npz" in warning[0],
          "a baseline far from final.npz warns on one line: %r" % result.stderr)
    result = adacomp("replay", SAMPLE, "--lr", "0.01", "-q")
    check(result.stderr == "", "-q silences the warning")
    for change, needle in ((lambda p: p[2]["shape"].reverse(), "parameter 'fc1.weight' has shape [128,32] but [32,128]"),
                           (lambda p: p.pop(), "does not list tensor 'fc2.bias'"),
                           (lambda p: p.append({"name": "extra.weight", "shape": [3]}), "parameter 'extra.weight' is not in")):
        dump = os.path.join(tmp, "meta-params-%d" % len(os.listdir(tmp)))
        shutil.copytree(SAMPLE, dump)
        meta = json.load(open(os.path.join(dump, "meta.json")))
        change(meta["parameters"])
        json.dump(meta, open(os.path.join(dump, "meta.json"), "w"))
        expect(3, ["meta.json", needle], "meta.json parameters: " + needle, "replay", dump)


def sample_is_a_dump():
    """The shipped sample holds the dump layout's files and nothing else (fuzz mutants once landed
    there)."""
    allowed = {"meta.json", "init.npz", "final.npz"}
    stray = []
    for d, dirs, files in os.walk(SAMPLE):
        rel = os.path.relpath(d, SAMPLE)
        for f in files:
            ok = (rel == "." and f in allowed) or (rel.startswith("step-") and f.startswith("learner-") and f.endswith(".npz"))
            if not ok:
                stray.append(os.path.join(rel, f))
    check(not stray, "samples/digits-cnn-tiny holds only dump files, found %s" % stray[:5])


def main():
    sample_before = tree_hash(SAMPLE)
    with tempfile.TemporaryDirectory() as tmp:
        for case in (same_file_cases, replay_output_cases, stream_directory_cases, residue_lock_cases, signal_cases,
                     number_cases, option_cases, name_cases, honest_figure_cases):
            sub = os.path.join(tmp, case.__name__)
            os.makedirs(sub)
            case(sub)
        os.chdir(T.root)
    sample_is_a_dump()
    check(tree_hash(SAMPLE) == sample_before, "the shipped sample is unchanged by the whole run")
    return T.finish("data safety")


if __name__ == "__main__":
    sys.exit(main())
