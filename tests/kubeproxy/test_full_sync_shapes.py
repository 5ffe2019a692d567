"""Full syncs with the nft backend replace nat and filter when kube-proxy owns them (restore.py says why);
proven here in real namespaces: the kernel ends exactly as after upstream's --noflush sync, built-in
chains keep their counters and policies, other tables (a trace's TRACE rule in raw) are untouched, and
anything kube-proxy did not write in nat or filter makes the sync keep upstream's shape. Run as root.
"""
from __future__ import annotations

import itertools
import re
import subprocess

import pytest
from kp_dump import normalized_save

from kubeproxy import proxier, restore
from kubeproxy.config import NodeConfig
from kubeproxy.proxier import KubeProxy
from kubeproxy.runner import NamespaceRunner

pytestmark = pytest.mark.netns

CFG = NodeConfig("node1", ("172.18.0.2",))


def service(name, ip, node_port=0):
    port = {"name": "p", "port": 80, "protocol": "TCP", **({"nodePort": node_port} if node_port else {})}
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": [port], "type": "NodePort" if node_port else "ClusterIP"}}


def slice_(svc, ips):
    return {"kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": f"{svc}-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": svc}},
            "endpoints": [{"addresses": [ip], "nodeName": "node1"} for ip in ips],
            "ports": [{"name": "p", "port": 8080, "protocol": "TCP"}]}


BEFORE = ([service("web", "10.96.0.20", 30080), service("db", "10.96.0.30")],
          [slice_("web", ["10.244.0.5", "10.244.1.6"]), slice_("db", ["10.244.0.9"])])
AFTER = ([service("web", "10.96.0.20", 30080), service("cache", "10.96.0.40")],
         [slice_("web", ["10.244.0.5", "10.244.1.7"]), slice_("cache", ["10.244.0.11"])])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from tests.conftest import unique_cluster_name
    from netns import namespaces
    from netns.cluster import Lab

    the_lab = Lab(unique_cluster_name("kps"), run_base=str(tmp_path_factory.mktemp("run")))
    try:
        yield the_lab
    finally:
        the_lab.down()
    assert not [n for n in namespaces.names() if n.startswith(f"kl-{the_lab.name}-")]


_numbers = itertools.count(1)


@pytest.fixture
def node(lab):
    name = f"kl-{lab.name}-n{next(_numbers)}"
    lab.ensure_netns(name)
    return name


def iptables(netns, *args):
    subprocess.run(["ip", "netns", "exec", netns, "iptables", "-w", *args], check=True)


def synced_twice(netns, between=None) -> KubeProxy:
    """A first full sync of BEFORE, then (after `between`) a full sync of AFTER."""
    proxy = KubeProxy(CFG, NamespaceRunner(netns, backend="nft"))
    proxy.replace(*BEFORE)
    assert proxy.sync().failures == 0
    if between:
        between()
    proxy.replace(*AFTER)
    proxy.request_full_sync()
    figures = proxy.sync()
    assert figures.failures == 0 and figures.last_kind == "full", figures.last_error
    return proxy


def kube_chains(runner, table):
    return {c: r for c, r in normalized_save(runner.save(table))[table].items() if c.startswith("KUBE-")}


def test_replacing_full_sync_leaves_what_upstreams_noflush_sync_leaves(lab, node, monkeypatch):
    replaced = synced_twice(node)
    assert replaced.figures.last_full_mode == "replace"
    monkeypatch.setattr(proxier, "REPLACING_BACKENDS", ())
    other = f"{node}u"
    lab.ensure_netns(other)
    upstream = synced_twice(other)
    assert upstream.figures.last_full_mode.startswith("noflush")
    assert normalized_save(replaced.runner.save(None)) == normalized_save(upstream.runner.save(None))
    # and both are the full render (the stale chains of db and of 10.244.1.6 are gone)
    fresh = the_render(lab, replaced)
    for table in ("filter", "nat"):
        assert kube_chains(replaced.runner, table) == fresh[table]


def the_render(lab, proxy):
    """KUBE chains of the full render restored into a fresh namespace (iptables-save reorders matches)."""
    scratch = NamespaceRunner(f"kl-{lab.name}-n{next(_numbers)}", backend="nft")
    lab.ensure_netns(scratch.netns)
    scratch.restore(restore.render_text(proxy.desired()))
    return {t: kube_chains(scratch, t) for t in ("filter", "nat")}


def test_built_in_chains_keep_their_rules_counters_and_policy(node):
    def traffic_and_policy():
        subprocess.run(["ip", "-n", node, "link", "set", "lo", "up"], check=True)
        # a local TCP connection attempt: its first packet passes nat OUTPUT -> KUBE-SERVICES
        subprocess.run(["ip", "netns", "exec", node, "python3", "-c",
                        "import socket; s = socket.socket(); s.settimeout(0.2); s.connect_ex(('127.0.0.1', 9))"])
        iptables(node, "-P", "FORWARD", "DROP")

    proxy = synced_twice(node, traffic_and_policy)
    assert proxy.figures.last_full_mode == "replace"
    nat = proxy.runner.save("nat", counters=True)
    jump = next(line for line in nat.splitlines() if "-A OUTPUT" in line and "KUBE-SERVICES" in line)
    assert re.match(r"\[[1-9]\d*:[1-9]\d*\] ", jump), jump
    assert ":FORWARD DROP" in proxy.runner.save("filter")


def test_trace_rule_in_raw_survives_a_replacing_full_sync(node):
    rule = ["PREROUTING", "-p", "udp", "--dport", "9", "-m", "comment", "--comment", "kubelab-trace", "-j", "TRACE"]
    proxy = synced_twice(node, lambda: iptables(node, "-t", "raw", "-I", *rule))
    assert proxy.figures.last_full_mode == "replace"
    assert "kubelab-trace" in proxy.runner.save("raw")


def test_anything_else_in_nat_or_filter_keeps_upstreams_shape_and_survives(lab, node):
    def others():
        iptables(node, "-t", "nat", "-A", "POSTROUTING", "-s", "10.9.0.0/16", "-j", "MASQUERADE")
        iptables(node, "-t", "filter", "-N", "MY-CHAIN")

    proxy = synced_twice(node, others)
    assert proxy.figures.last_full_mode.startswith("noflush")
    assert "-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE" in proxy.runner.save("nat")
    assert ":MY-CHAIN" in proxy.runner.save("filter")
    fresh = the_render(lab, proxy)
    for table in ("filter", "nat"):
        assert kube_chains(proxy.runner, table) == fresh[table]
