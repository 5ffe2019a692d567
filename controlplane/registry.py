"""The registry: what the API server, controllers and kubelet call to read and change objects.

Each write runs the API server's pipeline: fill server-set metadata, default, allocate (Services), validate,
store. A rejected object changes nothing: allocations are reverted and nothing is written. Deletion
follows the API server too: pods on a node terminate gracefully (deletionTimestamp, then the kubelet
deletes with grace 0), finalizers hold objects back, and dependents are garbage-collected by
ownerReference with the Background, Foreground or Orphan policy (see garbage.py).
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from typing import Callable, Iterable

from controlplane import garbage
from controlplane.allocators import ClusterIPAllocator, NodePortAllocator
from controlplane.defaults import apply_defaults
from controlplane.errors import BadRequest, Conflict, StatusError
from controlplane.naming import random_suffix
from controlplane.objects import KindInfo, is_terminating, kind_info, rfc3339, wall_clock
from controlplane.selectors import FieldSelector, Selector
from controlplane.service_alloc import Reservation, ServiceAllocations
from controlplane.store import Listing, Store
from controlplane.validation.objects import validate_create, validate_update
from controlplane.watch import Watch, WatchEvent

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Kinds whose main endpoint ignores status: only update_status (the /status subresource) changes it.
_STATUS_SUBRESOURCE = {"Namespace", "Node", "Pod", "ReplicationController", "ReplicaSet", "Deployment", "Service"}
_SERVER_SET_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


class NamespaceTerminating(StatusError):
    reason, code = "Forbidden", 403


class Registry:
    def __init__(self, store: Store, *, service_cidr: str = "10.96.0.0/16", node_port_range: str = "30000-32767",
                 clock: Callable[[], float] = wall_clock, rng: random.Random | None = None, bootstrap: bool = True):
        self.store = store
        self.clock = clock
        self.rng = rng or random.Random()
        self.allocations = ServiceAllocations(ClusterIPAllocator(service_cidr, self.rng),
                                              NodePortAllocator(node_port_range, self.rng))
        self._lock = threading.RLock()  # allocation + write must be atomic across API threads
        self.allocations.rebuild(store.list("Service").items)
        if bootstrap:
            self._bootstrap()

    def _bootstrap(self) -> None:
        for name in SYSTEM_NAMESPACES:
            if not self.store.exists("Namespace", "", name):
                self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        if not self.store.exists("Service", "default", "kubernetes"):
            self.create({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"clusterIP": self.allocations.ips.first_ip(),
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            })

    # ------------------------------------------------------------------------------------------ reads

    @property
    def resource_version(self) -> int:
        return self.store.resource_version

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict:
        info = kind_info(kind)
        return self.store.get(kind, self._namespace(info, namespace), name)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | Selector | None = None,
             field_selector: str | FieldSelector | None = None) -> Listing:
        """namespace=None lists every namespace; selectors accept kubectl's string syntax."""
        kind_info(kind)
        labels = Selector.parse(label_selector) if isinstance(label_selector, str) else label_selector
        fields = FieldSelector.parse(field_selector, kind) if isinstance(field_selector, str) else field_selector
        return self.store.list(kind, namespace, labels, fields)

    def watch(self, resource_version: int | str | None = None, kinds: Iterable[str] | None = None,
              namespace: str | None = None, label_selector: str | None = None) -> Watch:
        selector = Selector.parse(label_selector) if label_selector else None

        def accept(event: WatchEvent) -> bool:
            if namespace is not None and event.namespace != namespace:
                return False
            return selector is None or selector.matches(event.object.get("metadata", {}).get("labels"))

        return self.store.watch(resource_version, kinds, accept if (namespace is not None or selector) else None)

    # ------------------------------------------------------------------------------------------ create

    def create(self, obj: dict, namespace: str | None = None) -> dict:
        obj = copy.deepcopy(obj)
        info = self._check_kind(obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("resourceVersion"):
            raise BadRequest("resourceVersion should not be set on objects to be created")
        self._place(info, meta, namespace)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix(self.rng)
        for field in _SERVER_SET_META:
            meta.pop(field, None)
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=rfc3339(self.clock()), generation=1)
        apply_defaults(obj)
        with self._lock, self.store.batch():
            if info.namespaced:
                self._require_live_namespace(meta["namespace"])
            reservation = self.allocations.allocate_create(obj) if info.kind == "Service" else Reservation()
            return self._commit(reservation, lambda: (validate_create(obj), self.store.create(obj))[1])

    def apply(self, obj: dict, namespace: str | None = None) -> dict:
        """Create, or replace the spec of what exists (last writer wins): `kubectl apply` for tests and labs."""
        info = self._check_kind(obj)
        name = (obj.get("metadata") or {}).get("name", "")
        ns = self._namespace(info, namespace or (obj.get("metadata") or {}).get("namespace"))
        if not name or not self.store.exists(info.kind, ns, name):
            return self.create(obj, namespace)
        obj = copy.deepcopy(obj)
        obj["metadata"].pop("resourceVersion", None)
        return self.update(obj, namespace)

    # ------------------------------------------------------------------------------------------ update

    def update(self, obj: dict, namespace: str | None = None) -> dict:
        """Replace metadata and spec; status is kept (use update_status). Stale resourceVersion -> Conflict."""
        obj = copy.deepcopy(obj)
        info = self._check_kind(obj)
        meta = obj.setdefault("metadata", {})
        self._place(info, meta, namespace)
        with self._lock, self.store.batch():
            old = self.store.get(info.kind, meta.get("namespace", ""), meta.get("name", ""))
            self._carry_server_fields(obj, old)
            apply_defaults(obj)
            if obj.get("spec") != old.get("spec"):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            if info.kind == "Service":
                _keep_allocated_values(obj["spec"], old.get("spec") or {})
                reservation = self.allocations.allocate_update(obj, old)
            else:
                reservation = Reservation()
            stored = self._commit(reservation, lambda: (validate_update(obj, old), self.store.update(obj))[1])
            return self._finish_if_released(stored)

    def update_status(self, obj: dict, namespace: str | None = None) -> dict:
        """The /status subresource: only status changes; a resourceVersion in obj is still checked."""
        info = self._check_kind(obj)
        meta = obj.get("metadata") or {}
        with self._lock:
            current = self.store.get(info.kind, self._namespace(info, namespace or meta.get("namespace")), meta.get("name", ""))
            current["status"] = copy.deepcopy(obj.get("status") or {})
            current["metadata"]["resourceVersion"] = meta.get("resourceVersion") or current["metadata"]["resourceVersion"]
            return self.store.update(current)

    def bind(self, name: str, namespace: str, node_name: str) -> dict:
        """The pods/binding subresource the scheduler posts."""
        with self._lock:
            pod = self.store.get("Pod", namespace, name)
            bound = pod["spec"].get("nodeName")
            if bound:
                raise Conflict("pods", name, why=f'pod {name} is already assigned to node "{bound}"')
            if is_terminating(pod):
                raise Conflict("pods", name, why=f"pod {name} is being deleted, cannot be assigned to a host")
            pod["spec"]["nodeName"] = node_name
            conditions = [c for c in pod.setdefault("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": rfc3339(self.clock())})
            pod["status"]["conditions"] = conditions
            return self.store.update(pod)

    # ------------------------------------------------------------------------------------------ delete

    def delete(self, kind: str, name: str, namespace: str | None = None, *, propagation_policy: str | None = None,
               grace_period_seconds: int | None = None, resource_version: str | None = None) -> dict:
        """Delete with the API server's semantics. Returns the object as last seen (possibly terminating)."""
        info = kind_info(kind)
        policy = propagation_policy or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise BadRequest(f"propagationPolicy {policy!r} is not one of Background, Foreground, Orphan")
        with self._lock, self.store.batch():
            obj = self.store.get(kind, self._namespace(info, namespace), name)
            if resource_version and str(resource_version) != obj["metadata"]["resourceVersion"]:
                raise Conflict(info.resource, name, info.group, why="Precondition failed: resourceVersion mismatch")
            return garbage.delete_with_policy(self, obj, policy, grace_period_seconds)

    # ------------------------------------------------------------------------------------------ used by garbage.py

    def mark_deleting(self, obj: dict, grace_seconds: int, finalizer: str | None = None) -> dict:
        meta = obj["metadata"]
        if finalizer and finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = (meta.get("finalizers") or []) + [finalizer]
        current = meta.get("deletionGracePeriodSeconds")
        if not meta.get("deletionTimestamp") or (current is not None and grace_seconds < current):
            # A second, shorter delete brings the deadline forward, as upstream's graceful deletion does.
            meta["deletionTimestamp"] = rfc3339(self.clock() + grace_seconds)
            meta["deletionGracePeriodSeconds"] = grace_seconds
        if obj["kind"] == "Namespace":
            obj.setdefault("status", {})["phase"] = "Terminating"
        meta.pop("resourceVersion", None)
        return self.store.update(obj)

    def remove(self, obj: dict) -> dict:
        """Take an object out of the store for good, then let whoever waited on it move on."""
        kind, meta = obj["kind"], obj["metadata"]
        gone = self.store.delete(kind, meta.get("namespace", ""), meta["name"])
        if kind == "Service":
            self.allocations.release(gone)
        garbage.after_removal(self, gone)
        return gone

    def _finish_if_released(self, obj: dict) -> dict:
        """An update that dropped the last finalizer of a deleting object completes its deletion."""
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not meta.get("deletionGracePeriodSeconds"):
            if obj["kind"] != "Namespace" or not self.store.namespace_keys(meta["name"]):
                return self.remove(obj)
        return obj

    # ------------------------------------------------------------------------------------------ helpers

    def _commit(self, reservation: Reservation, write: Callable[[], dict]) -> dict:
        try:
            stored = write()
        except Exception:
            reservation.revert()
            raise
        reservation.commit()
        return stored

    @staticmethod
    def _check_kind(obj: dict) -> KindInfo:
        if not isinstance(obj, dict):
            raise BadRequest("an object must be a mapping")
        info = kind_info(obj.get("kind", ""))
        api_version = obj.setdefault("apiVersion", info.api_version)
        if api_version != info.api_version:
            raise BadRequest(f"no {info.kind} in version {api_version!r}; kubelab serves {info.api_version}")
        return info

    def _namespace(self, info: KindInfo, namespace: str | None) -> str:
        return (namespace or "default") if info.namespaced else ""

    def _place(self, info: KindInfo, meta: dict, namespace: str | None) -> None:
        if not info.namespaced:
            meta.pop("namespace", None)
            return
        if namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = meta.get("namespace") or namespace or "default"

    def _require_live_namespace(self, namespace: str) -> None:
        ns = self.store.get("Namespace", "", namespace)
        if is_terminating(ns):
            raise NamespaceTerminating(
                f"unable to create new content in namespace {namespace} because it is being terminated")

    @staticmethod
    def _carry_server_fields(obj: dict, old: dict) -> None:
        meta, old_meta = obj["metadata"], old["metadata"]
        for field in _SERVER_SET_META:
            if field in old_meta and field != "generation":
                meta[field] = old_meta[field]
            elif field != "generation":
                meta.pop(field, None)
        meta["generation"] = old_meta.get("generation", 1)
        if obj["kind"] in _STATUS_SUBRESOURCE:
            obj["status"] = copy.deepcopy(old.get("status") or {})


def _keep_allocated_values(spec: dict, old_spec: dict) -> None:
    """patchAllocatedValues: a replace that omits clusterIP or nodePorts keeps the allocated ones."""
    same_ip_needs = spec.get("type", "ClusterIP") != "ExternalName" and old_spec.get("type") != "ExternalName"
    if same_ip_needs and not spec.get("clusterIP") and not spec.get("clusterIPs"):
        if old_spec.get("clusterIPs"):
            spec["clusterIP"], spec["clusterIPs"] = old_spec.get("clusterIP"), list(old_spec["clusterIPs"])
    if spec.get("type") in ("NodePort", "LoadBalancer") and old_spec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            if not port.get("nodePort"):
                kept = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                if kept:
                    port["nodePort"] = kept
        if not spec.get("healthCheckNodePort") and old_spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]
