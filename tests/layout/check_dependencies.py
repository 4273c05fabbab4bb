#!/usr/bin/env python3
"""The units' include rules (src/CMakeLists.txt): each unit includes only itself and the units
below it, common <- codec <- entries <- wire <- io <- codecs <- replay <- mpi <- bench harness <- cli, python. Every quoted #include of
every source and public header is resolved to the file it names, and that file's unit must not be
above the including file's. Fails naming each include that breaks the rule, and any folder of src/
or public header that belongs to no unit.

usage: check_dependencies.py REPO_ROOT
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1])
SRC, INCLUDE, BENCH = (os.path.join(ROOT, d) for d in ("src", "include/adacomp", "bench"))
UNITS = ["common", "codec", "entries", "wire", "io", "codecs", "replay", "mpi", "bench", "cli", "python"]  # lowest first
PUBLIC = {  # include/adacomp/NAME.hpp -> unit
    "error": "common", "dtype": "common", "tensor": "common", "byte_io": "common", "metrics": "common",
    "version": "common", "collective": "common", "precision": "common",
    "codec": "codec", "residue": "codec", "bin_size_policy": "codec", "kernels": "codec",
    "coded_entries": "entries",
    "wire": "wire", "encoder": "wire", "frame_stats": "wire", "stream_average": "wire",
    "tensor_file": "io", "inspect": "io",
    "codecs": "codecs",
    "replay": "replay", "compare": "replay",
}
INCLUDE_LINE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
problems = []


def unit_of(path):
    path = os.path.abspath(path)
    if path.startswith(INCLUDE + os.sep):
        name = os.path.basename(path).split(".")[0]
        if name not in PUBLIC:
            problems.append("include/adacomp/%s belongs to no unit (add it to PUBLIC)" % os.path.basename(path))
        return PUBLIC.get(name)
    if path.startswith(BENCH + os.sep):
        return "bench"
    if path.startswith(SRC + os.sep):
        top = os.path.relpath(path, SRC).split(os.sep)[0]
        if top not in UNITS:
            problems.append("src/%s belongs to no unit (add it to UNITS)" % top)
            return None
        return top
    return None


def resolve(including, name):
    for base in (os.path.dirname(including), SRC, os.path.join(ROOT, "include"), BENCH):
        candidate = os.path.join(base, name)
        if os.path.isfile(candidate) or os.path.isfile(candidate + ".in"):
            return candidate
    return None


files = []
for base in (SRC, INCLUDE, BENCH):
    for directory, _, names in os.walk(base):
        files += [os.path.join(directory, n) for n in names if n.endswith((".cpp", ".hpp", ".h", ".hpp.in"))]
checked = 0
for path in sorted(files):
    unit = unit_of(path)
    if unit is None:
        continue
    for name in INCLUDE_LINE.findall(open(path, encoding="utf-8").read()):
        target = resolve(path, name)
        if target is None:
            continue  # a generated or third-party header
        checked += 1
        target_unit = unit_of(target)
        if target_unit and UNITS.index(target_unit) > UNITS.index(unit):
            problems.append("%s (unit %s) includes %s (unit %s, above it)"
                            % (os.path.relpath(path, ROOT), unit, name, target_unit))
for problem in problems:
    print("FAIL:", problem)
print("unit dependencies: %d includes checked in %d files" % (checked, len(files)))
print("%d passed, %d failed" % (1 if not problems else 0, len(problems)))
sys.exit(1 if problems else 0)
