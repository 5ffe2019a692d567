"""What a trace adds to the cluster's namespaces, and its removal — also after Ctrl-C, SIGTERM or a crash.

Before anything is added, a state file in the run directory (recorded in the lab's ledger) names the
rules and, as they start, the helper processes; it is deleted last. A later trace (or `kubelab down`)
finds the files of traces whose process is gone and removes what they name.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time

from netns import capture, nftrace, processes
from netns.cluster import Lab
from netns.ledger import Owned
from netns.sidecar import Sidecar
from netns.spec import ClusterNet

STATE_DIR = "traces"
COMMENT = "kubelab-trace"
# Odd DSCP values belong to no standard class (CSx, AFxy, EF and VA are all even): no other traffic has them.
DSCP_VALUES = tuple(range(1, 64, 2))
SETTLE_TIMEOUT = 5.0  # how long to wait for a sentinel to show up in a monitor or capture
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _state_dir(lab: Lab) -> str:
    return os.path.join(lab.run_dir, STATE_DIR)


def _read_states(lab: Lab) -> list[tuple[str, dict]]:
    folder = _state_dir(lab)
    out = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        try:
            with open(path) as f:
                out.append((path, json.load(f)))
        except (OSError, ValueError):
            continue
    return out


def _alive(state: dict) -> bool:
    return processes.running(processes.Process(state["pid"], state["start"]))


def sweep(lab: Lab) -> int:
    """Remove what traces that died left behind; the number of traces cleaned."""
    cleaned = 0
    for path, state in _read_states(lab):
        if _alive(state):
            continue
        _remove(lab, state)
        _forget_file(lab, path)
        cleaned += 1
    return cleaned


def _remove(lab: Lab, state: dict) -> None:
    for helper in state.get("helpers", []):
        proc = processes.Process(helper["pid"], helper["start"], helper["log"])
        Sidecar(lab, helper["netns"], proc).stop()
    for pcap in state.get("files", []):
        _forget_file(lab, pcap)
    for netns in state.get("netns", []):
        nftrace.remove_trace_rules(netns, state["match"], state["comment"])


def _forget_file(lab: Lab, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    lab.ledger.forget(Owned("file", path))


def active_dscp(lab: Lab) -> set[int]:
    return {state.get("dscp") for _, state in _read_states(lab) if _alive(state)}


class Session:
    """TRACE rules + xtables-monitor in every node namespace, tcpdump there and in the client's namespace.

        with Session(lab, spec, client_netns) as s:
            ... send with DSCP s.dscp ...
            texts, seen = s.collect(send_sentinel)
    """

    def __init__(self, lab: Lab, spec: ClusterNet, client_netns: str):
        self.lab, self.spec = lab, spec
        self.node_netns = [n.netns for n in spec.nodes]
        self.capture_netns = list(dict.fromkeys([client_netns, *self.node_netns]))
        self.trace_id = f"{os.getpid()}-{random.getrandbits(24):06x}"
        free = [d for d in DSCP_VALUES if d not in active_dscp(lab)]
        self.dscp = random.choice(free or DSCP_VALUES)
        self.sentinel_port = random.randint(20000, 29999)
        self.match = ["-m", "dscp", "--dscp", str(self.dscp)]
        self.comment = f"{COMMENT} {self.trace_id}"
        self.monitors: dict[str, nftrace.Monitor] = {}
        self.captures: dict[str, capture.Capture] = {}
        self.state_path = os.path.join(_state_dir(lab), f"{self.trace_id}.json")

    # -- state file ---------------------------------------------------------------------------------

    def _state(self) -> dict:
        helpers = [{"netns": h.netns, "pid": h.process.pid, "start": h.process.start_time, "log": h.log}
                   for h in self._sidecars()]
        return {"pid": os.getpid(), "start": processes.start_time(os.getpid()), "dscp": self.dscp,
                "netns": self.node_netns, "match": self.match, "comment": self.comment, "helpers": helpers,
                "files": [c.path for c in self.captures.values()]}

    def _sidecars(self) -> list[Sidecar]:
        return [m.process for m in self.monitors.values()] + [c.process for c in self.captures.values()]

    def _save(self) -> None:
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self._state(), f)
        os.replace(tmp, self.state_path)

    # -- setup and teardown --------------------------------------------------------------------------

    def __enter__(self) -> "Session":
        sweep(self.lab)
        os.makedirs(_state_dir(self.lab), exist_ok=True)
        self.lab.ledger.record(Owned("dir", _state_dir(self.lab)))
        self.lab.own_file(self.state_path)
        self.lab.own_file(self.state_path + ".tmp")
        self._save()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        for netns in self.node_netns:
            self.monitors[netns] = nftrace.Monitor(self.lab, netns, self.trace_id)
            self._save()
        for netns in self.capture_netns:
            bpf = f"ip and (ip[1] & 0xfc) == {self.dscp << 2}"
            self.captures[netns] = capture.Capture(self.lab, netns, bpf, f"{self.trace_id}-{netns}")
            self._save()
        for netns in self.node_netns:
            nftrace.add_trace_rules(netns, self.match, self.comment)

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Remove everything this trace added. Signals wait until it is done: an interrupted cleanup is
        what would leave rules behind."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for netns in self.node_netns:
                nftrace.remove_trace_rules(netns, self.match, self.comment)
            for helper in self._sidecars():
                helper.stop()
            for cap in self.captures.values():
                cap.remove_file()
            self.monitors, self.captures = {}, {}
            _forget_file(self.lab, self.state_path)
            _forget_file(self.lab, self.state_path + ".tmp")
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    # -- results -------------------------------------------------------------------------------------

    def collect(self, send_sentinel) -> tuple[dict[str, str], list[capture.Seen]]:
        """Monitor output per node namespace and every captured packet (time order), once each monitor and
        capture has shown the sentinel `send_sentinel(netns, dscp, port)` sends through its namespace."""
        for netns in self.capture_netns:
            send_sentinel(netns, self.dscp, self.sentinel_port)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        pending = set(self.capture_netns) | set(self.monitors)
        while pending and time.monotonic() < deadline:
            pending = {ns for ns in pending if not self._settled(ns)}
            time.sleep(0.02)
        texts = {ns: m.text() for ns, m in self.monitors.items()}
        seen = sorted((p for c in self.captures.values() for p in c.packets()), key=lambda p: p.time)
        return texts, seen

    def frames(self) -> list:
        """Raw captured frames of all namespaces, for a pcap file."""
        return sorted((f for c in self.captures.values() for f in c.frames()), key=lambda f: float(f.time))

    def _settled(self, netns: str) -> bool:
        marker = f"DPORT={self.sentinel_port}"
        if netns in self.monitors and marker not in self.monitors[netns].text():
            return False
        if netns in self.captures:
            return any(is_sentinel(p.packet, self.sentinel_port) for p in self.captures[netns].packets())
        return True


def is_sentinel(ip, port: int) -> bool:
    return ip.dst == "127.0.0.1" and getattr(ip.payload, "dport", None) == port
