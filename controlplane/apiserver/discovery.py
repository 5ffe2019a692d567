"""Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>/<version>.

kubectl builds its REST mapping (kinds, short names, verbs, scopes) from these, so they must describe every
served resource and subresource. The aggregated discovery format (apidiscovery.k8s.io/v2) is not served:
clients ask for it first in their Accept header and fall back to these legacy documents.
"""

from __future__ import annotations

import platform

from controlplane.apiserver.resources import GROUP_VERSIONS, SCALABLE, Resource, in_group_version

# The Kubernetes version whose API behaviour and kubectl output kubelab follows.
K8S_MAJOR, K8S_MINOR = "1", "32"


def version() -> dict:
    return {
        "major": K8S_MAJOR, "minor": K8S_MINOR, "gitVersion": f"v{K8S_MAJOR}.{K8S_MINOR}.0-kubelab",
        "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "",
        "compiler": "kubelab", "platform": f"{platform.system().lower()}/{platform.machine()}",
    }


def core_versions() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}


def groups() -> dict:
    by_group: dict[str, list[str]] = {}
    for api_version in GROUP_VERSIONS:
        group, _, ver = api_version.rpartition("/")
        if group:
            by_group.setdefault(group, []).append(ver)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, vs) for g, vs in by_group.items()]}


def group(name: str) -> dict | None:
    versions = [gv.rpartition("/")[2] for gv in GROUP_VERSIONS if gv.rpartition("/")[0] == name]
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _group(name: str, versions: list[str]) -> dict:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def resource_list(api_version: str) -> dict | None:
    resources = in_group_version(api_version)
    if not resources:
        return None
    listed = []
    # Alphabetical, as upstream lists them: kubectl expands `get all` in this order.
    for resource in sorted(resources, key=lambda r: r.name):
        listed.append(_entry(resource))
        listed += [_subresource_entry(resource, sub) for sub in resource.subresources]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": listed}


def _entry(resource: Resource) -> dict:
    entry = {"name": resource.name, "singularName": resource.singular, "namespaced": resource.namespaced,
             "kind": resource.kind, "verbs": list(_verbs(resource))}
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    return entry


def _verbs(resource: Resource) -> tuple[str, ...]:
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    if resource.name == "namespaces":
        verbs.remove("deletecollection")  # as upstream: namespaces are deleted one by one
    return tuple(verbs)


def _subresource_entry(resource: Resource, sub: str) -> dict:
    entry = {"name": f"{resource.name}/{sub}", "singularName": "", "namespaced": resource.namespaced,
             "kind": resource.kind, "verbs": ["get", "patch", "update"]}
    if sub == "scale" and resource.name in SCALABLE:
        entry.update(group="autoscaling", version="v1", kind="Scale")
    elif sub == "log":
        entry.update(kind="Pod", verbs=["get"])
    elif sub == "binding":
        entry.update(kind="Binding", verbs=["create"])
    return entry
