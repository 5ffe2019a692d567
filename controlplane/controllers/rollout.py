"""Pure rollout arithmetic of the Deployment controller (pkg/controller/deployment/util, rolling.go).

Everything here takes plain objects and returns numbers or new dicts: no store, no clock.
"""

from __future__ import annotations

import copy

from controlplane.naming import template_hash
from controlplane.objects import scaled_value

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"


def replicas(obj: dict) -> int:
    return obj["spec"].get("replicas", 1)


def status_count(obj: dict, field: str) -> int:
    return (obj.get("status") or {}).get(field, 0) or 0


def revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def surge_and_unavailable(deployment: dict) -> tuple[int, int]:
    """ResolveFenceposts: surge rounds up, unavailable rounds down, and both 0 becomes unavailable 1."""
    rolling = (deployment["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(deployment)
    surge = scaled_value(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def template_without_hash(template: dict) -> dict:
    stripped = copy.deepcopy(template)
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return stripped


def same_template(rs_template: dict, deployment_template: dict) -> bool:
    """EqualIgnoreHash: the ReplicaSet runs this Deployment template."""
    return template_without_hash(rs_template) == template_without_hash(deployment_template)


def new_replica_set(deployment: dict, collision_count: int, next_revision: int, initial_replicas: int) -> dict:
    """The ReplicaSet `<deployment>-<hash>` for the Deployment's current template."""
    template = copy.deepcopy(deployment["spec"]["template"])
    pod_hash = template_hash(template, collision_count or None)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
    selector = copy.deepcopy(deployment["spec"]["selector"])
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    surge, _ = surge_and_unavailable(deployment)
    meta = deployment["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                REVISION: str(next_revision),
                DESIRED_REPLICAS: str(replicas(deployment)),
                MAX_REPLICAS: str(replicas(deployment) + surge),
            },
        },
        "spec": {
            "replicas": initial_replicas,
            "minReadySeconds": deployment["spec"].get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }


def new_rs_target(deployment: dict, all_rss: list[dict], new_rs: dict) -> int:
    """NewRSNewReplicas for RollingUpdate: grow the new ReplicaSet without passing replicas + maxSurge."""
    desired = replicas(deployment)
    current_new = replicas(new_rs)
    if current_new >= desired:
        return desired
    surge, _ = surge_and_unavailable(deployment)
    current_total = sum(replicas(rs) for rs in all_rss)
    room = desired + surge - current_total
    if room <= 0:
        return current_new
    return current_new + min(room, desired - current_new)


def unhealthy_cleanup(old_rss: list[dict], budget: int) -> dict[str, int]:
    """cleanupUnhealthyReplicas: first drop old pods that are not available anyway. name -> new replicas."""
    targets: dict[str, int] = {}
    used = 0
    for rs in old_rss:
        if used >= budget:
            break
        unavailable = replicas(rs) - status_count(rs, "availableReplicas")
        if replicas(rs) == 0 or unavailable <= 0:
            continue
        cut = min(budget - used, unavailable)
        targets[rs["metadata"]["name"]] = replicas(rs) - cut
        used += cut
    return targets


def old_scale_down(deployment: dict, all_rss: list[dict], old_rss: list[dict], new_rs: dict) -> dict[str, int]:
    """reconcileOldReplicaSets: how far each old ReplicaSet may shrink without breaking maxUnavailable."""
    if sum(replicas(rs) for rs in old_rss) == 0:
        return {}
    _, unavailable = surge_and_unavailable(deployment)
    min_available = replicas(deployment) - unavailable
    new_unavailable = replicas(new_rs) - status_count(new_rs, "availableReplicas")
    budget = sum(replicas(rs) for rs in all_rss) - min_available - new_unavailable
    if budget <= 0:
        return {}
    targets = unhealthy_cleanup(old_rss, budget)

    def current(rs: dict) -> int:
        return targets.get(rs["metadata"]["name"], replicas(rs))

    available = sum(min(status_count(rs, "availableReplicas"), current(rs)) for rs in all_rss)
    allowed = available - min_available
    for rs in old_rss:
        if allowed <= 0:
            break
        if current(rs) == 0:
            continue
        cut = min(current(rs), allowed)
        targets[rs["metadata"]["name"]] = current(rs) - cut
        allowed -= cut
    return targets


def is_complete(deployment: dict, status: dict) -> bool:
    """DeploymentComplete: every replica updated and available, no old ones left."""
    desired = replicas(deployment)
    return (status.get("updatedReplicas", 0) == desired and status.get("replicas", 0) == desired
            and status.get("availableReplicas", 0) == desired)
