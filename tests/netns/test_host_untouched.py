"""Nothing kubelab does changes the host's own (initial) network namespace."""
import subprocess

import pytest

from netns.pods import PodNetworks
from tests.nettools import tcp_round_trip

pytestmark = pytest.mark.netns

SYSCTLS = [
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/ipv4/conf/all/rp_filter",
    "net/bridge/bridge-nf-call-iptables",
    "net/ipv4/conf/all/forwarding",
]


def host_snapshot() -> dict[str, str]:
    def out(*argv):
        return subprocess.run(argv, capture_output=True, text=True).stdout

    snap = {
        "iptables-save": "\n".join(l for l in out("iptables-save").splitlines() if not l.startswith("#")),
        "nft list ruleset": out("nft", "list", "ruleset"),
        "ip -d link": out("ip", "-d", "link"),
        "ip route": out("ip", "route", "show", "table", "all"),
        "ip addr": out("ip", "-br", "addr"),
    }
    for key in SYSCTLS:
        with open(f"/proc/sys/{key}") as f:
            snap[key] = f.read()
    return snap


def test_a_full_cycle_leaves_the_host_namespace_identical(run_base):
    from netns.cluster import Lab
    from netns.spec import cluster_net
    from tests.conftest import unique_cluster_name

    before = host_snapshot()
    name = unique_cluster_name()
    lab = Lab(name, run_base=run_base)
    try:
        lab.up(cluster_net(name))
        pods = PodNetworks(lab)
        (a,) = pods.add("node1", ["default.a"])
        (c,) = pods.add("node2", ["default.c"])
        lab.start_process(a.netns, ["sleep", "60"], "sleeper")
        tcp_round_trip(a.netns, c.netns, str(c.ip))
        assert host_snapshot() == before  # also while the lab is up
    finally:
        lab.down()
    after = host_snapshot()
    for key in before:
        assert after[key] == before[key], f"host {key} changed"
