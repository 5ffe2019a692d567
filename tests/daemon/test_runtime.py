"""The daemon's insides without its HTTP face: registry + controllers + kubelets on a real lab."""
import subprocess

import pytest

from kubelab.daemon.runtime import ClusterRuntime
from tests.waiting import wait_for

pytestmark = pytest.mark.netns

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "bootcamp", "namespace": "default"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "bootcamp"}},
             "template": {"metadata": {"labels": {"app": "bootcamp"}},
                          "spec": {"containers": [{"name": "bootcamp",
                                                   "image": "gcr.io/google-samples/kubernetes-bootcamp:v1",
                                                   "ports": [{"containerPort": 8080}]}]}}},
}


@pytest.fixture
def runtime(lab):
    rt = ClusterRuntime(lab)
    rt.start()
    yield rt
    for d in rt.registry.list("Deployment").items:
        rt.registry.delete("Deployment", d["metadata"]["name"], "default")
    wait_for(lambda: not rt.registry.list("Pod").items, timeout=30)
    rt.shutdown()


def curl(netns_name, url):
    return subprocess.run(["ip", "netns", "exec", netns_name, "curl", "-sS", "-m", "2", url],
                          capture_output=True, text=True).stdout


def running_pods(rt):
    return [p for p in rt.registry.list("Pod").items
            if p.get("status", {}).get("phase") == "Running"
            and all(c.get("ready") for c in p["status"].get("containerStatuses", []))]


def test_nodes_are_registered_ready(runtime):
    nodes = {n["metadata"]["name"]: n for n in runtime.registry.list("Node").items}
    assert set(nodes) == {"node1", "node2"}
    node = nodes["node1"]
    assert node["spec"]["podCIDR"] == "10.244.0.0/24"
    assert {"type": "InternalIP", "address": "172.18.0.2"} in node["status"]["addresses"]
    assert node["status"]["conditions"][0]["type"] == "Ready" and node["status"]["conditions"][0]["status"] == "True"


def test_a_deployment_becomes_running_pods_that_answer(runtime, lab):
    runtime.registry.create(DEPLOYMENT)
    wait_for(lambda: len(running_pods(runtime)) == 2)
    pods = running_pods(runtime)
    assert {p["spec"]["nodeName"] for p in pods} == {"node1", "node2"}  # spread by pod count
    node = lab.spec().node("node1").netns
    for pod in pods:
        # Without a readiness probe a pod is Ready once its process runs, before it listens: retry, as a user would.
        expected = f"Hello Kubernetes bootcamp! | Running on: {pod['metadata']['name']} | v=1\n"
        wait_for(lambda: curl(node, f"http://{pod['status']['podIP']}:8080/") == expected)


def test_a_deleted_pod_is_replaced_and_its_sandbox_removed(runtime, lab):
    from netns import namespaces
    runtime.registry.create(DEPLOYMENT)
    wait_for(lambda: len(running_pods(runtime)) == 2)
    victim = running_pods(runtime)[0]["metadata"]["name"]
    runtime.registry.delete("Pod", victim, "default")
    wait_for(lambda: len(running_pods(runtime)) == 2 and victim not in {p["metadata"]["name"] for p in running_pods(runtime)})
    wait_for(lambda: not namespaces.exists(lab.spec().pod_netns(f"default.{victim}")))


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bootcamp", "namespace": "default"},
           "spec": {"type": "LoadBalancer", "selector": {"app": "bootcamp"},
                    "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]}}


def test_service_traffic_reaches_the_pods_through_kube_proxy(runtime, lab):
    runtime.registry.create(DEPLOYMENT)
    runtime.registry.create(SERVICE)
    wait_for(lambda: len(running_pods(runtime)) == 2)
    spec = lab.spec()
    svc = runtime.registry.get("Service", "bootcamp", "default")
    cluster_ip = svc["spec"]["clusterIP"]
    wait_for(lambda: runtime.registry.get("Service", "bootcamp", "default").get("status", {})
             .get("loadBalancer", {}).get("ingress"))
    lb_ip = runtime.registry.get("Service", "bootcamp", "default")["status"]["loadBalancer"]["ingress"][0]["ip"]
    assert lb_ip == "172.18.255.200"
    targets = [(spec.node("node1").netns, f"http://{cluster_ip}:80/"),
               (spec.ext_netns, f"http://{spec.node('node2').ip}:30080/"),
               (spec.ext_netns, f"http://{lb_ip}/")]
    for netns_name, url in targets:
        wait_for(lambda: "Hello Kubernetes bootcamp!" in curl(netns_name, url))
    runtime.registry.delete("Service", "bootcamp", "default")
