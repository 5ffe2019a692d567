"""The cluster network carries real packets, as DESIGN.md lays it out."""
import pytest

from netns import namespaces
from netns.pods import PodNetworks
from netns.spec import cluster_net
from tests.nettools import ip_in, read_sysctl, tcp_round_trip

pytestmark = pytest.mark.netns


@pytest.fixture
def pods(lab):
    return PodNetworks(lab)


def test_pod_to_pod_on_one_node_keeps_the_source_address(lab, pods):
    a, b = pods.add("node1", ["default.a", "default.b"])
    assert tcp_round_trip(a.netns, b.netns, str(b.ip)) == str(a.ip)


def test_pod_to_pod_across_nodes(lab, pods):
    (a,) = pods.add("node1", ["default.a"])
    (c,) = pods.add("node2", ["default.c"])
    assert a.ip in lab.spec().node("node1").pod_cidr and c.ip in lab.spec().node("node2").pod_cidr
    assert tcp_round_trip(a.netns, c.netns, str(c.ip)) == str(a.ip)
    assert tcp_round_trip(c.netns, a.netns, str(a.ip)) == str(c.ip)


def test_external_client_reaches_a_node_ip(lab):
    spec = lab.spec()
    node = spec.node("node2")
    assert tcp_round_trip(spec.ext_netns, node.netns, str(node.ip)) == str(spec.ext_ip)


def test_node_reaches_its_own_and_other_nodes_pods(lab, pods):
    spec = lab.spec()
    (a,) = pods.add("node1", ["default.a"])
    (c,) = pods.add("node2", ["default.c"])
    assert tcp_round_trip(spec.node("node1").netns, a.netns, str(a.ip)) == str(spec.node("node1").gateway)
    assert tcp_round_trip(spec.node("node1").netns, c.netns, str(c.ip)) == str(spec.node("node1").ip)


def test_pod_wiring_matches_the_kubenet_layout(lab, pods):
    node = lab.spec().node("node1")
    (a,) = pods.add("node1", ["default.a"])
    assert "hairpin on" in ip_in(node.netns, "-d", "link", "show", a.host_veth)
    assert "master cni0" in ip_in(node.netns, "link", "show", a.host_veth)
    assert f"inet {a.ip}/24" in ip_in(a.netns, "addr", "show", "eth0")
    assert f"default via {node.gateway} dev eth0" in ip_in(a.netns, "route")
    assert "state UNKNOWN" in ip_in(a.netns, "link", "show", "lo")  # lo is up


def test_nodes_route_other_pod_cidrs_via_their_node_and_the_rest_via_the_outside(lab):
    spec = lab.spec()
    routes = ip_in(spec.node("node1").netns, "route")
    assert f"{spec.node('node2').pod_cidr} via {spec.node('node2').ip} dev eth0" in routes
    assert f"default via {spec.ext_ip} dev eth0" in routes


def test_node_sysctls(lab):
    node = lab.spec().nodes[0].netns
    assert read_sysctl(node, "net/ipv4/ip_forward") == "1"
    assert read_sysctl(node, "net/ipv4/conf/all/route_localnet") == "1"
    assert read_sysctl(node, "net/bridge/bridge-nf-call-iptables") == "1"


def test_up_again_converges_and_repairs(lab):
    spec = lab.spec()
    inodes = {n.netns: namespaces.inode(n.netns) for n in spec.nodes}
    ip_in(spec.nodes[0].netns, "link", "del", "cni0")  # somebody broke a node
    lab.up(cluster_net(lab.name))
    assert {n.netns: namespaces.inode(n.netns) for n in spec.nodes} == inodes  # kept, not rebuilt
    assert "10.244.0.1/24" in ip_in(spec.nodes[0].netns, "addr", "show", "cni0")


def test_pod_addresses_are_not_reused_right_away(lab, pods):
    (first,) = pods.add("node1", ["default.a"])
    pods.remove(["default.a"])
    (second,) = pods.add("node1", ["default.b"])
    assert second.ip != first.ip


def test_hundred_pod_churn_leaves_nothing_behind(lab, pods):
    node = lab.spec().node("node1")
    def link_names():
        return sorted(line.split()[0] for line in ip_in(node.netns, "-br", "link").splitlines())

    before_links = link_names()
    ids = [f"default.churn-{i}" for i in range(100)]
    made = pods.add("node1", ids)
    assert len({p.ip for p in made}) == 100
    assert len(link_names()) == len(before_links) + 100
    removal = pods.remove(ids)
    assert removal.removed["namespace"] == 100 and removal.removed["link"] == 100
    assert not {p.netns for p in made} & namespaces.names()
    assert link_names() == before_links
    pod_things = {p.netns for p in made} | {p.host_veth for p in made}
    assert not [o for o in lab.ledger.owned() if o.netns in pod_things or o.name in pod_things]
    assert PodNetworks(lab)._addresses(node).load().allocated == {}


def test_a_pod_process_is_stopped_with_its_pod(lab, pods):
    from netns import processes
    (a,) = pods.add("node1", ["default.a"])
    proc = lab.start_process(a.netns, ["sleep", "600"], "sleeper")
    assert processes.running(proc)
    pods.remove(["default.a"])
    assert not processes.running(proc)
    assert not namespaces.exists(a.netns)
