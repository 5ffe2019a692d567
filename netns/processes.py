"""Processes started inside a namespace: own session, output to a log file, identified by PID + start time.

The start time (field 22 of /proc/PID/stat, in clock ticks since boot) is recorded with the PID, so a
PID reused by somebody else's process after ours died is never signalled.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass

from netns import namespaces


@dataclass(frozen=True)
class Process:
    pid: int
    start_time: int
    log: str = ""


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return raw[raw.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def _state_and_group(pid: int) -> tuple[str, int, int] | None:
    fields = _stat(pid)
    return (fields[0], int(fields[2]), int(fields[19])) if fields else None


def start(netns_name: str | None, argv: list[str], log_path: str, env: dict | None = None,
          cwd: str | None = None, on_start=None, uts: str | None = None) -> Process:
    """Start `argv` inside namespace `netns_name` (None: where this process is) in a new session, stdout and
    stderr to `log_path`.

    `uts`: a UTS namespace bound at that path (namespaces.create_uts) for the process to join.
    `on_start(process)` runs right after the fork, before this returns: the place to record ownership.
    """
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    where = namespaces.entered(netns_name, uts=uts) if netns_name else contextlib.nullcontext()
    with open(log_path, "ab") as log, where:
        # The child is forked from this thread, which is inside the namespace: so is the child.
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, env=env, cwd=cwd, close_fds=True)
    proc = Process(child.pid, start_time(child.pid) or 0, log_path)
    _children[child.pid] = child
    if on_start:
        on_start(proc)
    return proc


# Popen objects of our own children, so that their exit is reaped (no zombies) when we ask about them.
_children: dict[int, subprocess.Popen] = {}


_exited: dict[int, int] = {}


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _exited[pid] = child.returncode
        del _children[pid]


def exit_code(proc: Process) -> int | None:
    """The exit status of a finished child of this process (-N: killed by signal N), told once;
    None while it runs, or when it was not our child (e.g. adopted after a restart)."""
    _reap(proc.pid)
    return _exited.pop(proc.pid, None)


def running(proc: Process) -> bool:
    """Whether the process (leader of its group) still runs; a zombie does not."""
    _reap(proc.pid)
    info = _state_and_group(proc.pid)
    return info is not None and info[2] == proc.start_time and info[0] not in ("Z", "X")


def _group_members(proc: Process) -> list[int]:
    """Live PIDs of the process group `proc` leads (or led: members outlive their leader)."""
    leader = _state_and_group(proc.pid)
    if leader is not None and leader[2] != proc.start_time:
        return []  # the PID now belongs to somebody else's process, and so would the group
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _state_and_group(int(entry))
            if info and info[1] == proc.pid and info[0] not in ("Z", "X"):
                members.append(int(entry))
    return members


def stop(proc: Process, grace: float = 2.0) -> None:
    """SIGTERM the process group, wait up to `grace` seconds, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0)):
        if not _group_members(proc):
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_members(proc):
            _reap(proc.pid)
            time.sleep(0.02)
    _reap(proc.pid)
