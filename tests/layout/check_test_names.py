#!/usr/bin/env python3
"""Every doctest case name must survive CTest: doctest_discover_tests registers each case by name,
and CMake splits a name at ';' into a list, so such a case would run as a filter that matches
nothing and pass without running. Fails naming each such case.

usage: check_test_names.py REPO_ROOT
"""
import glob
import os
import re
import sys

root = sys.argv[1]
bad = []
for path in sorted(glob.glob(os.path.join(root, "tests", "**", "*.cpp"), recursive=True)):
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        for name in re.findall(r'TEST_CASE\("((?:[^"\\]|\\.)*)"', line):
            if ";" in name or "\\" in name:
                bad.append("%s:%d: %r" % (os.path.relpath(path, root), number, name))
for entry in bad:
    print("FAIL: a test case name with ';' or '\\' runs nothing under ctest:", entry)
print("test names: %d bad" % len(bad))
sys.exit(1 if bad else 0)
