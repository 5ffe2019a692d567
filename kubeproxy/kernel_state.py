"""What a full sync needs to know about the kernel: which chains exist and which jumps from built-in
chains are missing (upstream's iptablesJumpChains + iptablesKubeletJumpChains, ensured on full syncs)."""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class KernelState:
    chains: dict[str, set[str]]  # table -> chain names
    jumps: set[tuple[str, str, str]]  # (table, built-in chain, target) present

    @property
    def nat_chains(self) -> set[str]:
        return self.chains.get("nat", set())


def parse_save(text: str) -> KernelState:
    """Chains and jumps in iptables-save output (any number of tables)."""
    chains: dict[str, set[str]] = {}
    jumps: set[tuple[str, str, str]] = set()
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:]
            chains.setdefault(table, set())
        elif line.startswith(":"):
            chains[table].add(line[1:].split()[0])
        elif line.startswith("-A "):
            words = line.split()
            if "-j" in words:
                jumps.add((table, words[1], words[words.index("-j") + 1]))
    return KernelState(chains, jumps)


def existing_state(runner) -> KernelState:
    # One iptables-save of all tables: each run of it costs a process and a ruleset dump.
    return parse_save(runner.save(None))


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
