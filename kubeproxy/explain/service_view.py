"""One Service's part of a node's rules: its chains in jump order, each endpoint's effective share, and the
addresses it answers on. Pure; works on parsed iptables-save (with or without counters).

A service's rules are found the way a reader finds them: the rules in the top-level chains whose comment
names the service ("default/web cluster IP", "default/web:http has no endpoints", …), then every chain they
jump to, depth first, in rule order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from kubeproxy.explain.parse import Rule, Tables
from kubeproxy.names import SERVICE_CHAIN_PREFIXES

TOP_CHAINS = (("nat", "KUBE-SERVICES"), ("nat", "KUBE-NODEPORTS"), ("filter", "KUBE-SERVICES"),
              ("filter", "KUBE-EXTERNAL-SERVICES"), ("filter", "KUBE-NODEPORTS"), ("filter", "KUBE-PROXY-FIREWALL"))
_NAME = re.compile(r"^(?:.* for )?([a-z0-9][-a-z0-9.]*/[a-z0-9][-a-z0-9.]*)(?::\S+)?(?:\s|$)")


@dataclass(frozen=True)
class Row:
    rule: Rule
    share: Fraction | None  # for a jump to an endpoint chain: the chance a new connection takes it


@dataclass(frozen=True)
class ChainView:
    table: str
    chain: str
    rows: tuple[Row, ...]


def service_of(rule: Rule) -> str | None:
    """"ns/name" named by the rule's comment, if any."""
    match = _NAME.match(rule.comment or "")
    return match.group(1) if match else None


def services(tables: Tables) -> list[str]:
    """Every service named in the top-level chains, sorted."""
    return sorted({s for table, chain in TOP_CHAINS for r in tables.chain(table, chain) if (s := service_of(r))})


def shares(rules: list[Rule]) -> list[Fraction | None]:
    """The effective share of each rule of a KUBE-SVC/SVL chain that jumps to an endpoint: a statistic rule
    takes p of what is left, the last one takes the rest (so 1/4, 1/3, 1/2, 1 gives 25% each).
    Affinity checks ("-m recent --rcheck") only catch returning clients: they get no share."""
    left, out = Fraction(1), []
    for rule in rules:
        if not (rule.target or "").startswith("KUBE-SEP-") or any(c.kind == "recent" for c in rule.conds):
            out.append(None)
            continue
        p = next((Fraction(float(c.value)).limit_denominator(10000) for c in rule.conds if c.kind == "probability"),
                 Fraction(1))
        out.append(left * p)
        left *= 1 - p
    return out


def view(tables: Tables, service: str) -> list[ChainView]:
    """The service's rules in the top-level chains, then its own chains in jump order."""
    out: list[ChainView] = []
    pending: list[tuple[str, str]] = []
    for table, chain in TOP_CHAINS:
        mine = [r for r in tables.chain(table, chain) if service_of(r) == service]
        if mine:
            out.append(ChainView(table, chain, tuple(Row(r, None) for r in mine)))
            pending += [(table, r.target) for r in mine if r.target]
    seen: set[tuple[str, str]] = set()
    while pending:
        table, chain = pending.pop(0)
        if (table, chain) in seen or not chain.startswith(SERVICE_CHAIN_PREFIXES) or not tables.has_chain(table, chain):
            continue
        seen.add((table, chain))
        rules = tables.chain(table, chain)
        out.append(ChainView(table, chain, tuple(Row(r, s) for r, s in zip(rules, shares(rules)))))
        pending = [(table, r.target) for r in rules if r.target] + pending  # depth first, in rule order
    return out


@dataclass(frozen=True)
class Addresses:
    """Where a service answers and where it sends: for picking its conntrack entries."""

    frontends: frozenset[tuple[str, int]]  # (cluster/external/LB IP, port)
    node_ports: frozenset[int]
    endpoints: frozenset[tuple[str, int]]


def addresses(tables: Tables, service: str) -> Addresses:
    frontends, node_ports, endpoints = set(), set(), set()
    for chain_view in view(tables, service):
        for row in chain_view.rows:
            conds = {c.kind: c.value for c in row.rule.conds if not c.negated}
            if chain_view.chain.startswith("KUBE-SEP-") and row.rule.target == "DNAT":
                ip, _, port = (row.rule.arg("--to-destination") or "").partition(":")
                endpoints.add((ip, int(port or 0)))
            elif "dport" in conds and "dst" in conds and chain_view.chain in ("KUBE-SERVICES",
                                                                             "KUBE-EXTERNAL-SERVICES"):
                frontends.add((conds["dst"].split("/")[0], int(conds["dport"])))
            elif "dport" in conds and chain_view.chain in ("KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES"):
                node_ports.add(int(conds["dport"]))
    return Addresses(frozenset(frontends), frozenset(node_ports), frozenset(endpoints))
