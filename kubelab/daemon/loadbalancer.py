"""LoadBalancer Services get an IP from the lab's pool, as MetalLB (L2 mode) gives them on kind.

`plan` is pure: which IP each LoadBalancer Service holds and which node announces it. The node is one with
a ready local endpoint when `externalTrafficPolicy: Local` (MetalLB announces only from such nodes),
else the first node. The daemon writes `status.loadBalancer.ingress` and routes the outside client's
traffic for the IP to that node (netns.cluster.Lab.announce).
"""
from __future__ import annotations

from dataclasses import dataclass

from controlplane.errors import Conflict, NotFound
from controlplane.registry import Registry
from netns.cluster import Lab


@dataclass(frozen=True)
class Assignment:
    service: tuple[str, str]  # namespace, name
    ip: str
    node: str


def _key(svc: dict) -> tuple[str, str]:
    return svc["metadata"]["namespace"], svc["metadata"]["name"]


def _current_ip(svc: dict) -> str | None:
    ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
    return ingress[0].get("ip") if ingress else None


def _ready_nodes(slices: list[dict]) -> list[str]:
    return sorted({e.get("nodeName") for s in slices for e in s.get("endpoints") or []
                   if e.get("nodeName") and (e.get("conditions") or {}).get("ready", True)})


def plan(services: list[dict], slices: list[dict], pool: list[str], nodes: list[str]) -> list[Assignment]:
    balanced = sorted((s for s in services if s["spec"].get("type") == "LoadBalancer"), key=_key)
    taken = {ip for s in balanced if (ip := _current_ip(s)) in pool}
    free = [ip for ip in pool if ip not in taken]
    by_service: dict[tuple[str, str], list[dict]] = {}
    for sl in slices:
        owner = (sl["metadata"]["namespace"], (sl["metadata"].get("labels") or {}).get("kubernetes.io/service-name"))
        by_service.setdefault(owner, []).append(sl)
    assignments = []
    for svc in balanced:
        wanted = svc["spec"].get("loadBalancerIP")
        ip = _current_ip(svc)
        if ip not in pool:
            ip = wanted if wanted in free else (free[0] if free and not wanted else None)
            if ip is None:
                continue  # pool exhausted (or the wanted IP is taken): EXTERNAL-IP stays <pending>
            free.remove(ip)
        local = svc["spec"].get("externalTrafficPolicy") == "Local"
        candidates = _ready_nodes(by_service.get(_key(svc), [])) if local else nodes
        assignments.append(Assignment(_key(svc), ip, (candidates or nodes)[0]))
    return assignments


class LoadBalancers:
    def __init__(self, registry: Registry, lab: Lab):
        self.registry, self.lab = registry, lab
        spec = lab.require_spec()
        self.pool = [str(ip) for ip in spec.lb_pool]
        self.nodes = [n.name for n in spec.nodes]
        self.announced: dict[str, str] = {}  # ip -> node

    def step(self) -> None:
        services = self.registry.list("Service").items
        slices = self.registry.list("EndpointSlice").items
        wanted = plan(services, slices, self.pool, self.nodes)
        by_key = {_key(s): s for s in services}
        for a in wanted:
            self._write_status(by_key[a.service], a.ip)
            if self.announced.get(a.ip) != a.node:
                self.lab.announce(a.ip, a.node)
                self.announced[a.ip] = a.node
        for ip in set(self.announced) - {a.ip for a in wanted}:
            self.lab.withdraw(ip)
            del self.announced[ip]

    def _write_status(self, svc: dict, ip: str) -> None:
        if _current_ip(svc) == ip:
            return
        svc.setdefault("status", {})["loadBalancer"] = {"ingress": [{"ip": ip, "ipMode": "VIP"}]}
        try:
            self.registry.update_status(svc)
        except (Conflict, NotFound):
            pass  # changed or gone meanwhile: the next step sees the new state
