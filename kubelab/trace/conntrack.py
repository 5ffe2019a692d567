"""Conntrack entries of a namespace (`conntrack -L`), as original and reply tuples."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass

from netns import namespaces


@dataclass(frozen=True)
class Tuple:
    src: str
    dst: str
    sport: int | None
    dport: int | None

    def __str__(self) -> str:
        if self.sport is None:
            return f"{self.src} -> {self.dst}"
        return f"{self.src}:{self.sport} -> {self.dst}:{self.dport}"


@dataclass(frozen=True)
class Entry:
    proto: str
    state: str  # TCP state ("ESTABLISHED", "TIME_WAIT"), "" for UDP
    original: Tuple
    reply: Tuple
    flags: tuple[str, ...]  # ASSURED, UNREPLIED
    mark: int
    line: str

    @property
    def dnat(self) -> bool:
        """The destination was translated: the reply does not come from where the original went."""
        return (self.reply.src, self.reply.sport) != (self.original.dst, self.original.dport)

    @property
    def snat(self) -> bool:
        return (self.reply.dst, self.reply.dport) != (self.original.src, self.original.sport)


def _tuple(fields: list[tuple[str, str]]) -> Tuple:
    d = dict(fields)
    return Tuple(d.get("src", ""), d.get("dst", ""), int(d["sport"]) if "sport" in d else None,
                 int(d["dport"]) if "dport" in d else None)


def parse_line(line: str) -> Entry | None:
    words = line.split()
    if len(words) < 4 or "=" in words[0]:
        return None
    pairs = [tuple(w.split("=", 1)) for w in words if "=" in w]
    addresses = [p for p in pairs if p[0] in ("src", "dst", "sport", "dport")]
    # The original tuple's fields come first, then the reply's: the second "src=" starts the reply.
    starts = [i for i, p in enumerate(addresses) if p[0] == "src"]
    if len(starts) < 2:
        return None
    original, reply = addresses[:starts[1]], addresses[starts[1]:]
    first = next(i for i, w in enumerate(words) if "=" in w)
    state = next((w for w in words[3:first] if w.isupper()), "")
    flags = tuple(w.strip("[]") for w in words if w.startswith("["))
    mark = int(dict(pairs).get("mark", "0"), 0)
    return Entry(words[0], state, _tuple(original), _tuple(reply), flags, mark, line.strip())


def parse(text: str) -> list[Entry]:
    return [e for e in map(parse_line, text.splitlines()) if e is not None]


def list_entries(netns: str, proto: str | None = None) -> list[Entry]:
    """`conntrack -L` inside `netns` (one protocol, or all)."""
    argv = ["conntrack", "-L", *(["-p", proto] if proto else [])]
    with namespaces.entered(netns):
        done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"conntrack -L in {netns}: {done.stderr.strip()}")
    return parse(done.stdout)


def follow(entries_by_netns: dict[str, list[Entry]], src: str, sport: int, proto: str
           ) -> list[tuple[str, Entry]]:
    """The entries one flow created, namespace by namespace: first the one whose original tuple starts at
    (src, sport), then the entry where its translated packet (as the reply tuple shows it) arrived next."""
    chain: list[tuple[str, Entry]] = []
    want = (src, sport)
    seen: set[str] = set()
    while True:
        hit = next(((ns, e) for ns, es in entries_by_netns.items() if ns not in seen for e in es
                    if e.proto == proto and (e.original.src, e.original.sport) == want), None)
        if hit is None:
            return chain
        chain.append(hit)
        seen.add(hit[0])
        # The packet left this namespace as (reply.dst:reply.dport -> reply.src:reply.sport).
        want = (hit[1].reply.dst, hit[1].reply.dport)
