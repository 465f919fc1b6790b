"""An alarm's verdict on its latest evaluation periods, as CloudWatch gives it. Pure.

Of the last `EvaluationPeriods` periods, `DatapointsToAlarm` (default: all of
them) must breach the threshold for ALARM; otherwise the alarm is OK. Periods
without data follow `TreatMissingData`: `breaching` and `notBreaching` count
them as such; `missing` (the default) and `ignore` leave them out (then the
alarm needs `DatapointsToAlarm` breaching periods, or all of the periods that
have data if fewer do), and when no period has data the alarm goes to
INSUFFICIENT_DATA (`missing`) or keeps its state (`ignore`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from providers.local.errors import ApiError

OPERATORS = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str
    data: str


def check_operator(name: str) -> None:
    if name not in OPERATORS:
        raise ApiError(
            "ValidationException",
            f"ComparisonOperator {name} needs an anomaly detection band, which the local server does not compute.",
        )


def judge(alarm: dict[str, Any], values: list[float | None], starts: list[float], now: float) -> Verdict | None:
    """The verdict on `values` (oldest first, one per period starting at `starts`); None: keep the state."""
    compare, words = OPERATORS[alarm["ComparisonOperator"]]
    threshold = float(alarm["Threshold"])
    treat = alarm.get("TreatMissingData") or "missing"
    needed = int(alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"])
    present = [(s, v) for s, v in zip(starts, values) if v is not None]
    missing = len(values) - len(present)
    data = _data(alarm, present, threshold, starts, now)
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return None
        noun = "datapoint was" if missing == 1 else "datapoints were"
        return Verdict("INSUFFICIENT_DATA", f"Insufficient Data: {missing} {noun} unknown.", data)
    if not present:
        treated = "Breaching" if treat == "breaching" else "NonBreaching"
        state = "ALARM" if treat == "breaching" and missing >= needed else "OK"
        periods = f"{missing} period{'s' if missing > 1 else ''} and {missing} missing datapoint"
        verb = "s were" if missing > 1 else " was"
        reason = f"Threshold Crossed: no datapoints were received for {periods}{verb} treated as [{treated}]."
        return Verdict(state, reason, data)
    breaching = sum(1 for _, v in present if compare(v, threshold))
    if treat == "breaching":
        breaching += missing
    elif treat in ("missing", "ignore"):
        needed = min(needed, len(present))
    state = "ALARM" if breaching >= needed else "OK"
    return Verdict(state, _reason(state, present, len(values), needed, words, threshold), data)


def _reason(
    state: str, present: list[tuple[float, float]], total: int, needed: int, words: str, threshold: float
) -> str:
    shown = ", ".join(f"{v:g} ({_stamp(s)})" for s, v in reversed(present))
    if state == "ALARM" and total > 1:
        verb = "were" if needed > 1 else "was"
        return (
            f"Threshold Crossed: {needed} out of the last {total} datapoints [{shown}] {verb} {words} the "
            f"threshold ({threshold:g}) (minimum {needed} datapoint{'s' if needed > 1 else ''} "
            "for OK -> ALARM transition)."
        )
    count = len(present)
    noun = "datapoint" if count == 1 else "datapoints"
    verb = ("was" if count == 1 else "were") + ("" if state == "ALARM" else " not")
    return f"Threshold Crossed: {count} {noun} [{shown}] {verb} {words} the threshold ({threshold:g})."


def _data(
    alarm: dict[str, Any], present: list[tuple[float, float]], threshold: float, starts: list[float], now: float
) -> str:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(now),
        "startDate": _iso(starts[0]) if starts else _iso(now),
        "period": alarm.get("Period") or 0,
        "recentDatapoints": [v for _, v in present],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": _iso(s), "value": v} for s, v in reversed(present)],
    }
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    if statistic:
        data["statistic"] = statistic
    return json.dumps(data)


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}+0000"


def _stamp(when: float) -> str:
    return time.strftime("%d/%m/%y %H:%M:%S", time.gmtime(when))
