"""The seed tutorials' flows on a real cluster, with real packets."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from kubelab.httpclient import http_get
from netns import processes
from tests.waiting import wait_for
from tests.seed_manifests import NGINX_DEPLOYMENT_AND_SERVICE, NGINX_RC

pytestmark = pytest.mark.netns

def test_an_rc_keeps_its_replica_count_when_pods_are_deleted(cluster):
    cluster.kubelab("apply", "-f", "-", input=NGINX_RC)
    first = wait_for(lambda: len(cluster.ready_pods("app=nginx")) == 2 and cluster.ready_pods("app=nginx"))
    victim = first[0]["metadata"]["name"]
    cluster.kubelab("delete", "pod", victim)
    wait_for(lambda: len(cluster.ready_pods("app=nginx")) == 2
             and victim not in {p["metadata"]["name"] for p in cluster.ready_pods("app=nginx")})
    rc = cluster.get("rc", "my-nginx")
    assert rc["status"]["replicas"] == 2
    cluster.kubelab("delete", "rc", "my-nginx")
    wait_for(lambda: not cluster.get("pods", "-l", "app=nginx")["items"], what="the RC's pods gone")


def test_cluster_ip_and_node_port_reach_the_target_port_from_everywhere(cluster):
    cluster.kubelab("apply", "-f", "-", input=NGINX_DEPLOYMENT_AND_SERVICE)
    pods = wait_for(lambda: len(cluster.ready_pods("app=web")) == 2 and cluster.ready_pods("app=web"))
    spec = cluster.lab.spec()
    svc = cluster.get("svc", "mysvc")
    assert svc["spec"]["ports"][0]["nodePort"] == 30001
    cluster_ip = svc["spec"]["clusterIP"]
    pod_netns = {p["spec"]["nodeName"]: spec.pod_netns(f"default.{p['metadata']['name']}") for p in pods}
    sources = {"pod on node1": pod_netns["node1"], "pod on node2": pod_netns["node2"],
               "node1": spec.node("node1").netns, "outside": spec.ext_netns}
    for label, netns_name in sources.items():
        for host, port in ((spec.node("node1").ip, 30001), (spec.node("node2").ip, 30001), (cluster_ip, 8080)):
            if label == "outside" and port == 8080:
                continue  # a ClusterIP is not reachable from outside the cluster, as on a real one
            body = wait_for(lambda: _try(netns_name, str(host), port), timeout=10, what=f"{label} -> {host}:{port}")
            assert "Welcome to nginx!" in body, f"{label} -> {host}:{port}"
    cluster.kubelab("delete", "-f", "-", input=NGINX_DEPLOYMENT_AND_SERVICE)


def _try(netns_name, host, port):
    try:
        return http_get(netns_name, host, port, timeout=3)
    except OSError:
        return None


def test_a_rolling_update_under_constant_requests_fails_none(cluster):
    cluster.kubelab("create", "deployment", "boot", "--image=gcr.io/google-samples/kubernetes-bootcamp:v1",
                    "--replicas=3")
    cluster.kubelab("expose", "deployment/boot", "--type=NodePort", "--port", "8080")
    wait_for(lambda: len(cluster.ready_pods("app=boot")) == 3)
    spec = cluster.lab.spec()
    node_port = cluster.get("svc", "boot")["spec"]["ports"][0]["nodePort"]
    wait_for(lambda: _try(spec.ext_netns, str(spec.node("node1").ip), node_port), timeout=10)
    results: list[str | None] = []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            results.append(_try(spec.ext_netns, str(spec.node("node1").ip), node_port))
            time.sleep(0.01)

    worker = threading.Thread(target=client)
    worker.start()
    try:
        cluster.kubelab("set", "image", "deployment/boot", "kubernetes-bootcamp=jocatalin/kubernetes-bootcamp:v2")
        wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in cluster.ready_pods("app=boot")}
                 == {"jocatalin/kubernetes-bootcamp:v2"} and len(cluster.ready_pods("app=boot")) == 3, timeout=90)
        time.sleep(4)  # the old pods drain and go
    finally:
        stop.set()
        worker.join()
    failures = sum(1 for r in results if r is None)
    versions = {r.strip().rsplit("| ", 1)[-1] for r in results if r}
    assert len(results) > 50 and failures == 0, f"{failures} of {len(results)} requests failed"
    assert versions == {"v=1", "v=2"}
    cluster.kubelab("delete", "deployment", "boot")
    cluster.kubelab("delete", "service", "boot")


UNREADY = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: probe
spec:
  containers:
  - name: kubia
    image: luksa/kubia
    readinessProbe:
      {probe}
      periodSeconds: 1
---
"""


def test_a_pod_failing_its_readiness_probe_gets_no_traffic(cluster):
    manifest = (UNREADY.format(name="ready", probe="tcpSocket: {port: 8080}")
                + UNREADY.format(name="unready", probe="httpGet: {path: /, port: 9999}")
                + "apiVersion: v1\nkind: Service\nmetadata:\n  name: probe\nspec:\n  selector:\n    app: probe\n"
                  "  ports:\n  - port: 80\n    targetPort: 8080\n")
    cluster.kubelab("apply", "-f", "-", input=manifest)
    wait_for(lambda: len(cluster.ready_pods("app=probe")) == 1)
    time.sleep(2)
    assert [p["metadata"]["name"] for p in cluster.ready_pods("app=probe")] == ["ready"]
    spec = cluster.lab.spec()
    cluster_ip = cluster.get("svc", "probe")["spec"]["clusterIP"]
    answers = {(_try(spec.node("node1").netns, cluster_ip, 80) or "failed").strip() for _ in range(30)}
    assert answers == {"You've hit ready"}
    cluster.kubelab("delete", "-f", "-", input=manifest)


def test_daemon_sigkill_then_up_adopts_everything(cluster):
    cluster.kubelab("create", "deployment", "survivor", "--image=luksa/kubia", "--replicas=2")
    before = wait_for(lambda: len(cluster.ready_pods("app=survivor")) == 2 and cluster.ready_pods("app=survivor"))
    ids = {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["containerID"] for p in before}
    from kubelab.daemon import supervisor
    daemon = supervisor.running(cluster.lab)
    os.kill(daemon.pid, signal.SIGKILL)
    wait_for(lambda: not processes.running(daemon), timeout=5)
    cluster.kubelab("up")
    after = cluster.ready_pods("app=survivor")
    assert {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["containerID"] for p in after} == ids
    assert all(p["status"]["containerStatuses"][0]["restartCount"] == 0 for p in after)
    assert cluster.get("deployment", "survivor")["spec"]["replicas"] == 2
    cluster.kubelab("delete", "deployment", "survivor")
