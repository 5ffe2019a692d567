"""A Pod's status as the kubelet reports it, computed from what it knows of the containers. Pure."""
from __future__ import annotations

from kubelab.kubelet.containers import Container, rfc3339


def container_status(c: Container) -> dict:
    if c.running:
        state = {"running": {"startedAt": rfc3339(c.started_at)}}
    elif c.terminated:
        state = {"terminated": dict(c.terminated)}
    else:
        waiting = {"reason": c.waiting_reason}
        if c.waiting_message:
            waiting["message"] = c.waiting_message
        state = {"waiting": waiting}
    status = {"name": c.name, "image": c.image, "imageID": "", "ready": c.ready, "restartCount": c.restart_count,
              "started": c.running, "state": state,
              "lastState": {"terminated": dict(c.last_terminated)} if c.last_terminated else {}}
    if c.running:
        status["containerID"] = f"kubelab://{c.pid}"
    return status


def phase(containers: list[Container]) -> str:
    if any(c.running for c in containers):
        return "Running"
    if containers and all(c.terminated for c in containers):
        return "Succeeded" if all(c.terminated["exitCode"] == 0 for c in containers) else "Failed"
    if any(c.restart_count or c.last_terminated for c in containers):
        return "Running"  # restarting (CrashLoopBackOff) keeps the pod Running, as upstream
    return "Pending"


def _condition(kind: str, true: bool, previous: dict, now: float, reason: str = "") -> dict:
    status = "True" if true else "False"
    old = previous.get(kind)
    since = old["lastTransitionTime"] if old and old.get("status") == status else rfc3339(now)
    condition = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
    if not true and reason:
        condition["reason"] = reason
    return condition


def pod_status(pod: dict, containers: list[Container], pod_ip: str, host_ip: str, started: float,
               now: float) -> dict:
    previous = {c["type"]: c for c in pod.get("status", {}).get("conditions", [])}
    ready = bool(containers) and all(c.ready for c in containers)
    unready = [c.name for c in containers if not c.ready]
    reason = "ContainersNotReady" if unready else ""
    conditions = [
        _condition("PodReadyToStartContainers", bool(pod_ip), previous, now),
        _condition("Initialized", True, previous, now),
        _condition("Ready", ready, previous, now, reason),
        _condition("ContainersReady", ready, previous, now, reason),
        _condition("PodScheduled", True, previous, now),
    ]
    if unready:
        for c in conditions[2:4]:
            c["message"] = f"containers with unready status: [{' '.join(unready)}]"
    status = {
        "phase": phase(containers),
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": rfc3339(started),
        "containerStatuses": [container_status(c) for c in containers],
        "qosClass": "BestEffort",
    }
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    return status
