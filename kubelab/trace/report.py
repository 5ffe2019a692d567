"""A Trace as text or JSON, and the last trace's chain path kept for `kubelab graph`."""
from __future__ import annotations

import json
import os

from kubelab.trace.analyze import Trace
from netns.cluster import Lab

LAST_TRACE = "last-trace.json"


def _client(trace: Trace) -> str:
    c = trace.client
    who = "external" if c.kind == "external" else f"{c.kind} {c.name}"
    return f"{c.ip}:{trace.sport} ({who})"


def _nat_words(entry) -> str:
    words = [w for w, on in (("DNAT", entry.dnat), ("SNAT", entry.snat)) if on]
    return f"  [{', '.join(words)}]" if words else ""


def to_text(trace: Trace) -> str:
    out = [f"trace {trace.proto} {_client(trace)} -> {trace.to}", "", f"verdict: {trace.verdict.text}"]
    if trace.reply is not None:
        out.append(f"reply:   {trace.reply.splitlines()[0] if trace.reply else '(empty)'}")
    elif trace.error:
        out.append(f"client:  {trace.error}")
    out += ["", "rules hit (the kernel's trace of the first packet):"]
    for node in trace.nodes:
        out.append(f"  {node.node} ({node.netns}): {node.packet.get('SRC')}:{node.packet.get('SPORT')} -> "
                   f"{node.packet.get('DST')}:{node.packet.get('DPORT')}")
        out += [f"    {h.table:<6} {h.chain:<26} {h.verdict:<8} {h.text()}" for h in node.hits]
        if node.service_chains():
            out.append(f"    path: {' -> '.join(node.chain_path())}")
    out += ["", "hops (captures; a pod's veth on the node shows what its eth0 sees):"]
    for hop in trace.hops:
        peer = f" (pod {hop.peer})" if hop.peer else ""
        out.append(f"  {hop.where:<28} {hop.interface + peer:<36} {hop.direction:<3}  {hop.addresses}")
    out += ["", "conntrack:"]
    if not trace.conntrack:
        out.append("  (no entry: the connection was never confirmed)")
    for node, entry in trace.conntrack:
        state = f" {entry.state}" if entry.state else ""
        out.append(f"  {node}: {entry.proto}{state}  original {entry.original}  reply {entry.reply}"
                   f"{_nat_words(entry)}")
    return "\n".join(out) + "\n"


def to_dict(trace: Trace) -> dict:
    c = trace.client
    return {
        "client": {"kind": c.kind, "name": c.name, "netns": c.netns, "ip": c.ip, "sport": trace.sport},
        "to": trace.to, "protocol": trace.proto, "reply": trace.reply, "error": trace.error,
        "verdict": {"kind": trace.verdict.kind, "text": trace.verdict.text, "pod": trace.verdict.pod,
                    "address": trace.verdict.address, "rule": trace.verdict.rule},
        "nodes": [{"node": n.node, "netns": n.netns, "packet": n.packet, "chainPath": n.chain_path(),
                   "serviceChains": n.service_chains(), "endpointChain": n.endpoint_chain,
                   "rules": [{"table": h.table, "chain": h.chain, "verdict": h.verdict, "kind": h.kind,
                              "rule": h.rule} for h in n.hits]} for n in trace.nodes],
        "hops": [{"where": h.where, "interface": h.interface, "pod": h.peer, "direction": h.direction,
                  "addresses": h.addresses} for h in trace.hops],
        "conntrack": [{"node": node, "protocol": e.proto, "state": e.state, "original": str(e.original),
                       "reply": str(e.reply), "dnat": e.dnat, "snat": e.snat, "line": e.line}
                      for node, e in trace.conntrack],
    }


def last_trace_path(lab: Lab) -> str:
    return os.path.join(lab.run_dir, LAST_TRACE)


def save_last(lab: Lab, trace: Trace) -> None:
    """The chain path of the trace, for `kubelab graph` to highlight."""
    path = lab.own_file(last_trace_path(lab))
    doc = {"to": trace.to, "verdict": trace.verdict.text,
           "nodes": [{"node": n.node, "chainPath": n.chain_path(), "serviceChains": n.service_chains(),
                      "endpointChain": n.endpoint_chain} for n in trace.nodes]}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def load_last(lab: Lab) -> dict | None:
    try:
        with open(last_trace_path(lab)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None
