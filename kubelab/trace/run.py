"""One trace, start to end: resolve the client, set up (session), send, collect, read conntrack, analyze."""
from __future__ import annotations

import signal
import time

from kubelab.trace import analyze, client as sender, conntrack
from kubelab.trace.analyze import Trace
from kubelab.trace.session import Session, is_sentinel
from kubelab.trace.targets import directory, resolve
from kubeproxy.explain.parse import parse
from kubeproxy.runner import NamespaceRunner
from netns.cluster import Lab

CRAFT_SETTLE = 0.3  # a crafted packet gets no answer to wait for: give it this long to cross the nodes


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def trace(lab: Lab, source: str, host: str, port: int, proto: str = "tcp", craft: bool = False,
          timeout: float = 3.0, namespace: str = "default", pcap: str | None = None) -> Trace:
    """Trace one connection (or one crafted packet) from `source` (pod/NAME, node/NAME, external)."""
    spec = lab.require_spec()
    client = resolve(lab, spec, source, namespace)
    names = directory(lab, spec)
    # SIGTERM and SIGHUP end a trace like Ctrl-C does: through the session's cleanup.
    previous = {s: signal.signal(s, _raise_interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with Session(lab, spec, client.netns) as session:
            if craft:
                sent = sender.craft(client.netns, client.ip, host, port, proto, session.dscp)
                time.sleep(CRAFT_SETTLE)
            else:
                sent = sender.connect(client.netns, client.ip, host, port, proto, session.dscp, timeout)
            texts, seen = session.collect(sender.sentinel)
            if pcap:
                _write_pcap(pcap, session)
            entries = {ns: conntrack.list_entries(ns, proto) for ns in session.node_netns}
            comment = session.comment
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    result = Trace(client, f"{host}:{port}", proto, sent.sport, sent.reply, sent.error)
    ip_id = analyze.sent_id(seen, client) or analyze.traced_id(texts.get(client.netns, ""), client.ip)
    result.hops = analyze.hops(seen, client, names, ip_id)
    result.nodes = analyze.node_traces(texts, names, ip_id, comment, analyze.namespace_order(result.hops))
    by_name = {n.netns: n.name for n in spec.nodes}
    result.conntrack = [(by_name[ns], e) for ns, e in conntrack.follow(entries, client.ip, sent.sport, proto)]
    result.verdict = analyze.verdict(result)
    if sent.error == "refused" and result.verdict.kind != "refused" and result.nodes:
        result.verdict = _refusal_from_rules(spec, result) or result.verdict
    return result


def _refusal_from_rules(spec, result: Trace) -> analyze.Verdict | None:
    """The client was refused but the kernel's trace lost the deciding line: name it by walking the rules
    of the last node the packet was in, as that node saw the packet."""
    last = result.nodes[-1]
    node = next(n for n in spec.nodes if n.netns == last.netns)
    tables = parse(NamespaceRunner(node.netns).save(None))
    rule = analyze.explained_stop(tables, last, [str(node.ip), str(node.gateway)],
                                  analyze.entry_of(last, result.client), result.proto)
    if rule is None or "-j REJECT" not in rule:
        return None
    return analyze.Verdict("refused", f"refused by REJECT rule on {last.node}: {rule} (the kernel's trace lost "
                                      f"this line; found by walking the node's rules)", rule=rule)


def _write_pcap(path: str, session: Session) -> None:
    from scapy.layers.inet import IP
    from scapy.utils import wrpcap

    frames = [f for f in session.frames() if not (IP in f and is_sentinel(f[IP], session.sentinel_port))]
    wrpcap(path, frames)
