"""Validation of core/v1 kinds (pkg/apis/core/validation/validation.go), messages as upstream."""

from __future__ import annotations

import json

from controlplane.errors import FieldError, GoLiteral, duplicate, forbidden, invalid, not_supported, required
from controlplane.selectors import Selector
from controlplane.validation import meta as metav
from controlplane.validation import names

PROTOCOLS = ["SCTP", "TCP", "UDP"]
RESTART_POLICIES = ["Always", "Never", "OnFailure"]
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
SESSION_AFFINITIES = ["ClientIP", "None"]
TRAFFIC_POLICIES = ["Cluster", "Local"]
IP_FAMILIES = ["IPv4", "IPv6"]
IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
MAX_SESSION_AFFINITY_TIMEOUT = 86400

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _meta(obj: dict, namespaced: bool, check: metav.NameCheck) -> list[FieldError]:
    return metav.object_meta(obj.get("metadata") or {}, namespaced=namespaced, name_check=check)


# ---------------------------------------------------------------------------------------------- simple kinds


def validate_namespace(ns: dict) -> list[FieldError]:
    return _meta(ns, False, names.dns1123_label)


def validate_node(node: dict) -> list[FieldError]:
    return _meta(node, False, names.dns1123_subdomain)


# ---------------------------------------------------------------------------------------------- pods


def validate_pod(pod: dict) -> list[FieldError]:
    return _meta(pod, True, names.dns1123_subdomain) + pod_spec(pod.get("spec") or {}, "spec")


def validate_pod_update(new: dict, old: dict) -> list[FieldError]:
    errors = metav.object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
    if _mutable_view(new.get("spec") or {}) != _mutable_view(old.get("spec") or {}):
        errors.append(forbidden("spec", POD_UPDATE_FORBIDDEN))
    return errors + validate_pod(new)


def _mutable_view(spec: dict) -> dict:
    """The spec with the fields a pod update may change blanked out."""
    view = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations")}
    for group in ("containers", "initContainers"):
        view[group] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get(group) or []]
    return view


def pod_spec(spec: dict, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    containers = spec.get("containers") or []
    if not containers:
        errors.append(required(f"{path}.containers"))
    seen: set[str] = set()
    for i, container in enumerate(containers):
        errors += _container(container, f"{path}.containers[{i}]", seen)
    policy = spec.get("restartPolicy")
    if policy not in RESTART_POLICIES:
        errors.append(not_supported(f"{path}.restartPolicy", policy, RESTART_POLICIES))
    errors += metav.labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    node_name = spec.get("nodeName")
    if node_name:
        errors += [invalid(f"{path}.nodeName", node_name, m) for m in names.dns1123_subdomain(node_name)]
    return errors


def _container(container: dict, path: str, seen_names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = container.get("name") or ""
    if not name:
        errors.append(required(f"{path}.name"))
    else:
        errors += [invalid(f"{path}.name", name, m) for m in names.dns1123_label(name)]
        if name in seen_names:
            errors.append(duplicate(f"{path}.name", name))
        seen_names.add(name)
    if not container.get("image"):
        errors.append(required(f"{path}.image"))
    port_names: set[str] = set()
    for i, port in enumerate(container.get("ports") or []):
        errors += _container_port(port, f"{path}.ports[{i}]", port_names)
    return errors


def _container_port(port: dict, path: str, seen_names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = port.get("name")
    if name:
        errors += [invalid(f"{path}.name", name, m) for m in names.port_name(name)]
        if name in seen_names:
            errors.append(duplicate(f"{path}.name", name))
        seen_names.add(name)
    number = port.get("containerPort")
    if number in (None, 0):
        errors.append(required(f"{path}.containerPort"))
    else:
        errors += [invalid(f"{path}.containerPort", number, m) for m in names.port_number(number)]
    if "hostPort" in port and port["hostPort"] not in (None, 0):
        errors += [invalid(f"{path}.hostPort", port["hostPort"], m) for m in names.port_number(port["hostPort"])]
    protocol = port.get("protocol")
    if protocol not in PROTOCOLS:
        errors.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    return errors


def pod_template(template: dict | None, path: str) -> list[FieldError]:
    if template is None:
        return [required(path)]
    template_meta = template.get("metadata") or {}
    return metav.labels(template_meta.get("labels"), f"{path}.metadata.labels") + pod_spec(
        template.get("spec") or {}, f"{path}.spec"
    )


def template_matches_selector(template: dict | None, selector: Selector, path: str) -> list[FieldError]:
    if template is None or selector.is_empty():
        return []
    template_labels = (template.get("metadata") or {}).get("labels") or {}
    if selector.matches(template_labels):
        return []
    return [invalid(f"{path}.metadata.labels", template_labels, "`selector` does not match template `labels`")]


def restart_always(template: dict | None, path: str) -> list[FieldError]:
    policy = ((template or {}).get("spec") or {}).get("restartPolicy")
    if template is None or policy == "Always":
        return []
    return [not_supported(f"{path}.spec.restartPolicy", policy, ["Always"])]


# ---------------------------------------------------------------------------------------------- RCs


def validate_replication_controller(rc: dict) -> list[FieldError]:
    spec = rc.get("spec") or {}
    errors = _meta(rc, True, names.dns1123_subdomain)
    errors += metav.non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    if not spec.get("selector"):
        errors.append(required("spec.selector"))
    errors += metav.non_negative(spec.get("replicas"), "spec.replicas")
    template = spec.get("template")
    errors += template_matches_selector(template, Selector.from_set(spec.get("selector")), "spec.template")
    errors += pod_template(template, "spec.template") + restart_always(template, "spec.template")
    return errors


# ---------------------------------------------------------------------------------------------- services


def validate_service(service: dict) -> list[FieldError]:
    spec = service.get("spec") or {}
    kind = spec.get("type")
    errors = _meta(service, True, names.dns1035_label)
    headless = (spec.get("clusterIPs") or [None])[0] == "None"
    ports = spec.get("ports") or []
    if not ports and not headless and kind != "ExternalName":
        errors.append(required("spec.ports"))
    errors += _service_type_rules(spec, kind, headless)
    port_names: set[str] = set()
    for i, port in enumerate(ports):
        errors += _service_port(port, f"spec.ports[{i}]", len(ports) > 1, port_names)
    if spec.get("selector") is not None:
        errors += metav.labels(spec.get("selector"), "spec.selector")
    errors += _session_affinity(spec)
    errors += _cluster_ips(spec)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        errors += [invalid(f"spec.externalIPs[{i}]", ip, m) for m in names.ip_address(ip)]
    if not kind:
        errors.append(required("spec.type"))
    elif kind not in SERVICE_TYPES:
        errors.append(not_supported("spec.type", kind, SERVICE_TYPES))
    errors += _node_ports(spec, kind)
    errors += _duplicate_ports(ports)
    errors += _traffic_policies(spec, kind)
    return errors


def _service_type_rules(spec: dict, kind: str | None, headless: bool) -> list[FieldError]:
    if kind in ("LoadBalancer", "NodePort") and headless:
        return [invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")]
    if kind != "ExternalName":
        return []
    errors = []
    for field in ("clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        if spec.get(field):
            errors.append(forbidden(f"spec.{field}", "may not be set for ExternalName services"))
    cname = (spec.get("externalName") or "").removesuffix(".")
    if not cname:
        errors.append(required("spec.externalName"))
    else:
        errors += [invalid("spec.externalName", cname, m) for m in names.dns1123_subdomain(cname)]
    return errors


def _service_port(port: dict, path: str, require_name: bool, seen_names: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    name = port.get("name") or ""
    if require_name and not name:
        errors.append(required(f"{path}.name"))
    elif name:
        errors += [invalid(f"{path}.name", name, m) for m in names.dns1123_label(name)]
        if name in seen_names:
            errors.append(duplicate(f"{path}.name", name))
        seen_names.add(name)
    errors += [invalid(f"{path}.port", port.get("port"), m) for m in names.port_number(port.get("port"))]
    protocol = port.get("protocol")
    if not protocol:
        errors.append(required(f"{path}.protocol"))
    elif protocol not in PROTOCOLS:
        errors.append(not_supported(f"{path}.protocol", protocol, PROTOCOLS))
    errors += port_number_or_name(port.get("targetPort"), f"{path}.targetPort")
    return errors


def port_number_or_name(value: object, path: str) -> list[FieldError]:
    """ValidatePortNumOrName: an int in 1-65535 or an IANA_SVC_NAME."""
    if isinstance(value, str):
        if not value:
            return [required(path)]
        return [invalid(path, value, m) for m in names.port_name(value)]
    return [invalid(path, value, m) for m in names.port_number(value)]


def _session_affinity(spec: dict) -> list[FieldError]:
    affinity = spec.get("sessionAffinity")
    if not affinity:
        return [required("spec.sessionAffinity")]
    if affinity not in SESSION_AFFINITIES:
        return [not_supported("spec.sessionAffinity", affinity, SESSION_AFFINITIES)]
    config = spec.get("sessionAffinityConfig")
    if affinity == "None":
        return [forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")] if config else []
    timeout = ((config or {}).get("clientIP") or {}).get("timeoutSeconds")
    path = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
    if timeout is None:
        return [required(path)]
    if not 0 < timeout <= MAX_SESSION_AFFINITY_TIMEOUT:
        return [invalid(path, timeout, f"must be greater than 0 and less than {MAX_SESSION_AFFINITY_TIMEOUT}")]
    return []


def _cluster_ips(spec: dict) -> list[FieldError]:
    errors: list[FieldError] = []
    ips = spec.get("clusterIPs") or []
    if spec.get("clusterIP") and ips and spec["clusterIP"] != ips[0]:
        errors.append(invalid("spec.clusterIPs", ips, "first value must match `clusterIP`"))
    for i, ip in enumerate(ips):
        if ip == "None" and i == 0:
            continue
        errors += [invalid(f"spec.clusterIPs[{i}]", ip, m) for m in names.ip_address(ip)]
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        errors.append(not_supported("spec.ipFamilyPolicy", policy, IP_FAMILY_POLICIES))
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family not in IP_FAMILIES:
            errors.append(not_supported(f"spec.ipFamilies[{i}]", family, IP_FAMILIES))
    return errors


def _node_ports(spec: dict, kind: str | None) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple] = set()
    for i, port in enumerate(spec.get("ports") or []):
        node_port = port.get("nodePort") or 0
        if not node_port:
            continue
        if kind == "ClusterIP":
            errors.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
        key = (port.get("protocol"), node_port)
        if key in seen:
            errors.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
        seen.add(key)
    return errors


def _duplicate_ports(ports: list[dict]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple] = set()
    for i, port in enumerate(ports):
        key = (port.get("protocol"), port.get("port"))
        if key in seen:
            # Upstream reports the core.ServicePort key it built, JSON-encoded.
            shown = {"Name": "", "Protocol": key[0], "AppProtocol": None, "Port": key[1], "TargetPort": 0, "NodePort": 0}
            errors.append(duplicate(f"spec.ports[{i}]", GoLiteral(json.dumps(shown, separators=(",", ":")))))
        seen.add(key)
    return errors


def _traffic_policies(spec: dict, kind: str | None) -> list[FieldError]:
    errors: list[FieldError] = []
    external = spec.get("externalTrafficPolicy")
    if kind not in ("NodePort", "LoadBalancer") and not spec.get("externalIPs"):
        if external:
            errors.append(invalid("spec.externalTrafficPolicy", external, "may only be set for externally-accessible services"))
    elif not external:
        errors.append(required("spec.externalTrafficPolicy"))
    elif external not in TRAFFIC_POLICIES:
        errors.append(not_supported("spec.externalTrafficPolicy", external, TRAFFIC_POLICIES))
    internal = spec.get("internalTrafficPolicy")
    if internal is None and kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        errors.append(required("spec.internalTrafficPolicy"))
    elif internal is not None and internal not in TRAFFIC_POLICIES:
        errors.append(not_supported("spec.internalTrafficPolicy", internal, TRAFFIC_POLICIES))
    if kind != "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not None:
        errors.append(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    return errors


def validate_service_update(new: dict, old: dict) -> list[FieldError]:
    errors = metav.object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
    errors += _cluster_ips_unchanged(new.get("spec") or {}, old.get("spec") or {})
    return errors + validate_service(new)


def _cluster_ips_unchanged(new: dict, old: dict) -> list[FieldError]:
    """validateUpgradeDowngradeClusterIPs, single-stack part: a set clusterIP never changes."""
    if "ExternalName" in (new.get("type"), old.get("type")):
        return []
    old_ips, new_ips = old.get("clusterIPs") or [], new.get("clusterIPs") or []
    if old_ips and not new_ips:
        return [invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset")]
    return [
        invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")
        for i, ip in enumerate(old_ips)
        if i < len(new_ips) and new_ips[i] != ip
    ]


# ---------------------------------------------------------------------------------------------- endpoints


def validate_endpoints(endpoints: dict) -> list[FieldError]:
    errors = _meta(endpoints, True, names.dns1123_subdomain)
    for s, subset in enumerate(endpoints.get("subsets") or []):
        for field in ("addresses", "notReadyAddresses"):
            for a, address in enumerate(subset.get(field) or []):
                path = f"subsets[{s}].{field}[{a}].ip"
                errors += [invalid(path, address.get("ip"), m) for m in names.ip_address(address.get("ip") or "")]
        for p, port in enumerate(subset.get("ports") or []):
            errors += [invalid(f"subsets[{s}].ports[{p}].port", port.get("port"), m) for m in names.port_number(port.get("port"))]
    return errors


def validate_endpoint_slice(slice_: dict) -> list[FieldError]:
    errors = _meta(slice_, True, names.dns1123_subdomain)
    address_type = slice_.get("addressType")
    if not address_type:
        errors.append(required("addressType"))
    elif address_type not in ADDRESS_TYPES:
        errors.append(not_supported("addressType", address_type, ADDRESS_TYPES))
    endpoints = slice_.get("endpoints") or []
    if len(endpoints) > 1000:
        errors.append(invalid("endpoints", len(endpoints), "must have at most 1000 items"))
    for i, endpoint in enumerate(endpoints):
        addresses = endpoint.get("addresses") or []
        if not 1 <= len(addresses) <= 100:
            errors.append(invalid(f"endpoints[{i}].addresses", addresses, "must contain at least 1 address but no more than 100"))
        if address_type in ("IPv4", "IPv6"):
            for a, address in enumerate(addresses):
                errors += [invalid(f"endpoints[{i}].addresses[{a}]", address, m) for m in names.ip_address(address)]
    for p, port in enumerate(slice_.get("ports") or []):
        if port.get("port") is not None:
            errors += [invalid(f"ports[{p}].port", port["port"], m) for m in names.port_number(port["port"])]
    return errors
