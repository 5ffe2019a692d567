"""What a cluster owns, recorded on disk before (or as) it is created, so cleanup removes exactly that.

An append-only journal of JSON lines in the cluster's run directory: `+` when something is about to be
created, `-` when it is gone. Replaying it gives the live set. Appends are not fsync'ed: the journal must
survive a killed process (the page cache does), not a power cut (which takes the namespaces with it).
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Iterable, Iterator

JOURNAL = "owned.jsonl"


@dataclass(frozen=True, order=True)
class Owned:
    """One thing the cluster made. `kind` is netns, link, process, file or dir."""

    kind: str
    name: str  # netns name, link name, pid (as text), or path
    netns: str = ""  # the namespace it lives in or belongs to (a namespace: itself)
    ident: int = 0  # netns: nsfs inode; process: start time in clock ticks; else 0

    def key(self) -> tuple[str, str, str]:
        return self.kind, self.name, self.netns


def owned_netns(name: str, inode: int = 0) -> Owned:
    return Owned("netns", name, name, inode)


class Ledger:
    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, JOURNAL)

    @contextmanager
    def _locked(self, mode: int = fcntl.LOCK_EX) -> Iterator[None]:
        # The lock is on the directory, not the journal: compaction replaces the journal file, and an
        # appender holding the old one would write into a file nobody reads again.
        os.makedirs(self.run_dir, mode=0o700, exist_ok=True)
        fd = os.open(self.run_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    def _append(self, sign: str, items: Iterable[Owned]) -> None:
        lines = "".join(json.dumps([sign, o.kind, o.name, o.netns, o.ident]) + "\n" for o in items)
        if not lines:
            return
        with self._locked(), open(self.path, "a") as journal:
            journal.write(lines)

    def record(self, *items: Owned) -> None:
        """Record items; recording one again with a new `ident` (e.g. an inode learnt later) replaces it."""
        self._append("+", items)

    def forget(self, *items: Owned) -> None:
        self._append("-", items)

    def _read_unlocked(self) -> list[tuple[str, Owned]]:
        try:
            with open(self.path) as journal:
                lines = journal.readlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            try:
                sign, kind, name, netns, ident = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash mid-write names nothing whole
            entries.append((sign, Owned(kind, name, netns, ident)))
        return entries

    @staticmethod
    def _live(entries: list[tuple[str, Owned]]) -> list[Owned]:
        live: dict[tuple, Owned] = {}
        for sign, item in entries:
            if sign == "+":
                live[item.key()] = item
            else:
                live.pop(item.key(), None)
        return list(live.values())

    def owned(self) -> list[Owned]:
        """The live set, in creation order."""
        if not os.path.exists(self.path):
            return []  # and do not create the run directory just to look
        with self._locked(fcntl.LOCK_SH):
            return self._live(self._read_unlocked())

    def of_kind(self, kind: str) -> list[Owned]:
        return [o for o in self.owned() if o.kind == kind]

    def compact(self) -> None:
        """Rewrite the journal as just the live set (it only grows otherwise)."""
        with self._locked():
            live = self._live(self._read_unlocked())
            tmp = self.path + ".tmp"
            with open(tmp, "w") as out:
                out.writelines(json.dumps(["+", o.kind, o.name, o.netns, o.ident]) + "\n" for o in live)
            os.replace(tmp, self.path)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
