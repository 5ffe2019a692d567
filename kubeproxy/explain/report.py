"""Outcomes of a walk -> what `kubelab proxy explain` shows: endpoints with their shares, then the rules.

Pure: text and JSON-ready dicts.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from kubeproxy.explain.walk import Outcome, Packet
from kubeproxy.names import SERVICE_CHAIN_PREFIXES as SERVICE_CHAINS

_PAST = {"REJECT": "rejected", "DROP": "dropped"}
ENTRY_WORDS = {"pod": "from a pod", "node": "from the node itself", "outside": "from outside the cluster"}


@dataclass(frozen=True)
class Result:
    """Outcomes that end the same way (same endpoint or verdict, same masquerading), summed."""

    destination: str  # "10.244.0.5:8080", or the verdict ("REJECT", "DROP") or "ACCEPT" (not a service)
    probability: Fraction
    masqueraded: bool
    verdict: str
    verdict_by: str
    service_chains: tuple[str, ...]  # the KUBE-* nat chains on the way, e.g. KUBE-SVC-… -> KUBE-SEP-…

    @property
    def percent(self) -> str:
        return f"{float(self.probability) * 100:.4g}%"


def kube_chains(outcome: Outcome) -> tuple[str, ...]:
    """The per-service chains an outcome went through, in order (KUBE-SERVICES and built-ins left out)."""
    chains: list[str] = []
    for chain in outcome.chain_path("nat"):
        if chain.startswith(SERVICE_CHAINS) and chain not in chains:
            chains.append(chain)
    return tuple(chains)


def _destination(outcome: Outcome) -> str:
    if outcome.verdict != "ACCEPT":
        return outcome.verdict
    return outcome.dnat or "ACCEPT"


def results(outcomes: list[Outcome]) -> list[Result]:
    """One row per distinct ending, in the order first reached (rule order)."""
    rows: dict[tuple, Result] = {}
    for o in outcomes:
        key = (_destination(o), o.masqueraded, o.verdict_by, kube_chains(o))
        seen = rows.get(key)
        probability = o.probability + (seen.probability if seen else 0)
        rows[key] = Result(key[0], probability, o.masqueraded, o.verdict, o.verdict_by, key[3])
    return list(rows.values())


def describe(packet: Packet) -> str:
    port = f":{packet.sport}" if packet.sport else ""
    return (f"{packet.proto} {packet.src}{port} -> {packet.dst}:{packet.dport}, {ENTRY_WORDS[packet.entry]}")


def _result_line(row: Result) -> str:
    masq = "masqueraded" if row.masqueraded else "not masqueraded"
    if row.verdict in ("REJECT", "DROP"):
        return f"  {row.percent:>7}  {_PAST[row.verdict]} by: {row.verdict_by}"
    where = f"to {row.destination}" if row.destination != "ACCEPT" else "accepted, not a service address"
    chains = " -> ".join(row.service_chains)
    return f"  {row.percent:>7}  {where}  ({masq})" + (f"  via {chains}" if chains else "")


def _rules_text(outcome: Outcome) -> list[str]:
    lines, current = [], None
    for hit in outcome.hits:
        heading = f"{hit.table} {hit.hook}"
        if heading != current:
            lines.append(f"  {heading}")
            current = heading
        lines.append(f"    {hit.rule.text}")
    if outcome.masqueraded:
        lines.append("  -> source rewritten to the node's address on the way out (MASQUERADE)")
    return lines


def to_text(packet: Packet, outcomes: list[Outcome], where: str = "") -> str:
    out = [describe(packet) + (f", on {where}" if where else ""), ""]
    out += [_result_line(row) for row in results(outcomes)]
    for outcome in outcomes:
        ending = outcome.dnat or outcome.verdict
        out += ["", f"rules matched ({ending}, {float(outcome.probability) * 100:.4g}%):", *_rules_text(outcome)]
        out += [f"  note: {n}" for n in outcome.notes]
    return "\n".join(out) + "\n"


def to_dict(packet: Packet, outcomes: list[Outcome]) -> dict:
    return {
        "packet": {"src": packet.src, "sport": packet.sport, "dst": packet.dst, "dport": packet.dport,
                   "protocol": packet.proto, "from": packet.entry},
        "results": [{"destination": r.destination, "probability": float(r.probability),
                     "fraction": str(r.probability), "masqueraded": r.masqueraded, "verdict": r.verdict,
                     "verdictBy": r.verdict_by, "chains": list(r.service_chains)} for r in results(outcomes)],
        "outcomes": [{"probability": float(o.probability), "verdict": o.verdict, "verdictBy": o.verdict_by,
                      "dnat": o.dnat, "masqueraded": o.masqueraded, "mark": hex(o.mark),
                      "chainPath": o.chain_path(None), "notes": list(o.notes),
                      "rules": [{"hook": h.hook, "table": h.table, "chain": h.chain, "rule": h.rule.text}
                                for h in o.hits]} for o in outcomes],
    }
