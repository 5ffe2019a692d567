"""EndpointSlice controller (pkg/controller/endpointslice and the staging endpointslice reconciler).

For each Service with a selector: slices labelled `kubernetes.io/service-name` and managed-by this
controller, owned by the Service, at most 100 endpoints each, one group of slices per distinct port set
(a named targetPort can resolve differently per pod). `plan_slices` is the pure reconcile: it keeps
endpoints in the slice they already sit in, fills free room before creating slices, and deletes emptied
ones, so a change touches as few slices as possible (kube-proxy re-syncs per changed slice).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from controlplane.controllers.base import Key
from controlplane.controllers.service_pods import (ServiceBackedController, endpoint_conditions, endpoint_ports,
                                                    pod_is_endpoint, port_dicts, selects_pods, target_ref)
from controlplane.errors import NotFound
from controlplane.objects import is_controlled_by, owner_ref_to
from controlplane.selectors import Selector
from controlplane.watch import WatchEvent

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_ENDPOINTS_PER_SLICE = 100


@dataclass
class SlicePlan:
    create: list[dict] = field(default_factory=list)
    update: list[dict] = field(default_factory=list)
    delete: list[dict] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def desired_endpoints(service: dict, pods: list[dict], nodes: dict[str, dict]) -> dict[tuple, dict[str, dict]]:
    """Port set -> {address: endpoint} for the pods that back the Service."""
    groups: dict[tuple, dict[str, dict]] = {}
    for pod in pods:
        if not pod_is_endpoint(pod):
            continue
        ports = endpoint_ports(service, pod)
        if service["spec"].get("ports") and not ports:
            continue
        ip = pod["status"]["podIP"]
        endpoint = {"addresses": [ip], "conditions": endpoint_conditions(service, pod)}
        node_name = pod["spec"].get("nodeName")
        if node_name:
            endpoint["nodeName"] = node_name
            zone = ((nodes.get(node_name) or {}).get("metadata", {}).get("labels") or {}).get(ZONE_LABEL)
            if zone:
                endpoint["zone"] = zone
        endpoint["targetRef"] = target_ref(pod)
        groups.setdefault(ports, {})[ip] = endpoint
    return groups


def slice_labels(service: dict) -> dict:
    labels = {k: v for k, v in (service["metadata"].get("labels") or {}).items()
              if k not in (SERVICE_NAME_LABEL, MANAGED_BY_LABEL)}
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    if (service["spec"].get("clusterIPs") or [None])[0] == "None":
        labels[HEADLESS_LABEL] = ""
    return labels


def new_slice(service: dict, ports: tuple, endpoints: list[dict]) -> dict:
    meta = service["metadata"]
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                     "labels": slice_labels(service), "ownerReferences": [owner_ref_to(service)]},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": port_dicts(ports),
    }


def _ports_key(slice_: dict) -> tuple:
    return tuple(sorted(((p.get("name", ""), p.get("port"), p.get("protocol", "TCP"), p.get("appProtocol"))
                         for p in slice_.get("ports") or []), key=lambda p: (p[0], p[1], p[2])))


def _by_address(endpoints: list[dict]) -> list[dict]:
    return sorted(endpoints, key=lambda e: e["addresses"][0])


def plan_slices(service: dict, existing: list[dict], desired: dict[tuple, dict[str, dict]],
                max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> SlicePlan:
    plan = SlicePlan()
    labels = slice_labels(service)
    if not desired:
        return _plan_placeholder(service, existing, labels)
    for slice_ in existing:
        if _ports_key(slice_) not in desired:
            plan.delete.append(slice_)
    for ports, wanted in desired.items():
        _plan_group(service, ports, dict(wanted), [s for s in existing if _ports_key(s) == ports],
                    labels, max_per_slice, plan)
    return plan


def _plan_group(service: dict, ports: tuple, wanted: dict[str, dict], slices: list[dict], labels: dict,
                max_per_slice: int, plan: SlicePlan) -> None:
    kept: list[tuple[dict, list[dict]]] = []
    for slice_ in slices:
        endpoints = [wanted.pop(e["addresses"][0]) for e in slice_.get("endpoints") or [] if e["addresses"][0] in wanted]
        kept.append((slice_, endpoints))
    leftovers = _by_address(list(wanted.values()))
    for slice_, endpoints in kept:
        room = max_per_slice - len(endpoints)
        if room > 0 and leftovers:
            endpoints += leftovers[:room]
            leftovers = leftovers[room:]
        if not endpoints:
            plan.delete.append(slice_)
        elif _by_address(endpoints) != slice_.get("endpoints") or slice_["metadata"].get("labels") != labels:
            updated = copy.deepcopy(slice_)
            updated["endpoints"] = _by_address(endpoints)
            updated["metadata"]["labels"] = labels
            plan.update.append(updated)
    for start in range(0, len(leftovers), max_per_slice):
        plan.create.append(new_slice(service, ports, leftovers[start : start + max_per_slice]))


def _plan_placeholder(service: dict, existing: list[dict], labels: dict) -> SlicePlan:
    """With no endpoints upstream keeps one empty slice, so consumers can tell "none" from "not synced"."""
    plan = SlicePlan()
    placeholder = next((s for s in existing if not s.get("endpoints") and not s.get("ports")), None)
    plan.delete = [s for s in existing if s is not placeholder]
    if placeholder is None:
        plan.create.append(new_slice(service, (), []))
    elif placeholder["metadata"].get("labels") != labels:
        updated = copy.deepcopy(placeholder)
        updated["metadata"]["labels"] = labels
        plan.update.append(updated)
    return plan


class EndpointSliceController(ServiceBackedController):
    name = "endpointslice"
    kinds = ("Service", "Pod", "EndpointSlice", "Node")

    def keys_for(self, event: WatchEvent) -> list[Key]:
        if event.kind == "EndpointSlice":
            service = (event.object["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
            return [(event.namespace, service)] if service else []
        if event.kind == "Node":
            return []  # zones rarely change; the next pod or service event refreshes them
        return super().keys_for(event)

    def sync(self, key: Key) -> None:
        namespace, name = key
        service = self.cache.get("Service", namespace, name)
        if service is None or not selects_pods(service) or service["metadata"].get("deletionTimestamp"):
            return  # owned slices go with the Service (garbage collection)
        existing = [s for s in self.cache.list("EndpointSlice", namespace, Selector.from_set({SERVICE_NAME_LABEL: name}))
                    if (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == CONTROLLER_NAME
                    and is_controlled_by(s, service)]
        nodes = {n["metadata"]["name"]: n for n in self.cache.list("Node")}
        plan = plan_slices(service, existing, desired_endpoints(service, self.pods_for(service), nodes))
        self.apply(plan)

    def apply(self, plan: SlicePlan) -> None:
        for slice_ in plan.update:
            self.registry.update(slice_)
        for slice_ in plan.create:
            self.registry.create(slice_)
        for slice_ in plan.delete:
            try:
                self.registry.delete("EndpointSlice", slice_["metadata"]["name"], slice_["metadata"]["namespace"])
            except NotFound:
                pass
