"""One running cluster (lab + control plane + kubelets + kube-proxies) for the whole trace test module:
building it is the slow part. Pods run kubelab/echo, which answers `client=IP:PORT pod=NAME`."""
from __future__ import annotations

import pytest

from tests.waiting import wait_for

ECHO_PORT = 8080


def deployment(name: str, replicas: int, node: str | None = None) -> dict:
    spec = {"containers": [{"name": "echo", "image": "kubelab/echo", "ports": [{"containerPort": ECHO_PORT}]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def service(name: str, selector: str, node_port: int = 0) -> dict:
    port = {"port": 80, "targetPort": ECHO_PORT, "protocol": "TCP"}
    if node_port:
        port["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "NodePort" if node_port else "ClusterIP", "selector": {"app": selector},
                     "ports": [port]}}


class Cluster:
    def __init__(self, lab, runtime):
        self.lab, self.rt = lab, runtime
        self.spec = lab.require_spec()

    def pods(self, app: str) -> list[dict]:
        return [p for p in self.rt.registry.list("Pod").items
                if p["metadata"]["labels"].get("app") == app and p.get("status", {}).get("phase") == "Running"
                and all(c.get("ready") for c in p["status"].get("containerStatuses", []))]

    def answers(self, pod: dict) -> bool:
        """Whether the pod's echo server accepts connections yet."""
        import socket
        from netns import namespaces

        with namespaces.entered(self.spec.node(pod["spec"]["nodeName"]).netns):
            sock = socket.socket()
        with sock:
            sock.settimeout(1)
            return sock.connect_ex((pod["status"]["podIP"], ECHO_PORT)) == 0

    def cluster_ip(self, name: str) -> str:
        return self.rt.registry.get("Service", name, "default")["spec"]["clusterIP"]

    def wait_for_endpoints(self, service: str, count: int) -> None:
        """Every node's rules send `service` to `count` endpoints."""
        wait_for(lambda: all(self.rules_text(n.netns).count(f'"default/{service} -> ') == count
                             for n in self.spec.nodes), what=f"{count} endpoints for {service}",
                 diagnose=lambda: self.diagnose(service))

    def diagnose(self, service: str) -> str:
        slices = self.rt.registry.list("EndpointSlice", "default",
                                       label_selector=f"kubernetes.io/service-name={service}").items
        endpoints = [(e["addresses"], e.get("conditions")) for s in slices for e in s.get("endpoints") or []]
        pods = [(p["metadata"]["name"], p.get("status", {}).get("phase"),
                 [c.get("ready") for c in p.get("status", {}).get("containerStatuses", [])],
                 p["metadata"].get("deletionTimestamp")) for p in self.rt.registry.list("Pod").items]
        rules = {n.name: self.rules_text(n.netns).count(f'"default/{service} -> ') for n in self.spec.nodes}
        from kubeproxy import restore
        desired = {n: restore.render_text(p.desired()).count(f'"default/{service} -> ')
                   for n, p in self.rt.proxies.by_node.items()}
        return f"slices {endpoints}; pods {pods}; rules {rules}; kube-proxy's desired {desired}"

    def rules_text(self, netns: str) -> str:
        from kubeproxy.runner import NamespaceRunner
        return NamespaceRunner(netns).save("nat")

    def rules_have(self, text: str) -> bool:
        from kubeproxy.runner import NamespaceRunner
        return all(text in NamespaceRunner(n.netns).save(None) for n in self.spec.nodes)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tests.conftest import unique_cluster_name
    from kubelab.daemon.runtime import ClusterRuntime
    from netns import namespaces
    from netns.cluster import Lab
    from netns.spec import cluster_net

    name = unique_cluster_name("tr")
    lab = Lab(name, run_base=str(tmp_path_factory.mktemp("run")))
    rt = None
    try:
        lab.up(cluster_net(name, nodes=2))
        rt = ClusterRuntime(lab)
        rt.start()
        c = Cluster(lab, rt)
        rt.registry.create(deployment("web", 3))
        rt.registry.create(deployment("solo", 1))
        rt.registry.create(service("web", "web", node_port=30080))
        rt.registry.create(service("solo", "solo"))
        rt.registry.create(service("nobody", "nothing-has-this-label"))
        wait_for(lambda: len(c.pods("web")) == 3 and len(c.pods("solo")) == 1, what="pods running")
        for pod in c.pods("web") + c.pods("solo"):
            wait_for(lambda: c.answers(pod), what=f"{pod['metadata']['name']} listening")
        wait_for(lambda: all(c.rules_have(f'"default/{svc}') for svc in ("web", "solo", "nobody")),
                 what="rules", diagnose=lambda: str(rt.proxies.figures()))
        yield c
    finally:
        if rt is not None:
            rt.shutdown()
        lab.down()
    assert not sorted(n for n in namespaces.names() if n.startswith(f"kl-{name}-"))
