"""What a full sync needs to know about the kernel: which chains exist, which jumps from built-in
chains are missing (upstream's iptablesJumpChains + iptablesKubeletJumpChains, ensured on full syncs),
and whether kube-proxy owns a whole table (nothing in it that kube-proxy did not write), which lets a
full sync replace that table instead of patching it (see restore.full)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from kubeproxy import names
from kubeproxy.config import NodeConfig
from kubeproxy.render import (KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_NODEPORTS,
                              KUBE_POSTROUTING, KUBE_PROXY_FIREWALL, KUBE_SERVICES, fixed_rules)

NEW = "-m conntrack --ctstate NEW"

# (table, chain to jump to, built-in chain, comment, extra match) in upstream's order.
JUMPS = (
    ("filter", KUBE_EXTERNAL_SERVICES, "INPUT", "kubernetes externally-visible service portals", NEW),
    ("filter", KUBE_EXTERNAL_SERVICES, "FORWARD", "kubernetes externally-visible service portals", NEW),
    ("filter", KUBE_NODEPORTS, "INPUT", "kubernetes health check service ports", ""),
    ("filter", KUBE_SERVICES, "FORWARD", "kubernetes service portals", NEW),
    ("filter", KUBE_SERVICES, "OUTPUT", "kubernetes service portals", NEW),
    ("filter", KUBE_FORWARD, "FORWARD", "kubernetes forwarding rules", ""),
    ("filter", KUBE_PROXY_FIREWALL, "INPUT", "kubernetes load balancer firewall", NEW),
    ("filter", KUBE_PROXY_FIREWALL, "OUTPUT", "kubernetes load balancer firewall", NEW),
    ("filter", KUBE_PROXY_FIREWALL, "FORWARD", "kubernetes load balancer firewall", NEW),
    ("nat", KUBE_SERVICES, "OUTPUT", "kubernetes service portals", ""),
    ("nat", KUBE_SERVICES, "PREROUTING", "kubernetes service portals", ""),
    ("nat", KUBE_POSTROUTING, "POSTROUTING", "kubernetes postrouting rules", ""),
    # kubelet's own chain, duplicated by kube-proxy (no comment)
    ("filter", KUBE_FIREWALL, "INPUT", "", ""),
    ("filter", KUBE_FIREWALL, "OUTPUT", "", ""),
)


_ALLOWED_JUMPS = {(table, builtin, target) for table, target, builtin, _, _ in JUMPS}
_INCOMPATIBLE = re.compile(r"[`'](\w+)' is incompatible")


@dataclass(frozen=True)
class KernelState:
    chains: dict[str, set[str]]  # table -> chain names (built-in ones included)
    jumps: set[tuple[str, str, str]]  # (table, built-in chain, target) present
    # table -> the built-in chains' declaration lines (":PREROUTING ACCEPT [p:b]") and their rules, as
    # iptables-save printed them (with "[p:b]" counters when saved with -c)
    builtin_chains: dict[str, list[str]] = field(default_factory=dict)
    builtin_rules: dict[str, list[str]] = field(default_factory=dict)
    incompatible: set[str] = field(default_factory=set)  # tables iptables-save could not print

    @property
    def nat_chains(self) -> set[str]:
        return self.chains.get("nat", set())


def _rule_words(line: str) -> list[str]:
    words = line.split()
    return words[1:] if words and words[0].startswith("[") else words


def parse_save(text: str) -> KernelState:
    """Chains, jumps and built-in chains in iptables-save output (any number of tables, -c or not)."""
    state = KernelState({}, set())
    table, builtins = "", set()
    for line in text.splitlines():
        if line.startswith("#"):
            found = _INCOMPATIBLE.search(line)
            if found:
                state.incompatible.add(found.group(1))
        elif line.startswith("*"):
            table = line[1:].strip()
            state.chains.setdefault(table, set())
        elif line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            state.chains[table].add(name)
            if policy != "-":
                builtins.add((table, name))
                state.builtin_chains.setdefault(table, []).append(line)
        else:
            words = _rule_words(line)
            if words[:1] != ["-A"] or len(words) < 2:
                continue
            if (table, words[1]) in builtins:
                state.builtin_rules.setdefault(table, []).append(line)
            if "-j" in words:
                state.jumps.add((table, words[1], words[words.index("-j") + 1]))
    return state


def existing_state(runner) -> KernelState:
    # One iptables-save -c of all tables: each run of it costs a process and a ruleset dump. The counters
    # are kept so that a full sync replacing a table can write the built-in chains' counters back.
    return parse_save(runner.save(None, counters=True))


def foreign(state: KernelState, table: str, ours: set[str]) -> list[str]:
    """What in `table` kube-proxy did not write: chains other than `ours`, the built-in ones and stale
    service chains, and rules in built-in chains other than kube-proxy's jumps (JUMPS). Empty when
    kube-proxy owns the whole table, so that replacing the table loses nothing.

    Rules inside kube-proxy's own chains are not looked at: every full sync rewrites those chains anyway
    (upstream's too). A table iptables-save cannot print (native nft rules in it) is never owned.
    """
    if table in state.incompatible:
        return [f"table {table} holds rules iptables cannot print"]
    builtins = {line[1:].split()[0] for line in state.builtin_chains.get(table, [])}
    out = [f"chain {c}" for c in sorted(state.chains.get(table, ()))
           if c not in ours and c not in builtins and not names.is_service_chain(c)]
    for line in state.builtin_rules.get(table, []):
        words = _rule_words(line)
        target = words[words.index("-j") + 1] if "-j" in words else None
        if (table, words[1], target) not in _ALLOWED_JUMPS:
            out.append(line)
    return out


def jump_rule(builtin: str, target: str, comment: str, extra: str) -> str:
    words = ["-I", builtin]
    if extra:
        words.append(extra)
    if comment:
        words.append(f'-m comment --comment "{comment}"')
    return " ".join([*words, "-j", target])


def missing_jumps(state: KernelState, cfg: NodeConfig) -> dict[str, list[str]]:
    """"-I" lines (prepend, as upstream's EnsureRule(Prepend)) for each jump not yet in place."""
    filter_chains = fixed_rules(cfg)["filter_chains"]
    out: dict[str, list[str]] = {}
    for table, target, builtin, comment, extra in JUMPS:
        if target == KUBE_FIREWALL and target not in filter_chains:
            continue  # kubelab has no kubelet writing this chain; only kube-proxy's copy exists
        if (table, builtin, target) not in state.jumps:
            out.setdefault(table, []).append(jump_rule(builtin, target, comment, extra))
    return out
