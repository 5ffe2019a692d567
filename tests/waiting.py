"""Waiting for a running cluster to converge: poll a condition, fail with what was awaited and why."""
from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 30.0, what: str = "condition", diagnose=lambda: ""):
    """The predicate's first truthy value; an AssertionError naming `what` (and `diagnose()`) on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:g}s {diagnose()}".rstrip()
        time.sleep(0.1)
