"""The kernel's own packet trace in a namespace: TRACE rules in the raw table, read with
`xtables-monitor --trace`, which prints every rule a traced packet matches in iptables syntax (comments
included). Measured here: `-j LOG` prints nothing from non-initial namespaces; this works in them.

A packet is traced once a TRACE rule in raw PREROUTING (arriving packets) or raw OUTPUT (locally sent
ones) marks it; the mark lasts while the packet stays in the namespace (it is cleared when the packet
crosses a veth into another one), so each namespace on the path needs its own rules.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from netns import namespaces, sidecar
from netns.cluster import Lab

TRACE_CHAINS = ("PREROUTING", "OUTPUT")
NETLINK_NETFILTER = 12
NFNLGRP_NFTRACE_BIT = 1 << 8  # group 9: nftables trace events


class TraceRuleError(RuntimeError):
    pass


def _iptables(netns: str, args: list[str]) -> subprocess.CompletedProcess:
    with namespaces.entered(netns):
        return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True)


def trace_rule(match: list[str], comment: str) -> list[str]:
    """The rule body: `match` (e.g. ["-m", "dscp", "--dscp", "22"]), a comment naming who added it, TRACE."""
    return [*match, "-m", "comment", "--comment", comment, "-j", "TRACE"]


def add_trace_rules(netns: str, match: list[str], comment: str) -> None:
    """Insert the TRACE rule first in raw PREROUTING and raw OUTPUT of `netns`."""
    for chain in TRACE_CHAINS:
        done = _iptables(netns, ["-t", "raw", "-I", chain, *trace_rule(match, comment)])
        if done.returncode != 0:
            raise TraceRuleError(f"adding a TRACE rule in {netns}: {done.stderr.strip()}")


def remove_trace_rules(netns: str, match: list[str], comment: str) -> None:
    """Delete what add_trace_rules added (every copy); a namespace that is gone has nothing left to remove."""
    if not namespaces.exists(netns):
        return
    for chain in TRACE_CHAINS:
        while _iptables(netns, ["-t", "raw", "-D", chain, *trace_rule(match, comment)]).returncode == 0:
            pass


def trace_rules_present(netns: str, comment: str) -> list[str]:
    """Rules in `netns`'s raw table carrying `comment` (what a test checks is gone)."""
    done = _iptables(netns, ["-t", "raw", "-S"])
    return [line for line in done.stdout.splitlines() if comment in line]


class Monitor:
    """`xtables-monitor --trace` in `netns`, line-buffered into a log file until stop()."""

    def __init__(self, lab: Lab, netns: str, name: str):
        self.netns = netns
        # stdbuf: xtables-monitor uses stdio, which would hold output in a block buffer until it exits.
        self.process = sidecar.start(lab, netns, ["stdbuf", "-oL", "xtables-monitor", "--trace", "-4"],
                                     f"nftrace-{name}")
        self.process.wait_until(self._subscribed, 5.0, "xtables-monitor")

    def _subscribed(self) -> bool:
        """Whether the monitor's netlink socket has joined the trace group (else early events are lost)."""
        mine = sidecar.socket_inodes(self.process.process.pid)
        try:
            with open(f"/proc/{self.process.process.pid}/net/netlink") as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except FileNotFoundError:
            return False
        return any(int(r[1]) == NETLINK_NETFILTER and int(r[3], 16) & NFNLGRP_NFTRACE_BIT and int(r[9]) in mine
                   for r in rows if len(r) >= 10)

    def text(self) -> str:
        return self.process.read_log()

    def stop(self) -> None:
        self.process.stop()


@dataclass(frozen=True)
class TraceEvent:
    """One line of a trace: a rule matched (kind "rule"), a base chain's policy applied, or a return."""

    table: str
    chain: str
    kind: str  # rule | policy | return
    verdict: str  # CONTINUE, JUMP, GOTO, ACCEPT, DROP, RETURN, …
    target: str = ""  # the chain jumped to, for JUMP/GOTO
    rule: str = ""  # "-A CHAIN …" as iptables-save prints it


@dataclass
class TraceBlock:
    """The events of one packet in one hook/table, with the packet's fields as printed (SRC, DPORT, IN, …)."""

    trace_id: str
    fields: dict[str, str]
    flags: tuple[str, ...]
    events: list[TraceEvent] = field(default_factory=list)


def _packet_fields(words: list[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    fields, flags = {}, []
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
        else:
            flags.append(word)
    return fields, tuple(flags)


# nf_tables verdict codes xtables-monitor prints as numbers (NFT_CONTINUE … NFT_RETURN, negative in the kernel).
_VERDICTS = {"0xffffffff": "CONTINUE", "0xfffffffe": "BREAK", "0xfffffffd": "JUMP", "0xfffffffc": "GOTO",
             "0xfffffffb": "RETURN"}


def _event(head: str, rule: str) -> TraceEvent:
    parts = head.split(":")
    table, chain, kind = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    if kind == "rule":
        verdict = _VERDICTS.get(parts[4], parts[4]) if len(parts) > 4 else ""
        target = parts[5] if len(parts) > 5 else ""
        words = rule.split()
        # "-4 -t nat -A CHAIN …" -> "-A CHAIN …"
        if "-A" in words:
            rule = rule[rule.index("-A "):]
        return TraceEvent(table, chain, kind, verdict, target, rule.strip())
    verdict = parts[3] if len(parts) > 3 else ""
    return TraceEvent(table, chain, kind, verdict)


def parse(text: str) -> list[TraceBlock]:
    """xtables-monitor --trace output -> blocks, in the order printed."""
    blocks: list[TraceBlock] = []
    for line in text.splitlines():
        if line.startswith("PACKET:"):
            words = line.split()
            fields, flags = _packet_fields(words[3:])
            blocks.append(TraceBlock(words[2], fields, flags))
        elif line.lstrip().startswith("TRACE:") and blocks:
            words = line.split(None, 4)
            if len(words) >= 4:
                blocks[-1].events.append(_event(words[3], words[4] if len(words) > 4 else ""))
    return blocks
