"""Deployment controller (pkg/controller/deployment): ReplicaSets per template, rollouts, history, status.

Also `rollback()`, what `kubectl rollout undo [--to-revision=N]` does: put an old ReplicaSet's template
back into the Deployment; the controller then finds that ReplicaSet again and makes it the newest revision.
"""

from __future__ import annotations

import copy

from controlplane.controllers import rollout
from controlplane.controllers.base import Controller, Key
from controlplane.errors import AlreadyExists, BadRequest, NotFound
from controlplane.objects import controller_ref, is_controlled_by, labels_of, owner_ref_to, parse_rfc3339, rfc3339
from controlplane.selectors import Selector
from controlplane.watch import WatchEvent


class DeploymentController(Controller):
    name = "deployment"
    kinds = ("Deployment", "ReplicaSet", "Pod")

    def initial_keys(self):
        return [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in self.cache.list("Deployment")]

    def keys_for(self, event: WatchEvent) -> list[Key]:
        if event.kind == "Deployment":
            return [(event.namespace, event.name)]
        obj = event.object
        ref = controller_ref(obj)
        if event.kind == "Pod" and ref is not None and ref.get("kind") == "ReplicaSet":
            rs = self.cache.get("ReplicaSet", event.namespace, ref["name"])
            ref = controller_ref(rs) if rs else None
        if ref is not None and ref.get("kind") == "Deployment":
            return [(event.namespace, ref["name"])]
        return []

    # ------------------------------------------------------------------------------------------ sync

    def sync(self, key: Key) -> None:
        namespace, name = key
        deployment = self.cache.get("Deployment", namespace, name)
        if deployment is None or deployment["metadata"].get("deletionTimestamp"):
            return
        all_rss = self.claim_replica_sets(deployment)
        new_rs = next((rs for rs in all_rss if rollout.same_template(rs["spec"]["template"], deployment["spec"]["template"])), None)
        old_rss = [rs for rs in all_rss if rs is not new_rs]
        if deployment["spec"].get("paused"):
            return self.sync_status(deployment, new_rs, old_rss, None)
        if deployment["spec"]["strategy"].get("type") == "Recreate":
            return self.rollout_recreate(deployment, new_rs, old_rss)
        self.rollout_rolling(deployment, new_rs, old_rss)

    def claim_replica_sets(self, deployment: dict) -> list[dict]:
        """ReplicaSets this Deployment controls, adopting matching orphans; oldest first."""
        selector = Selector.from_label_selector(deployment["spec"]["selector"])
        owned = []
        for rs in self.cache.list("ReplicaSet", deployment["metadata"]["namespace"]):
            if is_controlled_by(rs, deployment):
                owned.append(rs)
            elif controller_ref(rs) is None and selector.matches(labels_of(rs)):
                adopted = copy.deepcopy(rs)
                adopted["metadata"].setdefault("ownerReferences", []).append(owner_ref_to(deployment))
                owned.append(self.registry.update(adopted))
        return sorted(owned, key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"]))

    # ------------------------------------------------------------------------------------------ strategies

    def rollout_rolling(self, deployment: dict, new_rs: dict | None, old_rss: list[dict]) -> None:
        created = new_rs is None
        new_rs = self.ensure_new_replica_set(deployment, new_rs, old_rss)
        if new_rs is None:
            return
        all_rss = old_rss + [new_rs]
        target = rollout.new_rs_target(deployment, all_rss, new_rs)
        if target != rollout.replicas(new_rs):
            new_rs = self.scale(new_rs, target, deployment)
            return self.sync_status(deployment, new_rs, old_rss, "created" if created else "progress")
        cuts = rollout.old_scale_down(deployment, all_rss, old_rss, new_rs)
        if any(rollout.replicas(rs) != cuts[rs["metadata"]["name"]] for rs in old_rss if rs["metadata"]["name"] in cuts):
            old_rss = [self.scale(rs, cuts[rs["metadata"]["name"]], deployment) if rs["metadata"]["name"] in cuts else rs
                       for rs in old_rss]
            return self.sync_status(deployment, new_rs, old_rss, "progress")
        self.sync_status(deployment, new_rs, old_rss, "created" if created else None)

    def rollout_recreate(self, deployment: dict, new_rs: dict | None, old_rss: list[dict]) -> None:
        active_old = [rs for rs in old_rss if rollout.replicas(rs) > 0]
        if active_old:
            old_rss = [self.scale(rs, 0, deployment) if rs in active_old else rs for rs in old_rss]
            return self.sync_status(deployment, new_rs, old_rss, "progress")
        if any(self._pods_of(rs) for rs in old_rss):
            return self.sync_status(deployment, new_rs, old_rss, None)  # wait for old pods to be gone
        created = new_rs is None
        new_rs = self.ensure_new_replica_set(deployment, new_rs, old_rss)
        if new_rs is not None and rollout.replicas(new_rs) != rollout.replicas(deployment):
            new_rs = self.scale(new_rs, rollout.replicas(deployment), deployment)
            return self.sync_status(deployment, new_rs, old_rss, "created" if created else "progress")
        self.sync_status(deployment, new_rs, old_rss, None)

    def _pods_of(self, rs: dict) -> list[dict]:
        return [p for p in self.cache.list("Pod", rs["metadata"]["namespace"]) if is_controlled_by(p, rs)]

    # ------------------------------------------------------------------------------------------ replica sets

    def ensure_new_replica_set(self, deployment: dict, new_rs: dict | None, old_rss: list[dict]) -> dict | None:
        next_revision = max([rollout.revision(rs) for rs in old_rss] + [0]) + 1
        if new_rs is not None:
            return self._promote(deployment, new_rs, next_revision)
        collisions = (deployment.get("status") or {}).get("collisionCount", 0)
        rs = rollout.new_replica_set(deployment, collisions, next_revision, 0)
        if deployment["spec"]["strategy"].get("type") != "Recreate":
            rs["spec"]["replicas"] = rollout.new_rs_target(deployment, old_rss + [rs], rs)
        rs["metadata"]["ownerReferences"] = [owner_ref_to(deployment)]
        try:
            created = self.registry.create(rs)
        except AlreadyExists:
            # A ReplicaSet with this hash runs another template: bump collisionCount and retry (upstream).
            self._bump_collision_count(deployment, collisions)
            return None
        self._annotate_revision(deployment, next_revision)
        return created

    def _promote(self, deployment: dict, rs: dict, next_revision: int) -> dict:
        """An existing ReplicaSet becomes the new one (a rollback): it takes the next revision number."""
        current = rollout.revision(rs)
        surge, _ = rollout.surge_and_unavailable(deployment)
        wanted = {rollout.DESIRED_REPLICAS: str(rollout.replicas(deployment)),
                  rollout.MAX_REPLICAS: str(rollout.replicas(deployment) + surge)}
        if current < next_revision:
            history = [h for h in (rs["metadata"].get("annotations") or {}).get(rollout.REVISION_HISTORY, "").split(",") if h]
            wanted[rollout.REVISION] = str(next_revision)
            wanted[rollout.REVISION_HISTORY] = ",".join(history + [str(current)])
        annotations = rs["metadata"].get("annotations") or {}
        if all(annotations.get(k) == v for k, v in wanted.items()):
            self._annotate_revision(deployment, rollout.revision(rs))
            return rs
        updated = copy.deepcopy(rs)
        updated["metadata"].setdefault("annotations", {}).update(wanted)
        stored = self.registry.update(updated)
        self._annotate_revision(deployment, rollout.revision(stored))
        return stored

    def _annotate_revision(self, deployment: dict, revision: int) -> None:
        annotations = deployment["metadata"].get("annotations") or {}
        if annotations.get(rollout.REVISION) != str(revision):
            updated = copy.deepcopy(self.registry.get("Deployment", deployment["metadata"]["name"], deployment["metadata"]["namespace"]))
            updated["metadata"].setdefault("annotations", {})[rollout.REVISION] = str(revision)
            self.registry.update(updated)

    def _bump_collision_count(self, deployment: dict, collisions: int) -> None:
        updated = copy.deepcopy(deployment)
        updated.setdefault("status", {})["collisionCount"] = collisions + 1
        self.registry.update_status(updated)

    def scale(self, rs: dict, count: int, deployment: dict) -> dict:
        surge, _ = rollout.surge_and_unavailable(deployment)
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = count
        updated["metadata"].setdefault("annotations", {}).update({
            rollout.DESIRED_REPLICAS: str(rollout.replicas(deployment)),
            rollout.MAX_REPLICAS: str(rollout.replicas(deployment) + surge),
        })
        return self.registry.update(updated)

    def cleanup_history(self, deployment: dict, old_rss: list[dict]) -> None:
        """Delete the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit."""
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in old_rss if rollout.replicas(rs) == 0 and rollout.status_count(rs, "replicas") == 0
                and not rs["metadata"].get("deletionTimestamp")]
        for rs in sorted(idle, key=rollout.revision)[: max(0, len(idle) - limit)]:
            try:
                self.registry.delete("ReplicaSet", rs["metadata"]["name"], rs["metadata"]["namespace"])
            except NotFound:
                pass

    # ------------------------------------------------------------------------------------------ status

    def sync_status(self, deployment: dict, new_rs: dict | None, old_rss: list[dict], change: str | None) -> None:
        all_rss = old_rss + ([new_rs] if new_rs else [])
        now = self.clock()
        old_status = deployment.get("status") or {}
        status = compute_status(deployment, new_rs, all_rss)
        status["conditions"] = self._conditions(deployment, new_rs, status, old_status, change, now)
        if rollout.is_complete(deployment, status):
            self.cleanup_history(deployment, old_rss)
        elif deployment["spec"].get("progressDeadlineSeconds") is not None:
            self.requeue_after((deployment["metadata"]["namespace"], deployment["metadata"]["name"]),
                               deployment["spec"]["progressDeadlineSeconds"] + 1)
        if status != old_status:
            updated = copy.deepcopy(self.registry.get("Deployment", deployment["metadata"]["name"], deployment["metadata"]["namespace"]))
            updated["status"] = status
            self.registry.update_status(updated)

    def _conditions(self, deployment: dict, new_rs: dict | None, status: dict, old_status: dict,
                    change: str | None, now: float) -> list[dict]:
        old = {c["type"]: c for c in old_status.get("conditions") or []}
        _, unavailable = rollout.surge_and_unavailable(deployment)
        conditions = {}
        if status.get("availableReplicas", 0) >= rollout.replicas(deployment) - unavailable:
            conditions["Available"] = _condition(old, "Available", "True", "MinimumReplicasAvailable",
                                                 "Deployment has minimum availability.", now)
        else:
            conditions["Available"] = _condition(old, "Available", "False", "MinimumReplicasUnavailable",
                                                 "Deployment does not have minimum availability.", now)
        progressing = self._progressing(deployment, new_rs, status, old_status, old, change, now)
        if progressing:
            conditions["Progressing"] = progressing
        elif "Progressing" in old:
            conditions["Progressing"] = old["Progressing"]
        return [conditions[t] for t in ("Progressing", "Available") if t in conditions]

    def _progressing(self, deployment, new_rs, status, old_status, old, change, now) -> dict | None:
        rs_name = new_rs["metadata"]["name"] if new_rs else ""
        if new_rs is not None and rollout.is_complete(deployment, status):
            return _condition(old, "Progressing", "True", "NewReplicaSetAvailable",
                              f'ReplicaSet "{rs_name}" has successfully progressed.', now)
        if change == "created":
            return _condition(old, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', now, touch=True)
        moved = any(status.get(f, 0) != old_status.get(f, 0) for f in ("updatedReplicas", "readyReplicas", "availableReplicas"))
        if new_rs is not None and (change == "progress" or moved):
            return _condition(old, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', now, touch=True)
        deadline = deployment["spec"].get("progressDeadlineSeconds")
        current = old.get("Progressing")
        if new_rs is not None and deadline is not None and current and current.get("reason") != "NewReplicaSetAvailable":
            if parse_rfc3339(current["lastUpdateTime"]) + deadline < now:
                return _condition(old, "Progressing", "False", "ProgressDeadlineExceeded",
                                  f'ReplicaSet "{rs_name}" has timed out progressing.', now)
        if new_rs is not None and current is None:
            return _condition(old, "Progressing", "True", "FoundNewReplicaSet", f'Found new replica set "{rs_name}"', now, touch=True)
        return None


def _condition(old: dict, kind: str, status: str, reason: str, message: str, now: float, touch: bool = False) -> dict:
    """A DeploymentCondition; lastTransitionTime moves only when status flips, lastUpdateTime on change."""
    previous = old.get(kind)
    if previous and previous["status"] == status and previous["reason"] == reason and not touch:
        return previous
    stamp = rfc3339(now)
    transition = previous["lastTransitionTime"] if previous and previous["status"] == status else stamp
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": transition,
            "reason": reason, "message": message}


def compute_status(deployment: dict, new_rs: dict | None, all_rss: list[dict]) -> dict:
    desired = rollout.replicas(deployment)
    available = sum(rollout.status_count(rs, "availableReplicas") for rs in all_rss)
    status = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": sum(rollout.status_count(rs, "replicas") for rs in all_rss),
        "updatedReplicas": rollout.status_count(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(rollout.status_count(rs, "readyReplicas") for rs in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, desired - available),
    }
    collisions = (deployment.get("status") or {}).get("collisionCount")
    if collisions:
        status["collisionCount"] = collisions
    return status


def rollback(registry, name: str, namespace: str = "default", to_revision: int = 0) -> dict:
    """`kubectl rollout undo`: restore the template of the previous (or the given) revision."""
    deployment = registry.get("Deployment", name, namespace)
    history = sorted((rs for rs in registry.list("ReplicaSet", namespace).items if is_controlled_by(rs, deployment)),
                     key=rollout.revision)
    if not history:
        raise NotFound("deployments", name, "apps")
    if to_revision == 0:
        if len(history) < 2:
            raise BadRequest(f'no rollout history found for deployment "{name}"')
        source = history[-2]
    else:
        source = next((rs for rs in history if rollout.revision(rs) == to_revision), None)
        if source is None:
            raise BadRequest(f"unable to find specified revision {to_revision} in history")
    template = rollout.template_without_hash(source["spec"]["template"])
    if rollout.same_template(template, deployment["spec"]["template"]):
        raise BadRequest(f"skipped rollback (current template already matches revision {rollout.revision(source)})")
    deployment["spec"]["template"] = template
    return registry.update(deployment)
