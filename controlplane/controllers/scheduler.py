"""Scheduler: binds each pending pod to a node, spreading by pod count.

Filters as kube-scheduler's basic plugins do (NodeUnschedulable, NodeName, NodeSelector, TaintToleration for
NoSchedule/NoExecute), then picks the feasible node with the fewest pods (ties by name). A pod that fits
nowhere gets `PodScheduled=False, reason Unschedulable` with upstream's message, and is retried whenever a
node changes.
"""

from __future__ import annotations

import copy

from controlplane.controllers.base import Controller, Key
from controlplane.errors import Conflict, NotFound
from controlplane.objects import is_terminating, pod_is_active, rfc3339
from controlplane.selectors import Selector
from controlplane.watch import DELETED, WatchEvent

SCHEDULER_NAME = "default-scheduler"


def wants_scheduling(pod: dict) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and not is_terminating(pod)
            and spec.get("schedulerName", SCHEDULER_NAME) == SCHEDULER_NAME)


def _tolerates(pod: dict, taint: dict) -> bool:
    for toleration in pod["spec"].get("tolerations") or []:
        if toleration.get("effect") not in (None, "", taint.get("effect")):
            continue
        if toleration.get("operator") == "Exists" and toleration.get("key") in (None, "", taint.get("key")):
            return True
        if toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def rejection(pod: dict, node: dict) -> str | None:
    """Why a node cannot take the pod (the reason text kube-scheduler reports), or None if it can."""
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return "node(s) were unschedulable"
    selector = Selector.from_set(pod["spec"].get("nodeSelector"))
    if not selector.matches(node["metadata"].get("labels")):
        return "node(s) didn't match Pod's node affinity/selector"
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod, taint):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    return None


def choose_node(pod: dict, nodes: list[dict], pod_counts: dict[str, int]) -> tuple[str | None, str]:
    """(node name, "") or (None, FailedScheduling message)."""
    feasible, reasons = [], {}
    for node in nodes:
        why = rejection(pod, node)
        if why is None:
            feasible.append(node["metadata"]["name"])
        else:
            reasons[why] = reasons.get(why, 0) + 1
    if feasible:
        return min(feasible, key=lambda n: (pod_counts.get(n, 0), n)), ""
    detail = " ".join(f"{count} {why}." for why, count in sorted(reasons.items()))
    return None, f"0/{len(nodes)} nodes are available: {detail}".rstrip()


class Scheduler(Controller):
    name = "scheduler"
    kinds = ("Pod", "Node")

    def initial_keys(self):
        return [_key(p) for p in self.cache.list("Pod") if wants_scheduling(p)]

    def keys_for(self, event: WatchEvent) -> list[Key]:
        if event.kind == "Node":
            return [_key(p) for p in self.cache.list("Pod") if wants_scheduling(p)]
        if event.type != DELETED and wants_scheduling(event.object):
            return [(event.namespace, event.name)]
        return []

    def sync(self, key: Key) -> None:
        pod = self.cache.get("Pod", *key)
        if pod is None or not wants_scheduling(pod):
            return
        nodes = self.cache.list("Node")
        counts: dict[str, int] = {}
        for other in self.cache.list("Pod"):
            node_name = other["spec"].get("nodeName")
            if node_name and pod_is_active(other):
                counts[node_name] = counts.get(node_name, 0) + 1
        node, message = choose_node(pod, nodes, counts)
        if node is not None:
            try:
                self.registry.bind(key[1], key[0], node)
            except (Conflict, NotFound):
                pass  # bound or deleted meanwhile
        else:
            self._mark_unschedulable(pod, message)

    def _mark_unschedulable(self, pod: dict, message: str) -> None:
        conditions = [c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        wanted = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        current = next((c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        if current and all(current.get(k) == v for k, v in wanted.items()):
            return
        updated = copy.deepcopy(pod)
        updated["status"]["conditions"] = conditions + [{**wanted, "lastProbeTime": None,
                                                         "lastTransitionTime": rfc3339(self.clock())}]
        self.registry.update_status(updated)


def _key(pod: dict) -> Key:
    return pod["metadata"]["namespace"], pod["metadata"]["name"]
