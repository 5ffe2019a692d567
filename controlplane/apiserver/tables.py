"""Server-side printing: objects -> meta.k8s.io/v1 Table, with the columns and cells kubectl shows.

Rows follow upstream's pkg/printers/internalversion/printers.go (printPod, printService, formatEndpoints,
...). Every cell is computed, wide ones included; priority-1 columns are what `-o wide` adds, so clients
hide them otherwise. Each row carries the object's metadata (PartialObjectMetadata) or the whole object
(`includeObject=Object`) so a client can add NAMESPACE or LABELS columns.
"""

from __future__ import annotations

from typing import Callable

from controlplane.apiserver.duration import age
from controlplane.selectors import Selector

Row = Callable[[dict, float], list]

_DESCRIPTIONS = {"Name": "Name must be unique within a namespace.", "Age": "CreationTimestamp is a timestamp "
                 "representing the server time when this object was created."}


def _column(name: str, type_: str = "string", priority: int = 0) -> dict:
    column = {"name": name, "type": type_, "format": "name" if name == "Name" else "", "priority": priority,
              "description": _DESCRIPTIONS.get(name, name)}
    return column


# ---------------------------------------------------------------------------------------------- shared cells


def _created(obj: dict, now: float) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _name(obj: dict) -> str:
    return obj["metadata"]["name"]


def format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def _containers_and_images(pod_spec: dict) -> list[str]:
    containers = pod_spec.get("containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def _template_spec(obj: dict) -> dict:
    return (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}


# ---------------------------------------------------------------------------------------------- pods


def pod_status_reason(pod: dict) -> tuple[str, int, int, int]:
    """printPod's STATUS, with the ready count, container count and restart count it computes on the way."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    ready = restarts = 0
    has_running = False
    for container in reversed(status.get("containerStatuses") or []):
        restarts += container.get("restartCount", 0)
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            signal = terminated.get("signal")
            reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
        elif container.get("ready") and state.get("running") is not None:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        ready_condition = any(c.get("type") == "Ready" and c.get("status") == "True"
                              for c in status.get("conditions") or [])
        reason = "Running" if ready_condition else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    total = len((pod.get("spec") or {}).get("containers") or [])
    return reason, ready, total, restarts


def _restarts(pod: dict, restarts: int, now: float) -> str:
    last = ""
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        finished = ((container.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or ""
        last = max(last, finished)
    if restarts and last:
        return f"{restarts} ({age(last, now)} ago)"
    return str(restarts)


def pod_ip(pod: dict) -> str:
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    return (ips[0].get("ip") if ips else status.get("podIP")) or ""


def _pod_row(pod: dict, now: float) -> list:
    reason, ready, total, restarts = pod_status_reason(pod)
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    gates = spec.get("readinessGates") or []
    return [_name(pod), f"{ready}/{total}", reason, _restarts(pod, restarts, now), _created(pod, now),
            pod_ip(pod) or "<none>", spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
            _readiness_gates(gates, status)]


def _readiness_gates(gates: list, status: dict) -> str:
    if not gates:
        return "<none>"
    true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"


# ---------------------------------------------------------------------------------------------- workloads


def _replica_row(obj: dict, now: float) -> list:
    """ReplicaSet and ReplicationController: DESIRED CURRENT READY AGE [CONTAINERS IMAGES SELECTOR]."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [_name(obj), spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0),
            _created(obj, now), *_containers_and_images(_template_spec(obj)), selector_string(obj)]


def _deployment_row(obj: dict, now: float) -> list:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [_name(obj), f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0), _created(obj, now),
            *_containers_and_images(_template_spec(obj)), selector_string(obj)]


def selector_string(obj: dict) -> str:
    """A workload's selector as `kubectl get -o wide` shows it (empty for an empty selector)."""
    selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "ReplicationController":
        return str(Selector.from_set(selector))
    return str(Selector.from_label_selector(selector)) if selector is not None else ""


# ---------------------------------------------------------------------------------------------- services


def service_port_string(ports: list[dict]) -> str:
    """makePortString: `80/TCP`, `8080:30001/TCP` with a node port, comma-separated."""
    pieces = []
    for port in ports or []:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def _load_balancer_ips(service: dict, wide: bool) -> str:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    text = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress if i.get("ip") or i.get("hostname"))
    if not wide and len(text) > 16:
        return text[:13] + "..."
    return text


def service_external_ip(service: dict, wide: bool = False) -> str:
    """getServiceExternalIP: `<none>`, `<pending>` for a LoadBalancer still waiting, or the addresses."""
    spec = service.get("spec") or {}
    external = list(spec.get("externalIPs") or [])
    kind = spec.get("type", "ClusterIP")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        lb = _load_balancer_ips(service, wide)
        results = (lb.split(",") if lb else []) + external
        return ",".join(results) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _service_row(service: dict, now: float) -> list:
    spec = service.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [_name(service), spec.get("type", "ClusterIP"), cluster_ips[0] if cluster_ips else "<none>",
            service_external_ip(service), service_port_string(spec.get("ports") or []) or "<none>",
            _created(service, now), format_labels(spec.get("selector"))]


def format_endpoints(endpoints: dict, max_shown: int = 3) -> str:
    """formatEndpoints: `ip:port,...`, the first three, then ` + N more...`; `<none>` without subsets."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    targets = []
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        if not subset.get("ports"):  # headless services may have no ports
            targets += addresses
        for port in subset.get("ports") or []:
            targets += [f"{_host(ip)}:{port.get('port')}" for ip in addresses]
    return _with_more(targets[:max_shown], len(targets), max_shown, empty="")


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip  # net.JoinHostPort brackets IPv6


def _endpoints_row(endpoints: dict, now: float) -> list:
    return [_name(endpoints), format_endpoints(endpoints), _created(endpoints, now)]


def _with_more(shown: list[str], count: int, max_shown: int, empty: str = "<unset>") -> str:
    """listWithMoreString: the first few, then ` + N more...`."""
    text = ",".join(shown)
    if count > max_shown:
        return f"{text} + {count - max_shown} more..."
    return text or empty


def _slice_row(slice_: dict, now: float) -> list:
    ports = [str(p["port"]) if p.get("port") is not None else (p.get("name") or "*")
             for p in slice_.get("ports") or []]
    addresses = [a for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    return [_name(slice_), slice_.get("addressType", ""), _with_more(ports[:3], len(ports), 3),
            _with_more(addresses[:3], len(addresses), 3), _created(slice_, now)]


# ---------------------------------------------------------------------------------------------- cluster


def _node_row(node: dict, now: float) -> list:
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    addresses = status.get("addresses") or []
    return [_name(node), _node_status(node), _node_roles(labels), _created(node, now),
            info.get("kubeletVersion", ""), _address(addresses, "InternalIP"), _address(addresses, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def _node_status(node: dict) -> str:
    ready = [c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
    states = []
    if ready:
        states.append({"True": "Ready", "False": "NotReady"}.get(ready[0].get("status"), "Unknown"))
    else:
        states.append("Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def _node_roles(labels: dict) -> str:
    roles = {k.partition("/")[2] for k in labels if k.startswith("node-role.kubernetes.io/") and k.partition("/")[2]}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(roles)) or "<none>"


def _address(addresses: list[dict], kind: str) -> str:
    return ",".join(a.get("address", "") for a in addresses if a.get("type") == kind) or "<none>"


def _namespace_row(ns: dict, now: float) -> list:
    return [_name(ns), (ns.get("status") or {}).get("phase", ""), _created(ns, now)]


# ---------------------------------------------------------------------------------------------- the table

_WORKLOAD_WIDE = [_column("Containers", priority=1), _column("Images", priority=1), _column("Selector", priority=1)]
_REPLICAS = [_column("Name"), _column("Desired", "integer"), _column("Current", "integer"),
             _column("Ready", "integer"), _column("Age"), *_WORKLOAD_WIDE]

PRINTERS: dict[str, tuple[list[dict], Row]] = {
    "Pod": ([_column("Name"), _column("Ready"), _column("Status"), _column("Restarts"), _column("Age"),
             _column("IP", priority=1), _column("Node", priority=1), _column("Nominated Node", priority=1),
             _column("Readiness Gates", priority=1)], _pod_row),
    "ReplicationController": (_REPLICAS, _replica_row),
    "ReplicaSet": (_REPLICAS, _replica_row),
    "Deployment": ([_column("Name"), _column("Ready"), _column("Up-to-date", "integer"),
                    _column("Available", "integer"), _column("Age"), *_WORKLOAD_WIDE], _deployment_row),
    "Service": ([_column("Name"), _column("Type"), _column("Cluster-IP"), _column("External-IP"),
                 _column("Port(s)"), _column("Age"), _column("Selector", priority=1)], _service_row),
    "Endpoints": ([_column("Name"), _column("Endpoints"), _column("Age")], _endpoints_row),
    "EndpointSlice": ([_column("Name"), _column("AddressType"), _column("Ports"), _column("Endpoints"),
                       _column("Age")], _slice_row),
    "Node": ([_column("Name"), _column("Status"), _column("Roles"), _column("Age"), _column("Version"),
              _column("Internal-IP", priority=1), _column("External-IP", priority=1),
              _column("OS-Image", priority=1), _column("Kernel-Version", priority=1),
              _column("Container-Runtime", priority=1)], _node_row),
    "Namespace": ([_column("Name"), _column("Status"), _column("Age")], _namespace_row),
}


def to_table(kind: str, objects: list[dict], now: float, *, resource_version: str = "", continue_token: str = "",
             include_object: str = "Metadata", with_headers: bool = True) -> dict:
    columns, row_of = PRINTERS[kind]
    table = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
             "metadata": {"resourceVersion": resource_version},
             "columnDefinitions": columns if with_headers else [],
             "rows": [{"cells": row_of(obj, now), "object": _row_object(obj, include_object)} for obj in objects]}
    if continue_token:
        table["metadata"]["continue"] = continue_token
    return table


def _row_object(obj: dict, include_object: str) -> dict | None:
    if include_object == "Object":
        return obj
    if include_object == "None":
        return None
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata") or {}}
