#!/usr/bin/env python3
"""Runs one pytest file of tests/python for ctest: exit 77 (skipped) when pytest, or torch for the
hook's tests, is missing, so that ctest reports them skipped and never passed; else pytest's code.

usage: run_tests.py TEST_FILE
"""
import importlib.util
import os
import sys

path = sys.argv[1]
needs = ["pytest", "numpy"] + (["torch"] if os.path.basename(path) == "test_hook.py" else [])
missing = [m for m in needs if importlib.util.find_spec(m) is None]
if missing:
    print("skipped: %s needs %s (Debian: python3-pytest, python3-torch)" % (path, ", ".join(missing)))
    sys.exit(77)
import pytest  # noqa: E402


class Outcomes:
    passed = skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and report.passed:
            Outcomes.passed += 1
        elif report.skipped:
            Outcomes.skipped += 1


code = pytest.main(["-q", "-rs", "-p", "no:cacheprovider", path], plugins=[Outcomes()])
# a file whose tests were all skipped has not passed
sys.exit(77 if code == 0 and Outcomes.passed == 0 else int(code))
