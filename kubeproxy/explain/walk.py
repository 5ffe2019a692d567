"""Walk the first packet of a new connection through parsed tables, the way netfilter would on one node.

Pure. Modelled on kube-proxy's own test tracer (tracePacket in pkg/proxy/iptables/proxier_test.go) and
made exact where that one guesses:
- the hooks follow the packet's path: from a pod or from outside it enters at PREROUTING, then INPUT
  (destination local after DNAT) or FORWARD, then POSTROUTING; from the node itself, OUTPUT then
  POSTROUTING (and INPUT if it stays local). In each hook the tables run in netfilter's priority order
  (raw, mangle, nat for DNAT, filter, nat for SNAT);
- a "-m statistic --probability p" rule forks the walk: one branch takes it (weight p), one does not
  (weight 1-p), so every endpoint comes out with its effective share (the 1/n, 1/(n-1), … ladder gives
  equal shares);
- the packet carries a mark (KUBE-MARK-MASQ sets 0x4000) and a conntrack state: NEW, plus DNAT once
  translated. A new connection has no "recent" history, so session-affinity checks do not match;
- matches the walker does not model are assumed to match, and said so in `Outcome.notes`.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from fractions import Fraction

from kubeproxy.explain.parse import Cond, Rule, Tables

ENTRIES = ("pod", "node", "outside")
LOOPBACK_INPUT = "INPUT (loopback)"
MAX_DEPTH = 64  # jumps nested deeper than this mean a loop in the rules
_DNAT_TABLES = {"PREROUTING": ("raw", "mangle", "nat"), "OUTPUT": ("raw", "mangle", "nat", "filter", "security"),
                "INPUT": ("mangle", "filter", "security", "nat"), "FORWARD": ("mangle", "filter", "security"),
                "POSTROUTING": ("mangle", "nat")}


class WalkError(ValueError):
    pass


@dataclass(frozen=True)
class Packet:
    src: str
    dst: str
    dport: int
    proto: str = "tcp"
    entry: str = "pod"  # pod | node | outside: where the packet comes from, as seen by the node
    sport: int | None = None  # None: any (rules testing it are assumed to match)
    dscp: int = 0

    def __post_init__(self):
        if self.entry not in ENTRIES:
            raise WalkError(f"unknown entry {self.entry!r} (expected one of {', '.join(ENTRIES)})")
        ipaddress.ip_address(self.src), ipaddress.ip_address(self.dst)

    @property
    def destination(self) -> str:
        return f"{self.dst}:{self.dport}"


@dataclass(frozen=True)
class Hit:
    """A rule that matched, in the hook it was reached from."""

    hook: str
    rule: Rule

    @property
    def table(self) -> str:
        return self.rule.table

    @property
    def chain(self) -> str:
        return self.rule.chain


@dataclass(frozen=True)
class Outcome:
    """One way the packet can go, with its probability."""

    probability: Fraction
    hits: tuple[Hit, ...]
    verdict: str  # ACCEPT, DROP or REJECT
    verdict_by: str  # the deciding rule's text, "policy filter FORWARD DROP", or "" (accepted by default)
    packet: Packet  # as it leaves: after DNAT (and SNAT --to-source)
    dnat: str | None  # "ip:port" the destination was rewritten to
    masqueraded: bool  # MASQUERADE (or SNAT) applied in POSTROUTING
    mark: int
    notes: tuple[str, ...] = ()

    @property
    def endpoint_chain(self) -> str | None:
        """The KUBE-SEP chain whose DNAT rule chose the endpoint."""
        return next((h.chain for h in reversed(self.hits) if h.rule.target == "DNAT"), None)

    def chain_path(self, table: str | None = "nat") -> list[str]:
        """Chains entered, in order (consecutive repeats folded), in one table or all."""
        path: list[str] = []
        for hit in self.hits:
            if (table is None or hit.table == table) and (not path or path[-1] != hit.chain):
                path.append(hit.chain)
        return path


@dataclass(frozen=True)
class _State:
    packet: Packet
    weight: Fraction = Fraction(1)
    mark: int = 0
    hits: tuple[Hit, ...] = ()
    dnat: str | None = None
    masqueraded: bool = False
    notes: tuple[str, ...] = ()

    def hit(self, hook: str, rule: Rule) -> "_State":
        return replace(self, hits=self.hits + (Hit(hook, rule),))

    def note(self, text: str) -> "_State":
        return self if text in self.notes else replace(self, notes=self.notes + (text,))


@dataclass(frozen=True)
class _Stop:
    """How a table's traversal ended: a verdict (ACCEPT/DROP/REJECT) and the rule that gave it."""

    verdict: str
    by: str


_ACCEPTED = _Stop("ACCEPT", "")


@dataclass
class Walker:
    tables: Tables
    local_ips: frozenset[str] = field(default_factory=frozenset)

    # -- matching ------------------------------------------------------------------------------------

    def _is_local(self, ip: str) -> bool:
        return ip in self.local_ips or ipaddress.ip_address(ip).is_loopback

    def _cond(self, cond: Cond, st: _State) -> bool | Fraction | None:
        """True/False, a probability for statistic matches, or None for a match not modelled."""
        p = st.packet
        kind, value = cond.kind, cond.value
        if kind in ("src", "dst"):
            return ipaddress.ip_address(p.src if kind == "src" else p.dst) in ipaddress.ip_network(value, strict=False)
        if kind == "proto":
            return value in (p.proto, "all")
        if kind in ("dport", "sport"):
            port = p.dport if kind == "dport" else p.sport
            return None if port is None else any(_in_range(port, r) for r in value.split(","))
        if kind in ("dst-type", "src-type"):
            types = set(value.split(","))
            local = self._is_local(p.dst if kind == "dst-type" else p.src)
            return ("LOCAL" in types) == local if types <= {"LOCAL"} else None
        if kind == "probability":
            return Fraction(float(value)).limit_denominator(10000)
        if kind == "every":
            return Fraction(1, int(value))
        if kind == "recent":
            return False  # a new connection has no affinity history
        if kind == "mark":
            want, _, mask = value.partition("/")
            return st.mark & int(mask or "0xffffffff", 0) == int(want, 0)
        if kind == "ctstate":
            states = {"NEW"} | ({"DNAT"} if st.dnat else set())
            return bool(states & set(value.split(",")))
        if kind == "dscp":
            return p.dscp == int(value, 0)
        return None

    def _match(self, rule: Rule, st: _State) -> tuple[Fraction, _State]:
        """The chance that `rule` matches, and the state noting any assumption made."""
        chance = Fraction(1)
        for cond in rule.conds:
            result = self._cond(cond, st)
            if result is None:
                st = st.note(f"assumed to match: {cond.text()} in {rule.text}")
                continue
            if isinstance(result, Fraction):
                chance *= result
                continue
            if result == cond.negated:
                return Fraction(0), st
        return chance, st

    # -- targets -------------------------------------------------------------------------------------

    def _mark(self, rule: Rule, st: _State) -> _State:
        args = dict(rule.target_args)
        for option, combine in (("--set-xmark", _xmark), ("--set-mark", _setmark)):
            if option in args:
                value, _, mask = args[option].partition("/")
                return replace(st, mark=combine(st.mark, int(value, 0), int(mask or "0xffffffff", 0)))
        if "--or-mark" in args:
            return replace(st, mark=st.mark | int(args["--or-mark"], 0))
        if "--xor-mark" in args:
            return replace(st, mark=st.mark ^ int(args["--xor-mark"], 0))
        if "--and-mark" in args:
            return replace(st, mark=st.mark & int(args["--and-mark"], 0))
        return st

    def _dnat(self, rule: Rule, st: _State) -> _State:
        to = rule.arg("--to-destination") or ""
        ip, _, port = to.partition(":")
        packet = replace(st.packet, dst=ip or st.packet.dst, dport=int(port) if port else st.packet.dport)
        return replace(st, packet=packet, dnat=packet.destination)

    def _snat(self, rule: Rule, st: _State) -> _State:
        to = rule.arg("--to-source")
        if rule.target == "SNAT" and to:
            ip, _, port = to.partition(":")
            st = replace(st, packet=replace(st.packet, src=ip, sport=int(port) if port else st.packet.sport))
        return replace(st, masqueraded=True)

    # -- chains --------------------------------------------------------------------------------------

    def _chain(self, hook: str, table: str, chain: str, st: _State, depth: int = 0
               ) -> list[tuple[_State, _Stop | None]]:
        """Every way through `chain`: (state, stop) with stop None when the chain returned."""
        if depth > MAX_DEPTH:
            raise WalkError(f"jumps nest deeper than {MAX_DEPTH} at {table} {chain}: a loop in the rules?")
        return self._rules(hook, table, self.tables.chain(table, chain), 0, st, depth)

    def _rules(self, hook: str, table: str, rules: list[Rule], start: int, st: _State, depth: int
               ) -> list[tuple[_State, _Stop | None]]:
        # Branches where a statistic rule did not match come after the one where it did, so outcomes are
        # listed in rule order (the first endpoint first).
        not_taken: list[tuple[_State, _Stop | None]] = []
        for i in range(start, len(rules)):
            rule = rules[i]
            chance, st = self._match(rule, st)
            if chance == 0:
                continue
            if chance < 1:
                rest = self._rules(hook, table, rules, i + 1, replace(st, weight=st.weight * (1 - chance)), depth)
                not_taken = rest + not_taken
                st = replace(st, weight=st.weight * chance)
            st = st.hit(hook, rule)
            done = self._target(hook, table, rules, i, rule, st, depth)
            if done is not None:
                return done + not_taken
        return [(st, None)] + not_taken

    def _target(self, hook: str, table: str, rules: list[Rule], i: int, rule: Rule, st: _State, depth: int
                ) -> list[tuple[_State, _Stop | None]] | None:
        """What the matched rule's target does; None: go on with the next rule."""
        target = rule.target
        if target in (None, "TRACE", "LOG", "NFLOG", "CT", "CONNMARK", "NOTRACK"):
            return None
        if target == "MARK":
            return self._continue_after(hook, table, rules, i, self._mark(rule, st), depth)
        if target in ("ACCEPT", "DROP", "REJECT"):
            return [(st, _Stop(target, rule.text))]
        if target == "RETURN":
            return [(st, None)]
        if target in ("DNAT", "REDIRECT"):
            return [(self._dnat(rule, st), _Stop("ACCEPT", rule.text))]
        if target in ("SNAT", "MASQUERADE"):
            return [(self._snat(rule, st), _Stop("ACCEPT", rule.text))]
        if not self.tables.has_chain(table, target):
            return self._continue_after(hook, table, rules, i, st.note(f"target {target} not modelled"), depth)
        out = []
        for sub, stop in self._chain(hook, table, target, st, depth + 1):
            if stop is not None or rule.goto:
                out.append((sub, stop))
            else:
                out += self._rules(hook, table, rules, i + 1, sub, depth)
        return out

    def _continue_after(self, hook: str, table: str, rules: list[Rule], i: int, st: _State, depth: int
                        ) -> list[tuple[_State, _Stop | None]]:
        return self._rules(hook, table, rules, i + 1, st, depth)

    def _table(self, hook: str, table: str, st: _State) -> list[tuple[_State, _Stop]]:
        if not self.tables.has_chain(table, hook):
            return [(st, _ACCEPTED)]
        out = []
        for sub, stop in self._chain(hook, table, hook, st):
            if stop is None:
                policy = self.tables.policy(table, hook)
                stop = _ACCEPTED if policy == "ACCEPT" else _Stop(policy, f"policy {table} {hook} {policy}")
            out.append((sub, stop))
        return out

    def _hook(self, hook: str, st: _State) -> list[tuple[_State, _Stop]]:
        """The tables of one hook in priority order; nat's SNAT half only where SNAT happens."""
        states = [(st, _ACCEPTED)]
        for table in _DNAT_TABLES[hook]:
            nxt = []
            for sub, stop in states:
                nxt += [(sub, stop)] if stop.verdict != "ACCEPT" else self._table(hook, table, sub)
            states = nxt
        return states

    def _next_hook(self, hook: str, st: _State) -> str | None:
        """The next hook on the packet's path (routing decides on the destination after DNAT)."""
        local = self._is_local(st.packet.dst)
        if hook == "PREROUTING":
            return "INPUT" if local else "FORWARD"
        if hook in ("FORWARD", "OUTPUT"):
            return "POSTROUTING"
        if hook == "POSTROUTING" and st.packet.entry == "node" and local:
            return LOOPBACK_INPUT
        return None

    def walk(self, packet: Packet) -> list[Outcome]:
        """Every way the first packet of a new connection can go on this node."""
        first = "OUTPUT" if packet.entry == "node" else "PREROUTING"
        return [self._outcome(st, stop) for st, stop in self._from(first, _State(packet))]

    def _from(self, hook: str, st: _State) -> list[tuple[_State, _Stop]]:
        if hook == LOOPBACK_INPUT:  # the node talking to itself: nat ran already for this connection
            results = self._table("INPUT", "filter", st)
        else:
            results = self._hook(hook, st)
        out = []
        for sub, stop in results:
            nxt = self._next_hook(hook, sub) if stop.verdict == "ACCEPT" else None
            out += self._from(nxt, sub) if nxt else [(sub, stop)]
        return out

    @staticmethod
    def _outcome(st: _State, stop: _Stop) -> Outcome:
        return Outcome(st.weight, st.hits, stop.verdict, stop.by, st.packet, st.dnat, st.masqueraded, st.mark,
                       st.notes)


def _in_range(port: int, spec: str) -> bool:
    low, _, high = spec.partition(":")
    return int(low) <= port <= int(high or low)


def _xmark(mark: int, value: int, mask: int) -> int:
    return (mark & ~mask & 0xFFFFFFFF) ^ value


def _setmark(mark: int, value: int, mask: int) -> int:
    return (mark & ~mask & 0xFFFFFFFF) | value


def walk(tables: Tables, packet: Packet, local_ips=()) -> list[Outcome]:
    """Every way `packet` can go through `tables` on a node whose own addresses are `local_ips`."""
    return Walker(tables, frozenset(local_ips)).walk(packet)
