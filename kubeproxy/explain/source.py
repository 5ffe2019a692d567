"""Where a ruleset to explain comes from: kube-proxy's rendering of objects, or a saved iptables-save."""
from __future__ import annotations

from kubeproxy import restore
from kubeproxy.config import NodeConfig
from kubeproxy.explain.parse import Tables, parse
from kubeproxy.kernel_state import KernelState, missing_jumps
from kubeproxy.render import render_objects


def rendered_text(services: list[dict], slices: list[dict], cfg: NodeConfig) -> str:
    """What a node's tables hold after kube-proxy's first full sync: its chains plus the jumps to them from
    the built-in chains (which a first sync inserts, finding none)."""
    ruleset = render_objects(services, slices, cfg)
    return restore.full(ruleset, jumps=missing_jumps(KernelState({}, set()), cfg)).text


def from_objects(services: list[dict], slices: list[dict], cfg: NodeConfig) -> Tables:
    return parse(rendered_text(services, slices, cfg))


def local_addresses(cfg: NodeConfig) -> tuple[str, ...]:
    """The node's own addresses, for "-m addrtype --dst-type LOCAL" (loopback is always local)."""
    return (*cfg.node_ips, *cfg.extra_local_ips)


def from_save(text: str) -> Tables:
    return parse(text)
