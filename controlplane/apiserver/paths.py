"""REST paths -> what they name: /api/v1/namespaces/{ns}/{resource}/{name}/{subresource} and the /apis twins."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.apiserver.resources import Resource, lookup
from controlplane.apiserver.status import PathNotFound

# Subresources of a Namespace, which would otherwise read as a namespaced collection.
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Target:
    resource: Resource
    namespace: str | None  # None: every namespace (a namespaced list) or a cluster-scoped resource
    name: str = ""
    subresource: str = ""

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse(path: str) -> Target:
    """/api/v1/... or /apis/{group}/{version}/...; raises PathNotFound for anything that names no resource."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise PathNotFound()
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise PathNotFound()
    resource = lookup(group, version, rest[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        raise PathNotFound()
    name = rest[1] if len(rest) > 1 else ""
    if name and resource.namespaced and namespace is None:
        raise PathNotFound()  # a namespaced object is only addressed inside its namespace
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and subresource not in resource.subresources:
        raise PathNotFound()
    return Target(resource, namespace, name, subresource)
