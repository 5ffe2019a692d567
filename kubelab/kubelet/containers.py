"""What the kubelet knows about one container, and the decisions it takes about it.

The decisions (start now? wait in back-off? restart after exit?) are pure functions of this record and the
clock; starting and signalling processes happens in kubelet.py. Back-off follows the kubelet's: 10 s,
doubling per failure, capped at 5 minutes, reset after 10 minutes of running without trouble.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

BACKOFF_CAP = 300.0
BACKOFF_RESET_AFTER = 600.0
PULL_ERROR_SHOWN = 2.0


def rfc3339(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Container:
    name: str
    image: str
    pid: int = 0
    start_time: int = 0  # of the process, in clock ticks since boot (netns.processes)
    started_at: float = 0.0
    restart_count: int = 0
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    terminated: dict | None = None  # current state when it will not run again
    last_terminated: dict | None = None
    failures: int = 0  # consecutive, for back-off
    retry_at: float = 0.0
    pull_failed_at: float = 0.0
    ready: bool = False
    probe: dict = field(default_factory=dict)  # consecutive successes/failures per probe kind

    @property
    def running(self) -> bool:
        return self.pid != 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Container":
        return cls(**d)


def backoff_delay(failures: int, base: float) -> float:
    return min(base * 2 ** max(failures - 1, 0), BACKOFF_CAP)


def should_restart(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def started(c: Container, pid: int, start_time: int, now: float) -> None:
    c.pid, c.start_time, c.started_at = pid, start_time, now
    c.waiting_reason = c.waiting_message = ""
    c.terminated = None
    c.probe = {}
    c.ready = False


def exited(c: Container, exit_code: int, now: float, policy: str, backoff_base: float, reason: str = "") -> None:
    """Record a finished process; schedule its restart (with back-off) if the policy says so."""
    record = {"exitCode": exit_code, "reason": reason or ("Completed" if exit_code == 0 else "Error"),
              "startedAt": rfc3339(c.started_at), "finishedAt": rfc3339(now)}
    ran_long = now - c.started_at >= BACKOFF_RESET_AFTER
    c.pid = c.start_time = 0
    c.ready = False
    c.probe = {}
    c.failures = 1 if ran_long else c.failures + 1
    if should_restart(policy, exit_code):
        c.last_terminated = record
        c.waiting_reason, c.waiting_message = "CrashLoopBackOff", (
            f"back-off {int(backoff_delay(c.failures, backoff_base))}s restarting failed container={c.name}")
        c.retry_at = now + backoff_delay(c.failures, backoff_base)
        c.restart_count += 1
    else:
        c.terminated = record


def pull_failed(c: Container, message: str, now: float, backoff_base: float) -> None:
    c.failures += 1
    c.waiting_reason, c.waiting_message = "ErrImagePull", message
    c.pull_failed_at = now
    c.retry_at = now + backoff_delay(c.failures, backoff_base)


def waiting_for_pull_retry(c: Container, now: float) -> None:
    """A failed pull shows as ErrImagePull for a moment, then as ImagePullBackOff until the next try, as on
    a real node (the kubelet's next sync during the back-off reports ImagePullBackOff)."""
    if c.waiting_reason == "ErrImagePull" and now >= c.pull_failed_at + PULL_ERROR_SHOWN:
        c.waiting_reason, c.waiting_message = "ImagePullBackOff", f'Back-off pulling image "{c.image}"'


def image_changed(c: Container, image: str) -> bool:
    return c.image != image


def due(c: Container, now: float) -> bool:
    """Whether a stopped container may be (re)started now."""
    return not c.running and c.terminated is None and now >= c.retry_at
