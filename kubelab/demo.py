"""`kubelab demo`: the seed tutorials, end to end, on a fresh 2-node lab.

Each step prints the command a user would type (`kubelab X` is `kubectl X`) and what to notice; the
commands really run, through the same CLI. Packets are real: curl from outside the cluster, from a pod
and from a node; a client keeps requesting while v2 rolls out and counts its failures.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter

import click

from kubelab.httpclient import http_get
from netns.cluster import Lab

APP = "kubernetes-bootcamp"
V1 = "gcr.io/google-samples/kubernetes-bootcamp:v1"
V2 = "jocatalin/kubernetes-bootcamp:v2"
V10 = "jocatalin/kubernetes-bootcamp:v10"


class Demo:
    def __init__(self, cluster: str):
        self.cluster = cluster
        self.lab = Lab(cluster)
        self.ok = True

    # -- presentation -------------------------------------------------------------------------------------

    @staticmethod
    def step(title: str, notice: str = "") -> None:
        click.secho(f"\n== {title}", bold=True)
        if notice:
            click.echo(f"   notice: {notice}")

    def kubelab(self, *args: str, show: bool = True, check: bool = True) -> str:
        """Run `kubelab ARGS` as a user would, echo it and its output; return the output."""
        if show:
            click.secho(f"$ kubelab {shlex.join(args)}", fg="cyan")
        result = subprocess.run([sys.executable, "-m", "kubelab", "--cluster", self.cluster, *args],
                                capture_output=True, text=True, timeout=120)
        output = (result.stdout + result.stderr).rstrip()
        if show and output:
            click.echo("\n".join(f"   {line}" for line in output.splitlines()))
        if check and result.returncode != 0:
            self.ok = False
            click.secho(f"   (exit code {result.returncode})", fg="red")
        return result.stdout

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubelab("get", *args, "-o", "json", show=False))

    def wait(self, what: str, predicate, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.3)
        self.ok = False
        click.secho(f"   gave up waiting for {what}", fg="red")
        return False

    # -- facts about the cluster ----------------------------------------------------------------------------

    def pods(self) -> list[dict]:
        return self.get_json("pods", "-l", f"app={APP}")["items"]

    def ready_pods(self) -> list[dict]:
        return [p for p in self.pods() if not p["metadata"].get("deletionTimestamp")
                and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))]

    def endpoints(self) -> list[str]:
        ep = self.get_json("endpoints", APP)
        return sorted(f"{a['ip']}" for s in ep.get("subsets") or [] for a in s.get("addresses") or [])

    # -- the tour -------------------------------------------------------------------------------------------

    def run(self) -> bool:
        self.step("kubelab up", "each node is a network namespace; a daemon runs the API server, the controllers, "
                                "and per node a kubelet and a kube-proxy")
        self.kubelab("up")
        spec = self.lab.require_spec()
        node1, node2 = spec.nodes[0], spec.nodes[-1]
        self.kubelab("get", "nodes", "-o", "wide")

        self.step("create a Deployment (the Kubernetes basics tutorial)",
                  "a ReplicaSet named after the template's hash makes the pod; the scheduler binds it to a node")
        self.kubelab("create", "deployment", APP, f"--image={V1}")
        self.wait("the pod to be ready", lambda: len(self.ready_pods()) == 1)
        self.kubelab("get", "deployments")
        self.kubelab("get", "pods", "-o", "wide")

        self.step("expose it as a NodePort Service",
                  "a ClusterIP from 10.96.0.0/16 and a nodePort from 30000-32767; kube-proxy writes the rules on every node")
        self.kubelab("expose", f"deployment/{APP}", "--type=NodePort", "--port", "8080")
        svc = self.get_json("services", APP)
        node_port = svc["spec"]["ports"][0]["nodePort"]
        cluster_ip = svc["spec"]["clusterIP"]
        self.kubelab("get", "services")
        self.wait("the endpoint", lambda: len(self.endpoints()) == 1)

        pod = self.ready_pods()[0]["metadata"]["name"]
        self.step("curl nodeIP:nodePort from outside the cluster",
                  "the external namespace sits on the LAN; the node DNATs to the pod's 8080 and masquerades")
        self.kubelab("run-in", "external", "--", "curl", "-sS", "-m", "5", f"http://{node1.ip}:{node_port}")
        self.step("... from a pod, from a node, and the ClusterIP from a pod")
        self.kubelab("exec", pod, "--", "curl", "-sS", "-m", "5", f"http://{node2.ip}:{node_port}")
        self.kubelab("run-in", f"node/{node2.name}", "--", "curl", "-sS", "-m", "5", f"http://{node1.ip}:{node_port}")
        self.kubelab("exec", pod, "--", "curl", "-sS", "-m", "5", f"http://{cluster_ip}:8080")

        self.step("scale to 4 replicas", "kube-proxy spreads new connections at random: 1/4, then 1/3 of the rest, …")
        self.kubelab("scale", f"deployments/{APP}", "--replicas=4")
        self.wait("4 endpoints", lambda: len(self.endpoints()) == 4)
        self.kubelab("get", "pods", "-o", "wide")
        self.spread(spec.ext_netns, str(node1.ip), node_port, requests=40)

        self.step("delete a pod", "the ReplicaSet replaces it; the EndpointSlice follows, and so do the rules")
        before = self.endpoints()
        victim = self.ready_pods()[0]["metadata"]["name"]
        self.kubelab("get", "endpoints", APP)
        self.kubelab("delete", "pod", victim)
        self.wait("the replacement", lambda: len(self.endpoints()) == 4 and self.endpoints() != before)
        self.kubelab("get", "endpoints", APP)

        self.step("roll out v2 while a client keeps requesting",
                  "maxSurge/maxUnavailable 25%: new pods become Ready before old ones go; old ones drain on SIGTERM")
        with Client(spec.ext_netns, str(node1.ip), node_port) as client:
            self.kubelab("set", "image", f"deployments/{APP}", f"{APP}={V2}")
            self.kubelab("rollout", "status", f"deployments/{APP}", "--timeout=120s")
            self.wait("v2 everywhere", lambda: all(c["image"] == V2 for p in self.ready_pods()
                                                  for c in p["spec"]["containers"]) and len(self.ready_pods()) == 4)
            time.sleep(1.0)
        click.echo(f"   client: {client.total} requests, {client.failed} failed; answers: {dict(client.versions)}")
        if client.failed:
            self.ok = False

        self.step(f"set an image that does not exist ({V10})", "the new pod waits in ErrImagePull, then ImagePullBackOff;"
                  " the old pods keep serving")
        self.kubelab("set", "image", f"deployments/{APP}", f"{APP}={V10}")
        self.wait("ImagePullBackOff", lambda: any(
            (c.get("state", {}).get("waiting") or {}).get("reason") == "ImagePullBackOff"
            for p in self.pods() for c in p.get("status", {}).get("containerStatuses", [])), timeout=30)
        self.kubelab("get", "pods")

        self.step("roll back", "rollout undo brings back the previous template (v2) as a new revision")
        self.kubelab("rollout", "undo", f"deployments/{APP}")
        self.kubelab("rollout", "status", f"deployments/{APP}", "--timeout=120s")
        self.kubelab("rollout", "history", f"deployments/{APP}")
        self.kubelab("get", "pods", "-o", "wide")

        self.step(f"the Service's chains on {node1.name}",
                  "KUBE-SERVICES -> KUBE-SVC-… picks a KUBE-SEP-… per endpoint with probability 1/4, 1/3, 1/2, 1")
        self.show_chains(node1.netns, svc)
        return self.ok

    def spread(self, netns: str, host: str, port: int, requests: int) -> None:
        counts = Counter()
        for _ in range(requests):
            try:
                counts[http_get(netns, host, port, timeout=3).rsplit("Running on: ", 1)[-1].split(" |")[0]] += 1
            except OSError:
                counts["(failed)"] += 1
        click.echo(f"   {requests} requests from outside: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))

    def show_chains(self, netns: str, svc: dict) -> None:
        click.secho(f"$ kubelab run-in node/... -- iptables-save -t nat | grep default/{APP}", fg="cyan")
        text = subprocess.run(["ip", "netns", "exec", netns, "iptables-save", "-t", "nat"],
                              capture_output=True, text=True).stdout
        for line in text.splitlines():
            if f"default/{APP}" in line:
                click.echo(f"   {line}")


class Client:
    """Keeps requesting a URL from inside a namespace in a thread; counts failures and answers."""

    def __init__(self, netns: str, host: str, port: int):
        self.netns, self.host, self.port = netns, host, port
        self.total = self.failed = 0
        self.versions: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.total += 1
            try:
                body = http_get(self.netns, self.host, self.port, timeout=3)
                self.versions[body.rsplit("| ", 1)[-1].strip()] += 1
            except OSError:
                self.failed += 1
            time.sleep(0.02)

    def __enter__(self) -> "Client":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run(cluster: str, keep: bool = False) -> bool:
    demo = Demo(cluster)
    try:
        ok = demo.run()
    finally:
        if keep:
            Demo.step(f"kept: look around, then `kubelab --cluster {cluster} down`")
        else:
            Demo.step("kubelab down", "everything the cluster recorded as its own is removed")
            demo.kubelab("down")
    ok = ok and demo.ok
    click.secho("\ndemo " + ("passed" if ok else "FAILED: a step above did not go as expected"),
                fg="green" if ok else "red", bold=True)
    return ok
