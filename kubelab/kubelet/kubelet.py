"""The kubelet of one node: Pod objects bound to the node -> sandboxes and container processes -> status.

`sync(pods)` is level-triggered: given every Pod bound to this node, it converges and reports. What it
knows of each container (PID, restarts, back-off) is written to a small file per pod, so a restarted
daemon adopts the processes still running instead of starting them again.
"""
from __future__ import annotations

import glob
import json
import os
import signal
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from kubelab import images
from kubelab.kubelet import containers as ct
from kubelab.kubelet.probes import Prober, Target, timing
from kubelab.kubelet.sandbox import Sandbox, Sandboxes, pod_id
from kubelab.kubelet.status import pod_status
from netns import namespaces, processes
from netns.cluster import Lab
from netns.ledger import Owned

KUBERNETES_SERVICE_PORT = "443"
SIGKILL_EXIT = 128 + signal.SIGKILL


class PodApi(Protocol):
    def update_pod_status(self, namespace: str, name: str, status: dict) -> None: ...

    def finalize_pod(self, namespace: str, name: str, uid: str) -> None: ...


@dataclass
class PodRecord:
    uid: str
    namespace: str
    name: str
    started: float
    containers: dict[str, ct.Container] = field(default_factory=dict)
    stopping_deadline: float = 0.0

    def to_dict(self) -> dict:
        return {"uid": self.uid, "namespace": self.namespace, "name": self.name, "started": self.started,
                "stopping_deadline": self.stopping_deadline,
                "containers": {k: c.to_dict() for k, c in self.containers.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "PodRecord":
        cs = {k: ct.Container.from_dict(c) for k, c in d.pop("containers").items()}
        return cls(**d, containers=cs)


class Kubelet:
    def __init__(self, lab: Lab, node: str, api: PodApi, *, kubernetes_ip: str, dns_ip: str,
                 backoff_base: float = 10.0, clock=time.time):
        self.lab, self.node, self.api = lab, node, api
        self.node_net = lab.require_spec().node(node)
        self.kubernetes_ip = kubernetes_ip
        self.backoff_base = backoff_base
        self.clock = clock
        self.sandboxes = Sandboxes(lab, node, dns_ip)
        self.prober = Prober()
        self._probes: dict[tuple[str, str, str], Future] = {}
        self._sandboxes: dict[str, Sandbox] = {}
        self._saved: dict[str, str] = {}
        self.state_dir = os.path.join(lab.run_dir, "kubelet", node)
        self.records: dict[str, PodRecord] = self._load()

    # -- persistence ---------------------------------------------------------------------------------

    def _load(self) -> dict[str, PodRecord]:
        records = {}
        for path in glob.glob(os.path.join(self.state_dir, "*.json")):
            with open(path) as f:
                record = PodRecord.from_dict(json.load(f))
            records[record.uid] = record
        return records

    def _save(self, record: PodRecord) -> None:
        if not os.path.isdir(self.state_dir):
            self.lab.ledger.record(Owned("dir", os.path.dirname(self.state_dir)), Owned("dir", self.state_dir))
            os.makedirs(self.state_dir, exist_ok=True)
        text = json.dumps(record.to_dict())
        if self._saved.get(record.uid) == text:
            return
        path = os.path.join(self.state_dir, f"{record.uid}.json")
        if not os.path.exists(path):
            self.lab.ledger.record(Owned("file", path))
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        self._saved[record.uid] = text

    def _drop(self, record: PodRecord) -> None:
        self.records.pop(record.uid, None)
        self._saved.pop(record.uid, None)
        self._sandboxes.pop(record.uid, None)
        path = os.path.join(self.state_dir, f"{record.uid}.json")
        if os.path.exists(path):
            os.unlink(path)
            self.lab.ledger.forget(Owned("file", path))

    # -- the loop ------------------------------------------------------------------------------------

    def sync(self, pods: list[dict]) -> None:
        """Converge on `pods`, every Pod object bound to this node."""
        wanted = {p["metadata"]["uid"]: p for p in pods}
        for uid in [u for u in self.records if u not in wanted]:
            self._teardown(self.records[uid], grace=0)  # deleted without the graceful path (force)
        for pod in pods:
            self.sync_pod(pod)

    def sync_pod(self, pod: dict) -> None:
        meta = pod["metadata"]
        record = self.records.get(meta["uid"])
        if record is None:
            record = self.records[meta["uid"]] = PodRecord(meta["uid"], meta["namespace"], meta["name"], self.clock())
        if meta.get("deletionTimestamp"):
            if self._terminate(record, pod):
                self.api.finalize_pod(record.namespace, record.name, record.uid)
            self._save_if_present(record)
            return
        sandbox = self._sandbox(pod)
        now = self.clock()
        policy = pod["spec"].get("restartPolicy", "Always")
        for spec in pod["spec"]["containers"]:
            c = record.containers.get(spec["name"])
            if c is None:
                c = record.containers[spec["name"]] = ct.Container(spec["name"], spec["image"])
            self._sync_container(pod, sandbox, spec, c, policy, now)
        self._save(record)
        status = pod_status(pod, [record.containers[s["name"]] for s in pod["spec"]["containers"]],
                            str(sandbox.net.ip), str(self.node_net.ip), record.started, now)
        if _differs(pod.get("status", {}), status):
            self.api.update_pod_status(record.namespace, record.name, status)

    def _sandbox(self, pod: dict) -> Sandbox:
        uid = pod["metadata"]["uid"]
        sandbox = self._sandboxes.get(uid)
        if sandbox is None or not namespaces.exists(sandbox.netns):
            sandbox = self._sandboxes[uid] = self.sandboxes.ensure(pod)
        return sandbox

    def _save_if_present(self, record: PodRecord) -> None:
        if record.uid in self.records:
            self._save(record)

    # -- containers ----------------------------------------------------------------------------------

    def _sync_container(self, pod: dict, sandbox: Sandbox, spec: dict, c: ct.Container, policy: str,
                        now: float) -> None:
        if c.running:
            proc = processes.Process(c.pid, c.start_time)
            if not processes.running(proc):
                code = processes.exit_code(proc)
                ct.exited(c, SIGKILL_EXIT if code is None else _exit_status(code), now, policy, self.backoff_base)
            elif ct.image_changed(c, spec["image"]):
                # The image of a running pod changed (`kubectl set image pod/...`): replace the container now.
                processes.stop(proc, grace=float(pod["spec"].get("terminationGracePeriodSeconds", 30)))
                code = processes.exit_code(proc)
                ct.exited(c, SIGKILL_EXIT if code is None else _exit_status(code), now, "Always", backoff_base=0)
        c.image = spec["image"]
        if ct.due(c, now):
            self._start(pod, sandbox, spec, c, now)
        else:
            ct.waiting_for_pull_retry(c, now)
        if c.running:
            self._probe(pod, sandbox, spec, c, now)

    def _start(self, pod: dict, sandbox: Sandbox, spec: dict, c: ct.Container, now: float) -> None:
        try:
            argv = images.container_argv(spec)
        except images.ImagePullError as exc:
            ct.pull_failed(c, str(exc), now, self.backoff_base)
            return
        if not argv:
            ct.exited(c, 1, now, pod["spec"].get("restartPolicy", "Always"), self.backoff_base, "ContainerCannotRun")
            return
        proc = self.lab.start_process(sandbox.netns, sandbox.wrap(argv), f"{spec['name']}-{c.restart_count}",
                                      uts=sandbox.net.uts, env=self._env(pod, spec, sandbox),
                                      cwd=spec.get("workingDir") or "/")
        ct.started(c, proc.pid, proc.start_time, now)

    def _env(self, pod: dict, spec: dict, sandbox: Sandbox) -> dict[str, str]:
        meta = pod["metadata"]
        fields = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
                  "metadata.uid": meta["uid"], "spec.nodeName": self.node,
                  "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
                  "status.podIP": str(sandbox.net.ip), "status.hostIP": str(self.node_net.ip)}
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
               "HOSTNAME": pod["spec"].get("hostname", meta["name"]),
               "KUBERNETES_SERVICE_HOST": self.kubernetes_ip, "KUBERNETES_SERVICE_PORT": KUBERNETES_SERVICE_PORT,
               "KUBERNETES_PORT": f"tcp://{self.kubernetes_ip}:{KUBERNETES_SERVICE_PORT}"}
        for var in spec.get("env", []):
            source = var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            env[var["name"]] = fields.get(source, "") if source else str(var.get("value", ""))
        return env

    def _probe(self, pod: dict, sandbox: Sandbox, spec: dict, c: ct.Container, now: float) -> None:
        target = Target(self.node_net.netns, sandbox.netns, str(sandbox.net.ip), sandbox.net.uts,
                        {p["name"]: p["containerPort"] for p in spec.get("ports", []) if p.get("name")})
        for kind in ("readiness", "liveness"):
            probe = spec.get(f"{kind}Probe")
            if probe is None and kind == "readiness":
                # A built-in server is Ready once it first listens, and stays so: the image it stands for
                # has no probe, so nothing would ever take it out of its Service while it runs.
                probe = None if c.ready else images.startup_probe(spec)
                if probe is None:
                    c.ready = True
            if probe is not None:
                self._advance_probe(pod, kind, probe, target, c, now)

    def _advance_probe(self, pod: dict, kind: str, probe: dict, target: Target, c: ct.Container,
                       now: float) -> None:
        key = (pod["metadata"]["uid"], c.name, kind)
        state = c.probe.setdefault(kind, {"next": c.started_at + timing(probe, "initialDelaySeconds"),
                                          "ok": 0, "fail": 0})
        future = self._probes.get(key)
        if future is not None and future.done():
            del self._probes[key]
            if future.result():
                state["ok"], state["fail"] = state["ok"] + 1, 0
            else:
                state["ok"], state["fail"] = 0, state["fail"] + 1
            if kind == "readiness":
                if state["ok"] >= timing(probe, "successThreshold"):
                    c.ready = True
                elif state["fail"] >= timing(probe, "failureThreshold"):
                    c.ready = False
            elif state["fail"] >= timing(probe, "failureThreshold"):
                processes.stop(processes.Process(c.pid, c.start_time), grace=0.5)  # restarted next sync
        elif future is None and now >= state["next"]:
            state["next"] = now + timing(probe, "periodSeconds")
            self._probes[key] = self.prober.submit(probe, target)

    # -- termination ---------------------------------------------------------------------------------

    def _terminate(self, record: PodRecord, pod: dict | None) -> bool:
        """Graceful stop: SIGTERM now, SIGKILL once the grace period is over. True once all are gone."""
        now = self.clock()
        running = [processes.Process(c.pid, c.start_time) for c in record.containers.values() if c.running]
        running = [p for p in running if processes.running(p)]
        if running and not record.stopping_deadline:
            grace = (pod or {}).get("metadata", {}).get("deletionGracePeriodSeconds")
            if grace is None:
                grace = (pod or {}).get("spec", {}).get("terminationGracePeriodSeconds", 30)
            record.stopping_deadline = now + float(grace)
            _signal_all(running, signal.SIGTERM)
        elif running and now >= record.stopping_deadline:
            _signal_all(running, signal.SIGKILL)
        if running:
            return False
        self._teardown(record, grace=0)
        return True

    def _teardown(self, record: PodRecord, grace: float) -> None:
        for c in record.containers.values():
            if c.running:
                processes.stop(processes.Process(c.pid, c.start_time), grace=grace)
        self.sandboxes.remove([pod_id(record.namespace, record.name)])
        for key in [k for k in self._probes if k[0] == record.uid]:
            self._probes.pop(key).cancel()
        self._drop(record)

    def log_path(self, namespace: str, name: str, container: str | None = None, previous: bool = False) -> str | None:
        record = next((r for r in self.records.values() if (r.namespace, r.name) == (namespace, name)), None)
        if record is None or not record.containers:
            return None
        c = record.containers.get(container) if container else next(iter(record.containers.values()))
        if c is None:
            return None
        instance = c.restart_count - 1 if previous else c.restart_count
        netns_name = self.lab.require_spec().pod_netns(pod_id(namespace, name))
        path = os.path.join(self.lab.run_dir, "logs", netns_name, f"{c.name}-{instance}.log")
        return path if instance >= 0 and os.path.exists(path) else None

    def close(self) -> None:
        self.prober.close()


def _signal_all(procs: list[processes.Process], sig: int) -> None:
    for proc in procs:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass


def _exit_status(code: int) -> int:
    """Popen's -N (killed by signal N) as a container runtime reports it: 128 + N."""
    return 128 - code if code < 0 else code


def _differs(old: dict, new: dict) -> bool:
    return json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True)
