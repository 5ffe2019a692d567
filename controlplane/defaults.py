"""Defaulting as the API server applies it before validation (pkg/apis/core/v1/defaults.go,
pkg/apis/apps/v1/defaults.go and the registry strategies' PrepareForCreate).

Every function mutates the object it is given; the registry hands it a private copy.
Service IP-family fields are filled by the allocators (they depend on the cluster's CIDRs).
"""

from __future__ import annotations

from typing import Callable

DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
DEFAULT_TERMINATION_GRACE_PERIOD = 30
DEFAULT_SESSION_AFFINITY_TIMEOUT = 10800  # 3 hours, core/v1 DefaultClientIPServiceAffinitySeconds


def apply_defaults(obj: dict) -> dict:
    defaulter = _DEFAULTERS.get(obj.get("kind", ""))
    if defaulter:
        defaulter(obj)
    return obj


# ---------------------------------------------------------------------------------------------- pods


def default_pod(pod: dict) -> None:
    default_pod_spec(pod.setdefault("spec", {}))
    status = pod.setdefault("status", {})
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", "BestEffort")


def default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_PERIOD)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        _default_container(container)


def _default_container(container: dict) -> None:
    container.setdefault("imagePullPolicy", _pull_policy(container.get("image", "")))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


def _pull_policy(image: str) -> str:
    # SetDefaults_Container: untagged or ':latest' images are always pulled.
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_template(template: dict | None) -> None:
    if isinstance(template, dict):
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        default_pod_spec(template.setdefault("spec", {}))


# ---------------------------------------------------------------------------------------------- workloads


def default_replication_controller(rc: dict) -> None:
    spec = rc.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    # SetDefaults_ReplicationController: an RC without selector/labels takes the template's labels.
    if template_labels:
        if not spec.get("selector"):
            spec["selector"] = dict(template_labels)
        if not rc.setdefault("metadata", {}).get("labels"):
            rc["metadata"]["labels"] = dict(template_labels)
    _default_template(spec.get("template"))
    rc.setdefault("status", {}).setdefault("replicas", 0)


def default_replica_set(rs: dict) -> None:
    spec = rs.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_template(spec.get("template"))
    rs.setdefault("status", {}).setdefault("replicas", 0)


def default_deployment(deployment: dict) -> None:
    spec = deployment.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    spec.setdefault("progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE_SECONDS)
    _default_template(spec.get("template"))
    deployment.setdefault("status", {})


# ---------------------------------------------------------------------------------------------- services


def default_service(service: dict) -> None:
    spec = service.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        client_ip = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
        client_ip.setdefault("timeoutSeconds", DEFAULT_SESSION_AFFINITY_TIMEOUT)
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    _sync_cluster_ip_fields(spec)
    service.setdefault("status", {}).setdefault("loadBalancer", {})


def _sync_cluster_ip_fields(spec: dict) -> None:
    # The Service strategy keeps clusterIP and clusterIPs[0] the same whichever one the user wrote.
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    elif spec.get("clusterIPs") and not spec.get("clusterIP"):
        spec["clusterIP"] = spec["clusterIPs"][0]


def default_endpoint_slice(slice_: dict) -> None:
    for port in slice_.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("name", "")


def default_endpoints(endpoints: dict) -> None:
    for subset in endpoints.get("subsets") or []:
        for port in subset.get("ports") or []:
            port.setdefault("protocol", "TCP")


def default_namespace(namespace: dict) -> None:
    name = namespace.get("metadata", {}).get("name", "")
    labels = namespace.setdefault("metadata", {}).setdefault("labels", {})
    if name:
        labels.setdefault("kubernetes.io/metadata.name", name)
    namespace.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    namespace.setdefault("status", {}).setdefault("phase", "Active")


_DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "Pod": default_pod,
    "ReplicationController": default_replication_controller,
    "ReplicaSet": default_replica_set,
    "Deployment": default_deployment,
    "Service": default_service,
    "EndpointSlice": default_endpoint_slice,
    "Endpoints": default_endpoints,
    "Namespace": default_namespace,
}
