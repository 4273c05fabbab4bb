"""Shared fixtures of the Python tests: the adacomp binary, the sample dump, free ports."""
import os
import socket

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture
def adacomp_binary():
    path = os.environ.get("ADACOMP_BIN", os.path.join(ROOT, "build", "src", "adacomp"))
    if not os.path.exists(path):
        pytest.skip("the adacomp binary is not built at %s" % path)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
