"""Durations: the one parser behind every duration option and config field.

A duration bounds a wait (`--lock-timeout`, `--timeout`, `provider.timeout`), so it must be a
finite, non-negative number of seconds: NaN compares false with every deadline and infinity
never arrives, and either would turn a bounded wait into a hang.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import SmstateError

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class DurationError(SmstateError, ValueError):
    """Not a finite, non-negative duration. A ValueError too, so pydantic reports it in place."""


def seconds(value: Any, what: str = "duration") -> float:
    """`value` in seconds: a number of seconds, or a string such as `30s`, `500ms`, `5m`, `1.5h`."""
    if isinstance(value, bool):
        raise DurationError(f"invalid {what} {value!r}: use e.g. 30s, 5m")
    if isinstance(value, (int, float)):
        number, scale = float(value), 1.0
    elif isinstance(value, str):
        number, scale = _split(value.strip(), what)
    else:
        raise DurationError(f"invalid {what} {value!r}: use e.g. 30s, 5m")
    try:
        result = number * scale
    except OverflowError:
        result = math.inf
    if math.isnan(result) or math.isinf(result):
        raise DurationError(f"invalid {what} {value!r}: must be a finite number of seconds")
    if result < 0:
        raise DurationError(f"invalid {what} {value!r}: must not be negative")
    return result


def _split(text: str, what: str) -> tuple[float, float]:
    unit = next((u for u in sorted(UNITS, key=len, reverse=True) if text.endswith(u)), "")
    number = text[: len(text) - len(unit)].strip()
    try:
        return float(number), UNITS.get(unit, 1.0)
    except ValueError:
        raise DurationError(f"invalid {what} {text!r}: use e.g. 30s, 5m") from None
