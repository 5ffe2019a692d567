"""A packet walked through a node's rules: where it can go, with which chance, and whether it is masqueraded.

Stated like kube-proxy's own packet-flow tests: "a packet from X to Y reaches Z, masqueraded".
"""
from fractions import Fraction
import io

import pytest
import yaml

from kubeproxy.config import NodeConfig
from kubeproxy.explain.parse import parse
from kubeproxy.explain.report import kube_chains, results
from kubeproxy.explain.source import from_objects
from kubeproxy.explain.walk import Packet, WalkError, walk
from kubeproxy.manifests import split
from rules import SAVED, WEB

NODE1 = NodeConfig("node1", ("172.18.0.2",))


def tables_for(text=WEB, cfg=NODE1):
    services, slices = split(list(yaml.safe_load_all(io.StringIO(text))))
    return from_objects(services, slices, cfg)


def endings(outcomes):
    """{destination or verdict: (probability, masqueraded)}"""
    return {r.destination: (r.probability, r.masqueraded) for r in results(outcomes)}


def test_pod_to_cluster_ip_reaches_every_endpoint_with_an_equal_share_unmasqueraded():
    out = walk(tables_for(), Packet("10.244.0.20", "10.96.0.20", 80), NODE1.node_ips)
    quarter = (Fraction(1, 4), False)
    assert endings(out) == {"10.244.0.5:8080": quarter, "10.244.1.7:8080": quarter,
                            "10.244.1.8:8080": quarter, "10.244.0.9:8080": quarter}
    assert sum(o.probability for o in out) == 1


def test_each_outcome_names_its_service_and_endpoint_chains_in_order():
    out = walk(tables_for(), Packet("10.244.0.20", "10.96.0.20", 80), NODE1.node_ips)
    first = out[0]
    assert first.dnat == "10.244.0.5:8080"
    svc, sep = kube_chains(first)
    assert svc.startswith("KUBE-SVC-") and sep == first.endpoint_chain and sep.startswith("KUBE-SEP-")
    assert first.chain_path()[:4] == ["PREROUTING", "KUBE-SERVICES", svc, sep]


def test_a_pod_reaching_itself_through_its_service_is_masqueraded_only_on_that_path():
    out = walk(tables_for(), Packet("10.244.0.5", "10.96.0.20", 80), NODE1.node_ips)
    ends = endings(out)
    assert ends["10.244.0.5:8080"] == (Fraction(1, 4), True)  # hairpin: DNAT back to itself, then SNAT
    assert ends["10.244.1.7:8080"] == (Fraction(1, 4), False)


def test_node_port_from_outside_is_masqueraded_to_every_endpoint():
    out = walk(tables_for(), Packet("172.18.0.1", "172.18.0.2", 30080, entry="outside"), NODE1.node_ips)
    assert {masq for _, masq in endings(out).values()} == {True}
    assert len(out) == 4
    assert all(any(c.startswith("KUBE-EXT-") for c in o.chain_path()) for o in out)


def test_the_node_itself_to_a_cluster_ip_is_masqueraded_from_output():
    out = walk(tables_for(), Packet("172.18.0.2", "10.96.0.20", 80, entry="node"), NODE1.node_ips)
    assert all(o.masqueraded for o in out)
    assert out[0].hits[0].hook == "OUTPUT"


def test_node_port_on_localhost_from_the_node():
    out = walk(tables_for(), Packet("127.0.0.1", "127.0.0.1", 30080, entry="node"), NODE1.node_ips)
    assert len(endings(out)) == 4 and all(o.masqueraded for o in out)


def test_service_without_endpoints_is_rejected_by_its_filter_rule():
    for entry, src in (("pod", "10.244.0.20"), ("node", "172.18.0.2")):
        out = walk(tables_for(), Packet(src, "10.96.0.30", 80, entry=entry), NODE1.node_ips)
        assert [o.verdict for o in out] == ["REJECT"]
        assert '"default/empty has no endpoints"' in out[0].verdict_by
        assert out[0].dnat is None


def test_a_saved_ruleset_walks_like_a_rendered_one():
    out = walk(parse(SAVED), Packet("10.244.0.20", "10.96.0.20", 80), ["172.18.0.2"])
    assert endings(out) == {"10.244.0.5:8080": (Fraction(1, 2), False), "10.244.1.7:8080": (Fraction(1, 2), False)}
    assert [o.endpoint_chain for o in out] == ["KUBE-SEP-AAA", "KUBE-SEP-BBB"]


def test_masquerade_mark_is_cleared_in_postrouting_before_masquerading():
    out = walk(parse(SAVED), Packet("192.168.5.5", "10.96.0.20", 80, entry="outside"), ["172.18.0.2"])
    assert all(o.masqueraded and o.mark == 0 for o in out)  # --set-xmark 0x4000/0x0 flips the bit back


def test_forward_policy_drops_what_no_rule_accepts():
    tables = parse(SAVED.replace(":FORWARD ACCEPT", ":FORWARD DROP"))
    out = walk(tables, Packet("10.244.0.20", "10.244.1.99", 80), ["172.18.0.2"])
    assert [(o.verdict, o.verdict_by) for o in out] == [("DROP", "policy filter FORWARD DROP")]


def test_session_affinity_checks_do_not_match_a_new_connection():
    text = WEB.replace("type: NodePort", "type: NodePort\n  sessionAffinity: ClientIP")
    out = walk(tables_for(text), Packet("10.244.0.20", "10.96.0.20", 80), NODE1.node_ips)
    assert [r.probability for r in results(out)] == [Fraction(1, 4)] * 4


def test_local_external_policy_without_local_endpoints_drops_node_port_traffic():
    text = WEB.replace("type: NodePort", "type: NodePort\n  externalTrafficPolicy: Local")
    cfg = NodeConfig("node3", ("172.18.0.4",))
    out = walk(tables_for(text, cfg), Packet("172.18.0.1", "172.18.0.4", 30080, entry="outside"), cfg.node_ips)
    assert [o.verdict for o in out] == ["DROP"]
    assert "has no local endpoints" in out[0].verdict_by


def test_a_match_the_walker_does_not_model_is_assumed_and_noted():
    tables = parse("*filter\n-A FORWARD -m physdev --physdev-is-bridged -j DROP\nCOMMIT\n")
    (out,) = walk(tables, Packet("10.0.0.1", "10.0.0.2", 80), [])
    assert out.verdict == "DROP" and "physdev" in out.notes[0]


def test_a_loop_in_the_rules_is_an_error_not_a_hang():
    tables = parse("*nat\n:KUBE-A - [0:0]\n-A PREROUTING -j KUBE-A\n-A KUBE-A -j KUBE-A\nCOMMIT\n")
    with pytest.raises(WalkError, match="loop"):
        walk(tables, Packet("10.0.0.1", "10.0.0.2", 80), [])


def test_unknown_entry_is_refused():
    with pytest.raises(WalkError):
        Packet("10.0.0.1", "10.0.0.2", 80, entry="sideways")
