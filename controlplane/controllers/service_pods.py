"""What the EndpointSlice and Endpoints controllers share: which pods back which Service, and on what ports.

`ServiceBackedController` turns Service and Pod events into Service keys through a selector index, and
remembers which Services each pod was last counted in, so a pod whose labels change or that disappears
still updates the Services it left.
"""

from __future__ import annotations

from controlplane.controllers.base import Controller, Key
from controlplane.objects import is_terminating, labels_of, pod_is_ready
from controlplane.selectors import Selector
from controlplane.watch import DELETED, WatchEvent


def selects_pods(service: dict) -> bool:
    """Only Services with a selector get managed endpoints; ExternalName has none."""
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def pod_is_endpoint(pod: dict) -> bool:
    """ShouldPodBeInEndpoints (terminating pods included): has an IP and has not finished."""
    status = pod.get("status") or {}
    return bool(status.get("podIP")) and status.get("phase") not in ("Succeeded", "Failed")


def endpoint_conditions(service: dict, pod: dict) -> dict:
    """ready/serving/terminating as the EndpointSlice controller sets them."""
    serving = pod_is_ready(pod)
    terminating = is_terminating(pod)
    ready = bool(service["spec"].get("publishNotReadyAddresses")) or (serving and not terminating)
    return {"ready": ready, "serving": serving, "terminating": terminating}


def find_port(pod: dict, service_port: dict) -> int | None:
    """podutil.FindPort: a numeric targetPort as is; a named one from the pod's container ports."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    protocol = service_port.get("protocol", "TCP")
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return port.get("containerPort")
    return None


def endpoint_ports(service: dict, pod: dict) -> tuple[tuple, ...]:
    """The pod's ports for the Service, named as the Service ports; unresolvable ports are left out."""
    ports = []
    for service_port in service["spec"].get("ports") or []:
        number = find_port(pod, service_port)
        if number is not None:
            ports.append((service_port.get("name", ""), number, service_port.get("protocol", "TCP"),
                          service_port.get("appProtocol")))
    return tuple(sorted(ports, key=lambda p: (p[0], p[1], p[2])))


def port_dicts(ports: tuple[tuple, ...]) -> list[dict]:
    result = []
    for name, number, protocol, app_protocol in ports:
        port = {"name": name, "port": number, "protocol": protocol}
        if app_protocol:
            port["appProtocol"] = app_protocol
        result.append(port)
    return result


def target_ref(pod: dict) -> dict:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"], "uid": meta.get("uid", "")}


class ServiceBackedController(Controller):
    kinds = ("Service", "Pod")

    def __init__(self, registry, clock=None):
        super().__init__(registry, clock)
        self._selectors: dict[Key, Selector] = {}
        self._by_pair: dict[tuple[str, str, str], set[Key]] = {}
        self._pod_services: dict[Key, set[Key]] = {}

    def initial_keys(self):
        keys = []
        for service in self.cache.list("Service"):
            key = (service["metadata"]["namespace"], service["metadata"]["name"])
            self._index_service(key, service)
            keys.append(key)
        return keys

    def keys_for(self, event: WatchEvent) -> list[Key]:
        key = (event.namespace, event.name)
        if event.kind == "Service":
            self._index_service(key, None if event.type == DELETED else event.object)
            return [key]
        if event.kind == "Pod":
            previous = self._pod_services.pop(key, set())
            current = set() if event.type == DELETED else self.services_for_pod(event.object)
            if current:
                self._pod_services[key] = current
            return sorted(previous | current)
        return []

    def services_for_pod(self, pod: dict) -> set[Key]:
        namespace = pod["metadata"]["namespace"]
        labels = labels_of(pod)
        candidates = set()
        for pair in labels.items():
            candidates |= self._by_pair.get((namespace, *pair), set())
        return {key for key in candidates if self._selectors[key].matches(labels)}

    def pods_for(self, service: dict) -> list[dict]:
        selector = Selector.from_set(service["spec"].get("selector"))
        return self.cache.list("Pod", service["metadata"]["namespace"], selector)

    def _index_service(self, key: Key, service: dict | None) -> None:
        old = self._selectors.pop(key, None)
        if old is not None:
            for pair in old.equality_pairs():
                self._by_pair.get((key[0], *pair), set()).discard(key)
        if service is not None and selects_pods(service):
            selector = Selector.from_set(service["spec"]["selector"])
            self._selectors[key] = selector
            for pair in selector.equality_pairs():
                self._by_pair.setdefault((key[0], *pair), set()).add(key)
