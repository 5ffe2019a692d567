"""EndpointSlices and Endpoints follow pods: scaling, readiness, termination, named ports."""

from controlplane.controllers.endpointslice import plan_slices

APP = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {team: a}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def slices(registry, service="web"):
    return registry.list("EndpointSlice", "default", label_selector=f"kubernetes.io/service-name={service}").items


def endpoints(registry, service="web"):
    return sorted((e for s in slices(registry, service) for e in s["endpoints"]), key=lambda e: e["targetRef"]["name"])


def scale(registry, replicas):
    rs = registry.get("ReplicaSet", "web")
    rs["spec"]["replicas"] = replicas
    registry.update(rs)


def test_slice_shape_labels_owner_and_named_target_port(registry, controllers, kubelet, apply):
    apply(APP)
    controllers.run_until_quiet()
    kubelet.start_all()
    controllers.run_until_quiet()
    [slice_] = slices(registry)
    labels = slice_["metadata"]["labels"]
    assert labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert labels["team"] == "a" and slice_["metadata"]["name"].startswith("web-")
    assert slice_["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    for endpoint in slice_["endpoints"]:
        assert endpoint["conditions"] == {"ready": True, "serving": True, "terminating": False}
        assert endpoint["nodeName"] in ("kind-worker", "kind-worker2")
        assert endpoint["targetRef"]["kind"] == "Pod"
    assert len(slice_["endpoints"]) == 3


def test_slices_follow_scaling_and_readiness(registry, controllers, kubelet, apply):
    apply(APP)
    controllers.run_until_quiet()
    assert slices(registry)[0]["endpoints"] == []  # pods without an IP are not endpoints yet
    kubelet.start_all(ready=False)
    controllers.run_until_quiet()
    assert [e["conditions"]["ready"] for e in endpoints(registry)] == [False] * 3
    first = endpoints(registry)[0]["targetRef"]["name"]
    kubelet.set_ready(first)
    controllers.run_until_quiet()
    assert {e["targetRef"]["name"]: e["conditions"]["ready"] for e in endpoints(registry)}[first] is True
    scale(registry, 5)
    controllers.run_until_quiet()
    kubelet.start_all()
    controllers.run_until_quiet()
    assert len(endpoints(registry)) == 5
    scale(registry, 2)
    controllers.run_until_quiet()
    terminating = [e for e in endpoints(registry) if e["conditions"]["terminating"]]
    assert len(terminating) == 3 and all(not e["conditions"]["ready"] for e in terminating)
    kubelet.finish_terminating()
    controllers.run_until_quiet()
    assert len(endpoints(registry)) == 2


def test_legacy_endpoints_object(registry, controllers, kubelet, apply):
    apply(APP)
    controllers.run_until_quiet()
    names = kubelet.start_all(ready=True)
    kubelet.set_ready(names[0], ready=False)
    controllers.run_until_quiet()
    [subset] = registry.get("Endpoints", "web")["subsets"]
    assert len(subset["addresses"]) == 2 and len(subset["notReadyAddresses"]) == 1
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    registry.delete("Service", "web")
    controllers.run_until_quiet()
    assert registry.list("Endpoints", "default", label_selector="team=a").items == []
    assert slices(registry) == []


def test_at_most_100_endpoints_per_slice(registry, controllers, kubelet, apply):
    apply(APP.replace("replicas: 3", "replicas: 250"))
    controllers.run_until_quiet()
    kubelet.start_all()
    controllers.run_until_quiet()
    sizes = sorted(len(s["endpoints"]) for s in slices(registry))
    assert sizes == [50, 100, 100]
    assert len({e["addresses"][0] for e in endpoints(registry)}) == 250


def test_pods_resolving_a_named_port_differently_get_separate_slices(registry, controllers, kubelet, apply):
    apply(APP)
    registry.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "odd", "labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 9090}]}]}})
    controllers.run_until_quiet()
    kubelet.start_all()
    controllers.run_until_quiet()
    ports = sorted(s["ports"][0]["port"] for s in slices(registry))
    assert ports == [8080, 9090]


def test_an_unchanged_service_plans_no_writes():
    service = {"metadata": {"name": "s", "namespace": "default", "uid": "u", "labels": {}},
               "apiVersion": "v1", "kind": "Service", "spec": {"selector": {"a": "b"}, "ports": [{"port": 80}]}}
    desired = {(("", 80, "TCP", None),): {"10.0.0.1": {"addresses": ["10.0.0.1"]}}}
    plan = plan_slices(service, [], desired)
    existing = dict(plan.create[0], metadata=dict(plan.create[0]["metadata"], name="s-abcde"))
    assert plan_slices(service, [existing], desired).is_empty()
