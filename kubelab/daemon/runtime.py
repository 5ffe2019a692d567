"""What runs inside the cluster daemon: the registry over a durable store, the controllers, a LoadBalancer
IP allocator, and per node a kubelet loop and a kube-proxy, each in its own thread, woken by the store's
watch and by a short tick (probes and back-off need the clock, not only events)."""
from __future__ import annotations

import os
import threading
from typing import Callable

from controlplane.controllers import standard_controllers
from controlplane.errors import Conflict, NotFound
from controlplane.objects import rfc3339, wall_clock
from controlplane.registry import Registry
from controlplane.store import Store
from kubelab.daemon.loadbalancer import LoadBalancers
from kubelab.daemon.nodes import node_objects
from kubelab.daemon.proxies import Proxies
from kubelab.daemon.threads import KUBELET_TICK, Loop, resilient
from kubelab.kubelet.kubelet import Kubelet
from netns.cluster import Lab
from netns.ledger import Owned

STORE_FILE = "store.db"


class RegistryPodApi:
    """The kubelet's view of the API: status writes and the final delete after a graceful stop."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def update_pod_status(self, namespace: str, name: str, status: dict) -> None:
        for _ in range(3):
            try:
                pod = self.registry.get("Pod", name, namespace)
                pod["status"] = status
                self.registry.update_status(pod)
                return
            except Conflict:
                continue
            except NotFound:
                return

    def finalize_pod(self, namespace: str, name: str, uid: str) -> None:
        try:
            pod = self.registry.get("Pod", name, namespace)
        except NotFound:
            return
        if pod["metadata"]["uid"] == uid:
            self.registry.delete("Pod", name, namespace, grace_period_seconds=0)


class ClusterRuntime:
    def __init__(self, lab: Lab, clock=wall_clock):
        self.lab = lab
        self.spec = lab.require_spec()
        lab.ledger.compact()  # pods come and go: the journal would only grow
        store_path = os.path.join(lab.run_dir, STORE_FILE)
        if not os.path.exists(store_path):
            lab.ledger.record(Owned("file", store_path), Owned("file", store_path + "-journal"),
                              Owned("file", store_path + "-wal"), Owned("file", store_path + "-shm"))
        self.store = Store(store_path)
        self.registry = Registry(self.store, service_cidr=str(self.spec.service_cidr), clock=clock)
        self.stop = threading.Event()
        self.controllers = standard_controllers(self.registry)
        kubernetes_ip = self.registry.get("Service", "kubernetes", "default")["spec"]["clusterIP"]
        dns_ip = str(self.spec.service_cidr.network + 10)
        self.kubelets = {n.name: Kubelet(lab, n.name, RegistryPodApi(self.registry), kubernetes_ip=kubernetes_ip,
                                         dns_ip=dns_ip) for n in self.spec.nodes}
        self.proxies = Proxies(self.registry, self.spec)
        self.load_balancers = LoadBalancers(self.registry, lab)
        self.threads: list[threading.Thread] = []

    def register_nodes(self) -> None:
        for node in node_objects(self.spec, rfc3339(self.registry.clock())):
            try:
                current = self.registry.get("Node", node["metadata"]["name"])
            except NotFound:
                created = self.registry.create({k: v for k, v in node.items() if k != "status"})
                created["status"] = node["status"]
                self.registry.update_status(created)
                continue
            current["status"] = node["status"]
            self.registry.update_status(current)

    def kubelet_step(self, node: str) -> Callable[[], None]:
        kubelet = self.kubelets[node]

        def step() -> None:
            kubelet.sync(self.registry.list("Pod", field_selector=f"spec.nodeName={node}").items)

        return step

    def add_loop(self, name: str, step: Callable[[], None], tick: float = KUBELET_TICK) -> None:
        self.threads.append(Loop(name, step, self.registry, self.stop, tick))

    def start(self) -> None:
        self.register_nodes()
        self.threads.append(resilient("controllers", self.controllers.run, self.stop))
        for node in self.kubelets:
            self.add_loop(f"kubelet/{node}", self.kubelet_step(node))
        self.threads += self.proxies.threads(self.stop)
        self.add_loop("loadbalancers", self.load_balancers.step, tick=5.0)
        for thread in self.threads:
            thread.start()

    def log_path(self, namespace: str, pod: str, container: str | None = None, previous: bool = False) -> str | None:
        for kubelet in self.kubelets.values():
            path = kubelet.log_path(namespace, pod, container, previous)
            if path:
                return path
        return None

    def shutdown(self) -> None:
        """Stop the loops; containers keep running (a restarted daemon adopts them; `down` removes them)."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        for kubelet in self.kubelets.values():
            kubelet.close()
        self.store.close()
