"""Shared test fixtures. Tests marked `netns` need root and Linux namespaces; they run for real in CI."""
from __future__ import annotations

import os
import secrets

import pytest

from netns import preflight


def pytest_collection_modifyitems(config, items):
    reason = preflight.problem()
    if reason is None:
        return
    if os.environ.get("CI"):
        # In CI these tests are the point: never let them skip quietly.
        raise pytest.UsageError(f"netns tests cannot run in CI: {reason}")
    skip = pytest.mark.skip(reason=f"needs root and namespaces: {reason}")
    for item in items:
        if "netns" in item.keywords:
            item.add_marker(skip)


def unique_cluster_name(prefix: str = "t") -> str:
    """Short and unique, so parallel runs on one machine never share a namespace name."""
    return f"{prefix}{secrets.token_hex(3)}"


@pytest.fixture
def run_base(tmp_path):
    return str(tmp_path / "run")


@pytest.fixture
def lab(run_base):
    """A 2-node cluster network, torn down afterwards; the test fails if anything is left behind."""
    from netns import namespaces
    from netns.cluster import Lab
    from netns.spec import cluster_net

    name = unique_cluster_name()
    the_lab = Lab(name, run_base=run_base)
    the_lab.up(cluster_net(name, nodes=2))
    yield the_lab
    the_lab.down()
    leftovers = sorted(n for n in namespaces.names() if n.startswith(f"kl-{name}-"))
    assert not leftovers, f"namespaces left behind: {leftovers}"
