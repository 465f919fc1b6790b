"""UpdateInferenceComponent: rolling a component onto a new specification, for real.

New copies start in batches (`RollingUpdatePolicy.MaximumBatchSize`, all at once
without a policy); a batch takes traffic only once every copy in it answers
`/ping`, and only then does a batch of old copies leave, after draining, so no
request is dropped. Between batches the update waits `WaitIntervalInSeconds`
(times `SMSTATE_LOCAL_TIME_SCALE`) watching the new copies. It rolls back, in
batches of `RollbackMaximumBatchSize`, when a new copy cannot start or dies, when
one of the CloudWatch alarms named in `AutoRollbackConfiguration.Alarms` goes into
ALARM (the rule endpoint rollouts follow), or when it runs past
`MaximumExecutionTimeoutInSeconds`. A rolled-back
component is `InService` on its old specification with a `FailureReason`, as in
SageMaker.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from providers.local.components import Components, Hosted, startup_timeout
from providers.local.errors import validation
from providers.local.fleet import Fleet
from providers.local.placement import need_of
from providers.local.rollout import RolloutFailed, Watch, bake
from providers.local.settings import time_scale

log = logging.getLogger("smstate.local")


def batch_size(size: dict[str, Any] | None, copies: int) -> int:
    """Copies per batch, from a `MaximumBatchSize` (all of them when there is none)."""
    if not size:
        return max(copies, 1)
    if size["Type"] == "CAPACITY_PERCENT":
        return max(1, math.ceil(copies * int(size["Value"]) / 100))
    return max(1, int(size["Value"]))


def begin_update(components: Components, name: str, specification: dict[str, Any], model: dict[str, Any],
                 copies: int, deployment: dict[str, Any] | None) -> None:  # fmt: skip
    """Validate, reserve room for the first batch, mark the component Updating, start rolling."""
    record = components.record(name)
    assert record is not None
    status = record["describe"]["InferenceComponentStatus"]
    if status != "InService" or components.busy(name):
        raise validation(f"Cannot update inference component {name} while it is {status}.")
    policy = (deployment or {}).get("RollingUpdatePolicy") or {}
    batch = min(batch_size(policy.get("MaximumBatchSize"), copies), copies)
    old_needs = [need_of(record["specification"])] * int(record["describe"]["RuntimeConfig"]["DesiredCopyCount"])
    components.reserve(record, old_needs + [need_of(specification)] * batch)
    record["pending"] = {"specification": specification, "model": model, "batch": batch, "copies": copies}
    fields: dict[str, Any] = {"InferenceComponentStatus": "Updating"}
    if deployment:
        fields["LastDeploymentConfig"] = deployment
    components.save(name, record, **fields)
    named = ((deployment or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    watch = Watch([a["AlarmName"] for a in named], components.endpoints.alarm_check)
    components.run(name, _roll(components, name, policy, watch))


async def _roll(components: Components, name: str, policy: dict[str, Any], watch: Watch) -> None:
    record = components.record(name)
    hosted = components.hosted.get(name.lower())
    assert record is not None and hosted is not None
    pending = record["pending"]
    new = components.new_fleet(record, pending["specification"], pending["model"])
    old_total = hosted.fleet.size
    limit = policy.get("MaximumExecutionTimeoutInSeconds")
    try:
        async with asyncio.timeout(float(limit) * time_scale() if limit else None):
            await _batches(hosted, new, pending, policy, watch)
    except Exception as exc:
        reason = _reason(exc, limit)
        log.warning("inference component %s: update rolled back: %s", name, reason)
        await _roll_back(hosted, new, old_total, policy, startup_timeout(record["specification"]))
        record.pop("pending", None)
        components.reserve(record, components.needs(record))
        components.save(name, record, InferenceComponentStatus="InService", FailureReason=reason)
        return
    old, hosted.fleet, hosted.incoming = hosted.fleet, new, None
    await old.stop()
    record.update(specification=pending["specification"], model=pending["model"])
    record["describe"]["RuntimeConfig"]["DesiredCopyCount"] = pending["copies"]
    record.pop("pending", None)
    components.reserve(record, components.needs(record))
    components.save(name, record, InferenceComponentStatus="InService", FailureReason=None)
    log.info("inference component %s updated", name)


async def _batches(hosted: Hosted, new: Fleet, pending: dict[str, Any], policy: dict[str, Any], watch: Watch) -> None:
    """Start new copies a batch at a time; after each, let as many old ones go, then watch."""
    total, batch, old = int(pending["copies"]), int(pending["batch"]), hosted.fleet
    old_total = old.size
    wait = float(policy.get("WaitIntervalInSeconds") or 0)
    hosted.incoming = new
    started = 0
    while started < total:
        count = min(batch, total - started)
        await new.grow(count, startup_timeout(pending["specification"]))
        started += count
        await old.shrink(old.size - math.floor(old_total * (1 - started / total)))
        await bake(new, wait, watch, unit="A new copy", during="")



async def _roll_back(hosted: Hosted, new: Fleet, old_total: int, policy: dict[str, Any], startup: float) -> None:
    """Bring the old copies back to their number, in rollback batches, then stop the new ones."""
    old = hosted.fleet
    batch = batch_size(policy.get("RollbackMaximumBatchSize") or policy.get("MaximumBatchSize"), old_total)
    try:
        while old.size < old_total:
            await old.grow(min(batch, old_total - old.size), startup)
    finally:
        hosted.incoming = None
        await new.stop()


def _reason(exc: BaseException, limit: Any) -> str:
    if isinstance(exc, TimeoutError):
        return f"The update exceeded MaximumExecutionTimeoutInSeconds ({limit} s); it was rolled back."
    if isinstance(exc, RolloutFailed):
        return f"{exc} The update was rolled back."
    return f"The new copies failed to start: {exc}. The update was rolled back."
