"""Deletion propagation by ownerReference (the garbage collector's policies), run inside the registry.

- Background: the owner goes now, then its dependents (recursively).
- Foreground: the owner stays, terminating, with the `foregroundDeletion` finalizer until every dependent
  is gone (pods may take their grace period); then it goes.
- Orphan: dependents lose their ownerReference to the owner and stay; the owner goes.

Upstream runs this asynchronously in kube-controller-manager; here it runs synchronously within the delete
call (and on each final removal), which gives the same end states with deterministic tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.errors import NotFound
from controlplane.objects import is_terminating, kind_info

if TYPE_CHECKING:
    from controlplane.registry import Registry

FOREGROUND = "foregroundDeletion"


def delete_with_policy(registry: "Registry", obj: dict, policy: str, grace: int | None) -> dict:
    uid = obj["metadata"]["uid"]
    if policy == "Orphan":
        orphan_dependents(registry, obj)
        return _delete_one(registry, obj, grace)
    if policy == "Foreground":
        if not registry.store.dependents(uid):
            return _delete_one(registry, obj, grace)  # nothing to wait for (and pods keep their grace)
        marked = registry.mark_deleting(obj, 0, FOREGROUND)
        for dependent in dependents_of(registry, uid):
            delete_with_policy(registry, dependent, "Foreground", None)
        return finalize_foreground(registry, marked)
    result = _delete_one(registry, obj, grace)
    for dependent in dependents_of(registry, uid):
        delete_with_policy(registry, dependent, "Background", None)
    return result


def _delete_one(registry: "Registry", obj: dict, grace: int | None) -> dict:
    if obj["kind"] == "Namespace":
        return _delete_namespace(registry, obj)
    grace = _effective_grace(obj, grace)
    meta = obj["metadata"]
    if grace > 0:
        if is_terminating(obj) and (meta.get("deletionGracePeriodSeconds") or 0) <= grace:
            return obj
        return registry.mark_deleting(obj, grace)
    if meta.get("finalizers"):
        return obj if is_terminating(obj) else registry.mark_deleting(obj, 0)
    return registry.remove(obj)


def _effective_grace(obj: dict, grace: int | None) -> int:
    """Only pods on a node terminate gracefully (registry/core/pod/strategy.go CheckGracefulDelete)."""
    if obj["kind"] != "Pod":
        return 0
    if not obj["spec"].get("nodeName") or obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    if grace is None:
        grace = obj["spec"].get("terminationGracePeriodSeconds", 30)
    return max(0, grace)


def dependents_of(registry: "Registry", owner_uid: str) -> list[dict]:
    found = []
    for kind, namespace, name in registry.store.dependents(owner_uid):
        try:
            found.append(registry.store.get(kind, namespace, name))
        except NotFound:
            continue
    return found


def orphan_dependents(registry: "Registry", owner: dict) -> None:
    uid = owner["metadata"]["uid"]
    for dependent in dependents_of(registry, uid):
        refs = dependent["metadata"].get("ownerReferences") or []
        dependent["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
        if not dependent["metadata"]["ownerReferences"]:
            del dependent["metadata"]["ownerReferences"]
        registry.store.update(dependent)


def finalize_foreground(registry: "Registry", owner: dict) -> dict:
    """Drop the foregroundDeletion finalizer once nothing depends on the owner any more."""
    current = _lookup(registry, owner["kind"], owner["metadata"].get("namespace", ""), owner["metadata"]["name"])
    if current is None or current["metadata"].get("uid") != owner["metadata"]["uid"]:
        return owner  # a dependent's removal already finished it
    owner = current
    if registry.store.dependents(owner["metadata"]["uid"]):
        return owner
    owner["metadata"]["finalizers"] = [f for f in owner["metadata"].get("finalizers") or [] if f != FOREGROUND]
    if not owner["metadata"]["finalizers"]:
        del owner["metadata"]["finalizers"]
    return registry._finish_if_released(registry.store.update(owner))


def after_removal(registry: "Registry", gone: dict) -> None:
    """An object left for good: owners in foreground deletion and terminating namespaces may now finish."""
    namespace = gone["metadata"].get("namespace", "")
    for ref in gone["metadata"].get("ownerReferences") or []:
        owner = _lookup(registry, ref.get("kind", ""), namespace, ref.get("name", ""))
        if owner and owner["metadata"].get("uid") == ref.get("uid") and FOREGROUND in (owner["metadata"].get("finalizers") or []):
            finalize_foreground(registry, owner)
    if namespace:
        ns = _lookup(registry, "Namespace", "", namespace)
        if ns and is_terminating(ns) and not registry.store.namespace_keys(namespace):
            registry.remove(ns)


def _lookup(registry: "Registry", kind: str, namespace: str, name: str) -> dict | None:
    try:
        info = kind_info(kind)
        return registry.store.get(kind, namespace if info.namespaced else "", name)
    except Exception:
        return None


def _delete_namespace(registry: "Registry", namespace: dict) -> dict:
    """The namespace controller's job: mark Terminating, delete the contents, go when empty."""
    name = namespace["metadata"]["name"]
    marked = namespace if is_terminating(namespace) else registry.mark_deleting(namespace, 0)
    for kind, ns, obj_name in registry.store.namespace_keys(name):
        obj = _lookup(registry, kind, ns, obj_name)
        if obj is not None:
            delete_with_policy(registry, obj, "Background", None)
    current = _lookup(registry, "Namespace", "", name)
    if current is None:
        return marked
    if not registry.store.namespace_keys(name):
        return registry.remove(current)
    return current
