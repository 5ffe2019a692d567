"""ReplicaSets, ReplicationControllers, the scheduler and garbage collection, as `kubectl get` would show."""

import re

import pytest

from controlplane.errors import NotFound
from controlplane.objects import controller_ref

RS = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: kubia}
spec:
  replicas: 3
  selector: {matchLabels: {app: kubia}}
  template:
    metadata: {labels: {app: kubia}}
    spec: {containers: [{name: kubia, image: luksa/kubia, ports: [{containerPort: 8080}]}]}
"""
RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: my-nginx}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx, ports: [{containerPort: 80}]}]}
"""


def pods(registry, selector=None, live=True):
    items = registry.list("Pod", "default", label_selector=selector).items
    return [p for p in items if not (live and p["metadata"].get("deletionTimestamp"))]


def test_replica_set_creates_named_pods_and_reports_status(registry, controllers, kubelet, apply):
    apply(RS)
    controllers.run_until_quiet()
    names = [p["metadata"]["name"] for p in pods(registry)]
    assert len(names) == 3
    assert all(re.fullmatch(r"kubia-[bcdfghjklmnpqrstvwxz2456789]{5}", n) for n in names)
    assert all(controller_ref(p)["name"] == "kubia" for p in pods(registry))
    kubelet.start_all()
    controllers.run_until_quiet()
    status = registry.get("ReplicaSet", "kubia")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3)


def test_replica_set_scales_and_replaces_deleted_pods(registry, controllers, kubelet, apply):
    apply(RS)
    controllers.run_until_quiet()
    kubelet.start_all()
    victim = pods(registry)[0]["metadata"]["name"]
    registry.delete("Pod", victim)
    controllers.run_until_quiet()
    assert len(pods(registry)) == 3 and victim not in [p["metadata"]["name"] for p in pods(registry)]
    rs = registry.get("ReplicaSet", "kubia")
    rs["spec"]["replicas"] = 1
    registry.update(rs)
    controllers.run_until_quiet()
    assert len(pods(registry)) == 1


def test_scale_down_removes_not_ready_pods_first(registry, controllers, kubelet, apply):
    apply(RS)
    controllers.run_until_quiet()
    names = [p["metadata"]["name"] for p in pods(registry)]
    kubelet.start(names[0], ready=True)
    kubelet.start(names[1], ready=True)
    kubelet.start(names[2], ready=False)
    rs = registry.get("ReplicaSet", "kubia")
    rs["spec"]["replicas"] = 2
    registry.update(rs)
    controllers.run_until_quiet()
    assert sorted(p["metadata"]["name"] for p in pods(registry)) == sorted(names[:2])


def test_adopts_matching_orphans_and_releases_relabelled_pods(registry, controllers, apply):
    registry.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"app": "kubia"}},
                     "spec": {"containers": [{"name": "c", "image": "luksa/kubia"}]}})
    apply(RS)
    controllers.run_until_quiet()
    assert controller_ref(registry.get("Pod", "stray"))["name"] == "kubia"
    assert len(pods(registry, "app=kubia")) == 3
    stray = registry.get("Pod", "stray")
    stray["metadata"]["labels"] = {"app": "debug"}
    registry.update(stray)
    controllers.run_until_quiet()
    assert controller_ref(registry.get("Pod", "stray")) is None
    assert len(pods(registry, "app=kubia")) == 3  # a replacement was made


def test_replication_controller_defaults_selector_from_template(registry, controllers, apply):
    rc = apply(RC)[0]
    assert rc["spec"]["selector"] == {"app": "nginx"} and rc["metadata"]["labels"] == {"app": "nginx"}
    controllers.run_until_quiet()
    assert len(pods(registry, "app=nginx")) == 2
    assert all(p["metadata"]["name"].startswith("my-nginx-") for p in pods(registry))


def test_scheduler_spreads_pods_and_respects_node_name_and_selector(registry, controllers, apply, nodes):
    apply(RS.replace("replicas: 3", "replicas: 4"))
    controllers.run_until_quiet()
    placed = [p["spec"]["nodeName"] for p in pods(registry)]
    assert sorted(placed) == sorted(nodes * 2)
    registry.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pinned"},
                     "spec": {"nodeName": "kind-worker", "containers": [{"name": "c", "image": "x"}]}})
    registry.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "picky"},
                     "spec": {"nodeSelector": {"kubernetes.io/hostname": "kind-worker2"}, "containers": [{"name": "c", "image": "x"}]}})
    registry.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nowhere"},
                     "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "x"}]}})
    controllers.run_until_quiet()
    assert registry.get("Pod", "pinned")["spec"]["nodeName"] == "kind-worker"
    assert registry.get("Pod", "picky")["spec"]["nodeName"] == "kind-worker2"
    nowhere = registry.get("Pod", "nowhere")
    assert "nodeName" not in nowhere["spec"]
    condition = [c for c in nowhere["status"]["conditions"] if c["type"] == "PodScheduled"][0]
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    # A matching node appears: the pod is retried and bound.
    registry.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "fast", "labels": {"disk": "ssd"}}})
    controllers.run_until_quiet()
    assert registry.get("Pod", "nowhere")["spec"]["nodeName"] == "fast"


def test_pods_on_nodes_terminate_gracefully(registry, controllers, kubelet, apply):
    apply(RS)
    controllers.run_until_quiet()
    kubelet.start_all()
    name = pods(registry)[0]["metadata"]["name"]
    terminating = registry.delete("Pod", name)
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 30
    assert registry.get("Pod", name)["metadata"]["deletionTimestamp"]
    kubelet.finish_terminating()
    with pytest.raises(NotFound):
        registry.get("Pod", name)


@pytest.mark.parametrize("policy, rs_left, pods_left", [("Background", 0, 0), ("Foreground", 0, 0), ("Orphan", 0, 3)])
def test_deleting_an_owner_with_each_propagation_policy(registry, controllers, kubelet, apply, policy, rs_left, pods_left):
    apply(RS)
    controllers.run_until_quiet()
    kubelet.start_all()
    registry.delete("ReplicaSet", "kubia", propagation_policy=policy)
    if policy == "Foreground":
        # The owner waits, terminating, while its pods finish.
        assert registry.get("ReplicaSet", "kubia")["metadata"]["finalizers"] == ["foregroundDeletion"]
    kubelet.finish_terminating()
    controllers.run_until_quiet()
    assert len(registry.list("ReplicaSet").items) == rs_left
    remaining = registry.list("Pod").items
    assert len(remaining) == pods_left
    if policy == "Orphan":
        assert all(not p["metadata"].get("ownerReferences") for p in remaining)


def test_deleting_a_namespace_deletes_its_contents(registry, controllers, kubelet, apply):
    registry.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}})
    registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "lab"},
                     "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}})
    registry.delete("Namespace", "lab")
    with pytest.raises(NotFound):
        registry.get("Namespace", "lab")
    assert registry.list("Service", "lab").items == []
