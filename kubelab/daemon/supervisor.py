"""Starting, finding and stopping a cluster's daemon from the CLI (by recorded PID, never by pattern)."""
from __future__ import annotations

import json
import os
import sys
import time

from netns import processes
from netns.cluster import Lab
from netns.ledger import Owned

PIDFILE = "daemon.pid"
READY = "daemon.ready"


class DaemonFailed(RuntimeError):
    pass


def _path(lab: Lab, name: str) -> str:
    return os.path.join(lab.run_dir, name)


def running(lab: Lab) -> processes.Process | None:
    try:
        with open(_path(lab, PIDFILE)) as f:
            d = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    proc = processes.Process(d["pid"], d["startTime"], d.get("log", ""))
    return proc if processes.running(proc) else None


def mark_ready(lab: Lab) -> None:
    path = lab.own_file(_path(lab, READY))
    with open(path, "w") as f:
        f.write(str(os.getpid()))


def clear_ready(lab: Lab) -> None:
    try:
        os.unlink(_path(lab, READY))
    except FileNotFoundError:
        pass


def _ready_pid(lab: Lab) -> int | None:
    try:
        with open(_path(lab, READY)) as f:
            return int(f.read())
    except (FileNotFoundError, ValueError):
        return None


def start(lab: Lab, timeout: float = 30.0) -> processes.Process:
    """Start the daemon (unless it runs) and wait until it says it is ready."""
    current = running(lab)
    if current:
        return current
    clear_ready(lab)
    argv = [sys.executable, "-m", "kubelab.daemon", lab.name, "--run-base", os.path.dirname(lab.run_dir)]
    proc = lab.start_process(None, argv, "daemon")
    with open(lab.own_file(_path(lab, PIDFILE)), "w") as f:
        json.dump({"pid": proc.pid, "startTime": proc.start_time, "log": proc.log}, f)
    deadline = time.monotonic() + timeout
    while _ready_pid(lab) != proc.pid:
        if not processes.running(proc):
            raise DaemonFailed(f"the cluster daemon exited at start; its log ({proc.log}) ends with:\n"
                               + _tail(proc.log))
        if time.monotonic() > deadline:
            raise DaemonFailed(f"the cluster daemon did not get ready in {timeout:.0f}s; see {proc.log}")
        time.sleep(0.05)
    return proc


def stop(lab: Lab, grace: float = 10.0) -> bool:
    proc = running(lab)
    if proc is None:
        return False
    processes.stop(proc, grace=grace)
    lab.ledger.forget(Owned("process", str(proc.pid), "", proc.start_time))
    return True


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path) as f:
            return "".join(f.readlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
