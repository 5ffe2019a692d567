"""Manifests in, the same shape out, with the API server's defaults filled in."""

from controlplane.objects import dump_yaml, load_yaml
from controlplane.registry import Registry
from controlplane.store import Store

MANIFEST = """
apiVersion: v1
kind: Service
metadata:
  name: kubia
spec:
  type: NodePort
  selector: {app: kubia}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kubia
spec:
  selector: {matchLabels: {app: kubia}}
  template:
    metadata: {labels: {app: kubia}}
    spec:
      containers:
      - name: kubia
        image: luksa/kubia
        ports: [{containerPort: 8080}]
"""


def test_multi_document_yaml_round_trips_in_the_same_shape(registry):
    service, deployment = [registry.apply(obj) for obj in load_yaml(MANIFEST)]
    again = load_yaml(dump_yaml([service, deployment]))
    assert again == [service, deployment]
    assert service["apiVersion"] == "v1" and deployment["apiVersion"] == "apps/v1"
    assert set(service) == {"apiVersion", "kind", "metadata", "spec", "status"}


def test_kind_list_documents_are_flattened():
    objects = load_yaml("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n")
    assert [o["metadata"]["name"] for o in objects] == ["a"]


def test_service_defaults_match_the_api_server(registry):
    service = registry.apply(load_yaml(MANIFEST)[0])
    spec = service["spec"]
    assert spec["ports"] == [{"port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": spec["ports"][0]["nodePort"]}]
    assert spec["sessionAffinity"] == "None"
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert 30000 <= spec["ports"][0]["nodePort"] <= 32767


def test_target_port_defaults_to_port_and_client_ip_affinity_gets_a_timeout(registry):
    service = registry.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sticky"},
                               "spec": {"selector": {"app": "a"}, "sessionAffinity": "ClientIP", "ports": [{"port": 53, "protocol": "UDP"}]}})
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"][0]["targetPort"] == 53
    assert service["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert "externalTrafficPolicy" not in service["spec"]


def test_deployment_and_pod_defaults(registry):
    deployment = registry.apply(load_yaml(MANIFEST)[1])
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    pod_spec = spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "Always" and pod_spec["terminationGracePeriodSeconds"] == 30
    assert pod_spec["containers"][0]["ports"][0]["protocol"] == "TCP"
    assert pod_spec["containers"][0]["imagePullPolicy"] == "Always"  # untagged image


def test_server_sets_metadata(registry):
    pod = registry.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                           "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}})
    meta = pod["metadata"]
    assert meta["namespace"] == "default" and meta["generation"] == 1
    assert len(meta["uid"]) == 36 and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert pod["status"]["phase"] == "Pending"


def test_generation_moves_with_spec_not_metadata(registry):
    deployment = registry.apply(load_yaml(MANIFEST)[1])
    deployment["metadata"]["labels"] = {"team": "a"}
    assert registry.update(deployment)["metadata"]["generation"] == 1
    deployment = registry.get("Deployment", "kubia")
    deployment["spec"]["replicas"] = 3
    assert registry.update(deployment)["metadata"]["generation"] == 2


def test_objects_from_the_official_client_are_plain_dicts():
    # ApiClient().sanitize_for_serialization(V1Pod(...)) yields camelCase dicts and drops None fields.
    sanitized = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "from-client", "labels": {"app": "x"}},
                 "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}]}}
    registry = Registry(Store())
    stored = registry.create(sanitized)
    assert stored["spec"]["containers"][0]["ports"][0] == {"containerPort": 80, "protocol": "TCP"}


def test_kubernetes_service_sits_at_the_first_address(registry):
    service = registry.get("Service", "kubernetes", "default")
    assert service["spec"]["clusterIP"] == "10.96.0.1"
    assert [n["metadata"]["name"] for n in registry.list("Namespace").items] == [
        "default", "kube-node-lease", "kube-public", "kube-system"]
