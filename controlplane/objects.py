"""The object kinds kubelab serves, in Kubernetes' own JSON shapes, and YAML in/out.

Objects are plain dicts exactly as `kubectl get -o json` shows them (camelCase). The official Python
client's models become such dicts with `ApiClient().sanitize_for_serialization(model)`; nothing here
depends on that package.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import yaml

from controlplane.errors import BadRequest


@dataclass(frozen=True)
class KindInfo:
    kind: str
    api_version: str
    resource: str  # plural, as in URLs and error messages ("pods", "deployments")
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo("Namespace", "v1", "namespaces", False),
        KindInfo("Node", "v1", "nodes", False),
        KindInfo("Pod", "v1", "pods", True),
        KindInfo("ReplicationController", "v1", "replicationcontrollers", True),
        KindInfo("Service", "v1", "services", True),
        KindInfo("Endpoints", "v1", "endpoints", True),
        KindInfo("ReplicaSet", "apps/v1", "replicasets", True),
        KindInfo("Deployment", "apps/v1", "deployments", True),
        KindInfo("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", True),
    )
}
KIND_BY_RESOURCE = {info.resource: info for info in KINDS.values()}


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise BadRequest(f"no kind {kind!r} is registered; known kinds: {', '.join(sorted(KINDS))}") from None


# ---------------------------------------------------------------------------------------------- YAML


def load_yaml(text: str) -> list[dict]:
    """Every object in a multi-document manifest, with `kind: List` items flattened."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise BadRequest(f"error parsing YAML: {exc}") from None
    return list(_flatten_lists(documents))


def _flatten_lists(documents: Iterable[Any]) -> Iterable[dict]:
    for doc in documents:
        if not isinstance(doc, dict):
            raise BadRequest(f"a manifest document must be a mapping, got {type(doc).__name__}")
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            yield from _flatten_lists(doc.get("items") or [])
        else:
            yield doc


def dump_yaml(objects: Iterable[dict]) -> str:
    return yaml.safe_dump_all(list(objects), sort_keys=False, default_flow_style=False)


# ---------------------------------------------------------------------------------------------- metadata


def meta(obj: dict) -> dict:
    return obj.setdefault("metadata", {})


def name_of(obj: dict) -> str:
    return obj.get("metadata", {}).get("name", "")


def namespace_of(obj: dict) -> str:
    return obj.get("metadata", {}).get("namespace", "")


def labels_of(obj: dict) -> dict:
    return obj.get("metadata", {}).get("labels") or {}


def key_of(obj: dict) -> tuple[str, str, str]:
    return obj.get("kind", ""), namespace_of(obj), name_of(obj)


def is_terminating(obj: dict) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def owner_ref_to(owner: dict, *, controller: bool = True) -> dict:
    """An ownerReference as controllers write them (blockOwnerDeletion for foreground deletion)."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name_of(owner),
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def controller_ref(obj: dict) -> dict | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: dict, owner: dict) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == owner["metadata"].get("uid")


# ---------------------------------------------------------------------------------------------- time


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def wall_clock() -> float:
    return time.time()


# ---------------------------------------------------------------------------------------------- pods


def pod_condition(pod: dict, condition_type: str) -> dict | None:
    for condition in pod.get("status", {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return condition
    return None


def pod_is_ready(pod: dict) -> bool:
    condition = pod_condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def pod_is_available(pod: dict, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds (upstream podutil.IsPodAvailable)."""
    if not pod_is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = pod_condition(pod, "Ready").get("lastTransitionTime")
    return since is not None and parse_rfc3339(since) + min_ready_seconds <= now


def pod_is_active(pod: dict) -> bool:
    """Counts towards a controller's replicas: not terminating, not finished (controller.IsPodActive)."""
    phase = pod.get("status", {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


# ---------------------------------------------------------------------------------------------- intstr


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int, or a percentage of total."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}")
    scaled = int(text[:-1]) * total / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)
