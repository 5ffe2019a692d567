"""Reading one service's rules: its chains in jump order, endpoint shares, addresses; and its graph."""
from fractions import Fraction

from kubeproxy.explain.graph import to_dot
from kubeproxy.explain.parse import parse
from kubeproxy.explain.service_view import addresses, services, view
from rules import SAVED
from test_walk import tables_for


def test_services_are_found_by_the_comments_of_the_top_level_rules():
    assert services(tables_for()) == ["default/empty", "default/web"]


def test_chains_come_in_jump_order_with_the_ladder_shown_as_equal_shares():
    views = view(tables_for(), "default/web")
    names = [(v.table, v.chain.split("-")[1] if v.chain.count("-") > 1 else v.chain) for v in views]
    assert names[:3] == [("nat", "KUBE-SERVICES"), ("nat", "KUBE-NODEPORTS"), ("nat", "SVC")]
    assert [n for _, n in names[3:]] == ["SEP", "SEP", "SEP", "SEP", "EXT"]
    svc = views[2]
    assert [r.share for r in svc.rows] == [None] + [Fraction(1, 4)] * 4  # the masquerade rule has no share


def test_a_saved_ruleset_keeps_counters_and_shares():
    (top, svc, sep_a, sep_b) = view(parse(SAVED), "default/web")
    assert top.chain == "KUBE-SERVICES" and top.rows[0].rule.counters == (7, 420)
    assert [r.share for r in svc.rows] == [None, Fraction(1, 2), Fraction(1, 2)]
    assert [sep_a.chain, sep_b.chain] == ["KUBE-SEP-AAA", "KUBE-SEP-BBB"]


def test_a_service_without_endpoints_shows_its_reject_rule():
    (reject,) = view(tables_for(), "default/empty")
    assert reject.table == "filter" and reject.rows[0].rule.target == "REJECT"


def test_addresses_of_a_service():
    addrs = addresses(tables_for(), "default/web")
    assert addrs.frontends == {("10.96.0.20", 80)}
    assert addrs.node_ports == {30080}
    assert addrs.endpoints == {("10.244.0.5", 8080), ("10.244.1.7", 8080), ("10.244.1.8", 8080), ("10.244.0.9", 8080)}


def test_graph_draws_every_endpoint_and_highlights_the_traced_path():
    tables = parse(SAVED)
    dot = to_dot(tables, "default/web", ["PREROUTING", "KUBE-SERVICES", "KUBE-SVC-WEB", "KUBE-SEP-BBB"],
                 "10.244.1.7:8080")
    assert dot.startswith('digraph "default/web" {')
    assert '"KUBE-SVC-WEB" -> "KUBE-SEP-AAA" [label="50%"];' in dot
    assert '"KUBE-SVC-WEB" -> "KUBE-SEP-BBB" [label="50%", color="red"' in dot
    assert '"KUBE-SEP-BBB" -> "10.244.1.7:8080" [label="DNAT", color="red"' in dot
    assert '"KUBE-SEP-AAA" -> "10.244.0.5:8080" [label="DNAT"];' in dot
    assert "KUBE-NODEPORTS" not in dot  # a ClusterIP service: no node-port branch drawn


def test_graph_of_a_node_port_service_includes_the_node_port_branch():
    dot = to_dot(tables_for(), "default/web")
    assert '"KUBE-SERVICES" -> "KUBE-NODEPORTS";' in dot and "KUBE-EXT-" in dot
    assert "color=\"red\"" not in dot
