"""iptables-restore / iptables-save text as data, for tests: parse, compare, and sort like upstream's tests.

`upstream_sorted` is proxier_test.go's sortIPTablesRules: chains sorted (KUBE-NODEPORTS, KUBE-SERVICES,
then KUBE-* alphabetically, then the rest); rules grouped by chain in chain order; KUBE-NODEPORTS and
KUBE-SERVICES rules stably sorted by the service named in their comment, the "must be the last rule"
rule kept last. That lets upstream's expected texts be used verbatim as golden files.
"""
from __future__ import annotations

import re
import shlex

BUILTIN = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """{table: {chain: [rule lines]}} with chains in declaration order."""
    tables: dict[str, dict[str, list[str]]] = {}
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("*"):
            table = tables.setdefault(line[1:], {})
        elif line.startswith(":"):
            table.setdefault(line[1:].split()[0], [])
        elif line.startswith("-A "):
            table.setdefault(line.split()[1], []).append(line)
        elif line.startswith("-X "):
            table.pop(line.split()[1], None)
    return tables


def _service_of(rule: str) -> str:
    m = re.search(r'--comment ("[^"]*"|\S+)', rule)
    if not m:
        return ""
    name = m.group(1).strip('"')
    cut = re.search(r"[ :]", name)
    return name[:cut.start()] if cut else name


def _chain_order(name: str) -> tuple:
    if name == "KUBE-NODEPORTS":
        return (0, "")
    if name == "KUBE-SERVICES":
        return (1, "")
    return (2 if name.startswith("KUBE-") else 3, name)


def upstream_sorted(text: str) -> str:
    out = []
    for table_name, chains in sorted(parse(text).items()):
        names = sorted(chains, key=_chain_order)
        out.append(f"*{table_name}")
        out += [f":{c} - [0:0]" for c in names]
        for c in names:
            rules = chains[c]
            if c in ("KUBE-NODEPORTS", "KUBE-SERVICES"):
                rules = sorted(rules, key=lambda r: ("must be the last rule" in r if table_name == "nat" else False,
                                                     _service_of(r)))
            out += rules
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def normalized_save(text: str) -> dict[str, dict[str, list[str]]]:
    """iptables-save output without counters, per table and chain (chain order does not matter)."""
    tables = parse(text)
    return {t: {c: [_canon(r) for r in rules] for c, rules in chains.items()} for t, chains in tables.items()}


def _canon(rule: str) -> str:
    return " ".join(shlex.split(re.sub(r"^\[\d+:\d+\] ", "", rule)))
