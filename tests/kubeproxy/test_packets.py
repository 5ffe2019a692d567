"""Real packets through the rules kube-proxy writes, on a 2-node lab (run as root; marked netns).

Pods run an echo server that answers with its name and the client address it saw. One lab serves the
whole module (building it is the slow part); each test sets the Services it needs and syncs.
"""
from __future__ import annotations

import collections
import socket
import subprocess
import sys
import time

import pytest
from kp_client import ask_tcp, ask_udp, udp_client
from kp_dump import normalized_save

from kubeproxy import restore
from kubeproxy.config import NodeConfig
from kubeproxy.proxier import KubeProxy
from kubeproxy.runner import NamespaceRunner
from kubeproxy.testing import echo

pytestmark = pytest.mark.netns

LB_IP = "172.18.255.200"


def svc(name, ip, port=80, target=8080, proto="TCP", node_port=0, lb_ip=None, **spec):
    port_spec = {"name": "p", "port": port, "targetPort": target, "protocol": proto}
    if node_port:
        port_spec["nodePort"] = node_port
    obj = {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
           "spec": {"clusterIP": ip, "ports": [port_spec],
                    "type": "LoadBalancer" if lb_ip else "NodePort" if node_port else "ClusterIP", **spec}}
    if lb_ip:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": lb_ip}]}}
    return obj


def eps(name, pods, proto="TCP"):
    return {"kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": f"{name}-x", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "endpoints": [{"addresses": [str(p.ip)], "nodeName": p.node} for p in pods],
            "ports": [{"name": "p", "port": 8080, "protocol": proto}]}


class Cluster:
    def __init__(self, lab):
        from netns.pods import PodNetworks

        self.lab, self.spec = lab, lab.require_spec()
        self.node1, self.node2 = self.spec.nodes
        pods = PodNetworks(lab)
        self.web_a, self.web_c, self.client1 = pods.add("node1", ["default.web-a", "default.web-c", "default.client-1"])
        self.web_b, self.client2 = pods.add("node2", ["default.web-b", "default.client-2"])
        for pod in (self.web_a, self.web_b, self.web_c):
            name = pod.pod_id.split(".")[1]
            lab.start_process(pod.netns, [sys.executable, echo.__file__, name, "8080"], "echo")
        self.proxies = {n.name: KubeProxy(NodeConfig(n.name, (str(n.ip),), cluster_cidr=str(self.spec.pod_cidr)),
                                          NamespaceRunner(n.netns)) for n in self.spec.nodes}
        lab.announce(LB_IP, "node1")
        for node in self.spec.nodes:
            # Real nodes (kind's) route everything else via the docker gateway; without a default route
            # the node's own connect() to a clusterIP fails before OUTPUT's DNAT (netns gives none yet).
            subprocess.run(["ip", "-n", node.netns, "route", "replace", "default", "via", str(self.spec.ext_ip)],
                           check=True)
        for pod in (self.web_a, self.web_b, self.web_c):
            self._wait_listening(pod)

    def _wait_listening(self, pod) -> None:
        for _ in range(100):
            try:
                ask_tcp(self.client1.netns, pod.ip, 8080, timeout=0.5)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"echo server in {pod.pod_id} did not start")

    def apply(self, services, slices):
        for proxy in self.proxies.values():
            proxy.replace(services, slices)
            figures = proxy.sync()
            assert figures.failures == 0, figures.last_error


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tests.conftest import unique_cluster_name
    from netns import namespaces
    from netns.cluster import Lab
    from netns.spec import cluster_net

    name = unique_cluster_name("kp")
    lab = Lab(name, run_base=str(tmp_path_factory.mktemp("run")))
    try:
        lab.up(cluster_net(name, nodes=2))
        yield Cluster(lab)
    finally:
        lab.down()
    assert not sorted(n for n in namespaces.names() if n.startswith(f"kl-{name}-"))


def test_cluster_ip_from_pods_on_both_nodes_and_from_the_node(cluster):
    c = cluster
    c.apply([svc("web", "10.96.0.20")], [eps("web", [c.web_a, c.web_b])])
    for client in (c.client1, c.client2):
        backend, seen = ask_tcp(client.netns, "10.96.0.20", 80)
        assert backend in ("web-a", "web-b") and seen == str(client.ip)  # pod traffic is not masqueraded
    backend, _ = ask_tcp(c.node1.netns, "10.96.0.20", 80)
    assert backend in ("web-a", "web-b")


def test_node_port_from_outside_from_a_pod_and_on_localhost(cluster):
    c = cluster
    c.apply([svc("web", "10.96.0.20", node_port=30080)], [eps("web", [c.web_a, c.web_b])])
    backend, seen = ask_tcp(c.spec.ext_netns, c.node1.ip, 30080)
    assert backend in ("web-a", "web-b") and seen != str(c.spec.ext_ip)  # Cluster policy masquerades
    assert ask_tcp(c.client2.netns, c.node1.ip, 30080)[0] in ("web-a", "web-b")
    assert ask_tcp(c.node1.netns, "127.0.0.1", 30080)[0] in ("web-a", "web-b")


def test_load_balancer_ip_from_outside(cluster):
    c = cluster
    c.apply([svc("web", "10.96.0.20", node_port=30080, lb_ip=LB_IP)], [eps("web", [c.web_a, c.web_b])])
    assert ask_tcp(c.spec.ext_netns, LB_IP, 80)[0] in ("web-a", "web-b")


def test_external_traffic_policy_local_keeps_client_ip_and_ignores_nodes_without_endpoint(cluster):
    c = cluster
    c.apply([svc("local", "10.96.0.21", node_port=30081, externalTrafficPolicy="Local")],
            [eps("local", [c.web_b])])
    backend, seen = ask_tcp(c.spec.ext_netns, c.node2.ip, 30081)
    assert (backend, seen) == ("web-b", str(c.spec.ext_ip))
    with pytest.raises(socket.timeout):
        ask_tcp(c.spec.ext_netns, c.node1.ip, 30081, timeout=1.5)  # dropped: no local endpoint on node1


def test_client_ip_affinity_sticks_to_one_pod(cluster):
    c = cluster
    c.apply([svc("sticky", "10.96.0.22", sessionAffinity="ClientIP")], [eps("sticky", [c.web_a, c.web_b, c.web_c])])
    answers = {ask_tcp(c.client2.netns, "10.96.0.22", 80)[0] for _ in range(30)}
    assert len(answers) == 1


def test_pod_reaches_itself_through_its_service(cluster):
    c = cluster
    c.apply([svc("self", "10.96.0.25")], [eps("self", [c.web_a])])
    backend, seen = ask_tcp(c.web_a.netns, "10.96.0.25", 80)
    assert backend == "web-a" and seen != str(c.web_a.ip)  # hairpin: masqueraded, or the reply would bypass


def test_service_without_endpoints_is_refused_at_once(cluster):
    c = cluster
    c.apply([svc("empty", "10.96.0.23")], [])
    with pytest.raises(ConnectionRefusedError):
        ask_tcp(c.client1.netns, "10.96.0.23", 80, timeout=10)


def test_udp_client_keeping_its_socket_reaches_the_new_endpoint(cluster):
    c = cluster
    dns = svc("dns", "10.96.0.24", port=53, proto="UDP")
    c.apply([dns], [eps("dns", [c.web_a], "UDP")])
    with udp_client(c.client1.netns, "10.96.0.24", 53) as sock:
        assert ask_udp(sock) == "web-a"
        c.apply([dns], [eps("dns", [c.web_b], "UDP")])  # web-a still serves: only conntrack pins it
        assert ask_udp(sock) == "web-b"
    assert c.proxies["node1"].figures.last_conntrack_deletes > 0


def test_load_spreads_over_all_endpoints(cluster):
    c = cluster
    c.apply([svc("spread", "10.96.0.26")], [eps("spread", [c.web_a, c.web_b, c.web_c])])
    counts = collections.Counter(ask_tcp(c.client2.netns, "10.96.0.26", 80)[0] for _ in range(300))
    # Each endpoint expects 100 of 300; fewer than 40 is > 7 standard deviations away (p < 1e-12).
    assert set(counts) == {"web-a", "web-b", "web-c"} and min(counts.values()) >= 40, counts


def test_after_partial_syncs_iptables_save_equals_the_full_render(cluster):
    c = cluster
    proxy = c.proxies["node1"]
    c.apply([svc("web", "10.96.0.20", node_port=30080), svc("dns", "10.96.0.24", port=53, proto="UDP")],
            [eps("web", [c.web_a, c.web_b]), eps("dns", [c.web_a], "UDP")])
    c.apply([svc("web", "10.96.0.20", node_port=30080), svc("other", "10.96.0.27")],
            [eps("web", [c.web_c, c.web_b]), eps("other", [c.web_b])])
    assert proxy.figures.last_kind == "partial" and proxy.runner.backend == "nft"
    scratch = f"kl-{c.lab.name}-scratch"
    c.lab.ensure_netns(scratch)
    fresh = NamespaceRunner(scratch, backend=proxy.runner.backend)
    fresh.restore(restore.render_text(proxy.desired()))
    for table in ("filter", "nat"):
        synced = {k: v for k, v in normalized_save(proxy.runner.save(table))[table].items() if k.startswith("KUBE-")}
        want = {k: v for k, v in normalized_save(fresh.save(table))[table].items() if k.startswith("KUBE-")}
        assert synced == want
