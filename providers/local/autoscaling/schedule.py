"""Scheduled actions' schedules: `at(...)` once, `rate(N unit)` repeatedly. Pure.

`at(yyyy-mm-ddThh:mm:ss)` is a moment in the action's `Timezone` (UTC by
default) and is not scaled; a `rate` interval is policy time, scaled by
`SMSTATE_LOCAL_TIME_SCALE`. `cron(...)` schedules are refused: the local server
does not run them.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from providers.local.errors import validation

_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def parse(schedule: str, timezone: str | None) -> tuple[float | None, float | None]:
    """(the moment of an `at` schedule, the policy seconds of a `rate` schedule)."""
    at = _AT.fullmatch(schedule)
    if at:
        try:
            zone = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise validation(f"Invalid timezone: {timezone}.") from None
        return datetime.fromisoformat(at.group(1)).replace(tzinfo=zone).timestamp(), None
    rate = _RATE.fullmatch(schedule)
    if rate:
        value = int(rate.group(1))
        if value < 1:
            raise validation(f"Invalid schedule expression: {schedule}.")
        return None, value * _UNITS[rate.group(2).rstrip("s")]
    if schedule.startswith("cron("):
        raise validation(f"The local server does not run cron schedules ({schedule}); use at() or rate().")
    raise validation(f"Invalid schedule expression: {schedule}.")
