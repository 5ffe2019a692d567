"""The built-in servers answer like the tutorial images, with the pod's hostname, inside a pod."""
import subprocess
import time

import pytest

from kubelab.images import container_argv
from netns.pods import PodNetworks

pytestmark = pytest.mark.netns


def http_get(netns_name: str, url: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        result = subprocess.run(["ip", "netns", "exec", netns_name, "curl", "-sS", "-m", "2", url],
                                capture_output=True, text=True)
        if result.returncode == 0 or time.monotonic() > deadline:
            return result.stdout
        time.sleep(0.1)


@pytest.mark.parametrize("image, port, expected", [
    ("luksa/kubia", 8080, "You've hit kubia-7x2b\n"),
    ("gcr.io/google-samples/kubernetes-bootcamp:v1", 8080,
     "Hello Kubernetes bootcamp! | Running on: kubia-7x2b | v=1\n"),
    ("jocatalin/kubernetes-bootcamp:v2", 8080, "Hello Kubernetes bootcamp! | Running on: kubia-7x2b | v=2\n"),
    ("nginx", 80, "<title>Welcome to nginx!</title>"),
    ("kubelab/echo", 8080, "client=10.244.0.1:"),
])
def test_image_answers_with_the_pod_hostname(lab, image, port, expected):
    (pod,) = PodNetworks(lab).add("node1", ["default.kubia-7x2b"], hostnames={"default.kubia-7x2b": "kubia-7x2b"})
    lab.start_process(pod.netns, container_argv({"image": image}), "app", uts=pod.uts)
    body = http_get(lab.spec().node("node1").netns, f"http://{pod.ip}:{port}/")
    assert expected in body
    if image == "nginx":
        assert "kubia-7x2b" in body
