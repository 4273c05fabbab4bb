"""What the Python test scripts share: pass/fail counting, running the binary, the reference."""
import os
import subprocess
import sys


class Checks:
    def __init__(self, adacomp, root):
        self.adacomp_binary = adacomp
        self.root = root
        self.passed = self.failed = self.skipped = 0
        sys.path.insert(0, os.path.join(root, "tools"))

    def check(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what)

    def skip(self, what):
        """A check that cannot run here: counted and named, never passed."""
        self.skipped += 1
        print("skipped:", what)

    def run(self, *args):
        return subprocess.run([self.adacomp_binary, *args], capture_output=True, text=True)

    def run_ok(self, *args):
        subprocess.run([self.adacomp_binary, *args], check=True)

    def finish(self, label):
        print("%s: %d passed, %d failed, %d skipped" % (label, self.passed, self.failed, self.skipped))
        return 1 if self.failed else 0

    @property
    def sample(self):
        return os.path.join(self.root, "samples", "digits-cnn-tiny")

    @property
    def shared(self):
        """The shared real dumps: CMake's ADACOMP_SHARED_GRADIENTS, passed through the environment."""
        return os.environ.get("ADACOMP_SHARED_GRADIENTS") or os.path.join(self.root, "..", "shared", "data", "gradients")
