"""Fixtures for the control-plane tests: an in-memory registry on a fake clock, the controllers, and a
tiny fake kubelet that plays the node agent (pods Running with an IP, Ready, and finishing termination)."""

from __future__ import annotations

import itertools
import random

import pytest

from controlplane.controllers import standard_controllers
from controlplane.objects import load_yaml, rfc3339
from controlplane.registry import Registry
from controlplane.store import Store


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeKubelet:
    """Writes pod status the way a kubelet would, only when a test says so."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self._ips = (f"10.244.{n // 250}.{n % 250 + 2}" for n in itertools.count())

    def _pod(self, name: str, namespace: str) -> dict:
        return self.registry.get("Pod", name, namespace)

    def start(self, name: str, namespace: str = "default", ready: bool = True) -> dict:
        pod = self._pod(name, namespace)
        status = pod["status"]
        status["phase"] = "Running"
        status.setdefault("podIP", next(self._ips))
        status["podIPs"] = [{"ip": status["podIP"]}]
        status["hostIP"] = "172.18.0.2"
        return self._set_ready(pod, ready)

    def set_ready(self, name: str, namespace: str = "default", ready: bool = True) -> dict:
        return self._set_ready(self._pod(name, namespace), ready)

    def _set_ready(self, pod: dict, ready: bool) -> dict:
        now = rfc3339(self.registry.clock())
        value = "True" if ready else "False"
        conditions = [c for c in pod["status"].get("conditions") or [] if c["type"] not in ("Ready", "ContainersReady")]
        for kind in ("Ready", "ContainersReady"):
            conditions.append({"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": now})
        pod["status"]["conditions"] = conditions
        return self.registry.update_status(pod)

    def start_all(self, namespace: str | None = None, ready: bool = True) -> list[str]:
        """Start every bound, not yet running pod; returns their names."""
        started = []
        for pod in self.registry.list("Pod", namespace).items:
            if pod["spec"].get("nodeName") and pod["status"].get("phase") == "Pending" and not pod["metadata"].get("deletionTimestamp"):
                self.start(pod["metadata"]["name"], pod["metadata"]["namespace"], ready)
                started.append(pod["metadata"]["name"])
        return started

    def finish_terminating(self, namespace: str | None = None) -> int:
        """Delete (grace 0) every pod whose graceful deletion began, as a kubelet does once it stopped them."""
        done = 0
        for pod in self.registry.list("Pod", namespace).items:
            if pod["metadata"].get("deletionTimestamp"):
                self.registry.delete("Pod", pod["metadata"]["name"], pod["metadata"]["namespace"], grace_period_seconds=0)
                done += 1
        return done


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock) -> Registry:
    return Registry(Store(), clock=clock, rng=random.Random(7))


@pytest.fixture
def kubelet(registry) -> FakeKubelet:
    return FakeKubelet(registry)


@pytest.fixture
def nodes(registry) -> list[str]:
    names = ["kind-worker", "kind-worker2"]
    for name in names:
        registry.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
    return names


@pytest.fixture
def controllers(registry, nodes):
    return standard_controllers(registry)


@pytest.fixture
def apply(registry):
    """Apply a YAML manifest (every document) and return the stored objects."""

    def _apply(text: str) -> list[dict]:
        return [registry.apply(obj) for obj in load_yaml(text)]

    return _apply
