"""Short-lived helper processes in a namespace (packet captures, trace monitors): started recorded in the
lab's ledger, so a crash leaves nothing `kubelab down`/`cleanup` would not find, and removed again —
process, ledger entries and log — as soon as their job is done."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

from netns import processes
from netns.cluster import Lab
from netns.ledger import Owned


@dataclass
class Sidecar:
    lab: Lab
    netns: str
    process: processes.Process

    @property
    def log(self) -> str:
        return self.process.log

    def read_log(self) -> str:
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def running(self) -> bool:
        return processes.running(self.process)

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until true; RuntimeError (with the log) if the process dies or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running():
                raise RuntimeError(f"{what} in {self.netns} exited: {self.read_log().strip()[-500:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} in {self.netns} not ready after {timeout:g}s")
            time.sleep(0.02)

    def stop(self, keep_log: bool = False) -> None:
        """Stop the process group and forget it; drop the log unless asked to keep it."""
        processes.stop(self.process, grace=1.0)
        ledger = self.lab.ledger
        ledger.forget(Owned("process", str(self.process.pid), self.netns, self.process.start_time))
        if not keep_log:
            try:
                os.unlink(self.log)
            except FileNotFoundError:
                pass
            ledger.forget(Owned("file", self.log, self.netns))


def start(lab: Lab, netns: str, argv: list[str], log_name: str) -> Sidecar:
    return Sidecar(lab, netns, lab.start_process(netns, argv, log_name))


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` has open (from /proc/PID/fd)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except FileNotFoundError:
        pass
    return inodes
