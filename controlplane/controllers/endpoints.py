"""The legacy Endpoints controller (pkg/controller/endpoint): one `Endpoints` per selector Service,
named like it, as `kubectl get endpoints` shows. Ready pods go to `addresses`, not-ready ones to
`notReadyAddresses`, terminating ones nowhere (unless publishNotReadyAddresses); subsets with the same
ports are merged (endpoints.RepackSubsets).
"""

from __future__ import annotations

import copy

from controlplane.controllers.base import Key
from controlplane.controllers.service_pods import (ServiceBackedController, endpoint_ports, pod_is_endpoint,
                                                    port_dicts, selects_pods, target_ref)
from controlplane.errors import NotFound
from controlplane.objects import is_terminating, pod_is_ready


def desired_subsets(service: dict, pods: list[dict]) -> list[dict]:
    publish_all = bool(service["spec"].get("publishNotReadyAddresses"))
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for pod in pods:
        if not pod_is_endpoint(pod) or (is_terminating(pod) and not publish_all):
            continue
        ports = endpoint_ports(service, pod)
        if not ports:
            continue
        address = {"ip": pod["status"]["podIP"]}
        if pod["spec"].get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        address["targetRef"] = target_ref(pod)
        bucket = "addresses" if publish_all or pod_is_ready(pod) else "notReadyAddresses"
        groups.setdefault(ports, {"addresses": [], "notReadyAddresses": []})[bucket].append(address)
    subsets = []
    for ports in sorted(groups):
        subset = {k: sorted(v, key=lambda a: a["ip"]) for k, v in groups[ports].items() if v}
        subset["ports"] = port_dicts(ports)
        subsets.append(subset)
    return subsets


class EndpointsController(ServiceBackedController):
    name = "endpoints"
    kinds = ("Service", "Pod", "Endpoints")

    def keys_for(self, event):
        if event.kind == "Endpoints":
            return [(event.namespace, event.name)]
        return super().keys_for(event)

    def sync(self, key: Key) -> None:
        namespace, name = key
        service = self.cache.get("Service", namespace, name)
        current = self.cache.get("Endpoints", namespace, name)
        if service is None:
            if current is not None:
                self._delete(namespace, name)
            return
        if not selects_pods(service):
            return  # selectorless Services' Endpoints belong to whoever writes them
        subsets = desired_subsets(service, self.pods_for(service))
        labels = dict(service["metadata"].get("labels") or {})
        if current is None:
            self.registry.create({"apiVersion": "v1", "kind": "Endpoints",
                                  "metadata": {"name": name, "namespace": namespace, "labels": labels},
                                  "subsets": subsets})
        elif (current.get("subsets") or []) != subsets or (current["metadata"].get("labels") or {}) != labels:
            updated = copy.deepcopy(current)
            updated["subsets"] = subsets
            updated["metadata"]["labels"] = labels
            self.registry.update(updated)

    def _delete(self, namespace: str, name: str) -> None:
        try:
            self.registry.delete("Endpoints", name, namespace)
        except NotFound:
            pass
