"""Services and EndpointSlices (Kubernetes JSON shape) -> the values the renderer works on.

Mirrors upstream's pkg/proxy/serviceport.go (newBaseServiceInfo), servicechangetracker.go and
endpointslicecache.go: which services get rules at all, which fields count, how endpoints from several
slices merge. IPv4 only (kube-proxy runs one proxier per IP family; kubelab's cluster is IPv4).
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from kubeproxy import names

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800  # v1.DefaultClientIPServiceAffinitySeconds

# (namespace, service name, port name, protocol): upstream's ServicePortName.
PortKey = tuple[str, str, str, str]
ServiceName = tuple[str, str]


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.strip()).version == 4
    except ValueError:
        return False


def port_name_string(namespace: str, name: str, port: str) -> str:
    """ServicePortName.String(): "ns/name", plus ":port" for a named port."""
    return f"{namespace}/{name}:{port}" if port else f"{namespace}/{name}"


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, as kube-proxy sees it (upstream: BaseServicePortInfo)."""

    namespace: str
    name: str
    port_name: str
    protocol: str  # "TCP" / "UDP" / "SCTP"
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    lb_vips: tuple[str, ...] = ()
    lb_source_ranges: tuple[str, ...] = ()
    session_affinity: bool = False
    affinity_timeout: int = 0
    external_policy_local: bool = False
    internal_policy_local: bool = False
    health_check_node_port: int = 0

    @property
    def key(self) -> PortKey:
        return (self.namespace, self.name, self.port_name, self.protocol)

    @property
    def name_string(self) -> str:
        return port_name_string(self.namespace, self.name, self.port_name)

    @property
    def proto(self) -> str:
        return self.protocol.lower()

    @property
    def chain_hash(self) -> str:
        return names.port_proto_hash(self.name_string, self.proto)

    @property
    def externally_accessible(self) -> bool:
        return self.node_port != 0 or bool(self.lb_vips) or bool(self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        # Even with eTP Local, Cluster endpoints are needed to short-circuit pod/host traffic.
        return not self.internal_policy_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or (self.external_policy_local and self.externally_accessible)


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a service port (upstream: BaseEndpointInfo)."""

    ip: str
    port: int
    is_local: bool = False
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    zone_hints: frozenset[str] = field(default=frozenset())
    node_hints: frozenset[str] = field(default=frozenset())

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


# -- Services -------------------------------------------------------------------------------------------

def _cluster_ipv4(spec: dict) -> str | None:
    """GetClusterIPByFamily: the IPv4 entry of clusterIPs, else clusterIP if it is IPv4."""
    for ip in spec.get("clusterIPs") or [spec.get("clusterIP") or ""]:
        if _is_ipv4(ip):
            return ip.strip()
    return None


def _source_ranges(spec: dict) -> tuple[str, ...]:
    """IPv4 loadBalancerSourceRanges, trimmed and normalised; a zero CIDR means "allow all" (none)."""
    nets = []
    for text in spec.get("loadBalancerSourceRanges") or []:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if net.version == 4:
            nets.append(net)
    if any(n.prefixlen == 0 for n in nets):
        return ()
    return tuple(str(n) for n in nets)


def _lb_vips(status: dict) -> tuple[str, ...]:
    """Ingress IPs of VIP-like load balancers (ipMode unset or "VIP"); "Proxy" ones get no rules."""
    ingress = ((status or {}).get("loadBalancer") or {}).get("ingress") or []
    return tuple(i["ip"].strip() for i in ingress
                 if i.get("ip") and i.get("ipMode", "VIP") == "VIP" and _is_ipv4(i["ip"]))


def service_ports(service: dict) -> list[ServicePort]:
    """The service ports kube-proxy programs for `service`; none for headless and ExternalName ones."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    cluster_ip = _cluster_ipv4(spec)
    if svc_type == "ExternalName" or cluster_ip is None:  # ShouldSkipService
        return []
    external_ips = tuple(ip.strip() for ip in spec.get("externalIPs") or [] if _is_ipv4(ip))
    externally_typed = svc_type in ("NodePort", "LoadBalancer") or bool(spec.get("externalIPs"))
    etp_local = externally_typed and spec.get("externalTrafficPolicy") == "Local"
    affinity = spec.get("sessionAffinity") == "ClientIP"
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    health = (spec.get("healthCheckNodePort") or 0) if (svc_type == "LoadBalancer" and etp_local) else 0  # NeedsHealthCheck
    common = dict(
        namespace=meta.get("namespace") or "default", name=meta["name"], cluster_ip=cluster_ip,
        external_ips=external_ips, lb_vips=_lb_vips(service.get("status")),
        lb_source_ranges=_source_ranges(spec), session_affinity=affinity,
        affinity_timeout=int(timeout or DEFAULT_AFFINITY_TIMEOUT) if affinity else 0,
        external_policy_local=etp_local, internal_policy_local=spec.get("internalTrafficPolicy") == "Local",
        health_check_node_port=int(health))
    return [ServicePort(port_name=p.get("name") or "", protocol=p.get("protocol") or "TCP",
                        port=int(p["port"]), node_port=int(p.get("nodePort") or 0), **common)
            for p in spec.get("ports") or []]


# -- EndpointSlices -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SlicePort:
    name: str
    protocol: str
    port: int


@dataclass(frozen=True)
class ParsedSlice:
    """The parts of one EndpointSlice kube-proxy uses, with `is_local` resolved for one node."""

    service: ServiceName
    name: str
    ports: tuple[SlicePort, ...]
    endpoints: tuple[Endpoint, ...]  # port 0: the slice's ports are applied when merging


def slice_service(obj: dict) -> ServiceName | None:
    meta = obj.get("metadata") or {}
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return (meta.get("namespace") or "default", service) if service else None


def parse_slice(obj: dict, node_name: str) -> ParsedSlice | None:
    """None for slices kube-proxy ignores (no service label, not IPv4)."""
    service = slice_service(obj)
    if service is None or obj.get("addressType", "IPv4") != "IPv4":
        return None
    ports = tuple(
        # Upstream skips ports with a nil name; hand-written YAML often leaves the name out for the
        # (single) unnamed port, which the API would carry as "", so a missing name counts as "".
        SlicePort(p.get("name") or "", p.get("protocol") or "TCP", int(p["port"]))
        for p in obj.get("ports") or [] if p.get("port"))
    return ParsedSlice(service, obj["metadata"]["name"], ports,
                       tuple(_endpoint(e, node_name) for e in obj.get("endpoints") or [] if e.get("addresses")))


def _canonical_ip(text: str) -> str:
    """ParseIPSloppy(...).String() for IPv4, via the C parser (ipaddress is the costly part of big
    renders); anything unusual goes through ipaddress."""
    try:
        return socket.inet_ntoa(socket.inet_pton(socket.AF_INET, text))
    except OSError:
        return str(ipaddress.ip_address(text.strip()))


def _endpoint(e: dict, node_name: str) -> Endpoint:
    cond = e.get("conditions") or {}
    hints = e.get("hints") or {}
    return Endpoint(
        ip=_canonical_ip(e["addresses"][0]), port=0,
        is_local=bool(node_name) and e.get("nodeName") == node_name,
        ready=cond.get("ready") is not False,
        serving=cond.get("serving") is not False,
        terminating=cond.get("terminating") is True,
        zone_hints=frozenset(z["name"] for z in hints.get("forZones") or []),
        node_hints=frozenset(n["name"] for n in hints.get("forNodes") or []))


def merge_slices(slices: list[ParsedSlice]) -> dict[PortKey, list[Endpoint]]:
    """Endpoints per service port from all slices of one service, deduplicated and sorted by "ip:port".

    As endpointInfoByServicePort/addEndpoints upstream: an endpoint seen twice keeps its first copy
    unless a later one is not terminating (a reused pod IP prefers the running pod).
    """
    by_port: dict[PortKey, dict[str, Endpoint]] = {}
    for sl in sorted(slices, key=lambda s: s.name):
        for port in sl.ports:
            key = (sl.service[0], sl.service[1], port.name, port.protocol)
            found = by_port.setdefault(key, {})
            for ep in sl.endpoints:
                ep = Endpoint(ep.ip, port.port, ep.is_local, ep.ready, ep.serving, ep.terminating,
                              ep.zone_hints, ep.node_hints)
                text = str(ep)
                if text not in found or not ep.terminating:
                    found[text] = ep
    return {key: [found[k] for k in sorted(found)] for key, found in by_port.items() if found}
