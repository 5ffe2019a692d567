"""Which endpoints a service port uses on this node (upstream: pkg/proxy/topology.go CategorizeEndpoints).

"Usable" means Ready, falling back to Serving+Terminating endpoints (independently for Cluster and Local
policy) when none is Ready. Topology hints (PreferSameZone / PreferSameNode) narrow the Cluster set
when every ready endpoint carries a hint and one matches this node.
"""
from __future__ import annotations

from dataclasses import dataclass

from kubeproxy.model import Endpoint, ServicePort


@dataclass(frozen=True)
class Categorized:
    cluster: list[Endpoint]  # for Cluster traffic policy (empty if the port never uses it)
    local: list[Endpoint]  # for Local traffic policy (empty if the port never uses it)
    reachable: list[Endpoint]  # union of both: the endpoints that get a KUBE-SEP chain here
    has_any: bool  # the service has usable endpoints somewhere in the cluster


def _topology_mode(endpoints: list[Endpoint], node: str, zone: str) -> str:
    ready = [e for e in endpoints if e.ready]
    if ready and all(e.node_hints for e in ready) and any(node in e.node_hints for e in ready):
        return "PreferSameNode"
    if ready and all(e.zone_hints for e in ready) and any(zone in e.zone_hints for e in ready):
        return "PreferSameZone"
    return ""


def _available(e: Endpoint, mode: str, node: str, zone: str) -> bool:
    if mode == "PreferSameNode":
        return node in e.node_hints
    if mode == "PreferSameZone":
        return zone in e.zone_hints
    return True


def _serving_terminating(e: Endpoint) -> bool:
    return e.serving and e.terminating


def categorize(endpoints: list[Endpoint], svc: ServicePort, node: str, zone: str = "") -> Categorized:
    mode = ""
    cluster: list[Endpoint] = []
    has_any = False
    if svc.uses_cluster_endpoints:
        mode = _topology_mode(endpoints, node, zone)
        cluster = [e for e in endpoints if e.ready and _available(e, mode, node, zone)]
        if not cluster:
            cluster = [e for e in endpoints if _serving_terminating(e)]
        has_any = bool(cluster)
    if not svc.uses_local_endpoints:
        return Categorized(cluster, [], cluster, has_any)

    has_any = has_any or any(e.ready or _serving_terminating(e) for e in endpoints)
    local = [e for e in endpoints if e.is_local and e.ready]
    fallback = not local
    if fallback:
        local = [e for e in endpoints if e.is_local and _serving_terminating(e)]
    if not svc.uses_cluster_endpoints:
        return Categorized([], local, local, has_any)
    if mode == "" and not (fallback and local):
        # cluster holds every ready endpoint, so it already contains all ready local ones.
        return Categorized(cluster, local, cluster, has_any)
    # Upstream merges through a map (random order); kubelab keeps the sorted "ip:port" order.
    merged = {str(e): e for e in cluster}
    merged.update({str(e): e for e in local})
    return Categorized(cluster, local, [merged[k] for k in sorted(merged)], has_any)
