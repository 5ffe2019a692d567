"""The applier against a fake kernel: after every sync the tables hold exactly the full render, partial
syncs write only what changed, failures fall back to a full sync, stale UDP flows are deleted."""
from __future__ import annotations


from hypothesis import given, settings, strategies as st
from kp_dump import parse

from kubeproxy import restore
from kubeproxy.config import NodeConfig
from kubeproxy.proxier import KubeProxy
from kubeproxy.runner import FakeRunner

CFG = NodeConfig("node1", ("172.18.0.2",))


def service(name, ip, port=80, proto="TCP", node_port=0, **spec):
    ports = [{"name": "p", "port": port, "protocol": proto, **({"nodePort": node_port} if node_port else {})}]
    return {"kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": ports, "type": "NodePort" if node_port else "ClusterIP", **spec}}


def slice_(svc, ips, port=8080, proto="TCP", node="node1", name=None):
    return {"kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": name or f"{svc}-1", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": svc}},
            "endpoints": [{"addresses": [ip], "nodeName": node} for ip in ips],
            "ports": [{"name": "p", "port": port, "protocol": proto}]}


def kube_state(fake: FakeRunner) -> dict:
    """KUBE-* chains of the fake kernel, as {table: {chain: rules}}."""
    return {t: {c: r for c, r in parse(fake.save(t))[t].items() if c.startswith("KUBE-")} for t in ("filter", "nat")}


def render_state(proxy: KubeProxy) -> dict:
    tables = parse(restore.render_text(proxy.desired()))
    return {t: tables[t] for t in ("filter", "nat")}


def new_proxy(**kw):
    fake = FakeRunner()
    return KubeProxy(CFG, fake, **kw), fake


def test_first_sync_is_full_and_the_kernel_holds_the_full_render():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5", "10.244.1.6"])])
    figures = proxy.sync()
    assert figures.last_kind == "full" and figures.failures == 0
    assert kube_state(fake) == render_state(proxy)
    assert figures.last_rules_written > 0


def test_jumps_from_builtin_chains_are_made_once():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    proxy.sync()
    proxy.request_full_sync()
    proxy.sync()
    prerouting = parse(fake.save("nat"))["nat"]["PREROUTING"]
    assert prerouting == ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES']
    assert [r.split()[-1] for r in parse(fake.save("filter"))["filter"]["INPUT"]] == [
        "KUBE-FIREWALL", "KUBE-PROXY-FIREWALL", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES"]


def test_endpoint_change_writes_only_that_services_chains():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20"), service("db", "10.96.0.30")],
                  [slice_("web", ["10.244.0.5", "10.244.1.6"]), slice_("db", ["10.244.0.9"])])
    proxy.sync()
    proxy.set_endpoint_slice(slice_("web", ["10.244.0.5", "10.244.1.7"]))
    figures = proxy.sync()
    text = fake.restores[-1]
    assert figures.last_kind == "partial"
    assert ":KUBE-SERVICES" not in text and "*filter" not in text  # upstream rewrites both every time
    assert "10.244.1.7" in text and "default/db" not in text
    assert figures.last_chains_deleted == 1  # the SEP chain of 10.244.1.6
    assert kube_state(fake) == render_state(proxy)


def test_nothing_changed_writes_nothing():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    proxy.sync()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    assert proxy.sync().last_kind == "none"
    assert len(fake.restores) == 1


def test_added_and_removed_services_rewrite_the_service_chain_and_delete_stale_chains():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    proxy.sync()
    proxy.set_service(service("db", "10.96.0.30", node_port=30030))
    proxy.set_endpoint_slice(slice_("db", ["10.244.0.9"]))
    assert proxy.sync().last_kind == "partial"
    assert kube_state(fake) == render_state(proxy)
    proxy.delete_service(service("web", "10.96.0.20"))
    figures = proxy.sync()
    assert figures.last_chains_deleted == 2  # KUBE-SVC and KUBE-SEP of web
    assert kube_state(fake) == render_state(proxy)


def test_failed_partial_restore_falls_back_to_full_sync_and_is_reported():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    proxy.sync()
    fake.fail_next = "iptables-restore: line 3 failed"
    proxy.set_endpoint_slice(slice_("web", ["10.244.0.6"]))
    figures = proxy.sync()
    assert figures.failures == 1 and "partial sync failed" in figures.last_error
    assert figures.last_kind == "full" and figures.full_syncs == 2
    assert kube_state(fake) == render_state(proxy)


def test_failed_full_restore_is_retried_in_full_next_time():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    fake.fail_next = "boom"
    figures = proxy.sync()
    assert figures.syncs == 0 and figures.last_error == "full sync failed: boom"
    assert proxy.sync().last_kind == "full"
    assert kube_state(fake) == render_state(proxy)


def test_full_sync_deletes_service_chains_left_in_the_kernel_by_someone_else():
    proxy, fake = new_proxy()
    fake.restore("*nat\n:KUBE-SVC-LEFTOVER0000000 - [0:0]\n:KUBE-SEP-LEFTOVER0000000 - [0:0]\n"
                 "-A KUBE-SVC-LEFTOVER0000000 -j KUBE-SEP-LEFTOVER0000000\n:MINE - [0:0]\nCOMMIT\n")
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    proxy.sync()
    nat = parse(fake.save("nat"))["nat"]
    assert "KUBE-SVC-LEFTOVER0000000" not in nat and "KUBE-SEP-LEFTOVER0000000" not in nat
    assert "MINE" in nat  # not ours: left alone


def test_periodic_full_sync():
    now = [0.0]
    proxy, fake = new_proxy(sync_period=60, clock=lambda: now[0])
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
    proxy.sync()
    now[0] = 30
    assert proxy.sync().last_kind == "none"
    now[0] = 61
    assert proxy.sync().last_kind == "full"


def test_udp_endpoint_removed_deletes_its_flows():
    proxy, fake = new_proxy()
    dns = service("dns", "10.96.0.10", port=53, proto="UDP", node_port=30053)
    proxy.replace([dns], [slice_("dns", ["10.244.0.5", "10.244.1.6"], port=53, proto="UDP")])
    proxy.sync()
    fake.conntrack.clear()
    proxy.set_endpoint_slice(slice_("dns", ["10.244.0.5"], port=53, proto="UDP"))
    proxy.sync()
    assert fake.conntrack == [
        ["-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53", "--dst-nat", "10.244.1.6"],
        ["-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.244.1.6"]]


def test_udp_service_getting_its_first_endpoint_deletes_flows_to_it():
    proxy, fake = new_proxy()
    dns = service("dns", "10.96.0.10", port=53, proto="UDP")
    proxy.replace([dns], [])
    proxy.sync()
    proxy.set_endpoint_slice(slice_("dns", ["10.244.0.5"], port=53, proto="UDP"))
    proxy.sync()
    assert fake.conntrack == [["-p", "udp", "--orig-dst", "10.96.0.10", "--orig-port-dst", "53"]]


def test_tcp_changes_touch_no_conntrack():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5", "10.244.0.6"])])
    proxy.sync()
    proxy.set_endpoint_slice(slice_("web", ["10.244.0.5"]))
    proxy.sync()
    assert fake.conntrack == []


# -- any sequence of changes: the kernel always equals the full render ----------------------------------

IPS = [f"10.244.{n}.{h}" for n in (0, 1) for h in (2, 3, 4)]
op = st.one_of(
    st.tuples(st.just("svc"), st.sampled_from("abc"), st.sampled_from(["TCP", "UDP"]), st.booleans(),
              st.sampled_from(["Cluster", "Local"])),
    st.tuples(st.just("del-svc"), st.sampled_from("abc")),
    st.tuples(st.just("eps"), st.sampled_from("abc"), st.lists(st.sampled_from(IPS), max_size=4, unique=True),
              st.sampled_from(["TCP", "UDP"])),
    st.tuples(st.just("del-eps"), st.sampled_from("abc")),
    st.tuples(st.just("full"),),
)


def _apply_op(proxy, o):
    kind, *args = o
    if kind == "svc":
        name, proto, nodeport, etp = args
        index = "abc".index(name)
        proxy.set_service(service(name, f"10.96.0.{10 + index}", proto=proto,
                                  node_port=30000 + index if nodeport else 0,
                                  externalTrafficPolicy=etp))
    elif kind == "del-svc":
        proxy.delete_service(service(args[0], "10.96.0.1"))
    elif kind == "eps":
        name, ips, proto = args
        proxy.set_endpoint_slice(slice_(name, ips, proto=proto, node="node1" if len(ips) % 2 else "node2"))
    elif kind == "del-eps":
        proxy.delete_endpoint_slice(slice_(args[0], []))
    else:
        proxy.request_full_sync()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(op, min_size=1, max_size=3), min_size=1, max_size=8))
def test_any_sequence_of_changes_leaves_exactly_the_full_render(batches):
    proxy, fake = new_proxy()
    for batch in batches:
        for o in batch:
            _apply_op(proxy, o)
        figures = proxy.sync()
        assert figures.failures == 0, figures.last_error
        assert kube_state(fake) == render_state(proxy)


def test_run_loop_syncs_at_start_and_after_updates_until_stopped():
    import threading
    import time

    proxy, fake = new_proxy(min_sync_period=0.0)
    stop = threading.Event()
    loop = threading.Thread(target=proxy.run, args=(stop,), daemon=True)
    loop.start()
    try:
        proxy.replace([service("web", "10.96.0.20")], [slice_("web", ["10.244.0.5"])])
        for _ in range(500):  # poll for the outcome; no assertion on how long it took
            if kube_state(fake) == render_state(proxy) and proxy.figures.syncs:
                break
            time.sleep(0.01)
        assert kube_state(fake) == render_state(proxy)
        assert "10.244.0.5" in fake.restores[-1] or "10.244.0.5" in fake.restores[0]
    finally:
        stop.set()
        proxy.request_full_sync()  # wakes the loop so it sees `stop`
        loop.join(timeout=5)
    assert not loop.is_alive()
