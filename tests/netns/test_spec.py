import pytest
from netaddr import IPAddress, IPNetwork

from netns.spec import SpecError, cluster_net, from_dict, host_veth


def test_defaults_follow_the_design():
    spec = cluster_net("demo")
    assert [n.name for n in spec.nodes] == ["node1", "node2"]
    assert [str(n.ip) for n in spec.nodes] == ["172.18.0.2", "172.18.0.3"]
    assert [str(n.pod_cidr) for n in spec.nodes] == ["10.244.0.0/24", "10.244.1.0/24"]
    assert spec.nodes[0].gateway == IPAddress("10.244.0.1")
    assert spec.service_cidr == IPNetwork("10.96.0.0/16")
    assert (spec.lan_netns, spec.ext_netns, spec.nodes[1].netns) == ("kl-demo-lan", "kl-demo-ext", "kl-demo-node2")
    assert spec.ext_ip == IPAddress("172.18.0.1")


def test_spec_round_trips_through_its_saved_form():
    spec = cluster_net("x", nodes=3, pod_cidr="10.10.0.0/16", node_mask=25)
    assert from_dict(spec.to_dict()) == spec
    assert str(spec.nodes[2].pod_cidr) == "10.10.1.0/25"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "Bad_Name"}, 'invalid cluster name "Bad_Name"'),
    ({"nodes": 0}, "at least one node"),
    ({"nodes": 3, "pod_cidr": "10.0.0.0/23"}, "room for fewer than 3"),
    ({"node_mask": 8}, "does not fit"),
])
def test_bad_specs_are_refused_with_a_reason(kwargs, message):
    with pytest.raises(SpecError, match=message):
        cluster_net(**{"name": "ok", **kwargs})


def test_host_veth_names_fit_ifnamsiz_and_differ_per_pod():
    names = {host_veth(f"default.web-{i}") for i in range(1000)}
    assert len(names) == 1000
    assert all(len(n) <= 15 for n in names)


def test_unknown_node_names_the_known_ones():
    with pytest.raises(SpecError, match="nodes: node1, node2"):
        cluster_net("x").node("node9")
