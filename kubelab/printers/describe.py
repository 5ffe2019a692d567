"""`describe` as kubectl's describers write it (k8s.io/kubectl/pkg/describe/describe.go).

Each describer writes tab-separated lines at indent levels; the whole text then goes through one tabwriter
(minwidth 0, padding 2), which aligns each run of lines separately. Related objects (a Deployment's
ReplicaSets, a Service's Endpoints, a ReplicaSet's pods) are fetched through the client. kubelab records no
Events, so every describer ends with `Events: <none>` as kubectl prints for an object without any.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Callable

from controlplane.apiserver.duration import human_duration
from controlplane.apiserver.resources import by_kind
from controlplane.apiserver.tables import format_endpoints, format_labels, selector_string
from controlplane.objects import parse_rfc3339, wall_clock
from kubelab.client import ApiError
from kubelab.printers.table import tabwrite_text

SKIPPED_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}
_MAX_ANNOTATION = 140


class Writer:
    """kubectl's PrefixWriter: lines at indent levels of two spaces."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.lines.append("  " * level + text)

    def text(self) -> str:
        return tabwrite_text("".join(self.lines))


def rfc1123z(timestamp: str | None) -> str:
    """Go's time.RFC1123Z, e.g. `Sat, 28 Nov 2026 04:40:09 +0000`."""
    if not timestamp:
        return ""
    when = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return when.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _multiline(w: Writer, level: int, title: str, pairs: dict, skip: set[str] = frozenset()) -> None:
    """printLabelsMultiline / printAnnotationsMultiline: first pair beside the title, the rest below it."""
    shown = {k: v for k, v in (pairs or {}).items() if k not in skip}
    if not shown:
        w.write(level, f"{title}:\t<none>\n")
        return
    separator = ": " if title == "Annotations" else "="
    for index, key in enumerate(sorted(shown)):
        value = shown[key]
        if title == "Annotations" and len(value) > _MAX_ANNOTATION:
            value = value[:_MAX_ANNOTATION] + "..."
        pair = f"{key}{separator}{value}"
        w.write(level, f"{title}:\t{pair}\n" if index == 0 else f"\t{pair}\n")


def _meta_head(w: Writer, obj: dict, namespaced: bool = True) -> None:
    meta = obj["metadata"]
    w.write(0, f"Name:\t{meta['name']}\n")
    if namespaced:
        w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")


def _labels_and_annotations(w: Writer, obj: dict, level: int = 0) -> None:
    meta = obj.get("metadata") or {}
    _multiline(w, level, "Labels", meta.get("labels"))
    _multiline(w, level, "Annotations", meta.get("annotations"), SKIPPED_ANNOTATIONS)


def _events(w: Writer) -> None:
    w.write(0, "Events:\t<none>\n")


# ---------------------------------------------------------------------------------------------- containers


def _ports(container: dict) -> tuple[str, str]:
    ports = container.get("ports") or []
    if not ports:
        return "<none>", "<none>"
    return (", ".join(f"{p['containerPort']}/{p.get('protocol', 'TCP')}" for p in ports),
            ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol', 'TCP')}" for p in ports))


def _containers(w: Writer, spec: dict, statuses: list[dict] | None, in_template: bool) -> None:
    """describeContainers: a template's list sits one level in, its names one space further; the
    containers' fields are at the same depth either way."""
    by_name = {s.get("name"): s for s in statuses or []}
    w.write(1 if in_template else 0, "Containers:\n")
    for container in spec.get("containers") or []:
        status = by_name.get(container["name"]) if statuses is not None else None
        w.write(1, f"{' ' if in_template else ''}{container['name']}:\n")
        inner = 2
        if status is not None:
            w.write(inner, f"Container ID:\t{status.get('containerID', '')}\n")
        w.write(inner, f"Image:\t{container.get('image', '')}\n")
        if status is not None:
            w.write(inner, f"Image ID:\t{status.get('imageID', '')}\n")
        ports, host_ports = _ports(container)
        plural = "s" if len(container.get("ports") or []) > 1 else ""
        w.write(inner, f"Port{plural}:\t{ports}\n")
        w.write(inner, f"Host Port{plural}:\t{host_ports}\n")
        for field, title in (("command", "Command"), ("args", "Args")):
            if container.get(field):
                w.write(inner, f"{title}:\n")
                for word in container[field]:
                    w.write(inner + 1, f"{word}\n")
        if status is not None:
            _container_state(w, inner, status)
        _environment(w, inner, container.get("env") or [])
        w.write(inner, "Mounts:\t<none>\n")


def _container_state(w: Writer, level: int, status: dict) -> None:
    _state(w, level, "State", status.get("state") or {})
    if ((status.get("lastState") or {}).get("terminated")):
        _state(w, level, "Last State", status["lastState"])
    w.write(level, f"Ready:\t{'True' if status.get('ready') else 'False'}\n")
    w.write(level, f"Restart Count:\t{status.get('restartCount', 0)}\n")


def _state(w: Writer, level: int, title: str, state: dict) -> None:
    if state.get("running") is not None:
        w.write(level, f"{title}:\tRunning\n")
        w.write(level + 1, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("terminated") is not None:
        done = state["terminated"]
        w.write(level, f"{title}:\tTerminated\n")
        if done.get("reason"):
            w.write(level + 1, f"Reason:\t{done['reason']}\n")
        if done.get("message"):
            w.write(level + 1, f"Message:\t{done['message']}\n")
        w.write(level + 1, f"Exit Code:\t{done.get('exitCode', 0)}\n")
        if done.get("signal"):
            w.write(level + 1, f"Signal:\t{done['signal']}\n")
        w.write(level + 1, f"Started:\t{rfc1123z(done.get('startedAt'))}\n")
        w.write(level + 1, f"Finished:\t{rfc1123z(done.get('finishedAt'))}\n")
    else:
        w.write(level, f"{title}:\tWaiting\n")
        reason = (state.get("waiting") or {}).get("reason")
        if reason:
            w.write(level + 1, f"Reason:\t{reason}\n")


def _environment(w: Writer, level: int, env: list[dict]) -> None:
    if not env:
        w.write(level, "Environment:\t<none>\n")
        return
    w.write(level, "Environment:\n")
    for var in env:
        w.write(level + 1, f"{var['name']}:\t{var.get('value', '')}\n")


def _pod_spec_tail(w: Writer, level: int, spec: dict) -> None:
    w.write(level, "Volumes:\t<none>\n")


def _node_selectors_and_tolerations(w: Writer, level: int, spec: dict) -> None:
    w.write(level, f"Node-Selectors:\t{format_labels(spec.get('nodeSelector'))}\n")
    tolerations = spec.get("tolerations") or []
    if not tolerations:
        w.write(level, "Tolerations:\t<none>\n")
        return
    for index, t in enumerate(tolerations):
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("key"):
            text = "op=Exists"
        w.write(level, f"Tolerations:\t{text}\n" if index == 0 else f"\t{text}\n")


def pod_template(w: Writer, level: int, template: dict) -> None:
    """DescribePodTemplate."""
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    _multiline(w, level, "Labels", meta.get("labels"))
    if meta.get("annotations"):
        _multiline(w, level, "Annotations", meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.write(level, f"Service Account:\t{spec['serviceAccountName']}\n")
    _containers(w, spec, None, in_template=True)
    _pod_spec_tail(w, level, spec)
    _node_selectors_and_tolerations(w, level, spec)


def pod_template_text(template: dict) -> str:
    """What `rollout history --revision=N` prints under its title."""
    w = Writer()
    w.write(0, "Pod Template:\n")
    pod_template(w, 1, template)
    return w.text()


# ---------------------------------------------------------------------------------------------- kinds


def describe_pod(client, pod: dict) -> str:
    w = Writer()
    spec, status, meta = pod.get("spec") or {}, pod.get("status") or {}, pod["metadata"]
    _meta_head(w, pod)
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("serviceAccountName"):
        w.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    node = spec.get("nodeName")
    w.write(0, f"Node:\t{node + '/' + status.get('hostIP', '') if node else '<none>'}\n")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{rfc1123z(status['startTime'])}\n")
    _labels_and_annotations(w, pod)
    if meta.get("deletionTimestamp"):
        w.write(0, f"Status:\tTerminating (lasts {_since(meta['deletionTimestamp'])})\n")
        w.write(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 0)}s\n")
    else:
        w.write(0, f"Status:\t{status.get('phase', '')}\n")
    for field, title in (("reason", "Reason"), ("message", "Message")):
        if status.get(field):
            w.write(0, f"{title}:\t{status[field]}\n")
    w.write(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or []
    if ips:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip', '')}\n")
    else:
        w.write(0, "IPs:\t<none>\n")
    _controlled_by(w, pod)
    _containers(w, spec, status.get("containerStatuses") or [], in_template=False)
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\n")
        for condition in conditions:
            w.write(1, f"{condition.get('type')} \t{condition.get('status')} \n")
    _pod_spec_tail(w, 0, spec)
    w.write(0, f"QoS Class:\t{status.get('qosClass', '')}\n")
    _node_selectors_and_tolerations(w, 0, spec)
    _events(w)
    return w.text()


def _since(timestamp: str) -> str:
    return human_duration(wall_clock() - parse_rfc3339(timestamp))


def _controlled_by(w: Writer, obj: dict) -> None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            w.write(0, f"Controlled By:\t{ref.get('kind')}/{ref.get('name')}\n")


def describe_service(client, service: dict) -> str:
    w = Writer()
    spec, status = service.get("spec") or {}, service.get("status") or {}
    _meta_head(w, service)
    _labels_and_annotations(w, service)
    w.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    w.write(0, f"IPs:\t{','.join(spec.get('clusterIPs') or []) or '<none>'}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("loadBalancerIP"):
        w.write(0, f"IP:\t{spec['loadBalancerIP']}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        w.write(0, f"LoadBalancer Ingress:\t{', '.join(i.get('ip') or i.get('hostname', '') for i in ingress)}\n")
    endpoints = _get_or_none(client, "Endpoints", service["metadata"]["namespace"], service["metadata"]["name"])
    for port in spec.get("ports") or []:
        _service_port(w, port, endpoints)
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', '')}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    if spec.get("healthCheckNodePort"):
        w.write(0, f"HealthCheck NodePort:\t{spec['healthCheckNodePort']}\n")
    _events(w)
    return w.text()


def _service_port(w: Writer, port: dict, endpoints: dict | None) -> None:
    name, protocol = port.get("name") or "<unset>", port.get("protocol", "TCP")
    w.write(0, f"Port:\t{name}\t{port.get('port')}/{protocol}\n")
    w.write(0, f"TargetPort:\t{port.get('targetPort')}/{protocol}\n")
    if port.get("nodePort"):
        w.write(0, f"NodePort:\t{name}\t{port['nodePort']}/{protocol}\n")
    w.write(0, f"Endpoints:\t{_endpoints_for_port(endpoints, port.get('name', ''))}\n")


def _endpoints_for_port(endpoints: dict | None, port_name: str) -> str:
    """formatEndpoints(endpoints, {port name}): only the subsets' ports with the service port's name."""
    if endpoints is None:
        return "<none>"
    subsets = []
    for subset in endpoints.get("subsets") or []:
        ports = [p for p in subset.get("ports") or [] if p.get("name", "") == port_name]
        if ports or not subset.get("ports"):
            subsets.append({**subset, "ports": ports} if subset.get("ports") else subset)
    return format_endpoints({"subsets": subsets}) if subsets else "<none>"


def describe_deployment(client, deployment: dict) -> str:
    w = Writer()
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    _meta_head(w, deployment)
    w.write(0, f"CreationTimestamp:\t{rfc1123z(deployment['metadata'].get('creationTimestamp'))}\n")
    _labels_and_annotations(w, deployment)
    w.write(0, f"Selector:\t{selector_string(deployment)}\n")
    w.write(0, f"Replicas:\t{spec.get('replicas', 0)} desired | {status.get('updatedReplicas', 0)} updated | "
               f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
               f"{status.get('unavailableReplicas', 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', '')}\n")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        w.write(0, f"RollingUpdateStrategy:\t{rolling.get('maxUnavailable')} max unavailable, "
                   f"{rolling.get('maxSurge')} max surge\n")
    w.write(0, "Pod Template:\n")
    pod_template(w, 1, spec.get("template") or {})
    _conditions(w, status.get("conditions") or [])
    old, new = _old_and_new_replica_sets(client, deployment)
    if old or new:
        w.write(0, f"OldReplicaSets:\t{_replica_sets_text(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_replica_sets_text([new] if new else [])}\n")
    _events(w)
    return w.text()


def _conditions(w: Writer, conditions: list[dict]) -> None:
    if not conditions:
        return
    w.write(0, "Conditions:\n")
    w.write(1, "Type\tStatus\tReason\n")
    w.write(1, "----\t------\t------\n")
    for c in conditions:
        w.write(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")


def _old_and_new_replica_sets(client, deployment: dict) -> tuple[list[dict], dict | None]:
    """deploymentutil.GetAllReplicaSets: the one whose template is the Deployment's, and older ones with pods."""
    uid = deployment["metadata"]["uid"]
    listing = client.list(by_kind("ReplicaSet"), deployment["metadata"]["namespace"])
    owned = [rs for rs in listing.get("items") or []
             if any(r.get("uid") == uid and r.get("controller") for r in rs["metadata"].get("ownerReferences") or [])]
    new = next((rs for rs in owned if _same_template(rs["spec"]["template"], deployment["spec"]["template"])), None)
    old = [rs for rs in owned if rs is not new and (rs["spec"].get("replicas") or 0) != 0]
    return old, new


def _same_template(rs_template: dict, template: dict) -> bool:
    stripped = copy.deepcopy(rs_template)
    ((stripped.get("metadata") or {}).get("labels") or {}).pop("pod-template-hash", None)
    return stripped == template


def _replica_sets_text(replica_sets: list[dict]) -> str:
    texts = [f"{rs['metadata']['name']} ({(rs.get('status') or {}).get('replicas', 0)}/"
             f"{rs['spec'].get('replicas', 0)} replicas created)" for rs in replica_sets]
    return ", ".join(texts) or "<none>"


def describe_replicas(client, obj: dict) -> str:
    """ReplicaSet and ReplicationController."""
    w = Writer()
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    _meta_head(w, obj)
    if obj["kind"] == "ReplicationController":
        w.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    else:
        w.write(0, f"Selector:\t{selector_string(obj)}\n")
    _labels_and_annotations(w, obj)
    _controlled_by(w, obj)
    w.write(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 0)} desired\n")
    w.write(0, f"Pods Status:\t{_pod_phases(client, obj)}\n")
    w.write(0, "Pod Template:\n")
    pod_template(w, 1, spec.get("template") or {})
    _conditions(w, status.get("conditions") or [])
    _events(w)
    return w.text()


def _pod_phases(client, owner: dict) -> str:
    uid = owner["metadata"]["uid"]
    pods = client.list(by_kind("Pod"), owner["metadata"]["namespace"]).get("items") or []
    phases = [(p.get("status") or {}).get("phase") for p in pods
              if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
    counts = [phases.count(phase) for phase in ("Running", "Pending", "Succeeded", "Failed")]
    return "{} Running / {} Waiting / {} Succeeded / {} Failed".format(*counts)


def describe_namespace(client, namespace: dict) -> str:
    w = Writer()
    _meta_head(w, namespace, namespaced=False)
    _labels_and_annotations(w, namespace)
    w.write(0, f"Status:\t{(namespace.get('status') or {}).get('phase', '')}\n")
    return w.text()


def describe_endpoints(client, endpoints: dict) -> str:
    w = Writer()
    _meta_head(w, endpoints)
    _labels_and_annotations(w, endpoints)
    w.write(0, "Subsets:\n")
    for subset in endpoints.get("subsets") or []:
        ready = ",".join(a.get("ip", "") for a in subset.get("addresses") or []) or "<none>"
        not_ready = ",".join(a.get("ip", "") for a in subset.get("notReadyAddresses") or []) or "<none>"
        w.write(1, f"Addresses:\t{ready}\n")
        w.write(1, f"NotReadyAddresses:\t{not_ready}\n")
        if subset.get("ports"):
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for port in subset["ports"]:
                w.write(2, f"{port.get('name') or '<unset>'}\t{port.get('port')}\t{port.get('protocol', 'TCP')}\n")
        w.write(0, "\n")
    _events(w)
    return w.text()


def describe_node(client, node: dict) -> str:
    w = Writer()
    status, spec, meta = node.get("status") or {}, node.get("spec") or {}, node["metadata"]
    _meta_head(w, node, namespaced=False)
    roles = sorted(k.partition("/")[2] for k in meta.get("labels") or {} if k.startswith("node-role.kubernetes.io/"))
    w.write(0, f"Roles:\t{','.join(roles) or '<none>'}\n")
    _labels_and_annotations(w, node)
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    w.write(0, f"Taints:\t{'<none>' if not spec.get('taints') else spec['taints'][0].get('key')}\n")
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if status.get("addresses"):
        w.write(0, "Addresses:\n")
        for address in status["addresses"]:
            w.write(1, f"{address.get('type')}:\t{address.get('address')}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
        w.write(0, f"PodCIDRs:\t{','.join(spec.get('podCIDRs') or [spec['podCIDR']])}\n")
    pods = client.list(by_kind("Pod"), None, field_selector=f"spec.nodeName={meta['name']}").get("items") or []
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    if pods:
        w.write(1, "Namespace\tName\n")
        w.write(1, "---------\t----\n")
        for pod in pods:
            w.write(1, f"{pod['metadata']['namespace']}\t{pod['metadata']['name']}\n")
    _events(w)
    return w.text()


def describe_generic(client, obj: dict) -> str:
    w = Writer()
    info = by_kind(obj["kind"])
    _meta_head(w, obj, namespaced=bool(info and info.namespaced))
    _labels_and_annotations(w, obj)
    w.write(0, f"API Version:\t{obj.get('apiVersion', '')}\n")
    w.write(0, f"Kind:\t{obj.get('kind', '')}\n")
    _events(w)
    return w.text()


def _get_or_none(client, kind: str, namespace: str, name: str) -> dict | None:
    try:
        return client.get(by_kind(kind), namespace, name)
    except ApiError:
        return None


DESCRIBERS: dict[str, Callable] = {
    "Pod": describe_pod, "Service": describe_service, "Deployment": describe_deployment,
    "ReplicaSet": describe_replicas, "ReplicationController": describe_replicas,
    "Namespace": describe_namespace, "Endpoints": describe_endpoints, "Node": describe_node,
}


def describe(client, obj: dict) -> str:
    return DESCRIBERS.get(obj["kind"], describe_generic)(client, obj)
