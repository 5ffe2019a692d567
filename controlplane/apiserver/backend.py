"""The API server's one door into the control plane: REST verbs on resources -> controlplane.registry.Registry.

Everything the HTTP layer knows of the registry's signatures lives here, so a change there is a change in
this module only. Registry methods are synchronous (SQLite underneath, guarded by a lock); the HTTP layer
calls them through `asyncio.to_thread` so a slow write never stalls other requests or watch streams.
"""

from __future__ import annotations

from controlplane.apiserver.resources import Resource
from controlplane.apiserver.status import success
from controlplane.errors import BadRequest, Conflict, NotFound
from controlplane.registry import Registry
from controlplane.selectors import FieldSelector, Selector
from controlplane.store import Listing
from controlplane.watch import Watch, WatchEvent


class Backend:
    def __init__(self, registry: Registry):
        self.registry = registry

    def now(self) -> float:
        return self.registry.clock()

    # ------------------------------------------------------------------------------------------ reads

    def get(self, resource: Resource, namespace: str, name: str) -> dict:
        return self.registry.get(resource.kind, name, namespace)

    def list(self, resource: Resource, namespace: str | None, label_selector: str | None = None,
             field_selector: str | None = None) -> Listing:
        return self.registry.list(resource.kind, namespace, label_selector or None, field_selector or None)

    def watch(self, resource: Resource, namespace: str | None, resource_version: str | None,
              label_selector: str | None = None, field_selector: str | None = None) -> "FilteredWatch":
        fields = FieldSelector.parse(field_selector, resource.kind) if field_selector else None
        if label_selector:
            Selector.parse(label_selector)  # a malformed selector is a 400 now, not a dead stream later
        watch = self.registry.watch(resource_version or None, [resource.kind], namespace, label_selector or None)
        return FilteredWatch(watch, fields)

    # ------------------------------------------------------------------------------------------ writes

    def create(self, resource: Resource, namespace: str | None, body: dict) -> dict:
        _check_body_kind(resource, body)
        return self.registry.create(body, namespace)

    def update(self, resource: Resource, namespace: str | None, name: str, body: dict) -> dict:
        _check_body_kind(resource, body)
        _check_body_name(body, name)
        return self.registry.update(body, namespace)

    def update_status(self, resource: Resource, namespace: str | None, name: str, body: dict) -> dict:
        _check_body_kind(resource, body)
        _check_body_name(body, name)
        return self.registry.update_status(body, namespace)

    def delete(self, resource: Resource, namespace: str | None, name: str, options: dict) -> dict:
        """The object if it lingers (graceful pods, finalizers), else a Success Status, as upstream answers."""
        preconditions = options.get("preconditions") or {}
        last = self.registry.delete(resource.kind, name, namespace,
                                    propagation_policy=_policy(options),
                                    grace_period_seconds=options.get("gracePeriodSeconds"),
                                    resource_version=preconditions.get("resourceVersion"))
        if resource.name in _RETURNS_DELETED_OBJECT or self._exists(resource, namespace, name):
            return last
        meta = last.get("metadata") or {}
        return success(resource.name, name, resource.group, meta.get("uid", ""))

    def delete_collection(self, resource: Resource, namespace: str | None, options: dict,
                          label_selector: str | None, field_selector: str | None) -> Listing:
        listing = self.list(resource, namespace, label_selector, field_selector)
        deleted = []
        for obj in listing.items:
            meta = obj["metadata"]
            try:
                deleted.append(self.registry.delete(resource.kind, meta["name"], meta.get("namespace") or None,
                                                    propagation_policy=_policy(options),
                                                    grace_period_seconds=options.get("gracePeriodSeconds")))
            except NotFound:
                pass  # taken by garbage collection of an owner deleted just before
        return Listing(deleted, self.registry.resource_version)

    def bind(self, namespace: str, name: str, body: dict) -> dict:
        target = body.get("target") or {}
        if target.get("kind", "Node") != "Node" or not target.get("name"):
            raise BadRequest("a Binding needs target.kind Node and target.name")
        self.registry.bind(name, namespace, target["name"])
        return success("pods", name, "", "")

    # ------------------------------------------------------------------------------------------ scale

    def get_scale(self, resource: Resource, namespace: str, name: str) -> dict:
        return scale_of(self.get(resource, namespace, name))

    def update_scale(self, resource: Resource, namespace: str, name: str, scale: dict) -> dict:
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise BadRequest("a Scale needs spec.replicas as an integer")
        workload = self.get(resource, namespace, name)
        sent_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != workload["metadata"]["resourceVersion"]:
            raise Conflict(resource.name, name, resource.group)
        workload["spec"]["replicas"] = replicas
        return scale_of(self.registry.update(workload, namespace))

    def _exists(self, resource: Resource, namespace: str | None, name: str) -> bool:
        try:
            self.get(resource, namespace, name)
        except NotFound:
            return False
        return True


# Upstream's ReturnDeletedObject: these answer a DELETE with the object itself (clients decode it as such).
_RETURNS_DELETED_OBJECT = {"pods", "services"}


class FilteredWatch:
    """A registry watch narrowed by a field selector (the registry filters namespace and labels itself)."""

    def __init__(self, watch: Watch, fields: FieldSelector | None):
        self.watch = watch
        self.fields = fields

    def accepts(self, event: WatchEvent) -> bool:
        return self.fields is None or self.fields.matches(event.object)


def scale_of(workload: dict) -> dict:
    """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or ReplicationController."""
    meta = workload["metadata"]
    spec = workload.get("spec") or {}
    selector = spec.get("selector")
    if workload["kind"] == "ReplicationController":
        selector_text = str(Selector.from_set(selector))
    else:
        selector_text = str(Selector.from_label_selector(selector))
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {key: meta[key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if key in meta},
        "spec": {"replicas": spec.get("replicas", 0)},
        "status": {"replicas": (workload.get("status") or {}).get("replicas", 0), "selector": selector_text},
    }


def _policy(options: dict) -> str | None:
    """DeleteOptions: propagationPolicy, or the older orphanDependents flag (kubectl --cascade=orphan)."""
    if options.get("propagationPolicy"):
        return options["propagationPolicy"]
    if options.get("orphanDependents") is True:
        return "Orphan"
    return None


def _check_body_kind(resource: Resource, body: dict) -> None:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    body.setdefault("kind", resource.kind)
    body.setdefault("apiVersion", resource.info.api_version)
    if body["kind"] != resource.kind:
        raise BadRequest(f"the kind of the object ({body['kind']}) does not match the resource ({resource.name})")


def _check_body_name(body: dict, name: str) -> None:
    meta = body.setdefault("metadata", {})
    if meta.get("name") and meta["name"] != name:
        raise BadRequest("the name of the object does not match the name on the URL")
    meta["name"] = name
