"""`kubelab proxy explain` on a node's live rules predicts the path the kernel's own trace shows.

20 random packets (random source and service; the kernel picks the endpoint at random): for every node the
packet crossed, the walk of that node's iptables-save must contain an outcome whose nat chain path is the
traced one — the outcome through the endpoint chain the kernel chose; and where the walk says REJECT, the
trace says refused.

The nat table is compared, not the filter table: xtables-monitor prints a rule only if it can still look it
up, and on this kernel a REJECT rule's line is now and then missing from its output (see the report).
"""
from __future__ import annotations

import random

import pytest

from kubelab.trace.analyze import entry_of
from kubelab.trace.run import trace
from kubeproxy.explain.parse import parse
from kubeproxy.explain.walk import Packet, walk
from kubeproxy.runner import NamespaceRunner
from trace_cluster import cluster  # noqa: F401

pytestmark = pytest.mark.netns

def choices(c):
    pods = [f"pod/{p['metadata']['name']}" for p in c.pods("web") + c.pods("solo")]
    nodes = [f"node/{n.name}" for n in c.spec.nodes]
    services = [f"{c.cluster_ip(name)}:80" for name in ("web", "solo", "nobody")]
    node_ports = [f"{n.ip}:30080" for n in c.spec.nodes]
    # The outside client has no route to the service CIDR (as off a real cluster): only NodePorts.
    return ([(src, dst) for src in pods + nodes for dst in services + node_ports]
            + [("external", dst) for dst in node_ports])


def explained_paths(c, node_trace, client):
    node = next(n for n in c.spec.nodes if n.netns == node_trace.netns)
    tables = parse(NamespaceRunner(node.netns).save(None))
    seen = node_trace.packet
    entry = entry_of(node_trace, client)
    packet = Packet(seen["SRC"], seen["DST"], int(seen["DPORT"]), "tcp", entry)
    return walk(tables, packet, [str(node.ip), str(node.gateway)])


def test_explain_and_trace_agree_on_the_chain_path_for_20_random_packets(cluster):
    rng = random.Random()
    options = choices(cluster)
    for _ in range(20):
        cluster.wait_for_endpoints("web", 3)  # the walk reads the rules after the trace: same state
        source, to = rng.choice(options)
        host, port = to.rsplit(":", 1)
        result = trace(cluster.lab, source, host, int(port), timeout=2.0)
        assert result.nodes, f"{source} -> {to}: the kernel traced nothing ({result.verdict.text})"
        for node_trace in result.nodes:
            traced = (node_trace.endpoint_chain, tuple(node_trace.chain_path("nat")))
            outcomes = explained_paths(cluster, node_trace, result.client)
            predicted = {(o.endpoint_chain, tuple(o.chain_path("nat"))) for o in outcomes}
            assert traced in predicted, f"{source} -> {to} on {node_trace.node}: traced {traced}, explained {predicted}"
            if [o.verdict for o in outcomes] == ["REJECT"]:
                assert result.verdict.kind == "refused" and result.verdict.rule == outcomes[0].verdict_by
