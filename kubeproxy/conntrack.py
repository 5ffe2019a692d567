"""Which UDP conntrack entries to delete after a sync (pure), as `conntrack -D` arguments.

UDP has no connection end: a client that keeps its socket keeps hitting the conntrack entry that
DNAT'ed its first packet, even after that endpoint is gone — or, for a service that had no endpoints,
the entry made while packets were rejected. Upstream: detectStaleConntrackEntries
(endpointschangetracker.go) and the exec-based ClearEntriesForNAT/ClearEntriesForIP/…
(pkg/proxy/conntrack). TCP and SCTP need none of this (RST / ABORT end them).
"""
from __future__ import annotations

from kubeproxy.model import Endpoint, ServicePort


def _service_ips(port: ServicePort) -> list[str]:
    return [port.cluster_ip, *port.external_ips, *port.lb_vips]


def _used(endpoints: list[Endpoint]) -> dict[str, Endpoint]:
    # Endpoints that were neither ready nor serving received no traffic: nothing can be stale.
    return {str(e): e for e in endpoints if e.ready or e.serving}


def stale_flows(port: ServicePort, old: list[Endpoint], new: list[Endpoint]) -> list[list[str]]:
    """`conntrack -D` argument lists for one UDP service port whose endpoints went from `old` to `new`."""
    if port.protocol != "UDP":
        return []
    flows: list[list[str]] = []
    now = _used(new)
    for text, ep in _used(old).items():
        if text in now:
            continue
        for ip in _service_ips(port):
            flows.append(["-p", "udp", "--orig-dst", ip, "--orig-port-dst", str(port.port), "--dst-nat", ep.ip])
        if port.node_port:
            flows.append(["-p", "udp", "--orig-port-dst", str(port.node_port), "--dst-nat", ep.ip])
    if now and not _used(old):
        # From no endpoints to some: flows created while the service was unreachable must go.
        for ip in _service_ips(port):
            flows.append(["-p", "udp", "--orig-dst", ip, "--orig-port-dst", str(port.port)])
        if port.node_port:
            flows.append(["-p", "udp", "--orig-port-dst", str(port.node_port)])
    return flows
