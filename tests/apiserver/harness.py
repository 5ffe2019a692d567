"""A real API server for tests: an in-memory registry on a fake clock, served over a Unix socket in a tmp dir
and a 127.0.0.1 port, plus the control plane's controllers and a stand-in kubelet, all driven by the test."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

from controlplane.apiserver import BackgroundServer, make_app
from controlplane.apiserver.tls import Certificate, ensure_certificate
from controlplane.controllers import standard_controllers
from controlplane.objects import rfc3339
from controlplane.registry import Registry
from controlplane.store import Store
from kubelab.client import Client
from kubelab.endpoints import ApiAddress

TOKEN = "test-token-0123456789"
START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeClock:
    def __init__(self, start: float = START):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Kubelet:
    """Plays the node agent: pods start Running and Ready with an IP; terminating pods finish."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self._ips = (f"10.244.1.{n}" for n in itertools.count(2))

    def sync(self) -> bool:
        changed = False
        for pod in self.registry.list("Pod").items:
            meta = pod["metadata"]
            if meta.get("deletionTimestamp"):
                self.registry.delete("Pod", meta["name"], meta["namespace"], grace_period_seconds=0)
                changed = True
            elif pod["spec"].get("nodeName") and pod["status"].get("phase") == "Pending":
                self.registry.update_status(self._running(pod))
                changed = True
        return changed

    def _running(self, pod: dict) -> dict:
        now = rfc3339(self.registry.clock())
        ip = next(self._ips)
        pod["status"].update(phase="Running", podIP=ip, podIPs=[{"ip": ip}], hostIP="172.18.0.2", startTime=now)
        pod["status"]["conditions"] = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                                       for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
        pod["status"]["containerStatuses"] = [
            {"name": c["name"], "image": c["image"], "imageID": "", "containerID": f"kubelab://{c['name']}",
             "ready": True, "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}
            for c in pod["spec"]["containers"]]
        return pod


@dataclass
class Cluster:
    registry: Registry
    clock: FakeClock
    server: BackgroundServer
    unix_path: str
    certificate: Certificate | None
    log_dir: str
    controllers: object = field(default=None)

    @property
    def tcp_port(self) -> int:
        return self.server.tcp_port

    def client(self) -> Client:
        return Client(ApiAddress(f"unix://{self.unix_path}"))

    def add_node(self, name: str = "node-1", ip: str = "172.18.0.2") -> None:
        self.registry.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name}}, "status": {"addresses": [{"type": "InternalIP", "address": ip}]}})

    def settle(self) -> None:
        """Controllers and kubelet until nothing changes: the cluster after a short while, without waiting."""
        if self.controllers is None:
            self.controllers = standard_controllers(self.registry)
        kubelet = Kubelet(self.registry)
        for _ in range(100):
            self.controllers.run_until_quiet()
            if not kubelet.sync():
                self.controllers.run_until_quiet()
                return
        raise AssertionError("the cluster did not settle")

    def log_path(self, namespace: str, pod: str, container: str) -> str | None:
        path = os.path.join(self.log_dir, f"{namespace}_{pod}_{container}.log")
        return path if os.path.exists(path) else None

    def write_log(self, namespace: str, pod: str, container: str, text: str) -> str:
        path = os.path.join(self.log_dir, f"{namespace}_{pod}_{container}.log")
        with open(path, "a") as handle:
            handle.write(text)
        return path


def start_cluster(tmp_path, tls: bool = False) -> Cluster:
    clock = FakeClock()
    registry = Registry(Store(), clock=clock)
    log_dir = str(tmp_path / "logs")
    os.makedirs(log_dir)
    unix_path = str(tmp_path / "api.sock")
    certificate = ensure_certificate(str(tmp_path / "pki")) if tls else None
    holder: dict = {}
    app = make_app(registry, token=TOKEN, log_path=lambda ns, pod, c: holder["cluster"].log_path(ns, pod, c))
    server = BackgroundServer(app, unix_path=unix_path, tcp_host="127.0.0.1", tcp_port=0,
                              certificate=certificate).start()
    cluster = Cluster(registry, clock, server, unix_path, certificate, log_dir)
    holder["cluster"] = cluster
    return cluster
