"""Rulesets -> iptables-restore input: the full text upstream writes, and kubelab's smaller partial text.

Both are meant for `iptables-restore --noflush --counters`: a ":CHAIN - [0:0]" line creates or
flushes that chain, "-X CHAIN" deletes it, and chains not named are left alone (upstream's
NoFlushTables, so other software's rules in the same tables survive).
"""
from __future__ import annotations

from dataclasses import dataclass

from kubeproxy.render import KUBE_NODEPORTS, KUBE_SERVICES, Ruleset, ServiceRules


def chain_line(chain: str) -> str:
    return f":{chain} - [0:0]"


@dataclass(frozen=True)
class RestoreText:
    """What one iptables-restore run writes, with the figures a sync reports."""

    text: str
    rules: int  # "-A"/"-I" lines written
    chains: int  # chains created or flushed
    deleted: int  # chains deleted

    @staticmethod
    def of(lines: list[str]) -> "RestoreText":
        text = "\n".join(lines) + "\n"
        rules = sum(1 for line in lines if line.startswith(("-A ", "-I ")))
        chains = sum(1 for line in lines if line.startswith(":"))
        deleted = sum(1 for line in lines if line.startswith("-X "))
        return RestoreText(text, rules, chains - deleted, deleted)


def _filter_table(rs: Ruleset) -> list[str]:
    lines = ["*filter", *map(chain_line, rs.filter_chains), *rs.filter_head]
    for rules in rs.services.values():
        lines += rules.filter_rules
    return lines + [*rs.filter_tail, "COMMIT"]


def full(rs: Ruleset, stale: list[str] = (), jumps: dict[str, list[str]] | None = None) -> RestoreText:
    """The whole ruleset, deleting `stale` nat chains, in upstream's order (filter table, then nat).

    `jumps` holds extra lines per table (the jumps from built-in chains that are missing, as "-I" lines).
    """
    jumps = jumps or {}
    nat = ["*nat", *map(chain_line, rs.all_nat_chains()), *map(chain_line, stale), *jumps.get("nat", []),
           *rs.nat_head]
    for rules in rs.services.values():
        nat += rules.nat_jumps
        nat += rules.chain_rules
    nat += [f"-X {chain}" for chain in stale]
    nat += [*rs.nat_tail, "COMMIT"]
    filt = _filter_table(rs)
    filt[len(rs.filter_chains) + 1:len(rs.filter_chains) + 1] = jumps.get("filter", [])
    return RestoreText.of(filt + nat)


def render_text(rs: Ruleset) -> str:
    """What `kubelab proxy render` prints: the full restore input of a first sync."""
    return full(rs).text


def _top_jumps(rs: Ruleset) -> list[str]:
    return [line for rules in rs.services.values() for line in rules.nat_jumps]


def partial(old: Ruleset, new: Ruleset) -> RestoreText | None:
    """Only what changed from `old` (what the kernel holds) to `new`; None when nothing did.

    Smaller than upstream's partial sync, which always rewrites KUBE-SERVICES, KUBE-NODEPORTS and the
    whole filter table: here those are rewritten only when a line in them changed, so a pure endpoint
    change rewrites just that service's SVC/SVL/EXT/FW chains and its new SEP chains, and deletes
    the SEP chains that went away.
    """
    changed = [key for key, rules in new.services.items()
               if old.services.get(key) is not rules and old.services.get(key) != rules]
    gone = [key for key in old.services if key not in new.services]
    if not changed and not gone and _fixed(old) == _fixed(new):
        return None
    live = {c for key in changed for c in new.services[key].chains}
    kept = {c for key in new.services if key not in changed for c in new.services[key].chains}
    stale = [c for key in [*changed, *gone] for c in old.services.get(key, _EMPTY).chains
             if c not in live and c not in kept]
    top_changed = _top_jumps(old) != _top_jumps(new) or old.nat_tail != new.nat_tail
    lines: list[str] = []
    if _filter_lines(old) != _filter_lines(new):
        lines += _filter_table(new)
    lines.append("*nat")
    if top_changed:
        lines += [chain_line(KUBE_SERVICES), chain_line(KUBE_NODEPORTS)]
    if old.nat_head != new.nat_head:
        lines += [chain_line(c) for c in new.nat_chains if c not in (KUBE_SERVICES, KUBE_NODEPORTS)]
    rewrite = {key: _new_or_changed_chains(old.services.get(key), new.services[key]) for key in changed}
    for key in changed:
        lines += map(chain_line, rewrite[key])
    lines += map(chain_line, stale)
    if old.nat_head != new.nat_head:
        lines += new.nat_head
    # In service order, as a full sync writes them: a rewritten KUBE-SERVICES must keep its order.
    for key in (new.services if top_changed else changed):
        rules = new.services[key]
        if top_changed:
            lines += rules.nat_jumps
        if key in rewrite:
            targets = set(rewrite[key])
            lines += [line for line in rules.chain_rules if line.split(" ", 2)[1] in targets]
    if top_changed:
        lines += new.nat_tail
    lines += [f"-X {chain}" for chain in stale]
    lines.append("COMMIT")
    return RestoreText.of(lines)


_EMPTY = ServiceRules((), (), (), ())


def _new_or_changed_chains(old: ServiceRules | None, new: ServiceRules) -> list[str]:
    """All of a changed port's chains are rewritten except SEP chains whose rules did not change.

    An endpoint chain's name hashes its "ip:port", and its rules depend only on that and the service's
    affinity and comment mode; so an unchanged name with unchanged rules needs no rewrite.
    """
    if old is None:
        return list(new.chains)
    before, after = _rules_by_chain(old), _rules_by_chain(new)
    return [c for c in new.chains if not (c.startswith("KUBE-SEP-") and before.get(c) == after.get(c))]


def _rules_by_chain(rules: ServiceRules) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {c: [] for c in rules.chains}
    for line in rules.chain_rules:
        out[line.split(" ", 2)[1]].append(line)
    return out


def _filter_lines(rs: Ruleset) -> list[str]:
    return _filter_table(rs)


def _fixed(rs: Ruleset) -> tuple:
    return (rs.filter_chains, rs.filter_head, rs.filter_tail, rs.nat_chains, rs.nat_head, rs.nat_tail)
