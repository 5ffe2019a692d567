"""The one narrow interface between kube-proxy and the kernel, and a fake of it (knftables' habit).

`Runner.restore(text)` feeds iptables-restore (-w --noflush --counters, as upstream's RestoreAll;
`noflush=False` drops --noflush, so each table named is replaced: see restore.py for when and why),
`save(table)` reads iptables-save (`counters=True`: with -c), `conntrack_delete(args)` runs `conntrack -D …`. `NamespaceRunner`
does that inside one network namespace with one iptables backend; `FakeRunner` keeps tables in memory
with iptables-restore's semantics, for tests without root.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
from contextlib import nullcontext
from typing import Protocol

from netns import namespaces

BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
}
BACKENDS = ("nft", "legacy")


class RestoreError(RuntimeError):
    """iptables-restore refused the input; `line` is the failing input line number when known."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class Runner(Protocol):
    backend: str

    def restore(self, text: str, noflush: bool = True) -> None: ...

    def save(self, table: str | None = None, counters: bool = False) -> str: ...

    def conntrack_delete(self, args: list[str]) -> None: ...


def _failing_line(stderr: str) -> int | None:
    # "iptables-restore: line 7 failed" (both backends)
    words = stderr.replace(":", " ").split()
    for i, word in enumerate(words[:-1]):
        if word == "line" and words[i + 1].isdigit():
            return int(words[i + 1])
    return None


class NamespaceRunner:
    """Runs iptables-{nft,legacy}-restore/save and conntrack inside network namespace `netns`.

    The calling thread enters the namespace for each command and the child inherits it (no
    `ip netns exec`, which would also set up a mount namespace per call).
    """

    def __init__(self, netns: str | None, backend: str | None = None):
        self.netns = netns
        self.backend = backend or detect_backend(netns)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown iptables backend {self.backend!r} (expected nft or legacy)")

    def _run(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
        with namespaces.entered(self.netns) if self.netns else nullcontext():
            return subprocess.run(argv, input=stdin, capture_output=True, text=True)

    def restore(self, text: str, noflush: bool = True) -> None:
        flags = ["-w", "--noflush", "--counters"] if noflush else ["-w", "--counters"]
        done = self._run([f"iptables-{self.backend}-restore", *flags], text)
        if done.returncode != 0:
            raise RestoreError(done.stderr.strip() or f"iptables-restore exited {done.returncode}",
                               _failing_line(done.stderr))

    def save(self, table: str | None = None, counters: bool = False) -> str:
        """iptables-save of one table, or of all tables when `table` is None; with counters, -c."""
        done = self._run([f"iptables-{self.backend}-save", *(["-c"] if counters else []),
                          *(["-t", table] if table else [])])
        if done.returncode != 0:
            raise RuntimeError(f"iptables-save {table or ''}: {done.stderr.strip()}")
        return done.stdout

    def conntrack_delete(self, args: list[str]) -> None:
        done = self._run(["conntrack", "-D", *args])
        # Exit 1 with "0 flow entries have been deleted" just means there was nothing to delete.
        if done.returncode not in (0, 1):
            raise RuntimeError(f"conntrack -D {' '.join(args)}: {done.stderr.strip()}")


def _rule_count(netns: str | None, backend: str) -> int:
    if shutil.which(f"iptables-{backend}-save") is None:
        return -1
    runner = NamespaceRunner.__new__(NamespaceRunner)
    runner.netns, runner.backend = netns, backend
    done = runner._run([f"iptables-{backend}-save"])
    return sum(1 for line in done.stdout.splitlines() if line.startswith("-A ")) if done.returncode == 0 else -1


def detect_backend(netns: str | None) -> str:
    """The backend already holding rules in the namespace (as the iptables-wrapper script decides);
    with none anywhere, the system's default (`iptables --version` names it)."""
    counts = {b: _rule_count(netns, b) for b in BACKENDS}
    if counts["legacy"] > 0 and counts["legacy"] > counts["nft"]:
        return "legacy"
    if counts["nft"] > 0:
        return "nft"
    version = subprocess.run(["iptables", "--version"], capture_output=True, text=True).stdout
    return "legacy" if "legacy" in version and counts["legacy"] >= 0 else "nft"


class FakeRunner:
    """In-memory tables with iptables-restore's semantics; records what was asked of it.

    Each table commits at its COMMIT line, all or nothing, like the real tool: a jump to a chain that
    does not exist, or deleting a chain still referenced, fails the restore with the line number.
    Without --noflush (`noflush=False`) a table named in the text starts from empty built-in chains.
    Counters are not kept: saved with counters, every one is [0:0].
    `backend` is "fake" unless given: pass "nft" to get the nft backend's full-sync shape.
    """

    def __init__(self, backend: str = "fake") -> None:
        self.backend = backend
        self.tables: dict[str, dict[str, list[str]]] = {
            t: {c: [] for c in chains} for t, chains in BUILTIN_CHAINS.items()}
        self.restores: list[str] = []
        self.noflush: list[bool] = []  # per restore
        self.conntrack: list[list[str]] = []
        self.fail_next: str | None = None  # message of an injected failure for the next restore

    def restore(self, text: str, noflush: bool = True) -> None:
        self.restores.append(text)
        self.noflush.append(noflush)
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            raise RestoreError(message)
        table_name, work = None, None
        for number, line in enumerate(text.splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            if line.startswith("*"):
                table_name = line[1:]
                work = (copy.deepcopy(self.tables.setdefault(table_name, {})) if noflush
                        else {c: [] for c in BUILTIN_CHAINS.get(table_name, ())})
            elif line == "COMMIT":
                self.tables[table_name] = work
            else:
                try:
                    _apply(work, line)
                except ValueError as exc:
                    raise RestoreError(f"line {number} failed: {exc}", number) from None

    def save(self, table: str | None = None, counters: bool = False) -> str:
        return "".join(self._save_table(t, counters) for t in ([table] if table else sorted(self.tables)))

    def _save_table(self, table: str, counters: bool = False) -> str:
        chains = self.tables.get(table, {})
        lines = [f"*{table}"]
        lines += [f":{c} {'ACCEPT' if c in BUILTIN_CHAINS.get(table, ()) else '-'} [0:0]" for c in chains]
        lines += [("[0:0] " if counters else "") + rule for rules in chains.values() for rule in rules]
        return "\n".join([*lines, "COMMIT"]) + "\n"

    def conntrack_delete(self, args: list[str]) -> None:
        self.conntrack.append(list(args))


def _target(rule: str) -> str | None:
    words = rule.split()
    return words[words.index("-j") + 1] if "-j" in words else None


def _apply(chains: dict[str, list[str]], line: str) -> None:
    if line.startswith("["):  # "[packets:bytes] -A …" (--counters)
        line = line.partition(" ")[2]
    op, _, rest = line.partition(" ")
    if line.startswith(":"):
        chains[line[1:].split()[0]] = []
        return
    chain = rest.split()[0]
    if chain not in chains:
        raise ValueError(f"no chain {chain}")
    if op == "-X":
        users = [c for c, rules in chains.items() if any(_target(r) == chain for r in rules)]
        if users:
            raise ValueError(f"chain {chain} is still referenced from {users[0]}")
        del chains[chain]
        return
    target = _target(line)
    if target and target.startswith("KUBE-") and target not in chains:
        raise ValueError(f"jump to missing chain {target}")
    if op == "-A":
        chains[chain].append(line)
    elif op == "-I":
        words = rest.split()
        position = int(words[1]) if len(words) > 1 and words[1].isdigit() else 1
        body = " ".join(words[2:] if words[1:2] and words[1].isdigit() else words[1:])
        chains[chain].insert(position - 1, f"-A {chain} {body}")
    else:
        raise ValueError(f"unsupported command {op}")
