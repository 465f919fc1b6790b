"""Statistics of a window of data points, named as CloudWatch names them. Pure."""

from __future__ import annotations

import math
import re

from providers.local.errors import ApiError
from providers.local.metrics import Stat

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,10})?|100)")


def invalid(message: str) -> ApiError:
    """CloudWatch's InvalidParameterValue."""
    return ApiError("InvalidParameterValueException", message)


def check_statistic(name: str) -> None:
    """Refuse a statistic the server cannot compute (only pNN of the extended ones)."""
    if name not in BASIC and _PERCENTILE.fullmatch(name) is None:
        raise invalid(f"The value {name} for parameter Statistic is invalid.")


def value(stat: Stat, name: str) -> float:
    """`name` (Sum, Average, ..., or a percentile such as p99) of `stat`."""
    if name == "SampleCount":
        return stat.count
    if name == "Sum":
        return stat.total
    if name == "Average":
        return stat.total / stat.count if stat.count else 0.0
    if name == "Minimum":
        return stat.low
    if name == "Maximum":
        return stat.high
    match = _PERCENTILE.fullmatch(name)
    if match is None:
        raise invalid(f"The value {name} for parameter Statistic is invalid.")
    return percentile(stat.values, float(match.group(1)))


def percentile(values: list[float], rank: float) -> float:
    """The nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    index = max(0, math.ceil(rank / 100.0 * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]
