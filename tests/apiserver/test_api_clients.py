"""Standard clients against the server: the official Python client, and kubectl itself when installed,
both configured only by the kubeconfig kubelab writes."""

import os
import subprocess

import pytest
from kubernetes import client as k8s, config as k8s_config, watch as k8s_watch

from controlplane.apiserver import kubeconfig
from tests.apiserver.harness import TOKEN, start_cluster
from tests.seed_manifests import NGINX_DEPLOYMENT_AND_SERVICE

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture
def tls_cluster(tmp_path):
    running = start_cluster(tmp_path, tls=True)
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig(f"https://127.0.0.1:{running.tcp_port}", TOKEN, "test", running.certificate.pem()))
    running.kubeconfig_path = str(path)
    yield running
    running.server.stop()


@pytest.fixture
def official(tls_cluster):
    api_client = k8s_config.new_client_from_config(config_file=tls_cluster.kubeconfig_path)
    yield api_client
    api_client.close()


def test_official_client_round_trips_a_service(official):
    core = k8s.CoreV1Api(official)
    body = k8s.V1Service(metadata=k8s.V1ObjectMeta(name="web", labels={"app": "web"}),
                         spec=k8s.V1ServiceSpec(selector={"app": "web"}, type="NodePort",
                                                ports=[k8s.V1ServicePort(port=80, target_port=8080)]))
    created = core.create_namespaced_service("default", body)
    assert created.spec.cluster_ip.startswith("10.96.") and 30000 <= created.spec.ports[0].node_port <= 32767
    assert "web" in [s.metadata.name for s in core.list_namespaced_service("default", label_selector="app=web").items]
    patched = core.patch_namespaced_service("web", "default", {"metadata": {"labels": {"tier": "front"}}})
    assert patched.metadata.labels == {"app": "web", "tier": "front"}
    core.delete_namespaced_service("web", "default")
    with pytest.raises(k8s.ApiException) as caught:
        core.read_namespaced_service("web", "default")
    assert caught.value.status == 404


def test_official_client_manages_and_watches_deployments(official):
    apps = k8s.AppsV1Api(official)
    labels = {"app": "web"}
    body = k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name="web"),
        spec=k8s.V1DeploymentSpec(replicas=1, selector=k8s.V1LabelSelector(match_labels=labels),
                                  template=k8s.V1PodTemplateSpec(
                                      metadata=k8s.V1ObjectMeta(labels=labels),
                                      spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="app", image="nginx")]))))
    start = apps.list_namespaced_deployment("default").metadata.resource_version
    apps.create_namespaced_deployment("default", body)
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 3
    apps.delete_namespaced_deployment("web", "default", propagation_policy="Foreground")
    events = []
    stream = k8s_watch.Watch().stream(apps.list_namespaced_deployment, "default", resource_version=start)
    for event in stream:
        events.append((event["type"], event["object"].spec.replicas))
        if event["type"] == "DELETED":
            break
    assert events[0] == ("ADDED", 1) and ("MODIFIED", 3) in events and events[-1][0] == "DELETED"


# ---------------------------------------------------------------------------------------------- kubectl

needs_kubectl = pytest.mark.skipif(not os.path.exists(KUBECTL), reason=f"kubectl is not installed at {KUBECTL}")

MANIFEST = NGINX_DEPLOYMENT_AND_SERVICE


def kubectl(cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": cluster.kubeconfig_path,
           "HOME": os.path.dirname(cluster.kubeconfig_path)}
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, input=stdin, timeout=60)


@needs_kubectl
def test_kubectl_applies_gets_scales_and_patches(tls_cluster):
    first = kubectl(tls_cluster, "apply", "-f", "-", stdin=MANIFEST)
    assert (first.returncode, first.stdout) == (0, "deployment.apps/dep01 created\nservice/mysvc created\n"), first.stderr
    again = kubectl(tls_cluster, "apply", "-f", "-", stdin=MANIFEST)
    assert again.stdout == "deployment.apps/dep01 unchanged\nservice/mysvc unchanged\n"
    changed = kubectl(tls_cluster, "apply", "-f", "-", stdin=MANIFEST.replace("replicas: 2", "replicas: 4"))
    assert changed.stdout == "deployment.apps/dep01 configured\nservice/mysvc unchanged\n"
    assert kubectl(tls_cluster, "scale", "deploy", "dep01", "--replicas=1").stdout == "deployment.apps/dep01 scaled\n"
    tls_cluster.clock.advance(21)
    services = kubectl(tls_cluster, "get", "svc")
    assert services.stdout.splitlines()[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert services.stdout.splitlines()[2].split()[3:] == ["<none>", "8080:30001/TCP", "21s"]
    deployments = kubectl(tls_cluster, "get", "deploy", "dep01", "-o", "jsonpath={.spec.replicas}")
    assert deployments.stdout == "1"
    missing = kubectl(tls_cluster, "get", "svc", "nothere")
    assert (missing.returncode, missing.stderr) == (1, 'Error from server (NotFound): services "nothere" not found\n')


@needs_kubectl
def test_kubectl_describe_matches_kubelab_describe(tls_cluster):
    from click.testing import CliRunner

    from kubelab.cli import main

    kubectl(tls_cluster, "apply", "-f", "-", stdin=MANIFEST)
    tls_cluster.add_node()
    tls_cluster.settle()
    env = {"KUBELAB_SERVER": f"unix://{tls_cluster.unix_path}"}
    for args in (["describe", "svc", "mysvc"], ["describe", "deployment", "dep01"], ["describe", "pods"],
                 ["describe", "rs"], ["describe", "rc"], ["describe", "endpoints", "mysvc"], ["get", "pods", "-o", "wide"],
                 ["get", "all"], ["get", "rs", "-o", "wide"], ["get", "ep,endpointslices"], ["get", "svc", "-o", "yaml"],
                 ["get", "deploy", "dep01", "-o", "json"], ["get", "svc,deploy", "-o", "name"], ["get", "nodes"],
                 ["get", "svc", "nothere"], ["get", "widgets"]):
        ours = CliRunner().invoke(main, args, env=env)
        theirs = kubectl(tls_cluster, *args)
        assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr), args
