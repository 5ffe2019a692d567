"""Generated names: random suffixes and the Deployment pod-template hash, with upstream's alphabet.

Upstream hashes the Go struct with FNV-32a (controller.ComputeHash over hashutil.DeepHashObject, then
rand.SafeEncodeString of the decimal sum). Go's struct dump cannot be reproduced byte for byte in Python,
so the same scheme runs over the template's canonical JSON: FNV-32a, then the collisionCount as 8
little-endian bytes, then SafeEncodeString. Equal templates give equal hashes, a bumped collisionCount
gives a new one, and the result looks like upstream's (e.g. "7c5ddbdf54").
"""

from __future__ import annotations

import json
import random

# k8s.io/apimachinery/pkg/util/rand: no vowels (no words) and no easily confused characters.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193


def fnv32a(data: bytes, state: int = _FNV32_OFFSET) -> int:
    for byte in data:
        state = ((state ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return state


def safe_encode(text: str) -> str:
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in text)


def random_suffix(rng: random.Random | None = None, length: int = 5) -> str:
    rng = rng or random
    return "".join(rng.choice(ALPHANUMS) for _ in range(length))


def template_hash(template: dict, collision_count: int | None = None) -> str:
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    state = fnv32a(canonical)
    if collision_count is not None:
        state = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(8, "little"), state)
    return safe_encode(str(state))
