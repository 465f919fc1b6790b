"""Deployment policies, read from a `DeploymentConfig` into a plan. Pure.

- **Blue/green** (the default, `ALL_AT_ONCE` with no wait when no config is
  given): the whole new fleet starts beside the old one, then traffic moves in
  steps. `ALL_AT_ONCE` is one step of 100 %; `CANARY` moves `CanarySize` first,
  then the rest; `LINEAR` moves `LinearStepSize` at a time. Every step is followed
  by a bake of `WaitIntervalInSeconds`; after the last one the old fleet idles
  for `TerminationWaitInSeconds`, then is stopped.
- **Rolling** (`RollingUpdatePolicy`): new instances start in batches of
  `MaximumBatchSize`; after each batch, traffic follows the new capacity, as
  many old instances are stopped, and the rollout bakes `WaitIntervalInSeconds`.
  A rollback restores the old fleet in batches of `RollbackMaximumBatchSize`.
- `MaximumExecutionTimeoutInSeconds` bounds the whole rollout; going past it
  rolls back.

A size is a share of the new fleet's capacity: `CAPACITY_PERCENT` directly,
`INSTANCE_COUNT` divided by the new fleet's instance count. As SageMaker does, a
canary and a linear step may not exceed half of the capacity.

Durations here are the policy's own seconds; the rollout scales them when it
waits (see `settings.time_scale`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from providers.local.errors import validation

DEFAULT_CONFIG: dict[str, Any] = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    }
}


@dataclass(frozen=True)
class Step:
    """Move traffic to `share` of the new fleet, then bake for `bake` seconds."""

    share: float
    bake: float


@dataclass(frozen=True)
class BlueGreen:
    steps: tuple[Step, ...]
    termination_wait: float


@dataclass(frozen=True)
class Rolling:
    batch: int
    bake: float
    rollback_batch: int


@dataclass(frozen=True)
class Plan:
    """How one update rolls out, and what makes it roll back."""

    strategy: BlueGreen | Rolling
    max_seconds: float | None
    #: The CloudWatch alarms of `AutoRollbackConfiguration`: one in ALARM during a bake rolls back.
    alarms: tuple[str, ...]


def plan(config: dict[str, Any] | None, new_instances: int) -> Plan:
    """The plan for `config` (a DeploymentConfig) onto a fleet of `new_instances`."""
    config = config or {}
    blue_green = config.get("BlueGreenUpdatePolicy")
    rolling = config.get("RollingUpdatePolicy")
    if blue_green and rolling:
        raise validation("Only one of BlueGreenUpdatePolicy and RollingUpdatePolicy can be specified.")
    alarms = tuple(a["AlarmName"] for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or [])
    if rolling:
        return Plan(_rolling(rolling, new_instances), _max(rolling), alarms)
    blue_green = blue_green or DEFAULT_CONFIG["BlueGreenUpdatePolicy"]
    return Plan(_blue_green(blue_green, new_instances), _max(blue_green), alarms)


def _max(policy: dict[str, Any]) -> float | None:
    value = policy.get("MaximumExecutionTimeoutInSeconds")
    return float(value) if value is not None else None


def _blue_green(policy: dict[str, Any], total: int) -> BlueGreen:
    routing = policy["TrafficRoutingConfiguration"]
    routing_type = routing["Type"]
    bake = float(routing.get("WaitIntervalInSeconds") or 0)
    if routing_type == "CANARY":
        canary = _share(routing, "CanarySize", total)
        steps = [Step(canary, bake), Step(1.0, bake)]
    elif routing_type == "LINEAR":
        stride = _share(routing, "LinearStepSize", total)
        count = math.ceil(1.0 / stride - 1e-9)
        steps = [Step(min(1.0, stride * i), bake) for i in range(1, count + 1)]
    else:
        steps = [Step(1.0, bake)]
    return BlueGreen(tuple(steps), float(policy.get("TerminationWaitInSeconds") or 0))


def _share(routing: dict[str, Any], member: str, total: int) -> float:
    size = routing.get(member)
    if not size:
        raise validation(f"{member} must be specified for {routing['Type']} traffic routing.")
    share = size["Value"] / 100.0 if size["Type"] == "CAPACITY_PERCENT" else size["Value"] / max(total, 1)
    if share > 0.5:
        raise validation(
            f"{member} must be less than or equal to 50% of the new fleet's capacity "
            f"({size['Value']} {size['Type']} of {total} instance(s))."
        )
    return share


def _rolling(policy: dict[str, Any], total: int) -> Rolling:
    batch = _instances(policy["MaximumBatchSize"], total)
    rollback = policy.get("RollbackMaximumBatchSize")
    rollback_batch = _instances(rollback, total) if rollback else total
    return Rolling(batch, float(policy.get("WaitIntervalInSeconds") or 0), max(rollback_batch, 1))


def _instances(size: dict[str, Any], total: int) -> int:
    if size["Type"] == "INSTANCE_COUNT":
        return max(1, min(int(size["Value"]), total))
    return max(1, min(total, math.ceil(total * size["Value"] / 100.0)))
