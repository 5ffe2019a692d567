"""`kubelab trace` on a running cluster: the kernel's own trace, captures and conntrack agree with what the
pods answered. Real namespaces; run as root."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from kubelab.trace.report import to_text
from kubelab.trace.run import trace
from trace_cluster import cluster  # noqa: F401  (the module's running cluster)

pytestmark = pytest.mark.netns


def echo_reply(result) -> tuple[str, str]:
    """(client address the pod saw, pod name) from kubelab/echo's answer."""
    match = re.match(r"client=(\S+) pod=(\S+)", result.reply or "")
    assert match, f"not an echo reply:\n{to_text(result)}"
    return match.group(1), match.group(2)


def test_pod_to_cluster_ip_names_the_service_and_endpoint_chains_and_the_pod_that_answered(cluster):
    cluster.wait_for_endpoints("web", 3)
    client = cluster.pods("solo")[0]
    result = trace(cluster.lab, f"pod/{client['metadata']['name']}", cluster.cluster_ip("web"), 80)
    seen_by_pod, answered_by = echo_reply(result)
    assert result.verdict.kind == "delivered"
    assert result.verdict.pod == f"default/{answered_by}"
    web = {p["metadata"]["name"]: p["status"]["podIP"] for p in cluster.pods("web")}
    assert result.verdict.address == f"{web[answered_by]}:8080"
    entry = result.nodes[0]
    assert entry.node == client["spec"]["nodeName"]
    svc, sep = entry.service_chains()
    assert svc.startswith("KUBE-SVC-") and sep == entry.endpoint_chain
    sep_rules = [h.rule for h in entry.hits if h.chain == sep]
    assert any(f"--to-destination {web[answered_by]}:8080" in r for r in sep_rules)
    assert seen_by_pod == f"{client['status']['podIP']}:{result.sport}"  # pod to service: not masqueraded


def test_service_without_endpoints_is_refused_by_its_reject_rule(cluster):
    client = cluster.pods("solo")[0]
    result = trace(cluster.lab, f"pod/{client['metadata']['name']}", cluster.cluster_ip("nobody"), 80)
    assert result.verdict.kind == "refused" and result.error == "refused", to_text(result)
    assert '"default/nobody has no endpoints"' in result.verdict.rule and "-j REJECT" in result.verdict.rule
    assert result.conntrack == []  # a rejected first packet never confirms a conntrack entry


def test_node_port_from_outside_shows_the_masquerade_and_the_source_the_pod_saw(cluster):
    cluster.wait_for_endpoints("web", 3)
    node1 = cluster.spec.nodes[0]
    result = trace(cluster.lab, "external", str(node1.ip), 30080)
    seen_by_pod, answered_by = echo_reply(result)
    entry = result.nodes[0]
    assert entry.node == node1.name
    path = entry.chain_path()
    assert "KUBE-NODEPORTS" in path and any(c.startswith("KUBE-EXT-") for c in path)
    assert any(h.chain == "KUBE-POSTROUTING" and "-j MASQUERADE" in h.rule for h in entry.hits)
    first_node, ct = result.conntrack[0]
    assert first_node == node1.name and ct.snat and ct.dnat
    assert seen_by_pod == f"{ct.reply.dst}:{ct.reply.dport}"  # what MASQUERADE made of the source
    assert not seen_by_pod.startswith(f"{cluster.spec.ext_ip}:")
    assert result.verdict.pod == f"default/{answered_by}"
    after_snat = [h for h in result.hops if h.direction == "out" and h.peer]
    assert after_snat and after_snat[-1].addresses.startswith(seen_by_pod + " -> ")


def test_hairpin_pod_to_its_own_service_is_dnatted_back_to_itself_and_snatted(cluster):
    cluster.wait_for_endpoints("solo", 1)
    pod = cluster.pods("solo")[0]
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    result = trace(cluster.lab, f"pod/{name}", cluster.cluster_ip("solo"), 80)
    seen_by_pod, answered_by = echo_reply(result)
    assert answered_by == name and result.verdict.pod == f"default/{name}"
    entry = result.nodes[0]
    sep = entry.endpoint_chain
    assert any(h.chain == sep and f"-s {ip}/32" in h.rule and "KUBE-MARK-MASQ" in h.rule for h in entry.hits)
    assert any("-j MASQUERADE" in h.rule for h in entry.hits)
    _, ct = result.conntrack[0]
    assert (ct.original.src, ct.reply.src) == (ip, ip)  # from itself, to itself
    gateway = str(cluster.spec.node(pod["spec"]["nodeName"]).gateway)
    assert ct.reply.dst == gateway and seen_by_pod == f"{gateway}:{ct.reply.dport}"
    back_in = [h for h in result.hops if h.peer == f"default/{name}" and h.direction == "out"]
    assert back_in and back_in[-1].addresses == f"{seen_by_pod} -> {ip}:8080"


def trace_rules_anywhere(cluster) -> list[str]:
    from netns import nftrace
    return [rule for n in cluster.spec.nodes for rule in nftrace.trace_rules_present(n.netns, "kubelab-trace")]


def recorded_processes(cluster) -> set[str]:
    return {o.name for o in cluster.lab.ledger.of_kind("process")}


def test_a_trace_leaves_no_rule_capture_or_file_behind_and_writes_a_pcap(cluster, tmp_path):
    cluster.wait_for_endpoints("solo", 1)
    from scapy.utils import rdpcap

    before = recorded_processes(cluster)
    client = cluster.pods("web")[0]["metadata"]["name"]
    pcap = tmp_path / "trace.pcap"
    result = trace(cluster.lab, f"pod/{client}", cluster.cluster_ip("solo"), 80, pcap=str(pcap))
    assert result.verdict.kind == "delivered"
    assert trace_rules_anywhere(cluster) == []
    assert recorded_processes(cluster) == before
    assert not os.listdir(os.path.join(cluster.lab.run_dir, "traces"))
    assert not os.listdir(os.path.join(cluster.lab.run_dir, "captures"))
    solo_ip = cluster.pods("solo")[0]["status"]["podIP"]
    assert any(p.haslayer("IP") and p["IP"].dst == solo_ip for p in rdpcap(str(pcap)))  # after DNAT


def start_cli(cluster, *args):
    env = dict(os.environ, KUBELAB_RUN_DIR=os.path.dirname(cluster.lab.run_dir))
    return subprocess.Popen([sys.executable, "-m", "kubelab", "--cluster", cluster.lab.name, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def start_cli_trace(cluster, *args):
    return start_cli(cluster, "trace", *args)


def cli(cluster, *args) -> str:
    proc = start_cli(cluster, *args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def wait_until_set_up(cluster, proc) -> dict:
    """The running trace's state file once all its helpers run and its TRACE rules are in."""
    from tests.waiting import wait_for
    folder = os.path.join(cluster.lab.run_dir, "traces")

    def ready():
        assert proc.poll() is None, proc.communicate()
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            with open(os.path.join(folder, name)) as f:
                try:
                    state = json.load(f)
                except ValueError:
                    continue
            if len(state["helpers"]) == 2 + 3 and len(trace_rules_anywhere(cluster)) == 2 * 2:
                return state
        return None

    return wait_for(ready, what="trace set up")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_trace_leaves_nothing_behind(cluster, sig):
    """Ctrl-C: the trace cleans up itself. A crash (SIGKILL): the next trace sweeps up after it."""
    from kubelab.trace.session import sweep
    from netns import processes

    before = recorded_processes(cluster)
    client = cluster.pods("solo")[0]["metadata"]["name"]
    # Nothing answers there (the outside namespace does not forward), so the trace waits for --timeout.
    proc = start_cli_trace(cluster, "--from", f"pod/{client}", "--to", "10.96.255.254:80", "--timeout", "60")
    state = wait_until_set_up(cluster, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
    else:
        assert trace_rules_anywhere(cluster)  # what a crash leaves …
        assert sweep(cluster.lab) == 1  # … until the next trace starts
    assert trace_rules_anywhere(cluster) == []
    helpers = [processes.Process(h["pid"], h["start"]) for h in state["helpers"]]
    assert not any(processes.running(p) for p in helpers)
    assert recorded_processes(cluster) == before
    assert not os.listdir(os.path.join(cluster.lab.run_dir, "traces"))


def test_cli_prints_json(cluster):
    cluster.wait_for_endpoints("web", 3)
    node1 = cluster.spec.nodes[0]
    proc = start_cli_trace(cluster, "--from", "external", "--to", f"{node1.ip}:30080", "-o", "json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["verdict"]["kind"] == "delivered" and doc["nodes"][0]["node"] == node1.name
    assert doc["conntrack"][0]["snat"] is True


def test_reading_the_rules_counters_shares_conntrack_and_the_graph_of_the_last_trace(cluster):
    cluster.wait_for_endpoints("web", 3)
    node1 = cluster.spec.nodes[0]
    client = cluster.pods("solo")[0]["metadata"]["name"]
    out = cli(cluster, "trace", "--from", f"pod/{client}", "--to", f"{node1.ip}:30080", "-o", "json")
    traced = json.loads(out)
    # node1 DNATs; the client's node and the endpoint's node may only route the packet.
    dnat = [n for n in traced["nodes"] if n["endpointChain"]]
    assert [n["node"] for n in dnat] == [node1.name]
    sep = dnat[0]["endpointChain"]
    rules = cli(cluster, "iptables", node1.name, "--service", "default/web")
    sep_jumps = [line for line in rules.splitlines() if "-j KUBE-SEP-" in line and "KUBE-SVC-" in line]
    assert len(sep_jumps) == 3 and all(" 33.33%  -A KUBE-SVC-" in line for line in sep_jumps)
    taken = next(line for line in sep_jumps if line.endswith(f"-j {sep}"))
    assert not taken.lstrip().startswith("[0:"), "the traced packet is counted on the rule it took"
    conntrack = cli(cluster, "conntrack", node1.name, "--service", "default/web")
    assert f"original {traced['client']['ip']}:{traced['client']['sport']} -> {node1.ip}:30080" in conntrack
    dot = cli(cluster, "graph", "--service", "default/web", "-o", "dot")
    assert re.search(rf'"KUBE-SVC-\w+" -> "{sep}" \[label="33.33%", color="red"', dot)
    svg = cli(cluster, "graph", "--service", "default/web", "-o", "svg")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
