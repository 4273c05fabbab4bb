#!/usr/bin/env python3
"""The exit-code contract is total: every subcommand, fed a battery of malformed files, dumps and
arguments, exits with a documented code other than 5 (5 means a bug in adacomp) and never dies by
a signal; every failure is one line on stderr starting with "adacomp: ".

usage: exit_code_tests.py ADACOMP_BINARY REPO_ROOT
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from testlib import Checks

T = Checks(sys.argv[1], sys.argv[2])
check = T.check
SAMPLE = T.sample
GOLDEN = os.path.join(T.root, "format_spec", "golden")


def bad_files(tmp):
    """Files that are not what they claim, by name."""
    files = {}

    def add(name, data):
        path = os.path.join(tmp, name)
        open(path, "wb").write(data)
        files[name] = path

    g0 = open(os.path.join(SAMPLE, "step-00000", "learner-0.npz"), "rb").read()
    stream = subprocess.run([T.adacomp_binary, "encode", os.path.join(SAMPLE, "step-00000", "learner-0.npz")],
                            capture_output=True).stdout
    add("empty.npz", b"")
    add("garbage.npz", b"PK\x03\x04" + os.urandom(200))
    add("truncated.npz", g0[: len(g0) // 2])
    add("truncated.adc", stream[: len(stream) // 2])
    add("stream-without-end.adc", stream[:-8])
    add("noise.adc", os.urandom(1000))
    add("header-only.npy", b"\x93NUMPY\x01\x00\x76\x00" + b"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }".ljust(117) + b"\n")
    add("forged.safetensors", struct.pack("<Q", 80) + b'{"w":{"dtype":"F32","shape":[4000000000],"data_offsets":[0,16000000000]}}'.ljust(80))
    add("safetensors-bad-json.safetensors", struct.pack("<Q", 10) + b"{not json}")
    add("safetensors-array.safetensors", struct.pack("<Q", 8) + b"[1,2,3] ")
    add("float64.npy", _npy(np.zeros(4, np.float64)))
    add("int.npy", _npy(np.zeros(4, np.int32)))
    add("nan.npy", _npy(np.array([1.0, np.nan], np.float32)))
    zip_path = os.path.join(tmp, "latin1-name.npz")
    with zipfile.ZipFile(zip_path, "w") as z:
        z.writestr("cafX.npy", _npy(np.ones(8, np.float32)))
    # a member name that is not UTF-8 (a legacy code page's byte), in the local and central headers
    open(zip_path, "wb").write(open(zip_path, "rb").read().replace(b"cafX", b"caf\xe9"))
    files["latin1-name.npz"] = zip_path
    with zipfile.ZipFile(os.path.join(tmp, "not-npy-member.npz"), "w") as z:
        z.writestr("readme.txt", "hello")
    files["not-npy-member.npz"] = os.path.join(tmp, "not-npy-member.npz")
    os.makedirs(os.path.join(tmp, "a-directory.npz"))
    files["a-directory.npz"] = os.path.join(tmp, "a-directory.npz")
    files["missing.npz"] = os.path.join(tmp, "missing.npz")
    os.symlink("loop.npz", os.path.join(tmp, "loop.npz"))
    files["loop.npz"] = os.path.join(tmp, "loop.npz")
    files["dev-null"] = "/dev/null"
    for name in sorted(os.listdir(os.path.join(GOLDEN, "invalid"))):
        files["golden-" + name] = os.path.join(GOLDEN, "invalid", name)
    return files


def _npy(array):
    import io
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def bad_dumps(tmp):
    dumps = {}

    def fresh(name, change):
        path = os.path.join(tmp, "dump-" + name)
        shutil.copytree(SAMPLE, path)
        change(path)
        dumps[name] = path

    def write(path, data):
        open(path, "wb" if isinstance(data, bytes) else "w").write(data)

    def meta(path, value):
        write(os.path.join(path, "meta.json"), value if isinstance(value, (str, bytes)) else json.dumps(value))

    def meta_with(key, value):
        def change(path):
            m = json.load(open(os.path.join(path, "meta.json")))
            m[key] = value
            meta(path, m)
        return change

    fresh("meta-garbage", lambda p: meta(p, "{not json"))
    fresh("meta-array", lambda p: meta(p, [1, 2]))
    fresh("meta-bad-utf8", lambda p: meta(p, b'{"lr": 0.05, "name": "\xff\xfe"}'))
    fresh("meta-lr-string", meta_with("lr", "0.05"))
    fresh("meta-lr-huge", meta_with("lr", 1e308))
    fresh("meta-momentum-null", meta_with("momentum", None))
    fresh("meta-parameters-number", meta_with("parameters", 5))
    fresh("meta-parameters-bad-entry", meta_with("parameters", [{"name": 1}]))
    fresh("meta-parameters-negative-dim", meta_with("parameters", [{"name": "conv1.weight", "shape": [-1]}]))
    fresh("meta-a-directory", lambda p: (os.remove(os.path.join(p, "meta.json")), os.makedirs(os.path.join(p, "meta.json"))))
    fresh("init-garbage", lambda p: write(os.path.join(p, "init.npz"), b"PK\x03\x04garbage"))
    fresh("final-garbage", lambda p: write(os.path.join(p, "final.npz"), b"not a zip"))
    fresh("final-a-directory", lambda p: (os.remove(os.path.join(p, "final.npz")), os.makedirs(os.path.join(p, "final.npz"))))
    fresh("learner-a-directory", lambda p: (os.remove(os.path.join(p, "step-00002", "learner-1.npz")),
                                            os.makedirs(os.path.join(p, "step-00002", "learner-1.npz"))))
    fresh("learner-dangling-link", lambda p: (os.remove(os.path.join(p, "step-00002", "learner-1.npz")),
                                              os.symlink("/nonexistent/x.npz", os.path.join(p, "step-00002", "learner-1.npz"))))
    fresh("step-a-file", lambda p: write(os.path.join(p, "step-00009"), b"a file"))
    fresh("step-dangling-link", lambda p: os.symlink("/nonexistent", os.path.join(p, "step-00009")))
    fresh("step-link-loop", lambda p: os.symlink("step-00009", os.path.join(p, "step-00009")))
    fresh("step-huge-number", lambda p: os.makedirs(os.path.join(p, "step-" + "1" * 30)))
    fresh("learner-huge-number", lambda p: shutil.copy(os.path.join(p, "step-00000", "learner-0.npz"),
                                                       os.path.join(p, "step-00000", "learner-" + "7" * 30 + ".npz")))
    fresh("learner-gap", lambda p: os.rename(os.path.join(p, "step-00001", "learner-1.npz"),
                                             os.path.join(p, "step-00001", "learner-5.npz")))
    fresh("empty-step", lambda p: [os.remove(os.path.join(p, "step-00004", f)) for f in os.listdir(os.path.join(p, "step-00004"))])
    fresh("both-formats", lambda p: shutil.copy(os.path.join(p, "step-00000", "learner-0.npz"),
                                                os.path.join(p, "step-00000", "learner-0.safetensors")))
    os.makedirs(os.path.join(tmp, "empty-dump"))
    dumps["empty"] = os.path.join(tmp, "empty-dump")
    dumps["missing"] = os.path.join(tmp, "no-such-dump")
    open(os.path.join(tmp, "dump-is-a-file"), "w").write("x")
    dumps["a-file"] = os.path.join(tmp, "dump-is-a-file")
    return dumps


def run(args, label):
    try:
        result = subprocess.run([T.adacomp_binary, *args], capture_output=True, text=True, errors="replace",
                                stdin=subprocess.DEVNULL, timeout=120)
    except subprocess.TimeoutExpired:
        check(False, "%s: did not finish in 120 s" % label)
        return
    code = result.returncode
    check(code >= 0, "%s: killed by signal %d: %s" % (label, -code, result.stderr[-300:]))
    check(code in (0, 1, 2, 3, 4), "%s: exit %d (5 is a bug): %s" % (label, code, result.stderr[-300:]))
    if code >= 2:
        lines = result.stderr.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("adacomp: "), "%s: one-line error, got %r" % (label, result.stderr))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        files = bad_files(tmp)
        dumps = bad_dumps(tmp)
        good = os.path.join(SAMPLE, "step-00000", "learner-0.npz")
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        runs = 0
        for name, path in sorted(files.items()):
            for args in (["encode", path, "-o", os.path.join(out, "o.adc"), "-f"],
                         ["encode", good, "--residue", path, "-o", os.path.join(out, "o.adc"), "-f"],
                         ["encode", path, "--residue", os.path.join(out, "r.safetensors"), "-o", os.path.join(out, "o.adc"), "-f"],
                         ["encode", path, "--shape", "4,4", "-o", os.path.join(out, "o.adc"), "-f"],
                         ["decode", path, "-o", os.path.join(out, "o.npz"), "-f"],
                         ["decode", path, "-o", os.path.join(out, "o.safetensors"), "-f"],
                         ["inspect", path], ["inspect", path, "--json", "--bins"],
                         ["diff", path, good], ["diff", good, path, "--json"], ["verify", path],
                         ["bench", path, "--repeat", "1", "--threads", "1"]):
                run(args, "%s on %s" % (args[0], name))
                runs += 1
        for name, path in sorted(dumps.items()):
            for extra in ([], ["--report", os.path.join(out, "r.json"), "--save-weights", os.path.join(out, "w.safetensors"),
                               "--save-stream", os.path.join(out, "s"), "-f"], ["--learners", "1", "--steps", "1:3"]):
                run(["replay", path, "-q", *extra], "replay %s %s" % (name, " ".join(extra[:1])))
                runs += 1
        weird_arguments = [
            [], ["encode", "--bin-size"], ["encode", "--bin-size", "x=y"], ["encode", "--bin-size", "*=" + "9" * 30],
            ["encode", "--shape", "9" * 30, "/dev/null"], ["encode", "--shape", ",,", "/dev/null"],
            ["encode", "--shape", "4294967296,4294967296", good], ["encode", "--zstd=abc", good],
            ["encode", good, "--name", ""], ["encode", good, "-o", ""], ["encode", good, "-o", out + "/"],
            ["decode", "--format", "tiff"], ["inspect", "--frame"], ["diff", good], ["verify"],
            ["replay"], ["replay", SAMPLE, "--steps", "::"], ["replay", SAMPLE, "--steps", "a:b"],
            ["replay", SAMPLE, "--exclude"], ["replay", SAMPLE, "--report", os.path.join(out, "r.txt")],
            ["replay", SAMPLE, "--save-weights", os.path.join(out, "w.txt")],
            ["replay", SAMPLE, "--save-stream", ""], ["bench", "--threads", ",,"], ["bench", "--threads", "1,x"],
            ["bench", "--kernel", "no-such-kernel", "--elements", "1000"], ["bench", "--distribution", "cauchy"],
            ["--no-such-flag"], ["frobnicate"], ["encode", "-v", "-v", "-v", "-q", good, "-o", os.path.join(out, "v.adc"), "-f"],
        ]
        for args in weird_arguments:
            run(args, "adacomp %s" % " ".join(args))
            runs += 1
        print("ran %d commands" % runs)
    return T.finish("exit codes")


if __name__ == "__main__":
    sys.exit(main())
