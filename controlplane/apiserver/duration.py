"""Ages as kubectl prints them: k8s.io/apimachinery/pkg/util/duration.HumanDuration ("63s", "5d18h")."""

from __future__ import annotations

from controlplane.objects import parse_rfc3339


def human_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < -1:
        return "<invalid>"  # clocks more than a second apart
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return _pair(minutes, "m", seconds % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return _pair(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _pair(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _pair(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def age(timestamp: str | None, now: float) -> str:
    """translateTimestampSince: the age of an RFC 3339 timestamp, `<unknown>` when there is none."""
    if not timestamp:
        return "<unknown>"
    return human_duration(now - parse_rfc3339(timestamp))
