"""The kubelet on a real node namespace, driven by a fake API: what `kubectl get pods` would show."""
from __future__ import annotations

import copy
import subprocess
import time
import uuid

import pytest

from kubelab.kubelet.kubelet import Kubelet
from netns import namespaces, processes

pytestmark = pytest.mark.netns


class FakeApi:
    """Stands in for the API server: keeps the pods, applies status updates, records finalization."""

    def __init__(self):
        self.pods: dict[tuple[str, str], dict] = {}
        self.finalized: list[str] = []

    def add(self, name: str, containers: list[dict], **spec) -> dict:
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4())},
               "spec": {"containers": containers, "restartPolicy": "Always", "nodeName": "node1", **spec},
               "status": {}}
        self.pods[("default", name)] = pod
        return pod

    def update_pod_status(self, namespace, name, status):
        self.pods[(namespace, name)]["status"] = copy.deepcopy(status)

    def finalize_pod(self, namespace, name, uid):
        self.finalized.append(name)
        del self.pods[(namespace, name)]

    def delete(self, name: str, grace: int) -> None:
        meta = self.pods[("default", name)]["metadata"]
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        meta["deletionGracePeriodSeconds"] = grace

    def status(self, name: str) -> dict:
        return self.pods[("default", name)]["status"]


@pytest.fixture
def api():
    return FakeApi()


@pytest.fixture
def kubelet(lab, api):
    k = Kubelet(lab, "node1", api, kubernetes_ip="10.96.0.1", dns_ip="10.96.0.10", backoff_base=0.2)
    yield k
    k.sync([])  # tear down whatever the test left
    k.close()


def sync_until(kubelet, api, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        kubelet.sync(list(api.pods.values()))
        if predicate():
            return
        assert time.monotonic() < deadline, f"condition not reached; pods: {api.pods}"
        time.sleep(0.05)


def container_state(api, name):
    return api.status(name)["containerStatuses"][0]


def curl(netns_name, url):
    return subprocess.run(["ip", "netns", "exec", netns_name, "curl", "-sS", "-m", "2", url],
                          capture_output=True, text=True).stdout


def test_a_pod_runs_its_image_with_its_own_hostname(lab, api, kubelet):
    api.add("kubia-x7k2p", [{"name": "kubia", "image": "luksa/kubia", "ports": [{"containerPort": 8080}]}])
    sync_until(kubelet, api, lambda: api.status("kubia-x7k2p").get("phase") == "Running")
    # A built-in image is Ready once it listens (it declares no readinessProbe): no refused request after.
    sync_until(kubelet, api, lambda: container_state(api, "kubia-x7k2p")["ready"])
    status = api.status("kubia-x7k2p")
    assert status["podIP"].startswith("10.244.0.") and status["hostIP"] == "172.18.0.2"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert curl(lab.spec().node("node1").netns, f"http://{status['podIP']}:8080/") == "You've hit kubia-x7k2p\n"


def test_the_container_sees_its_hosts_file_and_environment(lab, api, kubelet):
    api.add("busy", [{"name": "sh", "image": "busybox", "command": ["sh", "-c",
                      'cat /etc/hosts; cat /etc/resolv.conf; echo "host=$(hostname) ip=$MY_IP"; sleep 60'],
                      "env": [{"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}])
    sync_until(kubelet, api, lambda: api.status("busy").get("phase") == "Running")
    ip = api.status("busy")["podIP"]
    path = kubelet.log_path("default", "busy")
    deadline = time.monotonic() + 5
    while "host=" not in open(path).read() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = open(path).read()
    assert f"{ip}\tbusy" in log
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in log
    assert f"host=busy ip={ip}" in log


def test_a_missing_image_gives_errimagepull_then_imagepullbackoff(api, kubelet):
    api.add("boot", [{"name": "boot", "image": "jocatalin/kubernetes-bootcamp:v10"}])
    kubelet.sync(list(api.pods.values()))
    assert container_state(api, "boot")["state"]["waiting"]["reason"] == "ErrImagePull"
    assert api.status("boot")["phase"] == "Pending"
    sync_until(kubelet, api, lambda: container_state(api, "boot")["state"]["waiting"]["reason"] == "ImagePullBackOff")


def test_a_crashing_container_is_restarted_with_back_off(api, kubelet):
    api.add("crash", [{"name": "c", "image": "busybox", "command": ["sh", "-c", "exit 3"]}])
    sync_until(kubelet, api, lambda: container_state(api, "crash")["restartCount"] >= 2)
    state = container_state(api, "crash")
    assert state["lastState"]["terminated"]["exitCode"] == 3
    assert state["lastState"]["terminated"]["reason"] == "Error"
    sync_until(kubelet, api, lambda: container_state(api, "crash")["state"].get("waiting", {}).get("reason")
               == "CrashLoopBackOff")


def test_restart_policy_never_leaves_a_finished_pod_succeeded(api, kubelet):
    api.add("once", [{"name": "c", "image": "busybox", "command": ["true"]}], restartPolicy="Never")
    sync_until(kubelet, api, lambda: api.status("once").get("phase") == "Succeeded")
    assert container_state(api, "once")["state"]["terminated"]["reason"] == "Completed"


def test_failing_readiness_probe_keeps_the_pod_unready(api, kubelet):
    api.add("unready", [{"name": "web", "image": "luksa/kubia",
                         "readinessProbe": {"httpGet": {"path": "/", "port": 9999}, "periodSeconds": 1}}])
    sync_until(kubelet, api, lambda: api.status("unready").get("phase") == "Running")
    time.sleep(1.5)
    kubelet.sync(list(api.pods.values()))
    ready = {c["type"]: c["status"] for c in api.status("unready")["conditions"]}["Ready"]
    assert ready == "False" and container_state(api, "unready")["ready"] is False


def test_passing_readiness_probe_makes_the_pod_ready(api, kubelet):
    api.add("ready", [{"name": "web", "image": "luksa/kubia",
                       "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}])
    sync_until(kubelet, api, lambda: container_state(api, "ready")["ready"])


def test_failing_liveness_probe_restarts_the_container(api, kubelet):
    api.add("dead", [{"name": "c", "image": "busybox", "command": ["sleep", "600"],
                      "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}}])
    sync_until(kubelet, api, lambda: container_state(api, "dead")["restartCount"] >= 1)


def test_graceful_deletion_sigterm_then_sigkill_after_the_grace_period(lab, api, kubelet):
    api.add("stubborn", [{"name": "c", "image": "busybox",
                          "command": ["sh", "-c", "trap '' TERM; echo trapped; while true; do sleep 0.1; done"]}])
    sync_until(kubelet, api, lambda: api.status("stubborn").get("phase") == "Running")
    sync_until(kubelet, api, lambda: "trapped" in open(kubelet.log_path("default", "stubborn")).read())
    pid = int(container_state(api, "stubborn")["containerID"].split("//")[1])
    netns_name = lab.spec().pod_netns("default.stubborn")
    proc = processes.Process(pid, processes.start_time(pid))
    api.delete("stubborn", grace=1)
    kubelet.sync(list(api.pods.values()))
    time.sleep(0.3)
    kubelet.sync(list(api.pods.values()))
    assert processes.running(proc) and "stubborn" not in api.finalized  # it ignores SIGTERM
    sync_until(kubelet, api, lambda: "stubborn" in api.finalized)
    assert not namespaces.exists(netns_name)
    assert not processes.running(proc)


def test_a_new_kubelet_adopts_running_containers(lab, api, kubelet):
    api.add("adopt", [{"name": "c", "image": "busybox", "command": ["sleep", "600"]}])
    sync_until(kubelet, api, lambda: api.status("adopt").get("phase") == "Running")
    before = container_state(api, "adopt")["containerID"]
    restarted = Kubelet(lab, "node1", api, kubernetes_ip="10.96.0.1", dns_ip="10.96.0.10")
    restarted.sync(list(api.pods.values()))
    assert container_state(api, "adopt")["containerID"] == before
    assert container_state(api, "adopt")["restartCount"] == 0
    restarted.close()
