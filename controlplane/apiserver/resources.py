"""The resources the API server serves: URL names, short names, subresources, and what discovery says of them.

Built over controlplane.objects.KINDS (the kinds the store holds); this module only adds what clients need
to find them: the singular and short names kubectl resolves (`po`, `svc`, `deploy`, ...), the `all`
category, and which kinds have the scale subresource.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.objects import KINDS, KindInfo

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# Short names as the real API server advertises them in discovery (kubectl resolves them from there).
_SHORT_NAMES = {
    "pods": ("po",), "services": ("svc",), "deployments": ("deploy",), "replicasets": ("rs",),
    "replicationcontrollers": ("rc",), "endpoints": ("ep",), "nodes": ("no",), "namespaces": ("ns",),
}
# `kubectl get all` expands the "all" category, in upstream's order (which also has daemonsets, jobs, ...).
ALL_CATEGORY = ("pods", "replicationcontrollers", "services", "deployments", "replicasets")
SCALABLE = {"deployments", "replicasets", "replicationcontrollers"}
_WITH_STATUS = {"namespaces", "nodes", "pods", "replicationcontrollers", "replicasets", "deployments", "services"}


@dataclass(frozen=True)
class Resource:
    info: KindInfo

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def name(self) -> str:
        return self.info.resource

    @property
    def group(self) -> str:
        return self.info.group

    @property
    def version(self) -> str:
        return self.info.api_version.rpartition("/")[2]

    @property
    def namespaced(self) -> bool:
        return self.info.namespaced

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def short_names(self) -> tuple[str, ...]:
        return _SHORT_NAMES.get(self.name, ())

    @property
    def categories(self) -> tuple[str, ...]:
        return ("all",) if self.name in ALL_CATEGORY else ()

    @property
    def subresources(self) -> tuple[str, ...]:
        subs = []
        if self.name in _WITH_STATUS:
            subs.append("status")
        if self.name in SCALABLE:
            subs.append("scale")
        if self.name == "pods":
            subs += ["log", "binding"]
        return tuple(subs)

    @property
    def qualified(self) -> str:
        """`deployments.apps`, `services`: how kubectl names a resource in messages."""
        return f"{self.name}.{self.group}" if self.group else self.name


RESOURCES: tuple[Resource, ...] = tuple(Resource(info) for info in KINDS.values())
GROUP_VERSIONS: tuple[str, ...] = tuple(dict.fromkeys(r.info.api_version for r in RESOURCES))


def lookup(group: str, version: str, name: str) -> Resource | None:
    for resource in RESOURCES:
        if resource.group == group and resource.version == version and resource.name == name:
            return resource
    return None


def by_kind(kind: str) -> Resource | None:
    info = KINDS.get(kind)
    return Resource(info) if info else None


def resolve(word: str) -> list[Resource]:
    """What a kubectl-style word names: plural, singular, short name, Kind, or `name.group` (e.g. deployments.apps)."""
    word = word.lower()
    name, _, group = word.partition(".")
    found = []
    for resource in RESOURCES:
        names = {resource.name, resource.singular, *resource.short_names}
        if name in names and (not group or group == resource.group):
            found.append(resource)
    if not found and word == "all":
        found = [r for name in ALL_CATEGORY for r in RESOURCES if r.name == name]
    return found


def in_group_version(api_version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.info.api_version == api_version]
