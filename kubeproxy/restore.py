"""Rulesets -> iptables-restore input: the full text upstream writes, and kubelab's smaller partial text.

Both are meant for `iptables-restore --noflush --counters`: a ":CHAIN - [0:0]" line creates or
flushes that chain, "-X CHAIN" deletes it, and chains not named are left alone (upstream's
NoFlushTables, so other software's rules in the same tables survive).

One deviation, for full syncs only, measured with iptables 1.8.9 (nf_tables): `full(..., builtins=…)`
writes whole tables for a restore *without* --noflush (`RestoreText.noflush` is False), used when
kube-proxy owns every chain and rule of nat and filter (kernel_state.foreign). With --noflush,
iptables-nft-restore keeps the names of all chains a table's rules mention in a sorted linked list
(nft-cache.c, cache_chain_list_insert: one strcmp walk per rule) and then fetches each chain with its
own netlink request, so its time grows as rules x chains: at 1,000 services x 10 endpoints (12k chains,
35k rules) 9.3 s instead of 1.2 s without --noflush; at 3,000 x 1, 5.2 s instead of 0.67 s; at 10,000 x
1 it ran for minutes. Without --noflush the tool fetches no cache and replaces the table in one
transaction (delete table + add, atomic): 10,000 x 10 in ~22 s into an empty namespace. The legacy
backend has no such cost (10,000 x 10: 11-16 s either way), so it keeps upstream's shape.
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
    noflush: bool = True  # False: the text replaces each table it names (restore without --noflush)

    @staticmethod
    def of(lines: list[str], noflush: bool = True) -> "RestoreText":
        text = "\n".join(lines) + "\n"
        rules = sum(1 for line in lines if line.startswith(("-A ", "-I ", "[")))
        chains = sum(1 for line in lines if line.startswith(":"))
        deleted = sum(1 for line in lines if line.startswith("-X "))
        return RestoreText(text, rules, chains - deleted, deleted, noflush)


def _filter_rules(rs: Ruleset) -> list[str]:
    lines = list(rs.filter_head)
    for rules in rs.services.values():
        lines += rules.filter_rules
    return lines + list(rs.filter_tail)


def _filter_table(rs: Ruleset) -> list[str]:
    return ["*filter", *map(chain_line, rs.filter_chains), *_filter_rules(rs), "COMMIT"]


def _nat_rules(rs: Ruleset) -> list[str]:
    lines = list(rs.nat_head)
    for rules in rs.services.values():
        lines += rules.nat_jumps
        lines += rules.chain_rules
    return lines


def full(rs: Ruleset, stale: list[str] = (), jumps: dict[str, list[str]] | None = None,
         builtins: dict[str, tuple[list[str], list[str]]] | None = None) -> RestoreText:
    """The whole ruleset in upstream's order (filter table, then nat), for `--noflush`, deleting the
    `stale` nat chains.

    `jumps` holds extra lines per table (the jumps from built-in chains that are missing, as "-I" lines).
    With `builtins` ({table: (declaration lines, rule lines)} of the built-in chains, as iptables-save -c
    printed them), the text instead replaces both tables (restore without --noflush, see the module
    docstring): built-in chains are declared with their policy and counters and their rules written
    back before the missing jumps are prepended, so they end as a --noflush sync leaves them; stale
    chains need no "-X", as the old table goes as a whole.
    """
    jumps = jumps or {}
    if builtins is not None:
        stale = ()

    def table(name: str, chains: list[str], rules: list[str], tail: list[str]) -> list[str]:
        declared, kept = (builtins or {}).get(name, ([], []))
        return [f"*{name}", *declared, *map(chain_line, chains), *kept, *jumps.get(name, []), *rules, *tail,
                "COMMIT"]

    filt = table("filter", list(rs.filter_chains), _filter_rules(rs), [])
    nat = table("nat", [*rs.all_nat_chains(), *stale], _nat_rules(rs),
                [*(f"-X {chain}" for chain in stale), *rs.nat_tail])
    return RestoreText.of(filt + nat, noflush=builtins is None)


def render_text(rs: Ruleset) -> str:
    """What `kubelab proxy render` prints: the full restore input of a first sync."""
    return full(rs).text


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
    # A chain's name hashes its port's "ns/name:port" and protocol (the port key), so no other port can
    # hold a chain of a changed or gone port: only the port's own new chains keep one alive.
    live = {c for key in changed for c in new.services[key].chains}
    stale = [c for key in [*changed, *gone] for c in old.services.get(key, _EMPTY).chains if c not in live]
    top_changed = _differs(old, new, changed, "nat_jumps") or old.nat_tail != new.nat_tail
    lines: list[str] = []
    if (old.filter_chains, old.filter_head, old.filter_tail) != (new.filter_chains, new.filter_head,
                                                                  new.filter_tail) \
            or _differs(old, new, changed, "filter_rules"):
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


def _differs(old: Ruleset, new: Ruleset, changed: list, field: str) -> bool:
    """Whether the services' `field` lines, concatenated in service order, differ between old and new.

    With the same services in the same order only the changed ones can differ, which spares joining
    10,000 services' lines twice on every partial sync (~20 ms each at 10,000 services).
    """
    if old.services.keys() == new.services.keys() and list(old.services) == list(new.services):
        return any(getattr(old.services[k], field) != getattr(new.services[k], field) for k in changed)
    return ([line for rules in old.services.values() for line in getattr(rules, field)]
            != [line for rules in new.services.values() for line in getattr(rules, field)])


def _fixed(rs: Ruleset) -> tuple:
    return (rs.filter_chains, rs.filter_head, rs.filter_tail, rs.nat_chains, rs.nat_head, rs.nat_tail)
