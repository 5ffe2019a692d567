"""What a Service create/update/delete reserves and frees: its ClusterIP and its node ports.

Mirrors pkg/registry/core/service/storage/alloc.go: each operation returns a `Reservation` that is
committed (old values freed) once the object is stored, or reverted (new values freed) if anything fails,
so a rejected Service leaves no trace in the allocators. Errors are the API server's `Invalid` causes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from controlplane.allocators import AllocationError, ClusterIPAllocator, NodePortAllocator
from controlplane.errors import FieldError, Invalid, StatusError, invalid


@dataclass
class Reservation:
    ips: list[str] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    release_ips: list[str] = field(default_factory=list)
    release_ports: list[int] = field(default_factory=list)
    _allocations: "ServiceAllocations | None" = None

    def commit(self) -> None:
        for ip in self.release_ips:
            self._allocations.ips.release(ip)
        for port in self.release_ports:
            self._allocations.ports.release(port)

    def revert(self) -> None:
        for ip in self.ips:
            self._allocations.ips.release(ip)
        for port in self.ports:
            self._allocations.ports.release(port)


def _needs_cluster_ip(spec: dict) -> bool:
    return spec.get("type") != "ExternalName" and (spec.get("clusterIPs") or [None])[0] != "None"


def _needs_node_ports(spec: dict) -> bool:
    if spec.get("type") == "NodePort":
        return True
    return spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True) is not False


def _needs_health_check_port(spec: dict) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def node_ports_of(spec: dict) -> list[int]:
    ports = [p.get("nodePort") for p in spec.get("ports") or [] if p.get("nodePort")]
    if spec.get("healthCheckNodePort"):
        ports.append(spec["healthCheckNodePort"])
    return sorted(set(ports))


class ServiceAllocations:
    def __init__(self, ips: ClusterIPAllocator, ports: NodePortAllocator):
        self.ips = ips
        self.ports = ports

    # ------------------------------------------------------------------------------------------ restart

    def rebuild(self, services: list[dict]) -> None:
        """Mark what stored Services hold (the repair controllers' job upstream)."""
        for service in services:
            spec = service.get("spec") or {}
            for ip in spec.get("clusterIPs") or []:
                if ip != "None":
                    _ignore(lambda: self.ips.allocate(ip))
            for port in node_ports_of(spec):
                _ignore(lambda: self.ports.allocate(port))

    # ------------------------------------------------------------------------------------------ create

    def allocate_create(self, service: dict) -> Reservation:
        reservation = Reservation(_allocations=self)
        try:
            spec = service["spec"]
            self._init_ip_families(service, spec)
            if _needs_cluster_ip(spec):
                self._allocate_cluster_ip(service, spec, reservation)
            self._allocate_node_ports(service, spec, old_ports=[], reservation=reservation)
        except StatusError:
            reservation.revert()
            raise
        return reservation

    # ------------------------------------------------------------------------------------------ update

    def allocate_update(self, service: dict, old: dict) -> Reservation:
        reservation = Reservation(_allocations=self)
        spec, old_spec = service["spec"], old.get("spec") or {}
        try:
            self._init_ip_families(service, spec, old_spec)
            had_ip = _needs_cluster_ip(old_spec) and bool(old_spec.get("clusterIPs"))
            if _needs_cluster_ip(spec) and not had_ip:
                self._allocate_cluster_ip(service, spec, reservation)
            elif had_ip and not _needs_cluster_ip(spec):
                reservation.release_ips += old_spec.get("clusterIPs") or []
            old_ports = node_ports_of(old_spec)
            self._allocate_node_ports(service, spec, old_ports, reservation)
            reservation.release_ports += [p for p in old_ports if p not in node_ports_of(spec)]
        except StatusError:
            reservation.revert()
            raise
        return reservation

    def release(self, service: dict) -> None:
        spec = service.get("spec") or {}
        for ip in spec.get("clusterIPs") or []:
            if ip != "None":
                self.ips.release(ip)
        for port in node_ports_of(spec):
            self.ports.release(port)

    # ------------------------------------------------------------------------------------------ pieces

    def _init_ip_families(self, service: dict, spec: dict, old_spec: dict | None = None) -> None:
        """initIPFamilyFields for a single-stack cluster."""
        if spec.get("type") == "ExternalName":
            return
        name = service["metadata"]["name"]
        if spec.get("ipFamilyPolicy") is None:
            headless_selectorless = (spec.get("clusterIPs") or [None])[0] == "None" and not spec.get("selector")
            inherited = (old_spec or {}).get("ipFamilyPolicy")
            spec["ipFamilyPolicy"] = inherited or ("RequireDualStack" if headless_selectorless else "SingleStack")
        family = self.ips.family
        if (spec.get("clusterIPs") or [None])[0] == "None" and not spec.get("selector"):
            # Headless selectorless Services may name both families even on a single-stack cluster.
            families = spec.get("ipFamilies") or [family]
            if len(families) < 2 and spec["ipFamilyPolicy"] != "SingleStack":
                families = families + ["IPv6" if families[0] == "IPv4" else "IPv4"]
            spec["ipFamilies"] = families
            return
        errors: list[FieldError] = []
        if spec["ipFamilyPolicy"] == "RequireDualStack":
            errors.append(invalid("spec.ipFamilyPolicy", "RequireDualStack", "this cluster is not configured for dual-stack services"))
        for i, requested in enumerate(spec.get("ipFamilies") or []):
            if requested != family:
                errors.append(invalid(f"spec.ipFamilies[{i}]", requested, "not configured on this cluster"))
        if errors:
            raise Invalid("Service", name, errors)
        spec["ipFamilies"] = [family]

    def _allocate_cluster_ip(self, service: dict, spec: dict, reservation: Reservation) -> None:
        wanted = (spec.get("clusterIPs") or [spec.get("clusterIP") or ""])[0]
        if wanted:
            _as_invalid(service, "spec.clusterIPs", spec.get("clusterIPs") or [wanted],
                        lambda: self.ips.allocate(wanted), prefix=f"failed to allocate IP {wanted}: ")
            ip = wanted
        else:
            ip = _internal(lambda: self.ips.allocate_next(), "failed to allocate a serviceIP")
        reservation.ips.append(ip)
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]

    def _allocate_node_ports(self, service: dict, spec: dict, old_ports: list[int], reservation: Reservation) -> None:
        by_service_port: dict[int, int] = {}  # ports with one number share a nodePort across protocols
        for i, port in enumerate(spec.get("ports") or []):
            if not port.get("nodePort") and not _needs_node_ports(spec):
                continue
            requested = port.get("nodePort") or by_service_port.get(port.get("port"))
            if not requested:
                requested = next((p.get("nodePort") for p in spec["ports"] if p.get("port") == port.get("port") and p.get("nodePort")), None)
            if requested:
                if requested not in old_ports and requested not in reservation.ports:
                    _as_invalid(service, f"spec.ports[{i}].nodePort", requested, lambda: self.ports.allocate(requested))
                    reservation.ports.append(requested)
                port["nodePort"] = requested
            else:
                port["nodePort"] = _internal(lambda: self.ports.allocate_next(), "failed to allocate a nodePort")
                reservation.ports.append(port["nodePort"])
            by_service_port[port.get("port")] = port["nodePort"]
        self._allocate_health_check_port(service, spec, old_ports, reservation)

    def _allocate_health_check_port(self, service: dict, spec: dict, old_ports: list[int], reservation: Reservation) -> None:
        if not _needs_health_check_port(spec):
            spec.pop("healthCheckNodePort", None)
            return
        requested = spec.get("healthCheckNodePort")
        if requested:
            if requested not in old_ports:
                _as_invalid(service, "spec.healthCheckNodePort", requested, lambda: self.ports.allocate(requested))
                reservation.ports.append(requested)
        else:
            spec["healthCheckNodePort"] = _internal(lambda: self.ports.allocate_next(), "failed to allocate a HealthCheck NodePort")
            reservation.ports.append(spec["healthCheckNodePort"])


def _as_invalid(service: dict, path: str, value: object, attempt: Callable[[], object], prefix: str = "") -> None:
    try:
        attempt()
    except AllocationError as exc:
        raise Invalid("Service", service["metadata"]["name"], [invalid(path, value, prefix + str(exc))]) from None


def _internal(attempt: Callable[[], object], what: str):
    try:
        return attempt()
    except AllocationError as exc:
        raise StatusError(f"Internal error occurred: {what}: {exc}") from None


def _ignore(attempt: Callable[[], object]) -> None:
    try:
        attempt()
    except AllocationError:
        pass  # a stored value outside today's range, or a duplicate: the repair loop logs and skips it
