"""Deployments: rolling updates within maxSurge/maxUnavailable, Recreate, history, rollback, status."""

import re

import pytest

from controlplane.controllers import rollback
from controlplane.errors import BadRequest

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: kubia}
spec:
  replicas: %(replicas)d
  revisionHistoryLimit: %(history)d
  strategy: %(strategy)s
  selector: {matchLabels: {app: kubia}}
  template:
    metadata: {labels: {app: kubia}}
    spec: {containers: [{name: kubia, image: "luksa/kubia:v1"}]}
"""


def deploy(apply, replicas=4, history=10, strategy="{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}"):
    return apply(DEPLOYMENT % {"replicas": replicas, "history": history, "strategy": strategy})[0]


def set_image(registry, image):
    deployment = registry.get("Deployment", "kubia")
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = image
    registry.update(deployment)


def live_pods(registry):
    return [p for p in registry.list("Pod", "default").items if not p["metadata"].get("deletionTimestamp")]


def images(pods):
    return sorted(p["spec"]["containers"][0]["image"] for p in pods)


def settle(controllers, kubelet, observe=lambda: None, rounds=60):
    """Alternate controllers and a kubelet that starts one pod at a time, calling observe after each step."""
    for _ in range(rounds):
        controllers.run_until_quiet()
        observe()
        pending = [p for p in live_pods(kubelet.registry) if p["spec"].get("nodeName") and p["status"]["phase"] == "Pending"]
        if pending:
            kubelet.start(pending[0]["metadata"]["name"])
        elif not kubelet.finish_terminating():
            return
        observe()


def test_rollout_creates_hashed_replica_set_and_reports_status(registry, controllers, kubelet, apply):
    deploy(apply)
    settle(controllers, kubelet)
    [rs] = registry.list("ReplicaSet").items
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"kubia-{pod_hash}" and re.fullmatch(r"[bcdfghjklmnpqrstvwxz2456789]+", pod_hash)
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert all(p["metadata"]["name"].startswith(f"kubia-{pod_hash}-") for p in live_pods(registry))
    deployment = registry.get("Deployment", "kubia")
    status = deployment["status"]
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"], status["availableReplicas"]) == (4, 4, 4, 4)
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {"Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "NewReplicaSetAvailable")}
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"


@pytest.mark.parametrize("surge, unavailable", [(1, 1), (0, 1), (2, 0), ("25%", "25%")])
def test_rolling_update_stays_within_surge_and_unavailable(registry, controllers, kubelet, apply, surge, unavailable):
    replicas = 4
    deploy(apply, replicas, strategy=f"{{type: RollingUpdate, rollingUpdate: {{maxSurge: {surge!r}, maxUnavailable: {unavailable!r}}}}}")
    settle(controllers, kubelet)
    max_surge = 1 if surge == "25%" else surge
    max_unavailable = 1 if unavailable == "25%" else unavailable
    seen = {"max_total": 0, "min_ready": replicas}

    def observe():
        pods = live_pods(registry)
        ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])]
        seen["max_total"] = max(seen["max_total"], len(pods))
        seen["min_ready"] = min(seen["min_ready"], len(ready))

    set_image(registry, "luksa/kubia:v2")
    settle(controllers, kubelet, observe)
    assert images(live_pods(registry)) == ["luksa/kubia:v2"] * replicas
    assert seen["max_total"] <= replicas + max_surge
    assert seen["min_ready"] >= replicas - max_unavailable
    assert seen["max_total"] > replicas or seen["min_ready"] < replicas  # it really rolled


def test_recreate_stops_everything_before_starting_the_new_version(registry, controllers, kubelet, apply):
    deploy(apply, 3, strategy="{type: Recreate}")
    settle(controllers, kubelet)
    mixed = []
    set_image(registry, "luksa/kubia:v2")
    settle(controllers, kubelet, lambda: mixed.append(len(set(images(live_pods(registry))))))
    assert max(mixed) == 1
    assert images(live_pods(registry)) == ["luksa/kubia:v2"] * 3


def test_rollback_restores_the_old_template_and_history_is_trimmed(registry, controllers, kubelet, apply):
    deploy(apply, 2, history=2)
    settle(controllers, kubelet)
    for version in ("v2", "v3", "v4"):
        set_image(registry, f"luksa/kubia:{version}")
        settle(controllers, kubelet)
    revisions = sorted(int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for rs in registry.list("ReplicaSet").items)
    assert revisions == [2, 3, 4]  # the current one plus revisionHistoryLimit=2 old ones

    rollback(registry, "kubia")  # to the previous revision (v3)
    settle(controllers, kubelet)
    assert images(live_pods(registry)) == ["luksa/kubia:v3"] * 2
    deployment = registry.get("Deployment", "kubia")
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "5"
    restored = [rs for rs in registry.list("ReplicaSet").items if rs["spec"]["replicas"] == 2][0]
    assert restored["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "3"

    rollback(registry, "kubia", to_revision=2)
    settle(controllers, kubelet)
    assert images(live_pods(registry)) == ["luksa/kubia:v2"] * 2
    with pytest.raises(BadRequest, match="unable to find specified revision 1 in history"):
        rollback(registry, "kubia", to_revision=1)


def test_a_rollout_whose_pods_never_become_ready_is_reported_stuck(registry, controllers, kubelet, apply, clock):
    apply((DEPLOYMENT % {"replicas": 2, "history": 10, "strategy": "{type: RollingUpdate}"}).replace(
        "spec:\n  replicas", "spec:\n  progressDeadlineSeconds: 60\n  replicas"))
    settle(controllers, kubelet)
    set_image(registry, "luksa/kubia:broken")
    controllers.run_until_quiet()
    kubelet.start_all(ready=False)
    controllers.run_until_quiet()
    progressing = {c["type"]: c for c in registry.get("Deployment", "kubia")["status"]["conditions"]}["Progressing"]
    assert progressing["status"] == "True"
    clock.advance(120)
    controllers.run_until_quiet()
    status = registry.get("Deployment", "kubia")["status"]
    progressing = {c["type"]: c for c in status["conditions"]}["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"].endswith("has timed out progressing.")
    assert status["availableReplicas"] >= 1  # the old version keeps serving


def test_deleting_a_deployment_deletes_its_replica_sets_and_pods(registry, controllers, kubelet, apply):
    deploy(apply, 3)
    settle(controllers, kubelet)
    set_image(registry, "luksa/kubia:v2")
    settle(controllers, kubelet)
    assert len(registry.list("ReplicaSet").items) == 2
    registry.delete("Deployment", "kubia")
    kubelet.finish_terminating()
    controllers.run_until_quiet()
    assert registry.list("ReplicaSet").items == [] and registry.list("Pod").items == []


def test_scaling_a_deployment_scales_its_replica_set(registry, controllers, kubelet, apply):
    deploy(apply, 2)
    settle(controllers, kubelet)
    deployment = registry.get("Deployment", "kubia")
    deployment["spec"]["replicas"] = 5
    registry.update(deployment)
    settle(controllers, kubelet)
    assert len(live_pods(registry)) == 5 and len(registry.list("ReplicaSet").items) == 1
