"""Running scheduled actions when they are due.

A due action sets the target's capacity bounds from its `ScalableTargetAction`
(an activity records it), then brings the resource's capacity inside them. An
`at` action runs once; a `rate` action runs every interval (scaled) between its
StartTime and EndTime. Scheduled scaling can be suspended on the target.
"""

from __future__ import annotations

from typing import Any

from providers.local.autoscaling import schedule
from providers.local.autoscaling.scaler import Scaler
from providers.local.autoscaling.state import Key, Targets
from providers.local.settings import time_scale


def first_run(action: dict[str, Any], now: float) -> float:
    """When a newly put action first runs."""
    at, every = schedule.parse(action["Schedule"], action.get("Timezone"))
    if at is not None:
        return at
    start = action.get("StartTime") or now
    return max(start, now) + (every or 0) * time_scale()


def run_due(targets: Targets, scaler: Scaler, due: dict[tuple[Key, str], float], now: float) -> None:
    """Run every action whose time has come; `due` holds each action's next run."""
    for key, named in list(targets.scheduled.items()):
        target = targets.targets.get(key)
        for name, action in list(named.items()):
            when = due.get((key, name))
            if when is None or when > now:
                continue
            end = action.get("EndTime")
            at, every = schedule.parse(action["Schedule"], action.get("Timezone"))
            if every is None or (end is not None and now > end):
                due.pop((key, name), None)
            else:
                due[(key, name)] = now + every * time_scale()
            if target is None or target["SuspendedState"].get("ScheduledScalingSuspended"):
                continue
            _apply(targets, scaler, key, target, name, action)


def _apply(
    targets: Targets, scaler: Scaler, key: Key, target: dict[str, Any], name: str, action: dict[str, Any]
) -> None:
    bounds = action.get("ScalableTargetAction") or {}
    low = bounds.get("MinCapacity", target["MinCapacity"])
    high = bounds.get("MaxCapacity", target["MaxCapacity"])
    target.update(MinCapacity=low, MaxCapacity=high)
    cause = f"scheduled action name {name} was triggered"
    activity = targets.activity(key, f"Setting min capacity to {low} and max capacity to {high}", cause)
    targets.finish(activity, "Successful", f"Successfully set min capacity to {low} and max capacity to {high}")
    scaler.bound(key, cause)
