"""A real cluster (daemon, kubelets, kube-proxies) driven through the `kubelab` CLI, as a user would."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from netns import namespaces
from tests.conftest import unique_cluster_name


class Cluster:
    def __init__(self, name: str, run_base: str):
        self.name, self.run_base = name, run_base
        self.env = {**os.environ, "KUBELAB_RUN_DIR": run_base, "KUBELAB_CLUSTER": name}

    def kubelab(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "kubelab", *args], env=self.env, input=input,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubelab {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result

    def get(self, *args: str) -> dict:
        return json.loads(self.kubelab("get", *args, "-o", "json").stdout)

    @property
    def lab(self):
        from netns.cluster import Lab
        return Lab(self.name, run_base=self.run_base)

    def ready_pods(self, selector: str) -> list[dict]:
        return [p for p in self.get("pods", "-l", selector)["items"]
                if not p["metadata"].get("deletionTimestamp")
                and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One cluster per test module (bringing one up takes seconds; tests clean up their own objects)."""
    c = Cluster(unique_cluster_name("e"), str(tmp_path_factory.mktemp("run")))
    c.kubelab("up")
    yield c
    c.kubelab("down")
    assert not {n for n in namespaces.names() if n.startswith(f"kl-{c.name}-")}, "namespaces left behind"
    assert not os.path.exists(os.path.join(c.run_base, c.name)), "run directory left behind"
