"""The Services and EndpointSlices one kube-proxy knows, and which services changed since the last sync.

Upstream keeps this in ServiceChangeTracker + EndpointsChangeTracker (pkg/proxy/servicechangetracker.go,
endpointschangetracker.go, endpointslicecache.go). Here it is one small pure object: updates go in,
`take_changes()` says which services to re-render. Changes are kept as data (a set of service names),
never as flags scattered over the proxier.
"""
from __future__ import annotations

from kubeproxy.model import (Endpoint, ParsedSlice, PortKey, ServiceName, ServicePort, merge_slices,
                             parse_slice, service_ports, slice_service)


def _name(obj: dict) -> ServiceName:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "default", meta["name"])


class ServiceIndex:
    def __init__(self, node_name: str):
        self.node_name = node_name
        self._ports: dict[ServiceName, list[ServicePort]] = {}
        self._slices: dict[ServiceName, dict[str, ParsedSlice]] = {}
        self._endpoints: dict[ServiceName, dict[PortKey, list[Endpoint]]] = {}
        self._changed: set[ServiceName] = set()

    # -- updates (OnServiceAdd/Update/Delete, OnEndpointSlice…) -----------------------------------------

    def set_service(self, obj: dict) -> None:
        name, ports = _name(obj), service_ports(obj)
        if self._ports.get(name) != ports:
            self._ports[name] = ports
            self._changed.add(name)

    def delete_service(self, obj: dict) -> None:
        name = _name(obj)
        if self._ports.pop(name, None) is not None:
            self._changed.add(name)

    def set_endpoint_slice(self, obj: dict) -> None:
        parsed = parse_slice(obj, self.node_name)
        if parsed is None:
            return
        slices = self._slices.setdefault(parsed.service, {})
        if slices.get(parsed.name) != parsed:
            slices[parsed.name] = parsed
            self._refresh_endpoints(parsed.service)

    def delete_endpoint_slice(self, obj: dict) -> None:
        service = slice_service(obj)
        if service and self._slices.get(service, {}).pop(obj["metadata"]["name"], None) is not None:
            self._refresh_endpoints(service)

    def replace(self, services: list[dict], slices: list[dict]) -> None:
        """Make the index hold exactly these objects (a relist); only real differences count as changes."""
        wanted = {_name(s) for s in services}
        for name in [n for n in self._ports if n not in wanted]:
            del self._ports[name]
            self._changed.add(name)
        for svc in services:
            self.set_service(svc)
        parsed = [p for p in (parse_slice(s, self.node_name) for s in slices) if p is not None]
        by_service: dict[ServiceName, dict[str, ParsedSlice]] = {}
        for p in parsed:
            by_service.setdefault(p.service, {})[p.name] = p
        for name in set(self._slices) | set(by_service):
            if self._slices.get(name, {}) != by_service.get(name, {}):
                self._slices[name] = by_service.get(name, {})
                self._refresh_endpoints(name)

    def _refresh_endpoints(self, service: ServiceName) -> None:
        merged = merge_slices(list(self._slices.get(service, {}).values()))
        if not self._slices.get(service):
            self._slices.pop(service, None)
        if self._endpoints.get(service, {}) != merged:
            self._endpoints[service] = merged
            self._changed.add(service)

    # -- reading ----------------------------------------------------------------------------------------

    def take_changes(self) -> set[ServiceName]:
        changed, self._changed = self._changed, set()
        return changed

    def ports(self, service: ServiceName | None = None) -> list[ServicePort]:
        if service is not None:
            return list(self._ports.get(service, []))
        return [p for ports in self._ports.values() for p in ports]

    def endpoints(self, port: ServicePort) -> list[Endpoint]:
        return self._endpoints.get((port.namespace, port.name), {}).get(port.key, [])

    def endpoints_map(self) -> dict[PortKey, list[Endpoint]]:
        return {key: eps for per_service in self._endpoints.values() for key, eps in per_service.items()}

    def endpoint_count(self) -> int:
        """Endpoints of all service ports that exist (upstream's totalEndpoints, for large-cluster mode)."""
        return sum(len(self.endpoints(p)) for p in self.ports())
