"""iptables-save / iptables-restore text -> tables, chains and rules whose matches are data.

Pure. Understands the match options kube-proxy writes (and what iptables-save prints them as): -s/-d/-p/-i/-o
with "!", -m tcp/udp/sctp --dport/--sport, multiport, comment, addrtype, statistic, recent, mark, conntrack
--ctstate, nfacct, dscp; targets with -j/-g and their options (DNAT --to-destination, MARK --set-xmark …).
Any other match is kept as an `unmodelled` condition, so a walk can say what it had to assume.
Both "-A CHAIN" and "-I CHAIN [N]" lines are read (kube-proxy's restore input inserts the jumps from the
built-in chains); "[packets:bytes]" counters (iptables-save -c) are kept.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

BUILTIN = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
TERMINAL = ("ACCEPT", "DROP", "REJECT", "RETURN", "DNAT", "SNAT", "MASQUERADE", "REDIRECT")

# (module, option) -> condition kind; modules are what "-m" names (-p implies its own module).
_OPTIONS = {
    ("tcp", "--dport"): "dport", ("tcp", "--destination-port"): "dport",
    ("tcp", "--sport"): "sport", ("tcp", "--source-port"): "sport",
    ("udp", "--dport"): "dport", ("udp", "--destination-port"): "dport",
    ("udp", "--sport"): "sport", ("udp", "--source-port"): "sport",
    ("sctp", "--dport"): "dport", ("sctp", "--sport"): "sport",
    ("multiport", "--dports"): "dport", ("multiport", "--destination-ports"): "dport",
    ("multiport", "--sports"): "sport", ("multiport", "--source-ports"): "sport",
    ("addrtype", "--dst-type"): "dst-type", ("addrtype", "--src-type"): "src-type",
    ("statistic", "--probability"): "probability", ("statistic", "--every"): "every",
    ("recent", "--rcheck"): "recent", ("recent", "--update"): "recent",
    ("mark", "--mark"): "mark",
    ("conntrack", "--ctstate"): "ctstate", ("state", "--state"): "ctstate",
    ("dscp", "--dscp"): "dscp",
}
# Options that qualify another option or only count/record, and never decide a match.
_NEUTRAL = {
    ("statistic", "--mode"), ("statistic", "--packet"), ("recent", "--name"), ("recent", "--seconds"),
    ("recent", "--reap"), ("recent", "--set"), ("recent", "--rsource"), ("recent", "--mask"),
    ("recent", "--hitcount"), ("nfacct", "--nfacct-name"), ("addrtype", "--limit-iface-in"),
    ("addrtype", "--limit-iface-out"), ("tcp", "--syn"),
}
_ADDRESS = {"-s": "src", "--source": "src", "-d": "dst", "--destination": "dst", "-p": "proto",
            "--protocol": "proto", "-i": "in", "--in-interface": "in", "-o": "out", "--out-interface": "out"}


class ParseError(ValueError):
    pass


@dataclass(frozen=True)
class Cond:
    """One test a rule makes. `value` is as written ("10.244.0.0/16", "0x4000/0x4000", "NEW,RELATED")."""

    kind: str  # src dst proto in out dport sport dst-type src-type probability every recent mark ctstate dscp unmodelled
    value: str
    negated: bool = False

    def text(self) -> str:
        return f"{'! ' if self.negated else ''}{self.kind} {self.value}"


@dataclass(frozen=True)
class Rule:
    table: str
    chain: str
    text: str  # "-A CHAIN …" as iptables-save prints it (an "-I" line is shown as "-A")
    conds: tuple[Cond, ...]
    target: str | None  # None: a rule that only counts
    target_args: tuple[tuple[str, str], ...] = ()  # ("--to-destination", "10.244.0.5:8080"), …
    goto: bool = False  # -g: RETURN from the target returns from this chain too
    comment: str | None = None
    counters: tuple[int, int] | None = None  # (packets, bytes) when saved with -c

    def arg(self, option: str) -> str | None:
        return dict(self.target_args).get(option)


@dataclass
class Tables:
    """table -> chain -> rules, in order; and the built-in chains' policies."""

    chains: dict[str, dict[str, list[Rule]]] = field(default_factory=dict)
    policies: dict[tuple[str, str], str] = field(default_factory=dict)

    def chain(self, table: str, name: str) -> list[Rule]:
        return self.chains.get(table, {}).get(name, [])

    def policy(self, table: str, chain: str) -> str:
        return self.policies.get((table, chain), "ACCEPT")

    def has_chain(self, table: str, name: str) -> bool:
        return name in self.chains.get(table, {})

    def rules(self, table: str | None = None) -> list[Rule]:
        tables = [table] if table else list(self.chains)
        return [r for t in tables for rules in self.chains.get(t, {}).values() for r in rules]


def _counters(line: str) -> tuple[tuple[int, int] | None, str]:
    if not line.startswith("["):
        return None, line
    head, _, rest = line.partition("]")
    packets, _, octets = head[1:].partition(":")
    return (int(packets), int(octets)), rest.strip()


def _values(words: list[str], i: int) -> tuple[list[str], int]:
    """The values after an option: words up to the next option or "!"."""
    out = []
    while i < len(words) and words[i] != "!" and not (words[i].startswith("-") and len(words[i]) > 1
                                                       and not words[i][1].isdigit()):
        out.append(words[i])
        i += 1
    return out, i


def parse_rule(table: str, chain: str, words: list[str], text: str,
               counters: tuple[int, int] | None = None) -> Rule:
    """A rule from the words after "-A CHAIN"."""
    conds: list[Cond] = []
    module, negated, comment = "", False, None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "!":
            negated, i = True, i + 1
            continue
        if word in ("-j", "--jump", "-g", "--goto"):
            if i + 1 >= len(words):
                raise ParseError(f"{text}: {word} without a target")
            args = _target_args(words[i + 2:], text)
            return Rule(table, chain, text, tuple(conds), words[i + 1], args, word in ("-g", "--goto"), comment,
                        counters)
        values, nxt = _values(words, i + 1)
        if word in ("-m", "--match"):
            if not values:
                raise ParseError(f"{text}: -m without a module")
            module = values[0]
        elif word in _ADDRESS:
            if not values:
                raise ParseError(f"{text}: {word} without a value")
            kind = _ADDRESS[word]
            conds.append(Cond(kind, values[0], negated))
            if kind == "proto":
                module = values[0]
        elif module == "comment" and word == "--comment":
            comment = " ".join(values)
        elif (module, word) in _OPTIONS:
            conds.append(Cond(_OPTIONS[(module, word)], ",".join(values), negated))
        elif (module, word) not in _NEUTRAL:
            conds.append(Cond("unmodelled", " ".join([f"-m {module}" if module else "", word, *values]).strip(),
                              negated))
        negated, i = False, nxt
    return Rule(table, chain, text, tuple(conds), None, (), False, comment, counters)


def _target_args(words: list[str], text: str) -> tuple[tuple[str, str], ...]:
    args, i = [], 0
    while i < len(words):
        if not words[i].startswith("--"):
            raise ParseError(f"{text}: unexpected {words[i]!r} after the target")
        values, nxt = _values(words, i + 1)
        args.append((words[i], " ".join(values)))
        i = nxt
    return tuple(args)


def _quoted(words: list[str]) -> str:
    # iptables-save quotes a comment only when it needs to; shlex.join would also quote "!" and so on.
    return " ".join(f'"{w}"' if (" " in w or not w) else w for w in words)


def parse(text: str) -> Tables:
    """Every table in `text` (iptables-save output, with or without -c, or iptables-restore input)."""
    tables = Tables()
    table = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        try:
            table = _line(tables, table, line)
        except (ParseError, ValueError) as exc:
            raise ParseError(f"line {number}: {exc}") from None
    return tables


def _line(tables: Tables, table: str | None, line: str) -> str | None:
    if line.startswith("*"):
        table = line[1:].strip()
        tables.chains.setdefault(table, {c: [] for c in BUILTIN.get(table, ())})
        return table
    if table is None:
        raise ParseError(f"{line!r} before any *table line")
    if line.startswith(":"):
        name, policy, *_ = line[1:].split() + ["-"]
        tables.chains[table].setdefault(name, [])
        if policy != "-":
            tables.policies[(table, name)] = policy
        return table
    counters, line = _counters(line)
    words = shlex.split(line)
    if len(words) < 2:
        raise ParseError(f"cannot read {line!r}")
    op, chain, rest = words[0], words[1], words[2:]
    rules = tables.chains[table].setdefault(chain, [])
    if op in ("-N", "--new-chain"):
        return table
    if op in ("-F", "--flush"):
        rules.clear()
        return table
    if op in ("-X", "--delete-chain"):
        tables.chains[table].pop(chain, None)
        return table
    position = len(rules)
    if op in ("-I", "--insert"):
        position = 0
        if rest and rest[0].isdigit():
            position, rest = int(rest[0]) - 1, rest[1:]
    elif op not in ("-A", "--append"):
        raise ParseError(f"unsupported command {op}")
    text = line if op in ("-A", "--append") else _quoted(["-A", chain, *rest])
    rules.insert(position, parse_rule(table, chain, rest, text, counters))
    return table
