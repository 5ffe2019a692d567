"""The proxier's incremental bookkeeping (endpoint counts per port, the cached port order) gives what a
fresh full render gives: across large-cluster mode flips, and as services come, go and change."""
from __future__ import annotations

from test_applier import kube_state, new_proxy, render_state, service, slice_

from kubeproxy.render import LARGE_CLUSTER_ENDPOINTS


def many_ips(n, base=0):
    return [f"10.{244 + (base + i) // 62500}.{(base + i) // 250 % 250}.{(base + i) % 250 + 1}" for i in range(n)]


def test_large_cluster_mode_flips_on_and_off_with_the_endpoint_count():
    proxy, fake = new_proxy()
    proxy.replace([service("web", "10.96.0.20"), service("db", "10.96.0.30")],
                  [slice_("web", many_ips(LARGE_CLUSTER_ENDPOINTS)), slice_("db", ["10.250.0.1"])])
    assert proxy.sync().endpoints == LARGE_CLUSTER_ENDPOINTS + 1
    assert kube_state(fake) == render_state(proxy)
    assert " -> " not in _nat_text(fake)  # large-cluster mode: no per-endpoint comments
    proxy.set_endpoint_slice(slice_("db", []))  # back to 1000: they return, on every port
    figures = proxy.sync()
    assert figures.endpoints == LARGE_CLUSTER_ENDPOINTS and figures.failures == 0
    assert kube_state(fake) == render_state(proxy)
    assert " -> 10.244.0.1:8080" in _nat_text(fake)


def _nat_text(fake):
    return "\n".join(rule for rules in fake.tables["nat"].values() for rule in rules)


def test_services_coming_and_going_keep_the_output_order_of_a_full_render():
    proxy, fake = new_proxy()
    names = ["m", "b", "x", "a"]
    proxy.replace([service(n, f"10.96.0.{i + 10}") for i, n in enumerate(names)],
                  [slice_(n, [f"10.244.0.{i + 2}"]) for i, n in enumerate(names)])
    proxy.sync()
    proxy.set_service(service("c", "10.96.0.50"))
    proxy.set_endpoint_slice(slice_("c", ["10.244.0.50"]))
    proxy.delete_service(service("x", "10.96.0.12"))
    proxy.set_endpoint_slice(slice_("b", ["10.244.0.60"]))
    assert proxy.sync().last_kind == "partial"
    assert kube_state(fake) == render_state(proxy)
    assert list(proxy._ruleset().services) == list(proxy.desired().services)
