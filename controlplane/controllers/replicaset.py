"""ReplicaSet and ReplicationController controller (pkg/controller/replicaset): keep `replicas` pods.

Pods are claimed like upstream's ControllerRefManager: pods this owner controls stay while they match the
selector and are released (ownerReference removed) when they stop matching; matching orphans are adopted.
Extra pods are deleted least-valuable first (unscheduled, pending, not ready, newest); missing ones are
created as `<owner>-<5 random chars>` from the template.
"""

from __future__ import annotations

import copy

from controlplane.controllers.base import Controller, Key
from controlplane.errors import NotFound
from controlplane.objects import (controller_ref, is_controlled_by, labels_of, owner_ref_to, pod_is_active,
                                  pod_is_available, pod_is_ready)
from controlplane.selectors import Selector
from controlplane.watch import WatchEvent

BURST = 500  # upstream's burstReplicas: at most this many creates/deletes per sync


class ReplicaSetController(Controller):
    name = "replicaset"
    owner_kind = "ReplicaSet"

    @property
    def kinds(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.owner_kind, "Pod")

    def selector_of(self, owner: dict) -> Selector:
        return Selector.from_label_selector(owner["spec"].get("selector"))

    def initial_keys(self):
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in self.cache.list(self.owner_kind)]

    def keys_for(self, event: WatchEvent) -> list[Key]:
        if event.kind == self.owner_kind:
            return [(event.namespace, event.name)]
        pod = event.object
        ref = controller_ref(pod)
        if ref is not None:
            return [(event.namespace, ref["name"])] if ref.get("kind") == self.owner_kind else []
        # An orphan: every owner whose selector matches may adopt it.
        return [(event.namespace, o["metadata"]["name"]) for o in self.cache.list(self.owner_kind, event.namespace)
                if self.selector_of(o).matches(labels_of(pod))]

    # ------------------------------------------------------------------------------------------ sync

    def sync(self, key: Key) -> None:
        namespace, name = key
        owner = self.cache.get(self.owner_kind, namespace, name)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            return
        pods = self.claim_pods(owner)
        active = [p for p in pods if pod_is_active(p)]
        diff = len(active) - owner["spec"].get("replicas", 1)
        if diff < 0:
            self.create_pods(owner, min(-diff, BURST))
        elif diff > 0:
            for pod in pods_to_delete(active, min(diff, BURST)):
                self.registry.delete("Pod", pod["metadata"]["name"], namespace)
        self.update_status(owner, [p for p in self.cache.list("Pod", namespace) if is_controlled_by(p, owner)])

    def claim_pods(self, owner: dict) -> list[dict]:
        namespace = owner["metadata"]["namespace"]
        selector = self.selector_of(owner)
        claimed = []
        for pod in self.cache.list("Pod", namespace):
            matches = selector.matches(labels_of(pod))
            ref = controller_ref(pod)
            if ref is None and matches and pod_is_active(pod):
                claimed.append(self._adopt(owner, pod))
            elif ref is not None and ref.get("uid") == owner["metadata"]["uid"]:
                if matches:
                    claimed.append(pod)
                else:
                    self._release(owner, pod)
        return claimed

    def _adopt(self, owner: dict, pod: dict) -> dict:
        pod = copy.deepcopy(pod)
        pod["metadata"].setdefault("ownerReferences", []).append(owner_ref_to(owner))
        return self.registry.update(pod)

    def _release(self, owner: dict, pod: dict) -> None:
        pod = copy.deepcopy(pod)
        refs = pod["metadata"].get("ownerReferences") or []
        pod["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner["metadata"]["uid"]]
        try:
            self.registry.update(pod)
        except NotFound:
            pass

    def create_pods(self, owner: dict, count: int) -> None:
        template = owner["spec"]["template"]
        for _ in range(count):
            metadata = copy.deepcopy(template.get("metadata") or {})
            metadata.pop("creationTimestamp", None)
            metadata.pop("name", None)
            metadata.update(generateName=owner["metadata"]["name"] + "-", namespace=owner["metadata"]["namespace"],
                            ownerReferences=[owner_ref_to(owner)])
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": copy.deepcopy(template["spec"])}
            self.registry.create(pod)

    # ------------------------------------------------------------------------------------------ status

    def update_status(self, owner: dict, pods: list[dict]) -> None:
        now = self.clock()
        min_ready = owner["spec"].get("minReadySeconds") or 0
        active = [p for p in pods if pod_is_active(p)]
        template_labels = (owner["spec"]["template"].get("metadata") or {}).get("labels") or {}
        ready = [p for p in active if pod_is_ready(p)]
        available = [p for p in active if pod_is_available(p, min_ready, now)]
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": sum(1 for p in active if Selector.from_set(template_labels).matches(labels_of(p))),
            "readyReplicas": len(ready),
            "availableReplicas": len(available),
            "observedGeneration": owner["metadata"].get("generation", 1),
        }
        if len(ready) > len(available):
            self.requeue_after((owner["metadata"]["namespace"], owner["metadata"]["name"]), min_ready)
        if {**owner.get("status", {}), **status} != owner.get("status", {}):
            updated = copy.deepcopy(owner)
            updated["status"] = {**owner.get("status", {}), **status}
            self.registry.update_status(updated)


class ReplicationControllerController(ReplicaSetController):
    name = "replicationcontroller"
    owner_kind = "ReplicationController"

    def selector_of(self, owner: dict) -> Selector:
        return Selector.from_set(owner["spec"].get("selector"))


def pods_to_delete(pods: list[dict], count: int) -> list[dict]:
    """Least valuable first (controller.ActivePods ordering): unscheduled, pending, not ready, newest."""
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}

    def value(pod: dict) -> tuple:
        return (
            bool(pod["spec"].get("nodeName")),
            phase_rank.get(pod.get("status", {}).get("phase"), 0),
            pod_is_ready(pod),
            # Newer pods go first: negate the creation time's sort order.
            _negated(pod["metadata"].get("creationTimestamp", "")),
            pod["metadata"]["name"],
        )

    return sorted(pods, key=value)[:count]


def _negated(timestamp: str) -> tuple:
    return tuple(-ord(ch) for ch in timestamp)

