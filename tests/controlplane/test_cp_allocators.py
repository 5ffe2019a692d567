"""ClusterIPs and NodePorts: bands, user choices, release, restart, and never twice the same value."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.allocators import AlreadyAllocated, ClusterIPAllocator, NodePortAllocator, NotInRange, RangeFull
from controlplane.registry import Registry
from controlplane.store import Store


def test_static_bands_match_upstream_sizes():
    assert NodePortAllocator("30000-32767").static_band == (30000, 30085)  # 2768/32 = 86 ports
    assert ClusterIPAllocator("10.96.0.0/16").bitmap.static_band == 256
    assert ClusterIPAllocator("10.96.0.0/24").bitmap.static_band == 16
    assert ClusterIPAllocator("10.96.0.0/28").bitmap.static_band == 0


def test_dynamic_allocation_prefers_the_upper_band_then_falls_back():
    ports = NodePortAllocator("30000-30099", random.Random(1))  # 100 ports, band of 16
    first = [ports.allocate_next() for _ in range(84)]
    assert all(p >= 30016 for p in first)
    rest = [ports.allocate_next() for _ in range(16)]
    assert sorted(rest) == list(range(30000, 30016))
    with pytest.raises(RangeFull):
        ports.allocate_next()


def test_user_values_anywhere_in_range_and_errors_as_the_api_server():
    ips = ClusterIPAllocator("10.96.0.0/16")
    ips.allocate("10.96.0.10")
    with pytest.raises(AlreadyAllocated, match="^provided IP is already allocated$"):
        ips.allocate("10.96.0.10")
    with pytest.raises(NotInRange, match=r"the provided IP \(10.96.0.0\) is not in the valid range"):
        ips.allocate("10.96.0.0")  # the network address is never handed out
    with pytest.raises(NotInRange):
        ips.allocate("10.96.255.255")  # nor the broadcast address
    ports = NodePortAllocator()
    with pytest.raises(NotInRange, match="The range of valid ports is 30000-32767"):
        ports.allocate(29999)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["next", "pick", "release"]), st.integers(0, 40)), max_size=120), st.integers(0, 10**6))
def test_no_value_is_ever_handed_out_twice(operations, seed):
    ports = NodePortAllocator("30000-30031", random.Random(seed))
    held: set[int] = set()
    for op, n in operations:
        port = 30000 + n % 32
        if op == "next":
            if len(held) == 32:
                with pytest.raises(RangeFull):
                    ports.allocate_next()
                continue
            got = ports.allocate_next()
            assert got not in held
            held.add(got)
        elif op == "pick":
            if port in held:
                with pytest.raises(AlreadyAllocated):
                    ports.allocate(port)
            else:
                ports.allocate(port)
                held.add(port)
        else:
            ports.release(port)
            held.discard(port)
        assert ports.free() == 32 - len(held)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=30), st.integers(0, 10**6))
def test_services_never_share_ips_or_ports_even_across_restarts(node_port_flags, seed):
    store = Store()
    registry = Registry(store, service_cidr="10.96.0.0/26", node_port_range="30000-30063", rng=random.Random(seed))
    for i, node_port in enumerate(node_port_flags):
        if i % 7 == 6:
            registry = Registry(store, service_cidr="10.96.0.0/26", node_port_range="30000-30063", rng=random.Random(seed + i))
        registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}"},
                         "spec": {"type": "NodePort" if node_port else "ClusterIP", "selector": {"a": "b"}, "ports": [{"port": 80}]}})
        if i % 5 == 4:
            registry.delete("Service", f"s{i - 2}")
    services = registry.list("Service").items
    ips = [s["spec"]["clusterIP"] for s in services]
    ports = [p["nodePort"] for s in services for p in s["spec"]["ports"] if p.get("nodePort")]
    assert len(ips) == len(set(ips)) and len(ports) == len(set(ports))


def test_delete_releases_and_restart_rebuilds(tmp_path):
    path = str(tmp_path / "state.db")
    registry = Registry(Store(path))
    kept = registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kept"},
                            "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80, "nodePort": 30007}], "clusterIP": "10.96.0.20"}})
    registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gone"},
                     "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80, "nodePort": 30008}], "clusterIP": "10.96.0.21"}})
    registry.delete("Service", "gone")
    registry.store.close()

    restarted = Registry(Store(path))
    allocations = restarted.allocations
    assert allocations.ports.has(30007) and allocations.ips.has("10.96.0.20") and allocations.ips.has("10.96.0.1")
    assert not allocations.ports.has(30008) and not allocations.ips.has("10.96.0.21")
    reuse = restarted.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reuse"},
                              "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80, "nodePort": 30008}], "clusterIP": "10.96.0.21"}})
    assert reuse["spec"]["clusterIP"] == "10.96.0.21"
    assert restarted.get("Service", "kept")["spec"] == kept["spec"]


def test_changing_type_releases_node_ports(registry):
    service = registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                               "spec": {"type": "NodePort", "selector": {"a": "b"}, "ports": [{"port": 80, "nodePort": 30100}]}})
    service["spec"]["type"] = "ClusterIP"
    service["spec"]["ports"][0].pop("nodePort")
    service["spec"].pop("externalTrafficPolicy")
    registry.update(service)
    assert not registry.allocations.ports.has(30100)


def test_same_port_number_for_tcp_and_udp_shares_one_node_port(registry):
    dns = registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns"},
                           "spec": {"type": "NodePort", "selector": {"k8s-app": "dns"},
                                    "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}})
    udp, tcp = dns["spec"]["ports"]
    assert udp["nodePort"] == tcp["nodePort"]
