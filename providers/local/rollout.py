"""Rolling an endpoint from its live deployment onto a new one, for real.

The old deployment keeps serving until traffic has moved off it, and leaves
only after draining, so no request is dropped. A rollout rolls back, leaving the
endpoint on its old deployment, when:

- the new fleet cannot start (a model server fails or never answers `/ping`);
- a new instance dies while it bakes (the health check);
- one of the CloudWatch alarms named in `AutoRollbackConfiguration.Alarms` is in
  ALARM while it bakes (the local CloudWatch evaluates them on the metrics the
  gateway publishes);
- it runs past `MaximumExecutionTimeoutInSeconds`.

Nothing else rolls back, as on SageMaker: a healthy new fleet that answers
errors completes its rollout unless a named alarm fires.

Waits follow the policy's seconds times `SMSTATE_LOCAL_TIME_SCALE`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from typing import Protocol

from providers.local.deployment import Deployment
from providers.local.policy import BlueGreen, Plan, Rolling
from providers.local.router import Router
from providers.local.settings import time_scale

#: How often a bake looks at the new fleet, in wall-clock seconds.
CHECK_EVERY = 0.05

#: Reports a stage of the new deployment: (VariantStatus, message).
Progress = Callable[[str, str], None]

#: The first of the named alarms that is in ALARM, or None.
AlarmCheck = Callable[[Sequence[str]], "str | None"]


class RolloutFailed(Exception):
    """The update did not happen; the endpoint serves its old deployment."""


class RollbackFailed(Exception):
    """The update failed and the old deployment could not be fully restored."""


async def pause(seconds: float) -> None:
    """Wait a policy's `seconds`, scaled."""
    await asyncio.sleep(seconds * time_scale())


async def roll_out(
    router: Router, new: Deployment, plan: Plan, startup: float, report: Progress, alarms: AlarmCheck
) -> None:
    """Move `router` onto `new` following `plan`, or roll back and raise."""
    old = router.active
    watch = Watch(plan.alarms, alarms)
    limit = plan.max_seconds * time_scale() if plan.max_seconds is not None else None
    try:
        async with asyncio.timeout(limit):
            if isinstance(plan.strategy, Rolling):
                await _rolling(router, new, plan.strategy, watch, startup, report)
            else:
                await _blue_green(router, new, plan.strategy, watch, startup, report)
    except TimeoutError:
        reason = f"The update exceeded MaximumExecutionTimeoutInSeconds ({plan.max_seconds:g} s)."
        await _roll_back(router, old, new, plan, startup, report)
        raise RolloutFailed(reason) from None
    except RolloutFailed:
        await _roll_back(router, old, new, plan, startup, report)
        raise
    except Exception as exc:  # a hosting error while starting the new fleet
        await _roll_back(router, old, new, plan, startup, report)
        raise RolloutFailed(f"The new fleet failed to start: {exc}") from exc


async def _blue_green(
    router: Router, new: Deployment, policy: BlueGreen, watch: Watch, startup: float, report: Progress
) -> None:
    report("Creating", f"Launching {new.target_size} new instance(s).")
    await new.start(startup)
    router.incoming, router.share = new, 0.0
    for step in policy.steps:
        report("ActivatingTraffic", f"Shifting {step.share:.0%} of traffic to the new fleet.")
        router.share = step.share
        report("Baking", f"Baking with {step.share:.0%} of traffic for {step.bake:g} s.")
        await bake(new, step.bake, watch)
    report("Deleting", f"Terminating the old fleet in {policy.termination_wait:g} s.")
    await pause(policy.termination_wait)
    await _commit(router, new)


async def _rolling(
    router: Router, new: Deployment, policy: Rolling, watch: Watch, startup: float, report: Progress
) -> None:
    old = router.active
    total, old_total = new.target_size, old.size
    router.incoming, router.share = new, 0.0
    started = 0
    while started < total:
        batch = min(policy.batch, total - started)
        report("Creating", f"Launching a batch of {batch} new instance(s).")
        await new.resize(_grow(new, batch), startup)
        started += batch
        report("ActivatingTraffic", f"Shifting traffic to {started} of {total} new instance(s).")
        router.share = started / total
        keep = math.floor(old_total * (1 - started / total))
        await old.resize(_shrink_to(old, keep), startup)
        report("Baking", f"Baking {started} of {total} new instance(s) for {policy.bake:g} s.")
        await bake(new, policy.bake, watch)
    await _commit(router, new)


class Watch:
    """The alarms a rollout watches while it bakes."""

    def __init__(self, names: Sequence[str], check: AlarmCheck) -> None:
        self.names = tuple(names)
        self.check = check

    def firing(self) -> str | None:
        return self.check(self.names) if self.names else None


class Healthy(Protocol):
    def healthy(self) -> bool: ...


async def bake(new: Healthy, seconds: float, watch: Watch, *, unit: str = "An instance of the new fleet",
               during: str = " during the bake") -> None:
    """Watch `new` for `seconds` (scaled); raise `RolloutFailed` when one of its `unit`s fails
    its health check or a watched alarm fires."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds * time_scale()
    while True:
        if not new.healthy():
            raise RolloutFailed(f"{unit} failed its health check.")
        alarm = watch.firing()
        if alarm is not None:
            raise RolloutFailed(f"Auto-rollback: the CloudWatch alarm {alarm} went into ALARM{during}.")
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await asyncio.sleep(min(CHECK_EVERY, remaining))


async def _commit(router: Router, new: Deployment) -> None:
    old = router.active
    router.active, router.incoming, router.share = new, None, 0.0
    await old.stop()


async def _roll_back(
    router: Router, old: Deployment, new: Deployment, plan: Plan, startup: float, report: Progress
) -> None:
    """Put all traffic back on `old`, restoring its capacity first if a rolling
    update had already stopped part of it."""
    report("Deleting", "Rolling back to the previous deployment.")
    if old.size < old.target_size:
        batch = plan.strategy.rollback_batch if isinstance(plan.strategy, Rolling) else old.target_size
        try:
            while old.size < old.target_size:
                await old.resize(_grow(old, min(batch, old.target_size - old.size)), startup)
                router.share = max(0.0, 1.0 - old.size / max(old.target_size, 1))
        except Exception as exc:
            raise RollbackFailed(f"The previous fleet could not be restored: {exc}") from exc
    router.active, router.incoming, router.share = old, None, 0.0
    await new.stop()


def _grow(deployment: Deployment, count: int) -> dict[str, int]:
    """Target sizes after adding `count` instances, spread over the variants."""
    sizes = {name: fleet.size for name, fleet in deployment.fleets.items()}
    while count > 0:
        short = [name for name in sizes if sizes[name] < deployment.counts.get(name, 0)]
        if not short:
            break
        for name in short[:count]:
            sizes[name] += 1
            count -= 1
    return sizes


def _shrink_to(deployment: Deployment, keep: int) -> dict[str, int]:
    """Target sizes leaving `keep` instances, taken evenly from the variants."""
    sizes = {name: fleet.size for name, fleet in deployment.fleets.items()}
    excess = sum(sizes.values()) - keep
    while excess > 0:
        for name in sorted(sizes, key=lambda n: -sizes[n]):
            if excess > 0 and sizes[name] > 0:
                sizes[name] -= 1
                excess -= 1
    return sizes
