"""Remove what a ledger records — and nothing else — in the order the kernel needs.

1. process groups (a live process keeps its namespace alive);
2. links (and UTS namespaces bound to files), by name inside their recorded namespace (a veth whose pod namespace lingers would otherwise
   stay plugged into the node's bridge);
3. namespace names, only if the name still refers to the namespace we made (same nsfs inode);
4. files, then directories (only when empty: something we did not make inside survives).
Each item is forgotten as soon as it is gone, so an interrupted cleanup simply resumes.
"""
from __future__ import annotations

import errno
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from netns import namespaces, processes, rtnl
from netns.ledger import Ledger, Owned


@dataclass
class Removal:
    """What a cleanup removed, by kind, and what it could not remove (with why)."""

    removed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.removed) or bool(self.failed)

    def summary(self) -> str:
        plural = {"process": "processes", "directory": "directories"}
        parts = [f"{n} {kind if n == 1 else plural.get(kind, kind + 's')}" for kind, n in self.removed.items() if n]
        return ", ".join(parts) or "nothing"


def stop_processes(ledger: Ledger, items: list[Owned], removal: Removal, grace: float = 1.0) -> None:
    for item in items:
        proc = processes.Process(int(item.name), item.ident)
        processes.stop(proc, grace=grace)
        ledger.forget(item)
        removal.removed["process"] += 1


def delete_links(ledger: Ledger, items: list[Owned], removal: Removal, netns_ok) -> None:
    by_netns: dict[str, list[Owned]] = defaultdict(list)
    for item in items:
        by_netns[item.netns].append(item)
    for netns_name, links in by_netns.items():
        if netns_ok(netns_name):
            try:
                with namespaces.entered(netns_name), rtnl.open_socket() as sock:
                    rtnl.Batch().delete_links([link.name for link in links]).commit(sock)
            except FileNotFoundError:
                pass  # the namespace is already gone, and its links with it
            except OSError as exc:
                removal.failed.append(f"links in {netns_name}: {exc}")
                continue
        ledger.forget(*links)
        removal.removed["link"] += len(links)


def remove_owned(ledger: Ledger, select: Callable[[Owned], bool] | None = None) -> Removal:
    """Remove every recorded item (or those `select` picks); after a full removal, the ledger too."""
    everything = ledger.owned()
    recorded_netns = {o.name: o for o in everything if o.kind == "netns"}
    owned = [o for o in everything if select(o)] if select else everything
    by_kind: dict[str, list[Owned]] = defaultdict(list)
    for item in owned:
        by_kind[item.kind].append(item)

    def still_ours(name: str) -> bool:
        current, mine = namespaces.inode(name), recorded_netns.get(name)
        return current is not None and mine is not None and (not mine.ident or mine.ident == current)

    removal = Removal()
    stop_processes(ledger, by_kind["process"], removal)
    for item in by_kind["uts"]:
        namespaces.remove_bound(item.name)
        ledger.forget(item)
    delete_links(ledger, by_kind["link"], removal, still_ours)
    for item in by_kind["netns"]:
        if still_ours(item.name):
            namespaces.remove(item.name)
            removal.removed["namespace"] += 1
        ledger.forget(item)
    for item in by_kind["file"]:
        try:
            os.unlink(item.name)
            removal.removed["file"] += 1
        except FileNotFoundError:
            pass
        ledger.forget(item)
    for item in sorted(by_kind["dir"], key=lambda o: -len(o.name)):  # deepest first
        if item.name == ledger.run_dir:
            continue  # holds the journal itself: removed last, below
        try:
            os.rmdir(item.name)
            removal.removed["directory"] += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:
                removal.failed.append(f"{item.name}: {exc.strerror}")
                continue
            # Something we did not make lives in it now (another cluster's files): it stays.
        ledger.forget(item)
    if select is None and not removal.failed:
        ledger.remove()
        try:
            os.rmdir(ledger.run_dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            removal.failed.append(f"{ledger.run_dir}: {exc.strerror}")
    return removal
